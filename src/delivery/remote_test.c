/*
 * Tests for delivery/remote: whole delivery attempts against fake SMTP
 * peers running on the test's own event loop (scripted by struct
 * peer_cfg, on 127.0.0.2-8, one port for all) and the test DNS server
 * (tests/dns/dnsserver.py with tests/delivery/remote.zone, started here
 * from the source root as `make unit` does). Nothing leaves loopback.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/tls.h"
#include "core/xalloc.h"
#include "delivery/remote.h"
#include "dns/dns.h"

#define RCPTS_MAX	8

static char	 dns_server[64];
static pid_t	 dns_pid = -1;
static int	 dns_stdin = -1;
static unsigned	 port;		/* every fake peer's port */
static int	 port_fd = -1;	/* keeps the port ours on 127.0.0.1 */
static char	 tmpdir[64];
static SSL_CTX	*peer_tls;

/* ---- a fake SMTP server on the test's loop ---- */

struct peer_cfg {
	const char	*greeting;	/* default "220 peer ESMTP" */
	const char	*ehlo;		/* whole reply; default below */
	const char	*mail;		/* reply to MAIL; default 250 */
	const char	*data;		/* reply to DATA; default 354 */
	const char	*final;		/* reply after the dot; default 250 */
	const char	*auth;		/* reply to AUTH; default 235 */
	const char	*garbage;	/* sent at connect instead of a greeting */
	size_t		 garbage_len;
	bool		 stall;		/* says nothing, ever */
	bool		 close_in_data;	/* hangs up at the first DATA line */
	bool		 bad_tls;	/* STARTTLS answered 220, then garbage */
	bool		 inject;	/* a plaintext reply right after its 220 */
	int		 close_at_mail;	/* hangs up at the Nth MAIL of a session */
	int		 bye_at_mail;	/* 421 (then hangs up) at the Nth MAIL */
};

#define EHLO_FULL	"250-peer\r\n250-PIPELINING\r\n250-SIZE 1000000\r\n" \
	"250-8BITMIME\r\n250-SMTPUTF8\r\n250 ENHANCEDSTATUSCODES\r\n"

struct peer {
	struct evconnlistener	*lis;
	struct peer_cfg		 cfg;
	int			 conns;		/* accepted */
	int			 messages;	/* final replies sent */
	int			 pipelined;	/* MAIL/RCPT with bytes behind */
	int			 tls;		/* handshakes done */
	char			 sni[256];	/* server name the client sent */
	struct buf		 log;		/* command lines, '\n' after each */
	struct buf		 data;		/* the last DATA, as on the wire */
	struct peer_sess	*sessions;
};

struct peer_sess {
	struct peer		*p;
	struct bufferevent	*bev;
	bool			 in_data, tls, bad_tls;
	int			 mails;
	struct peer_sess	*prev, *next;
};

static void peer_read_cb(struct bufferevent *bev, void *arg);

static void
peer_sess_free(struct peer_sess *s)
{
	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		s->p->sessions = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	bufferevent_free(s->bev);
	free(s);
}

static void
peer_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct peer_sess *s = arg;

	if (what & BEV_EVENT_CONNECTED) {
		const char *sni = SSL_get_servername(
		    bufferevent_openssl_get_ssl(bev), TLSEXT_NAMETYPE_host_name);

		s->p->tls++;
		snprintf(s->p->sni, sizeof(s->p->sni), "%s",
		    sni != NULL ? sni : "");
		return;
	}
	peer_sess_free(s);
}

static void
peer_say(struct peer_sess *s, const char *text)
{
	bufferevent_write(s->bev, text, strlen(text));
}

static void
peer_starttls(struct peer_sess *s)
{
	struct bufferevent *tls;

	/* RFC 3207 5: what follows the 220 in clear must be thrown away by
	 * the client; taken as TLS it would break the handshake. */
	peer_say(s, s->p->cfg.inject ? "220 2.0.0 go ahead\r\n250-injected\r\n"
	    "250 AUTH PLAIN\r\n" : "220 2.0.0 go ahead\r\n");
	if (s->p->cfg.bad_tls) {
		s->bad_tls = true;	/* answers the ClientHello with junk */
		return;
	}
	tls = bufferevent_openssl_filter_new(bufferevent_get_base(s->bev),
	    s->bev, SSL_new(peer_tls), BUFFEREVENT_SSL_ACCEPTING,
	    BEV_OPT_CLOSE_ON_FREE);
	assert_non_null(tls);
	s->bev = tls;
	s->tls = true;
	bufferevent_setcb(tls, peer_read_cb, NULL, peer_event_cb, s);
	bufferevent_enable(tls, EV_READ | EV_WRITE);
}

static const char *
peer_rcpt_reply(const char *line)
{
	if (strstr(line, "<defer") != NULL)
		return "450 4.2.1 mailbox busy\r\n";
	if (strstr(line, "<reject") != NULL)
		return "550 5.1.1 no such user\r\n";
	if (strstr(line, "<plain") != NULL)
		return "250 ok\r\n";	/* no enhanced code */
	return "250 2.1.5 ok\r\n";
}

/* One command line; false when the session is gone. */
static bool
peer_command(struct peer_sess *s, const char *line, size_t behind)
{
	struct peer *p = s->p;
	const struct peer_cfg *c = &p->cfg;

	buf_append_str(&p->log, line);
	buf_append(&p->log, "\n", 1);
	if (strncasecmp(line, "EHLO", 4) == 0) {
		/* After TLS: without STARTTLS, with AUTH. */
		peer_say(s, s->tls ? "250-peer\r\n250-PIPELINING\r\n"
		    "250-SIZE 1000000\r\n250 AUTH LOGIN PLAIN\r\n" :
		    c->ehlo != NULL ? c->ehlo : EHLO_FULL);
	} else if (strncasecmp(line, "HELO", 4) == 0) {
		peer_say(s, "250 peer\r\n");
	} else if (strcasecmp(line, "STARTTLS") == 0) {
		peer_starttls(s);
	} else if (strncasecmp(line, "AUTH", 4) == 0) {
		peer_say(s, c->auth != NULL ? c->auth : "235 2.7.0 ok\r\n");
	} else if (strncasecmp(line, "MAIL", 4) == 0) {
		if (++s->mails == c->close_at_mail) {
			peer_sess_free(s);
			return false;
		}
		if (s->mails == c->bye_at_mail) {
			peer_say(s, "421 4.4.2 idle too long, bye\r\n");
			return true;
		}
		p->pipelined += behind > 0;
		peer_say(s, c->mail != NULL ? c->mail : "250 2.1.0 ok\r\n");
	} else if (strncasecmp(line, "RCPT", 4) == 0) {
		p->pipelined += behind > 0;
		peer_say(s, peer_rcpt_reply(line));
	} else if (strcasecmp(line, "DATA") == 0) {
		peer_say(s, c->data != NULL ? c->data : "354 go on\r\n");
		s->in_data = c->data == NULL || c->data[0] == '3';
		buf_reset(&p->data);
	} else if (strcasecmp(line, "QUIT") == 0) {
		peer_say(s, "221 2.0.0 bye\r\n");
	} else {
		peer_say(s, "250 2.0.0 ok\r\n");
	}
	return true;
}

