/*
 * remote: delivery attempts (see remote.h). Owns the context (TLS client
 * context, relayhost credentials), each attempt's route: relayhost or
 * address literal or MX lookup with RFC 5321 5.1 ordering, implicit MX
 * and null MX (RFC 7505); the walk over at most REMOTE_ADDRS_MAX
 * addresses; the per-recipient outcome. The SMTP dialogue on one
 * connection is remote_smtp.c's.
 */
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/ids.h"
#include "core/xalloc.h"
#include "delivery/remote_int.h"
#include "dns/dns.h"

static void remote_attempt_next(struct remote_attempt *a);
static void remote_attempt_route(struct remote_attempt *a);

/* ---- context ---- */

/* "user:password" (one final "\n" or "\r\n" allowed) into the base64 of
 * the PLAIN message. Nothing of text is echoed in *why. */
static int
remote_creds_parse(char *text, size_t len, struct buf *auth, const char **why)
{
	unsigned char raw[REMOTE_CREDS_MAX + 2];
	unsigned char b64[4 * ((REMOTE_CREDS_MAX + 4) / 3) + 1];
	size_t ulen, plen;
	const char *colon;
	int n;

	if (len > 0 && text[len - 1] == '\n')
		len--;
	if (len > 0 && text[len - 1] == '\r')
		len--;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)text[i] < 0x20 || text[i] == 0x7f) {
			*why = "control character or more than one line";
			return -1;
		}
	colon = memchr(text, ':', len);
	if (colon == NULL || colon == text || colon + 1 == text + len) {
		*why = "want one line 'username:password'";
		return -1;
	}
	ulen = (size_t)(colon - text);
	plen = len - ulen - 1;
	if (plen > PASSWORD_MAX) {
		*why = "password too long";
		return -1;
	}
	/* RFC 4616 2: message = [authzid] NUL authcid NUL passwd. */
	raw[0] = '\0';
	memcpy(raw + 1, text, ulen);
	raw[ulen + 1] = '\0';
	memcpy(raw + ulen + 2, colon + 1, plen);
	n = EVP_EncodeBlock(b64, raw, (int)(ulen + plen + 2));
	buf_init(auth, sizeof(b64));
	(void)buf_append(auth, b64, (size_t)n);	/* fits: sized above */
	explicit_bzero(raw, sizeof(raw));
	explicit_bzero(b64, sizeof(b64));
	return 0;
}

/* Reads delivery.relayhost_credentials: a regular file no one but its
 * owner may access (it holds a password in clear). */
static int
remote_creds_load(struct remote *r, const char *path, char *err, size_t errlen)
{
	char text[REMOTE_CREDS_MAX + 1];
	const char *why = NULL;
	struct stat st;
	ssize_t n;
	int fd, rc = -1;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
	if (fd == -1) {
		snprintf(err, errlen, "relayhost_credentials %s: %s", path,
		    strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode))
		why = "not a regular file";
	else if ((st.st_mode & 077) != 0)
		why = "group or others may access it (chmod 600)";
	else if (st.st_size > REMOTE_CREDS_MAX)
		why = "larger than 1024 bytes";
	else if ((n = read(fd, text, sizeof(text) - 1)) < 0)
		why = strerror(errno);
	else if (remote_creds_parse(text, (size_t)n, &r->auth, &why) == 0)
		rc = 0;
	explicit_bzero(text, sizeof(text));
	close(fd);
	if (rc == -1)
		snprintf(err, errlen, "relayhost_credentials %s: %s", path, why);
	return rc;
}

/* delivery.relayhost, already validated by the loader: "[host]:port",
 * "[host]", "host:port" or "host"; brackets also hold an IPv6 address. */
static void
remote_relay_split(struct remote *r, const char *s)
{
	const char *end, *colon;

	r->relay_port = REMOTE_DEFAULT_PORT;
	r->relay_bracketed = s[0] == '[';
	if (r->relay_bracketed) {
		end = strchr(s, ']');
		r->relay_host = xstrndup(s + 1, (size_t)(end - s - 1));
		colon = end[1] == ':' ? end + 1 : NULL;
	} else {
		colon = strrchr(s, ':');
		r->relay_host = xstrndup(s, colon != NULL ?
		    (size_t)(colon - s) : strlen(s));
	}
	if (colon != NULL)
		r->relay_port = (unsigned)strtoul(colon + 1, NULL, 10);
}

