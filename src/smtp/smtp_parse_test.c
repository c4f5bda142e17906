/*
 * Unit tests for smtp/smtp_parse: verbs, arguments, MAIL/RCPT paths and
 * parameters, and every limit at max and max + 1.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "core/limits.h"
#include "smtp/smtp_parse.h"

static enum parse_rc
parse(const char *s, struct smtp_cmd *cmd)
{
	return smtp_cmd_parse(span_from_cstr(s), cmd);
}

/*
 * The wire line of exactly n bytes (CRLF included) that starts with
 * prefix, padded with 'x' and ending with suffix; parsed without the CRLF.
 */
static enum parse_rc
parse_sized2(const char *prefix, const char *suffix, size_t n)
{
	size_t pl = strlen(prefix), sl = strlen(suffix);
	char *s = malloc(n);
	struct smtp_cmd cmd;
	enum parse_rc rc;

	assert_true(n >= pl + sl + 2);
	memcpy(s, prefix, pl);
	memset(s + pl, 'x', n - pl - sl - 2);
	memcpy(s + n - sl - 2, suffix, sl);
	memcpy(s + n - 2, "\r\n", 2);
	rc = smtp_cmd_parse((struct span){ s, n - 2 }, &cmd);
	free(s);
	return rc;
}

static enum parse_rc
parse_sized(const char *prefix, size_t n)
{
	return parse_sized2(prefix, "", n);
}

static void
assert_span(struct span s, const char *want)
{
	assert_int_equal(s.len, strlen(want));
	assert_memory_equal(s.ptr, want, s.len);
}

static void
test_verbs(void **state)
{
	static const struct { const char *line; enum smtp_verb v; } t[] = {
		{ "HELO x", SMTP_VERB_HELO }, { "ehlo x", SMTP_VERB_EHLO },
		{ "Mail FROM:<>", SMTP_VERB_MAIL },
		{ "rcpt to:<a@b>", SMTP_VERB_RCPT }, { "DATA", SMTP_VERB_DATA },
		{ "rset", SMTP_VERB_RSET }, { "NoOp", SMTP_VERB_NOOP },
		{ "QUIT", SMTP_VERB_QUIT }, { "VRFY x", SMTP_VERB_VRFY },
		{ "EXPN x", SMTP_VERB_EXPN }, { "HELP", SMTP_VERB_HELP },
		{ "StartTLS", SMTP_VERB_STARTTLS },
		{ "AUTH PLAIN", SMTP_VERB_AUTH },
		{ "BDAT 10 LAST", SMTP_VERB_BDAT },
		{ "DATAX", SMTP_VERB_UNKNOWN },
		{ "MAILFROM:<a@b>", SMTP_VERB_UNKNOWN },
		{ "XCLIENT a=b", SMTP_VERB_UNKNOWN }, { "", SMTP_VERB_UNKNOWN },
		{ " NOOP", SMTP_VERB_UNKNOWN },
		{ "NOOP\tx", SMTP_VERB_UNKNOWN },
		{ "DAT", SMTP_VERB_UNKNOWN },
	};
	struct smtp_cmd cmd;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		assert_int_equal(parse(t[i].line, &cmd), PARSE_OK);
		assert_int_equal(cmd.verb, t[i].v);
	}
}

static void
test_verb_name(void **state)
{
	(void)state;
	assert_string_equal(smtp_verb_name(SMTP_VERB_MAIL), "MAIL");
	assert_string_equal(smtp_verb_name(SMTP_VERB_STARTTLS), "STARTTLS");
	assert_string_equal(smtp_verb_name(SMTP_VERB_BDAT), "BDAT");
	assert_string_equal(smtp_verb_name(SMTP_VERB_UNKNOWN), "UNKNOWN");
	assert_string_equal(smtp_verb_name(SMTP_VERB_COUNT), "UNKNOWN");
	assert_string_equal(smtp_verb_name((enum smtp_verb)-1), "UNKNOWN");
}

