/*
 * cli_relaytest: `postern relay-test HOST:PORT [--from-ip ADDR] [--sender
 * ADDR] [--rcpt ADDR]` (SPEC section 1): tries every trick of
 * cli_relaytest_tricks.c against an SMTP listener, one fresh connection per
 * trick (a server may close after N errors), and never sends DATA: a trick
 * relays when its RCPT is answered 2xx (RFC 5321 4.2.5). A plain blocking
 * client with a poll() deadline per reply; replies parsed by smtp_reply.c.
 */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>

#include "cli/cli.h"
#include "cli/cli_relaytest.h"
#include "cli/cli_util.h"
#include "core/config.h"
#include "core/xalloc.h"
#include "smtp/smtp_reply.h"

#define RELAYTEST_USAGE \
	"relay-test HOST:PORT [--from-ip ADDR] [--sender ADDR] [--rcpt ADDR]"
#define RELAYTEST_TIMEOUT_SEC	10	/* connect, and each reply: ours */
#define RELAYTEST_IN_MAX	(SMTP_REPLY_MAX + 4096)	/* unread bytes */
#define RELAYTEST_NAME_MAX	(SMTP_DOMAIN_MAX + 1)

struct relaytest_opts {
	const char	*target;	/* HOST:PORT as given */
	const char	*from_ip;	/* NULL: the kernel picks */
	const char	*sender;	/* foreign MAIL FROM */
	const char	*rcpt;		/* foreign recipient */
};

/* One SMTP connection. */
struct relaytest_conn {
	int			 fd;
	struct buf		 in;	/* received, not yet parsed */
	struct smtp_resp	 resp;	/* the last reply */
	char			 err[128];	/* why the last step failed */
};

struct relaytest {
	struct sockaddr_storage	 dst, src;
	socklen_t		 dstlen, srclen;	/* srclen 0: no bind */
	char			 addr[INET6_ADDRSTRLEN];	/* dst, text */
	unsigned		 port;
};

enum relaytest_outcome { RT_RELAYED, RT_REFUSED, RT_REFUSED_AT_MAIL,
	RT_ERROR };

/* "a@b": one '@', neither side empty, no blank, bracket or control; the
 * domain a DNS name. Our own input: a sanity check, not RFC 5321. */
static bool
relaytest_mailbox_ok(const char *s)
{
	const char *at = strchr(s, '@');

	if (at == NULL || at == s || strchr(at + 1, '@') != NULL ||
	    strlen(s) + 2 > SMTP_PATH_MAX || (size_t)(at - s) > SMTP_LOCAL_PART_MAX)
		return false;
	for (const char *p = s; p < at; p++)
		if ((unsigned char)*p <= 0x20 || *p >= 0x7f || strchr("<>\"\\", *p))
			return false;
	return config_hostname_valid(at + 1);
}

static int
relaytest_args(int argc, char **argv, struct relaytest_opts *o)
{
	*o = (struct relaytest_opts){ .sender = RELAYTEST_ADDR,
	    .rcpt = RELAYTEST_ADDR };
	for (int i = 1; i < argc; i++) {
		const char **slot = NULL;

		if (strcmp(argv[i], "--from-ip") == 0)
			slot = &o->from_ip;
		else if (strcmp(argv[i], "--sender") == 0)
			slot = &o->sender;
		else if (strcmp(argv[i], "--rcpt") == 0)
			slot = &o->rcpt;
		if (slot != NULL) {
			if (++i == argc)
				return -1;
			*slot = argv[i];
		} else if (argv[i][0] == '-' || o->target != NULL) {
			return -1;
		} else {
			o->target = argv[i];
		}
	}
	if (o->target == NULL || !relaytest_mailbox_ok(o->sender) ||
	    !relaytest_mailbox_ok(o->rcpt))
		return -1;
	return 0;
}

/* Resolves the target (and --from-ip, which fixes the family). 0, or -1
 * after the error on stderr; *res_out for freeaddrinfo(). */
