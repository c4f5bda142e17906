/*
 * smtp_auth: AUTH PLAIN and LOGIN (RFC 4954, RFC 4616), only after TLS and
 * only where the listener offers it. The password check (yescrypt, slow by
 * design) and the failure count run on the pool; the Nth failure within
 * auth.failure_window bans the client IP on every listener.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/limits.h"
#include "core/pool.h"
#include "core/xalloc.h"
#include "directory/directory.h"
#include "directory/password.h"
#include "smtp/smtp_sasl.h"
#include "smtp/smtp_session.h"

enum smtp_auth_result { AUTH_OK, AUTH_FAIL, AUTH_BANNED, AUTH_TEMPFAIL };

struct smtp_auth_job {
	struct smtp_session	*s;
	char			*user;
	struct buf		 pass;
	char			 ip[64];
	unsigned		 window, threshold, ban_time;
	enum smtp_auth_result	 result;
	int64_t			 ban_expires;
};

/* Each pool thread keeps its own SQLite connection (cwd is data_dir). */
static __thread struct directory *smtp_auth_dir;

static struct directory *
smtp_auth_thread_dir(void)
{
	const char *err;

	if (smtp_auth_dir == NULL && directory_open("postern.db", &smtp_auth_dir,
	    &err) == -1)
		smtp_auth_dir = NULL;
	return smtp_auth_dir;
}

/* A hash to spend the same time on for unknown users, so the reply time
 * does not tell which accounts exist. */
static char *smtp_auth_dummy;
static pthread_once_t smtp_auth_dummy_once = PTHREAD_ONCE_INIT;

static void
smtp_auth_dummy_init(void)
{
	smtp_auth_dummy = password_hash("postern-dummy-password", 22);
}

static void
smtp_auth_work(void *arg)
{
	struct smtp_auth_job *j = arg;
	struct directory *d = smtp_auth_thread_dir();
	struct dir_user u;
	enum dir_rc rc;
	unsigned count = 0;
	int64_t now = (int64_t)time(NULL);
	bool ok = false;

	if (d == NULL) {
		j->result = AUTH_TEMPFAIL;
		return;
	}
	rc = directory_user_get(d, j->user, &u);
	if (rc == DIR_TEMPFAIL) {
		j->result = AUTH_TEMPFAIL;
		return;
	}
	if (rc == DIR_FOUND) {
		ok = password_verify(j->pass.data, j->pass.len, u.password_hash) &&
		    u.enabled;
		dir_user_clear(&u);
	} else {
		pthread_once(&smtp_auth_dummy_once, smtp_auth_dummy_init);
		if (smtp_auth_dummy != NULL)
			(void)password_verify(j->pass.data, j->pass.len,
			    smtp_auth_dummy);
	}
	if (ok) {
		j->result = AUTH_OK;
		return;
	}
	j->result = AUTH_FAIL;
	if (directory_auth_failure(d, j->ip, now, j->window, &count) == 0 &&
	    count >= j->threshold) {
		const char *err;

		j->ban_expires = now + j->ban_time;
		if (directory_access_add(d, ACCESS_BAN, j->ip, "auth failures",
		    j->ban_expires, &err) == 0)
			j->result = AUTH_BANNED;
	}
}

static void
smtp_auth_done(void *arg)
{
	struct smtp_auth_job *j = arg;
	struct smtp_session *s = j->s;
	char expires[32];

	log_kv(&s->log, j->result == AUTH_OK ? LOGL_INFO : LOGL_WARN, "login",
	    "ip", s->ip, "user", j->user, "result",
	    j->result == AUTH_OK ? "ok" : j->result == AUTH_TEMPFAIL ?
	    "tempfail" : "fail", NULL);
	switch (j->result) {
	case AUTH_OK:
		s->auth_user = j->user;
		j->user = NULL;
		smtp_reply(s, 235, "2.7.0", "authentication successful");
		break;
	case AUTH_TEMPFAIL:
		smtp_reply(s, 454, "4.7.0", "temporary authentication failure, ref %s",
		    s->log.session);
		break;
	case AUTH_BANNED:
		{
			time_t t = (time_t)j->ban_expires;
			struct tm tm;

			gmtime_r(&t, &tm);
			strftime(expires, sizeof(expires), "%Y-%m-%dT%H:%M:%SZ", &tm);
		}
		log_kv(&s->log, LOGL_WARN, "ban", "ip", s->ip, "reason",
		    "auth failures", "expires", expires, NULL);
		smtp_reply_raw(s, "421 4.7.0 too many authentication failures\r\n");
		smtp_session_close(s, "banned");
		break;
	case AUTH_FAIL:
		smtp_reply(s, 535, "5.7.8", "authentication credentials invalid");
		break;
	}
	free(j->user);
	buf_wipe(&j->pass);
	free(j);
	smtp_session_resume(s);
}

static void
smtp_auth_check(struct smtp_session *s, struct span user, struct span pass)
{
	struct smtp_auth_job *j;

	s->auth_step = SMTP_AUTH_NONE;
	if (user.len == 0 || user.len > 320 || pass.len == 0 ||
	    pass.len > PASSWORD_MAX || memchr(user.ptr, '\0', user.len) != NULL) {
		smtp_reply(s, 535, "5.7.8", "authentication credentials invalid");
		return;
	}
	j = xcalloc(1, sizeof(*j));
	j->s = s;
	j->user = xstrndup(user.ptr, user.len);
	for (char *p = j->user; *p != '\0'; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	buf_init(&j->pass, PASSWORD_MAX);
	buf_append(&j->pass, pass.ptr, pass.len);
	memcpy(j->ip, s->ip, sizeof(j->ip));
	j->window = s->cfg->auth.failure_window;
	j->threshold = s->cfg->auth.failures_before_ban;
	j->ban_time = s->cfg->auth.ban_time;
	s->busy = true;
	pool_submit(s->srv->pool, smtp_auth_work, smtp_auth_done, j);
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
