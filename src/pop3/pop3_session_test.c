/*
 * Unit tests for the POP3 session (pop3_session.c, pop3_trans.c) driven
 * through pop3_proto over fakes of msess (an input and an output
 * evbuffer, a TLS switch, a login answered by the test) and of the mbox
 * calls POP3 makes (messages in temporary files). The real connection
 * layer and store are tested by tests/integration/test_pop3.py; here are
 * the states, replies, pipelining, pacing and limits, exactly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "core/config.h"
#include "core/limits.h"
#include "pop3/pop3_session.h"
#include "store/mbox.h"

/* ---- the msess fake ---- */

struct msess {
	struct evbuffer	*in, *out;
	struct msrv	 srv;
	struct log_ctx	 log;
	bool		 tls, paused, closed, starttls_called;
	char		 close_reason[64];
	size_t		 out_limit;	/* out_full when out is above it */
	unsigned	 idle;
	/* The pending login. */
	msess_login_fn	 login_fn;
	void		*login_arg;
	char		 login_user[400];
	char		 login_pass[600];
};

static struct config cfg;
static struct msess conn;
static void *sess;

struct msrv *msess_server(struct msess *c) { return &c->srv; }
const struct config *msess_config(struct msess *c) { (void)c; return &cfg; }
const char *msess_ip(struct msess *c) { (void)c; return "192.0.2.1"; }
const char *msess_id(struct msess *c) { (void)c; return "0123456789abcdef"; }
struct log_ctx *msess_log(struct msess *c) { return &c->log; }
bool msess_tls(struct msess *c) { return c->tls; }
struct evbuffer *msess_input(struct msess *c) { return c->in; }
void msess_pause_input(struct msess *c, bool paused) { c->paused = paused; }
void msess_set_idle(struct msess *c, unsigned sec) { c->idle = sec; }

void
msess_write(struct msess *c, const void *data, size_t len)
{
	assert_false(c->closed);
	evbuffer_add(c->out, data, len);
}

void
msess_printf(struct msess *c, const char *fmt, ...)
{
	va_list ap;

	assert_false(c->closed);
	va_start(ap, fmt);
	evbuffer_add_vprintf(c->out, fmt, ap);
	va_end(ap);
}

bool
msess_out_full(struct msess *c)
{
	return evbuffer_get_length(c->out) > c->out_limit;
}

int
msess_starttls(struct msess *c)
{
	c->starttls_called = true;
	evbuffer_drain(c->in, evbuffer_get_length(c->in));
	c->tls = true;
	return 0;
}

void
msess_close(struct msess *c, const char *reason)
{
	assert_false(c->closed);
	c->closed = true;
	snprintf(c->close_reason, sizeof(c->close_reason), "%s", reason);
}

void
msess_login(struct msess *c, const char *user, const char *pass,
    msess_login_fn fn, void *arg)
{
	assert_null(c->login_fn);
	c->login_fn = fn;
	c->login_arg = arg;
	snprintf(c->login_user, sizeof(c->login_user), "%s", user);
	snprintf(c->login_pass, sizeof(c->login_pass), "%s", pass);
}

/* ---- the mbox fake: one maildrop ---- */

#define NMSG_MAX	8
static const char *msg_text[NMSG_MAX];
static struct mbox_msg msgs[NMSG_MAX];
static uint32_t nmsg;
static bool locked, lock_busy, deleted[NMSG_MAX];
static size_t delete_fail;
static int fake_u, fake_m;

char *
mbox_root(const char *key)
{
	assert_string_equal(key, "bob@example.org");
	return strdup("example.org/bob");
}

struct mbox_user *
mbox_user_open(const char *root, char *err, size_t errlen)
{
	if (errlen > 0)
		err[0] = '\0';
	assert_string_equal(root, "example.org/bob");
	return (struct mbox_user *)&fake_u;
}

void mbox_user_close(struct mbox_user **up) { *up = NULL; }

int
mbox_pop3_lock(struct mbox_user *u)
{
	(void)u;
	if (lock_busy || locked) {
		errno = EWOULDBLOCK;
		return -1;
	}
	locked = true;
	return open("/dev/null", O_RDONLY);
}