/* One line of DATA; false when the session is gone. */
static bool
peer_data_line(struct peer_sess *s, const char *line, size_t len)
{
	struct peer *p = s->p;

	if (p->cfg.close_in_data) {
		peer_sess_free(s);
		return false;
	}
	if (len == 1 && line[0] == '.') {
		s->in_data = false;
		p->messages++;
		peer_say(s, p->cfg.final != NULL ? p->cfg.final :
		    "250 2.0.0 queued as 1\r\n");
		return true;
	}
	buf_append(&p->data, line, len);
	buf_append(&p->data, "\r\n", 2);
	return true;
}

static void
peer_read_cb(struct bufferevent *bev, void *arg)
{
	struct peer_sess *s = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct bufferevent *was = s->bev;
	size_t len;
	char *line;
	bool alive = true;

	if (s->bad_tls) {
		evbuffer_drain(in, evbuffer_get_length(in));
		peer_say(s, "this is not a TLS record, at all\r\n");
		return;
	}
	while (alive && s->bev == was &&
	    (line = evbuffer_readln(in, &len, EVBUFFER_EOL_CRLF_STRICT)) != NULL) {
		if (s->in_data)
			alive = peer_data_line(s, line, len);
		else
			alive = peer_command(s, line, evbuffer_get_length(in));
		free(line);
	}
}

static void
peer_accept_cb(struct evconnlistener *lis, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct peer *p = arg;
	struct peer_sess *s = xcalloc(1, sizeof(*s));

	(void)sa;
	(void)salen;
	s->p = p;
	s->next = p->sessions;
	if (s->next != NULL)
		s->next->prev = s;
	p->sessions = s;
	s->bev = bufferevent_socket_new(evconnlistener_get_base(lis), fd,
	    BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(s->bev, peer_read_cb, NULL, peer_event_cb, s);
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
	p->conns++;
	if (p->cfg.stall)
		return;
	if (p->cfg.garbage != NULL)
		bufferevent_write(s->bev, p->cfg.garbage, p->cfg.garbage_len);
	else
		peer_say(s, p->cfg.greeting != NULL ? p->cfg.greeting :
		    "220 peer ESMTP\r\n");
}

/* A peer on 127.0.0.<last>:port, or [::1]:port for last 0. */
static struct peer *
peer_new(struct event_base *base, int last, const struct peer_cfg *cfg)
{
	struct peer *p = xcalloc(1, sizeof(*p));
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6 };

	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(0x7f000000u | (unsigned)last);
	sin6.sin6_port = htons((uint16_t)port);
	sin6.sin6_addr = in6addr_loopback;
	if (cfg != NULL)
		p->cfg = *cfg;
	buf_init(&p->log, 1 << 20);
	buf_init(&p->data, 16 << 20);
	p->lis = evconnlistener_new_bind(base, peer_accept_cb, p,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 16,
	    last == 0 ? (struct sockaddr *)&sin6 : (struct sockaddr *)&sin,
	    last == 0 ? sizeof(sin6) : sizeof(sin));
	if (p->lis == NULL)
		fail_msg("cannot listen on 127.0.0.%d:%u", last, port);
	return p;
}

static void
peer_free(struct peer *p)
{
	if (p == NULL)
		return;
	while (p->sessions != NULL)
		peer_sess_free(p->sessions);
	evconnlistener_free(p->lis);
	buf_free(&p->log);
	buf_free(&p->data);
	free(p);
}

/* ---- the fixture: loop, configuration, dns, remote ---- */

struct fx {
	struct event_base	*base;
	struct config		 cfg;
	struct dns		*dns;
	struct remote		*r;
	struct peer		*peer[9];	/* by the last byte of its IP */
	int			 body_fd;
};

struct result {
	int			 calls;
	size_t			 n;
	enum remote_status	 st[RCPTS_MAX];
	char			 reply[RCPTS_MAX][REMOTE_REPLY_MAX];
	char			 mx[256], ip[64], tls[16];
};

static void
fx_cfg(struct fx *f)
{
	config_defaults(&f->cfg);
	free(f->cfg.hostname);
	f->cfg.hostname = xstrdup("client.example");
	f->cfg.delivery.port = port;
	f->cfg.dns.servers.v = xcalloc(1, sizeof(char *));
	f->cfg.dns.servers.v[0] = xstrdup(dns_server);
	f->cfg.dns.servers.n = 1;
}

static void
fx_start(struct fx *f)
{
	char err[256];

	if (f->dns == NULL &&
	    (f->dns = dns_new(f->base, &f->cfg.dns.servers, err,
	    sizeof(err))) == NULL)
		fail_msg("dns_new: %s", err);
	f->r = remote_new(f->base, &f->cfg, f->dns, err, sizeof(err));
	if (f->r == NULL)
		fail_msg("remote_new: %s", err);
}

static int
setup(void **state)
{
	struct fx *f = xcalloc(1, sizeof(*f));

	f->base = event_base_new();
	f->body_fd = -1;
	fx_cfg(f);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	remote_free(&f->r);
	dns_free(&f->dns);
	for (size_t i = 0; i < sizeof(f->peer) / sizeof(f->peer[0]); i++)
		peer_free(f->peer[i]);
	/* Sessions of the peers still open: freed with the base. */
	event_base_free(f->base);
	config_free(&f->cfg);
	if (f->body_fd != -1)
		close(f->body_fd);
	free(f);
	return 0;
}

