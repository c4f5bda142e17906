/*
 * libFuzzer target for pop3/pop3_parse: pop3_cmd_parse() and
 * pop3_auth_line_parse() over arbitrary lines, checking that every span
 * lies inside the line and every number is in range.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pop3/pop3_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_span(struct span s, const char *base, size_t len)
{
	assert(s.ptr != NULL);
	assert(s.ptr >= base && s.ptr + s.len <= base + len);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A heap copy of exactly size bytes, so ASan sees any overread. */
	char *line = malloc(size ? size : 1);
	struct pop3_cmd cmd;
	struct span resp;
	enum parse_rc rc;
	bool cancel;

	memcpy(line, data, size);
	rc = pop3_cmd_parse((struct span){ line, size }, &cmd);
	assert(rc == PARSE_OK || rc == PARSE_INVALID || rc == PARSE_TOO_LONG);
	assert(pop3_verb_name(cmd.verb) != NULL);
	assert((rc == PARSE_TOO_LONG) == (size > POP3_CMD_LINE_MAX - 2));
	if (rc == PARSE_OK) {
		assert(memchr(line, '\0', size) == NULL);
		assert(memchr(line, '\r', size) == NULL);
		assert(memchr(line, '\n', size) == NULL);
		check_span(cmd.arg, line, size);
		if (cmd.has_msg)
			assert(cmd.msg >= 1 && cmd.msg <= POP3_MSG_MAX);
		assert(cmd.lines <= POP3_TOP_LINES_MAX);
		if (cmd.sasl_ir.ptr != NULL) {
			assert(cmd.verb == POP3_VERB_AUTH);
			check_span(cmd.sasl_ir, line, size);
			assert(cmd.sasl_ir.len > 0 && cmd.arg.len > 0);
		}
		switch (cmd.verb) {
		case POP3_VERB_USER:
			assert(cmd.arg.len > 0);
			assert(memchr(cmd.arg.ptr, ' ', cmd.arg.len) == NULL);
			break;
		case POP3_VERB_PASS:
			assert(cmd.arg.len > 0);
			break;
		case POP3_VERB_RETR:
		case POP3_VERB_DELE:
		case POP3_VERB_TOP:
			assert(cmd.has_msg);
			break;
		default:
			break;
		}
	}

	rc = pop3_auth_line_parse((struct span){ line, size }, &cancel, &resp);
	assert(rc == PARSE_OK || rc == PARSE_INVALID || rc == PARSE_TOO_LONG);
	if (rc == PARSE_OK) {
		check_span(resp, line, size);
		assert(!cancel || (size == 1 && line[0] == '*'));
		assert(memchr(line, ' ', size) == NULL);
	}
	free(line);
	return 0;
}
