/*
 * smtp_checks: the DNS checks of SPEC section 5 for a client that is
 * neither authenticated nor trusted: forward-confirmed reverse DNS
 * (checks.rdns), DNSBL zones (checks.dnsbl), the sender domain
 * (checks.verify_sender_domain) and SPF (checks.spf, RFC 7208).
 *
 * The connection's lookups (PTR and its forward confirmation, one A query
 * per DNSBL zone) start as soon as the directory has said the client is
 * not banned, so they overlap the banner, EHLO and maybe STARTTLS; a
 * banned client costs no lookup. The transaction's lookups (sender domain,
 * SPF) start when the directory has accepted MAIL. MAIL then waits (the
 * session is busy) until every verdict is in, or CHECK_DEADLINE_SEC has
 * passed, and the verdicts are applied in the order of SPEC section 5:
 * sender domain, rDNS, DNSBL, SPF. Their results become the
 * Authentication-Results:, Received-SPF: and X-DNSBL: header fields and
 * the `spf` word stored with the queued message.
 *
 * A client that sends many messages from one sender on one connection (a
 * list server, another MTA's connection cache) is checked once: the last
 * transaction's sender-domain and SPF verdicts are reused for the same
 * MAIL FROM and HELO for CHECK_MEMO_SEC (never a DNS failure's).
 *
 * Every pending lookup has its own struct smtp_chk_arg, so a session that
 * goes away cancels exactly its own lookups (dns_cancel by arg).
 */
#include <arpa/inet.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/cidr.h"
#include "core/limits.h"
#include "core/xalloc.h"
#include "dns/dns.h"
#include "policy/spf.h"
#include "smtp/smtp_checks.h"
#include "smtp/smtp_session.h"

enum chk_verdict { CHK_IDLE, CHK_PENDING, CHK_PASS, CHK_FAIL, CHK_TEMP,
	CHK_NULLMX };

struct smtp_checks;

struct smtp_chk_arg {
	struct smtp_checks	*c;
	unsigned		 i;
	bool			 pending;
};

struct smtp_chk_bl {
	const struct cfg_dnsbl	*cfg;
	enum chk_verdict	 v;	/* FAIL = listed */
	char			 code[INET_ADDRSTRLEN];	/* the A answer */
	struct smtp_chk_arg	 a;
};

struct smtp_checks {
	struct smtp_session	*s;
	struct dns		*dns;
	struct sockaddr_storage	 peer;		/* IPv4-mapped made IPv4 */
	bool			 conn_started;

	/* Reverse DNS, forward-confirmed. */
	enum chk_verdict	 rdns;
	char			*ptr;		/* the confirmed name */
	char			*names[CHECK_PTR_NAMES_MAX];
	size_t			 nnames;
	unsigned		 fwd_left;
	bool			 fwd_temp;
	struct smtp_chk_arg	 ptr_a, fwd_a[CHECK_PTR_NAMES_MAX];

	struct smtp_chk_bl	*bl;
	size_t			 nbl;

	/* The transaction. */
	bool			 tx;		/* checks applied to it */
	enum chk_verdict	 sender;
	unsigned		 sender_step;	/* 0 MX, 1 A, 2 AAAA */
	struct smtp_chk_arg	 sender_a;
	struct spf		*spf;
	enum chk_verdict	 spf_state;
	enum spf_result		 spf_result;
	char			*spf_expl;
	struct buf		 spf_received;	/* Received-SPF:, LF-ended */
	struct buf		 spf_authres;	/* "spf=... smtp.mailfrom=..." */
	struct spf_resolver	 resolver;

	bool			 waiting;	/* MAIL waits for the verdicts */
	smtp_checks_fn		 done;
	struct event		*deadline;

	/* The last complete verdicts, for the same sender again. */
	struct {
		char			*from, *helo;
		int64_t			 at;
		enum chk_verdict	 sender;
		bool			 spf;
		enum spf_result		 result;
		char			*expl;
		struct buf		 received, authres;
	} memo;
};

static void smtp_checks_settle(struct smtp_checks *c);

static bool
smtp_checks_apply(const struct smtp_session *s)
{
	return s->auth_user == NULL && !s->trusted && s->srv->dns != NULL;
}

