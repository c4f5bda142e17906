/*
 * smtp_session: connection life cycle, line framing, the command table and
 * replies (RFC 5321 4.1, 4.2, 4.3.2; RFC 2920 pipelining; RFC 3207 TLS).
 * Connect-time checks (allow, ban, limits, pregreet) answer here, before
 * any byte of the client is read as a command.
 */
#include <errno.h>
#include <fcntl.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/ids.h"
#include "core/limits.h"
#include "core/tls.h"
#include "core/xalloc.h"
#include "ipc/ipc_proto.h"
#include "queue/queue.h"
#include "smtp/smtp_checks.h"
#include "smtp/smtp_filter.h"
#include "smtp/smtp_session.h"

#define IN(st)	(1u << (st))
#define SMTP_AFTER_HELO	(IN(SMTP_STATE_READY) | IN(SMTP_STATE_MAIL) | IN(SMTP_STATE_RCPT))
#define SMTP_ANY	(IN(SMTP_STATE_GREETED) | SMTP_AFTER_HELO)

struct smtp_cmd_def {
	enum smtp_verb	 verb;
	unsigned	 states;
	void		(*run)(struct smtp_session *, const struct smtp_cmd *);
};

static const struct smtp_cmd_def smtp_cmd_defs[] = {
	{ SMTP_VERB_HELO,	SMTP_ANY,			smtp_cmd_helo },
	{ SMTP_VERB_EHLO,	SMTP_ANY,			smtp_cmd_ehlo },
	{ SMTP_VERB_STARTTLS,	SMTP_AFTER_HELO,		smtp_cmd_starttls },
	{ SMTP_VERB_AUTH,	IN(SMTP_STATE_READY),		smtp_cmd_auth },
	{ SMTP_VERB_MAIL,	IN(SMTP_STATE_READY),		smtp_cmd_mail },
	{ SMTP_VERB_RCPT,	IN(SMTP_STATE_MAIL) | IN(SMTP_STATE_RCPT), smtp_cmd_rcpt },
	{ SMTP_VERB_DATA,	IN(SMTP_STATE_RCPT),		smtp_cmd_data },
	{ SMTP_VERB_RSET,	SMTP_ANY,			smtp_cmd_rset },
	{ SMTP_VERB_NOOP,	SMTP_ANY,			smtp_cmd_noop },
	{ SMTP_VERB_QUIT,	SMTP_ANY,			smtp_cmd_quit },
	{ SMTP_VERB_VRFY,	SMTP_ANY,			smtp_cmd_vrfy },
	{ SMTP_VERB_EXPN,	SMTP_ANY,			smtp_cmd_expn },
	{ SMTP_VERB_HELP,	SMTP_ANY,			smtp_cmd_help },
};

static const char *const smtp_state_names[] = {
	"connected", "greeted", "ready", "mail", "rcpt", "data", "closing"
};

static void smtp_session_read_cb(struct bufferevent *bev, void *arg);
static void smtp_session_write_cb(struct bufferevent *bev, void *arg);
static void smtp_session_event_cb(struct bufferevent *bev, short what, void *arg);
static void smtp_session_free(struct smtp_session *s);
static void smtp_session_process(struct smtp_session *s);

static const struct smtp_cmd_def *
smtp_cmd_def_find(enum smtp_verb verb)
{
	for (size_t i = 0; i < sizeof(smtp_cmd_defs) / sizeof(smtp_cmd_defs[0]); i++)
		if (smtp_cmd_defs[i].verb == verb)
			return &smtp_cmd_defs[i];
	return NULL;
}

void
smtp_session_set_state(struct smtp_session *s, enum smtp_state st)
{
	if (s->state == st)
		return;
	if (log_enabled(LOGL_DEBUG))
		log_kv(&s->log, LOGL_DEBUG, "state", "from",
		    smtp_state_names[s->state], "to", smtp_state_names[st], NULL);
	s->state = st;
}

bool
smtp_session_is_submission(const struct smtp_session *s)
{
	return s->listen->service == SVC_SUBMISSION ||
	    s->listen->service == SVC_SUBMISSIONS;
}

/* AUTH is offered on submission ports, and on smtp listeners with auth. */
bool
smtp_session_may_auth(const struct smtp_session *s)
{
	return smtp_session_is_submission(s) ||
	    (s->listen->service == SVC_SMTP && s->listen->auth);
}

