/*
 * smtp_auth: AUTH PLAIN and LOGIN (RFC 4954, RFC 4616), only after TLS and
 * only where the listener offers it. The password check (yescrypt, slow by
 * design) and the failure count belong to the directory process (dird),
 * the only one that can read password hashes; the Nth failure within
 * auth.failure_window bans the client IP on every listener.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/limits.h"
#include "core/xalloc.h"
#include "ipc/ipc_proto.h"
#include "core/sasl.h"
#include "smtp/smtp_session.h"

/* The directory process checked the password (the session never sees a
 * hash) and counted the failure. */
static void
smtp_auth_checked(struct smtp_session *s, const struct ipc_msg *reply)
{
	enum ipc_verdict rc = smtp_dir_verdict(reply);
	char *user = s->auth_try_user;
	uint64_t expires = 0;
	char when[32];

	s->auth_try_user = NULL;
	log_kv(&s->log, rc == IPCV_OK ? LOGL_INFO : LOGL_WARN, "login",
	    "ip", s->ip, "user", user, "result", rc == IPCV_OK ? "ok" :
	    rc == IPCV_TEMPFAIL ? "tempfail" : "fail", NULL);
	switch (rc) {
	case IPCV_OK:
		s->auth_user = user;
		user = NULL;
		smtp_reply(s, 235, "2.7.0", "authentication successful");
		break;
	case IPCV_BANNED:
		/* IK_EXPIRES 0: banned already (since the connect check), not
		 * by this failure: no new ban to log. */
		ipc_msg_get_u64(reply, IK_EXPIRES, &expires);
		if (expires != 0) {
			time_t t = (time_t)expires;
			struct tm tm;

			gmtime_r(&t, &tm);
			strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
			log_kv(&s->log, LOGL_WARN, "ban", "ip", s->ip, "reason",
			    "auth failures", "expires", when, NULL);
		}
		smtp_reply_raw(s, "421 4.7.0 too many authentication failures\r\n");
		smtp_session_close(s, "banned");
		break;
	case IPCV_AUTH_FAIL:
		smtp_reply(s, 535, "5.7.8", "authentication credentials invalid");
		break;
	default:
		smtp_reply(s, 454, "4.7.0", "temporary authentication failure, ref %s",
		    s->log.session);
		break;
	}
	free(user);
}

