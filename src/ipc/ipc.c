/*
 * ipc: the message codec, SOCK_SEQPACKET transport with SCM_RIGHTS, and the
 * asynchronous client session processes use to call privileged helpers (see
 * ipc.h for the wire format). The decoder trusts nothing: the peer process
 * may be compromised. What a message type means belongs to the caller.
 */
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "core/xalloc.h"
#include "ipc/ipc.h"

#define IPC_FIELD_HDR_LEN	6	/* u16 key, u32 len */
#define IPC_RECV_FDS_MAX	4	/* room to see (and refuse) a few extra fds */

/* ---- little-endian helpers: the wire format never depends on the host ---- */

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
	return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t
ipc_get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

/* ---- building ---- */

void
ipc_msg_init(struct ipc_msg *m, uint16_t type, uint32_t id)
{
	memset(m, 0, sizeof(*m));
	m->type = type;
	m->id = id;
	m->fd = -1;
}

/*
 * Wire size of m, or 0 when it would pass IPC_MSG_MAX. Checked field by field
 * so that a hand-filled m->f cannot overflow the sum on a 32-bit size_t.
 */
static size_t
ipc_msg_size(const struct ipc_msg *m)
{
	size_t size = IPC_HDR_LEN;

	if (m->nf > IPC_FIELDS_MAX)
		return 0;
	for (size_t i = 0; i < m->nf; i++) {
		if (m->f[i].len > IPC_MSG_MAX - IPC_FIELD_HDR_LEN - size)
			return 0;
		size += IPC_FIELD_HDR_LEN + m->f[i].len;
	}
	return size;
}

int
ipc_msg_add(struct ipc_msg *m, uint16_t key, const void *data, size_t len)
{
	size_t size = ipc_msg_size(m);

	if (size == 0 || m->nf >= IPC_FIELDS_MAX || (data == NULL && len > 0))
		return -1;
	if (size + IPC_FIELD_HDR_LEN > IPC_MSG_MAX ||
	    len > IPC_MSG_MAX - IPC_FIELD_HDR_LEN - size)
		return -1;
	m->f[m->nf++] = (struct ipc_field){ key, (uint32_t)len, data };
	return 0;
}

int
ipc_msg_add_str(struct ipc_msg *m, uint16_t key, const char *s)
{
	if (s == NULL)
		return -1;
	return ipc_msg_add(m, key, s, strlen(s));
}

int
ipc_msg_add_u64(struct ipc_msg *m, uint16_t key, uint64_t v)
{
	uint8_t *p;

	if (m->nf >= IPC_FIELDS_MAX)
		return -1;
	/* num[nf] belongs to the field about to be added, so it is free. */
	p = m->num[m->nf];
	ipc_put32(p, (uint32_t)v);
	ipc_put32(p + 4, (uint32_t)(v >> 32));
	return ipc_msg_add(m, key, p, 8);
}

int
ipc_msg_encode(const struct ipc_msg *m, struct buf *out)
{
	uint8_t hdr[IPC_HDR_LEN], fh[IPC_FIELD_HDR_LEN];
	size_t size = ipc_msg_size(m);

	/* Check room first so a failure never leaves half a message in out. */
	if (size == 0 || out->len > out->max || size > out->max - out->len)
		return -1;
	ipc_put32(hdr, (uint32_t)size);
	ipc_put16(hdr + 4, IPC_VERSION);
	ipc_put16(hdr + 6, m->type);
	ipc_put32(hdr + 8, m->id);
	if (buf_append(out, hdr, sizeof(hdr)) == -1)
		return -1;
	for (size_t i = 0; i < m->nf; i++) {
		ipc_put16(fh, m->f[i].key);
		ipc_put32(fh + 2, m->f[i].len);
		if (buf_append(out, fh, sizeof(fh)) == -1 ||
		    buf_append(out, m->f[i].data, m->f[i].len) == -1)
			return -1;
	}
	return 0;
}

