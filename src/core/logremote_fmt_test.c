/*
 * Unit tests for core/logremote_fmt: the log.remote target (schemes, hosts,
 * ports, the length ceiling at max and max + 1), RFC 5424 messages byte for
 * byte (PRI per level, TIMESTAMP, HOSTNAME, PROCID, MSGID, MSG), and the
 * checks on a child's datagram.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/logremote_fmt.h"

#define TS	"2026-03-02T09:14:07.221Z"
#define FALLBACK "2027-01-01T00:00:00.000Z"

static enum parse_rc
parse(const char *s, struct logremote_target *t)
{
	return logremote_fmt_parse_target(span_from_cstr(s), t);
}

static void
test_target_ok(void **state)
{
	struct logremote_target t;

	(void)state;
	assert_int_equal(parse("udp://127.0.0.1:5514", &t), PARSE_OK);
	assert_int_equal(t.proto, LOGREMOTE_UDP);
	assert_string_equal(t.host, "127.0.0.1");
	assert_string_equal(t.port, "5514");
	assert_int_equal(parse("tcp://[::1]:514", &t), PARSE_OK);
	assert_int_equal(t.proto, LOGREMOTE_TCP);
	assert_string_equal(t.host, "::1");
	assert_string_equal(t.port, "514");
	assert_int_equal(parse("tcp://[2001:db8::1]:65535", &t), PARSE_OK);
	assert_string_equal(t.host, "2001:db8::1");
	assert_int_equal(parse("udp://logs.example.org:1", &t), PARSE_OK);
	assert_string_equal(t.host, "logs.example.org");
	assert_string_equal(t.port, "1");
	assert_int_equal(parse("udp://loghost:514", &t), PARSE_OK);
}

static void
test_target_bad(void **state)
{
	static const char *const bad[] = {
		"", "udp://", "udp:/x:514", "syslog://x:514", "UDP://x:514",
		"udp://x", "udp://x:", "udp://:514", "udp://x:0", "udp://x:65536",
		"udp://x:99999", "udp://x:+514", "udp://x:5 14", "udp://x:514 ",
		"udp://x:0514a", "udp://::1:514", "udp://[::1]", "udp://[::1]514",
		"udp://[::1:514", "udp://[]:514", "udp://[127.0.0.1]:514",
		"udp://[x.example]:514", "udp://-x.example:514",
		"udp://x-.example:514", "udp://x..example:514",
		"udp://x.example.:514", "udp://x_y@z:514", "udp://a b:514",
		"tcp://x:514/path", "tcp://user@x:514",
	};
	struct logremote_target t;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse(bad[i], &t) != PARSE_INVALID)
			fail_msg("accepted '%s'", bad[i]);
	}
	/* A NUL inside the span. */
	assert_int_equal(logremote_fmt_parse_target(
	    (struct span){ "udp://a\0b:514", 13 }, &t), PARSE_INVALID);
}

/* "udp://" + a name of n bytes (labels of 63) + ":514". */
static enum parse_rc
parse_name_sized(size_t n, size_t *total_out)
{
	char s[LOGREMOTE_TARGET_MAX + 64];
	struct logremote_target t;
	size_t len = 0;

	memcpy(s, "udp://", 6);
	len = 6;
	for (size_t i = 0; i < n; i++)
		s[len++] = (i % 64 == 63) ? '.' : 'a';
	memcpy(s + len, ":514", 4);
	len += 4;
	*total_out = len;
	return logremote_fmt_parse_target((struct span){ s, len }, &t);
}

static void
test_target_limits(void **state)
{
	char s[LOGREMOTE_TARGET_MAX + 2];
	struct logremote_target t;
	size_t total;

	(void)state;
	/* A 255-byte name (RFC 1035) is accepted; 256 is not. */
	assert_int_equal(parse_name_sized(LOGREMOTE_HOST_MAX, &total), PARSE_OK);
	assert_int_equal(parse_name_sized(LOGREMOTE_HOST_MAX + 1, &total),
	    PARSE_INVALID);
	/* The whole string: max is malformed here, max + 1 too long. */
	memset(s, 'a', sizeof(s));
	assert_int_equal(logremote_fmt_parse_target(
	    (struct span){ s, LOGREMOTE_TARGET_MAX }, &t), PARSE_INVALID);
	assert_int_equal(logremote_fmt_parse_target(
	    (struct span){ s, LOGREMOTE_TARGET_MAX + 1 }, &t), PARSE_TOO_LONG);
	/* A 64-byte label is not a DNS label. */
	memset(s, 'a', 64);
	memcpy(s + 64, ":514", 5);
	{
		char full[80] = "udp://";

		memcpy(full + 6, s, 69);
		assert_int_equal(parse(full, &t), PARSE_INVALID);
		full[6 + 63] = ':';
		memcpy(full + 6 + 63, ":514", 5);
		assert_int_equal(parse(full, &t), PARSE_OK);
	}
}

