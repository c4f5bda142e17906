/*
 * remote_route: where one attempt goes (RFC 5321 5.1): the relayhost, an
 * address literal (4.1.3), or the MX of the domain by preference with
 * equal ones shuffled, the implicit MX of a domain without MX, the null
 * MX of RFC 7505; the A and AAAA of each host, and the walk over at most
 * REMOTE_ADDRS_MAX of them, one connection at a time (remote_conn.c).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/ids.h"
#include "core/xalloc.h"
#include "delivery/remote_int.h"
#include "dns/dns.h"

static void remote_attempt_next(struct remote_attempt *a);

/* The attempt's lookups still pending will never call back. */
void
remote_attempt_cancel_dns(struct remote_attempt *a)
{
	dns_cancel(a->r->dns, a);
	for (size_t i = 0; i < a->nmx; i++)
		dns_cancel(a->r->dns, &a->mx[i]);
}

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

const char *
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
void
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

