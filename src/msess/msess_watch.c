/*
 * msess_watch: folder change notifications for the sessions of one
 * mailbox worker. One inotify instance per process; sessions watching the
 * same directory share its watch descriptor (inotify_add_watch returns the
 * same wd for the same inode), removed with the last of them. Each
 * subscriber's callback runs at most once per loop turn, from its own
 * zero-timeout event, so a callback may add or delete watches freely.
 * Without inotify, or past its limits (ENOSPC), a 2 s timer stands in.
 */
#include <errno.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "core/xalloc.h"
#include "msess/msess_int.h"

#define MSESS_WATCH_MASK	(IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | \
	IN_DELETE | IN_ATTRIB)
#define MSESS_POLL_SEC		2
#define MSESS_WATCH_DIR_MAX	1024	/* bytes of a watched path: ours */
#define MSESS_WATCHES_MAX	32	/* per session: ours (IMAP needs 2-3) */
/* inotify events read per wakeup, so one busy folder cannot hold the
 * loop: ours. */
#define MSESS_INOTIFY_READS	16

struct msess_watch {
	struct msrv		*srv;
	struct msess		*c;
	int			 wd;		/* -1: polled */
	void			(*cb)(void *arg);
	void			*arg;
	struct event		*ev;		/* runs cb on the next loop turn */
	char			*dir;		/* to retry inotify while polled */
	struct msess_watch	*next;		/* srv->watches */
};

static void
msess_watch_schedule(struct msess_watch *w)
{
	static const struct timeval zero = { 0, 0 };

	if (!event_pending(w->ev, EV_TIMEOUT, NULL))
		event_add(w->ev, &zero);
}

static void
msess_watch_fire(evutil_socket_t fd, short what, void *arg)
{
	struct msess_watch *w = arg;

	(void)fd;
	(void)what;
	w->cb(w->arg);	/* may delete w */
}

/* Every subscriber of wd (-2: every watch, after a queue overflow). */
static void
msess_watch_notify(struct msrv *srv, int wd)
{
	for (struct msess_watch *w = srv->watches; w != NULL; w = w->next)
		if (wd == -2 || w->wd == wd)
			msess_watch_schedule(w);
}

/* The polled watches: each cb runs; inotify is tried again for each (the
 * directory may exist now, or watches may have been freed), and the
 * timer stops when none is left. */
static void
msess_watch_poll_cb(evutil_socket_t fd, short what, void *arg)
{
	struct msrv *srv = arg;
	bool polled = false;

	(void)fd;
	(void)what;
	for (struct msess_watch *w = srv->watches; w != NULL; w = w->next) {
		if (w->wd >= 0)
			continue;
		msess_watch_schedule(w);
		if (srv->inotify_fd != -1)
			w->wd = inotify_add_watch(srv->inotify_fd, w->dir,
			    MSESS_WATCH_MASK | IN_ONLYDIR);
		if (w->wd < 0)
			polled = true;
	}
	if (!polled)
		event_del(srv->poll_ev);
}

static void
msess_watch_need_poll(struct msrv *srv)
{
	struct timeval tv = { MSESS_POLL_SEC, 0 };

	if (srv->poll_ev == NULL)
		srv->poll_ev = event_new(srv->base, -1, EV_PERSIST,
		    msess_watch_poll_cb, srv);
	if (!event_pending(srv->poll_ev, EV_TIMEOUT, NULL))
		event_add(srv->poll_ev, &tv);
}

static void
msess_watch_read(evutil_socket_t fd, short what, void *arg)
{
	struct msrv *srv = arg;
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));

	(void)what;
	for (int i = 0; i < MSESS_INOTIFY_READS; i++) {
		ssize_t n = read(fd, buf, sizeof(buf));
		size_t off = 0;

		if (n <= 0)
			return;	/* EAGAIN: all read */
		while (off + sizeof(struct inotify_event) <= (size_t)n) {
			const struct inotify_event *e =
			    (const struct inotify_event *)(buf + off);

			if (e->mask & IN_Q_OVERFLOW) {
				msess_watch_notify(srv, -2);
			} else if (e->mask & IN_IGNORED) {
				/* The directory is gone (or was replaced):
				 * its subscribers fall back to the timer. */
				for (struct msess_watch *w = srv->watches; w != NULL;
				    w = w->next)
					if (w->wd == e->wd) {
						w->wd = -1;
						msess_watch_schedule(w);
						msess_watch_need_poll(srv);
					}
			} else {
				msess_watch_notify(srv, e->wd);
			}
			off += sizeof(struct inotify_event) + e->len;
		}
	}
}

