/*
 * Unit tests for pop3/pop3_parse: keywords, the arguments of every verb,
 * message numbers at their bounds, the AUTH continuation line, and the
 * line limits at max and max + 1.
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
#include "pop3/pop3_parse.h"

static enum parse_rc
parse(const char *s, struct pop3_cmd *cmd)
{
	return pop3_cmd_parse(span_from_cstr(s), cmd);
}

static enum parse_rc
parse_rc_of(const char *s)
{
	struct pop3_cmd cmd;

	return parse(s, &cmd);
}

/*
 * The wire line of exactly n bytes (CRLF included) that starts with
 * prefix, padded with fill; parsed without the CRLF.
 */
static enum parse_rc
parse_sized_fill(const char *prefix, char fill, size_t n)
{
	size_t pl = strlen(prefix);
	char *s = malloc(n);
	struct pop3_cmd cmd;
	enum parse_rc rc;

	assert_true(n >= pl + 2);
	memcpy(s, prefix, pl);
	memset(s + pl, fill, n - pl - 2);
	memcpy(s + n - 2, "\r\n", 2);
	rc = pop3_cmd_parse((struct span){ s, n - 2 }, &cmd);
	free(s);
	return rc;
}

static enum parse_rc
parse_sized(const char *prefix, size_t n)
{
	return parse_sized_fill(prefix, 'x', n);
}

static void
assert_span(struct span s, const char *want)
{
	assert_non_null(s.ptr);
	assert_int_equal(s.len, strlen(want));
	assert_memory_equal(s.ptr, want, s.len);
}

static void
test_verbs(void **state)
{
	static const struct { const char *line; enum pop3_verb v; } t[] = {
		{ "USER a@b", POP3_VERB_USER }, { "pass x", POP3_VERB_PASS },
		{ "STAT", POP3_VERB_STAT }, { "list", POP3_VERB_LIST },
		{ "Retr 1", POP3_VERB_RETR }, { "dElE 1", POP3_VERB_DELE },
		{ "NOOP", POP3_VERB_NOOP }, { "rset", POP3_VERB_RSET },
		{ "QuIt", POP3_VERB_QUIT }, { "top 1 0", POP3_VERB_TOP },
		{ "uidl", POP3_VERB_UIDL }, { "capa", POP3_VERB_CAPA },
		{ "StLs", POP3_VERB_STLS }, { "auth PLAIN", POP3_VERB_AUTH },
		/* APOP is not offered (docs/pop3.md). */
		{ "APOP a 0123456789abcdef0123456789abcdef",
		  POP3_VERB_UNKNOWN },
		{ "STATX", POP3_VERB_UNKNOWN }, { "STA", POP3_VERB_UNKNOWN },
		{ "", POP3_VERB_UNKNOWN }, { " STAT", POP3_VERB_UNKNOWN },
		{ "STAT\t", POP3_VERB_UNKNOWN }, { "LAST", POP3_VERB_UNKNOWN },
		{ "XTND XMIT", POP3_VERB_UNKNOWN },
		{ "ST\xc3\x84T", POP3_VERB_UNKNOWN },
	};
	struct pop3_cmd cmd;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		assert_int_equal(parse(t[i].line, &cmd), PARSE_OK);
		assert_int_equal(cmd.verb, t[i].v);
		assert_non_null(cmd.arg.ptr);
	}
	for (i = 0; i < POP3_VERB_COUNT; i++)
		assert_non_null(pop3_verb_name((enum pop3_verb)i));
	assert_string_equal(pop3_verb_name(POP3_VERB_TOP), "TOP");
	assert_string_equal(pop3_verb_name(POP3_VERB_COUNT), "UNKNOWN");
	assert_string_equal(pop3_verb_name((enum pop3_verb)-1), "UNKNOWN");
}