static void
on_done(void *arg, const struct remote_outcome *o)
{
	struct result *res = arg;

	res->calls++;
	for (size_t i = 0; i < res->n; i++) {
		res->st[i] = o->rcpts[i].status;
		snprintf(res->reply[i], sizeof(res->reply[i]), "%s",
		    o->rcpts[i].reply);
	}
	snprintf(res->mx, sizeof(res->mx), "%s", o->mx);
	snprintf(res->ip, sizeof(res->ip), "%s", o->ip);
	snprintf(res->tls, sizeof(res->tls), "%s", o->tls);
}

/* Turns the loop until *calls, for at most secs seconds. */
static void
run_until(struct event_base *base, const int *calls, int secs)
{
	time_t deadline = time(NULL) + secs;

	/* Every connection and lookup has its timer: each turn ends. */
	while (*calls == 0 && time(NULL) < deadline)
		event_base_loop(base, EVLOOP_ONCE);
}

/* Writes the message to a fresh temporary file. */
static int
body_file(struct fx *f, const char *text, size_t len)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/bodyXXXXXX", tmpdir);
	if (f->body_fd != -1)
		close(f->body_fd);
	f->body_fd = mkstemp(path);
	assert_true(f->body_fd != -1);
	unlink(path);
	assert_int_equal(write(f->body_fd, text, len), (ssize_t)len);
	return f->body_fd;
}

/* One attempt of `text` from sender to rcpts at domain; waits for it. */
static void
deliver(struct fx *f, const char *domain, const char *from,
    const char *const *rcpts, size_t n, const char *text, struct result *res)
{
	struct remote_job job = {
		.queue_id = "TESTQUEUEID00001", .domain = domain, .from = from,
		.rcpts = rcpts, .nrcpts = n,
	};

	if (f->r == NULL)
		fx_start(f);
	job.body_fd = body_file(f, text, strlen(text));
	job.body_len = strlen(text);
	memset(res, 0, sizeof(*res));
	res->n = n;
	remote_deliver(f->r, &job, on_done, res);
	assert_int_equal(res->calls, 0);	/* never inside the call */
	run_until(f->base, &res->calls, 10);
	assert_int_equal(res->calls, 1);
}

static const char *const one_rcpt[] = { "bob@one.rt.example" };
static const char msg[] = "Subject: hi\n\nHello\n";

static bool
log_has(const struct peer *p, const char *text)
{
	return strstr(buf_cstr(&p->log), text) != NULL;
}

/* ---- a transaction ---- */

static void
test_pipelining_and_rcpt_mix(void **state)
{
	struct fx *f = *state;
	static const char *const rcpts[] = {
		"bob@one.rt.example", "defer@one.rt.example",
		"reject@one.rt.example", "plain@one.rt.example",
	};
	struct result res;

	f->peer[2] = peer_new(f->base, 2, NULL);
	deliver(f, "one.rt.example", "alice@example.org", rcpts, 4, msg, &res);
	assert_int_equal(res.st[0], REMOTE_SENT);
	assert_string_equal(res.reply[0], "250 2.0.0 queued as 1");
	assert_int_equal(res.st[1], REMOTE_DEFERRED);
	assert_string_equal(res.reply[1], "450 4.2.1 mailbox busy");
	assert_int_equal(res.st[2], REMOTE_BOUNCED);
	assert_string_equal(res.reply[2], "550 5.1.1 no such user");
	assert_int_equal(res.st[3], REMOTE_SENT);
	assert_string_equal(res.mx, "mx-a.rt.example");
	assert_string_equal(res.ip, "127.0.0.2");
	assert_string_equal(res.tls, "");
	/* RFC 2920: MAIL, the RCPTs and DATA went out together. */
	assert_true(f->peer[2]->pipelined >= 4);
	assert_true(log_has(f->peer[2], "EHLO client.example\n"));
	assert_true(log_has(f->peer[2], "MAIL FROM:<alice@example.org> "
	    "SIZE=22\nRCPT TO:<bob@one.rt.example>\n"));
	assert_int_equal(f->peer[2]->messages, 1);
}

static void
test_without_pipelining(void **state)
{
	struct fx *f = *state;
	struct peer_cfg pc = { .ehlo = "250-peer\r\n250 8BITMIME\r\n" };
	static const char *const rcpts[] = {
		"bob@one.rt.example", "reject@one.rt.example",
	};
	struct result res;

	f->peer[2] = peer_new(f->base, 2, &pc);
	deliver(f, "one.rt.example", "", rcpts, 2, msg, &res);
	assert_int_equal(res.st[0], REMOTE_SENT);
	assert_int_equal(res.st[1], REMOTE_BOUNCED);
	assert_int_equal(f->peer[2]->pipelined, 0);
	/* No SIZE offered: no SIZE=; the null sender is <>. */
	assert_true(log_has(f->peer[2], "MAIL FROM:<>\nRCPT TO:<bob@"));
}

static void
test_body_on_the_wire(void **state)
{
	struct fx *f = *state;
	static const char body[] = "Subject: dots\n\n.\n..two\n.end\nmid.dle\n"
	    "last line without LF";
	struct result res;

	f->peer[2] = peer_new(f->base, 2, NULL);
	deliver(f, "one.rt.example", "a@example.org", one_rcpt, 1, body, &res);
	assert_int_equal(res.st[0], REMOTE_SENT);
	assert_string_equal(buf_cstr(&f->peer[2]->data), "Subject: dots\r\n"
	    "\r\n..\r\n...two\r\n..end\r\nmid.dle\r\nlast line without LF\r\n");
}

static void
test_big_body_streams(void **state)
{
	struct fx *f = *state;
	struct peer_cfg pc = { .ehlo = "250-peer\r\n250 PIPELINING\r\n" };
	size_t lines = 40000, len = lines * 100;
	char *body = xmalloc(len + 1);
	struct result res;

	for (size_t i = 0; i < lines; i++) {
		memset(body + i * 100, i % 7 == 0 ? '.' : 'x', 99);
		body[i * 100 + 99] = '\n';
	}
	body[len] = '\0';
	f->peer[2] = peer_new(f->base, 2, &pc);
	deliver(f, "one.rt.example", "a@example.org", one_rcpt, 1, body, &res);
	free(body);
	assert_int_equal(res.st[0], REMOTE_SENT);
	/* CRLF for LF, one more dot on every seventh line. */
	assert_int_equal(f->peer[2]->data.len, len + lines + (lines + 6) / 7);
}

