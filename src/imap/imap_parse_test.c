/*
 * Unit tests for imap/imap_parse: ordinary commands fed whole, byte by byte
 * and in random pieces; every limit at max and max + 1; malformed input and
 * resynchronisation; synchronizing and non-synchronizing literals; sequence
 * sets.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/limits.h"
#include "imap/imap_parse.h"

/* Literal policy of the driver: accept synchronizing literals up to this. */
static uint64_t accept_max = IMAP_LITERAL_MAX;

/* NUL as "\\0", so that the text stays a C string. */
static void
dump_bytes(struct buf *out, struct span v)
{
	size_t i;

	for (i = 0; i < v.len; i++) {
		if (v.ptr[i] == '\0')
			buf_append_str(out, "\\0");
		else
			buf_append(out, v.ptr + i, 1);
	}
}

/* A text form of the tokens, [type:value] and lists as (...); no recursion. */
static void
dump_toks(struct buf *out, const struct imap_cmd *cmd)
{
	static const char types[] = "aqlnL";
	size_t ends[IMAP_NEST_MAX + 1], depth = 0, i;
	bool opened = true;

	for (i = 0; i < cmd->ntoks; i++) {
		const struct imap_tok *t = &cmd->toks[i];

		if (!opened)
			buf_append_str(out, " ");
		opened = false;
		if (t->type == IMAP_TOK_LIST) {
			buf_append_str(out, "(");
			if (t->end == i + 1) {
				buf_append_str(out, ")");
			} else {
				assert_true(depth < IMAP_NEST_MAX);
				ends[depth++] = t->end;
				opened = true;
				continue;
			}
		} else {
			buf_printf(out, "%c:", types[t->type]);
			dump_bytes(out, t->val);
		}
		while (depth > 0 && ends[depth - 1] == i + 1) {
			buf_append_str(out, ")");
			depth--;
		}
	}
	assert_int_equal(depth, 0);
}

static void
drive(struct imap_parser *p, struct buf *out)
{
	struct imap_cmd cmd;
	enum parse_rc rc;
	uint64_t n;
	struct span tag, name;

	for (;;) {
		rc = imap_parser_next(p, &cmd);
		if (rc == PARSE_INCOMPLETE) {
			if (!imap_parser_literal_wait(p, &n, &tag, &name))
				return;
			buf_printf(out, "WAIT %llu ", (unsigned long long)n);
			buf_append_span(out, tag);
			buf_append_str(out, " ");
			buf_append_span(out, name);
			buf_append_str(out, "\n");
			if (n <= accept_max) {
				if (imap_parser_literal_accept(p) == -1)
					buf_append_str(out, "ACCEPT FAILED\n");
			} else {
				imap_parser_literal_reject(p);
			}
			continue;
		}
		if (rc == PARSE_OK) {
			buf_append_str(out, "OK ");
			buf_append_span(out, cmd.tag);
			buf_append_str(out, " ");
			buf_append_span(out, cmd.name);
			if (cmd.ntoks > 0)
				buf_append_str(out, " ");
			dump_toks(out, &cmd);
		} else {
			buf_printf(out, "%s ", rc == PARSE_INVALID ? "INVALID" :
			    "TOO_LONG");
			buf_append_span(out, cmd.tag.len ? cmd.tag :
			    SPAN_LIT("*"));
			buf_printf(out, " %s", cmd.error);
		}
		buf_append_str(out, "\n");
		imap_cmd_clear(&cmd);
	}
}

/* mode 0: whole; 1: byte by byte; 2+: random pieces seeded by mode. */
static char *
run_mode(const char *in, size_t len, int mode)
{
	struct imap_parser *p = imap_parser_new(IMAP_CMD_LINE_MAX, IMAP_NEST_MAX);
	struct buf out;
	size_t off = 0, n;
	uint32_t r;
	char *s;

	buf_init(&out, (size_t)1 << 30);
	r = (uint32_t)mode;
	while (off < len) {
		r = r * 1103515245u + 12345u;	/* reproducible pieces */
		n = mode == 0 ? len : mode == 1 ? 1 : 1 + (r >> 16) % 23;
		if (n > len - off)
			n = len - off;
		assert_int_equal(imap_parser_feed(p, in + off, n), 0);
		off += n;
		drive(p, &out);
	}
	imap_parser_free(&p);
	assert_null(p);
	s = strdup(buf_cstr(&out));
	buf_free(&out);
	return s;
}

