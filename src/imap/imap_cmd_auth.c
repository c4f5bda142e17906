/*
 * imap_cmd_auth: the commands of any state and of the not-authenticated
 * state (RFC 3501 6.1, 6.2): CAPABILITY, NOOP, LOGOUT, ID (RFC 2971),
 * ENABLE (RFC 5161), NAMESPACE (RFC 2342), STARTTLS, LOGIN and
 * AUTHENTICATE PLAIN with SASL-IR (RFC 4959). No login before TLS
 * (LOGINDISABLED, RFC 3501 6.2.3; [PRIVACYREQUIRED], RFC 5530).
 */
#include <event2/buffer.h>
#include <stdlib.h>
#include <string.h>

#include "core/sasl.h"
#include "core/xalloc.h"
#include "imap/imap_sess_int.h"

void
imap_cmd_capability(struct imap_session *s, const struct imap_cmd *cmd,
    size_t arg, bool uid)
{
	(void)arg;
	(void)uid;
	imap_untagged(s, "CAPABILITY %s", imap_session_caps(s));
	imap_reply(s, cmd->tag, "OK", "CAPABILITY completed");
}

void
imap_cmd_noop(struct imap_session *s, const struct imap_cmd *cmd,
    size_t arg, bool uid)
{
	(void)arg;
	(void)uid;
	imap_session_sync(s, true);
	imap_reply(s, cmd->tag, "OK", "NOOP completed");
}

void
imap_cmd_logout(struct imap_session *s, const struct imap_cmd *cmd,
    size_t arg, bool uid)
{
	(void)arg;
	(void)uid;
	imap_untagged(s, "BYE Logging out");
	imap_reply(s, cmd->tag, "OK", "LOGOUT completed");
	imap_session_close(s, "quit");
}

/* RFC 2971: we answer NIL, so the software's name and version never show
 * (SPEC 5). The client's fields are not logged either. */
void
imap_cmd_id(struct imap_session *s, const struct imap_cmd *cmd,
    size_t arg, bool uid)
{
	const struct imap_tok *t = imap_arg(cmd, &arg);

	(void)uid;
	if (t == NULL || (t->type != IMAP_TOK_NIL && t->type != IMAP_TOK_LIST)) {
		imap_reply_bad(s, cmd->tag, "ID needs NIL or a list");
		return;
	}
	imap_untagged(s, "ID NIL");
	imap_reply(s, cmd->tag, "OK", "ID completed");
}

/* RFC 5161: we have no extension that needs enabling. */
void
imap_cmd_enable(struct imap_session *s, const struct imap_cmd *cmd,
    size_t arg, bool uid)
{
	(void)uid;
	if (arg >= cmd->ntoks) {
		imap_reply_bad(s, cmd->tag, "ENABLE needs arguments");
		return;
	}
	imap_untagged(s, "ENABLED");
	imap_reply(s, cmd->tag, "OK", "ENABLE completed");
}

void
imap_cmd_namespace(struct imap_session *s, const struct imap_cmd *cmd,
    size_t arg, bool uid)
{
	(void)arg;
	(void)uid;
	imap_untagged(s, "NAMESPACE ((\"\" \"/\")) NIL NIL");
	imap_reply(s, cmd->tag, "OK", "NAMESPACE completed");
}

void
imap_cmd_starttls(struct imap_session *s, const struct imap_cmd *cmd,
    size_t arg, bool uid)
{
	const struct cfg_listen *cl = msess_listener(s->c);

	(void)arg;
	(void)uid;
	if (msess_tls(s->c)) {
		imap_reply_bad(s, cmd->tag, "TLS is already active");
		return;
	}
	if (cl == NULL || cl->service != SVC_IMAP ||
	    msess_server(s->c)->tls == NULL) {
		imap_reply(s, cmd->tag, "NO", "STARTTLS not available");
		return;
	}
	imap_reply(s, cmd->tag, "OK", "Begin TLS negotiation now");
	/* RFC 3501 6.2.1 / RFC 2595 3.1: nothing sent in plaintext after
	 * the command counts. msess discards its buffered input; the parser
	 * was fed only up to this command's end, and is replaced anyway. */
	imap_parser_free(&s->parser);
	s->parser = imap_parser_new(IMAP_CMD_LINE_MAX, IMAP_NEST_MAX);
	s->yield = true;	/* input() comes again once TLS is up */
	if (msess_starttls(s->c) < 0)
		imap_session_close(s, "starttls_failed");
}