static int
relaytest_resolve(const struct relaytest_opts *o, struct relaytest *rt,
    struct addrinfo **res_out)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
	    .ai_flags = AI_NUMERICSERV };
	char host[RELAYTEST_NAME_MAX];
	const char *port;
	bool br;
	in_port_t p;
	int rc;

	if (config_hostport_split(o->target, false, host, sizeof(host), &port,
	    &br) == -1 || config_port_parse(port, &p) == -1 ||
	    (!br && strchr(host, ':') != NULL))
		return cli_usage(RELAYTEST_USAGE);
	rt->port = p;
	if (o->from_ip != NULL) {
		struct addrinfo fh = { .ai_flags = AI_NUMERICHOST }, *f;

		if (getaddrinfo(o->from_ip, "0", &fh, &f) != 0)
			return cli_usage(RELAYTEST_USAGE);
		memcpy(&rt->src, f->ai_addr, f->ai_addrlen);
		rt->srclen = f->ai_addrlen;
		hints.ai_family = f->ai_family;
		freeaddrinfo(f);
	}
	/* "[...]" holds an IPv6 address (as in listen addresses). */
	if (br) {
		hints.ai_flags |= AI_NUMERICHOST;
		if (o->from_ip == NULL)
			hints.ai_family = AF_INET6;
	}
	if ((rc = getaddrinfo(host, port, &hints, res_out)) != 0) {
		if (o->from_ip != NULL && (rc == EAI_ADDRFAMILY || rc == EAI_FAMILY))
			cli_error("relay-test: %s has no address of the family "
			    "of --from-ip %s", host, o->from_ip);
		else
			cli_error("relay-test: cannot resolve %s: %s", host,
			    rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
		return CLI_FAIL;
	}
	if (br && (*res_out)->ai_family != AF_INET6) {
		freeaddrinfo(*res_out);
		return cli_usage(RELAYTEST_USAGE);
	}
	return 0;
}

static int
relaytest_conn_fail(struct relaytest_conn *c, const char *what)
{
	snprintf(c->err, sizeof(c->err), "%s", what);
	return -1;
}

static int
relaytest_wait(int fd, short events, const struct timespec *deadline)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	struct timespec now;
	long ms;
	int n;

	do {
		clock_gettime(CLOCK_MONOTONIC, &now);
		ms = (deadline->tv_sec - now.tv_sec) * 1000 +
		    (deadline->tv_nsec - now.tv_nsec) / 1000000;
		if (ms <= 0)
			return 0;
		n = poll(&pfd, 1, (int)ms);
	} while (n == -1 && errno == EINTR);
	return n;
}

static void
relaytest_deadline(struct timespec *d)
{
	clock_gettime(CLOCK_MONOTONIC, d);
	d->tv_sec += RELAYTEST_TIMEOUT_SEC;
}

/* A non-blocking connect bounded by RELAYTEST_TIMEOUT_SEC; the socket is
 * bound to --from-ip first when given. */
static int
relaytest_connect(const struct relaytest *rt, struct relaytest_conn *c)
{
	struct timespec deadline;
	socklen_t len = sizeof(int);
	int soerr = 0;

	*c = (struct relaytest_conn){ .fd = -1 };
	buf_init(&c->in, RELAYTEST_IN_MAX);
	smtp_resp_init(&c->resp);
	c->fd = socket(rt->dst.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (c->fd == -1)
		return relaytest_conn_fail(c, strerror(errno));
	if (rt->srclen > 0 &&
	    bind(c->fd, (const struct sockaddr *)&rt->src, rt->srclen) == -1) {
		snprintf(c->err, sizeof(c->err), "binding to --from-ip: %s",
		    strerror(errno));
		return -1;
	}
	if (connect(c->fd, (const struct sockaddr *)&rt->dst, rt->dstlen) == 0)
		return 0;
	if (errno != EINPROGRESS)
		return relaytest_conn_fail(c, strerror(errno));
	relaytest_deadline(&deadline);
	if (relaytest_wait(c->fd, POLLOUT, &deadline) <= 0)
		return relaytest_conn_fail(c, "connection timed out");
	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == -1)
		soerr = errno;
	if (soerr != 0)
		return relaytest_conn_fail(c, strerror(soerr));
	return 0;
}

