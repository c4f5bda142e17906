/*
 * msess_login: POP3 USER/PASS, APOP-less AUTH and IMAP LOGIN/AUTHENTICATE
 * all end here. The password check and the failure count belong to dird
 * (IPCM_AUTH with IPC_AUTH_MAILBOX), shared per IP with SMTP AUTH, so a
 * guesser is banned on every listener at once. The password is copied
 * into the request only and never logged.
 */
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/limits.h"
#include "core/xalloc.h"
#include "ipc/ipc_proto.h"
#include "msess/msess_int.h"

/* The longest user name sent to dird: an address (RFC 5321 4.5.3.1.3
 * allows 256; dird takes 320, ours). */
#define MSESS_USER_MAX	320

/* How long a login waits for dird (ours): then MSESS_LOGIN_TEMPFAIL, and
 * the answer, should it still come, is ignored. A password check takes
 * well under a second; dird stuck (its pool busy, its database locked)
 * must not hold the session, its input paused, for ever. */
unsigned msess_login_deadline_msec = 30 * 1000;

struct msess_login_ctx {
	struct msess	*c;
	msess_login_fn	 fn;
	void		*arg;
	char		*user;		/* as given, for the log */
	enum msess_login_rc rc;	/* when answered without dird */
	struct event	*deadline;	/* while dird's answer is awaited */
	bool		 overdue;	/* answered TEMPFAIL at the deadline */
};

static void
msess_login_log_ban(struct msess *c, const struct ipc_msg *reply)
{
	uint64_t expires = 0;
	char when[32];
	time_t t;
	struct tm tm;

	ipc_msg_get_u64(reply, IK_EXPIRES, &expires);
	if (expires == 0)
		return;	/* banned already, not by this failure */
	t = (time_t)expires;
	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	log_kv(&c->log, LOGL_WARN, "ban", "ip", c->ip, "reason",
	    "auth failures", "expires", when, NULL);
}

static void
msess_login_finish(struct msess_login_ctx *x, enum msess_login_rc rc,
    const char *mailbox)
{
	static const char *const words[] = {
		[MSESS_LOGIN_OK] = "ok", [MSESS_LOGIN_FAIL] = "fail",
		[MSESS_LOGIN_BANNED] = "banned", [MSESS_LOGIN_TEMPFAIL] = "tempfail",
	};
	struct msess *c = x->c;

	log_kv(&c->log, rc == MSESS_LOGIN_OK ? LOGL_INFO : LOGL_WARN, "login",
	    "ip", c->ip, "user", x->user, "result", words[rc], NULL);
	c->login_pending = false;
	x->fn(x->arg, rc, rc == MSESS_LOGIN_OK ? mailbox : NULL);
}

static void
msess_login_done(void *arg, const struct ipc_msg *reply)
{
	struct msess_login_ctx *x = arg;
	struct msess *c = x->c;
	uint64_t v = IPCV_TEMPFAIL;
	char *mailbox = NULL;

	c->dir_pending--;
	if (x->deadline != NULL)
		event_free(x->deadline);
	if (x->overdue) {
		/* Too late: the session was answered TEMPFAIL already. */
		msess_release(c);
		goto out;
	}
	if (c->freed || c->closing) {
		/* The session is gone: nobody to tell. */
		c->login_pending = false;
		msess_release(c);
		goto out;
	}
	if (reply == NULL)
		log_kv(&c->log, LOGL_ERROR, "directory_error", "detail",
		    "directory process unreachable", NULL);
	else
		ipc_msg_get_u64(reply, IK_RC, &v);
	switch (v) {
	case IPCV_OK:
		mailbox = ipc_msg_get_str(reply, IK_USER, MSESS_USER_MAX);
		if (mailbox == NULL || strchr(mailbox, '@') == NULL) {
			log_kv(&c->log, LOGL_ERROR, "directory_error", "detail",
			    "login answer without a mailbox", NULL);
			msess_login_finish(x, MSESS_LOGIN_TEMPFAIL, NULL);
		} else {
			msess_login_finish(x, MSESS_LOGIN_OK, mailbox);
		}
		break;
	case IPCV_AUTH_FAIL:
		msess_login_finish(x, MSESS_LOGIN_FAIL, NULL);
		break;
	case IPCV_BANNED:
		msess_login_log_ban(c, reply);
		msess_login_finish(x, MSESS_LOGIN_BANNED, NULL);
		break;
	default:
		msess_login_finish(x, MSESS_LOGIN_TEMPFAIL, NULL);
		break;
	}
out:
	free(mailbox);
	free(x->user);
	free(x);
}

