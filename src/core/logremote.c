/*
 * logremote: the relay of log lines to a log server, on the master's loop.
 * Owns the bounded buffer of formatted messages, the connection (UDP, RFC
 * 5426; TCP with octet counting, RFC 6587 3.4.1) with its back-off, the
 * children's datagram sockets, and the local reports of drops. Formatting
 * and the target string are logremote_fmt's. Never blocks: every socket is
 * non-blocking and nothing is waited for but the loop.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "core/logremote.h"
#include "core/logremote_fmt.h"
#include "core/xalloc.h"

/* What the kernel may hold for the log server besides our buffer. A fixed
 * send buffer also turns off TCP's autotuning (up to 4 MB on Linux), so a
 * server that stops reading shows in our counts soon. */
#define LOGREMOTE_TCP_SNDBUF	(64 * 1024)
#define LOGREMOTE_IOV_MAX	64	/* messages per sendmsg() */
#define LOGREMOTE_ROUNDS	16	/* sendmsg() calls per write event */
#define LOGREMOTE_SOURCE_BATCH	64	/* datagrams per read event */

enum logremote_state {
	LOGREMOTE_OFF,		/* no target, or it did not resolve */
	LOGREMOTE_DOWN,		/* waiting for the retry timer */
	LOGREMOTE_CONNECTING,	/* TCP connect in progress */
	LOGREMOTE_UP,
};

/* One message as it waits: "LEN SP" and the RFC 5424 message. UDP sends
 * from msg_off, TCP from 0 (RFC 6587 3.4.1 octet counting). */
struct logremote_msg {
	size_t	 len;
	size_t	 msg_off;
	char	 data[];
};

struct logremote_source {
	struct logremote	*r;
	struct logremote_source	*prev, *next;
	int			 fd;
	pid_t			 pid;
	struct event		*ev;
};

struct logremote {
	struct event_base	*base;
	const struct log_ctx	*log;
	struct logremote_fmt_id	 id;
	pid_t			 self;
	char			*target;	/* as configured; "" = off */
	bool			 resolved;	/* sa holds the target's address */
	enum logremote_proto	 proto;
	struct sockaddr_storage	 sa;
	socklen_t		 salen;

	enum logremote_state	 state;
	int			 fd;
	struct event		*rd_ev, *wr_ev, *conn_ev;	/* on fd */
	struct event		*retry_ev, *report_ev;
	unsigned		 backoff_first, backoff_max, backoff;	/* ms */
	struct timespec		 up_since;
	bool			 down_logged;	/* this outage is in the log */
	bool			 flushing;

	/* The buffer: a ring of at most LOGREMOTE_QUEUE_MSGS_MAX messages
	 * and LOGREMOTE_QUEUE_BYTES_MAX bytes; head_off bytes of the first
	 * are on the current TCP connection already. */
	struct logremote_msg	**ring;
	size_t			 head, count, bytes, head_off;

	/* Drops not yet in the local log, and those of the current episode
	 * (reports every report_msec while drops go on, then one more). */
	uint64_t		 unreported, episode;
	bool			 reporting;
	unsigned		 report_msec;

	struct logremote_stats	 st;
	struct buf		 fmt;		/* scratch: one formatted message */
	char			*rbuf;		/* one datagram, and one more byte */
	struct logremote_source	*sources;
};

static void logremote_connect(struct logremote *r);

static struct timeval
logremote_tv(unsigned msec)
{
	return (struct timeval){ (time_t)(msec / 1000),
	    (suseconds_t)(msec % 1000) * 1000 };
}

static void
logremote_drop(struct logremote *r, uint64_t n)
{
	struct timeval now = { 0, 0 };

	r->st.dropped += n;
	r->unreported += n;
	/* The first drop of an episode is reported on the next loop turn:
	 * never from here, which may be inside log_line_end(). */
	if (!r->reporting) {
		r->reporting = true;
		evtimer_add(r->report_ev, &now);
	}
}

static void
logremote_report_cb(evutil_socket_t fd, short what, void *arg)
{
	struct logremote *r = arg;
	struct timeval tv = logremote_tv(r->report_msec);
	char n[24];

	(void)fd;
	(void)what;
	if (r->unreported > 0) {
		snprintf(n, sizeof(n), "%llu", (unsigned long long)r->unreported);
		r->episode += r->unreported;
		r->unreported = 0;
		evtimer_add(r->report_ev, &tv);
		log_kv(r->log, LOGL_WARN, "log_remote_dropped", "count", n, NULL);
		return;
	}
	/* A whole period without a drop: the episode is over. */
	snprintf(n, sizeof(n), "%llu", (unsigned long long)r->episode);
	r->episode = 0;
	r->reporting = false;
	log_kv(r->log, LOGL_INFO, "log_remote_recovered", "dropped", n, NULL);
}

