/*
 * qmgr_notice: the mail the queue manager writes itself. DSNs: the
 * bounces policy of each bounced recipient is asked of the directory, the
 * DSN's route too, then qmgr.c's finish step queues it before it records
 * the bounces. Auto-replies: RFC 3834 checks were made on the original's
 * header section; the directory says whether the user has a reply for
 * this sender now (and records it), and the reply is routed and queued.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "core/log.h"
#include "core/pool.h"
#include "core/xalloc.h"
#include "delivery/autoreply.h"
#include "delivery/qmgr_int.h"
#include "ipc/ipc_proto.h"
#include "policy/route.h"
#include "queue/queue.h"
#include "server/dirconn.h"

/* ---- auto-replies ---- */

struct qreply {
	struct qmgr	*q;
	char		*user_key, *sender, *headers;
	size_t		 headers_len;
	bool		 spf_pass;
	struct buf	 msg;
	char		**targets;
	size_t		 ntargets;
	char		 id[QUEUE_ID_LEN + 1];
	int		 rc;
};

static void
qreply_free(struct qreply *a)
{
	free(a->user_key);
	free(a->sender);
	free(a->headers);
	buf_free(&a->msg);
	for (size_t i = 0; i < a->ntargets; i++)
		free(a->targets[i]);
	free(a->targets);
	a->q->nreplies--;
	free(a);
}

struct qmgr_targets {
	char	**v;
	size_t	  n;
};

static void
qmgr_target_add(void *arg, enum queue_kind kind, const char *key,
    uint64_t quota)
{
	struct qmgr_targets *t = arg;

	(void)quota;
	t->v = xrealloc(t->v, (t->n + 1) * sizeof(*t->v));
	t->v[t->n++] = xasprintf("%c\t%s", (char)kind, key);
}

/* The targets of a route answer as "L\tkey" strings. */
static size_t
qmgr_parse_targets(const struct ipc_msg *reply, char ***out)
{
	const struct ipc_field *f = ipc_msg_get(reply, IK_TARGETS);
	struct qmgr_targets t = { NULL, 0 };

	*out = NULL;
	if (f == NULL || f->len == 0 || f->len > IPC_TARGETS_MAX)
		return 0;
	route_targets_each((const char *)f->data, f->len, 1000,
	    qmgr_target_add, &t);
	*out = t.v;
	return t.n;
}

struct qroute {
	struct qmgr	*q;
	char		*addr;
	qmgr_route_fn	 fn;
	void		*arg;
};

static void
qmgr_route_done(void *arg, const struct ipc_msg *reply)
{
	struct qroute *rt = arg;
	char **targets = NULL;
	size_t n = 0;
	uint64_t rc = IPCV_TEMPFAIL;

	if (reply != NULL && ipc_msg_get_u64(reply, IK_RC, &rc) == 0) {
		if (rc == IPCV_OK) {
			n = qmgr_parse_targets(reply, &targets);
		} else if (rc == IPCV_REMOTE) {
			targets = xcalloc(1, sizeof(*targets));
			targets[0] = xasprintf("%c\t%s", QKIND_REMOTE, rt->addr);
			n = 1;
		}
	}
	if (n == 0) {
		char code[24];

		snprintf(code, sizeof(code), "%d", reply == NULL ? -1 : (int)rc);
		log_kv(&rt->q->log, LOGL_WARN, "route_failed", "rcpt", rt->addr,
		    "verdict", code, NULL);
	}
	rt->fn(rt->arg, targets, n);
	free(rt->addr);
	free(rt);
}

/* Where mail to addr goes (local mailboxes after aliases, or remote), as
 * the directory says for a trusted sender; fn gets n == 0 when nowhere. */
