/*
 * Unit tests for msess over real TCP loopback connections: a forked child
 * runs the event loop with a tiny line protocol (tp_*) and a fake
 * directory (connect verdicts, logins); the parent is the client, plain or
 * TLS (a throwaway self-signed pair made with tls_selfsigned_ensure()).
 * Covered: greeting and input, a banned client closed before any byte,
 * pause_input, out_full/drained with a slow reader, close, the idle timer,
 * drain, STARTTLS discarding pipelined plaintext, implicit TLS, logins
 * (verdicts, the log line without the password, no callback after close),
 * and folder watches (inotify, shared, deleted from a callback, the 2 s
 * fallback).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/testdir.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>

#include "core/config.h"
#include "core/log.h"
#include "core/tls.h"
#include "ipc/ipc_proto.h"
#include "msess/msess.h"
#include "msess/msess_int.h"	/* msess_login_deadline_msec */

#define LINE_MAX_TEST	4096

/* ---- the server side (in the child) ---- */

static uint64_t g_connect_rc;		/* the fake directory's verdict */
static bool g_late_login;		/* a login callback after close */
static struct event_base *g_base;

struct tp {
	struct msess		*c;
	struct event		*unpause;
	struct msess_watch	*wa, *wb;
};

static void
tp_unpause(evutil_socket_t fd, short what, void *arg)
{
	struct tp *t = arg;

	(void)fd;
	(void)what;
	msess_printf(t->c, "RESUMED\r\n");
	msess_pause_input(t->c, false);
}

static void *
tp_open(struct msess *c)
{
	struct tp *t = calloc(1, sizeof(*t));

	assert_non_null(t);
	t->c = c;
	t->unpause = evtimer_new(g_base, tp_unpause, t);
	msess_printf(c, "HELLO %s\r\n", msess_tls_version(c));
	return t;
}

static void
tp_login_cb(void *arg, enum msess_login_rc rc, const char *mailbox)
{
	static const char *const w[] = { "ok", "fail", "banned", "tempfail" };
	struct tp *t = arg;

	if (t == NULL) {
		g_late_login = true;
		return;
	}
	msess_printf(t->c, "LOGIN %s %s\r\n", w[rc], mailbox ? mailbox : "-");
	msess_pause_input(t->c, false);
}

static void
tp_watch_cb(void *arg)
{
	struct tp *t = arg;

	msess_printf(t->c, "CHANGED\r\n");
}

/* Either of the two watches on one directory: the first to run removes
 * both, so the other must not run. */
static void
tp_watch2_cb(void *arg)
{
	struct tp *t = arg;

	msess_printf(t->c, "ONE\r\n");
	msess_watch_del(&t->wa);
	msess_watch_del(&t->wb);
}

static void
tp_drain_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	msess_server_drain(arg);
}

