/*
 * dird: answers the directory questions of the session processes and the
 * queue manager. Lookups run on the loop (local, indexed SQLite reads);
 * password checks (yescrypt), the failed-login bookkeeping and the
 * auto-reply record (a durable write) run on a pool, and their replies may
 * overtake earlier ones (replies carry the request id). Every request is
 * hostile input: a session process may be compromised.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/cidr.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/pool.h"
#include "core/xalloc.h"
#include "directory/directory.h"
#include "directory/password.h"
#include "ipc/ipc.h"
#include "ipc/ipc_proto.h"
#include "policy/route.h"
#include "server/dird.h"
#include "store/maildir.h"

#define DIRD_CLIENTS_MAX	256
#define DIRD_BATCH		256	/* requests per wake-up per client */

struct dird;

struct dird_client {
	struct dird	*d;
	int		 fd;
	struct event	*ev;
	unsigned	 refs;		/* pool jobs holding it */
	bool		 dead;
};

struct dird {
	const struct config	*cfg;
	struct event_base	*base;
	struct directory	*dir;
	struct pool		*pool;
	struct dird_client	*clients[DIRD_CLIENTS_MAX];
	struct buf		 rbuf;
	struct log_ctx		 log;
	bool			 stopping;
};

static void
dird_client_unref(struct dird_client *c)
{
	if (--c->refs > 0 || !c->dead)
		return;
	close(c->fd);
	free(c);
}

static bool
dird_has_clients(const struct dird *d)
{
	for (size_t i = 0; i < DIRD_CLIENTS_MAX; i++)
		if (d->clients[i] != NULL)
			return true;
	return false;
}

static void
dird_client_drop(struct dird_client *c)
{
	struct dird *d = c->d;

	for (size_t i = 0; i < DIRD_CLIENTS_MAX; i++)
		if (d->clients[i] == c)
			d->clients[i] = NULL;
	/* Retiring after a reload: go once the old workers are gone. */
	if (d->stopping && !dird_has_clients(d))
		event_base_loopbreak(d->base);
	event_free(c->ev);
	c->ev = NULL;
	c->dead = true;
	c->refs++;
	dird_client_unref(c);
}

static void
dird_reply(struct dird_client *c, const struct ipc_msg *m)
{
	if (c->dead)
		return;
	/* Non-blocking: a session process that stops reading loses its
	 * replies; it cannot make the directory wait. */
	if (ipc_send(c->fd, m) == -1 && errno != EPIPE)
		log_kv(&c->d->log, LOGL_WARN, "reply_dropped", "detail",
		    strerror(errno), NULL);
}

static void
dird_reply_rc(struct dird_client *c, uint32_t id, enum ipc_verdict rc,
    int trusted)
{
	struct ipc_msg r;

	ipc_msg_init(&r, IPCM_REPLY, id);
	ipc_msg_add_u64(&r, IK_RC, rc);
	if (trusted >= 0)
		ipc_msg_add_u64(&r, IK_TRUSTED, (uint64_t)trusted);
	dird_reply(c, &r);
}

/* "192.0.2.1" or "2001:db8::1" into a sockaddr. */
static int
dird_sockaddr(const char *ip, struct sockaddr_storage *ss)
{
	struct sockaddr_in *in = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, ip, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, ip, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		return 0;
	}
	return -1;
}

/* Trusted networks, `access trust`, SMTP-after-POP; and whether banned. */
static int
dird_client_status(struct dird *d, const char *ip, bool *trusted, bool *banned)
{
	struct sockaddr_storage ss;
	enum access_kind kind = ACCESS_NONE;
	int64_t now = (int64_t)time(NULL);

	*trusted = *banned = false;
	if (dird_sockaddr(ip, &ss) == -1)
		return -1;
	if (directory_access_check(d->dir, (struct sockaddr *)&ss, now, &kind) ==
	    DIR_TEMPFAIL)
		return -1;
	*banned = kind == ACCESS_BAN;
	/* The smtp_after_pop window is in the database (written by the
	 * dird of whichever generation took the login); a failed read just
	 * does not trust. */
	*trusted = kind == ACCESS_TRUST ||
	    cidr_list_match(&d->cfg->relay.trusted_networks, (struct sockaddr *)&ss) ||
	    directory_pop_window_check(d->dir, ip, now,
	    d->cfg->relay.smtp_after_pop) == DIR_FOUND;
	return 0;
}

