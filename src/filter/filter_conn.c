/*
 * filter_conn: endpoints of the filter daemons and non-blocking connects
 * to them. The unix-socket broker through the master (a chrooted worker
 * cannot reach the path) is in filter_conn_broker.c; here a unix
 * endpoint is connected directly, as a process without a broker (the
 * unit tests) can.
 */
#include <errno.h>
#include <event2/event.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/config.h"
#include "core/xalloc.h"
#include "filter/filter_conn.h"
#include "filter/filter_conn_int.h"

struct filter_conn {
	struct event_base	*base;
	struct event		*ev;		/* writable, or the timeout */
	int			 fd;
	filter_conn_fn		 done;
	void			*arg;
	const char		*err;		/* a failure found at once */
	struct filter_broker_req *breq;		/* unix, through the master */
};

/* "host:port" or "[v6]:port" into host and port; 0 or -1. */
static int
filter_split_hostport(const char *s, char *host, size_t hostlen,
    char *port, size_t portlen)
{
	const char *colon, *h = s;
	size_t hl;

	if (*s == '[') {
		const char *rb = strchr(s, ']');

		if (rb == NULL || rb[1] != ':')
			return -1;
		h = s + 1;
		hl = (size_t)(rb - h);
		colon = rb + 1;
	} else {
		colon = strrchr(s, ':');
		if (colon == NULL)
			return -1;
		hl = (size_t)(colon - s);
	}
	if (hl == 0 || hl >= hostlen || strlen(colon + 1) == 0 ||
	    strlen(colon + 1) >= portlen ||
	    strspn(colon + 1, "0123456789") != strlen(colon + 1))
		return -1;
	memcpy(host, h, hl);
	host[hl] = '\0';
	snprintf(port, portlen, "%s", colon + 1);
	{
		long n = strtol(port, NULL, 10);

		return n > 0 && n < 65536 ? 0 : -1;
	}
}

static int
filter_endpoint_unix(const char *path, struct filter_endpoint *ep,
    char *err, size_t errlen)
{
	struct sockaddr_un *sun = (struct sockaddr_un *)&ep->ss;

	if (path[0] != '/' || strlen(path) >= sizeof(sun->sun_path)) {
		snprintf(err, errlen, "unix socket path must be absolute and "
		    "shorter than %zu bytes", sizeof(sun->sun_path));
		return -1;
	}
	ep->is_unix = true;
	sun->sun_family = AF_UNIX;
	memcpy(sun->sun_path, path, strlen(path) + 1);
	ep->sslen = (socklen_t)sizeof(*sun);
	return 0;
}

int
filter_endpoint_parse(const char *addr, struct filter_endpoint *ep,
    char *err, size_t errlen)
{
	char host[256], port[8];
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
	    .ai_flags = AI_NUMERICSERV }, *res = NULL;
	int rc;

	memset(ep, 0, sizeof(*ep));
	if (strlen(addr) > FILTER_ADDR_MAX) {
		snprintf(err, errlen, "filter address too long");
		return -1;
	}
	snprintf(ep->text, sizeof(ep->text), "%s", addr);
	if (strncmp(addr, "unix:", 5) == 0)
		return filter_endpoint_unix(addr + 5, ep, err, errlen);
	if (strncmp(addr, "inet:", 5) != 0 ||
	    filter_split_hostport(addr + 5, host, sizeof(host), port,
	    sizeof(port)) == -1) {
		snprintf(err, errlen, "filter address must be \"unix:/path\" "
		    "or \"inet:host:port\": %s", addr);
		return -1;
	}
	ep->ss.ss_family = AF_UNSPEC;
	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0 || res == NULL) {
		snprintf(err, errlen, "%s: %s", addr, rc != 0 ?
		    gai_strerror(rc) : "no address");
		return -1;
	}
	memcpy(&ep->ss, res->ai_addr, res->ai_addrlen);
	ep->sslen = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

static void
filter_conn_finish(struct filter_conn *c, int fd, const char *err)
{
	filter_conn_fn done = c->done;
	void *arg = c->arg;

	if (fd != -1)
		c->fd = -1;	/* handed over; else cancel closes it */
	filter_connect_cancel(&c);
	done(arg, fd, err);
}