/* One command; false when the input loop must stop. */
static bool
tp_cmd(struct tp *t, const char *line)
{
	struct msess *c = t->c;

	if (strncmp(line, "ECHO ", 5) == 0) {
		msess_printf(c, "%s\r\n", line + 5);
	} else if (strcmp(line, "QUIT") == 0) {
		msess_printf(c, "BYE\r\n");
		msess_close(c, "quit");
		return false;
	} else if (strcmp(line, "PAUSE") == 0) {
		struct timeval tv = { 0, 200000 };

		msess_printf(c, "PAUSED\r\n");
		msess_pause_input(c, true);
		evtimer_add(t->unpause, &tv);
		return false;
	} else if (strcmp(line, "BIG") == 0) {
		char chunk[1025];
		unsigned n = 0;

		memset(chunk, 'x', sizeof(chunk) - 2);
		memcpy(chunk + sizeof(chunk) - 2, "\r\n", 2);
		while (!msess_out_full(c) && n++ < 100000)
			msess_write(c, chunk, sizeof(chunk));
		msess_printf(c, "FULL %u\r\n", n);
	} else if (strcmp(line, "STLS") == 0) {
		msess_printf(c, "GO\r\n");
		if (msess_starttls(c) == -1)
			msess_printf(c, "NOTLS\r\n");
		return false;
	} else if (strcmp(line, "IDLE1") == 0) {
		msess_set_idle(c, 1);
	} else if (strcmp(line, "DRAIN") == 0) {
		event_base_once(g_base, -1, EV_TIMEOUT, tp_drain_cb,
		    msess_server(c), NULL);
	} else if (strncmp(line, "LOGIN ", 6) == 0) {
		msess_pause_input(c, true);
		msess_login(c, "Carol", line + 6, tp_login_cb, t);
		return false;
	} else if (strcmp(line, "LOGINQUIT") == 0) {
		msess_login(c, "carol", "good", tp_login_cb, NULL);
		msess_close(c, "quit");
		return false;
	} else if (strncmp(line, "WATCH ", 6) == 0) {
		struct msess_watch *w = msess_watch_add(c, line + 6,
		    tp_watch_cb, t);

		msess_printf(c, "%s\r\n", w != NULL ? "WATCHING" : "NOWATCH");
	} else if (strncmp(line, "WATCH2 ", 7) == 0) {
		t->wa = msess_watch_add(c, line + 7, tp_watch2_cb, t);
		t->wb = msess_watch_add(c, line + 7, tp_watch2_cb, t);
		msess_printf(c, "%s\r\n", t->wa && t->wb ? "WATCHING" : "NOWATCH");
	} else {
		msess_printf(c, "PONG\r\n");
	}
	return true;
}

static void
tp_input(void *p)
{
	struct tp *t = p;

	for (int i = 0; i < 64; i++) {
		size_t len;
		char *line = evbuffer_readln(msess_input(t->c), &len,
		    EVBUFFER_EOL_CRLF_STRICT);
		bool go_on;

		if (line == NULL)
			return;
		go_on = tp_cmd(t, line);
		free(line);
		if (!go_on)
			return;
	}
}

static void
tp_drained(void *p)
{
	struct tp *t = p;

	msess_printf(t->c, "DRAINED\r\n");
}

static void
tp_timeout(void *p)
{
	struct tp *t = p;

	msess_printf(t->c, "TIMEOUT\r\n");
	msess_close(t->c, "timeout");
}

static void
tp_shutdown(void *p)
{
	struct tp *t = p;

	msess_printf(t->c, "SHUTDOWN\r\n");
	msess_close(t->c, "shutdown");
}

static void
tp_close(void *p)
{
	struct tp *t = p;

	msess_watch_del(&t->wa);
	msess_watch_del(&t->wb);
	event_free(t->unpause);
	free(t);
}

static const struct msess_proto tp_proto = {
	.name = "tproto", .open = tp_open, .input = tp_input,
	.drained = tp_drained, .timeout = tp_timeout, .shutdown = tp_shutdown,
	.close = tp_close,
};

struct fake_reply {
	ipc_reply_fn	 fn;
	void		*arg;
	struct ipc_msg	 m;
};

static void
fake_fire(evutil_socket_t fd, short what, void *arg)
{
	struct fake_reply *r = arg;

	(void)fd;
	(void)what;
	r->fn(r->arg, &r->m);
	free(r);
}

/* dird as msess sees it: IPCM_CONNECT -> g_connect_rc; IPCM_AUTH (must
 * be a mailbox login) -> "good": OK, "ban": BANNED, "late": OK but only
 * after 1.5 s (past the test's login deadline), else AUTH_FAIL. */