static void
test_no_arg_verbs(void **state)
{
	static const char *const verbs[] = {
		"STAT", "NOOP", "RSET", "QUIT", "CAPA", "STLS",
	};
	char line[32];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		assert_int_equal(parse_rc_of(verbs[i]), PARSE_OK);
		snprintf(line, sizeof(line), "%s ", verbs[i]);
		assert_int_equal(parse_rc_of(line), PARSE_INVALID);
		snprintf(line, sizeof(line), "%s 1", verbs[i]);
		assert_int_equal(parse_rc_of(line), PARSE_INVALID);
		snprintf(line, sizeof(line), "%s  ", verbs[i]);
		assert_int_equal(parse_rc_of(line), PARSE_INVALID);
	}
}

static void
test_msg_verbs(void **state)
{
	struct pop3_cmd cmd;

	(void)state;
	assert_int_equal(parse("RETR 7", &cmd), PARSE_OK);
	assert_true(cmd.has_msg);
	assert_int_equal(cmd.msg, 7);
	assert_int_equal(parse("DELE 12", &cmd), PARSE_OK);
	assert_int_equal(cmd.msg, 12);
	/* LIST and UIDL: the argument is optional. */
	assert_int_equal(parse("LIST", &cmd), PARSE_OK);
	assert_false(cmd.has_msg);
	assert_int_equal(parse("LIST 3", &cmd), PARSE_OK);
	assert_true(cmd.has_msg);
	assert_int_equal(cmd.msg, 3);
	assert_int_equal(parse("UIDL", &cmd), PARSE_OK);
	assert_false(cmd.has_msg);
	assert_int_equal(parse("uidl 4", &cmd), PARSE_OK);
	assert_int_equal(cmd.msg, 4);

	assert_int_equal(parse_rc_of("RETR"), PARSE_INVALID);
	assert_int_equal(parse_rc_of("DELE"), PARSE_INVALID);
	assert_int_equal(parse_rc_of("RETR "), PARSE_INVALID);
	assert_int_equal(parse_rc_of("RETR 1 "), PARSE_INVALID);
	assert_int_equal(parse_rc_of("RETR  1"), PARSE_INVALID);
	assert_int_equal(parse_rc_of("RETR 1 2"), PARSE_INVALID);
	assert_int_equal(parse_rc_of("RETR\t1"), PARSE_OK);	/* UNKNOWN */
	assert_int_equal(parse_rc_of("LIST "), PARSE_INVALID);
	assert_int_equal(parse_rc_of("LIST 1 2"), PARSE_INVALID);
	assert_int_equal(parse_rc_of("UIDL x"), PARSE_INVALID);
	assert_int_equal(parse_rc_of("DELE abc"), PARSE_INVALID);
}

static void
test_numbers(void **state)
{
	static const struct { const char *line; enum parse_rc rc; uint32_t n; }
	    t[] = {
		{ "RETR 0", PARSE_INVALID, 0 },
		{ "RETR 1", PARSE_OK, 1 },
		{ "RETR 1000000", PARSE_OK, POP3_MSG_MAX },
		{ "RETR 1000001", PARSE_INVALID, 0 },
		{ "RETR 4294967296", PARSE_INVALID, 0 },
		{ "RETR 18446744073709551617", PARSE_INVALID, 0 },
		{ "RETR 99999999999999999999999999999999", PARSE_INVALID, 0 },
		/* Leading zeros: 1*DIGIT allows them. */
		{ "RETR 01", PARSE_OK, 1 },
		{ "RETR 0000000000000000000000000000042", PARSE_OK, 42 },
		{ "RETR 00", PARSE_INVALID, 0 },
		{ "RETR +1", PARSE_INVALID, 0 },
		{ "RETR -1", PARSE_INVALID, 0 },
		{ "RETR 1x", PARSE_INVALID, 0 },
		{ "RETR 0x1", PARSE_INVALID, 0 },
		{ "RETR 1.0", PARSE_INVALID, 0 },
		{ "RETR \xd9\xa1", PARSE_INVALID, 0 },	/* ARABIC-INDIC ONE */
	};
	struct pop3_cmd cmd;
	size_t i;

	(void)state;
	assert_int_equal(POP3_MSG_MAX, 1000000);
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		assert_int_equal(parse(t[i].line, &cmd), t[i].rc);
		if (t[i].rc == PARSE_OK)
			assert_int_equal(cmd.msg, t[i].n);
	}
}

