/*
 * Unit tests for ipc: codec round trip and every malformed form, limits at
 * max and max + 1, SOCK_SEQPACKET transport with descriptor passing, and the
 * asynchronous client against a small echo server in the same event loop.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ipc/ipc.h"

#define RAW_MAX	(IPC_MSG_MAX + 16)

/* ---- raw wire builders, independent of the encoder under test ---- */

static size_t
raw_put(uint8_t *p, size_t off, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[off + i] = (uint8_t)(v >> (8 * i));
	return off + (size_t)n;
}

static size_t
raw_hdr(uint8_t *p, uint32_t len, uint16_t version)
{
	size_t off = raw_put(p, 0, len, 4);

	off = raw_put(p, off, version, 2);
	off = raw_put(p, off, 7, 2);
	return raw_put(p, off, 42, 4);
}

static size_t
raw_field(uint8_t *p, size_t off, uint16_t key, uint32_t len, const char *data)
{
	off = raw_put(p, off, key, 2);
	off = raw_put(p, off, len, 4);
	if (data != NULL)
		memcpy(p + off, data, len);
	return off + (data != NULL ? len : 0);
}

/* Patches the length header to the real size. */
static size_t
raw_fix(uint8_t *p, size_t len)
{
	raw_put(p, 0, len, 4);
	return len;
}

static enum parse_rc
decode(const uint8_t *p, size_t len)
{
	struct ipc_msg m;

	return ipc_msg_decode(p, len, &m);
}

/* ---- codec ---- */

static void
test_round_trip(void **state)
{
	struct ipc_msg m, d;
	struct buf b, b2;
	uint64_t v = 0;
	char *s;

	(void)state;
	ipc_msg_init(&m, 3, 99);
	assert_int_equal(m.fd, -1);
	assert_int_equal(ipc_msg_add_str(&m, 1, "alice@example.org"), 0);
	assert_int_equal(ipc_msg_add_u64(&m, 2, 0x0102030405060708ULL), 0);
	assert_int_equal(ipc_msg_add(&m, 3, NULL, 0), 0);
	assert_int_equal(ipc_msg_add(&m, 4, "\0\xff", 2), 0);
	assert_int_equal(ipc_msg_add(&m, 5, NULL, 1), -1);
	buf_init(&b, IPC_MSG_MAX);
	assert_int_equal(ipc_msg_encode(&m, &b), 0);
	assert_int_equal(b.len, IPC_HDR_LEN + 4 * 6 + 17 + 8 + 0 + 2);
	/* u64 is little-endian on the wire. */
	assert_int_equal((uint8_t)b.data[IPC_HDR_LEN + 6 + 17 + 6], 0x08);
	assert_int_equal(ipc_msg_decode((uint8_t *)b.data, b.len, &d), PARSE_OK);
	assert_int_equal(d.type, 3);
	assert_int_equal(d.id, 99);
	assert_int_equal(d.nf, 4);
	assert_int_equal(d.fd, -1);
	s = ipc_msg_get_str(&d, 1, 64);
	assert_string_equal(s, "alice@example.org");
	free(s);
	assert_int_equal(ipc_msg_get_u64(&d, 2, &v), 0);
	assert_true(v == 0x0102030405060708ULL);
	assert_int_equal(ipc_msg_get(&d, 3)->len, 0);
	assert_memory_equal(ipc_msg_get(&d, 4)->data, "\0\xff", 2);
	assert_null(ipc_msg_get(&d, 9));
	buf_init(&b2, IPC_MSG_MAX);
	assert_int_equal(ipc_msg_encode(&d, &b2), 0);
	assert_int_equal(b2.len, b.len);
	assert_memory_equal(b2.data, b.data, b.len);
	buf_free(&b);
	buf_free(&b2);
}

