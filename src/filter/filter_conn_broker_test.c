/*
 * Tests for filter/filter_conn_broker: the master's side over a
 * socketpair (what it connects, what it refuses, never blocking), and the
 * worker's side through filter_connect() with the master's side serving
 * it on the same loop: sockets, refusals, ids, cancel, timeout.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "core/config.h"
#include "core/log.h"
#include "core/testdir.h"
#include "core/xalloc.h"
#include "filter/filter_conn.h"
#include "ipc/ipc.h"
#include "ipc/ipc_proto.h"

static struct testdir	 td;
static struct config	 cfg;
static char		 clamd_addr[128], milter_addr[128];
static char		 clamd_path[108], milter_path[108];
static int		 clamd_lis = -1, milter_lis = -1;
static struct event_base *base;
static struct event	*tick;

static int
listen_unix(const char *path, int backlog)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	unlink(path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(listen(fd, backlog), 0);
	return fd;
}

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
}

static int
setup(void **state)
{
	char cwd[64];
	struct timeval tv = { 0, 10000 };
	const char *err;

	(void)state;
	signal(SIGPIPE, SIG_IGN);
	testdir_enter(&td, "broker");
	assert_int_equal(log_open("broker.log", &err), 0);
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	snprintf(clamd_path, sizeof(clamd_path), "%s/clamd.sock", cwd);
	snprintf(milter_path, sizeof(milter_path), "%s/milter.sock", cwd);
	snprintf(clamd_addr, sizeof(clamd_addr), "unix:%s", clamd_path);
	snprintf(milter_addr, sizeof(milter_addr), "unix:%s", milter_path);
	config_defaults(&cfg);
	free(cfg.filters.antivirus.clamd);
	cfg.filters.antivirus.clamd = xstrdup(clamd_addr);
	cfg.filters.milters = xcalloc(2, sizeof(*cfg.filters.milters));
	cfg.filters.milters[0].address = xstrdup("inet:127.0.0.1:11332");
	cfg.filters.milters[1].address = xstrdup(milter_addr);
	cfg.filters.nmilters = 2;
	clamd_lis = listen_unix(clamd_path, 16);
	milter_lis = listen_unix(milter_path, 16);
	base = event_base_new();
	tick = event_new(base, -1, EV_PERSIST, tick_cb, NULL);
	event_add(tick, &tv);
	return 0;
}

static int
teardown(void **state)
{
	const char *err;

	(void)state;
	filter_conn_set_broker(NULL, -1);
	event_free(tick);
	event_base_free(base);
	close(clamd_lis);
	close(milter_lis);
	config_free(&cfg);
	log_open(NULL, &err);
	testdir_leave(&td);
	return 0;
}

/* ---- master side ---- */

struct answer {
	int	 fd;
	uint32_t id;
	uint16_t type;
	char	 text[256];
};

/* One request with IK_ADDR = addr (NULL: no field), served; the answer. */
static struct answer
serve_raw(const void *addr, size_t addrlen, uint32_t id)
{
	int sp[2];
	struct ipc_msg req, rep;
	struct buf storage;
	struct answer a = { .fd = -1 };
	const struct ipc_field *f;

	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC |
	    SOCK_NONBLOCK, 0, sp), 0);
	ipc_msg_init(&req, IPCM_FILTER_CONNECT, id);
	if (addr != NULL)
		assert_int_equal(ipc_msg_add(&req, IK_ADDR, addr, addrlen), 0);
	filter_conn_broker_serve(&cfg, sp[0], &req);
	buf_init(&storage, IPC_MSG_MAX);
	assert_int_equal(ipc_recv(sp[1], &storage, &rep), 1);
	a.fd = rep.fd;
	a.id = rep.id;
	a.type = rep.type;
	f = ipc_msg_get(&rep, IK_TEXT);
	if (f != NULL)
		snprintf(a.text, sizeof(a.text), "%.*s", (int)f->len,
		    (const char *)f->data);
	buf_free(&storage);
	close(sp[0]);
	close(sp[1]);
	return a;
}

static struct answer
serve(const char *addr, uint32_t id)
{
	return serve_raw(addr, addr != NULL ? strlen(addr) : 0, id);
}

