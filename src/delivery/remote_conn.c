/*
 * remote_conn: one outbound SMTP connection's life: connect, read replies
 * (parsed by smtp_reply.c, one at a time, pipelined ones in order), the
 * STARTTLS switch to a libevent OpenSSL filter (RFC 3207), timeouts of
 * RFC 5321 4.5.3.2, failures (this host, or this transaction), QUIT, the
 * idle connections kept for reuse. What to say is remote_smtp.c's.
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

unsigned
remote_conn_timeout_sec(enum remote_conn_state st)
{
	return remote_timeouts[st].sec;
}

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

void
remote_conn_arm_sec(struct remote_conn *c, unsigned sec)
{
	struct timeval tv = { (time_t)sec, 0 };

	(void)evtimer_add(c->timer, &tv);
}

void
remote_conn_set_state(struct remote_conn *c, enum remote_conn_state st)
{
	c->state = st;
	remote_conn_arm_sec(c, remote_timeouts[st].sec);
}

void __attribute__((format(printf, 2, 3)))
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

void
remote_conn_reply_format(const struct smtp_resp *resp, char *out, size_t outlen)
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
void
remote_conn_temp_reply(struct remote_conn *c, const struct smtp_resp *resp,
    const char *what, char *out, size_t outlen)
{
	char peer[REMOTE_REPLY_MAX];

	remote_conn_reply_format(resp, peer, sizeof(peer));
	if (resp->code / 100 == 4)
		snprintf(out, outlen, "%s", peer);
	else
		remote_fmt(out, outlen, "451 4.4.0 %s[%s] answered %s with: %s",
		    c->host, c->ip, what, peer);
}

void
remote_conn_log_fail(struct remote_conn *c, const char *event,
    const char *reply)
{
	log_kv(&c->r->log, LOGL_WARN, event, "queue_id",
	    c->a != NULL ? c->a->queue_id : NULL, "mx", c->host, "ip", c->ip,
	    "reply", reply, NULL);
}

/*
 * This host cannot take the mail now, before any transaction: record
 * why and let the attempt try the next address. polite: QUIT first.
 */
void
remote_conn_host_fail(struct remote_conn *c, enum remote_rank rank,
    const char *reply, bool polite, bool retry_clear)
{
	struct remote_attempt *a;

	remote_conn_log_fail(c, "remote_host_failed", reply);
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

void __attribute__((format(printf, 5, 6)))
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
void
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
	remote_conn_log_fail(c, "remote_tx_failed", reply);
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

void
remote_conn_fail_unexpected(struct remote_conn *c)
{
	remote_conn_broken(c, "reply in an unexpected state");
}

void
remote_conn_read_cb(struct bufferevent *bev, void *arg)
{
	struct remote_conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct smtp_resp resp;
	char chunk[4096];
	enum parse_rc rc;
	ev_ssize_t n;
	size_t used;

	/* Data before the connect event: on loopback both are ready in the
	 * same loop turn and libevent may run the read callback first. Bytes
	 * from the peer prove the connection is up. */
	if (c->state == RC_CONNECTING)
		remote_conn_set_state(c, RC_GREETING);
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
		remote_smtp_on_reply(c, &resp);
		smtp_resp_clear(&resp);
	}
}

void
remote_conn_write_cb(struct bufferevent *bev, void *arg)
{
	struct remote_conn *c = arg;

	(void)bev;
	if (c->state == RC_BODY)
		remote_smtp_fill(c);
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
	remote_smtp_send_ehlo(c);
}

static void
remote_conn_tls_failed(struct remote_conn *c)
{
	unsigned long e = bufferevent_get_openssl_error(c->bev);
	char detail[256] = "handshake failed";
	bool retry = !remote_smtp_tls_needed(c);

	if (e != 0)
		ERR_error_string_n(e, detail, sizeof(detail));
	log_kv(&c->r->log, LOGL_WARN, "remote_tls_failed", "queue_id",
	    c->a != NULL ? c->a->queue_id : NULL, "mx", c->host, "ip", c->ip,
	    "detail", detail, "retry_clear", retry ? "yes" : "no", NULL);
	/* Opportunistic TLS: this address once more, in clear. */
	remote_conn_host_failf(c, RANK_PROTOCOL, false, retry, "451 4.7.5 TLS "
	    "handshake with %s[%s] failed", c->host, c->ip);
}

void
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
	int fd, err;

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
		err = fd == -1 ? errno : ENOMEM;
		if (fd != -1)
			close(fd);
		goto fail;
	}
	bufferevent_setcb(c->bev, remote_conn_read_cb, remote_conn_write_cb,
	    remote_conn_event_cb, c);
	bufferevent_setwatermark(c->bev, EV_READ, 0, REMOTE_IN_MAX);
	remote_conn_set_state(c, RC_CONNECTING);
	if (bufferevent_socket_connect(c->bev, sa, (int)len) == -1) {
		err = errno;
		goto fail;
	}
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	return 0;
fail:
	snprintf(reply, sizeof(reply), "451 4.4.1 connect to %s[%s]: %s",
	    c->host, c->ip, strerror(err));
	remote_conn_log_fail(c, "remote_host_failed", reply);
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
	c->reused = true;
	c->a = a;
	a->conn = c;
	remote_smtp_begin_tx(c);
}