static struct logremote_msg *
logremote_head(const struct logremote *r)
{
	return r->ring[r->head];
}

static void
logremote_pop(struct logremote *r)
{
	struct logremote_msg *m = r->ring[r->head];

	r->bytes -= m->len;
	r->ring[r->head] = NULL;
	r->head = (r->head + 1) % LOGREMOTE_QUEUE_MSGS_MAX;
	r->count--;
	r->head_off = 0;
	free(m);
}

/* Everything waiting goes; counted as dropped when count_drops. */
static void
logremote_discard(struct logremote *r, bool count_drops)
{
	size_t n = r->count;

	while (r->count > 0)
		logremote_pop(r);
	if (count_drops && n > 0)
		logremote_drop(r, n);
}

/* Closes the connection, if any, and cancels a pending retry. */
static void
logremote_close(struct logremote *r)
{
	if (r->rd_ev != NULL)
		event_free(r->rd_ev);
	if (r->wr_ev != NULL)
		event_free(r->wr_ev);
	if (r->conn_ev != NULL)
		event_free(r->conn_ev);
	r->rd_ev = r->wr_ev = r->conn_ev = NULL;
	if (r->fd != -1)
		close(r->fd);
	r->fd = -1;
	evtimer_del(r->retry_ev);
	/* RFC 6587 has no resumption: a message cut by a lost connection
	 * goes whole on the next one. */
	r->head_off = 0;
}

/* The connection failed or broke: retry after the back-off, which
 * doubles unless the connection it ends had stayed up that long. */
static void
logremote_fail(struct logremote *r, const char *what, int err)
{
	bool was_up = r->state == LOGREMOTE_UP;
	struct timespec now;
	struct timeval tv;
	char detail[160], retry[24];

	logremote_close(r);
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (was_up && (now.tv_sec - r->up_since.tv_sec) * 1000 >=
	    (long)r->backoff_max)
		r->backoff = r->backoff_first;
	tv = logremote_tv(r->backoff);
	r->state = LOGREMOTE_DOWN;
	evtimer_add(r->retry_ev, &tv);
	snprintf(retry, sizeof(retry), "%u.%03u", r->backoff / 1000,
	    r->backoff % 1000);
	r->backoff = r->backoff * 2 > r->backoff_max ? r->backoff_max :
	    r->backoff * 2;
	if (r->flushing)
		event_base_loopbreak(r->base);
	if (r->down_logged)
		return;
	r->down_logged = true;
	if (err != 0)
		snprintf(detail, sizeof(detail), "%s: %s", what, strerror(err));
	else
		snprintf(detail, sizeof(detail), "%s", what);
	log_kv(r->log, LOGL_WARN, "log_remote", "state", "down", "target",
	    r->target, "detail", detail, "retry", retry, NULL);
}

static void
logremote_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	logremote_connect(arg);
}

/* Writes from the buffer as octet-counted frames until the socket is full. */
static void
logremote_write_tcp(struct logremote *r)
{
	for (int round = 0; round < LOGREMOTE_ROUNDS && r->count > 0; round++) {
		struct iovec iov[LOGREMOTE_IOV_MAX];
		struct msghdr mh = { .msg_iov = iov };
		size_t n = 0;
		ssize_t w;

		for (size_t i = 0; i < r->count && n < LOGREMOTE_IOV_MAX; i++) {
			struct logremote_msg *m =
			    r->ring[(r->head + i) % LOGREMOTE_QUEUE_MSGS_MAX];
			size_t off = i == 0 ? r->head_off : 0;

			iov[n++] = (struct iovec){ m->data + off, m->len - off };
		}
		mh.msg_iovlen = n;
		w = sendmsg(r->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (w == -1) {
			logremote_fail(r, "write", errno);
			return;
		}
		while (w > 0) {
			size_t rest = logremote_head(r)->len - r->head_off;

			if ((size_t)w < rest) {
				r->head_off += (size_t)w;
				break;
			}
			w -= (ssize_t)rest;
			logremote_pop(r);
			r->st.sent++;
		}
	}
	if (r->count > 0)
		event_add(r->wr_ev, NULL);
	else if (r->flushing)
		event_base_loopbreak(r->base);
}

/* One datagram per message. UDP is lossy by nature: a message the network
 * refuses is dropped; one the local socket cannot take yet waits. */
static void
logremote_write_udp(struct logremote *r)
{
	for (int k = 0; k < LOGREMOTE_IOV_MAX && r->count > 0; k++) {
		struct logremote_msg *m = logremote_head(r);
		const char *p = m->data + m->msg_off;
		size_t len = m->len - m->msg_off;
		ssize_t w;

		while ((w = send(r->fd, p, len, MSG_DONTWAIT | MSG_NOSIGNAL)) == -1 &&
		    errno == EINTR)
			;
		/* A port unreachable for an earlier datagram is reported on
		 * this send, and this one did not go: try it once more. */
		if (w == -1 && errno == ECONNREFUSED)
			w = send(r->fd, p, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			event_add(r->wr_ev, NULL);
			return;
		}
		logremote_pop(r);
		if (w == -1)
			logremote_drop(r, 1);
		else
			r->st.sent++;
	}
	if (r->count > 0)
		event_add(r->wr_ev, NULL);
	else if (r->flushing)
		event_base_loopbreak(r->base);
}

static void
logremote_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct logremote *r = arg;

	(void)fd;
	(void)what;
	if (r->proto == LOGREMOTE_TCP)
		logremote_write_tcp(r);
	else
		logremote_write_udp(r);
}