static void
test_arg(void **state)
{
	struct smtp_cmd cmd;

	(void)state;
	assert_int_equal(parse("EHLO   mx.example.org \t ", &cmd), PARSE_OK);
	assert_span(cmd.arg, "mx.example.org");
	assert_int_equal(parse("HELO", &cmd), PARSE_OK);
	assert_span(cmd.arg, "");
	assert_non_null(cmd.arg.ptr);
	assert_int_equal(parse("NOOP a b  c", &cmd), PARSE_OK);
	assert_span(cmd.arg, "a b  c");
	assert_int_equal(parse("XFOO bar ", &cmd), PARSE_OK);
	assert_int_equal(cmd.verb, SMTP_VERB_UNKNOWN);
	assert_span(cmd.arg, "bar");
	assert_int_equal(parse("AUTH PLAIN dGVzdAB0ZXN0AHRlc3Q=", &cmd),
	    PARSE_OK);
	assert_span(cmd.arg, "PLAIN dGVzdAB0ZXN0AHRlc3Q=");
	/* A NULL span is an empty line, not a crash. */
	assert_int_equal(smtp_cmd_parse((struct span){ NULL, 0 }, &cmd),
	    PARSE_OK);
	assert_int_equal(cmd.verb, SMTP_VERB_UNKNOWN);
}

static void
test_no_arg_verbs(void **state)
{
	struct smtp_cmd cmd;

	(void)state;
	assert_int_equal(parse("DATA", &cmd), PARSE_OK);
	assert_int_equal(parse("DATA  \t", &cmd), PARSE_OK);
	assert_int_equal(parse("DATA x", &cmd), PARSE_INVALID);
	assert_int_equal(cmd.verb, SMTP_VERB_DATA);
	assert_int_equal(parse("RSET x", &cmd), PARSE_INVALID);
	assert_int_equal(parse("QUIT now", &cmd), PARSE_INVALID);
	assert_int_equal(parse("STARTTLS x", &cmd), PARSE_INVALID);
	assert_int_equal(parse("QUIT ", &cmd), PARSE_OK);
	assert_int_equal(parse("NOOP x", &cmd), PARSE_OK);
	assert_int_equal(parse("HELP MAIL", &cmd), PARSE_OK);
}

static void
test_nul_cr_lf(void **state)
{
	struct smtp_cmd cmd;

	(void)state;
	assert_int_equal(smtp_cmd_parse((struct span){ "NOOP\0x", 6 }, &cmd),
	    PARSE_INVALID);
	assert_int_equal(smtp_cmd_parse((struct span){ "\0", 1 }, &cmd),
	    PARSE_INVALID);
	assert_int_equal(smtp_cmd_parse((struct span){ "MAIL FROM:<a\0@b>",
	    16 }, &cmd), PARSE_INVALID);
	assert_int_equal(parse("NOOP\rx", &cmd), PARSE_INVALID);
	assert_int_equal(parse("NOOP\nx", &cmd), PARSE_INVALID);
}

static void
test_mail_rcpt(void **state)
{
	struct smtp_cmd cmd;

	(void)state;
	assert_int_equal(parse("MAIL FROM:<alice@example.org>", &cmd),
	    PARSE_OK);
	assert_int_equal(cmd.verb, SMTP_VERB_MAIL);
	assert_span(cmd.path, "alice@example.org");
	assert_int_equal(cmd.nparams, 0);
	assert_int_equal(parse("mail from:<>", &cmd), PARSE_OK);
	assert_span(cmd.path, "");
	assert_non_null(cmd.path.ptr);
	assert_int_equal(parse("MAIL FROM: <a@b>", &cmd), PARSE_OK);
	assert_span(cmd.path, "a@b");
	assert_int_equal(parse("MAIL FROM:   <a@b>  ", &cmd), PARSE_OK);
	assert_span(cmd.path, "a@b");
	assert_int_equal(parse("MAIL   FROM:<a@b>", &cmd), PARSE_OK);
	assert_int_equal(parse("RCPT TO:<bob@example.org>", &cmd), PARSE_OK);
	assert_int_equal(cmd.verb, SMTP_VERB_RCPT);
	assert_span(cmd.path, "bob@example.org");
	assert_int_equal(parse("RCPT TO:<Postmaster>", &cmd), PARSE_OK);
	assert_span(cmd.path, "Postmaster");
	assert_int_equal(parse("RCPT TO:<@a.org,@b.org:u@c.org>", &cmd),
	    PARSE_OK);
	assert_span(cmd.path, "@a.org,@b.org:u@c.org");
	/* The path is only delimited here; smtp_addr judges its syntax. */
	assert_int_equal(parse("RCPT TO:<not an address>", &cmd), PARSE_OK);
}

