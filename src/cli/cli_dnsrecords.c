/*
 * cli_dnsrecords: `postern dns-records DOMAIN [--dns HOST:PORT]` (SPEC
 * section 1): prints the records a domain served by this server publishes
 * (MX, SPF, DMARC, the A/AAAA and PTR of hostname), then checks what the
 * DNS answers, one verdict line per check: hostname resolves, its PTRs are
 * forward-confirmed (RFC 8601 2.7.3 "iprev"), the MX points here, one SPF
 * record that passes this server (RFC 7208, evaluated by policy/spf.c),
 * one DMARC record (RFC 7489 6.6.3). Lookups go through dns.h (dns.servers
 * or --dns) on a private event loop, one after another.
 */
#include <arpa/inet.h>
#include <event2/event.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/cli_dnsrecords.h"
#include "cli/cli_util.h"
#include "core/cidr.h"
#include "core/limits.h"
#include "core/xalloc.h"
#include "dns/dns.h"
#include "dns/dns_wire.h"
#include "policy/spf.h"

#define DNSRECORDS_USAGE	"dns-records DOMAIN [--dns HOST:PORT]"
#define DNSRECORDS_LINE_MAX	(4 * DNS_TXT_MAX)	/* one report line */

enum dnsrecords_level { DR_OK, DR_WARN, DR_FAIL };
enum dnsrecords_qtype { DR_Q_A, DR_Q_AAAA, DR_Q_MX, DR_Q_TXT, DR_Q_PTR };

/* One answer, copied out of the callback (dns_result lives only there). */
struct dnsrecords_answer {
	bool			 done;
	enum dns_rc		 rc;
	char			**names;	/* MX hosts (prefs[]), PTR names */
	unsigned		*prefs;
	size_t			 nnames;
	char			**txt;
	size_t			 ntxt;
	struct sockaddr_storage	*addr;
	size_t			 naddr;
};

/* The addresses of one name: A and AAAA together. */
struct dnsrecords_addrs {
	struct sockaddr_storage	*addr;
	size_t			 naddr;
	bool			 tempfail;	/* either lookup failed */
};

struct dnsrecords {
	struct event_base	*base;
	struct dns		*dns;
	char			*domain;	/* lower case, no trailing dot */
	const char		*host;		/* cfg->hostname */
	struct dnsrecords_addrs	 self;		/* host's addresses */
	size_t			 count[3];	/* lines per level */
};

/* ---- lookups ------------------------------------------------------------ */

static char **
dnsrecords_strdupv(char *const *v, size_t n)
{
	char **out = xcalloc(n + 1, sizeof(*out));

	for (size_t i = 0; i < n; i++)
		out[i] = xstrdup(v[i]);
	return out;
}

static void
dnsrecords_cb(void *arg, const struct dns_result *res)
{
	struct dnsrecords_answer *a = arg;

	a->done = true;
	a->rc = res->rc;
	if (res->nmx > 0) {
		a->names = xcalloc(res->nmx, sizeof(*a->names));
		a->prefs = xcalloc(res->nmx, sizeof(*a->prefs));
		for (size_t i = 0; i < res->nmx; i++) {
			a->names[i] = xstrdup(res->mx[i].host);
			a->prefs[i] = res->mx[i].pref;
		}
		a->nnames = res->nmx;
	} else if (res->nnames > 0) {
		a->names = dnsrecords_strdupv(res->names, res->nnames);
		a->nnames = res->nnames;
	}
	if (res->ntxt > 0) {
		a->txt = dnsrecords_strdupv(res->txt, res->ntxt);
		a->ntxt = res->ntxt;
	}
	if (res->naddr > 0) {
		a->addr = xcalloc(res->naddr, sizeof(*a->addr));
		memcpy(a->addr, res->addr, res->naddr * sizeof(*a->addr));
		a->naddr = res->naddr;
	}
}

static void
dnsrecords_answer_free(struct dnsrecords_answer *a)
{
	for (size_t i = 0; i < a->nnames; i++)
		free(a->names[i]);
	for (size_t i = 0; i < a->ntxt; i++)
		free(a->txt[i]);
	free(a->names);
	free(a->prefs);
	free(a->txt);
	free(a->addr);
	*a = (struct dnsrecords_answer){ 0 };
}

