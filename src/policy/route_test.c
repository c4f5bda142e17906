/*
 * Unit tests for policy/route: users, alias fan-out to local and remote
 * targets, remote and unknown recipients, disabled users, postmaster
 * without a user, the catch-all with and without the allow_catch_all lock,
 * the alias depth limit (at max and max + 1), loops, and one target per
 * mailbox; forwards (replacing or keeping the local copy, chains, loops,
 * forwards that lead nowhere, the depth limit). Each test gets a fresh directory in a temp dir and a config
 * from config_defaults().
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"
#include "core/limits.h"
#include "directory/directory.h"
#include "policy/route.h"

#define FAKE_HASH	"$y$j9T$notarealsalt$notarealhashnotarealhashnotarealhas"

struct fixture {
	char			 dir[64];
	char			 path[96];
	struct directory	*d;
	struct config		 cfg;
	struct route_result	 r;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const char *err = NULL;

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/postern-route-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/postern.db", f->dir);
	assert_int_equal(directory_open(f->path, &f->d, &err), 0);
	config_defaults(&f->cfg);
	free(f->cfg.hostname);
	f->cfg.hostname = strdup("mx.example.org");
	assert_int_equal(directory_domain_add(f->d, "example.org", &err), 0);
	assert_int_equal(directory_user_add(f->d, "alice@example.org", FAKE_HASH, &err), 0);
	assert_int_equal(directory_user_add(f->d, "bob@example.org", FAKE_HASH, &err), 0);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	char p[128];

	route_result_clear(&f->r);
	directory_close(&f->d);
	config_free(&f->cfg);
	unlink(f->path);
	snprintf(p, sizeof(p), "%s-wal", f->path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", f->path);
	unlink(p);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* ---- helpers ------------------------------------------------------------ */

static void
add_domain(struct fixture *f, const char *name)
{
	const char *err = NULL;

	assert_int_equal(directory_domain_add(f->d, name, &err), 0);
}

static void
add_user(struct fixture *f, const char *addr)
{
	const char *err = NULL;

	assert_int_equal(directory_user_add(f->d, addr, FAKE_HASH, &err), 0);
}

static void
set_user(struct fixture *f, const char *addr, const char *key, const char *value)
{
	const char *err = NULL;

	assert_int_equal(directory_user_set(f->d, addr, key, value, &err), 0);
}

/* alias_add(f, "info@example.org", "a@...", "b@...", NULL) */
static void
alias_add(struct fixture *f, const char *alias, ...)
{
	char *targets[ALIAS_TARGETS_MAX];
	const char *err = NULL;
	size_t n = 0;
	va_list ap;
	char *t;

	va_start(ap, alias);
	while ((t = va_arg(ap, char *)) != NULL && n < ALIAS_TARGETS_MAX)
		targets[n++] = t;
	va_end(ap);
	if (directory_alias_add(f->d, alias, targets, n, &err) != 0)
		fail_msg("alias_add %s: %s", alias, err);
}

static void
set_catch_all(struct fixture *f, const char *value)
{
	const char *err = NULL;
	bool saved = f->cfg.allow_catch_all;

	f->cfg.allow_catch_all = true;
	if (directory_domain_set(f->d, &f->cfg, "example.org", "catch_all", value, &err) != 0)
		fail_msg("catch_all=%s: %s", value, err);
	f->cfg.allow_catch_all = saved;
}

static enum route_rc
route(struct fixture *f, const char *local, const char *domain)
{
	route_result_clear(&f->r);
	return route_rcpt(f->d, &f->cfg, local, domain, &f->r);
}

/* The result holds exactly these targets, in this order. "L:" / "R:"
 * prefixes give the kind. */
static void
targets_are(struct fixture *f, ...)
{
	const char *want;
	size_t i = 0;
	va_list ap;

	va_start(ap, f);
	while ((want = va_arg(ap, const char *)) != NULL) {
		if (i >= f->r.n)
			fail_msg("only %zu targets, wanted more (next %s)", f->r.n, want);
		assert_int_equal(f->r.v[i].kind, want[0] == 'L' ? QKIND_LOCAL : QKIND_REMOTE);
		assert_string_equal(f->r.v[i].key, want + 2);
		i++;
	}
	va_end(ap);
	assert_int_equal(f->r.n, i);
}