/* ---- reading ---- */

enum parse_rc
ipc_msg_decode(const uint8_t *data, size_t len, struct ipc_msg *out)
{
	size_t off = IPC_HDR_LEN;

	ipc_msg_init(out, 0, 0);
	if (len < IPC_HDR_LEN)
		return PARSE_INCOMPLETE;
	if (len > IPC_MSG_MAX)
		return PARSE_TOO_LONG;
	if (ipc_get32(data) != len || ipc_get16(data + 4) != IPC_VERSION)
		return PARSE_INVALID;
	out->type = ipc_get16(data + 6);
	out->id = ipc_get32(data + 8);
	while (off < len) {
		uint32_t flen;

		/* Fewer bytes than a field header left: trailing bytes. */
		if (len - off < IPC_FIELD_HDR_LEN || out->nf == IPC_FIELDS_MAX)
			goto invalid;
		flen = ipc_get32(data + off + 2);
		/* Compared as remaining space, so off + flen cannot wrap. */
		if (flen > len - off - IPC_FIELD_HDR_LEN)
			goto invalid;
		out->f[out->nf++] = (struct ipc_field){ ipc_get16(data + off),
		    flen, data + off + IPC_FIELD_HDR_LEN };
		off += IPC_FIELD_HDR_LEN + flen;
	}
	return PARSE_OK;
invalid:
	ipc_msg_init(out, 0, 0);
	return PARSE_INVALID;
}

const struct ipc_field *
ipc_msg_get(const struct ipc_msg *m, uint16_t key)
{
	for (size_t i = 0; i < m->nf && i < IPC_FIELDS_MAX; i++)
		if (m->f[i].key == key)
			return &m->f[i];
	return NULL;
}

char *
ipc_msg_get_str(const struct ipc_msg *m, uint16_t key, size_t max)
{
	const struct ipc_field *f = ipc_msg_get(m, key);
	char *s;

	/* An embedded NUL would let the peer truncate what C code sees. */
	if (f == NULL || f->len > max ||
	    (f->len > 0 && memchr(f->data, '\0', f->len) != NULL))
		return NULL;
	s = xmalloc((size_t)f->len + 1);
	if (f->len > 0)
		memcpy(s, f->data, f->len);
	s[f->len] = '\0';
	return s;
}

int
ipc_msg_get_u64(const struct ipc_msg *m, uint16_t key, uint64_t *out)
{
	const struct ipc_field *f = ipc_msg_get(m, key);

	if (f == NULL || f->len != 8)
		return -1;
	*out = (uint64_t)ipc_get32(f->data) |
	    (uint64_t)ipc_get32(f->data + 4) << 32;
	return 0;
}

/* ---- transport ---- */

/* One sendmsg: SEQPACKET keeps it one message, so there is no partial send. */
static int
ipc_send_raw(int sock, const void *data, size_t len, int fd)
{
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int))];
	} cbuf;
	struct iovec iov = { (void *)data, len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cm;
	ssize_t n;

	if (fd >= 0) {
		memset(&cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf.buf;
		mh.msg_controllen = sizeof(cbuf.buf);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof(fd));
	}
	/* MSG_NOSIGNAL: a dead helper must be an error, not SIGPIPE. */
	do
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
	while (n == -1 && errno == EINTR);
	if (n == -1)
		return -1;
	if ((size_t)n != len) {
		errno = EIO;
		return -1;
	}
	return 0;
}

int
ipc_send(int sock, const struct ipc_msg *m)
{
	struct buf b;
	int rc, saved;

	buf_init(&b, IPC_MSG_MAX);
	if (ipc_msg_encode(m, &b) == -1) {
		buf_free(&b);
		errno = EMSGSIZE;
		return -1;
	}
	rc = ipc_send_raw(sock, b.data, b.len, m->fd);
	saved = errno;
	buf_free(&b);
	errno = saved;
	return rc;
}

