/*
 * imap_set: sequence sets and UID sets (RFC 3501 9 sequence-set, 6.4.8)
 * resolved against the selected folder's view, in O(ranges * log n + n)
 * whatever the set, so a set of IMAP_SEQ_RANGES_MAX ranges over
 * MBOX_MSGS_MAX messages stays cheap.
 */
#include "imap/imap_sess_int.h"

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

int
imap_set_select(struct imap_session *s, struct span v, bool uid, bool *sel)
{
	struct imap_seq_set set;
	uint32_t count = mbox_count(s->mb), star, a, b, i, from, to;
	size_t r;

	if (imap_seq_set_parse(v, &set) != PARSE_OK)
		return -1;
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
				imap_seq_set_clear(&set);
				return -1;
			}
			if (b > count)
				b = count;
			for (i = a; i >= 1 && i <= b; i++)
				sel[i - 1] = true;
			continue;
		}
		if (count == 0)
			continue;
		/* RFC 3501 6.4.8: "n:*" always includes the last UID,
		 * even when n is above it (the swap above does it). */
		from = imap_uid_lower(s->mb, a);
		to = b == UINT32_MAX ? count : imap_uid_lower(s->mb, b + 1);
		for (i = from; i < to; i++)
			sel[i] = true;
	}
	imap_seq_set_clear(&set);
	return 0;
}