static void
no_targets(struct fixture *f)
{
	assert_int_equal(f->r.n, 0);
	assert_null(f->r.v);
}

/* ---- tests -------------------------------------------------------------- */

static void
test_user(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(route(f, "bob", "example.org"), ROUTE_OK);
	targets_are(f, "L:bob@example.org", NULL);
	assert_string_equal(f->r.v[0].domain, "example.org");
	assert_int_equal(f->r.v[0].quota, 0);
}

static void
test_user_local_part_any_case(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(route(f, "BoB", "example.org"), ROUTE_OK);
	targets_are(f, "L:bob@example.org", NULL);
}

static void
test_user_quota_is_carried(void **state)
{
	struct fixture *f = *state;

	set_user(f, "bob@example.org", "quota", "2K");
	assert_int_equal(route(f, "bob", "example.org"), ROUTE_OK);
	assert_int_equal(f->r.v[0].quota, 2048);
}

static void
test_remote(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(route(f, "friend", "example.net"), ROUTE_REMOTE);
	no_targets(f);
	assert_int_equal(route(f, "bob", "[192.0.2.1]"), ROUTE_REMOTE);
	assert_int_equal(route(f, "bob", "[IPv6:2001:db8::1]"), ROUTE_REMOTE);
	/* A subdomain of a local domain is not local. */
	assert_int_equal(route(f, "bob", "sub.example.org"), ROUTE_REMOTE);
}

static void
test_unknown(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(route(f, "nobody", "example.org"), ROUTE_UNKNOWN);
	no_targets(f);
}

static void
test_disabled(void **state)
{
	struct fixture *f = *state;

	set_user(f, "bob@example.org", "enabled", "false");
	assert_int_equal(route(f, "bob", "example.org"), ROUTE_DISABLED);
	no_targets(f);
	set_user(f, "bob@example.org", "enabled", "true");
	assert_int_equal(route(f, "bob", "example.org"), ROUTE_OK);
}

static void
test_alias_fan_out(void **state)
{
	struct fixture *f = *state;

	add_domain(f, "example.com");
	add_user(f, "carol@example.com");
	alias_add(f, "team@example.org", "bob@example.org", "Carol@Example.com",
	    "friend@example.net", "alice@example.org", NULL);
	assert_int_equal(route(f, "team", "example.org"), ROUTE_OK);
	targets_are(f, "L:bob@example.org", "L:carol@example.com", "R:friend@example.net",
	    "L:alice@example.org", NULL);
	assert_string_equal(f->r.v[1].domain, "example.com");
	assert_string_equal(f->r.v[2].domain, "example.net");
}

static void
test_alias_to_remote_only(void **state)
{
	struct fixture *f = *state;

	alias_add(f, "fwd@example.org", "someone@example.net", NULL);
	assert_int_equal(route(f, "fwd", "example.org"), ROUTE_OK);
	targets_are(f, "R:someone@example.net", NULL);
}

static void
test_alias_skips_unknown_and_disabled_targets(void **state)
{
	struct fixture *f = *state;

	set_user(f, "alice@example.org", "enabled", "false");
	alias_add(f, "team@example.org", "ghost@example.org", "alice@example.org",
	    "bob@example.org", NULL);
	assert_int_equal(route(f, "team", "example.org"), ROUTE_OK);
	targets_are(f, "L:bob@example.org", NULL);
}

static void
test_alias_with_no_deliverable_target(void **state)
{
	struct fixture *f = *state;

	set_user(f, "alice@example.org", "enabled", "false");
	alias_add(f, "dead@example.org", "ghost@example.org", "alice@example.org", NULL);
	assert_int_not_equal(route(f, "dead", "example.org"), ROUTE_OK);
	no_targets(f);
}

static void
test_alias_chain_at_depth_limit(void **state)
{
	struct fixture *f = *state;
	char a[64], b[64];

	/* hop0 -> hop1 -> ... -> hop{MAX-1} -> bob: MAX aliases deep. */
	for (int i = 0; i < ALIAS_DEPTH_MAX; i++) {
		snprintf(a, sizeof(a), "hop%d@example.org", i);
		if (i + 1 < ALIAS_DEPTH_MAX)
			snprintf(b, sizeof(b), "hop%d@example.org", i + 1);
		else
			snprintf(b, sizeof(b), "bob@example.org");
		alias_add(f, a, b, NULL);
	}
	assert_int_equal(route(f, "hop0", "example.org"), ROUTE_OK);
	targets_are(f, "L:bob@example.org", NULL);
	/* One alias more in front: MAX + 1 deep, not followed. */
	alias_add(f, "front@example.org", "hop0@example.org", NULL);
	assert_int_equal(route(f, "front", "example.org"), ROUTE_UNKNOWN);
	no_targets(f);
}

