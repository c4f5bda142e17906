/*
 * milter_fake: for the milter unit tests only (header-only, never in
 * libpostern). A fake milter, a thread with a blocking socket on
 * 127.0.0.1 (or a unix socket) that records every packet it gets as a
 * line of text and answers from a script; and the client side: a message
 * file, milter_run_start() on an event base, the result taken out of
 * done. Include after <cmocka.h>.
 */
#ifndef POSTERN_MILTER_FAKE_H
#define POSTERN_MILTER_FAKE_H

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "filter/milter_int.h"

#define ALL_ACTIONS	0x3f	/* every action milter.c allows */

/* ---- the fake milter -------------------------------------------------- */

struct fake {
	int		 lfd;
	struct filter_endpoint ep;
	pthread_t	 th;
	/* script */
	uint32_t	 version, actions, protocol;
	char		 optneg_cmd;
	const char	*eom;		/* raw replies at 'E' (default: 'c') */
	size_t		 eom_len;
	char		 at_cmd;	/* at the at_n-th at_cmd (1 = first) */
	int		 at_n;
	const char	*at;		/* ... these raw bytes instead */
	size_t		 at_len;
	char		 stall_cmd;	/* no reply from this command on */
	char		 close_cmd;	/* close when this command comes */
	char		 deaf_cmd;	/* stop reading when it comes, until
					 * fake_end() */
	int		 quit;		/* fake_end() says so (atomic) */
	/* record */
	struct buf	 trace, body;
	int		 counts[256];
};

/* A packet in the wire form into out; its length. */
static inline size_t
pkt(char *out, char cmd, const void *data, size_t len)
{
	uint32_t n = htonl((uint32_t)len + 1);

	memcpy(out, &n, 4);
	out[4] = cmd;
	if (len > 0)
		memcpy(out + 5, data, len);
	return len + 5;
}

static inline int
read_full(int fd, void *p, size_t n)
{
	while (n > 0) {
		ssize_t r = read(fd, p, n);

		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p = (char *)p + r;
		n -= (size_t)r;
	}
	return 0;
}

static inline void
write_full(int fd, const void *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w <= 0)
			return;
		p = (const char *)p + w;
		n -= (size_t)w;
	}
}

/* The strings of a packet, "|" between them, LF shown as \n. */
static inline void
trace_strs(struct buf *t, const char *d, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (d[i] == '\0')
			(void)buf_append(t, i + 1 < n ? "|" : "", i + 1 < n ? 1 : 0);
		else if (d[i] == '\n')
			(void)buf_append(t, "\\n", 2);
		else
			(void)buf_append(t, d + i, 1);
	}
}

static inline void
fake_record(struct fake *f, char cmd, const char *d, size_t n)
{
	struct buf *t = &f->trace;
	uint32_t w[3];
	uint16_t port;

	(void)buf_append(t, &cmd, 1);
	switch (cmd) {
	case 'O':
		memcpy(w, d, sizeof(w));
		(void)buf_printf(t, " %u 0x%x 0x%x", ntohl(w[0]), ntohl(w[1]),
		    ntohl(w[2]));
		break;
	case 'D':	/* "D<stage> name=value ..." */
		(void)buf_append(t, d, 1);
		for (size_t i = 1, k = 0; i < n; k++) {
			size_t l = strnlen(d + i, n - i);

			(void)buf_append(t, k % 2 == 0 ? " " : "=", 1);
			(void)buf_append(t, d + i, l);
			i += l + 1;
		}
		break;
	case 'C': {
		size_t h = strlen(d);

		(void)buf_printf(t, " %s %c", d, d[h + 1]);
		if (d[h + 1] != 'U') {
			memcpy(&port, d + h + 2, 2);
			(void)buf_printf(t, " %u %s", ntohs(port), d + h + 4);
		}
		break;
	}
	case 'B':
		(void)buf_printf(t, " %zu", n);
		(void)buf_append(&f->body, d, n);
		break;
	default:
		if (n > 0) {
			(void)buf_append(t, " ", 1);
			trace_strs(t, d, n);
		}
	}
	(void)buf_append(t, "\n", 1);
}

