/*
 * remote_smtp: one outbound SMTP connection (RFC 5321 3, 4): greeting,
 * EHLO with HELO fallback, STARTTLS (RFC 3207) as a libevent OpenSSL
 * filter, AUTH PLAIN to the relayhost (RFC 4954, 4616), the transaction
 * with or without PIPELINING (RFC 2920), the body streamed from the
 * queue file, QUIT; timeouts of RFC 5321 4.5.3.2. Replies are parsed by
 * smtp_reply.c; which host comes next is remote.c's decision.
 */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/tls.h"
#include "core/xalloc.h"
#include "delivery/remote_int.h"

enum remote_conn_state {
	RC_CONNECTING,
	RC_GREETING,	/* waiting for the 220 */
	RC_EHLO,
	RC_HELO,	/* EHLO got a 5xx (RFC 5321 4.1.4) */
	RC_STARTTLS,	/* waiting for its 220 */
	RC_HANDSHAKE,
	RC_AUTH,
	RC_TX,		/* MAIL, RCPT..., DATA: replies in order */
	RC_BODY,	/* 354 seen, the message going out */
	RC_DOT,		/* ".", waiting for the final reply */
	RC_IDLE,	/* transaction done, kept for the next job */
	RC_QUIT,	/* QUIT sent; freed on its reply, EOF or timeout */
};

/* RFC 5321 4.5.3.2 for the replies it names; ours for the rest. */
static const struct {
	const char	*what;
	unsigned	 sec;
} remote_timeouts[] = {
	[RC_CONNECTING] = { "connect", 30 },
	[RC_GREETING] = { "greeting", 300 },	/* 4.5.3.2.1 */
	[RC_EHLO] = { "EHLO", 300 },		/* as MAIL: 4.5.3.2.2 */
	[RC_HELO] = { "HELO", 300 },
	[RC_STARTTLS] = { "STARTTLS", 300 },
	[RC_HANDSHAKE] = { "TLS handshake", 120 },
	[RC_AUTH] = { "AUTH", 300 },
	[RC_TX] = { "MAIL/RCPT", 300 },	/* 4.5.3.2.2, 4.5.3.2.3 */
	[RC_BODY] = { "data block", 180 },	/* 4.5.3.2.5 */
	[RC_DOT] = { "end of data", 600 },	/* 4.5.3.2.6 */
	[RC_IDLE] = { "idle", 5 },
	[RC_QUIT] = { "QUIT", 5 },
};
#define REMOTE_DATA_INIT_SEC	120	/* 4.5.3.2.4: the 354 to DATA */

enum remote_cmd_kind { CMD_MAIL, CMD_RCPT, CMD_DATA };

struct remote_cmd {
	enum remote_cmd_kind	 kind;
	size_t			 rcpt;	/* CMD_RCPT: index in the job */
};

struct remote_conn {
	struct remote		*r;
	struct remote_attempt	*a;	/* NULL when idle or quitting */
	enum remote_conn_state	 state;
	struct bufferevent	*bev;
	struct event		*timer;
	struct smtp_resp	 resp;
	struct remote_ehlo	 ehlo;
	bool			 tls, authed, no_starttls;
	char			 host[SMTP_DOMAIN_MAX + 1];
	char			 ip[INET6_ADDRSTRLEN];
	char			 tls_version[16];
	char			*key;	/* destination, while idle */

	/* The transaction in progress. */
	struct remote_cmd	*cmds;
	size_t			 ncmds, nsent, nanswered;
	bool			 mail_answered, mail_ok;
	size_t			 naccepted;
	struct remote_body_enc	 enc;
	uint64_t		 body_pos;
	char			*chunk;

	struct remote_conn	*prev, *next;	/* r->idle, r->quitting, r->dead */
	struct remote_conn	**list;		/* which one, or NULL */
	bool			 dead;		/* closed, waiting for the reap */
};

static void remote_conn_after_ehlo(struct remote_conn *c);
static void remote_conn_begin_tx(struct remote_conn *c);
static void remote_conn_read_cb(struct bufferevent *bev, void *arg);
static void remote_conn_write_cb(struct bufferevent *bev, void *arg);
static void remote_conn_event_cb(struct bufferevent *bev, short what,
    void *arg);

/* ---- plumbing ---- */

static void
remote_conn_unlist(struct remote_conn *c)
{
	if (c->list == NULL)
		return;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		*c->list = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	if (c->list == &c->r->idle)
		c->r->nidle--;
	c->prev = c->next = NULL;
	c->list = NULL;
}

static void
remote_conn_list(struct remote_conn *c, struct remote_conn **list)
{
	c->list = list;
	c->prev = NULL;
	c->next = *list;
	if (c->next != NULL)
		c->next->prev = c;
	*list = c;
	if (list == &c->r->idle)
		c->r->nidle++;
}

