/*
 * Unit tests for filter/milter_mods, through whole conversations with
 * the fake milter of milter_fake.h: each modification request kept as
 * asked, its checks (header names and values that would break the
 * message, recipients, actions not negotiated, requests before the end
 * of the body, MILTER_MODS_MAX), the replacement body in LF form in a
 * scratch file and its limit.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>

#include "filter/milter_fake.h"


static void
test_mods(void **state)
{
	struct fake f;
	struct run r;
	char eom[512], got[64];
	size_t n;
	ssize_t len;

	(void)state;
	fake_init(&f);
	n = pkt(eom, 'h', "X-Test-Milter\0seen\0", 19);
	n += pkt(eom + n, 'i', "\0\0\0\0X-Top\0first\r\n\tsecond\0", 25);
	n += pkt(eom + n, 'm', "\0\0\0\0Subject\0\0", 13);
	n += pkt(eom + n, 'm', "\0\0\0\2Received\0new\0", 17);
	n += pkt(eom + n, '+', "<new@example.org>\0", 18);
	n += pkt(eom + n, '-', "carol@example.org\0", 18);
	n += pkt(eom + n, 'q', "looks\x01odd\0", 10);
	n += pkt(eom + n, 'b', "new\r\nbody\r", 10);
	n += pkt(eom + n, 'b', "\nend\r", 5);
	n += pkt(eom + n, 'p', NULL, 0);
	n += pkt(eom + n, 'c', NULL, 0);
	f.eom = eom;
	f.eom_len = n;
	converse_msg(&f, &r);
	assert_int_equal(r.res.verdict, MILTER_ACCEPT);
	assert_int_equal(r.res.nmods, 6);
	assert_int_equal(r.res.mods[0].kind, MILTER_MOD_ADD_HEADER);
	assert_string_equal(r.res.mods[0].name, "X-Test-Milter");
	assert_string_equal(r.res.mods[0].value, "seen");
	assert_int_equal(r.res.mods[1].kind, MILTER_MOD_INSERT_HEADER);
	assert_int_equal(r.res.mods[1].index, 0);
	assert_string_equal(r.res.mods[1].value, "first\n\tsecond");
	assert_int_equal(r.res.mods[2].kind, MILTER_MOD_CHANGE_HEADER);
	assert_int_equal(r.res.mods[2].index, 1);	/* 0 means 1 */
	assert_string_equal(r.res.mods[2].value, "");
	assert_int_equal(r.res.mods[3].index, 2);
	assert_string_equal(r.res.mods[3].name, "Received");
	assert_int_equal(r.res.mods[4].kind, MILTER_MOD_ADD_RCPT);
	assert_null(r.res.mods[4].name);
	assert_string_equal(r.res.mods[4].value, "new@example.org");
	assert_int_equal(r.res.mods[5].kind, MILTER_MOD_DELETE_RCPT);
	assert_string_equal(r.res.mods[5].value, "carol@example.org");
	assert_true(r.res.quarantine);
	assert_string_equal(r.res.quarantine_reason, "looks?odd");
	/* CR LF split across chunks, and a last lone CR kept. */
	assert_true(r.res.body_fd >= 0);
	assert_int_equal(r.res.body_len, 13);
	len = read(r.res.body_fd, got, sizeof(got));
	assert_int_equal(len, 13);
	assert_memory_equal(got, "new\nbody\nend\r", 13);
	run_free(&r);
	fake_free(&f);
}

/* A request that cannot be applied, or was not negotiated, or comes
 * before the end of the body: MILTER_ERROR, and nothing kept. */
static void
expect_mod_error(const char *p, size_t n, uint32_t actions, const char *why)
{
	struct fake f;
	struct run r;

	fake_init(&f);
	f.actions = actions;
	f.eom = p;
	f.eom_len = n;
	converse_msg(&f, &r);
	assert_int_equal(r.res.verdict, MILTER_ERROR);
	assert_int_equal(r.res.nmods, 0);
	assert_int_equal(r.res.body_fd, -1);
	assert_false(r.res.quarantine);
	if (strstr(r.res.error, why) == NULL)
		fail_msg("error \"%s\", wanted \"%s\"", r.res.error, why);
	/* An error says no QUIT: the connection just closes. */
	assert_int_equal(f.counts['Q'], 0);
	run_free(&r);
	fake_free(&f);
}

