/*
 * Unit tests for the header pieces of mime/mime_parse: parameters
 * (quoted strings, RFC 2231 continuations in any order, charsets,
 * percent-encoding, duplicates, NUL, MIME_PARAMS_MAX), the type of a
 * Content-Type value (comments, case, MIME_TYPE_MAX at max and max + 1)
 * and RFC 2047 words (B and Q, blanks between words, malformed words,
 * charsets, a full output buffer).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "mime/mime_int.h"
#include "mime/mime_parse.h"

/* The values of name in v, each followed by '|'; NUL shown as "\0". */
static const char *
params(const char *v, const char *name)
{
	static char out[4096];
	struct mime_pval vals[MIME_PARAMS_MAX];
	struct buf b;
	size_t n, k = 0;

	buf_init(&b, 1 << 16);
	n = mime_param_collect(span_from_cstr(v), name, true, &b, vals,
	    MIME_PARAMS_MAX);
	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < vals[i].len && k + 3 < sizeof(out); j++) {
			char c = b.data[vals[i].off + j];

			if (c == '\0') {
				out[k++] = '\\';
				out[k++] = '0';
			} else
				out[k++] = c;
		}
		out[k++] = '|';
		out[k] = '\0';
	}
	buf_free(&b);
	return out;
}

static void
test_param_plain(void **state)
{
	(void)state;
	assert_string_equal(params("attachment; filename=a.exe", "filename"),
	    "a.exe|");
	assert_string_equal(params("attachment;filename=a.exe;size=3",
	    "FILENAME"), "a.exe|");
	assert_string_equal(params("attachment; FileName = \"a b.exe\" ;x=1",
	    "filename"), "a b.exe|");
	assert_string_equal(params("a; filename=\"q\\\"u\\\\o;te\"", "filename"),
	    "q\"u\\o;te|");
	assert_string_equal(params("a; filename=\"unterminated; x=y",
	    "filename"), "unterminated; x=y|");
	assert_string_equal(params("a; filename=\"x\" junk; y=z", "y"), "z|");
	assert_string_equal(params("a; filename=", "filename"), "|");
	assert_string_equal(params("a; filename", "filename"), "");
	assert_string_equal(params("filename=not-a-param", "filename"), "");
	assert_string_equal(params("a; filenames=x; file=y", "filename"), "");
	assert_string_equal(params("a; filename=1; filename=\"2\"", "filename"),
	    "1|2|");
	assert_string_equal(params("a; x=\"filename=no\"", "filename"), "");
	assert_string_equal(params("", "filename"), "");
	assert_string_equal(params(";;;", "filename"), "");
}

static void
test_param_2231(void **state)
{
	(void)state;
	assert_string_equal(params("a; filename*=UTF-8''%e2%82%ac.exe",
	    "filename"), "\xe2\x82\xac.exe|");
	assert_string_equal(params("a; filename*=iso-8859-1'fr'%E9t%E9",
	    "filename"), "\xc3\xa9t\xc3\xa9|");
	assert_string_equal(params("a; filename*=''plain%20name", "filename"),
	    "plain name|");
	assert_string_equal(params("a; filename*=%41%", "filename"), "A%|");
	assert_string_equal(params("a; filename*=\"utf-8''quoted%21\"",
	    "filename"), "quoted!|");
	assert_string_equal(params("a; filename*=utf-8''a%00b", "filename"),
	    "a\\0b|");
	/* Sections in any order, plain and encoded mixed (RFC 2231 4.1). */
	assert_string_equal(params("a; n*1*=%41; n*0*=utf-8''%C3%A9; n*2=\"!\"",
	    "n"), "\xc3\xa9" "A!|");
	assert_string_equal(params("a; n*0*=iso-8859-1''%E9; n*1*=%E9", "n"),
	    "\xc3\xa9\xc3\xa9|");
	/* A gap is closed up; a repeated section starts a second value. */
	assert_string_equal(params("a; n*0=a; n*2=c", "n"), "ac|");
	assert_string_equal(params("a; n*0=a; n*0=b; n*1=c", "n"), "ac|b|");
	/* Words split between plain sections are joined, then decoded. */
	assert_string_equal(params("a; n*0=\"=?utf-8?Q?a\"; n*1=\"b?=\"", "n"),
	    "ab|");
	/* Not sections: name*x, name*1*2, name**, *. */
	assert_string_equal(params("a; n*x=1; n*1*2=2; n**=3; *=4", "n"), "");
	assert_string_equal(params("a; n*99999=5", "n"), "");
	assert_string_equal(params("a; n*9999=5", "n"), "5|");
}

static void
test_param_2047(void **state)
{
	(void)state;
	assert_string_equal(params("a; filename=\"=?utf-8?B?w6kuZXhl?=\"",
	    "filename"), "\xc3\xa9.exe|");
	assert_string_equal(params("a; filename==?utf-8?Q?x=2Eexe?=",
	    "filename"), "x.exe|");
	/* Not in an encoded RFC 2231 value, which is not 2047 text. */
	assert_string_equal(params("a; filename*=utf-8''=?utf-8?Q?x?=",
	    "filename"), "=?utf-8?Q?x?=|");
}