/* Every feeding mode must give the same text; that text is returned. */
static char *
run_len(const char *in, size_t len)
{
	char *whole = run_mode(in, len, 0), *other;
	int mode;

	for (mode = 1; mode < 12; mode++) {
		other = run_mode(in, len, mode);
		assert_string_equal(other, whole);
		free(other);
	}
	return whole;
}

static void
expect_len(const char *in, size_t len, const char *want)
{
	char *got = run_len(in, len);

	assert_string_equal(got, want);
	free(got);
}

static void
expect(const char *in, const char *want)
{
	expect_len(in, strlen(in), want);
}

static void
test_ordinary(void **state)
{
	(void)state;
	expect("a1 login \"fred\" \"p\\\"a\\\\ss\"\r\n",
	    "OK a1 LOGIN q:fred q:p\"a\\ss\n");
	expect("a2 SELECT \"INBOX\"\r\n", "OK a2 SELECT q:INBOX\n");
	expect("a3 NOOP\r\n", "OK a3 NOOP\n");
	expect("a4 FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (From Subject)]<0.100>)\r\n",
	    "OK a4 FETCH a:1:* (a:FLAGS a:BODY.PEEK[HEADER.FIELDS (From Subject)]<0.100>)\n");
	expect("a5 UID SEARCH OR (FROM \"x\" NOT SEEN) (NOT (OR DELETED ANSWERED)) nil\r\n",
	    "OK a5 UID a:SEARCH a:OR (a:FROM q:x a:NOT a:SEEN) "
	    "(a:NOT (a:OR a:DELETED a:ANSWERED)) n:nil\n");
	expect("a6 STORE 2,4:7 +FLAGS.SILENT (\\Seen)\r\n",
	    "OK a6 STORE a:2,4:7 a:+FLAGS.SILENT (a:\\Seen)\n");
	expect("a7 LIST \"\" %\r\na8 STATUS x ()\r\n",
	    "OK a7 LIST q: a:%\nOK a8 STATUS a:x ()\n");
}

static void
test_literals(void **state)
{
	static const char append[] =
	    "a1 APPEND INBOX (\\Seen \\Draft) \"24-Nov-2026 04:30:00 +0000\" {9}\r\n"
	    "ab\r\n\0cd\r\n\r\n";
	static const char login[] = "a2 LOGIN {4}\r\nfred {3+}\r\n\0x)\r\n";

	(void)state;
	expect_len(append, sizeof(append) - 1,
	    "WAIT 9 a1 APPEND\n"
	    "OK a1 APPEND a:INBOX (a:\\Seen a:\\Draft) q:24-Nov-2026 04:30:00 +0000 "
	    "l:ab\r\n\\0cd\r\n\n");
	expect_len(login, sizeof(login) - 1,
	    "WAIT 4 a2 LOGIN\nOK a2 LOGIN l:fred l:\\0x)\n");
	expect("a3 X {0}\r\n {0+}\r\n\r\n", "WAIT 0 a3 X\nOK a3 X l: l:\n");
	expect("a4 X ({2+}\r\n()) y\r\n", "OK a4 X (l:()) a:y\n");
}

static void
test_literal_bytes(void **state)
{
	static const char in[] = "a1 X {5+}\r\na\0\r\nb\r\n";
	struct imap_parser *p = imap_parser_new(IMAP_CMD_LINE_MAX, IMAP_NEST_MAX);
	struct imap_cmd cmd;

	(void)state;
	assert_int_equal(imap_parser_feed(p, in, sizeof(in) - 1), 0);
	assert_int_equal(imap_parser_next(p, &cmd), PARSE_OK);
	assert_int_equal(cmd.ntoks, 1);
	assert_int_equal(cmd.toks[0].type, IMAP_TOK_LITERAL);
	assert_int_equal(cmd.toks[0].val.len, 5);
	assert_memory_equal(cmd.toks[0].val.ptr, "a\0\r\nb", 5);
	assert_true(imap_tok_is_string(&cmd.toks[0]));
	imap_cmd_clear(&cmd);
	assert_int_equal(imap_parser_next(p, &cmd), PARSE_INCOMPLETE);
	imap_parser_free(&p);
}

