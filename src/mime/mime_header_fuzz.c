/*
 * libFuzzer target for mime/mime_header: walks the header section of
 * arbitrary bytes, unfolds every value, and writes it back folded,
 * checking that nothing is read past the input, that unfolded values hold
 * no line break, and that a written field is one field of lines within
 * 998 octets, whatever the value held.
 */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "mime/mime_header.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Each line within 998 octets, continuation lines start with a blank, the
 * whole ends in LF, and no CR. */
static void
check_field(const struct buf *b)
{
	const char *p = b->data, *end = b->data + b->len, *nl;
	int first = 1;

	assert(b->len > 0 && end[-1] == '\n');
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		assert(nl != NULL);
		assert((size_t)(nl - p) <= MIME_LINE_HARD_MAX);
		assert(memchr(p, '\r', (size_t)(nl - p)) == NULL);
		if (!first)
			assert(*p == ' ' || *p == '\t');
		first = 0;
		p = nl + 1;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *msg = (const char *)data;
	size_t hlen = mime_header_section_len(msg, size);
	struct mime_header_iter it;
	struct span name, value;
	struct buf u, out;

	assert(hlen <= size);
	buf_init(&u, 1 << 16);
	buf_init(&out, 1 << 18);
	mime_header_iter_init(&it, msg, hlen);
	while (mime_header_next(&it, &name, &value)) {
		assert(name.ptr >= msg && name.ptr + name.len <= msg + hlen);
		assert(value.ptr >= msg && value.ptr + value.len <= msg + hlen);
		assert(name.len > 0 && memchr(name.ptr, ':', name.len) == NULL);
		buf_reset(&u);
		(void)mime_header_unfold(value, &u);
		assert(u.len == 0 || memchr(u.data, '\n', u.len) == NULL);
		buf_reset(&out);
		if (mime_header_put(&out, "X-Fuzz", value) == 0)
			check_field(&out);
	}
	buf_reset(&out);
	if (mime_header_encode(&out, (struct span){ msg, size }) == 0 &&
	    !mime_is_ascii((struct span){ msg, size }))
		assert(memchr(out.data, '\n', out.len) == NULL);
	buf_free(&u);
	buf_free(&out);
	return 0;
}
