/*
 * imap_session: the IMAP4rev1 session's life (RFC 3501 3, 5.4, 7.1): the
 * greeting, the read loop that feeds the command parser and enforces one
 * command at a time, the table of commands legal in each state, replies,
 * and the reporting of mailbox changes (7.3.1, 7.4.1). Commands live in
 * imap_cmd_*.c; the connection (TLS, pacing, logins) in msess.
 */
#include <errno.h>
#include <event2/buffer.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "core/xalloc.h"
#include "imap/imap_sess_int.h"

#define IN(st)	(1u << (st))
#define ANY	(IN(IMAP_ST_NOTAUTH) | IN(IMAP_ST_AUTH) | IN(IMAP_ST_SELECTED))
#define AUTHD	(IN(IMAP_ST_AUTH) | IN(IMAP_ST_SELECTED))
#define SEL	IN(IMAP_ST_SELECTED)

struct imap_cmd_def {
	const char	*name;
	unsigned	 states;
	bool		 uid_ok;	/* may follow UID */
	imap_cmd_fn	 run;
};

static const struct imap_cmd_def imap_cmd_defs[] = {
	{ "CAPABILITY",	  ANY,			false, imap_cmd_capability },
	{ "NOOP",	  ANY,			false, imap_cmd_noop },
	{ "LOGOUT",	  ANY,			false, imap_cmd_logout },
	{ "ID",		  ANY,			false, imap_cmd_id },
	{ "STARTTLS",	  IN(IMAP_ST_NOTAUTH),	false, imap_cmd_starttls },
	{ "AUTHENTICATE", IN(IMAP_ST_NOTAUTH),	false, imap_cmd_authenticate },
	{ "LOGIN",	  IN(IMAP_ST_NOTAUTH),	false, imap_cmd_login },
	{ "ENABLE",	  AUTHD,		false, imap_cmd_enable },
	{ "NAMESPACE",	  AUTHD,		false, imap_cmd_namespace },
	{ "IDLE",	  AUTHD,		false, imap_cmd_idle },
	{ "SELECT",	  AUTHD,		false, imap_cmd_select },
	{ "EXAMINE",	  AUTHD,		false, imap_cmd_select },
	{ "CREATE",	  AUTHD,		false, imap_cmd_create },
	{ "DELETE",	  AUTHD,		false, imap_cmd_delete },
	{ "RENAME",	  AUTHD,		false, imap_cmd_rename },
	{ "SUBSCRIBE",	  AUTHD,		false, imap_cmd_subscribe },
	{ "UNSUBSCRIBE",  AUTHD,		false, imap_cmd_subscribe },
	{ "LIST",	  AUTHD,		false, imap_cmd_list },
	{ "LSUB",	  AUTHD,		false, imap_cmd_list },
	{ "STATUS",	  AUTHD,		false, imap_cmd_status },
	{ "APPEND",	  AUTHD,		false, imap_cmd_append },
	{ "CHECK",	  SEL,			false, imap_cmd_check },
	{ "CLOSE",	  SEL,			false, imap_cmd_close },
	{ "UNSELECT",	  SEL,			false, imap_cmd_unselect },
	{ "EXPUNGE",	  SEL,			true,  imap_cmd_expunge },
	{ "SEARCH",	  SEL,			true,  imap_cmd_search },
	{ "FETCH",	  SEL,			true,  imap_cmd_fetch },
	{ "STORE",	  SEL,			true,  imap_cmd_store },
	{ "COPY",	  SEL,			true,  imap_cmd_copy },
	{ "MOVE",	  SEL,			true,  imap_cmd_copy },
};

static const char *const imap_state_names[] = {
	"notauth", "auth", "selected", "logout",
};

static void imap_session_process(struct imap_session *s);

/* limits.command_timeout; once logged in at least RFC 3501 5.4's 30
 * minutes (the floor is for authenticated sessions: a client that never
 * logs in does not hold a connection slot that long). */
static unsigned
imap_session_idle_sec(const struct imap_session *s)
{
	unsigned t = s->cfg->limits.command_timeout;

	if (s->state == IMAP_ST_NOTAUTH)
		return t > 0 ? t : IMAP_IDLE_SEC;
	return t > IMAP_IDLE_SEC ? t : IMAP_IDLE_SEC;
}

