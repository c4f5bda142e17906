/*
 * msess: the connection life cycle of a POP3 or IMAP session, protocol
 * aside: connect checks (allow, limits, dird's ban list), implicit TLS and
 * STARTTLS (RFC 2595 / RFC 8314: nothing from before the handshake
 * survives it), the idle timer, output pacing, and close with a bounded
 * linger. Logins are in msess_login.c, folder watches in msess_watch.c.
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

#include "core/cidr.h"
#include "core/ids.h"
#include "core/tls.h"
#include "core/xalloc.h"
#include "ipc/ipc_proto.h"
#include "msess/msess_int.h"

/* Reading stops while this much input waits (msess.h). */
#define MSESS_IN_MAX		(256 * 1024)
/* With STARTTLS, the socket layer takes at most this much ciphertext; the
 * TLS layer's own write callback then fires at MSESS_OUT_LOW minus it, so
 * both layers together are at MSESS_OUT_LOW or below. */
#define MSESS_UNDER_HIGH	(32 * 1024)
#define MSESS_UNDER_LOW		(16 * 1024)
#define MSESS_LINGER_MSEC	50
#define MSESS_LINGER_TICKS	200	/* 10 s */
#define MSESS_DRAIN_CHECK_MSEC	200

static void msess_read_cb(struct bufferevent *bev, void *arg);
static void msess_write_cb(struct bufferevent *bev, void *arg);
static void msess_event_cb(struct bufferevent *bev, short what, void *arg);
static void msess_free(struct msess *c);

/* ---- accessors ---- */

struct msrv *
msess_server(struct msess *c)
{
	return c->srv;
}

const struct config *
msess_config(struct msess *c)
{
	return c->srv->cfg;
}

const struct cfg_listen *
msess_listener(struct msess *c)
{
	return c->listen;
}

const char *
msess_ip(struct msess *c)
{
	return c->ip;
}

const char *
msess_id(struct msess *c)
{
	return c->log.session;
}

struct log_ctx *
msess_log(struct msess *c)
{
	return &c->log;
}

bool
msess_tls(struct msess *c)
{
	return c->tls;
}

const char *
msess_tls_version(struct msess *c)
{
	if (!c->tls || c->bev == NULL)
		return "none";
	return tls_version_name(bufferevent_openssl_get_ssl(c->bev));
}

/* ---- input ---- */

struct evbuffer *
msess_input(struct msess *c)
{
	return bufferevent_get_input(c->bev);
}

static void
msess_arm_idle(struct msess *c)
{
	struct timeval tv = { .tv_sec = c->idle_sec };

	if (c->idle_sec == 0)
		event_del(c->idle_ev);
	else
		event_add(c->idle_ev, &tv);
}

void
msess_set_idle(struct msess *c, unsigned sec)
{
	c->idle_sec = sec;
	if (!c->closing)
		msess_arm_idle(c);
}

/* Hands buffered input to the protocol, once per call. */
static void
msess_feed(struct msess *c)
{
	if (c->closing || !c->opened || c->paused || c->bev == NULL ||
	    evbuffer_get_length(bufferevent_get_input(c->bev)) == 0)
		return;
	msess_arm_idle(c);
	c->proto->input(c->p);
}

static void
msess_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	msess_feed(arg);
}

void
msess_pause_input(struct msess *c, bool paused)
{
	static const struct timeval zero = { 0, 0 };

	c->paused = paused;
	/* Input that waited meanwhile: on the next loop turn, never from
	 * inside the protocol's own call. */
	if (!paused && !c->closing)
		event_add(c->resume_ev, &zero);
}

/* ---- output ---- */

/* Bytes still to go out, TLS layer and socket layer both. */
size_t
msess_unsent(const struct msess *c)
{
	struct bufferevent *under;
	size_t n;

	if (c->bev == NULL)
		return 0;
	n = evbuffer_get_length(bufferevent_get_output(c->bev));
	under = bufferevent_get_underlying(c->bev);
	if (under != NULL)
		n += evbuffer_get_length(bufferevent_get_output(under));
	return n;
}

void
msess_write(struct msess *c, const void *data, size_t len)
{
	if (!c->closing && c->bev != NULL)
		bufferevent_write(c->bev, data, len);
}

void
msess_printf(struct msess *c, const char *fmt, ...)
{
	va_list ap;

	if (c->closing || c->bev == NULL)
		return;
	va_start(ap, fmt);
	evbuffer_add_vprintf(bufferevent_get_output(c->bev), fmt, ap);
	va_end(ap);
}