static bool
smtp_checks_any(const struct config *cfg)
{
	return cfg->checks.verify_sender_domain || cfg->checks.spf != CHECK_OFF ||
	    cfg->checks.rdns != CHECK_OFF || cfg->checks.ndnsbl > 0;
}

static struct smtp_checks *
smtp_checks_get(struct smtp_session *s)
{
	struct smtp_checks *c = s->checks;

	if (c != NULL)
		return c;
	c = xcalloc(1, sizeof(*c));
	c->s = s;
	c->dns = s->srv->dns;
	memcpy(&c->peer, &s->peer, sizeof(c->peer));
	if (c->peer.ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&s->peer;

		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
			struct sockaddr_in s4 = { .sin_family = AF_INET };

			memcpy(&s4.sin_addr, &s6->sin6_addr.s6_addr[12], 4);
			memset(&c->peer, 0, sizeof(c->peer));
			memcpy(&c->peer, &s4, sizeof(s4));
		}
	}
	c->ptr_a.c = c->sender_a.c = c;
	for (unsigned i = 0; i < CHECK_PTR_NAMES_MAX; i++)
		c->fwd_a[i] = (struct smtp_chk_arg){ .c = c, .i = i };
	c->nbl = s->cfg->checks.ndnsbl;
	c->bl = xcalloc(c->nbl ? c->nbl : 1, sizeof(*c->bl));
	for (size_t i = 0; i < c->nbl; i++) {
		c->bl[i].cfg = &s->cfg->checks.dnsbl[i];
		c->bl[i].a = (struct smtp_chk_arg){ .c = c, .i = (unsigned)i };
	}
	buf_init(&c->spf_received, 4096);
	buf_init(&c->spf_authres, 1024);
	buf_init(&c->memo.received, 4096);
	buf_init(&c->memo.authres, 1024);
	spf_resolver_dns(&c->resolver, c->dns);
	s->checks = c;
	return c;
}

static void
smtp_checks_cancel(struct smtp_checks *c, struct smtp_chk_arg *a)
{
	if (a->pending) {
		dns_cancel(c->dns, a);
		a->pending = false;
	}
}

/* ---- reverse DNS ------------------------------------------------------- */

static void
smtp_checks_rdns_end(struct smtp_checks *c)
{
	c->rdns = c->ptr != NULL ? CHK_PASS : c->fwd_temp ? CHK_TEMP : CHK_FAIL;
	for (size_t i = 0; i < c->nnames; i++) {
		free(c->names[i]);
		c->names[i] = NULL;
	}
	c->nnames = 0;
	smtp_checks_settle(c);
}

static void
smtp_checks_fwd_cb(void *arg, const struct dns_result *res)
{
	struct smtp_chk_arg *a = arg;
	struct smtp_checks *c = a->c;

	a->pending = false;
	if (res->rc == DNS_TEMPFAIL)
		c->fwd_temp = true;
	for (size_t k = 0; res->rc == DNS_OK && k < res->naddr; k++) {
		if (c->ptr == NULL && sockaddr_ip_equal(&res->addr[k], &c->peer))
			c->ptr = xstrdup(c->names[a->i]);
	}
	if (--c->fwd_left == 0)
		smtp_checks_rdns_end(c);
}

static void
smtp_checks_ptr_cb(void *arg, const struct dns_result *res)
{
	struct smtp_chk_arg *a = arg;
	struct smtp_checks *c = a->c;
	bool v4 = c->peer.ss_family == AF_INET;

	a->pending = false;
	if (res->rc != DNS_OK) {
		c->rdns = res->rc == DNS_TEMPFAIL ? CHK_TEMP : CHK_FAIL;
		smtp_checks_settle(c);
		return;
	}
	/* Each name is resolved forward; one that leads back confirms. */
	for (size_t i = 0; i < res->nnames && c->nnames < CHECK_PTR_NAMES_MAX; i++)
		if (res->names[i][0] != '\0')
			c->names[c->nnames++] = xstrdup(res->names[i]);
	c->fwd_left = 1;	/* held until every query is started */
	for (size_t i = 0; i < c->nnames; i++) {
		int rc = v4 ? dns_query_a(c->dns, c->names[i], smtp_checks_fwd_cb,
		    &c->fwd_a[i]) : dns_query_aaaa(c->dns, c->names[i],
		    smtp_checks_fwd_cb, &c->fwd_a[i]);

		if (rc == 0) {
			c->fwd_a[i].pending = true;
			c->fwd_left++;
		}
	}
	if (--c->fwd_left == 0)
		smtp_checks_rdns_end(c);
}

