/*
 * Unit tests for core/logremote, the relay, against real sockets on
 * loopback: UDP datagrams and TCP octet-counted frames byte for byte, the
 * bounds of the buffer and the drop reports, reconnection to a listener
 * that comes back (whole messages only), a peer that stops reading (no
 * blocking, drops counted), reload semantics, children's datagrams (the
 * relay's sources and log.c's sending half), and the flush at stop.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/logremote.h"
#include "core/logremote_fmt.h"
#include "core/testdir.h"

#define TS	"2026-03-02T09:14:07.221Z"

struct fixture {
	struct testdir		 dir;
	struct event_base	*base;
	struct logremote	*r;
	struct log_ctx		 log;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const char *err;

	testdir_enter(&f->dir, "logremote");
	assert_int_equal(log_open("test.log", &err), 0);
	f->base = event_base_new();
	f->log.service = "test";
	f->r = logremote_new(f->base, &f->log);
	logremote_set_timing(f->r, 20, 160, 200);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	const char *err;

	log_remote_hook(NULL, NULL);
	log_remote_attach(-1, NULL);
	logremote_free(&f->r);
	event_base_free(f->base);
	log_open("", &err);
	testdir_leave(&f->dir);
	free(f);
	return 0;
}

static long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void
nap(void)
{
	nanosleep(&(struct timespec){ .tv_nsec = 1000 * 1000 }, NULL);
}

static void
spin(struct fixture *f, long ms)
{
	long end = now_ms() + ms;

	while (now_ms() < end) {
		event_base_loop(f->base, EVLOOP_NONBLOCK);
		nap();
	}
}

static struct logremote_stats
stats(const struct fixture *f)
{
	struct logremote_stats st;

	logremote_get_stats(f->r, &st);
	return st;
}

/* A socket bound on 127.0.0.1 (port 0: any), non-blocking. */
static int
bound(int type, unsigned short port, int rcvbuf, unsigned short *port_out)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
	    .sin_addr.s_addr = htonl(INADDR_LOOPBACK), .sin_port = htons(port) };
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, type | SOCK_NONBLOCK, 0), one = 1;

	assert_true(fd >= 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (rcvbuf > 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	if (type == SOCK_STREAM)
		assert_int_equal(listen(fd, 8), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	if (port_out != NULL)
		*port_out = ntohs(sin.sin_port);
	return fd;
}

static void
configure(struct fixture *f, const char *proto, unsigned short port)
{
	char target[64], err[128];

	snprintf(target, sizeof(target), "%s://127.0.0.1:%u", proto, port);
	assert_int_equal(logremote_configure(f->r, target, "mx.test", err,
	    sizeof(err)), 0);
}

/* Accepts on l, running the loop meanwhile (the relay connects on it). */
static int
accept_spin(struct fixture *f, int l)
{
	long end = now_ms() + 3000;
	int fd;

	while ((fd = accept(l, NULL, NULL)) == -1 && now_ms() < end) {
		event_base_loop(f->base, EVLOOP_NONBLOCK);
		nap();
	}
	assert_true(fd >= 0);
	return fd;
}

static void
enqueue(struct fixture *f, enum log_level lvl, const char *line)
{
	logremote_enqueue(f->r, lvl, 77, span_from_cstr(line));
}

/* Receives one datagram on u into out (NUL-terminated), spinning. */
static void
recv_dgram(struct fixture *f, int u, char *out, size_t outlen)
{
	long end = now_ms() + 3000;
	ssize_t n;

	while ((n = recv(u, out, outlen - 1, 0)) == -1 && now_ms() < end) {
		event_base_loop(f->base, EVLOOP_NONBLOCK);
		nap();
	}
	assert_true(n >= 0);
	out[n] = '\0';
}

/*
 * Reads octet-counted frames (RFC 6587 3.4.1) from fd into msgs until n
 * are whole: each "LEN SP MSG", LEN without leading zeros. Fails on any
 * byte that breaks the framing.
 */
static void
read_frames(struct fixture *f, int fd, char **msgs, size_t n)
{
	struct buf in;
	long end = now_ms() + 5000;
	size_t got = 0;

	buf_init(&in, 8 << 20);
	while (got < n) {
		char tmp[65536];
		ssize_t k = recv(fd, tmp, sizeof(tmp), MSG_DONTWAIT);
		size_t len, i;

		if (k > 0)
			assert_int_equal(buf_append(&in, tmp, (size_t)k), 0);
		while (got < n && in.len > 0) {
			len = 0;
			for (i = 0; i < in.len && in.data[i] >= '0' &&
			    in.data[i] <= '9'; i++)
				len = len * 10 + (size_t)(in.data[i] - '0');
			if (i == in.len)
				break;		/* the length is incomplete */
			assert_true(i > 0 && in.data[0] != '0');
			assert_int_equal(in.data[i], ' ');
			if (in.len < i + 1 + len)
				break;
			msgs[got++] = strndup(in.data + i + 1, len);
			buf_consume(&in, i + 1 + len);
		}
		if (got == n)
			break;
		assert_true(now_ms() < end);
		if (k <= 0) {
			event_base_loop(f->base, EVLOOP_NONBLOCK);
			nap();
		}
	}
	buf_free(&in);
}

static void
free_msgs(char **msgs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(msgs[i]);
}

/* Whether the local log (test.log) has a line with needle, and how many. */
static int
local_log_count(const char *needle)
{
	FILE *fp = fopen("test.log", "r");
	char line[LOG_LINE_MAX + 2];
	int n = 0;

	if (fp == NULL)
		return 0;
	while (fgets(line, sizeof(line), fp) != NULL)
		n += strstr(line, needle) != NULL;
	fclose(fp);
	return n;
}

static void
test_udp_datagrams(void **state)
{
	struct fixture *f = *state;
	unsigned short port;
	int u = bound(SOCK_DGRAM, 0, 0, &port);
	char got[LOGREMOTE_MSG_MAX + 1];

	configure(f, "udp", port);
	enqueue(f, LOGL_INFO, TS " level=info service=smtp event=connect ip=192.0.2.7");
	enqueue(f, LOGL_WARN, TS " level=warn service=smtp event=pregreet");
	enqueue(f, LOGL_ERROR, TS " level=error service=qmgr event=queue_error");
	recv_dgram(f, u, got, sizeof(got));
	assert_string_equal(got, "<22>1 " TS " mx.test postern 77 connect - "
	    "level=info service=smtp event=connect ip=192.0.2.7");
	recv_dgram(f, u, got, sizeof(got));
	assert_string_equal(got, "<20>1 " TS " mx.test postern 77 pregreet - "
	    "level=warn service=smtp event=pregreet");
	recv_dgram(f, u, got, sizeof(got));
	assert_string_equal(got, "<19>1 " TS " mx.test postern 77 queue_error - "
	    "level=error service=qmgr event=queue_error");
	assert_int_equal(stats(f).sent, 3);
	assert_int_equal(stats(f).dropped, 0);
	assert_true(stats(f).connected);
	close(u);
}

static void
test_tcp_octet_counting(void **state)
{
	struct fixture *f = *state;
	unsigned short port;
	int l = bound(SOCK_STREAM, 0, 0, &port), a;
	char *msgs[3], *big = malloc(LOG_LINE_MAX);
	char want[64];

	configure(f, "tcp", port);
	a = accept_spin(f, l);
	enqueue(f, LOGL_INFO, TS " event=a");
	/* The longest line there is: LOG_LINE_MAX - 1 bytes, no newline. */
	memset(big, 'x', LOG_LINE_MAX - 1);
	big[LOG_LINE_MAX - 1] = '\0';
	enqueue(f, LOGL_INFO, big);
	enqueue(f, LOGL_DEBUG, TS " event=b");
	read_frames(f, a, msgs, 3);
	assert_string_equal(msgs[0], "<22>1 " TS " mx.test postern 77 a - event=a");
	assert_int_equal(strlen(msgs[1]), strlen("<22>1 " TS " mx.test postern 77 - - ") +
	    LOG_LINE_MAX - 1);
	assert_int_equal(memcmp(msgs[1], "<22>1 ", 6), 0);
	assert_string_equal(msgs[2], "<23>1 " TS " mx.test postern 77 b - event=b");
	free_msgs(msgs, 3);
	assert_int_equal(stats(f).sent, 3);
	assert_int_equal(stats(f).pending_bytes, 0);
	snprintf(want, sizeof(want), "target=tcp://127.0.0.1:%u", port);
	assert_int_equal(local_log_count("event=log_remote state=up"), 1);
	assert_int_equal(local_log_count(want), 1);
	free(big);
	close(a);
	close(l);
}

/* A port where nothing listens: connections are refused. */
static unsigned short
closed_port(void)
{
	unsigned short port;
	int fd = bound(SOCK_STREAM, 0, 0, &port);

	close(fd);
	return port;
}

static void
test_bound_messages(void **state)
{
	struct fixture *f = *state;

	configure(f, "tcp", closed_port());
	for (int i = 0; i < LOGREMOTE_QUEUE_MSGS_MAX + 10; i++)
		enqueue(f, LOGL_INFO, TS " event=x");
	assert_int_equal(stats(f).pending_msgs, LOGREMOTE_QUEUE_MSGS_MAX);
	assert_int_equal(stats(f).enqueued, LOGREMOTE_QUEUE_MSGS_MAX);
	assert_int_equal(stats(f).dropped, 10);
	assert_true(stats(f).pending_bytes <= LOGREMOTE_QUEUE_BYTES_MAX);
	/* Reported at once, then once more a quiet period later. */
	spin(f, 50);
	assert_int_equal(local_log_count("event=log_remote_dropped count=10"), 1);
	assert_int_equal(local_log_count("event=log_remote_recovered"), 0);
	spin(f, 400);
	assert_int_equal(local_log_count("event=log_remote_recovered dropped=10"), 1);
	assert_int_equal(local_log_count("event=log_remote state=down"), 1);
	assert_false(stats(f).connected);
}

static void
test_bound_bytes(void **state)
{
	struct fixture *f = *state;
	char *line = malloc(8001), want[64];
	struct logremote_stats st;

	configure(f, "tcp", closed_port());
	memset(line, 'y', 8000);
	line[8000] = '\0';
	for (int i = 0; i < 200; i++)
		enqueue(f, LOGL_INFO, line);
	st = stats(f);
	assert_true(st.pending_bytes <= LOGREMOTE_QUEUE_BYTES_MAX);
	assert_true(st.pending_bytes + 8100 > LOGREMOTE_QUEUE_BYTES_MAX);
	assert_int_equal(st.pending_msgs + st.dropped, 200);
	assert_true(st.dropped > 50);
	/* Drop-newest: a small one still fits where a big one did not. */
	enqueue(f, LOGL_INFO, TS " event=small");
	assert_int_equal(stats(f).pending_msgs, st.pending_msgs + 1);
	free(line);
	/* Never reported yet (the loop did not run): at free, then. */
	snprintf(want, sizeof(want), "event=log_remote_dropped count=%llu",
	    (unsigned long long)st.dropped);
	logremote_free(&f->r);
	assert_int_equal(local_log_count(want), 1);
}

static void
test_reconnect(void **state)
{
	struct fixture *f = *state;
	unsigned short port;
	int l = bound(SOCK_STREAM, 0, 0, &port), a;
	char *msgs[2];
	long end;

	configure(f, "tcp", port);
	a = accept_spin(f, l);
	enqueue(f, LOGL_INFO, TS " event=one");
	read_frames(f, a, msgs, 1);
	assert_string_equal(msgs[0], "<22>1 " TS " mx.test postern 77 one - event=one");
	free_msgs(msgs, 1);
	/* The log server goes away: the relay sees the end and retries. */
	close(a);
	close(l);
	end = now_ms() + 3000;
	while (stats(f).connected && now_ms() < end)
		spin(f, 5);
	assert_false(stats(f).connected);
	enqueue(f, LOGL_INFO, TS " event=two");
	enqueue(f, LOGL_INFO, TS " event=three");
	spin(f, 100);		/* some refused attempts meanwhile */
	assert_int_equal(stats(f).pending_msgs, 2);
	/* It comes back on the same port: what waited arrives, in order. */
	l = bound(SOCK_STREAM, port, 0, NULL);
	a = accept_spin(f, l);
	read_frames(f, a, msgs, 2);
	assert_string_equal(msgs[0], "<22>1 " TS " mx.test postern 77 two - event=two");
	assert_string_equal(msgs[1], "<22>1 " TS " mx.test postern 77 three - event=three");
	free_msgs(msgs, 2);
	assert_int_equal(stats(f).connects, 2);
	assert_int_equal(stats(f).dropped, 0);
	assert_int_equal(local_log_count("event=log_remote state=down"), 1);
	assert_int_equal(local_log_count("event=log_remote state=up"), 2);
	close(a);
	close(l);
}

/*
 * A log server that accepts and never reads: the kernel's buffers fill,
 * then ours, then messages are dropped; enqueueing never waits. When the
 * connection is reset with a message half sent, the next connection
 * starts at a message boundary.
 */
static void
test_stalled_peer(void **state)
{
	struct fixture *f = *state;
	unsigned short port;
	int l = bound(SOCK_STREAM, 0, 4096, &port), a;
	char line[400], *msgs[4];
	struct logremote_stats st;
	long start, worst = 0;
	struct linger lg = { 1, 0 };

	configure(f, "tcp", port);
	a = accept_spin(f, l);
	memset(line, 'z', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\0';
	memcpy(line, TS " event=fill ", 36);
	start = now_ms();
	for (int i = 0; i < 20000; i++) {
		long t0 = now_ms();

		enqueue(f, LOGL_INFO, line);
		if (i % 16 == 0)
			event_base_loop(f->base, EVLOOP_NONBLOCK);
		if (now_ms() - t0 > worst)
			worst = now_ms() - t0;
	}
	st = stats(f);
	print_message("stalled peer: 20000 messages in %ld ms (worst %ld ms), "
	    "%llu sent to the kernel, %zu waiting (%zu bytes), %llu dropped\n",
	    now_ms() - start, worst, (unsigned long long)st.sent,
	    st.pending_msgs, st.pending_bytes, (unsigned long long)st.dropped);
	assert_true(now_ms() - start < 3000);
	assert_true(worst < 100);
	assert_true(st.dropped > 0);
	assert_true(st.connected);
	assert_true(st.pending_bytes <= LOGREMOTE_QUEUE_BYTES_MAX);
	assert_int_equal(st.sent + st.pending_msgs + st.dropped, 20000);
	spin(f, 20);
	assert_true(local_log_count("event=log_remote_dropped count=") >= 1);
	/* Reset it (unread data, SO_LINGER 0): the relay reconnects and the
	 * new connection begins with a whole frame. */
	setsockopt(a, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(a);
	a = accept_spin(f, l);
	read_frames(f, a, msgs, 4);
	for (int i = 0; i < 4; i++)
		assert_int_equal(memcmp(msgs[i], "<22>1 " TS " mx.test postern 77 fill - ",
		    strlen("<22>1 " TS " mx.test postern 77 fill - ")), 0);
	free_msgs(msgs, 4);
	assert_int_equal(stats(f).connects, 2);
	close(a);
	close(l);
}

static void
test_reconfigure(void **state)
{
	struct fixture *f = *state;
	unsigned short p1, p2;
	int l1 = bound(SOCK_STREAM, 0, 0, &p1), l2 = bound(SOCK_STREAM, 0, 0, &p2);
	int a1, a2, extra;
	char *msgs[1], target[64], err[128];

	configure(f, "tcp", p1);
	a1 = accept_spin(f, l1);
	/* The same target (a reload that did not change it): kept. */
	configure(f, "tcp", p1);
	spin(f, 50);
	assert_int_equal(accept(l1, NULL, NULL), -1);
	assert_int_equal(stats(f).connects, 1);
	/* Another target: the connection moves. */
	configure(f, "tcp", p2);
	a2 = accept_spin(f, l2);
	enqueue(f, LOGL_INFO, TS " event=moved");
	read_frames(f, a2, msgs, 1);
	assert_string_equal(msgs[0], "<22>1 " TS " mx.test postern 77 moved - event=moved");
	free_msgs(msgs, 1);
	assert_int_equal(recv(a1, target, sizeof(target), MSG_DONTWAIT), 0);
	/* Off: discarded, not counted. */
	assert_int_equal(logremote_configure(f->r, "", "mx.test", err,
	    sizeof(err)), 0);
	enqueue(f, LOGL_INFO, TS " event=off");
	assert_int_equal(stats(f).pending_msgs, 0);
	assert_int_equal(stats(f).dropped, 0);
	assert_false(stats(f).connected);
	/* A bad target: refused, and every line counts as dropped. */
	assert_int_equal(logremote_configure(f->r, "tcp://bad", "mx.test", err,
	    sizeof(err)), -1);
	assert_string_equal(err, "bad target 'tcp://bad'");
	enqueue(f, LOGL_INFO, TS " event=lost");
	assert_int_equal(stats(f).dropped, 1);
	extra = accept(l2, NULL, NULL);
	assert_int_equal(extra, -1);
	close(a1);
	close(a2);
	close(l1);
	close(l2);
}

static void
test_sources(void **state)
{
	struct fixture *f = *state;
	unsigned short port;
	int u = bound(SOCK_DGRAM, 0, 0, &port), sp[2];
	struct logremote_source *src;
	char got[LOGREMOTE_MSG_MAX + 1];
	static const char ok[] = "\x01" TS " level=info event=hello";
	static const char ctl[] = "\x02" TS " event=x a\nb";

	configure(f, "udp", port);
	assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, sp), 0);
	src = logremote_source_new(f->r, sp[0], 4242);
	assert_int_equal(send(sp[1], ok, sizeof(ok) - 1, 0), (ssize_t)sizeof(ok) - 1);
	assert_int_equal(send(sp[1], "\x09oops", 5, 0), 5);	/* no such level */
	assert_int_equal(send(sp[1], "", 0, 0), 0);
	assert_int_equal(send(sp[1], ctl, sizeof(ctl) - 1, 0), (ssize_t)sizeof(ctl) - 1);
	recv_dgram(f, u, got, sizeof(got));
	assert_string_equal(got, "<22>1 " TS " mx.test postern 4242 hello - "
	    "level=info event=hello");
	recv_dgram(f, u, got, sizeof(got));
	assert_string_equal(got, "<20>1 " TS " mx.test postern 4242 x - event=x a?b");
	assert_int_equal(stats(f).invalid, 2);
	/* What a child said just before it exited is still relayed. */
	assert_int_equal(send(sp[1], ok, sizeof(ok) - 1, 0), (ssize_t)sizeof(ok) - 1);
	close(sp[1]);
	logremote_source_free(&src);
	assert_null(src);
	recv_dgram(f, u, got, sizeof(got));
	assert_string_equal(got, "<22>1 " TS " mx.test postern 4242 hello - "
	    "level=info event=hello");
	close(u);
}

/* The master's own lines: log.c's hook, with the master's pid. */
static void
test_hook(void **state)
{
	struct fixture *f = *state;
	unsigned short port;
	int u = bound(SOCK_DGRAM, 0, 0, &port);
	struct log_ctx lc = { .service = "master" };
	char got[LOGREMOTE_MSG_MAX + 1], want[128];

	configure(f, "udp", port);
	spin(f, 10);		/* the relay's own "up" line is not relayed */
	log_remote_hook(logremote_log_hook, f->r);
	log_kv(&lc, LOGL_WARN, "restart_backoff", "kind", "worker", NULL);
	log_kv(&lc, LOGL_DEBUG, "filtered", NULL);	/* below the level */
	log_remote_hook(NULL, NULL);
	recv_dgram(f, u, got, sizeof(got));
	snprintf(want, sizeof(want), " mx.test postern %d restart_backoff - "
	    "level=warn service=master event=restart_backoff kind=worker",
	    (int)getpid());
	assert_int_equal(memcmp(got, "<20>1 20", 8), 0);
	assert_string_equal(got + 6 + LOGREMOTE_TS_LEN, want);
	assert_int_equal(stats(f).enqueued, 1);
	close(u);
}

/*
 * A child's half (log.c): one datagram per line, level byte first, no
 * newline; a full socket drops and the drops are reported locally, once
 * per LOG_REMOTE_REPORT_SEC.
 */
static void
test_child_datagrams(void **state)
{
	struct fixture *f = *state;
	struct log_ctx lc = { .service = "smtp" };
	int sp[2], sndbuf = 4096;
	char got[LOG_LINE_MAX + 1];
	ssize_t n;

	(void)f;
	assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, sp), 0);
	log_remote_attach(sp[1], "worker");
	log_kv(&lc, LOGL_INFO, "connect", "ip", "192.0.2.7", NULL);
	n = recv(sp[0], got, sizeof(got), 0);
	assert_true(n > 1 + LOGREMOTE_TS_LEN);
	got[n] = '\0';
	assert_int_equal(got[0], LOGL_INFO);
	assert_string_equal(got + 1 + LOGREMOTE_TS_LEN,
	    " level=info service=smtp event=connect ip=192.0.2.7");
	assert_null(memchr(got, '\n', (size_t)n));
	/* A line of exactly LOG_LINE_MAX bytes has no room for its newline:
	 * it is cut and marked, here and there. */
	{
		struct log_line l;

		log_line_begin(&l, &lc, LOGL_INFO, "long");
		while (l.b.len < LOG_LINE_MAX)
			buf_append(&l.b, "y", 1);
		assert_false(l.b.overflowed);
		log_line_end(&l);
		n = recv(sp[0], got, sizeof(got), 0);
		assert_int_equal(n, 1 + LOG_LINE_MAX - 2);
		assert_int_equal(memcmp(got + n - 14, " truncated=yes", 14), 0);
		assert_int_equal(local_log_count("yyy truncated=yes"), 1);
	}
	setsockopt(sp[1], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	for (int i = 0; i < 500; i++)
		log_kv(&lc, LOGL_INFO, "fill", NULL);
	/* Reported once (the first time at once), then not for 10 s. */
	assert_int_equal(local_log_count(
	    "level=warn service=worker event=log_remote_dropped count="), 1);
	log_remote_attach(-1, NULL);
	close(sp[0]);
	close(sp[1]);
}

static void
test_flush(void **state)
{
	struct fixture *f = *state;
	unsigned short port;
	int l = bound(SOCK_STREAM, 0, 0, &port), a;
	char *msgs[50];
	long start;

	configure(f, "tcp", port);	/* connecting, not yet up */
	for (int i = 0; i < 50; i++)
		enqueue(f, LOGL_INFO, TS " event=bye");
	start = now_ms();
	logremote_flush(f->r, 2000);
	assert_true(now_ms() - start < 1000);
	assert_int_equal(stats(f).pending_msgs, 0);
	assert_int_equal(stats(f).sent, 50);
	a = accept(l, NULL, NULL);
	assert_true(a >= 0);
	read_frames(f, a, msgs, 50);
	free_msgs(msgs, 50);
	/* Nothing waiting: returns at once. Nobody there: the timeout. */
	logremote_flush(f->r, 2000);
	close(a);
	close(l);
	configure(f, "tcp", closed_port());
	enqueue(f, LOGL_INFO, TS " event=lost");
	start = now_ms();
	logremote_flush(f->r, 300);
	assert_true(now_ms() - start < 1000);
	assert_int_equal(stats(f).pending_msgs, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(t)	cmocka_unit_test_setup_teardown(t, setup, teardown)
		T(test_udp_datagrams),
		T(test_tcp_octet_counting),
		T(test_bound_messages),
		T(test_bound_bytes),
		T(test_reconnect),
		T(test_stalled_peer),
		T(test_reconfigure),
		T(test_sources),
		T(test_hook),
		T(test_child_datagrams),
		T(test_flush),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