void
remote_conn_free(struct remote_conn *c)
{
	if (c->dead)
		return;
	remote_conn_unlist(c);
	if (c->a != NULL && c->a->conn == c)
		c->a->conn = NULL;
	c->a = NULL;
	if (c->bev != NULL)
		bufferevent_free(c->bev);
	c->bev = NULL;
	if (c->timer != NULL)
		event_free(c->timer);
	c->timer = NULL;
	smtp_resp_clear(&c->resp);
	free(c->cmds);
	free(c->chunk);
	free(c->key);
	c->cmds = NULL;
	c->chunk = NULL;
	c->key = NULL;
	c->dead = true;
	remote_conn_list(c, &c->r->dead);
	event_active(c->r->reap, EV_TIMEOUT, 0);
}

void
remote_conn_reap_cb(evutil_socket_t fd, short what, void *arg)
{
	struct remote *r = arg;
	struct remote_conn *c;

	(void)fd;
	(void)what;
	while ((c = r->dead) != NULL) {
		r->dead = c->next;
		free(c);
	}
}

static void
remote_conn_arm_sec(struct remote_conn *c, unsigned sec)
{
	struct timeval tv = { (time_t)sec, 0 };

	(void)evtimer_add(c->timer, &tv);
}

static void
remote_conn_set_state(struct remote_conn *c, enum remote_conn_state st)
{
	c->state = st;
	remote_conn_arm_sec(c, remote_timeouts[st].sec);
}

static void __attribute__((format(printf, 2, 3)))
remote_conn_send(struct remote_conn *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)evbuffer_add_vprintf(bufferevent_get_output(c->bev), fmt, ap);
	va_end(ap);
}

/* Copies what the outcome reports about the peer into the attempt. */
static void
remote_conn_note_peer(struct remote_conn *c)
{
	struct remote_attempt *a = c->a;

	snprintf(a->peer_mx, sizeof(a->peer_mx), "%s", c->host);
	snprintf(a->peer_ip, sizeof(a->peer_ip), "%s", c->ip);
	snprintf(a->peer_tls, sizeof(a->peer_tls), "%s", c->tls_version);
}

/* Cuts c loose from its attempt. */
static struct remote_attempt *
remote_conn_detach(struct remote_conn *c)
{
	struct remote_attempt *a = c->a;

	if (a != NULL) {
		remote_conn_note_peer(c);
		a->conn = NULL;
	}
	c->a = NULL;
	free(c->cmds);
	c->cmds = NULL;
	free(c->chunk);
	c->chunk = NULL;
	return a;
}

/*
 * Ends the connection politely: QUIT, then freed on its reply, on EOF or
 * after a few seconds (RFC 5321 4.1.1.10; we do not wait long). In the
 * middle of DATA a QUIT would be message text: close at once.
 */
static void
remote_conn_quit(struct remote_conn *c)
{
	(void)remote_conn_detach(c);
	remote_conn_unlist(c);
	if (c->state == RC_CONNECTING || c->state == RC_HANDSHAKE ||
	    c->state == RC_BODY || c->state == RC_QUIT) {
		remote_conn_free(c);
		return;
	}
	remote_conn_send(c, "QUIT\r\n");
	remote_conn_set_state(c, RC_QUIT);
	remote_conn_list(c, &c->r->quitting);
}

/* ---- replies, and failures ---- */

void
remote_reply_format(const struct smtp_resp *resp, char *out, size_t outlen)
{
	struct buf t;

	buf_init(&t, outlen + 16);
	smtp_resp_format(resp, &t);	/* "NNN[ X.Y.Z][ text]", one line */
	if (resp->cls != 0 || t.len < 3)
		snprintf(out, outlen, "%s", buf_cstr(&t));
	else	/* RFC 3463 3.1: the class alone, x.0.0 */
		snprintf(out, outlen, "%.3s %d.0.0%s", buf_cstr(&t),
		    resp->code / 100, buf_cstr(&t) + 3);
	buf_free(&t);
}

/*
 * A reply that stops this host for now, as a 4xx: the peer's own 4xx
 * as it is, anything else quoted behind ours so that the code always
 * says what the status says.
 */
static void
remote_conn_temp_reply(struct remote_conn *c, const struct smtp_resp *resp,
    const char *what, char *out, size_t outlen)
{
	char peer[REMOTE_REPLY_MAX];

	remote_reply_format(resp, peer, sizeof(peer));
	if (resp->code / 100 == 4)
		snprintf(out, outlen, "%s", peer);
	else
		remote_fmt(out, outlen, "451 4.4.0 %s[%s] answered %s with: %s",
		    c->host, c->ip, what, peer);
}

