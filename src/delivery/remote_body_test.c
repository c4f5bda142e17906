/*
 * Tests for delivery/remote_body: the DATA stream made from a message in
 * LF form (RFC 5321 2.3.8, 4.5.2), checked byte for byte and by decoding
 * it again with the server's own decoder (smtp_data), for inputs split at
 * every position; and the scan that sizes it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "delivery/remote_body.h"
#include "smtp/smtp_data.h"

/* The whole stream for in, fed in two parts split at `split`. */
static size_t
encode(const char *in, size_t len, size_t split, char *out)
{
	struct remote_body_enc e;
	size_t n;

	remote_body_init(&e);
	n = remote_body_encode(&e, in, split, out);
	n += remote_body_encode(&e, in + split, len - split, out + n);
	n += remote_body_finish(&e, out + n);
	assert_true(n <= REMOTE_BODY_OUT_MAX(len));
	return n;
}

static void
expect(const char *in, const char *wire)
{
	size_t len = strlen(in);
	char *out = malloc(REMOTE_BODY_OUT_MAX(len));

	for (size_t split = 0; split <= len; split++) {
		size_t n = encode(in, len, split, out);

		assert_int_equal(n, strlen(wire));
		assert_memory_equal(out, wire, n);
	}
	free(out);
}

static void
test_line_ends_and_dots(void **state)
{
	(void)state;
	expect("", "");
	expect("a", "a\r\n");
	expect("a\n", "a\r\n");
	expect("a\r\nb\n", "a\r\nb\r\n");	/* a CRLF stays one */
	expect(".\n", "..\r\n");
	expect("x\n.\n..\n.x", "x\r\n..\r\n...\r\n..x\r\n");
	expect("a.b\n x.\n", "a.b\r\n x.\r\n");
	expect("\n\n", "\r\n\r\n");
	expect(".", "..\r\n");
}

static void
test_bare_cr_is_a_line_end(void **state)
{
	(void)state;
	/* No "\r.\r" can reach a peer that would take it as the end. */
	expect("a\r.\rb", "a\r\n..\r\nb\r\n");
	expect("a\r", "a\r\n");
	expect("\r\r\n", "\r\n\r\n");
}

/* A fixed sequence (LCG of Numerical Recipes): the same inputs each run. */
static uint32_t
next(uint32_t *seed)
{
	*seed = *seed * 1664525u + 1013904223u;
	return *seed >> 8;
}

/* What the server's decoder makes of our stream is the message. */
static void
test_round_trip_through_the_decoder(void **state)
{
	static const char alphabet[] = { 'a', '.', '\n', ' ', '\xe9' };
	char in[12], out[REMOTE_BODY_OUT_MAX(sizeof(in)) + 3];
	struct smtp_data_dec d;
	struct buf back;
	size_t n, used;
	uint32_t seed = 1;

	(void)state;
	buf_init(&back, 64);
	for (int round = 0; round < 20000; round++) {
		size_t len = next(&seed) % sizeof(in);

		for (size_t i = 0; i < len; i++)
			in[i] = alphabet[next(&seed) % sizeof(alphabet)];
		n = encode(in, len, len / 2, out);
		memcpy(out + n, ".\r\n", 3);
		smtp_data_init(&d);
		buf_reset(&back);
		assert_int_equal(smtp_data_feed(&d, out, n + 3, &back, &used),
		    SMTP_DATA_END);
		assert_int_equal(used, n + 3);	/* ends exactly at our dot */
		/* Back as stored: LF form, with a final LF added if none. */
		if (len > 0 && in[len - 1] != '\n') {
			assert_int_equal(back.len, len + 1);
			assert_int_equal(back.data[len], '\n');
		} else
			assert_int_equal(back.len, len);
		assert_memory_equal(buf_cstr(&back), in, len);
	}
	buf_free(&back);
}

static void
test_scan(void **state)
{
	char path[] = "/tmp/postern-body-XXXXXX";
	int fd = mkstemp(path);
	char *big = malloc(3 * REMOTE_BODY_CHUNK);
	uint64_t wire;
	bool eight;

	(void)state;
	assert_true(fd != -1);
	unlink(path);
	/* Skipped prefix, then 3 chunks: lines of 99 dots and an LF. */
	for (size_t i = 0; i < 3 * REMOTE_BODY_CHUNK; i++)
		big[i] = i % 100 == 99 ? '\n' : '.';
	assert_int_equal(write(fd, "HEADER", 6), 6);
	assert_int_equal(write(fd, big, 3 * REMOTE_BODY_CHUNK),
	    3 * REMOTE_BODY_CHUNK);
	assert_int_equal(remote_body_scan(fd, 6, 3 * REMOTE_BODY_CHUNK, &wire,
	    &eight), 0);
	/* Each line: 99 dots, one more for stuffing, CRLF; the last,
	 * partial line (3 * 65536 % 100 = 8 dots) the same. */
	assert_int_equal(wire, 3 * REMOTE_BODY_CHUNK / 100 * 102 + 8 + 3);
	assert_false(eight);
	assert_int_equal(pwrite(fd, "\x80", 1, 6 + 2 * REMOTE_BODY_CHUNK + 5), 1);
	assert_int_equal(remote_body_scan(fd, 6, 3 * REMOTE_BODY_CHUNK, &wire,
	    &eight), 0);
	assert_true(eight);
	/* The file is shorter than the queue says: an error, not a hang. */
	assert_int_equal(remote_body_scan(fd, 6, 4 * REMOTE_BODY_CHUNK, &wire,
	    &eight), -1);
	free(big);
	close(fd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_line_ends_and_dots),
		cmocka_unit_test(test_bare_cr_is_a_line_end),
		cmocka_unit_test(test_round_trip_through_the_decoder),
		cmocka_unit_test(test_scan),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