static void
smtp_session_arm_timer(struct smtp_session *s, unsigned sec)
{
	struct timeval tv = { .tv_sec = sec };

	event_add(s->timer, &tv);
}

/*
 * Every reply goes through here. A 5xx counts as an error; the Nth error
 * (limits.errors_before_disconnect) is answered 421 4.7.0 instead and the
 * connection closed, so a client probing addresses or commands is cut off.
 */
void
smtp_reply(struct smtp_session *s, int code, const char *esc, const char *fmt, ...)
{
	char text[512];
	va_list ap;
	struct buf b;

	if (s->state == SMTP_STATE_CLOSING)
		return;
	if (code >= 500 && ++s->errors >= s->cfg->limits.errors_before_disconnect) {
		smtp_reply_raw(s, "421 4.7.0 too many errors\r\n");
		smtp_session_close(s, "errors");
		return;
	}
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	buf_init(&b, 1024);
	if (esc != NULL)
		buf_printf(&b, "%d %s %s\r\n", code, esc, text);
	else
		buf_printf(&b, "%d %s\r\n", code, text);
	smtp_reply_raw(s, b.data);
	buf_free(&b);
}

void
smtp_reply_raw(struct smtp_session *s, const char *text)
{
	if (s->state != SMTP_STATE_CLOSING && s->bev != NULL)
		bufferevent_write(s->bev, text, strlen(text));
}

/* Bytes still to go out, TLS layer and socket layer both. */
static size_t
smtp_session_unsent(struct smtp_session *s)
{
	struct bufferevent *under;
	size_t n;

	if (s->bev == NULL)
		return 0;
	under = bufferevent_get_underlying(s->bev);
	n = evbuffer_get_length(bufferevent_get_output(s->bev));

	if (under != NULL)
		n += evbuffer_get_length(bufferevent_get_output(under));
	return n;
}

/* Frees once the last reply is on the wire, or after a bounded linger. */
static void
smtp_session_linger(evutil_socket_t fd, short what, void *arg)
{
	struct smtp_session *s = arg;
	struct timeval tv = { 0, 20000 };

	(void)fd;
	(void)what;
	if (smtp_session_unsent(s) == 0 || ++s->linger_ticks > 250) {
		smtp_session_free(s);
		return;
	}
	event_base_once(s->srv->base, -1, EV_TIMEOUT, smtp_session_linger, s, &tv);
}

/*
 * Flush what is queued, then free (smtp_session_linger). Never frees
 * synchronously: callers up the stack still hold s.
 */
void
smtp_session_close(struct smtp_session *s, const char *reason)
{
	static const struct timeval zero = { 0, 0 };

	if (s->state == SMTP_STATE_CLOSING)
		return;
	s->close_reason = reason;
	if (s->from != NULL)
		smtp_session_log_tx(s, "421 connection closed");
	smtp_session_set_state(s, SMTP_STATE_CLOSING);
	if (s->bev != NULL)
		bufferevent_disable(s->bev, EV_READ);
	event_del(s->timer);
	s->free_pending = true;
	event_base_once(s->srv->base, -1, EV_TIMEOUT, smtp_session_linger, s, &zero);
}

void
smtp_tx_log_rcpt(struct smtp_session *s, const char *addr, int code)
{
	buf_append_str(&s->rcpt_log, " rcpt=");
	log_quote(&s->rcpt_log, span_from_cstr(addr));
	buf_printf(&s->rcpt_log, ":%d", code);
}

void
smtp_session_log_tx(struct smtp_session *s, const char *reply)
{
	struct log_line l;

	log_line_begin(&l, &s->log, LOGL_INFO, "transaction");
	log_line_add(&l, "ip", s->ip);
	log_line_add(&l, "ptr", smtp_checks_ptr(s));
	log_line_add(&l, "helo", s->helo != NULL ? s->helo : "");
	log_line_add(&l, "tls", s->tls ? tls_version_name(
	    bufferevent_openssl_get_ssl(s->bev)) : "none");
	log_line_add(&l, "user", s->auth_user != NULL ? s->auth_user : "");
	log_line_add(&l, "from", s->from != NULL ? s->from : "");
	if (l.active)
		buf_append(&l.b, s->rcpt_log.data, s->rcpt_log.len);
	log_line_addf(&l, "size", "%llu", (unsigned long long)s->dec.out_bytes);
	log_line_add(&l, "msgid", s->msgid != NULL ? s->msgid : "");
	log_line_add(&l, "spf", smtp_checks_spf_word(s));
	smtp_filter_log_tx(s, &l);
	log_line_add(&l, "queue_id", s->queue_id);
	log_line_add(&l, "reply", reply);
	log_line_end(&l);
}

