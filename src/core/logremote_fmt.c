/*
 * logremote_fmt: the log.remote target string, and log lines as RFC 5424
 * messages (6: header, PRI 6.2.1, TIMESTAMP 6.2.3, HOSTNAME 6.2.4, MSGID
 * 6.2.7). Pure: parses and formats, sends nothing (core/logremote.c does).
 * Lines from children arrive as datagrams and are checked here.
 */
#include <arpa/inet.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/logremote_fmt.h"

#define LOGREMOTE_FMT_APP	"postern"

static bool
logremote_fmt_is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* A DNS name as config.c accepts one (RFC 1035 2.3.4 lengths). */
static bool
logremote_fmt_name_valid(struct span s)
{
	size_t label = 0;

	if (s.len == 0 || s.len > LOGREMOTE_HOST_MAX)
		return false;
	for (size_t i = 0; i <= s.len; i++) {
		char c = '.';	/* the end closes the last label */

		if (i < s.len)
			c = s.ptr[i];

		if (c == '.') {
			if (label == 0 || s.ptr[i - 1] == '-' || s.ptr[i - label] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    logremote_fmt_is_digit(c) || c == '-' || c == '_'))
			return false;
		if (++label > SMTP_LABEL_MAX)
			return false;
	}
	return true;
}

/* 1..65535, decimal digits only (no sign, no blank), at most 5 of them. */
static bool
logremote_fmt_port_valid(struct span s)
{
	unsigned long v = 0;

	if (s.len == 0 || s.len > 5)
		return false;
	for (size_t i = 0; i < s.len; i++) {
		if (!logremote_fmt_is_digit(s.ptr[i]))
			return false;
		v = v * 10 + (unsigned long)(s.ptr[i] - '0');
	}
	return v >= 1 && v <= 65535;
}

enum parse_rc
logremote_fmt_parse_target(struct span in, struct logremote_target *out)
{
	enum logremote_proto proto;
	struct span host, port;
	const char *colon;
	bool bracket;
	char tmp[LOGREMOTE_HOST_MAX + 1];
	unsigned char addr[16];

	if (in.len > LOGREMOTE_TARGET_MAX)
		return PARSE_TOO_LONG;
	if (in.len >= 6 && memcmp(in.ptr, "udp://", 6) == 0)
		proto = LOGREMOTE_UDP;
	else if (in.len >= 6 && memcmp(in.ptr, "tcp://", 6) == 0)
		proto = LOGREMOTE_TCP;
	else
		return PARSE_INVALID;
	in.ptr += 6;
	in.len -= 6;
	bracket = in.len > 0 && in.ptr[0] == '[';
	if (bracket) {
		const char *rb = memchr(in.ptr, ']', in.len);

		if (rb == NULL || rb + 1 == in.ptr + in.len || rb[1] != ':')
			return PARSE_INVALID;
		host = (struct span){ in.ptr + 1, (size_t)(rb - in.ptr) - 1 };
		colon = rb + 1;
	} else {
		colon = memchr(in.ptr, ':', in.len);
		if (colon == NULL)
			return PARSE_INVALID;
		host = (struct span){ in.ptr, (size_t)(colon - in.ptr) };
	}
	port = (struct span){ colon + 1, (size_t)(in.ptr + in.len - colon - 1) };
	if (host.len == 0 || host.len > LOGREMOTE_HOST_MAX ||
	    !logremote_fmt_port_valid(port))
		return PARSE_INVALID;
	memcpy(tmp, host.ptr, host.len);
	tmp[host.len] = '\0';
	if (strlen(tmp) != host.len)
		return PARSE_INVALID;		/* a NUL inside */
	if (bracket) {
		/* Brackets are for IPv6 only (RFC 3986 3.2.2). */
		if (inet_pton(AF_INET6, tmp, addr) != 1)
			return PARSE_INVALID;
	} else if (inet_pton(AF_INET, tmp, addr) != 1 &&
	    !logremote_fmt_name_valid(host)) {
		return PARSE_INVALID;
	}
	out->proto = proto;
	memcpy(out->host, tmp, host.len + 1);
	memcpy(out->port, port.ptr, port.len);
	out->port[port.len] = '\0';
	return PARSE_OK;
}

static bool
logremote_fmt_printusascii(unsigned char c)
{
	return c >= 33 && c <= 126;
}

void
logremote_fmt_set_hostname(struct logremote_fmt_id *id, const char *s)
{
	size_t n = s != NULL ? strnlen(s, LOGREMOTE_HOST_MAX) : 0;

	if (n == 0) {
		memcpy(id->hostname, "-", 2);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		id->hostname[i] = s[i];
		if (!logremote_fmt_printusascii((unsigned char)s[i]))
			id->hostname[i] = '?';
	}
	id->hostname[n] = '\0';
}