static void
test_top(void **state)
{
	struct pop3_cmd cmd;

	(void)state;
	assert_int_equal(parse("TOP 1 0", &cmd), PARSE_OK);
	assert_true(cmd.has_msg);
	assert_int_equal(cmd.msg, 1);
	assert_int_equal(cmd.lines, 0);
	assert_int_equal(parse("top 5 10", &cmd), PARSE_OK);
	assert_int_equal(cmd.msg, 5);
	assert_int_equal(cmd.lines, 10);
	assert_int_equal(parse("TOP 1 1000000000", &cmd), PARSE_OK);
	assert_int_equal(cmd.lines, POP3_TOP_LINES_MAX);
	assert_int_equal(parse_rc_of("TOP 1 1000000001"), PARSE_INVALID);
	assert_int_equal(parse_rc_of("TOP 1 99999999999999999999"),
	    PARSE_INVALID);
	assert_int_equal(parse_rc_of("TOP 1 -1"), PARSE_INVALID);
	assert_int_equal(parse_rc_of("TOP 0 1"), PARSE_INVALID);
	assert_int_equal(parse_rc_of("TOP 1"), PARSE_INVALID);
	assert_int_equal(parse_rc_of("TOP 1 "), PARSE_INVALID);
	assert_int_equal(parse_rc_of("TOP"), PARSE_INVALID);
	assert_int_equal(parse_rc_of("TOP 1  2"), PARSE_INVALID);
	assert_int_equal(parse_rc_of("TOP 1 2 "), PARSE_INVALID);
	assert_int_equal(parse_rc_of("TOP 1 2 3"), PARSE_INVALID);
}

static void
test_user_pass(void **state)
{
	struct pop3_cmd cmd;

	(void)state;
	assert_int_equal(parse("USER alice@example.org", &cmd), PARSE_OK);
	assert_span(cmd.arg, "alice@example.org");
	assert_int_equal(parse("user j\xc3\xb6rg@example.org", &cmd),
	    PARSE_OK);
	assert_span(cmd.arg, "j\xc3\xb6rg@example.org");
	assert_int_equal(parse_rc_of("USER"), PARSE_INVALID);
	assert_int_equal(parse_rc_of("USER "), PARSE_INVALID);
	assert_int_equal(parse_rc_of("USER a b"), PARSE_INVALID);
	assert_int_equal(parse_rc_of("USER a "), PARSE_INVALID);
	assert_int_equal(parse_rc_of("USER  a"), PARSE_INVALID);
	assert_int_equal(parse_rc_of("USER a\tb"), PARSE_INVALID);
	assert_int_equal(parse_rc_of("USER a\x7f"), PARSE_INVALID);

	/* RFC 1939 7: spaces belong to the password, kept verbatim. */
	assert_int_equal(parse("PASS secret", &cmd), PARSE_OK);
	assert_span(cmd.arg, "secret");
	assert_int_equal(parse("PASS two words ", &cmd), PARSE_OK);
	assert_span(cmd.arg, "two words ");
	assert_int_equal(parse("PASS  lead", &cmd), PARSE_OK);
	assert_span(cmd.arg, " lead");
	assert_int_equal(parse("PASS p\xc3\xa4ss\tw", &cmd), PARSE_OK);
	assert_span(cmd.arg, "p\xc3\xa4ss\tw");
	assert_int_equal(parse_rc_of("PASS"), PARSE_INVALID);
	assert_int_equal(parse_rc_of("PASS "), PARSE_INVALID);
}