static int
fake_dir_call(void *arg, struct ipc_msg *req, ipc_reply_fn fn, void *fn_arg)
{
	struct fake_reply *r = calloc(1, sizeof(*r));
	struct timeval later = { 0, 20000 };
	const struct ipc_field *pass;
	uint64_t flags = 0;

	(void)arg;
	assert_non_null(r);
	r->fn = fn;
	r->arg = fn_arg;
	ipc_msg_init(&r->m, IPCM_REPLY, req->id);
	if (req->type == IPCM_CONNECT) {
		ipc_msg_add_u64(&r->m, IK_RC, g_connect_rc);
	} else {
		pass = ipc_msg_get(req, IK_PASS);
		ipc_msg_get_u64(req, IK_FLAGS, &flags);
		if (req->type != IPCM_AUTH || pass == NULL ||
		    !(flags & IPC_AUTH_MAILBOX))
			ipc_msg_add_u64(&r->m, IK_RC, IPCV_TEMPFAIL);
		else if (pass->len == 4 && memcmp(pass->data, "good", 4) == 0) {
			ipc_msg_add_u64(&r->m, IK_RC, IPCV_OK);
			ipc_msg_add_str(&r->m, IK_USER, "carol@example.org");
		} else if (pass->len == 4 && memcmp(pass->data, "late", 4) == 0) {
			ipc_msg_add_u64(&r->m, IK_RC, IPCV_OK);
			ipc_msg_add_str(&r->m, IK_USER, "carol@example.org");
			later.tv_usec = 500000;
			later.tv_sec = 1;
		} else if (pass->len == 3 && memcmp(pass->data, "ban", 3) == 0) {
			ipc_msg_add_u64(&r->m, IK_RC, IPCV_BANNED);
			ipc_msg_add_u64(&r->m, IK_EXPIRES, 1);
		} else {
			ipc_msg_add_u64(&r->m, IK_RC, IPCV_AUTH_FAIL);
		}
	}
	event_base_once(g_base, -1, EV_TIMEOUT, fake_fire, r, &later);
	return 0;
}

static void
server_tick(evutil_socket_t fd, short what, void *arg)
{
	struct msrv *srv = arg;

	(void)fd;
	(void)what;
	if (srv->nsessions == 0)
		event_base_loopbreak(srv->base);
}

/* The child: serves fd until the session is gone; exits 0, or 3 when a
 * login callback ran for a closed session. */
static void
server_run(int fd, enum cfg_service svc, SSL_CTX *tls)
{
	static struct config cfg;
	struct cfg_listen cl = { .service = svc };
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct timeval tick = { 0, 20000 };
	struct msrv srv;
	struct event *ev;
	const char *err;

	if (log_open("msess.log", &err) == -1)
		_exit(10);
	config_defaults(&cfg);
	msess_login_deadline_msec = 300;
	g_base = event_base_new();
	srv = (struct msrv){ .cfg = &cfg, .base = g_base, .tls = tls,
	    .dir_call = fake_dir_call, .inotify_fd = -1 };
	srv.log.service = "mworker";
	getpeername(fd, (struct sockaddr *)&ss, &sl);
	msess_start(&srv, &tp_proto, &cl, fd, (struct sockaddr *)&ss, sl);
	ev = event_new(g_base, -1, EV_PERSIST, server_tick, &srv);
	event_add(ev, &tick);
	event_base_dispatch(g_base);
	event_free(ev);
	if (srv.inotify_ev != NULL)
		event_free(srv.inotify_ev);
	if (srv.poll_ev != NULL)
		event_free(srv.poll_ev);
	event_base_free(g_base);
	_exit(g_late_login ? 3 : 0);
}

/* ---- the client side (the parent) ---- */

struct fixture {
	struct testdir	 td;
	SSL_CTX		*server_tls;
	SSL_CTX		*client_tls;
};

struct client {
	int	 fd;
	SSL	*ssl;
	pid_t	 pid;
	char	 buf[LINE_MAX_TEST * 2];
	size_t	 len;
	size_t	 bytes;	/* read so far */
};

static struct fixture *g_fx;

static void
nap_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* A connected loopback pair: *srv_out for the child. */
static int
tcp_pair(int *srv_out)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
	    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), c;
	struct timeval tv = { 10, 0 };

	assert_true(l != -1);
	assert_int_equal(bind(l, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(l, 1), 0);
	assert_int_equal(getsockname(l, (struct sockaddr *)&a, &al), 0);
	c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(connect(c, (struct sockaddr *)&a, sizeof(a)), 0);
	al = sizeof(a);
	*srv_out = accept4(l, (struct sockaddr *)&a, &al, SOCK_NONBLOCK |
	    SOCK_CLOEXEC);
	assert_true(*srv_out != -1);
	close(l);
	setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return c;
}