struct remote *
remote_new(struct event_base *base, const struct config *cfg,
    struct dns *dns, char *err, size_t errlen)
{
	struct remote *r = xcalloc(1, sizeof(*r));

	r->base = base;
	r->cfg = cfg;
	r->dns = dns;
	r->log.service = "qmgr";
	buf_init(&r->auth, 0);
	if ((r->reap = event_new(base, -1, 0, remote_conn_reap_cb, r)) == NULL)
		fatal("remote: event_new failed");
	if (*cfg->delivery.relayhost != '\0')
		remote_relay_split(r, cfg->delivery.relayhost);
	if (*cfg->delivery.relayhost_credentials != '\0' &&
	    remote_creds_load(r, cfg->delivery.relayhost_credentials, err,
	    errlen) == -1)
		goto fail;
	/*
	 * Opportunistic TLS (RFC 7435): no certificate is checked, since
	 * without DANE or MTA-STS nothing says which name to expect; what it
	 * buys is protection from passive eavesdropping.
	 */
	if ((r->tls = SSL_CTX_new(TLS_client_method())) == NULL ||
	    SSL_CTX_set_min_proto_version(r->tls, TLS1_2_VERSION) != 1) {
		snprintf(err, errlen, "remote: cannot make the TLS client context");
		goto fail;
	}
	SSL_CTX_set_verify(r->tls, SSL_VERIFY_NONE, NULL);
	return r;
fail:
	remote_free(&r);
	return NULL;
}

size_t
remote_active(const struct remote *r)
{
	return r->nattempts;
}

/* ---- one attempt: bookkeeping ---- */

void
remote_fmt(char *out, size_t outlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(out, outlen, fmt, ap);
	va_end(ap);
}

void
remote_rcpt_set(struct remote_attempt *a, size_t i, enum remote_status st,
    const char *reply)
{
	a->state[i] = RS_FINAL;
	a->res[i].status = st;
	snprintf(a->res[i].reply, sizeof(a->res[i].reply), "%s", reply);
}

void
remote_attempt_all(struct remote_attempt *a, enum remote_status st,
    const char *reply)
{
	for (size_t i = 0; i < a->nrcpts; i++)
		if (a->state[i] != RS_FINAL)
			remote_rcpt_set(a, i, st, reply);
}

void
remote_attempt_temp(struct remote_attempt *a, enum remote_rank rank,
    const char *reply)
{
	if (rank < a->temp_rank)
		return;
	a->temp_rank = rank;
	snprintf(a->temp, sizeof(a->temp), "%s", reply);
}

/* A made-up reply for every recipient not final yet. */
static void __attribute__((format(printf, 3, 4)))
remote_attempt_allf(struct remote_attempt *a, enum remote_status st,
    const char *fmt, ...)
{
	char reply[REMOTE_REPLY_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reply, sizeof(reply), fmt, ap);
	va_end(ap);
	remote_attempt_all(a, st, reply);
}

int
remote_attempt_scan(struct remote_attempt *a)
{
	if (a->scanned)
		return 0;
	if (remote_body_scan(a->body_fd, a->body_off, a->body_len,
	    &a->wire_len, &a->eightbit) == -1) {
		log_kv(&a->r->log, LOGL_ERROR, "remote_body_error",
		    "queue_id", a->queue_id, "detail", strerror(errno), NULL);
		return -1;
	}
	a->scanned = true;
	return 0;
}

/* The attempt's lookups still pending will never call back. */
static void
remote_attempt_cancel_dns(struct remote_attempt *a)
{
	dns_cancel(a->r->dns, a);
	for (size_t i = 0; i < a->nmx; i++)
		dns_cancel(a->r->dns, &a->mx[i]);
}

void
remote_attempt_finish(struct remote_attempt *a)
{
	if (a->finished)
		return;
	a->finished = true;
	a->waiting = false;
	remote_attempt_cancel_dns(a);
	if (a->temp_rank == RANK_NONE)
		remote_attempt_temp(a, RANK_DNS, "451 4.4.0 no delivery was "
		    "possible, retrying later");
	remote_attempt_all(a, REMOTE_DEFERRED, a->temp);
	event_active(a->done_ev, EV_TIMEOUT, 0);
}

/* Frees a; touches nothing of a->r (it may be gone: done freed it).
 * Its lookups were cancelled when it finished, or by remote_free(). */