static void
test_mods_refused(void **state)
{
	char p[512];
	size_t n;

	(void)state;
	/* A value that would end the header section, or add a line. */
	n = pkt(p, 'h', "X-A\0a\n\nbody\0", 12);
	expect_mod_error(p, n, ALL_ACTIONS, "bad header value");
	n = pkt(p, 'h', "X-A\0a\nX-B: b\0", 13);
	expect_mod_error(p, n, ALL_ACTIONS, "bad header value");
	n = pkt(p, 'h', "X-A\0a\n\0", 7);
	expect_mod_error(p, n, ALL_ACTIONS, "bad header value");
	n = pkt(p, 'h', "X-A\0a\n \n b\0", 11);
	expect_mod_error(p, n, ALL_ACTIONS, "bad header value");
	n = pkt(p, 'h', "X-A\0a\rb\0", 8);
	expect_mod_error(p, n, ALL_ACTIONS, "bad header value");
	n = pkt(p, 'h', "X-A\0a\x01\0", 7);
	expect_mod_error(p, n, ALL_ACTIONS, "bad header value");
	n = pkt(p, 'h', "X:A\0a\0", 6);
	expect_mod_error(p, n, ALL_ACTIONS, "bad header name");
	n = pkt(p, 'h', "\0a\0", 3);
	expect_mod_error(p, n, ALL_ACTIONS, "bad header name");
	n = pkt(p, '+', "<a b@c>\0", 8);
	expect_mod_error(p, n, ALL_ACTIONS, "bad recipient");
	n = pkt(p, '-', "<>\0", 3);
	expect_mod_error(p, n, ALL_ACTIONS, "bad recipient");
	n = pkt(p, '2', "<a@b>\0\0", 7);
	expect_mod_error(p, n, ALL_ACTIONS, "not negotiated");
	/* Not negotiated: each action's flag. */
	n = pkt(p, 'h', "X-A\0a\0", 6);
	expect_mod_error(p, n, ALL_ACTIONS & ~SMFIF_ADDHDRS, "not negotiated");
	n = pkt(p, 'm', "\0\0\0\1X-A\0a\0", 10);
	expect_mod_error(p, n, ALL_ACTIONS & ~SMFIF_CHGHDRS, "not negotiated");
	n = pkt(p, '+', "<a@b>\0", 6);
	expect_mod_error(p, n, ALL_ACTIONS & ~SMFIF_ADDRCPT, "not negotiated");
	n = pkt(p, '-', "<a@b>\0", 6);
	expect_mod_error(p, n, ALL_ACTIONS & ~SMFIF_DELRCPT, "not negotiated");
	n = pkt(p, 'b', "x", 1);
	expect_mod_error(p, n, ALL_ACTIONS & ~SMFIF_CHGBODY, "not negotiated");
	n = pkt(p, 'q', "x\0", 2);
	expect_mod_error(p, n, ALL_ACTIONS & ~SMFIF_QUARANTINE,
	    "not negotiated");
	/* Replies that do not belong at end of body. */
	n = pkt(p, 's', NULL, 0);
	expect_mod_error(p, n, ALL_ACTIONS, "skip in end of body");
	n = pkt(p, 'c', "x", 1);
	expect_mod_error(p, n, ALL_ACTIONS, "bad reply 'c'");
	n = pkt(p, 'e', "<a@b>\0", 6);
	expect_mod_error(p, n, ALL_ACTIONS, "bad reply 'e'");
}

/* Modifications only at end of body. */
static void
test_mods_early(void **state)
{
	struct fake f;
	struct run r;
	char p[64];

	(void)state;
	fake_init(&f);
	f.at_cmd = 'N';
	f.at_n = 1;
	f.at_len = pkt(p, 'h', "X-A\0a\0", 6);
	f.at = p;
	converse_msg(&f, &r);
	assert_int_equal(r.res.verdict, MILTER_ERROR);
	assert_string_equal(r.res.error, "modification 'h' in end of header");
	run_free(&r);
	fake_free(&f);
}

/* MILTER_MODS_MAX requests, then one more. */
static void
test_mods_max(void **state)
{
	size_t one = 5 + 6, n = 0;
	char *p = malloc((MILTER_MODS_MAX + 2) * one);
	struct run r;

	(void)state;
	for (int i = 0; i < MILTER_MODS_MAX; i++)
		n += pkt(p + n, 'h', "X-A\0a\0", 6);
	n += pkt(p + n, 'c', NULL, 0);
	assert_int_equal(verdict_eom(p, n, &r), MILTER_ACCEPT);
	assert_int_equal(r.res.nmods, MILTER_MODS_MAX);
	run_free(&r);
	n -= 5;
	n += pkt(p + n, 'h', "X-A\0a\0", 6);
	n += pkt(p + n, 'c', NULL, 0);
	expect_mod_error(p, n, ALL_ACTIONS, "more than 1000");
	free(p);
}

/* The replacement body: body_max bytes, then one more; no scratch file. */
static void
test_body_max(void **state)
{
	struct fake f;
	struct run r;
	char p[64];
	size_t n;

	(void)state;
	n = pkt(p, 'b', "0123\r\n6789", 10);
	n += pkt(p + n, 'c', NULL, 0);
	fake_init(&f);
	f.eom = p;
	f.eom_len = n;
	run_init(&r, MSG, sizeof(MSG) - 1);
	r.msg.body_max = 9;
	converse(&f, &r);
	assert_int_equal(r.res.verdict, MILTER_ACCEPT);
	assert_int_equal(r.res.body_len, 9);
	run_free(&r);
	fake_free(&f);
	fake_init(&f);
	f.eom = p;
	f.eom_len = n;
	run_init(&r, MSG, sizeof(MSG) - 1);
	r.msg.body_max = 8;
	converse(&f, &r);
	assert_int_equal(r.res.verdict, MILTER_ERROR);
	assert_non_null(strstr(r.res.error, "over 8 bytes"));
	assert_int_equal(r.res.body_fd, -1);
	run_free(&r);
	fake_free(&f);
	fake_init(&f);
	f.eom = p;
	f.eom_len = n;
	run_init(&r, MSG, sizeof(MSG) - 1);
	r.msg.scratch = scratch_none;
	converse(&f, &r);
	assert_int_equal(r.res.verdict, MILTER_ERROR);
	assert_non_null(strstr(r.res.error, "scratch"));
	run_free(&r);
	fake_free(&f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mods),
		cmocka_unit_test(test_mods_refused),
		cmocka_unit_test(test_mods_early),
		cmocka_unit_test(test_mods_max),
		cmocka_unit_test(test_body_max),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
