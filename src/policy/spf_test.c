/*
 * Tests for policy/spf: check_host() over a resolver in memory. The fake
 * answers from a table (name, type -> records, SERVFAIL; other names
 * NXDOMAIN, known names without the type NODATA), later, from the loop
 * (event_base_once with a 0 timeout), so a callback never runs inside a
 * query; it also checks that one query at most is in flight. Covers every
 * example of RFC 7208 Appendix A, each result, the limits of 4.6.4, the
 * modifiers, identities, IPv6, cancel and the two header forms.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/limits.h"
#include "policy/spf.h"

#define NOW	1400000000

/* --- the fake resolver ---------------------------------------------------- */

struct rr {
	char		*name;
	enum spf_qtype	 type;
	char		*data;	/* address, "PREF host", text, name, "SERVFAIL" */
};

struct pending {
	enum spf_qtype	 type;
	char		 name[300];
	dns_cb		 cb;
	void		*arg;
	bool		 cancelled;
	struct pending	*next;
};

static struct event_base *base;
static struct rr	 zone[600];
static size_t		 nzone;
static struct pending	*pending;
static int		 in_flight, queries, cancels;
static bool		 fail_next_query;
static char		 qlog[64][320];	/* the last queries, "TYPE name" */
static size_t		 nqlog;

static const char *const qtype_names[] = { "A", "AAAA", "MX", "TXT", "PTR" };

static void
zone_add(const char *name, enum spf_qtype type, const char *data)
{
	assert_true(nzone < sizeof(zone) / sizeof(zone[0]));
	zone[nzone].name = strdup(name);
	zone[nzone].type = type;
	zone[nzone].data = strdup(data);
	nzone++;
}

/* Replaces the TXT records of name with one record (NULL: none). */
static void
zone_txt(const char *name, const char *text)
{
	size_t i, j;

	for (i = j = 0; i < nzone; i++) {
		if (zone[i].type == SPF_Q_TXT && strcasecmp(zone[i].name, name) == 0) {
			free(zone[i].name);
			free(zone[i].data);
			continue;
		}
		zone[j++] = zone[i];
	}
	nzone = j;
	if (text != NULL)
		zone_add(name, SPF_Q_TXT, text);
}

static void
zone_clear(void)
{
	size_t i;

	for (i = 0; i < nzone; i++) {
		free(zone[i].name);
		free(zone[i].data);
	}
	nzone = 0;
}

static void
fake_answer(const struct pending *p, struct dns_result *r)
{
	size_t i, n = 0;
	bool known = false;

	memset(r, 0, sizeof(*r));
	r->rc = DNS_NXDOMAIN;
	r->addr = calloc(64, sizeof(*r->addr));
	r->mx = calloc(64, sizeof(*r->mx));
	r->txt = calloc(64, sizeof(*r->txt));
	r->names = calloc(64, sizeof(*r->names));
	for (i = 0; i < nzone; i++) {
		const struct rr *z = &zone[i];

		if (strcasecmp(z->name, p->name) != 0)
			continue;
		known = true;
		if (z->type != p->type)
			continue;
		if (strcmp(z->data, "SERVFAIL") == 0) {
			r->rc = DNS_TEMPFAIL;
			return;
		}
		if (n == 64)
			continue;	/* DNS_ANSWERS_MAX, as dns.c keeps */
		n++;
		switch (p->type) {
		case SPF_Q_A: {
			struct sockaddr_in *sin = (struct sockaddr_in *)
			    &r->addr[r->naddr++];

			sin->sin_family = AF_INET;
			assert_int_equal(inet_pton(AF_INET, z->data,
			    &sin->sin_addr), 1);
			break;
		}
		case SPF_Q_AAAA: {
			struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)
			    &r->addr[r->naddr++];

			sin6->sin6_family = AF_INET6;
			assert_int_equal(inet_pton(AF_INET6, z->data,
			    &sin6->sin6_addr), 1);
			break;
		}
		case SPF_Q_MX: {
			const char *sp = strchr(z->data, ' ');

			r->mx[r->nmx].pref = (unsigned)strtoul(z->data, NULL, 10);
			r->mx[r->nmx++].host = (char *)(sp + 1);
			break;
		}
		case SPF_Q_TXT:
			r->txt[r->ntxt++] = z->data;
			break;
		case SPF_Q_PTR:
			r->names[r->nnames++] = z->data;
			break;
		}
	}
	r->rc = n > 0 ? DNS_OK : known ? DNS_NODATA : DNS_NXDOMAIN;
}

static void
fake_deliver(evutil_socket_t fd, short what, void *arg)
{
	struct pending *p = arg, **pp;
	struct dns_result r;

	for (pp = &pending; *pp != p; pp = &(*pp)->next)
		;
	*pp = p->next;
	if (!p->cancelled) {
		in_flight--;
		fake_answer(p, &r);
		p->cb(p->arg, &r);
		free(r.addr);
		free(r.mx);
		free(r.txt);
		free(r.names);
	}
	free(p);
}

static int
fake_query(void *ctx, enum spf_qtype type, const char *name,
    const struct sockaddr *sa, dns_cb cb, void *arg)
{
	struct timeval zero = { 0, 0 };
	struct pending *p;

	if (fail_next_query) {
		fail_next_query = false;
		return -1;
	}
	/* One query in flight per check (and the tests run one check). */
	assert_int_equal(in_flight, 0);
	p = calloc(1, sizeof(*p));
	p->type = type;
	p->cb = cb;
	p->arg = arg;
	if (type == SPF_Q_PTR) {
		const void *a = sa->sa_family == AF_INET ?
		    (const void *)&((const struct sockaddr_in *)sa)->sin_addr :
		    (const void *)&((const struct sockaddr_in6 *)sa)->sin6_addr;

		assert_null(name);
		assert_non_null(inet_ntop(sa->sa_family, a, p->name,
		    sizeof(p->name)));
	} else {
		assert_null(sa);
		assert_true(strlen(name) <= 253);
		snprintf(p->name, sizeof(p->name), "%s", name);
	}
	if (nqlog < sizeof(qlog) / sizeof(qlog[0]))
		snprintf(qlog[nqlog++], sizeof(qlog[0]), "%s %s",
		    qtype_names[type], p->name);
	p->next = pending;
	pending = p;
	in_flight++;
	queries++;
	assert_int_equal(event_base_once(base, -1, EV_TIMEOUT, fake_deliver,
	    p, &zero), 0);
	return 0;
}

static void
fake_cancel(void *ctx, const void *arg)
{
	struct pending *p;

	for (p = pending; p != NULL; p = p->next)
		if (p->arg == arg && !p->cancelled) {
			p->cancelled = true;
			in_flight--;
			cancels++;
		}
}

static struct spf_resolver resolver = {
	.query = fake_query, .cancel = fake_cancel,
};

/* --- running a check ---------------------------------------------------- */

struct got {
	int		 calls;
	enum spf_result	 result;
	char		 identity[16];
	bool		 has_domain;
	char		 domain[300];
	char		 sender[600];
	char		 mechanism[600];
	char		 explanation[SPF_EXP_MAX + 1];
	char		 problem[600];
	unsigned	 lookups;
	char		 received[4096];
	char		 authres[1024];
};

static struct got		got;
static bool			in_check;
static struct spf_request	req;

static void
copy(char *dst, size_t len, const char *src)
{
	snprintf(dst, len, "%s", src != NULL ? src : "");
}