static inline uint32_t
fake_nr(char cmd)
{
	switch (cmd) {
	case 'C': return SMFIP_NR_CONN;
	case 'H': return SMFIP_NR_HELO;
	case 'M': return SMFIP_NR_MAIL;
	case 'R': return SMFIP_NR_RCPT;
	case 'T': return SMFIP_NR_DATA;
	case 'L': return SMFIP_NR_HDR;
	case 'N': return SMFIP_NR_EOH;
	case 'B': return SMFIP_NR_BODY;
	default: return 0;
	}
}

/* One connection: packets in, replies out, until EOF or a close. */
static inline void
fake_serve(struct fake *f, int fd)
{
	char *d = malloc(MILTER_PACKET_MAX + 8), out[64];
	bool stalled = false;
	uint32_t n;
	char cmd;

	while (read_full(fd, &n, 4) == 0) {
		n = ntohl(n);
		if (n == 0 || n > MILTER_PACKET_MAX || read_full(fd, d, n) == -1)
			break;
		cmd = d[0];
		fake_record(f, cmd, d + 1, n - 1);
		__atomic_add_fetch(&f->counts[(unsigned char)cmd], 1,
		    __ATOMIC_SEQ_CST);
		if (cmd == f->close_cmd)
			break;
		/* A milter that no longer reads: our socket buffers fill. */
		if (cmd == f->deaf_cmd) {
			while (!__atomic_load_n(&f->quit, __ATOMIC_SEQ_CST))
				nanosleep(&(struct timespec){ .tv_nsec = 10000000 },
				    NULL);
			break;
		}
		if (cmd == f->stall_cmd)
			stalled = true;
		if (stalled || cmd == 'D' || cmd == 'A' || cmd == 'Q')
			continue;
		if (cmd == 'O') {
			uint32_t w[3] = { htonl(f->version), htonl(f->actions),
			    htonl(f->protocol) };

			write_full(fd, out, pkt(out, f->optneg_cmd, w, sizeof(w)));
		} else if (cmd == f->at_cmd && f->counts[(unsigned char)cmd] ==
		    f->at_n) {
			write_full(fd, f->at, f->at_len);
		} else if (cmd == 'E' && f->eom != NULL) {
			write_full(fd, f->eom, f->eom_len);
		} else if ((f->protocol & fake_nr(cmd)) == 0) {
			write_full(fd, out, pkt(out, 'c', NULL, 0));
		}
	}
	free(d);
	close(fd);
}

static inline void *
fake_main(void *arg)
{
	struct fake *f = arg;
	int fd = accept(f->lfd, NULL, NULL);
	struct timeval tv = { 10, 0 };

	if (fd == -1)
		return NULL;
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (f->deaf_cmd != 0)	/* little room for what is not read */
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &(int){ 4096 },
		    sizeof(int));
	fake_serve(f, fd);
	return NULL;
}

static inline void
fake_init(struct fake *f)
{
	memset(f, 0, sizeof(*f));
	f->version = 6;
	f->actions = ALL_ACTIONS;
	f->optneg_cmd = 'O';
	f->lfd = -1;
	buf_init(&f->trace, 1 << 20);
	buf_init(&f->body, 64 << 20);
}

static inline void
fake_listen_inet(struct fake *f)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
	    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sin);
	char addr[64], err[160];

	f->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(f->lfd >= 0);
	assert_int_equal(bind(f->lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(f->lfd, 4), 0);
	assert_int_equal(getsockname(f->lfd, (struct sockaddr *)&sin, &len), 0);
	snprintf(addr, sizeof(addr), "inet:127.0.0.1:%u", ntohs(sin.sin_port));
	assert_int_equal(filter_endpoint_parse(addr, &f->ep, err, sizeof(err)), 0);
}

static inline void
fake_start(struct fake *f)
{
	if (f->lfd == -1)
		fake_listen_inet(f);
	assert_int_equal(pthread_create(&f->th, NULL, fake_main, f), 0);
}