/* Ends the transaction (RFC 5321 4.1.1.5): the next MAIL starts afresh. */
void
smtp_session_reset_tx(struct smtp_session *s, const char *why)
{
	if (why != NULL && s->from != NULL)
		smtp_session_log_tx(s, why);
	if (s->qw != NULL)
		queue_writer_abort(&s->qw);
	free(s->from);
	free(s->from_key);
	free(s->from_domain);
	free(s->msgid);
	s->from = s->from_key = s->from_domain = s->msgid = NULL;
	for (size_t i = 0; i < s->ntargets; i++) {
		free(s->targets[i].key);
		free(s->targets[i].orig);
	}
	free(s->targets);
	s->targets = NULL;
	s->ntargets = 0;
	for (size_t i = 0; i < s->nrcpt; i++)
		free(s->rcpt_text[i]);
	free(s->rcpt_text);
	s->rcpt_text = NULL;
	free(s->rcpt_pending);
	s->rcpt_pending = NULL;
	s->nrcpt = 0;
	buf_reset(&s->rcpt_log);
	buf_free(&s->dout);
	buf_free(&s->hdr);
	s->hdr_done = s->too_big = s->write_failed = s->smtputf8 = false;
	s->declared_size = 0;
	s->queue_id[0] = '\0';
	smtp_data_init(&s->dec);
	smtp_checks_reset_tx(s);
	smtp_filter_reset(s);
	if (s->state == SMTP_STATE_MAIL || s->state == SMTP_STATE_RCPT ||
	    s->state == SMTP_STATE_DATA)
		smtp_session_set_state(s, SMTP_STATE_READY);
}

static void
smtp_session_free(struct smtp_session *s)
{
	struct smtp_server *srv = s->srv;

	if (s->busy) {
		/* A pool job still holds s: free when it completes. */
		s->dead = true;
		return;
	}
	if (s->bev != NULL)
		log_kv(&s->log, LOGL_INFO, "disconnect", "ip", s->ip, "reason",
		    s->close_reason != NULL ? s->close_reason : "closed", NULL);
	smtp_session_reset_tx(s, NULL);
	smtp_checks_free(s);
	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		srv->sessions = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	srv->nsessions--;
	if (srv->closed != NULL)
		srv->closed(srv->closed_arg, (struct sockaddr *)&s->peer);
	event_free(s->timer);
	if (s->bev != NULL)
		bufferevent_free(s->bev);
	else
		close(s->fd);
	free(s->helo);
	free(s->auth_try_user);
	if (s->auth_user != NULL)
		free(s->auth_user);
	free(s->auth_login_user);
	buf_free(&s->rcpt_log);
	free(s);
}

static void
smtp_session_banner(struct smtp_session *s)
{
	smtp_session_set_state(s, SMTP_STATE_GREETED);
	smtp_reply(s, 220, NULL, "%s %s", s->cfg->hostname, s->cfg->smtp_banner);
	smtp_session_arm_timer(s, s->cfg->limits.command_timeout);
	bufferevent_enable(s->bev, EV_READ);
}

static void
smtp_session_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct smtp_session *s = arg;

	(void)fd;
	(void)what;
	if (s->state == SMTP_STATE_CONNECTED) {
		/* greet_delay passed in silence: a patient client, greet it. */
		smtp_session_banner(s);
		return;
	}
	if (s->busy) {
		smtp_session_arm_timer(s, s->cfg->limits.command_timeout);
		return;
	}
	smtp_reply_raw(s, "421 4.4.2 idle timeout, closing connection\r\n");
	smtp_session_close(s, "timeout");
}

