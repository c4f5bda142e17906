/*
 * ipc: codec, SOCK_SEQPACKET transport with SCM_RIGHTS, and the
 * asynchronous client of ipc.h. The decoder is strict: a peer process may
 * be compromised, so every length is checked before it is used.
 */
#include <errno.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/xalloc.h"
#include "ipc/ipc.h"

#define IPC_CLIENT_QUEUE_MAX	1024

static void
ipc_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void
ipc_put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint16_t
ipc_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t
ipc_get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

void
ipc_msg_init(struct ipc_msg *m, uint16_t type, uint32_t id)
{
	m->type = type;
	m->id = id;
	m->nf = 0;
	m->fd = -1;
}

static size_t
ipc_msg_size(const struct ipc_msg *m)
{
	size_t n = IPC_HDR_LEN;

	for (size_t i = 0; i < m->nf; i++)
		n += 6 + m->f[i].len;
	return n;
}

int
ipc_msg_add(struct ipc_msg *m, uint16_t key, const void *data, size_t len)
{
	if (m->nf >= IPC_FIELDS_MAX || len > IPC_MSG_MAX ||
	    ipc_msg_size(m) + 6 + len > IPC_MSG_MAX)
		return -1;
	m->f[m->nf++] = (struct ipc_field){ .key = key, .len = (uint32_t)len,
	    .data = data };
	return 0;
}

int
ipc_msg_add_str(struct ipc_msg *m, uint16_t key, const char *s)
{
	return ipc_msg_add(m, key, s, strlen(s));
}

int
ipc_msg_add_u64(struct ipc_msg *m, uint16_t key, uint64_t v)
{
	uint8_t *p;

	if (m->nf >= IPC_FIELDS_MAX)
		return -1;
	p = m->num[m->nf];
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
	return ipc_msg_add(m, key, p, 8);
}

int
ipc_msg_encode(const struct ipc_msg *m, struct buf *out)
{
	size_t total = ipc_msg_size(m);
	uint8_t hdr[IPC_HDR_LEN];

	if (total > IPC_MSG_MAX)
		return -1;
	ipc_put32(hdr, (uint32_t)total);
	ipc_put16(hdr + 4, IPC_VERSION);
	ipc_put16(hdr + 6, m->type);
	ipc_put32(hdr + 8, m->id);
	if (buf_append(out, hdr, sizeof(hdr)) == -1)
		return -1;
	for (size_t i = 0; i < m->nf; i++) {
		uint8_t fh[6];

		ipc_put16(fh, m->f[i].key);
		ipc_put32(fh + 2, m->f[i].len);
		if (buf_append(out, fh, sizeof(fh)) == -1 ||
		    buf_append(out, m->f[i].data, m->f[i].len) == -1)
			return -1;
	}
	return 0;
}

enum parse_rc
ipc_msg_decode(const uint8_t *data, size_t len, struct ipc_msg *out)
{
	size_t off = IPC_HDR_LEN;

	out->nf = 0;
	out->fd = -1;
	if (len > IPC_MSG_MAX)
		return PARSE_TOO_LONG;
	if (len < IPC_HDR_LEN)
		return PARSE_INCOMPLETE;
	if (ipc_get32(data) != len || ipc_get16(data + 4) != IPC_VERSION)
		return PARSE_INVALID;
	out->type = ipc_get16(data + 6);
	out->id = ipc_get32(data + 8);
	while (off < len) {
		uint32_t flen;

		if (len - off < 6 || out->nf >= IPC_FIELDS_MAX)
			return PARSE_INVALID;
		flen = ipc_get32(data + off + 2);
		if (flen > len - off - 6)
			return PARSE_INVALID;
		out->f[out->nf++] = (struct ipc_field){ .key = ipc_get16(data + off),
		    .len = flen, .data = data + off + 6 };
		off += 6 + (size_t)flen;
	}
	return PARSE_OK;
}

const struct ipc_field *
ipc_msg_get(const struct ipc_msg *m, uint16_t key)
{
	for (size_t i = 0; i < m->nf; i++)
		if (m->f[i].key == key)
			return &m->f[i];
	return NULL;
}

char *
ipc_msg_get_str(const struct ipc_msg *m, uint16_t key, size_t max)
{
	const struct ipc_field *f = ipc_msg_get(m, key);

	if (f == NULL || f->len > max || memchr(f->data, '\0', f->len) != NULL)
		return NULL;
	return xstrndup((const char *)f->data, f->len);
}

