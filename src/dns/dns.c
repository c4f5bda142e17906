/*
 * dns: libunbound on the libevent loop; see dns.h for the contract. Owns
 * the unbound context, the ub_fd() read event, and one record per pending
 * lookup (with its DNS_QUERY_TIMEOUT_SEC timer). Decoding of RDATA is in
 * dns_wire.c; rcode handling follows RFC 1035 4.1.1 and RFC 2308.
 */
#include "dns/dns.h"

#include <arpa/inet.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unbound.h>

#include "core/limits.h"
#include "core/xalloc.h"
#include "dns/dns_wire.h"

#define DNS_TYPE_A	1
#define DNS_TYPE_PTR	12
#define DNS_TYPE_MX	15
#define DNS_TYPE_TXT	16
#define DNS_TYPE_AAAA	28
#define DNS_CLASS_IN	1
#define DNS_RCODE_NXDOMAIN	3

struct dns_query {
	struct dns		*d;
	int			 type;
	int			 async_id;
	dns_cb			 cb;
	void			*arg;
	struct event		*timer;
	struct dns_query	*prev, *next;
};

struct dns {
	struct event_base	*base;
	struct ub_ctx		*ctx;
	struct event		*ev;		/* ub_fd() readable; added only
						 * while lookups are pending, so
						 * an idle dns keeps no loop alive */
	struct dns_query	*pending;
	bool			 processing;	/* inside ub_process() */
	bool			 dying;		/* dns_free() during processing */
};