/* A client that talks before the banner is a spam engine (pregreet). */
static bool
smtp_session_pregreet(struct smtp_session *s)
{
	if (!s->cfg->checks.pregreet_reject ||
	    evbuffer_get_length(bufferevent_get_input(s->bev)) == 0)
		return false;
	log_kv(&s->log, LOGL_WARN, "pregreet", "ip", s->ip, NULL);
	smtp_reply_raw(s, "554 5.5.1 protocol error: talked before the banner\r\n");
	smtp_session_close(s, "pregreet");
	return true;
}

struct smtp_dir_ctx {
	struct smtp_session	*s;
	smtp_dir_fn		 fn;
};

unsigned
smtp_dir_verdict(const struct ipc_msg *reply)
{
	uint64_t rc;

	if (reply == NULL || ipc_msg_get_u64(reply, IK_RC, &rc) == -1)
		return IPCV_TEMPFAIL;
	return (unsigned)rc;
}

void
smtp_tempfail(struct smtp_session *s)
{
	smtp_reply(s, 451, "4.3.0", "temporary failure, ref %s", s->log.session);
}

static void
smtp_session_dir_done(void *arg, const struct ipc_msg *reply)
{
	struct smtp_dir_ctx *ctx = arg;
	struct smtp_session *s = ctx->s;
	smtp_dir_fn fn = ctx->fn;

	free(ctx);
	if (s->dead) {
		s->busy = false;
		smtp_session_free(s);
		return;
	}
	if (reply == NULL)
		log_kv(&s->log, LOGL_ERROR, "directory_error", "detail",
		    "directory process unreachable", NULL);
	s->busy = false;
	fn(s, reply);
	if (!s->busy)
		smtp_session_resume(s);
}

void
smtp_session_dir_call(struct smtp_session *s, struct ipc_msg *req, smtp_dir_fn fn)
{
	struct smtp_dir_ctx *ctx = xcalloc(1, sizeof(*ctx));

	ctx->s = s;
	ctx->fn = fn;
	s->busy = true;
	if (s->srv->dir_call(s->srv->dir_arg, req, smtp_session_dir_done, ctx) == -1) {
		/* Not taken (the worker's dir_call always takes it, and fails it
		 * later with NULL instead): answer as for an unreachable directory. */
		free(ctx);
		s->busy = false;
		fn(s, NULL);
	}
}

/* Creates the bufferevent and greets, once the connect checks passed. */
static void
smtp_session_open(struct smtp_session *s)
{
	struct smtp_server *srv = s->srv;
	int fd = s->fd;

	if (s->listen->service == SVC_SUBMISSIONS) {
		SSL *ssl = SSL_new(srv->tls);

		s->bev = bufferevent_openssl_socket_new(srv->base, fd, ssl,
		    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE |
		    BEV_OPT_DEFER_CALLBACKS);
		bufferevent_openssl_set_allow_dirty_shutdown(s->bev, 1);
		s->tls = true;
	} else {
		s->bev = bufferevent_socket_new(srv->base, fd, BEV_OPT_CLOSE_ON_FREE |
		    BEV_OPT_DEFER_CALLBACKS);
	}
	bufferevent_setcb(s->bev, smtp_session_read_cb, smtp_session_write_cb,
	    smtp_session_event_cb, s);
	bufferevent_setwatermark(s->bev, EV_READ, 0, 256 * 1024);
	if (s->tls) {
		/* The banner follows the handshake (BEV_EVENT_CONNECTED). */
		bufferevent_enable(s->bev, EV_READ);
		smtp_session_arm_timer(s, s->cfg->limits.command_timeout);
		return;
	}
	if (s->cfg->checks.greet_delay > 0) {
		bufferevent_enable(s->bev, EV_READ);
		smtp_session_arm_timer(s, s->cfg->checks.greet_delay);
		return;
	}
	smtp_session_banner(s);
	/* Even without a delay, bytes already waiting are a pregreet. */
	{
		char c;

		if (recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) == 1 &&
		    s->cfg->checks.pregreet_reject) {
			log_kv(&s->log, LOGL_WARN, "pregreet", "ip", s->ip, NULL);
			evbuffer_drain(bufferevent_get_output(s->bev),
			    evbuffer_get_length(bufferevent_get_output(s->bev)));
			smtp_reply_raw(s, "554 5.5.1 protocol error: talked before the banner\r\n");
			smtp_session_close(s, "pregreet");
		}
	}
}

