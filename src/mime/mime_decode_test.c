/*
 * Unit tests for the content decoders of mime/mime_parse: base64 with
 * line breaks, junk, padding in the middle and a full output buffer;
 * quoted-printable soft breaks (with the blanks gateways add, and CR LF),
 * =XX either case, trailing blanks, malformed escapes and what is pending
 * at the end. Every input also fed byte by byte, with the same result.
 * And the latin-1 to UTF-8 step of charsets.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "mime/mime_int.h"
#include "mime/mime_parse.h"

/* Base64-decodes in whole, then byte by byte: both must give want. */
static void
b64_is(const char *in, const char *want, size_t wlen)
{
	struct mime_b64 d;
	struct buf o;

	buf_init(&o, 1 << 16);
	mime_b64_init(&d);
	assert_int_equal(mime_b64_feed(&d, in, strlen(in), &o), 0);
	assert_int_equal(o.len, wlen);
	assert_memory_equal(buf_cstr(&o), want, wlen);
	buf_reset(&o);
	mime_b64_init(&d);
	for (size_t i = 0; in[i] != '\0'; i++)
		assert_int_equal(mime_b64_feed(&d, in + i, 1, &o), 0);
	assert_int_equal(o.len, wlen);
	assert_memory_equal(buf_cstr(&o), want, wlen);
	buf_free(&o);
}

static void
test_b64(void **state)
{
	(void)state;
	b64_is("aGVsbG8=", "hello", 5);
	b64_is("aGVs\nbG8g\r\nd29y bGQ=\n", "hello world", 11);
	b64_is("a!G@V#s$b%G^8&", "hello", 5);	/* junk skipped */
	b64_is("AAEC/w==", "\x00\x01\x02\xff", 4);
	b64_is("YQ", "a", 1);			/* no padding */
	b64_is("YQ==YmM=", "abc", 3);		/* concatenated */
	b64_is("Y=Q=", "", 0);			/* '=' ends a quantum */
	b64_is("", "", 0);
	b64_is("====", "", 0);
}

static void
test_b64_overflow(void **state)
{
	struct mime_b64 d;
	struct buf o;

	(void)state;
	buf_init(&o, 4);
	mime_b64_init(&d);
	assert_int_equal(mime_b64_feed(&d, "aGVsbG8=", 8, &o), -1);
	assert_true(o.overflowed);
	assert_true(o.len <= 4);
	buf_free(&o);
}