struct mbox *
mbox_open(struct mbox_user *u, const char *name, bool ro, char *err,
    size_t errlen)
{
	(void)u;
	if (errlen > 0)
		err[0] = '\0';
	assert_string_equal(name, "INBOX");
	assert_false(ro);
	return (struct mbox *)&fake_m;
}

void mbox_close(struct mbox **mp) { *mp = NULL; locked = false; }
uint32_t mbox_count(const struct mbox *m) { (void)m; return nmsg; }
uint32_t mbox_uidvalidity(const struct mbox *m) { (void)m; return 0x5f00aa01; }
const struct mbox_msg *mbox_msg(const struct mbox *m, uint32_t i) { (void)m; return &msgs[i]; }

int
mbox_msg_open(struct mbox *m, uint32_t idx)
{
	FILE *f = tmpfile();
	int fd;

	(void)m;
	fputs(msg_text[idx], f);
	fflush(f);
	fd = dup(fileno(f));
	fclose(f);
	lseek(fd, 0, SEEK_SET);
	return fd;
}

size_t
mbox_delete(struct mbox *m, const bool *del)
{
	(void)m;
	for (uint32_t i = 0; i < nmsg; i++)
		deleted[i] = del[i];
	return delete_fail;
}

static void
add_msg(const char *text)
{
	uint64_t vs = 0;

	for (const char *p = text; *p != '\0'; p++)
		vs += *p == '\n' ? 2 : 1;
	msg_text[nmsg] = text;
	msgs[nmsg] = (struct mbox_msg){ .uid = 10 + nmsg, .vsize = vs };
	nmsg++;
}

/* ---- driving ---- */

static int
setup(void **state)
{
	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	cfg.hostname = "mx.example.org";
	static char *mechs[] = { "PLAIN", "LOGIN" };
	cfg.auth.mechanisms.v = mechs;
	cfg.auth.mechanisms.n = 2;
	memset(&conn, 0, sizeof(conn));
	conn.in = evbuffer_new();
	conn.out = evbuffer_new();
	conn.srv.tls = (SSL_CTX *)&cfg;	/* non-NULL: STLS offered */
	conn.out_limit = SIZE_MAX;
	conn.log.service = "pop3";
	nmsg = 0;
	locked = lock_busy = false;
	delete_fail = 0;
	memset(deleted, 0, sizeof(deleted));
	log_set_level(LOGL_ERROR);
	sess = pop3_proto.open(&conn);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	pop3_proto.close(sess);
	evbuffer_free(conn.in);
	evbuffer_free(conn.out);
	return 0;
}

/* Everything written so far, as a string; clears the output. */
static char *
out(void)
{
	static char *last;
	size_t n = evbuffer_get_length(conn.out);

	free(last);
	last = malloc(n + 1);
	evbuffer_remove(conn.out, last, n);
	last[n] = '\0';
	return last;
}

static char *
feed(const char *bytes)
{
	evbuffer_add(conn.in, bytes, strlen(bytes));
	pop3_proto.input(sess);
	return out();
}

static void
answer_login(enum msess_login_rc rc)
{
	msess_login_fn fn = conn.login_fn;

	assert_non_null(fn);
	conn.login_fn = NULL;
	fn(conn.login_arg, rc, rc == MSESS_LOGIN_OK ? "bob@example.org" : NULL);
}

static void
login(void)
{
	conn.tls = true;
	assert_string_equal(feed("USER Bob@Example.org\r\nPASS secret pw\r\n"),
	    "+OK send PASS\r\n");
	assert_true(conn.paused);
	assert_string_equal(conn.login_user, "bob@example.org");
	assert_string_equal(conn.login_pass, "secret pw");
	answer_login(MSESS_LOGIN_OK);
	assert_false(conn.paused);
}

/* ---- tests ---- */

