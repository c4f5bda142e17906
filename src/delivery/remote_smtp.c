/*
 * remote_smtp: what the outbound client says (RFC 5321 3, 4): EHLO with
 * HELO fallback (4.1.4), STARTTLS (RFC 3207), AUTH PLAIN to the relayhost
 * (RFC 4954, RFC 4616), the transaction with or without PIPELINING
 * (RFC 2920) and its per-recipient replies, the body streamed from the
 * queue file (remote_body.c). The connection itself is remote_conn.c's.
 */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"
#include "delivery/remote_int.h"

static void remote_smtp_after_ehlo(struct remote_conn *c);

void
remote_smtp_send_ehlo(struct remote_conn *c)
{
	memset(&c->ehlo, 0, sizeof(c->ehlo));
	remote_conn_send(c, "EHLO %s\r\n", c->r->cfg->hostname);
	remote_conn_set_state(c, RC_EHLO);
}

static void
remote_smtp_on_greeting(struct remote_conn *c, const struct smtp_resp *resp)
{
	char reply[REMOTE_REPLY_MAX];

	if (resp->code == 220) {
		remote_smtp_send_ehlo(c);
		return;
	}
	/* RFC 5321 3.1: a 554 (or any refusal) greeting: try elsewhere. */
	remote_conn_temp_reply(c, resp, "the greeting", reply, sizeof(reply));
	remote_conn_host_fail(c, RANK_PEER, reply, true, false);
}

