/*
 * Unit tests for filter/milter_proto: packets built byte for byte, the
 * framing limit at MILTER_PACKET_MAX and one past it, partial input,
 * option negotiation, every reply form (and each one cut short or with
 * bytes left over), and the reply text check.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "filter/milter_proto.h"

/* A packet as the milter would send it: length, cmd, data. */
static size_t
packet(char *out, char cmd, const void *data, size_t len)
{
	uint32_t n = htonl((uint32_t)len + 1);

	memcpy(out, &n, 4);
	out[4] = cmd;
	if (len > 0)
		memcpy(out + 5, data, len);
	return len + 5;
}

static void
test_put(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 64);
	assert_int_equal(milter_put(&b, SMFIC_BODY, "ab", 2), 0);
	assert_int_equal(b.len, 7);
	assert_memory_equal(b.data, "\0\0\0\3Bab", 7);
	assert_int_equal(milter_put(&b, SMFIC_DATA, NULL, 0), 0);
	assert_memory_equal(b.data + 7, "\0\0\0\1T", 5);
	buf_reset(&b);
	assert_int_equal(milter_put_strs(&b, SMFIC_HEADER, "Subject", "hi",
	    (const char *)NULL), 0);
	assert_int_equal(b.len, 5 + 8 + 3);
	assert_memory_equal(b.data, "\0\0\0\14LSubject\0hi\0", 16);
	buf_reset(&b);
	assert_int_equal(milter_put_strs(&b, SMFIC_EOH, (const char *)NULL), 0);
	assert_memory_equal(b.data, "\0\0\0\1N", 5);
	buf_free(&b);
}

/* A packet that does not fit is not written at all. */
static void
test_put_overflow(void **state)
{
	struct buf b;
	char data[16] = { 0 };

	(void)state;
	buf_init(&b, 20);
	assert_int_equal(milter_put(&b, SMFIC_BODY, data, 15), 0);
	assert_int_equal(b.len, 20);
	assert_int_equal(milter_put(&b, SMFIC_BODY, data, 0), -1);
	assert_true(b.overflowed);
	assert_int_equal(b.len, 20);
	buf_free(&b);
	buf_init(&b, 20);
	assert_int_equal(milter_put_strs(&b, SMFIC_RCPT, "0123456789abcd",
	    (const char *)NULL), 0);
	assert_int_equal(b.len, 20);
	buf_reset(&b);
	assert_int_equal(milter_put_strs(&b, SMFIC_RCPT, "0123456789abcde",
	    (const char *)NULL), -1);
	assert_int_equal(b.len, 0);
	buf_free(&b);
}

static void
test_get(void **state)
{
	char in[32], cmd = 0;
	const char *data;
	size_t dlen, used, n;

	(void)state;
	n = packet(in, SMFIR_ADDHEADER, "X\0y\0", 4);
	n += packet(in + n, SMFIR_CONTINUE, NULL, 0);
	for (size_t i = 0; i < 9; i++)
		assert_int_equal(milter_get(in, i, &cmd, &data, &dlen, &used), 0);
	assert_int_equal(milter_get(in, n, &cmd, &data, &dlen, &used), 1);
	assert_int_equal(cmd, 'h');
	assert_int_equal(dlen, 4);
	assert_ptr_equal(data, in + 5);
	assert_int_equal(used, 9);
	assert_int_equal(milter_get(in + used, n - used, &cmd, &data, &dlen,
	    &used), 1);
	assert_int_equal(cmd, 'c');
	assert_int_equal(dlen, 0);
	assert_int_equal(used, 5);
	/* A zero length has not even the command byte. */
	memset(in, 0, 8);
	assert_int_equal(milter_get(in, 8, &cmd, &data, &dlen, &used), -1);
}

/* MILTER_PACKET_MAX is the most; one more is refused from the length
 * alone, before the data has arrived. */