static char *
format(enum log_level lvl, pid_t pid, const char *host, const char *line)
{
	struct logremote_fmt_id id = { .pid = pid };
	struct buf b;
	char *out;

	logremote_fmt_set_hostname(&id, host);
	buf_init(&b, LOGREMOTE_MSG_MAX);
	assert_int_equal(logremote_fmt_message(&b, &id, lvl, span_from_cstr(line),
	    FALLBACK), 0);
	out = strdup(buf_cstr(&b));
	buf_free(&b);
	return out;
}

static void
expect_format(enum log_level lvl, pid_t pid, const char *host,
    const char *line, const char *want)
{
	char *got = format(lvl, pid, host, line);

	assert_string_equal(got, want);
	free(got);
}

static void
test_message_exact(void **state)
{
	(void)state;
	expect_format(LOGL_INFO, 1234, "mx.example.org",
	    TS " level=info service=smtp session=9f2c4e01a7b3 event=connect ip=192.0.2.7",
	    "<22>1 " TS " mx.example.org postern 1234 connect - "
	    "level=info service=smtp session=9f2c4e01a7b3 event=connect ip=192.0.2.7");
	/* No timestamp of ours: the fallback, and the whole line is MSG. */
	expect_format(LOGL_ERROR, 0, "mx.example.org", "no time here",
	    "<19>1 " FALLBACK " mx.example.org postern - - - no time here");
	/* No hostname: the NILVALUE. */
	expect_format(LOGL_WARN, 7, "", TS " level=warn event=x",
	    "<20>1 " TS " - postern 7 x - level=warn event=x");
}

static void
test_pri(void **state)
{
	(void)state;
	/* RFC 5424 6.2.1: mail (2) * 8 + severity. */
	assert_int_equal(logremote_fmt_pri(LOGL_DEBUG), 23);
	assert_int_equal(logremote_fmt_pri(LOGL_INFO), 22);
	assert_int_equal(logremote_fmt_pri(LOGL_WARN), 20);
	assert_int_equal(logremote_fmt_pri(LOGL_ERROR), 19);
	expect_format(LOGL_DEBUG, 1, "h", TS " event=e",
	    "<23>1 " TS " h postern 1 e - event=e");
}

static void
test_timestamp_checked(void **state)
{
	static const char *const bad[] = {
		"2026-13-02T09:14:07.221Z x", "2026-03-00T09:14:07.221Z x",
		"2026-03-02T24:14:07.221Z x", "2026-03-02T09:60:07.221Z x",
		"2026-03-02 09:14:07.221Z x", "2026-03-02T09:14:07,221Z x",
		"2026-03-02T09:14:07.221+ x", "2026-03-02T09:14:07.221Z",
		"2026-03-02T09:14:07.22xZ x", "2026-03-02T09:14:07.221Zx",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *got = format(LOGL_INFO, 1, "h", bad[i]);
		char want[128];

		snprintf(want, sizeof(want), "<22>1 " FALLBACK " h postern 1 - - %s",
		    bad[i]);
		assert_string_equal(got, want);
		free(got);
	}
	/* A leap second is a valid TIME-SECOND (RFC 5424 6.2.3). */
	expect_format(LOGL_INFO, 1, "h", "2026-12-31T23:59:60.000Z event=leap",
	    "<22>1 2026-12-31T23:59:60.000Z h postern 1 leap - event=leap");
}

static void
test_msgid(void **state)
{
	char line[128], want[256];

	(void)state;
	/* 32 bytes is the most (RFC 5424 6.2.7); 33 is no MSGID. */
	snprintf(line, sizeof(line), TS " event=%s x=1",
	    "abcdefghijklmnopqrstuvwxyz012345");
	snprintf(want, sizeof(want), "<22>1 " TS " h postern 1 %s - %s",
	    "abcdefghijklmnopqrstuvwxyz012345", line + 25);
	expect_format(LOGL_INFO, 1, "h", line, want);
	snprintf(line, sizeof(line), TS " event=%s x=1",
	    "abcdefghijklmnopqrstuvwxyz0123456");
	snprintf(want, sizeof(want), "<22>1 " TS " h postern 1 - - %s", line + 25);
	expect_format(LOGL_INFO, 1, "h", line, want);
	/* The first " event=" only; an empty one, or one with a control
	 * byte or non-ASCII, is none. */
	expect_format(LOGL_INFO, 1, "h", TS " event=a x=\"event=b\"",
	    "<22>1 " TS " h postern 1 a - event=a x=\"event=b\"");
	expect_format(LOGL_INFO, 1, "h", TS " event= x",
	    "<22>1 " TS " h postern 1 - - event= x");
	expect_format(LOGL_INFO, 1, "h", TS " event=a\tb",
	    "<22>1 " TS " h postern 1 - - event=a?b");
	expect_format(LOGL_INFO, 1, "h", TS " event=caf\xc3\xa9",
	    "<22>1 " TS " h postern 1 - - event=caf\xc3\xa9");
	expect_format(LOGL_INFO, 1, "h", "event=x",
	    "<22>1 " FALLBACK " h postern 1 x - event=x");
	expect_format(LOGL_INFO, 1, "h", "xevent=x",
	    "<22>1 " FALLBACK " h postern 1 - - xevent=x");
	expect_format(LOGL_INFO, 1, "h", "event",
	    "<22>1 " FALLBACK " h postern 1 - - event");
}

