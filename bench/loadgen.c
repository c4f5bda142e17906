/*
 * loadgen: SMTP load generator for the benchmark (bench/run.sh). One thread,
 * non-blocking sockets on epoll. Load mode: C connections each send EHLO
 * once, then MAIL/RCPT/DATA until N messages in all were accepted with 250,
 * and optionally watch a Maildir new/ until they were delivered, or (outbound
 * benchmark) ask bench/sink when the server under test relayed the N-th one
 * to it. Idle mode:
 * K connections that only read the banner, to measure the server's memory per
 * idle connection. Mid mode: K connections each send half of one message's
 * DATA and stop there, so the server's memory can be read while every
 * session is mid-way through its message; then they finish it. --mime makes
 * the message a multipart/mixed with a short text part and a base64 PDF
 * attachment instead of plain text. Talks to loopback only (refuses any
 * other address).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <linux/sockios.h>

#define LOADGEN_LINE_MAX	78	/* body line length, RFC 5322 2.1.1 */
#define LOADGEN_REPLY_MAX	65536	/* a server reply we are willing to buffer */
#define LOADGEN_POLL_MS		20	/* Maildir poll and timer granularity */
#define LOADGEN_PENDING_MAX	64	/* idle mode: connects awaiting a banner */
#define LOADGEN_SETTLE_SEC	2	/* idle mode: wait before the second sample */
#define LOADGEN_PIDS_MAX	4096	/* processes summed in idle mode */
#define LOADGEN_B64_LINE	76	/* base64 characters per line (RFC 2045 6.8) */
#define LOADGEN_BOUNDARY	"=_loadgen_7f3a9c21e4b05d68"

enum loadgen_state {
	LG_CONNECTING,
	LG_BANNER,
	LG_EHLO,
	LG_READY,	/* between transactions */
	LG_MAIL,
	LG_RCPT,
	LG_DATA,
	LG_BODY,	/* message sent, awaiting the 250 */
	LG_RSET,
	LG_QUIT,
	LG_IDLE,	/* idle mode: banner read, holding the connection */
	LG_HELD,	/* mid mode: half of the DATA sent, holding the rest */
	LG_CLOSED,
};

struct loadgen_buf {
	char	*data;
	size_t	 len, off, cap;
};

struct loadgen_conn {
	int			 fd;
	unsigned		 id;
	enum loadgen_state	 state;
	bool			 in_tx;		/* counts in g.inflight */
	bool			 want_out;	/* EPOLLOUT registered */
	double			 deadline;	/* reply timeout (monotonic s) */
	struct loadgen_buf	 in, out;
};

struct loadgen_opts {
	const char	*host, *from, *rcpt, *maildir, *label, *source;
	const char	*pids, *pidfile, *name, *comm;
	int		 port, sink_port;
	long		 n, size, conc, idle, mid, max_errors;
	double		 timeout;
	bool		 tree, mime;
};

static struct {
	struct loadgen_opts	 o;
	struct sockaddr_in	 addr;
	struct sockaddr_in	 src;		/* --source, port 0 */
	int			 ep;
	struct loadgen_conn	*conns;
	long			 nconns;
	long			 accepted, inflight, errors, sent, reconnects;
	long			 banners;
	double			 t_first_mail, t_last_accept;
	char			*body;		/* dot-stuffed, ends in CRLF.CRLF */
	size_t			 body_len;
	size_t			 body_half;	/* mid mode: where the first half ends */
	char			 last_error[256];
	volatile sig_atomic_t	 stop;
} g;

static void loadgen_conn_start(struct loadgen_conn *c);
static void loadgen_die(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

static void
loadgen_die(const char *fmt, ...)
{
	va_list ap;

	fputs("loadgen: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static double
loadgen_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *
loadgen_xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n);

	if (q == NULL)
		loadgen_die("out of memory");
	return q;
}

static void
loadgen_buf_append(struct loadgen_buf *b, const void *src, size_t n)
{
	if (b->off > 0 && b->off == b->len)
		b->off = b->len = 0;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 1024;

		while (cap < b->len + n + 1)
			cap *= 2;
		b->data = loadgen_xrealloc(b->data, cap);
		b->cap = cap;
	}
	memcpy(b->data + b->len, src, n);
	b->len += n;
	b->data[b->len] = '\0';
}