void
imap_session_set_state(struct imap_session *s, enum imap_state st)
{
	bool login = s->state == IMAP_ST_NOTAUTH && st == IMAP_ST_AUTH;

	if (s->state != st)
		log_kv(s->log, LOGL_DEBUG, "state", "from",
		    imap_state_names[s->state], "to", imap_state_names[st], NULL);
	s->state = st;
	if (login)
		msess_set_idle(s->c, imap_session_idle_sec(s));
}

bool
imap_session_plain_ok(struct imap_session *s)
{
	size_t i;

	for (i = 0; i < s->cfg->auth.mechanisms.n; i++)
		if (strcasecmp(s->cfg->auth.mechanisms.v[i], "PLAIN") == 0)
			return true;
	return false;
}

const char *
imap_session_caps(struct imap_session *s)
{
	static const char common[] = "LITERAL+ IDLE UIDPLUS MOVE NAMESPACE "
	    "ID ENABLE SPECIAL-USE CHILDREN UNSELECT";

	static char caps[256];
	const struct cfg_listen *cl = msess_listener(s->c);

	if (s->state != IMAP_ST_NOTAUTH)
		snprintf(caps, sizeof(caps), "IMAP4rev1 %s", common);
	else if (msess_tls(s->c))
		snprintf(caps, sizeof(caps), "IMAP4rev1 %s%s",
		    imap_session_plain_ok(s) ? "AUTH=PLAIN SASL-IR " : "",
		    common);
	else if (cl != NULL && cl->service == SVC_IMAP &&
	    msess_server(s->c)->tls != NULL)
		snprintf(caps, sizeof(caps), "IMAP4rev1 STARTTLS LOGINDISABLED %s",
		    common);
	else
		snprintf(caps, sizeof(caps), "IMAP4rev1 LOGINDISABLED %s", common);
	return caps;
}

void
imap_untagged(struct imap_session *s, const char *fmt, ...)
{
	struct evbuffer *out = msess_output(s->c);
	va_list ap;

	evbuffer_add(out, "* ", 2);
	va_start(ap, fmt);
	evbuffer_add_vprintf(out, fmt, ap);
	va_end(ap);
	evbuffer_add(out, "\r\n", 2);
}

void
imap_reply(struct imap_session *s, struct span tag, const char *status,
    const char *fmt, ...)
{
	struct evbuffer *out = msess_output(s->c);
	va_list ap;

	if (strcmp(status, "BAD") != 0)
		s->nbad = 0;
	evbuffer_add(out, tag.ptr, tag.len);
	evbuffer_add_printf(out, " %s ", status);
	va_start(ap, fmt);
	evbuffer_add_vprintf(out, fmt, ap);
	va_end(ap);
	evbuffer_add(out, "\r\n", 2);
}

/* BAD, counted: too many in a row end the session (a client that sends
 * garbage gets nowhere, and cheaply). */
void
imap_reply_bad(struct imap_session *s, struct span tag, const char *text)
{
	if (tag.len == 0)
		imap_untagged(s, "BAD %s", text);
	else
		imap_reply(s, tag, "BAD", "%s", text);
	if (++s->nbad >= IMAP_BADS_MAX) {
		log_kv(s->log, LOGL_WARN, "too_many_errors", "ip",
		    msess_ip(s->c), NULL);
		imap_untagged(s, "BYE Too many invalid commands");
		imap_session_close(s, "errors");
	}
}

void
imap_session_close(struct imap_session *s, const char *reason)
{
	if (s->closing)
		return;
	s->closing = true;
	imap_session_set_state(s, IMAP_ST_LOGOUT);
	msess_pause_input(s->c, true);
	msess_close(s->c, reason);
}

static void
imap_put_fetch_flags(struct imap_session *s, uint32_t seq)
{
	const struct mbox_msg *m = mbox_msg(s->mb, seq - 1);
	struct buf b;

	buf_init(&b, 256);
	imap_put_flags(&b, m->flags, m->recent);
	imap_untagged(s, "%u FETCH (UID %u FLAGS (%s))", seq, m->uid,
	    buf_cstr(&b));
	buf_free(&b);
}

