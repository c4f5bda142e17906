/*
 * log: key=value event lines (SPEC section 6, STYLE section 7). Owns the
 * quoting of values and the single write(2) per line, and hands each line
 * on for the remote log (a datagram to the master, or the master's relay,
 * core/logremote.h); callers own what they log (never passwords, AUTH data
 * or message bodies).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "core/limits.h"
#include "core/log.h"

static int log_fd = 2;
static enum log_level log_min = LOGL_INFO;

static const char *const log_names[] = { "debug", "info", "warn", "error" };

/* Remote copies: a child's datagram socket, or the master's relay. */
#define LOG_REMOTE_NEVER	LLONG_MIN
static int log_remote_fd = -1;
static struct log_ctx log_remote_ctx;
static log_remote_fn log_remote_hook_fn;
static void *log_remote_hook_arg;
static atomic_ulong log_remote_drops;
static atomic_llong log_remote_reported = LOG_REMOTE_NEVER;	/* CLOCK_MONOTONIC s */

static void log_line_emit(struct log_line *l);

int
log_open(const char *path, const char **err_out)
{
	int fd;

	if (path == NULL || *path == '\0') {
		if (log_fd > 2)
			close(log_fd);
		log_fd = 2;
		return 0;
	}
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd == -1) {
		*err_out = strerror(errno);
		return -1;
	}
	if (log_fd > 2)
		close(log_fd);
	log_fd = fd;
	return 0;
}

void
log_set_level(enum log_level min)
{
	log_min = min;
}

bool
log_enabled(enum log_level l)
{
	return l >= log_min;
}

int
log_level_parse(const char *s, enum log_level *out)
{
	for (size_t i = 0; i < sizeof(log_names) / sizeof(log_names[0]); i++) {
		if (strcasecmp(s, log_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	if (strcasecmp(s, "warning") == 0) {
		*out = LOGL_WARN;
		return 0;
	}
	return -1;
}

const char *
log_level_name(enum log_level l)
{
	return (unsigned)l < 4 ? log_names[l] : "info";
}

void
log_timestamp(char *out, size_t outlen)
{
	struct timespec ts;
	struct tm tm;
	char base[24];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, outlen, "%s.%03ldZ", base, ts.tv_nsec / 1000000);
}

static bool
log_is_bare(struct span v)
{
	if (v.len == 0 || v.len > LOG_VALUE_MAX)
		return false;
	for (size_t i = 0; i < v.len; i++) {
		unsigned char c = (unsigned char)v.ptr[i];

		if (c <= 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '=')
			return false;
	}
	return true;
}

void
log_quote(struct buf *out, struct span v)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = v.len > LOG_VALUE_MAX ? LOG_VALUE_MAX : v.len;

	if (log_is_bare(v)) {
		buf_append(out, v.ptr, v.len);
		return;
	}
	buf_append(out, "\"", 1);
	/* cppcheck-suppress knownConditionTrueFalse ; FP: n is v.len capped */
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v.ptr[i];
		char esc[4] = { '\\', 'x', hex[c >> 4], hex[c & 15] };

		if (c == '"' || c == '\\') {
			esc[1] = (char)c;
			buf_append(out, esc, 2);
		} else if (c < 0x20 || c == 0x7f) {
			buf_append(out, esc, 4);
		} else {
			/* UTF-8 passes through: only C0 controls and DEL are escaped. */
			buf_append(out, &v.ptr[i], 1);
		}
	}
	if (n < v.len)
		buf_append(out, "...", 3);
	buf_append(out, "\"", 1);
}

/*
 * Reports the drops counted since the last report when that is
 * LOG_REMOTE_REPORT_SEC old (or force). The exchange on the time lets one
 * thread report.
 */
static void
log_remote_report(bool force)
{
	struct timespec ts;
	long long last;
	unsigned long n;
	struct log_line l;

	if (log_remote_fd == -1 || atomic_load(&log_remote_drops) == 0)
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	last = atomic_load(&log_remote_reported);
	if (!force && last != LOG_REMOTE_NEVER &&
	    (long long)ts.tv_sec - last < LOG_REMOTE_REPORT_SEC)
		return;
	if (!atomic_compare_exchange_strong(&log_remote_reported, &last,
	    (long long)ts.tv_sec))
		return;
	n = atomic_exchange(&log_remote_drops, 0);
	if (n == 0)
		return;
	/* Emitted without log_line_end(): no report of its own. */
	log_line_begin(&l, &log_remote_ctx, LOGL_WARN, "log_remote_dropped");
	log_line_addf(&l, "count", "%lu", n);
	log_line_emit(&l);
}

