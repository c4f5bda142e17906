/*
 * sink: the SMTP server at the far end of the outbound benchmark
 * (bench/run.sh). One thread, non-blocking sockets on epoll, loopback only.
 * Answers the banner, EHLO (PIPELINING, 8BITMIME, SIZE; no STARTTLS), MAIL,
 * RCPT, DATA and the final dot with success, discards the message and
 * counts it, with the CLOCK_MONOTONIC time at which each one was accepted.
 *
 * Pipelining (RFC 2920): every complete command in what a read brought is
 * answered in order, into one output buffer sent when the input is drained;
 * after a 354, the bytes that follow in the same read are message data.
 *
 * Counts, three ways: with -n N, one line on stdout when the N-th message
 * has been accepted ("sink nth=N t=<monotonic s>"); on SIGUSR1 and at exit
 * (SIGTERM, SIGINT), the totals on stdout; and the command "XSTAT [K]" on
 * the SMTP port (not advertised), answered "250 messages=C rcpts=R
 * bytes=B t_first=T1 t=TK", TK being the time of the K-th message (of the
 * last when K is absent, 0 when not there yet). bench/loadgen --sink uses
 * XSTAT to time delivery.
 */
#include <arpa/inet.h>
#include <ctype.h>
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
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#define SINK_READ_MAX		65536	/* one read */
#define SINK_LINE_MAX		4096	/* a command line, CRLF included */
#define SINK_OUT_HIGH		65536	/* unsent replies: stop reading */
#define SINK_READS_PER_EVENT	16	/* then answer and let others run */
#define SINK_SIZE_MAX		104857600L	/* advertised SIZE */
#define SINK_HOSTNAME		"sink.bench.test"

/* Where the data terminator CRLF.CRLF scan is; the CRLF ending the DATA
 * command counts as the first one. */
enum sink_dstate {
	SD_BOL,		/* at the beginning of a line */
	SD_DOT,		/* "." at the beginning of a line */
	SD_DOTCR,	/* ".\r" */
	SD_MID,		/* inside a line */
	SD_CR,		/* "\r" inside a line */
};

struct sink_conn {
	int		 fd;
	bool		 data;		/* reading message data */
	bool		 helo, mail;
	bool		 quit;		/* close once the replies are sent */
	bool		 skip_line;	/* discarding an overlong line */
	bool		 reading;	/* EPOLLIN registered */
	bool		 writing;	/* EPOLLOUT registered */
	long		 rcpts;
	uint64_t	 msg_bytes;
	enum sink_dstate ds;
	char		 line[SINK_LINE_MAX];
	size_t		 line_len;
	char		*out;
	size_t		 out_len, out_off, out_cap;
};

static struct {
	int			 ep, lfd;
	long			 nth;		/* -n */
	bool			 quiet;
	long			 messages, rcpts, conns_open, conns_total;
	uint64_t		 bytes;
	double			*times;		/* acceptance time of each message */
	size_t			 times_cap;
	volatile sig_atomic_t	 stop, report;
} g;

static void sink_die(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

static void
sink_die(const char *fmt, ...)
{
	va_list ap;

	fputs("sink: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static double
sink_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *
sink_xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n);

	if (q == NULL)
		sink_die("out of memory");
	return q;
}

static long
sink_parse_long(const char *opt, const char *s, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
		sink_die("bad value for %s: %s", opt, s);
	return v;
}

/* ---- output ---- */

static void
sink_events(struct sink_conn *c)
{
	bool want_in = !c->quit && c->out_len - c->out_off < SINK_OUT_HIGH;
	bool want_out = c->out_off < c->out_len;
	struct epoll_event ev = { .events = 0, .data.ptr = c };

	if (want_in == c->reading && want_out == c->writing)
		return;
	if (want_in)
		ev.events |= EPOLLIN;
	if (want_out)
		ev.events |= EPOLLOUT;
	if (epoll_ctl(g.ep, EPOLL_CTL_MOD, c->fd, &ev) != 0)
		sink_die("epoll_ctl: %s", strerror(errno));
	c->reading = want_in;
	c->writing = want_out;
}

static void
sink_reply(struct sink_conn *c, const char *s)
{
	size_t n = strlen(s);

	if (c->out_off > 0 && c->out_off == c->out_len)
		c->out_off = c->out_len = 0;
	if (c->out_len + n > c->out_cap) {
		size_t cap = c->out_cap ? c->out_cap : 512;

		while (cap < c->out_len + n)
			cap *= 2;
		c->out = sink_xrealloc(c->out, cap);
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, s, n);
	c->out_len += n;
}

static void
sink_close(struct sink_conn *c)
{
	epoll_ctl(g.ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c->out);
	free(c);
	g.conns_open--;
}

/* Sends what it can; false when the connection is gone. */
static bool
sink_flush(struct sink_conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t w = send(c->fd, c->out + c->out_off,
		    c->out_len - c->out_off, MSG_NOSIGNAL);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			sink_close(c);
			return false;
		}
		c->out_off += (size_t)w;
	}
	if (c->out_off == c->out_len) {
		c->out_off = c->out_len = 0;
		if (c->quit) {
			sink_close(c);
			return false;
		}
	}
	sink_events(c);
	return true;
}