static void
test_controls_replaced(void **state)
{
	(void)state;
	expect_format(LOGL_INFO, 1, "h", TS " event=x a\r\n<13>1 forged\x7f\x01",
	    "<22>1 " TS " h postern 1 x - event=x a?" "?<13>1 forged?" "?");
	/* The hostname: PRINTUSASCII only, at most 255 bytes. */
	expect_format(LOGL_INFO, 1, "m x\n\xc3", TS " event=x",
	    "<22>1 " TS " m?x?? postern 1 x - event=x");
	{
		struct logremote_fmt_id id;
		char big[400];

		memset(big, 'h', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		logremote_fmt_set_hostname(&id, big);
		assert_int_equal(strlen(id.hostname), LOGREMOTE_HOST_MAX);
	}
}

static void
test_line_ceiling(void **state)
{
	struct logremote_fmt_id id = { .pid = 99999 };
	char *line = malloc(LOG_LINE_MAX + 100);
	struct buf b;

	(void)state;
	logremote_fmt_set_hostname(&id, NULL);
	memset(line, 'x', LOG_LINE_MAX + 100);
	buf_init(&b, LOGREMOTE_MSG_MAX);
	/* At most LOG_LINE_MAX bytes of a line are used. */
	assert_int_equal(logremote_fmt_message(&b, &id, LOGL_INFO,
	    (struct span){ line, LOG_LINE_MAX + 100 }, FALLBACK), 0);
	assert_int_equal(b.len, strlen("<22>1 " FALLBACK " - postern 99999 - - ") +
	    LOG_LINE_MAX);
	/* A buffer too small for the message: -1, never past its max. */
	buf_free(&b);
	buf_init(&b, 64);
	assert_int_equal(logremote_fmt_message(&b, &id, LOGL_INFO,
	    (struct span){ line, 100 }, FALLBACK), -1);
	assert_true(b.len <= 64);
	buf_free(&b);
	free(line);
}

static int
datagram(const void *d, size_t n, struct buf *b)
{
	struct logremote_fmt_id id = { .pid = 42 };

	logremote_fmt_set_hostname(&id, "h");
	buf_reset(b);
	return logremote_fmt_datagram(b, &id, (struct span){ d, n }, FALLBACK);
}

static void
test_datagram(void **state)
{
	char *big = malloc(LOG_LINE_MAX + 1);
	struct buf b;

	(void)state;
	buf_init(&b, LOGREMOTE_MSG_MAX);
	assert_int_equal(datagram("\x01" TS " event=e", 1 + 24 + 8, &b), 0);
	assert_string_equal(buf_cstr(&b), "<22>1 " TS " h postern 42 e - event=e");
	assert_int_equal(datagram("\x03x", 2, &b), 0);
	assert_string_equal(buf_cstr(&b), "<19>1 " FALLBACK " h postern 42 - - x");
	/* Unknown level, no line, nothing at all. */
	assert_int_equal(datagram("\x04x", 2, &b), -1);
	assert_int_equal(datagram("\xffx", 2, &b), -1);
	assert_int_equal(datagram("\x01", 1, &b), -1);
	assert_int_equal(datagram("", 0, &b), -1);
	assert_int_equal(b.len, 0);
	/* LOG_LINE_MAX bytes in all is the most. */
	memset(big, 'y', LOG_LINE_MAX + 1);
	big[0] = LOGL_WARN;
	assert_int_equal(datagram(big, LOG_LINE_MAX, &b), 0);
	assert_int_equal(datagram(big, LOG_LINE_MAX + 1, &b), -1);
	buf_free(&b);
	free(big);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_target_ok),
		cmocka_unit_test(test_target_bad),
		cmocka_unit_test(test_target_limits),
		cmocka_unit_test(test_message_exact),
		cmocka_unit_test(test_pri),
		cmocka_unit_test(test_timestamp_checked),
		cmocka_unit_test(test_msgid),
		cmocka_unit_test(test_controls_replaced),
		cmocka_unit_test(test_line_ceiling),
		cmocka_unit_test(test_datagram),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