static void
loadgen_buf_printf(struct loadgen_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
loadgen_buf_printf(struct loadgen_buf *b, const char *fmt, ...)
{
	char tmp[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		loadgen_die("line too long");
	loadgen_buf_append(b, tmp, (size_t)n);
}

static long
loadgen_parse_long(const char *opt, const char *s, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
		loadgen_die("bad value for %s: %s", opt, s);
	return v;
}

/*
 * The message body: lines of at most 78 characters plus CRLF (RFC 5322
 * 2.1.1), dot-stuffed (RFC 5321 4.5.2), ended by CRLF.CRLF. Its size is the
 * requested size less a typical header block, so each message is ~size bytes.
 */
static void
loadgen_body_build(long size)
{
	static const char alphabet[] =
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,";
	struct loadgen_buf b = { 0 };
	long want = size > 400 ? size - 400 : 64;
	long line = 0;
	long raw = 0;

	while (raw < want) {
		char l[LOADGEN_LINE_MAX + 3];
		long len = want - raw - 2;
		int k;

		if (len > 76)
			len = 76;
		if (len < 1)
			len = 1;
		k = snprintf(l, sizeof(l), "%06ld ", line);
		for (; k < len; k++)
			l[k] = alphabet[(size_t)(line * 7 + k) % (sizeof(alphabet) - 1)];
		/* Every few lines start with a dot, so the stuffing is exercised. */
		if (line % 50 == 49)
			l[0] = '.';
		if (l[0] == '.')
			loadgen_buf_append(&b, ".", 1);
		loadgen_buf_append(&b, l, (size_t)k);
		loadgen_buf_append(&b, "\r\n", 2);
		raw += k + 2;
		line++;
	}
	loadgen_buf_append(&b, ".\r\n", 3);
	g.body = b.data;
	g.body_len = b.len;
}

/* One body line: dot-stuffed when it starts with a dot, then CRLF. */
static void
loadgen_line_add(struct loadgen_buf *b, const char *l, size_t len)
{
	if (len > 0 && l[0] == '.')
		loadgen_buf_append(b, ".", 1);
	loadgen_buf_append(b, l, len);
	loadgen_buf_append(b, "\r\n", 2);
}

static void
loadgen_lines_add(struct loadgen_buf *b, const char *const *lines)
{
	for (size_t i = 0; lines[i] != NULL; i++)
		loadgen_line_add(b, lines[i], strlen(lines[i]));
}

/*
 * --mime: the body of a multipart/mixed message as a mail client writes it:
 * a preamble, a short text/plain part, and an application/pdf attachment
 * named report.pdf (base64, 76-character lines) that fills the message to
 * about the requested size (less a typical header block, as above). The
 * PDF is a PDF header followed by pseudo-random bytes, like compressed
 * streams. Dot-stuffed, ended by CRLF.CRLF.
 */
static void
loadgen_body_build_mime(long size)
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	static const char *const head[] = {
		"This is a multi-part message in MIME format.",
		"",
		"--" LOADGEN_BOUNDARY,
		"Content-Type: text/plain; charset=us-ascii",
		"Content-Transfer-Encoding: 7bit",
		"",
		"Hello,",
		"",
		"Please find attached the report for the last quarter. The figures",
		"for each region are in section 3, and the notes on method are in the",
		"appendix. Tell me if anything is missing before Friday.",
		"",
		"Regards,",
		"Load Generator",
		"",
		"--" LOADGEN_BOUNDARY,
		"Content-Type: application/pdf; name=\"report.pdf\"",
		"Content-Disposition: attachment; filename=\"report.pdf\"",
		"Content-Transfer-Encoding: base64",
		"",
		NULL
	};
	static const char *const tail[] = {
		"--" LOADGEN_BOUNDARY "--",
		NULL
	};
	static const char pdf[] = "%PDF-1.4\n%\xe2\xe3\xcf\xd3\n";
	struct loadgen_buf b = { 0 };
	long want = size > 400 ? size - 400 : 64;
	long room, raw;
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	unsigned char in[LOADGEN_B64_LINE / 4 * 3];
	char line[LOADGEN_B64_LINE + 1];

	loadgen_lines_add(&b, head);
	/* What is left for the base64 lines: 57 bytes per 78-byte line. */
	room = want - (long)b.len - (long)strlen("--" LOADGEN_BOUNDARY "--\r\n");
	raw = room / (LOADGEN_B64_LINE + 2) * (long)sizeof(in);
	if (room % (LOADGEN_B64_LINE + 2) > 6)
		raw += (room % (LOADGEN_B64_LINE + 2) - 2) / 4 * 3;
	if (raw < (long)sizeof(pdf))
		raw = (long)sizeof(pdf);
	for (long done = 0; done < raw;) {
		size_t n = (size_t)(raw - done) < sizeof(in) ?
		    (size_t)(raw - done) : sizeof(in);
		size_t k = 0;

		for (size_t i = 0; i < n; i++, done++) {
			if (done < (long)sizeof(pdf) - 1) {
				in[i] = (unsigned char)pdf[done];
				continue;
			}
			x ^= x << 13;	/* xorshift64 */
			x ^= x >> 7;
			x ^= x << 17;
			in[i] = (unsigned char)(x >> 24);
		}
		for (size_t i = 0; i < n; i += 3) {
			uint32_t v = (uint32_t)in[i] << 16;

			if (i + 1 < n)
				v |= (uint32_t)in[i + 1] << 8;
			if (i + 2 < n)
				v |= in[i + 2];
			line[k++] = b64[(v >> 18) & 63];
			line[k++] = b64[(v >> 12) & 63];
			line[k++] = i + 1 < n ? b64[(v >> 6) & 63] : '=';
			line[k++] = i + 2 < n ? b64[v & 63] : '=';
		}
		loadgen_line_add(&b, line, k);
	}
	loadgen_lines_add(&b, tail);
	loadgen_buf_append(&b, ".\r\n", 3);
	g.body = b.data;
	g.body_len = b.len;
}

/*
 * Mid mode: the first half of the body ends at the start of a line near
 * its middle, so the held half never ends inside "CRLF.CRLF".
 */
static void
loadgen_body_split(void)
{
	size_t half = g.body_len / 2;

	while (half > 0 && g.body[half - 1] != '\n')
		half--;
	g.body_half = half;
}

static void
loadgen_headers_add(struct loadgen_conn *c)
{
	char date[64];
	time_t t = time(NULL);
	struct tm tm;
	const char *dom = strchr(g.o.from, '@');

	gmtime_r(&t, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	loadgen_buf_printf(&c->out,
	    "From: Load Generator <%s>\r\n"
	    "To: <%s>\r\n"
	    "Subject: loadgen message %ld\r\n"
	    "Date: %s\r\n"
	    "Message-ID: <%ld.%u.%ld@%s>\r\n"
	    "MIME-Version: 1.0\r\n"
	    "%s"
	    "\r\n",
	    g.o.from, g.o.rcpt, g.sent, date, (long)getpid(), c->id, g.sent,
	    dom != NULL ? dom + 1 : "loadgen.invalid",
	    g.o.mime ?
	    "Content-Type: multipart/mixed;\r\n"
	    " boundary=\"" LOADGEN_BOUNDARY "\"\r\n" :
	    "Content-Type: text/plain; charset=us-ascii\r\n"
	    "Content-Transfer-Encoding: 7bit\r\n");
}

static void
loadgen_raise_nofile(long need)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	if (rl.rlim_cur >= (rlim_t)need)
		return;
	if (rl.rlim_max < (rlim_t)need)
		rl.rlim_max = (rlim_t)need;	/* works as root */
	rl.rlim_cur = (rlim_t)need;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
		getrlimit(RLIMIT_NOFILE, &rl);
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		if (rl.rlim_cur < (rlim_t)need)
			loadgen_die("RLIMIT_NOFILE is %ju, need %ld",
			    (uintmax_t)rl.rlim_cur, need);
	}
}

/* ---- Maildir counting ---- */