void
qmgr_route(struct qmgr *q, const char *addr, qmgr_route_fn fn, void *arg)
{
	struct qroute *rt = xcalloc(1, sizeof(*rt));
	const char *at = strrchr(addr, '@');
	struct ipc_msg req;
	char *local;

	*rt = (struct qroute){ .q = q, .addr = xstrdup(addr), .fn = fn, .arg = arg };
	local = at != NULL ? xstrndup(addr, (size_t)(at - addr)) : xstrdup(addr);
	ipc_msg_init(&req, IPCM_RCPT, 0);
	ipc_msg_add_str(&req, IK_LOCAL, local);
	ipc_msg_add_str(&req, IK_DOMAIN, at != NULL ? at + 1 : "");
	ipc_msg_add_u64(&req, IK_SIZE, 0);
	ipc_msg_add_u64(&req, IK_FLAGS, IPC_RCPT_TRUSTED);
	ipc_msg_add_str(&req, IK_ADDR, "");
	ipc_msg_add_str(&req, IK_DOMAIN2, "");
	dirconn_call(q->dirc, &req, qmgr_route_done, rt);	/* encodes req */
	free(local);
}

/* Writes a new message from <> for targets into the queue; 0 or -1. */
int
qmgr_inject(struct qmgr *q, char *const *targets, size_t n, const char *orig,
    const struct buf *msg, char id_out[QUEUE_ID_LEN + 1])
{
	struct queue_env env = { 0 };
	const char *err;
	int rc;

	env.time = qmgr_now();
	env.from = xstrdup("");
	env.client = xstrdup("127.0.0.1");
	env.helo = xstrdup(q->cfg->hostname);
	env.auth = xstrdup("");
	for (size_t i = 0; i < n; i++)
		queue_env_add_rcpt(&env, (enum queue_kind)targets[i][0], orig,
		    targets[i] + 2);
	rc = queue_inject(&env, msg->data, msg->len, id_out, &err);
	if (rc == -1)
		log_kv(&q->log, LOGL_ERROR, "queue_error", "detail", err, NULL);
	queue_env_clear(&env);
	return rc;
}

static void
qreply_inject_work(void *arg)
{
	struct qreply *a = arg;

	a->rc = qmgr_inject(a->q, a->targets, a->ntargets, a->sender, &a->msg, a->id);
}

static void
qreply_inject_done(void *arg)
{
	struct qreply *a = arg;

	if (a->rc == 0) {
		log_kv(&a->q->log, LOGL_INFO, "autoreply", "user", a->user_key,
		    "to", a->sender, "queue_id", a->id, NULL);
		qmgr_announce(a->q, a->id);
		qmgr_pump(a->q);
	}
	qreply_free(a);
}

static void
qreply_routed(void *arg, char **targets, size_t n)
{
	struct qreply *a = arg;

	a->targets = targets;
	a->ntargets = n;
	if (n == 0 || a->q->stopping) {
		qreply_free(a);
		return;
	}
	pool_submit(a->q->pool, qreply_inject_work, qreply_inject_done, a);
}

static void
qreply_answer(void *arg, const struct ipc_msg *reply)
{
	struct qreply *a = arg;
	struct autoreply_msg am;
	const char *err = NULL;
	uint64_t rc;
	char *user, *text, *subject;
	int built = -1;

	if (reply == NULL || ipc_msg_get_u64(reply, IK_RC, &rc) == -1 ||
	    rc != IPCV_OK || a->q->stopping) {
		qreply_free(a);
		return;
	}
	user = ipc_msg_get_str(reply, IK_USER, 1024);
	text = ipc_msg_get_str(reply, IK_TEXT, AUTOREPLY_SIZE_MAX);
	subject = ipc_msg_get_str(reply, IK_SUBJECT, 1024);
	buf_init(&a->msg, AUTOREPLY_SIZE_MAX);
	if (user != NULL && text != NULL) {
		am = (struct autoreply_msg){ .user = user, .to = a->sender,
		    .subject = subject != NULL ? subject : "", .text = text,
		    .headers = a->headers, .headers_len = a->headers_len,
		    .hostname = a->q->cfg->hostname, .now = qmgr_now() };
		built = autoreply_build(&a->msg, &am, &err);
		if (built == -1)
			log_kv(&a->q->log, LOGL_WARN, "autoreply", "user", a->user_key,
			    "result", "error", "detail", err, NULL);
	}
	free(user);
	free(text);
	free(subject);
	if (built == -1) {
		qreply_free(a);
		return;
	}
	qmgr_route(a->q, a->sender, qreply_routed, a);
}

