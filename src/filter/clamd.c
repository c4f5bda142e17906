/*
 * clamd: see clamd.h. The reply parser (pure), and one INSTREAM scan per
 * message on a bufferevent: the message is read with pread one chunk at a
 * time, only when the socket has taken the previous one, so what we hold
 * is at most CLAMD_LOWAT + one chunk whatever the message's size.
 * Connecting (directly or through the master) is filter_conn's.
 */
#include <errno.h>
#include <stdarg.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/xalloc.h"
#include "filter/clamd.h"

/* The next chunk is read when the output has drained to this: the socket
 * is never idle on a fast clamd, and memory stays bounded on a slow one. */
#define CLAMD_LOWAT		(CLAMD_CHUNK / 2)
#define CLAMD_DETAIL_MAX	256	/* detail handed to done: ours */

static const char clamd_cmd[] = "zINSTREAM";	/* sent with its NUL */

/* ---- the answer ---- */

/* Printable ASCII of [p, p + n) into out, '?' for anything else. */
static void
clamd_copy_printable(char *out, size_t outlen, const char *p, size_t n)
{
	if (out == NULL || outlen == 0)
		return;
	if (n > outlen - 1)
		n = outlen - 1;
	for (size_t i = 0; i < n; i++) {
		if (p[i] >= 0x20 && p[i] < 0x7f)
			out[i] = p[i];
		else
			out[i] = '?';
	}
	out[n] = '\0';
}

static bool
clamd_ends_with(const char *p, size_t n, const char *suffix)
{
	size_t sl = strlen(suffix);

	return n >= sl && memcmp(p + n - sl, suffix, sl) == 0;
}

/*
 * "stream: OK", "stream: <sig> FOUND", "<text> ERROR" (the size limit's
 * "INSTREAM size limit exceeded. ERROR" has no "stream: "). Anything else
 * is an error: a reply we do not understand must never pass as clean.
 */
enum clamd_result
clamd_parse_reply(const char *line, size_t len, char *detail, size_t detaillen)
{
	static const char prefix[] = "stream: ";
	const size_t pl = sizeof(prefix) - 1;
	const char *p = line;
	size_t n = len;
	bool stream;

	clamd_copy_printable(detail, detaillen, "", 0);
	/* Outside z mode clamd ends its line with LF; be lenient there. */
	while (n > 0 && (p[n - 1] == '\n' || p[n - 1] == '\r' || p[n - 1] == ' '))
		n--;
	stream = n >= pl && memcmp(p, prefix, pl) == 0;
	if (stream) {
		p += pl;
		n -= pl;
	}
	if (stream && n == 2 && memcmp(p, "OK", 2) == 0)
		return CLAMD_CLEAN;
	if (stream && clamd_ends_with(p, n, " FOUND") && n > 6 && p[0] != ' ') {
		clamd_copy_printable(detail, detaillen, p, n - 6);
		return CLAMD_FOUND;
	}
	if (clamd_ends_with(p, n, "ERROR")) {
		size_t el = n - 5;

		while (el > 0 && p[el - 1] == ' ')
			el--;
		if (el > 0) {
			clamd_copy_printable(detail, detaillen, p, el);
			return CLAMD_ERROR;
		}
	}
	if (detail != NULL && detaillen > 0) {
		char shown[CLAMD_DETAIL_MAX];

		clamd_copy_printable(shown, sizeof(shown), line, len);
		snprintf(detail, detaillen, "unexpected reply: %s", shown);
	}
	return CLAMD_ERROR;
}

/* ---- the scan ---- */

struct clamd_scan {
	struct event_base	*base;
	int			 fd;		/* the caller's */
	uint64_t		 off;		/* next byte of fd to send */
	uint64_t		 left;		/* bytes still to send */
	bool			 ended;		/* the zero-length chunk is queued */
	clamd_done_fn		 done;
	void			*arg;
	struct filter_conn	*conn;		/* while connecting */
	struct bufferevent	*bev;		/* once connected */
	struct event		*timer;		/* CLAMD_TIMEOUT_SEC, or an early error */
	const char		*early;		/* why, for the early error */
	struct buf		 reply;		/* up to the NUL */
};

static void
clamd_scan_free(struct clamd_scan *s)
{
	filter_connect_cancel(&s->conn);
	if (s->bev != NULL)
		bufferevent_free(s->bev);	/* closes the socket */
	if (s->timer != NULL)
		event_free(s->timer);
	buf_free(&s->reply);
	free(s);
}

