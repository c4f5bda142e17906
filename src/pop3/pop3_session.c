/*
 * pop3_session: the POP3 server on a msess connection: the greeting, the
 * read loop (CRLF framing, pipelining, limits), the state table, and the
 * AUTHORIZATION state: CAPA (RFC 2449 5), STLS (RFC 2595 4), USER/PASS
 * (RFC 1939 7), AUTH PLAIN (RFC 5034, RFC 4616) and the response codes of
 * RFC 2449 8 and RFC 3206. TRANSACTION and UPDATE are in pop3_trans.c.
 * No login of any kind before TLS (SPEC 5). docs/pop3.md, "Session".
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>

#include "core/buf.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/parse.h"
#include "core/sasl.h"
#include "core/xalloc.h"
#include "pop3/pop3_int.h"
#include "pop3/pop3_session.h"

/* RFC 5321 4.5.3.1.3 path, the longest login we could have: ours. */
#define POP3_USER_MAX	320

static const char *const pop3_state_names[POP3_STATE_COUNT] = {
	[POP3_STATE_AUTHORIZATION] = "authorization",
	[POP3_STATE_TRANSACTION] = "transaction",
	[POP3_STATE_UPDATE] = "update",
	[POP3_STATE_CLOSING] = "closing",
};

#define IN(st)	(1u << (st))

struct pop3_cmd_def {
	enum pop3_verb	 verb;
	unsigned	 states;
	void		 (*run)(struct pop3_session *, const struct pop3_cmd *);
	const char	*usage;		/* for a PARSE_INVALID line */
};

static void	pop3_cmd_capa(struct pop3_session *, const struct pop3_cmd *);
static void	pop3_cmd_stls(struct pop3_session *, const struct pop3_cmd *);
static void	pop3_cmd_user(struct pop3_session *, const struct pop3_cmd *);
static void	pop3_cmd_pass(struct pop3_session *, const struct pop3_cmd *);
static void	pop3_cmd_auth(struct pop3_session *, const struct pop3_cmd *);
static void	pop3_cmd_quit(struct pop3_session *, const struct pop3_cmd *);

#define AUTHZ	IN(POP3_STATE_AUTHORIZATION)
#define TRANS	IN(POP3_STATE_TRANSACTION)

static const struct pop3_cmd_def pop3_cmd_defs[] = {
	{ POP3_VERB_CAPA, AUTHZ | TRANS, pop3_cmd_capa, "CAPA" },
	{ POP3_VERB_QUIT, AUTHZ | TRANS, pop3_cmd_quit, "QUIT" },
	{ POP3_VERB_STLS, AUTHZ, pop3_cmd_stls, "STLS" },
	{ POP3_VERB_USER, AUTHZ, pop3_cmd_user, "USER name" },
	{ POP3_VERB_PASS, AUTHZ, pop3_cmd_pass, "PASS password" },
	{ POP3_VERB_AUTH, AUTHZ, pop3_cmd_auth, "AUTH [mechanism [initial-response]]" },
	{ POP3_VERB_STAT, TRANS, pop3_trans_cmd, "STAT" },
	{ POP3_VERB_LIST, TRANS, pop3_trans_cmd, "LIST [msg]" },
	{ POP3_VERB_UIDL, TRANS, pop3_trans_cmd, "UIDL [msg]" },
	{ POP3_VERB_RETR, TRANS, pop3_trans_cmd, "RETR msg" },
	{ POP3_VERB_TOP, TRANS, pop3_trans_cmd, "TOP msg lines" },
	{ POP3_VERB_DELE, TRANS, pop3_trans_cmd, "DELE msg" },
	{ POP3_VERB_NOOP, TRANS, pop3_trans_cmd, "NOOP" },
	{ POP3_VERB_RSET, TRANS, pop3_trans_cmd, "RSET" },
};

static const struct pop3_cmd_def *
pop3_cmd_def_find(enum pop3_verb v)
{
	for (size_t i = 0; i < sizeof(pop3_cmd_defs) / sizeof(pop3_cmd_defs[0]); i++)
		if (pop3_cmd_defs[i].verb == v)
			return &pop3_cmd_defs[i];
	return NULL;
}

/* ---- replies and state ---- */