/* The directory's word on a new client: banned ones hear nothing. */
static void
smtp_session_connect_checked(struct smtp_session *s, const struct ipc_msg *reply)
{
	uint64_t trusted = 0;

	switch (smtp_dir_verdict(reply)) {
	case IPCV_OK:
		if (reply != NULL)
			ipc_msg_get_u64(reply, IK_TRUSTED, &trusted);
		s->trusted = trusted != 0;
		smtp_checks_connect(s);
		smtp_session_open(s);
		break;
	case IPCV_BANNED:
		log_kv(&s->log, LOGL_INFO, "refused", "ip", s->ip, "reason",
		    "banned", NULL);
		smtp_session_close(s, "banned");
		break;
	default:
		/* No directory, no way to apply the ban list: do not serve. */
		if (write(s->fd, "421 4.3.0 temporary failure, try again later\r\n",
		    47) < 0)
			(void)0;
		smtp_session_close(s, "directory");
		break;
	}
}

void
smtp_session_start(struct smtp_server *srv, const struct cfg_listen *l, int fd,
    const struct sockaddr *peer, socklen_t peerlen)
{
	struct smtp_session *s = xcalloc(1, sizeof(*s));
	struct ipc_msg req;
	int admit;

	s->srv = srv;
	s->cfg = srv->cfg;
	s->listen = l;
	s->fd = fd;
	memcpy(&s->peer, peer, peerlen < sizeof(s->peer) ? peerlen : sizeof(s->peer));
	sockaddr_ip_text(peer, s->ip, sizeof(s->ip));
	s->log.service = config_service_name(l->service);
	ids_session(s->log.session);
	buf_init(&s->rcpt_log, LOG_LINE_MAX / 2);
	smtp_data_init(&s->dec);
	log_kv(&s->log, LOGL_INFO, "connect", "ip", s->ip, NULL);
	if (l->has_allow && !cidr_list_match(&l->allow, peer)) {
		log_kv(&s->log, LOGL_INFO, "refused", "ip", s->ip, "reason",
		    "not in allow", NULL);
		close(fd);
		buf_free(&s->rcpt_log);
		free(s);
		return;
	}
	admit = srv->admit != NULL ? srv->admit(srv->admit_arg, peer) : 0;
	if (admit != 0) {
		static const char per_ip[] = "421 4.7.0 too many connections from your address\r\n";
		static const char total[] = "421 4.3.2 too many connections, try again later\r\n";
		const char *msg = admit == 1 ? per_ip : total;

		log_kv(&s->log, LOGL_WARN, "refused", "ip", s->ip, "reason",
		    admit == 1 ? "connections_per_ip" : "connections", NULL);
		/* Best effort, non-blocking: a fresh socket has room for it. */
		if (write(fd, msg, strlen(msg)) < 0)
			(void)0;
		close(fd);
		buf_free(&s->rcpt_log);
		free(s);
		return;
	}
	s->next = srv->sessions;
	if (s->next != NULL)
		s->next->prev = s;
	srv->sessions = s;
	srv->nsessions++;
	s->timer = evtimer_new(srv->base, smtp_session_timer_cb, s);
	ipc_msg_init(&req, IPCM_CONNECT, 0);
	ipc_msg_add_str(&req, IK_IP, s->ip);
	smtp_session_dir_call(s, &req, smtp_session_connect_checked);
}

