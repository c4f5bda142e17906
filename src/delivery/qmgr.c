/*
 * qmgr: the scheduler of deliveries. Every message in queue/ has an entry
 * here with the time it is next due. A due message is "worked": on a pool
 * thread it is read and locked (flock, held until the work ends) and its
 * local recipients are delivered; then, on the loop, its due remote
 * recipients are grouped by destination (one attempt, one connection, per
 * domain, or one for the relayhost) and handed to remote.c within the
 * concurrency limits; when every attempt has reported, bounced recipients
 * get their DSN (after the bounce policy and the route of the DSN have
 * been asked of the directory), and on a pool thread the DSN is queued,
 * the recipients' new states are recorded and fdatasync'ed, and a
 * finished file is retired. One message is worked by one chain at a time,
 * which is what makes the per-message file safe to update without locks.
 *
 * Auto-replies are a separate chain started when a local copy is made:
 * RFC 3834 header checks here, the user's text and the once-per-7-days
 * rule in the directory, then queued like any message.
 */
#include <errno.h>
#include <event2/event.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/ids.h"
#include "core/log.h"
#include "core/pool.h"
#include "core/xalloc.h"
#include "delivery/autoreply.h"
#include "delivery/dsn.h"
#include "delivery/local.h"
#include "delivery/qmgr.h"
#include "delivery/remote.h"
#include "dns/dns.h"
#include "ipc/ipc_proto.h"
#include "queue/queue.h"
#include "server/dirconn.h"

#define QMGR_THREADS		8
#define QMGR_SCAN_SEC		30
#define QMGR_MSGS_MAX		200000	/* messages known at once */
#define QMGR_ACTIVE_MAX		1000	/* messages being worked at once */
#define QMGR_CONN_MAX		100	/* outbound attempts at once */
#define QMGR_DEST_MAX		20	/* ... to one destination */
#define QMGR_BUSY_RETRY_SEC	5	/* another process holds the lock */
#define QMGR_STOP_GRACE_SEC	10	/* then attempts in progress are cut */
#define QMGR_HASH		65536
#define QMGR_HEADERS_MAX	(64 * 1024)
#define QMGR_AUTOREPLY_MAX	256	/* auto-reply chains at once */

struct qmgr;
struct qmsg;

/* One attempt: the due recipients of one message for one destination. */
struct qjob {
	struct qmsg	*m;
	char		*dest;		/* domain, or "" for the relayhost */
	size_t		*idx;		/* recipient indexes */
	size_t		 n;
	bool		 started, done;
};

/* A DSN being prepared for some of a message's recipients. */
struct qdsn {
	struct qmsg	*m;
	char		*to;		/* the address it goes to */
	size_t		*idx;		/* the bounced recipients it reports */
	size_t		 n;
	char		**targets;	/* "L\tkey" / "R\taddress" from the route */
	size_t		 ntargets;
};

struct qmsg {
	struct qmsg	*hnext;
	size_t		 pos;		/* in q->msgs */
	char		 id[QUEUE_ID_LEN + 1];
	int64_t		 due;		/* unix seconds; 0 = now */
	bool		 busy;
	bool		 ready;		/* in q->ready */
	bool		 recovering;	/* may have been worked on before */
	bool		 retired;

	/* while busy */
	struct qmgr	*q;
	enum local_rc	 lrc;
	struct queue_env env;
	int		 fd;
	int64_t		 now;
	bool		*dirty;
	bool		*was_final;	/* final before this round */
	bool		*autoreply;	/* copy made: ask for an auto-reply */
	char		*headers;	/* the original's header section, when
					 * RFC 3834 allows a reply to it */
	size_t		 headers_len;
	struct qjob	*jobs;
	size_t		 njobs, jobs_left;
	struct qdsn	 dsn[2];	/* to the sender, to the quarantine */
	size_t		 asks_left;	/* directory questions outstanding */
	int		*policy;	/* per recipient: 1 send, 2 quarantine, 0 drop */
	char		 dsn_ids[2][QUEUE_ID_LEN + 1];
};

struct qdest {
	char		*name;
	unsigned	 active;
};

