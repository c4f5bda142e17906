/*
 * listenset: what the two kinds of session process (SMTP workers,
 * worker.c; mailbox workers, mworker.c) share: their listening sockets
 * (one evconnlistener per inherited fd, each accept handed on with the
 * listener's configuration), and the connection-limit and directory hooks
 * that their session layers call.
 */
#ifndef POSTERN_LISTENSET_H
#define POSTERN_LISTENSET_H

#include <stddef.h>
#include <sys/socket.h>

#include "core/config.h"
#include "ipc/ipc.h"
#include "server/conntrack.h"

struct event_base;
struct evconnlistener;
struct dirconn;

/* An accepted connection on listener cl; the callee owns fd. */
typedef void (*listenset_fn)(void *arg, const struct cfg_listen *cl, int fd,
	    const struct sockaddr *sa, socklen_t salen);

struct listenset {
	const struct config	*cfg;
	struct evconnlistener	**l;		/* parallel to cfg->listen */
	size_t			 n;
	bool			 stopped;	/* accepts closed at once */
	listenset_fn		 fn;
	void			*arg;
	/* The connection limits and the directory, for the session layers. */
	struct conntrack	*ct;
	unsigned		 slot;
	struct dirconn		*dirc;
};

/* One listener per fds[i] != -1 (fds parallel to cfg->listen); fatal()
 * when libevent cannot make one. */
void	listenset_open(struct listenset *ls, struct event_base *base,
	    const struct config *cfg, const int *fds, listenset_fn fn, void *arg);
/* Stops accepting (a connection already queued is closed). */
void	listenset_stop(struct listenset *ls);
void	listenset_free(struct listenset *ls);

/* The hooks of struct smtp_server and struct msrv; arg is the listenset.
 * admit: 0 admitted, 1 over connections_per_ip, 2 over connections. */
int	listenset_admit(void *arg, const struct sockaddr *peer);
void	listenset_closed(void *arg, const struct sockaddr *peer);
int	listenset_dir_call(void *arg, struct ipc_msg *req, ipc_reply_fn fn,
	    void *fn_arg);

#endif