/* RFC 6587: the server sends nothing. Read and ignore what it does send;
 * the end of the stream or an error ends the connection. */
static void
logremote_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct logremote *r = arg;
	char junk[512];
	ssize_t n = recv(fd, junk, sizeof(junk), MSG_DONTWAIT);

	(void)what;
	if (n == 0)
		logremote_fail(r, "closed by the log server", 0);
	else if (n == -1 && errno != EAGAIN && errno != EWOULDBLOCK &&
	    errno != EINTR)
		logremote_fail(r, "read", errno);
}

static void
logremote_up(struct logremote *r, int fd)
{
	r->fd = fd;
	r->state = LOGREMOTE_UP;
	r->head_off = 0;
	r->st.connects++;
	r->down_logged = false;
	clock_gettime(CLOCK_MONOTONIC, &r->up_since);
	r->wr_ev = event_new(r->base, fd, EV_WRITE, logremote_write_cb, r);
	if (r->proto == LOGREMOTE_TCP) {
		r->rd_ev = event_new(r->base, fd, EV_READ | EV_PERSIST,
		    logremote_read_cb, r);
		event_add(r->rd_ev, NULL);
	}
	if (r->count > 0)
		event_add(r->wr_ev, NULL);
	log_kv(r->log, LOGL_INFO, "log_remote", "state", "up", "target",
	    r->target, NULL);
}

static void
logremote_connected_cb(evutil_socket_t fd, short what, void *arg)
{
	struct logremote *r = arg;
	int err = ETIMEDOUT;
	socklen_t len = sizeof(err);

	if ((what & EV_WRITE) &&
	    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		err = errno;
	event_free(r->conn_ev);
	r->conn_ev = NULL;
	if (err != 0) {
		logremote_fail(r, "connect", err);
		return;
	}
	r->fd = -1;	/* logremote_up() takes it */
	logremote_up(r, fd);
}

static void
logremote_connect(struct logremote *r)
{
	bool tcp = r->proto == LOGREMOTE_TCP;
	int fd, sndbuf = LOGREMOTE_TCP_SNDBUF;
	struct timeval tv = { LOGREMOTE_CONNECT_SEC, 0 };

	logremote_close(r);
	fd = socket(r->sa.ss_family, (tcp ? SOCK_STREAM : SOCK_DGRAM) |
	    SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		logremote_fail(r, "socket", errno);
		return;
	}
	if (tcp)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	if (connect(fd, (struct sockaddr *)&r->sa, r->salen) == 0) {
		logremote_up(r, fd);
		return;
	}
	if (tcp && errno == EINPROGRESS) {
		r->fd = fd;
		r->state = LOGREMOTE_CONNECTING;
		r->conn_ev = event_new(r->base, fd, EV_WRITE,
		    logremote_connected_cb, r);
		event_add(r->conn_ev, &tv);
		return;
	}
	r->fd = fd;	/* closed by logremote_fail() */
	logremote_fail(r, "connect", errno);
}

struct logremote *
logremote_new(struct event_base *base, const struct log_ctx *log)
{
	struct logremote *r = xcalloc(1, sizeof(*r));

	r->base = base;
	r->log = log;
	r->self = getpid();
	r->target = xstrdup("");
	r->fd = -1;
	r->backoff_first = r->backoff = LOGREMOTE_BACKOFF_FIRST_MSEC;
	r->backoff_max = LOGREMOTE_BACKOFF_MAX_MSEC;
	r->report_msec = LOG_REMOTE_REPORT_SEC * 1000;
	r->retry_ev = evtimer_new(base, logremote_retry_cb, r);
	r->report_ev = evtimer_new(base, logremote_report_cb, r);
	r->ring = xcalloc(LOGREMOTE_QUEUE_MSGS_MAX, sizeof(struct logremote_msg *));
	buf_init(&r->fmt, LOGREMOTE_MSG_MAX);
	r->rbuf = xmalloc(LOG_LINE_MAX + 1);
	logremote_fmt_set_hostname(&r->id, NULL);
	return r;
}

/* Resolves t into r->sa: numeric hosts without a query, names once. */
static int
logremote_resolve(struct logremote *r, const struct logremote_target *t,
    char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC,
	    .ai_flags = AI_NUMERICSERV }, *res = NULL;
	int rc;

	hints.ai_socktype = t->proto == LOGREMOTE_TCP ? SOCK_STREAM : SOCK_DGRAM;
	rc = getaddrinfo(t->host, t->port, &hints, &res);
	if (rc != 0 || res == NULL) {
		snprintf(err, errlen, "%s: %s", t->host,
		    rc != 0 ? gai_strerror(rc) : "no address");
		if (res != NULL)
			freeaddrinfo(res);
		return -1;
	}
	memcpy(&r->sa, res->ai_addr, res->ai_addrlen);
	r->salen = res->ai_addrlen;
	r->proto = t->proto;
	freeaddrinfo(res);
	return 0;
}