void
imap_session_report(struct imap_session *s, struct mbox_changes *ch)
{
	uint32_t n, r;
	size_t i;

	for (i = 0; i < ch->nexpunged; i++) {
		imap_untagged(s, "%u EXPUNGE", ch->expunged[i]);
		if (s->exists_sent > 0)
			s->exists_sent--;
	}
	if (s->mb == NULL)
		return;
	n = mbox_count(s->mb);
	for (i = 0; i < ch->nflags_changed; i++)
		if (ch->flags_changed[i] >= 1 && ch->flags_changed[i] <= n &&
		    ch->flags_changed[i] <= s->exists_sent)
			imap_put_fetch_flags(s, ch->flags_changed[i]);
	if (n != s->exists_sent) {
		imap_untagged(s, "%u EXISTS", n);
		s->exists_sent = n;
	}
	r = mbox_recent(s->mb);
	if (r != s->recent_sent) {
		imap_untagged(s, "%u RECENT", r);
		s->recent_sent = r;
	}
}

void
imap_session_sync(struct imap_session *s, bool allow_expunge)
{
	struct mbox_changes ch;
	struct stat st;

	if (s->mb == NULL)
		return;
	memset(&ch, 0, sizeof(ch));
	if (mbox_sync(s->mb, allow_expunge, &ch) == 0) {
		imap_session_report(s, &ch);
	} else if (errno == ESTALE || stat(mbox_dir_cur(s->mb), &st) == -1) {
		/* RFC 3501 2.3.1.1: the view's UIDs mean nothing now (the uid
		 * list was lost, or the folder was deleted, renamed or made
		 * again by another session): the session cannot go on. */
		log_kv(s->log, LOGL_WARN, "mailbox_gone", NULL);
		imap_untagged(s, "BYE [UNAVAILABLE] The selected mailbox was "
		    "removed or reset");
		imap_session_close(s, "mailbox_gone");
	} else {
		log_kv(s->log, LOGL_ERROR, "mailbox_error", "detail",
		    "sync failed", NULL);
	}
	mbox_changes_clear(&ch);
}

void
imap_session_unselect(struct imap_session *s)
{
	if (s->mb != NULL)
		mbox_close(&s->mb);
	s->exists_sent = s->recent_sent = 0;
	s->read_only = false;
	if (s->state == IMAP_ST_SELECTED)
		imap_session_set_state(s, IMAP_ST_AUTH);
}

void
imap_session_resume(struct imap_session *s)
{
	s->busy = false;
	if (s->closing)
		return;
	msess_pause_input(s->c, false);
	/* Called from within the read loop (a command that ended at once):
	 * the loop goes on by itself, no recursion per command. */
	if (!s->in_process)
		imap_session_process(s);
}

static const struct imap_cmd_def *
imap_cmd_def_find(struct span name)
{
	size_t i;

	for (i = 0; i < sizeof(imap_cmd_defs) / sizeof(imap_cmd_defs[0]); i++)
		if (span_eq_nocase(name, imap_cmd_defs[i].name))
			return &imap_cmd_defs[i];
	return NULL;
}

static void
imap_session_dispatch(struct imap_session *s, const struct imap_cmd *cmd)
{
	const struct imap_cmd_def *def;
	struct span name = cmd->name;
	size_t arg = 0;
	bool uid = false;

	if (span_eq_nocase(name, "UID")) {
		if (cmd->ntoks == 0 || cmd->toks[0].type != IMAP_TOK_ATOM) {
			imap_reply_bad(s, cmd->tag, "UID needs a command");
			return;
		}
		name = cmd->toks[0].val;
		arg = cmd->toks[0].end;
		uid = true;
	}
	def = imap_cmd_def_find(name);
	if (def == NULL || (uid && !def->uid_ok)) {
		imap_reply_bad(s, cmd->tag, "Unknown command");
		return;
	}
	if ((def->states & IN(s->state)) == 0) {
		imap_reply_bad(s, cmd->tag, s->state == IMAP_ST_NOTAUTH ?
		    "Log in first" : "Command not allowed now");
		return;
	}
	def->run(s, cmd, arg, uid);
}

