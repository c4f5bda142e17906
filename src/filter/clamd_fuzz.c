/*
 * libFuzzer target for clamd: clamd_parse_reply() over arbitrary bytes,
 * with detail buffers of several sizes. The detail must always be a
 * terminated string of printable ASCII within its buffer, and CLAMD_CLEAN
 * must come only from the exact "stream: OK" (with trailing blanks).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "filter/clamd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* "stream: OK" and then blanks only: what may be clean. */
static int
clamd_fuzz_is_ok(const uint8_t *data, size_t size)
{
	if (size < 10 || memcmp(data, "stream: OK", 10) != 0)
		return 0;
	for (size_t i = 10; i < size; i++)
		if (data[i] != ' ' && data[i] != '\r' && data[i] != '\n')
			return 0;
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t sizes[] = { 1, 2, 9, 64, 300 };
	char detail[300 + 8];
	enum clamd_result r;

	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		memset(detail, 0x55, sizeof(detail));
		r = clamd_parse_reply((const char *)data, size, detail, sizes[k]);
		if (memchr(detail, '\0', sizes[k]) == NULL)
			abort();
		for (size_t i = 0; detail[i] != '\0'; i++)
			if (detail[i] < 0x20 || detail[i] > 0x7e)
				abort();
		for (size_t i = sizes[k]; i < sizeof(detail); i++)
			if (detail[i] != 0x55)
				abort();
		if ((r == CLAMD_CLEAN) != clamd_fuzz_is_ok(data, size))
			abort();
	}
	(void)clamd_parse_reply((const char *)data, size, NULL, 0);
	return 0;
}