static long
loadgen_maildir_count(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;
	long n = 0;

	if (d == NULL)
		return 0;	/* not made until the first delivery */
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* ---- the sink (bench/sink.c), asked with XSTAT on a blocking socket ---- */

static int
loadgen_sink_line(int fd, char *line, size_t max)
{
	size_t n = 0;

	while (n + 1 < max) {
		ssize_t r = recv(fd, line + n, 1, 0);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		if (line[n] == '\n') {
			line[n] = '\0';
			if (n > 0 && line[n - 1] == '\r')
				line[n - 1] = '\0';
			return 0;
		}
		n++;
	}
	return -1;
}

static int
loadgen_sink_open(void)
{
	struct sockaddr_in sa = g.addr;
	struct timeval tv = { 5, 0 };
	char line[256];
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		loadgen_die("socket: %s", strerror(errno));
	sa.sin_port = htons((uint16_t)g.o.sink_port);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		loadgen_die("sink on port %d: %s", g.o.sink_port, strerror(errno));
	if (loadgen_sink_line(fd, line, sizeof(line)) != 0 ||
	    strncmp(line, "220", 3) != 0)
		loadgen_die("sink on port %d: no banner", g.o.sink_port);
	return fd;
}

/* Messages the sink has accepted; *t_k_out: when the k-th came (0: not yet). */
static long
loadgen_sink_stat(int fd, long k, double *t_k_out, unsigned long long *bytes_out)
{
	char cmd[64], line[256];
	const char *m, *t, *b;
	int n = snprintf(cmd, sizeof(cmd), "XSTAT %ld\r\n", k);

	if (send(fd, cmd, (size_t)n, MSG_NOSIGNAL) != n ||
	    loadgen_sink_line(fd, line, sizeof(line)) != 0 ||
	    strncmp(line, "250 ", 4) != 0 ||
	    (m = strstr(line, "messages=")) == NULL ||
	    (t = strstr(line, " t=")) == NULL || (b = strstr(line, "bytes=")) == NULL)
		loadgen_die("sink: bad XSTAT reply");
	*t_k_out = strtod(t + 3, NULL);
	if (bytes_out != NULL)
		*bytes_out = strtoull(b + 6, NULL, 10);
	return strtol(m + 9, NULL, 10);
}

/* ---- connections ---- */

static void
loadgen_conn_events(struct loadgen_conn *c, bool want_out)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };

	if (want_out == c->want_out)
		return;
	if (want_out)
		ev.events |= EPOLLOUT;
	if (epoll_ctl(g.ep, EPOLL_CTL_MOD, c->fd, &ev) != 0)
		loadgen_die("epoll_ctl: %s", strerror(errno));
	c->want_out = want_out;
}

static void
loadgen_conn_close(struct loadgen_conn *c)
{
	if (c->fd >= 0) {
		epoll_ctl(g.ep, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
	}
	c->fd = -1;
	if (c->in_tx) {
		c->in_tx = false;
		g.inflight--;
	}
	c->state = LG_CLOSED;
	c->in.len = c->in.off = 0;
	c->out.len = c->out.off = 0;
}

static void
loadgen_error(struct loadgen_conn *c, const char *what, const char *detail)
{
	g.errors++;
	snprintf(g.last_error, sizeof(g.last_error), "conn %u %s: %.200s",
	    c->id, what, detail);
	if (g.o.max_errors > 0 && g.errors >= g.o.max_errors)
		g.stop = 1;
}

/* A connection lost mid-way is reopened while messages remain to be sent. */
static void
loadgen_conn_lost(struct loadgen_conn *c, const char *why)
{
	bool was_quit = c->state == LG_QUIT;

	loadgen_conn_close(c);
	if (was_quit)
		return;
	loadgen_error(c, "connection lost", why);
	if (g.o.idle > 0)
		return;
	if (!g.stop && g.accepted + g.inflight < g.o.n) {
		g.reconnects++;
		loadgen_conn_start(c);
	}
}

static void
loadgen_flush(struct loadgen_conn *c)
{
	while (c->out.off < c->out.len) {
		ssize_t w = send(c->fd, c->out.data + c->out.off,
		    c->out.len - c->out.off, MSG_NOSIGNAL);

		if (w < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				loadgen_conn_events(c, true);
				return;
			}
			if (errno == EINTR)
				continue;
			loadgen_conn_lost(c, strerror(errno));
			return;
		}
		c->out.off += (size_t)w;
		c->deadline = loadgen_now() + g.o.timeout;
	}
	c->out.off = c->out.len = 0;
	loadgen_conn_events(c, false);
}