/* ---- DNSBL (RFC 5782) -------------------------------------------------- */

/* "4.3.2.1.zone" or the 32 reversed nibbles of an IPv6 address. */
static int
smtp_checks_bl_name(const struct sockaddr_storage *ss, const char *zone,
    char *out, size_t outlen)
{
	static const char hex[] = "0123456789abcdef";
	struct buf b;
	int rc;

	buf_init(&b, outlen - 1);
	if (ss->ss_family == AF_INET) {
		const uint8_t *p = (const uint8_t *)
		    &((const struct sockaddr_in *)ss)->sin_addr;

		buf_printf(&b, "%u.%u.%u.%u.", p[3], p[2], p[1], p[0]);
	} else {
		const uint8_t *p = ((const struct sockaddr_in6 *)ss)->sin6_addr.s6_addr;

		for (int i = 15; i >= 0; i--)
			buf_printf(&b, "%c.%c.", hex[p[i] & 0xf], hex[p[i] >> 4]);
	}
	buf_append_str(&b, zone);
	rc = b.overflowed ? -1 : 0;
	if (rc == 0)
		memcpy(out, buf_cstr(&b), b.len + 1);
	buf_free(&b);
	return rc;
}

static void
smtp_checks_bl_cb(void *arg, const struct dns_result *res)
{
	struct smtp_chk_arg *a = arg;
	struct smtp_checks *c = a->c;
	struct smtp_chk_bl *bl = &c->bl[a->i];

	a->pending = false;
	bl->v = res->rc == DNS_TEMPFAIL ? CHK_TEMP : CHK_PASS;
	/*
	 * Listed: an A record in 127.0.0.0/8 (RFC 5782 2.1). 127.255.255.0/24
	 * is what some lists answer for refused or malformed queries, never a
	 * listing; any other answer is not one either.
	 */
	for (size_t k = 0; res->rc == DNS_OK && k < res->naddr; k++) {
		const struct sockaddr_in *sin;
		const uint8_t *p;

		if (res->addr[k].ss_family != AF_INET)
			continue;
		sin = (const struct sockaddr_in *)&res->addr[k];
		p = (const uint8_t *)&sin->sin_addr;
		if (p[0] == 127 && !(p[1] == 255 && p[2] == 255)) {
			bl->v = CHK_FAIL;
			inet_ntop(AF_INET, &sin->sin_addr, bl->code, sizeof(bl->code));
			break;
		}
	}
	if (bl->v == CHK_FAIL)
		log_kv(&c->s->log, LOGL_INFO, "dnsbl", "ip", c->s->ip, "zone",
		    bl->cfg->zone, "answer", bl->code, NULL);
	else if (bl->v == CHK_TEMP)
		log_kv(&c->s->log, LOGL_WARN, "dnsbl_error", "ip", c->s->ip,
		    "zone", bl->cfg->zone, NULL);
	smtp_checks_settle(c);
}

/* ---- the connection's lookups ------------------------------------------ */

static void
smtp_checks_start_conn(struct smtp_checks *c)
{
	const struct config *cfg = c->s->cfg;
	char name[DNS_NAME_WIRE_MAX + 80];

	if (c->conn_started)
		return;
	c->conn_started = true;
	if (cfg->checks.rdns != CHECK_OFF) {
		c->rdns = CHK_PENDING;
		if (dns_query_ptr(c->dns, (struct sockaddr *)&c->peer,
		    smtp_checks_ptr_cb, &c->ptr_a) == 0)
			c->ptr_a.pending = true;
		else
			c->rdns = CHK_FAIL;
	}
	for (size_t i = 0; i < c->nbl; i++) {
		c->bl[i].v = CHK_PENDING;
		if (smtp_checks_bl_name(&c->peer, c->bl[i].cfg->zone, name,
		    sizeof(name)) == 0 && dns_query_a(c->dns, name,
		    smtp_checks_bl_cb, &c->bl[i].a) == 0)
			c->bl[i].a.pending = true;
		else
			c->bl[i].v = CHK_TEMP;
	}
}