static void
on_result(void *arg, const struct spf_outcome *o)
{
	struct buf b;

	assert_false(in_check);	/* never inside spf_check() */
	got.calls++;
	got.result = o->result;
	copy(got.identity, sizeof(got.identity), o->identity);
	got.has_domain = o->domain != NULL;
	copy(got.domain, sizeof(got.domain), o->domain);
	copy(got.sender, sizeof(got.sender), o->sender);
	copy(got.mechanism, sizeof(got.mechanism), o->mechanism);
	copy(got.explanation, sizeof(got.explanation), o->explanation);
	copy(got.problem, sizeof(got.problem), o->problem);
	got.lookups = o->lookups;
	buf_init(&b, 4000);
	assert_int_equal(spf_header_received(&b, &req, o), 0);
	copy(got.received, sizeof(got.received), buf_cstr(&b));
	buf_reset(&b);
	assert_int_equal(spf_header_authres(&b, o), 0);
	copy(got.authres, sizeof(got.authres), buf_cstr(&b));
	buf_free(&b);
}

static enum spf_result
check3(const char *ip, const char *helo, const char *sender)
{
	struct spf *s;

	memset(&got, 0, sizeof(got));
	nqlog = 0;
	queries = 0;
	req = (struct spf_request){ ip, helo, sender, "mx.example.net" };
	in_check = true;
	s = spf_check(&resolver, &req, NOW, on_result, NULL);
	in_check = false;
	assert_non_null(s);
	assert_int_equal(event_base_dispatch(base), 1);	/* no events left */
	assert_int_equal(got.calls, 1);
	assert_int_equal(in_flight, 0);
	return got.result;
}

static enum spf_result
check(const char *ip, const char *sender)
{
	return check3(ip, "mx.example.net", sender);
}

/* Was "TYPE name" asked during the last check? */
static bool
asked(const char *q)
{
	size_t i;

	for (i = 0; i < nqlog; i++)
		if (strcasecmp(qlog[i], q) == 0)
			return true;
	return false;
}

static int
setup(void **state)
{
	(void)state;
	zone_clear();
	fail_next_query = false;
	cancels = 0;
	return 0;
}

static int
group_setup(void **state)
{
	(void)state;
	base = event_base_new();
	resolver.base = base;
	return base == NULL ? -1 : 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	zone_clear();
	event_base_free(base);
	return 0;
}

/* --- RFC 7208 Appendix A ------------------------------------------------ */

/* The zone of Appendix A (www is a CNAME there: its addresses here). */
static void
rfc_zone(void)
{
	zone_add("example.com", SPF_Q_MX, "10 mail-a.example.com");
	zone_add("example.com", SPF_Q_MX, "20 mail-b.example.com");
	zone_add("example.com", SPF_Q_A, "192.0.2.10");
	zone_add("example.com", SPF_Q_A, "192.0.2.11");
	zone_add("amy.example.com", SPF_Q_A, "192.0.2.65");
	zone_add("bob.example.com", SPF_Q_A, "192.0.2.66");
	zone_add("mail-a.example.com", SPF_Q_A, "192.0.2.129");
	zone_add("mail-b.example.com", SPF_Q_A, "192.0.2.130");
	zone_add("www.example.com", SPF_Q_A, "192.0.2.10");
	zone_add("www.example.com", SPF_Q_A, "192.0.2.11");
	zone_add("example.org", SPF_Q_MX, "10 mail-c.example.org");
	zone_add("mail-c.example.org", SPF_Q_A, "192.0.2.140");
	zone_add("192.0.2.10", SPF_Q_PTR, "example.com");
	zone_add("192.0.2.11", SPF_Q_PTR, "example.com");
	zone_add("192.0.2.65", SPF_Q_PTR, "amy.example.com");
	zone_add("192.0.2.66", SPF_Q_PTR, "bob.example.com");
	zone_add("192.0.2.129", SPF_Q_PTR, "mail-a.example.com");
	zone_add("192.0.2.130", SPF_Q_PTR, "mail-b.example.com");
	zone_add("192.0.2.140", SPF_Q_PTR, "mail-c.example.org");
	zone_add("10.0.0.4", SPF_Q_PTR, "bob.example.com");
}

/* Every host of the zone, and one outside it. */
static const char *const rfc_hosts[] = {
	"192.0.2.10", "192.0.2.11", "192.0.2.65", "192.0.2.66", "192.0.2.129",
	"192.0.2.130", "192.0.2.140", "10.0.0.4", "198.51.100.7",
};

/* With record at example.com, exactly the hosts in pass pass and every
 * other host of rfc_hosts fails. */
static void
a1_expect(const char *record, const char *const *pass, size_t npass)
{
	size_t i, j;

	zone_txt("example.com", record);
	for (i = 0; i < sizeof(rfc_hosts) / sizeof(rfc_hosts[0]); i++) {
		bool want = false;

		for (j = 0; j < npass; j++)
			want = want || strcmp(pass[j], rfc_hosts[i]) == 0;
		if (check(rfc_hosts[i], "user@example.com") !=
		    (want ? SPF_PASS : SPF_FAIL))
			fail_msg("%s from %s: got %s", record, rfc_hosts[i],
			    spf_result_name(got.result));
	}
}

static void
test_a1_all_and_a(void **state)
{
	static const char *const a[] = { "192.0.2.10", "192.0.2.11" };
	size_t i;

	(void)state;
	rfc_zone();
	/* "v=spf1 +all": any <ip> passes. */
	zone_txt("example.com", "v=spf1 +all");
	for (i = 0; i < sizeof(rfc_hosts) / sizeof(rfc_hosts[0]); i++)
		assert_int_equal(check(rfc_hosts[i], "user@example.com"),
		    SPF_PASS);
	assert_string_equal(got.mechanism, "+all");
	/* "v=spf1 a -all": hosts 192.0.2.10 and 192.0.2.11 pass. */
	a1_expect("v=spf1 a -all", a, 2);
	/* "v=spf1 a:example.org -all": no sending hosts pass. */
	a1_expect("v=spf1 a:example.org -all", NULL, 0);
}

static void
test_a1_mx(void **state)
{
	static const char *const mx[] = { "192.0.2.129", "192.0.2.130" };
	static const char *const org[] = { "192.0.2.140" };
	static const char *const both[] = {
		"192.0.2.129", "192.0.2.130", "192.0.2.140",
	};

	(void)state;
	rfc_zone();
	a1_expect("v=spf1 mx -all", mx, 2);
	a1_expect("v=spf1 mx:example.org -all", org, 1);
	a1_expect("v=spf1 mx mx:example.org -all", both, 3);
	/* "any sending host in 192.0.2.128/30 or 192.0.2.140/30 passes" */
	a1_expect("v=spf1 mx/30 mx:example.org/30 -all", both, 3);
	assert_int_equal(check("192.0.2.128", "user@example.com"), SPF_PASS);
	assert_int_equal(check("192.0.2.131", "user@example.com"), SPF_PASS);
	assert_int_equal(check("192.0.2.143", "user@example.com"), SPF_PASS);
	assert_string_equal(got.mechanism, "mx:example.org/30");
	assert_int_equal(check("192.0.2.132", "user@example.com"), SPF_FAIL);
	assert_int_equal(check("192.0.2.139", "user@example.com"), SPF_FAIL);
}

static void
test_a1_ptr_and_ip4(void **state)
{
	(void)state;
	rfc_zone();
	zone_txt("example.com", "v=spf1 ptr -all");
	/* 192.0.2.65 passes (reverse DNS is valid and is in example.com) */
	assert_int_equal(check("192.0.2.65", "user@example.com"), SPF_PASS);
	assert_true(asked("PTR 192.0.2.65"));
	assert_true(asked("A amy.example.com"));
	/* 192.0.2.140 fails (reverse DNS is valid, but not in example.com) */
	assert_int_equal(check("192.0.2.140", "user@example.com"), SPF_FAIL);
	/* 10.0.0.4 fails (reverse IP is not valid) */
	assert_int_equal(check("10.0.0.4", "user@example.com"), SPF_FAIL);
	zone_txt("example.com", "v=spf1 ip4:192.0.2.128/28 -all");
	assert_int_equal(check("192.0.2.65", "user@example.com"), SPF_FAIL);
	assert_int_equal(check("192.0.2.129", "user@example.com"), SPF_PASS);
	assert_string_equal(got.mechanism, "ip4:192.0.2.128/28");
	assert_int_equal(got.lookups, 0);
}

