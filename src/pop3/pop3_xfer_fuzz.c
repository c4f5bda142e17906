/*
 * libFuzzer target for pop3/pop3_xfer: a message fed whole and fed in
 * pieces (cut where the first input bytes say) gives the same output, the
 * output stays within POP3_XFER_OUT_MAX, has no bare LF, and ends with
 * the terminating ".\r\n"; for TOP the result is a prefix of the RETR
 * output's lines.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pop3/pop3_xfer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Converts in[0..n) in pieces of `step` bytes (0 = whole); out must hold
 * POP3_XFER_OUT_MAX(n) + POP3_XFER_FINISH_MAX. */
static size_t
run(bool top, uint64_t lines, const char *in, size_t n, size_t step,
    char *out)
{
	struct pop3_xfer x;
	size_t o = 0, i = 0, a;

	pop3_xfer_init(&x, top, lines);
	do {
		size_t k = step == 0 || n - i < step ? n - i : step;

		a = pop3_xfer_feed(&x, in + i, k, out + o);
		assert(a <= POP3_XFER_OUT_MAX(k));
		o += a;
		i += k;
	} while (i < n);
	a = pop3_xfer_finish(&x, out + o);
	assert(a <= POP3_XFER_FINISH_MAX);
	return o + a;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t step, n, o1, o2, o3;
	uint64_t lines;
	char *in, *a, *b, *c;

	if (size < 2)
		return 0;
	step = data[0] % 17;
	lines = data[1] % 8;
	n = size - 2;
	in = malloc(n ? n : 1);
	memcpy(in, data + 2, n);
	a = malloc(POP3_XFER_OUT_MAX(n) + POP3_XFER_FINISH_MAX);
	b = malloc(POP3_XFER_OUT_MAX(n) + POP3_XFER_FINISH_MAX);
	c = malloc(POP3_XFER_OUT_MAX(n) + POP3_XFER_FINISH_MAX);

	o1 = run(false, 0, in, n, 0, a);
	o2 = run(false, 0, in, n, step, b);
	assert(o1 == o2 && memcmp(a, b, o1) == 0);
	assert(o1 >= 3 && memcmp(a + o1 - 3, ".\r\n", 3) == 0);
	assert(o1 == 3 || (a[o1 - 5] == '\r' && a[o1 - 4] == '\n'));
	for (size_t i = 0; i < o1; i++)
		if (a[i] == '\n')
			assert(i > 0 && a[i - 1] == '\r');

	/* TOP: whole and in pieces agree; before its "." it is a prefix of
	 * RETR's output. */
	o2 = run(true, lines, in, n, 0, b);
	o3 = run(true, lines, in, n, step, c);
	assert(o2 == o3 && memcmp(b, c, o2) == 0);
	assert(o2 <= o1 && memcmp(a, b, o2 - 3) == 0);

	free(in);
	free(a);
	free(b);
	free(c);
	return 0;
}
