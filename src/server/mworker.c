/*
 * mworker: the event loop of a mailbox worker process: accept on the
 * pop3/pop3s/imap/imaps sockets it inherited, connection limits (the
 * conntrack shared with the SMTP workers), the directory connection, and
 * shutdown. Sessions themselves are msess.c plus a protocol.
 */
#include <event2/event.h>
#include <event2/listener.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "core/xalloc.h"
#include "imap/imap_session.h"
#include "msess/msess.h"
#include "pop3/pop3_session.h"
#include "server/dirconn.h"
#include "server/mworker.h"

#define MWORKER_TICK_MSEC	100
/* A reload (SIGUSR1): the sessions left get this long to finish the
 * command in progress (a POP3 client its QUIT), then they are told goodbye
 * (IMAP "* BYE", POP3 "-ERR [SYS/TEMP]") and closed, so an old generation
 * never outlives a reload by more than this (an IMAP IDLE never ends on
 * its own). */
#define MWORKER_GRACE_SEC	10

struct mworker {
	const struct mworker_args	*a;
	struct event_base		*base;
	struct msrv			 srv;
	struct evconnlistener		**listeners;
	size_t				 nlisteners;
	struct event			*sig_term, *sig_int, *sig_usr1, *tick;
	struct event			*grace;		/* retiring: then drain */
	bool				 stopping;
	struct dirconn			*dirc;
};

static int
mworker_admit(void *arg, const struct sockaddr *peer)
{
	struct mworker *w = arg;

	return conntrack_acquire(w->a->ct, w->a->slot, peer,
	    w->a->cfg->limits.connections, w->a->cfg->limits.connections_per_ip);
}

static void
mworker_closed(void *arg, const struct sockaddr *peer)
{
	struct mworker *w = arg;

	conntrack_release(w->a->ct, w->a->slot, peer);
}

static int
mworker_dir_call(void *arg, struct ipc_msg *req, ipc_reply_fn fn, void *fn_arg)
{
	struct mworker *w = arg;

	dirconn_call(w->dirc, req, fn, fn_arg);
	return 0;
}

static void
mworker_accept(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct mworker *w = arg;
	const struct cfg_listen *cl = NULL;

	for (size_t i = 0; i < w->nlisteners; i++)
		if (w->listeners[i] == l)
			cl = &w->a->cfg->listen[i];
	if (cl == NULL || w->stopping) {
		close(fd);
		return;
	}
	switch (cl->service) {
	case SVC_POP3:
	case SVC_POP3S:
		msess_start(&w->srv, &pop3_proto, cl, fd, sa, (socklen_t)salen);
		break;
	case SVC_IMAP:
	case SVC_IMAPS:
		msess_start(&w->srv, &imap_proto, cl, fd, sa, (socklen_t)salen);
		break;
	default:
		close(fd);	/* SMTP belongs to the session workers */
		break;
	}
}

/* Exit once every session is gone. */
static void
mworker_tick(evutil_socket_t fd, short what, void *arg)
{
	struct mworker *w = arg;

	(void)fd;
	(void)what;
	if (w->stopping && w->srv.nsessions == 0)
		event_base_loopbreak(w->base);
}

/* The grace of a retiring worker is over: close what is left. */
static void
mworker_grace_over(evutil_socket_t fd, short what, void *arg)
{
	struct mworker *w = arg;

	(void)fd;
	(void)what;
	if (w->srv.nsessions > 0)
		log_kv(&w->srv.log, LOGL_INFO, "retire_drain", "detail",
		    "reload grace over, closing the sessions left", NULL);
	msess_server_drain(&w->srv);
}

static void
mworker_signal(evutil_socket_t sig, short what, void *arg)
{
	struct mworker *w = arg;
	struct timeval tv = { 0, MWORKER_TICK_MSEC * 1000 };

	(void)what;
	w->stopping = true;
	/* The connection held stays (logins of the sessions left); no new
	 * one is asked for. */
	dirconn_stop(w->dirc);
	for (size_t i = 0; i < w->nlisteners; i++)
		if (w->listeners[i] != NULL)
			evconnlistener_disable(w->listeners[i]);
	/* SIGUSR1 (a reload): MWORKER_GRACE_SEC to finish, then closed. */
	if (sig == SIGTERM || sig == SIGINT) {
		evtimer_del(w->grace);
		msess_server_drain(&w->srv);
	} else if (!evtimer_pending(w->grace, NULL) && !w->srv.draining) {
		struct timeval grace = { MWORKER_GRACE_SEC, 0 };

		evtimer_add(w->grace, &grace);
	}
	evtimer_add(w->tick, &tv);	/* EV_PERSIST: until idle */
}

static void
mworker_free_watch_state(struct msrv *srv)
{
	if (srv->inotify_ev != NULL)
		event_free(srv->inotify_ev);
	if (srv->poll_ev != NULL)
		event_free(srv->poll_ev);
	if (srv->inotify_fd != -1)
		close(srv->inotify_fd);
}

int
mworker_run(const struct mworker_args *a)
{
	struct mworker w = { .a = a };

	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	w.base = a->base != NULL ? a->base : event_base_new();
	if (w.base == NULL)
		fatal("event_base_new failed");
	w.srv = (struct msrv){ .cfg = a->cfg, .base = w.base, .tls = a->tls,
	    .dir_call = mworker_dir_call, .dir_arg = &w,
	    .admit = mworker_admit, .admit_arg = &w,
	    .closed = mworker_closed, .closed_arg = &w, .inotify_fd = -1 };
	w.srv.log.service = "mworker";
	w.dirc = dirconn_new(w.base, a->ctl_fd);
	dirconn_first(w.dirc);
	if (!dirconn_ready(w.dirc))
		log_kv(&w.srv.log, LOGL_ERROR, "directory_error", "detail",
		    "no connection to the directory process yet", NULL);
	w.nlisteners = a->cfg->nlisten;
	w.listeners = xcalloc(w.nlisteners ? w.nlisteners : 1, sizeof(*w.listeners));
	for (size_t i = 0; i < w.nlisteners; i++) {
		if (a->listen_fds[i] == -1)
			continue;
		w.listeners[i] = evconnlistener_new(w.base, mworker_accept, &w,
		    LEV_OPT_CLOSE_ON_FREE, -1, a->listen_fds[i]);
		if (w.listeners[i] == NULL)
			fatal("evconnlistener_new failed");
	}
	w.sig_term = evsignal_new(w.base, SIGTERM, mworker_signal, &w);
	w.sig_int = evsignal_new(w.base, SIGINT, mworker_signal, &w);
	w.sig_usr1 = evsignal_new(w.base, SIGUSR1, mworker_signal, &w);
	w.tick = event_new(w.base, -1, EV_PERSIST, mworker_tick, &w);
	w.grace = evtimer_new(w.base, mworker_grace_over, &w);
	event_add(w.sig_term, NULL);
	event_add(w.sig_int, NULL);
	event_add(w.sig_usr1, NULL);

	event_base_dispatch(w.base);

	for (size_t i = 0; i < w.nlisteners; i++)
		if (w.listeners[i] != NULL)
			evconnlistener_free(w.listeners[i]);
	free(w.listeners);
	dirconn_free(&w.dirc);
	mworker_free_watch_state(&w.srv);
	event_free(w.sig_term);
	event_free(w.sig_int);
	event_free(w.sig_usr1);
	event_free(w.tick);
	event_free(w.grace);
	event_base_free(w.base);
	return 0;
}