static void
test_decode_malformed(void **state)
{
	uint8_t *p = calloc(1, RAW_MAX);
	size_t n;

	(void)state;
	n = raw_hdr(p, IPC_HDR_LEN, IPC_VERSION);
	assert_int_equal(decode(p, n), PARSE_OK);
	assert_int_equal(decode(p, n - 1), PARSE_INCOMPLETE);	/* short header */
	assert_int_equal(decode(p, 0), PARSE_INCOMPLETE);
	raw_hdr(p, IPC_HDR_LEN, IPC_VERSION + 1);
	assert_int_equal(decode(p, n), PARSE_INVALID);		/* bad version */
	raw_hdr(p, IPC_HDR_LEN, 0);
	assert_int_equal(decode(p, n), PARSE_INVALID);
	raw_hdr(p, IPC_HDR_LEN + 1, IPC_VERSION);
	assert_int_equal(decode(p, n + 1), PARSE_INVALID);	/* trailing byte */
	assert_int_equal(decode(p, n), PARSE_INVALID);		/* length mismatch */
	raw_hdr(p, IPC_HDR_LEN - 1, IPC_VERSION);
	assert_int_equal(decode(p, n), PARSE_INVALID);

	/* A field whose length runs past the end, by one and by a lot. */
	n = raw_field(p, raw_hdr(p, 0, IPC_VERSION), 1, 4, NULL);
	memcpy(p + n, "abc", 3);
	n += 3;
	assert_int_equal(decode(p, raw_fix(p, n)), PARSE_INVALID);
	n = raw_field(p, raw_hdr(p, 0, IPC_VERSION), 1, 0xffffffffu, NULL);
	assert_int_equal(decode(p, raw_fix(p, n)), PARSE_INVALID);
	n = raw_field(p, raw_hdr(p, 0, IPC_VERSION), 1, 3, "abc");
	assert_int_equal(decode(p, raw_fix(p, n)), PARSE_OK);
	/* A partial field header is trailing garbage, not an empty field. */
	memset(p + n, 0, 6);
	assert_int_equal(decode(p, raw_fix(p, n + 5)), PARSE_INVALID);
	assert_int_equal(decode(p, raw_fix(p, n + 6)), PARSE_OK);

	/* IPC_FIELDS_MAX fields, then one more. */
	n = raw_hdr(p, 0, IPC_VERSION);
	for (int i = 0; i < IPC_FIELDS_MAX; i++)
		n = raw_field(p, n, (uint16_t)i, 0, "");
	assert_int_equal(decode(p, raw_fix(p, n)), PARSE_OK);
	n = raw_field(p, n, 99, 0, "");
	assert_int_equal(decode(p, raw_fix(p, n)), PARSE_INVALID);
	free(p);
}

static void
test_msg_max(void **state)
{
	uint8_t *p = calloc(1, RAW_MAX);
	char *big = calloc(1, IPC_MSG_MAX);
	size_t room = IPC_MSG_MAX - IPC_HDR_LEN - 6, n;
	struct ipc_msg m;
	struct buf b;

	(void)state;
	/* Decoder: exactly IPC_MSG_MAX, then one more byte. */
	n = raw_field(p, raw_hdr(p, 0, IPC_VERSION), 1, (uint32_t)room, big);
	assert_int_equal(n, IPC_MSG_MAX);
	assert_int_equal(decode(p, raw_fix(p, n)), PARSE_OK);
	n = raw_field(p, raw_hdr(p, 0, IPC_VERSION), 1, (uint32_t)room + 1, big);
	assert_int_equal(decode(p, raw_fix(p, n)), PARSE_TOO_LONG);

	/* Builder: the same limits, and encode refuses a buf that is too small. */
	ipc_msg_init(&m, 1, 1);
	assert_int_equal(ipc_msg_add(&m, 1, big, room + 1), -1);
	assert_int_equal(ipc_msg_add(&m, 1, big, room), 0);
	assert_int_equal(ipc_msg_add(&m, 2, NULL, 0), -1);
	buf_init(&b, IPC_MSG_MAX - 1);
	assert_int_equal(ipc_msg_encode(&m, &b), -1);
	assert_int_equal(b.len, 0);
	buf_init(&b, IPC_MSG_MAX);
	assert_int_equal(ipc_msg_encode(&m, &b), 0);
	assert_int_equal(b.len, IPC_MSG_MAX);
	buf_free(&b);

	ipc_msg_init(&m, 1, 1);
	for (int i = 0; i < IPC_FIELDS_MAX; i++)
		assert_int_equal(ipc_msg_add_u64(&m, (uint16_t)i, (uint64_t)i), 0);
	assert_int_equal(ipc_msg_add_u64(&m, 99, 1), -1);
	assert_int_equal(ipc_msg_add(&m, 99, "x", 1), -1);
	free(big);
	free(p);
}