static void
test_param_limits(void **state)
{
	char v[MIME_PARAMS_MAX * 8 + 64];
	struct mime_pval vals[2];
	struct buf b;
	size_t n = 0;
	int k;

	(void)state;
	n += (size_t)snprintf(v, sizeof(v), "a");
	for (k = 0; k < MIME_PARAMS_MAX; k++)
		n += (size_t)snprintf(v + n, sizeof(v) - n, "; x=%d", k);
	snprintf(v + n, sizeof(v) - n, "; y=past");
	/* The 64th parameter is read, the 65th is not. */
	assert_string_equal(params(v, "x") + strlen(params(v, "x")) - 3, "63|");
	assert_string_equal(params(v, "y"), "");
	/* max bounds the values returned; out->max their bytes. */
	buf_init(&b, 1 << 12);
	assert_int_equal(mime_param_collect(span_from_cstr(v), "x", true, &b,
	    vals, 2), 2);
	buf_free(&b);
	buf_init(&b, 8);
	assert_true(mime_param_get(SPAN_LIT("a; x=12345678901"), "x", &b) <= 1);
	assert_true(b.len <= 8);
	buf_free(&b);
	/* The public form: NUL-terminated strings, the count returned. */
	buf_init(&b, 64);
	assert_int_equal(mime_param_get(SPAN_LIT("a; x=1; x=\"two\""), "x",
	    &b), 2);
	assert_int_equal(b.len, 6);
	assert_memory_equal(b.data, "1\0two\0", 6);
	buf_free(&b);
}

static const char *
ctype(const char *v, size_t outlen)
{
	static char out[MIME_TYPE_MAX + 8];

	if (!mime_content_type(span_from_cstr(v), out, outlen))
		return "(invalid)";
	return out;
}

static void
test_content_type(void **state)
{
	char v[MIME_TYPE_MAX + 8];

	(void)state;
	assert_string_equal(ctype("text/plain", MIME_TYPE_MAX), "text/plain");
	assert_string_equal(ctype("  TEXT/Html ; charset=x", MIME_TYPE_MAX),
	    "text/html");
	assert_string_equal(ctype("multipart/mixed;boundary=x", MIME_TYPE_MAX),
	    "multipart/mixed");
	assert_string_equal(ctype("(c (nested)) image / png (x)",
	    MIME_TYPE_MAX), "image/png");
	assert_string_equal(ctype("application/vnd.ms-excel.sheet+xml",
	    MIME_TYPE_MAX), "application/vnd.ms-excel.sheet+xml");
	assert_string_equal(ctype("text", MIME_TYPE_MAX), "(invalid)");
	assert_string_equal(ctype("text/", MIME_TYPE_MAX), "(invalid)");
	assert_string_equal(ctype("/plain", MIME_TYPE_MAX), "(invalid)");
	assert_string_equal(ctype("text/pl\"ain", MIME_TYPE_MAX), "(invalid)");
	assert_string_equal(ctype("text/plain/x", MIME_TYPE_MAX), "(invalid)");
	assert_string_equal(ctype("te xt/plain", MIME_TYPE_MAX), "(invalid)");
	assert_string_equal(ctype("", MIME_TYPE_MAX), "(invalid)");
	assert_string_equal(ctype("(unclosed text/plain", MIME_TYPE_MAX),
	    "(invalid)");
	/* Exactly MIME_TYPE_MAX - 1 bytes fit with the NUL; one more not. */
	memset(v, 'a', sizeof(v));
	v[1] = '/';
	v[MIME_TYPE_MAX - 1] = '\0';
	assert_int_equal(strlen(ctype(v, MIME_TYPE_MAX)), MIME_TYPE_MAX - 1);
	v[MIME_TYPE_MAX - 1] = 'a';
	v[MIME_TYPE_MAX] = '\0';
	assert_string_equal(ctype(v, MIME_TYPE_MAX), "(invalid)");
}

static const char *
words(const char *in)
{
	static char out[1024];
	struct buf b;

	buf_init(&b, sizeof(out) - 1);
	assert_int_equal(mime_decode_words(span_from_cstr(in), &b), 0);
	snprintf(out, sizeof(out), "%s", buf_cstr(&b));
	buf_free(&b);
	return out;
}