static void
client_start(struct client *cl, enum cfg_service svc, int sndbuf)
{
	int sfd;

	memset(cl, 0, sizeof(*cl));
	cl->fd = tcp_pair(&sfd);
	if (sndbuf > 0) {
		/* A slow reader: small buffers on both sides. */
		setsockopt(sfd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
		setsockopt(cl->fd, SOL_SOCKET, SO_RCVBUF, &sndbuf, sizeof(sndbuf));
	}
	cl->pid = fork();
	assert_true(cl->pid != -1);
	if (cl->pid == 0) {
		close(cl->fd);
		server_run(sfd, svc, g_fx->server_tls);
	}
	close(sfd);
}

static void
client_tls(struct client *cl)
{
	cl->ssl = SSL_new(g_fx->client_tls);
	assert_non_null(cl->ssl);
	SSL_set_fd(cl->ssl, cl->fd);
	assert_int_equal(SSL_connect(cl->ssl), 1);
}

/* Bytes into buf; 0 at EOF. */
static ssize_t
client_read(struct client *cl)
{
	size_t room = sizeof(cl->buf) - cl->len;
	ssize_t n;

	if (cl->ssl != NULL) {
		n = SSL_read(cl->ssl, cl->buf + cl->len, (int)room);
		/* The server ends TLS with close_notify: a clean end. */
		if (n <= 0)
			n = SSL_get_error(cl->ssl, (int)n) == SSL_ERROR_ZERO_RETURN ?
			    0 : -1;
	} else {
		n = recv(cl->fd, cl->buf + cl->len, room, 0);
	}
	if (n > 0) {
		cl->len += (size_t)n;
		cl->bytes += (size_t)n;
	}
	return n;
}

/* The next line without CRLF, or NULL at EOF. */
static const char *
client_line(struct client *cl)
{
	static char line[LINE_MAX_TEST];
	char *lf;

	while ((lf = memchr(cl->buf, '\n', cl->len)) == NULL) {
		assert_true(cl->len < LINE_MAX_TEST);
		if (client_read(cl) <= 0)
			return NULL;
	}
	assert_true(lf > cl->buf && lf[-1] == '\r');
	memcpy(line, cl->buf, (size_t)(lf - cl->buf) - 1);
	line[lf - cl->buf - 1] = '\0';
	cl->len -= (size_t)(lf - cl->buf) + 1;
	memmove(cl->buf, lf + 1, cl->len);
	return line;
}

static void
client_send(struct client *cl, const char *text)
{
	size_t len = strlen(text);

	if (cl->ssl != NULL)
		assert_int_equal(SSL_write(cl->ssl, text, (int)len), (int)len);
	else
		assert_int_equal(send(cl->fd, text, len, MSG_NOSIGNAL), (ssize_t)len);
}

static void
expect_line(struct client *cl, const char *want)
{
	const char *got = client_line(cl);

	assert_non_null(got);
	assert_string_equal(got, want);
}

static void
expect_prefix(struct client *cl, const char *want)
{
	const char *got = client_line(cl);

	assert_non_null(got);
	assert_memory_equal(got, want, strlen(want));
}

/* EOF, and the child exited 0. */
static void
client_end(struct client *cl)
{
	int status;

	assert_null(client_line(cl));
	if (cl->ssl != NULL)
		SSL_free(cl->ssl);
	close(cl->fd);
	assert_int_equal(waitpid(cl->pid, &status, 0), cl->pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static bool
log_has(const char *needle)
{
	FILE *f = fopen("msess.log", "r");
	char line[2048];
	bool found = false;

	if (f == NULL)
		return false;
	while (!found && fgets(line, sizeof(line), f) != NULL)
		found = strstr(line, needle) != NULL;
	fclose(f);
	return found;
}

static int
setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	struct config cfg;
	char err[256];

	assert_non_null(fx);
	testdir_enter(&fx->td, "msess");
	config_defaults(&cfg);
	assert_int_equal(tls_selfsigned_ensure("tls", "test.example", (uid_t)-1,
	    (gid_t)-1, err, sizeof(err)), 0);
	fx->server_tls = tls_server_ctx_new(&cfg, "tls", err, sizeof(err));
	assert_non_null(fx->server_tls);
	config_free(&cfg);
	fx->client_tls = SSL_CTX_new(TLS_client_method());
	SSL_CTX_set_verify(fx->client_tls, SSL_VERIFY_NONE, NULL);
	g_fx = fx;
	g_connect_rc = IPCV_OK;
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;

	SSL_CTX_free(fx->server_tls);
	SSL_CTX_free(fx->client_tls);
	testdir_leave(&fx->td);
	free(fx);
	return 0;
}

static void
test_greeting_input_close(void **state)
{
	struct client cl;

	(void)state;
	client_start(&cl, SVC_POP3, 0);
	expect_line(&cl, "HELLO none");
	client_send(&cl, "ECHO one\r\nECHO two\r\n");
	expect_line(&cl, "one");
	expect_line(&cl, "two");
	client_send(&cl, "QUIT\r\nECHO never\r\n");
	expect_line(&cl, "BYE");
	client_end(&cl);
	assert_true(log_has("service=tproto"));
	assert_true(log_has("event=connect ip=127.0.0.1"));
	assert_true(log_has("event=disconnect ip=127.0.0.1 reason=quit"));
}

static void
test_banned_hears_nothing(void **state)
{
	struct client cl;

	(void)state;
	g_connect_rc = IPCV_BANNED;
	client_start(&cl, SVC_IMAP, 0);
	client_end(&cl);
	assert_int_equal(cl.bytes, 0);
	assert_true(log_has("event=refused ip=127.0.0.1 reason=banned"));
}

static void
test_pause_input(void **state)
{
	struct client cl;

	(void)state;
	client_start(&cl, SVC_POP3, 0);
	expect_line(&cl, "HELLO none");
	/* Pipelined: ECHO waits in the buffer until the protocol resumes. */
	client_send(&cl, "PAUSE\r\nECHO after\r\n");
	expect_line(&cl, "PAUSED");
	expect_line(&cl, "RESUMED");
	expect_line(&cl, "after");
	client_send(&cl, "QUIT\r\n");
	expect_line(&cl, "BYE");
	client_end(&cl);
}

static void
test_out_full_drained(void **state)
{
	struct client cl;
	const char *l;
	unsigned n = 0;

	(void)state;
	client_start(&cl, SVC_POP3, 4096);
	expect_line(&cl, "HELLO none");
	client_send(&cl, "BIG\r\n");
	/* A slow reader: nothing read for a while. */
	nap_ms(300);
	while ((l = client_line(&cl)) != NULL && l[0] == 'x')
		n++;
	assert_non_null(l);
	assert_memory_equal(l, "FULL ", 5);
	/* Over MSESS_OUT_HIGH was queued before out_full said so. */
	assert_true((size_t)n * 1025 > MSESS_OUT_HIGH);
	assert_true(n < 100000);
	expect_line(&cl, "DRAINED");
	client_send(&cl, "QUIT\r\n");
	expect_line(&cl, "BYE");
	client_end(&cl);
}

static void
test_idle_timeout(void **state)
{
	struct client cl;

	(void)state;
	client_start(&cl, SVC_POP3, 0);
	expect_line(&cl, "HELLO none");
	client_send(&cl, "IDLE1\r\n");
	expect_line(&cl, "TIMEOUT");
	client_end(&cl);
	assert_true(log_has("reason=timeout"));
}

static void
test_drain(void **state)
{
	struct client cl;

	(void)state;
	client_start(&cl, SVC_IMAP, 0);
	expect_line(&cl, "HELLO none");
	client_send(&cl, "DRAIN\r\n");
	expect_line(&cl, "SHUTDOWN");
	client_end(&cl);
	assert_true(log_has("reason=shutdown"));
}

static void
test_starttls_discards_pipelined(void **state)
{
	struct client cl;
	const char *l;
	unsigned n = 0;

	(void)state;
	client_start(&cl, SVC_POP3, 4096);
	expect_line(&cl, "HELLO none");
	/* One segment: the injected command arrives with STLS. */
	client_send(&cl, "STLS\r\nECHO injected\r\n");
	expect_line(&cl, "GO");
	client_tls(&cl);
	client_send(&cl, "ECHO secure\r\n");
	expect_line(&cl, "secure");
	/* Pacing counts both layers (TLS and socket) after the upgrade. */
	client_send(&cl, "BIG\r\n");
	nap_ms(300);
	while ((l = client_line(&cl)) != NULL && l[0] == 'x')
		n++;
	assert_non_null(l);
	assert_memory_equal(l, "FULL ", 5);
	/* Ciphertext counts: a TLS record's overhead per chunk written. */
	assert_true((size_t)n * 1025 > MSESS_OUT_HIGH - MSESS_OUT_HIGH / 16);
	expect_line(&cl, "DRAINED");
	client_send(&cl, "QUIT\r\n");
	expect_line(&cl, "BYE");
	client_end(&cl);
	assert_true(log_has("event=starttls_injection ip=127.0.0.1 bytes=15"));
}

static void
test_starttls_twice_refused(void **state)
{
	struct client cl;

	(void)state;
	client_start(&cl, SVC_POP3S, 0);
	client_tls(&cl);
	expect_prefix(&cl, "HELLO TLSv1.");
	client_send(&cl, "STLS\r\n");
	expect_line(&cl, "GO");
	expect_line(&cl, "NOTLS");
	client_send(&cl, "QUIT\r\n");
	expect_line(&cl, "BYE");
	client_end(&cl);
}

static void
test_login(void **state)
{
	struct client cl;

	(void)state;
	client_start(&cl, SVC_IMAP, 0);
	expect_line(&cl, "HELLO none");
	client_send(&cl, "LOGIN good\r\nECHO next\r\n");
	expect_line(&cl, "LOGIN ok carol@example.org");
	expect_line(&cl, "next");
	client_send(&cl, "LOGIN wrong-password\r\n");
	expect_line(&cl, "LOGIN fail -");
	client_send(&cl, "LOGIN ban\r\n");
	expect_line(&cl, "LOGIN banned -");
	client_send(&cl, "QUIT\r\n");
	expect_line(&cl, "BYE");
	client_end(&cl);
	assert_true(log_has("event=login ip=127.0.0.1 user=Carol result=ok"));
	assert_true(log_has("event=login ip=127.0.0.1 user=Carol result=fail"));
	assert_true(log_has("event=login ip=127.0.0.1 user=Carol result=banned"));
	assert_true(log_has("event=ban ip=127.0.0.1"));
	assert_false(log_has("wrong-password"));
}

/* dird does not answer in time: the login answers TEMPFAIL at the
 * deadline, the session goes on, and the late answer is ignored (no second
 * callback, no login). */
static void
test_login_deadline(void **state)
{
	struct client cl;

	(void)state;
	client_start(&cl, SVC_IMAP, 0);
	expect_line(&cl, "HELLO none");
	client_send(&cl, "LOGIN late\r\nECHO next\r\n");
	expect_line(&cl, "LOGIN tempfail -");
	expect_line(&cl, "next");
	nap_ms(1800);	/* the answer came meanwhile */
	client_send(&cl, "ECHO after\r\n");
	expect_line(&cl, "after");
	client_send(&cl, "LOGIN good\r\n");
	expect_line(&cl, "LOGIN ok carol@example.org");
	client_send(&cl, "QUIT\r\n");
	expect_line(&cl, "BYE");
	client_end(&cl);
	assert_true(log_has("event=login ip=127.0.0.1 user=Carol result=tempfail"));
	assert_true(log_has("no login answer from the directory in time"));
	assert_false(log_has("late"));
}

static void
test_login_after_close_is_dropped(void **state)
{
	struct client cl;

	(void)state;
	client_start(&cl, SVC_POP3, 0);
	expect_line(&cl, "HELLO none");
	client_send(&cl, "LOGINQUIT\r\n");
	client_end(&cl);	/* exit 3 if the callback ran */
}

static void
test_watch(void **state)
{
	struct client cl;
	const char *l;
	bool first_changed;

	(void)state;
	assert_int_equal(mkdir("w1", 0700), 0);
	client_start(&cl, SVC_IMAP, 0);
	expect_line(&cl, "HELLO none");
	client_send(&cl, "WATCH w1\r\nWATCH ../etc\r\nWATCH /tmp\r\n");
	expect_line(&cl, "WATCHING");
	expect_line(&cl, "NOWATCH");
	expect_line(&cl, "NOWATCH");
	assert_int_equal(mkdir("w1/new", 0700), 0);
	expect_line(&cl, "CHANGED");
	/* Two subscribers of one directory; the first to run removes both. */
	assert_int_equal(mkdir("w2", 0700), 0);
	client_send(&cl, "WATCH2 w2\r\n");
	expect_line(&cl, "WATCHING");
	assert_int_equal(rename("w1/new", "w2/new"), 0);
	/* w1 (moved from) and w2 (moved to), in either order. */
	l = client_line(&cl);
	assert_non_null(l);
	first_changed = strcmp(l, "CHANGED") == 0;
	assert_true(first_changed || strcmp(l, "ONE") == 0);
	expect_line(&cl, first_changed ? "ONE" : "CHANGED");
	nap_ms(100);
	assert_int_equal(rmdir("w2/new"), 0);
	client_send(&cl, "PING\r\n");
	expect_line(&cl, "PONG");
	client_send(&cl, "QUIT\r\n");
	expect_line(&cl, "BYE");
	client_end(&cl);
}

static void
test_watch_fallback(void **state)
{
	struct client cl;
	struct timeval t0, t1;

	(void)state;
	/* No such directory yet: inotify refuses, the 2 s timer stands in. */
	client_start(&cl, SVC_POP3, 0);
	expect_line(&cl, "HELLO none");
	gettimeofday(&t0, NULL);
	client_send(&cl, "WATCH later\r\n");
	expect_line(&cl, "WATCHING");
	expect_line(&cl, "CHANGED");
	gettimeofday(&t1, NULL);
	assert_true(t1.tv_sec - t0.tv_sec <= 4);
	/* Once the directory exists, the next tick moves it to inotify, and
	 * the timer stops: no more calls without a change. */
	assert_int_equal(mkdir("later", 0700), 0);
	expect_line(&cl, "CHANGED");
	nap_ms(100);
	assert_int_equal(mkdir("later/new", 0700), 0);
	expect_line(&cl, "CHANGED");
	nap_ms(2500);
	client_send(&cl, "PING\r\n");
	expect_line(&cl, "PONG");
	client_send(&cl, "QUIT\r\n");
	expect_line(&cl, "BYE");
	client_end(&cl);
	assert_true(log_has("event=inotify"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_greeting_input_close, setup, teardown),
		cmocka_unit_test_setup_teardown(test_banned_hears_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pause_input, setup, teardown),
		cmocka_unit_test_setup_teardown(test_out_full_drained, setup, teardown),
		cmocka_unit_test_setup_teardown(test_idle_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_login_deadline, setup, teardown),
		cmocka_unit_test_setup_teardown(test_drain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_starttls_discards_pipelined,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_starttls_twice_refused, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_login, setup, teardown),
		cmocka_unit_test_setup_teardown(test_login_after_close_is_dropped,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_watch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_watch_fallback, setup, teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
