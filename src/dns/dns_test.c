/*
 * Tests for dns/dns: the async API against a real DNS server on loopback.
 * The server is POSTERN_TEST_DNS ("127.0.0.1:port") when set, otherwise
 * tests/dns/dnsserver.py started here (run from the source root, as
 * `make unit` does). Only 127.0.0.1 is ever queried.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/limits.h"
#include "dns/dns.h"

static char	 server[64];
static pid_t	 server_pid = -1;
static int	 server_stdin = -1;

/* What a callback saw, copied out of the result. */
struct seen {
	int		calls;
	enum dns_rc	rc;
	size_t		n;
	char		text[4][300];	/* MX "pref host", TXT, PTR or address */
};

static int
start_server(void **state)
{
	const char *env = getenv("POSTERN_TEST_DNS");
	int in[2], out[2];
	char line[32] = "";
	FILE *f;

	(void)state;
	if (env != NULL) {
		snprintf(server, sizeof(server), "%s", env);
		return 0;
	}
	if (pipe(in) == -1 || pipe(out) == -1)
		return -1;
	if ((server_pid = fork()) == -1)
		return -1;
	if (server_pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		close(in[1]);
		close(out[0]);
		execl("/usr/bin/python3", "python3", "tests/dns/dnsserver.py",
		    (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	server_stdin = in[1];
	f = fdopen(out[0], "r");
	if (f == NULL || fgets(line, sizeof(line), f) == NULL)
		return -1;
	fclose(f);
	snprintf(server, sizeof(server), "127.0.0.1:%d", (int)strtol(line, NULL, 10));
	return 0;
}

static int
stop_server(void **state)
{
	(void)state;
	if (server_pid > 0) {
		close(server_stdin);	/* the server exits on EOF */
		waitpid(server_pid, NULL, 0);
	}
	return 0;
}

static void
on_result(void *arg, const struct dns_result *r)
{
	struct seen *s = arg;
	char a[INET6_ADDRSTRLEN];
	const void *ip;
	size_t i;

	s->calls++;
	s->rc = r->rc;
	s->n = r->nmx + r->naddr + r->ntxt + r->nnames;
	for (i = 0; i < s->n && i < 4; i++) {
		if (r->nmx > 0)
			snprintf(s->text[i], sizeof(s->text[i]), "%u %s",
			    r->mx[i].pref, r->mx[i].host);
		else if (r->ntxt > 0)
			snprintf(s->text[i], sizeof(s->text[i]), "%s", r->txt[i]);
		else if (r->nnames > 0)
			snprintf(s->text[i], sizeof(s->text[i]), "%s", r->names[i]);
		else {
			ip = r->addr[i].ss_family == AF_INET ?
			    (const void *)&((const struct sockaddr_in *)&r->addr[i])->sin_addr :
			    (const void *)&((const struct sockaddr_in6 *)&r->addr[i])->sin6_addr;
			inet_ntop(r->addr[i].ss_family, ip, a, sizeof(a));
			snprintf(s->text[i], sizeof(s->text[i]), "%s", a);
		}
	}
}

/* Run the loop until *calls is set; each dns lookup has its own
 * DNS_QUERY_TIMEOUT_SEC timer, so every turn of the loop ends. */
static void
run_until(struct event_base *base, const int *calls)
{
	time_t deadline = time(NULL) + DNS_QUERY_TIMEOUT_SEC + 3;

	while (*calls == 0 && time(NULL) < deadline)
		if (event_base_loop(base, EVLOOP_ONCE) == 1)
			break;		/* nothing pending any more */
}

static struct dns *
new_dns(struct event_base *base)
{
	char *v[1] = { server };
	struct cfg_strlist servers = { v, 1 };
	char err[256];
	struct dns *d = dns_new(base, &servers, err, sizeof(err));

	if (d == NULL)
		fail_msg("dns_new: %s", err);
	return d;
}

enum qtype { Q_MX, Q_A, Q_AAAA, Q_TXT };

/* One lookup on a fresh loop; returns what the callback saw. */
static struct seen
lookup(enum qtype t, const char *name)
{
	struct event_base *base = event_base_new();
	struct dns *d = new_dns(base);
	struct seen s;
	int rc = -1;

	memset(&s, 0, sizeof(s));
	switch (t) {
	case Q_MX: rc = dns_query_mx(d, name, on_result, &s); break;
	case Q_A: rc = dns_query_a(d, name, on_result, &s); break;
	case Q_AAAA: rc = dns_query_aaaa(d, name, on_result, &s); break;
	case Q_TXT: rc = dns_query_txt(d, name, on_result, &s); break;
	}
	assert_int_equal(rc, 0);
	assert_int_equal(s.calls, 0);	/* never inside the call */
	run_until(base, &s.calls);
	dns_free(&d);
	assert_null(d);
	event_base_free(base);
	assert_int_equal(s.calls, 1);
	return s;
}

static void
test_mx_in_answer_order(void **state)
{
	struct seen s = lookup(Q_MX, "example.net");

	(void)state;
	assert_int_equal(s.rc, DNS_OK);
	assert_int_equal(s.n, 2);
	/* Unbound may rotate an RRset: either order, never re-sorted. */
	if (strcmp(s.text[0], "10 mx1.example.net") == 0)
		assert_string_equal(s.text[1], "20 mx2.example.net");
	else {
		assert_string_equal(s.text[0], "20 mx2.example.net");
		assert_string_equal(s.text[1], "10 mx1.example.net");
	}
}

static void
test_a_and_aaaa(void **state)
{
	struct seen s = lookup(Q_A, "mx1.example.net");

	(void)state;
	assert_int_equal(s.rc, DNS_OK);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.text[0], "127.0.0.1");
	s = lookup(Q_AAAA, "mx2.example.net");
	assert_int_equal(s.rc, DNS_OK);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.text[0], "::1");
}

static void
test_txt_strings_joined(void **state)
{
	struct seen s = lookup(Q_TXT, "txt.example");

	(void)state;
	assert_int_equal(s.rc, DNS_OK);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.text[0], "v=spf1 -all");
}

