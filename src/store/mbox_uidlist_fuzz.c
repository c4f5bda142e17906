/*
 * libFuzzer target for store/mbox_uidlist: a uid list parsed whole and in
 * pseudo-random pieces (as mbox_ul.c reads it: the unconsumed tail passed
 * again with more) must give the same records and counts; every record's
 * UID must exceed the one before, its base name must pass
 * mbox_uidlist_base_ok() and lie inside the input; an unconsumed tail is
 * always shorter than a line.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/mbox_uidlist.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_INPUT_MAX	(1 << 20)

struct fuzz_out {
	struct buf	 log;
	uint32_t	 last;
	const char	*lo, *hi;	/* the bytes the parser was given */
};

static void
fuzz_rec(void *arg, const struct mbox_uidlist_rec *r)
{
	struct fuzz_out *o = arg;

	assert(r->uid > o->last && r->uid != 0 && r->uid < UINT32_MAX);
	assert(r->vsize <= MBOX_UIDLIST_VSIZE_MAX);
	assert(r->base.ptr >= o->lo && r->base.ptr + r->base.len <= o->hi);
	assert(mbox_uidlist_base_ok(r->base.ptr, r->base.len));
	assert(memchr(r->base.ptr, '/', r->base.len) == NULL);
	assert(memchr(r->base.ptr, '\0', r->base.len) == NULL);
	o->last = r->uid;
	buf_printf(&o->log, "%u %llu ", r->uid, (unsigned long long)r->vsize);
	buf_append_span(&o->log, r->base);
	buf_append_str(&o->log, "\n");
}

static void
fuzz_run(const uint8_t *data, size_t size, bool whole, struct fuzz_out *o,
    struct mbox_uidlist_state *st)
{
	/* The reader's window: unconsumed bytes, then the next piece. */
	char *win = malloc(size + 1);
	size_t have = 0, off = 0, used;
	uint32_t r = (uint32_t)size * 2654435761u + 7;

	assert(win != NULL);
	memset(st, 0, sizeof(*st));
	buf_init(&o->log, (size_t)1 << 30);
	o->last = 0;
	while (off < size) {
		size_t n;

		r = r * 1103515245u + 12345u;
		n = whole ? size : 1 + (r >> 16) % 700;
		if (n > size - off)
			n = size - off;
		memcpy(win + have, data + off, n);
		have += n;
		off += n;
		o->lo = win;
		o->hi = win + have;
		used = mbox_uidlist_parse(st, win, have, fuzz_rec, o);
		assert(used <= have);
		memmove(win, win + used, have - used);
		have -= used;
		assert(have < MBOX_UIDLIST_LINE_MAX);
	}
	assert(st->last_uid == o->last);
	buf_printf(&o->log, "hdr=%d ok=%d v=%u n=%u old=%u rec=%zu bad=%zu "
	    "tail=%zu\n", st->have_header, st->header_ok, st->uidvalidity,
	    st->uidnext, st->old_uidvalidity, st->nrecords, st->nbad, have);
	free(win);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_out a, b;
	struct mbox_uidlist_state sa, sb;

	if (size > FUZZ_INPUT_MAX)
		return 0;
	fuzz_run(data, size, true, &a, &sa);
	fuzz_run(data, size, false, &b, &sb);
	assert(a.log.len == b.log.len &&
	    memcmp(buf_cstr(&a.log), buf_cstr(&b.log), a.log.len) == 0);
	assert(!sa.header_ok || (sa.uidvalidity != 0 && sa.uidnext != 0));
	buf_free(&a.log);
	buf_free(&b.log);
	return 0;
}
