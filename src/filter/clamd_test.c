/*
 * Tests for filter/clamd: the reply parser, and whole INSTREAM scans
 * against a fake clamd on the test's own event loop (a loopback or unix
 * listener that checks the framing byte by byte and answers as told).
 * The broker path (unix sockets through the master) is in
 * filter_conn_broker_test.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/testdir.h"
#include "filter/clamd.h"

#define KEEP_MAX	(1024 * 1024)	/* stream bytes the fake keeps */

/* ASan keeps freed memory in its quarantine (256 MB), so resident size
 * says nothing about what we hold there. */
#if defined(__SANITIZE_ADDRESS__)
#define RSS_MEANINGFUL	0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RSS_MEANINGFUL	0
#endif
#endif
#ifndef RSS_MEANINGFUL
#define RSS_MEANINGFUL	1
#endif
#define CHUNKS_MAX	64		/* chunk lengths the fake records */

/* ---- the fake clamd ---- */

enum fake_mode {
	FAKE_ANSWER,		/* answers after the zero-length chunk */
	FAKE_CLOSE_AT_ONCE,	/* closes as soon as it accepts */
	FAKE_CLOSE_AT_END,	/* closes at the end without a word */
	FAKE_SILENT,		/* reads everything, never answers */
	FAKE_EARLY,		/* answers after `early` stream bytes, then
				 * stops reading (a clamd over its limit) */
	FAKE_EARLY_CLOSE,	/* answers after `early` bytes and closes */
};

struct fake {
	struct evconnlistener	*lis;
	struct bufferevent	*bev;
	enum fake_mode		 mode;
	const char		*answer;	/* sent with its NUL */
	size_t			 answer_len;	/* 0: strlen(answer) + 1 */
	uint64_t		 early;
	int			 conns;
	bool			 closed;	/* our side saw the client go */
	/* what arrived */
	char			 cmd[32];
	size_t			 cmdlen;
	bool			 cmd_done;
	unsigned char		 hdr[4];
	size_t			 hdrlen;
	uint32_t		 chunk_left;
	uint32_t		 chunk_len[CHUNKS_MAX];
	size_t			 nchunks;
	bool			 bad_chunk;	/* a chunk over CLAMD_CHUNK */
	uint64_t		 total;
	bool			 ended;
	bool			 after_end;	/* bytes after the end */
	bool			 answered;
	struct buf		 data;		/* the first KEEP_MAX bytes */
};

static struct event_base *base;
static struct event	 *tick;
static struct testdir	  td;

struct result {
	int			 calls;
	enum clamd_result	 r;
	char			 detail[256];
};

static void
done_cb(void *arg, enum clamd_result r, const char *detail)
{
	struct result *res = arg;

	res->calls++;
	res->r = r;
	snprintf(res->detail, sizeof(res->detail), "%s", detail);
}

static void
fake_send_answer(struct fake *f)
{
	size_t n = f->answer_len ? f->answer_len : strlen(f->answer) + 1;

	bufferevent_write(f->bev, f->answer, n);
	f->answered = true;
}

/* Parses the stream the client sends: command, then chunks. */
static void
fake_bytes(struct fake *f, const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; ) {
		if (f->ended) {
			f->after_end = true;
			return;
		}
		if (!f->cmd_done) {
			if (f->cmdlen < sizeof(f->cmd))
				f->cmd[f->cmdlen++] = (char)p[i];
			f->cmd_done = p[i++] == '\0';
			continue;
		}
		if (f->chunk_left == 0) {
			f->hdr[f->hdrlen++] = p[i++];
			if (f->hdrlen < 4)
				continue;
			f->hdrlen = 0;
			f->chunk_left = (uint32_t)f->hdr[0] << 24 |
			    (uint32_t)f->hdr[1] << 16 | (uint32_t)f->hdr[2] << 8 |
			    f->hdr[3];
			if (f->nchunks < CHUNKS_MAX)
				f->chunk_len[f->nchunks] = f->chunk_left;
			f->nchunks++;
			if (f->chunk_left > CLAMD_CHUNK)
				f->bad_chunk = true;
			if (f->chunk_left == 0) {
				f->nchunks--;
				f->ended = true;
			}
			continue;
		}
		{
			size_t take = n - i < f->chunk_left ? n - i : f->chunk_left;

			if (f->data.len < KEEP_MAX)
				buf_append(&f->data, p + i, take < KEEP_MAX -
				    f->data.len ? take : KEEP_MAX - f->data.len);
			f->total += take;
			f->chunk_left -= (uint32_t)take;
			i += take;
		}
	}
}