static void
filter_conn_ready(evutil_socket_t fd, short what, void *arg)
{
	struct filter_conn *c = arg;
	int soerr = 0;
	socklen_t len = sizeof(soerr);

	if (c->err != NULL) {
		filter_conn_finish(c, -1, c->err);
		return;
	}
	if ((what & EV_WRITE) == 0) {
		filter_conn_finish(c, -1, "connect timed out");
		return;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == -1)
		soerr = errno;
	if (soerr != 0) {
		filter_conn_finish(c, -1, strerror(soerr));
		return;
	}
	filter_conn_finish(c, c->fd, NULL);
}

static struct filter_conn *
filter_connect_direct(struct event_base *base, const struct filter_endpoint *ep,
    filter_conn_fn done, void *arg)
{
	struct filter_conn *c = xcalloc(1, sizeof(*c));
	struct timeval tv = { .tv_sec = FILTER_CONNECT_SEC };

	c->base = base;
	c->done = done;
	c->arg = arg;
	c->fd = -1;
	if (ep->err[0] != '\0' || ep->sslen == 0)
		c->err = ep->err[0] != '\0' ? ep->err : "no address";
	else if ((c->fd = socket(ep->ss.ss_family, SOCK_STREAM |
	    SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1 ||
	    (connect(c->fd, (const struct sockaddr *)&ep->ss,
	    ep->sslen) == -1 && errno != EINPROGRESS)) {
		/* A unix socket whose backlog is full says EAGAIN: a
		 * failure too, as a worker must not spin on it. */
		c->err = strerror(errno);
	}
	if (c->err != NULL) {
		/* done runs later, never inside the call */
		c->ev = event_new(base, -1, 0, filter_conn_ready, c);
		event_active(c->ev, EV_TIMEOUT, 0);
	} else {
		c->ev = event_new(base, c->fd, EV_WRITE, filter_conn_ready, c);
		event_add(c->ev, &tv);
	}
	return c;
}

/* The broker's answer: the request is already freed. */
static void
filter_conn_brokered(void *arg, int fd, const char *err)
{
	struct filter_conn *c = arg;

	c->breq = NULL;
	filter_conn_finish(c, fd, err);
}

struct filter_conn *
filter_connect(struct event_base *base, const struct filter_endpoint *ep,
    filter_conn_fn done, void *arg)
{
	struct filter_conn *c;

	if (!ep->is_unix || !filter_conn_broker_active())
		return filter_connect_direct(base, ep, done, arg);
	/* A chrooted worker cannot reach the path: the master connects. */
	c = xcalloc(1, sizeof(*c));
	c->base = base;
	c->fd = -1;
	c->done = done;
	c->arg = arg;
	c->breq = filter_conn_broker_request(ep, filter_conn_brokered, c);
	return c;
}

void
filter_connect_cancel(struct filter_conn **cp)
{
	struct filter_conn *c = *cp;

	if (c == NULL)
		return;
	filter_conn_broker_cancel(&c->breq);
	if (c->ev != NULL)
		event_free(c->ev);
	if (c->fd != -1)
		close(c->fd);
	free(c);
	*cp = NULL;
}

static void
filter_endpoint_load(const char *addr, struct filter_endpoint *ep)
{
	char err[sizeof(ep->err)];

	if (filter_endpoint_parse(addr, ep, err, sizeof(err)) == -1) {
		snprintf(ep->text, sizeof(ep->text), "%.*s", FILTER_ADDR_MAX,
		    addr);
		snprintf(ep->err, sizeof(ep->err), "%s", err);
	}
}

void
filter_endpoints_load(const struct config *cfg, struct filter_endpoints *eps)
{
	memset(eps, 0, sizeof(*eps));
	if (*cfg->filters.antivirus.clamd != '\0')
		filter_endpoint_load(cfg->filters.antivirus.clamd, &eps->clamd);
	eps->nmilters = cfg->filters.nmilters;
	eps->milters = xcalloc(eps->nmilters + 1, sizeof(*eps->milters));
	for (size_t i = 0; i < eps->nmilters; i++)
		filter_endpoint_load(cfg->filters.milters[i].address,
		    &eps->milters[i]);
}

void
filter_endpoints_free(struct filter_endpoints *eps)
{
	free(eps->milters);
	memset(eps, 0, sizeof(*eps));
}