/* ---- counting ---- */

static void
sink_print_totals(const char *what)
{
	printf("sink %s messages=%ld rcpts=%ld bytes=%" PRIu64 " conns=%ld\n",
	    what, g.messages, g.rcpts, g.bytes, g.conns_total);
	fflush(stdout);
}

static void
sink_message_done(struct sink_conn *c)
{
	char r[80];
	double t = sink_now();

	if ((size_t)g.messages == g.times_cap) {
		g.times_cap = g.times_cap ? g.times_cap * 2 : 4096;
		g.times = sink_xrealloc(g.times, g.times_cap * sizeof(*g.times));
	}
	g.times[g.messages++] = t;
	g.rcpts += c->rcpts;
	g.bytes += c->msg_bytes;
	snprintf(r, sizeof(r), "250 2.0.0 Ok: queued as S%ld\r\n", g.messages);
	sink_reply(c, r);
	c->mail = false;
	c->rcpts = 0;
	c->msg_bytes = 0;
	c->data = false;
	if (g.nth > 0 && g.messages == g.nth) {
		printf("sink nth=%ld t=%.6f\n", g.nth, t);
		fflush(stdout);
	}
}

/* ---- message data ---- */

/*
 * Consumes data bytes from p[0..n) until the terminating line "." (then
 * answers 250); returns how many bytes it used. Message bytes are only
 * counted: the terminator and the stuffed dots are not told apart from
 * the rest beyond that.
 */
static size_t
sink_data(struct sink_conn *c, const char *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		if (c->ds == SD_MID) {
			const char *cr = memchr(p + i, '\r', n - i);

			if (cr == NULL) {
				i = n;
				break;
			}
			i = (size_t)(cr - p) + 1;
			c->ds = SD_CR;
			continue;
		}
		char ch = p[i++];

		switch (c->ds) {
		case SD_BOL:
			c->ds = ch == '.' ? SD_DOT : ch == '\r' ? SD_CR : SD_MID;
			break;
		case SD_DOT:
			c->ds = ch == '\r' ? SD_DOTCR : SD_MID;
			break;
		case SD_DOTCR:
			if (ch == '\n') {
				/* ".\r\n" after CRLF: three bytes are not data. */
				c->msg_bytes += i;
				c->msg_bytes = c->msg_bytes >= 3 ? c->msg_bytes - 3 : 0;
				sink_message_done(c);
				return i;
			}
			c->ds = ch == '\r' ? SD_CR : SD_MID;
			break;
		case SD_CR:
			c->ds = ch == '\n' ? SD_BOL : ch == '\r' ? SD_CR : SD_MID;
			break;
		case SD_MID:
			break;
		}
	}
	c->msg_bytes += i;
	return i;
}

/* ---- commands ---- */

static bool
sink_verb(const char *line, const char *verb)
{
	size_t n = strlen(verb);

	return strncasecmp(line, verb, n) == 0 &&
	    (line[n] == '\0' || line[n] == ' ');
}

static void
sink_xstat(struct sink_conn *c, const char *arg)
{
	char r[256];
	long k = g.messages;
	double tk = 0, tfirst = g.messages > 0 ? g.times[0] : 0;

	while (*arg == ' ')
		arg++;
	if (*arg != '\0') {
		char *end;

		errno = 0;
		k = strtol(arg, &end, 10);
		if (errno != 0 || end == arg || *end != '\0' || k < 0) {
			sink_reply(c, "501 5.5.4 XSTAT [K]\r\n");
			return;
		}
	}
	if (k >= 1 && k <= g.messages)
		tk = g.times[k - 1];
	snprintf(r, sizeof(r), "250 messages=%ld rcpts=%ld bytes=%" PRIu64
	    " t_first=%.6f t=%.6f\r\n", g.messages, g.rcpts, g.bytes, tfirst, tk);
	sink_reply(c, r);
}