/* A.2: example.org includes example.com and example.net; la.example.org
 * redirects to example.org. The included records are ours. */
static void
test_a2_multiple_domains(void **state)
{
	static const char *const senders[] = {
		"joe@example.org", "joe@la.example.org",
	};
	size_t i;

	(void)state;
	rfc_zone();
	zone_txt("example.org",
	    "v=spf1 include:example.com include:example.net -all");
	zone_txt("la.example.org", "v=spf1 redirect=example.org");
	zone_txt("example.com", "v=spf1 mx -all");
	zone_txt("example.net", "v=spf1 ip4:198.51.100.0/24 -all");
	for (i = 0; i < 2; i++) {
		assert_int_equal(check("192.0.2.129", senders[i]), SPF_PASS);
		assert_string_equal(got.mechanism, "include:example.com");
		assert_int_equal(check("198.51.100.9", senders[i]), SPF_PASS);
		assert_string_equal(got.mechanism, "include:example.net");
		assert_int_equal(check("192.0.2.10", senders[i]), SPF_FAIL);
		assert_string_equal(got.mechanism, "-all");
	}
	assert_string_equal(got.domain, "la.example.org");
	assert_int_equal(got.lookups, 4);	/* redirect, include x2, mx */
}

/* A.3: DNSBL style: users by local part, and by local part and address. */
static void
test_a3_dnsbl_style(void **state)
{
	(void)state;
	rfc_zone();
	zone_txt("example.com", "v=spf1 mx include:mobile-users._spf.%{d} "
	    "include:remote-users._spf.%{d} -all");
	zone_txt("mobile-users._spf.example.com", "v=spf1 exists:%{l1r+}.%{d}");
	zone_txt("remote-users._spf.example.com",
	    "v=spf1 exists:%{ir}.%{l1r+}.%{d}");
	zone_add("mary.mobile-users._spf.example.com", SPF_Q_A, "127.0.0.2");
	zone_add("fred.mobile-users._spf.example.com", SPF_Q_A, "127.0.0.2");
	zone_add("15.15.168.192.joel.remote-users._spf.example.com", SPF_Q_A,
	    "127.0.0.2");
	zone_add("16.15.168.192.joel.remote-users._spf.example.com", SPF_Q_A,
	    "127.0.0.2");
	assert_int_equal(check("198.51.100.1", "mary@example.com"), SPF_PASS);
	assert_string_equal(got.mechanism, "include:mobile-users._spf.%{d}");
	assert_true(asked("A mary.mobile-users._spf.example.com"));
	assert_int_equal(check("198.51.100.1", "fred@example.com"), SPF_PASS);
	assert_int_equal(check("198.51.100.1", "fred+news@example.com"),
	    SPF_PASS);
	assert_int_equal(check("192.168.15.15", "joel@example.com"), SPF_PASS);
	assert_string_equal(got.mechanism, "include:remote-users._spf.%{d}");
	assert_int_equal(check("192.168.15.16", "joel@example.com"), SPF_PASS);
	assert_int_equal(check("192.168.15.17", "joel@example.com"), SPF_FAIL);
	assert_int_equal(check("198.51.100.1", "joel@example.com"), SPF_FAIL);
	assert_int_equal(check("198.51.100.1", "bob@example.com"), SPF_FAIL);
	assert_int_equal(check("192.0.2.129", "bob@example.com"), SPF_PASS);
	assert_string_equal(got.mechanism, "mx");
}

/* A.4: in 192.0.2.0/24 and with reverse DNS in example.com. */
static void
test_a4_multiple_requirements(void **state)
{
	size_t i;

	(void)state;
	rfc_zone();
	zone_txt("example.com", "v=spf1 -include:ip4._spf.%{d} "
	    "-include:ptr._spf.%{d} +all");
	zone_txt("ip4._spf.example.com", "v=spf1 -ip4:192.0.2.0/24 +all");
	/* As printed, "ptr" means ptr._spf.example.com: nobody passes. */
	zone_txt("ptr._spf.example.com", "v=spf1 -ptr +all");
	for (i = 0; i < sizeof(rfc_hosts) / sizeof(rfc_hosts[0]); i++)
		assert_int_equal(check(rfc_hosts[i], "user@example.com"),
		    SPF_FAIL);
	/* Erratum 6216: "-ptr:example.com". */
	zone_txt("ptr._spf.example.com", "v=spf1 -ptr:example.com +all");
	assert_int_equal(check("192.0.2.65", "user@example.com"), SPF_PASS);
	assert_string_equal(got.mechanism, "+all");
	assert_int_equal(check("192.0.2.129", "user@example.com"), SPF_PASS);
	assert_int_equal(check("192.0.2.140", "user@example.com"), SPF_FAIL);
	assert_string_equal(got.mechanism, "-include:ptr._spf.%{d}");
	assert_int_equal(check("192.0.2.200", "user@example.com"), SPF_FAIL);
	assert_int_equal(check("10.0.0.4", "user@example.com"), SPF_FAIL);
	assert_string_equal(got.mechanism, "-include:ip4._spf.%{d}");
}

/* --- results, limits, errors -------------------------------------------- */

static void
test_each_result(void **state)
{
	static const struct {
		const char	*record;
		enum spf_result	 want;
	} cases[] = {
		{ "v=spf1 ip4:192.0.2.1 -all", SPF_PASS },
		{ "v=spf1 -ip4:192.0.2.1 +all", SPF_FAIL },
		{ "v=spf1 ~ip4:192.0.2.1 +all", SPF_SOFTFAIL },
		{ "v=spf1 ?ip4:192.0.2.1 +all", SPF_NEUTRAL },
		{ "v=spf1 ip4:192.0.2.2", SPF_NEUTRAL },	/* 4.7 default */
		{ "v=spf1", SPF_NEUTRAL },
		{ "v=spf1 ip4:192.0.2.1 bogus", SPF_PERMERROR },
		{ "v=spf1 +all -all", SPF_PASS },	/* first match wins */
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		zone_txt("r.example", cases[i].record);
		if (check("192.0.2.1", "a@r.example") != cases[i].want)
			fail_msg("%s: got %s", cases[i].record,
			    spf_result_name(got.result));
	}
	zone_txt("r.example", "v=spf1 ip4:192.0.2.2");
	check("192.0.2.1", "a@r.example");
	assert_string_equal(got.mechanism, "default");
	assert_string_equal(got.identity, "mailfrom");
	assert_string_equal(got.domain, "r.example");
	assert_string_equal(got.problem, "");
}

static void
test_none(void **state)
{
	(void)state;
	/* No such domain, no TXT, TXT that is not SPF, "v=spf10". */
	assert_int_equal(check("192.0.2.1", "a@nx.example"), SPF_NONE);
	assert_true(got.has_domain);
	zone_add("mx-only.example", SPF_Q_MX, "10 mx.example");
	assert_int_equal(check("192.0.2.1", "a@mx-only.example"), SPF_NONE);
	zone_txt("other.example", "google-site-verification=abc");
	zone_add("other.example", SPF_Q_TXT, "v=spf10 -all");
	zone_add("other.example", SPF_Q_TXT, "v=spf1-all");
	assert_int_equal(check("192.0.2.1", "a@other.example"), SPF_NONE);
	assert_string_equal(got.mechanism, "");
	assert_string_equal(got.problem, "");
}