/* The socket passed is connected to the configured daemon, non-blocking. */
static void
expect_connected(int fd, int lis)
{
	int peer;
	char c = 0;

	assert_true(fd >= 0);
	assert_true(fcntl(fd, F_GETFL) & O_NONBLOCK);
	peer = accept(lis, NULL, NULL);
	assert_true(peer >= 0);
	assert_int_equal(write(fd, "x", 1), 1);
	assert_int_equal(read(peer, &c, 1), 1);
	assert_int_equal(c, 'x');
	close(peer);
	close(fd);
}

static void
test_serve_configured(void **state)
{
	struct answer a;

	(void)state;
	a = serve(clamd_addr, 77);
	assert_int_equal(a.type, IPCM_FILTER_SOCKET);
	assert_int_equal(a.id, 77);
	assert_string_equal(a.text, "");
	expect_connected(a.fd, clamd_lis);
	a = serve(milter_addr, 78);
	assert_int_equal(a.id, 78);
	expect_connected(a.fd, milter_lis);
}

static bool
log_has(const char *needle)
{
	char b[8192];
	int fd = open("broker.log", O_RDONLY | O_CLOEXEC);
	ssize_t n;

	assert_true(fd >= 0);
	n = read(fd, b, sizeof(b) - 1);
	close(fd);
	b[n > 0 ? n : 0] = '\0';
	return strstr(b, needle) != NULL;
}

/* Only the configured addresses, and only unix ones: the worker may be
 * compromised, and the master must not be its way to other sockets. */
static void
test_serve_refused(void **state)
{
	char longaddr[FILTER_ADDR_MAX + 2], withnul[160];
	const char *const bad[] = {
		"unix:/run/other.sock", "inet:127.0.0.1:11332", "", "unix:",
		"UNIX:/x", NULL,
	};
	struct answer a;
	size_t n;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		a = serve(bad[i], (uint32_t)i + 1);
		assert_int_equal(a.fd, -1);
		assert_int_equal(a.id, i + 1);
		assert_int_equal(a.type, IPCM_FILTER_SOCKET);
		assert_string_equal(a.text, "not a configured filter");
	}
	/* The configured text plus a NUL and more: not the same address. */
	n = (size_t)snprintf(withnul, sizeof(withnul), "%s", clamd_addr);
	memcpy(withnul + n, "\0/x", 3);
	a = serve_raw(withnul, n + 3, 9);
	assert_int_equal(a.fd, -1);
	/* Longer than any address: refused before any comparison. */
	memset(longaddr, 'a', sizeof(longaddr));
	memcpy(longaddr, clamd_addr, strlen(clamd_addr));
	a = serve_raw(longaddr, sizeof(longaddr), 10);
	assert_int_equal(a.fd, -1);
	assert_true(log_has("event=filter_broker_refused addr=unix:/run/other.sock"));
}

static void
test_serve_connect_fails(void **state)
{
	struct answer a;

	(void)state;
	unlink(clamd_path);
	a = serve(clamd_addr, 5);
	assert_int_equal(a.fd, -1);
	assert_non_null(strstr(a.text, "No such file"));
	assert_true(log_has("event=filter_broker_failed"));
	close(clamd_lis);
	clamd_lis = listen_unix(clamd_path, 16);
}

/* A daemon with a full backlog: the master says so at once. A blocking
 * connect would hang here (and alarm() would end the test). */
static void
test_serve_backlog_full(void **state)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fills[64], nfill = 0;
	struct answer a;

	(void)state;
	close(clamd_lis);
	clamd_lis = listen_unix(clamd_path, 0);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", clamd_path);
	while (nfill < 64) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

		if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
			assert_int_equal(errno, EAGAIN);
			close(fd);
			break;
		}
		fills[nfill++] = fd;
	}
	assert_true(nfill < 64);
	alarm(5);
	a = serve(clamd_addr, 6);
	alarm(0);
	assert_int_equal(a.fd, -1);
	assert_string_equal(a.text, "backlog full");
	while (nfill > 0)
		close(fills[--nfill]);
	close(clamd_lis);
	clamd_lis = listen_unix(clamd_path, 16);
}

/* ---- worker side, with the master's side on the same loop ---- */

struct pair {
	int		 master, worker;
	struct event	*mev, *wev;
	struct buf	 mbuf, wbuf;
	bool		 master_deaf;	/* reads nothing */
	struct ipc_msg	 held[4];	/* requests kept to answer later */
	struct buf	 heldbuf[4];
	size_t		 nheld;
	bool		 hold;
	int		 served;
};