/*
 * A synchronizing literal waits: RFC 3501 7.5, the size is checked before
 * "+" is sent. APPEND may send up to the message size limit, any other
 * command IMAP_LITERAL_MAX; before login nothing bigger than that either.
 */
static void
imap_session_literal(struct imap_session *s, uint64_t n, struct span name)
{
	bool append = span_eq_nocase(name, "APPEND") &&
	    s->state != IMAP_ST_NOTAUTH;
	uint64_t max = append ? s->msg_max : IMAP_LITERAL_MAX;

	s->lit_refused_append = append;
	/* No "+" invites a password in plaintext (LOGINDISABLED). */
	s->lit_refused_tls = s->state == IMAP_ST_NOTAUTH && !msess_tls(s->c) &&
	    (span_eq_nocase(name, "LOGIN") ||
	    span_eq_nocase(name, "AUTHENTICATE"));
	if (n > max || s->lit_refused_tls) {
		imap_parser_literal_reject(s->parser);
		return;
	}
	if (imap_parser_literal_accept(s->parser) < 0)
		return;		/* over the parser's limit: rejected */
	s->lit_refused_append = false;
	msess_printf(s->c, "+ Ready for literal data\r\n");
}

static void
imap_session_parse_error(struct imap_session *s, struct imap_cmd *cmd,
    enum parse_rc rc)
{
	const char *why = cmd->error != NULL ? cmd->error : "syntax error";

	if (rc == PARSE_TOO_LONG && s->lit_refused_tls && cmd->tag.len > 0) {
		s->lit_refused_tls = false;
		imap_reply(s, cmd->tag, "NO", "[PRIVACYREQUIRED] Use STARTTLS "
		    "first (LOGINDISABLED)");
		return;
	}
	if (rc == PARSE_TOO_LONG && s->lit_refused_append &&
	    cmd->tag.len > 0) {
		s->lit_refused_append = false;
		/* RFC 4469 / RFC 5530 TOOBIG: a NO, the client may go on. */
		imap_reply(s, cmd->tag, "NO", "[TOOBIG] Message too big");
		return;
	}
	if (rc == PARSE_TOO_LONG)
		log_kv(s->log, LOGL_WARN, "too_long", "ip", msess_ip(s->c),
		    "detail", why, NULL);
	imap_reply_bad(s, cmd->tag, why);
}

/*
 * Hands the parser at most one line (up to and including its LF) at a
 * time, so that when a command switches to reading continuation lines
 * (AUTHENTICATE, IDLE) those stay in msess's input, and STARTTLS leaves
 * pipelined bytes to msess to discard. 0 when bytes were fed; -1 when
 * there is nothing to feed.
 */
static int
imap_session_feed(struct imap_session *s)
{
	struct evbuffer *in = msess_input(s->c);
	struct evbuffer_iovec v;
	const char *lf;
	size_t n;

	if (evbuffer_peek(in, -1, NULL, &v, 1) < 1 || v.iov_len == 0)
		return -1;
	n = v.iov_len;
	if (n > IMAP_CHUNK)
		n = IMAP_CHUNK;
	lf = memchr(v.iov_base, '\n', n);
	if (lf != NULL)
		n = (size_t)(lf - (const char *)v.iov_base) + 1;
	if (imap_parser_feed(s->parser, v.iov_base, n) < 0) {
		/* Cannot happen: we feed at most IMAP_CHUNK, and only once
		 * imap_parser_next() has taken everything fed before. */
		log_kv(s->log, LOGL_ERROR, "input_overflow", NULL);
		imap_untagged(s, "BYE Internal error, ref %s", msess_id(s->c));
		imap_session_close(s, "error");
		return -1;
	}
	evbuffer_drain(in, n);
	return 0;
}

/* Runs the commands waiting in the input, one at a time: stops while a
 * command runs asynchronously or output is backed up (a client that does
 * not read its responses gets no more work done: msess stops reading). */