unsigned
logremote_fmt_pri(enum log_level lvl)
{
	/* RFC 5424 6.2.1 table 2: debug 7, informational 6, warning 4,
	 * error 3; PRI = facility * 8 + severity, mail = 2. */
	static const unsigned sev[] = { 7, 6, 4, 3 };

	return 2 * 8 + ((unsigned)lvl < 4 ? sev[lvl] : 6);
}

/* Two digits at p, within lo..hi. */
static bool
logremote_fmt_2digits(const char *p, int lo, int hi)
{
	int v;

	if (!logremote_fmt_is_digit(p[0]) || !logremote_fmt_is_digit(p[1]))
		return false;
	v = (p[0] - '0') * 10 + (p[1] - '0');
	return v >= lo && v <= hi;
}

/* log.c's "YYYY-MM-DDTHH:MM:SS.mmmZ ": an RFC 5424 6.2.3 TIMESTAMP
 * (FULL-DATE "T" FULL-TIME, three digits of TIME-SECFRAC, "Z"). */
static bool
logremote_fmt_has_ts(struct span line)
{
	const char *p = line.ptr;

	if (line.len < LOGREMOTE_TS_LEN + 1 || p[LOGREMOTE_TS_LEN] != ' ')
		return false;
	return logremote_fmt_2digits(p, 0, 99) && logremote_fmt_2digits(p + 2, 0, 99) &&
	    p[4] == '-' && logremote_fmt_2digits(p + 5, 1, 12) && p[7] == '-' &&
	    logremote_fmt_2digits(p + 8, 1, 31) && p[10] == 'T' &&
	    logremote_fmt_2digits(p + 11, 0, 23) && p[13] == ':' &&
	    logremote_fmt_2digits(p + 14, 0, 59) && p[16] == ':' &&
	    logremote_fmt_2digits(p + 17, 0, 60) && p[19] == '.' &&
	    logremote_fmt_is_digit(p[20]) && logremote_fmt_is_digit(p[21]) &&
	    logremote_fmt_is_digit(p[22]) && p[23] == 'Z';
}

/* The value of the first "event=" that starts MSG or follows a space
 * (log.c puts it before any peer text). */
static struct span
logremote_fmt_msgid(struct span msg)
{
	static const char key[] = " event=";
	const size_t klen = sizeof(key) - 1;
	const char *end = msg.ptr + msg.len, *p;
	size_t n = 0;

	if (msg.len >= klen - 1 && memcmp(msg.ptr, key + 1, klen - 1) == 0)
		p = msg.ptr + klen - 1;
	else if ((p = memmem(msg.ptr, msg.len, key, klen)) != NULL)
		p += klen;
	else
		return SPAN_LIT("-");
	while (p + n < end && p[n] != ' ') {
		if (!logremote_fmt_printusascii((unsigned char)p[n]) ||
		    ++n > LOGREMOTE_MSGID_MAX)
			return SPAN_LIT("-");
	}
	return n == 0 ? SPAN_LIT("-") : (struct span){ p, n };
}

int
logremote_fmt_message(struct buf *out, const struct logremote_fmt_id *id,
    enum log_level lvl, struct span line, const char *fallback_ts)
{
	struct span ts = { fallback_ts, LOGREMOTE_TS_LEN }, msgid;
	char pid[16] = "-";
	size_t start;

	if (line.len > LOG_LINE_MAX)
		line.len = LOG_LINE_MAX;
	if (logremote_fmt_has_ts(line)) {
		ts = (struct span){ line.ptr, LOGREMOTE_TS_LEN };
		line.ptr += LOGREMOTE_TS_LEN + 1;
		line.len -= LOGREMOTE_TS_LEN + 1;
	}
	msgid = logremote_fmt_msgid(line);
	if (id->pid > 0)
		snprintf(pid, sizeof(pid), "%ld", (long)id->pid);
	if (buf_printf(out, "<%u>1 %.*s %s " LOGREMOTE_FMT_APP " %s %.*s - ",
	    logremote_fmt_pri(lvl), (int)ts.len, ts.ptr, id->hostname, pid,
	    (int)msgid.len, msgid.ptr) == -1)
		return -1;
	start = out->len;
	if (buf_append(out, line.ptr, line.len) == -1)
		return -1;
	/* A log server writes lines: no CR, LF or other control byte from a
	 * child may start a forged one there. */
	for (size_t i = start; i < out->len; i++) {
		unsigned char c = (unsigned char)out->data[i];

		if (c < 0x20 || c == 0x7f)
			out->data[i] = '?';
	}
	return 0;
}

int
logremote_fmt_datagram(struct buf *out, const struct logremote_fmt_id *id,
    struct span dgram, const char *fallback_ts)
{
	unsigned char lvl;

	if (dgram.len < 2 || dgram.len > LOG_LINE_MAX)
		return -1;
	lvl = (unsigned char)dgram.ptr[0];
	if (lvl > LOGL_ERROR)
		return -1;
	return logremote_fmt_message(out, id, (enum log_level)lvl,
	    (struct span){ dgram.ptr + 1, dgram.len - 1 }, fallback_ts);
}