/* Runs the loop until *done; every lookup ends within
 * DNS_QUERY_TIMEOUT_SEC (dns.h), every SPF check within its limits. */
static void
dnsrecords_wait(struct dnsrecords *dr, const bool *done)
{
	while (!*done)
		if (event_base_loop(dr->base, EVLOOP_ONCE) != 0)
			fatal("dns-records: the event loop stopped");
}

/* Starts one lookup into a (already zeroed); a refused start (a bad
 * name) is an answer at once: TEMPFAIL, the caller says "DNS failure". */
static void
dnsrecords_start(struct dnsrecords *dr, enum dnsrecords_qtype type, const char *name,
    const struct sockaddr *sa, struct dnsrecords_answer *a)
{
	int rc = -1;

	*a = (struct dnsrecords_answer){ .rc = DNS_TEMPFAIL };
	switch (type) {
	case DR_Q_A: rc = dns_query_a(dr->dns, name, dnsrecords_cb, a); break;
	case DR_Q_AAAA: rc = dns_query_aaaa(dr->dns, name, dnsrecords_cb, a); break;
	case DR_Q_MX: rc = dns_query_mx(dr->dns, name, dnsrecords_cb, a); break;
	case DR_Q_TXT: rc = dns_query_txt(dr->dns, name, dnsrecords_cb, a); break;
	case DR_Q_PTR: rc = dns_query_ptr(dr->dns, sa, dnsrecords_cb, a); break;
	}
	if (rc == -1)
		a->done = true;
}

static void
dnsrecords_lookup(struct dnsrecords *dr, enum dnsrecords_qtype type, const char *name,
    const struct sockaddr *sa, struct dnsrecords_answer *a)
{
	dnsrecords_start(dr, type, name, sa, a);
	dnsrecords_wait(dr, &a->done);
}

/* A and AAAA of name, asked together. */
static void
dnsrecords_addrs(struct dnsrecords *dr, const char *name,
    struct dnsrecords_addrs *out)
{
	struct dnsrecords_answer a[2];

	dnsrecords_start(dr, DR_Q_A, name, NULL, &a[0]);
	dnsrecords_start(dr, DR_Q_AAAA, name, NULL, &a[1]);
	dnsrecords_wait(dr, &a[0].done);
	dnsrecords_wait(dr, &a[1].done);
	*out = (struct dnsrecords_addrs){ .addr = xcalloc(a[0].naddr +
	    a[1].naddr + 1, sizeof(*out->addr)) };
	for (int i = 0; i < 2; i++) {
		if (a[i].naddr > 0)
			memcpy(out->addr + out->naddr, a[i].addr,
			    a[i].naddr * sizeof(*out->addr));
		out->naddr += a[i].naddr;
		out->tempfail |= a[i].rc == DNS_TEMPFAIL;
		dnsrecords_answer_free(&a[i]);
	}
}

static bool
dnsrecords_has_addr(const struct dnsrecords_addrs *set,
    const struct sockaddr_storage *sa)
{
	for (size_t i = 0; i < set->naddr; i++)
		if (sockaddr_ip_equal(&set->addr[i], sa))
			return true;
	return false;
}

/* Has name one of this server's addresses? */
static bool
dnsrecords_name_is_self(struct dnsrecords *dr, const char *name)
{
	struct dnsrecords_addrs a;
	bool self = false;

	if (strcasecmp(name, dr->host) == 0)
		return true;
	dnsrecords_addrs(dr, name, &a);
	for (size_t i = 0; i < a.naddr && !self; i++)
		self = dnsrecords_has_addr(&dr->self, &a.addr[i]);
	free(a.addr);
	return self;
}

static void
dnsrecords_ntop(const struct sockaddr_storage *sa, char *out, size_t outlen)
{
	const void *p = sa->ss_family == AF_INET ?
	    (const void *)&((const struct sockaddr_in *)sa)->sin_addr :
	    (const void *)&((const struct sockaddr_in6 *)sa)->sin6_addr;

	if (inet_ntop(sa->ss_family, p, out, (socklen_t)outlen) == NULL)
		snprintf(out, outlen, "?");
}

/* ---- the report ------------------------------------------------------- */