static void
remote_conn_log_fail(struct remote_conn *c, const char *reply,
    const char *detail)
{
	log_kv(&c->r->log, LOGL_WARN, "remote_host_failed", "queue_id",
	    c->a != NULL ? c->a->queue_id : NULL, "mx", c->host, "ip", c->ip,
	    "reply", reply, "detail", detail, NULL);
}

/*
 * This host cannot take the mail now, before any transaction: record
 * why and let the attempt try the next address. polite: QUIT first.
 */
static void
remote_conn_host_fail(struct remote_conn *c, enum remote_rank rank,
    const char *reply, bool polite, bool retry_clear)
{
	struct remote_attempt *a;

	remote_conn_log_fail(c, reply, NULL);
	if (c->a != NULL)
		remote_attempt_temp(c->a, rank, reply);
	a = remote_conn_detach(c);
	if (polite)
		remote_conn_quit(c);
	else
		remote_conn_free(c);
	if (a != NULL)
		remote_attempt_host_failed(a, retry_clear);
}

static void __attribute__((format(printf, 5, 6)))
remote_conn_host_failf(struct remote_conn *c, enum remote_rank rank,
    bool polite, bool retry_clear, const char *fmt, ...)
{
	char reply[REMOTE_REPLY_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reply, sizeof(reply), fmt, ap);
	va_end(ap);
	remote_conn_host_fail(c, rank, reply, polite, retry_clear);
}

/*
 * The transaction is over: every recipient not final gets reply (a 4xx
 * deferred, a 5xx bounced, anything else deferred); c is kept for the
 * next job when keep, else it quits (or is closed: abort).
 */
static void
remote_conn_tx_end(struct remote_conn *c, const char *reply, bool keep,
    bool abort)
{
	struct remote_attempt *a = c->a;
	enum remote_status st = reply[0] == '5' ? REMOTE_BOUNCED :
	    REMOTE_DEFERRED;

	if (reply[0] == '2')
		st = REMOTE_SENT;
	remote_attempt_all(a, st, reply);
	(void)remote_conn_detach(c);
	if (keep && c->r->nidle < REMOTE_IDLE_MAX) {
		c->key = xstrdup(a->key);
		remote_conn_set_state(c, RC_IDLE);
		remote_conn_list(c, &c->r->idle);
	} else if (abort)
		remote_conn_free(c);
	else
		remote_conn_quit(c);
	remote_attempt_finish(a);
}

/*
 * The connection broke (EOF, error, timeout, garbage). Before the peer
 * answered MAIL nothing was handed over: next host. After, the
 * transaction ends here for every recipient still open.
 */
static void
remote_conn_broken(struct remote_conn *c, const char *why)
{
	char reply[REMOTE_REPLY_MAX];

	if (c->a == NULL) {	/* idle or quitting: nothing to report */
		remote_conn_free(c);
		return;
	}
	if (c->state == RC_CONNECTING) {
		snprintf(reply, sizeof(reply), "451 4.4.1 connect to %s[%s]: %s",
		    c->host, c->ip, why);
		remote_conn_host_fail(c, RANK_CONNECT, reply, false, false);
		return;
	}
	snprintf(reply, sizeof(reply), "451 4.4.2 %s[%s]: %s", c->host, c->ip,
	    why);
	if (!c->mail_answered) {
		remote_conn_host_fail(c, RANK_PROTOCOL, reply, false, false);
		return;
	}
	remote_conn_log_fail(c, reply, NULL);
	remote_conn_tx_end(c, reply, false, true);
}

static void
remote_conn_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct remote_conn *c = arg;
	char why[96];

	(void)fd;
	(void)what;
	if (c->state == RC_IDLE) {
		remote_conn_quit(c);
		return;
	}
	if (c->state == RC_QUIT) {
		remote_conn_free(c);
		return;
	}
	snprintf(why, sizeof(why), "timeout (%s)", remote_timeouts[c->state].what);
	remote_conn_broken(c, why);
}

/* ---- the session before the transaction ---- */

static void
remote_conn_send_ehlo(struct remote_conn *c)
{
	memset(&c->ehlo, 0, sizeof(c->ehlo));
	remote_conn_send(c, "EHLO %s\r\n", c->r->cfg->hostname);
	remote_conn_set_state(c, RC_EHLO);
}

static void
remote_conn_on_greeting(struct remote_conn *c, const struct smtp_resp *resp)
{
	char reply[REMOTE_REPLY_MAX];

	if (resp->code == 220) {
		remote_conn_send_ehlo(c);
		return;
	}
	/* RFC 5321 3.1: a 554 (or any refusal) greeting: try elsewhere. */
	remote_conn_temp_reply(c, resp, "the greeting", reply, sizeof(reply));
	remote_conn_host_fail(c, RANK_PEER, reply, true, false);
}