static void
test_multiline_and_made_up_codes(void **state)
{
	struct fx *f = *state;
	struct peer_cfg pc = { .final = "250-first line\r\n250 second\r\n" };
	struct peer_cfg pm = { .mail = "451 try again\r\n" };
	struct result res;

	f->peer[2] = peer_new(f->base, 2, &pc);
	deliver(f, "one.rt.example", "a@example.org", one_rcpt, 1, msg, &res);
	assert_int_equal(res.st[0], REMOTE_SENT);
	assert_string_equal(res.reply[0], "250 2.0.0 first line second");
	peer_free(f->peer[2]);
	f->peer[2] = peer_new(f->base, 2, &pm);
	remote_free(&f->r);	/* no reuse of the first connection */
	deliver(f, "one.rt.example", "a@example.org", one_rcpt, 1, msg, &res);
	assert_int_equal(res.st[0], REMOTE_DEFERRED);
	assert_string_equal(res.reply[0], "451 4.0.0 try again");
}

static void
test_mail_4xx_defers_all(void **state)
{
	struct fx *f = *state;
	struct peer_cfg pc = { .mail = "452 4.3.1 out of space\r\n" };
	static const char *const rcpts[] = {
		"bob@one.rt.example", "reject@one.rt.example",
	};
	struct result res;

	f->peer[2] = peer_new(f->base, 2, &pc);
	deliver(f, "one.rt.example", "a@example.org", rcpts, 2, msg, &res);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(res.st[i], REMOTE_DEFERRED);
		assert_string_equal(res.reply[i], "452 4.3.1 out of space");
	}
	assert_int_equal(f->peer[2]->messages, 0);
}

static void
test_5xx_at_end_of_data(void **state)
{
	struct fx *f = *state;
	struct peer_cfg pc = { .final = "554 5.7.1 looks like spam\r\n" };
	static const char *const rcpts[] = {
		"bob@one.rt.example", "defer@one.rt.example",
	};
	struct result res;

	f->peer[2] = peer_new(f->base, 2, &pc);
	deliver(f, "one.rt.example", "a@example.org", rcpts, 2, msg, &res);
	assert_int_equal(res.st[0], REMOTE_BOUNCED);
	assert_string_equal(res.reply[0], "554 5.7.1 looks like spam");
	assert_int_equal(res.st[1], REMOTE_DEFERRED);	/* its own 450 */
	assert_string_equal(res.reply[1], "450 4.2.1 mailbox busy");
}

static void
test_size_too_small_bounces(void **state)
{
	struct fx *f = *state;
	struct peer_cfg pc = { .ehlo = "250-peer\r\n250 SIZE 21\r\n" };
	struct result res;

	/* 19 bytes in LF form, 22 on the wire: over 21. */
	f->peer[2] = peer_new(f->base, 2, &pc);
	deliver(f, "one.rt.example", "a@example.org", one_rcpt, 1, msg, &res);
	assert_int_equal(res.st[0], REMOTE_BOUNCED);
	assert_non_null(strstr(res.reply[0], "552 5.3.4 message size 22 "));
	assert_false(log_has(f->peer[2], "MAIL"));
}

static void
test_smtputf8_and_8bitmime(void **state)
{
	struct fx *f = *state;
	static const char *const utf8[] = { "j\xc3\xb6rg@one.rt.example" };
	struct peer_cfg old = { .ehlo = "250-peer\r\n250 8BITMIME\r\n" };
	struct result res;

	f->peer[2] = peer_new(f->base, 2, NULL);
	deliver(f, "one.rt.example", "a@example.org", utf8, 1,
	    "Subject: caf\xc3\xa9\n\n", &res);
	assert_int_equal(res.st[0], REMOTE_SENT);
	assert_true(log_has(f->peer[2], " BODY=8BITMIME SMTPUTF8\n"));
	peer_free(f->peer[2]);
	f->peer[2] = peer_new(f->base, 2, &old);
	remote_free(&f->r);
	deliver(f, "one.rt.example", "a@example.org", utf8, 1, msg, &res);
	assert_int_equal(res.st[0], REMOTE_BOUNCED);
	assert_int_equal(strncmp(res.reply[0], "553 5.6.7 ", 10), 0);
}

static void
test_helo_fallback(void **state)
{
	struct fx *f = *state;
	struct peer_cfg pc = { .ehlo = "502 5.5.1 what is EHLO\r\n" };
	struct result res;

	f->peer[2] = peer_new(f->base, 2, &pc);
	deliver(f, "one.rt.example", "a@example.org", one_rcpt, 1, msg, &res);
	assert_int_equal(res.st[0], REMOTE_SENT);
	assert_true(log_has(f->peer[2], "HELO client.example\nMAIL"));
}

/* ---- TLS and AUTH ---- */

static void
test_starttls_used(void **state)
{
	struct fx *f = *state;
	struct peer_cfg pc = { .ehlo = "250-peer\r\n250-STARTTLS\r\n250 SIZE\r\n",
	    .inject = true };
	struct result res;

	f->peer[2] = peer_new(f->base, 2, &pc);
	deliver(f, "one.rt.example", "a@example.org", one_rcpt, 1, msg, &res);
	assert_int_equal(res.st[0], REMOTE_SENT);
	assert_string_equal(res.tls, "TLSv1.3");
	assert_int_equal(f->peer[2]->tls, 1);
	assert_string_equal(f->peer[2]->sni, "mx-a.rt.example");
	assert_true(log_has(f->peer[2], "STARTTLS\nEHLO client.example\nMAIL"));
}

static void
test_tls_required_without_starttls(void **state)
{
	struct fx *f = *state;
	struct result res;

	f->cfg.delivery.tls = DELIVERY_TLS_REQUIRED;
	f->peer[2] = peer_new(f->base, 2, NULL);
	deliver(f, "one.rt.example", "a@example.org", one_rcpt, 1, msg, &res);
	assert_int_equal(res.st[0], REMOTE_DEFERRED);
	assert_int_equal(strncmp(res.reply[0], "451 4.7.5 ", 10), 0);
	assert_non_null(strstr(res.reply[0], "offers no STARTTLS"));
	assert_false(log_has(f->peer[2], "MAIL"));
}