static void
master_read(evutil_socket_t fd, short what, void *arg)
{
	struct pair *p = arg;
	struct ipc_msg m;

	(void)what;
	if (p->master_deaf) {
		event_del(p->mev);	/* level-triggered: would spin */
		return;
	}
	while (ipc_recv(fd, &p->mbuf, &m) == 1) {
		if (p->hold && p->nheld < 4) {
			/* Keep a copy: the message points into mbuf. */
			buf_init(&p->heldbuf[p->nheld], IPC_MSG_MAX);
			buf_append(&p->heldbuf[p->nheld], p->mbuf.data, p->mbuf.len);
			assert_int_equal(ipc_msg_decode((const uint8_t *)
			    p->heldbuf[p->nheld].data, p->heldbuf[p->nheld].len,
			    &p->held[p->nheld]), PARSE_OK);
			p->nheld++;
			continue;
		}
		filter_conn_broker_serve(&cfg, fd, &m);
		p->served++;
	}
}

/* What server/dirconn.c does with the worker's control socket. */
static void
worker_read(evutil_socket_t fd, short what, void *arg)
{
	struct pair *p = arg;
	struct ipc_msg m;

	(void)what;
	while (ipc_recv(fd, &p->wbuf, &m) == 1)
		filter_conn_broker_reply(&m);
}

static void
pair_open(struct pair *p)
{
	int sp[2];

	memset(p, 0, sizeof(*p));
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC |
	    SOCK_NONBLOCK, 0, sp), 0);
	p->master = sp[0];
	p->worker = sp[1];
	buf_init(&p->mbuf, IPC_MSG_MAX);
	buf_init(&p->wbuf, IPC_MSG_MAX);
	p->mev = event_new(base, p->master, EV_READ | EV_PERSIST, master_read, p);
	p->wev = event_new(base, p->worker, EV_READ | EV_PERSIST, worker_read, p);
	event_add(p->mev, NULL);
	event_add(p->wev, NULL);
	filter_conn_set_broker(base, p->worker);
}

static void
pair_close(struct pair *p)
{
	filter_conn_set_broker(NULL, -1);
	event_free(p->mev);
	event_free(p->wev);
	close(p->master);
	close(p->worker);
	buf_free(&p->mbuf);
	buf_free(&p->wbuf);
	for (size_t i = 0; i < p->nheld; i++)
		buf_free(&p->heldbuf[i]);
}

struct got {
	int	 calls;
	int	 fd;
	char	 err[256];
};

