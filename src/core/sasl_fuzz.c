/*
 * libFuzzer target for core/sasl: base64 decoding round-trips, and PLAIN
 * splitting never reads outside the message.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/limits.h"
#include "core/sasl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf out, again;
	struct span user, pass;

	buf_init(&out, SASL_RESPONSE_MAX);
	if (sasl_b64_decode((struct span){ (const char *)data, size }, &out) ==
	    PARSE_OK && out.len > 0) {
		buf_init(&again, SASL_RESPONSE_MAX * 2);
		sasl_b64_encode(out.data, out.len, &again);
		/* Strict decoding: what decodes re-encodes to the same text. */
		if (again.len != size || memcmp(again.data, data, size) != 0)
			abort();
		buf_free(&again);
		if (sasl_plain_split((struct span){ out.data, out.len }, &user,
		    &pass) == PARSE_OK && (user.ptr < out.data ||
		    pass.ptr + pass.len > out.data + out.len))
			abort();
	}
	buf_free(&out);
	return 0;
}