static void
sink_command(struct sink_conn *c, char *line)
{
	if (sink_verb(line, "EHLO")) {
		char r[128];

		c->helo = true;
		c->mail = false;
		c->rcpts = 0;
		snprintf(r, sizeof(r), "250-" SINK_HOSTNAME "\r\n250-PIPELINING\r\n"
		    "250-8BITMIME\r\n250 SIZE %ld\r\n", SINK_SIZE_MAX);
		sink_reply(c, r);
	} else if (sink_verb(line, "HELO")) {
		c->helo = true;
		c->mail = false;
		c->rcpts = 0;
		sink_reply(c, "250 " SINK_HOSTNAME "\r\n");
	} else if (strncasecmp(line, "MAIL FROM:", 10) == 0) {
		if (!c->helo)
			sink_reply(c, "503 5.5.1 EHLO first\r\n");
		else if (c->mail)
			sink_reply(c, "503 5.5.1 nested MAIL\r\n");
		else {
			c->mail = true;
			c->rcpts = 0;
			sink_reply(c, "250 2.1.0 Ok\r\n");
		}
	} else if (strncasecmp(line, "RCPT TO:", 8) == 0) {
		if (!c->mail)
			sink_reply(c, "503 5.5.1 MAIL first\r\n");
		else {
			c->rcpts++;
			sink_reply(c, "250 2.1.5 Ok\r\n");
		}
	} else if (sink_verb(line, "DATA")) {
		if (!c->mail || c->rcpts == 0)
			sink_reply(c, "503 5.5.1 no valid recipients\r\n");
		else {
			c->data = true;
			c->ds = SD_BOL;
			c->msg_bytes = 0;
			sink_reply(c, "354 End data with <CR><LF>.<CR><LF>\r\n");
		}
	} else if (sink_verb(line, "RSET")) {
		c->mail = false;
		c->rcpts = 0;
		sink_reply(c, "250 2.0.0 Ok\r\n");
	} else if (sink_verb(line, "NOOP")) {
		sink_reply(c, "250 2.0.0 Ok\r\n");
	} else if (sink_verb(line, "QUIT")) {
		sink_reply(c, "221 2.0.0 Bye\r\n");
		c->quit = true;
	} else if (sink_verb(line, "VRFY")) {
		sink_reply(c, "252 2.0.0 Cannot VRFY\r\n");
	} else if (sink_verb(line, "XSTAT")) {
		sink_xstat(c, line + 5);
	} else if (line[0] == '\0') {
		sink_reply(c, "500 5.5.2 Empty command\r\n");
	} else {
		/* STARTTLS, AUTH, BDAT, ...: not offered. */
		sink_reply(c, "502 5.5.1 Command not implemented\r\n");
	}
}

/* Consumes command bytes up to and including one LF; how many it used. */
static size_t
sink_cmd_bytes(struct sink_conn *c, const char *p, size_t n)
{
	const char *lf = memchr(p, '\n', n);
	size_t take = lf != NULL ? (size_t)(lf - p) + 1 : n;

	if (!c->skip_line) {
		if (c->line_len + take > SINK_LINE_MAX - 1) {
			c->skip_line = true;
		} else {
			memcpy(c->line + c->line_len, p, take);
			c->line_len += take;
		}
	}
	if (lf == NULL)
		return take;
	if (c->skip_line) {
		sink_reply(c, "500 5.5.2 Line too long\r\n");
		c->skip_line = false;
	} else {
		size_t len = c->line_len - 1;	/* without the LF */

		if (len > 0 && c->line[len - 1] == '\r')
			len--;
		c->line[len] = '\0';
		sink_command(c, c->line);
	}
	c->line_len = 0;
	return take;
}

/* Everything one read brought, commands and data interleaved. */
static void
sink_input(struct sink_conn *c, const char *p, size_t n)
{
	while (n > 0 && !c->quit) {
		size_t used = c->data ? sink_data(c, p, n) : sink_cmd_bytes(c, p, n);

		p += used;
		n -= used;
	}
}

static void
sink_read(struct sink_conn *c)
{
	static char buf[SINK_READ_MAX];

	for (int i = 0; i < SINK_READS_PER_EVENT && !c->quit &&
	    c->out_len - c->out_off < SINK_OUT_HIGH; i++) {
		ssize_t r = recv(c->fd, buf, sizeof(buf), 0);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			sink_close(c);
			return;
		}
		if (r == 0) {
			sink_close(c);
			return;
		}
		sink_input(c, buf, (size_t)r);
		if ((size_t)r < sizeof(buf))
			break;	/* drained, most likely: answer now */
	}
	sink_flush(c);
}

