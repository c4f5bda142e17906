/*
 * worker: the event loop of a session process: accept, connection limits,
 * signals, and the shutdown that loses nothing acknowledged (a message
 * being committed gets its 250 before the process exits).
 */
#include <errno.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"
#include "dns/dns.h"
#include "core/xalloc.h"
#include "ipc/ipc.h"
#include "ipc/ipc_proto.h"
#include "queue/queue.h"
#include "filter/filter_conn.h"
#include "server/dirconn.h"
#include "server/listenset.h"
#include "server/worker.h"
#include "smtp/smtp_session.h"

struct worker {
	const struct worker_args	*a;
	struct event_base		*base;
	struct smtp_server		 smtp;
	struct listenset		 ls;		/* sockets, limits, dird */
	struct event			*sig_term, *sig_int, *sig_usr1, *tick;
	bool				 stopping;
	struct log_ctx			 log;
};

static void
worker_queued(void *arg, const char *id)
{
	struct worker *w = arg;

	/* Best effort: the queue manager also rescans the queue. */
	if (send(w->a->qmgr_fd, id, strlen(id), MSG_DONTWAIT) == -1 &&
	    errno != EAGAIN)
		log_kv(&w->log, LOGL_DEBUG, "notify_failed", "queue_id", id, NULL);
}

static void
worker_accept(void *arg, const struct cfg_listen *cl, int fd,
    const struct sockaddr *sa, socklen_t salen)
{
	struct worker *w = arg;

	switch (cl->service) {
	case SVC_SMTP:
	case SVC_SUBMISSION:
	case SVC_SUBMISSIONS:
		smtp_session_start(&w->smtp, cl, fd, sa, salen);
		break;
	default:
		close(fd);	/* POP3 and IMAP: the mailbox workers' */
		break;
	}
}

/* Exit once no session, commit or pool job is left. */
static void
worker_tick(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;

	(void)fd;
	(void)what;
	if (w->stopping && w->smtp.nsessions == 0 &&
	    queue_committer_pending(w->smtp.committer) == 0)
		event_base_loopbreak(w->base);
}

static void
worker_signal(evutil_socket_t sig, short what, void *arg)
{
	struct worker *w = arg;
	struct timeval tv = { 0, 100000 };

	(void)what;
	w->stopping = true;
	dirconn_stop(w->ls.dirc);
	listenset_stop(&w->ls);
	if (sig == SIGTERM || sig == SIGINT)
		smtp_server_drain(&w->smtp);
	evtimer_add(w->tick, &tv);	/* EV_PERSIST: every 100 ms until idle */
}

/* The filter daemons, resolved before the chroot (one worker a process). */
static struct filter_endpoints worker_feps;

int
worker_prepare(const struct config *cfg, struct event_base **base_out,
    struct dns **dns_out, char *err, size_t errlen)
{
	filter_endpoints_load(cfg, &worker_feps);
	*dns_out = NULL;
	*base_out = event_base_new();
	if (*base_out == NULL) {
		snprintf(err, errlen, "event_base_new failed");
		return -1;
	}
	*dns_out = dns_new(*base_out, &cfg->dns.servers, err, errlen);
	if (*dns_out == NULL) {
		event_base_free(*base_out);
		*base_out = NULL;
		return -1;
	}
	return 0;
}

int
worker_run(const struct worker_args *a)
{
	struct worker w = { .a = a };

	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	w.log.service = "worker";
	w.base = a->base != NULL ? a->base : event_base_new();
	if (w.base == NULL)
		fatal("event_base_new failed");
	w.smtp = (struct smtp_server){ .cfg = a->cfg, .base = w.base, .tls = a->tls,
	    .dns = a->dns, .feps = &worker_feps,
	    .queued = worker_queued, .queued_arg = &w, .admit = listenset_admit,
	    .admit_arg = &w.ls, .closed = listenset_closed, .closed_arg = &w.ls,
	    .dir_call = listenset_dir_call, .dir_arg = &w.ls };
	w.ls.ct = a->ct;
	w.ls.slot = a->slot;
	w.ls.dirc = dirconn_new(w.base, a->ctl_fd);
	/* Unix filter sockets are out of the chroot: the master connects
	 * them; its answers arrive on the socket dirconn reads. */
	filter_conn_set_broker(w.base, a->ctl_fd);
	dirconn_first(w.ls.dirc);
	if (!dirconn_ready(w.ls.dirc))
		log_kv(&w.log, LOGL_ERROR, "directory_error", "detail",
		    "no connection to the directory process yet", NULL);
	w.smtp.committer = queue_committer_new(w.base);
	listenset_open(&w.ls, w.base, a->cfg, a->listen_fds, worker_accept, &w);
	w.sig_term = evsignal_new(w.base, SIGTERM, worker_signal, &w);
	w.sig_int = evsignal_new(w.base, SIGINT, worker_signal, &w);
	w.sig_usr1 = evsignal_new(w.base, SIGUSR1, worker_signal, &w);
	w.tick = event_new(w.base, -1, EV_PERSIST, worker_tick, &w);
	event_add(w.sig_term, NULL);
	event_add(w.sig_int, NULL);
	event_add(w.sig_usr1, NULL);

	event_base_dispatch(w.base);

	listenset_free(&w.ls);
	queue_committer_free(&w.smtp.committer);
	dirconn_free(&w.ls.dirc);
	filter_conn_set_broker(NULL, -1);
	event_free(w.sig_term);
	event_free(w.sig_int);
	event_free(w.sig_usr1);
	event_free(w.tick);
	if (w.smtp.dns != NULL)
		dns_free(&w.smtp.dns);
	event_base_free(w.base);
	return 0;
}