static void
remote_conn_on_ehlo(struct remote_conn *c, const struct smtp_resp *resp)
{
	char reply[REMOTE_REPLY_MAX];

	if (resp->code == 250) {
		if (c->state == RC_EHLO)
			remote_ehlo_parse(resp, &c->ehlo);
		remote_conn_after_ehlo(c);
		return;
	}
	/* RFC 5321 4.1.4: a server without EHLO answers 5xx; say HELO. */
	if (c->state == RC_EHLO && resp->code / 100 == 5) {
		remote_conn_send(c, "HELO %s\r\n", c->r->cfg->hostname);
		remote_conn_set_state(c, RC_HELO);
		return;
	}
	remote_conn_temp_reply(c, resp, c->state == RC_EHLO ? "EHLO" : "HELO",
	    reply, sizeof(reply));
	remote_conn_host_fail(c, RANK_PEER, reply, true, false);
}

/* Do TLS (and the relayhost's AUTH) demand what this peer lacks? */
static bool
remote_conn_tls_needed(const struct remote_conn *c)
{
	return c->r->cfg->delivery.tls == DELIVERY_TLS_REQUIRED ||
	    c->r->auth.len > 0;
}

static void
remote_conn_starttls(struct remote_conn *c)
{
	struct bufferevent *tls;
	struct evbuffer *in = bufferevent_get_input(c->bev);
	SSL *ssl;

	/* RFC 3207 4.2: nothing received before the handshake counts. */
	evbuffer_drain(in, evbuffer_get_length(in));
	ssl = SSL_new(c->r->tls);
	if (ssl == NULL) {
		remote_conn_host_failf(c, RANK_PROTOCOL, false, false,
		    "451 4.7.5 local TLS failure");
		return;
	}
	/* SNI (RFC 6066 3): a host name, never an address. */
	if (c->host[0] != '[' && strchr(c->host, ':') == NULL &&
	    strspn(c->host, "0123456789.") != strlen(c->host))
		(void)SSL_set_tlsext_host_name(ssl, c->host);
	tls = bufferevent_openssl_filter_new(c->r->base, c->bev, ssl,
	    BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
	if (tls == NULL) {
		SSL_free(ssl);
		remote_conn_host_failf(c, RANK_PROTOCOL, false, false,
		    "451 4.7.5 local TLS failure");
		return;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(tls, 1);
	/* The TLS layer queues no more than this much in the socket's
	 * output: the body stays bounded (bio_bufferevent_write). */
	bufferevent_setwatermark(c->bev, EV_WRITE, 0, REMOTE_OUT_HIGH);
	c->bev = tls;
	/* Reading waits for the handshake (remote_conn_event_cb). */
	bufferevent_setcb(c->bev, NULL, NULL, remote_conn_event_cb, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	remote_conn_set_state(c, RC_HANDSHAKE);
}

static void
remote_conn_on_starttls(struct remote_conn *c, const struct smtp_resp *resp)
{
	char reply[REMOTE_REPLY_MAX];

	if (resp->code == 220) {
		remote_conn_starttls(c);	/* a new c->bev: reading stops */
		return;
	}
	if (remote_conn_tls_needed(c)) {
		remote_conn_temp_reply(c, resp, "STARTTLS", reply,
		    sizeof(reply));
		remote_conn_host_fail(c, RANK_PEER, reply, true, false);
		return;
	}
	/* Opportunistic: the session goes on in clear, as it was. */
	c->no_starttls = true;
	remote_conn_after_ehlo(c);
}

static void
remote_conn_on_auth(struct remote_conn *c, const struct smtp_resp *resp)
{
	char peer[REMOTE_REPLY_MAX], reply[REMOTE_REPLY_MAX];

	if (resp->code == 235) {
		c->authed = true;
		remote_conn_begin_tx(c);
		return;
	}
	if (resp->code / 100 == 4) {
		remote_reply_format(resp, reply, sizeof(reply));
		remote_conn_host_fail(c, RANK_PEER, reply, true, false);
		return;
	}
	/* 535 and other refusals: the credentials or the relayhost's setup
	 * are wrong; an administrator fixes that, the mail waits. */
	remote_reply_format(resp, peer, sizeof(peer));
	remote_fmt(reply, sizeof(reply), "451 4.7.0 relayhost %s[%s] refused "
	    "AUTH: %s", c->host, c->ip, peer);
	remote_conn_log_fail(c, reply, NULL);
	remote_attempt_temp(c->a, RANK_PEER, reply);
	remote_conn_tx_end(c, reply, false, false);
}

/* After EHLO (or HELO): STARTTLS, then AUTH to the relayhost, then MAIL. */
static void
remote_conn_after_ehlo(struct remote_conn *c)
{
	if (!c->tls && c->ehlo.starttls && !c->no_starttls) {
		remote_conn_send(c, "STARTTLS\r\n");
		remote_conn_set_state(c, RC_STARTTLS);
		return;
	}
	if (!c->tls && c->r->cfg->delivery.tls == DELIVERY_TLS_REQUIRED) {
		remote_conn_host_failf(c, RANK_PROTOCOL, true, false, "451 4.7.5 "
		    "%s[%s] offers no STARTTLS (delivery.tls = required)",
		    c->host, c->ip);
		return;
	}
	if (c->r->auth.len > 0 && !c->authed) {
		if (!c->tls) {
			/* RFC 4954 4: never a password in clear. */
			remote_conn_host_failf(c, RANK_PROTOCOL, true, false,
			    "451 4.7.0 relayhost %s[%s] offers no STARTTLS: "
			    "AUTH is never sent in clear", c->host, c->ip);
			return;
		}
		if (!c->ehlo.auth_plain) {
			remote_conn_host_failf(c, RANK_PROTOCOL, true, false,
			    "451 4.7.0 relayhost %s[%s] offers no AUTH PLAIN",
			    c->host, c->ip);
			return;
		}
		remote_conn_send(c, "AUTH PLAIN %s\r\n", buf_cstr(&c->r->auth));
		remote_conn_set_state(c, RC_AUTH);
		return;
	}
	remote_conn_begin_tx(c);
}

/* ---- the transaction ---- */

/* A reply as the status it gives: 2xx, 4xx and 5xx as they are; any
 * other code (a 3xx where none belongs) quoted behind a 451. */
static void
remote_conn_classify(struct remote_conn *c, const struct smtp_resp *resp,
    const char *what, char *out, size_t outlen)
{
	int cls = resp->code / 100;

	if (cls == 2 || cls == 4 || cls == 5)
		remote_reply_format(resp, out, outlen);
	else
		remote_conn_temp_reply(c, resp, what, out, outlen);
}

static enum remote_status
remote_status_of(const char *reply)
{
	return reply[0] == '2' ? REMOTE_SENT : reply[0] == '5' ?
	    REMOTE_BOUNCED : REMOTE_DEFERRED;
}

static void
remote_conn_send_cmd(struct remote_conn *c, const struct remote_cmd *cmd)
{
	struct remote_attempt *a = c->a;
	struct evbuffer *out = bufferevent_get_output(c->bev);

	switch (cmd->kind) {
	case CMD_MAIL:
		remote_conn_send(c, "MAIL FROM:<%s>", a->from);
		if (c->ehlo.size)	/* RFC 1870 6 */
			(void)evbuffer_add_printf(out, " SIZE=%llu",
			    (unsigned long long)a->wire_len);
		if (a->eightbit && c->ehlo.eightbitmime)	/* RFC 6152 3 */
			(void)evbuffer_add_printf(out, " BODY=8BITMIME");
		if (a->utf8)		/* RFC 6531 3.4 */
			(void)evbuffer_add_printf(out, " SMTPUTF8");
		(void)evbuffer_add(out, "\r\n", 2);
		break;
	case CMD_RCPT:
		remote_conn_send(c, "RCPT TO:<%s>\r\n", a->rcpts[cmd->rcpt]);
		break;
	case CMD_DATA:
		remote_conn_send(c, "DATA\r\n");
		break;
	}
	c->nsent++;
}

/* Waits for the next reply: 4.5.3.2.4 gives the 354 two minutes. */
static void
remote_conn_arm_tx(struct remote_conn *c)
{
	remote_conn_arm_sec(c, c->cmds[c->nanswered].kind == CMD_DATA ?
	    REMOTE_DATA_INIT_SEC : remote_timeouts[RC_TX].sec);
}

static void __attribute__((format(printf, 3, 4)))
remote_conn_tx_endf(struct remote_conn *c, bool abort, const char *fmt, ...)
{
	char reply[REMOTE_REPLY_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reply, sizeof(reply), fmt, ap);
	va_end(ap);
	remote_conn_log_fail(c, reply, NULL);
	remote_conn_tx_end(c, reply, false, abort);
}

static void
remote_conn_begin_tx(struct remote_conn *c)
{
	struct remote_attempt *a = c->a;
	size_t n = 0;

	if (remote_attempt_scan(a) == -1) {
		remote_conn_tx_endf(c, false, "451 4.3.0 local error reading "
		    "the message, ref %s", a->queue_id);
		return;
	}
	if (c->ehlo.size_max > 0 && a->wire_len > c->ehlo.size_max) {
		remote_conn_tx_endf(c, false, "552 5.3.4 message size %llu "
		    "exceeds the limit of %s[%s] (SIZE %llu)",
		    (unsigned long long)a->wire_len, c->host, c->ip,
		    (unsigned long long)c->ehlo.size_max);
		return;
	}
	if (a->utf8 && !c->ehlo.smtputf8) {
		remote_conn_tx_endf(c, false, "553 5.6.7 %s[%s] does not "
		    "support SMTPUTF8, needed by a non-ASCII address", c->host,
		    c->ip);
		return;
	}
	free(c->cmds);
	c->cmds = xcalloc(a->nrcpts + 2, sizeof(*c->cmds));
	c->cmds[n++].kind = CMD_MAIL;
	for (size_t i = 0; i < a->nrcpts; i++)
		if (a->state[i] == RS_PENDING)
			c->cmds[n++] = (struct remote_cmd){ CMD_RCPT, i };
	c->cmds[n++].kind = CMD_DATA;
	c->ncmds = n;
	c->nsent = c->nanswered = c->naccepted = 0;
	c->mail_answered = c->mail_ok = false;
	c->state = RC_TX;
	/* RFC 2920 3.1: MAIL, every RCPT and DATA in one go. */
	do
		remote_conn_send_cmd(c, &c->cmds[c->nsent]);
	while (c->ehlo.pipelining && c->nsent < c->ncmds);
	remote_conn_arm_tx(c);
}

static void
remote_conn_fill(struct remote_conn *c)
{
	struct remote_attempt *a = c->a;
	struct evbuffer *out = bufferevent_get_output(c->bev);
	struct evbuffer_iovec v;
	char end[2];
	size_t n;

	/* At most REMOTE_OUT_HIGH plus one encoded chunk waits here; the
	 * write callback comes back below REMOTE_OUT_LOW. */
	while (evbuffer_get_length(out) < REMOTE_OUT_HIGH) {
		if (c->body_pos == a->body_len) {
			n = remote_body_finish(&c->enc, end);
			(void)evbuffer_add(out, end, n);
			(void)evbuffer_add(out, ".\r\n", 3);
			free(c->chunk);
			c->chunk = NULL;
			remote_conn_set_state(c, RC_DOT);
			return;
		}
		n = a->body_len - c->body_pos < REMOTE_BODY_CHUNK ?
		    (size_t)(a->body_len - c->body_pos) : REMOTE_BODY_CHUNK;
		if (remote_body_read(a->body_fd, a->body_off + c->body_pos,
		    c->chunk, n) == -1 || evbuffer_reserve_space(out,
		    (ev_ssize_t)REMOTE_BODY_OUT_MAX(n), &v, 1) < 1) {
			log_kv(&c->r->log, LOGL_ERROR, "remote_body_error",
			    "queue_id", a->queue_id, "detail", strerror(errno),
			    NULL);
			/* No terminator: the peer drops what it got. */
			remote_conn_tx_endf(c, true, "451 4.3.0 local error "
			    "reading the message, ref %s", a->queue_id);
			return;
		}
		v.iov_len = remote_body_encode(&c->enc, c->chunk, n, v.iov_base);
		(void)evbuffer_commit_space(out, &v, 1);
		c->body_pos += n;
	}
	remote_conn_arm_sec(c, remote_timeouts[RC_BODY].sec);
}

static void
remote_conn_begin_body(struct remote_conn *c)
{
	c->state = RC_BODY;
	remote_body_init(&c->enc);
	c->body_pos = 0;
	c->chunk = xmalloc(REMOTE_BODY_CHUNK);
	bufferevent_setwatermark(c->bev, EV_WRITE, REMOTE_OUT_LOW, 0);
	remote_conn_fill(c);
}

/* After a reply without PIPELINING: the next command, or the end. */
static void
remote_conn_tx_next(struct remote_conn *c)
{
	if (c->nsent < c->ncmds && c->cmds[c->nsent].kind == CMD_DATA &&
	    c->naccepted == 0) {
		/* Every recipient refused: every one is final already. */
		remote_conn_tx_end(c, "451 4.0.0 no recipient accepted", false,
		    false);
		return;
	}
	if (c->nsent == c->nanswered)
		remote_conn_send_cmd(c, &c->cmds[c->nsent]);
	remote_conn_arm_tx(c);
}

static void
remote_conn_on_tx(struct remote_conn *c, const struct smtp_resp *resp)
{
	const struct remote_cmd *cmd = &c->cmds[c->nanswered++];
	struct remote_attempt *a = c->a;
	char reply[REMOTE_REPLY_MAX];

	remote_conn_classify(c, resp, cmd->kind == CMD_MAIL ? "MAIL" :
	    cmd->kind == CMD_RCPT ? "RCPT" : "DATA", reply, sizeof(reply));
	switch (cmd->kind) {
	case CMD_MAIL:
		c->mail_answered = true;
		c->mail_ok = resp->code / 100 == 2;
		if (!c->mail_ok) {
			remote_attempt_temp(a, RANK_PEER, reply);
			remote_attempt_all(a, remote_status_of(reply), reply);
		}
		break;
	case CMD_RCPT:
		if (!c->mail_ok)
			break;	/* pipelined after a refused MAIL: moot */
		if (resp->code / 100 == 2) {
			a->state[cmd->rcpt] = RS_ACCEPTED;
			c->naccepted++;
			break;
		}
		remote_attempt_temp(a, RANK_PEER, reply);
		remote_rcpt_set(a, cmd->rcpt, remote_status_of(reply), reply);
		break;
	case CMD_DATA:
		if (resp->code == 354 && c->mail_ok && c->naccepted > 0) {
			remote_conn_begin_body(c);
			return;
		}
		/* A 354 with nobody to send to: the peer reads a message
		 * now, and QUIT would be its text. Close instead. */
		remote_conn_tx_end(c, reply, false, resp->code == 354);
		return;
	}
	if (c->nanswered == c->ncmds)
		return;		/* unreachable: DATA is last */
	if (!c->mail_ok && c->nsent == c->nanswered) {
		remote_conn_tx_end(c, reply, false, false);
		return;
	}
	remote_conn_tx_next(c);
}

/* The final reply (RFC 5321 4.1.1.4), or one sent before the end of
 * data: the peer gave up on the message. */
static void
remote_conn_on_dot(struct remote_conn *c, const struct smtp_resp *resp)
{
	char reply[REMOTE_REPLY_MAX];
	bool early = c->state == RC_BODY;

	remote_conn_classify(c, resp, "end of data", reply, sizeof(reply));
	if (early && reply[0] == '2')
		snprintf(reply, sizeof(reply), "451 4.4.2 %s[%s] answered "
		    "before the end of data", c->host, c->ip);
	if (reply[0] != '2')
		remote_attempt_temp(c->a, RANK_PEER, reply);
	remote_conn_tx_end(c, reply, reply[0] == '2', early);
}

/* ---- callbacks ---- */

static void
remote_conn_on_reply(struct remote_conn *c, const struct smtp_resp *resp)
{
	switch (c->state) {
	case RC_GREETING:
		remote_conn_on_greeting(c, resp);
		break;
	case RC_EHLO:
	case RC_HELO:
		remote_conn_on_ehlo(c, resp);
		break;
	case RC_STARTTLS:
		remote_conn_on_starttls(c, resp);
		break;
	case RC_AUTH:
		remote_conn_on_auth(c, resp);
		break;
	case RC_TX:
		remote_conn_on_tx(c, resp);
		break;
	case RC_BODY:
	case RC_DOT:
		remote_conn_on_dot(c, resp);
		break;
	default:	/* the QUIT's reply, or a 421 on an idle connection */
		remote_conn_free(c);
		break;
	}
}

static void
remote_conn_read_cb(struct bufferevent *bev, void *arg)
{
	struct remote_conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct smtp_resp resp;
	char chunk[4096];
	enum parse_rc rc;
	ev_ssize_t n;
	size_t used;

	/* Stops when c dies or changes its bufferevent (STARTTLS). */
	while (!c->dead && c->bev == bev &&
	    (n = evbuffer_copyout(in, chunk, sizeof(chunk))) > 0) {
		rc = smtp_resp_feed(&c->resp, chunk, (size_t)n, &used);
		(void)evbuffer_drain(in, used);
		if (rc == PARSE_INCOMPLETE)
			continue;
		if (rc != PARSE_OK) {
			remote_conn_broken(c, rc == PARSE_TOO_LONG ?
			    "reply too long" : "malformed reply");
			break;
		}
		/* The reply moves out: the parser is free for the next one. */
		resp = c->resp;
		smtp_resp_init(&c->resp);
		remote_conn_on_reply(c, &resp);
		smtp_resp_clear(&resp);
	}
}

static void
remote_conn_write_cb(struct bufferevent *bev, void *arg)
{
	struct remote_conn *c = arg;

	(void)bev;
	if (c->state == RC_BODY)
		remote_conn_fill(c);
}

static void
remote_conn_tls_up(struct remote_conn *c)
{
	SSL *ssl = bufferevent_openssl_get_ssl(c->bev);

	c->tls = true;
	snprintf(c->tls_version, sizeof(c->tls_version), "%s",
	    tls_version_name(ssl));
	bufferevent_setcb(c->bev, remote_conn_read_cb, remote_conn_write_cb,
	    remote_conn_event_cb, c);
	bufferevent_setwatermark(c->bev, EV_READ, 0, REMOTE_IN_MAX);
	/* RFC 3207 4.2: everything learnt before is forgotten. */
	remote_conn_send_ehlo(c);
}

static void
remote_conn_tls_failed(struct remote_conn *c)
{
	unsigned long e = bufferevent_get_openssl_error(c->bev);
	char detail[256] = "handshake failed";
	bool retry = !remote_conn_tls_needed(c);

	if (e != 0)
		ERR_error_string_n(e, detail, sizeof(detail));
	log_kv(&c->r->log, LOGL_WARN, "remote_tls_failed", "queue_id",
	    c->a != NULL ? c->a->queue_id : NULL, "mx", c->host, "ip", c->ip,
	    "detail", detail, "retry_clear", retry ? "yes" : "no", NULL);
	/* Opportunistic TLS: this address once more, in clear. */
	remote_conn_host_failf(c, RANK_PROTOCOL, false, retry, "451 4.7.5 TLS "
	    "handshake with %s[%s] failed", c->host, c->ip);
}

static void
remote_conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct remote_conn *c = arg;
	int err = EVUTIL_SOCKET_ERROR();

	(void)bev;
	if ((what & BEV_EVENT_CONNECTED) && c->state == RC_CONNECTING)
		remote_conn_set_state(c, RC_GREETING);
	else if ((what & BEV_EVENT_CONNECTED) && c->state == RC_HANDSHAKE)
		remote_conn_tls_up(c);
	else if (what & BEV_EVENT_CONNECTED)
		;	/* not expected: ignored */
	else if (c->state == RC_HANDSHAKE)
		remote_conn_tls_failed(c);
	else if (what & BEV_EVENT_EOF)
		remote_conn_broken(c, "connection closed by the peer");
	else
		remote_conn_broken(c, err != 0 ? strerror(err) :
		    "connection error");
}

/* ---- opening and reusing ---- */

int
remote_conn_open(struct remote_attempt *a, const struct sockaddr *sa,
    const char *host, bool no_starttls)
{
	struct remote *r = a->r;
	struct remote_conn *c = xcalloc(1, sizeof(*c));
	socklen_t len = sa->sa_family == AF_INET ?
	    sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
	const void *ip = sa->sa_family == AF_INET ?
	    (const void *)&((const struct sockaddr_in *)sa)->sin_addr :
	    (const void *)&((const struct sockaddr_in6 *)sa)->sin6_addr;
	char reply[REMOTE_REPLY_MAX];
	int fd;

	c->r = r;
	c->a = a;
	c->no_starttls = no_starttls;
	smtp_resp_init(&c->resp);
	snprintf(c->host, sizeof(c->host), "%s", host);
	(void)inet_ntop(sa->sa_family, ip, c->ip, sizeof(c->ip));
	a->conn = c;
	fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd == -1 || (c->timer = evtimer_new(r->base, remote_conn_timer_cb,
	    c)) == NULL || (c->bev = bufferevent_socket_new(r->base, fd,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		if (fd != -1 && c->bev == NULL)
			close(fd);
		goto fail;
	}
	bufferevent_setcb(c->bev, remote_conn_read_cb, remote_conn_write_cb,
	    remote_conn_event_cb, c);
	bufferevent_setwatermark(c->bev, EV_READ, 0, REMOTE_IN_MAX);
	remote_conn_set_state(c, RC_CONNECTING);
	if (bufferevent_socket_connect(c->bev, sa, (int)len) == -1)
		goto fail;
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	return 0;
fail:
	snprintf(reply, sizeof(reply), "451 4.4.1 connect to %s[%s]: %s",
	    c->host, c->ip, strerror(errno));
	remote_conn_log_fail(c, reply, NULL);
	remote_attempt_temp(a, RANK_CONNECT, reply);
	remote_conn_free(c);	/* the caller goes on to the next address */
	return -1;
}

struct remote_conn *
remote_conn_take_idle(struct remote *r, const char *key)
{
	struct remote_conn *c;

	for (c = r->idle; c != NULL; c = c->next)
		if (strcmp(c->key, key) == 0) {
			remote_conn_unlist(c);
			free(c->key);
			c->key = NULL;
			(void)evtimer_del(c->timer);
			return c;
		}
	return NULL;
}

void
remote_conn_reuse(struct remote_conn *c, struct remote_attempt *a)
{
	c->a = a;
	a->conn = c;
	remote_conn_begin_tx(c);
}