static void
remote_attempt_free(struct remote_attempt *a)
{
	if (a->conn != NULL)
		remote_conn_free(a->conn);
	for (size_t i = 0; i < a->nmx; i++) {
		free(a->mx[i].host);
		free(a->mx[i].addr[0]);
		free(a->mx[i].addr[1]);
	}
	for (size_t i = 0; i < a->nrcpts; i++)
		free(a->rcpts[i]);
	free(a->rcpts);
	free(a->res);
	free(a->state);
	free(a->queue_id);
	free(a->domain);
	free(a->from);
	free(a->key);
	if (a->done_ev != NULL)
		event_free(a->done_ev);
	free(a);
}

static void
remote_attempt_unlink(struct remote_attempt *a)
{
	struct remote *r = a->r;

	if (a->prev != NULL)
		a->prev->next = a->next;
	else
		r->attempts = a->next;
	if (a->next != NULL)
		a->next->prev = a->prev;
	a->prev = a->next = NULL;
	r->nattempts--;
}

static void
remote_attempt_done_cb(evutil_socket_t fd, short what, void *arg)
{
	struct remote_attempt *a = arg;
	struct remote_outcome out = {
		.rcpts = a->res, .mx = a->peer_mx, .ip = a->peer_ip,
		.tls = a->peer_tls,
	};

	(void)fd;
	(void)what;
	remote_attempt_unlink(a);
	a->done(a->arg, &out);	/* may call remote_free() or remote_deliver() */
	remote_attempt_free(a);
}

void
remote_free(struct remote **rp)
{
	struct remote *r = *rp;
	struct remote_attempt *a;

	*rp = NULL;
	if (r == NULL)
		return;
	while ((a = r->attempts) != NULL) {
		remote_attempt_unlink(a);
		remote_attempt_cancel_dns(a);
		remote_attempt_free(a);
	}
	while (r->idle != NULL)
		remote_conn_free(r->idle);
	while (r->quitting != NULL)
		remote_conn_free(r->quitting);
	remote_conn_reap_cb(-1, 0, r);
	event_free(r->reap);
	buf_wipe(&r->auth);
	if (r->tls != NULL)
		SSL_CTX_free(r->tls);
	free(r->relay_host);
	free(r);
}

/* ---- one attempt: the route ---- */

/* Adds an MX host (name copied); NULL when REMOTE_MX_MAX are there. */
static struct remote_mx *
remote_mx_add(struct remote_attempt *a, const char *host, unsigned pref)
{
	struct remote_mx *mx;

	if (a->nmx == REMOTE_MX_MAX)
		return NULL;
	mx = &a->mx[a->nmx++];
	mx->a = a;
	mx->host = xstrdup(host);
	mx->pref = pref;
	return mx;
}

/* A literal address as the only "MX": no lookup. */
static void
remote_mx_literal(struct remote_attempt *a, const char *host,
    const struct sockaddr_storage *ss)
{
	struct remote_mx *mx = remote_mx_add(a, host, 0);
	int fam = ss->ss_family == AF_INET6;

	mx->addr[fam] = xmalloc(sizeof(*ss));
	memcpy(mx->addr[fam], ss, sizeof(*ss));
	mx->naddr[fam] = 1;
}

/* "1.2.3.4", or "IPv6:..." when v6_tag (RFC 5321 4.1.3), else a v6 text. */
static bool
remote_ip_parse(const char *s, bool v6_tag, struct sockaddr_storage *ss)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, s, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		return true;
	}
	if (v6_tag) {
		if (strncasecmp(s, "IPv6:", 5) != 0)
			return false;
		s += 5;
	}
	if (inet_pton(AF_INET6, s, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		return true;
	}
	return false;
}

static void remote_on_a(void *arg, const struct dns_result *res);
static void remote_on_aaaa(void *arg, const struct dns_result *res);
static void remote_on_mx(void *arg, const struct dns_result *res);

/* Starts the A and AAAA lookups of mx. A name dns refuses (too long)
 * simply resolves to nothing. */
static void
remote_mx_resolve(struct remote_mx *mx)
{
	if (dns_query_a(mx->a->r->dns, mx->host, remote_on_a, mx) == 0)
		mx->pending++;
	if (dns_query_aaaa(mx->a->r->dns, mx->host, remote_on_aaaa, mx) == 0)
		mx->pending++;
}

/* The destination of a itself as its only MX: the implicit MX of RFC
 * 5321 5.1, or a bracketed relayhost (no MX lookup, by convention). */
static void
remote_route_host(struct remote_attempt *a, const char *host)
{
	remote_mx_resolve(remote_mx_add(a, host, 0));
}