/* The one way out: frees the scan, then tells the caller. */
static void
clamd_finish(struct clamd_scan *s, enum clamd_result r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
clamd_finish(struct clamd_scan *s, enum clamd_result r, const char *fmt, ...)
{
	char detail[CLAMD_DETAIL_MAX];
	clamd_done_fn done = s->done;
	void *arg = s->arg;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	clamd_scan_free(s);
	done(arg, r, detail);
}

/* Queues the next chunk, or the end. 0, or -1 once finished (freed). */
static int
clamd_queue_chunk(struct clamd_scan *s, struct evbuffer *out)
{
	static const unsigned char zero[4];
	size_t want = s->left < CLAMD_CHUNK ? (size_t)s->left : CLAMD_CHUNK;
	struct evbuffer_iovec v;
	unsigned char *p;
	ssize_t n;

	if (s->left == 0) {
		evbuffer_add(out, zero, sizeof(zero));
		s->ended = true;
		return 0;
	}
	/* Straight into the output buffer: no copy of our own. */
	if (evbuffer_reserve_space(out, (ev_ssize_t)want + 4, &v, 1) != 1)
		fatal("clamd: evbuffer_reserve_space failed");
	p = v.iov_base;
	do
		n = pread(s->fd, p + 4, want, (off_t)s->off);
	while (n == -1 && errno == EINTR);
	if (n <= 0) {
		evbuffer_commit_space(out, NULL, 0);	/* nothing */
		if (n == 0)
			clamd_finish(s, CLAMD_ERROR, "message file shorter than "
			    "expected");
		else
			clamd_finish(s, CLAMD_ERROR, "reading the message: %s",
			    strerror(errno));
		return -1;
	}
	/* RFC-less wire format of clamd(8): a 4-byte network-order length. */
	p[0] = (unsigned char)((size_t)n >> 24);
	p[1] = (unsigned char)((size_t)n >> 16);
	p[2] = (unsigned char)((size_t)n >> 8);
	p[3] = (unsigned char)n;
	v.iov_len = (size_t)n + 4;
	evbuffer_commit_space(out, &v, 1);
	s->off += (uint64_t)n;
	s->left -= (uint64_t)n;
	return 0;
}

static void
clamd_fill(struct clamd_scan *s)
{
	struct evbuffer *out = bufferevent_get_output(s->bev);

	while (!s->ended && evbuffer_get_length(out) <= CLAMD_LOWAT)
		if (clamd_queue_chunk(s, out) == -1)
			return;
}

static void
clamd_on_write(struct bufferevent *bev, void *arg)
{
	(void)bev;
	clamd_fill(arg);
}

/* A whole answer (the NUL seen): the verdict. */
static void
clamd_answer(struct clamd_scan *s)
{
	char detail[CLAMD_DETAIL_MAX];
	enum clamd_result r;

	r = clamd_parse_reply(s->reply.data, s->reply.len, detail, sizeof(detail));
	/* clamd answers a stream only after its end (or to refuse it): a
	 * "clean" for bytes it has not all received is no verdict. */
	if (r == CLAMD_CLEAN && (!s->ended ||
	    evbuffer_get_length(bufferevent_get_output(s->bev)) > 0)) {
		clamd_finish(s, CLAMD_ERROR, "answer before the end of the "
		    "message: %s", detail);
		return;
	}
	clamd_finish(s, r, "%s", detail);
}

/*
 * Takes bytes of the answer; true when it finished the scan (whole answer,
 * or one too long). Bounded by CLAMD_REPLY_MAX: clamd is not trusted.
 */
static bool
clamd_take(struct clamd_scan *s, const char *p, size_t n)
{
	const char *nul = memchr(p, '\0', n);
	size_t use = nul != NULL ? (size_t)(nul - p) : n;

	if (buf_append(&s->reply, p, use) == -1) {
		clamd_finish(s, CLAMD_ERROR, "answer longer than %d bytes",
		    CLAMD_REPLY_MAX);
		return true;
	}
	if (nul == NULL)
		return false;
	clamd_answer(s);
	return true;
}

/* What the bufferevent has read; true when that finished the scan. */
static bool
clamd_drain(struct clamd_scan *s)
{
	struct evbuffer *in = bufferevent_get_input(s->bev);
	char tmp[512];
	int n;

	while ((n = evbuffer_remove(in, tmp, sizeof(tmp))) > 0)
		if (clamd_take(s, tmp, (size_t)n))
			return true;
	return false;
}

static void
clamd_on_read(struct bufferevent *bev, void *arg)
{
	(void)bev;
	clamd_drain(arg);
}

/*
 * clamd may answer and close while we still send (a stream over its
 * StreamMaxLength): our write then fails, but its answer may be waiting
 * in the socket. Read what is there before calling it a failure.
 */
static bool
clamd_salvage(struct clamd_scan *s)
{
	evutil_socket_t fd = bufferevent_getfd(s->bev);
	char tmp[512];
	ssize_t n;

	if (clamd_drain(s))	/* anything already buffered */
		return true;
	for (int i = 0; i <= CLAMD_REPLY_MAX / (int)sizeof(tmp) + 1; i++) {
		n = recv(fd, tmp, sizeof(tmp), MSG_DONTWAIT);
		if (n <= 0)
			return false;
		if (clamd_take(s, tmp, (size_t)n))
			return true;
	}
	return false;
}

static void
clamd_on_event(struct bufferevent *bev, short what, void *arg)
{
	struct clamd_scan *s = arg;
	int err = EVUTIL_SOCKET_ERROR();

	(void)bev;
	if ((what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) == 0)
		return;
	if (clamd_salvage(s))
		return;
	if ((what & BEV_EVENT_ERROR) != 0 && err != 0)
		clamd_finish(s, CLAMD_ERROR, "connection to clamd: %s",
		    strerror(err));
	else
		clamd_finish(s, CLAMD_ERROR, "clamd closed the connection "
		    "without an answer");
}

static void
clamd_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct clamd_scan *s = arg;

	(void)fd;
	(void)what;
	if (s->early != NULL)
		clamd_finish(s, CLAMD_ERROR, "%s", s->early);
	else
		clamd_finish(s, CLAMD_ERROR, "clamd timed out after %d s",
		    CLAMD_TIMEOUT_SEC);
}