static void
test_sync_literal_flow(void **state)
{
	struct imap_parser *p = imap_parser_new(IMAP_CMD_LINE_MAX, IMAP_NEST_MAX);
	struct imap_cmd cmd;
	uint64_t n;
	struct span tag, name;

	(void)state;
	/* The size is reported before any literal byte is taken. */
	assert_int_equal(imap_parser_feed(p, "t1 LOGIN {70000}\r\n", 18), 0);
	assert_int_equal(imap_parser_next(p, &cmd), PARSE_INCOMPLETE);
	assert_true(imap_parser_literal_wait(p, &n, &tag, &name));
	assert_int_equal(n, 70000);
	assert_memory_equal(tag.ptr, "t1", 2);
	assert_memory_equal(name.ptr, "LOGIN", 5);
	assert_int_equal(imap_parser_next(p, &cmd), PARSE_INCOMPLETE);
	/* Over the parser's own limit: accept refuses. */
	assert_int_equal(imap_parser_literal_accept(p), -1);
	assert_false(imap_parser_literal_wait(p, &n, NULL, NULL));
	assert_int_equal(imap_parser_next(p, &cmd), PARSE_TOO_LONG);
	assert_int_equal(cmd.tag.len, 2);
	assert_string_equal(cmd.error, "literal refused");
	imap_cmd_clear(&cmd);
	/* The command is over: the next bytes are a new command. */
	assert_int_equal(imap_parser_feed(p, "t2 NOOP\r\n", 9), 0);
	assert_int_equal(imap_parser_next(p, &cmd), PARSE_OK);
	assert_memory_equal(cmd.tag.ptr, "t2", 2);
	imap_cmd_clear(&cmd);
	imap_parser_free(&p);

	accept_max = 3;
	expect("a1 LOGIN {4}\r\na2 NOOP\r\na3 LOGIN {3}\r\nabc x\r\n",
	    "WAIT 4 a1 LOGIN\nTOO_LONG a1 literal refused\nOK a2 NOOP\n"
	    "WAIT 3 a3 LOGIN\nOK a3 LOGIN l:abc a:x\n");
	accept_max = IMAP_LITERAL_MAX;
}

static void
test_literal_plus_limit(void **state)
{
	char *in, *want;
	size_t n = IMAP_LITERAL_MAX, len;

	(void)state;
	/* At the limit: stored. Over it: refused at once, bytes skipped. */
	for (int over = 0; over <= 1; over++) {
		in = malloc(n + 100);
		len = (size_t)sprintf(in, "a1 X {%zu+}\r\n", n + (size_t)over);
		memset(in + len, 'A', n + (size_t)over);
		len += n + (size_t)over;
		memcpy(in + len, " y\r\nb1 NOOP\r\n", 13);
		len += 13;
		want = run_len(in, len);
		if (over) {
			assert_string_equal(want,
			    "TOO_LONG a1 literal too big\nOK b1 NOOP\n");
		} else {
			assert_memory_equal(want, "OK a1 X l:AAAA", 14);
			assert_string_equal(want + strlen(want) - 16,
			    " a:y\nOK b1 NOOP\n");
		}
		free(want);
		free(in);
	}
	/* All literals of a command together. */
	accept_max = SIZE_MAX;
	in = malloc(2 * n + 100);
	len = (size_t)sprintf(in, "a1 X {%zu+}\r\n", n - 1);
	memset(in + len, 'A', n - 1);
	len += n - 1;
	len += (size_t)sprintf(in + len, " {2}\r\n");
	want = run_len(in, len);
	assert_string_equal(want, "WAIT 2 a1 X\nACCEPT FAILED\n"
	    "TOO_LONG a1 literal refused\n");
	free(want);
	free(in);
	accept_max = IMAP_LITERAL_MAX;
	expect("a1 X {4294967296}\r\nb NOOP\r\n",
	    "TOO_LONG a1 literal too big\nOK b NOOP\n");
}

/* A command "a1 X xxx...x" of exactly n bytes, CRLF included. */
static char *
run_sized(size_t n)
{
	char *in = malloc(n), *got;

	memcpy(in, "a1 X ", 5);
	memset(in + 5, 'x', n - 7);
	memcpy(in + n - 2, "\r\n", 2);
	got = run_mode(in, n, 0);
	free(in);
	return got;
}