static void
test_tls_failure_retries_in_clear(void **state)
{
	struct fx *f = *state;
	struct peer_cfg pc = { .ehlo = "250-peer\r\n250 STARTTLS\r\n",
	    .bad_tls = true };
	struct result res;

	f->peer[2] = peer_new(f->base, 2, &pc);
	deliver(f, "one.rt.example", "a@example.org", one_rcpt, 1, msg, &res);
	assert_int_equal(res.st[0], REMOTE_SENT);
	assert_string_equal(res.tls, "");
	assert_int_equal(f->peer[2]->conns, 2);
}

/* A 0600 credentials file holding text. */
static void
creds_file(struct fx *f, const char *text, mode_t mode)
{
	char path[128];
	int fd;

	snprintf(path, sizeof(path), "%s/relay.secret", tmpdir);
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd != -1);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
	free(f->cfg.delivery.relayhost_credentials);
	f->cfg.delivery.relayhost_credentials = xstrdup(path);
}

static void
fx_relay(struct fx *f, const char *host)
{
	free(f->cfg.delivery.relayhost);
	f->cfg.delivery.relayhost = xasprintf("%s:%u", host, port);
}

#define EHLO_TLS	"250-relay\r\n250-STARTTLS\r\n250 PIPELINING\r\n"

static void
test_relayhost_auth_plain(void **state)
{
	struct fx *f = *state;
	struct peer_cfg pc = { .ehlo = EHLO_TLS };
	struct result res;
	const char *log;

	fx_relay(f, "[relay.rt.example]");
	creds_file(f, "user@example.org:s3cr:t\n", 0600);
	f->peer[7] = peer_new(f->base, 7, &pc);
	/* No such domain in DNS: the relayhost takes it all. */
	deliver(f, "elsewhere.example", "a@example.org", one_rcpt, 1, msg, &res);
	assert_int_equal(res.st[0], REMOTE_SENT);
	assert_string_equal(res.mx, "relay.rt.example");
	assert_string_equal(res.tls, "TLSv1.3");
	log = buf_cstr(&f->peer[7]->log);
	/* base64("\0user@example.org\0s3cr:t"), after STARTTLS, once. */
	assert_non_null(strstr(log, "STARTTLS\nEHLO client.example\nAUTH PLAIN "
	    "AHVzZXJAZXhhbXBsZS5vcmcAczNjcjp0\nMAIL"));
}

static void
test_relayhost_auth_refused_defers(void **state)
{
	struct fx *f = *state;
	struct peer_cfg pc = { .ehlo = EHLO_TLS,
	    .auth = "535 5.7.8 authentication failed\r\n" };
	struct result res;

	char path[128], logged[8192];
	const char *err = NULL;
	ssize_t n;
	int fd;

	fx_relay(f, "127.0.0.7");
	creds_file(f, "u:pass-word-secret", 0400);
	f->peer[7] = peer_new(f->base, 7, &pc);
	snprintf(path, sizeof(path), "%s/log", tmpdir);
	assert_int_equal(log_open(path, &err), 0);
	log_set_level(LOGL_DEBUG);
	deliver(f, "elsewhere.example", "a@example.org", one_rcpt, 1, msg, &res);
	log_set_level(LOGL_ERROR);
	assert_int_equal(log_open(NULL, &err), 0);
	assert_int_equal(res.st[0], REMOTE_DEFERRED);
	assert_int_equal(strncmp(res.reply[0], "451 4.7.0 ", 10), 0);
	assert_non_null(strstr(res.reply[0], "535 5.7.8 authentication failed"));
	assert_false(log_has(f->peer[7], "MAIL"));
	/* The refusal is logged; the password, plain or base64, never. */
	fd = open(path, O_RDONLY);
	n = read(fd, logged, sizeof(logged) - 1);
	close(fd);
	assert_true(n > 0);
	logged[n] = '\0';
	assert_non_null(strstr(logged, "event=remote_tx_failed"));
	assert_null(strstr(logged, "secret"));
	assert_null(strstr(logged, "AHUAcGFzcy13b3JkLXNlY3JldA"));
}

static void
test_relayhost_auth_never_in_clear(void **state)
{
	struct fx *f = *state;
	struct result res;

	fx_relay(f, "[127.0.0.7]");
	creds_file(f, "u:p", 0600);
	f->peer[7] = peer_new(f->base, 7, NULL);
	deliver(f, "elsewhere.example", "a@example.org", one_rcpt, 1, msg, &res);
	assert_int_equal(res.st[0], REMOTE_DEFERRED);
	assert_int_equal(strncmp(res.reply[0], "451 4.7.0 ", 10), 0);
	assert_false(log_has(f->peer[7], "AUTH"));
	assert_false(log_has(f->peer[7], "MAIL"));
}

static void
test_credentials_file_checked(void **state)
{
	struct fx *f = *state;
	char err[256];

	fx_relay(f, "[127.0.0.7]");
	f->dns = dns_new(f->base, &f->cfg.dns.servers, err, sizeof(err));
	creds_file(f, "u:p\n", 0640);
	assert_null(remote_new(f->base, &f->cfg, f->dns, err, sizeof(err)));
	assert_non_null(strstr(err, "group or others"));
	creds_file(f, "no colon\n", 0600);
	assert_null(remote_new(f->base, &f->cfg, f->dns, err, sizeof(err)));
	assert_non_null(strstr(err, "username:password"));
	creds_file(f, "u:p\nsecond:line\n", 0600);
	assert_null(remote_new(f->base, &f->cfg, f->dns, err, sizeof(err)));
	assert_null(strstr(err, "second"));	/* never echoes the file */
	free(f->cfg.delivery.relayhost_credentials);
	f->cfg.delivery.relayhost_credentials = xasprintf("%s/none", tmpdir);
	assert_null(remote_new(f->base, &f->cfg, f->dns, err, sizeof(err)));
	assert_non_null(strstr(err, "No such file"));
}

/* ---- routing ---- */

static void
test_first_mx_refuses(void **state)
{
	struct fx *f = *state;
	struct result res;

	f->peer[3] = peer_new(f->base, 3, NULL);
	deliver(f, "two.rt.example", "a@example.org", one_rcpt, 1, msg, &res);
	assert_int_equal(res.st[0], REMOTE_SENT);
	assert_string_equal(res.mx, "mx-b.rt.example");
	assert_string_equal(res.ip, "127.0.0.3");
}