/* A long random input: the four-digit fast path against one at a time. */
static void
test_b64_long(void **state)
{
	static const char tbl[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char in[9000];
	struct mime_b64 d1, d2;
	struct buf o1, o2;
	uint32_t s = 1;

	(void)state;
	for (size_t i = 0; i < sizeof(in); i++) {
		s = s * 1103515245u + 12345u;
		if ((s >> 8) % 50 == 0)
			in[i] = '\n';
		else
			in[i] = tbl[(s >> 12) % 64];
	}
	buf_init(&o1, 1 << 16);
	buf_init(&o2, 1 << 16);
	mime_b64_init(&d1);
	mime_b64_init(&d2);
	assert_int_equal(mime_b64_feed(&d1, in, sizeof(in), &o1), 0);
	for (size_t i = 0; i < sizeof(in); i += 3)
		assert_int_equal(mime_b64_feed(&d2, in + i,
		    sizeof(in) - i < 3 ? sizeof(in) - i : 3, &o2), 0);
	assert_int_equal(o1.len, o2.len);
	assert_memory_equal(o1.data, o2.data, o1.len);
	buf_free(&o1);
	buf_free(&o2);
}

/* QP-decodes, finishes; whole and byte by byte must give want. */
static void
qp_is(const char *in, const char *want)
{
	struct mime_qp d;
	struct buf o;

	buf_init(&o, 1 << 16);
	mime_qp_init(&d);
	assert_int_equal(mime_qp_feed(&d, in, strlen(in), &o), 0);
	assert_int_equal(mime_qp_finish(&d, &o), 0);
	assert_string_equal(buf_cstr(&o), want);
	buf_reset(&o);
	mime_qp_init(&d);
	for (size_t i = 0; in[i] != '\0'; i++)
		assert_int_equal(mime_qp_feed(&d, in + i, 1, &o), 0);
	assert_int_equal(mime_qp_finish(&d, &o), 0);
	assert_string_equal(buf_cstr(&o), want);
	buf_free(&o);
}

static void
test_qp(void **state)
{
	(void)state;
	qp_is("plain text\n", "plain text\n");
	qp_is("soft=\nbreak", "softbreak");
	qp_is("soft=\r\nbreak", "softbreak");
	qp_is("soft= \t \nbreak", "softbreak");	/* RFC 2045 6.7 (3) */
	qp_is("soft= \t \r\nbreak", "softbreak");
	qp_is("=41=42=c3=A9", "AB\xc3\xa9");
	qp_is("trailing \t \nnext", "trailing\nnext");
	qp_is("crlf\r\nnext\r\n", "crlf\nnext\n");
	qp_is("a \rb", "a \rb");		/* a lone CR is content */
	qp_is("inner  blanks", "inner  blanks");
	qp_is("bad =ZZ =4x = x", "bad =ZZ =4x = x");
	qp_is("==41", "=A");
	qp_is("end=", "end");			/* soft break at the end */
	qp_is("end =  ", "end ");
	qp_is("escape at end =4", "escape at end =4");
	qp_is("blanks at end   ", "blanks at end");
	qp_is("", "");
}

/* A run of blanks longer than the decoder holds is content. */
static void
test_qp_long_blanks(void **state)
{
	char in[300], want[300];

	(void)state;
	memset(in, ' ', 200);
	strcpy(in + 200, "x\n");
	memcpy(want, in, sizeof(in));
	qp_is(in, want);
	/* Known limit: only the last blanks held (up to 80) go at the line end. */
	memset(in, ' ', 200);
	strcpy(in + 200, "\n");
	memset(want, ' ', 160);
	strcpy(want + 160, "\n");
	qp_is(in, want);
}

static void
test_charset(void **state)
{
	struct buf o;

	(void)state;
	assert_int_equal(mime_charset_of(SPAN_LIT("ISO-8859-1")),
	    MIME_CS_LATIN1);
	assert_int_equal(mime_charset_of(SPAN_LIT("latin1")), MIME_CS_LATIN1);
	assert_int_equal(mime_charset_of(SPAN_LIT("Windows-1252")),
	    MIME_CS_LATIN1);
	assert_int_equal(mime_charset_of(SPAN_LIT("iso-8859-1*de")),
	    MIME_CS_LATIN1);
	assert_int_equal(mime_charset_of(SPAN_LIT("utf-8")), MIME_CS_ASIS);
	assert_int_equal(mime_charset_of(SPAN_LIT("iso-8859-15")),
	    MIME_CS_ASIS);
	assert_int_equal(mime_charset_of(SPAN_LIT("")), MIME_CS_ASIS);
	buf_init(&o, 64);
	assert_int_equal(mime_charset_append(MIME_CS_LATIN1, "a\xe9\xff\x80",
	    4, &o), 0);
	assert_string_equal(o.data, "a\xc3\xa9\xc3\xbf\xc2\x80");
	buf_reset(&o);
	assert_int_equal(mime_charset_append(MIME_CS_ASIS, "a\xe9", 2, &o), 0);
	assert_string_equal(o.data, "a\xe9");
	buf_free(&o);
	assert_int_equal(mime_hexval('0'), 0);
	assert_int_equal(mime_hexval('f'), 15);
	assert_int_equal(mime_hexval('F'), 15);
	assert_int_equal(mime_hexval('g'), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_b64),
		cmocka_unit_test(test_b64_overflow),
		cmocka_unit_test(test_b64_long),
		cmocka_unit_test(test_qp),
		cmocka_unit_test(test_qp_long_blanks),
		cmocka_unit_test(test_charset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
