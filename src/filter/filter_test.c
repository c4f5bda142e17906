/*
 * Unit tests for filter/filter: the glob (*, ?, case, backtracking, the
 * SPEC's default list), names as clients show them (NUL, trailing dots
 * and blanks), verdict order and names; the scan over real messages:
 * attachment names at any depth, content rules in headers and in base64
 * and quoted-printable text split across pieces, MIME limits.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "core/config.h"
#include "filter/filter.h"

static struct span
S(const char *s)
{
	return span_from_cstr(s);
}

static void
test_glob(void **state)
{
	(void)state;
	assert_true(filter_glob_match("*.exe", S("x.exe")));
	assert_true(filter_glob_match("*.exe", S("X.EXE")));
	assert_true(filter_glob_match("*.EXE", S("report.pdf.exe")));
	assert_false(filter_glob_match("*.exe", S("x.exe.pdf")));
	assert_false(filter_glob_match("*.exe", S("xexe")));
	assert_true(filter_glob_match("*.e?e", S("x.exe")));
	assert_true(filter_glob_match("*.e?e", S("x.ece")));
	assert_false(filter_glob_match("*.e?e", S("x.ee")));
	assert_true(filter_glob_match("*", S("")));
	assert_false(filter_glob_match("?", S("")));
	assert_true(filter_glob_match("a*b*c", S("aXXbYYbZZc")));
	assert_false(filter_glob_match("a*b*c", S("aXXbYYbZZ")));
	assert_true(filter_glob_match("**x", S("abx")));
	assert_true(filter_glob_match("exact", S("EXACT")));
	/* Bytes that are no letters compare as they are. */
	assert_false(filter_glob_match("\xc3\xa9*", S("\xc3\x89.exe")));
}

static void
test_glob_worst_case_is_bounded(void **state)
{
	char name[4096], pat[64];

	(void)state;
	memset(name, 'a', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	snprintf(pat, sizeof(pat), "*a*a*a*a*a*a*a*a*a*a*b");
	assert_false(filter_glob_match(pat, S(name)));
}

static void
test_name_as_clients_show_it(void **state)
{
	const char *g[] = { "*.exe", "*.scr" };
	struct cfg_strlist globs = { .v = (char **)g, .n = 2 };

	(void)state;
	assert_string_equal(filter_name_blocked(&globs, S("a.SCR")), "*.scr");
	assert_null(filter_name_blocked(&globs, S("a.pdf")));
	assert_non_null(filter_name_blocked(&globs,
	    (struct span){ "x.exe\0.pdf", 10 }));
	assert_non_null(filter_name_blocked(&globs, S("x.exe.")));
	assert_non_null(filter_name_blocked(&globs, S("x.exe . .")));
	assert_null(filter_name_blocked(&globs, S("x.exe.pdf")));
}

static void
test_verdicts(void **state)
{
	(void)state;
	assert_true(FV_REJECT > FV_TEMPFAIL && FV_TEMPFAIL > FV_QUARANTINE &&
	    FV_QUARANTINE > FV_DISCARD && FV_DISCARD > FV_ACCEPT);
	assert_int_equal(filter_verdict_of(ACTION_REJECT), FV_REJECT);
	assert_int_equal(filter_verdict_of(ACTION_DISCARD), FV_DISCARD);
	assert_int_equal(filter_verdict_of(ACTION_QUARANTINE), FV_QUARANTINE);
	assert_string_equal(filter_verdict_name(FV_QUARANTINE), "quarantine");
	assert_string_equal(filter_kind_name(FILTER_ATTACHMENT), "attachment");
	assert_string_equal(filter_kind_name(FILTER_ANTIVIRUS), "antivirus");
}

/* A configuration with the default globs and the given content rules. */
struct scan_fixture {
	struct config		 cfg;
	struct cfg_content_rule	 rules[4];
};

static struct filter_scan *
scan_new(struct scan_fixture *f, const char *match, enum cfg_where where)
{
	config_defaults(&f->cfg);
	f->rules[0] = (struct cfg_content_rule){ .match = (char *)match,
	    .where = where, .action = ACTION_DISCARD };
	f->cfg.filters.content = f->rules;
	f->cfg.filters.ncontent = match != NULL ? 1 : 0;
	return filter_scan_new(&f->cfg);
}

static void
scan_done(struct scan_fixture *f, struct filter_scan **fs)
{
	filter_scan_free(fs);
	f->cfg.filters.content = NULL;
	f->cfg.filters.ncontent = 0;
	config_free(&f->cfg);
}

/* Feeds msg in pieces of step bytes; returns the number of hits. */
static size_t
scan_run(struct filter_scan *fs, const char *msg, size_t step,
    const struct filter_hit **hits)
{
	size_t len = strlen(msg), n;

	for (size_t off = 0; off < len; off += step)
		filter_scan_feed(fs, msg + off, len - off < step ? len - off : step);
	filter_scan_finish(fs);
	*hits = filter_scan_hits(fs, &n);
	return n;
}

#define MSG_HEAD	"From: a@b\nSubject: =?utf-8?Q?Lottery_WINNER?=\n" \
			"MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n"

static void
test_scan_body_split_anywhere(void **state)
{
	const char *msg = MSG_HEAD "--b\nContent-Type: text/plain\n"
	    "Content-Transfer-Encoding: base64\n\n"
	    "Z2V0IENIRUFQIHBpbGxzIG5vdw==\n--b--\n";	/* "get CHEAP pills now" */
	size_t steps[] = { 1, 2, 3, 7, 1000 };

	(void)state;
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		struct scan_fixture f;
		struct filter_scan *fs = scan_new(&f, "cheap PILLS", WHERE_BODY);
		const struct filter_hit *h;

		assert_int_equal(scan_run(fs, msg, steps[i], &h), 1);
		assert_int_equal(h[0].kind, FILTER_CONTENT);
		assert_int_equal(h[0].verdict, FV_DISCARD);
		assert_string_equal(h[0].rule, "cheap PILLS");
		assert_string_equal(h[0].part, "1");
		assert_string_equal(h[0].detail, "body");
		scan_done(&f, &fs);
	}
}

