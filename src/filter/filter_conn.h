/*
 * filter_conn: connections from a worker to its filter daemons (clamd,
 * milters), named "unix:/path" or "inet:host:port" ("inet:[v6]:port").
 *
 * inet: the host is resolved once, before the chroot (filter_endpoint_
 * parse() with getaddrinfo), then each connection is a non-blocking
 * connect(2) from the worker.
 * unix: a worker is chrooted into data_dir/queue and cannot reach the
 * path, so the master connects for it: the worker sends IPCM_FILTER_
 * CONNECT (IK_ADDR = the address text) on its control socket, the master
 * connects only when that text is filters.antivirus.clamd or one of
 * filters.milters[].address in its configuration, and answers
 * IPCM_FILTER_SOCKET with the connected socket as the fd (none, and
 * IK_TEXT = the reason, on failure).
 */
#ifndef POSTERN_FILTER_CONN_H
#define POSTERN_FILTER_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

struct config;
struct event_base;

#define FILTER_ADDR_MAX		300	/* "unix:/path" or "inet:host:port": ours */
#define FILTER_CONNECT_SEC	10	/* connecting, broker included: ours */

struct filter_endpoint {
	char			 text[FILTER_ADDR_MAX + 1];	/* as configured */
	bool			 is_unix;
	struct sockaddr_storage	 ss;	/* inet: the resolved address */
	socklen_t		 sslen;
	char			 err[160];	/* not "": could not be parsed or
						 * resolved; every connect fails so */
};

/* The filter daemons of a configuration, parsed before the chroot. */
struct filter_endpoints {
	struct filter_endpoint	 clamd;		/* text "" = none */
	struct filter_endpoint	*milters;
	size_t			 nmilters;
};
/* Never fails: an address that cannot be used keeps its reason in err. */
void	filter_endpoints_load(const struct config *cfg,
	    struct filter_endpoints *eps);
void	filter_endpoints_free(struct filter_endpoints *eps);

/*
 * Parses addr and, for inet, resolves the host (getaddrinfo, first
 * address): call before the chroot. 0, or -1 with a reason in err.
 */
int	filter_endpoint_parse(const char *addr, struct filter_endpoint *ep,
	    char *err, size_t errlen);

/*
 * The worker's broker for unix endpoints: its control socket to the
 * master (worker_args.ctl_fd). Without one (unit tests, the command line)
 * unix endpoints are connected directly.
 */
void	filter_conn_set_broker(struct event_base *base, int ctl_fd);
struct ipc_msg;
/* The worker's side of the answer: the reader of the control socket
 * (server/dirconn.c) hands over every IPCM_FILTER_SOCKET; m->fd becomes
 * ours (closed when no request waits for that id). */
void	filter_conn_broker_reply(struct ipc_msg *m);
/* The master's side: handles one IPCM_FILTER_CONNECT from a child. Never
 * blocks: a unix socket whose backlog is full is a failure. */
void	filter_conn_broker_serve(const struct config *cfg, int child_ctl,
	    const struct ipc_msg *req);

/* fd is a connected non-blocking socket (the callee owns it) or -1 with
 * err (static or the callee's until return) saying why. */
typedef void (*filter_conn_fn)(void *arg, int fd, const char *err);
struct filter_conn;
/* Starts connecting; done runs later on the loop, never inside the call,
 * within FILTER_CONNECT_SEC. */
struct filter_conn *filter_connect(struct event_base *base,
	    const struct filter_endpoint *ep, filter_conn_fn done, void *arg);
/* Cancels: done never runs, a socket made meanwhile is closed. */
void	filter_connect_cancel(struct filter_conn **cp);

#endif