static void
test_get_str_and_u64(void **state)
{
	struct ipc_msg m;
	uint64_t v = 7;
	char *s;

	(void)state;
	ipc_msg_init(&m, 1, 1);
	ipc_msg_add(&m, 1, "ab\0cd", 5);
	ipc_msg_add_str(&m, 2, "abcd");
	ipc_msg_add(&m, 3, "1234567", 7);
	ipc_msg_add(&m, 4, "123456789", 9);
	ipc_msg_add(&m, 5, NULL, 0);
	assert_null(ipc_msg_get_str(&m, 1, 64));	/* NUL inside */
	assert_null(ipc_msg_get_str(&m, 2, 3));		/* over max */
	s = ipc_msg_get_str(&m, 2, 4);			/* at max */
	assert_string_equal(s, "abcd");
	free(s);
	s = ipc_msg_get_str(&m, 5, 0);
	assert_string_equal(s, "");
	free(s);
	assert_null(ipc_msg_get_str(&m, 9, 64));	/* absent */
	assert_int_equal(ipc_msg_get_u64(&m, 3, &v), -1);
	assert_int_equal(ipc_msg_get_u64(&m, 4, &v), -1);
	assert_int_equal(ipc_msg_get_u64(&m, 5, &v), -1);
	assert_int_equal(ipc_msg_get_u64(&m, 9, &v), -1);
	assert_true(v == 7);
}

/* ---- transport ---- */

static void
pair(int sv[2], bool nonblock)
{
	int type = SOCK_SEQPACKET | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0);

	assert_int_equal(socketpair(AF_UNIX, type, 0, sv), 0);
}

static int
fd_count(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	assert_non_null(d);
	while (readdir(d) != NULL)
		n++;
	closedir(d);
	return n;
}

static void
test_send_recv_fd(void **state)
{
	struct ipc_msg m, r;
	struct stat a, b;
	struct buf st;
	int sv[2];
	FILE *f = tmpfile();
	uint64_t v = 0;

	(void)state;
	pair(sv, true);
	buf_init(&st, IPC_MSG_MAX);
	ipc_msg_init(&m, 5, 77);
	ipc_msg_add_u64(&m, 1, 1234);
	assert_int_equal(ipc_send(sv[0], &m), 0);
	m.fd = fileno(f);
	assert_int_equal(ipc_send(sv[0], &m), 0);

	assert_int_equal(ipc_recv(sv[1], &st, &r), 1);
	assert_int_equal(r.fd, -1);
	assert_int_equal(r.type, 5);
	assert_int_equal(r.id, 77);
	assert_int_equal(ipc_msg_get_u64(&r, 1, &v), 0);
	assert_true(v == 1234);

	assert_int_equal(ipc_recv(sv[1], &st, &r), 1);
	assert_true(r.fd >= 0 && r.fd != fileno(f));
	assert_int_equal(fstat(fileno(f), &a), 0);
	assert_int_equal(fstat(r.fd, &b), 0);
	assert_true(a.st_dev == b.st_dev && a.st_ino == b.st_ino);
	assert_true(fcntl(r.fd, F_GETFD) & FD_CLOEXEC);
	close(r.fd);

	assert_int_equal(ipc_recv(sv[1], &st, &r), -1);
	assert_int_equal(errno, EAGAIN);
	close(sv[0]);
	assert_int_equal(ipc_recv(sv[1], &st, &r), 0);
	close(sv[1]);
	fclose(f);
	buf_free(&st);
}

static void
send_fds(int sock, const void *data, size_t len, const int *fds, int nfd)
{
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int) * 8)];
	} cbuf;
	struct iovec iov = { (void *)data, len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
	    .msg_control = cbuf.buf,
	    .msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfd) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);

	memset(&cbuf, 0, sizeof(cbuf));
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfd);
	memcpy(CMSG_DATA(cm), fds, sizeof(int) * (size_t)nfd);
	assert_int_equal(sendmsg(sock, &mh, 0), (ssize_t)len);
}