/* "IP", "IP:port", "[IPv6]:port" or a bare IPv6 into unbound's "IP@port". */
static int
dns_server_fwd(const char *s, char *out, size_t outlen)
{
	char host[INET6_ADDRSTRLEN];
	unsigned char bin[sizeof(struct in6_addr)];
	const char *port = NULL, *end;
	size_t hlen;
	char *ep;
	unsigned long p = 53;
	int n;

	if (s[0] == '[') {
		end = strchr(s, ']');
		if (end == NULL || (end[1] != '\0' && end[1] != ':'))
			return -1;
		hlen = (size_t)(end - s - 1);
		s++;
		port = end[1] == ':' ? end + 2 : NULL;
	} else if ((end = strchr(s, ':')) != NULL && strchr(end + 1, ':') == NULL) {
		hlen = (size_t)(end - s);	/* one colon: IPv4:port */
		port = end + 1;
	} else
		hlen = strlen(s);		/* IPv4 or bare IPv6 */
	if (hlen == 0 || hlen >= sizeof(host))
		return -1;
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	if (inet_pton(AF_INET, host, bin) != 1 &&
	    inet_pton(AF_INET6, host, bin) != 1)
		return -1;
	if (port != NULL) {
		if (*port < '0' || *port > '9')
			return -1;
		p = strtoul(port, &ep, 10);
		if (*ep != '\0' || p == 0 || p > 65535)
			return -1;
	}
	n = snprintf(out, outlen, "%s@%lu", host, p);
	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

static int
dns_ctx_setup(struct ub_ctx *ctx, const struct cfg_strlist *servers,
    char *err, size_t errlen)
{
	/* Why each: a local resolver on 127.0.0.1 is the usual setup; the
	 * servers we are given answer for LAN and loopback reverse zones too
	 * (rDNS of internal clients); one retry cap keeps a dead server from
	 * holding a lookup much past our own timer. */
	static const char *const opts[][2] = {
		{ "do-not-query-localhost:", "no" },
		{ "unblock-lan-zones:", "yes" },
		{ "insecure-lan-zones:", "yes" },
		{ "infra-cache-max-rtt:", "2000" },
		{ "outbound-msg-retry:", "2" },
	};
	char fwd[INET6_ADDRSTRLEN + 8];
	size_t i;
	int rc;

	for (i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
		if ((rc = ub_ctx_set_option(ctx, opts[i][0], opts[i][1])) != 0) {
			snprintf(err, errlen, "unbound option %s %s: %s",
			    opts[i][0], opts[i][1], ub_strerror(rc));
			return -1;
		}
	if (servers->n == 0) {
		if ((rc = ub_ctx_resolvconf(ctx, NULL)) != 0) {
			snprintf(err, errlen, "reading /etc/resolv.conf: %s",
			    ub_strerror(rc));
			return -1;
		}
	}
	for (i = 0; i < servers->n; i++) {
		if (dns_server_fwd(servers->v[i], fwd, sizeof(fwd)) == -1) {
			snprintf(err, errlen, "dns server \"%s\": expected IP, "
			    "IP:port or [IPv6]:port", servers->v[i]);
			return -1;
		}
		if ((rc = ub_ctx_set_fwd(ctx, fwd)) != 0) {
			snprintf(err, errlen, "dns server %s: %s", fwd,
			    ub_strerror(rc));
			return -1;
		}
	}
	/* Resolve in a thread, not a forked process: a fork would outlive
	 * privilege changes and sandboxing done after dns_new(). */
	if ((rc = ub_ctx_async(ctx, 1)) != 0) {
		snprintf(err, errlen, "unbound async: %s", ub_strerror(rc));
		return -1;
	}
	/* unbound answers the loopback reverse zone itself (static: every
	 * name but 1.0.0.127 is NXDOMAIN); transparent lets the servers
	 * answer for the other loopback clients too. Last: it finalizes. */
	if ((rc = ub_ctx_zone_add(ctx, "127.in-addr.arpa.", "transparent")) != 0) {
		snprintf(err, errlen, "unbound local zone: %s", ub_strerror(rc));
		return -1;
	}
	return 0;
}

static void dns_on_readable(evutil_socket_t fd, short what, void *arg);

struct dns *
dns_new(struct event_base *base, const struct cfg_strlist *servers,
    char *err, size_t errlen)
{
	struct dns *d = xcalloc(1, sizeof(*d));

	d->base = base;
	if ((d->ctx = ub_ctx_create()) == NULL) {
		snprintf(err, errlen, "unbound: cannot create context");
		free(d);
		return NULL;
	}
	if (dns_ctx_setup(d->ctx, servers, err, errlen) == -1) {
		ub_ctx_delete(d->ctx);
		free(d);
		return NULL;
	}
	d->ev = event_new(base, ub_fd(d->ctx), EV_READ | EV_PERSIST,
	    dns_on_readable, d);
	if (d->ev == NULL) {
		snprintf(err, errlen, "libevent: cannot watch the unbound fd");
		ub_ctx_delete(d->ctx);
		free(d);
		return NULL;
	}
	return d;
}

struct event_base *
dns_base(const struct dns *d)
{
	return d->base;
}

static void
dns_query_unlink(struct dns_query *q)
{
	struct dns *d = q->d;

	if (q->prev != NULL)
		q->prev->next = q->next;
	else
		d->pending = q->next;
	if (q->next != NULL)
		q->next->prev = q->prev;
	q->prev = q->next = NULL;
	if (d->pending == NULL)
		(void)event_del(d->ev);
}

static void
dns_query_free(struct dns_query *q)
{
	event_free(q->timer);
	free(q);
}

static void
dns_destroy(struct dns *d)
{
	struct dns_query *q, *next;

	for (q = d->pending; q != NULL; q = next) {
		next = q->next;
		/* Not found means unbound already answered it; either way
		 * its callback can no longer run once the context is gone. */
		(void)ub_cancel(d->ctx, q->async_id);
		dns_query_free(q);
	}
	d->pending = NULL;
	event_free(d->ev);
	ub_ctx_delete(d->ctx);
	free(d);
}

void
dns_free(struct dns **dp)
{
	struct dns *d = *dp;

	*dp = NULL;
	if (d == NULL)
		return;
	if (d->processing)
		d->dying = true;	/* dns_on_readable() finishes the job */
	else
		dns_destroy(d);
}

void
dns_cancel(struct dns *d, const void *arg)
{
	struct dns_query *q, *next;

	for (q = d->pending; q != NULL; q = next) {
		next = q->next;
		if (q->arg != arg)
			continue;
		/* As in dns_on_timeout(): once cancelled, an answer already
		 * on its way is dropped by unbound, never delivered. */
		(void)ub_cancel(d->ctx, q->async_id);
		dns_query_unlink(q);
		dns_query_free(q);
	}
}

static void
dns_on_readable(evutil_socket_t fd, short what, void *arg)
{
	struct dns *d = arg;

	d->processing = true;
	(void)ub_process(d->ctx);	/* runs dns_on_answer() per answer */
	d->processing = false;
	if (d->dying)
		dns_destroy(d);
}

static void
dns_result_clear(struct dns_result *r)
{
	size_t i;

	for (i = 0; i < r->nmx; i++)
		free(r->mx[i].host);
	for (i = 0; i < r->ntxt; i++)
		free(r->txt[i]);
	for (i = 0; i < r->nnames; i++)
		free(r->names[i]);
	free(r->mx);
	free(r->addr);
	free(r->txt);
	free(r->names);
	memset(r, 0, sizeof(*r));
}

/* One RDATA into r; a malformed record is skipped (returns nothing). */
static void
dns_result_add(struct dns_result *r, int type, const uint8_t *rd, size_t len,
    struct buf *txt)
{
	char name[DNS_NAME_BUF];
	unsigned pref;

	switch (type) {
	case DNS_TYPE_MX:
		if (dns_wire_mx(rd, len, &pref, name) == 0) {
			r->mx[r->nmx].host = xstrdup(name);
			r->mx[r->nmx++].pref = pref;
		}
		break;
	case DNS_TYPE_A:
	case DNS_TYPE_AAAA:
		if (dns_wire_addr(rd, len, type == DNS_TYPE_A ? AF_INET :
		    AF_INET6, &r->addr[r->naddr]) == 0)
			r->naddr++;
		break;
	case DNS_TYPE_TXT:
		if (dns_wire_txt(rd, len, txt) == 0)
			r->txt[r->ntxt++] = xstrdup(buf_cstr(txt));
		break;
	case DNS_TYPE_PTR:
		if (dns_wire_ptr(rd, len, name) == 0)
			r->names[r->nnames++] = xstrdup(name);
		break;
	default:
		break;
	}
}

static void
dns_result_fill(struct dns_result *r, int type, const struct ub_result *u)
{
	struct buf txt;
	size_t n = 0, i;

	while (n < DNS_ANSWERS_MAX && u->data[n] != NULL)
		n++;
	/* Room for n of the queried type; the rest stays NULL. */
	if (type == DNS_TYPE_MX)
		r->mx = xcalloc(n, sizeof(*r->mx));
	else if (type == DNS_TYPE_A || type == DNS_TYPE_AAAA)
		r->addr = xcalloc(n, sizeof(*r->addr));
	else if (type == DNS_TYPE_TXT)
		r->txt = xcalloc(n, sizeof(*r->txt));
	else
		r->names = xcalloc(n, sizeof(*r->names));
	buf_init(&txt, DNS_TXT_MAX);
	for (i = 0; i < n; i++)
		if (u->len[i] >= 0)
			dns_result_add(r, type, (const uint8_t *)u->data[i],
			    (size_t)u->len[i], &txt);
	buf_free(&txt);
	if (r->nmx + r->naddr + r->ntxt + r->nnames == 0)
		r->rc = DNS_TEMPFAIL;	/* all malformed: no conclusion */
}

static void
dns_result_classify(struct dns_result *r, int type, int err,
    const struct ub_result *u)
{
	r->rc = DNS_TEMPFAIL;
	if (err != 0 || u == NULL || u->bogus)
		return;
	r->secure = u->secure != 0;
	if (u->rcode == DNS_RCODE_NXDOMAIN)
		r->rc = DNS_NXDOMAIN;
	else if (u->rcode != 0)
		return;			/* SERVFAIL, REFUSED, ... */
	else if (!u->havedata)
		r->rc = DNS_NODATA;
	else {
		r->rc = DNS_OK;
		dns_result_fill(r, type, u);
	}
}

static void
dns_on_answer(void *arg, int err, struct ub_result *u)
{
	struct dns_query *q = arg;
	struct dns_result r;

	dns_query_unlink(q);
	if (!q->d->dying) {
		memset(&r, 0, sizeof(r));
		dns_result_classify(&r, q->type, err, u);
		q->cb(q->arg, &r);
		dns_result_clear(&r);
	}
	if (u != NULL)
		ub_resolve_free(u);
	dns_query_free(q);
}

static void
dns_on_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct dns_query *q = arg;
	struct dns_result r;

	(void)ub_cancel(q->d->ctx, q->async_id);	/* its callback never runs */
	dns_query_unlink(q);
	memset(&r, 0, sizeof(r));
	r.rc = DNS_TEMPFAIL;
	q->cb(q->arg, &r);	/* may dns_free(): q is no longer on the list */
	dns_query_free(q);
}

static int
dns_query(struct dns *d, const char *name, int type, dns_cb cb, void *arg)
{
	struct timeval tv = { DNS_QUERY_TIMEOUT_SEC, 0 };
	struct dns_query *q;
	size_t len = strlen(name);

	if (len == 0 || len > DNS_NAME_TEXT_MAX + 1 ||
	    (len == DNS_NAME_TEXT_MAX + 1 && name[len - 1] != '.'))
		return -1;
	q = xcalloc(1, sizeof(*q));
	q->d = d;
	q->type = type;
	q->cb = cb;
	q->arg = arg;
	q->timer = evtimer_new(d->base, dns_on_timeout, q);
	if (q->timer == NULL) {
		free(q);
		return -1;
	}
	if ((d->pending == NULL && event_add(d->ev, NULL) == -1) ||
	    evtimer_add(q->timer, &tv) == -1)
		goto fail;
	/* The callback only ever runs from ub_process(), i.e. from the loop. */
	if (ub_resolve_async(d->ctx, name, type, DNS_CLASS_IN, q, dns_on_answer,
	    &q->async_id) != 0)
		goto fail;
	q->next = d->pending;
	if (q->next != NULL)
		q->next->prev = q;
	d->pending = q;
	return 0;
fail:
	if (d->pending == NULL)
		(void)event_del(d->ev);
	event_free(q->timer);
	free(q);
	return -1;
}

int
dns_query_mx(struct dns *d, const char *name, dns_cb cb, void *arg)
{
	return dns_query(d, name, DNS_TYPE_MX, cb, arg);
}

int
dns_query_a(struct dns *d, const char *name, dns_cb cb, void *arg)
{
	return dns_query(d, name, DNS_TYPE_A, cb, arg);
}

int
dns_query_aaaa(struct dns *d, const char *name, dns_cb cb, void *arg)
{
	return dns_query(d, name, DNS_TYPE_AAAA, cb, arg);
}

int
dns_query_txt(struct dns *d, const char *name, dns_cb cb, void *arg)
{
	return dns_query(d, name, DNS_TYPE_TXT, cb, arg);
}

int
dns_query_ptr(struct dns *d, const struct sockaddr *sa, dns_cb cb, void *arg)
{
	char name[80];

	if (dns_wire_ptr_name(sa, name, sizeof(name)) == -1)
		return -1;
	return dns_query(d, name, DNS_TYPE_PTR, cb, arg);
}