static void
clamd_connected(void *arg, int fd, const char *err)
{
	struct clamd_scan *s = arg;
	struct timeval tv = { .tv_sec = CLAMD_TIMEOUT_SEC };

	s->conn = NULL;
	if (fd == -1) {
		clamd_finish(s, CLAMD_ERROR, "connecting to clamd: %s", err);
		return;
	}
	s->bev = bufferevent_socket_new(s->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (s->bev == NULL) {
		close(fd);
		clamd_finish(s, CLAMD_ERROR, "bufferevent_socket_new failed");
		return;
	}
	bufferevent_setcb(s->bev, clamd_on_read, clamd_on_write, clamd_on_event, s);
	bufferevent_setwatermark(s->bev, EV_WRITE, CLAMD_LOWAT, 0);
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
	event_add(s->timer, &tv);
	bufferevent_write(s->bev, clamd_cmd, sizeof(clamd_cmd));
	clamd_fill(s);
}

struct clamd_scan *
clamd_scan_start(struct event_base *base, const struct filter_endpoint *ep,
    int fd, uint64_t off, uint64_t len, clamd_done_fn done, void *arg)
{
	struct clamd_scan *s = xcalloc(1, sizeof(*s));

	s->base = base;
	s->fd = fd;
	s->off = off;
	s->left = len;
	s->done = done;
	s->arg = arg;
	buf_init(&s->reply, CLAMD_REPLY_MAX);
	s->timer = event_new(base, -1, 0, clamd_on_timer, s);
	if (s->timer == NULL)
		fatal("clamd_scan_start: event_new failed");
	/* pread takes an off_t: a range past it is our caller's mistake,
	 * reported like any failure, later, never inside this call. */
	if (fd < 0 || off > (uint64_t)INT64_MAX || len > (uint64_t)INT64_MAX - off) {
		s->early = "bad message range";
		event_active(s->timer, EV_TIMEOUT, 0);
		return s;
	}
	s->conn = filter_connect(base, ep, clamd_connected, s);
	return s;
}

void
clamd_scan_cancel(struct clamd_scan **sp)
{
	if (*sp == NULL)
		return;
	clamd_scan_free(*sp);
	*sp = NULL;
}