static void
test_greeting_and_capa(void **state)
{
	(void)state;
	assert_string_equal(out(), "+OK mx.example.org POP3 ready\r\n");
	assert_int_equal(conn.idle, 600);
	assert_string_equal(feed("CAPA\r\n"), "+OK capability list follows\r\n"
	    "STLS\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\n.\r\n");
	assert_string_equal(feed("STLS\r\nCAPA\r\n"), "+OK begin TLS negotiation\r\n");
	assert_true(conn.starttls_called);
	assert_string_equal(feed("capa\r\n"), "+OK capability list follows\r\n"
	    "TOP\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\n"
	    "USER\r\nSASL PLAIN\r\n.\r\n");
	assert_string_equal(feed("STLS\r\n"), "-ERR already using TLS\r\n");
}

static void
test_no_login_before_tls(void **state)
{
	(void)state;
	out();
	assert_string_equal(feed("USER bob\r\n"),
	    "-ERR [AUTH] TLS required: use STLS first\r\n");
	assert_string_equal(feed("PASS x\r\n"),
	    "-ERR [AUTH] TLS required: use STLS first\r\n");
	assert_string_equal(feed("AUTH PLAIN AGJvYgB4\r\n"),
	    "-ERR [AUTH] TLS required: use STLS first\r\n");
	assert_null(conn.login_fn);
	assert_string_equal(feed("STAT\r\n"), "-ERR command not valid in this state\r\n");
	assert_string_equal(feed("QUIT\r\n"), "+OK bye\r\n");
	assert_true(conn.closed);
}

static void
test_login_results(void **state)
{
	(void)state;
	out();
	conn.tls = true;
	assert_string_equal(feed("PASS x\r\n"), "-ERR send USER first\r\n");
	feed("USER bob\r\nPASS bad\r\n");
	answer_login(MSESS_LOGIN_FAIL);
	assert_string_equal(out(), "-ERR [AUTH] invalid user name or password\r\n");
	/* USER is forgotten after a PASS. */
	assert_string_equal(feed("PASS x\r\n"), "-ERR send USER first\r\n");
	feed("USER bob\r\nPASS x\r\n");
	answer_login(MSESS_LOGIN_TEMPFAIL);
	assert_string_equal(out(),
	    "-ERR [SYS/TEMP] try again later, ref 0123456789abcdef\r\n");
	lock_busy = true;
	feed("USER bob\r\nPASS x\r\n");
	answer_login(MSESS_LOGIN_OK);
	assert_string_equal(out(),
	    "-ERR [IN-USE] mailbox in use by another session\r\n");
	lock_busy = false;
	feed("USER bob\r\nPASS x\r\n");
	answer_login(MSESS_LOGIN_BANNED);
	assert_string_equal(out(), "-ERR [SYS/PERM] too many failed logins\r\n");
	assert_true(conn.closed);
	assert_string_equal(conn.close_reason, "banned");
}

static void
test_auth_plain(void **state)
{
	(void)state;
	out();
	conn.tls = true;
	assert_string_equal(feed("AUTH\r\n"), "+OK mechanisms follow\r\nPLAIN\r\n.\r\n");
	assert_string_equal(feed("AUTH LOGIN\r\n"),
	    "-ERR unsupported authentication mechanism\r\n");
	assert_string_equal(feed("AUTH PLAIN\r\n"), "+ \r\n");
	assert_string_equal(feed("*\r\n"), "-ERR AUTH cancelled\r\n");
	/* "\0bob\0pw" */
	assert_string_equal(feed("AUTH PLAIN\r\n"), "+ \r\n");
	assert_string_equal(feed("AGJvYgBwdw==\r\n"), "");
	assert_string_equal(conn.login_user, "bob");
	assert_string_equal(conn.login_pass, "pw");
	answer_login(MSESS_LOGIN_FAIL);
	out();
	/* "alice\0bob\0pw": another authzid. */
	assert_string_equal(feed("AUTH PLAIN YWxpY2UAYm9iAHB3\r\n"),
	    "-ERR [AUTH] malformed or refused PLAIN response\r\n");
	assert_null(conn.login_fn);
	/* "bob\0bob\0pw": the same one. */
	assert_string_equal(feed("AUTH PLAIN Ym9iAGJvYgBwdw==\r\nSTAT\r\n"), "");
	/* STAT waits for the login. */
	answer_login(MSESS_LOGIN_OK);
	assert_string_equal(out(), "+OK maildrop has 0 messages (0 octets)\r\n"
	    "+OK 0 0\r\n");
}

