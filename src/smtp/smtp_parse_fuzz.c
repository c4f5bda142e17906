/*
 * libFuzzer target for smtp/smtp_parse: smtp_cmd_parse() over arbitrary
 * lines, checking that every span lies inside the line, then handing the
 * path on to smtp_addr_parse() as the session does.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp/smtp_addr.h"
#include "smtp/smtp_parse.h"

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
	struct smtp_cmd cmd;
	struct smtp_addr addr;
	enum parse_rc rc;
	size_t i;

	memcpy(line, data, size);
	rc = smtp_cmd_parse((struct span){ line, size }, &cmd);
	assert(rc == PARSE_OK || rc == PARSE_INVALID || rc == PARSE_TOO_LONG);
	assert(smtp_verb_name(cmd.verb) != NULL);
	if (rc == PARSE_TOO_LONG && cmd.verb != SMTP_VERB_MAIL &&
	    cmd.verb != SMTP_VERB_RCPT)
		assert(size > SMTP_CMD_LINE_MAX - 2);
	if (rc == PARSE_OK) {
		assert(size <= SMTP_CMD_LINE_MAX - 2);
		assert(memchr(line, '\0', size) == NULL);
		check_span(cmd.arg, line, size);
		assert(cmd.nparams <= SMTP_PARAMS_MAX);
		if (cmd.verb == SMTP_VERB_MAIL || cmd.verb == SMTP_VERB_RCPT) {
			check_span(cmd.path, line, size);
			assert(cmd.path.len <= SMTP_PATH_MAX - 2);
			if (smtp_addr_parse(cmd.path, true, &addr) == PARSE_OK)
				smtp_addr_clear(&addr);
		} else {
			assert(cmd.nparams == 0);
		}
		for (i = 0; i < cmd.nparams; i++) {
			check_span(cmd.params[i].key, line, size);
			assert(cmd.params[i].key.len > 0);
			if (cmd.params[i].value.ptr != NULL) {
				check_span(cmd.params[i].value, line, size);
				assert(cmd.params[i].value.len > 0);
			}
		}
	}
	free(line);
	return 0;
}