static void
fake_read(struct bufferevent *bev, void *arg)
{
	struct fake *f = arg;
	static unsigned char tmp[65536];
	int n;

	while ((n = evbuffer_remove(bufferevent_get_input(bev), tmp,
	    sizeof(tmp))) > 0) {
		fake_bytes(f, tmp, (size_t)n);
		if ((f->mode == FAKE_EARLY || f->mode == FAKE_EARLY_CLOSE) &&
		    !f->answered && f->total >= f->early) {
			if (f->mode == FAKE_EARLY_CLOSE) {
				/* Sent now, as the socket closes at once; the
				 * unread bytes make the kernel send a RST. */
				assert_int_equal(send(bufferevent_getfd(bev),
				    f->answer, strlen(f->answer) + 1, 0),
				    (ssize_t)strlen(f->answer) + 1);
				f->answered = true;
				bufferevent_free(f->bev);
				f->bev = NULL;
				return;
			}
			fake_send_answer(f);
			bufferevent_disable(bev, EV_READ);
			return;
		}
	}
	if (!f->ended || f->answered)
		return;
	if (f->mode == FAKE_ANSWER)
		fake_send_answer(f);
	else if (f->mode == FAKE_CLOSE_AT_END) {
		if (f->answer != NULL)
			assert_int_equal(send(bufferevent_getfd(bev), f->answer,
			    f->answer_len, 0), (ssize_t)f->answer_len);
		bufferevent_free(f->bev);
		f->bev = NULL;
	}
}

static void
fake_event(struct bufferevent *bev, short what, void *arg)
{
	struct fake *f = arg;

	(void)bev;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
		f->closed = true;
		bufferevent_free(f->bev);
		f->bev = NULL;
	}
}

static void
fake_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	struct fake *f = arg;

	(void)l;
	(void)sa;
	(void)salen;
	f->conns++;
	if (f->mode == FAKE_CLOSE_AT_ONCE || f->bev != NULL) {
		close(fd);
		return;
	}
	f->bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(f->bev, fake_read, NULL, fake_event, f);
	bufferevent_enable(f->bev, EV_READ | EV_WRITE);
}

/* A fake on 127.0.0.1 (a port of its own, held while it lives). */
static void
fake_start(struct fake *f, enum fake_mode mode, const char *answer,
    struct filter_endpoint *ep)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sin);
	char addr[64], err[128];

	memset(f, 0, sizeof(*f));
	f->mode = mode;
	f->answer = answer;
	buf_init(&f->data, KEEP_MAX);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	f->lis = evconnlistener_new_bind(base, fake_accept, f,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 16,
	    (struct sockaddr *)&sin, sizeof(sin));
	assert_non_null(f->lis);
	assert_int_equal(getsockname(evconnlistener_get_fd(f->lis),
	    (struct sockaddr *)&sin, &sl), 0);
	snprintf(addr, sizeof(addr), "inet:127.0.0.1:%u", ntohs(sin.sin_port));
	assert_int_equal(filter_endpoint_parse(addr, ep, err, sizeof(err)), 0);
}

static void
fake_stop(struct fake *f)
{
	if (f->bev != NULL)
		bufferevent_free(f->bev);
	evconnlistener_free(f->lis);
	buf_free(&f->data);
}