int
ipc_msg_get_u64(const struct ipc_msg *m, uint16_t key, uint64_t *out)
{
	const struct ipc_field *f = ipc_msg_get(m, key);
	uint64_t v = 0;

	if (f == NULL || f->len != 8)
		return -1;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | f->data[i];
	*out = v;
	return 0;
}

/* ---- transport ---- */

static int
ipc_send_bytes(int sock, const void *data, size_t len, int fd)
{
	struct iovec iov = { .iov_base = (void *)data, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int))];
	} cm;
	ssize_t n;

	if (fd >= 0) {
		memset(&cm, 0, sizeof(cm));
		mh.msg_control = cm.buf;
		mh.msg_controllen = sizeof(cm.buf);
		cm.hdr.cmsg_level = SOL_SOCKET;
		cm.hdr.cmsg_type = SCM_RIGHTS;
		cm.hdr.cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(&cm.hdr), &fd, sizeof(int));
	}
	do
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
	while (n == -1 && errno == EINTR);
	return n == (ssize_t)len ? 0 : -1;
}

int
ipc_send(int sock, const struct ipc_msg *m)
{
	struct buf b;
	int rc;

	buf_init(&b, IPC_MSG_MAX);
	rc = ipc_msg_encode(m, &b) == 0 ? ipc_send_bytes(sock, b.data, b.len, m->fd) : -1;
	buf_free(&b);
	return rc;
}

int
ipc_recv(int sock, struct buf *storage, struct ipc_msg *out)
{
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(4 * sizeof(int))];
	} cm;
	struct iovec iov;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
	    .msg_control = cm.buf, .msg_controllen = sizeof(cm.buf) };
	int fds[4], nfds = 0;
	ssize_t n;

	out->fd = -1;
	buf_reset(storage);
	if (storage->cap < IPC_MSG_MAX + 1) {
		if (buf_append(storage, "", 0) == -1 || storage->max < IPC_MSG_MAX)
			return -2;
		storage->data = xrealloc(storage->data, IPC_MSG_MAX + 1);
		storage->cap = IPC_MSG_MAX + 1;
	}
	iov = (struct iovec){ .iov_base = storage->data, .iov_len = IPC_MSG_MAX };
	do
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	while (n == -1 && errno == EINTR);
	if (n <= 0)
		return n == 0 ? 0 : -1;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		for (size_t i = 0; (i + 1) * sizeof(int) <= c->cmsg_len - CMSG_LEN(0) &&
		    nfds < 4; i++)
			memcpy(&fds[nfds++], CMSG_DATA(c) + i * sizeof(int), sizeof(int));
	}
	storage->len = (size_t)n;
	if ((mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) || nfds > 1 ||
	    ipc_msg_decode((const uint8_t *)storage->data, (size_t)n, out) != PARSE_OK) {
		for (int i = 0; i < nfds; i++)
			close(fds[i]);
		out->fd = -1;
		return -2;
	}
	out->fd = nfds == 1 ? fds[0] : -1;
	return 1;
}

/* ---- asynchronous client ---- */

struct ipc_call {
	uint32_t	 id;
	ipc_reply_fn	 fn;
	void		*arg;
	struct buf	 wire;		/* encoded, while it waits to be sent */
};

struct ipc_client {
	struct event_base	*base;
	int			 sock;
	struct event		*rev, *wev;
	struct ipc_call		*calls;	/* sent or waiting, in order */
	size_t			 ncalls, cap;
	size_t			 unsent;	/* calls[ncalls - unsent ..] wait */
	uint32_t		 next_id;
	bool			 broken;
	struct buf		 rbuf;
};

static void
ipc_client_fail_all(struct ipc_client *c)
{
	/* Callbacks may call back into c: take the list first. */
	struct ipc_call *calls = c->calls;
	size_t n = c->ncalls;

	c->calls = NULL;
	c->ncalls = c->cap = c->unsent = 0;
	c->broken = true;
	if (c->rev != NULL)
		event_del(c->rev);
	if (c->wev != NULL)
		event_del(c->wev);
	for (size_t i = 0; i < n; i++) {
		buf_free(&calls[i].wire);
		calls[i].fn(calls[i].arg, NULL);
	}
	free(calls);
}