static int
remote_mx_cmp(const void *x, const void *y)
{
	const struct dns_mx *p = x, *q = y;

	return p->pref < q->pref ? -1 : p->pref > q->pref;
}

/* RFC 5321 5.1: by preference, in random order among equals. */
static void
remote_mx_order(struct dns_mx *mx, size_t n)
{
	size_t start = 0, end, j;
	uint32_t rnd;
	struct dns_mx t;

	qsort(mx, n, sizeof(*mx), remote_mx_cmp);
	while (start < n) {
		for (end = start + 1; end < n && mx[end].pref == mx[start].pref;)
			end++;
		for (size_t i = end - 1; i > start; i--) {	/* Fisher-Yates */
			ids_random(&rnd, sizeof(rnd));
			j = start + rnd % (i - start + 1);
			t = mx[i];
			mx[i] = mx[j];
			mx[j] = t;
		}
		start = end;
	}
}

static bool
remote_mx_seen(const struct remote_attempt *a, const char *host)
{
	for (size_t i = 0; i < a->nmx; i++)
		if (strcasecmp(a->mx[i].host, host) == 0)
			return true;
	return false;
}

/* What a destination is called in made-up replies. */
static const char *
remote_dest(const struct remote_attempt *a)
{
	return a->r->relay_host != NULL ? a->r->relay_host : a->domain;
}

static void
remote_on_mx(void *arg, const struct dns_result *res)
{
	struct remote_attempt *a = arg;
	bool relay = a->r->relay_host != NULL;
	struct dns_mx *mx;
	size_t n = 0;

	/* A relayhost that does not resolve is the administrator's to fix:
	 * never a bounce. */
	if (res->rc == DNS_NXDOMAIN && !relay) {
		remote_attempt_allf(a, REMOTE_BOUNCED, "550 5.4.4 %s: no such "
		    "domain", a->domain);
		remote_attempt_finish(a);
		return;
	}
	if (res->rc == DNS_NXDOMAIN || res->rc == DNS_TEMPFAIL) {
		remote_attempt_allf(a, REMOTE_DEFERRED, "451 4.4.3 %s: %s "
		    "looking up MX", remote_dest(a), res->rc == DNS_TEMPFAIL ?
		    "DNS failure" : "no such domain");
		remote_attempt_finish(a);
		return;
	}
	if (res->rc == DNS_NODATA) {
		a->implicit = true;
		remote_route_host(a, remote_dest(a));
		remote_attempt_next(a);
		return;
	}
	/* RFC 7505 3: a "." host means no mail; among other MX it is
	 * skipped (they are tried, as 4.3 allows). */
	mx = xcalloc(res->nmx, sizeof(*mx));
	for (size_t i = 0; i < res->nmx; i++)
		if (res->mx[i].host[0] != '\0')
			mx[n++] = res->mx[i];	/* borrowed names */
	if (n == 0) {
		free(mx);
		remote_attempt_allf(a, relay ? REMOTE_DEFERRED : REMOTE_BOUNCED,
		    relay ? "451 4.4.4 %s: null MX" : "550 5.1.2 %s: domain "
		    "accepts no mail (null MX)", remote_dest(a));
		remote_attempt_finish(a);
		return;
	}
	remote_mx_order(mx, n);
	for (size_t i = 0; i < n && a->nmx < REMOTE_MX_MAX; i++)
		if (!remote_mx_seen(a, mx[i].host))
			(void)remote_mx_add(a, mx[i].host, mx[i].pref);
	free(mx);
	for (size_t i = 0; i < a->nmx; i++)
		remote_mx_resolve(&a->mx[i]);
	remote_attempt_next(a);
}

static void
remote_on_addr(struct remote_mx *mx, int fam, const struct dns_result *res)
{
	size_t n;

	mx->pending--;
	if (res->rc == DNS_TEMPFAIL)
		mx->tempfail = true;
	if (res->rc == DNS_OK && res->naddr > 0) {
		n = res->naddr < REMOTE_ADDRS_MAX ? res->naddr : REMOTE_ADDRS_MAX;
		mx->addr[fam] = xcalloc(n, sizeof(*mx->addr[fam]));
		memcpy(mx->addr[fam], res->addr, n * sizeof(*res->addr));
		mx->naddr[fam] = n;
	}
	if (mx->a->waiting)
		remote_attempt_next(mx->a);
}

static void
remote_on_a(void *arg, const struct dns_result *res)
{
	remote_on_addr(arg, 0, res);
}

