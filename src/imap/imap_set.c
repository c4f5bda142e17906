/*
 * imap_set: sequence sets and UID sets (RFC 3501 9 sequence-set, 6.4.8)
 * resolved against the selected folder's view, in O(ranges * log ranges +
 * ranges * log n + n) whatever the set: each range becomes an interval of
 * indexes, the intervals are sorted and swept once, so a set of
 * IMAP_SEQ_RANGES_MAX overlapping ranges ("1:*,1:*,...") over
 * MBOX_MSGS_MAX messages stays cheap.
 */
#include <stdlib.h>

#include "core/xalloc.h"
#include "imap/imap_sess_int.h"

/* Indexes [from, to) of the view. */
struct imap_set_iv {
	uint32_t	 from, to;
};

/* The first index whose UID is >= uid (count when none). */
static uint32_t
imap_uid_lower(struct mbox *m, uint32_t uid)
{
	uint32_t lo = 0, hi = mbox_count(m), mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (mbox_msg(m, mid)->uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int
imap_set_iv_cmp(const void *a, const void *b)
{
	const struct imap_set_iv *x = a, *y = b;

	return x->from < y->from ? -1 : x->from > y->from;
}

int
imap_set_select(struct imap_session *s, struct span v, bool uid, bool *sel)
{
	struct imap_seq_set set;
	struct imap_set_iv *iv;
	uint32_t count = mbox_count(s->mb), star, a, b, i, covered;
	size_t r, niv = 0;

	if (imap_seq_set_parse(v, &set) != PARSE_OK)
		return -1;
	iv = xcalloc(set.nranges + 1, sizeof(*iv));
	star = count == 0 ? 0 : uid ? mbox_msg(s->mb, count - 1)->uid : count;
	for (r = 0; r < set.nranges; r++) {
		a = set.ranges[r].first == IMAP_SEQ_STAR ? star :
		    set.ranges[r].first;
		b = set.ranges[r].last == IMAP_SEQ_STAR ? star :
		    set.ranges[r].last;
		if (a > b) {
			i = a;
			a = b;
			b = i;
		}
		if (!uid) {
			/* RFC 3501 9: a number past the last message is an
			 * error. A range with "*" is taken as reaching the
			 * last message ("5:*" with 3 messages is 3), and
			 * selects nothing in an empty folder: clients send
			 * "1:*" blindly. */
			if (set.ranges[r].first != IMAP_SEQ_STAR &&
			    set.ranges[r].last != IMAP_SEQ_STAR && b > count) {
				free(iv);
				imap_seq_set_clear(&set);
				return -1;
			}
			if (b > count)
				b = count;
			if (a >= 1 && a <= b)
				iv[niv++] = (struct imap_set_iv){ a - 1, b };
			continue;
		}
		if (count == 0)
			continue;
		/* RFC 3501 6.4.8: "n:*" always includes the last UID,
		 * even when n is above it (the swap above does it). */
		iv[niv].from = imap_uid_lower(s->mb, a);
		iv[niv].to = b == UINT32_MAX ? count :
		    imap_uid_lower(s->mb, b + 1);
		if (iv[niv].from < iv[niv].to)
			niv++;
	}
	imap_seq_set_clear(&set);
	qsort(iv, niv, sizeof(*iv), imap_set_iv_cmp);
	/* Each index is set at most once: what an earlier interval covered
	 * is skipped. */
	for (r = 0, covered = 0; r < niv; r++) {
		for (i = iv[r].from > covered ? iv[r].from : covered;
		    i < iv[r].to; i++)
			sel[i] = true;
		if (iv[r].to > covered)
			covered = iv[r].to;
	}
	free(iv);
	return 0;
}
