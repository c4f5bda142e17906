/*
 * mime_header: RFC 5322 header sections of messages in LF form, as the
 * queue stores them. Reading: find where the section ends, walk its
 * fields, unfold a value (2.2.3), look one field up. Writing, for the
 * messages Postern makes itself (bounces, auto-replies): folded fields
 * (2.1.1, 2.2.3), RFC 2047 encoded words, RFC 5322 3.3 dates.
 * Pure: no I/O, every read bounded by the caller's length.
 */
#ifndef POSTERN_MIME_HEADER_H
#define POSTERN_MIME_HEADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

#define MIME_LINE_SOFT_MAX	78	/* RFC 5322 2.1.1 SHOULD, without CRLF */
#define MIME_LINE_HARD_MAX	998	/* RFC 5322 2.1.1 MUST, without CRLF */
#define MIME_DATE_LEN		32	/* "Mon, 02 Mar 2026 09:14:07 +0000" + NUL */

/*
 * The length of the header section at the start of msg[0..len): up to and
 * including the empty line that ends it; without one, the whole of len
 * when it ends in LF, else up to the last LF (a section cut by the
 * caller's bound ends at a line boundary; a section with no LF at all is
 * empty).
 */
size_t	mime_header_section_len(const char *msg, size_t len);

struct mime_header_iter {
	const char	*p, *end;
};

void	mime_header_iter_init(struct mime_header_iter *it, const char *hdr,
	    size_t len);
/*
 * The next field of the section: its name (without the colon and any
 * blanks before it) and its raw value (after the colon, continuation lines
 * included, without the LF that ends the field). Lines that are no field
 * (no colon, an empty name or one with bytes outside RFC 5322 ftext, a
 * continuation with no field before it) are skipped. false at the empty
 * line that ends the section, or at the end of the input. A CR before an
 * LF is tolerated and left out of the value's end.
 */
bool	mime_header_next(struct mime_header_iter *it, struct span *name_out,
	    struct span *value_out);
/*
 * Appends the unfolded value (RFC 5322 2.2.3: each line break is removed,
 * the blank after it kept) to out: CR and other control bytes but HTAB
 * become SP, blanks at both ends are trimmed. 0, or -1 when out overflowed
 * (what fit stays).
 */
int	mime_header_unfold(struct span raw, struct buf *out);
/* The unfolded value of the first field named name (any case) appended to
 * out. true when there is one (even with an empty value). */
bool	mime_header_get(const char *hdr, size_t len, const char *name,
	    struct buf *out);

/*
 * Appends "Name: value\n". The value's blanks at both ends are trimmed, CR,
 * LF and other control bytes but HTAB become SP (no value can start a new
 * field), and it is folded before a blank so that lines stay within 78
 * octets where words allow; a word that would pass 998 is broken. 0 or -1
 * (out overflowed).
 */
int	mime_header_put(struct buf *out, const char *name, struct span value);
/*
 * Appends text as it is when it is printable ASCII (HTAB allowed), else as
 * RFC 2047 encoded words ("=?UTF-8?B?...?=", each at most 75 octets,
 * split between UTF-8 characters, separated by SP), for an unstructured
 * field such as Subject. 0 or -1.
 */
int	mime_header_encode(struct buf *out, struct span text);
/* Is every byte printable ASCII or HTAB? */
bool	mime_is_ascii(struct span s);
/* RFC 5322 3.3 date-time of t in UTC, whatever the locale, into out
 * (at least MIME_DATE_LEN bytes). */
void	mime_header_date(char *out, size_t outlen, int64_t t);

#endif