static void
test_words(void **state)
{
	struct buf b;

	(void)state;
	assert_string_equal(words("plain text"), "plain text");
	assert_string_equal(words("=?utf-8?B?w6k=?="), "\xc3\xa9");
	assert_string_equal(words("=?utf-8?Q?a_b=3F?="), "a b?");
	assert_string_equal(words("=?utf-8?q?a?= \t =?utf-8?b?Yg==?="), "ab");
	assert_string_equal(words("=?utf-8?Q?a?= x =?utf-8?Q?b?="), "a x b");
	assert_string_equal(words("x =?utf-8?Q?a?= y"), "x a y");
	assert_string_equal(words("pre=?utf-8?Q?a?=post"), "preapost");
	assert_string_equal(words("=?iso-8859-1?Q?=E9?="), "\xc3\xa9");
	assert_string_equal(words("=?utf-8*en-us?Q?lang?="), "lang");
	assert_string_equal(words("=?koi8-r?Q?=C1?="), "\xc1");
	/* A character split between two words (RFC 2047 5 forbids it). */
	assert_string_equal(words("=?utf-8?Q?=C3?= =?utf-8?Q?=A9?="),
	    "\xc3\xa9");
	/* Malformed: left as written. */
	assert_string_equal(words("=?utf-8?X?a?="), "=?utf-8?X?a?=");
	assert_string_equal(words("=?utf-8?B?a!b?="), "=?utf-8?B?a!b?=");
	assert_string_equal(words("=?\?Q?a?="), "=?\?Q?a?=");
	assert_string_equal(words("=?utf 8?Q?a?="), "=?utf 8?Q?a?=");
	assert_string_equal(words("=?utf-8?Q?open"), "=?utf-8?Q?open");
	assert_string_equal(words("=?utf-8?Q?a?x?="), "=?utf-8?Q?a?x?=");
	assert_string_equal(words("=?="), "=?=");
	assert_string_equal(words("=?"), "=?");
	assert_string_equal(words("="), "=");
	assert_string_equal(words("=?utf-8?Q?\?="), "");
	assert_string_equal(words("=?utf-8?Q?=4?="), "=4");
	assert_string_equal(words("a=?=?utf-8?Q?b?="), "a=?b");
	/* Q text with blanks, as broken mailers write it: decoded. */
	assert_string_equal(words("=?utf-8?Q?a b?="), "a b");
	buf_init(&b, 3);
	assert_int_equal(mime_decode_words(SPAN_LIT("=?utf-8?Q?abcd?="), &b),
	    -1);
	assert_true(b.len <= 3);
	buf_free(&b);
}

/* Every parameter as "name=value|", from mime_param_list(). */
static const char *
plist(const char *v, size_t max)
{
	static char out[4096];
	struct mime_param_item items[MIME_PARAMS_MAX];
	struct buf b;
	size_t n, k = 0;

	buf_init(&b, 1 << 16);
	n = mime_param_list(span_from_cstr(v), &b, items, max);
	out[0] = '\0';
	for (size_t i = 0; i < n; i++)
		k += (size_t)snprintf(out + k, sizeof(out) - k, "%s=%s|",
		    b.data + items[i].name_off, b.data + items[i].val_off);
	buf_free(&b);
	return out;
}

static void
test_param_list(void **state)
{
	char big[MIME_PARAMS_MAX * 8 + 16];
	size_t n = 0;

	(void)state;
	assert_string_equal(plist("text/plain", MIME_PARAMS_MAX), "");
	assert_string_equal(plist("text/plain; Charset=\"us\\\"x\" ; "
	    "format=flowed", MIME_PARAMS_MAX), "Charset=us\"x|format=flowed|");
	assert_string_equal(plist("a/b; x=1; y=2", 1), "x=1|");
	/* No RFC 2047 decoding: the value as written. */
	assert_string_equal(plist("a/b; name=\"=?utf-8?q?a?=\"",
	    MIME_PARAMS_MAX), "name==?utf-8?q?a?=|");
	/* RFC 2231: joined in order; extended kept encoded, plain sections
	 * percent-encoded into an extended value. */
	assert_string_equal(plist("a/b; n*1=\"b c\"; n*0=a; m=1",
	    MIME_PARAMS_MAX), "n=ab c|m=1|");
	assert_string_equal(plist("a/b; f*0*=utf-8''%E2%82; f*1=\"%A c\"",
	    MIME_PARAMS_MAX), "f*=utf-8''%E2%82%25A%20c|");
	assert_string_equal(plist("a/b; f*0=x; f*1*=%41",
	    MIME_PARAMS_MAX), "f*=''x%41|");
	assert_string_equal(plist("a/b; f*=us-ascii'en'%41; g=1",
	    MIME_PARAMS_MAX), "f*=us-ascii'en'%41|g=1|");
	/* Junk without '=' is skipped; duplicates kept. */
	assert_string_equal(plist("a/b; junk; x=1; x=2", MIME_PARAMS_MAX),
	    "x=1|x=2|");
	/* At most MIME_PARAMS_MAX. */
	n = (size_t)snprintf(big, sizeof(big), "a/b");
	for (int i = 0; i < MIME_PARAMS_MAX + 1; i++)
		n += (size_t)snprintf(big + n, sizeof(big) - n, ";p%d=1", i % 10);
	{
		struct mime_param_item items[MIME_PARAMS_MAX];
		struct buf b;

		buf_init(&b, 1 << 16);
		assert_int_equal(mime_param_list(span_from_cstr(big), &b, items,
		    MIME_PARAMS_MAX), MIME_PARAMS_MAX);
		buf_free(&b);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_param_plain),
		cmocka_unit_test(test_param_2231),
		cmocka_unit_test(test_param_2047),
		cmocka_unit_test(test_param_limits),
		cmocka_unit_test(test_content_type),
		cmocka_unit_test(test_words),
		cmocka_unit_test(test_param_list),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