void
smtp_checks_connect(struct smtp_session *s)
{
	if (!smtp_checks_apply(s) || s->listen->service != SVC_SMTP ||
	    (s->cfg->checks.rdns == CHECK_OFF && s->cfg->checks.ndnsbl == 0))
		return;
	smtp_checks_start_conn(smtp_checks_get(s));
}

/* ---- sender domain ----------------------------------------------------- */

static void smtp_checks_sender_next(struct smtp_checks *c);

static void
smtp_checks_sender_cb(void *arg, const struct dns_result *res)
{
	struct smtp_chk_arg *a = arg;
	struct smtp_checks *c = a->c;

	a->pending = false;
	switch (res->rc) {
	case DNS_OK:
		/* RFC 7505 4.2: a null MX sender can receive no reply. */
		c->sender = c->sender_step == 0 && res->nmx == 1 &&
		    res->mx[0].host[0] == '\0' ? CHK_NULLMX : CHK_PASS;
		break;
	case DNS_NXDOMAIN:
		c->sender = CHK_FAIL;
		break;
	case DNS_TEMPFAIL:
		c->sender = CHK_TEMP;
		break;
	case DNS_NODATA:
		if (++c->sender_step < 3) {
			smtp_checks_sender_next(c);
			return;
		}
		c->sender = CHK_FAIL;
		break;
	}
	smtp_checks_settle(c);
}

/* MX, then A, then AAAA (RFC 5321 5.1: an implicit MX is enough). */
static void
smtp_checks_sender_next(struct smtp_checks *c)
{
	const char *d = c->s->from_domain;
	int rc;

	rc = c->sender_step == 0 ? dns_query_mx(c->dns, d, smtp_checks_sender_cb,
	    &c->sender_a) : c->sender_step == 1 ? dns_query_a(c->dns, d,
	    smtp_checks_sender_cb, &c->sender_a) : dns_query_aaaa(c->dns, d,
	    smtp_checks_sender_cb, &c->sender_a);
	if (rc == 0)
		c->sender_a.pending = true;
	else
		c->sender = CHK_FAIL;	/* not a name DNS can hold */
}

/* ---- SPF --------------------------------------------------------------- */

/* Appends a header from the SPF module (CRLF lines) as LF lines. */
static void
smtp_checks_lf(struct buf *out, const char *text, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (text[i] != '\r')
			buf_append(out, text + i, 1);
}

static void
smtp_checks_spf_cb(void *arg, const struct spf_outcome *o)
{
	struct smtp_checks *c = arg;
	struct smtp_session *s = c->s;
	struct spf_request req = { .ip = s->ip, .helo = s->helo != NULL ?
	    s->helo : "", .sender = s->from, .receiver = s->cfg->hostname };
	struct buf tmp;

	c->spf = NULL;		/* the SPF module frees itself after this call */
	c->spf_state = CHK_PASS;
	c->spf_result = o->result;
	free(c->spf_expl);
	c->spf_expl = o->explanation != NULL ? xstrdup(o->explanation) : NULL;
	buf_init(&tmp, 4096);
	if (spf_header_received(&tmp, &req, o) == 0)
		smtp_checks_lf(&c->spf_received, tmp.data, tmp.len);
	buf_free(&tmp);
	spf_header_authres(&c->spf_authres, o);
	log_kv(&s->log, LOGL_INFO, "spf", "ip", s->ip, "identity", o->identity,
	    "domain", o->domain, "result", spf_result_name(o->result),
	    "mechanism", o->mechanism, "problem", o->problem, NULL);
	smtp_checks_settle(c);
}

static void
smtp_checks_spf_start(struct smtp_checks *c)
{
	struct smtp_session *s = c->s;
	struct spf_request req = { .ip = s->ip, .helo = s->helo != NULL ?
	    s->helo : "", .sender = s->from, .receiver = s->cfg->hostname };

	c->spf_state = CHK_PENDING;
	c->spf = spf_check(&c->resolver, &req, (int64_t)time(NULL),
	    smtp_checks_spf_cb, c);
	if (c->spf == NULL) {
		c->spf_state = CHK_PASS;
		c->spf_result = SPF_NONE;
	}
}

/* ---- MAIL -------------------------------------------------------------- */

