/*
 * libFuzzer target for imap/imap_search: the input, after "a SEARCH ",
 * goes through the real command parser; each command is compiled as a
 * SEARCH program (after "SEARCH" for UID SEARCH) and evaluated against a
 * few fixed messages, whose header, body and Date: come from doubles of
 * the imap_msg.h functions. Checks: a message is opened at most once per
 * match and never when the program does not need it; every sequence set
 * among the atoms matches as imap_seq_set_contains() says.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/limits.h"
#include "imap/imap_msg.h"
#include "imap/imap_search.h"
#include "store/mbox.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_LITERAL_MAX	4096
#define FUZZ_NMSGS		4

struct imap_msg {
	const char	*hdrs[4];	/* "Name: value", NULL-ended */
	const char	*body;
	int64_t		 date;
};

static bool
fuzz_contains(const char *hay, const char *needle)
{
	size_t n = strlen(needle), i;

	for (i = 0; n == 0 || hay[i] != '\0'; i++) {
		if (strncasecmp(hay + i, needle, n) == 0)
			return true;
		if (n == 0)
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

	for (i = 0; i < 4 && m->hdrs[i] != NULL; i++) {
		const char *colon = strchr(m->hdrs[i], ':');

		if ((n == 0 || ((size_t)(colon - m->hdrs[i]) == n &&
		    strncasecmp(m->hdrs[i], name, n) == 0)) &&
		    fuzz_contains(colon + 1, needle))
			return true;
	}
	return false;
}

bool
imap_msg_body_contains(struct imap_msg *m, const char *needle,
    bool with_header)
{
	size_t i;

	if (fuzz_contains(m->body, needle))
		return true;
	for (i = 0; with_header && i < 4 && m->hdrs[i] != NULL; i++)
		if (fuzz_contains(m->hdrs[i], needle))
			return true;
	return false;
}

static struct imap_msg fuzz_msgs[FUZZ_NMSGS] = {
	{ { "From: alice@example.org", "Subject: Hello", NULL }, "body one",
	    1793491200 },
	{ { "To: bob@example.org", "X-A: b", NULL }, "", INT64_MIN },
	{ { NULL }, "x", -86401 },
	{ { "From: never", NULL }, "y", 0 },	/* cannot be opened */
};
static int fuzz_opens[FUZZ_NMSGS];

static struct imap_msg *
fuzz_open(void *arg)
{
	size_t i = (size_t)((struct imap_msg *)arg - fuzz_msgs);

	fuzz_opens[i]++;
	return i == FUZZ_NMSGS - 1 ? NULL : &fuzz_msgs[i];
}

static void
fuzz_search(const struct imap_cmd *cmd, size_t first)
{
	struct imap_search *s;
	struct imap_search_msg m;
	bool badcs, r1, r2;
	char err[64];
	size_t i;

	s = imap_search_compile(cmd, first, cmd->ntoks, &badcs, err,
	    sizeof(err));
	if (s == NULL) {
		assert(err[0] != '\0');
		return;
	}
	assert(!badcs);
	for (i = 0; i < FUZZ_NMSGS; i++) {
		m = (struct imap_search_msg){
			.seq = (uint32_t)i + 1, .uid = (uint32_t)(i * 7 + 3),
			.max_seq = FUZZ_NMSGS, .max_uid = (FUZZ_NMSGS - 1) * 7 + 3,
			.flags = (unsigned)(i * 11) & MBOX_F_ALL,
			.recent = i % 2 == 0, .vsize = (uint64_t)i * 1000,
			.internaldate = (int64_t)i * 86400 * 365 - 1,
			.open = fuzz_open, .open_arg = &fuzz_msgs[i],
		};
		fuzz_opens[i] = 0;
		r1 = imap_search_match(s, &m);
		assert(fuzz_opens[i] <= 1);
		if ((imap_search_needs(s) & IMAP_SEARCH_NEEDS_MSG) == 0)
			assert(fuzz_opens[i] == 0);
		r2 = imap_search_match(s, &m);
		assert(r1 == r2);
	}
	imap_search_free(&s);
	assert(s == NULL);
}

/* "UID <atom>" as a program, against imap_seq_set_contains(). */
static void
fuzz_set(const struct imap_tok *t)
{
	struct imap_tok toks[2] = {
		{ .type = IMAP_TOK_ATOM, .val = SPAN_LIT("UID"), .end = 1 },
		{ .type = IMAP_TOK_ATOM, .val = t->val, .end = 2 },
	};
	struct imap_cmd cmd = { .toks = toks, .ntoks = 2 };
	struct imap_search_msg m = { 0 };
	struct imap_seq_set ref;
	struct imap_search *s;
	static const uint32_t nums[] = { 1, 2, 3, 5, 9, 100, 4294967294u,
	    4294967295u };
	bool badcs;
	char err[64];
	size_t a, b;

	if (imap_seq_set_parse(t->val, &ref) != PARSE_OK)
		return;
	s = imap_search_compile(&cmd, 0, 2, &badcs, err, sizeof(err));
	assert(s != NULL);
	for (a = 0; a < sizeof(nums) / sizeof(nums[0]); a++) {
		for (b = 0; b < sizeof(nums) / sizeof(nums[0]); b++) {
			m.uid = nums[a];
			m.max_uid = nums[b];
			assert(imap_search_match(s, &m) ==
			    imap_seq_set_contains(&ref, nums[a], nums[b]));
		}
		/* Every number named in the set, and its neighbours. */
		for (b = 0; b < ref.nranges && b < 64; b++) {
			uint32_t n = ref.ranges[b].first;
			uint32_t cand[3] = { n, n + 1, n - 1 };
			size_t c;

			for (c = 0; c < 3; c++) {
				if (cand[c] == 0)
					continue;
				m.uid = cand[c];
				m.max_uid = nums[a];
				assert(imap_search_match(s, &m) ==
				    imap_seq_set_contains(&ref, cand[c], nums[a]));
			}
		}
	}
	imap_search_free(&s);
	imap_seq_set_clear(&ref);
}

static void
fuzz_cmd(const struct imap_cmd *cmd)
{
	size_t i;

	if (cmd->ntoks > 0 && cmd->toks[0].type == IMAP_TOK_ATOM &&
	    cmd->toks[0].val.len == 6 &&
	    strncasecmp(cmd->toks[0].val.ptr, "SEARCH", 6) == 0)
		fuzz_search(cmd, 1);
	else
		fuzz_search(cmd, 0);
	for (i = 0; i < cmd->ntoks; i++)
		if (cmd->toks[i].type == IMAP_TOK_ATOM)
			fuzz_set(&cmd->toks[i]);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char pre[] = "a SEARCH ";
	struct imap_parser *p;
	struct imap_cmd cmd;
	enum parse_rc rc;
	uint64_t n;

	if (size > IMAP_CMD_LINE_MAX + FUZZ_LITERAL_MAX)
		return 0;
	p = imap_parser_new(IMAP_CMD_LINE_MAX, IMAP_NEST_MAX);
	imap_parser_set_literal_max(p, FUZZ_LITERAL_MAX);
	assert(imap_parser_feed(p, pre, sizeof(pre) - 1) == 0);
	assert(imap_parser_feed(p, data, size) == 0);
	assert(imap_parser_feed(p, "\r\n", 2) == 0);
	for (;;) {
		rc = imap_parser_next(p, &cmd);
		if (rc == PARSE_INCOMPLETE) {
			if (!imap_parser_literal_wait(p, &n, NULL, NULL))
				break;
			if (n <= FUZZ_LITERAL_MAX)
				(void)imap_parser_literal_accept(p);
			else
				imap_parser_literal_reject(p);
			continue;
		}
		if (rc == PARSE_OK)
			fuzz_cmd(&cmd);
		imap_cmd_clear(&cmd);
	}
	imap_parser_free(&p);
	return 0;
}