int
logremote_configure(struct logremote *r, const char *target,
    const char *hostname, char *err, size_t errlen)
{
	struct logremote_target t;

	logremote_fmt_set_hostname(&r->id, hostname);
	if (strcmp(target, r->target) == 0 && (r->resolved || *target == '\0'))
		return 0;
	logremote_close(r);
	r->state = LOGREMOTE_OFF;
	r->resolved = false;
	r->down_logged = false;
	r->backoff = r->backoff_first;
	free(r->target);
	r->target = xstrdup(target);
	if (*target == '\0') {
		logremote_discard(r, false);
		return 0;
	}
	if (logremote_fmt_parse_target(span_from_cstr(target), &t) != PARSE_OK) {
		snprintf(err, errlen, "bad target '%.64s'", target);
		logremote_discard(r, true);
		return -1;
	}
	if (logremote_resolve(r, &t, err, errlen) == -1) {
		logremote_discard(r, true);
		return -1;
	}
	r->resolved = true;
	logremote_connect(r);
	return 0;
}

/* Takes the message in r->fmt into the buffer, or counts it dropped. */
static void
logremote_push(struct logremote *r)
{
	char pfx[24];
	int plen = snprintf(pfx, sizeof(pfx), "%zu ", r->fmt.len);
	size_t total = (size_t)plen + r->fmt.len;
	struct logremote_msg *m;

	if (r->count == LOGREMOTE_QUEUE_MSGS_MAX ||
	    r->bytes + total > LOGREMOTE_QUEUE_BYTES_MAX) {
		logremote_drop(r, 1);
		return;
	}
	m = xmalloc(sizeof(*m) + total);
	m->len = total;
	m->msg_off = (size_t)plen;
	memcpy(m->data, pfx, (size_t)plen);
	memcpy(m->data + plen, r->fmt.data, r->fmt.len);
	r->ring[(r->head + r->count) % LOGREMOTE_QUEUE_MSGS_MAX] = m;
	r->count++;
	r->bytes += total;
	r->st.enqueued++;
	if (r->state == LOGREMOTE_UP)
		event_add(r->wr_ev, NULL);
}

/* Whether a message should be formatted at all: off discards silently, a
 * target that did not resolve and a full buffer count a drop. */
static bool
logremote_accepting(struct logremote *r)
{
	if (*r->target == '\0')
		return false;
	if (!r->resolved || r->count == LOGREMOTE_QUEUE_MSGS_MAX) {
		logremote_drop(r, 1);
		return false;
	}
	return true;
}

void
logremote_enqueue(struct logremote *r, enum log_level lvl, pid_t pid,
    struct span line)
{
	char ts[40];

	if (!logremote_accepting(r))
		return;
	log_timestamp(ts, sizeof(ts));
	buf_reset(&r->fmt);
	r->id.pid = pid;
	if (logremote_fmt_message(&r->fmt, &r->id, lvl, line, ts) == -1) {
		logremote_drop(r, 1);
		return;
	}
	logremote_push(r);
}

