/*
 * libFuzzer target for delivery/remote_ehlo: the input parsed as SMTP
 * replies (smtp_reply), one after another, and every complete one read as
 * an EHLO reply; the result is checked against remote_ehlo.h (nothing
 * offered unless the reply is a 250, a SIZE limit only with SIZE).
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "delivery/remote_ehlo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A heap copy of exactly size bytes, so ASan sees any overread. */
	char *in = malloc(size ? size : 1);
	struct remote_ehlo e;
	struct smtp_resp r;
	size_t off = 0, used;

	memcpy(in, data, size);
	smtp_resp_init(&r);
	while (off < size && smtp_resp_feed(&r, in + off, size - off,
	    &used) == PARSE_OK) {
		off += used;
		remote_ehlo_parse(&r, &e);
		if (r.code != 250)
			assert(!e.pipelining && !e.eightbitmime && !e.starttls &&
			    !e.smtputf8 && !e.size && !e.auth_plain);
		assert(e.size || e.size_max == 0);
		smtp_resp_clear(&r);
	}
	smtp_resp_clear(&r);
	free(in);
	return 0;
}