static void
test_auth(void **state)
{
	struct pop3_cmd cmd;

	(void)state;
	assert_int_equal(parse("AUTH", &cmd), PARSE_OK);
	assert_int_equal(cmd.arg.len, 0);
	assert_null(cmd.sasl_ir.ptr);
	assert_int_equal(parse("AUTH PLAIN", &cmd), PARSE_OK);
	assert_span(cmd.arg, "PLAIN");
	assert_null(cmd.sasl_ir.ptr);
	assert_int_equal(parse("auth plain AGFsaWNlAHNlY3JldA==", &cmd),
	    PARSE_OK);
	assert_span(cmd.arg, "plain");
	assert_span(cmd.sasl_ir, "AGFsaWNlAHNlY3JldA==");
	assert_int_equal(parse("AUTH PLAIN =", &cmd), PARSE_OK);
	assert_span(cmd.sasl_ir, "=");
	assert_int_equal(parse("AUTH SCRAM-SHA-256", &cmd), PARSE_OK);
	assert_int_equal(parse("AUTH X_Y-Z", &cmd), PARSE_OK);
	assert_int_equal(parse("AUTH ABCDEFGHIJKLMNOPQRST", &cmd), PARSE_OK);
	assert_int_equal(parse_rc_of("AUTH ABCDEFGHIJKLMNOPQRSTU"),
	    PARSE_INVALID);
	assert_int_equal(parse_rc_of("AUTH "), PARSE_INVALID);
	assert_int_equal(parse_rc_of("AUTH  PLAIN"), PARSE_INVALID);
	assert_int_equal(parse_rc_of("AUTH PLAIN "), PARSE_INVALID);
	assert_int_equal(parse_rc_of("AUTH PLAIN  AA=="), PARSE_INVALID);
	assert_int_equal(parse_rc_of("AUTH PLAIN AA== "), PARSE_INVALID);
	assert_int_equal(parse_rc_of("AUTH PLAIN AA== BB=="), PARSE_INVALID);
	assert_int_equal(parse_rc_of("AUTH PLAIN A*"), PARSE_INVALID);
	assert_int_equal(parse_rc_of("AUTH PL.AIN"), PARSE_INVALID);
	assert_int_equal(parse_rc_of("AUTH PL\xc3\x84IN"), PARSE_INVALID);
}

static void
test_nul_and_controls(void **state)
{
	struct pop3_cmd cmd;

	(void)state;
	assert_int_equal(pop3_cmd_parse((struct span){ "STAT\0", 5 }, &cmd),
	    PARSE_INVALID);
	assert_int_equal(pop3_cmd_parse((struct span){ "PASS a\0b", 8 },
	    &cmd), PARSE_INVALID);
	assert_int_equal(pop3_cmd_parse((struct span){ "\0", 1 }, &cmd),
	    PARSE_INVALID);
	assert_int_equal(parse_rc_of("PASS a\rb"), PARSE_INVALID);
	assert_int_equal(parse_rc_of("USER a\nb"), PARSE_INVALID);
	assert_int_equal(parse_rc_of("XYZZY \x01\x80\xff"), PARSE_OK);
	/* A NULL line is the empty line: an unknown command. */
	assert_int_equal(pop3_cmd_parse((struct span){ NULL, 0 }, &cmd),
	    PARSE_OK);
	assert_int_equal(cmd.verb, POP3_VERB_UNKNOWN);
	assert_non_null(cmd.arg.ptr);
}

