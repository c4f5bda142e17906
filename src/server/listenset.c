/*
 * listenset: the listening sockets and hooks shared by the SMTP workers
 * and the mailbox workers (listenset.h).
 */
#include <event2/listener.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/log.h"
#include "core/xalloc.h"
#include "server/dirconn.h"
#include "server/listenset.h"

static void
listenset_accept(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct listenset *ls = arg;

	if (!ls->stopped) {
		for (size_t i = 0; i < ls->n; i++) {
			if (ls->l[i] == l) {
				ls->fn(ls->arg, &ls->cfg->listen[i], fd, sa,
				    (socklen_t)salen);
				return;
			}
		}
	}
	close(fd);
}

void
listenset_open(struct listenset *ls, struct event_base *base,
    const struct config *cfg, const int *fds, listenset_fn fn, void *arg)
{
	ls->cfg = cfg;
	ls->fn = fn;
	ls->arg = arg;
	ls->stopped = false;
	ls->n = cfg->nlisten;
	ls->l = xcalloc(ls->n ? ls->n : 1, sizeof(*ls->l));
	for (size_t i = 0; i < ls->n; i++) {
		if (fds[i] == -1)
			continue;
		ls->l[i] = evconnlistener_new(base, listenset_accept, ls,
		    LEV_OPT_CLOSE_ON_FREE, -1, fds[i]);
		if (ls->l[i] == NULL)
			fatal("evconnlistener_new failed");
	}
}

void
listenset_stop(struct listenset *ls)
{
	ls->stopped = true;
	for (size_t i = 0; i < ls->n; i++)
		if (ls->l[i] != NULL)
			evconnlistener_disable(ls->l[i]);
}

void
listenset_free(struct listenset *ls)
{
	for (size_t i = 0; i < ls->n; i++)
		if (ls->l[i] != NULL)
			evconnlistener_free(ls->l[i]);
	free(ls->l);
	ls->l = NULL;
	ls->n = 0;
}

int
listenset_admit(void *arg, const struct sockaddr *peer)
{
	struct listenset *ls = arg;

	return conntrack_acquire(ls->ct, ls->slot, peer,
	    ls->cfg->limits.connections, ls->cfg->limits.connections_per_ip);
}

void
listenset_closed(void *arg, const struct sockaddr *peer)
{
	struct listenset *ls = arg;

	conntrack_release(ls->ct, ls->slot, peer);
}

int
listenset_dir_call(void *arg, struct ipc_msg *req, ipc_reply_fn fn,
    void *fn_arg)
{
	struct listenset *ls = arg;

	dirconn_call(ls->dirc, req, fn, fn_arg);
	return 0;
}