static void
test_get_limit(void **state)
{
	size_t n = 4 + MILTER_PACKET_MAX;
	char *in = calloc(1, n + 1);
	uint32_t len = htonl(MILTER_PACKET_MAX);
	char cmd;
	const char *data;
	size_t dlen, used;

	(void)state;
	memcpy(in, &len, 4);
	in[4] = SMFIR_REPLBODY;
	assert_int_equal(milter_get(in, 5, &cmd, &data, &dlen, &used), 0);
	assert_int_equal(milter_get(in, n - 1, &cmd, &data, &dlen, &used), 0);
	assert_int_equal(milter_get(in, n, &cmd, &data, &dlen, &used), 1);
	assert_int_equal(dlen, MILTER_PACKET_MAX - 1);
	assert_int_equal(used, n);
	len = htonl(MILTER_PACKET_MAX + 1);
	memcpy(in, &len, 4);
	assert_int_equal(milter_get(in, 4, &cmd, &data, &dlen, &used), -1);
	len = htonl(UINT32_MAX);
	memcpy(in, &len, 4);
	assert_int_equal(milter_get(in, 4, &cmd, &data, &dlen, &used), -1);
	free(in);
}

static void
test_optneg(void **state)
{
	struct milter_optneg o;
	const char d[] = "\0\0\0\6\0\0\0\x3f\0\x1f\xff\xff" "xyz";

	(void)state;
	assert_int_equal(milter_parse_optneg(d, 12, &o), 0);
	assert_int_equal(o.version, 6);
	assert_int_equal(o.actions, 0x3f);
	assert_int_equal(o.protocol, 0x1fffff);
	/* Macro lists after the words are ignored. */
	assert_int_equal(milter_parse_optneg(d, 16, &o), 0);
	assert_int_equal(milter_parse_optneg(d, 11, &o), -1);
	assert_int_equal(milter_parse_optneg(d, 0, &o), -1);
}

/* The last packet parsed: r's spans point into it. */
static char *parsed;

static int
parse(char cmd, const char *data, size_t len, struct milter_reply *r)
{
	/* An exact copy on the heap: ASan sees a read past len. */
	free(parsed);
	parsed = malloc(len > 0 ? len : 1);
	memcpy(parsed, data, len);
	return milter_parse_reply(cmd, parsed, len, r);
}

static int
parse_done(void **state)
{
	(void)state;
	free(parsed);
	parsed = NULL;
	return 0;
}

static void
test_reply_simple(void **state)
{
	const char *simple = "acdrtps";
	struct milter_reply r;

	(void)state;
	for (const char *c = simple; *c != '\0'; c++) {
		assert_int_equal(parse(*c, "", 0, &r), 0);
		assert_int_equal(r.cmd, *c);
		assert_int_equal(parse(*c, "x", 1, &r), -1);
	}
	/* Unknown, or known but not ours to accept. */
	assert_int_equal(parse('Z', "", 0, &r), -1);
	assert_int_equal(parse(SMFIR_CHGFROM, "<a@b>", 6, &r), -1);
	assert_int_equal(parse(SMFIR_SHUTDOWN, "", 0, &r), -1);
	assert_int_equal(parse(SMFIR_SETSYMLIST, "", 0, &r), -1);
	assert_int_equal(parse(SMFIC_OPTNEG, "", 0, &r), -1);
}

static void
test_reply_headers(void **state)
{
	struct milter_reply r;

	(void)state;
	assert_int_equal(parse('h', "X-A\0v 1\0", 8, &r), 0);
	assert_int_equal(r.a.len, 3);
	assert_memory_equal(r.a.ptr, "X-A", 3);
	assert_int_equal(r.b.len, 3);
	assert_memory_equal(r.b.ptr, "v 1", 3);
	assert_int_equal(parse('h', "X-A\0\0", 5, &r), 0);
	assert_int_equal(r.b.len, 0);
	assert_int_equal(parse('h', "X-A\0v", 5, &r), -1);
	assert_int_equal(parse('h', "X-A\0", 4, &r), -1);
	assert_int_equal(parse('h', "X-A\0v\0z", 7, &r), -1);
	assert_int_equal(parse('h', "", 0, &r), -1);

	assert_int_equal(parse('i', "\0\0\0\2X\0y\0", 8, &r), 0);
	assert_int_equal(r.index, 2);
	assert_memory_equal(r.a.ptr, "X", 1);
	assert_memory_equal(r.b.ptr, "y", 1);
	assert_int_equal(parse('m', "\1\0\0\0X\0\0", 7, &r), 0);
	assert_int_equal(r.index, 0x01000000);
	assert_int_equal(r.b.len, 0);
	assert_int_equal(parse('m', "\0\0\0", 3, &r), -1);
	assert_int_equal(parse('m', "\0\0\0\1", 4, &r), -1);
	assert_int_equal(parse('m', "\0\0\0\1X\0", 6, &r), -1);
	assert_int_equal(parse('i', "\0\0\0\1X\0y\0\0", 9, &r), -1);
}