/* ---- helpers ---- */

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* Runs the loop until *flag or ms have passed. */
static void
run_until(const int *flag, int ms)
{
	double end = now_ms() + ms;

	while ((flag == NULL || *flag == 0) && now_ms() < end)
		event_base_loop(base, EVLOOP_ONCE);
}

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
}

/* A message file: prefix, then n pattern bytes, then a suffix. */
static int
make_file(const char *name, const char *prefix, size_t n, const char *suffix)
{
	int fd = open(name, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	char b[4096];

	assert_true(fd >= 0);
	assert_int_equal(write(fd, prefix, strlen(prefix)), (ssize_t)strlen(prefix));
	for (size_t done = 0; done < n; done++) {
		b[done % sizeof(b)] = (char)('a' + done % 23);
		if (done % sizeof(b) == sizeof(b) - 1 || done == n - 1)
			assert_int_equal(write(fd, b, done % sizeof(b) + 1),
			    (ssize_t)(done % sizeof(b) + 1));
	}
	assert_int_equal(write(fd, suffix, strlen(suffix)), (ssize_t)strlen(suffix));
	return fd;
}

static int
setup(void **state)
{
	struct timeval tv = { 0, 10000 };

	(void)state;
	signal(SIGPIPE, SIG_IGN);
	testdir_enter(&td, "clamd");
	base = event_base_new();
	tick = event_new(base, -1, EV_PERSIST, tick_cb, NULL);
	event_add(tick, &tv);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	event_free(tick);
	event_base_free(base);
	testdir_leave(&td);
	return 0;
}

/* ---- the reply parser ---- */

static enum clamd_result
parse(const char *line, char *detail, size_t dl)
{
	return clamd_parse_reply(line, strlen(line), detail, dl);
}

static void
test_parse_verdicts(void **state)
{
	char d[64];

	(void)state;
	assert_int_equal(parse("stream: OK", d, sizeof(d)), CLAMD_CLEAN);
	assert_string_equal(d, "");
	assert_int_equal(parse("stream: OK\n", d, sizeof(d)), CLAMD_CLEAN);
	assert_int_equal(parse("stream: Eicar-Test-Signature FOUND", d,
	    sizeof(d)), CLAMD_FOUND);
	assert_string_equal(d, "Eicar-Test-Signature");
	assert_int_equal(parse("stream: Win.Test.EICAR_HDB-1 FOUND\n", d,
	    sizeof(d)), CLAMD_FOUND);
	assert_string_equal(d, "Win.Test.EICAR_HDB-1");
	assert_int_equal(parse("INSTREAM size limit exceeded. ERROR", d,
	    sizeof(d)), CLAMD_ERROR);
	assert_string_equal(d, "INSTREAM size limit exceeded.");
	assert_int_equal(parse("stream: Can't allocate memory ERROR", d,
	    sizeof(d)), CLAMD_ERROR);
	assert_string_equal(d, "Can't allocate memory");
}

/* Whatever is not exactly a verdict is an error, never clean. */
static void
test_parse_unexpected(void **state)
{
	static const char *const bad[] = {
		"", "OK", "stream:OK", "stream: ok", "stream: OK.", " stream: OK",
		"stream: OK FOUNDX", "stream:  FOUND", "stream: FOUND", "FOUND",
		"ERROR", "stream: ERROR", "PONG", "UNKNOWN COMMAND",
		"1: stream: OK",
	};
	char d[64];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(parse(bad[i], d, sizeof(d)), CLAMD_ERROR);
		assert_non_null(d[0] != '\0' ? d : NULL);
	}
	assert_int_equal(parse("PONG", d, sizeof(d)), CLAMD_ERROR);
	assert_string_equal(d, "unexpected reply: PONG");
	/* An embedded NUL is not the end of a verdict. */
	assert_int_equal(clamd_parse_reply("stream: OK\0x", 12, d, sizeof(d)),
	    CLAMD_ERROR);
}

