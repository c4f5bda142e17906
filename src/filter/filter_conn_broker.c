/*
 * filter_conn_broker: unix-socket filter daemons for chrooted workers. A
 * worker cannot reach /run/clamav/clamd.ctl from inside data_dir/queue,
 * so it asks the master on its control socket; the master connects, but
 * only to an address of its own configuration, and passes the socket
 * back (SCM_RIGHTS). Worker side: requests and their timeouts; master
 * side: filter_conn_broker_serve(). Protocol: ipc/ipc_proto.h.
 */
#include <errno.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/config.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "filter/filter_conn.h"
#include "filter/filter_conn_int.h"
#include "ipc/ipc.h"
#include "ipc/ipc_proto.h"

#define FILTER_BROKER_ERR_MAX	128	/* a reason kept for done: ours */

/* ---- worker side ---- */

struct filter_broker_req {
	uint32_t		 id;
	struct event		*ev;	/* the timeout, or an early failure */
	filter_conn_fn		 done;
	void			*arg;
	char			 err[FILTER_BROKER_ERR_MAX];	/* early failure */
	struct filter_broker_req *next;
};

/* One broker per process: a worker has one control socket. */
static struct {
	struct event_base		*base;
	int				 ctl_fd;
	uint32_t			 next_id;
	struct filter_broker_req	*pending;
	size_t				 npending;
} filter_broker = { .ctl_fd = -1, .next_id = 1 };

void
filter_conn_set_broker(struct event_base *base, int ctl_fd)
{
	filter_broker.base = base;
	filter_broker.ctl_fd = base != NULL ? ctl_fd : -1;
}

bool
filter_conn_broker_active(void)
{
	return filter_broker.base != NULL && filter_broker.ctl_fd != -1;
}

static bool
filter_broker_id_used(uint32_t id)
{
	for (const struct filter_broker_req *r = filter_broker.pending;
	    r != NULL; r = r->next)
		if (r->id == id)
			return true;
	return false;
}

/* Ids are unique among the pending requests, so a late answer to a
 * cancelled or timed-out request can never be taken for a new one's. */
static uint32_t
filter_broker_new_id(void)
{
	uint32_t id;

	do {
		id = filter_broker.next_id++;
	} while (id == 0 || filter_broker_id_used(id));
	return id;
}

/* Unlinks r from the pending list; false when it was not there. */
static bool
filter_broker_unlink(struct filter_broker_req *r)
{
	for (struct filter_broker_req **pp = &filter_broker.pending; *pp != NULL;
	    pp = &(*pp)->next) {
		if (*pp != r)
			continue;
		*pp = r->next;
		filter_broker.npending--;
		return true;
	}
	return false;
}

/* Frees r, then calls its done: done may start a new request. */
static void
filter_broker_finish(struct filter_broker_req *r, int fd, const char *err)
{
	char why[FILTER_BROKER_ERR_MAX];
	filter_conn_fn done = r->done;
	void *arg = r->arg;

	snprintf(why, sizeof(why), "%s", err != NULL ? err : "");
	filter_broker_unlink(r);
	event_free(r->ev);
	free(r);
	done(arg, fd, fd == -1 ? why : NULL);
}

static void
filter_broker_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct filter_broker_req *r = arg;

	(void)fd;
	(void)what;
	filter_broker_finish(r, -1, r->err[0] != '\0' ? r->err :
	    "no answer from the master in time");
}

struct filter_broker_req *
filter_conn_broker_request(const struct filter_endpoint *ep,
    filter_conn_fn done, void *arg)
{
	struct filter_broker_req *r = xcalloc(1, sizeof(*r));
	struct timeval tv = { .tv_sec = FILTER_CONNECT_SEC };
	struct ipc_msg m;

	r->done = done;
	r->arg = arg;
	r->ev = event_new(filter_broker.base, -1, 0, filter_broker_timeout, r);
	if (r->ev == NULL)
		fatal("filter_conn_broker_request: event_new failed");
	if (filter_broker.npending >= FILTER_BROKER_PENDING_MAX) {
		snprintf(r->err, sizeof(r->err), "too many connections waiting "
		    "for the master");
	} else {
		r->id = filter_broker_new_id();
		ipc_msg_init(&m, IPCM_FILTER_CONNECT, r->id);
		/* The control socket is non-blocking: EAGAIN means the master
		 * is far behind, and waiting here would stall every session. */
		if (ipc_msg_add_str(&m, IK_ADDR, ep->text) == -1 ||
		    ipc_send(filter_broker.ctl_fd, &m) == -1)
			snprintf(r->err, sizeof(r->err), "asking the master: %s",
			    strerror(errno));
	}
	r->next = filter_broker.pending;
	filter_broker.pending = r;
	filter_broker.npending++;
	if (r->err[0] != '\0')
		event_active(r->ev, EV_TIMEOUT, 0);	/* later, never in here */
	else
		event_add(r->ev, &tv);
	return r;
}