static void
test_recv_refuses(void **state)
{
	uint8_t *p = calloc(1, RAW_MAX);
	int sv[2], fds[8], before;
	struct ipc_msg r;
	struct buf st, small;
	size_t n = raw_hdr(p, IPC_HDR_LEN, IPC_VERSION);

	(void)state;
	pair(sv, true);
	buf_init(&st, IPC_MSG_MAX);
	for (int i = 0; i < 8; i++)
		fds[i] = STDERR_FILENO;
	before = fd_count();

	/* Malformed, with a descriptor: dropped and the descriptor closed. */
	send_fds(sv[0], "hello", 5, fds, 1);
	assert_int_equal(ipc_recv(sv[1], &st, &r), -2);
	assert_int_equal(r.fd, -1);
	/* Two descriptors, then more than the control buffer holds. */
	send_fds(sv[0], p, n, fds, 2);
	assert_int_equal(ipc_recv(sv[1], &st, &r), -2);
	send_fds(sv[0], p, n, fds, 8);
	assert_int_equal(ipc_recv(sv[1], &st, &r), -2);
	assert_int_equal(fd_count(), before);
	/* Larger than IPC_MSG_MAX: truncated by the kernel, so refused. */
	raw_fix(p, IPC_MSG_MAX + 1);
	assert_int_equal(send(sv[0], p, IPC_MSG_MAX + 1, 0), IPC_MSG_MAX + 1);
	assert_int_equal(ipc_recv(sv[1], &st, &r), -2);
	/* The socket is still usable after all that. */
	raw_fix(p, n);
	send_fds(sv[0], p, n, fds, 1);
	assert_int_equal(ipc_recv(sv[1], &st, &r), 1);
	assert_true(r.fd >= 0);
	close(r.fd);
	assert_int_equal(fd_count(), before);

	buf_init(&small, IPC_MSG_MAX - 1);
	assert_int_equal(ipc_recv(sv[1], &small, &r), -1);
	assert_int_equal(errno, EINVAL);
	close(sv[0]);
	close(sv[1]);
	buf_free(&st);
	free(p);
}

/* ---- asynchronous client against an echo server in the same loop ---- */

/*
 * The server answers each request with type + 100 and field 1 doubled. It
 * reads everything waiting, then answers what it can; in `reverse` mode it
 * waits for two requests and answers the second first.
 */
struct srv {
	int		 fd;
	struct event	*ev;
	struct buf	 st;
	uint32_t	 ids[8192];
	uint64_t	 vals[8192];
	size_t		 n, sent;
	bool		 reverse;
};

static void
srv_reply(struct srv *s, size_t i)
{
	struct ipc_msg m;

	ipc_msg_init(&m, 100, s->ids[i]);
	ipc_msg_add_u64(&m, 1, s->vals[i] * 2);
	assert_int_equal(ipc_send(s->fd, &m), 0);
}

static void
srv_pump(struct srv *s)
{
	struct ipc_msg m;
	uint64_t v;
	int rc = 1;

	while (s->n < 8192 && (rc = ipc_recv(s->fd, &s->st, &m)) == 1) {
		v = 0;
		ipc_msg_get_u64(&m, 1, &v);
		s->ids[s->n] = m.id;
		s->vals[s->n++] = v;
	}
	if (rc == 0)	/* the client is gone: stop polling a readable EOF */
		event_del(s->ev);
	if (s->reverse) {
		if (s->n == 2 && s->sent == 0) {
			srv_reply(s, 1);
			srv_reply(s, 0);
			s->sent = 2;
		}
		return;
	}
	/* Replies are small; stop at a full queue and go on next time. */
	for (; s->sent < s->n; s->sent++) {
		struct ipc_msg r;

		ipc_msg_init(&r, 100, s->ids[s->sent]);
		ipc_msg_add_u64(&r, 1, s->vals[s->sent] * 2);
		if (ipc_send(s->fd, &r) == -1) {
			assert_int_equal(errno, EAGAIN);
			break;
		}
	}
}

static void
srv_on_read(evutil_socket_t fd, short what, void *arg)
{
	srv_pump(arg);
}

struct fixture {
	struct event_base *base;
	struct ipc_client *c;
	struct srv	*s;
};