/* detail: printable ASCII only, always terminated, never overrun. */
static void
test_parse_detail_bounded(void **state)
{
	char d[8], big[CLAMD_REPLY_MAX + 1];

	(void)state;
	memset(d, 'Z', sizeof(d));
	assert_int_equal(parse("stream: Very.Long.Signature.Name FOUND", d,
	    sizeof(d)), CLAMD_FOUND);
	assert_string_equal(d, "Very.Lo");
	assert_int_equal(parse("stream: a\x1b[31m\x7f\xff FOUND", d, sizeof(d)),
	    CLAMD_FOUND);
	assert_string_equal(d, "a?[31m?");
	assert_int_equal(parse("stream: x FOUND", NULL, 0), CLAMD_FOUND);
	assert_int_equal(parse("stream: x FOUND", d, 1), CLAMD_FOUND);
	assert_string_equal(d, "");
	memset(big, 'A', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big, "stream: ", 8);
	memcpy(big + sizeof(big) - 7, " FOUND", 6);
	assert_int_equal(parse(big, d, sizeof(d)), CLAMD_FOUND);
	assert_int_equal(strlen(d), sizeof(d) - 1);
}

/* ---- scans ---- */

static void
test_scan_clean_framing(void **state)
{
	struct fake f;
	struct filter_endpoint ep;
	struct result res = { 0 };
	size_t n = 3 * CLAMD_CHUNK + 3392;
	int fd = make_file("msg", "JUNK", n, "TAIL");
	struct clamd_scan *s;

	(void)state;
	fake_start(&f, FAKE_ANSWER, "stream: OK", &ep);
	s = clamd_scan_start(base, &ep, fd, 4, n, done_cb, &res);
	assert_non_null(s);
	assert_int_equal(res.calls, 0);		/* never inside start */
	run_until(&res.calls, 5000);
	assert_int_equal(res.calls, 1);
	assert_int_equal(res.r, CLAMD_CLEAN);
	assert_string_equal(res.detail, "");
	/* "zINSTREAM\0", then 4 chunks of exactly [off, off + len), then 0. */
	assert_int_equal(f.cmdlen, 10);
	assert_memory_equal(f.cmd, "zINSTREAM", 10);
	assert_true(f.ended);
	assert_false(f.after_end);
	assert_false(f.bad_chunk);
	assert_int_equal(f.nchunks, 4);
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(f.chunk_len[i], CLAMD_CHUNK);
	assert_int_equal(f.chunk_len[3], 3392);
	assert_int_equal(f.total, n);
	for (size_t i = 0; i < n; i++)
		if (f.data.data[i] != (char)('a' + i % 23))
			fail_msg("byte %zu differs", i);
	run_until(NULL, 50);
	assert_int_equal(res.calls, 1);		/* exactly once */
	assert_true(f.closed);			/* and the socket is closed */
	fake_stop(&f);
	close(fd);
}

/* An empty range: the command and the zero-length chunk only. */
static void
test_scan_empty(void **state)
{
	struct fake f;
	struct filter_endpoint ep;
	struct result res = { 0 };
	int fd = make_file("msg", "abc", 0, "");
	struct clamd_scan *s;

	(void)state;
	fake_start(&f, FAKE_ANSWER, "stream: OK", &ep);
	s = clamd_scan_start(base, &ep, fd, 3, 0, done_cb, &res);
	assert_non_null(s);
	run_until(&res.calls, 5000);
	assert_int_equal(res.r, CLAMD_CLEAN);
	assert_true(f.ended);
	assert_int_equal(f.nchunks, 0);
	assert_int_equal(f.total, 0);
	fake_stop(&f);
	close(fd);
}

/* One scan of n bytes against a fake in mode: the result, and a detail
 * holding want. */