static void
test_all_hosts_fail_best_reply(void **state)
{
	struct fx *f = *state;
	struct peer_cfg pc = { .greeting = "554 5.7.1 not you\r\n" };
	struct result res;

	/* Refused, then a 554 greeting: the peer's words are kept. */
	f->peer[3] = peer_new(f->base, 3, &pc);
	deliver(f, "two.rt.example", "a@example.org", one_rcpt, 1, msg, &res);
	assert_int_equal(res.st[0], REMOTE_DEFERRED);
	assert_string_equal(res.reply[0], "451 4.4.0 mx-b.rt.example[127.0.0.3] "
	    "answered the greeting with: 554 5.7.1 not you");
	peer_free(f->peer[3]);
	f->peer[3] = NULL;
	deliver(f, "two.rt.example", "a@example.org", one_rcpt, 1, msg, &res);
	assert_int_equal(res.st[0], REMOTE_DEFERRED);
	assert_int_equal(strncmp(res.reply[0], "451 4.4.1 connect to ", 21), 0);
}

static void
test_equal_preference_shuffle(void **state)
{
	struct fx *f = *state;
	struct result res;
	int first[3] = { 0, 0, 0 };

	/* mx-e2 (127.0.0.5) refuses: mx-e1 and mx-e3 take every message
	 * between them, mx-a (preference 30) none. */
	f->peer[2] = peer_new(f->base, 2, NULL);
	f->peer[4] = peer_new(f->base, 4, NULL);
	f->peer[6] = peer_new(f->base, 6, NULL);
	for (int i = 0; i < 24; i++) {
		remote_free(&f->r);	/* a new connection each time */
		deliver(f, "eq.rt.example", "a@example.org", one_rcpt, 1, msg,
		    &res);
		assert_int_equal(res.st[0], REMOTE_SENT);
		first[res.ip[8] - '4']++;
	}
	assert_int_equal(f->peer[2]->conns, 0);
	assert_int_equal(f->peer[4]->messages + f->peer[6]->messages, 24);
	/* Chance of a miss: 2 * (1/2)^24. */
	assert_true(first[0] > 0 && first[2] > 0);
}

static void
test_null_mx_bounces(void **state)
{
	struct fx *f = *state;
	struct result res;

	deliver(f, "nullmx.rt.example", "a@example.org", one_rcpt, 1, msg, &res);
	assert_int_equal(res.st[0], REMOTE_BOUNCED);
	assert_int_equal(strncmp(res.reply[0], "550 5.1.2 ", 10), 0);
}

static void
test_nxdomain_bounces(void **state)
{
	struct fx *f = *state;
	struct result res;

	deliver(f, "nx.rt.example", "a@example.org", one_rcpt, 1, msg, &res);
	assert_int_equal(res.st[0], REMOTE_BOUNCED);
	assert_string_equal(res.reply[0], "550 5.4.4 nx.rt.example: no such "
	    "domain");
	deliver(f, "noaddr.rt.example", "a@example.org", one_rcpt, 1, msg, &res);
	assert_int_equal(res.st[0], REMOTE_BOUNCED);
	assert_int_equal(strncmp(res.reply[0], "550 5.4.4 ", 10), 0);
}

static void
test_dns_trouble_defers(void **state)
{
	struct fx *f = *state;
	struct result res;

	deliver(f, "servfail.example", "a@example.org", one_rcpt, 1, msg, &res);
	assert_int_equal(res.st[0], REMOTE_DEFERRED);
	assert_int_equal(strncmp(res.reply[0], "451 4.4.3 ", 10), 0);
	deliver(f, "gone.rt.example", "a@example.org", one_rcpt, 1, msg, &res);
	assert_int_equal(res.st[0], REMOTE_DEFERRED);
	assert_int_equal(strncmp(res.reply[0], "451 4.4.4 ", 10), 0);
}

static void
test_implicit_mx(void **state)
{
	struct fx *f = *state;
	struct result res;

	f->peer[2] = peer_new(f->base, 2, NULL);
	deliver(f, "implicit.rt.example", "a@example.org", one_rcpt, 1, msg,
	    &res);
	assert_int_equal(res.st[0], REMOTE_SENT);
	assert_string_equal(res.mx, "implicit.rt.example");
}

static void
test_address_literals_and_ipv6(void **state)
{
	struct fx *f = *state;
	struct result res;

	f->peer[2] = peer_new(f->base, 2, NULL);
	f->peer[0] = peer_new(f->base, 0, NULL);
	deliver(f, "[127.0.0.2]", "a@example.org", one_rcpt, 1, msg, &res);
	assert_int_equal(res.st[0], REMOTE_SENT);
	assert_string_equal(res.ip, "127.0.0.2");
	deliver(f, "[IPv6:::1]", "a@example.org", one_rcpt, 1, msg, &res);
	assert_int_equal(res.st[0], REMOTE_SENT);
	assert_string_equal(res.ip, "::1");
	deliver(f, "v6.rt.example", "a@example.org", one_rcpt, 1, msg, &res);
	assert_int_equal(res.st[0], REMOTE_SENT);
	assert_string_equal(res.mx, "mx-v6.rt.example");
	deliver(f, "[300.1.1.1]", "a@example.org", one_rcpt, 1, msg, &res);
	assert_int_equal(res.st[0], REMOTE_BOUNCED);
}

static void
test_bad_job_input(void **state)
{
	struct fx *f = *state;
	static const char *const rcpts[] = {
		"bob@one.rt.example", "x\r\nRSET@one.rt.example", "",
	};
	struct result res;

	f->peer[2] = peer_new(f->base, 2, NULL);
	/* A CR/LF would smuggle a command: that recipient never goes out. */
	deliver(f, "one.rt.example", "a@example.org", rcpts, 3, msg, &res);
	assert_int_equal(res.st[0], REMOTE_SENT);
	assert_int_equal(res.st[1], REMOTE_BOUNCED);
	assert_string_equal(res.reply[1], "553 5.1.3 bad recipient address");
	assert_int_equal(res.st[2], REMOTE_BOUNCED);
	assert_false(log_has(f->peer[2], "RSET"));
	deliver(f, "one.rt.example", "a>b@example.org", rcpts, 1, msg, &res);
	assert_int_equal(res.st[0], REMOTE_BOUNCED);
	assert_string_equal(res.reply[0], "553 5.1.7 bad sender address");
	deliver(f, "one.rt.example\n", "a@example.org", rcpts, 1, msg, &res);
	assert_int_equal(res.st[0], REMOTE_BOUNCED);
	assert_string_equal(res.reply[0], "550 5.1.2 bad destination domain");
	assert_int_equal(f->peer[2]->messages, 1);
}