static void
test_two_records(void **state)
{
	(void)state;
	zone_txt("two.example", "v=spf1 +all");
	zone_add("two.example", SPF_Q_TXT, "V=SPF1 -all");
	zone_add("two.example", SPF_Q_TXT, "unrelated");
	assert_int_equal(check("192.0.2.1", "a@two.example"), SPF_PERMERROR);
	assert_string_equal(got.problem, "2 SPF records for two.example");
}

static void
test_syntax_error_is_permerror(void **state)
{
	static const char *const bad[] = {
		"v=spf1 a:foo", "v=spf1 ip4:192.0.2.300 -all", "v=spf1 -all x",
		"v=spf1 redirect=a.example redirect=b.example",
		"v=spf1 exists:%{c}.example.com", "v=spf1 a:%{d0}.example.com",
		"v=spf1 \xff", "v=spf1 ip4:192.0.2.1\x01",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		zone_txt("bad.example", bad[i]);
		assert_int_equal(check("192.0.2.1", "a@bad.example"),
		    SPF_PERMERROR);
		assert_string_equal(got.problem,
		    "invalid SPF record for bad.example");
	}
}

static void
test_temperror(void **state)
{
	static const char *const records[] = {
		"v=spf1 a:sf.example -all", "v=spf1 mx:sf.example -all",
		"v=spf1 exists:sf.example -all", "v=spf1 include:sf.example -all",
		"v=spf1 mx:mxsf.example -all",
	};
	size_t i;

	(void)state;
	zone_add("t.example", SPF_Q_TXT, "SERVFAIL");
	assert_int_equal(check("192.0.2.1", "a@t.example"), SPF_TEMPERROR);
	assert_string_equal(got.problem, "DNS failure for t.example");
	zone_add("sf.example", SPF_Q_A, "SERVFAIL");
	zone_add("sf.example", SPF_Q_MX, "SERVFAIL");
	zone_add("sf.example", SPF_Q_TXT, "SERVFAIL");
	zone_add("mxsf.example", SPF_Q_MX, "10 sf.example");
	for (i = 0; i < sizeof(records) / sizeof(records[0]); i++) {
		zone_txt("m.example", records[i]);
		if (check("192.0.2.1", "a@m.example") != SPF_TEMPERROR)
			fail_msg("%s: got %s", records[i],
			    spf_result_name(got.result));
		assert_string_equal(got.problem, "DNS failure for sf.example");
	}
	/* 5.5: a PTR failure is no match, not an error. */
	zone_add("192.0.2.1", SPF_Q_PTR, "SERVFAIL");
	zone_txt("m.example", "v=spf1 ptr -all");
	assert_int_equal(check("192.0.2.1", "a@m.example"), SPF_FAIL);
	/* A query refused at once is a DNS failure too, delivered later. */
	fail_next_query = true;
	assert_int_equal(check("192.0.2.1", "a@m.example"), SPF_TEMPERROR);
}

/* Ten A records that never hold the client. */
static void
ten_names(void)
{
	char name[64];
	int i;

	for (i = 1; i <= 12; i++) {
		snprintf(name, sizeof(name), "h%d.example", i);
		zone_add(name, SPF_Q_A, "198.51.100.1");
	}
}

static void
test_lookup_limit(void **state)
{
	(void)state;
	ten_names();
	zone_txt("l.example", "v=spf1 a:h1.example a:h2.example a:h3.example "
	    "a:h4.example a:h5.example mx:h6.example exists:nx7.example "
	    "a:h8.example a:h9.example a:h10.example ip4:192.0.2.1 -all");
	/* Exactly 10 terms that query: fine (two of them void). */
	assert_int_equal(check("192.0.2.1", "a@l.example"), SPF_PASS);
	assert_int_equal(got.lookups, 10);
	/* The 11th is a permerror, even when a later term would match. */
	zone_txt("l.example", "v=spf1 a:h1.example a:h2.example a:h3.example "
	    "a:h4.example a:h5.example a:h6.example a:h7.example "
	    "a:h8.example a:h9.example a:h10.example a:h11.example "
	    "ip4:192.0.2.1 -all");
	assert_int_equal(check("192.0.2.1", "a@l.example"), SPF_PERMERROR);
	assert_string_equal(got.problem, "more than 10 DNS lookups");
	assert_false(asked("A h11.example"));
	/* Includes and redirects count, at every depth: a loop ends. */
	zone_txt("loop.example", "v=spf1 include:loop.example -all");
	assert_int_equal(check("192.0.2.1", "a@loop.example"), SPF_PERMERROR);
	assert_string_equal(got.problem, "more than 10 DNS lookups");
	zone_txt("loop.example", "v=spf1 redirect=loop.example");
	assert_int_equal(check("192.0.2.1", "a@loop.example"), SPF_PERMERROR);
	assert_int_equal(got.lookups, 10);
	/* ip4, ip6, all and exp do not count. */
	zone_txt("l.example", "v=spf1 ip4:192.0.2.9 ip6:::1 a:h1.example "
	    "-all exp=h2.example");
	assert_int_equal(check("192.0.2.1", "a@l.example"), SPF_FAIL);
	assert_int_equal(got.lookups, 1);
}

static void
test_void_limit(void **state)
{
	(void)state;
	zone_add("nodata.example", SPF_Q_TXT, "x");
	zone_txt("v.example", "v=spf1 a:nx1.example mx:nodata.example "
	    "ip4:192.0.2.1 -all");
	assert_int_equal(check("192.0.2.1", "a@v.example"), SPF_PASS);
	/* The third NXDOMAIN/NODATA answer is a permerror. */
	zone_txt("v.example", "v=spf1 a:nx1.example mx:nodata.example "
	    "exists:nx3.example ip4:192.0.2.1 -all");
	assert_int_equal(check("192.0.2.1", "a@v.example"), SPF_PERMERROR);
	assert_string_equal(got.problem, "more than 2 void lookups");
	/* Across includes too. */
	zone_txt("inc.example", "v=spf1 a:nx2.example a:nx3.example");
	zone_txt("v.example", "v=spf1 a:nx1.example include:inc.example "
	    "ip4:192.0.2.1 -all");
	assert_int_equal(check("192.0.2.1", "a@v.example"), SPF_PERMERROR);
	/* ptr with no PTR record is a void lookup. */
	zone_txt("v.example", "v=spf1 a:nx1.example a:nx2.example ptr -all");
	assert_int_equal(check("192.0.2.1", "a@v.example"), SPF_PERMERROR);
}

static void
test_mx_limit(void **state)
{
	char name[64], mx[80];
	int i;

	(void)state;
	for (i = 1; i <= 11; i++) {
		snprintf(name, sizeof(name), "mx%d.example", i);
		snprintf(mx, sizeof(mx), "%d %s", i, name);
		if (i <= 10)
			zone_add("ten.example", SPF_Q_MX, mx);
		zone_add("eleven.example", SPF_Q_MX, mx);
		snprintf(mx, sizeof(mx), "192.0.2.%d", i);
		zone_add(name, SPF_Q_A, mx);
	}
	zone_txt("ten.example", "v=spf1 mx -all");
	zone_txt("eleven.example", "v=spf1 mx -all");
	/* 10 MX names: all looked at, the 10th matches. */
	assert_int_equal(check("192.0.2.10", "a@ten.example"), SPF_PASS);
	assert_true(asked("A mx10.example"));
	/* 11 MX names: permerror (4.6.4), before any address lookup. */
	assert_int_equal(check("192.0.2.1", "a@eleven.example"), SPF_PERMERROR);
	assert_string_equal(got.problem, "more than 10 MX names for "
	    "eleven.example");
	assert_false(asked("A mx1.example"));
	/* A null MX (RFC 7505) has no host to look up. */
	zone_add("null.example", SPF_Q_MX, "0 ");
	zone_txt("null.example", "v=spf1 mx -all");
	assert_int_equal(check("192.0.2.1", "a@null.example"), SPF_FAIL);
	assert_int_equal(queries, 2);
}