/* Reads one whole reply into c->resp within RELAYTEST_TIMEOUT_SEC. */
static int
relaytest_reply(struct relaytest_conn *c)
{
	struct timespec deadline;
	char chunk[4096];
	size_t used;
	ssize_t n;

	smtp_resp_clear(&c->resp);
	relaytest_deadline(&deadline);
	for (;;) {
		if (c->in.len > 0) {
			enum parse_rc rc = smtp_resp_feed(&c->resp, c->in.data,
			    c->in.len, &used);

			buf_consume(&c->in, used);
			if (rc == PARSE_OK)
				return 0;
			if (rc != PARSE_INCOMPLETE)
				return relaytest_conn_fail(c, "malformed reply");
		}
		if (relaytest_wait(c->fd, POLLIN, &deadline) <= 0) {
			snprintf(c->err, sizeof(c->err), "no reply within %d s",
			    RELAYTEST_TIMEOUT_SEC);
			return -1;
		}
		n = recv(c->fd, chunk, sizeof(chunk), 0);
		if (n == 0)
			return relaytest_conn_fail(c, "connection closed");
		if (n == -1 && errno != EINTR && errno != EAGAIN)
			return relaytest_conn_fail(c, strerror(errno));
		if (n > 0 && buf_append(&c->in, chunk, (size_t)n) == -1)
			return relaytest_conn_fail(c, "reply too long");
	}
}

/* Sends cmd (n bytes) and CRLF, then reads the reply. */
static int
relaytest_cmd(struct relaytest_conn *c, const char *cmd, size_t n)
{
	struct timespec deadline;
	struct buf out;
	size_t off = 0;
	ssize_t w;

	buf_init(&out, SMTP_CMD_LINE_MAX);
	if (buf_append(&out, cmd, n) == -1 || buf_append(&out, "\r\n", 2) == -1) {
		buf_free(&out);
		return relaytest_conn_fail(c, "command too long");
	}
	relaytest_deadline(&deadline);
	while (off < out.len) {
		if (relaytest_wait(c->fd, POLLOUT, &deadline) <= 0) {
			buf_free(&out);
			return relaytest_conn_fail(c, "send timed out");
		}
		w = send(c->fd, out.data + off, out.len - off, MSG_NOSIGNAL);
		if (w == -1 && errno != EINTR && errno != EAGAIN) {
			buf_free(&out);
			return relaytest_conn_fail(c, strerror(errno));
		}
		if (w > 0)
			off += (size_t)w;
	}
	buf_free(&out);
	return relaytest_reply(c);
}

/*
 * QUIT (RFC 5321 4.1.1.10: it also abandons the transaction) unless the
 * dialogue already failed, then wait for the server to close: a server
 * that counts connections per address (limits.connections_per_ip) may
 * count this one until it has closed it.
 */
static void
relaytest_conn_close(struct relaytest_conn *c)
{
	struct timespec deadline;
	char chunk[512];

	if (c->fd != -1 && c->err[0] == '\0')
		(void)relaytest_cmd(c, "QUIT", 4);
	if (c->fd != -1 && shutdown(c->fd, SHUT_WR) == 0) {
		relaytest_deadline(&deadline);
		while (relaytest_wait(c->fd, POLLIN, &deadline) > 0) {
			ssize_t n = recv(c->fd, chunk, sizeof(chunk), 0);

			if (n == 0 || (n == -1 && errno != EINTR))
				break;
		}
	}
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
	buf_free(&c->in);
	smtp_resp_clear(&c->resp);
}

/* "250 2.1.5 Ok" with everything but printable ASCII escaped. */
static void
relaytest_show_reply(const struct smtp_resp *r, struct buf *out)
{
	struct buf one;

	buf_init(&one, SMTP_TEXT_LINE_MAX);
	smtp_resp_format(r, &one);
	cli_escape(out, buf_cstr(&one), one.len);
	buf_free(&one);
}