static int
setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	int sv[2];

	pair(sv, true);
	fx->base = event_base_new();
	fx->c = ipc_client_new(fx->base, sv[0]);
	fx->s = calloc(1, sizeof(*fx->s));
	fx->s->fd = sv[1];
	buf_init(&fx->s->st, IPC_MSG_MAX);
	fx->s->ev = event_new(fx->base, sv[1], EV_READ | EV_PERSIST,
	    srv_on_read, fx->s);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;

	ipc_client_free(&fx->c);
	event_free(fx->s->ev);
	if (fx->s->fd >= 0)
		close(fx->s->fd);
	buf_free(&fx->s->st);
	free(fx->s);
	event_base_free(fx->base);
	free(fx);
	return 0;
}

static void
srv_close(struct srv *s)
{
	event_del(s->ev);
	close(s->fd);
	s->fd = -1;
}

struct got {
	int		 calls;
	bool		 null;
	uint64_t	 val;
	int		 order;
	int		*seq;
	struct ipc_client **free_me;
};

static void
on_reply(void *arg, const struct ipc_msg *reply)
{
	struct got *g = arg;

	g->calls++;
	g->null = reply == NULL;
	if (reply != NULL) {
		assert_int_equal(reply->type, 100);
		assert_int_equal(ipc_msg_get_u64(reply, 1, &g->val), 0);
	}
	if (g->seq != NULL)
		g->order = ++*g->seq;
	if (g->free_me != NULL)
		ipc_client_free(g->free_me);
}

static int
call(struct fixture *fx, uint64_t v, struct got *g)
{
	struct ipc_msg m;

	ipc_msg_init(&m, 1, 0);
	ipc_msg_add_u64(&m, 1, v);
	return ipc_client_call(fx->c, &m, on_reply, g);
}