static void
test_ptr(void **state)
{
	struct event_base *base = event_base_new();
	struct dns *d = new_dns(base);
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct seen s;

	(void)state;
	memset(&s, 0, sizeof(s));
	inet_pton(AF_INET, "1.2.3.4", &sin.sin_addr);
	assert_int_equal(dns_query_ptr(d, (struct sockaddr *)&sin, on_result, &s), 0);
	run_until(base, &s.calls);
	dns_free(&d);
	event_base_free(base);
	assert_int_equal(s.calls, 1);
	assert_int_equal(s.rc, DNS_OK);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.text[0], "mx1.example.net");
}

static void
test_null_mx(void **state)
{
	struct seen s = lookup(Q_MX, "nullmx.example");

	(void)state;
	assert_int_equal(s.rc, DNS_OK);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.text[0], "0 ");
}

static void
test_nxdomain_nodata_servfail(void **state)
{
	(void)state;
	assert_int_equal(lookup(Q_MX, "nonexistent.example").rc, DNS_NXDOMAIN);
	assert_int_equal(lookup(Q_MX, "mx1.example.net").rc, DNS_NODATA);
	assert_int_equal(lookup(Q_AAAA, "mx1.example.net").rc, DNS_NODATA);
	assert_int_equal(lookup(Q_A, "servfail.example").rc, DNS_TEMPFAIL);
}

static void
test_silent_server_is_tempfail_in_time(void **state)
{
	time_t t0 = time(NULL);
	struct seen s = lookup(Q_A, "timeout.example");

	(void)state;
	assert_int_equal(s.rc, DNS_TEMPFAIL);
	assert_true(time(NULL) - t0 <= DNS_QUERY_TIMEOUT_SEC + 1);
}

