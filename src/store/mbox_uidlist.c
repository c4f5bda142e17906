/*
 * mbox_uidlist: strict parser of `postern-uidlist` lines (mbox_uidlist.h).
 * Writing the file is store/mbox_ul.c's job.
 */
#include <string.h>

#include "store/mbox_uidlist.h"

bool
mbox_uidlist_base_ok(const char *s, size_t len)
{
	if (len == 0 || len > MBOX_UIDLIST_BASE_MAX || s[0] == '.')
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= 0x20 || c == 0x7f || c == '/' || c == ':')
			return false;
	}
	return true;
}

/* Decimal digits at *p (at most maxdig, no sign, no leading zero unless
 * the number is 0) into *out; advances *p. */
static bool
mbox_uidlist_num(const char **p, const char *end, int maxdig, uint64_t *out)
{
	const char *s = *p;
	uint64_t v = 0;
	int n = 0;

	while (s < end && *s >= '0' && *s <= '9') {
		if (++n > maxdig)
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
		s++;
	}
	if (n == 0 || (n > 1 && **p == '0'))
		return false;
	*p = s;
	*out = v;
	return true;
}

static void
mbox_uidlist_header(struct mbox_uidlist_state *st, const char *p,
    const char *end)
{
	uint64_t v, n;

	st->have_header = true;
	if (p == end || *p++ != 'V' || !mbox_uidlist_num(&p, end, 10, &v) ||
	    v == 0 || v > UINT32_MAX)
		return;
	/* Even if the rest is bad, a new UIDVALIDITY must pass this one. */
	st->old_uidvalidity = (uint32_t)v;
	if (end - p < 2 || p[0] != ' ' || p[1] != 'N')
		return;
	p += 2;
	if (!mbox_uidlist_num(&p, end, 10, &n) || n == 0 || n > UINT32_MAX ||
	    p != end)
		return;
	st->header_ok = true;
	st->old_uidvalidity = 0;
	st->uidvalidity = (uint32_t)v;
	st->uidnext = (uint32_t)n;
}

static bool
mbox_uidlist_record(struct mbox_uidlist_state *st, const char *p,
    const char *end, struct mbox_uidlist_rec *r)
{
	uint64_t uid, vsize;

	if (!mbox_uidlist_num(&p, end, 10, &uid) || uid == 0 ||
	    uid >= UINT32_MAX || uid <= st->last_uid)
		return false;
	if (p == end || *p++ != ' ' ||
	    !mbox_uidlist_num(&p, end, 20, &vsize) ||
	    vsize > MBOX_UIDLIST_VSIZE_MAX)
		return false;
	if (p == end || *p++ != ' ' ||
	    !mbox_uidlist_base_ok(p, (size_t)(end - p)))
		return false;
	r->uid = (uint32_t)uid;
	r->vsize = vsize;
	r->base = (struct span){ p, (size_t)(end - p) };
	return true;
}

size_t
mbox_uidlist_parse(struct mbox_uidlist_state *st, const char *data,
    size_t len, void (*rec)(void *arg, const struct mbox_uidlist_rec *r),
    void *arg)
{
	size_t off = 0;
	struct mbox_uidlist_rec r;

	while (off < len) {
		const char *line = data + off;
		const char *lf = memchr(line, '\n', len - off);
		size_t n;

		if (lf == NULL) {
			if (!st->skipping && len - off < MBOX_UIDLIST_LINE_MAX)
				break;	/* the caller passes it again */
			/* Over-long and unterminated: drop it up to its LF. */
			st->skipping = true;
			off = len;
			break;
		}
		n = (size_t)(lf - line);
		off += n + 1;
		if (st->skipping || n + 1 > MBOX_UIDLIST_LINE_MAX) {
			st->skipping = false;
			if (!st->have_header)
				st->have_header = true;
			else
				st->nbad++;
			continue;
		}
		if (!st->have_header) {
			mbox_uidlist_header(st, line, lf);
			continue;
		}
		if (!mbox_uidlist_record(st, line, lf, &r)) {
			st->nbad++;
			continue;
		}
		st->last_uid = r.uid;
		st->nrecords++;
		if (rec != NULL)
			rec(arg, &r);
	}
	return off;
}