static void __attribute__((format(printf, 3, 4)))
dnsrecords_verdict(struct dnsrecords *dr, enum dnsrecords_level lv,
    const char *fmt, ...)
{
	static const char *const word[] = { "ok  ", "warn", "FAIL" };
	va_list ap;

	dr->count[lv]++;
	printf("%s ", word[lv]);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

/* "mx.example.org, 2001:db8::1" into out. */
static void
dnsrecords_addr_list(const struct dnsrecords_addrs *a, struct buf *out)
{
	char ip[INET6_ADDRSTRLEN];

	for (size_t i = 0; i < a->naddr; i++) {
		dnsrecords_ntop(&a->addr[i], ip, sizeof(ip));
		(void)buf_printf(out, "%s%s", i > 0 ? ", " : "", ip);
	}
}

static void
dnsrecords_publish(const struct dnsrecords *dr)
{
	char ip[INET6_ADDRSTRLEN], rev[DNS_NAME_BUF];
	struct buf b;

	buf_init(&b, DNSRECORDS_LINE_MAX);
	printf("; records to publish for %s, served by %s\n", dr->domain,
	    dr->host);
	printf("%s. IN MX %d %s.\n", dr->domain, DNSRECORDS_MX_PREF, dr->host);
	dnsrecords_zone_quote(&b, DNSRECORDS_SPF, strlen(DNSRECORDS_SPF));
	printf("%s. IN TXT %s\n", dr->domain, buf_cstr(&b));
	buf_reset(&b);
	dnsrecords_dmarc_text(&b, dr->domain);
	printf("_dmarc.%s. IN TXT \"%s\"\n", dr->domain, buf_cstr(&b));
	for (size_t i = 0; i < dr->self.naddr; i++) {
		dnsrecords_ntop(&dr->self.addr[i], ip, sizeof(ip));
		printf("%s. IN %s %s\n", dr->host, dr->self.addr[i].ss_family ==
		    AF_INET ? "A" : "AAAA", ip);
	}
	if (dr->self.naddr == 0)
		printf("; %s. IN A (and AAAA): this server's addresses, "
		    "not found in DNS\n", dr->host);
	for (size_t i = 0; i < dr->self.naddr; i++)
		if (dns_wire_ptr_name((const struct sockaddr *)&dr->self.addr[i],
		    rev, sizeof(rev)) == 0)
			printf("%s. IN PTR %s.\n", rev, dr->host);
	printf("; PTR records are published by whoever holds the address "
	    "block (often the hosting provider)\n\n");
	buf_free(&b);
}

/* ---- checks --------------------------------------------------------------- */

static void
dnsrecords_check_host(struct dnsrecords *dr)
{
	struct buf b;

	if (dr->self.naddr == 0) {
		if (dr->self.tempfail)
			dnsrecords_verdict(dr, DR_FAIL, "hostname %s: DNS failure "
			    "looking up A/AAAA", dr->host);
		else
			dnsrecords_verdict(dr, DR_FAIL, "hostname %s does not "
			    "resolve: no A or AAAA record", dr->host);
		return;
	}
	buf_init(&b, DNSRECORDS_LINE_MAX);
	dnsrecords_addr_list(&dr->self, &b);
	dnsrecords_verdict(dr, dr->self.tempfail ? DR_WARN : DR_OK,
	    "hostname %s resolves: %s%s", dr->host, buf_cstr(&b),
	    dr->self.tempfail ? " (DNS failure on A or AAAA)" : "");
	buf_free(&b);
}

/*
 * The PTR of one of hostname's addresses must name hostname (receivers
 * compare it with HELO) and be forward-confirmed: the name resolves back
 * to the address (RFC 8601 2.7.3). hostname resolves to it by definition.
 */
static void
dnsrecords_check_ptr(struct dnsrecords *dr, const struct sockaddr_storage *sa)
{
	struct dnsrecords_answer a;
	struct dnsrecords_addrs back;
	char ip[INET6_ADDRSTRLEN], rev[DNS_NAME_BUF];
	const char *name;

	dnsrecords_ntop(sa, ip, sizeof(ip));
	if (dns_wire_ptr_name((const struct sockaddr *)sa, rev, sizeof(rev)) == -1)
		rev[0] = '\0';
	dnsrecords_lookup(dr, DR_Q_PTR, NULL, (const struct sockaddr *)sa, &a);
	if (a.rc == DNS_TEMPFAIL) {
		dnsrecords_verdict(dr, DR_FAIL, "PTR of %s: DNS failure", ip);
	} else if (a.nnames == 0) {
		dnsrecords_verdict(dr, DR_FAIL, "PTR of %s: none published "
		    "(publish %s. IN PTR %s.)", ip, rev, dr->host);
	} else {
		name = a.names[0];
		for (size_t i = 0; i < a.nnames; i++)
			if (strcasecmp(a.names[i], dr->host) == 0)
				name = a.names[i];
		if (strcasecmp(name, dr->host) == 0) {
			dnsrecords_verdict(dr, DR_OK, "PTR of %s is %s, "
			    "forward-confirmed", ip, name);
		} else {
			dnsrecords_addrs(dr, name, &back);
			dnsrecords_verdict(dr, DR_FAIL, "PTR of %s is %s, not %s "
			    "(%s; publish %s. IN PTR %s.)", ip, name, dr->host,
			    dnsrecords_has_addr(&back, sa) ? "forward-confirmed" :
			    "and not forward-confirmed: it does not resolve back",
			    rev, dr->host);
			free(back.addr);
		}
	}
	dnsrecords_answer_free(&a);
}

/* The MX of the domain must name this server: hostname, or a name with one
 * of its addresses; at the lowest preference, or this is only a backup. */
static void
dnsrecords_check_mx(struct dnsrecords *dr)
{
	struct dnsrecords_answer a;
	unsigned best = ~0u, mine = ~0u;
	const char *mine_name = NULL;
	struct buf b;

	dnsrecords_lookup(dr, DR_Q_MX, dr->domain, NULL, &a);
	if (a.rc == DNS_TEMPFAIL) {
		dnsrecords_verdict(dr, DR_FAIL, "MX of %s: DNS failure", dr->domain);
	} else if (a.nnames == 0) {
		dnsrecords_verdict(dr, DR_FAIL, "MX of %s: none published (publish "
		    "%s. IN MX %d %s.)", dr->domain, dr->domain, DNSRECORDS_MX_PREF,
		    dr->host);
	} else if (a.nnames == 1 && a.names[0][0] == '\0') {
		dnsrecords_verdict(dr, DR_FAIL, "MX of %s: null MX (RFC 7505): "
		    "the domain receives no mail", dr->domain);
	} else {
		buf_init(&b, DNSRECORDS_LINE_MAX);
		for (size_t i = 0; i < a.nnames; i++) {
			if (a.prefs[i] < best)
				best = a.prefs[i];
			(void)buf_printf(&b, "%s%s (%u)", i > 0 ? ", " : "",
			    a.names[i][0] != '\0' ? a.names[i] : ".", a.prefs[i]);
			if (a.names[i][0] != '\0' && a.prefs[i] < mine &&
			    dnsrecords_name_is_self(dr, a.names[i])) {
				mine = a.prefs[i];
				mine_name = a.names[i];
			}
		}
		if (mine_name == NULL)
			dnsrecords_verdict(dr, DR_FAIL, "MX of %s points elsewhere: "
			    "%s; none is %s or has its addresses", dr->domain,
			    buf_cstr(&b), dr->host);
		else if (mine > best)
			dnsrecords_verdict(dr, DR_WARN, "MX of %s: this server (%s) "
			    "is only a backup: %s", dr->domain, mine_name,
			    buf_cstr(&b));
		else
			dnsrecords_verdict(dr, DR_OK, "MX of %s is this server: %s",
			    dr->domain, buf_cstr(&b));
		buf_free(&b);
	}
	dnsrecords_answer_free(&a);
}

/* ---- SPF ---------------------------------------------------------------- */

struct dnsrecords_spf {
	bool		 done;
	enum spf_result	 result;
	char		*why;	/* mechanism or problem, or NULL */
};

static void
dnsrecords_spf_cb(void *arg, const struct spf_outcome *o)
{
	struct dnsrecords_spf *s = arg;

	s->done = true;
	s->result = o->result;
	if (o->problem != NULL)
		s->why = xstrdup(o->problem);
	else if (o->mechanism != NULL)
		s->why = xasprintf("mechanism %s", o->mechanism);
}

/*
 * Evaluates SPF (RFC 7208 check_host, policy/spf.c) for mail from
 * postmaster@domain sent from each of this server's addresses, as a
 * receiver would; the record must pass all of them. The verdict names the
 * first address that does not pass.
 */
static void
dnsrecords_spf_eval(struct dnsrecords *dr)
{
	struct spf_resolver r;
	char ip[INET6_ADDRSTRLEN], *sender;
	struct buf b;
	size_t i;

	spf_resolver_dns(&r, dr->dns);
	sender = xasprintf("postmaster@%s", dr->domain);
	buf_init(&b, DNSRECORDS_LINE_MAX);
	for (i = 0; i < dr->self.naddr; i++) {
		struct spf_request req = { .ip = ip, .helo = dr->host,
		    .sender = sender, .receiver = dr->host };
		struct dnsrecords_spf s = { .result = SPF_TEMPERROR };

		dnsrecords_ntop(&dr->self.addr[i], ip, sizeof(ip));
		if (spf_check(&r, &req, (int64_t)time(NULL), dnsrecords_spf_cb,
		    &s) == NULL)
			s.done = true;
		dnsrecords_wait(dr, &s.done);
		if (s.result != SPF_PASS) {
			dnsrecords_verdict(dr, DR_FAIL, "SPF of %s: %s for %s%s%s%s: "
			    "the record does not let this server send",
			    dr->domain, spf_result_name(s.result), ip,
			    s.why != NULL ? " (" : "", s.why != NULL ? s.why : "",
			    s.why != NULL ? ")" : "");
			free(s.why);
			break;
		}
		(void)buf_printf(&b, "%s%s%s%s%s", i > 0 ? ", " : "", ip,
		    s.why != NULL ? " (" : "", s.why != NULL ? s.why : "",
		    s.why != NULL ? ")" : "");
		free(s.why);
	}
	if (i == dr->self.naddr)
		dnsrecords_verdict(dr, DR_OK, "SPF of %s: pass for %s", dr->domain,
		    buf_cstr(&b));
	buf_free(&b);
	free(sender);
}

/* Exactly one SPF record (RFC 7208 4.5: two are a permerror), then the
 * evaluation from each address. */
static void
dnsrecords_check_spf(struct dnsrecords *dr)
{
	struct dnsrecords_answer a;
	size_t nspf = 0;

	dnsrecords_lookup(dr, DR_Q_TXT, dr->domain, NULL, &a);
	for (size_t i = 0; i < a.ntxt; i++)
		if (spf_record_is_spf(span_from_cstr(a.txt[i])))
			nspf++;
	if (a.rc == DNS_TEMPFAIL)
		dnsrecords_verdict(dr, DR_FAIL, "SPF of %s: DNS failure", dr->domain);
	else if (nspf == 0)
		dnsrecords_verdict(dr, DR_FAIL, "SPF of %s: no SPF record (publish "
		    "%s. IN TXT \"%s\")", dr->domain, dr->domain, DNSRECORDS_SPF);
	else if (nspf > 1)
		dnsrecords_verdict(dr, DR_FAIL, "SPF of %s: %zu SPF records; "
		    "receivers answer permerror to more than one (RFC 7208 4.5)",
		    dr->domain, nspf);
	else if (dr->self.naddr == 0)
		dnsrecords_verdict(dr, DR_WARN, "SPF of %s: one record, not "
		    "evaluated: %s has no address", dr->domain, dr->host);
	else
		dnsrecords_spf_eval(dr);
	dnsrecords_answer_free(&a);
}

/* ---- DMARC ---------------------------------------------------------------- */

static void
dnsrecords_check_dmarc(struct dnsrecords *dr)
{
	struct dnsrecords_answer a;
	char *name = xasprintf("_dmarc.%s", dr->domain);
	const char *rec = NULL;
	size_t n = 0;
	struct buf b;

	dnsrecords_lookup(dr, DR_Q_TXT, name, NULL, &a);
	for (size_t i = 0; i < a.ntxt; i++)
		if (dnsrecords_is_dmarc(a.txt[i], strlen(a.txt[i]))) {
			rec = a.txt[i];
			n++;
		}
	buf_init(&b, DNSRECORDS_LINE_MAX);
	if (a.rc == DNS_TEMPFAIL) {
		dnsrecords_verdict(dr, DR_FAIL, "DMARC of %s: DNS failure at %s",
		    dr->domain, name);
	} else if (n == 0) {
		dnsrecords_dmarc_text(&b, dr->domain);
		dnsrecords_verdict(dr, DR_FAIL, "DMARC of %s: no record at %s "
		    "(publish %s. IN TXT \"%s\")", dr->domain, name, name,
		    buf_cstr(&b));
	} else if (n > 1) {
		dnsrecords_verdict(dr, DR_FAIL, "DMARC of %s: %zu records at %s; "
		    "receivers then apply none (RFC 7489 6.6.3)", dr->domain, n,
		    name);
	} else {
		cli_escape(&b, rec, strlen(rec));
		dnsrecords_verdict(dr, DR_OK, "DMARC of %s: %s", dr->domain,
		    buf_cstr(&b));
	}
	buf_free(&b);
	dnsrecords_answer_free(&a);
	free(name);
}

/* ---- the command ---------------------------------------------------------- */

static int
dnsrecords_args(int argc, char **argv, const char **domain_out,
    const char **dns_out)
{
	*domain_out = *dns_out = NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--dns") == 0) {
			if (++i == argc || !config_dns_server_valid(argv[i]))
				return -1;
			*dns_out = argv[i];
		} else if (argv[i][0] == '-' || *domain_out != NULL) {
			return -1;
		} else {
			*domain_out = argv[i];
		}
	}
	return *domain_out != NULL ? 0 : -1;
}

