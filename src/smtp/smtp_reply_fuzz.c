/*
 * libFuzzer target for smtp/smtp_reply: the input fed in two chunks, split
 * at a position taken from its first byte, replies parsed one after another
 * (pipelining, RFC 2920) until one is incomplete or refused; every result is
 * checked against the contract of smtp_reply.h (RFC 5321 4.2, RFC 3463).
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp/smtp_reply.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
smtp_reply_fuzz_check(struct smtp_resp *r)
{
	struct buf out;
	struct span p;

	assert(r->code >= 200 && r->code <= 599);
	assert(r->text.len <= SMTP_REPLY_MAX);
	assert(r->nlines >= 1 && r->nlines <= SMTP_REPLY_LINES_MAX);
	assert(r->cls == 0 || r->cls == r->code / 100);
	assert(r->subj >= 0 && r->subj <= 999 && r->det >= 0 && r->det <= 999);
	if (smtp_resp_has_ext(r, "SIZE", &p))
		assert(p.ptr >= r->text.data &&
		    p.ptr + p.len <= r->text.data + r->text.len);
	buf_init(&out, 256);
	smtp_resp_format(r, &out);
	assert(out.len <= 256);
	assert(memchr(buf_cstr(&out), '\n', out.len) == NULL);
	buf_free(&out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A heap copy of exactly size bytes, so ASan sees any overread. */
	char *in = malloc(size ? size : 1);
	struct smtp_resp r;
	size_t split, off = 0, end, used;
	enum parse_rc rc;

	memcpy(in, data, size);
	split = size > 0 ? (size_t)data[0] % (size + 1) : 0;
	smtp_resp_init(&r);
	for (;;) {
		/* The first chunk ends at split, the second at size. */
		end = off < split ? split : size;
		rc = smtp_resp_feed(&r, in + off, end - off, &used);
		assert(used <= end - off);
		off += used;
		if (rc == PARSE_INCOMPLETE) {
			assert(off == end);
			if (end == size)
				break;
			continue;
		}
		if (rc != PARSE_OK)
			break;
		smtp_reply_fuzz_check(&r);
		smtp_resp_clear(&r);
	}
	smtp_resp_clear(&r);
	free(in);
	return 0;
}