static void
test_line_limit(void **state)
{
	char *got;

	(void)state;
	got = run_sized(IMAP_CMD_LINE_MAX);
	assert_memory_equal(got, "OK a1 X a:x", 11);
	free(got);
	got = run_sized(IMAP_CMD_LINE_MAX + 1);
	assert_string_equal(got, "TOO_LONG a1 line too long\n");
	free(got);
	/* Literal bytes do not count; the lines around them do. */
	expect("a1 X {3+}\r\nabc\r\n", "OK a1 X l:abc\n");
}

/* The limit passed on the very LF of "{3+}CRLF": the literal is skipped. */
static void
test_line_limit_at_literal(void **state)
{
	size_t pad = IMAP_CMD_LINE_MAX + 1 - 12;
	char *in = malloc(pad + 64);
	size_t len = 5;

	(void)state;
	memcpy(in, "a1 X ", 5);
	memset(in + len, 'x', pad);
	len += pad;
	memcpy(in + len, " {3+}\r\nb\r\n y\r\nb NOOP\r\n", 22);
	len += 22;
	expect_len(in, len, "TOO_LONG a1 line too long\nOK b NOOP\n");
	free(in);
	expect("a1 X {4294967296+}\r\nb NOOP\r\n", "TOO_LONG a1 literal too big\n");
}

static char *
flat_tokens(size_t n)
{
	char *in = malloc(3 * n + 10), *got;
	size_t len = 4, i;

	memcpy(in, "a1 X", 4);
	for (i = 0; i < n; i++) {
		memcpy(in + len, i % 3 == 2 ? " ()" : " y", i % 3 == 2 ? 3 : 2);
		len += i % 3 == 2 ? 3 : 2;
	}
	memcpy(in + len, "\r\n", 2);
	got = run_len(in, len + 2);
	free(in);
	return got;
}

static void
test_token_limit_flat(void **state)
{
	char *got;

	(void)state;
	got = flat_tokens(IMAP_CMD_TOKENS_MAX);
	assert_memory_equal(got, "OK a1 X a:y a:y ()", 18);
	free(got);
	got = flat_tokens(IMAP_CMD_TOKENS_MAX + 1);
	assert_string_equal(got, "TOO_LONG a1 too many arguments\n");
	free(got);
}

static void
test_nest_limit(void **state)
{
	char in[64], want[64];
	size_t d;

	(void)state;
	for (d = IMAP_NEST_MAX; d <= IMAP_NEST_MAX + 1; d++) {
		memcpy(in, "a1 X ", 5);
		memset(in + 5, '(', d);
		memset(in + 5 + d, ')', d);
		memcpy(in + 5 + 2 * d, "\r\nb NOOP\r\n", 11);
		if (d == IMAP_NEST_MAX) {
			memcpy(want, "OK a1 X ", 8);
			memcpy(want + 8, in + 5, 2 * d);
			strcpy(want + 8 + 2 * d, "\nOK b NOOP\n");
		} else {
			strcpy(want, "TOO_LONG a1 nesting too deep\nOK b NOOP\n");
		}
		expect(in, want);
	}
}

static void
test_malformed(void **state)
{
	(void)state;
	expect("\r\n", "INVALID * missing tag\n");
	expect("+a NOOP\r\nb NOOP\r\n", "INVALID * missing tag\nOK b NOOP\n");
	expect("a+ NOOP\r\n", "INVALID * bad tag\n");
	expect("a1\r\n", "INVALID * bad tag\n");
	expect("a1 \r\n", "INVALID a1 bad command name\n");
	expect("a1 NOOP \r\n", "INVALID a1 bad argument\n");
	expect("a1 X  y\r\n", "INVALID a1 bad argument\n");
	expect("a1 X (y\r\n", "INVALID a1 unbalanced parenthesis\n");
	expect("a1 X y)\r\n", "INVALID a1 unbalanced parenthesis\n");
	expect("a1 X \"y\r\n", "INVALID a1 bad quoted string\n");
	expect("a1 X \"\\a\"\r\n", "INVALID a1 bad quoted string\n");
	expect("a1 X y\\z\r\n", "INVALID a1 expected space\n");
	expect("a1 X {x}\r\n", "INVALID a1 bad literal\n");
	expect("a1 X {1}x\r\n", "INVALID a1 bad literal\n");
	/* Bare LF and bare CR: refused, the LF ends the bad command. */
	expect("a1 NOOP\nb NOOP\r\n", "INVALID a1 bare LF\nOK b NOOP\n");
	expect("a1 NO\rOP\r\nb NOOP\r\n", "INVALID a1 bare CR\nOK b NOOP\n");
	expect("a1 X y\rz\r\nb NOOP\r\n", "INVALID a1 bare CR\nOK b NOOP\n");
	/* After an error, {n+} literal bytes are skipped, not read as commands. */
	expect("a1 X y) {9+}\r\nc NOOP\r\n\r\nb NOOP\r\n",
	    "INVALID a1 unbalanced parenthesis\nOK b NOOP\n");
	/* A synchronizing literal after an error ends the command. */
	expect("a1 X ) {9}\r\nb NOOP\r\n",
	    "INVALID a1 bad argument\nOK b NOOP\n");
	expect("a1 X \x80\r\nb NOOP\r\n", "INVALID a1 bad argument\nOK b NOOP\n");
	expect("a1 X BODY[\x01]\r\n", "INVALID a1 bad section\n");
}