static void
dird_connect(struct dird_client *c, const struct ipc_msg *m)
{
	char *ip = ipc_msg_get_str(m, IK_IP, 64);
	bool trusted, banned;

	if (ip == NULL || dird_client_status(c->d, ip, &trusted, &banned) == -1)
		dird_reply_rc(c, m->id, IPCV_TEMPFAIL, 0);
	else
		dird_reply_rc(c, m->id, banned ? IPCV_BANNED : IPCV_OK, trusted);
	free(ip);
}

/* Is from_key the user, or an alias that reaches the user? */
static enum ipc_verdict
dird_mail_owned(struct dird *d, const char *from_key, const char *user)
{
	if (strcmp(from_key, user) == 0)
		return IPCV_OK;
	switch (directory_alias_has_target(d->dir, from_key, user)) {
	case DIR_FOUND:
		return IPCV_OK;
	case DIR_ABSENT:
		return IPCV_NOT_OWNED;
	default:
		return IPCV_TEMPFAIL;
	}
}

static void
dird_mail(struct dird_client *c, const struct ipc_msg *m)
{
	struct dird *d = c->d;
	char *ip = ipc_msg_get_str(m, IK_IP, 64);
	char *from = ipc_msg_get_str(m, IK_ADDR, SMTP_PATH_MAX);
	char *domain = ipc_msg_get_str(m, IK_DOMAIN, SMTP_DOMAIN_MAX);
	char *user = ipc_msg_get_str(m, IK_USER, SMTP_PATH_MAX);
	bool literal = ipc_msg_get(m, IK_LITERAL) != NULL;
	bool trusted, banned;
	enum ipc_verdict rc = IPCV_OK;

	if (ip == NULL || from == NULL || domain == NULL ||
	    dird_client_status(d, ip, &trusted, &banned) == -1) {
		dird_reply_rc(c, m->id, IPCV_TEMPFAIL, 0);
		goto out;
	}
	if (from[0] == '\0') {
		/* The null sender is always accepted (RFC 5321 4.5.5). */
	} else if (user != NULL) {
		rc = dird_mail_owned(d, from, user);
	} else if (!trusted && !literal) {
		struct dir_domain dom;
		struct dir_domain_effective eff;

		switch (directory_domain_get(d->dir, domain, &dom)) {
		case DIR_FOUND:
			dir_domain_effective(&dom, d->cfg, &eff);
			if (eff.require_auth)
				rc = IPCV_REQUIRE_AUTH;
			dir_domain_clear(&dom);
			break;
		case DIR_TEMPFAIL:
			rc = IPCV_TEMPFAIL;
			break;
		case DIR_ABSENT:
			break;
		}
	}
	dird_reply_rc(c, m->id, rc, trusted);
out:
	free(ip);
	free(from);
	free(domain);
	free(user);
}

/* relay.sender_rule for a trusted client that did not authenticate. */
static bool
dird_sender_may_relay(struct dird *d, const char *from_key, const char *from_domain)
{
	struct dir_user u;
	struct cfg_strlist t = { 0 };

	if (from_key[0] == '\0')
		return true;	/* bounces must flow */
	switch (d->cfg->relay.sender_rule) {
	case SENDER_RULE_NONE:
		return true;
	case SENDER_RULE_LOCAL_DOMAIN:
		return route_domain_is_local(d->dir, from_domain) == DIR_FOUND;
	case SENDER_RULE_ACCOUNT:
		if (directory_user_get(d->dir, from_key, &u) == DIR_FOUND) {
			dir_user_clear(&u);
			return true;
		}
		if (directory_alias_get(d->dir, from_key, &t) == DIR_FOUND) {
			cfg_strlist_free(&t);
			return true;
		}
		return false;
	}
	return false;
}

/* Does the mailbox of key have room for size more bytes under quota? */
static bool
dird_quota_ok(const char *key, uint64_t quota, uint64_t size)
{
	char *path;
	bool ok;

	if (quota == 0 || (path = maildir_path(key)) == NULL)
		return true;
	ok = maildir_usage(path) + size <= quota;
	free(path);
	return ok;
}