static void
imap_login_done(void *arg, enum msess_login_rc rc, const char *mailbox)
{
	struct imap_session *s = arg;
	struct span tag = span_from_cstr(s->mode_tag);
	char err[256], *root;

	switch (rc) {
	case MSESS_LOGIN_OK:
		root = mbox_root(mailbox);
		s->mu = root == NULL ? NULL :
		    mbox_user_open(root, err, sizeof(err));
		if (root == NULL)
			snprintf(err, sizeof(err), "bad mailbox key");
		free(root);
		if (s->mu == NULL) {
			log_kv(s->log, LOGL_ERROR, "mailbox_error", "user",
			    mailbox, "detail", err, NULL);
			imap_reply(s, tag, "NO", "[UNAVAILABLE] Mailbox not "
			    "available, ref %s", msess_id(s->c));
			break;
		}
		s->user = xstrdup(mailbox);
		imap_session_set_state(s, IMAP_ST_AUTH);
		/* APPEND literals may be as big as a message (LITERAL+ ones
		 * are not announced first, so the parser allows them). */
		imap_parser_set_literal_max(s->parser,
		    (size_t)s->msg_max + IMAP_LITERAL_MAX);
		imap_reply(s, tag, "OK", "[CAPABILITY %s] Logged in",
		    imap_session_caps(s));
		break;
	case MSESS_LOGIN_FAIL:
		imap_reply(s, tag, "NO", "[AUTHENTICATIONFAILED] "
		    "Authentication failed");
		break;
	case MSESS_LOGIN_BANNED:
		imap_untagged(s, "BYE Too many authentication failures");
		imap_session_close(s, "banned");
		break;
	case MSESS_LOGIN_TEMPFAIL:
	default:
		imap_reply(s, tag, "NO", "[UNAVAILABLE] Temporary failure, "
		    "ref %s", msess_id(s->c));
		break;
	}
	free(s->mode_tag);
	s->mode_tag = NULL;
	imap_session_resume(s);
}

/* Starts the directory check; the reply comes in imap_login_done(). */
static void
imap_login_start(struct imap_session *s, struct span tag, const char *user,
    const char *pass)
{
	char *t = xstrndup(tag.ptr, tag.len);	/* tag may be mode_tag */

	free(s->mode_tag);
	s->mode_tag = t;
	s->busy = true;
	msess_pause_input(s->c, true);
	msess_login(s->c, user, pass, imap_login_done, s);
}

static bool
imap_login_allowed(struct imap_session *s, struct span tag)
{
	if (msess_tls(s->c))
		return true;
	imap_reply(s, tag, "NO", "[PRIVACYREQUIRED] Use STARTTLS first "
	    "(LOGINDISABLED)");
	return false;
}

void
imap_cmd_login(struct imap_session *s, const struct imap_cmd *cmd,
    size_t arg, bool uid)
{
	const struct imap_tok *tu = imap_arg(cmd, &arg);
	const struct imap_tok *tp = imap_arg(cmd, &arg);
	char *user, *pass;

	(void)uid;
	if (tu == NULL || tp == NULL || arg < cmd->ntoks ||
	    (user = imap_arg_cstr(tu)) == NULL) {
		imap_reply_bad(s, cmd->tag, "LOGIN needs user and password");
		return;
	}
	if ((pass = imap_arg_cstr(tp)) == NULL) {
		free(user);
		imap_reply_bad(s, cmd->tag, "LOGIN needs user and password");
		return;
	}
	if (imap_login_allowed(s, cmd->tag))
		imap_login_start(s, cmd->tag, user, pass);
	explicit_bzero(pass, strlen(pass));
	free(pass);
	free(user);
}