static void
loadgen_send(struct loadgen_conn *c, enum loadgen_state next,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
loadgen_send(struct loadgen_conn *c, enum loadgen_state next,
    const char *fmt, ...)
{
	char tmp[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		loadgen_die("command too long");
	loadgen_buf_append(&c->out, tmp, (size_t)n);
	c->state = next;
	c->deadline = loadgen_now() + g.o.timeout;
	loadgen_flush(c);
}

/* Between transactions: start the next message, or say goodbye. */
static void
loadgen_next(struct loadgen_conn *c)
{
	if (g.stop || g.accepted + g.inflight >= g.o.n) {
		loadgen_send(c, LG_QUIT, "QUIT\r\n");
		return;
	}
	c->in_tx = true;
	g.inflight++;
	g.sent++;
	if (g.t_first_mail == 0)
		g.t_first_mail = loadgen_now();
	loadgen_send(c, LG_MAIL, "MAIL FROM:<%s>\r\n", g.o.from);
}

static void
loadgen_tx_failed(struct loadgen_conn *c, const char *line)
{
	loadgen_error(c, "rejected", line);
	if (c->in_tx) {
		c->in_tx = false;
		g.inflight--;
	}
	if (strncmp(line, "421", 3) == 0) {
		loadgen_conn_lost(c, "421");
		return;
	}
	loadgen_send(c, LG_RSET, "RSET\r\n");
}

/* One complete (possibly multi-line) reply; line is its last line. */
static void
loadgen_reply(struct loadgen_conn *c, int code, const char *line)
{
	bool ok = code >= 200 && code < 400;

	if (g.o.idle > 0) {
		if (c->state == LG_BANNER && code == 220) {
			c->state = LG_IDLE;
			g.banners++;
		} else if (c->state == LG_BANNER) {
			loadgen_error(c, "banner", line);
			loadgen_conn_close(c);
		}
		return;
	}
	switch (c->state) {
	case LG_BANNER:
		if (code != 220) {
			loadgen_error(c, "banner", line);
			loadgen_conn_lost(c, "bad banner");
			return;
		}
		loadgen_send(c, LG_EHLO, "EHLO loadgen.bench.test\r\n");
		break;
	case LG_EHLO:
		if (code != 250) {
			loadgen_error(c, "EHLO", line);
			loadgen_send(c, LG_QUIT, "QUIT\r\n");
			return;
		}
		loadgen_next(c);
		break;
	case LG_MAIL:
		if (!ok) {
			loadgen_tx_failed(c, line);
			return;
		}
		loadgen_send(c, LG_RCPT, "RCPT TO:<%s>\r\n", g.o.rcpt);
		break;
	case LG_RCPT:
		if (!ok) {
			loadgen_tx_failed(c, line);
			return;
		}
		loadgen_send(c, LG_DATA, "DATA\r\n");
		break;
	case LG_DATA:
		if (code != 354) {
			loadgen_tx_failed(c, line);
			return;
		}
		loadgen_headers_add(c);
		if (g.o.mid > 0) {
			/* Mid mode: the rest comes when the run says so. */
			loadgen_buf_append(&c->out, g.body, g.body_half);
			c->state = LG_HELD;
			loadgen_flush(c);
			break;
		}
		loadgen_buf_append(&c->out, g.body, g.body_len);
		c->state = LG_BODY;
		c->deadline = loadgen_now() + g.o.timeout;
		loadgen_flush(c);
		break;
	case LG_BODY:
		if (code != 250) {
			loadgen_tx_failed(c, line);
			return;
		}
		c->in_tx = false;
		g.inflight--;
		g.accepted++;
		g.t_last_accept = loadgen_now();
		loadgen_next(c);
		break;
	case LG_RSET:
		if (!ok) {
			loadgen_error(c, "RSET", line);
			loadgen_send(c, LG_QUIT, "QUIT\r\n");
			return;
		}
		loadgen_next(c);
		break;
	case LG_QUIT:
		loadgen_conn_close(c);
		break;
	default:
		loadgen_error(c, "unexpected reply", line);
		loadgen_conn_lost(c, "unexpected reply");
		break;
	}
}

/* Split the input into replies (RFC 5321 4.2.1: "NNN-" continues). */
static void
loadgen_read(struct loadgen_conn *c)
{
	char tmp[16384];

	for (;;) {
		ssize_t r = recv(c->fd, tmp, sizeof(tmp), 0);

		if (r < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			if (errno == EINTR)
				continue;
			loadgen_conn_lost(c, strerror(errno));
			return;
		}
		if (r == 0) {
			loadgen_conn_lost(c, "closed by server");
			return;
		}
		loadgen_buf_append(&c->in, tmp, (size_t)r);
		if (c->in.len - c->in.off > LOADGEN_REPLY_MAX) {
			loadgen_error(c, "reply", "too long");
			loadgen_conn_lost(c, "reply too long");
			return;
		}
	}
	while (c->fd >= 0 && c->in.off < c->in.len) {
		char *line = c->in.data + c->in.off;
		char *lf = memchr(line, '\n', c->in.len - c->in.off);
		size_t n;

		if (lf == NULL)
			break;
		n = (size_t)(lf - line);
		c->in.off += n + 1;
		if (n > 0 && line[n - 1] == '\r')
			n--;
		line[n] = '\0';
		if (n < 3 || !isdigit((unsigned char)line[0]) ||
		    !isdigit((unsigned char)line[1]) ||
		    !isdigit((unsigned char)line[2])) {
			loadgen_error(c, "malformed reply", line);
			loadgen_conn_lost(c, "malformed reply");
			return;
		}
		if (n > 3 && line[3] == '-')
			continue;
		loadgen_reply(c, atoi(line), line);
	}
	if (c->in.off == c->in.len)
		c->in.off = c->in.len = 0;
}

static void
loadgen_conn_start(struct loadgen_conn *c)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT, .data.ptr = c };
	int one = 1;

	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		loadgen_die("socket: %s", strerror(errno));
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (g.o.source != NULL &&
	    bind(c->fd, (struct sockaddr *)&g.src, sizeof(g.src)) != 0)
		loadgen_die("bind %s: %s", g.o.source, strerror(errno));
	c->state = LG_CONNECTING;
	c->want_out = true;
	c->deadline = loadgen_now() + g.o.timeout;
	if (connect(c->fd, (struct sockaddr *)&g.addr, sizeof(g.addr)) != 0 &&
	    errno != EINPROGRESS) {
		loadgen_error(c, "connect", strerror(errno));
		close(c->fd);
		c->fd = -1;
		c->state = LG_CLOSED;
		return;
	}
	if (epoll_ctl(g.ep, EPOLL_CTL_ADD, c->fd, &ev) != 0)
		loadgen_die("epoll_ctl: %s", strerror(errno));
}