static void
test_ptr_cap(void **state)
{
	char name[64];
	int i;

	(void)state;
	/* 11 names; only the last one has the client's address. */
	for (i = 1; i <= 11; i++) {
		snprintf(name, sizeof(name), "n%d.p.example", i);
		zone_add("192.0.2.1", SPF_Q_PTR, name);
		zone_add(name, SPF_Q_A, i == 11 ? "192.0.2.1" : "198.51.100.1");
	}
	zone_txt("p.example", "v=spf1 ptr -all");
	assert_int_equal(check("192.0.2.1", "a@p.example"), SPF_FAIL);
	assert_true(asked("A n10.p.example"));
	assert_false(asked("A n11.p.example"));
	assert_int_equal(queries, 12);	/* TXT, PTR, 10 x A */
	/* The 10th is still considered. */
	zone_add("n10.p.example", SPF_Q_A, "192.0.2.1");
	assert_int_equal(check("192.0.2.1", "a@p.example"), SPF_PASS);
	/* A name of another domain does not match, even validated. */
	zone_txt("p.example", "v=spf1 ptr:q.example -all");
	assert_int_equal(check("192.0.2.1", "a@p.example"), SPF_FAIL);
	/* "ptr:p.example" matches p.example itself too. */
	zone_clear();
	zone_add("192.0.2.1", SPF_Q_PTR, "P.Example");
	zone_add("p.example", SPF_Q_A, "192.0.2.1");
	zone_txt("p.example", "v=spf1 ptr:p.example -all");
	assert_int_equal(check("192.0.2.1", "a@p.example"), SPF_PASS);
	/* "xp.example" is not under "p.example". */
	zone_clear();
	zone_add("192.0.2.1", SPF_Q_PTR, "xp.example");
	zone_add("xp.example", SPF_Q_A, "192.0.2.1");
	zone_txt("p.example", "v=spf1 ptr -all");
	assert_int_equal(check("192.0.2.1", "a@p.example"), SPF_FAIL);
}

static void
test_redirect(void **state)
{
	(void)state;
	zone_txt("target.example", "v=spf1 ip4:192.0.2.1 -all");
	zone_txt("r.example", "v=spf1 redirect=target.example");
	assert_int_equal(check("192.0.2.1", "a@r.example"), SPF_PASS);
	assert_int_equal(check("192.0.2.2", "a@r.example"), SPF_FAIL);
	assert_string_equal(got.mechanism, "-all");
	assert_string_equal(got.domain, "r.example");
	/* Mechanisms first, wherever the modifier is written. */
	zone_txt("r.example", "v=spf1 redirect=target.example ip4:192.0.2.2");
	assert_int_equal(check("192.0.2.2", "a@r.example"), SPF_PASS);
	/* 6.1: ignored when the record has "all". */
	zone_txt("r.example", "v=spf1 redirect=target.example ?all");
	assert_int_equal(check("192.0.2.1", "a@r.example"), SPF_NEUTRAL);
	/* 6.1: no record at the target is a permerror, not none. */
	zone_txt("r.example", "v=spf1 redirect=nx.example");
	assert_int_equal(check("192.0.2.1", "a@r.example"), SPF_PERMERROR);
	assert_string_equal(got.problem, "no SPF record for nx.example");
	zone_add("notspf.example", SPF_Q_TXT, "hello");
	zone_txt("r.example", "v=spf1 redirect=notspf.example");
	assert_int_equal(check("192.0.2.1", "a@r.example"), SPF_PERMERROR);
	/* The target's %{d} is the target. */
	zone_txt("r.example", "v=spf1 redirect=m.example");
	zone_txt("m.example", "v=spf1 exists:%{d}.ok.example -all");
	zone_add("m.example.ok.example", SPF_Q_A, "127.0.0.2");
	assert_int_equal(check("192.0.2.1", "a@r.example"), SPF_PASS);
	/* An included record's redirect stays inside the include. */
	zone_txt("r.example", "v=spf1 include:i.example -all");
	zone_txt("i.example", "v=spf1 redirect=target.example");
	assert_int_equal(check("192.0.2.1", "a@r.example"), SPF_PASS);
	assert_string_equal(got.mechanism, "include:i.example");
	assert_int_equal(check("192.0.2.2", "a@r.example"), SPF_FAIL);
}

static void
test_include_results(void **state)
{
	static const struct {
		const char	*target;	/* record at inc.example, or NULL */
		enum spf_result	 want;
	} cases[] = {
		{ "v=spf1 +all", SPF_PASS },		/* pass: match */
		{ "v=spf1 -all", SPF_FAIL },		/* fail: no match */
		{ "v=spf1 ~all", SPF_FAIL },		/* softfail: no match */
		{ "v=spf1 ?all", SPF_FAIL },		/* neutral: no match */
		{ "v=spf1", SPF_FAIL },			/* neutral by default */
		{ "v=spf1 a:sf.example", SPF_TEMPERROR },
		{ "v=spf1 bogus", SPF_PERMERROR },
		{ NULL, SPF_PERMERROR },		/* none: permerror */
	};
	size_t i;

	(void)state;
	zone_add("sf.example", SPF_Q_A, "SERVFAIL");
	zone_txt("top.example", "v=spf1 include:inc.example -all");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		zone_txt("inc.example", cases[i].target);
		if (check("192.0.2.1", "a@top.example") != cases[i].want)
			fail_msg("include of %s: got %s", cases[i].target,
			    spf_result_name(got.result));
	}
	assert_string_equal(got.problem, "no SPF record for inc.example");
	zone_add("inc.example", SPF_Q_TXT, "SERVFAIL");
	assert_int_equal(check("192.0.2.1", "a@top.example"), SPF_TEMPERROR);
	/* The qualifier of the include is the result when it matches. */
	zone_clear();
	zone_txt("inc.example", "v=spf1 +all");
	zone_txt("top.example", "v=spf1 ~include:inc.example -all");
	assert_int_equal(check("192.0.2.1", "a@top.example"), SPF_SOFTFAIL);
	/* An invalid include target (an empty label from the local part). */
	zone_txt("top.example", "v=spf1 include:%{l}.x.example -all");
	assert_int_equal(check("192.0.2.1", "a..b@top.example"), SPF_PERMERROR);
	assert_string_equal(got.problem, "invalid include target");
}

static void
test_invalid_target_no_match(void **state)
{
	(void)state;
	/* A sender's local part cannot turn a fail into a permerror. */
	zone_txt("e.example", "v=spf1 exists:%{l}.allow.example -all");
	zone_add("ok.allow.example", SPF_Q_A, "127.0.0.2");
	assert_int_equal(check("192.0.2.1", "ok@e.example"), SPF_PASS);
	assert_int_equal(check("192.0.2.1", "a..b@e.example"), SPF_FAIL);
	assert_int_equal(check("192.0.2.1", "\"a\\\\b\"@e.example"), SPF_FAIL);
	assert_int_equal(queries, 1);	/* only the TXT */
}

