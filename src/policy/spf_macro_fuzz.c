/*
 * libFuzzer target for policy/spf_macro: any bytes expanded as a
 * macro-string (RFC 7208 7) with a fixed environment, first as a
 * domain-spec, then as explanation text, for an IPv4 and an IPv6 client.
 * Checks the output bound, the 253-octet ceiling of a domain-spec, and
 * that the syntax check agrees with the expansion.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/limits.h"
#include "policy/spf.h"
#include "policy/spf_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const ips[] = { "192.0.2.3", "2001:db8::cb01" };
	char *in = malloc(size ? size : 1);
	struct spf_macro_env env = {
		.sender = "strong-bad@email.example.com",
		.domain = "email.example.com", .ptr = "mx.example.org",
		.helo = "mx.example.org", .receiver = "mx.example.net",
		.now = 1400000000,
	};
	struct span s;
	struct buf b;
	enum parse_rc rc;
	size_t i, m;

	memcpy(in, data, size);
	s = (struct span){ in, size };
	buf_init(&b, 1024);
	for (i = 0; i < 2; i++)
		for (m = 0; m < 2; m++) {
			env.ip = ips[i];
			env.exp = m == 1;
			rc = spf_macro_expand(s, &env, &b);
			assert(b.len <= b.max);
			if (rc == PARSE_OK && !env.exp)
				assert(b.len <= SPF_DOMAIN_MAX);
			if (rc != PARSE_OK)
				assert(b.len == 0);
			/* The check done at parse time agrees (an expansion
			 * that ran out of room stopped before the end). */
			if (rc != PARSE_TOO_LONG)
				assert((spf_macro_check(s, env.exp, NULL) ==
				    PARSE_OK) == (rc == PARSE_OK));
			(void)spf_macro_uses_p(s);
		}
	buf_free(&b);
	free(in);
	return 0;
}