static void
sink_accept(void)
{
	for (;;) {
		struct sockaddr_in sa;
		socklen_t salen = sizeof(sa);
		int fd = accept4(g.lfd, (struct sockaddr *)&sa, &salen,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct sink_conn *c;
		struct epoll_event ev = { .events = EPOLLIN };
		int one = 1;

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				fprintf(stderr, "sink: accept: %s\n", strerror(errno));
			return;
		}
		if (sa.sin_family != AF_INET ||
		    (ntohl(sa.sin_addr.s_addr) >> 24) != 127) {
			close(fd);
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		c = calloc(1, sizeof(*c));
		if (c == NULL)
			sink_die("out of memory");
		c->fd = fd;
		c->reading = true;
		ev.data.ptr = c;
		if (epoll_ctl(g.ep, EPOLL_CTL_ADD, fd, &ev) != 0)
			sink_die("epoll_ctl: %s", strerror(errno));
		g.conns_open++;
		g.conns_total++;
		sink_reply(c, "220 " SINK_HOSTNAME " ESMTP sink\r\n");
		sink_flush(c);
	}
}

static void
sink_on_signal(int sig)
{
	if (sig == SIGUSR1)
		g.report = 1;
	else
		g.stop = 1;
}

static void
sink_usage(void)
{
	fprintf(stderr,
	    "usage: sink -p PORT [-h HOST] [-n N]\n"
	    "HOST (default 127.0.0.1) must be a loopback address (127.0.0.0/8).\n"
	    "-n N: print \"sink nth=N t=<CLOCK_MONOTONIC s>\" when the N-th\n"
	    "      message has been accepted. SIGUSR1: print the totals.\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	struct sockaddr_in addr = { .sin_family = AF_INET };
	struct sigaction sa = { .sa_handler = sink_on_signal };
	struct epoll_event lev = { .events = EPOLLIN, .data.ptr = NULL };
	struct rlimit rl;
	const char *host = "127.0.0.1";
	int ch, port = 0, one = 1;

	while ((ch = getopt(argc, argv, "h:p:n:")) != -1) {
		switch (ch) {
		case 'h': host = optarg; break;
		case 'p': port = (int)sink_parse_long("-p", optarg, 1, 65535); break;
		case 'n': g.nth = sink_parse_long("-n", optarg, 1, 1000000000); break;
		default: sink_usage();
		}
	}
	if (optind != argc || port == 0)
		sink_usage();
	if (inet_pton(AF_INET, host, &addr.sin_addr) != 1)
		sink_die("-h wants an IPv4 address: %s", host);
	if ((ntohl(addr.sin_addr.s_addr) >> 24) != 127)
		sink_die("refusing non-loopback address %s", host);
	addr.sin_port = htons((uint16_t)port);

	/* SA_RESTART off: a signal ends epoll_wait at once. */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}

	g.lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (g.lfd < 0)
		sink_die("socket: %s", strerror(errno));
	setsockopt(g.lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(g.lfd, (struct sockaddr *)&addr, sizeof(addr)) != 0)
		sink_die("bind %s:%d: %s", host, port, strerror(errno));
	if (listen(g.lfd, 1024) != 0)
		sink_die("listen: %s", strerror(errno));
	if ((g.ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
		sink_die("epoll_create1: %s", strerror(errno));
	if (epoll_ctl(g.ep, EPOLL_CTL_ADD, g.lfd, &lev) != 0)
		sink_die("epoll_ctl: %s", strerror(errno));

	while (!g.stop) {
		struct epoll_event evs[256];
		int n = epoll_wait(g.ep, evs, 256, 1000);

		if (n < 0 && errno != EINTR)
			sink_die("epoll_wait: %s", strerror(errno));
		if (g.report) {
			g.report = 0;
			sink_print_totals("count");
		}
		for (int i = 0; i < n; i++) {
			struct sink_conn *c = evs[i].data.ptr;

			if (c == NULL) {
				sink_accept();
				continue;
			}
			/* Writable first: it may let reading resume. */
			if ((evs[i].events & EPOLLOUT) && !sink_flush(c))
				continue;
			if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
				sink_read(c);
		}
	}
	sink_print_totals("total");
	return 0;
}