/* "Example.ORG." -> "example.org"; NULL when it is not a domain name. */
static char *
dnsrecords_domain(const char *arg)
{
	size_t n = strlen(arg);
	char *d;

	if (n > 0 && arg[n - 1] == '.')
		n--;
	d = xstrndup(arg, n);
	for (char *p = d; *p != '\0'; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	if (!config_hostname_valid(d) || strchr(d, '.') == NULL) {
		free(d);
		return NULL;
	}
	return d;
}

static void
dnsrecords_run(struct dnsrecords *dr)
{
	dnsrecords_addrs(dr, dr->host, &dr->self);
	dnsrecords_publish(dr);
	printf("; what the DNS answers\n");
	dnsrecords_check_host(dr);
	for (size_t i = 0; i < dr->self.naddr; i++)
		dnsrecords_check_ptr(dr, &dr->self.addr[i]);
	dnsrecords_check_mx(dr);
	dnsrecords_check_spf(dr);
	dnsrecords_check_dmarc(dr);
	if (dr->count[DR_FAIL] > 0)
		printf("summary: %zu of %zu checks failed", dr->count[DR_FAIL],
		    dr->count[DR_OK] + dr->count[DR_WARN] + dr->count[DR_FAIL]);
	else
		printf("summary: all %zu checks passed",
		    dr->count[DR_OK] + dr->count[DR_WARN]);
	printf(", %zu warning%s\n", dr->count[DR_WARN],
	    dr->count[DR_WARN] == 1 ? "" : "s");
}

int
cli_dnsrecords(const struct cli_ctx *ctx, int argc, char **argv)
{
	struct dnsrecords dr = { .host = ctx->cfg->hostname };
	const char *domain, *server;
	char *one[1];
	struct cfg_strlist override = { .v = one, .n = 1 };
	char err[256];

	if (dnsrecords_args(argc, argv, &domain, &server) == -1 ||
	    (dr.domain = dnsrecords_domain(domain)) == NULL)
		return cli_usage(DNSRECORDS_USAGE);
	one[0] = (char *)server;
	if ((dr.base = event_base_new()) == NULL)
		fatal("dns-records: event_base_new failed");
	dr.dns = dns_new(dr.base, server != NULL ? &override :
	    &ctx->cfg->dns.servers, err, sizeof(err));
	if (dr.dns == NULL) {
		cli_error("dns-records: %s", err);
		event_base_free(dr.base);
		free(dr.domain);
		return CLI_FAIL;
	}
	dnsrecords_run(&dr);
	dns_free(&dr.dns);
	event_base_free(dr.base);
	free(dr.self.addr);
	free(dr.domain);
	return dr.count[DR_FAIL] > 0 ? CLI_FAIL : CLI_OK;
}