struct evbuffer *
msess_output(struct msess *c)
{
	return bufferevent_get_output(c->bev);
}

bool
msess_out_full(struct msess *c)
{
	static const struct timeval check = { 0, MSESS_DRAIN_CHECK_MSEC * 1000 };

	if (msess_unsent(c) <= MSESS_OUT_HIGH)
		return false;
	/* The write callback tells us when it has fallen; the timer covers a
	 * socket layer that drains with the TLS layer already empty. */
	c->want_drained = true;
	event_add(c->drain_ev, &check);
	return true;
}

static void
msess_check_drained(struct msess *c)
{
	static const struct timeval check = { 0, MSESS_DRAIN_CHECK_MSEC * 1000 };

	if (!c->want_drained || c->closing || !c->opened)
		return;
	if (msess_unsent(c) > MSESS_OUT_LOW) {
		event_add(c->drain_ev, &check);
		return;
	}
	c->want_drained = false;
	event_del(c->drain_ev);
	c->proto->drained(c->p);
}

static void
msess_drain_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	msess_check_drained(arg);
}

/* ---- close ---- */

static void
msess_linger_cb(evutil_socket_t fd, short what, void *arg)
{
	static const struct timeval tick = { 0, MSESS_LINGER_MSEC * 1000 };
	struct msess *c = arg;

	(void)fd;
	(void)what;
	if (msess_unsent(c) == 0 && c->tls && c->opened && !c->tls_closed) {
		/* RFC 8446 6.1: close_notify once the last reply is out
		 * (after STARTTLS it joins the socket layer's output). */
		c->tls_closed = true;
		(void)SSL_shutdown(bufferevent_openssl_get_ssl(c->bev));
	}
	if (msess_unsent(c) == 0 || ++c->linger_ticks > MSESS_LINGER_TICKS) {
		msess_free(c);
		return;
	}
	event_add(c->linger_ev, &tick);
}

/* Never frees synchronously: the protocol up the stack still holds c. */
void
msess_close(struct msess *c, const char *reason)
{
	static const struct timeval zero = { 0, 0 };

	if (c->closing)
		return;
	c->closing = true;
	c->close_reason = reason;
	if (c->bev != NULL)
		bufferevent_disable(c->bev, EV_READ);
	event_del(c->idle_ev);
	event_del(c->resume_ev);
	event_del(c->drain_ev);
	event_add(c->linger_ev, &zero);
}

/* The memory itself goes once no directory answer is awaited. */
void
msess_release(struct msess *c)
{
	if (!c->freed || c->dir_pending > 0)
		return;
	free(c);
}

static void
msess_free(struct msess *c)
{
	struct msrv *srv = c->srv;

	if (c->freed)
		return;
	c->closing = true;
	c->freed = true;
	log_kv(&c->log, LOGL_INFO, "disconnect", "ip", c->ip, "reason",
	    c->close_reason != NULL ? c->close_reason : "closed", NULL);
	if (c->opened)
		c->proto->close(c->p);
	c->p = NULL;
	msess_watch_del_session(c);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		srv->sessions = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	srv->nsessions--;
	if (c->admitted && srv->closed != NULL)
		srv->closed(srv->closed_arg, (struct sockaddr *)&c->peer);
	event_free(c->idle_ev);
	event_free(c->resume_ev);
	event_free(c->drain_ev);
	event_free(c->linger_ev);
	if (c->bev != NULL)
		bufferevent_free(c->bev);
	else if (c->fd != -1)
		close(c->fd);
	c->bev = NULL;
	c->fd = -1;
	msess_release(c);
}

/* ---- open ---- */

static void
msess_open_proto(struct msess *c)
{
	c->opened = true;
	c->p = c->proto->open(c);
	/* Bytes sent with the handshake's last flight, or before the
	 * greeting went out: the protocol decides (next loop turn). */
	if (!c->closing && !c->paused &&
	    evbuffer_get_length(bufferevent_get_input(c->bev)) > 0)
		msess_pause_input(c, false);
}