static bool
smtp_checks_pending(const struct smtp_checks *c)
{
	if (c->rdns == CHK_PENDING || c->sender == CHK_PENDING ||
	    c->spf_state == CHK_PENDING)
		return true;
	for (size_t i = 0; i < c->nbl; i++)
		if (c->bl[i].v == CHK_PENDING)
			return true;
	return false;
}

static void
smtp_checks_memo_clear(struct smtp_checks *c)
{
	free(c->memo.from);
	free(c->memo.helo);
	free(c->memo.expl);
	c->memo.from = c->memo.helo = c->memo.expl = NULL;
	buf_reset(&c->memo.received);
	buf_reset(&c->memo.authres);
}

/* Keeps this transaction's verdicts unless a lookup failed. */
static void
smtp_checks_memo_save(struct smtp_checks *c)
{
	struct smtp_session *s = c->s;

	smtp_checks_memo_clear(c);
	if (c->sender == CHK_TEMP || (c->spf_state == CHK_PASS &&
	    c->spf_result == SPF_TEMPERROR))
		return;
	c->memo.from = xstrdup(s->from);
	c->memo.helo = xstrdup(s->helo != NULL ? s->helo : "");
	c->memo.at = (int64_t)time(NULL);
	c->memo.sender = c->sender;
	c->memo.spf = c->spf_state == CHK_PASS;
	c->memo.result = c->spf_result;
	c->memo.expl = c->spf_expl != NULL ? xstrdup(c->spf_expl) : NULL;
	buf_append(&c->memo.received, c->spf_received.data, c->spf_received.len);
	buf_append(&c->memo.authres, c->spf_authres.data, c->spf_authres.len);
}

/* The same MAIL FROM and HELO as a moment ago: its verdicts again. */
static bool
smtp_checks_memo_use(struct smtp_checks *c)
{
	struct smtp_session *s = c->s;

	if (c->memo.from == NULL || strcmp(c->memo.from, s->from) != 0 ||
	    strcmp(c->memo.helo, s->helo != NULL ? s->helo : "") != 0 ||
	    (int64_t)time(NULL) - c->memo.at >= CHECK_MEMO_SEC)
		return false;
	c->sender = c->memo.sender;
	if (c->memo.spf) {
		c->spf_state = CHK_PASS;
		c->spf_result = c->memo.result;
		c->spf_expl = c->memo.expl != NULL ? xstrdup(c->memo.expl) : NULL;
		buf_append(&c->spf_received, c->memo.received.data,
		    c->memo.received.len);
		buf_append(&c->spf_authres, c->memo.authres.data,
		    c->memo.authres.len);
	}
	return true;
}

/* The first refusal in SPEC order, or 250. */
static void
smtp_checks_decide(struct smtp_checks *c)
{
	struct smtp_session *s = c->s;
	const struct config *cfg = s->cfg;
	smtp_checks_fn done = c->done;
	char text[320];

	c->done = NULL;
	smtp_checks_memo_save(c);
	switch (c->sender) {
	case CHK_FAIL:
		done(s, 550, "5.1.8", "sender address domain does not exist");
		return;
	case CHK_NULLMX:
		done(s, 550, "5.7.27", "sender address domain accepts no mail (null MX)");
		return;
	case CHK_TEMP:
		done(s, 451, "4.4.3", "sender address domain lookup failed, try again later");
		return;
	default:
		break;
	}
	if (cfg->checks.rdns == CHECK_REJECT && c->rdns == CHK_FAIL) {
		done(s, 550, "5.7.25", "client address has no forward-confirmed reverse DNS");
		return;
	}
	if (cfg->checks.rdns == CHECK_REJECT && c->rdns == CHK_TEMP) {
		done(s, 451, "4.7.25", "reverse DNS lookup failed, try again later");
		return;
	}
	for (size_t i = 0; i < c->nbl; i++) {
		if (c->bl[i].v == CHK_FAIL && c->bl[i].cfg->action == ACTION_REJECT) {
			snprintf(text, sizeof(text), "client address listed by %s",
			    c->bl[i].cfg->zone);
			done(s, 554, "5.7.1", text);
			return;
		}
	}
	if (cfg->checks.spf == CHECK_REJECT && c->spf_state == CHK_PASS) {
		if (c->spf_result == SPF_FAIL) {
			if (c->spf_expl != NULL)
				snprintf(text, sizeof(text), "SPF check failed: %.250s",
				    c->spf_expl);
			else
				snprintf(text, sizeof(text), "SPF check failed for %s",
				    s->ip);
			done(s, 550, "5.7.23", text);
			return;
		}
		if (c->spf_result == SPF_TEMPERROR) {
			done(s, 451, "4.7.24", "SPF temporary error, try again later");
			return;
		}
	}
	done(s, 250, "2.1.0", "Ok");
}

