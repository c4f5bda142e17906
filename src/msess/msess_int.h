/*
 * msess_int: the session structure shared by msess.c (life cycle, I/O),
 * msess_login.c (logins through dird) and msess_watch.c (inotify). Not
 * for the protocols: they use msess.h only.
 */
#ifndef POSTERN_MSESS_INT_H
#define POSTERN_MSESS_INT_H

#include <event2/util.h>
#include <sys/socket.h>

#include "msess/msess.h"

struct bufferevent;
struct event;

struct msess {
	struct msrv		*srv;
	const struct msess_proto *proto;
	void			*p;		/* the protocol's state */
	const struct cfg_listen	*listen;
	struct bufferevent	*bev;		/* NULL until the connect check passed */
	int			 fd;		/* until the bufferevent owns it */
	struct event		*idle_ev, *resume_ev, *drain_ev, *linger_ev;
	unsigned		 idle_sec;
	struct log_ctx		 log;
	struct sockaddr_storage	 peer;
	char			 ip[64];
	const char		*close_reason;
	unsigned		 linger_ticks;
	unsigned		 dir_pending;	/* directory answers awaited */
	unsigned		 nwatches;
	bool			 admitted;	/* counted by srv->admit */
	bool			 opened;	/* proto->open() ran */
	bool			 tls;
	bool			 tls_closed;	/* close_notify sent */
	bool			 paused;
	bool			 want_drained;
	bool			 login_pending;
	bool			 closing;	/* msess_close() or connection lost */
	bool			 freed;		/* gone but for the memory */
	struct msess		*next, *prev;	/* srv->sessions */
};

/* How long msess_login() waits for dird before MSESS_LOGIN_TEMPFAIL
 * (30 s; tests shorten it). */
extern unsigned msess_login_deadline_msec;

/* Sends req to dird with c as the callback's argument; counts it so the
 * memory of c outlives the call. -1 when not taken (fn will not run). */
int	msess_dir_call(struct msess *c, struct ipc_msg *req, ipc_reply_fn fn);
/* Frees the memory of a freed session once nothing refers to it. */
void	msess_release(struct msess *c);
size_t	msess_unsent(const struct msess *c);
void	msess_idle_cb(evutil_socket_t fd, short what, void *arg);
/* Drops the watches c still holds (at close). */
void	msess_watch_del_session(struct msess *c);

#endif
