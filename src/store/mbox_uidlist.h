/*
 * mbox_uidlist: the parser of a folder's `postern-uidlist` (store/mbox.h,
 * docs/architecture.md "Mailbox access"). Pure: no I/O, so it is tested
 * and fuzzed alone. The file is disk input and treated as hostile: lines
 * are bounded, numbers range-checked, UIDs must increase strictly, a base
 * name is one file name; a bad line is skipped and counted.
 *
 *   V<uidvalidity> N<uidnext>\n          first line
 *   <uid> <vsize> <base name>\n           one per message, UID order
 */
#ifndef POSTERN_MBOX_UIDLIST_H
#define POSTERN_MBOX_UIDLIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

#define MBOX_UIDLIST_LINE_MAX	512	/* bytes with the LF: ours (a base
					 * name is at most NAME_MAX 255) */
#define MBOX_UIDLIST_BASE_MAX	255	/* NAME_MAX */
#define MBOX_UIDLIST_VSIZE_MAX	((uint64_t)1 << 48)	/* ours */

struct mbox_uidlist_rec {
	uint32_t	 uid;
	uint64_t	 vsize;
	struct span	 base;		/* points into the parsed data */
};

/* Parser state across calls (the file is read in pieces, and again from
 * where it stopped at the next sync). Zero it to start at the file's top. */
struct mbox_uidlist_state {
	bool		 have_header;	/* the first line was seen */
	bool		 header_ok;	/* ... and was well formed */
	bool		 skipping;	/* inside an over-long line */
	uint32_t	 uidvalidity;	/* header_ok: V */
	uint32_t	 uidnext;	/* header_ok: N (a floor: see below) */
	/* A bad first line whose "V<n>" part still parses: n, else 0 (a new
	 * UIDVALIDITY must be greater). */
	uint32_t	 old_uidvalidity;
	uint32_t	 last_uid;	/* highest record UID accepted so far */
	size_t		 nrecords;	/* good records */
	size_t		 nbad;		/* skipped lines after the first */
};

/*
 * Parses the LF-terminated lines of data[0..len), calling rec (may be
 * NULL) for each good record. Returns the bytes consumed: every complete
 * line, and also an unterminated tail longer than MBOX_UIDLIST_LINE_MAX
 * or belonging to such a line (skipped up to its LF in a later call). The
 * caller keeps the rest (less than MBOX_UIDLIST_LINE_MAX bytes) and passes
 * it again with more data: the result is the same however data is cut.
 * uidnext of the file is max(st->uidnext, st->last_uid + 1).
 */
size_t	mbox_uidlist_parse(struct mbox_uidlist_state *st, const char *data,
	    size_t len, void (*rec)(void *arg, const struct mbox_uidlist_rec *r),
	    void *arg);

/* Is s acceptable as a base name (1..255 bytes, none of NUL, "/", ":",
 * controls, SP, DEL; no leading ".")? Also used for the names found in
 * new/ and cur/. */
bool	mbox_uidlist_base_ok(const char *s, size_t len);

#endif
