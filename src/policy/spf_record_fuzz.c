/*
 * libFuzzer target for policy/spf_record: any bytes parsed as an SPF
 * record (RFC 7208 4.5, 5, 6). Checks that every span a term borrows lies
 * inside the input, that at most max terms come back, and that a record
 * the parser accepts passes spf_record_is_spf().
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy/spf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
inside(struct span s, const char *in, size_t size)
{
	assert(s.len == 0 || (s.ptr >= in && s.ptr + s.len <= in + size));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A heap copy of exactly size bytes, so ASan sees any overread. */
	char *in = malloc(size ? size : 1);
	struct spf_term terms[32];
	struct span rec;
	size_t n = 0, i;

	memcpy(in, data, size);
	rec = (struct span){ in, size };
	if (spf_record_parse(rec, terms, 32, &n) == PARSE_OK) {
		assert(spf_record_is_spf(rec));
		assert(n <= 32);
		for (i = 0; i < n; i++) {
			inside(terms[i].text, in, size);
			inside(terms[i].spec, in, size);
			assert(terms[i].cidr4 >= -1 && terms[i].cidr4 <= 32);
			assert(terms[i].cidr6 >= -1 && terms[i].cidr6 <= 128);
		}
	} else
		assert(n == 0);
	free(in);
	return 0;
}