static void
imap_session_process(struct imap_session *s)
{
	struct imap_cmd cmd;
	enum parse_rc rc;
	uint64_t litn;
	struct span name;

	s->in_process = true;
	while (!s->closing && !s->busy && !s->yield) {
		if (s->mode == IMAP_MODE_AUTH) {
			imap_auth_line(s);
			if (s->mode == IMAP_MODE_AUTH)
				break;
			continue;
		}
		if (s->mode == IMAP_MODE_IDLE) {
			imap_idle_line(s);
			if (s->mode == IMAP_MODE_IDLE)
				break;
			continue;
		}
		if (msess_out_full(s->c))
			break;		/* drained() resumes */
		memset(&cmd, 0, sizeof(cmd));
		rc = imap_parser_next(s->parser, &cmd);
		if (rc == PARSE_INCOMPLETE) {
			if (imap_parser_literal_wait(s->parser, &litn, NULL,
			    &name)) {
				imap_session_literal(s, litn, name);
				continue;
			}
			if (imap_session_feed(s) < 0)
				break;
			continue;
		}
		if (rc == PARSE_OK)
			imap_session_dispatch(s, &cmd);
		else
			imap_session_parse_error(s, &cmd, rc);
		imap_cmd_clear(&cmd);
	}
	s->yield = false;
	s->in_process = false;
}

static void *
imap_session_open(struct msess *c)
{
	struct imap_session *s = xcalloc(1, sizeof(*s));
	const struct config *cfg = msess_config(c);

	s->c = c;
	s->cfg = cfg;
	s->log = msess_log(c);
	s->state = IMAP_ST_NOTAUTH;
	s->parser = imap_parser_new(IMAP_CMD_LINE_MAX, IMAP_NEST_MAX);
	s->msg_max = cfg->limits.message_size;
	if (cfg->domain_defaults.max_message_size > 0 &&
	    cfg->domain_defaults.max_message_size < s->msg_max)
		s->msg_max = cfg->domain_defaults.max_message_size;
	if (s->msg_max == 0 || s->msg_max > UINT32_MAX)
		s->msg_max = UINT32_MAX;	/* RFC 3501 9: number */
	msess_set_idle(c, imap_session_idle_sec(s));
	/* SPEC 5: the greeting names the host, never the software. */
	imap_untagged(s, "OK [CAPABILITY %s] %s ready", imap_session_caps(s),
	    cfg->hostname);
	return s;
}

static void
imap_session_input(void *p)
{
	imap_session_process(p);
}

static void
imap_session_drained(void *p)
{
	struct imap_session *s = p;

	if (s->closing)
		return;
	/* The client is reading: a long FETCH is not idleness (no
	 * autologout inside a literal). */
	msess_set_idle(s->c, imap_session_idle_sec(s));
	if (s->fetch != NULL)
		imap_fetch_run(s);
	else if (s->mode == IMAP_MODE_IDLE)
		imap_idle_drained(s);
	if (!s->busy && !s->closing)
		imap_session_process(s);
}

static void
imap_session_timeout(void *p)
{
	struct imap_session *s = p;

	if (s->fetch == NULL)	/* not inside a literal: see shutdown */
		imap_untagged(s, "BYE Autologout; idle for too long");
	imap_session_close(s, "timeout");
}

static void
imap_session_shutdown(void *p)
{
	struct imap_session *s = p;

	/* A FETCH may be in the middle of a literal: a BYE there would be
	 * read as message bytes. Close without it (RFC 3501 7.1.5: BYE is
	 * sent when possible). */
	if (s->fetch == NULL)
		imap_untagged(s, "BYE Server shutting down");
	imap_session_close(s, "shutdown");
}

static void
imap_session_free(void *p)
{
	struct imap_session *s = p;

	imap_fetch_free(&s->fetch);
	msess_watch_del(&s->watch_new);
	msess_watch_del(&s->watch_cur);
	if (s->mb != NULL)
		mbox_close(&s->mb);
	if (s->mu != NULL)
		mbox_user_close(&s->mu);
	imap_parser_free(&s->parser);
	free(s->mode_tag);
	free(s->user);
	free(s);
}

const struct msess_proto imap_proto = {
	.name = "imap",
	.open = imap_session_open,
	.input = imap_session_input,
	.drained = imap_session_drained,
	.timeout = imap_session_timeout,
	.shutdown = imap_session_shutdown,
	.close = imap_session_free,
};