/* Asks the directory whether recipient i's user has an auto-reply for
 * this sender now (it records the reply when it says yes). */
void
qmgr_autoreply_start(struct qmsg *m, size_t i)
{
	struct qmgr *q = m->q;
	const struct queue_rcpt *r = &m->env.rcpts[i];
	const char *user = r->kind == QKIND_LOCAL ? r->target : r->orig;
	struct qreply *a;
	struct ipc_msg req;

	if (q->nreplies >= QMGR_AUTOREPLY_MAX || q->stopping || m->headers == NULL)
		return;
	/* One question per user and message (an alias may name it twice). */
	for (size_t k = 0; k < i; k++) {
		const struct queue_rcpt *o = &m->env.rcpts[k];

		if (m->autoreply[k] && strcasecmp(user,
		    o->kind == QKIND_LOCAL ? o->target : o->orig) == 0)
			return;
	}
	a = xcalloc(1, sizeof(*a));
	a->q = q;
	a->user_key = xstrdup(user);
	a->sender = xstrdup(m->env.from);
	a->headers = xstrndup(m->headers, m->headers_len);
	a->headers_len = m->headers_len;
	/* A sender who authenticated proved more than SPF would. */
	a->spf_pass = strcmp(m->env.spf, "pass") == 0 || m->env.auth[0] != '\0';
	q->nreplies++;
	ipc_msg_init(&req, IPCM_AUTOREPLY, 0);
	ipc_msg_add_str(&req, IK_USER, a->user_key);
	ipc_msg_add_str(&req, IK_ADDR, a->sender);
	ipc_msg_add_u64(&req, IK_FLAGS, a->spf_pass ? IPC_AUTOREPLY_SPF_PASS : 0);
	dirconn_call(q->dirc, &req, qreply_answer, a);
}


static void
qmgr_asked(struct qmsg *m)
{
	if (--m->asks_left == 0)
		qmgr_finish_now(m);
}

static void
qmgr_dsn_routed(void *arg, char **targets, size_t n)
{
	struct qdsn *d = arg;

	d->targets = targets;
	d->ntargets = n;
	qmgr_asked(d->m);
}

/* Decided: which bounced recipients are reported, and to whom. */
static void
qmgr_dsn_plan(struct qmsg *m)
{
	const char *quarantine = m->q->cfg->filters.quarantine;

	for (size_t i = 0; i < m->env.nrcpts; i++) {
		int p = m->policy[i];
		struct qdsn *d;

		if (p == 0 || (p == 2 && quarantine[0] == '\0'))
			continue;
		d = &m->dsn[p == 1 ? 0 : 1];
		d->idx = xrealloc(d->idx, (d->n + 1) * sizeof(*d->idx));
		d->idx[d->n++] = i;
	}
	m->asks_left = 1;
	for (size_t k = 0; k < 2; k++) {
		struct qdsn *d = &m->dsn[k];

		if (d->n == 0)
			continue;
		d->to = xstrdup(k == 0 ? m->env.from : quarantine);
		d->m = m;
		m->asks_left++;
		qmgr_route(m->q, d->to, qmgr_dsn_routed, d);
	}
	qmgr_asked(m);
}

struct qpolicy {
	struct qmsg	*m;
	size_t		 i;
};

