/*
 * libFuzzer target for smtp/smtp_data: the DATA decoder fed in two chunks
 * split at a byte taken from the input, compared with the same input fed
 * whole. Output never holds a CR, and never outgrows the input.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp/smtp_data.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct run {
	enum smtp_data_rc	 rc;
	size_t			 used;
	struct smtp_data_dec	 d;
	struct buf		 out;
};

static void
run_decode(const char *in, size_t len, size_t cut, size_t max, struct run *r)
{
	size_t used;

	smtp_data_init(&r->d);
	buf_init(&r->out, max);
	r->rc = smtp_data_feed(&r->d, in, cut, &r->out, &used);
	assert(used <= cut);
	assert(r->rc != SMTP_DATA_MORE || used == cut);
	r->used = used;
	if (r->rc == SMTP_DATA_MORE) {
		r->rc = smtp_data_feed(&r->d, in + cut, len - cut, &r->out,
		    &used);
		assert(used <= len - cut);
		assert(r->rc != SMTP_DATA_MORE || used == len - cut);
		r->used += used;
	}
	assert(r->d.in_bytes == r->used);
	assert(r->d.out_bytes <= r->d.in_bytes);
	assert(r->out.len <= r->d.out_bytes);
	assert(r->out.overflowed || r->out.len == r->d.out_bytes);
	assert(r->out.len == 0 ||
	    memchr(r->out.data, '\r', r->out.len) == NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct run whole, split;
	size_t cut = 0, max = 1 << 16;
	char *in;

	/* First byte: the split point; second: a small out max sometimes. */
	if (size >= 2) {
		if (data[1] & 1)
			max = data[1];
		cut = data[0];
		data += 2;
		size -= 2;
	}
	cut %= size + 1;
	in = malloc(size ? size : 1);
	memcpy(in, data, size);
	run_decode(in, size, size, size + 1, &whole);
	run_decode(in, size, cut, max, &split);
	assert(whole.rc == split.rc && whole.used == split.used);
	assert(whole.d.out_bytes == split.d.out_bytes);
	if (!split.out.overflowed)
		assert(whole.out.len == split.out.len &&
		    memcmp(buf_cstr(&whole.out), buf_cstr(&split.out),
		    whole.out.len) == 0);
	buf_free(&whole.out);
	buf_free(&split.out);
	free(in);
	return 0;
}