static void
test_transaction(void **state)
{
	(void)state;
	add_msg("Subject: a\n\nbody a\n");
	add_msg("Subject: b\n\n.dot\nx\ny\n");
	add_msg("Subject: c\n\nno final newline");
	out();
	login();
	assert_string_equal(out(), "+OK maildrop has 3 messages (78 octets)\r\n");
	assert_string_equal(feed("STAT\r\n"), "+OK 3 78\r\n");
	assert_string_equal(feed("LIST\r\n"),
	    "+OK 3 messages (78 octets)\r\n1 22\r\n2 26\r\n3 30\r\n.\r\n");
	assert_string_equal(feed("LIST 2\r\n"), "+OK 2 26\r\n");
	assert_string_equal(feed("LIST 4\r\n"), "-ERR no such message\r\n");
	assert_string_equal(feed("UIDL\r\n"), "+OK unique-id listing follows\r\n"
	    "1 5f00aa010000000a\r\n2 5f00aa010000000b\r\n3 5f00aa010000000c\r\n.\r\n");
	assert_string_equal(feed("UIDL 3\r\n"), "+OK 3 5f00aa010000000c\r\n");
	assert_string_equal(feed("RETR 2\r\n"), "+OK 26 octets\r\n"
	    "Subject: b\r\n\r\n..dot\r\nx\r\ny\r\n.\r\n");
	assert_string_equal(feed("RETR 3\r\n"), "+OK 30 octets\r\n"
	    "Subject: c\r\n\r\nno final newline\r\n.\r\n");
	assert_string_equal(feed("TOP 2 1\r\n"), "+OK top of message follows\r\n"
	    "Subject: b\r\n\r\n..dot\r\n.\r\n");
	assert_string_equal(feed("DELE 2\r\n"), "+OK message 2 deleted\r\n");
	assert_string_equal(feed("DELE 2\r\n"), "-ERR message 2 already deleted\r\n");
	assert_string_equal(feed("RETR 2\r\n"), "-ERR message 2 already deleted\r\n");
	assert_string_equal(feed("TOP 2 0\r\n"), "-ERR message 2 already deleted\r\n");
	assert_string_equal(feed("UIDL 2\r\n"), "-ERR message 2 already deleted\r\n");
	assert_string_equal(feed("STAT\r\n"), "+OK 2 52\r\n");
	assert_string_equal(feed("LIST\r\n"),
	    "+OK 2 messages (52 octets)\r\n1 22\r\n3 30\r\n.\r\n");
	assert_string_equal(feed("RSET\r\n"), "+OK maildrop has 3 messages (78 octets)\r\n");
	assert_string_equal(feed("NOOP\r\n"), "+OK\r\n");
	assert_string_equal(feed("DELE 1\r\nDELE 3\r\nQUIT\r\n"),
	    "+OK message 1 deleted\r\n+OK message 3 deleted\r\n"
	    "+OK bye (2 messages deleted)\r\n");
	assert_true(deleted[0] && !deleted[1] && deleted[2]);
	assert_true(conn.closed);
	assert_false(locked);
}

static void
test_update_failure_and_drop(void **state)
{
	(void)state;
	add_msg("a\n");
	out();
	login();
	out();
	delete_fail = 1;
	assert_string_equal(feed("DELE 1\r\nQUIT\r\n"), "+OK message 1 deleted\r\n"
	    "-ERR some deleted messages not removed\r\n");
}

static void
test_drop_deletes_nothing(void **state)
{
	(void)state;
	add_msg("a\n");
	out();
	login();
	feed("DELE 1\r\n");
	/* The connection goes: close() without QUIT. */
	pop3_proto.close(sess);
	assert_false(deleted[0]);
	assert_false(locked);
	/* teardown's close(): a fresh session. */
	sess = pop3_proto.open(&conn);
}

