/*
 * libFuzzer target for imap/imap_parse: the input fed whole and fed in
 * pseudo-random pieces must give the same commands, literal waits and
 * errors; every token span must lie inside its command's data; and the
 * sequence-set helper runs over every atom.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imap/imap_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_LITERAL_MAX	2048	/* small, so that the limit is hit */

static void
fuzz_check_cmd(const struct imap_cmd *cmd)
{
	const char *lo = cmd->data.data, *hi = lo + cmd->data.len;
	size_t i;

	assert(cmd->ntoks <= IMAP_CMD_TOKENS_MAX);
	for (i = 0; i < cmd->ntoks; i++) {
		const struct imap_tok *t = &cmd->toks[i];

		assert(t->end > i && t->end <= cmd->ntoks);
		assert(t->type == IMAP_TOK_LIST || t->end == i + 1);
		assert(t->val.len == 0 || (t->val.ptr >= lo &&
		    t->val.ptr + t->val.len <= hi));
	}
	assert(cmd->tag.len > 0 && cmd->name.len > 0);
}

static void
fuzz_dump(struct buf *out, enum parse_rc rc, const struct imap_cmd *cmd)
{
	size_t i;
	struct imap_seq_set set;

	buf_printf(out, "rc=%d tag=%zu:", (int)rc, cmd->tag.len);
	buf_append_span(out, cmd->tag);
	if (rc != PARSE_OK) {
		buf_printf(out, " err=%s\n", cmd->error);
		return;
	}
	fuzz_check_cmd(cmd);
	buf_append_span(out, cmd->name);
	for (i = 0; i < cmd->ntoks; i++) {
		buf_printf(out, " [%d %zu %zu %zu:", (int)cmd->toks[i].type,
		    cmd->toks[i].nchildren, cmd->toks[i].end,
		    cmd->toks[i].val.len);
		buf_append_span(out, cmd->toks[i].val);
		if (cmd->toks[i].type == IMAP_TOK_ATOM &&
		    imap_seq_set_parse(cmd->toks[i].val, &set) == PARSE_OK) {
			assert(set.nranges > 0 && set.nranges <= IMAP_SEQ_RANGES_MAX);
			(void)imap_seq_set_contains(&set, 1, 10);
			imap_seq_set_clear(&set);
		}
		buf_append_str(out, "]");
	}
	buf_append_str(out, "\n");
}

static void
fuzz_drive(struct imap_parser *p, struct buf *out)
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
			assert(tag.len > 0 && name.len > 0);
			buf_printf(out, "wait %llu\n", (unsigned long long)n);
			if (n <= 1000)
				buf_printf(out, "accept %d\n",
				    imap_parser_literal_accept(p));
			else
				imap_parser_literal_reject(p);
			continue;
		}
		fuzz_dump(out, rc, &cmd);
		imap_cmd_clear(&cmd);
	}
}

static void
fuzz_run(const uint8_t *data, size_t size, bool whole, struct buf *out)
{
	struct imap_parser *p = imap_parser_new(IMAP_CMD_LINE_MAX, IMAP_NEST_MAX);
	uint32_t r = (uint32_t)size * 2654435761u + 1;
	size_t off = 0, n;

	imap_parser_set_literal_max(p, FUZZ_LITERAL_MAX);
	while (off < size) {
		r = r * 1103515245u + 12345u;
		n = whole ? size : 1 + (r >> 16) % 17;
		if (n > size - off)
			n = size - off;
		assert(imap_parser_feed(p, data + off, n) == 0);
		off += n;
		fuzz_drive(p, out);
	}
	imap_parser_free(&p);
	assert(p == NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf a, b;

	if (size > IMAP_INPUT_MAX)
		return 0;
	buf_init(&a, (size_t)1 << 30);
	buf_init(&b, (size_t)1 << 30);
	fuzz_run(data, size, true, &a);
	fuzz_run(data, size, false, &b);
	assert(a.len == b.len && memcmp(buf_cstr(&a), buf_cstr(&b), a.len) == 0);
	buf_free(&a);
	buf_free(&b);
	return 0;
}