/*
 * Collects the descriptors of a received message: -1 for none, the one fd,
 * or -2 when there were more than one (all of them closed). A peer must not
 * make us hold descriptors we never asked for.
 */
static int
ipc_recv_fds(struct msghdr *mh)
{
	int keep = -1, fd;
	bool extra = false;

	for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm != NULL;
	    cm = CMSG_NXTHDR(mh, cm)) {
		size_t n;

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS ||
		    cm->cmsg_len < CMSG_LEN(0))
			continue;
		n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(fd));
			if (keep == -1 && !extra) {
				keep = fd;
				continue;
			}
			extra = true;
			close(fd);
		}
	}
	if (!extra)
		return keep;
	if (keep >= 0)
		close(keep);
	return -2;
}

/*
 * Makes storage hold IPC_MSG_MAX bytes at once. buf.h has no reserve call,
 * so this grows it the way buf.c does, keeping cap <= max + 1 and the NUL.
 */
static void
ipc_storage_ready(struct buf *b)
{
	if (b->cap < IPC_MSG_MAX + 1) {
		b->data = xrealloc(b->data, IPC_MSG_MAX + 1);
		b->cap = IPC_MSG_MAX + 1;
	}
	b->len = 0;
	b->overflowed = false;
	b->data[0] = '\0';
}

int
ipc_recv(int sock, struct buf *storage, struct ipc_msg *out)
{
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int) * IPC_RECV_FDS_MAX)];
	} cbuf;
	struct iovec iov;
	struct msghdr mh;
	ssize_t n;
	int fd;

	ipc_msg_init(out, 0, 0);
	if (storage->max < IPC_MSG_MAX) {
		errno = EINVAL;
		return -1;
	}
	ipc_storage_ready(storage);
	iov = (struct iovec){ storage->data, IPC_MSG_MAX };
	mh = (struct msghdr){ .msg_iov = &iov, .msg_iovlen = 1,
	    .msg_control = cbuf.buf, .msg_controllen = sizeof(cbuf.buf) };
	do
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	while (n == -1 && errno == EINTR);
	if (n == -1)
		return -1;
	fd = ipc_recv_fds(&mh);
	storage->len = (size_t)n;
	storage->data[n] = '\0';
	/* Truncated data or descriptors: never act on part of a message. */
	if (n == 0 || fd == -2 || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) ||
	    ipc_msg_decode((const uint8_t *)storage->data, (size_t)n, out) !=
	    PARSE_OK) {
		if (fd >= 0)
			close(fd);
		ipc_msg_init(out, 0, 0);
		return n == 0 ? 0 : -2;
	}
	out->fd = fd;
	return 1;
}

/* ---- asynchronous client ---- */

#define IPC_CLIENT_QUEUE_MAX	1024	/* encoded requests waiting for EV_WRITE */
#define IPC_CLIENT_PENDING_MAX	4096	/* calls awaiting a reply, queued included */
#define IPC_CLIENT_BATCH_MAX	256	/* replies per wake-up: let others run */

struct ipc_call {
	uint32_t	 id;
	ipc_reply_fn	 fn;
	void		*arg;
};

struct ipc_out {
	struct buf	 wire;
	int		 fd;	/* our dup of req->fd, or -1 */
	struct ipc_out	*next;
};

struct ipc_client {
	struct event_base *base;
	int		 sock;
	struct event	*rev, *wev;
	struct event	*fail_ev;	/* fails calls on the loop once dead */
	struct ipc_call	*calls;
	size_t		 ncalls, calls_cap;
	struct ipc_out	*out_head, *out_tail;
	size_t		 nout;
	uint32_t	 next_id;
	struct buf	 storage;	/* replies point into it during fn */
	bool		 dead;		/* peer gone or fatal error */
	bool		 doomed;	/* ipc_client_free() was called */
	unsigned	 depth;		/* our callbacks on the stack */
};

static void
ipc_client_out_free(struct ipc_out *o)
{
	if (o->fd >= 0)
		close(o->fd);
	buf_wipe(&o->wire);	/* may hold a password (IPCM_AUTH) */
	free(o);
}