/*
 * One step of a dialogue for the report: appends "<cmd> -> <reply>" (or
 * "-> <error>") to line. cmd NULL: the greeting. 0 with the reply in
 * c->resp, or -1 when no reply came.
 */
static int
relaytest_step(struct relaytest_conn *c, const char *cmd, size_t n,
    struct buf *line)
{
	int rc;

	if (cmd != NULL) {
		cli_escape(line, cmd, n);
		rc = relaytest_cmd(c, cmd, n);
	} else {
		(void)buf_append_str(line, "greeting");
		rc = relaytest_reply(c);
	}
	(void)buf_append_str(line, " -> ");
	if (rc == -1)
		(void)buf_append_str(line, c->err);
	else
		relaytest_show_reply(&c->resp, line);
	return rc;
}

/*
 * One trick on a fresh connection: greeting, HELO/EHLO, MAIL, RCPT, QUIT.
 * line gets the last step ("RCPT TO:<...> -> 554 5.7.1 ..."). A trick
 * refused before RCPT was never tried: an error, unless MAIL was refused.
 */
static enum relaytest_outcome
relaytest_try(const struct relaytest *rt, const struct relaytest_trick *t,
    struct buf *line)
{
	struct relaytest_conn c;
	enum relaytest_outcome out = RT_ERROR;

	if (relaytest_connect(rt, &c) == -1) {
		(void)buf_printf(line, "connect -> %s", c.err);
		relaytest_conn_close(&c);
		return RT_ERROR;
	}
	if (relaytest_step(&c, NULL, 0, line) == -1 || c.resp.code != 220)
		goto done;
	buf_reset(line);
	if (relaytest_step(&c, t->helo, strlen(t->helo), line) == -1 ||
	    c.resp.code / 100 != 2)
		goto done;
	buf_reset(line);
	if (relaytest_step(&c, t->mail, strlen(t->mail), line) == -1)
		goto done;
	if (c.resp.code / 100 != 2) {
		out = RT_REFUSED_AT_MAIL;
		goto done;
	}
	buf_reset(line);
	if (relaytest_step(&c, t->rcpt.data, t->rcpt.len, line) == 0)
		out = c.resp.code / 100 == 2 ? RT_RELAYED : RT_REFUSED;
done:
	relaytest_conn_close(&c);
	return out;
}

/*
 * The first connection: which address answers, and what the greeting
 * says the server is called. Fills rt->dst and the names in *t (new
 * strings in *host_out and *domain_out). -1 after the error on stderr.
 */
static int
relaytest_probe(struct relaytest *rt, const struct addrinfo *res,
    const char *target, char **host_out, char **domain_out)
{
	struct relaytest_conn c = { .fd = -1 };
	const struct addrinfo *ai;

	for (ai = res; ai != NULL; ai = ai->ai_next) {
		memcpy(&rt->dst, ai->ai_addr, ai->ai_addrlen);
		rt->dstlen = ai->ai_addrlen;
		if (relaytest_connect(rt, &c) == 0)
			break;
		relaytest_conn_close(&c);
	}
	if (ai == NULL) {
		cli_error("relay-test: cannot connect to %s: %s", target, c.err);
		return -1;
	}
	(void)getnameinfo((const struct sockaddr *)&rt->dst, rt->dstlen,
	    rt->addr, sizeof(rt->addr), NULL, 0, NI_NUMERICHOST);
	if (relaytest_reply(&c) == -1 || c.resp.code != 220) {
		struct buf why;

		buf_init(&why, SMTP_TEXT_LINE_MAX);
		if (c.resp.status == PARSE_OK)
			relaytest_show_reply(&c.resp, &why);
		else
			(void)buf_append_str(&why, c.err);
		cli_error("relay-test: %s did not greet: %s", target,
		    buf_cstr(&why));
		buf_free(&why);
		relaytest_conn_close(&c);
		return -1;
	}
	if (relaytest_greeting_names(buf_cstr(&c.resp.text), host_out,
	    domain_out) == -1) {
		*host_out = NULL;
		*domain_out = NULL;
	}
	relaytest_conn_close(&c);
	return 0;
}