/* ---- broken peers ---- */

static void
test_garbage_peer(void **state)
{
	struct fx *f = *state;
	char junk[3000];
	struct peer_cfg pc = { .garbage = junk, .garbage_len = sizeof(junk) };
	struct peer_cfg bin = { .garbage = "220\0\1\2\r\n", .garbage_len = 8 };
	struct result res;

	memset(junk, 'x', sizeof(junk));	/* no CRLF, ever */
	f->peer[2] = peer_new(f->base, 2, &pc);
	deliver(f, "one.rt.example", "a@example.org", one_rcpt, 1, msg, &res);
	assert_int_equal(res.st[0], REMOTE_DEFERRED);
	assert_string_equal(res.reply[0], "451 4.4.2 mx-a.rt.example[127.0.0.2]: "
	    "reply too long");
	peer_free(f->peer[2]);
	f->peer[2] = peer_new(f->base, 2, &bin);
	deliver(f, "one.rt.example", "a@example.org", one_rcpt, 1, msg, &res);
	assert_int_equal(res.st[0], REMOTE_DEFERRED);
	assert_non_null(strstr(res.reply[0], "malformed reply"));
}

static void
test_peer_closes_in_data(void **state)
{
	struct fx *f = *state;
	struct peer_cfg pc = { .close_in_data = true };
	struct result res;

	f->peer[2] = peer_new(f->base, 2, &pc);
	deliver(f, "one.rt.example", "a@example.org", one_rcpt, 1, msg, &res);
	assert_int_equal(res.st[0], REMOTE_DEFERRED);
	assert_string_equal(res.reply[0], "451 4.4.2 mx-a.rt.example[127.0.0.2]: "
	    "connection closed by the peer");
	assert_int_equal(f->peer[2]->conns, 1);	/* no other host after MAIL */
}

static void
test_stalled_peer_blocks_nothing(void **state)
{
	struct fx *f = *state;
	struct peer_cfg pc = { .stall = true };
	struct remote_job job = {
		.queue_id = "Q", .domain = "one.rt.example", .from = "",
		.rcpts = one_rcpt, .nrcpts = 1,
	};
	struct result stalled, res;

	f->peer[2] = peer_new(f->base, 2, &pc);
	f->peer[3] = peer_new(f->base, 3, NULL);
	fx_start(f);
	job.body_fd = body_file(f, msg, strlen(msg));
	job.body_len = strlen(msg);
	memset(&stalled, 0, sizeof(stalled));
	stalled.n = 1;
	remote_deliver(f->r, &job, on_done, &stalled);
	deliver(f, "two.rt.example", "a@example.org", one_rcpt, 1, msg, &res);
	assert_int_equal(res.st[0], REMOTE_SENT);
	assert_int_equal(stalled.calls, 0);
	assert_int_equal(f->peer[2]->conns, 1);
	assert_int_equal(remote_active(f->r), 1);
	remote_free(&f->r);	/* cancels: its done never runs */
	event_base_loop(f->base, EVLOOP_NONBLOCK);
	assert_int_equal(stalled.calls, 0);
}

/* done may free the remote (a qmgr shutting down), even with an idle
 * connection and another attempt in progress. */
struct free_in_done {
	struct fx	*f;
	struct result	 res;
};

static void
on_done_free(void *arg, const struct remote_outcome *o)
{
	struct free_in_done *x = arg;

	on_done(&x->res, o);
	remote_free(&x->f->r);
}

static void
test_free_inside_done(void **state)
{
	struct fx *f = *state;
	struct peer_cfg stall = { .stall = true };
	struct remote_job job = {
		.queue_id = "Q", .domain = "one.rt.example", .from = "",
		.rcpts = one_rcpt, .nrcpts = 1,
	};
	struct free_in_done x = { .f = f };
	struct result first, stalled;

	f->peer[2] = peer_new(f->base, 2, NULL);
	f->peer[3] = peer_new(f->base, 3, &stall);
	deliver(f, "one.rt.example", "a@example.org", one_rcpt, 1, msg, &first);
	job.body_fd = f->body_fd;
	job.body_len = strlen(msg);
	memset(&stalled, 0, sizeof(stalled));
	job.domain = "two.rt.example";	/* .9 refused, then .3 stalls */
	remote_deliver(f->r, &job, on_done, &stalled);
	x.res.n = 1;
	job.domain = "one.rt.example";	/* the idle connection */
	remote_deliver(f->r, &job, on_done_free, &x);
	run_until(f->base, &x.res.calls, 5);
	assert_int_equal(x.res.calls, 1);
	assert_int_equal(x.res.st[0], REMOTE_SENT);
	assert_null(f->r);
	event_base_loop(f->base, EVLOOP_NONBLOCK);
	assert_int_equal(stalled.calls, 0);
}

/* ---- connection reuse ---- */

static void
test_connection_reused(void **state)
{
	struct fx *f = *state;
	struct result res;

	f->peer[2] = peer_new(f->base, 2, NULL);
	deliver(f, "one.rt.example", "a@example.org", one_rcpt, 1, msg, &res);
	deliver(f, "one.rt.example", "b@example.org", one_rcpt, 1, msg, &res);
	assert_int_equal(res.st[0], REMOTE_SENT);
	assert_int_equal(f->peer[2]->conns, 1);
	assert_int_equal(f->peer[2]->messages, 2);
	assert_string_equal(res.mx, "mx-a.rt.example");
}

