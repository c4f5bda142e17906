/*
 * libFuzzer target for cli/cli_relaytest_tricks: what relay-test takes
 * from a server's greeting. The input is parsed as a reply (smtp_reply.c,
 * fuzzed on its own) and, like relay-test does, its text gives the names
 * the tricks aim at; those must be DNS names and make commands that fit a
 * command line, and the report's escaping must keep one printable line.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_relaytest.h"
#include "cli/cli_util.h"
#include "core/config.h"
#include "core/limits.h"
#include "smtp/smtp_reply.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
cli_relaytest_fuzz_names(const char *text)
{
	struct relaytest_trick *t;
	struct relaytest_target tg = { .local = "relay-test",
	    .foreign = "relay-test.example",
	    .sender = "relay-test@relay-test.example",
	    .literal = "[192.0.2.1]" };
	char *host, *domain;
	size_t n;

	if (relaytest_greeting_names(text, &host, &domain) == -1) {
		assert(host == NULL && domain == NULL);
		return;
	}
	assert(config_hostname_valid(host) && config_hostname_valid(domain));
	assert(strlen(domain) <= strlen(host));
	tg.host = host;
	tg.domain = domain;
	t = calloc(RELAYTEST_TRICKS_MAX, sizeof(*t));
	n = relaytest_tricks(&tg, t);
	assert(n > 0 && n <= RELAYTEST_TRICKS_MAX);
	for (size_t i = 0; i < n; i++)
		assert(t[i].rcpt.len + 2 <= SMTP_CMD_LINE_MAX);
	relaytest_tricks_free(t, n);
	free(t);
	free(host);
	free(domain);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smtp_resp r;
	struct buf shown;
	size_t used;

	buf_init(&shown, 4 * size + 1);
	cli_escape(&shown, (const char *)data, size);
	assert(!shown.overflowed);
	for (size_t i = 0; i < shown.len; i++)
		assert(shown.data[i] >= 0x20 && shown.data[i] < 0x7f);
	buf_free(&shown);
	smtp_resp_init(&r);
	if (smtp_resp_feed(&r, (const char *)data, size, &used) == PARSE_OK)
		cli_relaytest_fuzz_names(buf_cstr(&r.text));
	smtp_resp_clear(&r);
	return 0;
}