static void
log_remote_atexit(void)
{
	log_remote_report(true);
}

void
log_remote_attach(int fd, const char *service)
{
	static bool registered;

	log_remote_hook_fn = NULL;
	log_remote_hook_arg = NULL;
	log_remote_fd = fd;
	log_remote_ctx = (struct log_ctx){ .service = service };
	atomic_store(&log_remote_drops, 0);
	atomic_store(&log_remote_reported, LOG_REMOTE_NEVER);
	if (fd != -1 && !registered && atexit(log_remote_atexit) == 0)
		registered = true;
}

void
log_remote_hook(log_remote_fn fn, void *arg)
{
	log_remote_fd = -1;
	log_remote_hook_fn = fn;
	log_remote_hook_arg = arg;
}

/* One datagram per line, or nothing: the master is never waited for. */
static void
log_remote_copy(enum log_level lvl, struct span line)
{
	unsigned char lb = (unsigned char)lvl;
	struct iovec iov[2] = { { &lb, 1 }, { (void *)line.ptr, line.len } };
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };
	ssize_t n;

	if (log_remote_hook_fn != NULL) {
		log_remote_hook_fn(log_remote_hook_arg, lvl, line);
		return;
	}
	if (log_remote_fd == -1)
		return;
	while ((n = sendmsg(log_remote_fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL)) == -1 &&
	    errno == EINTR)
		;
	if (n == -1)
		atomic_fetch_add(&log_remote_drops, 1);
}

void
log_line_begin(struct log_line *l, const struct log_ctx *ctx,
    enum log_level lvl, const char *event)
{
	char ts[40];

	l->active = log_enabled(lvl);
	l->lvl = lvl;
	buf_init(&l->b, LOG_LINE_MAX);
	if (!l->active)
		return;
	log_timestamp(ts, sizeof(ts));
	buf_printf(&l->b, "%s level=%s", ts, log_level_name(lvl));
	if (ctx != NULL && ctx->service != NULL)
		buf_printf(&l->b, " service=%s", ctx->service);
	if (ctx != NULL && ctx->session[0] != '\0')
		buf_printf(&l->b, " session=%s", ctx->session);
	buf_printf(&l->b, " event=%s", event);
}

void
log_line_add_span(struct log_line *l, const char *key, struct span v)
{
	if (!l->active)
		return;
	buf_printf(&l->b, " %s=", key);
	log_quote(&l->b, v);
}

void
log_line_add(struct log_line *l, const char *key, const char *value)
{
	if (value != NULL)
		log_line_add_span(l, key, span_from_cstr(value));
}

void
log_line_addf(struct log_line *l, const char *key, const char *fmt, ...)
{
	char tmp[LOG_VALUE_MAX + 1];
	va_list ap;
	int n;

	if (!l->active)
		return;
	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	log_line_add_span(l, key, (struct span){ tmp, strlen(tmp) });
}

/* The local write, the remote copy, and the line freed. */
static void
log_line_emit(struct log_line *l)
{
	if (l->active) {
		if (l->b.overflowed || l->b.len == l->b.max) {
			/* Keep the line whole: cut at the ceiling and say so
			 * (a line of exactly max bytes has no room for its LF). */
			l->b.len = l->b.max > 16 ? l->b.max - 16 : 0;
			l->b.overflowed = false;
			buf_append(&l->b, " truncated=yes", 14);
		}
		buf_append(&l->b, "\n", 1);
		/* One write per line: O_APPEND keeps lines whole across processes. */
		while (write(log_fd, l->b.data, l->b.len) == -1 && errno == EINTR)
			;
		if (l->b.len > 0 && l->b.data[l->b.len - 1] == '\n')
			log_remote_copy(l->lvl,
			    (struct span){ l->b.data, l->b.len - 1 });
	}
	buf_free(&l->b);
}

void
log_line_end(struct log_line *l)
{
	int saved = errno;	/* callers log, then look at errno */

	log_line_emit(l);
	log_remote_report(false);
	errno = saved;
}

void
log_kv(const struct log_ctx *ctx, enum log_level lvl, const char *event, ...)
{
	struct log_line l;
	va_list ap;
	const char *k, *v;

	if (!log_enabled(lvl))
		return;
	log_line_begin(&l, ctx, lvl, event);
	va_start(ap, event);
	while ((k = va_arg(ap, const char *)) != NULL) {
		v = va_arg(ap, const char *);
		log_line_add(&l, k, v);
	}
	va_end(ap);
	log_line_end(&l);
}