static void
test_feed_limit(void **state)
{
	struct imap_parser *p = imap_parser_new(IMAP_CMD_LINE_MAX, IMAP_NEST_MAX);
	char *big = calloc(1, IMAP_INPUT_MAX + 1);

	(void)state;
	assert_int_equal(imap_parser_feed(p, big, IMAP_INPUT_MAX + 1), -1);
	assert_int_equal(imap_parser_feed(p, big, IMAP_INPUT_MAX), 0);
	assert_int_equal(imap_parser_feed(p, big, 1), -1);
	free(big);
	imap_parser_free(&p);
	imap_parser_free(&p);
}

static enum parse_rc
seq(const char *s, struct imap_seq_set *set)
{
	return imap_seq_set_parse(span_from_cstr(s), set);
}

static void
test_seq_set(void **state)
{
	struct imap_seq_set set;
	char *big;
	size_t i;

	(void)state;
	assert_int_equal(seq("1:3,5,*:7,4294967295", &set), PARSE_OK);
	assert_int_equal(set.nranges, 4);
	assert_int_equal(set.ranges[0].first, 1);
	assert_int_equal(set.ranges[0].last, 3);
	assert_int_equal(set.ranges[1].first, 5);
	assert_int_equal(set.ranges[1].last, 5);
	assert_int_equal(set.ranges[2].first, IMAP_SEQ_STAR);
	assert_int_equal(set.ranges[2].last, 7);
	assert_int_equal(set.ranges[3].first, UINT32_MAX);
	assert_true(imap_seq_set_contains(&set, 2, 10));
	assert_false(imap_seq_set_contains(&set, 4, 10));
	assert_true(imap_seq_set_contains(&set, 9, 10));
	assert_false(imap_seq_set_contains(&set, 11, 10));
	assert_true(imap_seq_set_contains(&set, 6, 5));	/* *:7, * = 5 */
	imap_seq_set_clear(&set);
	assert_int_equal(seq("*", &set), PARSE_OK);
	imap_seq_set_clear(&set);
	static const char *bad[] = { "", "0", "1:0", "01", "1,", ",1", "1::2",
	    "1:", "4294967296", "1 ", "a", "1,,2", "*:*x" };
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(seq(bad[i], &set), PARSE_INVALID);
		assert_null(set.ranges);
	}
	big = malloc(2 * IMAP_SEQ_RANGES_MAX + 2);
	for (i = 0; i < IMAP_SEQ_RANGES_MAX + 1; i++)
		memcpy(big + 2 * i, "1,", 2);
	big[2 * IMAP_SEQ_RANGES_MAX - 1] = '\0';
	assert_int_equal(seq(big, &set), PARSE_OK);
	assert_int_equal(set.nranges, IMAP_SEQ_RANGES_MAX);
	imap_seq_set_clear(&set);
	big[2 * IMAP_SEQ_RANGES_MAX - 1] = ',';
	big[2 * IMAP_SEQ_RANGES_MAX + 1] = '\0';
	assert_int_equal(seq(big, &set), PARSE_TOO_LONG);
	free(big);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ordinary),
		cmocka_unit_test(test_literals),
		cmocka_unit_test(test_literal_bytes),
		cmocka_unit_test(test_sync_literal_flow),
		cmocka_unit_test(test_literal_plus_limit),
		cmocka_unit_test(test_line_limit),
		cmocka_unit_test(test_line_limit_at_literal),
		cmocka_unit_test(test_token_limit_flat),
		cmocka_unit_test(test_nest_limit),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_feed_limit),
		cmocka_unit_test(test_seq_set),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