static void
qmgr_policy_answer(void *arg, const struct ipc_msg *reply)
{
	struct qpolicy *p = arg;
	struct qmsg *m = p->m;
	uint64_t rc, pol = POLICY_ENABLED;
	int decision;

	/* No answer (directory down): send; a lost DSN is worse than one the
	 * policy would have dropped. */
	if (reply != NULL && ipc_msg_get_u64(reply, IK_RC, &rc) == 0 &&
	    rc == IPCV_OK && ipc_msg_get_u64(reply, IK_FLAGS, &pol) == -1)
		pol = POLICY_ENABLED;
	if (pol == POLICY_DISABLED)
		decision = 2;
	else if (pol == POLICY_REQUIRE_SPF)
		decision = strcmp(m->env.spf, "pass") == 0 ? 1 : 0;
	else
		decision = 1;
	if (decision != 1)
		log_kv(&m->q->log, LOGL_INFO, "bounce", "queue_id", m->id,
		    "rcpt", m->env.rcpts[p->i].target, "result",
		    decision == 2 && m->q->cfg->filters.quarantine[0] != '\0' ?
		    "quarantined" : "dropped", "reason",
		    pol == POLICY_DISABLED ? "bounces=disabled" :
		    "bounces=require_spf", NULL);
	m->policy[p->i] = decision;
	free(p);
	if (--m->asks_left == 0)
		qmgr_dsn_plan(m);
}

/*
 * Every attempt has reported: apply the deadline to local deferrals,
 * decide the DSNs (SPEC section 4: never for <>; always for a sender who
 * authenticated; else the bounces policy of the recipient's domain, or of
 * the sender's domain for relayed mail), then write it all down.
 */
void
qmgr_finish(struct qmsg *m)
{
	size_t nbounced = 0;

	m->now = qmgr_now();
	for (size_t i = 0; i < m->env.nrcpts; i++) {
		struct queue_rcpt *r = &m->env.rcpts[i];

		if (m->dirty[i] && r->state == QSTATE_DEFERRED && r->kind == QKIND_LOCAL &&
		    m->now >= qmgr_deadline(m))
			r->state = QSTATE_BOUNCED;
		if (m->dirty[i] && r->state == QSTATE_BOUNCED && !m->was_final[i])
			nbounced++;
	}
	if (nbounced == 0 || m->env.from[0] == '\0') {
		if (nbounced > 0 && m->env.from[0] == '\0')
			log_kv(&m->q->log, LOGL_INFO, "bounce", "queue_id", m->id,
			    "result", "dropped", "reason", "null sender", NULL);
		qmgr_finish_now(m);
		return;
	}
	m->policy = xcalloc(m->env.nrcpts + 1, sizeof(*m->policy));
	m->asks_left = 1;
	for (size_t i = 0; i < m->env.nrcpts; i++) {
		struct queue_rcpt *r = &m->env.rcpts[i];
		struct qpolicy *p;
		struct ipc_msg req;
		const char *domain;

		if (!m->dirty[i] || r->state != QSTATE_BOUNCED || m->was_final[i])
			continue;
		if (m->env.auth[0] != '\0') {
			m->policy[i] = 1;
			continue;
		}
		/* Relayed (a remote recipient as the client wrote it) or
		 * received for a local address (expanded to its targets). */
		domain = r->kind == QKIND_REMOTE && strcasecmp(r->orig, r->target) == 0 ?
		    qmgr_domain_of(m->env.from) : qmgr_domain_of(r->orig);
		p = xcalloc(1, sizeof(*p));
		*p = (struct qpolicy){ .m = m, .i = i };
		m->asks_left++;
		ipc_msg_init(&req, IPCM_BOUNCE_POLICY, 0);
		ipc_msg_add_str(&req, IK_DOMAIN, domain);
		dirconn_call(m->q->dirc, &req, qmgr_policy_answer, p);
	}
	if (--m->asks_left == 0)
		qmgr_dsn_plan(m);
}