/* RFC 3207 4.2: nothing from before the handshake survives it. */
void
smtp_cmd_starttls(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	struct bufferevent *tls;
	struct evbuffer *in;
	SSL *ssl;

	(void)cmd;
	if (s->tls) {
		smtp_reply(s, 503, "5.5.1", "TLS already active");
		return;
	}
	smtp_reply(s, 220, "2.0.0", "ready to start TLS");
	in = bufferevent_get_input(s->bev);
	if (evbuffer_get_length(in) > 0) {
		log_kv(&s->log, LOGL_WARN, "starttls_injection", "ip", s->ip,
		    NULL);
		evbuffer_drain(in, evbuffer_get_length(in));
	}
	ssl = SSL_new(s->srv->tls);
	tls = bufferevent_openssl_filter_new(s->srv->base, s->bev, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (tls == NULL) {
		smtp_session_close(s, "tls");
		return;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(tls, 1);
	s->bev = tls;
	bufferevent_setcb(s->bev, smtp_session_read_cb, smtp_session_write_cb,
	    smtp_session_event_cb, s);
	bufferevent_setwatermark(s->bev, EV_READ, 0, 256 * 1024);
	bufferevent_enable(s->bev, EV_READ);
	s->tls = true;
	/* The client must greet again; its earlier EHLO is forgotten. */
	s->esmtp = false;
	free(s->helo);
	s->helo = NULL;
	smtp_session_reset_tx(s, NULL);
	smtp_session_set_state(s, SMTP_STATE_GREETED);
}

static void
smtp_session_dispatch(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	const struct smtp_cmd_def *def = smtp_cmd_def_find(cmd->verb);

	if (cmd->verb == SMTP_VERB_BDAT) {
		smtp_reply(s, 502, "5.5.1", "command not implemented");
		return;
	}
	if (def == NULL) {
		smtp_reply(s, 500, "5.5.1", "command not recognized");
		return;
	}
	if ((def->states & IN(s->state)) == 0) {
		smtp_reply(s, 503, "5.5.1", "bad sequence of commands");
		return;
	}
	def->run(s, cmd);
}

#ifdef POSTERN_DEBUG_PROBE
/*
 * Debug builds only (make debug): "XPROBE <path>" tries to open a file from
 * inside the session process, so the tests can prove what a compromised
 * session could not reach. Never compiled into build/postern.
 */
static bool
smtp_session_probe(struct smtp_session *s, struct span line)
{
	char path[256];
	int fd;

	if (!span_startswith_nocase(line, "XPROBE ") || line.len - 7 >= sizeof(path))
		return false;
	memcpy(path, line.ptr + 7, line.len - 7);
	path[line.len - 7] = '\0';
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1) {
		smtp_reply(s, 550, "5.7.0", "denied errno=%d", errno);
	} else {
		close(fd);
		smtp_reply(s, 250, "2.0.0", "opened");
	}
	return true;
}
#endif

static void
smtp_session_line(struct smtp_session *s, struct span line)
{
	struct smtp_cmd cmd;

#ifdef POSTERN_DEBUG_PROBE
	if (smtp_session_probe(s, line))
		return;
#endif
	switch (smtp_cmd_parse(line, &cmd)) {
	case PARSE_OK:
		smtp_session_dispatch(s, &cmd);
		break;
	case PARSE_TOO_LONG:
		smtp_reply(s, 500, "5.5.2", "line too long");
		break;
	default:
		if (cmd.verb == SMTP_VERB_MAIL)
			smtp_reply(s, 501, "5.5.4", "syntax: MAIL FROM:<address>");
		else if (cmd.verb == SMTP_VERB_RCPT)
			smtp_reply(s, 501, "5.5.4", "syntax: RCPT TO:<address>");
		else
			smtp_reply(s, 501, "5.5.4", "syntax error in parameters");
		break;
	}
}

/*
 * The read loop: frames one line at a time, or feeds DATA, until the input
 * is empty or a handler made the session wait. Pipelining lives here only.
 */
static void
smtp_session_process(struct smtp_session *s)
{
	struct evbuffer *in;
	char linebuf[SASL_RESPONSE_MAX + 4];

	while (!s->busy && s->state != SMTP_STATE_CLOSING &&
	    s->state != SMTP_STATE_CONNECTED) {
		size_t len, n, used = 0, max;
		struct span line;
		const char *p;
		enum parse_rc rc;

		in = bufferevent_get_input(s->bev);
		len = evbuffer_get_length(in);
		if (len == 0)
			return;
		if (s->state == SMTP_STATE_DATA) {
			if (!smtp_data_consume(s))
				return;
			continue;
		}
		max = s->auth_step != SMTP_AUTH_NONE ? SASL_RESPONSE_MAX + 2 :
		    SMTP_CMD_LINE_MAX;
		if (s->skip_line) {
			struct evbuffer_ptr lf = evbuffer_search(in, "\n", 1, NULL);

			if (lf.pos < 0) {
				evbuffer_drain(in, len);
				return;
			}
			evbuffer_drain(in, (size_t)lf.pos + 1);
			s->skip_line = false;
			continue;
		}
		n = len < max ? len : max;
		p = (const char *)evbuffer_pullup(in, (ssize_t)n);
		rc = line_find(p, n, max, &line, &used);
		if (rc == PARSE_INCOMPLETE)
			return;
		if (rc == PARSE_INVALID) {
			/* Bare LF or CR: the lever behind SMTP smuggling. */
			smtp_reply_raw(s, "521 5.5.2 bare CR or LF not allowed, closing\r\n");
			smtp_session_close(s, "bare_crlf");
			return;
		}
		if (rc == PARSE_TOO_LONG) {
			evbuffer_drain(in, n);
			s->skip_line = true;
			if (s->auth_step != SMTP_AUTH_NONE) {
				s->auth_step = SMTP_AUTH_NONE;
				smtp_reply(s, 500, "5.5.6", "authentication exchange line too long");
			} else {
				smtp_reply(s, 500, "5.5.2", "line too long");
			}
			continue;
		}
		memcpy(linebuf, line.ptr, line.len);
		line.ptr = linebuf;
		evbuffer_drain(in, used);
		if (s->state != SMTP_STATE_DATA)
			smtp_session_arm_timer(s, s->cfg->limits.command_timeout);
		if (s->auth_step != SMTP_AUTH_NONE)
			smtp_auth_line(s, line);
		else
			smtp_session_line(s, line);
	}
}

void
smtp_session_resume(struct smtp_session *s)
{
	if (s->dead) {
		s->busy = false;
		smtp_session_free(s);
		return;
	}
	s->busy = false;
	if (s->srv->draining && s->state != SMTP_STATE_CLOSING &&
	    s->state != SMTP_STATE_DATA) {
		smtp_reply_raw(s, "421 4.3.2 service shutting down\r\n");
		smtp_session_close(s, "shutdown");
		return;
	}
	if (s->state != SMTP_STATE_CLOSING && s->bev != NULL)
		bufferevent_enable(s->bev, EV_READ);
	smtp_session_process(s);
}

static void
smtp_session_read_cb(struct bufferevent *bev, void *arg)
{
	struct smtp_session *s = arg;

	(void)bev;
	if (s->state == SMTP_STATE_CONNECTED) {
		if (!s->tls && smtp_session_pregreet(s))
			return;
		return;
	}
	smtp_session_process(s);
}

static void
smtp_session_write_cb(struct bufferevent *bev, void *arg)
{
	struct smtp_session *s = arg;

	(void)bev;
	(void)s;	/* closing sessions are freed by smtp_session_linger() */
}

static void
smtp_session_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct smtp_session *s = arg;

	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		/* Implicit TLS (submissions): greet once the handshake is done. */
		if (s->state == SMTP_STATE_CONNECTED)
			smtp_session_banner(s);
		return;
	}
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
		if (s->busy) {
			/* The pool job finishes the transaction, then frees s. */
			s->close_reason = what & BEV_EVENT_EOF ? "eof" : "error";
			smtp_session_set_state(s, SMTP_STATE_CLOSING);
			event_del(s->timer);
			smtp_session_free(s);
			return;
		}
		if (s->state != SMTP_STATE_CLOSING) {
			s->close_reason = what & BEV_EVENT_EOF ? "eof" : "error";
			if (s->from != NULL)
				smtp_session_log_tx(s, "connection lost");
			smtp_session_reset_tx(s, NULL);
			smtp_session_set_state(s, SMTP_STATE_CLOSING);
			event_del(s->timer);
		}
		if (!s->free_pending) {
			s->free_pending = true;
			smtp_session_free(s);
		}
	}
}

void
smtp_server_drain(struct smtp_server *srv)
{
	struct smtp_session *s, *next;

	srv->draining = true;
	for (s = srv->sessions; s != NULL; s = next) {
		next = s->next;
		if (s->busy || s->state == SMTP_STATE_CLOSING)
			continue;	/* answered when its work completes */
		if (s->state != SMTP_STATE_CONNECTED)
			smtp_reply_raw(s, "421 4.3.2 service shutting down\r\n");
		smtp_session_close(s, "shutdown");
	}
}