static void
test_exp(void **state)
{
	(void)state;
	zone_txt("x.example", "v=spf1 ip4:192.0.2.9 -all exp=why.%{d}");
	zone_txt("why.x.example", "%{i} is not one of %{d}'s designated mail "
	    "servers: see http://%{d}/why.html?s=%{S}&i=%{I}%_(%{c} %{r} "
	    "%{t} %{v} %{h} %{l} %{o} %%)");
	assert_int_equal(check("192.0.2.1", "joe@x.example"), SPF_FAIL);
	assert_string_equal(got.explanation, "192.0.2.1 is not one of "
	    "x.example's designated mail servers: see http://x.example/"
	    "why.html?s=joe%40x.example&i=192.0.2.1 (192.0.2.1 mx.example.net "
	    "1400000000 in-addr mx.example.net joe x.example %)");
	assert_int_equal(got.lookups, 0);	/* exp does not count */
	/* Only for fail. */
	zone_txt("x.example", "v=spf1 ~all exp=why.%{d}");
	assert_int_equal(check("192.0.2.1", "joe@x.example"), SPF_SOFTFAIL);
	assert_string_equal(got.explanation, "");
	/* Two TXT records, none, or a bad macro: no explanation, still
	 * fail. */
	zone_txt("x.example", "v=spf1 -all exp=why.%{d}");
	zone_add("why.x.example", SPF_Q_TXT, "second");
	assert_int_equal(check("192.0.2.1", "joe@x.example"), SPF_FAIL);
	assert_string_equal(got.explanation, "");
	zone_txt("why.x.example", "bad %{x}");
	assert_int_equal(check("192.0.2.1", "joe@x.example"), SPF_FAIL);
	assert_string_equal(got.explanation, "");
	zone_txt("why.x.example", NULL);
	assert_int_equal(check("192.0.2.1", "joe@x.example"), SPF_FAIL);
	assert_string_equal(got.explanation, "");
	zone_add("why.x.example", SPF_Q_TXT, "SERVFAIL");
	assert_int_equal(check("192.0.2.1", "joe@x.example"), SPF_FAIL);
	assert_string_equal(got.explanation, "");
	/* A sender's bytes that are not printable ASCII become '?'. */
	zone_clear();
	zone_txt("x.example", "v=spf1 -all exp=why.x.example");
	zone_txt("why.x.example", "no %{l}");
	assert_int_equal(check("192.0.2.1", "j\xc3\xa9\x01@x.example"),
	    SPF_FAIL);
	assert_string_equal(got.explanation, "no j???");
	/* An include's exp is never used; a redirect's replaces ours. */
	zone_txt("x.example", "v=spf1 include:i.example -all exp=why.x.example");
	zone_txt("i.example", "v=spf1 -all exp=other.example");
	zone_txt("other.example", "other");
	assert_int_equal(check("192.0.2.1", "j@x.example"), SPF_FAIL);
	assert_string_equal(got.explanation, "no j");
	zone_txt("x.example", "v=spf1 redirect=i.example exp=why.x.example");
	assert_int_equal(check("192.0.2.1", "j@x.example"), SPF_FAIL);
	assert_string_equal(got.explanation, "other");
	/* %{p} in the explanation: the validated name, looked up then. */
	zone_txt("x.example", "v=spf1 -all exp=why.x.example");
	zone_txt("why.x.example", "%{p} %{p2}");
	zone_add("192.0.2.1", SPF_Q_PTR, "mail.x.example");
	zone_add("mail.x.example", SPF_Q_A, "192.0.2.1");
	assert_int_equal(check("192.0.2.1", "j@x.example"), SPF_FAIL);
	assert_string_equal(got.explanation, "mail.x.example x.example");
	/* A long explanation is cut. */
	{
		char text[2 * SPF_EXP_MAX];

		memset(text, 'x', sizeof(text) - 1);
		text[sizeof(text) - 1] = '\0';
		zone_txt("why.x.example", text);
		assert_int_equal(check("192.0.2.1", "j@x.example"), SPF_FAIL);
		assert_int_equal(strlen(got.explanation), SPF_EXP_MAX);
	}
}

static void
test_ptr_macro(void **state)
{
	(void)state;
	zone_txt("p.example", "v=spf1 exists:%{p}.allow.example -all");
	zone_add("192.0.2.1", SPF_Q_PTR, "other.example");
	zone_add("192.0.2.1", SPF_Q_PTR, "mail.p.example");
	zone_add("other.example", SPF_Q_A, "192.0.2.1");
	zone_add("mail.p.example", SPF_Q_A, "192.0.2.1");
	zone_add("mail.p.example.allow.example", SPF_Q_A, "127.0.0.2");
	/* 7.3: a validated subdomain of <domain> is preferred. */
	assert_int_equal(check("192.0.2.1", "a@p.example"), SPF_PASS);
	assert_int_equal(got.lookups, 1);	/* %{p} is not a term */
	/* Not forward-confirmed: "unknown". */
	zone_clear();
	zone_txt("p.example", "v=spf1 exists:%{p}.allow.example -all");
	zone_add("192.0.2.1", SPF_Q_PTR, "mail.p.example");
	zone_add("mail.p.example", SPF_Q_A, "192.0.2.99");
	zone_add("unknown.allow.example", SPF_Q_A, "127.0.0.2");
	assert_int_equal(check("192.0.2.1", "a@p.example"), SPF_PASS);
	assert_true(asked("A unknown.allow.example"));
	/* The names are looked up once per check. */
	zone_txt("p.example", "v=spf1 exists:%{p}.x.example ptr "
	    "exists:%{p}.allow.example -all");
	assert_int_equal(check("192.0.2.1", "a@p.example"), SPF_PASS);
	assert_int_equal(queries, 5);	/* TXT, PTR, A, A, A */
}

static void
test_helo_identity(void **state)
{
	(void)state;
	zone_txt("mail.h.example", "v=spf1 ip4:192.0.2.1 -all");
	/* MAIL FROM:<> : postmaster@HELO (2.4). */
	assert_int_equal(check3("192.0.2.1", "mail.h.example", ""), SPF_PASS);
	assert_string_equal(got.identity, "helo");
	assert_string_equal(got.sender, "postmaster@mail.h.example");
	assert_string_equal(got.domain, "mail.h.example");
	assert_string_equal(got.authres, "spf=pass smtp.helo=mail.h.example");
	assert_int_equal(check3("192.0.2.2", "Mail.H.Example.", ""), SPF_FAIL);
	assert_string_equal(got.domain, "mail.h.example");
	/* An address literal or a non-domain HELO: none, without DNS. */
	assert_int_equal(check3("192.0.2.1", "[192.0.2.1]", ""), SPF_NONE);
	assert_false(got.has_domain);
	assert_int_equal(queries, 0);
	assert_string_equal(got.authres, "spf=none smtp.helo=\"[192.0.2.1]\"");
	assert_int_equal(check3("192.0.2.1", "192.0.2.1", ""), SPF_NONE);
	assert_int_equal(check3("192.0.2.1", "localhost", ""), SPF_NONE);
	assert_int_equal(check3("192.0.2.1", "", ""), SPF_NONE);
	assert_int_equal(check3("192.0.2.1", "a b.example", ""), SPF_NONE);
	assert_int_equal(check3("192.0.2.1", NULL, NULL), SPF_NONE);
}

static void
test_sender_forms(void **state)
{
	char longlabel[80], longname[300];
	size_t i;

	(void)state;
	zone_txt("s.example", "v=spf1 exists:%{l}.%{o}.ok.example -all");
	zone_add("postmaster.s.example.ok.example", SPF_Q_A, "127.0.0.2");
	/* 4.3: no local part: postmaster. */
	assert_int_equal(check("192.0.2.1", "s.example"), SPF_PASS);
	assert_string_equal(got.sender, "postmaster@s.example");
	assert_int_equal(check("192.0.2.1", "@s.example"), SPF_PASS);
	assert_int_equal(check("192.0.2.1", "\"a@b\"@S.EXAMPLE"), SPF_FAIL);
	assert_string_equal(got.domain, "s.example");
	/* 4.3: malformed domains are none, without a query. */
	memset(longlabel, 'a', 64);
	snprintf(longlabel + 64, sizeof(longlabel) - 64, ".example");
	for (i = 0; i + 2 < 260; i += 2)
		memcpy(longname + i, "a.", 2);
	snprintf(longname + i, sizeof(longname) - i, "example");
	{
		const char *const bad[] = {
			"a@x..example", "a@.x.example", "a@example", "a@",
			"a@[192.0.2.1]", "a@1.2.3.4", longlabel, longname,
			"a@ex ample.com", "a@exa\xc3\xa9mple.com",
		};

		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			assert_int_equal(check("192.0.2.1", bad[i]), SPF_NONE);
			assert_false(got.has_domain);
			assert_int_equal(queries, 0);
		}
	}
}