static void
test_pacing(void **state)
{
	static char big[300000];
	size_t total = 0;

	(void)state;
	memset(big, 'x', sizeof(big) - 1);
	for (size_t i = 99; i < sizeof(big) - 1; i += 100)
		big[i] = '\n';
	big[sizeof(big) - 2] = '\n';
	add_msg(big);
	out();
	login();
	out();
	conn.out_limit = 1000;
	/* RETR stops once the output is full; STAT waits behind it. */
	total = strlen(feed("RETR 1\r\nSTAT\r\n"));
	assert_true(evbuffer_get_length(conn.in) > 0);
	for (int round = 0; round < 100000 && evbuffer_get_length(conn.in) > 0; round++) {
		size_t n = evbuffer_get_length(conn.out);

		/* One read at most: 64 KiB in, about 66 KiB out. */
		assert_true(n < 1000 + 2 * 64 * 1024 + 16);
		total += n;
		evbuffer_drain(conn.out, n);
		pop3_proto.drained(sess);
	}
	total += evbuffer_get_length(conn.out);
	assert_int_equal(evbuffer_get_length(conn.in), 0);
	/* +OK line, the message with CRLF, ".", and STAT's reply. */
	assert_int_equal(total, strlen("+OK 302999 octets\r\n") + 302999 +
	    strlen(".\r\n") + strlen("+OK 1 302999\r\n"));
}

static void
test_limits_and_framing(void **state)
{
	char line[400];

	(void)state;
	out();
	conn.tls = true;
	memset(line, 'x', sizeof(line));
	memcpy(line, "USER ", 5);
	memcpy(line + 253, "\r\n", 3);		/* 255 with CRLF */
	assert_string_equal(feed(line), "+OK send PASS\r\n");
	line[253] = 'x';
	memcpy(line + 254, "\r\n", 3);		/* 256 */
	assert_string_equal(feed(line), "-ERR line too long\r\n");
	/* Too long, in pieces: the rest is skipped up to its LF. */
	memset(line, 'y', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\0';
	assert_string_equal(feed(line), "-ERR line too long\r\n");
	assert_string_equal(feed(line), "");
	assert_string_equal(feed("yyy\r\nNOOP\r\n"), "-ERR command not valid in this state\r\n");
	assert_string_equal(feed("LIST x\r\n"), "-ERR syntax: LIST [msg]\r\n");
	assert_false(conn.closed);
	assert_string_equal(feed("CAPA\n"), "-ERR bare CR or LF not allowed, closing\r\n");
	assert_true(conn.closed);
}

static void
test_too_many_errors(void **state)
{
	(void)state;
	out();
	for (int i = 0; i < 9; i++)
		assert_string_equal(feed("BOGUS\r\n"), "-ERR unknown command\r\n");
	assert_string_equal(feed("BOGUS\r\nCAPA\r\n"), "-ERR too many errors, closing\r\n");
	assert_true(conn.closed);
}

static void
test_timeout_and_shutdown(void **state)
{
	(void)state;
	out();
	pop3_proto.timeout(sess);
	assert_string_equal(out(), "-ERR [SYS/TEMP] idle timeout\r\n");
	assert_true(conn.closed);
	pop3_proto.close(sess);
	conn.closed = false;
	sess = pop3_proto.open(&conn);
	out();
	pop3_proto.shutdown(sess);
	assert_string_equal(out(), "-ERR [SYS/TEMP] server shutting down\r\n");
	assert_true(conn.closed);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_greeting_and_capa, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_login_before_tls, setup, teardown),
		cmocka_unit_test_setup_teardown(test_login_results, setup, teardown),
		cmocka_unit_test_setup_teardown(test_auth_plain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_transaction, setup, teardown),
		cmocka_unit_test_setup_teardown(test_update_failure_and_drop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_drop_deletes_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pacing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limits_and_framing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_too_many_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timeout_and_shutdown, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