static void
test_alias_loop_ends(void **state)
{
	struct fixture *f = *state;

	alias_add(f, "a@example.org", "b@example.org", NULL);
	alias_add(f, "b@example.org", "a@example.org", NULL);
	assert_int_equal(route(f, "a", "example.org"), ROUTE_UNKNOWN);
	no_targets(f);
	/* A loop beside a real target: the target still gets it, once. */
	alias_add(f, "a@example.org", "bob@example.org", NULL);
	assert_int_equal(route(f, "a", "example.org"), ROUTE_OK);
	targets_are(f, "L:bob@example.org", NULL);
	assert_int_equal(route(f, "b", "example.org"), ROUTE_OK);
	targets_are(f, "L:bob@example.org", NULL);
}

static void
test_alias_fan_out_is_bounded(void **state)
{
	struct fixture *f = *state;
	char *t[ALIAS_TARGETS_MAX], name[64];
	const char *err = NULL;

	/* Two aliases of 100 remote targets each, behind one alias: the walk
	 * stops at ALIAS_TARGETS_MAX addresses in all. */
	for (int k = 0; k < 2; k++) {
		for (int i = 0; i < ALIAS_TARGETS_MAX; i++) {
			t[i] = malloc(64);
			assert_non_null(t[i]);
			snprintf(t[i], 64, "r%d-%d@example.net", k, i);
		}
		snprintf(name, sizeof(name), "list%d@example.org", k);
		assert_int_equal(directory_alias_add(f->d, name, t, ALIAS_TARGETS_MAX, &err), 0);
		for (int i = 0; i < ALIAS_TARGETS_MAX; i++)
			free(t[i]);
	}
	assert_int_equal(route(f, "list0", "example.org"), ROUTE_OK);
	assert_int_equal(f->r.n, ALIAS_TARGETS_MAX);
	alias_add(f, "all@example.org", "list0@example.org", "list1@example.org", NULL);
	assert_int_equal(route(f, "all", "example.org"), ROUTE_OK);
	assert_true(f->r.n > 0);
	assert_true(f->r.n <= ALIAS_TARGETS_MAX);
}

static void
test_dedupe_one_target_per_mailbox(void **state)
{
	struct fixture *f = *state;

	alias_add(f, "x@example.org", "bob@example.org", NULL);
	alias_add(f, "y@example.org", "Bob@Example.org", "alice@example.org", NULL);
	alias_add(f, "both@example.org", "x@example.org", "bob@example.org",
	    "y@example.org", "friend@example.net", "FRIEND@example.net", NULL);
	assert_int_equal(route(f, "both", "example.org"), ROUTE_OK);
	targets_are(f, "L:bob@example.org", "L:alice@example.org", "R:friend@example.net",
	    NULL);
}

static void
test_postmaster_without_user(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(route(f, "postmaster", "example.org"), ROUTE_OK);
	targets_are(f, "L:postmaster@example.org", NULL);
	assert_int_equal(route(f, "PostMaster", "example.org"), ROUTE_OK);
	targets_are(f, "L:postmaster@example.org", NULL);
	/* Not ours: a remote postmaster. */
	assert_int_equal(route(f, "postmaster", "example.net"), ROUTE_REMOTE);
}

static void
test_postmaster_without_domain(void **state)
{
	struct fixture *f = *state;

	/* RCPT TO:<Postmaster> */
	assert_int_equal(route(f, "postmaster", ""), ROUTE_OK);
	targets_are(f, "L:postmaster@mx.example.org", NULL);
}

static void
test_postmaster_alias_and_user(void **state)
{
	struct fixture *f = *state;

	alias_add(f, "postmaster@example.org", "alice@example.org", NULL);
	assert_int_equal(route(f, "postmaster", "example.org"), ROUTE_OK);
	targets_are(f, "L:alice@example.org", NULL);
	add_domain(f, "example.com");
	add_user(f, "postmaster@example.com");
	assert_int_equal(route(f, "postmaster", "example.com"), ROUTE_OK);
	targets_are(f, "L:postmaster@example.com", NULL);
}

