/*
 * qmgr: scheduling of deliveries. One message is in the hands of at most
 * one delivery thread at a time (the in-flight set), which is what makes a
 * per-message file safe to update without locks.
 */
#include <errno.h>
#include <event2/event.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/ids.h"
#include "core/log.h"
#include "core/pool.h"
#include "core/xalloc.h"
#include "delivery/local.h"
#include "delivery/qmgr.h"
#include "queue/queue.h"

#define QMGR_THREADS		8
#define QMGR_SCAN_SEC		30
#define QMGR_INFLIGHT_MAX	100000

struct qmgr {
	const struct config	*cfg;
	struct event_base	*base;
	struct pool		*pool;
	char			**inflight;
	size_t			 ninflight, cap;
	bool			 stopping;
	struct log_ctx		 log;
	struct event		*tick;
	struct event		*ev_notify;
};

struct qmgr_job {
	struct qmgr		*q;
	char			 id[QUEUE_ID_LEN + 1];
	bool			 recovering;
	enum local_rc		 rc;
};

static bool
qmgr_inflight_has(const struct qmgr *q, const char *id)
{
	for (size_t i = 0; i < q->ninflight; i++)
		if (strcmp(q->inflight[i], id) == 0)
			return true;
	return false;
}

static void
qmgr_inflight_del(struct qmgr *q, const char *id)
{
	for (size_t i = 0; i < q->ninflight; i++) {
		if (strcmp(q->inflight[i], id) == 0) {
			free(q->inflight[i]);
			q->inflight[i] = q->inflight[--q->ninflight];
			return;
		}
	}
}

static void
qmgr_work(void *arg)
{
	struct qmgr_job *j = arg;

	j->rc = local_deliver(j->id, j->q->cfg->hostname, j->recovering, &j->q->log);
}

static void
qmgr_done(void *arg)
{
	struct qmgr_job *j = arg;

	qmgr_inflight_del(j->q, j->id);
	free(j);
}

/* recovering: found by a scan, so it may have been worked on before. */
static void
qmgr_submit(struct qmgr *q, const char *id, bool recovering)
{
	struct qmgr_job *j;

	if (q->stopping || !ids_queue_valid(id) || qmgr_inflight_has(q, id) ||
	    q->ninflight >= QMGR_INFLIGHT_MAX)
		return;
	if (q->ninflight == q->cap) {
		q->cap = q->cap ? q->cap * 2 : 256;
		q->inflight = xrealloc(q->inflight, q->cap * sizeof(*q->inflight));
	}
	q->inflight[q->ninflight++] = xstrdup(id);
	j = xcalloc(1, sizeof(*j));
	j->q = q;
	j->recovering = recovering;
	memcpy(j->id, id, QUEUE_ID_LEN + 1);
	pool_submit(q->pool, qmgr_work, qmgr_done, j);
}

static void
qmgr_scan(struct qmgr *q)
{
	char **ids;
	size_t n;

	queue_free_trim();
	if (queue_list(&ids, &n) == -1)
		return;
	for (size_t i = 0; i < n; i++) {
		qmgr_submit(q, ids[i], true);
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
		qmgr_submit(q, id, false);
	}
}

static void
qmgr_tick(evutil_socket_t fd, short what, void *arg)
{
	struct qmgr *q = arg;

	(void)fd;
	(void)what;
	if (q->stopping) {
		if (q->ninflight == 0)
			event_base_loopbreak(q->base);
		return;
	}
	qmgr_scan(q);
}

static void
qmgr_signal(evutil_socket_t sig, short what, void *arg)
{
	struct qmgr *q = arg;
	struct timeval tv = { 0, 100000 };

	(void)sig;
	(void)what;
	q->stopping = true;
	/* Queue ids sent from now on are for the next qmgr (reload). */
	event_del(q->ev_notify);
	event_del(q->tick);
	evtimer_add(q->tick, &tv);
}

int
qmgr_run(const struct config *cfg, int notify_fd)
{
	struct qmgr q = { .cfg = cfg };
	struct event *ev_notify, *ev_term, *ev_int, *ev_usr1;
	struct timeval tv = { QMGR_SCAN_SEC, 0 };

	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	q.log.service = "qmgr";
	q.base = event_base_new();
	if (q.base == NULL)
		fatal("event_base_new failed");
	q.pool = pool_new(q.base, QMGR_THREADS, "deliver");
	ev_notify = event_new(q.base, notify_fd, EV_READ | EV_PERSIST, qmgr_notify, &q);
	q.ev_notify = ev_notify;
	ev_term = evsignal_new(q.base, SIGTERM, qmgr_signal, &q);
	ev_int = evsignal_new(q.base, SIGINT, qmgr_signal, &q);
	ev_usr1 = evsignal_new(q.base, SIGUSR1, qmgr_signal, &q);
	q.tick = event_new(q.base, -1, EV_PERSIST, qmgr_tick, &q);
	event_add(ev_notify, NULL);
	event_add(ev_term, NULL);
	event_add(ev_int, NULL);
	event_add(ev_usr1, NULL);
	evtimer_add(q.tick, &tv);
	/* Recovery: whatever was acknowledged before a crash is finished now. */
	qmgr_scan(&q);

	event_base_dispatch(q.base);

	pool_free(&q.pool);
	for (size_t i = 0; i < q.ninflight; i++)
		free(q.inflight[i]);
	free(q.inflight);
	event_free(ev_notify);
	event_free(ev_term);
	event_free(ev_int);
	event_free(ev_usr1);
	event_free(q.tick);
	event_base_free(q.base);
	return 0;
}