/* Marks the client dead and schedules the failure of every pending call. */
static void
ipc_client_die(struct ipc_client *c)
{
	struct ipc_out *o, *next;

	if (!c->dead) {
		c->dead = true;
		event_del(c->rev);
		event_del(c->wev);
		for (o = c->out_head; o != NULL; o = next) {
			next = o->next;
			ipc_client_out_free(o);
		}
		c->out_head = c->out_tail = NULL;
		c->nout = 0;
	}
	if (c->ncalls > 0)
		event_active(c->fail_ev, EV_TIMEOUT, 0);
}

/*
 * Calls fn(arg, NULL) for the calls pending now. The array is taken first,
 * so a callback that calls again (failed later, on the loop) or frees the
 * client cannot disturb the walk.
 */
static void
ipc_client_fail_all(struct ipc_client *c)
{
	struct ipc_call *calls = c->calls;
	size_t n = c->ncalls;

	c->calls = NULL;
	c->ncalls = c->calls_cap = 0;
	c->depth++;
	for (size_t i = 0; i < n; i++)
		calls[i].fn(calls[i].arg, NULL);
	c->depth--;
	free(calls);
}

static void
ipc_client_destroy(struct ipc_client *c)
{
	ipc_client_die(c);
	/* Calls made from a failure callback of a doomed client get -1. */
	while (c->ncalls > 0)
		ipc_client_fail_all(c);
	event_free(c->rev);
	event_free(c->wev);
	event_free(c->fail_ev);
	close(c->sock);
	buf_free(&c->storage);
	free(c->calls);
	free(c);
}

/* Finishes an ipc_client_free() requested from inside one of our callbacks. */
static bool
ipc_client_settle(struct ipc_client *c)
{
	if (!c->doomed || c->depth > 0)
		return false;
	ipc_client_destroy(c);
	return true;
}

static void
ipc_client_on_fail(evutil_socket_t fd, short what, void *arg)
{
	struct ipc_client *c = arg;

	ipc_client_fail_all(c);
	ipc_client_settle(c);
}

/* Hands a reply to its call; a reply nobody waits for is dropped. */
static void
ipc_client_dispatch(struct ipc_client *c, const struct ipc_msg *reply)
{
	struct ipc_call call;

	for (size_t i = 0; i < c->ncalls; i++) {
		if (c->calls[i].id != reply->id)
			continue;
		/* Removed before fn runs: fn may call again and grow the array. */
		call = c->calls[i];
		c->calls[i] = c->calls[--c->ncalls];
		call.fn(call.arg, reply);
		return;
	}
	if (reply->fd >= 0)
		close(reply->fd);
}