static void
test_catch_all_with_lock_open(void **state)
{
	struct fixture *f = *state;

	set_catch_all(f, "bob@example.org");
	f->cfg.allow_catch_all = true;
	assert_int_equal(route(f, "unknown", "example.org"), ROUTE_OK);
	targets_are(f, "L:bob@example.org", NULL);
	/* Known users keep their own mail. */
	assert_int_equal(route(f, "alice", "example.org"), ROUTE_OK);
	targets_are(f, "L:alice@example.org", NULL);
	/* Other domains are not caught. */
	add_domain(f, "example.com");
	assert_int_equal(route(f, "unknown", "example.com"), ROUTE_UNKNOWN);
}

static void
test_catch_all_with_lock_closed(void **state)
{
	struct fixture *f = *state;
	const char *err = NULL;

	/* The setting is refused while locked... */
	assert_int_equal(directory_domain_set(f->d, &f->cfg, "example.org", "catch_all",
	    "bob@example.org", &err), -1);
	/* ...and one stored while it was open has no effect once it closes. */
	set_catch_all(f, "bob@example.org");
	f->cfg.allow_catch_all = false;
	assert_int_equal(route(f, "unknown", "example.org"), ROUTE_UNKNOWN);
	no_targets(f);
}

static void
test_catch_all_from_domain_defaults(void **state)
{
	struct fixture *f = *state;

	free(f->cfg.domain_defaults.catch_all);
	f->cfg.domain_defaults.catch_all = strdup("alice@example.org");
	f->cfg.allow_catch_all = true;
	assert_int_equal(route(f, "whoever", "example.org"), ROUTE_OK);
	targets_are(f, "L:alice@example.org", NULL);
	/* An explicit "" on the domain turns it off there. */
	set_catch_all(f, "");
	assert_int_equal(route(f, "whoever", "example.org"), ROUTE_UNKNOWN);
}

static void
test_catch_all_to_alias_and_remote(void **state)
{
	struct fixture *f = *state;

	f->cfg.allow_catch_all = true;
	alias_add(f, "inbox@example.org", "alice@example.org", "bob@example.org", NULL);
	set_catch_all(f, "inbox@example.org");
	assert_int_equal(route(f, "unknown", "example.org"), ROUTE_OK);
	targets_are(f, "L:alice@example.org", "L:bob@example.org", NULL);
	set_catch_all(f, "collector@example.net");
	assert_int_equal(route(f, "unknown", "example.org"), ROUTE_OK);
	targets_are(f, "R:collector@example.net", NULL);
}

static void
test_catch_all_does_not_take_disabled_users_mail(void **state)
{
	struct fixture *f = *state;

	f->cfg.allow_catch_all = true;
	set_catch_all(f, "alice@example.org");
	set_user(f, "bob@example.org", "enabled", "false");
	assert_int_equal(route(f, "bob", "example.org"), ROUTE_DISABLED);
	no_targets(f);
}

static void
test_catch_all_to_missing_mailbox(void **state)
{
	struct fixture *f = *state;

	f->cfg.allow_catch_all = true;
	set_catch_all(f, "gone@example.org");
	assert_int_equal(route(f, "unknown", "example.org"), ROUTE_UNKNOWN);
	no_targets(f);
}

static void
test_verify_recipients_off_accepts_unknown(void **state)
{
	struct fixture *f = *state;

	f->cfg.checks.verify_recipients = false;
	assert_int_equal(route(f, "Nobody", "example.org"), ROUTE_OK);
	targets_are(f, "L:nobody@example.org", NULL);
	/* Disabled users stay refused. */
	set_user(f, "bob@example.org", "enabled", "false");
	assert_int_equal(route(f, "bob", "example.org"), ROUTE_DISABLED);
}

static void
test_removed_domain_is_remote(void **state)
{
	struct fixture *f = *state;
	const char *err = NULL;

	assert_int_equal(directory_domain_remove(f->d, "example.org", &err), 0);
	assert_int_equal(route(f, "bob", "example.org"), ROUTE_REMOTE);
	assert_int_equal(route(f, "postmaster", "example.org"), ROUTE_REMOTE);
}