static void
test_mail_rcpt_invalid(void **state)
{
	static const char *const bad[] = {
		"MAIL", "MAIL FROM", "MAIL FROM:", "MAIL FROM:a@b",
		"MAIL FROM:<a@b", "MAIL FROM:a@b>", "MAIL TO:<a@b>",
		"RCPT FROM:<a@b>", "RCPT TO:", "RCPT TO: a@b",
		"MAIL FROM :<a@b>", "MAIL FROM:\t<a@b>", "MAIL FROM:<a@b>x",
		"MAIL FROM:<a@b>SIZE=10", "MAIL FROM:<\"a>@b>",
		"MAIL FROM:<\"a\\>", "MAIL FROM:<\"a\\",
		"MAIL FROM:<a@b> <c@d>",
		"MAIL FROM:<<a@b>>", "RCPT TO:<a@b>\tNOTIFY=NEVER",
	};
	struct smtp_cmd cmd;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse(bad[i], &cmd) != PARSE_INVALID)
			fail_msg("\"%s\" was not PARSE_INVALID", bad[i]);
	}
}

static void
test_quoted_path(void **state)
{
	struct smtp_cmd cmd;

	(void)state;
	assert_int_equal(parse("MAIL FROM:<\"a>b c\"@x.org> SIZE=1", &cmd),
	    PARSE_OK);
	assert_span(cmd.path, "\"a>b c\"@x.org");
	assert_int_equal(cmd.nparams, 1);
	assert_int_equal(parse("MAIL FROM:<\"a\\\">\"@x.org>", &cmd), PARSE_OK);
	assert_span(cmd.path, "\"a\\\">\"@x.org");
	assert_int_equal(parse("MAIL FROM:<\"a\\\\\">@x.org>", &cmd),
	    PARSE_INVALID);
	assert_int_equal(parse("MAIL FROM:<\"a\\\\\"@x.org>", &cmd), PARSE_OK);
	assert_span(cmd.path, "\"a\\\\\"@x.org");
	/* Outside quotes a backslash is just a byte for smtp_addr. */
	assert_int_equal(parse("MAIL FROM:<a\\>", &cmd), PARSE_OK);
	assert_span(cmd.path, "a\\");
}

static void
test_params(void **state)
{
	struct smtp_cmd cmd;

	(void)state;
	assert_int_equal(parse("MAIL FROM:<a@b> SIZE=1234  BODY=8BITMIME "
	    "SMTPUTF8 X-Foo-1=bar+2Bx ", &cmd), PARSE_OK);
	assert_int_equal(cmd.nparams, 4);
	assert_span(cmd.params[0].key, "SIZE");
	assert_span(cmd.params[0].value, "1234");
	assert_span(cmd.params[1].key, "BODY");
	assert_span(cmd.params[1].value, "8BITMIME");
	assert_span(cmd.params[2].key, "SMTPUTF8");
	assert_null(cmd.params[2].value.ptr);
	assert_int_equal(cmd.params[2].value.len, 0);
	assert_span(cmd.params[3].key, "X-Foo-1");
	assert_span(cmd.params[3].value, "bar+2Bx");
	assert_int_equal(parse("RCPT TO:<a@b> NOTIFY=SUCCESS,FAILURE "
	    "ORCPT=rfc822;a+40b", &cmd), PARSE_OK);
	assert_int_equal(cmd.nparams, 2);
	assert_span(cmd.params[1].value, "rfc822;a+40b");
	/* RFC 6531 3.3: UTF-8 in values. */
	assert_int_equal(parse("MAIL FROM:<a@b> X=\xc3\xa9", &cmd), PARSE_OK);
	assert_span(cmd.params[0].value, "\xc3\xa9");
}

