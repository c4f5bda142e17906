/*
 * Unit tests for imap/imap_search: programs made by the real command
 * parser, evaluated over a table of messages whose header, body and Date:
 * come from test doubles of the three imap_msg.h functions SEARCH uses
 * (so this test links without imap_msg.c). Every key, OR/NOT/lists,
 * "*" in sets, dates at day boundaries, CHARSET, every error, the depth
 * limit at max and max + 1, and when the message is opened.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/limits.h"
#include "imap/imap_msg.h"
#include "imap/imap_search.h"
#include "store/mbox.h"

/* ---- test doubles of imap_msg.h ---- */

#define HDRS_MAX	6

struct imap_msg {
	const char	*hdrs[HDRS_MAX];	/* "Name: value", NULL-ended */
	const char	*body;
	int64_t		 date;
};

/* ASCII case-insensitive substring, other bytes as they are. */
static bool
fake_contains(const char *hay, const char *needle)
{
	size_t n = strlen(needle), i, j;

	for (i = 0; hay[i] != '\0' || n == 0; i++) {
		for (j = 0; j < n; j++) {
			unsigned char a = (unsigned char)hay[i + j];
			unsigned char b = (unsigned char)needle[j];

			if (a >= 'A' && a <= 'Z')
				a += 32;
			if (b >= 'A' && b <= 'Z')
				b += 32;
			if (a != b)
				break;
		}
		if (j == n)
			return true;
		if (hay[i] == '\0')
			break;
	}
	return false;
}

int64_t
imap_msg_date(struct imap_msg *m)
{
	return m->date;
}

bool
imap_msg_header_contains(struct imap_msg *m, const char *name,
    const char *needle)
{
	size_t i, n = strlen(name);

	for (i = 0; i < HDRS_MAX && m->hdrs[i] != NULL; i++) {
		const char *h = m->hdrs[i], *colon = strchr(h, ':');

		if (n > 0 && ((size_t)(colon - h) != n ||
		    strncasecmp(h, name, n) != 0))
			continue;
		if (fake_contains(colon + 1, needle))
			return true;
	}
	return false;
}

bool
imap_msg_body_contains(struct imap_msg *m, const char *needle,
    bool with_header)
{
	size_t i;

	if (fake_contains(m->body, needle))
		return true;
	for (i = 0; with_header && i < HDRS_MAX && m->hdrs[i] != NULL; i++)
		if (fake_contains(m->hdrs[i], needle))
			return true;
	return false;
}

/* ---- the mailbox ---- */

#define NMSGS	6
#define T(y, mo, d, h, mi, s)	((int64_t)days(y, mo, d) * 86400 + \
	(h) * 3600 + (mi) * 60 + (s))

static struct imap_msg msgs[NMSGS];
static struct imap_search_msg smsgs[NMSGS];
static int opens[NMSGS];	/* calls of the open callback */