void
pop3_set_state(struct pop3_session *s, enum pop3_state st)
{
	if (s->state == st)
		return;
	if (log_enabled(LOGL_DEBUG))
		log_kv(s->log, LOGL_DEBUG, "state", "from",
		    pop3_state_names[s->state], "to", pop3_state_names[st], NULL);
	s->state = st;
}

static void pop3_vreply(struct pop3_session *s, const char *status,
	    const char *fmt, va_list ap) __attribute__((format(printf, 3, 0)));

static void
pop3_vreply(struct pop3_session *s, const char *status, const char *fmt,
    va_list ap)
{
	/* Our own text only (never the client's), so a fixed line will do;
	 * longer would be cut, not overflow. */
	char line[512];

	vsnprintf(line, sizeof(line), fmt, ap);
	msess_printf(s->c, "%s%s%s\r\n", status, line[0] != '\0' ? " " : "",
	    line);
}

void
pop3_ok(struct pop3_session *s, const char *fmt, ...)
{
	va_list ap;

	s->errors = 0;
	va_start(ap, fmt);
	pop3_vreply(s, "+OK", fmt, ap);
	va_end(ap);
}

void
pop3_err(struct pop3_session *s, bool client_fault, const char *fmt, ...)
{
	va_list ap;

	if (client_fault && ++s->errors >= POP3_ERRORS_MAX) {
		/* As SMTP's limit: the Nth error is answered by the close. */
		msess_printf(s->c, "-ERR too many errors, closing\r\n");
		log_kv(s->log, LOGL_WARN, "too_many_errors", "ip", msess_ip(s->c),
		    NULL);
		pop3_close(s, "too_many_errors");
		return;
	}
	va_start(ap, fmt);
	pop3_vreply(s, "-ERR", fmt, ap);
	va_end(ap);
}

void
pop3_close(struct pop3_session *s, const char *reason)
{
	if (s->state == POP3_STATE_CLOSING || s->dead)
		return;
	pop3_set_state(s, POP3_STATE_CLOSING);
	s->wait = POP3_WAIT_NONE;
	msess_close(s->c, reason);
}

/* ---- lifetime: close() may come while one of our callbacks runs ---- */

static void
pop3_free(struct pop3_session *s)
{
	pop3_trans_end(s);
	free(s->user);
	free(s);
}

static void
pop3_enter(struct pop3_session *s)
{
	s->depth++;
}

static void
pop3_leave(struct pop3_session *s)
{
	if (--s->depth == 0 && s->dead)
		pop3_free(s);
}

static bool
pop3_live(const struct pop3_session *s)
{
	return !s->dead && s->state != POP3_STATE_CLOSING;
}

/* ---- AUTHORIZATION ---- */

static bool
pop3_plain_enabled(const struct pop3_session *s)
{
	for (size_t i = 0; i < s->cfg->auth.mechanisms.n; i++)
		if (strcasecmp(s->cfg->auth.mechanisms.v[i], "PLAIN") == 0)
			return true;
	return false;
}

/* SPEC 5: no login of any kind before TLS. [AUTH] as Dovecot and
 * RFC 3206 4: it is about how the credentials were offered. */
static bool
pop3_need_tls(struct pop3_session *s)
{
	if (msess_tls(s->c))
		return false;
	pop3_err(s, true, "[AUTH] TLS required: use STLS first");
	return true;
}

static void
pop3_cmd_capa(struct pop3_session *s, const struct pop3_cmd *cmd)
{
	bool authz = s->state == POP3_STATE_AUTHORIZATION;
	bool tls = msess_tls(s->c);

	(void)cmd;
	pop3_ok(s, "capability list follows");
	/* No IMPLEMENTATION: SPEC 1 never names the software. */
	if (authz && !tls && msess_server(s->c)->tls != NULL)
		msess_printf(s->c, "STLS\r\n");
	msess_printf(s->c, "TOP\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\n"
	    "PIPELINING\r\n");
	if (authz && tls) {
		msess_printf(s->c, "USER\r\n");
		if (pop3_plain_enabled(s))
			msess_printf(s->c, "SASL PLAIN\r\n");
	}
	msess_printf(s->c, ".\r\n");
}

