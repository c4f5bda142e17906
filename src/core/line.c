/*
 * line: CRLF line framing with a ceiling (see parse.h). Owns only the
 * framing; what a line means is left to the protocol parsers. Implements
 * the CRLF rule of RFC 5321 2.3.8 (and of RFC 1939 / RFC 3501, which share
 * it), refusing bare CR and bare LF (SMTP smuggling, CVE-2023-51766 and kin).
 */
#include <string.h>

#include "core/parse.h"

enum parse_rc
line_find(const char *data, size_t len, size_t max, struct span *line_out,
    size_t *used_out)
{
	size_t n = len < max ? len : max;
	const char *lf, *stop, *cr;

	if (n == 0)
		return len >= max ? PARSE_TOO_LONG : PARSE_INCOMPLETE;
	lf = memchr(data, '\n', n);
	stop = lf != NULL ? lf : data + n;

	/*
	 * Every CR before the first LF must be the one right in front of it.
	 * Decide as soon as the byte after a CR is known, so a peer sending
	 * "\r" + junk is refused now rather than when the line fills up.
	 */
	for (cr = memchr(data, '\r', (size_t)(stop - data)); cr != NULL;
	    cr = memchr(cr + 1, '\r', (size_t)(stop - cr - 1))) {
		if (cr + 1 == stop) {
			if (lf != NULL)
				break;			/* the CR of CRLF */
			if ((size_t)(stop - data) == len)
				break;			/* LF may still come */
			if (data[n] != '\n')
				return PARSE_INVALID;	/* past max, but bare */
			break;
		}
		return PARSE_INVALID;
	}
	if (lf == NULL)
		return len >= max ? PARSE_TOO_LONG : PARSE_INCOMPLETE;
	if (lf == data || lf[-1] != '\r')
		return PARSE_INVALID;
	*line_out = (struct span){ data, (size_t)(lf - data) - 1 };
	*used_out = (size_t)(lf - data) + 1;
	return PARSE_OK;
}
