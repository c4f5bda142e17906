/*
 * dirconn: see dirconn.h. Used by the session workers and the queue
 * manager alike.
 */
#include <event2/event.h>
#include <poll.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/xalloc.h"
#include "filter/filter_conn.h"
#include "ipc/ipc_proto.h"
#include "server/dirconn.h"

struct dirconn {
	struct event_base	*base;
	int			 ctl_fd;
	struct ipc_client	*client;
	bool			 asking;	/* a request to the master is out */
	bool			 stopped;
	struct event		*ctl_ev;
	struct buf		 ctl_buf;
};

struct dirconn_call {
	struct dirconn	*d;
	ipc_reply_fn	 fn;
	void		*arg;
};

static void dirconn_ask(struct dirconn *d);

static void
dirconn_set(struct dirconn *d, int fd)
{
	evutil_make_socket_nonblocking(fd);
	d->client = ipc_client_new(d->base, fd);
}

static void
dirconn_ask_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	dirconn_ask(arg);
}

/* Replies from the master: a socket to dird, or none while it is down;
 * and sockets to unix filter daemons, which belong to the broker. */
static void
dirconn_ctl_read(evutil_socket_t fd, short what, void *arg)
{
	struct dirconn *d = arg;
	struct ipc_msg m;
	struct timeval retry = { 0, 200000 };
	int rc;

	(void)what;
	while ((rc = ipc_recv(fd, &d->ctl_buf, &m)) == 1) {
		if (m.type == IPCM_FILTER_SOCKET) {
			filter_conn_broker_reply(&m);
			continue;
		}
		if (m.type != IPCM_DIRD_SOCKET) {
			if (m.fd != -1)
				close(m.fd);
			continue;
		}
		d->asking = false;
		if (m.fd != -1 && d->client == NULL)
			dirconn_set(d, m.fd);
		else if (m.fd != -1)
			close(m.fd);
		else
			event_base_once(d->base, -1, EV_TIMEOUT, dirconn_ask_cb, d,
			    &retry);
	}
	if (rc == 0)
		event_del(d->ctl_ev);	/* the master is gone: PDEATHSIG ends us */
}

static void
dirconn_ask(struct dirconn *d)
{
	struct ipc_msg m;

	if (d->client != NULL || d->asking || d->stopped)
		return;
	ipc_msg_init(&m, IPCM_DIRD_CONNECT, 0);
	if (ipc_send(d->ctl_fd, &m) == 0)
		d->asking = true;
}

static void
dirconn_reset(evutil_socket_t fd, short what, void *arg)
{
	struct dirconn *d = arg;

	(void)fd;
	(void)what;
	ipc_client_free(&d->client);
	dirconn_ask(d);
}

static void
dirconn_call_done(void *arg, const struct ipc_msg *reply)
{
	struct dirconn_call *c = arg;
	struct dirconn *d = c->d;
	static const struct timeval zero = { 0, 0 };

	if (reply == NULL && d->client != NULL) {
		/* dird died or was replaced: reconnect outside this callback,
		 * which runs inside the client being torn down. */
		event_base_once(d->base, -1, EV_TIMEOUT, dirconn_reset, d, &zero);
	}
	c->fn(c->arg, reply);
	free(c);
}

static void
dirconn_call_fail(evutil_socket_t fd, short what, void *arg)
{
	struct dirconn_call *c = arg;

	(void)fd;
	(void)what;
	c->fn(c->arg, NULL);
	free(c);
}

void
dirconn_call(struct dirconn *d, struct ipc_msg *req, ipc_reply_fn fn, void *arg)
{
	struct dirconn_call *c = xcalloc(1, sizeof(*c));
	static const struct timeval zero = { 0, 0 };

	*c = (struct dirconn_call){ .d = d, .fn = fn, .arg = arg };
	if (d->client != NULL && ipc_client_call(d->client, req, dirconn_call_done, c) == 0)
		return;
	/* Not connected (dird restarting) or its queue is full: fail this call
	 * later, on the loop, and make sure a connection is being asked for. */
	dirconn_ask(d);
	event_base_once(d->base, -1, EV_TIMEOUT, dirconn_call_fail, c, &zero);
}

void
dirconn_first(struct dirconn *d)
{
	struct ipc_msg m;
	struct pollfd pfd = { .fd = d->ctl_fd, .events = POLLIN };

	for (int tries = 0; tries < 25 && d->client == NULL; tries++) {
		ipc_msg_init(&m, IPCM_DIRD_CONNECT, 0);
		if (ipc_send(d->ctl_fd, &m) == -1 || poll(&pfd, 1, 1000) != 1)
			continue;
		if (ipc_recv(d->ctl_fd, &d->ctl_buf, &m) == 1 &&
		    m.type == IPCM_DIRD_SOCKET && m.fd != -1)
			dirconn_set(d, m.fd);
		else
			poll(NULL, 0, 200);
	}
}

struct dirconn *
dirconn_new(struct event_base *base, int ctl_fd)
{
	struct dirconn *d = xcalloc(1, sizeof(*d));

	d->base = base;
	d->ctl_fd = ctl_fd;
	buf_init(&d->ctl_buf, IPC_MSG_MAX);
	evutil_make_socket_nonblocking(ctl_fd);
	d->ctl_ev = event_new(base, ctl_fd, EV_READ | EV_PERSIST, dirconn_ctl_read, d);
	event_add(d->ctl_ev, NULL);
	return d;
}

bool
dirconn_ready(const struct dirconn *d)
{
	return d->client != NULL;
}

void
dirconn_stop(struct dirconn *d)
{
	d->stopped = true;
}

void
dirconn_free(struct dirconn **dp)
{
	struct dirconn *d = *dp;

	if (d == NULL)
		return;
	ipc_client_free(&d->client);
	event_free(d->ctl_ev);
	buf_free(&d->ctl_buf);
	free(d);
	*dp = NULL;
}