static void
pop3_cmd_stls(struct pop3_session *s, const struct pop3_cmd *cmd)
{
	(void)cmd;
	if (msess_tls(s->c)) {
		pop3_err(s, true, "already using TLS");
		return;
	}
	if (msess_server(s->c)->tls == NULL) {
		pop3_err(s, true, "STLS not available");
		return;
	}
	pop3_ok(s, "begin TLS negotiation");
	/* RFC 2595 4: everything before the handshake is forgotten; msess
	 * discards what the client pipelined after STLS. */
	free(s->user);
	s->user = NULL;
	s->auth_cont = false;
	s->skip_line = false;
	if (msess_starttls(s->c) != 0) {
		log_kv(s->log, LOGL_ERROR, "starttls_error", NULL);
		pop3_close(s, "starttls_error");
	}
}

static void
pop3_lower(char *p)
{
	for (; *p != '\0'; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
}

static void
pop3_login_done(void *arg, enum msess_login_rc rc, const char *mailbox)
{
	struct pop3_session *s = arg;

	if (s->dead || s->wait != POP3_WAIT_LOGIN)
		return;
	pop3_enter(s);
	s->wait = POP3_WAIT_NONE;
	msess_pause_input(s->c, false);
	switch (rc) {
	case MSESS_LOGIN_OK:
		pop3_trans_begin(s, mailbox);
		break;
	case MSESS_LOGIN_FAIL:
		pop3_err(s, true, "[AUTH] invalid user name or password");
		break;
	case MSESS_LOGIN_BANNED:
		pop3_err(s, false, "[SYS/PERM] too many failed logins");
		pop3_close(s, "banned");
		break;
	case MSESS_LOGIN_TEMPFAIL:
	default:
		pop3_err(s, false, "[SYS/TEMP] try again later, ref %s",
		    msess_id(s->c));
		break;
	}
	pop3_resume(s);
	pop3_leave(s);
}

/*
 * Hands user and pass to the directory (msess_login: the ban counting and
 * the login log line are there). Input waits meanwhile: a pipelined STAT
 * runs only once the answer is known. Takes user.
 */
static void
pop3_login(struct pop3_session *s, char *user, struct span pass)
{
	struct buf pw;

	if (user[0] == '\0' || strlen(user) > POP3_USER_MAX ||
	    pass.len == 0 || pass.len > PASSWORD_MAX) {
		log_kv(s->log, LOGL_INFO, "login", "ip", msess_ip(s->c),
		    "user", user, "result", "fail", "reason", "too_long", NULL);
		free(user);
		pop3_err(s, true, "[AUTH] invalid user name or password");
		return;
	}
	pop3_lower(user);
	buf_init(&pw, PASSWORD_MAX + 1);
	buf_append(&pw, pass.ptr, pass.len);
	s->wait = POP3_WAIT_LOGIN;
	msess_pause_input(s->c, true);
	/* msess copies both. */
	msess_login(s->c, user, buf_cstr(&pw), pop3_login_done, s);
	buf_wipe(&pw);
	free(user);
}

static void
pop3_cmd_user(struct pop3_session *s, const struct pop3_cmd *cmd)
{
	if (pop3_need_tls(s))
		return;
	free(s->user);
	s->user = xstrndup(cmd->arg.ptr, cmd->arg.len);
	/* Never tells whether the user exists (RFC 1939 7 allows either). */
	pop3_ok(s, "send PASS");
}

static void
pop3_cmd_pass(struct pop3_session *s, const struct pop3_cmd *cmd)
{
	char *user;

	if (pop3_need_tls(s))
		return;
	if (s->user == NULL) {
		pop3_err(s, true, "send USER first");
		return;
	}
	/* RFC 1939 7: after a failed PASS the client starts again at USER. */
	user = s->user;
	s->user = NULL;
	pop3_login(s, user, cmd->arg);
}

/* The PLAIN message, base64 (RFC 4616; RFC 5034 4). */
static void
pop3_auth_plain(struct pop3_session *s, struct span b64)
{
	struct buf msg;
	struct span user, pass;

	buf_init(&msg, SASL_RESPONSE_MAX);
	if (sasl_b64_decode(b64, &msg) != PARSE_OK ||
	    sasl_plain_split((struct span){ buf_cstr(&msg), msg.len }, &user,
	    &pass) != PARSE_OK) {
		/* Bad base64, a missing part, or an authzid that is not the
		 * authcid (no proxy logins): refused before the directory. */
		log_kv(s->log, LOGL_INFO, "login", "ip", msess_ip(s->c),
		    "result", "fail", "reason", "malformed_plain", NULL);
		pop3_err(s, true, "[AUTH] malformed or refused PLAIN response");
	} else {
		pop3_login(s, xstrndup(user.ptr, user.len), pass);
	}
	buf_wipe(&msg);
}

static void
pop3_cmd_auth(struct pop3_session *s, const struct pop3_cmd *cmd)
{
	if (pop3_need_tls(s))
		return;
	if (cmd->arg.len == 0) {
		/* The mechanism list of RFC 1734-era clients (not RFC 5034,
		 * which has CAPA's SASL for it). */
		pop3_ok(s, "mechanisms follow");
		if (pop3_plain_enabled(s))
			msess_printf(s->c, "PLAIN\r\n");
		msess_printf(s->c, ".\r\n");
		return;
	}
	if (!span_eq_nocase(cmd->arg, "PLAIN") || !pop3_plain_enabled(s)) {
		pop3_err(s, true, "unsupported authentication mechanism");
		return;
	}
	if (cmd->sasl_ir.ptr != NULL) {
		pop3_auth_plain(s, cmd->sasl_ir);
		return;
	}
	/* RFC 5034 4: PLAIN's server challenge is empty. */
	msess_printf(s->c, "+ \r\n");
	s->auth_cont = true;
}

/* The client's line after "+ ". */
static void
pop3_auth_line(struct pop3_session *s, struct span line)
{
	bool cancel;
	struct span resp;

	s->auth_cont = false;
	switch (pop3_auth_line_parse(line, &cancel, &resp)) {
	case PARSE_OK:
		if (cancel)
			pop3_err(s, true, "AUTH cancelled");
		else
			pop3_auth_plain(s, resp);
		break;
	case PARSE_TOO_LONG:
		pop3_err(s, true, "line too long");
		break;
	default:
		pop3_err(s, true, "[AUTH] malformed AUTH response");
		break;
	}
}

static void
pop3_cmd_quit(struct pop3_session *s, const struct pop3_cmd *cmd)
{
	(void)cmd;
	if (s->state == POP3_STATE_TRANSACTION) {
		pop3_trans_quit(s);
		return;
	}
	/* RFC 1939 6: QUIT in AUTHORIZATION has no UPDATE state. */
	pop3_ok(s, "bye");
	pop3_close(s, "quit");
}

/* ---- the read loop ---- */

static void
pop3_line(struct pop3_session *s, struct span line)
{
	struct pop3_cmd cmd;
	const struct pop3_cmd_def *def;
	enum parse_rc rc = pop3_cmd_parse(line, &cmd);

	if (rc == PARSE_TOO_LONG) {
		pop3_err(s, true, "line too long");
		return;
	}
	def = pop3_cmd_def_find(cmd.verb);
	if (rc != PARSE_OK) {
		if (def != NULL)
			pop3_err(s, true, "syntax: %s", def->usage);
		else
			pop3_err(s, true, "syntax error");
		return;
	}
	if (log_enabled(LOGL_DEBUG))
		log_kv(s->log, LOGL_DEBUG, "command", "verb",
		    pop3_verb_name(cmd.verb), NULL);
	if (def == NULL)
		pop3_err(s, true, "unknown command");
	else if ((def->states & IN(s->state)) == 0)
		pop3_err(s, true, "command not valid in this state");
	else
		def->run(s, &cmd);
}

/*
 * Frames and runs one command at a time until the input is used up or the
 * session must wait: for a login, for a multi-line response to be read,
 * or for the client to read what it was sent (msess_out_full: a client
 * that pipelines without reading cannot grow our output without bound).
 * Pipelining (RFC 2449 6.6) lives here only; commands run in order.
 */
static void
pop3_process(struct pop3_session *s)
{
	char linebuf[POP3_SASL_LINE_MAX];

	while (pop3_live(s) && s->wait == POP3_WAIT_NONE &&
	    !msess_out_full(s->c)) {
		struct evbuffer *in = msess_input(s->c);
		size_t len = evbuffer_get_length(in), n, used = 0, max;
		struct span line;
		const char *p;
		enum parse_rc rc;

		if (len == 0)
			return;
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
		max = s->auth_cont ? POP3_SASL_LINE_MAX : POP3_CMD_LINE_MAX;
		n = len < max ? len : max;
		p = (const char *)evbuffer_pullup(in, (ssize_t)n);
		if (p == NULL)
			return;
		rc = line_find(p, n, max, &line, &used);
		if (rc == PARSE_INCOMPLETE)
			return;
		if (rc == PARSE_INVALID) {
			/* Bare LF or CR: refused as SMTP does (SPEC 5). */
			msess_printf(s->c, "-ERR bare CR or LF not allowed, closing\r\n");
			pop3_close(s, "bare_crlf");
			return;
		}
		if (rc == PARSE_TOO_LONG) {
			evbuffer_drain(in, n);
			s->skip_line = true;
			s->auth_cont = false;
			pop3_err(s, true, "line too long");
			continue;
		}
		memcpy(linebuf, line.ptr, line.len);
		line.ptr = linebuf;
		evbuffer_drain(in, used);
		if (s->auth_cont)
			pop3_auth_line(s, line);
		else
			pop3_line(s, line);
		/* A PASS or an AUTH response: no copy of it stays behind. */
		explicit_bzero(linebuf, line.len);
	}
}

void
pop3_resume(struct pop3_session *s)
{
	pop3_process(s);
}

/* ---- msess callbacks ---- */

static void *
pop3_open(struct msess *c)
{
	struct pop3_session *s = xcalloc(1, sizeof(*s));

	s->c = c;
	s->cfg = msess_config(c);
	s->log = msess_log(c);
	s->state = POP3_STATE_AUTHORIZATION;
	s->lock_fd = -1;
	s->fd = -1;
	msess_set_idle(c, POP3_IDLE_SEC);
	/* SPEC 1: the host name only, never the software; no APOP stamp. */
	msess_printf(c, "+OK %s POP3 ready\r\n", s->cfg->hostname);
	return s;
}

static void
pop3_input(void *p)
{
	struct pop3_session *s = p;

	pop3_enter(s);
	pop3_process(s);
	pop3_leave(s);
}

static void
pop3_drained(void *p)
{
	struct pop3_session *s = p;

	pop3_enter(s);
	if (pop3_live(s) && s->wait == POP3_WAIT_OUTPUT &&
	    pop3_trans_produce(s))
		s->wait = POP3_WAIT_NONE;
	/* The client is reading: a long download is not idleness. */
	if (pop3_live(s))
		msess_set_idle(s->c, POP3_IDLE_SEC);
	pop3_process(s);
	pop3_leave(s);
}

static void
pop3_timeout(void *p)
{
	struct pop3_session *s = p;

	pop3_enter(s);
	/* Inside a multi-line response a status line would be read as
	 * message text: just close. Nothing is deleted (RFC 1939 3). */
	if (pop3_live(s) && s->wait != POP3_WAIT_OUTPUT)
		pop3_err(s, false, "[SYS/TEMP] idle timeout");
	pop3_close(s, "timeout");
	pop3_leave(s);
}

static void
pop3_shutdown(void *p)
{
	struct pop3_session *s = p;

	pop3_enter(s);
	if (pop3_live(s) && s->wait != POP3_WAIT_OUTPUT)
		pop3_err(s, false, "[SYS/TEMP] server shutting down");
	pop3_close(s, "shutdown");
	pop3_leave(s);
}

static void
pop3_close_cb(void *p)
{
	struct pop3_session *s = p;

	/* A dropped connection deletes nothing: the maildrop is released
	 * as it was (RFC 1939 6). c must not be used from here on. */
	s->dead = true;
	s->state = POP3_STATE_CLOSING;
	pop3_trans_end(s);
	if (s->depth == 0)
		pop3_free(s);
}

const struct msess_proto pop3_proto = {
	.name = "pop3",
	.open = pop3_open,
	.input = pop3_input,
	.drained = pop3_drained,
	.timeout = pop3_timeout,
	.shutdown = pop3_shutdown,
	.close = pop3_close_cb,
};