static void
remote_on_aaaa(void *arg, const struct dns_result *res)
{
	remote_on_addr(arg, 1, res);
}

/* Every address was tried, or none exists: the end of the attempt. */
static void
remote_attempt_exhausted(struct remote_attempt *a)
{
	bool tempfail = false;

	for (size_t i = 0; i < a->nmx; i++)
		tempfail |= a->mx[i].tempfail;
	if (a->ntried == 0 && tempfail)
		remote_attempt_allf(a, REMOTE_DEFERRED, "451 4.4.3 %s: DNS "
		    "failure looking up the address of %s", remote_dest(a),
		    a->implicit ? "the domain" : "its MX hosts");
	else if (a->ntried == 0 && a->implicit && a->r->relay_host == NULL)
		remote_attempt_allf(a, REMOTE_BOUNCED, "550 5.4.4 %s: no MX "
		    "and no address: not a mail domain", a->domain);
	else if (a->ntried == 0)
		remote_attempt_allf(a, REMOTE_DEFERRED, "451 4.4.4 %s: no "
		    "address for %s", remote_dest(a), a->implicit ? "the host" :
		    "any MX host");
	remote_attempt_finish(a);
}

/*
 * Connects to the next address: MX by MX in order, A before AAAA (IPv6
 * routes are the more often broken ones on mail hosts), at most
 * REMOTE_ADDRS_MAX in all. Waits when the next MX is still being looked
 * up: an answer comes back here.
 */
static void
remote_attempt_next(struct remote_attempt *a)
{
	struct remote_mx *mx;
	struct sockaddr_storage ss;
	size_t total;

	a->waiting = false;
	while (!a->finished) {
		if (a->ntried >= REMOTE_ADDRS_MAX || a->cur_mx >= a->nmx) {
			remote_attempt_exhausted(a);
			return;
		}
		mx = &a->mx[a->cur_mx];
		if (mx->pending > 0) {
			a->waiting = true;
			return;
		}
		total = mx->naddr[0] + mx->naddr[1];
		if (a->cur_addr >= total) {
			a->cur_mx++;
			a->cur_addr = 0;
			continue;
		}
		ss = a->cur_addr < mx->naddr[0] ? mx->addr[0][a->cur_addr] :
		    mx->addr[1][a->cur_addr - mx->naddr[0]];
		a->cur_addr++;
		a->ntried++;
		if (ss.ss_family == AF_INET)
			((struct sockaddr_in *)&ss)->sin_port = htons(a->port);
		else
			((struct sockaddr_in6 *)&ss)->sin6_port = htons(a->port);
		a->last_sa = ss;
		a->cleared = false;
		if (remote_conn_open(a, (struct sockaddr *)&ss, mx->host,
		    false) == 0)
			return;
	}
}

void
remote_attempt_host_failed(struct remote_attempt *a, bool retry_clear)
{
	if (a->finished)
		return;
	if (!a->routed) {
		/* A reused connection failed: start over on a new one. */
		a->temp_rank = RANK_NONE;
		a->temp[0] = '\0';
		remote_attempt_route(a);
		return;
	}
	if (retry_clear && !a->cleared && a->cur_mx < a->nmx) {
		a->cleared = true;
		if (remote_conn_open(a, (struct sockaddr *)&a->last_sa,
		    a->mx[a->cur_mx].host, true) == 0)
			return;
	}
	remote_attempt_next(a);
}

/* Looks up the MX of name (the domain, or an unbracketed relayhost). */
static void
remote_route_mx(struct remote_attempt *a, const char *name)
{
	if (dns_query_mx(a->r->dns, name, remote_on_mx, a) == -1) {
		remote_attempt_allf(a, REMOTE_DEFERRED, "451 4.4.3 %s: cannot "
		    "look up MX", name);
		remote_attempt_finish(a);
	}
}

/* "[192.0.2.1]" or "[IPv6:2001:db8::1]" (RFC 5321 4.1.3). */
static void
remote_route_literal(struct remote_attempt *a)
{
	size_t n = strlen(a->domain);
	struct sockaddr_storage ss;
	char *inner;
	bool ok;

	inner = xstrndup(a->domain + 1, n >= 2 ? n - 2 : 0);
	ok = n >= 3 && a->domain[n - 1] == ']' &&
	    remote_ip_parse(inner, true, &ss);
	free(inner);
	if (!ok) {
		remote_attempt_allf(a, REMOTE_BOUNCED, "550 5.1.2 %s: bad "
		    "address literal", a->domain);
		remote_attempt_finish(a);
		return;
	}
	remote_mx_literal(a, a->domain, &ss);
	remote_attempt_next(a);
}