static void
smtp_checks_settle(struct smtp_checks *c)
{
	struct smtp_session *s = c->s;

	if (!c->waiting || smtp_checks_pending(c))
		return;
	c->waiting = false;
	event_del(c->deadline);
	if (s->dead) {
		smtp_session_resume(s);		/* frees s */
		return;
	}
	s->busy = false;
	smtp_checks_decide(c);
	if (!s->busy)
		smtp_session_resume(s);
}

/* CHECK_DEADLINE_SEC passed: what has not answered is a DNS failure. */
static void
smtp_checks_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct smtp_checks *c = arg;

	(void)fd;
	(void)what;
	if (c->ptr_a.pending || c->fwd_left > 0) {
		smtp_checks_cancel(c, &c->ptr_a);
		for (unsigned i = 0; i < CHECK_PTR_NAMES_MAX; i++)
			smtp_checks_cancel(c, &c->fwd_a[i]);
		c->fwd_left = 0;
		c->fwd_temp = true;
		if (c->ptr == NULL)
			c->rdns = CHK_TEMP;
	}
	for (size_t i = 0; i < c->nbl; i++) {
		if (c->bl[i].v == CHK_PENDING) {
			smtp_checks_cancel(c, &c->bl[i].a);
			c->bl[i].v = CHK_TEMP;
		}
	}
	if (c->sender == CHK_PENDING) {
		smtp_checks_cancel(c, &c->sender_a);
		c->sender = CHK_TEMP;
	}
	if (c->spf_state == CHK_PENDING) {
		struct smtp_session *s = c->s;
		bool null = s->from[0] == '\0';
		struct spf_outcome o = { .result = SPF_TEMPERROR,
		    .identity = null ? "helo" : "mailfrom",
		    .domain = null ? s->helo : s->from_domain,
		    .sender = s->from, .problem = (char *)"DNS lookups took too long" };

		spf_cancel(&c->spf);
		smtp_checks_spf_cb(c, &o);
		return;		/* the callback settled */
	}
	smtp_checks_settle(c);
}

void
smtp_checks_mail(struct smtp_session *s, smtp_checks_fn done)
{
	const struct config *cfg = s->cfg;
	struct smtp_checks *c;
	struct timeval tv = { CHECK_DEADLINE_SEC, 0 };

	if (!smtp_checks_apply(s) || !smtp_checks_any(cfg)) {
		done(s, 250, "2.1.0", "Ok");
		return;
	}
	c = smtp_checks_get(s);
	c->tx = true;
	smtp_checks_start_conn(c);
	if (!smtp_checks_memo_use(c)) {
		if (cfg->checks.verify_sender_domain && s->from[0] != '\0' &&
		    s->from_domain[0] != '[') {
			c->sender = CHK_PENDING;
			c->sender_step = 0;
			smtp_checks_sender_next(c);
		}
		if (cfg->checks.spf != CHECK_OFF)
			smtp_checks_spf_start(c);
	}
	if (!smtp_checks_pending(c)) {
		c->done = done;
		smtp_checks_decide(c);
		return;
	}
	c->done = done;
	c->waiting = true;
	s->busy = true;
	if (c->deadline == NULL)
		c->deadline = evtimer_new(s->srv->base, smtp_checks_deadline_cb, c);
	evtimer_add(c->deadline, &tv);
}

/* ---- what the rest of the session sees --------------------------------- */