static void
loadgen_event(struct loadgen_conn *c, uint32_t events)
{
	if (c->fd < 0)
		return;
	if (c->state == LG_CONNECTING) {
		int err = 0;
		socklen_t len = sizeof(err);

		getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
		if (err != 0) {
			if (g.o.idle > 0) {
				loadgen_error(c, "connect", strerror(err));
				loadgen_conn_close(c);
			} else {
				loadgen_conn_lost(c, strerror(err));
			}
			return;
		}
		c->state = LG_BANNER;
		loadgen_conn_events(c, false);
		if ((events & EPOLLIN) == 0)
			return;
	}
	if (events & EPOLLOUT)
		loadgen_flush(c);
	if (c->fd >= 0 && (events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		loadgen_read(c);
}

static void
loadgen_timeouts(double now)
{
	for (long i = 0; i < g.nconns; i++) {
		struct loadgen_conn *c = &g.conns[i];

		if (c->fd < 0 || c->state == LG_IDLE || c->state == LG_HELD ||
		    now < c->deadline)
			continue;
		loadgen_error(c, "timeout", "no reply");
		if (g.o.idle > 0)
			loadgen_conn_close(c);
		else
			loadgen_conn_lost(c, "timeout");
	}
}

static void
loadgen_on_signal(int sig)
{
	(void)sig;
	g.stop = 2;
}

static void
loadgen_loop_once(int wait_ms)
{
	struct epoll_event evs[256];
	int n = epoll_wait(g.ep, evs, 256, wait_ms);

	if (n < 0 && errno != EINTR)
		loadgen_die("epoll_wait: %s", strerror(errno));
	for (int i = 0; i < n; i++)
		loadgen_event(evs[i].data.ptr, evs[i].events);
	loadgen_timeouts(loadgen_now());
}

static long
loadgen_open_count(void)
{
	long open = 0;

	for (long i = 0; i < g.nconns; i++)
		if (g.conns[i].fd >= 0)
			open++;
	return open;
}

/* ---- load mode ---- */

static int
loadgen_run_load(void)
{
	long md_start = 0, md_now = 0, delivered = 0, sink_start = 0;
	double t_delivered = 0, next_poll = 0, t_end_wait, t_sink = 0;
	unsigned long long sink_bytes0 = 0, sink_bytes = 0;
	int sink_fd = -1;
	double smtp_s, deliv_s = 0;

	if (g.o.mime)
		loadgen_body_build_mime(g.o.size);
	else
		loadgen_body_build(g.o.size);
	if (g.o.maildir != NULL)
		md_start = md_now = loadgen_maildir_count(g.o.maildir);
	if (g.o.sink_port != 0) {
		sink_fd = loadgen_sink_open();
		sink_start = loadgen_sink_stat(sink_fd, 0, &t_sink, &sink_bytes0);
	}
	g.nconns = g.o.conc;
	g.conns = calloc((size_t)g.nconns, sizeof(*g.conns));
	if (g.conns == NULL)
		loadgen_die("out of memory");
	for (long i = 0; i < g.nconns; i++) {
		g.conns[i].id = (unsigned)i;
		g.conns[i].fd = -1;
		loadgen_conn_start(&g.conns[i]);
	}
	while (g.stop != 2 && loadgen_open_count() > 0) {
		loadgen_loop_once(LOADGEN_POLL_MS);
		if (g.o.maildir != NULL && loadgen_now() >= next_poll) {
			md_now = loadgen_maildir_count(g.o.maildir);
			if (md_now - md_start >= g.o.n && t_delivered == 0)
				t_delivered = loadgen_now();
			next_poll = loadgen_now() + LOADGEN_POLL_MS / 1000.0;
		}
	}
	for (long i = 0; i < g.nconns; i++)
		loadgen_conn_close(&g.conns[i]);

	/* Delivery: wait until new/ grew by N files, or the timeout. */
	t_end_wait = loadgen_now() + g.o.timeout;
	while (g.o.maildir != NULL && t_delivered == 0 && g.stop != 2 &&
	    g.accepted > 0 && loadgen_now() < t_end_wait) {
		md_now = loadgen_maildir_count(g.o.maildir);
		if (md_now - md_start >= g.o.n) {
			t_delivered = loadgen_now();
			break;
		}
		usleep(LOADGEN_POLL_MS * 1000);
	}
	if (g.o.maildir != NULL) {
		md_now = loadgen_maildir_count(g.o.maildir);
		delivered = md_now - md_start;
	}
	/*
	 * Relayed to the sink: its clock is this machine's CLOCK_MONOTONIC,
	 * so the time of the N-th message is exact, not a polling interval.
	 */
	while (sink_fd >= 0 && g.stop != 2 && g.accepted > 0) {
		delivered = loadgen_sink_stat(sink_fd, sink_start + g.o.n, &t_sink,
		    &sink_bytes) - sink_start;
		if (t_sink > 0) {
			t_delivered = t_sink;
			break;
		}
		if (loadgen_now() >= t_end_wait)
			break;
		usleep(LOADGEN_POLL_MS * 1000);
	}

	smtp_s = g.t_last_accept > g.t_first_mail ?
	    g.t_last_accept - g.t_first_mail : 0;
	printf("result server=%s%s conc=%ld size=%ld%s n=%ld accepted=%ld errors=%ld"
	    " reconnects=%ld smtp_s=%.3f accepted_per_s=%.1f",
	    g.o.label, sink_fd >= 0 ? " mode=out" : "", g.o.conc, g.o.size,
	    g.o.mime ? " mime=1" : "", g.o.n, g.accepted, g.errors,
	    g.reconnects, smtp_s, smtp_s > 0 ? (double)g.accepted / smtp_s : 0.0);
	if (sink_fd >= 0 && delivered > 0)
		printf(" sink_avg_bytes=%.0f",
		    (double)(sink_bytes - sink_bytes0) / (double)delivered);
	if (g.o.maildir != NULL || sink_fd >= 0) {
		if (t_delivered > 0)
			deliv_s = t_delivered - g.t_first_mail;
		printf(" delivered=%ld delivery_s=%.3f", delivered, deliv_s);
		if (t_delivered > 0 && deliv_s > 0)
			printf(" delivered_per_s=%.1f", (double)g.o.n / deliv_s);
		else
			printf(" delivered_per_s=timeout");
	}
	printf("\n");
	if (g.errors > 0)
		fprintf(stderr, "loadgen: %ld errors; last: %s\n", g.errors,
		    g.last_error);
	fflush(stdout);
	if (g.accepted < g.o.n || g.stop == 2)
		return 1;
	if (sink_fd >= 0)
		close(sink_fd);
	if ((g.o.maildir != NULL || sink_fd >= 0) && t_delivered == 0)
		return 1;
	return 0;
}

/* ---- idle mode: memory of the server processes ---- */

struct loadgen_mem {
	long	rss_kb, pss_kb, nprocs;
};

/* Rss and Pss of one process from smaps_rollup, VmRSS as a fallback. */
static int
loadgen_proc_mem(pid_t pid, long *rss_out, long *pss_out)
{
	char path[64], line[256];
	FILE *f;
	long rss = -1, pss = -1;

	snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)pid);
	if ((f = fopen(path, "r")) != NULL) {
		while (fgets(line, sizeof(line), f) != NULL) {
			if (strncmp(line, "Rss:", 4) == 0)
				rss = strtol(line + 4, NULL, 10);
			else if (strncmp(line, "Pss:", 4) == 0)
				pss = strtol(line + 4, NULL, 10);
		}
		fclose(f);
	}
	if (rss < 0) {
		snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
		if ((f = fopen(path, "r")) == NULL)
			return -1;
		while (fgets(line, sizeof(line), f) != NULL)
			if (strncmp(line, "VmRSS:", 6) == 0)
				rss = strtol(line + 6, NULL, 10);
		fclose(f);
	}
	if (rss < 0)
		return -1;
	*rss_out = rss;
	*pss_out = pss >= 0 ? pss : rss;
	return 0;
}

