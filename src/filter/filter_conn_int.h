/*
 * filter_conn_int: between filter_conn.c (endpoints, direct connects) and
 * filter_conn_broker.c (unix endpoints connected by the master for a
 * chrooted worker). Not for other modules: they call filter_connect(),
 * which picks the way.
 */
#ifndef POSTERN_FILTER_CONN_INT_H
#define POSTERN_FILTER_CONN_INT_H

#include <stdbool.h>

#include "filter/filter_conn.h"

#define FILTER_BROKER_PENDING_MAX	1024	/* requests out at once: ours */

struct filter_broker_req;

/* A broker is registered (filter_conn_set_broker with a ctl fd). */
bool	filter_conn_broker_active(void);
/*
 * Asks the master for a connection to ep (a unix endpoint) on the
 * registered control socket. done runs once, later, on the broker's loop,
 * within FILTER_CONNECT_SEC; the request is freed before done runs.
 */
struct filter_broker_req *filter_conn_broker_request(
	    const struct filter_endpoint *ep, filter_conn_fn done, void *arg);
/* done never runs; a socket that arrives later is closed. */
void	filter_conn_broker_cancel(struct filter_broker_req **rp);

#endif