static void
remote_smtp_on_ehlo(struct remote_conn *c, const struct smtp_resp *resp)
{
	char reply[REMOTE_REPLY_MAX];

	if (resp->code == 250) {
		if (c->state == RC_EHLO)
			remote_ehlo_parse(resp, &c->ehlo);
		remote_smtp_after_ehlo(c);
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
bool
remote_smtp_tls_needed(const struct remote_conn *c)
{
	return c->r->cfg->delivery.tls == DELIVERY_TLS_REQUIRED ||
	    c->r->auth.len > 0;
}

static void
remote_smtp_starttls(struct remote_conn *c)
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
remote_smtp_on_starttls(struct remote_conn *c, const struct smtp_resp *resp)
{
	char reply[REMOTE_REPLY_MAX];

	if (resp->code == 220) {
		remote_smtp_starttls(c);	/* a new c->bev: reading stops */
		return;
	}
	if (remote_smtp_tls_needed(c)) {
		remote_conn_temp_reply(c, resp, "STARTTLS", reply,
		    sizeof(reply));
		remote_conn_host_fail(c, RANK_PEER, reply, true, false);
		return;
	}
	/* Opportunistic: the session goes on in clear, as it was. */
	c->no_starttls = true;
	remote_smtp_after_ehlo(c);
}

static void
remote_smtp_on_auth(struct remote_conn *c, const struct smtp_resp *resp)
{
	char peer[REMOTE_REPLY_MAX], reply[REMOTE_REPLY_MAX];

	if (resp->code == 235) {
		c->authed = true;
		remote_smtp_begin_tx(c);
		return;
	}
	if (resp->code / 100 == 4) {
		remote_conn_reply_format(resp, reply, sizeof(reply));
		remote_conn_host_fail(c, RANK_PEER, reply, true, false);
		return;
	}
	/* 535 and other refusals: the credentials or the relayhost's setup
	 * are wrong; an administrator fixes that, the mail waits. */
	remote_conn_reply_format(resp, peer, sizeof(peer));
	remote_fmt(reply, sizeof(reply), "451 4.7.0 relayhost %s[%s] refused "
	    "AUTH: %s", c->host, c->ip, peer);
	remote_conn_log_fail(c, "remote_tx_failed", reply);
	remote_attempt_temp(c->a, RANK_PEER, reply);
	remote_conn_tx_end(c, reply, false, false);
}

/* After EHLO (or HELO): STARTTLS, then AUTH to the relayhost, then MAIL. */
static void
remote_smtp_after_ehlo(struct remote_conn *c)
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
	remote_smtp_begin_tx(c);
}

/* A reply as the status it gives: 2xx, 4xx and 5xx as they are; any
 * other code (a 3xx where none belongs) quoted behind a 451. */
static void
remote_smtp_classify(struct remote_conn *c, const struct smtp_resp *resp,
    const char *what, char *out, size_t outlen)
{
	int cls = resp->code / 100;

	if (cls == 2 || cls == 4 || cls == 5)
		remote_conn_reply_format(resp, out, outlen);
	else
		remote_conn_temp_reply(c, resp, what, out, outlen);
}

static enum remote_status
remote_smtp_status_of(const char *reply)
{
	return reply[0] == '2' ? REMOTE_SENT : reply[0] == '5' ?
	    REMOTE_BOUNCED : REMOTE_DEFERRED;
}

static void
remote_smtp_send_cmd(struct remote_conn *c, const struct remote_cmd *cmd)
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
remote_smtp_arm_tx(struct remote_conn *c)
{
	remote_conn_arm_sec(c, c->cmds[c->nanswered].kind == CMD_DATA ?
	    REMOTE_DATA_INIT_SEC : remote_conn_timeout_sec(RC_TX));
}

static void __attribute__((format(printf, 3, 4)))
remote_smtp_tx_endf(struct remote_conn *c, bool abort, const char *fmt, ...)
{
	char reply[REMOTE_REPLY_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reply, sizeof(reply), fmt, ap);
	va_end(ap);
	remote_conn_log_fail(c, "remote_tx_failed", reply);
	remote_conn_tx_end(c, reply, false, abort);
}

void
remote_smtp_begin_tx(struct remote_conn *c)
{
	struct remote_attempt *a = c->a;
	size_t n = 0;

	if (remote_attempt_scan(a) == -1) {
		remote_smtp_tx_endf(c, false, "451 4.3.0 local error reading "
		    "the message, ref %s", a->queue_id);
		return;
	}
	if (c->ehlo.size_max > 0 && a->wire_len > c->ehlo.size_max) {
		remote_smtp_tx_endf(c, false, "552 5.3.4 message size %llu "
		    "exceeds the limit of %s[%s] (SIZE %llu)",
		    (unsigned long long)a->wire_len, c->host, c->ip,
		    (unsigned long long)c->ehlo.size_max);
		return;
	}
	if (a->utf8 && !c->ehlo.smtputf8) {
		remote_smtp_tx_endf(c, false, "553 5.6.7 %s[%s] does not "
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
		remote_smtp_send_cmd(c, &c->cmds[c->nsent]);
	while (c->ehlo.pipelining && c->nsent < c->ncmds);
	remote_smtp_arm_tx(c);
}

void
remote_smtp_fill(struct remote_conn *c)
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
		errno = ENOMEM;	/* what a failed reserve means */
		if (remote_body_read(a->body_fd, a->body_off + c->body_pos,
		    c->chunk, n) == -1 || evbuffer_reserve_space(out,
		    (ev_ssize_t)REMOTE_BODY_OUT_MAX(n), &v, 1) < 1) {
			log_kv(&c->r->log, LOGL_ERROR, "remote_body_error",
			    "queue_id", a->queue_id, "detail", strerror(errno),
			    NULL);
			/* No terminator: the peer drops what it got. */
			remote_smtp_tx_endf(c, true, "451 4.3.0 local error "
			    "reading the message, ref %s", a->queue_id);
			return;
		}
		v.iov_len = remote_body_encode(&c->enc, c->chunk, n, v.iov_base);
		(void)evbuffer_commit_space(out, &v, 1);
		c->body_pos += n;
	}
	remote_conn_arm_sec(c, remote_conn_timeout_sec(RC_BODY));
}

static void
remote_smtp_begin_body(struct remote_conn *c)
{
	c->state = RC_BODY;
	remote_body_init(&c->enc);
	c->body_pos = 0;
	c->chunk = xmalloc(REMOTE_BODY_CHUNK);
	bufferevent_setwatermark(c->bev, EV_WRITE, REMOTE_OUT_LOW, 0);
	remote_smtp_fill(c);
}

/* After a reply without PIPELINING: the next command, or the end. */
static void
remote_smtp_tx_next(struct remote_conn *c)
{
	if (c->nsent < c->ncmds && c->cmds[c->nsent].kind == CMD_DATA &&
	    c->naccepted == 0) {
		/* Every recipient refused: every one is final already. */
		remote_conn_tx_end(c, "451 4.0.0 no recipient accepted", false,
		    false);
		return;
	}
	if (c->nsent == c->nanswered)
		remote_smtp_send_cmd(c, &c->cmds[c->nsent]);
	remote_smtp_arm_tx(c);
}

static void
remote_smtp_on_tx(struct remote_conn *c, const struct smtp_resp *resp)
{
	const struct remote_cmd *cmd = &c->cmds[c->nanswered++];
	struct remote_attempt *a = c->a;
	char reply[REMOTE_REPLY_MAX];

	remote_smtp_classify(c, resp, cmd->kind == CMD_MAIL ? "MAIL" :
	    cmd->kind == CMD_RCPT ? "RCPT" : "DATA", reply, sizeof(reply));
	switch (cmd->kind) {
	case CMD_MAIL:
		if (resp->code == 421 && c->reused) {
			/* The peer closed the idle session just now: start
			 * over on a new connection, nothing was handed over. */
			remote_conn_host_fail(c, RANK_PEER, reply, false, false);
			return;
		}
		c->mail_answered = true;
		c->mail_ok = resp->code / 100 == 2;
		if (!c->mail_ok) {
			remote_attempt_temp(a, RANK_PEER, reply);
			remote_attempt_all(a, remote_smtp_status_of(reply), reply);
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
		remote_rcpt_set(a, cmd->rcpt, remote_smtp_status_of(reply), reply);
		break;
	case CMD_DATA:
		if (resp->code == 354 && c->mail_ok && c->naccepted > 0) {
			remote_smtp_begin_body(c);
			return;
		}
		/* Only a 354 lets the body go; a 2xx here took nothing. */
		if (resp->code / 100 == 2)
			remote_conn_temp_reply(c, resp, "DATA", reply,
			    sizeof(reply));
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
	remote_smtp_tx_next(c);
}

/* The final reply (RFC 5321 4.1.1.4), or one sent before the end of
 * data: the peer gave up on the message. */
static void
remote_smtp_on_dot(struct remote_conn *c, const struct smtp_resp *resp)
{
	char reply[REMOTE_REPLY_MAX];
	bool early = c->state == RC_BODY;

	remote_smtp_classify(c, resp, "end of data", reply, sizeof(reply));
	if (early && reply[0] == '2')
		snprintf(reply, sizeof(reply), "451 4.4.2 %s[%s] answered "
		    "before the end of data", c->host, c->ip);
	if (reply[0] != '2')
		remote_attempt_temp(c->a, RANK_PEER, reply);
	remote_conn_tx_end(c, reply, reply[0] == '2', early);
}

void
remote_smtp_on_reply(struct remote_conn *c, const struct smtp_resp *resp)
{
	switch (c->state) {
	case RC_GREETING:
		remote_smtp_on_greeting(c, resp);
		break;
	case RC_EHLO:
	case RC_HELO:
		remote_smtp_on_ehlo(c, resp);
		break;
	case RC_STARTTLS:
		remote_smtp_on_starttls(c, resp);
		break;
	case RC_AUTH:
		remote_smtp_on_auth(c, resp);
		break;
	case RC_TX:
		remote_smtp_on_tx(c, resp);
		break;
	case RC_BODY:
	case RC_DOT:
		remote_smtp_on_dot(c, resp);
		break;
	default:	/* the QUIT's reply, or a 421 on an idle connection */
		if (c->a != NULL) {
			/* A reply in a state that expects none, with an attempt
			 * on it: never free it silently (the attempt would wait
			 * for ever); end it as a protocol failure. */
			remote_conn_fail_unexpected(c);
			break;
		}
		remote_conn_free(c);
		break;
	}
}
