/*
 * milter: a client of the Sendmail milter protocol, version 6, so that
 * rspamd, SpamAssassin (spamass-milter), OpenDKIM, ClamAV (clamav-milter)
 * or any milter can filter Postern's mail.
 *
 * Postern runs the whole conversation at the end of DATA (SPEC 5: filters
 * answer at end of data), on one connection per message: option
 * negotiation, macros, connect, helo, envfrom, envrcpt per recipient,
 * data, each header, eoh, body chunks (CRLF line ends, at most
 * MILTER_CHUNK bytes each), end of body; then quit. Steps the milter
 * asked to skip (SMFIP_NO*) are not sent, replies it said it will not send
 * (SMFIP_NR_*) are not awaited. The message is read from a file (the queue
 * file), chunk by chunk, so memory does not grow with the message.
 *
 * A reject, tempfail, discard or accept at any step ends the conversation
 * early with that verdict. At end of body the milter's modification
 * requests are collected; Postern applies them itself after the last
 * filter (filter_rewrite), so a milter sees the message as received.
 */
#ifndef POSTERN_MILTER_H
#define POSTERN_MILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "filter/filter_conn.h"

struct event_base;

#define MILTER_TIMEOUT_SEC	60	/* one reply: ours (Postfix: 300 for eom) */
#define MILTER_MODS_MAX		1000	/* modification requests kept: ours */
#define MILTER_REPLY_TEXT_MAX	512	/* a custom SMFIR_REPLYCODE text: ours */

enum milter_verdict {
	MILTER_ACCEPT,		/* accept or continue to the end */
	MILTER_REJECT,		/* reply: 5xx (custom text or 554 5.7.1) */
	MILTER_TEMPFAIL,	/* reply: 4xx (custom text or 451 4.7.1) */
	MILTER_DISCARD,		/* accept, deliver to nobody */
	MILTER_ERROR,		/* the milter failed: on_error decides */
};

enum milter_mod_kind {
	MILTER_MOD_ADD_HEADER,		/* name, value: at the end of the header */
	MILTER_MOD_INSERT_HEADER,	/* index, name, value: before field index
					 * (0 = first) */
	MILTER_MOD_CHANGE_HEADER,	/* index (1 = first field of that name),
					 * name, value ("" = delete it) */
	MILTER_MOD_ADD_RCPT,		/* value = the address, without <> */
	MILTER_MOD_DELETE_RCPT,		/* value = the address, without <> */
};

/*
 * A header value is what follows "name: " in the field as it is to be
 * written: folded lines joined by LF, each continuation line starting
 * with a blank (checked: never an empty line, a bare CR or another
 * control). A recipient is one path of at most SMTP_PATH_MAX bytes.
 */
struct milter_mod {
	enum milter_mod_kind	 kind;
	uint32_t		 index;
	char			*name;	/* NULL for recipients */
	char			*value;
};

struct milter_result {
	enum milter_verdict	 verdict;
	/* The milter's own reply (SMFIR_REPLYCODE), "554 5.7.1 text", or "" */
	char			 reply[MILTER_REPLY_TEXT_MAX];
	char			 error[256];	/* with MILTER_ERROR: why */
	struct milter_mod	*mods;
	size_t			 nmods;
	bool			 quarantine;	/* SMFIR_QUARANTINE */
	char			 quarantine_reason[256];
	/* SMFIR_REPLBODY: the new body in LF form in an unlinked file,
	 * body_fd (-1 = body unchanged), body_len bytes; the result owns it. */
	int			 body_fd;
	uint64_t		 body_len;
};

void	milter_result_clear(struct milter_result *r);

/* What the milter is told. Strings are borrowed until done runs. */
struct milter_msg {
	const char	*hostname;	/* our name: macro j */
	const char	*queue_id;	/* macro i */
	const char	*client_ip;
	const char	*client_ptr;	/* "unknown" when none */
	const char	*helo;
	const char	*auth_user;	/* NULL when not authenticated */
	const char	*tls_version;	/* NULL without TLS */
	const char	*from;		/* "" = <> */
	const char	*const *rcpts;
	size_t		 nrcpts;
	int		 fd;		/* the message, LF form */
	uint64_t	 off, len;
	/*
	 * Where to put a replacement body: a function that returns a new
	 * unlinked file opened for writing (the worker makes it in its queue
	 * tmp/), or -1.
	 */
	int		(*scratch)(void *arg);
	void		*scratch_arg;
	uint64_t	 body_max;	/* a longer replacement body is an error */
};

typedef void (*milter_done_fn)(void *arg, struct milter_result *r);
struct milter_run;

/*
 * done runs once, later, on the loop; r is the callee's until done returns
 * (the caller may move mods and body_fd out, leaving NULL/-1). The run is
 * freed when done returns: forget the pointer there (a cancel from inside
 * done is harmless). The connection is closed before done runs.
 *
 * A recipient refused at RCPT (SMFIR_REJECT or a 5xx reply code) is a
 * MILTER_MOD_DELETE_RCPT, as the session cannot refuse one recipient at
 * the end of DATA; when every recipient is refused the message is
 * (MILTER_REJECT). A 4xx at RCPT defers the whole message (MILTER_TEMPFAIL),
 * so that no recipient is lost. A discard at any step discards the
 * message; an accept before the end of the body ends the conversation
 * with the refused recipients' deletions only.
 */
struct milter_run *milter_run_start(struct event_base *base,
	    const struct filter_endpoint *ep, const struct milter_msg *msg,
	    milter_done_fn done, void *arg);
void	milter_run_cancel(struct milter_run **rp);
/* Tests: the reply timeout in milliseconds; 0 = MILTER_TIMEOUT_SEC. */
void	milter_set_timeout_ms(unsigned ms);

#endif