static void
msess_setcb(struct msess *c)
{
	bufferevent_setcb(c->bev, msess_read_cb, msess_write_cb, msess_event_cb, c);
	bufferevent_setwatermark(c->bev, EV_READ, 0, MSESS_IN_MAX);
	bufferevent_setwatermark(c->bev, EV_WRITE, MSESS_OUT_LOW, 0);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

/* The connect check passed: make the bufferevent, greet (after the
 * handshake with implicit TLS). */
static void
msess_open(struct msess *c)
{
	struct msrv *srv = c->srv;
	bool implicit = c->listen->service == SVC_POP3S ||
	    c->listen->service == SVC_IMAPS;

	if (implicit) {
		SSL *ssl = srv->tls != NULL ? SSL_new(srv->tls) : NULL;

		if (ssl == NULL) {
			log_kv(&c->log, LOGL_ERROR, "tls_error", "detail",
			    "no TLS context", NULL);
			msess_close(c, "tls");
			return;
		}
		c->bev = bufferevent_openssl_socket_new(srv->base, c->fd, ssl,
		    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE |
		    BEV_OPT_DEFER_CALLBACKS);
		if (c->bev != NULL)
			bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
		c->tls = true;
	} else {
		c->bev = bufferevent_socket_new(srv->base, c->fd,
		    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	}
	if (c->bev == NULL) {
		msess_close(c, "error");
		return;
	}
	c->fd = -1;	/* the bufferevent owns it */
	msess_setcb(c);
	/* The handshake is bounded by the same timer as a command. */
	msess_arm_idle(c);
	if (!implicit)
		msess_open_proto(c);
}

static void
msess_connect_checked(void *arg, const struct ipc_msg *reply)
{
	struct msess *c = arg;
	uint64_t rc = IPCV_TEMPFAIL;

	c->dir_pending--;
	if (c->freed) {
		msess_release(c);
		return;
	}
	if (c->closing)
		return;
	if (reply != NULL)
		ipc_msg_get_u64(reply, IK_RC, &rc);
	switch (rc) {
	case IPCV_OK:
		msess_open(c);
		break;
	case IPCV_BANNED:
		/* A banned client hears nothing, not even a greeting. */
		log_kv(&c->log, LOGL_INFO, "refused", "ip", c->ip, "reason",
		    "banned", NULL);
		msess_close(c, "banned");
		break;
	default:
		/* No directory, no ban list to apply: do not serve. */
		log_kv(&c->log, LOGL_ERROR, "directory_error", "detail",
		    reply == NULL ? "directory process unreachable" :
		    "connect check failed", NULL);
		msess_close(c, "directory");
		break;
	}
}

int
msess_dir_call(struct msess *c, struct ipc_msg *req, ipc_reply_fn fn)
{
	c->dir_pending++;
	if (c->srv->dir_call(c->srv->dir_arg, req, fn, c) == -1) {
		c->dir_pending--;
		return -1;
	}
	return 0;
}

static void
msess_connect_failed_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	msess_connect_checked(arg, NULL);
}

void
msess_start(struct msrv *srv, const struct msess_proto *proto,
    const struct cfg_listen *cl, int fd, const struct sockaddr *sa,
    socklen_t salen)
{
	struct msess *c = xcalloc(1, sizeof(*c));
	struct ipc_msg req;
	int admit;

	c->srv = srv;
	c->proto = proto;
	c->listen = cl;
	c->fd = fd;
	c->idle_sec = srv->cfg->limits.command_timeout;
	memcpy(&c->peer, sa, salen < sizeof(c->peer) ? salen : sizeof(c->peer));
	sockaddr_ip_text(sa, c->ip, sizeof(c->ip));
	c->log.service = proto->name;
	ids_session(c->log.session);
	log_kv(&c->log, LOGL_INFO, "connect", "ip", c->ip, NULL);
	if (cl->has_allow && !cidr_list_match(&cl->allow, sa)) {
		log_kv(&c->log, LOGL_INFO, "refused", "ip", c->ip, "reason",
		    "not in allow", NULL);
		close(fd);
		free(c);
		return;
	}
	admit = srv->admit != NULL ? srv->admit(srv->admit_arg, sa) : 0;
	if (admit != 0) {
		log_kv(&c->log, LOGL_WARN, "refused", "ip", c->ip, "reason",
		    admit == 1 ? "connections_per_ip" : "connections", NULL);
		close(fd);
		free(c);
		return;
	}
	c->admitted = true;
	c->next = srv->sessions;
	if (c->next != NULL)
		c->next->prev = c;
	srv->sessions = c;
	srv->nsessions++;
	c->idle_ev = evtimer_new(srv->base, msess_idle_cb, c);
	c->resume_ev = evtimer_new(srv->base, msess_resume_cb, c);
	c->drain_ev = evtimer_new(srv->base, msess_drain_cb, c);
	c->linger_ev = evtimer_new(srv->base, msess_linger_cb, c);
	ipc_msg_init(&req, IPCM_CONNECT, 0);
	ipc_msg_add_str(&req, IK_IP, c->ip);
	if (msess_dir_call(c, &req, msess_connect_checked) == -1) {
		static const struct timeval zero = { 0, 0 };

		c->dir_pending++;
		event_base_once(srv->base, -1, EV_TIMEOUT, msess_connect_failed_cb,
		    c, &zero);
	}
}

/* ---- events ---- */

void
msess_idle_cb(evutil_socket_t fd, short what, void *arg)
{
	struct msess *c = arg;

	(void)fd;
	(void)what;
	if (c->closing)
		return;
	if (!c->opened) {
		msess_close(c, "timeout");
		return;
	}
	if (c->login_pending) {
		/* The login answers within its deadline (msess_login.c). */
		msess_arm_idle(c);
		return;
	}
	c->proto->timeout(c->p);
}

static void
msess_read_cb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	msess_feed(arg);
}

