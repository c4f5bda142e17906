/*
 * libFuzzer target for core/line: line_find() over arbitrary bytes with a
 * max taken from the input, checking the framing contract of parse.h.
 */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "core/limits.h"
#include "core/parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	size_t max = SMTP_CMD_LINE_MAX, used = 0, i;
	struct span line = { NULL, 0 };
	enum parse_rc rc;

	/* First byte picks a small max so the limit paths get exercised. */
	if (size > 0) {
		max = data[0] % 2 ? (size_t)data[0] / 2 : SMTP_CMD_LINE_MAX;
		p++;
		size--;
	}
	/* Walk the input as a session would: line after line. */
	while ((rc = line_find(p, size, max, &line, &used)) == PARSE_OK) {
		assert(used == line.len + 2 && used <= size && used <= max);
		assert(line.ptr == p);
		assert(p[line.len] == '\r' && p[line.len + 1] == '\n');
		for (i = 0; i < line.len; i++)
			assert(p[i] != '\r' && p[i] != '\n');
		p += used;
		size -= used;
	}
	if (rc == PARSE_TOO_LONG)
		assert(size >= max);
	if (rc == PARSE_INCOMPLETE) {
		assert(size < max);
		assert(memchr(p, '\n', size) == NULL);
	}
	return 0;
}