static void
test_ipv6(void **state)
{
	(void)state;
	zone_txt("six.example", "v=spf1 ip6:2001:db8::/32 -all");
	assert_int_equal(check("2001:db8::1", "a@six.example"), SPF_PASS);
	assert_int_equal(check("2001:db9::1", "a@six.example"), SPF_FAIL);
	/* ip4 never matches an IPv6 client, nor ip6 an IPv4 one. */
	zone_txt("six.example", "v=spf1 ip4:0.0.0.0/0 ip6:::/0 -all");
	assert_int_equal(check("2001:db8::1", "a@six.example"), SPF_PASS);
	assert_string_equal(got.mechanism, "ip6:::/0");
	assert_int_equal(check("192.0.2.1", "a@six.example"), SPF_PASS);
	assert_string_equal(got.mechanism, "ip4:0.0.0.0/0");
	zone_txt("six.example", "v=spf1 ip6:::ffff:192.0.2.0/120 -all");
	assert_int_equal(check("192.0.2.1", "a@six.example"), SPF_FAIL);
	/* a: AAAA for an IPv6 client, with the IPv6 CIDR length. */
	zone_add("six.example", SPF_Q_A, "192.0.2.1");
	zone_add("six.example", SPF_Q_AAAA, "2001:db8::cb01");
	zone_txt("six.example", "v=spf1 a -all");
	assert_int_equal(check("2001:db8::cb01", "a@six.example"), SPF_PASS);
	assert_true(asked("AAAA six.example"));
	assert_int_equal(check("2001:db8::cb02", "a@six.example"), SPF_FAIL);
	zone_txt("six.example", "v=spf1 a/24//64 -all");
	assert_int_equal(check("2001:db8::ffff", "a@six.example"), SPF_PASS);
	assert_int_equal(check("192.0.2.200", "a@six.example"), SPF_PASS);
	assert_int_equal(check("2001:db8:0:1::1", "a@six.example"), SPF_FAIL);
	/* An IPv4-mapped client is IPv4: A lookups, ip4 terms (4.1). */
	zone_txt("six.example", "v=spf1 a -all");
	assert_int_equal(check("::ffff:192.0.2.1", "a@six.example"), SPF_PASS);
	assert_true(asked("A six.example"));
	assert_string_equal(got.received, "Received-SPF: pass (mx.example.net: "
	    "domain of a@six.example designates\r\n 192.0.2.1 as permitted "
	    "sender) client-ip=192.0.2.1;\r\n envelope-from=\"a@six.example\"; "
	    "helo=mx.example.net; receiver=mx.example.net;\r\n "
	    "identity=mailfrom; mechanism=a\r\n");
	/* mx: AAAA of the MX hosts; exists: always A. */
	zone_add("six.example", SPF_Q_MX, "10 mx.six.example");
	zone_add("mx.six.example", SPF_Q_AAAA, "2001:db8::25");
	zone_txt("six.example", "v=spf1 mx exists:e.six.example -all");
	assert_int_equal(check("2001:db8::25", "a@six.example"), SPF_PASS);
	assert_int_equal(check("2001:db8::26", "a@six.example"), SPF_FAIL);
	assert_true(asked("A e.six.example"));
	/* ptr: PTR in ip6.arpa, AAAA forward. */
	zone_add("2001:db8::25", SPF_Q_PTR, "mx.six.example");
	zone_txt("six.example", "v=spf1 ptr -all");
	assert_int_equal(check("2001:db8::25", "a@six.example"), SPF_PASS);
}

/* --- the API around the check ------------------------------------------- */

static void
never(void *arg, const struct spf_outcome *o)
{
	fail_msg("callback after cancel");
}

static void
test_cancel(void **state)
{
	struct spf_request r = { "192.0.2.1", "h.example", "a@c.example", NULL };
	struct spf *s;

	(void)state;
	zone_txt("c.example", "v=spf1 -all");
	s = spf_check(&resolver, &r, NOW, never, NULL);
	assert_non_null(s);
	assert_int_equal(in_flight, 1);
	spf_cancel(&s);
	assert_null(s);
	assert_int_equal(cancels, 1);
	assert_int_equal(in_flight, 0);
	assert_int_equal(event_base_dispatch(base), 1);
	/* A result found without DNS is cancelled too. */
	r.sender = "a@[192.0.2.1]";
	s = spf_check(&resolver, &r, NOW, never, NULL);
	spf_cancel(&s);
	assert_int_equal(event_base_dispatch(base), 1);
	spf_cancel(&s);		/* NULL: nothing */
}

static void
test_bad_request(void **state)
{
	struct spf_request r = { "192.0.2.300", "h.example", "a@c.example", NULL };
	struct spf_resolver nobase = resolver;

	(void)state;
	assert_null(spf_check(&resolver, &r, NOW, never, NULL));
	r.ip = "fe80::1%eth0";
	assert_null(spf_check(&resolver, &r, NOW, never, NULL));
	r.ip = NULL;
	assert_null(spf_check(&resolver, &r, NOW, never, NULL));
	r.ip = "192.0.2.1";
	nobase.base = NULL;
	assert_null(spf_check(&nobase, &r, NOW, never, NULL));
}

static void
test_result_names(void **state)
{
	enum spf_result r, back;

	(void)state;
	for (r = SPF_NONE; r <= SPF_PERMERROR; r++) {
		assert_int_equal(spf_result_parse(spf_result_name(r), &back), 0);
		assert_int_equal(back, r);
	}
	assert_string_equal(spf_result_name(SPF_SOFTFAIL), "softfail");
	assert_int_equal(spf_result_parse("Pass", &back), 0);
	assert_int_equal(back, SPF_PASS);
	assert_int_equal(spf_result_parse("passed", &back), -1);
	assert_int_equal(spf_result_parse("", &back), -1);
}

/* --- headers ------------------------------------------------------------ */

