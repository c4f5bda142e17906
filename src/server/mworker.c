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
#include "server/listenset.h"
#include "server/mworker.h"

#define MWORKER_TICK_MSEC	100
/* A reload (SIGUSR1): the sessions left get this long to finish the
 * command in progress (a POP3 client its QUIT), then they are told goodbye
 * (IMAP "* BYE", POP3 "-ERR [SYS/TEMP]") and closed, so an old generation
 * never outlives a reload by more than this (an IMAP IDLE never ends on
 * its own). */
#define MWORKER_GRACE_SEC	10

struct mworker {
	struct event_base		*base;
	struct msrv			 srv;
	struct listenset		 ls;		/* sockets, limits, dird */
	struct event			*sig_term, *sig_int, *sig_usr1, *tick;
	struct event			*grace;		/* retiring: then drain */
	bool				 stopping;
};

static void
mworker_accept(void *arg, const struct cfg_listen *cl, int fd,
    const struct sockaddr *sa, socklen_t salen)
{
	struct mworker *w = arg;

	switch (cl->service) {
	case SVC_POP3:
	case SVC_POP3S:
		msess_start(&w->srv, &pop3_proto, cl, fd, sa, salen);
		break;
	case SVC_IMAP:
	case SVC_IMAPS:
		msess_start(&w->srv, &imap_proto, cl, fd, sa, salen);
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
	dirconn_stop(w->ls.dirc);
	listenset_stop(&w->ls);
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
	struct mworker w = { 0 };

	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	w.base = a->base != NULL ? a->base : event_base_new();
	if (w.base == NULL)
		fatal("event_base_new failed");
	w.srv = (struct msrv){ .cfg = a->cfg, .base = w.base, .tls = a->tls,
	    .dir_call = listenset_dir_call, .dir_arg = &w.ls,
	    .admit = listenset_admit, .admit_arg = &w.ls,
	    .closed = listenset_closed, .closed_arg = &w.ls, .inotify_fd = -1 };
	w.srv.log.service = "mworker";
	w.ls.ct = a->ct;
	w.ls.slot = a->slot;
	w.ls.dirc = dirconn_new(w.base, a->ctl_fd);
	dirconn_first(w.ls.dirc);
	if (!dirconn_ready(w.ls.dirc))
		log_kv(&w.srv.log, LOGL_ERROR, "directory_error", "detail",
		    "no connection to the directory process yet", NULL);
	listenset_open(&w.ls, w.base, a->cfg, a->listen_fds, mworker_accept, &w);
	w.sig_term = evsignal_new(w.base, SIGTERM, mworker_signal, &w);
	w.sig_int = evsignal_new(w.base, SIGINT, mworker_signal, &w);
	w.sig_usr1 = evsignal_new(w.base, SIGUSR1, mworker_signal, &w);
	w.tick = event_new(w.base, -1, EV_PERSIST, mworker_tick, &w);
	w.grace = evtimer_new(w.base, mworker_grace_over, &w);
	event_add(w.sig_term, NULL);
	event_add(w.sig_int, NULL);
	event_add(w.sig_usr1, NULL);

	event_base_dispatch(w.base);

	listenset_free(&w.ls);
	dirconn_free(&w.ls.dirc);
	mworker_free_watch_state(&w.srv);
	event_free(w.sig_term);
	event_free(w.sig_int);
	event_free(w.sig_usr1);
	event_free(w.tick);
	event_free(w.grace);
	event_base_free(w.base);
	return 0;
}