static void
msess_write_cb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	msess_check_drained(arg);
}

static void
msess_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct msess *c = arg;

	if (what & BEV_EVENT_CONNECTED) {
		/* Implicit TLS is up: greet. (After STARTTLS: nothing to do.) */
		if (!c->opened && !c->closing)
			msess_open_proto(c);
		return;
	}
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
		unsigned long e = c->tls ? bufferevent_get_openssl_error(bev) : 0;

		if (e != 0 && !c->closing) {
			const char *why = ERR_reason_error_string(e);

			log_kv(&c->log, LOGL_INFO, "tls_error", "ip", c->ip,
			    "detail", why != NULL ? why : "unknown", NULL);
		}
		if (!c->closing) {
			c->close_reason = what & BEV_EVENT_EOF ? "eof" :
			    c->tls && !c->opened ? "tls" : "error";
			c->closing = true;
		}
		/* Nothing more can go out: free now (we are on the loop). */
		event_del(c->linger_ev);
		msess_free(c);
	}
}

/* ---- STARTTLS ---- */

/* RFC 2595 / RFC 3207 4.2: nothing from before the handshake survives it. */
int
msess_starttls(struct msess *c)
{
	struct bufferevent *tls, *under = c->bev;
	struct evbuffer *in;
	SSL *ssl;

	if (c->tls || c->srv->tls == NULL || c->closing || c->bev == NULL)
		return -1;
	in = bufferevent_get_input(under);
	if (evbuffer_get_length(in) > 0) {
		char n[24];

		snprintf(n, sizeof(n), "%zu", evbuffer_get_length(in));
		log_kv(&c->log, LOGL_WARN, "starttls_injection", "ip", c->ip,
		    "bytes", n, NULL);
		evbuffer_drain(in, evbuffer_get_length(in));
	}
	ssl = SSL_new(c->srv->tls);
	if (ssl == NULL) {
		msess_close(c, "tls");
		return -1;
	}
	tls = bufferevent_openssl_filter_new(c->srv->base, under, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE |
	    BEV_OPT_DEFER_CALLBACKS);
	if (tls == NULL) {
		msess_close(c, "tls");
		return -1;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(tls, 1);
	/* The reply already queued leaves in plaintext, ahead of the
	 * handshake; then the socket layer holds at most MSESS_UNDER_HIGH. */
	bufferevent_setwatermark(under, EV_WRITE, MSESS_UNDER_LOW,
	    MSESS_UNDER_HIGH);
	c->bev = tls;
	c->tls = true;
	msess_setcb(c);
	bufferevent_setwatermark(c->bev, EV_WRITE, MSESS_OUT_LOW -
	    MSESS_UNDER_HIGH, 0);
	return 0;
}

/* ---- server ---- */

void
msess_server_drain(struct msrv *srv)
{
	struct msess *c, *next;

	srv->draining = true;
	for (c = srv->sessions; c != NULL; c = next) {
		next = c->next;
		if (c->closing)
			continue;
		if (c->opened)
			c->proto->shutdown(c->p);
		else
			msess_close(c, "shutdown");
	}
}