void
filter_conn_broker_cancel(struct filter_broker_req **rp)
{
	struct filter_broker_req *r = *rp;

	if (r == NULL)
		return;
	filter_broker_unlink(r);
	event_free(r->ev);
	free(r);
	*rp = NULL;
}

void
filter_conn_broker_reply(struct ipc_msg *m)
{
	struct filter_broker_req *r = filter_broker.pending;
	char why[FILTER_BROKER_ERR_MAX];
	const struct ipc_field *f;
	int fd = m->fd;

	m->fd = -1;
	while (r != NULL && (m->type != IPCM_FILTER_SOCKET || r->id != m->id))
		r = r->next;
	if (r == NULL) {
		/* Cancelled or timed out meanwhile: nobody wants it. */
		if (fd != -1)
			close(fd);
		return;
	}
	if (fd != -1) {
		evutil_make_socket_nonblocking(fd);
		filter_broker_finish(r, fd, NULL);
		return;
	}
	/* The master's reason, printable and bounded before it is logged. */
	f = ipc_msg_get(m, IK_TEXT);
	snprintf(why, sizeof(why), "master: no connection");
	if (f != NULL && f->len > 0) {
		size_t n = 0;

		for (; n < f->len && n < sizeof(why) - 1; n++) {
			if (f->data[n] >= 0x20 && f->data[n] < 0x7f)
				why[n] = (char)f->data[n];
			else
				why[n] = '?';
		}
		why[n] = '\0';
	}
	filter_broker_finish(r, -1, why);
}

/* ---- master side ---- */

/* Only an address the administrator configured, and only a unix one:
 * the master must not become a worker's way to any socket it can reach. */
static bool
filter_broker_allowed(const struct config *cfg, const char *addr)
{
	if (strncmp(addr, "unix:", 5) != 0)
		return false;
	if (strcmp(addr, cfg->filters.antivirus.clamd) == 0)
		return true;
	for (size_t i = 0; i < cfg->filters.nmilters; i++)
		if (strcmp(addr, cfg->filters.milters[i].address) == 0)
			return true;
	return false;
}

/* A connected non-blocking socket, or -1 with a reason in why. */
static int
filter_broker_connect(const char *addr, char *why, size_t whylen)
{
	struct filter_endpoint ep;
	int fd;

	if (filter_endpoint_parse(addr, &ep, why, whylen) == -1)
		return -1;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		snprintf(why, whylen, "socket: %s", strerror(errno));
		return -1;
	}
	if (connect(fd, (const struct sockaddr *)&ep.ss, ep.sslen) == 0)
		return fd;
	/* A unix connect completes at once or not at all: EAGAIN means the
	 * daemon's backlog is full, and the master must never wait on it. */
	if (errno == EAGAIN || errno == EINPROGRESS)
		snprintf(why, whylen, "backlog full");
	else
		snprintf(why, whylen, "%s", strerror(errno));
	close(fd);
	return -1;
}

void
filter_conn_broker_serve(const struct config *cfg, int child_ctl,
    const struct ipc_msg *req)
{
	struct log_ctx lc = { .service = "master" };
	/* The worker may be compromised: its text is bounded and NUL-free. */
	char *addr = ipc_msg_get_str(req, IK_ADDR, FILTER_ADDR_MAX);
	char why[FILTER_BROKER_ERR_MAX] = "";
	struct ipc_msg out;
	int fd = -1;

	if (addr == NULL || !filter_broker_allowed(cfg, addr)) {
		snprintf(why, sizeof(why), "not a configured filter");
		log_kv(&lc, LOGL_WARN, "filter_broker_refused", "addr",
		    addr != NULL ? addr : "(malformed)", "reason", why, NULL);
	} else if ((fd = filter_broker_connect(addr, why, sizeof(why))) == -1) {
		log_kv(&lc, LOGL_WARN, "filter_broker_failed", "addr", addr,
		    "detail", why, NULL);
	}
	ipc_msg_init(&out, IPCM_FILTER_SOCKET, req->id);
	out.fd = fd;
	if (fd == -1)
		ipc_msg_add_str(&out, IK_TEXT, why);
	/* Non-blocking: a worker that does not read its control socket gets
	 * no answer (its request times out), not a stalled master. */
	if (ipc_send(child_ctl, &out) == -1)
		log_kv(&lc, LOGL_WARN, "filter_broker_failed", "addr", addr,
		    "detail", strerror(errno), NULL);
	if (fd != -1)
		close(fd);
	free(addr);
}