/* The smallest max_message_size among the domains of the local targets. */
static uint64_t
dird_targets_max_size(struct dird *d, const struct route_result *r)
{
	uint64_t max = d->cfg->limits.message_size;

	for (size_t i = 0; i < r->n; i++) {
		struct dir_domain dom;
		struct dir_domain_effective eff;

		if (r->v[i].kind != QKIND_LOCAL ||
		    directory_domain_get(d->dir, r->v[i].domain, &dom) != DIR_FOUND)
			continue;
		dir_domain_effective(&dom, d->cfg, &eff);
		if (eff.max_message_size < max)
			max = eff.max_message_size;
		dir_domain_clear(&dom);
	}
	return max;
}

static enum ipc_verdict
dird_rcpt_route(struct dird *d, const struct ipc_msg *m, struct buf *targets,
    uint64_t *max_size_out)
{
	char *local = ipc_msg_get_str(m, IK_LOCAL, SMTP_PATH_MAX);
	char *domain = ipc_msg_get_str(m, IK_DOMAIN, SMTP_DOMAIN_MAX);
	char *from = ipc_msg_get_str(m, IK_ADDR, SMTP_PATH_MAX);
	char *from_domain = ipc_msg_get_str(m, IK_DOMAIN2, SMTP_DOMAIN_MAX);
	uint64_t size = 0, flags = 0;
	struct route_result r = { 0 };
	enum ipc_verdict rc = IPCV_TEMPFAIL;
	size_t kept = 0;

	ipc_msg_get_u64(m, IK_SIZE, &size);
	ipc_msg_get_u64(m, IK_FLAGS, &flags);
	if (local == NULL || domain == NULL || from == NULL || from_domain == NULL)
		goto out;
	switch (route_rcpt(d->dir, d->cfg, local, domain, &r)) {
	case ROUTE_REMOTE:
		if (!(flags & IPC_RCPT_AUTH) && !(flags & IPC_RCPT_TRUSTED))
			rc = IPCV_RELAY_DENIED;
		else if (!(flags & IPC_RCPT_AUTH) &&
		    !dird_sender_may_relay(d, from, from_domain))
			rc = IPCV_SENDER_DENIED;
		else
			rc = IPCV_REMOTE;
		break;
	case ROUTE_UNKNOWN:
		rc = IPCV_UNKNOWN;
		break;
	case ROUTE_DISABLED:
		rc = IPCV_DISABLED;
		break;
	case ROUTE_TEMPFAIL:
		rc = IPCV_TEMPFAIL;
		break;
	case ROUTE_OK:
		*max_size_out = dird_targets_max_size(d, &r);
		for (size_t i = 0; i < r.n; i++) {
			const struct route_target *t = &r.v[i];

			if (t->kind == QKIND_LOCAL && !dird_quota_ok(t->key, t->quota, size))
				continue;	/* this mailbox is full */
			buf_printf(targets, "%c\t%s\t%llu\n", t->kind, t->key,
			    (unsigned long long)t->quota);
			kept++;
		}
		rc = targets->overflowed ? IPCV_TEMPFAIL : kept > 0 ? IPCV_OK : IPCV_FULL;
		break;
	}
out:
	route_result_clear(&r);
	free(local);
	free(domain);
	free(from);
	free(from_domain);
	return rc;
}

static void
dird_rcpt(struct dird_client *c, const struct ipc_msg *m)
{
	struct buf targets;
	struct ipc_msg r;
	enum ipc_verdict rc;
	uint64_t max_size = c->d->cfg->limits.message_size;

	buf_init(&targets, IPC_TARGETS_MAX);
	rc = dird_rcpt_route(c->d, m, &targets, &max_size);
	ipc_msg_init(&r, IPCM_REPLY, m->id);
	ipc_msg_add_u64(&r, IK_RC, rc);
	if (rc == IPCV_OK) {
		ipc_msg_add(&r, IK_TARGETS, targets.data, targets.len);
		ipc_msg_add_u64(&r, IK_SIZE, max_size);
	}
	dird_reply(c, &r);
	buf_free(&targets);
}

/*
 * IK_TARGETS: local mailbox keys, one a line. Answers the smallest
 * max_message_size of their domains (and limits.message_size), and the
 * keys whose quota cannot take IK_SIZE more bytes.
 */