/* The one slow test: an idle connection says QUIT after 5 s. */
static void
test_idle_connection_quits(void **state)
{
	struct fx *f = *state;
	struct result res;
	time_t t0;

	f->peer[2] = peer_new(f->base, 2, NULL);
	deliver(f, "one.rt.example", "a@example.org", one_rcpt, 1, msg, &res);
	assert_int_equal(res.st[0], REMOTE_SENT);
	t0 = time(NULL);
	while (f->peer[2]->sessions != NULL && time(NULL) - t0 < 8)
		event_base_loop(f->base, EVLOOP_ONCE);
	assert_null(f->peer[2]->sessions);	/* closed by us, after QUIT */
	assert_true(time(NULL) - t0 >= 4);
	assert_true(log_has(f->peer[2], "DATA\nQUIT\n"));
	assert_int_equal(remote_active(f->r), 0);
}

static void
test_reused_connection_fails_before_mail(void **state)
{
	struct fx *f = *state;
	struct peer_cfg pc = { .close_at_mail = 2 };
	struct result res;

	f->peer[2] = peer_new(f->base, 2, &pc);
	deliver(f, "one.rt.example", "a@example.org", one_rcpt, 1, msg, &res);
	deliver(f, "one.rt.example", "b@example.org", one_rcpt, 1, msg, &res);
	assert_int_equal(res.st[0], REMOTE_SENT);
	assert_int_equal(f->peer[2]->conns, 2);
	assert_int_equal(f->peer[2]->messages, 2);
}

static void
test_reused_connection_gets_421(void **state)
{
	struct fx *f = *state;
	struct peer_cfg pc = { .bye_at_mail = 2 };
	struct result res;

	f->peer[2] = peer_new(f->base, 2, &pc);
	deliver(f, "one.rt.example", "a@example.org", one_rcpt, 1, msg, &res);
	deliver(f, "one.rt.example", "b@example.org", one_rcpt, 1, msg, &res);
	assert_int_equal(res.st[0], REMOTE_SENT);
	assert_int_equal(f->peer[2]->conns, 2);
}

static void
test_data_must_get_354(void **state)
{
	struct fx *f = *state;
	struct peer_cfg pc = { .data = "250 2.0.0 thanks\r\n" };
	struct result res;

	f->peer[2] = peer_new(f->base, 2, &pc);
	deliver(f, "one.rt.example", "a@example.org", one_rcpt, 1, msg, &res);
	assert_int_equal(res.st[0], REMOTE_DEFERRED);
	assert_string_equal(res.reply[0], "451 4.4.0 mx-a.rt.example[127.0.0.2] "
	    "answered DATA with: 250 2.0.0 thanks");
}

/* ---- group setup: DNS server, port, certificate ---- */

static int
start_dns(void)
{
	int in[2], out[2];
	char line[32] = "";
	FILE *f;

	if (pipe(in) == -1 || pipe(out) == -1 || (dns_pid = fork()) == -1)
		return -1;
	if (dns_pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		close(in[1]);
		close(out[0]);
		execl("/usr/bin/python3", "python3", "tests/dns/dnsserver.py",
		    "tests/delivery/remote.zone", (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	dns_stdin = in[1];
	f = fdopen(out[0], "r");
	if (f == NULL || fgets(line, sizeof(line), f) == NULL)
		return -1;
	fclose(f);
	snprintf(dns_server, sizeof(dns_server), "127.0.0.1:%d",
	    (int)strtol(line, NULL, 10));
	return 0;
}

/* A port free on loopback, kept bound (not listening) on 127.0.0.1 so
 * nobody else takes it; the peers use it on 127.0.0.2-8 and ::1. */
static int
reserve_port(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	port_fd = socket(AF_INET, SOCK_STREAM, 0);
	if (port_fd == -1 || bind(port_fd, (struct sockaddr *)&sin,
	    sizeof(sin)) == -1 || getsockname(port_fd, (struct sockaddr *)&sin,
	    &len) == -1)
		return -1;
	port = ntohs(sin.sin_port);
	return 0;
}

static int
group_setup(void **state)
{
	struct config cfg;
	char err[256];

	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/postern-remote-XXXXXX");
	if (mkdtemp(tmpdir) == NULL || start_dns() == -1 || reserve_port() == -1)
		return -1;
	config_defaults(&cfg);
	if (tls_selfsigned_ensure(tmpdir, "peer.example", (uid_t)-1,
	    (gid_t)-1, err, sizeof(err)) == -1 ||
	    (peer_tls = tls_server_ctx_new(&cfg, tmpdir, err, sizeof(err))) == NULL) {
		fprintf(stderr, "remote_test: %s\n", err);
		config_free(&cfg);
		return -1;
	}
	config_free(&cfg);
	return 0;
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int
group_teardown(void **state)
{
	(void)state;
	if (dns_pid > 0) {
		close(dns_stdin);	/* the server exits on EOF */
		waitpid(dns_pid, NULL, 0);
	}
	if (port_fd != -1)
		close(port_fd);
	SSL_CTX_free(peer_tls);
	nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}

#define T(fn)	cmocka_unit_test_setup_teardown(fn, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_pipelining_and_rcpt_mix),
		T(test_without_pipelining),
		T(test_body_on_the_wire),
		T(test_big_body_streams),
		T(test_multiline_and_made_up_codes),
		T(test_mail_4xx_defers_all),
		T(test_5xx_at_end_of_data),
		T(test_size_too_small_bounces),
		T(test_smtputf8_and_8bitmime),
		T(test_helo_fallback),
		T(test_starttls_used),
		T(test_tls_required_without_starttls),
		T(test_tls_failure_retries_in_clear),
		T(test_relayhost_auth_plain),
		T(test_relayhost_auth_refused_defers),
		T(test_relayhost_auth_never_in_clear),
		T(test_credentials_file_checked),
		T(test_first_mx_refuses),
		T(test_all_hosts_fail_best_reply),
		T(test_equal_preference_shuffle),
		T(test_null_mx_bounces),
		T(test_nxdomain_bounces),
		T(test_dns_trouble_defers),
		T(test_implicit_mx),
		T(test_address_literals_and_ipv6),
		T(test_bad_job_input),
		T(test_garbage_peer),
		T(test_peer_closes_in_data),
		T(test_stalled_peer_blocks_nothing),
		T(test_connection_reused),
		T(test_free_inside_done),
		T(test_idle_connection_quits),
		T(test_reused_connection_fails_before_mail),
		T(test_reused_connection_gets_421),
		T(test_data_must_get_354),
	};

	signal(SIGPIPE, SIG_IGN);
	log_set_level(LOGL_ERROR);
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