static void
test_reply_strings(void **state)
{
	struct milter_reply r;

	(void)state;
	assert_int_equal(parse('+', "<a@b>\0", 6, &r), 0);
	assert_int_equal(r.a.len, 5);
	assert_int_equal(parse('-', "a@b\0", 4, &r), 0);
	assert_int_equal(parse('-', "a@b", 3, &r), -1);
	assert_int_equal(parse('-', "a\0b\0", 4, &r), -1);
	assert_int_equal(parse('2', "<a@b>\0", 6, &r), 0);
	assert_int_equal(r.b.len, 0);
	assert_int_equal(parse('2', "<a@b>\0NOTIFY=NEVER\0", 19, &r), 0);
	assert_int_equal(r.b.len, 12);
	assert_int_equal(parse('2', "<a@b>\0NOTIFY", 12, &r), -1);
	assert_int_equal(parse('y', "550 5.7.1 no\0", 13, &r), 0);
	assert_int_equal(r.a.len, 12);
	assert_int_equal(parse('y', "550 5.7.1 no", 12, &r), -1);
	assert_int_equal(parse('q', "spam\0", 5, &r), 0);
	assert_int_equal(parse('q', "", 0, &r), -1);
	/* A body chunk is raw bytes, NULs included, or nothing. */
	assert_int_equal(parse('b', "a\0\r\n", 4, &r), 0);
	assert_int_equal(r.a.len, 4);
	assert_int_equal(parse('b', "", 0, &r), 0);
	assert_int_equal(r.a.len, 0);
}

static bool
text_valid(const char *s)
{
	return milter_reply_text_valid(span_from_cstr(s));
}

static void
test_reply_text(void **state)
{
	(void)state;
	assert_true(text_valid("550 5.7.1 go away"));
	assert_true(text_valid("451 4.7.1 later"));
	assert_true(text_valid("550"));
	assert_true(text_valid("550 "));
	assert_true(text_valid("554 no enhanced code"));
	assert_true(text_valid("550 5 not an enhanced code"));
	assert_false(text_valid("250 2.0.0 ok"));
	assert_false(text_valid("650 x"));
	assert_false(text_valid("55"));
	assert_false(text_valid("5x0 x"));
	assert_false(text_valid("550-5.7.1 first\r\n550 5.7.1 second"));
	assert_false(text_valid("550x"));
	assert_false(text_valid("550 5.7.1 a\r\nb"));
	assert_false(text_valid("550 5.7.1 tab\there"));
	assert_false(text_valid("550 5.7.1 \x7f"));
	assert_false(text_valid("550 5.7.1 caf\xc3\xa9"));
	assert_false(text_valid("550 4.7.1 mixed classes"));
	assert_false(text_valid("451 5.7.1 mixed classes"));
	assert_false(text_valid(""));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_put),
		cmocka_unit_test(test_put_overflow),
		cmocka_unit_test(test_get),
		cmocka_unit_test(test_get_limit),
		cmocka_unit_test(test_optneg),
		cmocka_unit_test_teardown(test_reply_simple, parse_done),
		cmocka_unit_test_teardown(test_reply_headers, parse_done),
		cmocka_unit_test_teardown(test_reply_strings, parse_done),
		cmocka_unit_test(test_reply_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