static void
dird_data(struct dird_client *c, const struct ipc_msg *m)
{
	struct dird *d = c->d;
	const struct ipc_field *f = ipc_msg_get(m, IK_TARGETS);
	uint64_t size = 0, max = d->cfg->limits.message_size;
	struct buf over;
	struct ipc_msg r;
	char *list, *key, *nl;

	ipc_msg_get_u64(m, IK_SIZE, &size);
	buf_init(&over, IPC_TARGETS_MAX);
	list = f != NULL ? xstrndup((const char *)f->data, f->len) : xstrdup("");
	for (key = list; *key != '\0'; key = nl + 1) {
		const char *at;

		nl = strchr(key, '\n');
		if (nl == NULL)
			nl = key + strlen(key) - 1;	/* last line without LF */
		else
			*nl = '\0';
		at = strrchr(key, '@');
		struct dir_domain dom;
		struct dir_domain_effective eff;
		struct dir_user u;

		if (at != NULL && directory_domain_get(d->dir, at + 1, &dom) == DIR_FOUND) {
			dir_domain_effective(&dom, d->cfg, &eff);
			if (eff.max_message_size < max)
				max = eff.max_message_size;
			dir_domain_clear(&dom);
		}
		if (size > 0 && directory_user_get(d->dir, key, &u) == DIR_FOUND) {
			if (!dird_quota_ok(key, u.quota, size))
				buf_printf(&over, "%s\n", key);
			dir_user_clear(&u);
		}
	}
	free(list);
	ipc_msg_init(&r, IPCM_REPLY, m->id);
	ipc_msg_add_u64(&r, IK_RC, IPCV_OK);
	ipc_msg_add_u64(&r, IK_SIZE, max);
	ipc_msg_add(&r, IK_TARGETS, over.data != NULL ? over.data : "", over.len);
	dird_reply(c, &r);
	buf_free(&over);
}

/* ---- AUTH: on the pool ---- */

struct dird_auth {
	struct dird_client	*c;
	uint32_t		 id;
	char			*user;
	struct buf		 pass;
	char			*ip;
	const struct config	*cfg;
	bool			 mailbox;	/* IPC_AUTH_MAILBOX */
	char			*key;		/* with OK: the record's address */
	bool			 window_failed;	/* smtp_after_pop not recorded */
	enum ipc_verdict	 rc;
	int64_t			 expires;
};

static __thread struct directory *dird_thread_dir;
static char *dird_dummy_hash;
static pthread_once_t dird_dummy_once = PTHREAD_ONCE_INIT;

static void
dird_dummy_init(void)
{
	dird_dummy_hash = password_hash("postern-dummy-password", 22);
}

/* The pool thread's own connection (one per thread), opened on first use;
 * NULL when the database cannot be opened. */
static struct directory *
dird_pool_dir(void)
{
	const char *err;

	if (dird_thread_dir == NULL &&
	    directory_open("postern.db", &dird_thread_dir, &err) == -1)
		dird_thread_dir = NULL;
	return dird_thread_dir;
}

static void
dird_auth_work(void *arg)
{
	struct dird_auth *a = arg;
	struct dir_user u;
	const char *err;
	unsigned count = 0;
	int64_t now = (int64_t)time(NULL);
	bool ok = false;
	enum dir_rc rc;

	if (dird_pool_dir() == NULL) {
		a->rc = IPCV_TEMPFAIL;
		return;
	}
	rc = directory_user_get(dird_thread_dir, a->user, &u);
	if (rc == DIR_TEMPFAIL) {
		a->rc = IPCV_TEMPFAIL;
		return;
	}
	if (rc == DIR_FOUND) {
		ok = password_verify(a->pass.data, a->pass.len, u.password_hash) &&
		    u.enabled;
		if (ok)
			a->key = xstrdup(u.address);
		dir_user_clear(&u);
	} else {
		/* Same cost for unknown users: the time tells nothing. */
		pthread_once(&dird_dummy_once, dird_dummy_init);
		if (dird_dummy_hash != NULL)
			(void)password_verify(a->pass.data, a->pass.len, dird_dummy_hash);
	}
	if (ok) {
		a->rc = IPCV_OK;
		/* relay.smtp_after_pop: a durable write, as the failures are. */
		if (a->mailbox && a->cfg->relay.smtp_after_pop > 0 &&
		    directory_pop_window_open(dird_thread_dir, a->ip, now,
		    a->cfg->relay.smtp_after_pop) == -1)
			a->window_failed = true;
		return;
	}
	a->rc = IPCV_AUTH_FAIL;
	if (directory_auth_failure(dird_thread_dir, a->ip, now,
	    a->cfg->auth.failure_window, a->cfg->auth.failures_before_ban,
	    &count) == 0 &&
	    count >= a->cfg->auth.failures_before_ban) {
		a->expires = now + a->cfg->auth.ban_time;
		if (directory_access_add(dird_thread_dir, ACCESS_BAN, a->ip,
		    "auth failures", a->expires, &err) == 0)
			a->rc = IPCV_BANNED;
	}
}