static void
test_header_received(void **state)
{
	(void)state;
	zone_txt("h.example", "v=spf1 ip4:192.0.2.0/24 -all");
	check3("192.0.2.1", "mail.h.example", "joe@h.example");
	assert_string_equal(got.received, "Received-SPF: pass (mx.example.net: "
	    "domain of joe@h.example designates\r\n 192.0.2.1 as permitted "
	    "sender) client-ip=192.0.2.1;\r\n envelope-from=\"joe@h.example\"; "
	    "helo=mail.h.example; receiver=mx.example.net;\r\n "
	    "identity=mailfrom; mechanism=\"ip4:192.0.2.0/24\"\r\n");
	assert_string_equal(got.authres, "spf=pass smtp.mailfrom=joe@h.example");
	check3("198.51.100.1", "mail.h.example", "joe@h.example");
	assert_string_equal(got.received, "Received-SPF: fail (mx.example.net: "
	    "domain of joe@h.example does not designate\r\n 198.51.100.1 as "
	    "permitted sender) client-ip=198.51.100.1;\r\n "
	    "envelope-from=\"joe@h.example\"; helo=mail.h.example; "
	    "receiver=mx.example.net;\r\n identity=mailfrom; mechanism=-all\r\n");
	check3("2001:db8::1", "mail.h.example", "joe@h.example");
	assert_string_equal(got.received, "Received-SPF: fail (mx.example.net: "
	    "domain of joe@h.example does not designate\r\n 2001:db8::1 as "
	    "permitted sender) client-ip=\"2001:db8::1\";\r\n "
	    "envelope-from=\"joe@h.example\"; helo=mail.h.example; "
	    "receiver=mx.example.net;\r\n identity=mailfrom; mechanism=-all\r\n");
	zone_txt("h.example", "v=spf1 ~all");
	check3("192.0.2.1", "mail.h.example", "joe@h.example");
	assert_non_null(strstr(got.received, "Received-SPF: softfail "
	    "(mx.example.net: transitioning domain of joe@h.example\r\n does "
	    "not designate 192.0.2.1 as permitted sender)"));
	zone_txt("h.example", "v=spf1 ?all");
	check3("192.0.2.1", "mail.h.example", "joe@h.example");
	assert_string_equal(got.received, "Received-SPF: neutral "
	    "(mx.example.net: 192.0.2.1 is neither permitted nor\r\n denied by "
	    "domain of joe@h.example) client-ip=192.0.2.1;\r\n "
	    "envelope-from=\"joe@h.example\"; helo=mail.h.example; "
	    "receiver=mx.example.net;\r\n identity=mailfrom; mechanism=?all\r\n");
	check3("192.0.2.1", "mail.h.example", "joe@none.example");
	assert_string_equal(got.received, "Received-SPF: none (mx.example.net: "
	    "domain of joe@none.example does not\r\n designate permitted "
	    "sender hosts) client-ip=192.0.2.1;\r\n "
	    "envelope-from=\"joe@none.example\"; helo=mail.h.example;\r\n "
	    "receiver=mx.example.net; identity=mailfrom\r\n");
	assert_string_equal(got.authres, "spf=none smtp.mailfrom=joe@none.example");
	zone_txt("h.example", "v=spf1 a:x");
	check3("192.0.2.1", "mail.h.example", "joe@h.example");
	assert_string_equal(got.received, "Received-SPF: permerror "
	    "(mx.example.net: permanent error in processing domain\r\n of "
	    "joe@h.example) client-ip=192.0.2.1; envelope-from=\"joe@h.example\";"
	    "\r\n helo=mail.h.example; receiver=mx.example.net; "
	    "identity=mailfrom;\r\n problem=\"invalid SPF record for "
	    "h.example\"\r\n");
	assert_string_equal(got.authres,
	    "spf=permerror smtp.mailfrom=joe@h.example");
	zone_add("h.example", SPF_Q_TXT, "SERVFAIL");
	check3("192.0.2.1", "mail.h.example", "joe@h.example");
	assert_non_null(strstr(got.received, "Received-SPF: temperror "
	    "(mx.example.net: temporary error in processing"));
}

/* No line of a header passes 998 bytes; CR and LF appear only as CRLF
 * followed by SP (folding) or at the very end. */
static void
assert_header_safe(const char *h)
{
	const char *p, *line = h;

	for (p = h; *p != '\0'; p++) {
		if (*p == '\n')
			fail_msg("bare LF in %s", h);
		if (*p != '\r')
			continue;
		if (p[1] != '\n' || (p[2] != ' ' && p[2] != '\0'))
			fail_msg("bad CR in %s", h);
		assert_true(p - line <= 998);
		line = p + 2;
		p++;
	}
}

static void
test_header_hostile(void **state)
{
	char huge[2000];
	struct buf b;
	struct spf_outcome o = {
		.result = SPF_FAIL, .identity = "mailfrom",
		.domain = "h.example", .sender = "\"x\r\nX-Evil: 1\"@h.example",
		.mechanism = "-all", .problem = NULL,
	};
	struct spf_request r = {
		"192.0.2.1", "bad\r\nhelo \"q\" (c) \\", o.sender, "mx(1)",
	};

	(void)state;
	buf_init(&b, 8192);
	assert_int_equal(spf_header_received(&b, &r, &o), 0);
	assert_header_safe(buf_cstr(&b));
	assert_string_equal(buf_cstr(&b), "Received-SPF: fail (mx\\(1\\): domain "
	    "of \"x??X-Evil:?1\"@h.example does not\r\n designate 192.0.2.1 as "
	    "permitted sender) client-ip=192.0.2.1;\r\n "
	    "envelope-from=\"\\\"x??X-Evil: 1\\\"@h.example\"; "
	    "helo=\"bad??helo \\\"q\\\" (c) \\\\\";\r\n receiver=\"mx(1)\"; "
	    "identity=mailfrom; mechanism=-all\r\n");
	buf_reset(&b);
	assert_int_equal(spf_header_authres(&b, &o), 0);
	assert_string_equal(buf_cstr(&b), "spf=fail smtp.mailfrom="
	    "\"\\\"x??X-Evil: 1\\\"@h.example\"");
	/* Huge values are cut; lines stay under 998. */
	memset(huge, 'a', sizeof(huge) - 1);
	huge[sizeof(huge) - 1] = '\0';
	o.sender = huge;
	o.problem = huge;
	o.mechanism = huge;
	r.helo = huge;
	r.receiver = huge;
	buf_reset(&b);
	assert_int_equal(spf_header_received(&b, &r, &o), 0);
	assert_header_safe(buf_cstr(&b));
	assert_true(b.len < 8192);
	buf_reset(&b);
	assert_int_equal(spf_header_authres(&b, &o), 0);
	assert_true(b.len < SPF_HEADER_VALUE_MAX + 40);
	/* A token stays plain; an address with a dot-atom local part too. */
	o.identity = "helo";
	o.domain = NULL;
	o.sender = "postmaster@";
	buf_reset(&b);
	assert_int_equal(spf_header_authres(&b, &o), 0);
	assert_string_equal(buf_cstr(&b), "spf=fail smtp.helo=\"\"");
	o.identity = "mailfrom";
	o.sender = "first.last+tag@sub.h.example";
	buf_reset(&b);
	assert_int_equal(spf_header_authres(&b, &o), 0);
	assert_string_equal(buf_cstr(&b),
	    "spf=fail smtp.mailfrom=first.last+tag@sub.h.example");
	buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_a1_all_and_a, setup),
		cmocka_unit_test_setup(test_a1_mx, setup),
		cmocka_unit_test_setup(test_a1_ptr_and_ip4, setup),
		cmocka_unit_test_setup(test_a2_multiple_domains, setup),
		cmocka_unit_test_setup(test_a3_dnsbl_style, setup),
		cmocka_unit_test_setup(test_a4_multiple_requirements, setup),
		cmocka_unit_test_setup(test_each_result, setup),
		cmocka_unit_test_setup(test_none, setup),
		cmocka_unit_test_setup(test_two_records, setup),
		cmocka_unit_test_setup(test_syntax_error_is_permerror, setup),
		cmocka_unit_test_setup(test_temperror, setup),
		cmocka_unit_test_setup(test_lookup_limit, setup),
		cmocka_unit_test_setup(test_void_limit, setup),
		cmocka_unit_test_setup(test_mx_limit, setup),
		cmocka_unit_test_setup(test_ptr_cap, setup),
		cmocka_unit_test_setup(test_redirect, setup),
		cmocka_unit_test_setup(test_include_results, setup),
		cmocka_unit_test_setup(test_invalid_target_no_match, setup),
		cmocka_unit_test_setup(test_exp, setup),
		cmocka_unit_test_setup(test_ptr_macro, setup),
		cmocka_unit_test_setup(test_helo_identity, setup),
		cmocka_unit_test_setup(test_sender_forms, setup),
		cmocka_unit_test_setup(test_ipv6, setup),
		cmocka_unit_test_setup(test_cancel, setup),
		cmocka_unit_test_setup(test_bad_request, setup),
		cmocka_unit_test_setup(test_result_names, setup),
		cmocka_unit_test_setup(test_header_received, setup),
		cmocka_unit_test_setup(test_header_hostile, setup),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