static void
test_scan_match_across_fold_chunks(void **state)
{
	static char msg[64 * 1024];
	struct scan_fixture f;
	struct filter_scan *fs = scan_new(&f, "needle", WHERE_ANY);
	const struct filter_hit *h;
	size_t n;

	(void)state;
	n = (size_t)snprintf(msg, sizeof(msg), "Subject: x\n\n");
	/* "needle" straddles two folding pieces of the body. */
	memset(msg + n, 'a', 3 * FILTER_FOLD_CHUNK - 3);
	memcpy(msg + n + 3 * FILTER_FOLD_CHUNK - 3, "NEEDLE\n", 8);
	assert_int_equal(scan_run(fs, msg, sizeof(msg), &h), 1);
	assert_string_equal(h[0].part, "");
	scan_done(&f, &fs);
}

static void
test_scan_no_match_across_parts_or_in_the_wrong_place(void **state)
{
	const char *msg = MSG_HEAD "--b\nContent-Type: text/plain\n\nends in need\n"
	    "--b\nContent-Type: text/plain\n\nle starts here\n--b\n"
	    "Content-Type: application/octet-stream\n\nneedle in binary\n--b--\n";
	struct scan_fixture f;
	struct filter_scan *fs = scan_new(&f, "needle", WHERE_BODY);
	const struct filter_hit *h;

	(void)state;
	assert_int_equal(scan_run(fs, msg, 5, &h), 0);
	scan_done(&f, &fs);
	fs = scan_new(&f, "subject: lottery winner", WHERE_BODY);
	assert_int_equal(scan_run(fs, msg, 5, &h), 0);
	scan_done(&f, &fs);
	/* The decoded header, "Name: value". */
	fs = scan_new(&f, "subject: lottery winner", WHERE_HEADERS);
	assert_int_equal(scan_run(fs, msg, 5, &h), 1);
	assert_string_equal(h[0].detail, "headers");
	scan_done(&f, &fs);
}

static void
test_scan_attachment_and_mime_limit(void **state)
{
	const char *msg = MSG_HEAD "--b\nContent-Type: text/plain\n\nhi\n--b\n"
	    "Content-Type: application/octet-stream\n"
	    "Content-Disposition: attachment; filename*=utf-8''%78%2E%65%78%65\n\n"
	    "MZ\n--b--\n";
	struct scan_fixture f;
	struct filter_scan *fs = scan_new(&f, NULL, WHERE_ANY);
	const struct filter_hit *h;
	char deep[4096];
	size_t n = 0;

	(void)state;
	assert_int_equal(scan_run(fs, msg, 3, &h), 1);
	assert_int_equal(h[0].kind, FILTER_ATTACHMENT);
	assert_int_equal(h[0].verdict, FV_REJECT);
	assert_string_equal(h[0].rule, "*.exe");
	assert_string_equal(h[0].part, "2");
	assert_string_equal(h[0].detail, "x.exe");
	scan_done(&f, &fs);

	n += (size_t)snprintf(deep + n, sizeof(deep) - n, "Subject: deep\n");
	for (int i = 0; i < 20; i++)
		n += (size_t)snprintf(deep + n, sizeof(deep) - n,
		    "Content-Type: multipart/mixed; boundary=l%d\n\n--l%d\n", i, i);
	fs = scan_new(&f, NULL, WHERE_ANY);
	assert_int_equal(scan_run(fs, deep, 64, &h), 1);
	assert_int_equal(h[0].kind, FILTER_MIME);
	assert_int_equal(h[0].verdict, FV_REJECT);
	assert_string_equal(h[0].rule, mime_rc_text(MIME_ERR_DEPTH));
	scan_done(&f, &fs);
}

static void
test_scan_off(void **state)
{
	struct config cfg;
	size_t n;

	(void)state;
	config_defaults(&cfg);
	n = cfg.filters.attachments.block.n;
	cfg.filters.attachments.block.n = 0;	/* block = []; */
	assert_null(filter_scan_new(&cfg));
	cfg.filters.attachments.block.n = n;
	config_free(&cfg);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_glob),
		cmocka_unit_test(test_glob_worst_case_is_bounded),
		cmocka_unit_test(test_name_as_clients_show_it),
		cmocka_unit_test(test_verdicts),
		cmocka_unit_test(test_scan_body_split_anywhere),
		cmocka_unit_test(test_scan_match_across_fold_chunks),
		cmocka_unit_test(test_scan_no_match_across_parts_or_in_the_wrong_place),
		cmocka_unit_test(test_scan_attachment_and_mime_limit),
		cmocka_unit_test(test_scan_off),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
