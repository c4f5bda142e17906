/*
 * libFuzzer target for core/logremote_fmt: the first byte picks the input,
 * the rest is a log.remote target or a child's datagram (hostile by
 * contract); checks what the header promises of each.
 */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "core/logremote_fmt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
logremote_fmt_fuzz_target(struct span in)
{
	struct logremote_target t;
	enum parse_rc rc = logremote_fmt_parse_target(in, &t);

	if (rc == PARSE_TOO_LONG)
		assert(in.len > LOGREMOTE_TARGET_MAX);
	if (rc != PARSE_OK)
		return;
	assert(in.len >= 6 && memcmp(in.ptr + 3, "://", 3) == 0);
	assert(strlen(t.host) > 0 && strlen(t.host) <= LOGREMOTE_HOST_MAX);
	assert(strlen(t.port) > 0 && strlen(t.port) <= 5);
}

static void
logremote_fmt_fuzz_datagram(struct span in)
{
	struct logremote_fmt_id id = { .pid = 1 };
	struct buf b;

	logremote_fmt_set_hostname(&id, "mx.example.org");
	buf_init(&b, LOGREMOTE_MSG_MAX);
	if (logremote_fmt_datagram(&b, &id, in, "2026-03-02T09:14:07.221Z") == 0) {
		/* One line, a header of ours, nothing a log server would
		 * take for a second message. */
		assert(b.len > 0 && b.data[0] == '<');
		for (size_t i = 0; i < b.len; i++)
			assert((unsigned char)b.data[i] >= 0x20 &&
			    (unsigned char)b.data[i] != 0x7f);
	} else {
		assert(b.len == 0);
	}
	buf_free(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct span in;

	if (size == 0)
		return 0;
	in = (struct span){ (const char *)data + 1, size - 1 };
	if (data[0] & 1)
		logremote_fmt_fuzz_target(in);
	else
		logremote_fmt_fuzz_datagram(in);
	return 0;
}