/* An RFC 8601 pvalue: bare when it is an address or token, else quoted. */
static void
smtp_checks_value(struct buf *out, const char *v)
{
	static const char ok[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789.!#$%&'*+/=?^_`{|}~@-";
	size_t n = strlen(v);

	if (n > 0 && n <= SMTP_PATH_MAX && strspn(v, ok) == n) {
		buf_append(out, v, n);
		return;
	}
	buf_append_str(out, "\"");
	for (size_t i = 0; i < n && i < SMTP_PATH_MAX; i++) {
		unsigned char ch = (unsigned char)v[i];

		if (ch < 0x20 || ch == 0x7f)
			continue;
		if (ch == '"' || ch == '\\')
			buf_append_str(out, "\\");
		buf_append(out, v + i, 1);
	}
	buf_append_str(out, "\"");
}

const char *
smtp_checks_ptr(const struct smtp_session *s)
{
	return s->checks != NULL && s->checks->ptr != NULL ? s->checks->ptr :
	    "unknown";
}

const char *
smtp_checks_spf_word(const struct smtp_session *s)
{
	const struct smtp_checks *c = s->checks;

	if (c == NULL || !c->tx || s->cfg->checks.spf == CHECK_OFF ||
	    c->spf_state != CHK_PASS)
		return NULL;
	return spf_result_name(c->spf_result);
}

/*
 * Authentication-Results: (RFC 8601) always, then Received-SPF: (RFC 7208
 * 9.1) and X-DNSBL: when the checks ran; LF-ended lines for the queue
 * file. They follow our Received: field.
 */
void
smtp_checks_headers(const struct smtp_session *s, struct buf *out)
{
	const struct smtp_checks *c = s->checks;
	const struct config *cfg = s->cfg;
	bool any = false;

	buf_printf(out, "Authentication-Results: %s", cfg->hostname);
	if (s->auth_user != NULL) {
		buf_append_str(out, ";\n\tauth=pass smtp.auth=");
		smtp_checks_value(out, s->auth_user);
		any = true;
	}
	if (c != NULL && c->tx && cfg->checks.spf != CHECK_OFF &&
	    c->spf_authres.len > 0) {
		buf_append_str(out, ";\n\t");
		buf_append(out, c->spf_authres.data, c->spf_authres.len);
		any = true;
	}
	if (c != NULL && c->tx && cfg->checks.rdns != CHECK_OFF &&
	    c->rdns >= CHK_PASS) {
		buf_printf(out, ";\n\tiprev=%s policy.iprev=%s",
		    c->rdns == CHK_PASS ? "pass" : c->rdns == CHK_TEMP ?
		    "temperror" : "fail", s->ip);
		if (c->ptr != NULL)
			buf_printf(out, " (%s)", c->ptr);
		any = true;
	}
	buf_append_str(out, any ? "\n" : "; none\n");
	if (c == NULL || !c->tx)
		return;
	if (c->spf_received.len > 0)
		buf_append(out, c->spf_received.data, c->spf_received.len);
	for (size_t i = 0; i < c->nbl; i++)
		if (c->bl[i].v == CHK_FAIL)
			buf_printf(out, "X-DNSBL: %s listed by %s (%s)\n", s->ip,
			    c->bl[i].cfg->zone, c->bl[i].code);
}

void
smtp_checks_reset_tx(struct smtp_session *s)
{
	struct smtp_checks *c = s->checks;

	if (c == NULL)
		return;
	c->tx = false;
	c->sender = CHK_IDLE;
	c->spf_state = CHK_IDLE;
	c->spf_result = SPF_NONE;
	free(c->spf_expl);
	c->spf_expl = NULL;
	buf_reset(&c->spf_received);
	buf_reset(&c->spf_authres);
}

void
smtp_checks_free(struct smtp_session *s)
{
	struct smtp_checks *c = s->checks;

	if (c == NULL)
		return;
	smtp_checks_cancel(c, &c->ptr_a);
	for (unsigned i = 0; i < CHECK_PTR_NAMES_MAX; i++) {
		smtp_checks_cancel(c, &c->fwd_a[i]);
		free(c->names[i]);
	}
	for (size_t i = 0; i < c->nbl; i++)
		smtp_checks_cancel(c, &c->bl[i].a);
	smtp_checks_cancel(c, &c->sender_a);
	if (c->spf != NULL)
		spf_cancel(&c->spf);
	if (c->deadline != NULL)
		event_free(c->deadline);
	free(c->bl);
	free(c->ptr);
	free(c->spf_expl);
	buf_free(&c->spf_received);
	buf_free(&c->spf_authres);
	smtp_checks_memo_clear(c);
	buf_free(&c->memo.received);
	buf_free(&c->memo.authres);
	free(c);
	s->checks = NULL;
}
