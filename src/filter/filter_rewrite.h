/*
 * filter_rewrite: a message's header section with the header changes
 * milters asked for (SMFIR_ADDHEADER, SMFIR_INSHEADER, SMFIR_CHGHEADER),
 * applied in the order received. Pure.
 */
#ifndef POSTERN_FILTER_REWRITE_H
#define POSTERN_FILTER_REWRITE_H

#include <stddef.h>

#include "core/buf.h"
#include "filter/milter.h"

/*
 * hdr[0..len): a header section in LF form, without the empty line that
 * ends it. Appends to out the section with every header change of mods
 * (other kinds are skipped) applied, in LF form, without the empty line:
 *   add     "Name: value" after the last field;
 *   insert  before field number index (0 = the first; past the end = add);
 *   change  the index-th field (1 = the first) named name (any case):
 *           value "" deletes it; no such field = add (libmilter's rule).
 * New fields are written with mime_header_put (control bytes made blanks,
 * folded). 0, or -1 when out overflowed or there are more fields than
 * FILTER_FIELDS_MAX.
 */
#define FILTER_FIELDS_MAX	4096	/* header fields rewritten: ours */
int	filter_headers_apply(const char *hdr, size_t len,
	    const struct milter_mod *mods, size_t nmods, struct buf *out);

#endif
