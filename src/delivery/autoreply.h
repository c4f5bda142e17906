/*
 * autoreply: personal auto-replies after RFC 3834 (SPEC section 4): whether
 * a message may be answered at all, and the reply as a complete message in
 * LF form. The rest of the rules (the user's text, the domain's
 * autoresponders policy, once per sender per 7 days) are the directory's
 * (IPCM_AUTOREPLY); sending the reply from <> is the caller's. Pure.
 */
#ifndef POSTERN_AUTOREPLY_H
#define POSTERN_AUTOREPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

#define AUTOREPLY_SIZE_MAX	(64 * 1024)	/* a whole reply, for buf_init(): ours */
#define AUTOREPLY_REFS_MAX	2048	/* bytes of References: kept: ours */

/*
 * May this message get an auto-reply? false (RFC 3834 2, SPEC section 4)
 * when:
 *  - the envelope sender is <> (NULL or ""), or its local part is, in any
 *    case, "mailer-daemon", starts with "owner-" or ends with "-request"
 *    (the conventional addresses of list software, RFC 2142 and RFC 3834
 *    2; "postmaster" is a person and may be answered);
 *  - the header section has a List-Id or any other List-* field (RFC 2369,
 *    RFC 2919), a Precedence of bulk, list or junk, or an Auto-Submitted
 *    whose value is anything but "no" (RFC 3834 5; comments and blanks
 *    allowed, any case; an empty or unreadable value counts as not "no").
 * headers[0..len) is the original header section; only fields before its
 * empty line and within HEADER_SCAN_MAX bytes are read.
 */
bool	autoreply_permitted(const char *env_from, const char *headers, size_t len);

struct autoreply_msg {
	const char	*user;		/* From: the user's address */
	const char	*to;		/* To: the original envelope sender */
	const char	*subject;	/* the user's autoreply_subject; "" = "Auto: "
					 * and the original Subject (RFC 2047 words as they are) */
	const char	*text;		/* the user's autoreply text (the body) */
	const char	*headers;	/* the original header section: Subject,
					 * Message-ID, References */
	size_t		 headers_len;
	const char	*hostname;	/* the domain of our Message-ID */
	int64_t		 now;		/* unix seconds: Date: */
};

/*
 * Appends the reply to out (initialised by the caller, e.g. with
 * AUTOREPLY_SIZE_MAX): From, To, Subject, Date, Message-ID, In-Reply-To
 * and References from the original's Message-ID (RFC 3834 3.1.5, RFC 5322
 * 3.6.4), Auto-Submitted: auto-replied (RFC 3834 5), MIME-Version and
 * text/plain; charset=utf-8. The body is text with CRLF and lone CR made
 * LF, other control bytes but TAB made SP, lines cut at 998 octets, and a
 * final LF. A subject that is not ASCII becomes RFC 2047 words. 0, or -1
 * with *err_out (static text): no sender or user, or out overflowed.
 */
int	autoreply_build(struct buf *out, const struct autoreply_msg *m,
	    const char **err_out);

#endif