static void
smtp_auth_check(struct smtp_session *s, struct span user, struct span pass)
{
	struct ipc_msg req;

	s->auth_step = SMTP_AUTH_NONE;
	if (user.len == 0 || user.len > 320 || pass.len == 0 ||
	    pass.len > PASSWORD_MAX || memchr(user.ptr, '\0', user.len) != NULL) {
		smtp_reply(s, 535, "5.7.8", "authentication credentials invalid");
		return;
	}
	free(s->auth_try_user);
	s->auth_try_user = xstrndup(user.ptr, user.len);
	for (char *p = s->auth_try_user; *p != '\0'; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	ipc_msg_init(&req, IPCM_AUTH, 0);
	ipc_msg_add_str(&req, IK_USER, s->auth_try_user);
	ipc_msg_add(&req, IK_PASS, pass.ptr, pass.len);
	ipc_msg_add_str(&req, IK_IP, s->ip);
	smtp_session_dir_call(s, &req, smtp_auth_checked);
}

static void
smtp_auth_plain(struct smtp_session *s, struct span b64)
{
	struct buf msg;
	struct span user, pass;

	buf_init(&msg, SASL_RESPONSE_MAX);
	if (sasl_b64_decode(b64, &msg) != PARSE_OK ||
	    sasl_plain_split((struct span){ buf_cstr(&msg), msg.len }, &user,
	    &pass) != PARSE_OK) {
		s->auth_step = SMTP_AUTH_NONE;
		smtp_reply(s, 501, "5.5.2", "malformed authentication response");
	} else {
		smtp_auth_check(s, user, pass);
	}
	buf_wipe(&msg);
}

static bool
smtp_auth_mech_enabled(const struct smtp_session *s, const char *mech)
{
	for (size_t i = 0; i < s->cfg->auth.mechanisms.n; i++)
		if (strcasecmp(s->cfg->auth.mechanisms.v[i], mech) == 0)
			return true;
	return false;
}

void
smtp_cmd_auth(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	struct span mech = cmd->arg, initial = { "", 0 };
	const char *sp = memchr(cmd->arg.ptr, ' ', cmd->arg.len);

	if (!smtp_session_may_auth(s)) {
		smtp_reply(s, 503, "5.5.1", "AUTH not available on this port");
		return;
	}
	if (!s->tls) {
		smtp_reply(s, 538, "5.7.11", "encryption required for authentication");
		return;
	}
	if (s->auth_user != NULL) {
		smtp_reply(s, 503, "5.5.1", "already authenticated");
		return;
	}
	if (sp != NULL) {
		mech.len = (size_t)(sp - cmd->arg.ptr);
		initial = span_trim((struct span){ sp + 1,
		    cmd->arg.len - mech.len - 1 });
	}
	if (span_eq_nocase(mech, "PLAIN") && smtp_auth_mech_enabled(s, "PLAIN")) {
		if (initial.len > 0) {
			smtp_auth_plain(s, initial);
		} else {
			s->auth_step = SMTP_AUTH_PLAIN;
			smtp_reply_raw(s, "334 \r\n");
		}
	} else if (span_eq_nocase(mech, "LOGIN") && smtp_auth_mech_enabled(s, "LOGIN")) {
		if (initial.len > 0) {
			smtp_auth_line_login_user(s, initial);
		} else {
			s->auth_step = SMTP_AUTH_LOGIN_USER;
			smtp_reply_raw(s, "334 VXNlcm5hbWU6\r\n");	/* "Username:" */
		}
	} else {
		smtp_reply(s, 504, "5.5.4", "unrecognized authentication type");
	}
}

void
smtp_auth_line_login_user(struct smtp_session *s, struct span b64)
{
	struct buf user;

	buf_init(&user, 1024);
	if (sasl_b64_decode(b64, &user) != PARSE_OK || user.len == 0) {
		s->auth_step = SMTP_AUTH_NONE;
		smtp_reply(s, 501, "5.5.2", "malformed authentication response");
	} else {
		free(s->auth_login_user);
		s->auth_login_user = xstrndup(user.data, user.len);
		s->auth_step = SMTP_AUTH_LOGIN_PASS;
		smtp_reply_raw(s, "334 UGFzc3dvcmQ6\r\n");	/* "Password:" */
	}
	buf_free(&user);
}

void
smtp_auth_line(struct smtp_session *s, struct span line)
{
	struct buf pass;

	if (line.len == 1 && line.ptr[0] == '*') {
		s->auth_step = SMTP_AUTH_NONE;
		smtp_reply(s, 501, "5.7.0", "authentication cancelled");
		return;
	}
	switch (s->auth_step) {
	case SMTP_AUTH_PLAIN:
		smtp_auth_plain(s, line);
		break;
	case SMTP_AUTH_LOGIN_USER:
		smtp_auth_line_login_user(s, line);
		break;
	case SMTP_AUTH_LOGIN_PASS:
		buf_init(&pass, PASSWORD_MAX);
		if (sasl_b64_decode(line, &pass) != PARSE_OK) {
			s->auth_step = SMTP_AUTH_NONE;
			smtp_reply(s, 501, "5.5.2", "malformed authentication response");
		} else {
			smtp_auth_check(s, span_from_cstr(s->auth_login_user),
			    (struct span){ buf_cstr(&pass), pass.len });
		}
		buf_wipe(&pass);
		free(s->auth_login_user);
		s->auth_login_user = NULL;
		break;
	case SMTP_AUTH_NONE:
		break;
	}
}