struct qmgr {
	const struct config	*cfg;
	struct event_base	*base;
	struct pool		*pool;
	struct dns		*dns;
	struct remote		*remote;
	struct dirconn		*dirc;
	struct qmsg		*hash[QMGR_HASH];
	struct qmsg		**msgs;
	size_t			 nmsgs, capmsgs;
	struct qmsg		**ready;	/* due, waiting for their turn */
	size_t			 nready, capready;
	size_t			 nactive;	/* busy messages */
	size_t			 nreplies;	/* auto-reply chains */
	struct qjob		**waiting;	/* attempts waiting for a slot */
	size_t			 nwaiting, capwaiting;
	struct qdest		*dests;
	size_t			 ndests;
	size_t			 nconns;
	bool			 stopping;
	int64_t			 stop_at;
	int64_t			 last_scan;
	struct log_ctx		 log;
	struct event		*tick;
	struct event		*ev_notify;
};

static void qmgr_pump(struct qmgr *q);
static void qmgr_finish(struct qmsg *m);
static void qmgr_make_ready(struct qmgr *q, struct qmsg *m);

static int64_t
qmgr_now(void)
{
	return (int64_t)time(NULL);
}

/* ---- the table of messages ---- */

static unsigned
qmgr_hash(const char *id)
{
	uint32_t h = 2166136261u;

	for (const char *p = id; *p != '\0'; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	return h % QMGR_HASH;
}

static struct qmsg *
qmgr_find(struct qmgr *q, const char *id)
{
	for (struct qmsg *m = q->hash[qmgr_hash(id)]; m != NULL; m = m->hnext)
		if (strcmp(m->id, id) == 0)
			return m;
	return NULL;
}

static struct qmsg *
qmgr_add(struct qmgr *q, const char *id, bool recovering)
{
	struct qmsg *m;
	unsigned h;

	if (!ids_queue_valid(id))
		return NULL;
	m = qmgr_find(q, id);
	if (m != NULL)
		return m;
	if (q->nmsgs >= QMGR_MSGS_MAX)
		return NULL;	/* the scan finds it again later */
	if (q->nmsgs == q->capmsgs) {
		q->capmsgs = q->capmsgs ? q->capmsgs * 2 : 1024;
		q->msgs = xrealloc(q->msgs, q->capmsgs * sizeof(struct qmsg *));
	}
	m = xcalloc(1, sizeof(*m));
	memcpy(m->id, id, QUEUE_ID_LEN + 1);
	m->recovering = recovering;
	m->fd = -1;
	m->q = q;
	h = qmgr_hash(id);
	m->hnext = q->hash[h];
	q->hash[h] = m;
	m->pos = q->nmsgs;
	q->msgs[q->nmsgs++] = m;
	return m;
}

static void
qmgr_del(struct qmgr *q, struct qmsg *m)
{
	struct qmsg **pp = &q->hash[qmgr_hash(m->id)];

	while (*pp != m)
		pp = &(*pp)->hnext;
	*pp = m->hnext;
	q->msgs[m->pos] = q->msgs[--q->nmsgs];
	q->msgs[m->pos]->pos = m->pos;
	free(m);
}

/* A message just queued (by a worker, or here): due now, fresh. */
static void
qmgr_announce(struct qmgr *q, const char *id)
{
	struct qmsg *m = qmgr_add(q, id, false);

	if (m != NULL)
		qmgr_make_ready(q, m);
}

/* ---- small helpers ---- */

static const char *
qmgr_domain_of(const char *addr)
{
	const char *at = strrchr(addr, '@');

	return at != NULL ? at + 1 : "";
}

static void
qmgr_lower(char *s)
{
	for (; *s != '\0'; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

static void
qmgr_set_reply(struct queue_rcpt *r, const char *reply)
{
	free(r->last_reply);
	r->last_reply = xstrdup(reply);
}

/* The deadline of a message: arrival + delivery.max_lifetime. */
static int64_t
qmgr_deadline(const struct qmsg *m)
{
	return m->env.time + (int64_t)m->q->cfg->delivery.max_lifetime;
}

/* A failed attempt: try again per delivery.retry, never past the deadline;
 * at the deadline the recipient is bounced (with the last reply). */
static void
qmgr_defer(struct qmsg *m, struct queue_rcpt *r, const char *reply)
{
	int64_t deadline = qmgr_deadline(m);

	qmgr_set_reply(r, reply);
	if (m->now >= deadline) {
		r->state = QSTATE_BOUNCED;
		return;
	}
	r->state = QSTATE_DEFERRED;
	r->next_try = local_retry_at(m->q->cfg, r->attempts, m->now);
	if (r->next_try > deadline)
		r->next_try = deadline;
}

static void
qmgr_free_work(struct qmsg *m)
{
	for (size_t i = 0; i < m->njobs; i++) {
		free(m->jobs[i].dest);
		free(m->jobs[i].idx);
	}
	free(m->jobs);
	m->jobs = NULL;
	m->njobs = m->jobs_left = 0;
	for (size_t k = 0; k < 2; k++) {
		free(m->dsn[k].to);
		free(m->dsn[k].idx);
		for (size_t i = 0; i < m->dsn[k].ntargets; i++)
			free(m->dsn[k].targets[i]);
		free(m->dsn[k].targets);
		memset(&m->dsn[k], 0, sizeof(m->dsn[k]));
	}
	free(m->dirty);
	free(m->was_final);
	free(m->autoreply);
	free(m->policy);
	free(m->headers);
	m->dirty = m->was_final = m->autoreply = NULL;
	m->policy = NULL;
	m->headers = NULL;
	m->headers_len = 0;
	if (m->fd != -1)
		close(m->fd);
	m->fd = -1;
	queue_env_clear(&m->env);
}

/* ---- headers of the original, for auto-replies ---- */

/* Reads the header section (up to the empty line, bounded). */
static void
qmgr_read_headers(const struct qmsg *m, struct buf *out)
{
	char chunk[8192];
	uint64_t off = m->env.body_off, end = m->env.body_off + m->env.body_len;

	while (off < end && out->len < QMGR_HEADERS_MAX) {
		size_t want = sizeof(chunk);
		ssize_t n;
		const char *blank;

		if (want > end - off)
			want = (size_t)(end - off);
		n = pread(m->fd, chunk, want, (off_t)off);
		if (n <= 0)
			return;
		if (buf_append(out, chunk, (size_t)n) == -1)
			return;
		off += (uint64_t)n;
		blank = memmem(out->data, out->len, "\n\n", 2);
		if (blank != NULL || (out->len >= 1 && out->data[0] == '\n')) {
			out->len = blank != NULL ? (size_t)(blank - out->data) + 1 : 0;
			return;
		}
	}
}

/* ---- phase 1, on a pool thread: lock, expire, local delivery ---- */

/* A copy that may call for an auto-reply: a local one, or one sent on to
 * a user's forward address (the original recipient is not the target). */
static bool
qmgr_may_reply(const struct queue_rcpt *r)
{
	return r->kind == QKIND_LOCAL || strcasecmp(r->orig, r->target) != 0;
}

static void
qmgr_open_work(void *arg)
{
	struct qmsg *m = arg;
	const struct config *cfg = m->q->cfg;
	bool want_headers = false;

	m->lrc = local_lock(m->id, &m->env, &m->fd);
	if (m->lrc != LOCAL_DONE)
		return;
	m->now = qmgr_now();
	m->dirty = xcalloc(m->env.nrcpts + 1, sizeof(*m->dirty));
	m->was_final = xcalloc(m->env.nrcpts + 1, sizeof(*m->was_final));
	m->autoreply = xcalloc(m->env.nrcpts + 1, sizeof(*m->autoreply));
	for (size_t i = 0; i < m->env.nrcpts; i++) {
		const struct queue_rcpt *r = &m->env.rcpts[i];

		m->was_final[i] = queue_state_final(r->state);
		if (!m->was_final[i] && r->next_try <= m->now && qmgr_may_reply(r))
			want_headers = true;
	}
	local_deliver(&m->env, m->fd, cfg, m->recovering, m->now, m->dirty, &m->q->log);
	if (want_headers && m->env.from[0] != '\0') {
		struct buf h;

		buf_init(&h, QMGR_HEADERS_MAX + 8192);
		qmgr_read_headers(m, &h);
		if (h.len > 0 && autoreply_permitted(m->env.from, h.data, h.len)) {
			m->headers = xstrndup(h.data, h.len);
			m->headers_len = h.len;
		}
		buf_free(&h);
	}
	if (m->headers == NULL)
		return;
	for (size_t i = 0; i < m->env.nrcpts; i++) {
		const struct queue_rcpt *r = &m->env.rcpts[i];

		m->autoreply[i] = m->dirty[i] && r->state == QSTATE_SENT &&
		    r->kind == QKIND_LOCAL;
	}
}

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

/* "L|R\tkey\tquota\n" lines of a route answer -> "L\tkey" strings. */
static size_t
qmgr_parse_targets(const struct ipc_msg *reply, char ***out)
{
	const struct ipc_field *f = ipc_msg_get(reply, IK_TARGETS);
	char *list, *line, *nl;
	size_t n = 0;

	*out = NULL;
	if (f == NULL || f->len == 0 || f->len > IPC_TARGETS_MAX)
		return 0;
	list = xstrndup((const char *)f->data, f->len);
	for (line = list; *line != '\0' && n < 1000; line = nl + 1) {
		char *t1, *t2;

		nl = strchr(line, '\n');
		if (nl == NULL)
			break;
		*nl = '\0';
		t1 = strchr(line, '\t');
		t2 = t1 != NULL ? strchr(t1 + 1, '\t') : NULL;
		if (t2 == NULL || (line[0] != QKIND_LOCAL && line[0] != QKIND_REMOTE) ||
		    t1 != line + 1 || t2 == t1 + 1)
			break;
		*t2 = '\0';
		*out = xrealloc(*out, (n + 1) * sizeof(**out));
		(*out)[n++] = xstrdup(line);
	}
	free(list);
	return n;
}

typedef void (*qmgr_route_fn)(void *arg, char **targets, size_t n);

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
static void
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
static int
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
static void
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

/* ---- phase 2, on the loop: remote attempts ---- */

static struct qdest *
qmgr_dest(struct qmgr *q, const char *name)
{
	for (size_t i = 0; i < q->ndests; i++)
		if (strcmp(q->dests[i].name, name) == 0)
			return &q->dests[i];
	q->dests = xrealloc(q->dests, (q->ndests + 1) * sizeof(*q->dests));
	q->dests[q->ndests] = (struct qdest){ .name = xstrdup(name) };
	return &q->dests[q->ndests++];
}

static void
qmgr_dest_release(struct qmgr *q, const char *name)
{
	for (size_t i = 0; i < q->ndests; i++) {
		if (strcmp(q->dests[i].name, name) != 0)
			continue;
		if (--q->dests[i].active == 0) {
			free(q->dests[i].name);
			q->dests[i] = q->dests[--q->ndests];
		}
		return;
	}
}

static void
qmgr_job_done(void *arg, const struct remote_outcome *out)
{
	struct qjob *j = arg;
	struct qmsg *m = j->m;
	struct qmgr *q = m->q;
	struct timeval tv;
	char delay[32], attempts[16];

	gettimeofday(&tv, NULL);
	snprintf(delay, sizeof(delay), "%.1f",
	    (double)tv.tv_sec + (double)tv.tv_usec / 1e6 - (double)m->env.time);
	m->now = qmgr_now();
	for (size_t k = 0; k < j->n; k++) {
		size_t i = j->idx[k];
		struct queue_rcpt *r = &m->env.rcpts[i];
		const struct remote_rcpt_result *res = &out->rcpts[k];
		const char *status;

		r->attempts++;
		m->dirty[i] = true;
		switch (res->status) {
		case REMOTE_SENT:
			r->state = QSTATE_SENT;
			qmgr_set_reply(r, res->reply);
			if (m->headers != NULL && qmgr_may_reply(r)) {
				m->autoreply[i] = true;
				qmgr_autoreply_start(m, i);
			}
			break;
		case REMOTE_BOUNCED:
			r->state = QSTATE_BOUNCED;
			qmgr_set_reply(r, res->reply);
			break;
		default:
			qmgr_defer(m, r, res->reply);
			break;
		}
		status = queue_state_name(r->state);
		snprintf(attempts, sizeof(attempts), "%u", r->attempts);
		log_kv(&q->log, r->state == QSTATE_SENT ? LOGL_INFO : LOGL_WARN,
		    "delivery", "queue_id", m->id, "rcpt", r->target, "mx", out->mx,
		    "ip", out->ip, "tls", out->tls[0] != '\0' ? out->tls : "none",
		    "status", status, "reply", r->last_reply, "delay", delay,
		    "attempts", attempts, NULL);
	}
	j->done = true;
	q->nconns--;
	qmgr_dest_release(q, j->dest);
	if (--m->jobs_left == 0)
		qmgr_finish(m);
	qmgr_pump(q);
}

/* Starts waiting attempts while the limits allow, oldest first. */
static void
qmgr_start_jobs(struct qmgr *q)
{
	size_t k = 0;

	while (k < q->nwaiting && q->nconns < QMGR_CONN_MAX) {
		struct qjob *j = q->waiting[k];
		struct qmsg *m = j->m;
		struct qdest *d = qmgr_dest(q, j->dest);
		const char **rcpts;
		struct remote_job rj;

		if (d->active >= QMGR_DEST_MAX) {
			k++;
			continue;
		}
		memmove(&q->waiting[k], &q->waiting[k + 1],
		    (q->nwaiting - k - 1) * sizeof(struct qjob *));
		q->nwaiting--;
		d->active++;
		q->nconns++;
		j->started = true;
		rcpts = xcalloc(j->n, sizeof(*rcpts));
		for (size_t i = 0; i < j->n; i++)
			rcpts[i] = m->env.rcpts[j->idx[i]].target;
		rj = (struct remote_job){ .queue_id = m->id, .domain = j->dest,
		    .from = m->env.from, .rcpts = rcpts, .nrcpts = j->n,
		    .body_fd = m->fd, .body_off = m->env.body_off,
		    .body_len = m->env.body_len };
		remote_deliver(q->remote, &rj, qmgr_job_done, j);
		free(rcpts);
	}
}

static void
qmgr_plan_remote(struct qmsg *m)
{
	struct qmgr *q = m->q;
	bool relayhost = q->cfg->delivery.relayhost[0] != '\0';

	for (size_t i = 0; i < m->env.nrcpts; i++) {
		struct queue_rcpt *r = &m->env.rcpts[i];
		char *dest;
		struct qjob *j = NULL;

		if (r->kind != QKIND_REMOTE || queue_state_final(r->state) ||
		    r->next_try > m->now)
			continue;
		dest = xstrdup(relayhost ? "" : qmgr_domain_of(r->target));
		qmgr_lower(dest);
		for (size_t k = 0; k < m->njobs && j == NULL; k++)
			if (strcmp(m->jobs[k].dest, dest) == 0)
				j = &m->jobs[k];
		if (j == NULL) {
			m->jobs = xrealloc(m->jobs, (m->njobs + 1) * sizeof(*m->jobs));
			j = &m->jobs[m->njobs++];
			*j = (struct qjob){ .m = m, .dest = dest };
		} else {
			free(dest);
		}
		j->idx = xrealloc(j->idx, (j->n + 1) * sizeof(*j->idx));
		j->idx[j->n++] = i;
	}
	m->jobs_left = m->njobs;
	for (size_t k = 0; k < m->njobs; k++) {
		if (q->nwaiting == q->capwaiting) {
			q->capwaiting = q->capwaiting ? q->capwaiting * 2 : 256;
			q->waiting = xrealloc(q->waiting,
			    q->capwaiting * sizeof(struct qjob *));
		}
		q->waiting[q->nwaiting++] = &m->jobs[k];
	}
}

static void
qmgr_open_done(void *arg)
{
	struct qmsg *m = arg;
	struct qmgr *q = m->q;

	if (m->lrc == LOCAL_GONE) {
		log_kv(&q->log, LOGL_DEBUG, "gone", "queue_id", m->id, NULL);
		q->nactive--;
		qmgr_del(q, m);
		qmgr_pump(q);
		return;
	}
	if (m->lrc == LOCAL_BUSY) {
		log_kv(&q->log, LOGL_INFO, "busy", "queue_id", m->id, NULL);
		m->busy = false;
		m->due = qmgr_now() + QMGR_BUSY_RETRY_SEC;
		q->nactive--;
		qmgr_pump(q);
		return;
	}
	m->recovering = true;	/* from now on it has been worked on */
	for (size_t i = 0; i < m->env.nrcpts; i++)
		if (m->autoreply[i])
			qmgr_autoreply_start(m, i);
	if (q->stopping) {
		qmgr_finish(m);
		return;
	}
	qmgr_plan_remote(m);
	if (m->njobs == 0)
		qmgr_finish(m);
	else
		qmgr_pump(q);
}

/* ---- phase 3: bounces ---- */

static void
qmgr_finish_work(void *arg)
{
	struct qmsg *m = arg;
	bool pending = false, dirty = false;
	int64_t due = INT64_MAX;

	for (size_t k = 0; k < 2; k++) {
		struct qdsn *d = &m->dsn[k];
		struct dsn_rcpt *dr;
		struct dsn_request req;
		const char *err = NULL;
		struct buf out;

		if (d->n == 0 || d->ntargets == 0)
			continue;
		dr = xcalloc(d->n, sizeof(*dr));
		for (size_t i = 0; i < d->n; i++) {
			const struct queue_rcpt *r = &m->env.rcpts[d->idx[i]];

			dr[i] = (struct dsn_rcpt){ .orig = r->orig, .final = r->target,
			    .action = DSN_FAILED, .reply = r->last_reply,
			    .last_attempt = r->attempts > 0 ? m->now : 0 };
		}
		req = (struct dsn_request){ .env = &m->env, .fd = m->fd, .rcpts = dr,
		    .nrcpts = d->n, .hostname = m->q->cfg->hostname, .now = m->now };
		buf_init(&out, DSN_SIZE_MAX);
		if (dsn_build(&out, &req, &err) == 0)
			qmgr_inject(m->q, d->targets, d->ntargets, d->to, &out,
			    m->dsn_ids[k]);
		else
			log_kv(&m->q->log, LOGL_ERROR, "bounce", "queue_id", m->id,
			    "result", "error", "detail", err, NULL);
		buf_free(&out);
		free(dr);
	}
	for (size_t i = 0; i < m->env.nrcpts; i++) {
		const struct queue_rcpt *r = &m->env.rcpts[i];

		dirty = dirty || m->dirty[i];
		if (!queue_state_final(r->state)) {
			pending = true;
			if (r->next_try < due)
				due = r->next_try;
		}
	}
	if (!pending) {
		queue_retire(m->id);	/* still locked: nobody else picks it up */
		m->retired = true;
		/* Unlock at once: a worker may reuse the file any moment now. */
		close(m->fd);
		m->fd = -1;
	} else if (dirty) {
		for (size_t i = 0; i < m->env.nrcpts; i++)
			if (m->dirty[i])
				queue_record(m->fd, i, &m->env.rcpts[i], false);
		if (fdatasync(m->fd) == -1)
			log_kv(&m->q->log, LOGL_ERROR, "queue_error", "queue_id",
			    m->id, "detail", strerror(errno), NULL);
	}
	m->due = pending ? due : INT64_MAX;
}

static void
qmgr_finish_done(void *arg)
{
	struct qmsg *m = arg;
	struct qmgr *q = m->q;

	for (size_t k = 0; k < 2; k++) {
		if (m->dsn_ids[k][0] != '\0') {
			qmgr_announce(q, m->dsn_ids[k]);
			log_kv(&q->log, LOGL_INFO, "bounce", "queue_id", m->id,
			    "to", m->dsn[k].to, "dsn_id", m->dsn_ids[k], NULL);
			m->dsn_ids[k][0] = '\0';
		}
	}
	qmgr_free_work(m);
	m->busy = false;
	q->nactive--;
	if (m->retired)
		qmgr_del(q, m);
	qmgr_pump(q);
}

static void
qmgr_finish_now(struct qmsg *m)
{
	pool_submit(m->q->pool, qmgr_finish_work, qmgr_finish_done, m);
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
static void
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

/* ---- scheduling ---- */

static void
qmgr_work(struct qmsg *m)
{
	struct qmgr *q = m->q;

	m->busy = true;
	q->nactive++;
	pool_submit(q->pool, qmgr_open_work, qmgr_open_done, m);
}

static void
qmgr_make_ready(struct qmgr *q, struct qmsg *m)
{
	if (m->busy || m->ready)
		return;
	if (q->nready == q->capready) {
		q->capready = q->capready ? q->capready * 2 : 1024;
		q->ready = xrealloc(q->ready, q->capready * sizeof(struct qmsg *));
	}
	m->ready = true;
	q->ready[q->nready++] = m;
}

/* Starts ready messages and waiting attempts within the limits. */
static void
qmgr_pump(struct qmgr *q)
{
	size_t k = 0;

	qmgr_start_jobs(q);
	if (q->stopping)
		return;
	while (k < q->nready && q->nactive < QMGR_ACTIVE_MAX) {
		struct qmsg *m = q->ready[k++];

		m->ready = false;
		qmgr_work(m);
	}
	memmove(q->ready, q->ready + k, (q->nready - k) * sizeof(struct qmsg *));
	q->nready -= k;
}

/* Every due message joins the ready list (once a second). */
static void
qmgr_due(struct qmgr *q)
{
	int64_t now = qmgr_now();

	for (size_t i = 0; i < q->nmsgs; i++)
		if (!q->msgs[i]->busy && q->msgs[i]->due <= now)
			qmgr_make_ready(q, q->msgs[i]);
}

static void
qmgr_scan(struct qmgr *q)
{
	char **ids;
	size_t n;

	q->last_scan = qmgr_now();
	queue_free_trim();
	if (queue_list(&ids, &n) == -1)
		return;
	for (size_t i = 0; i < n; i++) {
		struct qmsg *m = qmgr_find(q, ids[i]);

		if (m == NULL && (m = qmgr_add(q, ids[i], true)) != NULL)
			qmgr_make_ready(q, m);	/* new to us: due now */
		free(ids[i]);
	}
	free(ids);
}

static void
qmgr_notify(evutil_socket_t fd, short what, void *arg)
{
	struct qmgr *q = arg;
	char id[64];
	ssize_t n;

	(void)what;
	/* Bounded: at most 1024 datagrams per wake-up, then back to the loop. */
	for (int i = 0; i < 1024; i++) {
		n = recv(fd, id, sizeof(id) - 1, MSG_DONTWAIT);
		if (n <= 0)
			break;
		id[n] = '\0';
		qmgr_announce(q, id);
	}
	qmgr_pump(q);
}

/* `postern queue flush|release` leave this file: everything is due now. */
static void
qmgr_check_flush(struct qmgr *q)
{
	char *path = xasprintf("%s/%s", QUEUE_DIR, QUEUE_FLUSH_FILE);

	if (unlink(path) == 0) {
		log_kv(&q->log, LOGL_INFO, "flush", NULL);
		qmgr_scan(q);
		for (size_t i = 0; i < q->nmsgs; i++)
			if (!q->msgs[i]->busy)
				q->msgs[i]->due = 0;
		qmgr_due(q);
	}
	free(path);
}

static void
qmgr_tick(evutil_socket_t fd, short what, void *arg)
{
	struct qmgr *q = arg;

	(void)fd;
	(void)what;
	if (q->stopping) {
		if (q->nactive > 0 && qmgr_now() >= q->stop_at && q->remote != NULL) {
			/* Cut what is still talking; its recipients stay as
			 * they were recorded and are tried again later. */
			remote_free(&q->remote);
			for (size_t i = 0; i < q->nmsgs; i++) {
				struct qmsg *m = q->msgs[i];

				if (m->busy && m->jobs_left > 0) {
					m->jobs_left = 0;
					qmgr_finish(m);
				}
			}
		}
		if (q->nactive == 0 && q->nreplies == 0 && pool_pending(q->pool) == 0)
			event_base_loopbreak(q->base);
		return;
	}
	qmgr_check_flush(q);
	if (qmgr_now() - q->last_scan >= QMGR_SCAN_SEC)
		qmgr_scan(q);
	qmgr_due(q);
	qmgr_pump(q);
}

static void
qmgr_signal(evutil_socket_t sig, short what, void *arg)
{
	struct qmgr *q = arg;
	struct timeval tv = { 0, 100000 };

	(void)sig;
	(void)what;
	if (q->stopping)
		return;
	q->stopping = true;
	q->stop_at = qmgr_now() + QMGR_STOP_GRACE_SEC;
	/* Attempts not started yet are dropped: nothing was said to anyone. */
	for (size_t k = 0; k < q->nwaiting; k++) {
		struct qjob *j = q->waiting[k];

		j->done = true;
		if (--j->m->jobs_left == 0)
			qmgr_finish(j->m);
	}
	q->nwaiting = 0;
	/* Queue ids sent from now on are for the next qmgr (reload). */
	event_del(q->ev_notify);
	event_del(q->tick);
	event_add(q->tick, &tv);
}

struct qmgr_pre {
	struct event_base	*base;
	struct dns		*dns;
	struct remote		*remote;
};

struct qmgr_pre *
qmgr_prepare(const struct config *cfg, char *err, size_t errlen)
{
	struct qmgr_pre *p = xcalloc(1, sizeof(*p));

	p->base = event_base_new();
	if (p->base == NULL) {
		snprintf(err, errlen, "event_base_new failed");
		free(p);
		return NULL;
	}
	p->dns = dns_new(p->base, &cfg->dns.servers, err, errlen);
	if (p->dns == NULL ||
	    (p->remote = remote_new(p->base, cfg, p->dns, err, errlen)) == NULL) {
		dns_free(&p->dns);
		event_base_free(p->base);
		free(p);
		return NULL;
	}
	return p;
}

int
qmgr_run(const struct config *cfg, struct qmgr_pre *pre, int notify_fd, int ctl_fd)
{
	struct qmgr *q = xcalloc(1, sizeof(*q));
	struct event *ev_term, *ev_int, *ev_usr1;
	struct timeval tv = { 1, 0 };

	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	q->cfg = cfg;
	q->log.service = "qmgr";
	q->base = pre->base;
	q->dns = pre->dns;
	q->remote = pre->remote;
	free(pre);
	q->pool = pool_new(q->base, QMGR_THREADS, "deliver");
	q->dirc = dirconn_new(q->base, ctl_fd);
	dirconn_first(q->dirc);
	if (!dirconn_ready(q->dirc))
		log_kv(&q->log, LOGL_ERROR, "directory_error", "detail",
		    "no connection to the directory process yet", NULL);
	q->ev_notify = event_new(q->base, notify_fd, EV_READ | EV_PERSIST, qmgr_notify, q);
	ev_term = evsignal_new(q->base, SIGTERM, qmgr_signal, q);
	ev_int = evsignal_new(q->base, SIGINT, qmgr_signal, q);
	ev_usr1 = evsignal_new(q->base, SIGUSR1, qmgr_signal, q);
	q->tick = event_new(q->base, -1, EV_PERSIST, qmgr_tick, q);
	event_add(q->ev_notify, NULL);
	event_add(ev_term, NULL);
	event_add(ev_int, NULL);
	event_add(ev_usr1, NULL);
	event_add(q->tick, &tv);
	/* Recovery: whatever was acknowledged before a crash is finished now. */
	qmgr_scan(q);
	qmgr_pump(q);

	event_base_dispatch(q->base);

	pool_free(&q->pool);
	remote_free(&q->remote);
	dns_free(&q->dns);
	dirconn_free(&q->dirc);
	while (q->nmsgs > 0) {
		struct qmsg *m = q->msgs[0];

		if (m->busy)
			qmgr_free_work(m);
		qmgr_del(q, m);
	}
	free(q->msgs);
	free(q->ready);
	free(q->waiting);
	for (size_t i = 0; i < q->ndests; i++)
		free(q->dests[i].name);
	free(q->dests);
	event_free(q->ev_notify);
	event_free(ev_term);
	event_free(ev_int);
	event_free(ev_usr1);
	event_free(q->tick);
	event_base_free(q->base);
	free(q);
	return 0;
}