static void
scan_expect(enum fake_mode mode, const char *answer, size_t answer_len,
    size_t n, enum clamd_result want_r, const char *want)
{
	struct fake f;
	struct filter_endpoint ep;
	struct result res = { 0 };
	int fd = make_file("msg", "", n, "");

	fake_start(&f, mode, answer, &ep);
	f.answer_len = answer_len;
	assert_non_null(clamd_scan_start(base, &ep, fd, 0, n, done_cb, &res));
	run_until(&res.calls, 5000);
	assert_int_equal(res.calls, 1);
	assert_int_equal(res.r, want_r);
	if (strstr(res.detail, want) == NULL)
		fail_msg("detail \"%s\" lacks \"%s\"", res.detail, want);
	run_until(NULL, 30);
	assert_int_equal(res.calls, 1);
	fake_stop(&f);
	close(fd);
}

static void
scan_expect_error(enum fake_mode mode, const char *answer, size_t answer_len,
    size_t n, const char *want)
{
	scan_expect(mode, answer, answer_len, n, CLAMD_ERROR, want);
}

static void
test_scan_found_and_error(void **state)
{
	(void)state;
	scan_expect(FAKE_ANSWER, "stream: Eicar-Test-Signature FOUND", 0, 68,
	    CLAMD_FOUND, "Eicar-Test-Signature");
	scan_expect(FAKE_ANSWER, "INSTREAM size limit exceeded. ERROR", 0, 100,
	    CLAMD_ERROR, "INSTREAM size limit exceeded.");
}

static void
test_scan_eof(void **state)
{
	(void)state;
	scan_expect_error(FAKE_CLOSE_AT_ONCE, NULL, 0, 1000, "");
	scan_expect_error(FAKE_CLOSE_AT_END, NULL, 0, 1000,
	    "closed the connection without an answer");
	/* Half an answer, then EOF: no verdict. */
	scan_expect_error(FAKE_CLOSE_AT_END, "stream: O", 9, 10,
	    "without an answer");
}

/* No NUL within CLAMD_REPLY_MAX bytes: refused, not buffered. */
static void
test_scan_answer_too_long(void **state)
{
	static char big[CLAMD_REPLY_MAX + 1];
	static char exact[CLAMD_REPLY_MAX + 1];

	(void)state;
	memset(big, 'A', sizeof(big));
	scan_expect_error(FAKE_ANSWER, big, sizeof(big), 10, "answer longer");
	/* CLAMD_REPLY_MAX bytes then the NUL: read whole (and not a verdict). */
	memset(exact, 'B', sizeof(exact) - 1);
	exact[sizeof(exact) - 1] = '\0';
	scan_expect_error(FAKE_ANSWER, exact, sizeof(exact), 10,
	    "unexpected reply: BBB");
}