/* comm and parent pid from /proc/PID/stat ("pid (comm) state ppid ..."). */
static int
loadgen_proc_stat(pid_t pid, char *comm, size_t commsz, pid_t *ppid_out)
{
	char path[64], buf[1024];
	FILE *f;
	char *l, *r;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	l = strchr(buf, '(');
	r = strrchr(buf, ')');
	if (l == NULL || r == NULL || r < l || r[1] == '\0')
		return -1;
	snprintf(comm, commsz, "%.*s", (int)(r - l - 1), l + 1);
	*ppid_out = (pid_t)strtol(r + 3, NULL, 10);
	return 0;
}

static bool
loadgen_pid_in(const pid_t *set, long n, pid_t pid)
{
	for (long i = 0; i < n; i++)
		if (set[i] == pid)
			return true;
	return false;
}

static bool
loadgen_comm_match(const char *list, const char *comm)
{
	size_t cl = strlen(comm);

	for (const char *p = list; *p;) {
		size_t len = strcspn(p, ",");

		if (len == cl && strncmp(p, comm, len) == 0)
			return true;
		p += len;
		if (*p == ',')
			p++;
	}
	return false;
}

/*
 * The processes to measure, found afresh at each sample (a server may fork a
 * process per connection): the given pids, plus with --tree their
 * descendants (only those named in --comm, when given), plus with --name
 * every process of that name.
 */
static long
loadgen_pids_collect(pid_t *out, long max)
{
	long n = 0;

	if (g.o.pids != NULL) {
		for (const char *p = g.o.pids; *p && n < max;) {
			long v = strtol(p, NULL, 10);

			if (v > 0 && !loadgen_pid_in(out, n, (pid_t)v))
				out[n++] = (pid_t)v;
			p += strcspn(p, ",");
			if (*p == ',')
				p++;
		}
	}
	if (g.o.pidfile != NULL) {
		FILE *f = fopen(g.o.pidfile, "r");
		long v = 0;

		if (f == NULL || fscanf(f, "%ld", &v) != 1 || v <= 0)
			loadgen_die("cannot read a pid from %s", g.o.pidfile);
		fclose(f);
		if (n < max && !loadgen_pid_in(out, n, (pid_t)v))
			out[n++] = (pid_t)v;
	}
	if (g.o.tree || g.o.name != NULL) {
		bool grew = true;

		/* Iterate until no new descendant appears (depth > 1). */
		while (grew) {
			DIR *d = opendir("/proc");
			struct dirent *de;

			if (d == NULL)
				loadgen_die("opendir /proc: %s", strerror(errno));
			grew = false;
			while ((de = readdir(d)) != NULL && n < max) {
				char comm[64];
				pid_t pid, ppid;

				if (!isdigit((unsigned char)de->d_name[0]))
					continue;
				pid = (pid_t)strtol(de->d_name, NULL, 10);
				if (loadgen_pid_in(out, n, pid) ||
				    loadgen_proc_stat(pid, comm, sizeof(comm), &ppid) != 0)
					continue;
				if (g.o.name != NULL && loadgen_comm_match(g.o.name, comm)) {
					out[n++] = pid;
					grew = true;
				} else if (g.o.tree && loadgen_pid_in(out, n, ppid) &&
				    (g.o.comm == NULL ||
				     loadgen_comm_match(g.o.comm, comm))) {
					out[n++] = pid;
					grew = true;
				}
			}
			closedir(d);
			if (!g.o.tree)
				break;
		}
	}
	return n;
}

static struct loadgen_mem
loadgen_mem_sample(void)
{
	static pid_t pids[LOADGEN_PIDS_MAX];
	struct loadgen_mem m = { 0, 0, 0 };
	long n = loadgen_pids_collect(pids, LOADGEN_PIDS_MAX);

	for (long i = 0; i < n; i++) {
		long rss, pss;

		if (loadgen_proc_mem(pids[i], &rss, &pss) == 0) {
			m.rss_kb += rss;
			m.pss_kb += pss;
			m.nprocs++;
		}
	}
	return m;
}

