/*
 * parse: the result type every parser returns, and CRLF line framing.
 * "Too long" is kept apart from "malformed" so replies can say which.
 */
#ifndef POSTERN_PARSE_H
#define POSTERN_PARSE_H

#include <stddef.h>

#include "core/buf.h"

enum parse_rc { PARSE_OK, PARSE_INCOMPLETE, PARSE_INVALID, PARSE_TOO_LONG };

/*
 * Finds the first CRLF-terminated line in data[0..len). Gives up after max
 * bytes (CRLF included) with no LF, so a peer cannot make us buffer forever.
 * A bare LF (not preceded by CR) is PARSE_INVALID: it is the lever behind
 * SMTP smuggling. A CR not followed by LF inside the line is PARSE_INVALID too.
 * On PARSE_OK, *line_out excludes the CRLF and *used_out counts it.
 */
enum parse_rc line_find(const char *data, size_t len, size_t max,
	    struct span *line_out, size_t *used_out);

#endif