static void
test_line_limit(void **state)
{
	(void)state;
	assert_int_equal(parse_sized("NOOP ", POP3_CMD_LINE_MAX),
	    PARSE_INVALID);
	assert_int_equal(parse_sized("NOOP ", POP3_CMD_LINE_MAX + 1),
	    PARSE_TOO_LONG);
	assert_int_equal(parse_sized("PASS ", POP3_CMD_LINE_MAX), PARSE_OK);
	assert_int_equal(parse_sized("PASS ", POP3_CMD_LINE_MAX + 1),
	    PARSE_TOO_LONG);
	assert_int_equal(parse_sized("USER ", POP3_CMD_LINE_MAX), PARSE_OK);
	assert_int_equal(parse_sized("USER ", POP3_CMD_LINE_MAX + 1),
	    PARSE_TOO_LONG);
	assert_int_equal(parse_sized("X", POP3_CMD_LINE_MAX), PARSE_OK);
	assert_int_equal(parse_sized("X", POP3_CMD_LINE_MAX + 1),
	    PARSE_TOO_LONG);
	/* A line of zeros is still message 0. */
	assert_int_equal(parse_sized_fill("RETR ", '0', POP3_CMD_LINE_MAX - 1),
	    PARSE_INVALID);
	assert_int_equal(parse_sized_fill("AUTH PLAIN ", 'A',
	    POP3_CMD_LINE_MAX), PARSE_OK);
	assert_int_equal(parse_sized_fill("AUTH PLAIN ", 'A',
	    POP3_CMD_LINE_MAX + 1), PARSE_TOO_LONG);
}

static void
test_leading_zeros_at_limit(void **state)
{
	char line[POP3_CMD_LINE_MAX];
	struct pop3_cmd cmd;
	size_t n = POP3_CMD_LINE_MAX - 2;

	(void)state;
	memcpy(line, "RETR ", 5);
	memset(line + 5, '0', n - 6);
	line[n - 1] = '1';
	assert_int_equal(pop3_cmd_parse((struct span){ line, n }, &cmd),
	    PARSE_OK);
	assert_int_equal(cmd.msg, 1);
}

static enum parse_rc
auth_line(const char *s, bool *cancel, struct span *resp)
{
	return pop3_auth_line_parse(span_from_cstr(s), cancel, resp);
}

static void
test_auth_line(void **state)
{
	struct span resp;
	bool cancel;
	char *s;
	size_t n;

	(void)state;
	assert_int_equal(auth_line("*", &cancel, &resp), PARSE_OK);
	assert_true(cancel);
	assert_int_equal(auth_line("AGFsaWNlAHNlY3JldA==", &cancel, &resp),
	    PARSE_OK);
	assert_false(cancel);
	assert_span(resp, "AGFsaWNlAHNlY3JldA==");
	assert_int_equal(auth_line("", &cancel, &resp), PARSE_OK);
	assert_false(cancel);
	assert_non_null(resp.ptr);
	assert_int_equal(resp.len, 0);
	assert_int_equal(pop3_auth_line_parse((struct span){ NULL, 0 },
	    &cancel, &resp), PARSE_OK);
	assert_non_null(resp.ptr);
	assert_int_equal(auth_line("**", &cancel, &resp), PARSE_INVALID);
	assert_int_equal(auth_line(" *", &cancel, &resp), PARSE_INVALID);
	assert_int_equal(auth_line("AA== ", &cancel, &resp), PARSE_INVALID);
	assert_int_equal(auth_line("AA\xc3\x84", &cancel, &resp),
	    PARSE_INVALID);
	assert_int_equal(pop3_auth_line_parse((struct span){ "AA\0=", 4 },
	    &cancel, &resp), PARSE_INVALID);

	n = POP3_SASL_LINE_MAX - 1;
	s = malloc(n);
	memset(s, 'A', n);
	assert_int_equal(pop3_auth_line_parse((struct span){ s, n - 1 },
	    &cancel, &resp), PARSE_OK);
	assert_int_equal(resp.len, n - 1);
	assert_int_equal(pop3_auth_line_parse((struct span){ s, n }, &cancel,
	    &resp), PARSE_TOO_LONG);
	free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verbs),
		cmocka_unit_test(test_no_arg_verbs),
		cmocka_unit_test(test_msg_verbs),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_top),
		cmocka_unit_test(test_user_pass),
		cmocka_unit_test(test_auth),
		cmocka_unit_test(test_nul_and_controls),
		cmocka_unit_test(test_line_limit),
		cmocka_unit_test(test_leading_zeros_at_limit),
		cmocka_unit_test(test_auth_line),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