static void
test_params_invalid(void **state)
{
	static const char *const bad[] = {
		"MAIL FROM:<a@b> =1", "MAIL FROM:<a@b> -X=1",
		"MAIL FROM:<a@b> SIZE=", "MAIL FROM:<a@b> SIZE==1",
		"MAIL FROM:<a@b> SIZE=1=2", "MAIL FROM:<a@b> S_Z=1",
		"MAIL FROM:<a@b> SIZE=1\tX", "MAIL FROM:<a@b> SI\x01ZE",
		"MAIL FROM:<a@b> X=\x7f", "MAIL FROM:<a@b> X=a\tb",
		"MAIL FROM:<a@b> \xc3\xa9=1",
	};
	struct smtp_cmd cmd;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse(bad[i], &cmd) != PARSE_INVALID)
			fail_msg("\"%s\" was not PARSE_INVALID", bad[i]);
	}
}

/* MAIL FROM:<a@b> followed by n parameters "P1".."Pn". */
static enum parse_rc
parse_nparams(size_t n, struct smtp_cmd *cmd)
{
	char line[512];
	size_t len = 0, i;
	enum parse_rc rc;

	memcpy(line, "MAIL FROM:<a@b>", 15);
	len = 15;
	for (i = 0; i < n; i++) {
		line[len++] = ' ';
		line[len++] = 'P';
		line[len++] = (char)('a' + i % 26);
		line[len++] = (char)('a' + i / 26);
	}
	rc = smtp_cmd_parse((struct span){ line, len }, cmd);
	if (rc == PARSE_OK)
		assert_int_equal(cmd->nparams, n);
	return rc;
}

static void
test_params_limit(void **state)
{
	struct smtp_cmd cmd;

	(void)state;
	assert_int_equal(parse_nparams(SMTP_PARAMS_MAX, &cmd), PARSE_OK);
	assert_int_equal(parse_nparams(SMTP_PARAMS_MAX + 1, &cmd),
	    PARSE_INVALID);
}

static void
test_line_limit(void **state)
{
	(void)state;
	assert_int_equal(parse_sized("NOOP ", SMTP_CMD_LINE_MAX), PARSE_OK);
	assert_int_equal(parse_sized("NOOP ", SMTP_CMD_LINE_MAX + 1),
	    PARSE_TOO_LONG);
	assert_int_equal(parse_sized("XUNKNOWN ", SMTP_CMD_LINE_MAX + 1),
	    PARSE_TOO_LONG);
	assert_int_equal(parse_sized2("MAIL FROM:<a@b> X=", "",
	    SMTP_CMD_LINE_MAX), PARSE_OK);
	assert_int_equal(parse_sized2("MAIL FROM:<a@b> X=", "",
	    SMTP_CMD_LINE_MAX + 1), PARSE_TOO_LONG);
}

/* "MAIL FROM:<" + path of n bytes + ">" */
static enum parse_rc
parse_path_sized(size_t n, struct smtp_cmd *cmd)
{
	char line[512];
	enum parse_rc rc;

	memcpy(line, "MAIL FROM:<", 11);
	memset(line + 11, 'a', n);
	line[11] = '"';		/* the path scanner must not mind quotes */
	line[12] = '"';
	line[11 + n] = '>';
	rc = smtp_cmd_parse((struct span){ line, 12 + n }, cmd);
	if (rc == PARSE_OK)
		assert_int_equal(cmd->path.len, n);
	return rc;
}

static void
test_path_limit(void **state)
{
	struct smtp_cmd cmd;

	(void)state;
	assert_int_equal(parse_path_sized(SMTP_PATH_MAX - 2, &cmd), PARSE_OK);
	assert_int_equal(parse_path_sized(SMTP_PATH_MAX - 1, &cmd),
	    PARSE_TOO_LONG);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verbs),
		cmocka_unit_test(test_verb_name),
		cmocka_unit_test(test_arg),
		cmocka_unit_test(test_no_arg_verbs),
		cmocka_unit_test(test_nul_cr_lf),
		cmocka_unit_test(test_mail_rcpt),
		cmocka_unit_test(test_mail_rcpt_invalid),
		cmocka_unit_test(test_quoted_path),
		cmocka_unit_test(test_params),
		cmocka_unit_test(test_params_invalid),
		cmocka_unit_test(test_params_limit),
		cmocka_unit_test(test_line_limit),
		cmocka_unit_test(test_path_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