/* The conversation is over: the thread's records are ours to read. */
static inline void
fake_end(struct fake *f)
{
	__atomic_store_n(&f->quit, 1, __ATOMIC_SEQ_CST);
	pthread_join(f->th, NULL);
	close(f->lfd);
}

static inline void
fake_free(struct fake *f)
{
	buf_free(&f->trace);
	buf_free(&f->body);
}

/* ---- the client side -------------------------------------------------- */

struct run {
	struct event_base	*base;
	int			 fd;		/* the message file */
	struct milter_msg	 msg;
	int			 ndone;
	struct milter_result	 res;		/* moved out of done's */
};

static const char *const rcpts2[] = { "bob@example.org", "carol@example.org" };

static const char MSG[] =
    "Received: from client.example.net\n"
    "\tby mx.example.org\n"
    "From: <alice@example.org>\n"
    "Subject:  two spaces\n"
    "X-Empty:\n"
    "\n"
    "Hello\n"
    "World\n";

static inline int
scratch_open(void *arg)
{
	char path[] = "/tmp/postern-milter-test-XXXXXX";
	int fd = mkstemp(path);

	(void)arg;
	if (fd != -1)
		unlink(path);
	return fd;
}

static inline int
scratch_none(void *arg)
{
	(void)arg;
	return -1;
}

/* The message file: 7 bytes of something else, then the message. */
static inline void
run_init(struct run *r, const char *msg, size_t len)
{
	memset(r, 0, sizeof(*r));
	r->base = event_base_new();
	r->fd = scratch_open(NULL);
	assert_true(r->fd >= 0);
	assert_int_equal(write(r->fd, "PREFIX\n", 7), 7);
	assert_int_equal(write(r->fd, msg, len), (ssize_t)len);
	r->res.body_fd = -1;
	r->msg = (struct milter_msg){
		.hostname = "mx.example.org", .queue_id = "QID123",
		.client_ip = "192.0.2.1", .client_ptr = "client.example.net",
		.helo = "client.example.net", .auth_user = "alice@example.org",
		.tls_version = "TLSv1.3", .from = "alice@example.org",
		.rcpts = rcpts2, .nrcpts = 2, .fd = r->fd, .off = 7,
		.len = len, .scratch = scratch_open, .body_max = 1 << 20,
	};
}

static inline void
run_free(struct run *r)
{
	milter_result_clear(&r->res);
	close(r->fd);
	event_base_free(r->base);
}

static inline void
run_done(void *arg, struct milter_result *res)
{
	struct run *r = arg;

	r->ndone++;
	/* Take everything out, as the session does. */
	r->res = *res;
	res->mods = NULL;
	res->nmods = 0;
	res->body_fd = -1;
}

static inline long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static inline void
run_loop(struct run *r)
{
	long end = now_ms() + 10000;

	while (r->ndone == 0) {
		assert_true(now_ms() < end);
		event_base_loop(r->base, EVLOOP_ONCE);
	}
	/* Nothing more, ever. */
	event_base_loop(r->base, EVLOOP_NONBLOCK);
	assert_int_equal(r->ndone, 1);
}

/* One whole conversation with f's script. */
static inline void
converse(struct fake *f, struct run *r)
{
	struct milter_run *m;

	fake_start(f);
	m = milter_run_start(r->base, &f->ep, &r->msg, run_done, r);
	assert_non_null(m);
	assert_int_equal(r->ndone, 0);	/* never inside the call */
	run_loop(r);
	fake_end(f);
}

static inline void
converse_msg(struct fake *f, struct run *r)
{
	run_init(r, MSG, sizeof(MSG) - 1);
	converse(f, r);
}

/* The verdict for a reply at end of body. */
static inline enum milter_verdict
verdict_eom(const char *eom, size_t len, struct run *r)
{
	struct fake f;

	fake_init(&f);
	f.eom = eom;
	f.eom_len = len;
	converse_msg(&f, r);
	fake_free(&f);
	return r->res.verdict;
}

#endif