static void
ipc_client_remove(struct ipc_client *c, size_t i)
{
	buf_free(&c->calls[i].wire);
	memmove(&c->calls[i], &c->calls[i + 1], (c->ncalls - i - 1) * sizeof(*c->calls));
	c->ncalls--;
}

static void
ipc_client_flush(struct ipc_client *c)
{
	while (c->unsent > 0) {
		struct ipc_call *k = &c->calls[c->ncalls - c->unsent];

		if (ipc_send_bytes(c->sock, k->wire.data, k->wire.len, -1) == -1) {
			if (errno == EAGAIN || errno == ENOBUFS) {
				event_add(c->wev, NULL);
				return;
			}
			ipc_client_fail_all(c);
			return;
		}
		buf_free(&k->wire);
		c->unsent--;
	}
}

static void
ipc_client_writable(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	ipc_client_flush(arg);
}

static void
ipc_client_readable(evutil_socket_t fd, short what, void *arg)
{
	struct ipc_client *c = arg;
	struct ipc_msg m;

	(void)what;
	for (int i = 0; i < 256 && !c->broken; i++) {
		int rc = ipc_recv(fd, &c->rbuf, &m);

		if (rc == -1 && errno == EAGAIN)
			return;
		if (rc == 0 || rc == -1) {
			ipc_client_fail_all(c);
			return;
		}
		if (rc == -2)
			continue;
		if (m.fd != -1)
			close(m.fd);
		for (size_t k = 0; k < c->ncalls - c->unsent; k++) {
			if (c->calls[k].id != m.id)
				continue;
			ipc_reply_fn fn = c->calls[k].fn;
			void *farg = c->calls[k].arg;

			ipc_client_remove(c, k);
			fn(farg, &m);
			break;
		}
	}
}

struct ipc_client *
ipc_client_new(struct event_base *base, int sock)
{
	struct ipc_client *c = xcalloc(1, sizeof(*c));

	c->base = base;
	c->sock = sock;
	c->next_id = 1;
	buf_init(&c->rbuf, IPC_MSG_MAX);
	c->rev = event_new(base, sock, EV_READ | EV_PERSIST, ipc_client_readable, c);
	c->wev = event_new(base, sock, EV_WRITE, ipc_client_writable, c);
	event_add(c->rev, NULL);
	return c;
}

struct ipc_fail {
	ipc_reply_fn	 fn;
	void		*arg;
};

static void
ipc_client_fail_later(evutil_socket_t fd, short what, void *arg)
{
	struct ipc_fail *f = arg;

	(void)fd;
	(void)what;
	f->fn(f->arg, NULL);
	free(f);
}

int
ipc_client_call(struct ipc_client *c, struct ipc_msg *req, ipc_reply_fn fn,
    void *arg)
{
	static const struct timeval zero = { 0, 0 };
	struct ipc_call *k;

	if (c->broken) {
		struct ipc_fail *f = xcalloc(1, sizeof(*f));

		*f = (struct ipc_fail){ .fn = fn, .arg = arg };
		event_base_once(c->base, -1, EV_TIMEOUT, ipc_client_fail_later, f, &zero);
		return 0;
	}
	if (c->ncalls >= IPC_CLIENT_QUEUE_MAX)
		return -1;
	if (c->ncalls == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 16;
		c->calls = xrealloc(c->calls, c->cap * sizeof(*c->calls));
	}
	req->id = c->next_id++;
	if (c->next_id == 0)
		c->next_id = 1;
	k = &c->calls[c->ncalls++];
	*k = (struct ipc_call){ .id = req->id, .fn = fn, .arg = arg };
	buf_init(&k->wire, IPC_MSG_MAX);
	if (ipc_msg_encode(req, &k->wire) == -1) {
		buf_free(&k->wire);
		c->ncalls--;
		return -1;
	}
	c->unsent++;
	ipc_client_flush(c);
	return 0;
}

size_t
ipc_client_pending(const struct ipc_client *c)
{
	return c->ncalls;
}

void
ipc_client_free(struct ipc_client **cp)
{
	struct ipc_client *c = *cp;

	if (c == NULL)
		return;
	ipc_client_fail_all(c);
	event_free(c->rev);
	event_free(c->wev);
	close(c->sock);
	buf_free(&c->rbuf);
	free(c);
	*cp = NULL;
}