static int
loadgen_run_idle(void)
{
	struct loadgen_mem before, after;
	long next = 0, held = 0;
	double t_end, settle_end;

	if (g.o.pids == NULL && g.o.pidfile == NULL && g.o.name == NULL)
		loadgen_die("--idle needs --pids, --pidfile or --name");
	before = loadgen_mem_sample();
	if (before.nprocs == 0)
		loadgen_die("no server process found to measure");
	g.nconns = g.o.idle;
	g.conns = calloc((size_t)g.nconns, sizeof(*g.conns));
	if (g.conns == NULL)
		loadgen_die("out of memory");
	for (long i = 0; i < g.nconns; i++) {
		g.conns[i].id = (unsigned)i;
		g.conns[i].fd = -1;
		g.conns[i].state = LG_CLOSED;
	}
	/* Open them at a pace the listen backlog can take. */
	t_end = loadgen_now() + g.o.timeout;
	while (g.stop == 0 && loadgen_now() < t_end) {
		long pending = 0;

		for (long i = 0; i < next; i++)
			if (g.conns[i].fd >= 0 && g.conns[i].state != LG_IDLE)
				pending++;
		while (next < g.nconns && pending < LOADGEN_PENDING_MAX) {
			loadgen_conn_start(&g.conns[next++]);
			pending++;
		}
		if (next == g.nconns && pending == 0)
			break;
		loadgen_loop_once(LOADGEN_POLL_MS);
	}
	settle_end = loadgen_now() + LOADGEN_SETTLE_SEC;
	while (g.stop != 2 && loadgen_now() < settle_end)
		loadgen_loop_once(LOADGEN_POLL_MS);
	after = loadgen_mem_sample();
	for (long i = 0; i < g.nconns; i++) {
		if (g.conns[i].fd >= 0 && g.conns[i].state == LG_IDLE)
			held++;
		loadgen_conn_close(&g.conns[i]);
	}

	printf("result server=%s mode=idle conns=%ld banners=%ld held=%ld errors=%ld"
	    " procs_before=%ld procs_after=%ld rss_before_kb=%ld rss_after_kb=%ld"
	    " pss_before_kb=%ld pss_after_kb=%ld rss_kb_per_conn=%.1f"
	    " pss_kb_per_conn=%.1f\n",
	    g.o.label, g.o.idle, g.banners, held, g.errors, before.nprocs,
	    after.nprocs, before.rss_kb, after.rss_kb, before.pss_kb,
	    after.pss_kb, (double)(after.rss_kb - before.rss_kb) / (double)g.o.idle,
	    (double)(after.pss_kb - before.pss_kb) / (double)g.o.idle);
	if (g.errors > 0)
		fprintf(stderr, "loadgen: %ld errors; last: %s\n", g.errors,
		    g.last_error);
	fflush(stdout);
	return held == g.o.idle ? 0 : 1;
}

/* ---- mid mode: memory while every session is mid-way through DATA ---- */

/* Every connection holds half a message, all of it handed to the kernel. */
static bool
loadgen_mid_all_held(void)
{
	for (long i = 0; i < g.nconns; i++) {
		struct loadgen_conn *c = &g.conns[i];

		if (c->fd < 0 || c->state != LG_HELD || c->out.off < c->out.len)
			return false;
	}
	return true;
}

/* Bytes sent but not yet acknowledged by the server's kernel, all conns. */
static long
loadgen_mid_unacked(void)
{
	long sum = 0;

	for (long i = 0; i < g.nconns; i++) {
		int q = 0;

		if (g.conns[i].fd >= 0 && ioctl(g.conns[i].fd, SIOCOUTQ, &q) == 0)
			sum += q;
	}
	return sum;
}

static int
loadgen_run_mid(void)
{
	struct loadgen_mem before, mid = { 0, 0, 0 };
	long held = 0;
	double t_end, settle_end;

	if (g.o.pids == NULL && g.o.pidfile == NULL && g.o.name == NULL)
		loadgen_die("--mid needs --pids, --pidfile or --name");
	if (g.o.mime)
		loadgen_body_build_mime(g.o.size);
	else
		loadgen_body_build(g.o.size);
	loadgen_body_split();
	before = loadgen_mem_sample();
	if (before.nprocs == 0)
		loadgen_die("no server process found to measure");
	g.o.n = g.o.conc = g.nconns = g.o.mid;
	g.conns = calloc((size_t)g.nconns, sizeof(*g.conns));
	if (g.conns == NULL)
		loadgen_die("out of memory");
	for (long i = 0; i < g.nconns; i++) {
		g.conns[i].id = (unsigned)i;
		g.conns[i].fd = -1;
		loadgen_conn_start(&g.conns[i]);
	}
	/* Every session in DATA with half its message sent... */
	t_end = loadgen_now() + g.o.timeout;
	while (g.stop == 0 && loadgen_now() < t_end && !loadgen_mid_all_held() &&
	    loadgen_open_count() == g.nconns)
		loadgen_loop_once(LOADGEN_POLL_MS);
	/* ...and read by the server: acknowledged, then a moment to parse it. */
	while (g.stop == 0 && loadgen_now() < t_end && loadgen_mid_unacked() > 0)
		loadgen_loop_once(LOADGEN_POLL_MS);
	if (loadgen_mid_all_held()) {
		settle_end = loadgen_now() + LOADGEN_SETTLE_SEC;
		while (g.stop != 2 && loadgen_now() < settle_end)
			loadgen_loop_once(LOADGEN_POLL_MS);
		for (long i = 0; i < g.nconns; i++)
			if (g.conns[i].fd >= 0 && g.conns[i].state == LG_HELD)
				held++;
		mid = loadgen_mem_sample();
	}
	/* The rest of each message; the 250s; QUIT. */
	for (long i = 0; i < g.nconns; i++) {
		struct loadgen_conn *c = &g.conns[i];

		if (c->fd < 0 || c->state != LG_HELD)
			continue;
		loadgen_buf_append(&c->out, g.body + g.body_half,
		    g.body_len - g.body_half);
		c->state = LG_BODY;
		c->deadline = loadgen_now() + g.o.timeout;
		loadgen_flush(c);
	}
	while (g.stop != 2 && loadgen_open_count() > 0)
		loadgen_loop_once(LOADGEN_POLL_MS);
	for (long i = 0; i < g.nconns; i++)
		loadgen_conn_close(&g.conns[i]);

	printf("result server=%s mode=mid conns=%ld size=%ld%s sent_kb=%zu"
	    " held=%ld accepted=%ld errors=%ld procs=%ld rss_before_kb=%ld"
	    " rss_mid_kb=%ld pss_before_kb=%ld pss_mid_kb=%ld", g.o.label,
	    g.o.mid, g.o.size, g.o.mime ? " mime=1" : "", g.body_half / 1024,
	    held, g.accepted, g.errors, mid.nprocs, before.rss_kb, mid.rss_kb,
	    before.pss_kb, mid.pss_kb);
	if (held > 0)
		printf(" rss_kb_per_session=%.1f pss_kb_per_session=%.1f",
		    (double)(mid.rss_kb - before.rss_kb) / (double)held,
		    (double)(mid.pss_kb - before.pss_kb) / (double)held);
	printf("\n");
	if (g.errors > 0)
		fprintf(stderr, "loadgen: %ld errors; last: %s\n", g.errors,
		    g.last_error);
	fflush(stdout);
	return held == g.o.mid && g.accepted == g.o.mid ? 0 : 1;
}