/* Days since the epoch, for the table only (years >= 1970). */
static int64_t
days(int y, int m, int d)
{
	static const int cum[12] = { 0, 31, 59, 90, 120, 151, 181, 212, 243,
	    273, 304, 334 };
	int64_t n = 0;
	int i;

	for (i = 1970; i < y; i++)
		n += (i % 4 == 0 && i % 100 != 0) || i % 400 == 0 ? 366 : 365;
	n += cum[m - 1] + d - 1;
	if (m > 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		n++;
	return n;
}

static struct imap_msg *
msg_open(void *arg)
{
	size_t i = (size_t)((struct imap_msg *)arg - msgs);

	opens[i]++;
	return i == 4 ? NULL : &msgs[i];	/* message 5 cannot be read */
}

static void
mailbox_init(void)
{
	static const struct {
		uint32_t	 uid;
		unsigned	 flags;
		bool		 recent;
		uint64_t	 vsize;
	} t[NMSGS] = {
		{ 10, MBOX_F_SEEN, false, 1000 },
		{ 20, MBOX_F_ANSWERED | MBOX_F_SEEN, true, 2000 },
		{ 30, MBOX_F_FLAGGED, true, 3000 },
		{ 40, MBOX_F_DELETED, false, 999 },
		{ 50, MBOX_F_DRAFT | MBOX_F_SEEN, false, 1001 },
		{ 4000000000u, 0, true, 4294967296ull },
	};
	const int64_t idates[NMSGS] = {
		T(2026, 11, 1, 0, 0, 0), T(2026, 11, 1, 23, 59, 59),
		T(2026, 11, 2, 0, 0, 0), -1, T(2026, 11, 3, 12, 0, 0),
		T(2026, 11, 2, 12, 0, 0),
	};
	size_t i;

	msgs[0] = (struct imap_msg){ { "From: alice@example.org",
	    "To: bob@other.test", "Subject: Hello world" },
	    "first body text\n", T(2026, 10, 31, 23, 59, 59) };
	msgs[1] = (struct imap_msg){ { "From: bob@other.test",
	    "Cc: carol@example.com", "Subject: Re: hello" },
	    "Gr\xc3\xbc\xc3\x9f" "e\n", T(2026, 11, 1, 0, 0, 0) };
	msgs[2] = (struct imap_msg){ { "From: carol@example.com",
	    "Bcc: dave@example.com", "Subject: Invoice", "X-Spam: yes" },
	    "pay now\n", INT64_MIN };
	msgs[3] = (struct imap_msg){ { "Subject: " }, "", 0 };
	msgs[4] = (struct imap_msg){ { "From: never@read" }, "xyz",
	    T(2026, 11, 1, 0, 0, 0) };
	msgs[5] = (struct imap_msg){ { "From: Zed <zed@example.net>",
	    "Subject: HELLO again" }, "xyz\n", T(2026, 11, 2, 23, 0, 0) };
	for (i = 0; i < NMSGS; i++) {
		smsgs[i] = (struct imap_search_msg){
			.seq = (uint32_t)i + 1, .uid = t[i].uid,
			.max_seq = NMSGS, .max_uid = t[NMSGS - 1].uid,
			.flags = t[i].flags, .recent = t[i].recent,
			.vsize = t[i].vsize, .internaldate = idates[i],
			.open = msg_open, .open_arg = &msgs[i],
		};
	}
	memset(opens, 0, sizeof(opens));
}

/* ---- driving ---- */

/* One command line through the real parser, synchronizing literals
 * accepted. */
static void
parse_line(const char *line, size_t len, struct imap_cmd *cmd)
{
	struct imap_parser *p = imap_parser_new(IMAP_CMD_LINE_MAX, IMAP_NEST_MAX);
	enum parse_rc rc;
	uint64_t n;

	assert_int_equal(imap_parser_feed(p, line, len), 0);
	while ((rc = imap_parser_next(p, cmd)) == PARSE_INCOMPLETE) {
		assert_true(imap_parser_literal_wait(p, &n, NULL, NULL));
		assert_int_equal(imap_parser_literal_accept(p), 0);
	}
	assert_int_equal(rc, PARSE_OK);
	imap_parser_free(&p);
}

static void
parse_str(const char *line, struct imap_cmd *cmd)
{
	parse_line(line, strlen(line), cmd);
}

/*
 * "a SEARCH prog" (or "a UID SEARCH prog") compiled and run over the
 * mailbox: the matching sequence numbers "1,3", or "BAD reason", or
 * "BADCHARSET". Checks on the way that the message is opened at most
 * once per match, and never when the program does not need it.
 */
static char *
run_len(const char *prog, size_t plen, bool uid)
{
	struct imap_cmd cmd;
	struct imap_search *s;
	struct buf line, out;
	char err[128];
	bool badcs = true;
	size_t i, first = uid ? 1 : 0;
	char *res;

	mailbox_init();
	buf_init(&line, (size_t)1 << 20);
	buf_init(&out, (size_t)1 << 20);
	buf_append_str(&line, uid ? "a UID SEARCH " : "a SEARCH ");
	buf_append(&line, prog, plen);
	buf_append_str(&line, "\r\n");
	parse_line(line.data, line.len, &cmd);
	if (uid)
		assert_true(span_eq_nocase(cmd.toks[0].val, "SEARCH"));
	s = imap_search_compile(&cmd, first, cmd.ntoks, &badcs, err,
	    sizeof(err));
	if (s == NULL) {
		assert_true(strlen(err) > 0);
		buf_printf(&out, "%s", badcs ? "BADCHARSET" : "BAD ");
		if (!badcs)
			buf_append_str(&out, err);
	} else {
		assert_false(badcs);
		for (i = 0; i < NMSGS; i++) {
			if (imap_search_match(s, &smsgs[i]))
				buf_printf(&out, "%s%zu", out.len ? "," : "",
				    i + 1);
			assert_true(opens[i] <= 1);
			if ((imap_search_needs(s) & IMAP_SEARCH_NEEDS_MSG) == 0)
				assert_int_equal(opens[i], 0);
		}
		imap_search_free(&s);
		assert_null(s);
	}
	imap_cmd_clear(&cmd);
	res = strdup(buf_cstr(&out));
	buf_free(&line);
	buf_free(&out);
	return res;
}

static void
expect_uid(const char *prog, const char *want, bool uid)
{
	char *got = run_len(prog, strlen(prog), uid);

	if (strcmp(got, want) != 0)
		fail_msg("SEARCH %s: got \"%s\", want \"%s\"", prog, got, want);
	free(got);
}

/* Both as SEARCH and as UID SEARCH. */
static void
expect(const char *prog, const char *want)
{
	expect_uid(prog, want, false);
	expect_uid(prog, want, true);
}

#define ALL	"1,2,3,4,5,6"

static void
test_flags(void **state)
{
	(void)state;
	expect("ALL", ALL);
	expect("ANSWERED", "2");
	expect("UNANSWERED", "1,3,4,5,6");
	expect("SEEN", "1,2,5");
	expect("UNSEEN", "3,4,6");
	expect("FLAGGED", "3");
	expect("UNFLAGGED", "1,2,4,5,6");
	expect("DELETED", "4");
	expect("UNDELETED", "1,2,3,5,6");
	expect("DRAFT", "5");
	expect("UNDRAFT", "1,2,3,4,6");
	expect("RECENT", "2,3,6");
	expect("OLD", "1,4,5");
	expect("NEW", "3,6");
	expect("KEYWORD $Forwarded", "");
	expect("KEYWORD NIL", "");
	expect("UNKEYWORD $Junk", ALL);
	/* Keys in any case. */
	expect("seen", "1,2,5");
	expect("UnDeLeTeD", "1,2,3,5,6");
}

static void
test_sets(void **state)
{
	(void)state;
	expect("1", "1");
	expect("2:4", "2,3,4");
	expect("4:2", "2,3,4");
	expect("*", "6");
	expect("5:*", "5,6");
	expect("*:5", "5,6");
	expect("7:*", "6");		/* 6:7 */
	expect("7:8", "");
	expect("1,3,6", "1,3,6");
	expect("2,2:3,1", "1,2,3");
	expect("6,1:2,4", "1,2,4,6");
	expect("4294967295", "");
	expect("1:4294967295", ALL);
	expect("*:*", "6");
	expect("UID 10", "1");
	expect("UID 20:40", "2,3,4");
	expect("UID 40:20", "2,3,4");
	expect("UID *", "6");
	expect("UID 4000000001:*", "6");
	expect("UID 41:49", "");
	expect("UID 50:*", "5,6");
	expect("UID 1:15,31:45", "1,4");
	expect("UID 1:*", ALL);
	expect("uid 4000000000", "6");
	expect("UID 4294967295", "");
}

/* The normalised sets against imap_seq_set_contains(), every n and star
 * up to 12. */
static void
test_sets_equivalence(void **state)
{
	static const char *sets[] = { "1", "3:1", "*", "2:*", "*:2", "5,*:3",
	    "1,3,5:7,2", "9:*,*:4", "*,*", "2:3,4:5,8", "12:*", "4:4,4" };
	struct imap_seq_set ref;
	struct imap_cmd cmd;
	struct imap_search *s;
	struct imap_search_msg m = { 0 };
	char line[64], err[64];
	bool badcs;
	size_t i;
	uint32_t n, star;

	(void)state;
	for (i = 0; i < sizeof(sets) / sizeof(sets[0]); i++) {
		snprintf(line, sizeof(line), "a SEARCH UID %s\r\n", sets[i]);
		parse_line(line, strlen(line), &cmd);
		s = imap_search_compile(&cmd, 0, cmd.ntoks, &badcs, err,
		    sizeof(err));
		assert_non_null(s);
		assert_int_equal(imap_seq_set_parse(span_from_cstr(sets[i]),
		    &ref), PARSE_OK);
		for (star = 0; star <= 12; star++) {
			for (n = 1; n <= 13; n++) {
				m.uid = n;
				m.max_uid = star;
				assert_int_equal(imap_search_match(s, &m),
				    imap_seq_set_contains(&ref, n, star));
			}
		}
		imap_seq_set_clear(&ref);
		imap_search_free(&s);
		imap_cmd_clear(&cmd);
	}
}

static void
test_sizes(void **state)
{
	(void)state;
	expect("LARGER 1000", "2,3,5,6");
	expect("LARGER 999", "1,2,3,5,6");
	expect("SMALLER 1000", "4");
	expect("SMALLER 1001", "1,4");
	expect("LARGER 4294967295", "6");
	expect("SMALLER 0", "");
	expect("LARGER 0", ALL);
	expect("SMALLER 000000000000000001000", "4");
	expect("LARGER 4294967295 SMALLER 4294967295", "");
	expect("larger 2000 smaller 3001", "3");
}

static void
test_dates(void **state)
{
	(void)state;
	/* Internal dates: day boundaries in UTC, and before the epoch. */
	expect("BEFORE 1-Nov-2026", "4");
	expect("ON 1-Nov-2026", "1,2");
	expect("SINCE 1-Nov-2026", "1,2,3,5,6");
	expect("SINCE 2-Nov-2026", "3,5,6");
	expect("BEFORE 2-Nov-2026", "1,2,4");
	expect("ON 31-Dec-1969", "4");
	expect("BEFORE 1-Jan-1970", "4");
	expect("SINCE 1-Jan-1970", "1,2,3,5,6");
	expect("ON \"2-Nov-2026\"", "3,6");
	expect("ON 02-nov-2026", "3,6");
	expect("on 3-NOV-2026", "5");
	expect("ON 29-Feb-2024", "");
	expect("ON 29-Feb-2000", "");
	expect("SINCE 31-Dec-9999", "");
	expect("SINCE 1-Jan-0000", ALL);
	/* Date: fields; none (3) and unreadable (5) never match. */
	expect("SENTBEFORE 1-Nov-2026", "1,4");
	expect("SENTON 31-Oct-2026", "1");
	expect("SENTON 1-Nov-2026", "2");
	expect("SENTSINCE 1-Nov-2026", "2,6");
	expect("SENTSINCE 3-Nov-2026", "");
	expect("SENTON 1-Jan-1970", "4");
	expect("NOT SENTON 1-Nov-2026", "1,3,4,5,6");
}

static void
test_strings(void **state)
{
	(void)state;
	expect("FROM alice", "1");
	expect("FROM EXAMPLE", "1,3,6");
	expect("FROM \"zed <zed\"", "6");
	expect("FROM \"\"", "1,2,3,6");
	expect("TO bob", "1");
	expect("CC carol", "2");
	expect("BCC dave", "3");
	expect("SUBJECT hello", "1,2,6");
	expect("SUBJECT \"hello world\"", "1");
	expect("HEADER X-Spam yes", "3");
	expect("HEADER x-spam \"\"", "3");
	expect("HEADER Subject \"\"", "1,2,3,4,6");
	expect("HEADER \"\" x", "");
	expect("HEADER Subject NIL", "");
	expect("BODY body", "1");
	expect("BODY hello", "");
	expect("TEXT hello", "1,2,6");
	expect("TEXT PAY", "3");
	expect("BODY xyz", "6");	/* 5 cannot be read */
	expect("NOT BODY xyz", "1,2,3,4,5");
	/* UTF-8 bytes: bytewise, ASCII letters in any case. */
	expect("BODY \"Gr\xc3\xbc\xc3\x9f" "e\"", "2");
	expect("BODY \"GR\xc3\xbc\xc3\x9f" "E\"", "2");
	expect("BODY \"GR\xc3\x9c\"", "");
	/* Literals, synchronizing and not. */
	expect("BODY {3}\r\npay", "3");
	expect("BODY {3+}\r\npay SEEN", "");
	expect("HEADER {6+}\r\nx-spam {3}\r\nyes", "3");
	expect("CHARSET UTF-8 BODY {4}\r\nGr\xc3\xbc", "2");
}

static void
test_combinations(void **state)
{
	(void)state;
	expect("SEEN UNANSWERED", "1,5");
	expect("(SEEN UNANSWERED)", "1,5");
	expect("((SEEN) (UNANSWERED))", "1,5");
	expect("OR SEEN FLAGGED", "1,2,3,5");
	expect("NOT SEEN", "3,4,6");
	expect("OR (SEEN ANSWERED) DELETED", "2,4");
	expect("NOT (OR SEEN DELETED)", "3,6");
	expect("OR NOT SEEN 1", "1,3,4,6");
	expect("NOT NOT SEEN", "1,2,5");
	expect("OR OR DRAFT DELETED FLAGGED", "3,4,5");
	expect("OR DRAFT OR DELETED FLAGGED", "3,4,5");
	expect("(OR RECENT LARGER 2500) UID 1:35", "2,3");
	expect("2:5 NOT 3", "2,4,5");
	expect("Or Seen flagged", "1,2,3,5");
	expect("OR SUBJECT hello FROM carol", "1,2,3,6");
	expect("NOT OR BODY pay SUBJECT again", "1,2,4,5");
	expect("UID 20:* NOT (SENTSINCE 2-Nov-2026) FROM example", "3");
}

static void
test_charset(void **state)
{
	(void)state;
	expect("CHARSET UTF-8 SEEN", "1,2,5");
	expect("charset us-ascii SEEN", "1,2,5");
	expect("CHARSET \"utf-8\" SEEN", "1,2,5");
	expect("CHARSET {5}\r\nUTF-8 SEEN", "1,2,5");
	expect("CHARSET ISO-8859-1 SEEN", "BADCHARSET");
	expect("CHARSET UTF8 SEEN", "BADCHARSET");
	expect("CHARSET", "BAD missing charset");
	expect("CHARSET (UTF-8) SEEN", "BAD missing charset");
	expect("CHARSET UTF-8", "BAD missing search key");
	expect("SEEN CHARSET UTF-8", "BAD unknown search key");
}

static void
test_errors(void **state)
{
	(void)state;
	expect("FOO", "BAD unknown search key");
	expect("\"SEEN\"", "BAD unknown search key");
	expect("NIL", "BAD unknown search key");
	expect("SEEN FOO", "BAD unknown search key");
	expect("$", "BAD unknown search key");
	expect("()", "BAD missing search key");
	expect("SEEN ()", "BAD missing search key");
	expect("FROM", "BAD missing search argument");
	expect("(FROM) alice", "BAD missing search argument");
	expect("HEADER X", "BAD missing search argument");
	expect("OR SEEN", "BAD missing search key");
	expect("(OR SEEN) SEEN", "BAD missing search key");
	expect("NOT", "BAD missing search key");
	expect("FROM (x)", "BAD bad string in search");
	expect("HEADER (x) y", "BAD bad string in search");
	{
		static const char nul[] = "BODY {3}\r\na\0b";
		char *got = run_len(nul, sizeof(nul) - 1, false);

		assert_string_equal(got, "BAD bad string in search");
		free(got);
	}
	expect("LARGER x", "BAD bad number in search");
	expect("LARGER 4294967296", "BAD bad number in search");
	expect("LARGER 99999999999", "BAD bad number in search");
	expect("LARGER -1", "BAD bad number in search");
	expect("LARGER \"5\"", "BAD bad number in search");
	expect("SMALLER", "BAD missing search argument");
	expect("BEFORE 32-Jan-2026", "BAD bad date in search");
	expect("BEFORE 31-Apr-2026", "BAD bad date in search");
	expect("BEFORE 29-Feb-2026", "BAD bad date in search");
	expect("BEFORE 29-Feb-1900", "BAD bad date in search");
	expect("BEFORE 0-Jan-2026", "BAD bad date in search");
	expect("BEFORE 1-Foo-2026", "BAD bad date in search");
	expect("BEFORE 1-Jan-26", "BAD bad date in search");
	expect("BEFORE 1-Jan-20266", "BAD bad date in search");
	expect("BEFORE 123-Jan-2026", "BAD bad date in search");
	expect("BEFORE -Jan-2026", "BAD bad date in search");
	expect("BEFORE 1-Jan-2026-", "BAD bad date in search");
	expect("BEFORE \"1 Jan 2026\"", "BAD bad date in search");
	expect("BEFORE (1-Jan-2026)", "BAD bad date in search");
	expect("SENTON {10}\r\n1-Jan-2026", "BAD bad date in search");
	expect("UID x", "BAD bad sequence set in search");
	expect("UID 0", "BAD bad sequence set in search");
	expect("UID \"1\"", "BAD bad sequence set in search");
	expect("UID 4294967296", "BAD bad sequence set in search");
	expect("1:", "BAD bad sequence set in search");
	expect("1,,2", "BAD bad sequence set in search");
	expect("0", "BAD bad sequence set in search");
	expect("*x", "BAD bad sequence set in search");
	expect("KEYWORD \"x\"", "BAD bad keyword in search");
	expect("KEYWORD (x)", "BAD bad keyword in search");
	expect("UNKEYWORD", "BAD missing search argument");
}

static void
test_empty(void **state)
{
	struct imap_cmd cmd;
	char err[64];
	bool badcs;

	(void)state;
	parse_str("a SEARCH\r\n", &cmd);
	assert_null(imap_search_compile(&cmd, 0, cmd.ntoks, &badcs, err,
	    sizeof(err)));
	assert_false(badcs);
	assert_string_equal(err, "missing search key");
	imap_cmd_clear(&cmd);
	parse_str("a UID SEARCH\r\n", &cmd);
	assert_null(imap_search_compile(&cmd, 1, cmd.ntoks, &badcs, err, 0));
	imap_cmd_clear(&cmd);
}

/* prefix repeated n times, then tail. */
static char *
repeat(const char *prefix, size_t n, const char *tail)
{
	struct buf b;
	char *s;

	buf_init(&b, (size_t)1 << 20);
	while (n-- > 0)
		buf_append_str(&b, prefix);
	buf_append_str(&b, tail);
	s = strdup(buf_cstr(&b));
	buf_free(&b);
	return s;
}

static void
expect_repeat(const char *prefix, size_t n, const char *tail,
    const char *want)
{
	char *p = repeat(prefix, n, tail);

	expect(p, want);
	free(p);
}

static void
test_depth(void **state)
{
	char *p, *q;

	(void)state;
	expect_repeat("NOT ", IMAP_SEARCH_DEPTH_MAX, "SEEN", "1,2,5");
	expect_repeat("NOT ", IMAP_SEARCH_DEPTH_MAX + 1, "SEEN",
	    "BAD search too deeply nested");
	expect_repeat("OR SEEN ", IMAP_SEARCH_DEPTH_MAX, "DELETED", "1,2,4,5");
	expect_repeat("OR SEEN ", IMAP_SEARCH_DEPTH_MAX + 1, "DELETED",
	    "BAD search too deeply nested");
	/* Left-nested ORs: the first operand is the deep one. */
	p = repeat("OR ", IMAP_SEARCH_DEPTH_MAX, "SEEN");
	q = repeat(" DELETED", IMAP_SEARCH_DEPTH_MAX, "");
	{
		struct buf b;

		buf_init(&b, 1 << 20);
		buf_append_str(&b, p);
		buf_append_str(&b, q);
		expect(buf_cstr(&b), "1,2,4,5");
		buf_reset(&b);
		buf_append_str(&b, "OR ");
		buf_append_str(&b, p);
		buf_append_str(&b, q);
		buf_append_str(&b, " DELETED");
		expect(buf_cstr(&b), "BAD search too deeply nested");
		buf_free(&b);
	}
	free(p);
	free(q);
	/* Lists count too: IMAP_NEST_MAX parentheses (the parser's limit)
	 * inside NOTs. */
	p = repeat("(", IMAP_NEST_MAX, "SEEN");
	q = repeat(")", IMAP_NEST_MAX, "");
	{
		struct buf b;
		size_t nots = IMAP_SEARCH_DEPTH_MAX - IMAP_NEST_MAX;
		size_t i;

		buf_init(&b, 1 << 20);
		for (i = 0; i < nots; i++)
			buf_append_str(&b, "NOT ");
		buf_append_str(&b, p);
		buf_append_str(&b, q);
		expect(buf_cstr(&b), "1,2,5");
		buf_reset(&b);
		buf_append_str(&b, "NOT ");
		for (i = 0; i < nots; i++)
			buf_append_str(&b, "NOT ");
		buf_append_str(&b, p);
		buf_append_str(&b, q);
		expect(buf_cstr(&b), "BAD search too deeply nested");
		buf_free(&b);
	}
	free(p);
	free(q);
}

/* A program of many keys: as many as the parser gives. */
static void
test_many_keys(void **state)
{
	char *p;

	(void)state;
	p = repeat("ALL ", IMAP_CMD_TOKENS_MAX - 1, "SEEN");
	expect_uid(p, "1,2,5", false);
	free(p);
	p = repeat("(ALL) ", (IMAP_CMD_TOKENS_MAX - 2) / 2, "SEEN");
	expect_uid(p, "1,2,5", true);
	free(p);
}

/* The message is opened only for keys that need it, once per match, and
 * not when cheaper keys decide. */
static void
test_open(void **state)
{
	struct imap_cmd cmd;
	struct imap_search *s;
	char err[64];
	bool badcs;
	size_t i;

	(void)state;
	parse_str("a SEARCH SEEN LARGER 10 (OR 1:3 UID 40)\r\n", &cmd);
	s = imap_search_compile(&cmd, 0, cmd.ntoks, &badcs, err, sizeof(err));
	assert_non_null(s);
	assert_int_equal(imap_search_needs(s), 0);
	imap_search_free(&s);
	imap_cmd_clear(&cmd);

	parse_str("a SEARCH NOT (OR SEEN SENTON 1-Jan-2026)\r\n", &cmd);
	s = imap_search_compile(&cmd, 0, cmd.ntoks, &badcs, err, sizeof(err));
	assert_non_null(s);
	assert_int_equal(imap_search_needs(s), IMAP_SEARCH_NEEDS_MSG);
	imap_search_free(&s);
	imap_cmd_clear(&cmd);

	/* Five keys that need it: one open per match. */
	parse_str("a SEARCH OR SUBJECT x BODY y FROM a TEXT b OR SENTON "
	    "1-Nov-2026 HEADER X-Spam \"\"\r\n", &cmd);
	s = imap_search_compile(&cmd, 0, cmd.ntoks, &badcs, err, sizeof(err));
	assert_non_null(s);
	mailbox_init();
	for (i = 0; i < NMSGS; i++) {
		(void)imap_search_match(s, &smsgs[i]);
		assert_int_equal(opens[i], 1);
		(void)imap_search_match(s, &smsgs[i]);
		assert_int_equal(opens[i], 2);
	}
	imap_search_free(&s);
	imap_cmd_clear(&cmd);

	/* Cheap keys first: unseen messages never opened, nor seen ones
	 * under OR. */
	parse_str("a SEARCH BODY x SEEN\r\n", &cmd);
	s = imap_search_compile(&cmd, 0, cmd.ntoks, &badcs, err, sizeof(err));
	mailbox_init();
	for (i = 0; i < NMSGS; i++)
		(void)imap_search_match(s, &smsgs[i]);
	for (i = 0; i < NMSGS; i++)
		assert_int_equal(opens[i], (smsgs[i].flags & MBOX_F_SEEN) ? 1 : 0);
	imap_search_free(&s);
	imap_cmd_clear(&cmd);
	parse_str("a SEARCH OR BODY x SEEN\r\n", &cmd);
	s = imap_search_compile(&cmd, 0, cmd.ntoks, &badcs, err, sizeof(err));
	mailbox_init();
	for (i = 0; i < NMSGS; i++)
		(void)imap_search_match(s, &smsgs[i]);
	for (i = 0; i < NMSGS; i++)
		assert_int_equal(opens[i], (smsgs[i].flags & MBOX_F_SEEN) ? 0 : 1);
	imap_search_free(&s);
	imap_cmd_clear(&cmd);

	/* No callback: header keys do not match. */
	parse_str("a SEARCH NOT FROM x\r\n", &cmd);
	s = imap_search_compile(&cmd, 0, cmd.ntoks, &badcs, err, sizeof(err));
	mailbox_init();
	smsgs[0].open = NULL;
	assert_true(imap_search_match(s, &smsgs[0]));
	imap_search_free(&s);
	imap_cmd_clear(&cmd);
	imap_search_free(&s);	/* NULL: nothing */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_flags),
		cmocka_unit_test(test_sets),
		cmocka_unit_test(test_sets_equivalence),
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_dates),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_combinations),
		cmocka_unit_test(test_charset),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_many_keys),
		cmocka_unit_test(test_open),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