/* A callback that chains a lookup (MX, then A), as the queue manager will,
 * and one that frees the dns while other answers are pending. */
struct chain {
	struct dns	*d;
	struct seen	 mx, a;
};

static void
on_chain_a(void *arg, const struct dns_result *r)
{
	struct chain *c = arg;

	on_result(&c->a, r);
	dns_free(&c->d);	/* from inside a callback */
}

static void
on_chain_mx(void *arg, const struct dns_result *r)
{
	struct chain *c = arg;

	on_result(&c->mx, r);
	assert_int_equal(dns_query_a(c->d, "mx1.example.net", on_chain_a, c), 0);
	/* Still pending when on_chain_a frees: must never be called. */
	assert_int_equal(dns_query_a(c->d, "timeout.example", on_result, NULL), 0);
}

static void
test_chained_lookup_and_free_in_callback(void **state)
{
	struct event_base *base = event_base_new();
	struct chain c;

	(void)state;
	memset(&c, 0, sizeof(c));
	c.d = new_dns(base);
	assert_int_equal(dns_query_mx(c.d, "example.net", on_chain_mx, &c), 0);
	run_until(base, &c.a.calls);
	event_base_free(base);
	assert_null(c.d);
	assert_int_equal(c.mx.calls, 1);
	assert_int_equal(c.a.calls, 1);
	assert_int_equal(c.a.rc, DNS_OK);
	assert_string_equal(c.a.text[0], "127.0.0.1");
}

/* Cancelled lookups never call back; others with another arg still do. */
static void
test_cancel(void **state)
{
	struct event_base *base = event_base_new();
	struct dns *d = new_dns(base);
	struct seen gone, kept;

	(void)state;
	memset(&gone, 0, sizeof(gone));
	memset(&kept, 0, sizeof(kept));
	assert_int_equal(dns_query_a(d, "mx1.example.net", on_result, &gone), 0);
	assert_int_equal(dns_query_mx(d, "example.net", on_result, &gone), 0);
	assert_int_equal(dns_query_a(d, "mx1.example.net", on_result, &kept), 0);
	dns_cancel(d, &gone);
	dns_cancel(d, &gone);	/* nothing left: harmless */
	run_until(base, &kept.calls);
	/* Answers to the cancelled queries had time to arrive too. */
	for (int i = 0; i < 20; i++)
		event_base_loop(base, EVLOOP_NONBLOCK);
	dns_free(&d);
	event_base_free(base);
	assert_int_equal(gone.calls, 0);
	assert_int_equal(kept.calls, 1);
	assert_int_equal(kept.rc, DNS_OK);
}

static void
test_bad_input(void **state)
{
	struct event_base *base = event_base_new();
	char *bad[1] = { "127.0.0.1:99999" }, *v6[1] = { "[::1]:5353" };
	struct cfg_strlist servers = { bad, 1 };
	struct dns *d;
	char err[256], longname[300];

	(void)state;
	assert_null(dns_new(base, &servers, err, sizeof(err)));
	assert_non_null(strstr(err, "127.0.0.1:99999"));
	servers.v = v6;
	d = dns_new(base, &servers, err, sizeof(err));
	assert_non_null(d);
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(dns_query_a(d, longname, on_result, NULL), -1);
	assert_int_equal(dns_query_a(d, "", on_result, NULL), -1);
	dns_free(&d);
	event_base_free(base);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mx_in_answer_order),
		cmocka_unit_test(test_a_and_aaaa),
		cmocka_unit_test(test_txt_strings_joined),
		cmocka_unit_test(test_ptr),
		cmocka_unit_test(test_null_mx),
		cmocka_unit_test(test_nxdomain_nodata_servfail),
		cmocka_unit_test(test_silent_server_is_tempfail_in_time),
		cmocka_unit_test(test_chained_lookup_and_free_in_callback),
		cmocka_unit_test(test_cancel),
		cmocka_unit_test(test_bad_input),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, start_server, stop_server);
}