/* Runs the battery and prints the report; the exit status. */
static int
relaytest_battery(const struct relaytest *rt, const struct relaytest_opts *o,
    const struct relaytest_target *t)
{
	static const char *const word[] = { [RT_RELAYED] = "relayed",
	    [RT_REFUSED] = "refused", [RT_REFUSED_AT_MAIL] = "refused",
	    [RT_ERROR] = "error" };
	struct relaytest_trick *tricks = xcalloc(RELAYTEST_TRICKS_MAX,
	    sizeof(*tricks));
	size_t n = relaytest_tricks(t, tricks), count[4] = { 0 }, at_mail = 0;
	struct buf line;

	printf("target: %s port %u%s%s, domain %s, host %s, %zu tricks\n",
	    rt->addr, rt->port, o->from_ip != NULL ? " from " : "",
	    o->from_ip != NULL ? o->from_ip : "", t->domain, t->host, n);
	fflush(stdout);
	buf_init(&line, 4 * SMTP_TEXT_LINE_MAX);
	for (size_t i = 0; i < n; i++) {
		enum relaytest_outcome r;

		buf_reset(&line);
		r = relaytest_try(rt, &tricks[i], &line);
		count[r]++;
		if (r == RT_REFUSED_AT_MAIL && tricks[i].foreign_sender)
			at_mail++;
		printf("%-9s %s: %s\n", word[r], tricks[i].name, buf_cstr(&line));
		fflush(stdout);
	}
	buf_free(&line);
	relaytest_tricks_free(tricks, n);
	free(tricks);
	/* A server that checks the sender's domain (Postern's
	 * verify_sender_domain) refuses relay-test.example at MAIL. */
	if (at_mail > 0)
		printf("note: %zu of %zu tricks were refused at MAIL FROM, before "
		    "RCPT was tried: retry with --sender set to an address whose "
		    "domain exists\n", at_mail, n);
	if (count[RT_RELAYED] > 0) {
		printf("verdict: OPEN RELAY (%zu of %zu tricks relayed)\n",
		    count[RT_RELAYED], n);
		return CLI_FAIL;
	}
	if (count[RT_ERROR] == n) {
		printf("verdict: not tested (every trick failed: %zu errors)\n", n);
		return CLI_FAIL;
	}
	printf("verdict: not an open relay (%zu tricks refused",
	    count[RT_REFUSED] + count[RT_REFUSED_AT_MAIL]);
	if (count[RT_ERROR] > 0)
		printf(", %zu errors", count[RT_ERROR]);
	printf(")\n");
	return CLI_OK;
}

int
cli_relaytest(const struct cli_ctx *ctx, int argc, char **argv)
{
	struct relaytest_opts o;
	struct relaytest rt = { 0 };
	struct relaytest_target t;
	struct addrinfo *res = NULL;
	char *host = NULL, *domain = NULL, *literal;
	const char *at;
	int rc;

	(void)ctx;
	if (relaytest_args(argc, argv, &o) == -1)
		return cli_usage(RELAYTEST_USAGE);
	if ((rc = relaytest_resolve(&o, &rt, &res)) != 0)
		return rc;
	rc = relaytest_probe(&rt, res, o.target, &host, &domain);
	freeaddrinfo(res);
	if (rc == -1)
		return CLI_FAIL;
	/* RFC 5321 4.1.3 address literal of the address that answered. */
	literal = xasprintf(rt.dst.ss_family == AF_INET6 ? "[IPv6:%s]" : "[%s]",
	    rt.addr);
	at = strchr(o.rcpt, '@');
	t = (struct relaytest_target){ .sender = o.sender, .literal = literal,
	    .host = host != NULL ? host : literal,
	    .domain = domain != NULL ? domain : literal };
	t.local = xstrndup(o.rcpt, (size_t)(at - o.rcpt));
	t.foreign = at + 1;
	rc = relaytest_battery(&rt, &o, &t);
	free((char *)t.local);
	free(literal);
	free(host);
	free(domain);
	return rc;
}