static void
dird_auth_done(void *arg)
{
	struct dird_auth *a = arg;
	struct ipc_msg r;

	ipc_msg_init(&r, IPCM_REPLY, a->id);
	ipc_msg_add_u64(&r, IK_RC, a->rc);
	ipc_msg_add_u64(&r, IK_EXPIRES, (uint64_t)a->expires);
	if (a->rc == IPCV_OK) {
		/* The mailbox key: the user record's own address (what
		 * deliveries use), not the name as typed. */
		ipc_msg_add_str(&r, IK_USER, a->key != NULL ? a->key : a->user);
		if (a->window_failed)
			log_kv(&a->c->d->log, LOGL_ERROR, "directory_error",
			    "detail", "smtp_after_pop window not recorded", NULL);
	}
	dird_reply(a->c, &r);
	dird_client_unref(a->c);
	free(a->user);
	free(a->key);
	free(a->ip);
	buf_wipe(&a->pass);
	free(a);
}

/* Is ip banned now (the access list, as at IPCM_CONNECT)? 1 yes, 0 no,
 * -1 bad address or database error. */
static int
dird_auth_banned(struct dird *d, const char *ip)
{
	struct sockaddr_storage ss;
	enum access_kind kind = ACCESS_NONE;

	if (dird_sockaddr(ip, &ss) == -1 ||
	    directory_access_check(d->dir, (struct sockaddr *)&ss,
	    (int64_t)time(NULL), &kind) == DIR_TEMPFAIL)
		return -1;
	return kind == ACCESS_BAN;
}