void
logremote_log_hook(void *arg, enum log_level lvl, struct span line)
{
	struct logremote *r = arg;

	logremote_enqueue(r, lvl, r->self, line);
}

/* Up to max datagrams of s, each checked, then enqueued. */
static void
logremote_source_read(struct logremote_source *s, unsigned max)
{
	struct logremote *r = s->r;
	char ts[40];

	for (unsigned k = 0; k < max; k++) {
		/* MSG_TRUNC: the real length, so an oversized one is seen. */
		ssize_t n = recv(s->fd, r->rbuf, LOG_LINE_MAX + 1,
		    MSG_DONTWAIT | MSG_TRUNC);

		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return;
		if (!logremote_accepting(r))
			continue;
		log_timestamp(ts, sizeof(ts));
		buf_reset(&r->fmt);
		r->id.pid = s->pid;
		if ((size_t)n > LOG_LINE_MAX || logremote_fmt_datagram(&r->fmt,
		    &r->id, (struct span){ r->rbuf, (size_t)n }, ts) == -1) {
			r->st.invalid++;
			continue;
		}
		logremote_push(r);
	}
}

static void
logremote_source_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	logremote_source_read(arg, LOGREMOTE_SOURCE_BATCH);
}

struct logremote_source *
logremote_source_new(struct logremote *r, int fd, pid_t pid)
{
	struct logremote_source *s = xcalloc(1, sizeof(*s));

	s->r = r;
	s->fd = fd;
	s->pid = pid;
	s->ev = event_new(r->base, fd, EV_READ | EV_PERSIST,
	    logremote_source_cb, s);
	event_add(s->ev, NULL);
	s->next = r->sources;
	if (r->sources != NULL)
		r->sources->prev = s;
	r->sources = s;
	return s;
}

static void
logremote_source_close(struct logremote_source *s)
{
	event_free(s->ev);
	close(s->fd);
	free(s);
}

static void
logremote_source_unlink(struct logremote_source *s)
{
	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		s->r->sources = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	logremote_source_close(s);
}

void
logremote_source_free(struct logremote_source **sp)
{
	struct logremote_source *s = *sp;

	if (s == NULL)
		return;
	*sp = NULL;
	/* Bounded by what the child could queue: it has exited. */
	logremote_source_read(s, LOGREMOTE_QUEUE_MSGS_MAX);
	logremote_source_unlink(s);
}

static void
logremote_flush_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct logremote *r = arg;

	(void)fd;
	(void)what;
	event_base_loopbreak(r->base);
}

void
logremote_flush(struct logremote *r, unsigned timeout_msec)
{
	struct timeval tv = logremote_tv(timeout_msec);
	struct event *t;

	if (r->count == 0 || !r->resolved)
		return;
	if (r->state == LOGREMOTE_DOWN)
		logremote_connect(r);
	if (r->state != LOGREMOTE_UP && r->state != LOGREMOTE_CONNECTING)
		return;
	t = evtimer_new(r->base, logremote_flush_timeout, r);
	evtimer_add(t, &tv);
	r->flushing = true;
	event_base_dispatch(r->base);
	r->flushing = false;
	event_free(t);
}

void
logremote_close_after_fork(struct logremote *r)
{
	if (r->fd != -1)
		close(r->fd);
	for (struct logremote_source *s = r->sources; s != NULL; s = s->next)
		close(s->fd);
}

void
logremote_free(struct logremote **rp)
{
	struct logremote *r = *rp;

	if (r == NULL)
		return;
	*rp = NULL;
	/* The last count, before it is lost (locally: r is unhooked). */
	if (r->unreported > 0)
		logremote_report_cb(-1, 0, r);
	logremote_close(r);
	for (struct logremote_source *s = r->sources, *next; s != NULL; s = next) {
		next = s->next;
		logremote_source_close(s);
	}
	r->sources = NULL;
	logremote_discard(r, false);
	event_free(r->retry_ev);
	event_free(r->report_ev);
	buf_free(&r->fmt);
	free(r->ring);
	free(r->rbuf);
	free(r->target);
	free(r);
}

void
logremote_get_stats(const struct logremote *r, struct logremote_stats *out)
{
	*out = r->st;
	out->pending_msgs = r->count;
	out->pending_bytes = r->bytes;
	out->connected = r->state == LOGREMOTE_UP;
}

void
logremote_set_timing(struct logremote *r, unsigned backoff_first_msec,
    unsigned backoff_max_msec, unsigned report_msec)
{
	r->backoff_first = r->backoff = backoff_first_msec;
	r->backoff_max = backoff_max_msec;
	r->report_msec = report_msec;
}