static void
ipc_client_on_read(evutil_socket_t fd, short what, void *arg)
{
	struct ipc_client *c = arg;
	struct ipc_msg reply;
	int rc;

	c->depth++;
	for (int i = 0; i < IPC_CLIENT_BATCH_MAX && !c->dead && !c->doomed; i++) {
		rc = ipc_recv(c->sock, &c->storage, &reply);
		if (rc == 1)
			ipc_client_dispatch(c, &reply);
		else if (rc == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		else if (rc != -2)	/* -2: malformed, already dropped */
			ipc_client_die(c);
	}
	if (c->dead && !c->doomed)
		ipc_client_fail_all(c);
	c->depth--;
	ipc_client_settle(c);
}

static void
ipc_client_on_write(evutil_socket_t fd, short what, void *arg)
{
	struct ipc_client *c = arg;
	struct ipc_out *o;

	while ((o = c->out_head) != NULL) {
		if (ipc_send_raw(c->sock, o->wire.data, o->wire.len, o->fd) == -1) {
			if (errno == EAGAIN || errno == EWOULDBLOCK ||
			    errno == ENOBUFS)
				event_add(c->wev, NULL);
			else
				ipc_client_die(c);
			return;
		}
		c->out_head = o->next;
		if (c->out_head == NULL)
			c->out_tail = NULL;
		c->nout--;
		ipc_client_out_free(o);
	}
}

struct ipc_client *
ipc_client_new(struct event_base *base, int sock)
{
	struct ipc_client *c = xcalloc(1, sizeof(*c));

	c->base = base;
	c->sock = sock;
	c->next_id = 1;
	buf_init(&c->storage, IPC_MSG_MAX);
	c->rev = event_new(base, sock, EV_READ | EV_PERSIST, ipc_client_on_read, c);
	c->wev = event_new(base, sock, EV_WRITE, ipc_client_on_write, c);
	c->fail_ev = event_new(base, -1, 0, ipc_client_on_fail, c);
	if (c->rev == NULL || c->wev == NULL || c->fail_ev == NULL)
		fatal("ipc_client_new: event_new failed");
	if (event_add(c->rev, NULL) == -1)
		fatal("ipc_client_new: event_add failed");
	return c;
}

/* Keeps an encoded request until the socket is writable; owns wire. */
static int
ipc_client_enqueue(struct ipc_client *c, const struct buf *wire, int fd)
{
	struct ipc_out *o;
	int dupfd = -1;

	if (c->nout >= IPC_CLIENT_QUEUE_MAX)
		return -1;
	/* The caller may close its descriptor once we return. */
	if (fd >= 0 && (dupfd = fcntl(fd, F_DUPFD_CLOEXEC, 0)) == -1)
		return -1;
	o = xcalloc(1, sizeof(*o));
	o->wire = *wire;
	o->fd = dupfd;
	if (c->out_tail != NULL)
		c->out_tail->next = o;
	else
		c->out_head = o;
	c->out_tail = o;
	c->nout++;
	event_add(c->wev, NULL);
	return 0;
}

/*
 * Sends the encoded request now, or queues it behind earlier ones so the
 * peer sees requests in call order. 0 sent or queued, 1 fatal send error
 * (the client dies), -1 the request is refused.
 */
static int
ipc_client_push(struct ipc_client *c, struct buf *wire, int fd)
{
	if (c->out_head == NULL) {
		if (ipc_send_raw(c->sock, wire->data, wire->len, fd) == 0) {
			buf_wipe(wire);	/* may hold a password (IPCM_AUTH) */
			return 0;
		}
		if (errno == EMSGSIZE)
			return -1;
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOBUFS)
			return 1;
	}
	return ipc_client_enqueue(c, wire, fd);
}

int
ipc_client_call(struct ipc_client *c, struct ipc_msg *req,
    ipc_reply_fn fn, void *arg)
{
	struct buf wire;
	int rc = 0;

	if (c->doomed || fn == NULL || c->ncalls >= IPC_CLIENT_PENDING_MAX)
		return -1;
	req->id = c->next_id++;
	if (c->next_id == 0)	/* id 0 is never used, so it marks nothing */
		c->next_id = 1;
	if (!c->dead) {
		buf_init(&wire, IPC_MSG_MAX);
		if (ipc_msg_encode(req, &wire) == -1 ||
		    (rc = ipc_client_push(c, &wire, req->fd)) == -1) {
			buf_wipe(&wire);
			return -1;
		}
		if (rc == 1)
			buf_wipe(&wire);
	}
	if (c->ncalls == c->calls_cap) {
		c->calls_cap = c->calls_cap ? c->calls_cap * 2 : 16;
		c->calls = xrealloc(c->calls, c->calls_cap * sizeof(*c->calls));
	}
	c->calls[c->ncalls++] = (struct ipc_call){ req->id, fn, arg };
	/* Dead or dying: fail on the loop, never inside this call. */
	if (c->dead || rc == 1)
		ipc_client_die(c);
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

	*cp = NULL;
	if (c == NULL || c->doomed)
		return;
	c->doomed = true;
	ipc_client_settle(c);
}