/* "clean" before clamd can have seen the whole message is no verdict. */
static void
test_scan_clean_too_early(void **state)
{
	int fd = open("big", O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	struct fake f;
	struct filter_endpoint ep;
	struct result res = { 0 };
	struct clamd_scan *s;
	uint64_t n = 64 * 1024 * 1024;

	(void)state;
	assert_int_equal(ftruncate(fd, (off_t)n), 0);	/* sparse */
	fake_start(&f, FAKE_EARLY, "stream: OK", &ep);
	f.early = CLAMD_CHUNK;
	s = clamd_scan_start(base, &ep, fd, 0, n, done_cb, &res);
	assert_non_null(s);
	run_until(&res.calls, 5000);
	assert_int_equal(res.r, CLAMD_ERROR);
	assert_non_null(strstr(res.detail, "before the end"));
	fake_stop(&f);
	close(fd);
}

/* A clamd over StreamMaxLength answers, then closes with our bytes
 * unread (a RST): its answer is still the one reported. */
static void
test_scan_limit_then_close(void **state)
{
	int fd = open("big", O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	struct fake f;
	struct filter_endpoint ep;
	struct result res = { 0 };
	struct clamd_scan *s;
	uint64_t n = 64 * 1024 * 1024;

	(void)state;
	assert_int_equal(ftruncate(fd, (off_t)n), 0);
	fake_start(&f, FAKE_EARLY_CLOSE, "INSTREAM size limit exceeded. ERROR", &ep);
	f.early = 4 * CLAMD_CHUNK;
	s = clamd_scan_start(base, &ep, fd, 0, n, done_cb, &res);
	assert_non_null(s);
	run_until(&res.calls, 5000);
	assert_int_equal(res.calls, 1);
	assert_int_equal(res.r, CLAMD_ERROR);
	assert_string_equal(res.detail, "INSTREAM size limit exceeded.");
	fake_stop(&f);
	close(fd);
}

static void
test_scan_connect_fails(void **state)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sin);
	struct filter_endpoint ep;
	struct result res = { 0 };
	struct clamd_scan *s;
	char addr[64], err[128];
	int fd = make_file("msg", "", 10, ""), hold;

	(void)state;
	/* A bound port with no listener refuses connections. */
	hold = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(hold, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(hold, (struct sockaddr *)&sin, &sl), 0);
	snprintf(addr, sizeof(addr), "inet:127.0.0.1:%u", ntohs(sin.sin_port));
	assert_int_equal(filter_endpoint_parse(addr, &ep, err, sizeof(err)), 0);
	s = clamd_scan_start(base, &ep, fd, 0, 10, done_cb, &res);
	assert_non_null(s);
	assert_int_equal(res.calls, 0);
	run_until(&res.calls, 5000);
	assert_int_equal(res.r, CLAMD_ERROR);
	assert_non_null(strstr(res.detail, "refused"));
	close(hold);

	/* A unix path with nothing there fails at connect(2): still later. */
	memset(&res, 0, sizeof(res));
	assert_int_equal(filter_endpoint_parse("unix:/nonexistent/clamd.sock",
	    &ep, err, sizeof(err)), 0);
	assert_non_null(clamd_scan_start(base, &ep, fd, 0, 10, done_cb, &res));
	assert_int_equal(res.calls, 0);
	run_until(&res.calls, 5000);
	assert_int_equal(res.r, CLAMD_ERROR);
	assert_non_null(strstr(res.detail, "No such file"));

	/* A range pread cannot address: an error, later too. */
	memset(&res, 0, sizeof(res));
	assert_non_null(clamd_scan_start(base, &ep, fd, UINT64_MAX - 1, 10,
	    done_cb, &res));
	assert_int_equal(res.calls, 0);
	run_until(&res.calls, 5000);
	assert_int_equal(res.r, CLAMD_ERROR);
	assert_string_equal(res.detail, "bad message range");
	close(fd);
}

/* The file is shorter than the range the caller gave. */
static void
test_scan_short_file(void **state)
{
	struct fake f;
	struct filter_endpoint ep;
	struct result res = { 0 };
	int fd = make_file("msg", "", 1000, "");

	(void)state;
	fake_start(&f, FAKE_ANSWER, "stream: OK", &ep);
	assert_non_null(clamd_scan_start(base, &ep, fd, 0, 5000, done_cb, &res));
	run_until(&res.calls, 5000);
	assert_int_equal(res.r, CLAMD_ERROR);
	assert_non_null(strstr(res.detail, "shorter"));
	assert_false(f.ended);		/* a truncated message is never "ended" */
	fake_stop(&f);
	close(fd);
}

static void
test_scan_cancel(void **state)
{
	struct fake f;
	struct filter_endpoint ep;
	struct result res = { 0 };
	int fd = make_file("msg", "", 5000, "");
	struct clamd_scan *s;

	(void)state;
	fake_start(&f, FAKE_SILENT, NULL, &ep);
	/* Before the connection is made. */
	s = clamd_scan_start(base, &ep, fd, 0, 5000, done_cb, &res);
	clamd_scan_cancel(&s);
	assert_null(s);
	clamd_scan_cancel(&s);		/* NULL: nothing */
	run_until(NULL, 50);
	/* While waiting for the answer. */
	s = clamd_scan_start(base, &ep, fd, 0, 5000, done_cb, &res);
	run_until((const int *)&f.ended, 5000);
	assert_true(f.ended);
	clamd_scan_cancel(&s);
	run_until((const int *)&f.closed, 2000);
	assert_true(f.closed);		/* our socket went away */
	assert_int_equal(res.calls, 0);
	fake_stop(&f);
	close(fd);
}