static void
got_cb(void *arg, int fd, const char *err)
{
	struct got *g = arg;

	g->calls++;
	g->fd = fd;
	snprintf(g->err, sizeof(g->err), "%s", err != NULL ? err : "");
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
run_until(const int *flag, double sec)
{
	double end = now_s() + sec;

	while ((flag == NULL || *flag == 0) && now_s() < end)
		event_base_loop(base, EVLOOP_ONCE);
}

static struct filter_endpoint
endpoint(const char *addr)
{
	struct filter_endpoint ep;
	char err[128];

	assert_int_equal(filter_endpoint_parse(addr, &ep, err, sizeof(err)), 0);
	return ep;
}

static void
test_worker_connects_through_master(void **state)
{
	struct pair p;
	struct got g = { 0 };
	struct filter_endpoint ep = endpoint(clamd_addr);

	(void)state;
	pair_open(&p);
	assert_non_null(filter_connect(base, &ep, got_cb, &g));
	assert_int_equal(g.calls, 0);		/* never inside the call */
	run_until(&g.calls, 5);
	assert_int_equal(g.calls, 1);
	assert_string_equal(g.err, "");
	assert_int_equal(p.served, 1);
	expect_connected(g.fd, clamd_lis);
	pair_close(&p);
}

static void
test_worker_refused(void **state)
{
	struct pair p;
	struct got g = { 0 };
	struct filter_endpoint ep = endpoint("unix:/run/not-configured.sock");

	(void)state;
	pair_open(&p);
	assert_non_null(filter_connect(base, &ep, got_cb, &g));
	run_until(&g.calls, 5);
	assert_int_equal(g.fd, -1);
	assert_string_equal(g.err, "not a configured filter");
	pair_close(&p);
}

/* Answers in the other order: each request gets its own (ids). */
static void
test_worker_ids(void **state)
{
	struct pair p;
	struct got a = { 0 }, b = { 0 };
	struct filter_endpoint epa = endpoint(clamd_addr);
	struct filter_endpoint epb = endpoint("unix:/run/not-configured.sock");

	(void)state;
	pair_open(&p);
	p.hold = true;
	assert_non_null(filter_connect(base, &epa, got_cb, &a));
	assert_non_null(filter_connect(base, &epb, got_cb, &b));
	run_until(NULL, 0.1);
	assert_int_equal(p.nheld, 2);
	assert_int_not_equal(p.held[0].id, p.held[1].id);
	filter_conn_broker_serve(&cfg, p.master, &p.held[1]);
	filter_conn_broker_serve(&cfg, p.master, &p.held[0]);
	run_until(&a.calls, 5);
	run_until(&b.calls, 5);
	assert_int_equal(b.fd, -1);
	assert_string_equal(b.err, "not a configured filter");
	expect_connected(a.fd, clamd_lis);
	pair_close(&p);
}

/* Cancelled before the answer: done never runs, the socket is closed. */
static void
test_worker_cancel(void **state)
{
	struct pair p;
	struct got g = { 0 };
	struct filter_endpoint ep = endpoint(clamd_addr);
	struct filter_conn *c;
	int peer;
	char ch;

	(void)state;
	pair_open(&p);
	c = filter_connect(base, &ep, got_cb, &g);
	filter_connect_cancel(&c);
	assert_null(c);
	run_until(&p.served, 5);
	run_until(NULL, 0.1);
	assert_int_equal(p.served, 1);
	assert_int_equal(g.calls, 0);
	peer = accept(clamd_lis, NULL, NULL);
	assert_true(peer >= 0);
	assert_int_equal(read(peer, &ch, 1), 0);	/* EOF: it was closed */
	close(peer);
	pair_close(&p);
}

/* A socket for an id nobody waits for (or of another type) is closed. */
static void
test_worker_unsolicited(void **state)
{
	struct pair p;
	struct ipc_msg m;
	int pp[2];

	(void)state;
	pair_open(&p);
	assert_int_equal(pipe2(pp, O_CLOEXEC), 0);
	ipc_msg_init(&m, IPCM_FILTER_SOCKET, 4242);
	m.fd = pp[0];
	assert_int_equal(ipc_send(p.master, &m), 0);
	close(pp[0]);
	run_until(NULL, 0.1);
	assert_int_equal(write(pp[1], "x", 1), -1);	/* no reader left */
	assert_int_equal(errno, EPIPE);
	close(pp[1]);
	pair_close(&p);
}

/* The control socket is gone: a failure, later, not in the call. */
static void
test_worker_send_fails(void **state)
{
	struct pair p;
	struct got g = { 0 };
	struct filter_endpoint ep = endpoint(clamd_addr);

	(void)state;
	pair_open(&p);
	event_del(p.mev);
	close(p.master);
	p.master = -1;
	assert_non_null(filter_connect(base, &ep, got_cb, &g));
	assert_int_equal(g.calls, 0);
	run_until(&g.calls, 5);
	assert_int_equal(g.fd, -1);
	assert_non_null(strstr(g.err, "asking the master"));
	pair_close(&p);
}

/* A master that never answers: FILTER_CONNECT_SEC, then a failure. */
static void
test_worker_timeout(void **state)
{
	struct pair p;
	struct got g = { 0 };
	struct filter_endpoint ep = endpoint(clamd_addr);
	double t0 = now_s();

	(void)state;
	pair_open(&p);
	p.master_deaf = true;
	assert_non_null(filter_connect(base, &ep, got_cb, &g));
	run_until(&g.calls, FILTER_CONNECT_SEC + 5);
	assert_int_equal(g.calls, 1);
	assert_int_equal(g.fd, -1);
	assert_non_null(strstr(g.err, "no answer"));
	assert_true(now_s() - t0 >= FILTER_CONNECT_SEC - 0.1);
	assert_true(now_s() - t0 < FILTER_CONNECT_SEC + 2);
	pair_close(&p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_serve_configured),
		cmocka_unit_test(test_serve_refused),
		cmocka_unit_test(test_serve_connect_fails),
		cmocka_unit_test(test_serve_backlog_full),
		cmocka_unit_test(test_worker_connects_through_master),
		cmocka_unit_test(test_worker_refused),
		cmocka_unit_test(test_worker_ids),
		cmocka_unit_test(test_worker_cancel),
		cmocka_unit_test(test_worker_unsolicited),
		cmocka_unit_test(test_worker_send_fails),
		cmocka_unit_test(test_worker_timeout),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