static void
loadgen_usage(void)
{
	fprintf(stderr,
	    "usage: loadgen -h HOST -p PORT -n MESSAGES -s SIZE -c CONCURRENCY\n"
	    "               -f FROM -t RCPT [-m MAILDIR_NEW | --sink PORT]\n"
	    "               [-w TIMEOUT_SEC] [--source ADDR] [--mime]\n"
	    "               [-e MAX_ERRORS] [-l LABEL]\n"
	    "       loadgen -h HOST -p PORT --idle K [--pids PID,...]\n"
	    "               [--pidfile FILE] [--name COMM,...] [--tree]\n"
	    "               [--comm COMM,...] [-w TIMEOUT_SEC] [-l LABEL]\n"
	    "       loadgen -h HOST -p PORT --mid K -s SIZE [--mime] -f FROM -t RCPT\n"
	    "               [--pids PID,...] [--pidfile FILE] [--name COMM,...]\n"
	    "               [--tree] [--comm COMM,...] [-w TIMEOUT_SEC] [-l LABEL]\n"
	    "--mime: multipart/mixed, a short text part and a base64 attachment\n"
	    "report.pdf (application/pdf) that fills SIZE. --mid: K sessions each\n"
	    "send half of one message's DATA; the server processes' memory is read\n"
	    "then, and they finish.\n"
	    "HOST and ADDR (the client's address) must be loopback addresses\n"
	    "(127.0.0.0/8).\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "idle",	required_argument, NULL, 'I' },
		{ "mid",	required_argument, NULL, 'M' },
		{ "mime",	no_argument,	   NULL, 'B' },
		{ "pids",	required_argument, NULL, 'P' },
		{ "pidfile",	required_argument, NULL, 'F' },
		{ "name",	required_argument, NULL, 'N' },
		{ "comm",	required_argument, NULL, 'C' },
		{ "tree",	no_argument,	   NULL, 'T' },
		{ "label",	required_argument, NULL, 'l' },
		{ "sink",	required_argument, NULL, 'k' },
		{ "source",	required_argument, NULL, 'S' },
		{ "help",	no_argument,	   NULL, 'H' },
		{ NULL, 0, NULL, 0 }
	};
	struct sigaction sa = { .sa_handler = loadgen_on_signal };
	int ch, rc;

	g.o.host = "127.0.0.1";
	g.o.from = "loadgen@bench.test";
	g.o.rcpt = "u@bench.test";
	g.o.label = "server";
	g.o.n = 1000;
	g.o.size = 10240;
	g.o.conc = 1;
	g.o.timeout = 60;
	g.o.max_errors = 100;
	while ((ch = getopt_long(argc, argv, "h:p:n:s:c:f:t:m:w:e:l:", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'h': g.o.host = optarg; break;
		case 'p': g.o.port = (int)loadgen_parse_long("-p", optarg, 1, 65535); break;
		case 'n': g.o.n = loadgen_parse_long("-n", optarg, 1, 100000000); break;
		case 's': g.o.size = loadgen_parse_long("-s", optarg, 100, 100000000); break;
		case 'c': g.o.conc = loadgen_parse_long("-c", optarg, 1, 100000); break;
		case 'f': g.o.from = optarg; break;
		case 't': g.o.rcpt = optarg; break;
		case 'm': g.o.maildir = optarg; break;
		case 'w': g.o.timeout = (double)loadgen_parse_long("-w", optarg, 1, 86400); break;
		case 'e': g.o.max_errors = loadgen_parse_long("-e", optarg, 0, 100000000); break;
		case 'l': g.o.label = optarg; break;
		case 'S': g.o.source = optarg; break;
		case 'k': g.o.sink_port = (int)loadgen_parse_long("--sink", optarg, 1, 65535); break;
		case 'I': g.o.idle = loadgen_parse_long("--idle", optarg, 1, 1000000); break;
		case 'M': g.o.mid = loadgen_parse_long("--mid", optarg, 1, 100000); break;
		case 'B': g.o.mime = true; break;
		case 'P': g.o.pids = optarg; break;
		case 'F': g.o.pidfile = optarg; break;
		case 'N': g.o.name = optarg; break;
		case 'C': g.o.comm = optarg; break;
		case 'T': g.o.tree = true; break;
		default: loadgen_usage();
		}
	}
	if (optind != argc || g.o.port == 0 ||
	    (g.o.maildir != NULL && g.o.sink_port != 0) ||
	    (g.o.mid > 0 && (g.o.idle > 0 || g.o.maildir != NULL ||
	    g.o.sink_port != 0)))
		loadgen_usage();
	g.addr.sin_family = AF_INET;
	g.addr.sin_port = htons((uint16_t)g.o.port);
	if (inet_pton(AF_INET, g.o.host, &g.addr.sin_addr) != 1)
		loadgen_die("-h wants an IPv4 address: %s", g.o.host);
	/* This tool must never load anything but this machine. */
	if ((ntohl(g.addr.sin_addr.s_addr) >> 24) != 127)
		loadgen_die("refusing non-loopback address %s", g.o.host);
	g.src.sin_family = AF_INET;
	if (g.o.source != NULL &&
	    (inet_pton(AF_INET, g.o.source, &g.src.sin_addr) != 1 ||
	    (ntohl(g.src.sin_addr.s_addr) >> 24) != 127))
		loadgen_die("--source wants a loopback IPv4 address: %s", g.o.source);
	if (g.o.conc > g.o.n && g.o.idle == 0 && g.o.mid == 0)
		g.o.conc = g.o.n;

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	loadgen_raise_nofile((g.o.idle > 0 ? g.o.idle :
	    g.o.mid > 0 ? g.o.mid : g.o.conc) + 64);
	if ((g.ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
		loadgen_die("epoll_create1: %s", strerror(errno));
	rc = g.o.idle > 0 ? loadgen_run_idle() :
	    g.o.mid > 0 ? loadgen_run_mid() : loadgen_run_load();
	close(g.ep);
	return rc;
}
