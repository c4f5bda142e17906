/*
 * dsn: builds a delivery status notification (RFC 3464) for recipients of
 * a queued message that failed (or are delayed), as a complete message in
 * LF form: multipart/report; report-type=delivery-status (RFC 6522) with a
 * human explanation, the message/delivery-status part, and the original
 * header section as text/rfc822-headers (never the body). Pure apart from
 * one bounded pread() of the original headers; what to do with the result
 * (bounces policy, queue_inject() with the null sender) is the caller's.
 */
#ifndef POSTERN_DSN_H
#define POSTERN_DSN_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "queue/queue.h"

#define DSN_HEADERS_MAX	(64 * 1024)	/* original header bytes quoted: ours */
#define DSN_SIZE_MAX	(4 * 1024 * 1024)	/* a whole DSN, for buf_init(): ours */
#define DSN_TEXT_RCPTS_MAX	100	/* recipients listed in the human part: ours */

enum dsn_action {
	DSN_FAILED,		/* RFC 3464 2.3.3 "failed": given up, bounced */
	DSN_DELAYED,		/* "delayed": still being retried (a warning) */
};

struct dsn_rcpt {
	const char	*orig;		/* RCPT TO as written (queue rcpt orig); NULL/"" = unknown */
	const char	*final;		/* where delivery was attempted (queue rcpt target) */
	enum dsn_action	 action;
	/* Enhanced status code "X.Y.Z" (RFC 3463); NULL = taken from reply
	 * (dsn_status_from_reply()). */
	const char	*status;
	/* The last reply as Postern keeps it: "550 5.1.1 <text>" (a peer's
	 * or one made up by Postern); "smtp; " is added. NULL/"" = none. */
	const char	*reply;
	const char	*remote_mta;	/* host name of the peer; NULL/"" = none (local) */
	int64_t		 last_attempt;	/* unix seconds; 0 = no attempt made */
	int64_t		 will_retry_until;	/* delayed only; 0 = omit */
};

struct dsn_request {
	const struct queue_env	*env;		/* the original message's envelope */
	int			 fd;		/* its queue file (body at env->body_off); -1 = no headers part */
	const struct dsn_rcpt	*rcpts;
	size_t			 nrcpts;	/* >= 1 */
	const char		*hostname;	/* Reporting-MTA, From: and Message-ID domain */
	int64_t			 now;		/* unix seconds: Date: */
};

/*
 * Appends the DSN to out (initialised by the caller, e.g. with
 * DSN_SIZE_MAX). Headers: From "Mail Delivery System"
 * <MAILER-DAEMON@hostname>, To the original envelope sender, Subject,
 * Date, Message-ID, Auto-Submitted: auto-replied (RFC 3834 5), MIME. The
 * boundary is random and checked against every part. Peer text is cleaned
 * (no CR, LF or control bytes reach a field) and lines are folded.
 * Returns 0, or -1 with *err_out (static text): the sender is <> (RFC
 * 5321 6.1: a bounce is never bounced), no recipients, the headers could
 * not be read, or out overflowed. The caller sends it from <>.
 */
int	dsn_build(struct buf *out, const struct dsn_request *req,
	    const char **err_out);

/*
 * The enhanced status code of a reply ("550 5.1.1 ..." -> "5.1.1"), into
 * out (at least 16 bytes); without one, the class of the basic code
 * ("5.0.0", "4.0.0"), and "5.0.0" (failed) or "4.0.0" (delayed) when
 * there is no code at all.
 */
void	dsn_status_from_reply(const char *reply, enum dsn_action action,
	    char *out, size_t outlen);

#endif