static void
test_domain_is_local(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(route_domain_is_local(f->d, "example.org"), DIR_FOUND);
	assert_int_equal(route_domain_is_local(f->d, "example.net"), DIR_ABSENT);
	assert_int_equal(route_domain_is_local(f->d, ""), DIR_ABSENT);
	assert_int_equal(route_domain_is_local(f->d, "[192.0.2.1]"), DIR_ABSENT);
}

/* ---- forwards ----------------------------------------------------------- */

static void
set_forward(struct fixture *f, const char *user, const char *to, bool keep)
{
	set_user(f, user, "forward", to);
	set_user(f, user, "forward_keep", keep ? "true" : "false");
}

static void
test_forward_replaces_local_copy(void **state)
{
	struct fixture *f = *state;

	set_forward(f, "bob@example.org", "Bob@Example.NET", false);
	assert_int_equal(route(f, "bob", "example.org"), ROUTE_OK);
	targets_are(f, "R:bob@example.net", NULL);
	set_forward(f, "bob@example.org", "alice@example.org", false);
	assert_int_equal(route(f, "bob", "example.org"), ROUTE_OK);
	targets_are(f, "L:alice@example.org", NULL);
}

static void
test_forward_keep_adds_local_copy(void **state)
{
	struct fixture *f = *state;

	set_forward(f, "bob@example.org", "bob@example.net", true);
	assert_int_equal(route(f, "bob", "example.org"), ROUTE_OK);
	targets_are(f, "L:bob@example.org", "R:bob@example.net", NULL);
	set_forward(f, "bob@example.org", "alice@example.org", true);
	assert_int_equal(route(f, "bob", "example.org"), ROUTE_OK);
	targets_are(f, "L:bob@example.org", "L:alice@example.org", NULL);
	/* forward_keep without a forward is plain local delivery. */
	set_forward(f, "bob@example.org", "", true);
	assert_int_equal(route(f, "bob", "example.org"), ROUTE_OK);
	targets_are(f, "L:bob@example.org", NULL);
}

static void
test_forward_chains_and_aliases(void **state)
{
	struct fixture *f = *state;

	add_user(f, "carol@example.org");
	set_forward(f, "bob@example.org", "carol@example.org", false);
	set_forward(f, "carol@example.org", "carol@example.net", false);
	assert_int_equal(route(f, "bob", "example.org"), ROUTE_OK);
	targets_are(f, "R:carol@example.net", NULL);
	/* Through an alias, and to an alias. */
	alias_add(f, "info@example.org", "bob@example.org", "alice@example.org", NULL);
	assert_int_equal(route(f, "info", "example.org"), ROUTE_OK);
	targets_are(f, "R:carol@example.net", "L:alice@example.org", NULL);
	set_forward(f, "alice@example.org", "info@example.org", false);
	assert_int_equal(route(f, "alice", "example.org"), ROUTE_OK);
	/* info -> bob -> carol -> remote; info -> alice, who is forwarding
	 * on this path already: the loop closes in her mailbox. */
	targets_are(f, "R:carol@example.net", "L:alice@example.org", NULL);
}

/* A forward that leads nowhere leaves the mail with the user. */
static void
test_forward_nowhere_keeps_it(void **state)
{
	struct fixture *f = *state;

	set_forward(f, "bob@example.org", "nobody@example.org", false);
	assert_int_equal(route(f, "bob", "example.org"), ROUTE_OK);
	targets_are(f, "L:bob@example.org", NULL);
	set_forward(f, "bob@example.org", "alice@example.org", false);
	set_user(f, "alice@example.org", "enabled", "false");
	assert_int_equal(route(f, "bob", "example.org"), ROUTE_OK);
	targets_are(f, "L:bob@example.org", NULL);
	/* A disabled user neither receives nor forwards. */
	set_user(f, "bob@example.org", "enabled", "false");
	assert_int_equal(route(f, "bob", "example.org"), ROUTE_DISABLED);
	no_targets(f);
}

