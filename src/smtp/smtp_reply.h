/*
 * smtp_reply: the replies a remote SMTP server sends our outbound client,
 * fed in arbitrary chunks (RFC 5321 4.2, 4.2.1 multiline replies, 4.5.3.1.5
 * reply line length), with enhanced status codes (RFC 3463 section 2,
 * RFC 2034 section 4) and the EHLO keyword list (RFC 5321 4.1.1.1).
 * Pure: no I/O; what a reply means for the transaction is the client's job.
 */
#ifndef POSTERN_SMTP_REPLY_H
#define POSTERN_SMTP_REPLY_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"
#include "core/limits.h"
#include "core/parse.h"

#define SMTP_REPLY_LINES_MAX	64	/* lines of one multiline reply: ours */
#define SMTP_REPLY_MAX		16384	/* bytes of one reply, all lines: ours */

struct smtp_resp {
	int		 code;		/* 200..599 once PARSE_OK */
	int		 cls, subj, det; /* enhanced code x.y.z; cls 0 if absent */
	struct buf	 text;		/* each line's text after "NNN-"/"NNN "
					 * and its enhanced code, joined with
					 * "\n"; at most SMTP_REPLY_MAX bytes */
	size_t		 nlines;	/* lines seen so far */

	/* Private to smtp_reply.c: */
	struct buf	 line;		/* the unfinished line, without CR */
	size_t		 total;		/* wire bytes of this reply so far */
	bool		 cr;		/* the last byte seen was a CR */
	enum parse_rc	 status;	/* PARSE_INCOMPLETE while open */
};

/* Ready for the first byte of a reply. Allocates nothing. */
void	smtp_resp_init(struct smtp_resp *r);
/* Frees r's memory; r is then as after smtp_resp_init(), ready for reuse. */
void	smtp_resp_clear(struct smtp_resp *r);

/*
 * Feeds len bytes from the server. Feeding may split anywhere.
 *   PARSE_OK: one whole reply is in r; *used_out bytes of data belong to it,
 *	the rest to the next reply (pipelining, RFC 2920): smtp_resp_clear()
 *	r, or use another one, and feed the rest again.
 *   PARSE_INCOMPLETE: all len bytes consumed, the state kept in r.
 *   PARSE_INVALID: a line that is not 3 digits then SP, '-' or CRLF; a code
 *	outside 200..599 (SMTP never sends 1xx); a continuation line whose
 *	code differs from the first line's; a bare CR or LF; a NUL byte.
 *   PARSE_TOO_LONG: a line over SMTP_TEXT_LINE_MAX bytes (CRLF included),
 *	more than SMTP_REPLY_LINES_MAX lines, or more than SMTP_REPLY_MAX
 *	bytes in all.
 * After INVALID or TOO_LONG the peer cannot be resynchronised: close the
 * connection. Once r holds a result, further feeds return that result
 * again with *used_out = 0 until smtp_resp_clear().
 */
enum parse_rc smtp_resp_feed(struct smtp_resp *r, const char *data,
	    size_t len, size_t *used_out);

/*
 * For a complete 250 reply to EHLO: is keyword (case-insensitive) announced
 * on a line after the first (the first names the server)? The keyword must
 * be the whole first word of the line: "AUTH" does not match the obsolete
 * "AUTH=LOGIN". *params_out (may be NULL) gets the rest of the line after
 * the keyword, trimmed, "" when none; it points into r->text and dies with
 * it. Any other code, or an incomplete reply, is false.
 */
bool	smtp_resp_has_ext(const struct smtp_resp *r, const char *keyword,
	    struct span *params_out);

/*
 * Appends "250 2.0.0 text" (or "250 text" without an enhanced code) to out
 * for logs and queue records: one line, the lines of a multiline reply
 * joined with SP, control bytes replaced by '?'. Stops at out->max, leaving
 * out->overflowed latched, rather than fail.
 */
void	smtp_resp_format(const struct smtp_resp *r, struct buf *out);

#endif