/* The instance, made on first use (after the chroot: no path needed). */
static void
msess_watch_init(struct msrv *srv)
{
	if (srv->inotify_ev != NULL || srv->poll_ev != NULL)
		return;
	srv->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (srv->inotify_fd == -1) {
		log_kv(&srv->log, LOGL_WARN, "inotify", "detail", strerror(errno),
		    "fallback", "poll", NULL);
		msess_watch_need_poll(srv);
		return;
	}
	srv->inotify_ev = event_new(srv->base, srv->inotify_fd,
	    EV_READ | EV_PERSIST, msess_watch_read, srv);
	event_add(srv->inotify_ev, NULL);
}

/* Relative, no "..": the watch stays inside the worker's root. */
static bool
msess_watch_dir_ok(const char *dir)
{
	size_t len = strlen(dir);

	if (len == 0 || len > MSESS_WATCH_DIR_MAX || dir[0] == '/')
		return false;
	for (const char *p = dir; *p != '\0'; ) {
		size_t seg = strcspn(p, "/");

		if (seg == 2 && p[0] == '.' && p[1] == '.')
			return false;
		p += seg;
		if (*p == '/')
			p++;
	}
	return true;
}

struct msess_watch *
msess_watch_add(struct msess *c, const char *dir, void (*cb)(void *arg),
    void *arg)
{
	struct msrv *srv = c->srv;
	struct msess_watch *w;

	if (cb == NULL || dir == NULL || !msess_watch_dir_ok(dir) ||
	    c->nwatches >= MSESS_WATCHES_MAX || c->freed)
		return NULL;
	msess_watch_init(srv);
	w = xcalloc(1, sizeof(*w));
	w->srv = srv;
	w->c = c;
	w->cb = cb;
	w->arg = arg;
	w->wd = -1;
	w->ev = evtimer_new(srv->base, msess_watch_fire, w);
	w->dir = xstrdup(dir);
	if (srv->inotify_fd != -1) {
		w->wd = inotify_add_watch(srv->inotify_fd, dir, MSESS_WATCH_MASK |
		    IN_ONLYDIR);
		if (w->wd == -1)
			log_kv(&c->log, LOGL_WARN, "inotify", "detail",
			    strerror(errno), "fallback", "poll", NULL);
	}
	if (w->wd == -1)
		msess_watch_need_poll(srv);
	w->next = srv->watches;
	srv->watches = w;
	c->nwatches++;
	return w;
}

void
msess_watch_del(struct msess_watch **wp)
{
	struct msess_watch *w = *wp, **pp;
	bool shared = false, polled = false;

	if (w == NULL)
		return;
	*wp = NULL;
	for (pp = &w->srv->watches; *pp != NULL; pp = &(*pp)->next)
		if (*pp == w) {
			*pp = w->next;
			break;
		}
	for (struct msess_watch *o = w->srv->watches; o != NULL; o = o->next) {
		if (w->wd >= 0 && o->wd == w->wd)
			shared = true;
		if (o->wd < 0)
			polled = true;
	}
	if (w->wd >= 0 && !shared && w->srv->inotify_fd != -1)
		inotify_rm_watch(w->srv->inotify_fd, w->wd);
	if (!polled && w->srv->poll_ev != NULL)
		event_del(w->srv->poll_ev);
	w->c->nwatches--;
	event_free(w->ev);
	free(w->dir);
	free(w);
}

void
msess_watch_del_session(struct msess *c)
{
	struct msess_watch *w, *next;

	for (w = c->srv->watches; w != NULL && c->nwatches > 0; w = next) {
		next = w->next;
		if (w->c == c) {
			struct msess_watch *tmp = w;

			msess_watch_del(&tmp);
		}
	}
}