static void
test_forward_loop_ends_where_it_began(void **state)
{
	struct fixture *f = *state;

	set_forward(f, "alice@example.org", "bob@example.org", false);
	set_forward(f, "bob@example.org", "alice@example.org", false);
	assert_int_equal(route(f, "alice", "example.org"), ROUTE_OK);
	targets_are(f, "L:alice@example.org", NULL);
	assert_int_equal(route(f, "bob", "example.org"), ROUTE_OK);
	targets_are(f, "L:bob@example.org", NULL);
	/* With forward_keep on one side, each copy once. */
	set_forward(f, "bob@example.org", "alice@example.org", true);
	assert_int_equal(route(f, "alice", "example.org"), ROUTE_OK);
	targets_are(f, "L:bob@example.org", "L:alice@example.org", NULL);
}

/* u0 -> u1 -> ... -> u8 -> far@example.net: from u1 the remote address is
 * at the depth limit and reached; from u0 it is one past, and the mail
 * stays with u8. */
static void
test_forward_chain_at_depth_limit(void **state)
{
	struct fixture *f = *state;
	char name[32], next[32];

	for (int i = 0; i <= ALIAS_DEPTH_MAX; i++) {
		snprintf(name, sizeof(name), "u%d@example.org", i);
		add_user(f, name);
		snprintf(next, sizeof(next), "u%d@example.org", i + 1);
		set_forward(f, name, i < ALIAS_DEPTH_MAX ? next : "far@example.net", false);
	}
	assert_int_equal(route(f, "u1", "example.org"), ROUTE_OK);
	targets_are(f, "R:far@example.net", NULL);
	assert_int_equal(route(f, "u0", "example.org"), ROUTE_OK);
	targets_are(f, "L:u8@example.org", NULL);
}

static void
targets_collect(void *arg, enum queue_kind kind, const char *key,
    uint64_t quota)
{
	struct buf *b = arg;

	buf_printf(b, "%c:%s:%llu;", (char)kind, key, (unsigned long long)quota);
}

static void
test_targets_each(void **state)
{
	static const char good[] = "L\ta@example.org\t100\nR\tb@x.example\t0\n";
	static const char bad[] = "L\ta@example.org\t5\nX\tb\t0\nL\tc@example.org\t0\n";
	struct buf b;

	(void)state;
	buf_init(&b, 1024);
	assert_int_equal(route_targets_each(good, sizeof(good) - 1, 10,
	    targets_collect, &b), 2);
	assert_string_equal(buf_cstr(&b), "L:a@example.org:100;R:b@x.example:0;");
	buf_reset(&b);
	/* the first malformed line ends the walk; max bounds it */
	assert_int_equal(route_targets_each(bad, sizeof(bad) - 1, 10,
	    targets_collect, &b), 1);
	assert_int_equal(route_targets_each(good, sizeof(good) - 1, 1,
	    targets_collect, &b), 1);
	/* no final LF, empty key, empty input */
	assert_int_equal(route_targets_each("L\ta\t1", 6, 10, targets_collect, &b), 0);
	assert_int_equal(route_targets_each("L\t\t1\n", 5, 10, targets_collect, &b), 0);
	assert_int_equal(route_targets_each("", 0, 10, targets_collect, &b), 0);
	buf_free(&b);
}

int
main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_targets_each),
		T(test_forward_replaces_local_copy),
		T(test_forward_keep_adds_local_copy),
		T(test_forward_chains_and_aliases),
		T(test_forward_nowhere_keeps_it),
		T(test_forward_loop_ends_where_it_began),
		T(test_forward_chain_at_depth_limit),
		T(test_user),
		T(test_user_local_part_any_case),
		T(test_user_quota_is_carried),
		T(test_remote),
		T(test_unknown),
		T(test_disabled),
		T(test_alias_fan_out),
		T(test_alias_to_remote_only),
		T(test_alias_skips_unknown_and_disabled_targets),
		T(test_alias_with_no_deliverable_target),
		T(test_alias_chain_at_depth_limit),
		T(test_alias_loop_ends),
		T(test_alias_fan_out_is_bounded),
		T(test_dedupe_one_target_per_mailbox),
		T(test_postmaster_without_user),
		T(test_postmaster_without_domain),
		T(test_postmaster_alias_and_user),
		T(test_catch_all_with_lock_open),
		T(test_catch_all_with_lock_closed),
		T(test_catch_all_from_domain_defaults),
		T(test_catch_all_to_alias_and_remote),
		T(test_catch_all_does_not_take_disabled_users_mail),
		T(test_catch_all_to_missing_mailbox),
		T(test_verify_recipients_off_accepts_unknown),
		T(test_removed_domain_is_remote),
		T(test_domain_is_local),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