static void
dird_auth(struct dird_client *c, const struct ipc_msg *m)
{
	const struct ipc_field *pass = ipc_msg_get(m, IK_PASS);
	struct dird_auth *a;
	uint64_t flags = 0;

	a = xcalloc(1, sizeof(*a));
	a->c = c;
	a->id = m->id;
	a->cfg = c->d->cfg;
	(void)ipc_msg_get_u64(m, IK_FLAGS, &flags);
	a->mailbox = (flags & IPC_AUTH_MAILBOX) != 0;
	a->user = ipc_msg_get_str(m, IK_USER, 320);
	a->ip = ipc_msg_get_str(m, IK_IP, 64);
	buf_init(&a->pass, PASSWORD_MAX);
	if (a->user == NULL || a->ip == NULL || pass == NULL || pass->len == 0 ||
	    buf_append(&a->pass, pass->data, pass->len) == -1) {
		a->rc = IPCV_AUTH_FAIL;
		c->refs++;
		dird_auth_done(a);
		return;
	}
	for (char *p = a->user; *p != '\0'; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	c->refs++;
	/* Banned since the connection was checked (a connection opened
	 * before the ban must not keep guessing): BANNED without looking at
	 * the password, IK_EXPIRES 0 (no new ban). */
	switch (dird_auth_banned(c->d, a->ip)) {
	case 1:
		a->rc = IPCV_BANNED;
		dird_auth_done(a);
		return;
	case -1:
		a->rc = IPCV_TEMPFAIL;
		dird_auth_done(a);
		return;
	default:
		break;
	}
	pool_submit(c->d->pool, dird_auth_work, dird_auth_done, a);
}

/* ---- queue manager: bounces policy (loop), auto-replies (pool) ---- */

static void
dird_bounce_policy(struct dird_client *c, const struct ipc_msg *m)
{
	struct dird *d = c->d;
	char *domain = ipc_msg_get_str(m, IK_DOMAIN, SMTP_DOMAIN_MAX + 2);
	enum cfg_spf_policy policy = d->cfg->domain_defaults.bounces;
	struct ipc_msg r;

	/* A literal ("[192.0.2.1]") or a bad name is simply not local. */
	if (domain == NULL ||
	    directory_bounce_policy(d->dir, d->cfg, domain, &policy) == DIR_TEMPFAIL) {
		if (domain != NULL)
			log_kv(&d->log, LOGL_ERROR, "directory_error", "detail",
			    "bounce policy lookup failed", NULL);
		dird_reply_rc(c, m->id, IPCV_TEMPFAIL, -1);
		free(domain);
		return;
	}
	ipc_msg_init(&r, IPCM_REPLY, m->id);
	ipc_msg_add_u64(&r, IK_RC, IPCV_OK);
	ipc_msg_add_u64(&r, IK_FLAGS, (uint64_t)policy);
	dird_reply(c, &r);
	free(domain);
}

struct dird_autoreply {
	struct dird_client	*c;
	uint32_t		 id;
	const struct config	*cfg;
	char			*user;
	char			*sender;
	bool			 spf_pass;
	bool			 db_error;
	enum ipc_verdict	 rc;
	struct dir_autoreply	 a;
};

/* On a pool thread: the claim is a write that fsyncs (synchronous = FULL). */
static void
dird_autoreply_work(void *arg)
{
	struct dird_autoreply *j = arg;
	struct directory *dir = dird_pool_dir();

	j->rc = IPCV_TEMPFAIL;
	j->db_error = true;
	if (dir == NULL)
		return;
	switch (directory_autoreply_claim(dir, j->cfg, j->user, j->sender,
	    j->spf_pass, (int64_t)time(NULL), &j->a)) {
	case DIR_FOUND:
		j->rc = IPCV_OK;
		j->db_error = false;
		break;
	case DIR_ABSENT:
		j->rc = IPCV_UNKNOWN;
		j->db_error = false;
		break;
	default:
		break;
	}
}

static void
dird_autoreply_done(void *arg)
{
	struct dird_autoreply *j = arg;
	struct ipc_msg r;

	ipc_msg_init(&r, IPCM_REPLY, j->id);
	ipc_msg_add_u64(&r, IK_RC, j->rc);
	if (j->rc == IPCV_OK) {
		ipc_msg_add_str(&r, IK_USER, j->a.address);
		ipc_msg_add_str(&r, IK_TEXT, j->a.text);
		ipc_msg_add_str(&r, IK_SUBJECT, j->a.subject);
	} else if (j->db_error)
		log_kv(&j->c->d->log, LOGL_ERROR, "directory_error", "detail",
		    "auto-reply state", NULL);
	dird_reply(j->c, &r);
	dird_client_unref(j->c);
	dir_autoreply_clear(&j->a);
	free(j->user);
	free(j->sender);
	free(j);
}

static void
dird_autoreply(struct dird_client *c, const struct ipc_msg *m)
{
	struct dird_autoreply *j = xcalloc(1, sizeof(*j));
	uint64_t flags = 0;

	j->c = c;
	j->id = m->id;
	j->cfg = c->d->cfg;
	j->user = ipc_msg_get_str(m, IK_USER, SMTP_PATH_MAX);
	j->sender = ipc_msg_get_str(m, IK_ADDR, SMTP_PATH_MAX);
	(void)ipc_msg_get_u64(m, IK_FLAGS, &flags);
	j->spf_pass = (flags & IPC_AUTOREPLY_SPF_PASS) != 0;
	c->refs++;
	if (j->user == NULL || j->sender == NULL) {
		j->rc = IPCV_TEMPFAIL;	/* malformed: never from our qmgr */
		dird_autoreply_done(j);
		return;
	}
	if (j->sender[0] == '\0') {
		j->rc = IPCV_UNKNOWN;	/* RFC 3834 2: never to <> */
		dird_autoreply_done(j);
		return;
	}
	pool_submit(c->d->pool, dird_autoreply_work, dird_autoreply_done, j);
}

static void
dird_dispatch(struct dird_client *c, const struct ipc_msg *m)
{
	switch (m->type) {
	case IPCM_CONNECT:
		dird_connect(c, m);
		break;
	case IPCM_MAIL:
		dird_mail(c, m);
		break;
	case IPCM_RCPT:
		dird_rcpt(c, m);
		break;
	case IPCM_DATA:
		dird_data(c, m);
		break;
	case IPCM_AUTH:
		dird_auth(c, m);
		break;
	case IPCM_BOUNCE_POLICY:
		dird_bounce_policy(c, m);
		break;
	case IPCM_AUTOREPLY:
		dird_autoreply(c, m);
		break;
	default:
		dird_reply_rc(c, m->id, IPCV_TEMPFAIL, -1);
		break;
	}
}

static void
dird_client_read(evutil_socket_t fd, short what, void *arg)
{
	struct dird_client *c = arg;
	struct ipc_msg m;

	(void)what;
	for (int i = 0; i < DIRD_BATCH; i++) {
		int rc = ipc_recv(fd, &c->d->rbuf, &m);

		if (rc == -1 && errno == EAGAIN)
			return;
		if (rc == 0 || rc == -1) {
			dird_client_drop(c);
			return;
		}
		if (rc == -2)
			continue;	/* malformed: dropped */
		if (m.fd != -1)
			close(m.fd);	/* clients pass no descriptors */
		dird_dispatch(c, &m);
	}
}

static void
dird_add_client(struct dird *d, int fd)
{
	struct dird_client *c;
	size_t i;

	for (i = 0; i < DIRD_CLIENTS_MAX && d->clients[i] != NULL; i++)
		;
	if (i == DIRD_CLIENTS_MAX) {
		close(fd);
		return;
	}
	evutil_make_socket_nonblocking(fd);
	c = xcalloc(1, sizeof(*c));
	*c = (struct dird_client){ .d = d, .fd = fd };
	c->ev = event_new(d->base, fd, EV_READ | EV_PERSIST, dird_client_read, c);
	event_add(c->ev, NULL);
	d->clients[i] = c;
}

static void
dird_ctl_read(evutil_socket_t fd, short what, void *arg)
{
	struct dird *d = arg;
	struct ipc_msg m;

	(void)what;
	for (int i = 0; i < 64; i++) {
		int rc = ipc_recv(fd, &d->rbuf, &m);

		if (rc == -1 && errno == EAGAIN)
			return;
		if (rc == 0 || rc == -1) {
			/* The master is gone: so are we. */
			event_base_loopbreak(d->base);
			return;
		}
		if (rc == 1 && m.type == IPCM_DIRD_CLIENT && m.fd != -1)
			dird_add_client(d, m.fd);
		else if (rc == 1 && m.fd != -1)
			close(m.fd);
	}
}

static void
dird_signal(evutil_socket_t sig, short what, void *arg)
{
	struct dird *d = arg;

	(void)what;
	d->stopping = true;
	/* SIGUSR1 (reload): serve the old workers until they are gone.
	 * SIGTERM: finish the password checks in flight, then go. */
	if (sig != SIGUSR1 || !dird_has_clients(d))
		event_base_loopbreak(d->base);
}

int
dird_run(const struct config *cfg, int ctl_fd)
{
	struct dird d = { .cfg = cfg };
	struct event *ev_ctl, *ev_term, *ev_int, *ev_usr1;
	const char *err;

	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	d.log.service = "dird";
	d.base = event_base_new();
	if (d.base == NULL)
		fatal("event_base_new failed");
	if (directory_open("postern.db", &d.dir, &err) == -1) {
		log_kv(&d.log, LOGL_ERROR, "directory_error", "detail", err, NULL);
		return 1;
	}
	buf_init(&d.rbuf, IPC_MSG_MAX);
	d.pool = pool_new(d.base, 2, "dirpool");
	evutil_make_socket_nonblocking(ctl_fd);
	ev_ctl = event_new(d.base, ctl_fd, EV_READ | EV_PERSIST, dird_ctl_read, &d);
	ev_term = evsignal_new(d.base, SIGTERM, dird_signal, &d);
	ev_int = evsignal_new(d.base, SIGINT, dird_signal, &d);
	ev_usr1 = evsignal_new(d.base, SIGUSR1, dird_signal, &d);
	event_add(ev_ctl, NULL);
	event_add(ev_term, NULL);
	event_add(ev_int, NULL);
	event_add(ev_usr1, NULL);

	event_base_dispatch(d.base);

	pool_free(&d.pool);	/* runs the completions: replies still go out */
	for (size_t i = 0; i < DIRD_CLIENTS_MAX; i++)
		if (d.clients[i] != NULL)
			dird_client_drop(d.clients[i]);
	event_free(ev_ctl);
	event_free(ev_term);
	event_free(ev_int);
	event_free(ev_usr1);
	directory_close(&d.dir);
	buf_free(&d.rbuf);
	event_base_free(d.base);
	return 0;
}
