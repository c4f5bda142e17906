/*
 * worker: one session process. Runs an event loop over the listening
 * sockets it inherited (SO_REUSEPORT, one set per worker, so the kernel
 * spreads connections over every core) and serves SMTP sessions on it.
 */
#ifndef POSTERN_WORKER_H
#define POSTERN_WORKER_H

#include <openssl/ssl.h>

#include "core/config.h"
#include "server/conntrack.h"

struct event_base;
struct dns;

struct worker_args {
	const struct config	*cfg;
	struct event_base	*base;		/* from worker_prepare() */
	struct dns		*dns;
	SSL_CTX			*tls;
	struct conntrack	*ct;
	unsigned		 slot;
	const int		*listen_fds;	/* parallel to cfg->listen; -1 = none */
	int			 qmgr_fd;	/* datagrams: queue ids to deliver */
	int			 ctl_fd;	/* control socket to the master */
};

/*
 * Before the chroot: the event base and the resolver of the sender checks
 * (libunbound reads resolv.conf). 0, or -1 with a message in err.
 */
int	worker_prepare(const struct config *cfg, struct event_base **base_out,
	    struct dns **dns_out, char *err, size_t errlen);

/* Runs until SIGTERM (421 to every session, then exit) or SIGUSR1 (stop
 * accepting, let sessions finish, then exit). Returns the exit status. */
int	worker_run(const struct worker_args *a);

#endif