/* Runs the loop until *count reaches want (bounded, so a bug fails fast). */
static void
run_until(struct fixture *fx, const int *count, int want)
{
	for (int i = 0; i < 100000 && *count < want; i++) {
		event_base_loop(fx->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
		if (fx->s->fd >= 0)
			srv_pump(fx->s);
	}
	assert_int_equal(*count, want);
}

static void
test_client_out_of_order(void **state)
{
	struct fixture *fx = *state;
	struct got a = { 0 }, b = { 0 };
	int seq = 0, done = 0;

	fx->s->reverse = true;
	event_add(fx->s->ev, NULL);
	a.seq = b.seq = &seq;
	assert_int_equal(call(fx, 10, &a), 0);
	assert_int_equal(call(fx, 20, &b), 0);
	assert_int_equal(ipc_client_pending(fx->c), 2);
	run_until(fx, &seq, 2);
	done = a.calls + b.calls;
	assert_int_equal(done, 2);
	assert_false(a.null || b.null);
	assert_true(a.val == 20 && b.val == 40);
	assert_int_equal(b.order, 1);
	assert_int_equal(a.order, 2);
	assert_int_equal(ipc_client_pending(fx->c), 0);
}

static void
test_client_peer_close(void **state)
{
	struct fixture *fx = *state;
	struct got a = { 0 }, b = { 0 }, late = { 0 };

	assert_int_equal(call(fx, 1, &a), 0);
	assert_int_equal(call(fx, 2, &b), 0);
	srv_close(fx->s);
	run_until(fx, &b.calls, 1);
	assert_int_equal(a.calls, 1);
	assert_true(a.null && b.null);
	assert_int_equal(ipc_client_pending(fx->c), 0);

	/* After close: accepted, but failed on the loop, never synchronously. */
	assert_int_equal(call(fx, 3, &late), 0);
	assert_int_equal(late.calls, 0);
	run_until(fx, &late.calls, 1);
	assert_true(late.null);
}

static void
test_client_send_fails(void **state)
{
	struct fixture *fx = *state;
	struct got a = { 0 };

	/* The send itself fails (EPIPE) before the loop has seen the close. */
	srv_close(fx->s);
	assert_int_equal(call(fx, 1, &a), 0);
	assert_int_equal(a.calls, 0);
	assert_int_equal(ipc_client_pending(fx->c), 1);
	run_until(fx, &a.calls, 1);
	assert_true(a.null);
	assert_int_equal(ipc_client_pending(fx->c), 0);
}

static void
test_client_queue(void **state)
{
	struct fixture *fx = *state;
	static struct got g[3000];
	int ok = 0, done = 0;

	/* The server does not read yet, so the socket fills and calls queue. */
	memset(g, 0, sizeof(g));
	while (ok < 3000 && call(fx, (uint64_t)ok, &g[ok]) == 0)
		ok++;
	assert_true(ok > 1024 && ok < 3000);
	assert_int_equal(ipc_client_pending(fx->c), ok);
	event_add(fx->s->ev, NULL);
	for (int i = 0; i < 100000 && done < ok; i++) {
		event_base_loop(fx->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
		srv_pump(fx->s);
		done = 0;
		for (int j = 0; j < ok; j++)
			done += g[j].calls;
	}
	assert_int_equal(done, ok);
	for (int j = 0; j < ok; j++) {
		assert_int_equal(g[j].calls, 1);
		assert_false(g[j].null);
		assert_true(g[j].val == 2 * (uint64_t)j);
	}
	/* Requests reached the server in call order. */
	for (size_t j = 1; j < fx->s->n; j++)
		assert_true(fx->s->ids[j] == fx->s->ids[j - 1] + 1);
	assert_int_equal(ipc_client_pending(fx->c), 0);
}

static void
test_client_drops_bad_replies(void **state)
{
	struct fixture *fx = *state;
	struct got a = { 0 };
	struct ipc_msg m, r;
	uint8_t junk[3] = { 1, 2, 3 };

	assert_int_equal(call(fx, 5, &a), 0);
	assert_int_equal(ipc_recv(fx->s->fd, &fx->s->st, &r), 1);
	assert_int_equal(send(fx->s->fd, junk, sizeof(junk), 0), 3);
	ipc_msg_init(&m, 100, r.id + 1000);	/* nobody asked */
	ipc_msg_add_u64(&m, 1, 0);
	assert_int_equal(ipc_send(fx->s->fd, &m), 0);
	for (int i = 0; i < 10; i++)
		event_base_loop(fx->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	assert_int_equal(a.calls, 0);
	assert_int_equal(ipc_client_pending(fx->c), 1);
	ipc_msg_init(&m, 100, r.id);
	ipc_msg_add_u64(&m, 1, 10);
	assert_int_equal(ipc_send(fx->s->fd, &m), 0);
	run_until(fx, &a.calls, 1);
	assert_false(a.null);
	assert_true(a.val == 10);
}

static void
test_client_free_fails_pending(void **state)
{
	struct fixture *fx = *state;
	struct got g[3] = { { 0 } };

	for (int i = 0; i < 3; i++)
		assert_int_equal(call(fx, 1, &g[i]), 0);
	ipc_client_free(&fx->c);
	assert_null(fx->c);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(g[i].calls, 1);
		assert_true(g[i].null);
	}
}

static void
test_client_free_in_callback(void **state)
{
	struct fixture *fx = *state;
	struct got a = { 0 }, b = { 0 };

	/* The first reply frees the client; the second call then fails. */
	fx->s->reverse = true;
	event_add(fx->s->ev, NULL);
	assert_int_equal(call(fx, 1, &a), 0);
	assert_int_equal(call(fx, 2, &b), 0);
	b.free_me = &fx->c;
	run_until(fx, &a.calls, 1);
	assert_null(fx->c);
	assert_int_equal(b.calls, 1);
	assert_false(b.null);
	assert_true(a.null);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_decode_malformed),
		cmocka_unit_test(test_msg_max),
		cmocka_unit_test(test_get_str_and_u64),
		cmocka_unit_test(test_send_recv_fd),
		cmocka_unit_test(test_recv_refuses),
		cmocka_unit_test_setup_teardown(test_client_out_of_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_client_peer_close, setup, teardown),
		cmocka_unit_test_setup_teardown(test_client_send_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_client_queue, setup, teardown),
		cmocka_unit_test_setup_teardown(test_client_drops_bad_replies, setup, teardown),
		cmocka_unit_test_setup_teardown(test_client_free_fails_pending, setup, teardown),
		cmocka_unit_test_setup_teardown(test_client_free_in_callback, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