/* An AUTHENTICATE PLAIN response (base64 text): the login, or a reply. */
static void
imap_auth_response(struct imap_session *s, struct span tag, struct span b64)
{
	struct buf msg;
	struct span u, p;
	char *user, *pass;

	buf_init(&msg, SASL_RESPONSE_MAX);
	if (sasl_b64_decode(b64, &msg) != PARSE_OK ||
	    sasl_plain_split((struct span){ msg.data, msg.len }, &u, &p) !=
	    PARSE_OK || memchr(u.ptr, '\0', u.len) != NULL ||
	    memchr(p.ptr, '\0', p.len) != NULL) {
		buf_wipe(&msg);
		imap_reply_bad(s, tag, "Invalid AUTHENTICATE PLAIN response");
		return;
	}
	user = xstrndup(u.ptr, u.len);
	pass = xstrndup(p.ptr, p.len);
	buf_wipe(&msg);
	imap_login_start(s, tag, user, pass);
	explicit_bzero(pass, strlen(pass));
	free(pass);
	free(user);
}

void
imap_cmd_authenticate(struct imap_session *s, const struct imap_cmd *cmd,
    size_t arg, bool uid)
{
	const struct imap_tok *mech = imap_arg(cmd, &arg);
	const struct imap_tok *ir = imap_arg(cmd, &arg);

	(void)uid;
	if (mech == NULL || mech->type != IMAP_TOK_ATOM || arg < cmd->ntoks ||
	    (ir != NULL && ir->type != IMAP_TOK_ATOM)) {
		imap_reply_bad(s, cmd->tag, "AUTHENTICATE needs a mechanism");
		return;
	}
	if (!imap_login_allowed(s, cmd->tag))
		return;
	if (!span_eq_nocase(mech->val, "PLAIN") || !imap_session_plain_ok(s)) {
		imap_reply(s, cmd->tag, "NO", "Unsupported mechanism");
		return;
	}
	if (ir != NULL) {	/* RFC 4959 SASL-IR; "=" is empty */
		imap_auth_response(s, cmd->tag, ir->val);
		return;
	}
	free(s->mode_tag);
	s->mode_tag = xstrndup(cmd->tag.ptr, cmd->tag.len);
	s->mode = IMAP_MODE_AUTH;
	msess_printf(s->c, "+ \r\n");
}

/* The continuation line of AUTHENTICATE: base64, or "*" to cancel
 * (RFC 3501 6.2.2). At most a base64 SASL_RESPONSE_MAX. */
void
imap_auth_line(struct imap_session *s)
{
	struct evbuffer *in = msess_input(s->c);
	const size_t max = (SASL_RESPONSE_MAX + 2) / 3 * 4 + 2;
	struct evbuffer_ptr eol;
	size_t eol_len = 0, n;
	char *line;
	struct span tag = span_from_cstr(s->mode_tag);

	eol = evbuffer_search_eol(in, NULL, &eol_len, EVBUFFER_EOL_CRLF_STRICT);
	if (eol.pos < 0) {
		if (evbuffer_get_length(in) < max)
			return;		/* wait for more */
		s->mode = IMAP_MODE_CMD;
		imap_reply_bad(s, tag, "AUTHENTICATE response too long");
		imap_untagged(s, "BYE Line too long");
		imap_session_close(s, "too_long");
		return;
	}
	n = (size_t)eol.pos;
	line = xmalloc(n + 1);
	evbuffer_remove(in, line, n);
	evbuffer_drain(in, eol_len);
	line[n] = '\0';
	s->mode = IMAP_MODE_CMD;
	if (n > max)
		imap_reply_bad(s, tag, "AUTHENTICATE response too long");
	else if (n == 1 && line[0] == '*')
		imap_reply_bad(s, tag, "AUTHENTICATE cancelled");
	else
		imap_auth_response(s, tag, (struct span){ line, n });
	explicit_bzero(line, n);
	free(line);
	if (!s->busy) {
		free(s->mode_tag);
		s->mode_tag = NULL;
	}
}