/* dird has not answered within msess_login_deadline_msec. x stays for
 * the answer (msess_login_done frees it), as does the memory of c. */
static void
msess_login_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct msess_login_ctx *x = arg;
	struct msess *c = x->c;

	(void)fd;
	(void)what;
	if (c->freed || c->closing)
		return;	/* msess_login_done tells nobody */
	x->overdue = true;
	log_kv(&c->log, LOGL_ERROR, "directory_error", "detail",
	    "no login answer from the directory in time", NULL);
	msess_login_finish(x, MSESS_LOGIN_TEMPFAIL, NULL);
}

/* Answered without dird (bad input, or no directory): still later. */
static void
msess_login_local_cb(evutil_socket_t fd, short what, void *arg)
{
	struct msess_login_ctx *x = arg;
	struct msess *c = x->c;

	(void)fd;
	(void)what;
	c->dir_pending--;
	if (c->freed || c->closing) {
		c->login_pending = false;
		msess_release(c);
	} else {
		msess_login_finish(x, x->rc, NULL);
	}
	free(x->user);
	free(x);
}

static void
msess_login_local(struct msess_login_ctx *x, enum msess_login_rc rc)
{
	static const struct timeval zero = { 0, 0 };

	x->rc = rc;
	event_base_once(x->c->srv->base, -1, EV_TIMEOUT, msess_login_local_cb,
	    x, &zero);
}

void
msess_login(struct msess *c, const char *user, const char *pass,
    msess_login_fn fn, void *arg)
{
	struct msess_login_ctx *x = xcalloc(1, sizeof(*x));
	size_t ulen = strlen(user), plen = strlen(pass);
	struct ipc_msg req;
	int rc;

	x->c = c;
	x->fn = fn;
	x->arg = arg;
	x->user = xstrndup(user, ulen > MSESS_USER_MAX ? MSESS_USER_MAX : ulen);
	c->login_pending = true;
	c->dir_pending++;
	if (ulen == 0 || ulen > MSESS_USER_MAX || plen == 0 ||
	    plen > PASSWORD_MAX) {
		msess_login_local(x, MSESS_LOGIN_FAIL);
		return;
	}
	ipc_msg_init(&req, IPCM_AUTH, 0);
	ipc_msg_add_str(&req, IK_USER, user);
	ipc_msg_add(&req, IK_PASS, pass, plen);
	ipc_msg_add_str(&req, IK_IP, c->ip);
	ipc_msg_add_u64(&req, IK_FLAGS, IPC_AUTH_MAILBOX);
	rc = c->srv->dir_call(c->srv->dir_arg, &req, msess_login_done, x);
	/* The request is encoded and sent (or queued, wiped once out:
	 * ipc.c); nothing of the password stays here. */
	explicit_bzero(&req, sizeof(req));
	if (rc == -1) {
		msess_login_local(x, MSESS_LOGIN_TEMPFAIL);
	} else {
		/* The answer never comes inside dir_call: x is still ours. */
		struct timeval tv = { msess_login_deadline_msec / 1000,
		    (msess_login_deadline_msec % 1000) * 1000 };

		x->deadline = evtimer_new(c->srv->base, msess_login_deadline_cb, x);
		if (x->deadline != NULL)
			evtimer_add(x->deadline, &tv);
	}
}