/* Where a goes: the relayhost (an address, a bracketed name resolved
 * without MX, or a name whose MX are looked up), an address literal, or
 * the MX of the domain. Port: the relayhost's, else delivery.port. */
static void
remote_attempt_route(struct remote_attempt *a)
{
	struct remote *r = a->r;
	struct sockaddr_storage ss;

	a->routed = true;
	if (r->relay_host == NULL) {
		a->port = r->cfg->delivery.port;
		if (a->domain[0] == '[')
			remote_route_literal(a);
		else
			remote_route_mx(a, a->domain);
		return;
	}
	a->port = r->relay_port;
	if (remote_ip_parse(r->relay_host, false, &ss)) {
		remote_mx_literal(a, r->relay_host, &ss);
		remote_attempt_next(a);
	} else if (r->relay_bracketed) {
		remote_route_host(a, r->relay_host);
		remote_attempt_next(a);
	} else
		remote_route_mx(a, r->relay_host);
}

/* Nothing that could end the command line or the path early; sets *utf8
 * for a byte of RFC 6531 (non-ASCII) addresses. */
static bool
remote_addr_ok(const char *s, bool *utf8)
{
	size_t n = strlen(s);

	if (n + 2 > SMTP_PATH_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f || c == '<' || c == '>')
			return false;
		if (c >= 0x80)
			*utf8 = true;
	}
	return true;
}

static void
remote_attempt_copy(struct remote_attempt *a, const struct remote_job *job)
{
	a->queue_id = xstrdup(job->queue_id != NULL ? job->queue_id : "");
	a->domain = xstrdup(job->domain != NULL ? job->domain : "");
	a->from = xstrdup(job->from != NULL ? job->from : "");
	a->nrcpts = job->nrcpts;
	a->rcpts = xcalloc(a->nrcpts + 1, sizeof(*a->rcpts));
	a->res = xcalloc(a->nrcpts + 1, sizeof(*a->res));
	a->state = xcalloc(a->nrcpts + 1, sizeof(*a->state));
	for (size_t i = 0; i < a->nrcpts; i++)
		a->rcpts[i] = xstrdup(job->rcpts[i]);
	a->body_fd = job->body_fd;
	a->body_off = job->body_off;
	a->body_len = job->body_len;
}

/* Refuses what cannot be sent at all; true when something is left. */
static bool
remote_attempt_check(struct remote_attempt *a)
{
	size_t left = 0, dlen = strlen(a->domain);

	if (!remote_addr_ok(a->from, &a->utf8)) {
		remote_attempt_all(a, REMOTE_BOUNCED, "553 5.1.7 bad sender "
		    "address");
		return false;
	}
	for (size_t i = 0; i < a->nrcpts; i++) {
		if (a->rcpts[i][0] == '\0' || !remote_addr_ok(a->rcpts[i],
		    &a->utf8))
			remote_rcpt_set(a, i, REMOTE_BOUNCED, "553 5.1.3 bad "
			    "recipient address");
		else
			left++;
	}
	if (left > 0 && a->r->relay_host == NULL &&
	    (dlen == 0 || dlen > SMTP_DOMAIN_MAX - 2)) {
		remote_attempt_all(a, REMOTE_BOUNCED, "550 5.1.2 bad "
		    "destination domain");
		return false;
	}
	return left > 0;
}

void
remote_deliver(struct remote *r, const struct remote_job *job,
    remote_done_fn done, void *arg)
{
	struct remote_attempt *a = xcalloc(1, sizeof(*a));
	struct remote_conn *c;

	a->r = r;
	a->done = done;
	a->arg = arg;
	remote_attempt_copy(a, job);
	if ((a->done_ev = event_new(r->base, -1, 0, remote_attempt_done_cb,
	    a)) == NULL)
		fatal("remote: event_new failed");
	a->next = r->attempts;
	if (a->next != NULL)
		a->next->prev = a;
	r->attempts = a;
	r->nattempts++;
	a->key = xstrdup(remote_dest(a));
	if (!remote_attempt_check(a)) {
		remote_attempt_finish(a);
		return;
	}
	if ((c = remote_conn_take_idle(r, a->key)) != NULL) {
		remote_conn_reuse(c, a);
		return;
	}
	remote_attempt_route(a);
}