/* Memory does not grow with the message: 256 MB go through while the
 * process's peak resident size grows by far less. */
static void
test_scan_memory_bounded(void **state)
{
	int fd = open("big", O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	uint64_t n = 256ULL * 1024 * 1024;
	struct fake f;
	struct filter_endpoint ep;
	struct result res = { 0 };
	struct rusage before, after;
	double t0;

	(void)state;
	assert_int_equal(ftruncate(fd, (off_t)n), 0);
	fake_start(&f, FAKE_ANSWER, "stream: OK", &ep);
	getrusage(RUSAGE_SELF, &before);
	t0 = now_ms();
	assert_non_null(clamd_scan_start(base, &ep, fd, 0, n, done_cb, &res));
	run_until(&res.calls, 60000);
	getrusage(RUSAGE_SELF, &after);
	assert_int_equal(res.r, CLAMD_CLEAN);
	assert_int_equal(f.total, n);
	assert_false(f.bad_chunk);
	fprintf(stderr, "256 MB scanned in %.0f ms, peak RSS +%ld kB\n",
	    now_ms() - t0, after.ru_maxrss - before.ru_maxrss);
	if (RSS_MEANINGFUL)
		assert_true(after.ru_maxrss - before.ru_maxrss < 32 * 1024);
	fake_stop(&f);
	close(fd);
}

/* A clamd on a unix socket, connected directly (no broker here). */
static void
test_scan_unix_direct(void **state)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct filter_endpoint ep;
	struct result res = { 0 };
	struct fake f;
	char addr[FILTER_ADDR_MAX], err[128], cwd[64];
	int fd = make_file("msg", "", 200, "");

	(void)state;
	memset(&f, 0, sizeof(f));
	f.mode = FAKE_ANSWER;
	f.answer = "stream: OK";
	buf_init(&f.data, KEEP_MAX);
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/clamd.sock", cwd);
	f.lis = evconnlistener_new_bind(base, fake_accept, &f,
	    LEV_OPT_CLOSE_ON_FREE, 16, (struct sockaddr *)&sun, sizeof(sun));
	assert_non_null(f.lis);
	snprintf(addr, sizeof(addr), "unix:%s", sun.sun_path);
	assert_int_equal(filter_endpoint_parse(addr, &ep, err, sizeof(err)), 0);
	assert_non_null(clamd_scan_start(base, &ep, fd, 0, 200, done_cb, &res));
	run_until(&res.calls, 5000);
	assert_int_equal(res.r, CLAMD_CLEAN);
	assert_int_equal(f.total, 200);
	fake_stop(&f);
	close(fd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_verdicts),
		cmocka_unit_test(test_parse_unexpected),
		cmocka_unit_test(test_parse_detail_bounded),
		cmocka_unit_test(test_scan_clean_framing),
		cmocka_unit_test(test_scan_found_and_error),
		cmocka_unit_test(test_scan_empty),
		cmocka_unit_test(test_scan_eof),
		cmocka_unit_test(test_scan_answer_too_long),
		cmocka_unit_test(test_scan_clean_too_early),
		cmocka_unit_test(test_scan_limit_then_close),
		cmocka_unit_test(test_scan_connect_fails),
		cmocka_unit_test(test_scan_short_file),
		cmocka_unit_test(test_scan_cancel),
		cmocka_unit_test(test_scan_memory_bounded),
		cmocka_unit_test(test_scan_unix_direct),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
