/*
 * Unit tests for directory/: schema creation and migration, domains and
 * their overrides, users, aliases, access lists, login bookkeeping and the
 * normalization of names; the bounces policy and the auto-reply claim
 * (policy, once per sender per 7 days with an injected "now"). Each test gets a fresh database in a temp dir.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/limits.h"
#include "directory/directory.h"

struct fixture {
	char			 dir[64];
	char			 path[96];
	struct directory	*d;
	struct config		 cfg;
};

static void
fixture_cfg(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->allow_catch_all = false;
	cfg->domain_defaults.require_auth = true;
	cfg->domain_defaults.catch_all = (char *)"";
	cfg->domain_defaults.bounces = POLICY_REQUIRE_SPF;
	cfg->domain_defaults.autoresponders = POLICY_REQUIRE_SPF;
	cfg->domain_defaults.max_message_size = 25ULL << 20;
}

/* The temp dir and database path, without opening. */
static struct fixture *
fixture_new(void)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/postern-dir-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/postern.db", f->dir);
	fixture_cfg(&f->cfg);
	return f;
}

static int
setup(void **state)
{
	struct fixture *f = fixture_new();
	const char *err = NULL;

	assert_int_equal(directory_open(f->path, &f->d, &err), 0);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	char p[128];

	directory_close(&f->d);
	unlink(f->path);
	snprintf(p, sizeof(p), "%s-wal", f->path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", f->path);
	unlink(p);
	rmdir(f->dir);
	free(f);
	return 0;
}

static int64_t
raw_int(const char *path, const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	int64_t v = -1;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

static void
raw_exec(const char *path, const char *sql)
{
	sqlite3 *db;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

static void
add_domain_user(struct directory *d, const char *domain, const char *user)
{
	const char *err = NULL;

	if (domain != NULL)
		assert_int_equal(directory_domain_add(d, domain, &err), 0);
	if (user != NULL)
		assert_int_equal(directory_user_add(d, user, "$y$fakehash", &err), 0);
}

/* directory_user_get() for its answer only. */
static enum dir_rc
user_get_rc(struct directory *d, const char *addr)
{
	struct dir_user u;
	enum dir_rc rc = directory_user_get(d, addr, &u);

	dir_user_clear(&u);
	return rc;
}

/* ---- schema ------------------------------------------------------------ */

static void
test_create_and_reopen(void **state)
{
	struct fixture *f = *state;
	const char *err = NULL;
	struct stat sb;

	assert_true(directory_schema_version() >= 1);
	assert_int_equal(raw_int(f->path, "PRAGMA user_version"),
	    directory_schema_version());
	assert_int_equal(stat(f->path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);	/* it holds password hashes */
	add_domain_user(f->d, "example.org", "alice@example.org");
	directory_close(&f->d);
	assert_null(f->d);
	assert_int_equal(directory_open(f->path, &f->d, &err), 0);
	assert_int_equal(raw_int(f->path, "PRAGMA user_version"),
	    directory_schema_version());
	assert_int_equal(user_get_rc(f->d, "alice@example.org"), DIR_FOUND);
}

static void
test_wal_and_pragmas(void **state)
{
	struct fixture *f = *state;
	sqlite3 *db;
	sqlite3_stmt *st;

	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
	sqlite3_finalize(st);
	sqlite3_close(db);
}

static void
test_migrate_from_version_0(void **state)
{
	struct fixture *f = fixture_new();
	struct directory *d = NULL;
	const char *err = NULL;

	(void)state;
	/* A database someone created empty (version 0, no tables). */
	raw_exec(f->path, "PRAGMA user_version = 0");
	assert_int_equal(directory_open(f->path, &d, &err), 0);
	assert_int_equal(raw_int(f->path, "PRAGMA user_version"),
	    directory_schema_version());
	assert_int_equal(raw_int(f->path,
	    "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name IN"
	    " ('domain', 'user', 'alias', 'access', 'auth_failure',"
	    " 'autoreply_state')"), 6);
	assert_int_equal(raw_int(f->path, "SELECT COUNT(*) FROM sqlite_master"
	    " WHERE name = 'pop_login'"), 0);
	directory_close(&d);
	*state = f;
}

static void
test_failed_migration_rolls_back(void **state)
{
	struct fixture *f = fixture_new();
	struct directory *d = NULL;
	const char *err = NULL;

	(void)state;
	/* A table in the way makes step 1 fail halfway: nothing may remain. */
	raw_exec(f->path, "CREATE TABLE alias (x)");
	assert_int_equal(directory_open(f->path, &d, &err), -1);
	assert_null(d);
	assert_non_null(strstr(err, "migration to version 1 failed"));
	assert_int_equal(raw_int(f->path, "PRAGMA user_version"), 0);
	assert_int_equal(raw_int(f->path, "SELECT COUNT(*) FROM sqlite_master"
	    " WHERE name = 'domain'"), 0);
	*state = f;
}

/* A version 1 database (before forward_keep) with a forwarding user: the
 * user keeps forwarding, without a local copy (the new default). */
static void
test_migrate_from_version_1(void **state)
{
	struct fixture *f = *state;
	struct dir_user u;
	const char *err = NULL;

	add_domain_user(f->d, "example.org", "alice@example.org");
	assert_int_equal(directory_user_set(f->d, "alice@example.org", "forward",
	    "al@example.net", &err), 0);
	directory_close(&f->d);
	raw_exec(f->path, "DROP INDEX autoreply_state_last_sent;"
	    "ALTER TABLE user DROP COLUMN forward_keep;"
	    "CREATE TABLE pop_login (ip TEXT PRIMARY KEY NOT NULL, at INTEGER NOT NULL);"
	    "DROP TABLE smtp_after_pop;"
	    "PRAGMA user_version = 1");
	assert_int_equal(raw_int(f->path, "SELECT COUNT(*) FROM pragma_table_info('user')"
	    " WHERE name = 'forward_keep'"), 0);
	assert_int_equal(directory_open(f->path, &f->d, &err), 0);
	assert_int_equal(raw_int(f->path, "PRAGMA user_version"),
	    directory_schema_version());
	assert_int_equal(raw_int(f->path, "SELECT COUNT(*) FROM sqlite_master"
	    " WHERE name = 'pop_login'"), 0);	/* version 3 */
	assert_int_equal(raw_int(f->path, "SELECT COUNT(*) FROM sqlite_master"
	    " WHERE name IN ('smtp_after_pop', 'smtp_after_pop_at')"), 2);	/* 4 */
	assert_int_equal(raw_int(f->path, "SELECT COUNT(*) FROM sqlite_master"
	    " WHERE name = 'autoreply_state_last_sent'"), 1);
	assert_int_equal(directory_user_get(f->d, "alice@example.org", &u), DIR_FOUND);
	assert_string_equal(u.forward, "al@example.net");
	assert_false(u.forward_keep);
	dir_user_clear(&u);
	/* The CHECK came with the column. */
	assert_int_equal(raw_int(f->path, "SELECT COUNT(*) FROM user"), 1);
	{
		sqlite3 *db;

		assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
		assert_int_not_equal(sqlite3_exec(db, "UPDATE user SET forward_keep = 2",
		    NULL, NULL, NULL), SQLITE_OK);
		sqlite3_close(db);
	}
}

static void
test_newer_schema_refused(void **state)
{
	struct fixture *f = *state;
	const char *err = NULL;

	directory_close(&f->d);
	raw_exec(f->path, "PRAGMA user_version = 999");
	assert_int_equal(directory_open(f->path, &f->d, &err), -1);
	assert_null(f->d);
	assert_non_null(strstr(err, "newer"));
}

/* ---- normalization ----------------------------------------------------- */

static void
assert_addr(const char *in, const char *want)
{
	const char *err = NULL;
	char *got = directory_addr_normalize(in, &err);

	if (want == NULL) {
		assert_null(got);
		assert_non_null(err);
	} else {
		assert_non_null(got);
		assert_string_equal(got, want);
	}
	free(got);
}

static void
assert_domain(const char *in, const char *want)
{
	const char *err = NULL;
	char *got = directory_domain_normalize(in, &err);

	if (want == NULL) {
		assert_null(got);
		assert_non_null(err);
	} else {
		assert_non_null(got);
		assert_string_equal(got, want);
	}
	free(got);
}

static void
test_normalize(void **state)
{
	char local[SMTP_LOCAL_PART_MAX + 2], addr[400], label[SMTP_LABEL_MAX + 2];
	char domain[SMTP_DOMAIN_MAX + 2];
	size_t i;

	(void)state;
	assert_addr("Alice@Example.ORG", "alice@example.org");
	assert_addr("first.last+tag@sub.example.org", "first.last+tag@sub.example.org");
	assert_addr("a!#$%&'*+-/=?^_`{|}~@example.org", "a!#$%&'*+-/=?^_`{|}~@example.org");
	assert_addr("alice", NULL);
	assert_addr("@example.org", NULL);
	assert_addr("alice@", NULL);
	assert_addr(".alice@example.org", NULL);
	assert_addr("alice.@example.org", NULL);
	assert_addr("al..ice@example.org", NULL);
	assert_addr("\"alice\"@example.org", NULL);
	assert_addr("al ice@example.org", NULL);
	assert_addr("a@b@example.org", NULL);
	assert_addr("alice@localhost", NULL);
	assert_addr("alice@example.org.", NULL);
	assert_addr("alice@-example.org", NULL);

	/* local part: 64 octets at most (RFC 5321 4.5.3.1.1) */
	memset(local, 'a', SMTP_LOCAL_PART_MAX);
	local[SMTP_LOCAL_PART_MAX] = '\0';
	snprintf(addr, sizeof(addr), "%s@example.org", local);
	assert_addr(addr, addr);
	local[SMTP_LOCAL_PART_MAX] = 'a';
	local[SMTP_LOCAL_PART_MAX + 1] = '\0';
	snprintf(addr, sizeof(addr), "%s@example.org", local);
	assert_addr(addr, NULL);

	assert_domain("Example.ORG", "example.org");
	assert_domain("a-b.example.org", "a-b.example.org");
	assert_domain("xn--bcher-kva.example", "xn--bcher-kva.example");
	assert_domain("localhost", NULL);
	assert_domain("example.org.", NULL);
	assert_domain(".example.org", NULL);
	assert_domain("example..org", NULL);
	assert_domain("-a.example.org", NULL);
	assert_domain("a-.example.org", NULL);
	assert_domain("example.org-", NULL);
	assert_domain("exa_mple.org", NULL);
	assert_domain("", NULL);

	/* label: 63 octets at most (RFC 1035 2.3.4) */
	memset(label, 'a', SMTP_LABEL_MAX);
	label[SMTP_LABEL_MAX] = '\0';
	snprintf(domain, sizeof(domain), "%s.org", label);
	assert_domain(domain, domain);
	label[SMTP_LABEL_MAX] = 'a';
	label[SMTP_LABEL_MAX + 1] = '\0';
	snprintf(domain, sizeof(domain), "%s.org", label);
	assert_domain(domain, NULL);

	/* whole name: 255 octets at most; "a.a.a...." of exactly 255, then 256 */
	for (i = 0; i < SMTP_DOMAIN_MAX; i++)
		domain[i] = i % 2 ? '.' : 'a';
	domain[SMTP_DOMAIN_MAX] = '\0';
	assert_domain(domain, domain);
	domain[SMTP_DOMAIN_MAX - 1] = 'b';
	domain[SMTP_DOMAIN_MAX] = 'b';
	domain[SMTP_DOMAIN_MAX + 1] = '\0';
	assert_domain(domain, NULL);
}

/* ---- domains ----------------------------------------------------------- */

static void
test_domain_add_remove_cascade(void **state)
{
	struct fixture *f = *state;
	struct cfg_strlist l;
	struct dir_domain dom;
	char *targets[] = { (char *)"bob@example.net" };
	const char *err = NULL;

	add_domain_user(f->d, "example.org", "alice@example.org");
	add_domain_user(f->d, "example.com", "carol@example.com");
	assert_int_equal(directory_domain_add(f->d, "EXAMPLE.org", &err), -1);
	assert_string_equal(err, "domain example.org already exists");
	assert_int_equal(directory_alias_add(f->d, "info@example.org", targets, 1, &err), 0);
	raw_exec(f->path, "INSERT INTO autoreply_state VALUES"
	    " ('x@example.net', 'alice@example.org', 1)");

	assert_int_equal(directory_domain_list(f->d, &l), 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.v[0], "example.com");
	assert_string_equal(l.v[1], "example.org");
	cfg_strlist_free(&l);

	assert_int_equal(directory_domain_get(f->d, "example.org", &dom), DIR_FOUND);
	assert_string_equal(dom.name, "example.org");
	assert_int_equal(dom.require_auth, -1);
	assert_null(dom.catch_all);
	dir_domain_clear(&dom);

	assert_int_equal(directory_domain_remove(f->d, "Example.Org", &err), 0);
	assert_int_equal(directory_domain_get(f->d, "example.org", &dom), DIR_ABSENT);
	assert_int_equal(user_get_rc(f->d, "alice@example.org"), DIR_ABSENT);
	assert_int_equal(directory_alias_get(f->d, "info@example.org", &l), DIR_ABSENT);
	assert_int_equal(raw_int(f->path, "SELECT COUNT(*) FROM autoreply_state"), 0);
	/* the other domain is untouched */
	assert_int_equal(directory_user_list(f->d, NULL, &l), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.v[0], "carol@example.com");
	cfg_strlist_free(&l);

	assert_int_equal(directory_domain_remove(f->d, "example.org", &err), -1);
	assert_string_equal(err, "domain example.org is not local");
	assert_int_equal(directory_domain_add(f->d, "localhost", &err), -1);
}

static void
test_domain_set_and_unset(void **state)
{
	struct fixture *f = *state;
	struct dir_domain dom;
	const char *err = NULL;

	add_domain_user(f->d, "example.org", NULL);
	assert_int_equal(directory_domain_set(f->d, &f->cfg, "example.org",
	    "require_auth", "no", &err), 0);
	assert_int_equal(directory_domain_set(f->d, &f->cfg, "example.org",
	    "bounces", "disabled", &err), 0);
	assert_int_equal(directory_domain_set(f->d, &f->cfg, "example.org",
	    "autoresponders", "enabled", &err), 0);
	assert_int_equal(directory_domain_set(f->d, &f->cfg, "example.org",
	    "max_message_size", "10M", &err), 0);
	assert_int_equal(directory_domain_get(f->d, "example.org", &dom), DIR_FOUND);
	assert_int_equal(dom.require_auth, 0);
	assert_int_equal(dom.bounces, POLICY_DISABLED);
	assert_int_equal(dom.autoresponders, POLICY_ENABLED);
	assert_int_equal(dom.max_message_size, 10 << 20);
	dir_domain_clear(&dom);

	assert_int_equal(directory_domain_set(f->d, &f->cfg, "example.org",
	    "bounces", "default", &err), 0);
	assert_int_equal(directory_domain_set(f->d, &f->cfg, "example.org",
	    "max_message_size", "default", &err), 0);
	assert_int_equal(directory_domain_get(f->d, "example.org", &dom), DIR_FOUND);
	assert_int_equal(dom.bounces, -1);
	assert_int_equal(dom.max_message_size, -1);
	assert_int_equal(dom.require_auth, 0);
	dir_domain_clear(&dom);

	/* bool spellings */
	assert_int_equal(directory_domain_set(f->d, &f->cfg, "example.org",
	    "require_auth", "ON", &err), 0);
	assert_int_equal(directory_domain_set(f->d, &f->cfg, "example.org",
	    "require_auth", "1", &err), 0);
	assert_int_equal(directory_domain_set(f->d, &f->cfg, "example.org",
	    "require_auth", "maybe", &err), -1);
	assert_string_equal(err, "require_auth must be true or false");
	assert_int_equal(directory_domain_set(f->d, &f->cfg, "example.org",
	    "bounces", "always", &err), -1);
	assert_int_equal(directory_domain_set(f->d, &f->cfg, "example.org",
	    "colour", "blue", &err), -1);
	assert_non_null(strstr(err, "unknown domain key"));
	assert_int_equal(directory_domain_set(f->d, &f->cfg, "example.net",
	    "bounces", "enabled", &err), -1);
	assert_string_equal(err, "domain example.net is not local");
}

static void
test_domain_size_values(void **state)
{
	struct fixture *f = *state;
	static const struct { const char *v; int64_t want; } cases[] = {
		{ "1", 1 }, { "1024", 1024 }, { "1K", 1024 }, { "25m", 25 << 20 },
		{ "2G", 2LL << 30 },
		{ "0", -1 }, { "3G", -1 }, { "2049M", -1 }, { "", -1 }, { "1.5M", -1 },
		{ "-1", -1 }, { " 1", -1 }, { "1 M", -1 }, { "1MB", -1 }, { "M", -1 },
		{ "18446744073709551616", -1 }, { "18014398509481984K", -1 },
	};
	struct dir_domain dom;
	const char *err = NULL;
	size_t i;

	add_domain_user(f->d, "example.org", NULL);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = directory_domain_set(f->d, &f->cfg, "example.org",
		    "max_message_size", cases[i].v, &err);

		if (cases[i].want == -1) {
			assert_int_equal(rc, -1);
			continue;
		}
		assert_int_equal(rc, 0);
		assert_int_equal(directory_domain_get(f->d, "example.org", &dom), DIR_FOUND);
		assert_int_equal(dom.max_message_size, cases[i].want);
		dir_domain_clear(&dom);
	}
}

static void
test_catch_all_lock(void **state)
{
	struct fixture *f = *state;
	struct dir_domain dom;
	struct dir_domain_effective eff;
	const char *err = NULL;

	add_domain_user(f->d, "example.org", NULL);
	assert_int_equal(directory_domain_set(f->d, &f->cfg, "example.org",
	    "catch_all", "postmaster@example.org", &err), -1);
	assert_string_equal(err, "catch_all is locked: allow_catch_all = false");
	/* "" and "default" are not a catch-all: allowed under the lock */
	assert_int_equal(directory_domain_set(f->d, &f->cfg, "example.org",
	    "catch_all", "", &err), 0);
	assert_int_equal(directory_domain_get(f->d, "example.org", &dom), DIR_FOUND);
	assert_string_equal(dom.catch_all, "");
	dir_domain_clear(&dom);
	assert_int_equal(directory_domain_set(f->d, &f->cfg, "example.org",
	    "catch_all", "default", &err), 0);

	f->cfg.allow_catch_all = true;
	assert_int_equal(directory_domain_set(f->d, &f->cfg, "example.org",
	    "catch_all", "not an address", &err), -1);
	assert_int_equal(directory_domain_set(f->d, &f->cfg, "example.org",
	    "catch_all", "Box@Example.org", &err), 0);
	assert_int_equal(directory_domain_get(f->d, "example.org", &dom), DIR_FOUND);
	assert_string_equal(dom.catch_all, "box@example.org");
	dir_domain_effective(&dom, &f->cfg, &eff);
	assert_string_equal(eff.catch_all, "box@example.org");
	/* the lock set later wins over what is stored */
	f->cfg.allow_catch_all = false;
	dir_domain_effective(&dom, &f->cfg, &eff);
	assert_string_equal(eff.catch_all, "");
	dir_domain_clear(&dom);
}

static void
test_domain_effective(void **state)
{
	struct fixture *f = *state;
	struct dir_domain dom;
	struct dir_domain_effective eff;
	const char *err = NULL;

	add_domain_user(f->d, "example.org", NULL);
	assert_int_equal(directory_domain_get(f->d, "example.org", &dom), DIR_FOUND);
	dir_domain_effective(&dom, &f->cfg, &eff);
	assert_true(eff.require_auth);
	assert_string_equal(eff.catch_all, "");
	assert_int_equal(eff.bounces, POLICY_REQUIRE_SPF);
	assert_int_equal(eff.autoresponders, POLICY_REQUIRE_SPF);
	assert_int_equal(eff.max_message_size, 25 << 20);
	dir_domain_clear(&dom);

	assert_int_equal(directory_domain_set(f->d, &f->cfg, "example.org",
	    "require_auth", "false", &err), 0);
	assert_int_equal(directory_domain_set(f->d, &f->cfg, "example.org",
	    "autoresponders", "disabled", &err), 0);
	assert_int_equal(directory_domain_get(f->d, "example.org", &dom), DIR_FOUND);
	dir_domain_effective(&dom, &f->cfg, &eff);
	assert_false(eff.require_auth);
	assert_int_equal(eff.autoresponders, POLICY_DISABLED);
	assert_int_equal(eff.bounces, POLICY_REQUIRE_SPF);	/* still default */
	dir_domain_clear(&dom);

	/* a domain that is not local: the defaults */
	dir_domain_effective(NULL, &f->cfg, &eff);
	assert_true(eff.require_auth);
	assert_int_equal(eff.bounces, POLICY_REQUIRE_SPF);

	assert_int_equal(directory_domain_reset_all(f->d, &err), 0);
	assert_int_equal(directory_domain_get(f->d, "example.org", &dom), DIR_FOUND);
	assert_int_equal(dom.require_auth, -1);
	assert_int_equal(dom.autoresponders, -1);
	dir_domain_clear(&dom);
}

static void
test_transaction_all_or_nothing(void **state)
{
	struct fixture *f = *state;
	struct dir_domain dom;
	const char *err = NULL;

	add_domain_user(f->d, "example.org", NULL);
	assert_int_equal(directory_begin(f->d, &err), 0);
	assert_int_equal(directory_domain_set(f->d, &f->cfg, "example.org",
	    "bounces", "enabled", &err), 0);
	assert_int_equal(directory_domain_set(f->d, &f->cfg, "example.org",
	    "bounces", "sometimes", &err), -1);
	directory_rollback(f->d);
	assert_int_equal(directory_domain_get(f->d, "example.org", &dom), DIR_FOUND);
	assert_int_equal(dom.bounces, -1);
	dir_domain_clear(&dom);

	/* functions with their own transaction nest inside ours */
	assert_int_equal(directory_begin(f->d, &err), 0);
	assert_int_equal(directory_domain_set(f->d, &f->cfg, "example.org",
	    "bounces", "enabled", &err), 0);
	assert_int_equal(directory_user_add(f->d, "x@example.net", "$y$h", &err), -1);
	assert_int_equal(directory_user_add(f->d, "x@example.org", "$y$h", &err), 0);
	assert_int_equal(directory_commit(f->d, &err), 0);
	assert_int_equal(directory_domain_get(f->d, "example.org", &dom), DIR_FOUND);
	assert_int_equal(dom.bounces, POLICY_ENABLED);
	dir_domain_clear(&dom);
	assert_int_equal(user_get_rc(f->d, "x@example.org"), DIR_FOUND);
}

/* ---- users ------------------------------------------------------------- */

static void
test_user_add_get_passwd(void **state)
{
	struct fixture *f = *state;
	struct dir_user u;
	const char *err = NULL;

	assert_int_equal(directory_user_add(f->d, "alice@example.org", "$y$h1", &err), -1);
	assert_string_equal(err, "domain example.org is not local");
	add_domain_user(f->d, "example.org", NULL);
	assert_int_equal(directory_user_add(f->d, "Alice@Example.ORG", "$y$h1", &err), 0);
	assert_int_equal(directory_user_add(f->d, "alice@example.org", "$y$h2", &err), -1);
	assert_string_equal(err, "alice@example.org is already a user");
	assert_int_equal(directory_user_add(f->d, "bob@example.org", "", &err), -1);
	assert_int_equal(directory_user_add(f->d, "bob..x@example.org", "$y$h", &err), -1);

	assert_int_equal(directory_user_get(f->d, "alice@example.org", &u), DIR_FOUND);
	assert_string_equal(u.address, "alice@example.org");
	assert_string_equal(u.password_hash, "$y$h1");
	assert_true(u.enabled);
	assert_int_equal(u.quota, 0);
	assert_string_equal(u.autoreply, "");
	assert_string_equal(u.autoreply_subject, "");
	assert_string_equal(u.forward, "");
	dir_user_clear(&u);
	assert_null(u.address);

	assert_int_equal(directory_user_passwd(f->d, "ALICE@example.org", "$y$h3", &err), 0);
	assert_int_equal(directory_user_get(f->d, "alice@example.org", &u), DIR_FOUND);
	assert_string_equal(u.password_hash, "$y$h3");
	dir_user_clear(&u);
	assert_int_equal(directory_user_passwd(f->d, "nobody@example.org", "$y$h", &err), -1);
	assert_string_equal(err, "user nobody@example.org does not exist");

	assert_int_equal(directory_user_get(f->d, "nobody@example.org", &u), DIR_ABSENT);
	assert_int_equal(directory_user_get(f->d, "not an address", &u), DIR_ABSENT);
}

static void
test_user_set(void **state)
{
	struct fixture *f = *state;
	struct dir_user u;
	const char *err = NULL;
	char big[16 * 1024 + 2];

	add_domain_user(f->d, "example.org", "alice@example.org");
	assert_int_equal(directory_user_set(f->d, "alice@example.org", "quota", "500M", &err), 0);
	assert_int_equal(directory_user_set(f->d, "alice@example.org", "enabled", "off", &err), 0);
	assert_int_equal(directory_user_set(f->d, "alice@example.org", "autoreply",
	    "I am away.\nBack on Monday.", &err), 0);
	assert_int_equal(directory_user_set(f->d, "alice@example.org",
	    "autoreply_subject", "Away\tuntil Monday", &err), 0);
	assert_int_equal(directory_user_set(f->d, "alice@example.org", "forward",
	    "Alice@Example.NET", &err), 0);
	assert_int_equal(directory_user_get(f->d, "alice@example.org", &u), DIR_FOUND);
	assert_int_equal(u.quota, 500ULL << 20);
	assert_false(u.enabled);
	assert_string_equal(u.autoreply, "I am away.\nBack on Monday.");
	assert_string_equal(u.autoreply_subject, "Away\tuntil Monday");
	assert_string_equal(u.forward, "alice@example.net");
	dir_user_clear(&u);

	assert_int_equal(directory_user_set(f->d, "alice@example.org", "quota", "0", &err), 0);
	assert_int_equal(directory_user_set(f->d, "alice@example.org", "forward", "", &err), 0);
	assert_int_equal(directory_user_set(f->d, "alice@example.org", "enabled", "yes", &err), 0);
	assert_int_equal(directory_user_get(f->d, "alice@example.org", &u), DIR_FOUND);
	assert_int_equal(u.quota, 0);
	assert_string_equal(u.forward, "");
	assert_true(u.enabled);
	dir_user_clear(&u);

	/* refusals */
	assert_int_equal(directory_user_set(f->d, "alice@example.org", "quota", "lots", &err), -1);
	assert_int_equal(directory_user_set(f->d, "alice@example.org", "quota",
	    "9223372036854775808", &err), -1);
	assert_int_equal(directory_user_set(f->d, "alice@example.org", "enabled", "2", &err), -1);
	assert_int_equal(directory_user_set(f->d, "alice@example.org", "forward",
	    "alice@", &err), -1);
	assert_int_equal(directory_user_set(f->d, "alice@example.org", "forward",
	    "ALICE@example.org", &err), -1);
	assert_non_null(strstr(err, "loop"));
	/* a subject with CR LF would inject a header line */
	assert_int_equal(directory_user_set(f->d, "alice@example.org",
	    "autoreply_subject", "Hi\r\nBcc: victim@example.net", &err), -1);
	assert_int_equal(directory_user_set(f->d, "alice@example.org", "autoreply",
	    "bell\a", &err), -1);
	memset(big, 'x', sizeof(big) - 2);
	big[sizeof(big) - 2] = '\0';		/* 16K: the maximum */
	assert_int_equal(directory_user_set(f->d, "alice@example.org", "autoreply", big, &err), 0);
	big[sizeof(big) - 2] = 'x';
	big[sizeof(big) - 1] = '\0';		/* 16K + 1 */
	assert_int_equal(directory_user_set(f->d, "alice@example.org", "autoreply", big, &err), -1);
	assert_int_equal(directory_user_set(f->d, "alice@example.org", "password", "x", &err), -1);
	assert_non_null(strstr(err, "unknown user key"));
	assert_int_equal(directory_user_set(f->d, "bob@example.org", "quota", "1M", &err), -1);
	assert_string_equal(err, "user bob@example.org does not exist");
}

static void
test_user_forward_keep(void **state)
{
	struct fixture *f = *state;
	struct dir_user u;
	const char *err = NULL;

	add_domain_user(f->d, "example.org", "alice@example.org");
	assert_int_equal(directory_user_get(f->d, "alice@example.org", &u), DIR_FOUND);
	assert_false(u.forward_keep);		/* default: forward replaces */
	dir_user_clear(&u);
	assert_int_equal(directory_user_set(f->d, "alice@example.org", "forward_keep",
	    "YES", &err), 0);
	assert_int_equal(directory_user_get(f->d, "alice@example.org", &u), DIR_FOUND);
	assert_true(u.forward_keep);
	dir_user_clear(&u);
	assert_int_equal(directory_user_set(f->d, "alice@example.org", "forward_keep",
	    "off", &err), 0);
	assert_int_equal(directory_user_get(f->d, "alice@example.org", &u), DIR_FOUND);
	assert_false(u.forward_keep);
	dir_user_clear(&u);
	assert_int_equal(directory_user_set(f->d, "alice@example.org", "forward_keep",
	    "maybe", &err), -1);
	assert_string_equal(err, "forward_keep must be true or false");
	assert_int_equal(directory_user_set(f->d, "alice@example.org", "colour",
	    "x", &err), -1);
	assert_non_null(strstr(err, "forward_keep"));	/* listed among the keys */
}

static void
test_user_list_remove(void **state)
{
	struct fixture *f = *state;
	struct cfg_strlist l;
	const char *err = NULL;

	add_domain_user(f->d, "example.org", "bob@example.org");
	add_domain_user(f->d, NULL, "alice@example.org");
	add_domain_user(f->d, "example.com", "carol@example.com");
	assert_int_equal(directory_user_list(f->d, NULL, &l), 0);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.v[0], "alice@example.org");	/* sorted by address */
	assert_string_equal(l.v[1], "bob@example.org");
	assert_string_equal(l.v[2], "carol@example.com");
	cfg_strlist_free(&l);
	assert_int_equal(directory_user_list(f->d, "EXAMPLE.ORG", &l), 0);
	assert_int_equal(l.n, 2);
	cfg_strlist_free(&l);
	assert_int_equal(directory_user_list(f->d, "example.net", &l), 0);
	assert_int_equal(l.n, 0);
	cfg_strlist_free(&l);

	assert_int_equal(directory_user_remove(f->d, "Bob@example.org", &err), 0);
	assert_int_equal(directory_user_remove(f->d, "bob@example.org", &err), -1);
	assert_string_equal(err, "user bob@example.org does not exist");
	assert_int_equal(directory_user_list(f->d, "example.org", &l), 0);
	assert_int_equal(l.n, 1);
	cfg_strlist_free(&l);
}

static void
test_user_alias_exclusive(void **state)
{
	struct fixture *f = *state;
	char *targets[] = { (char *)"alice@example.org" };
	const char *err = NULL;

	add_domain_user(f->d, "example.org", "alice@example.org");
	assert_int_equal(directory_alias_add(f->d, "Alice@example.org", targets, 1, &err), -1);
	assert_string_equal(err, "alice@example.org is already a user");
	assert_int_equal(directory_alias_add(f->d, "info@example.org", targets, 1, &err), 0);
	assert_int_equal(directory_user_add(f->d, "INFO@example.org", "$y$h", &err), -1);
	assert_string_equal(err, "info@example.org is already an alias");
}

/* ---- aliases ----------------------------------------------------------- */

static void
test_alias(void **state)
{
	struct fixture *f = *state;
	struct cfg_strlist l;
	char *t1[] = { (char *)"Bob@example.org", (char *)"carol@example.net",
	    (char *)"bob@example.org" };
	char *t2[] = { (char *)"dave@example.net", (char *)"carol@example.net" };
	char *bad[] = { (char *)"dave@example.net", (char *)"not-an-address" };
	char *self[] = { (char *)"Sales@example.org" };
	const char *err = NULL;

	add_domain_user(f->d, "example.org", NULL);
	assert_int_equal(directory_alias_add(f->d, "sales@example.net", t1, 1, &err), -1);
	assert_string_equal(err, "domain example.net is not local");
	assert_int_equal(directory_alias_add(f->d, "Sales@Example.org", t1, 3, &err), 0);
	assert_int_equal(directory_alias_add(f->d, "sales@example.org", t2, 2, &err), 0);
	assert_int_equal(directory_alias_get(f->d, "SALES@example.org", &l), DIR_FOUND);
	assert_int_equal(l.n, 3);		/* duplicates ignored, order kept */
	assert_string_equal(l.v[0], "bob@example.org");
	assert_string_equal(l.v[1], "carol@example.net");
	assert_string_equal(l.v[2], "dave@example.net");
	cfg_strlist_free(&l);

	/* an invalid target refuses the whole add */
	assert_int_equal(directory_alias_add(f->d, "info@example.org", bad, 2, &err), -1);
	assert_int_equal(directory_alias_get(f->d, "info@example.org", &l), DIR_ABSENT);
	assert_int_equal(directory_alias_add(f->d, "sales@example.org", self, 1, &err), -1);
	assert_int_equal(directory_alias_add(f->d, "sales@example.org", t1, 0, &err), -1);

	assert_int_equal(directory_alias_has_target(f->d, "sales@example.org",
	    "CAROL@example.net"), DIR_FOUND);
	assert_int_equal(directory_alias_has_target(f->d, "sales@example.org",
	    "eve@example.net"), DIR_ABSENT);
	assert_int_equal(directory_alias_has_target(f->d, "nope@example.org",
	    "carol@example.net"), DIR_ABSENT);

	assert_int_equal(directory_alias_add(f->d, "info@example.org", t2, 1, &err), 0);
	assert_int_equal(directory_alias_list(f->d, &l), 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.v[0], "info@example.org");
	assert_string_equal(l.v[1], "sales@example.org");
	cfg_strlist_free(&l);

	assert_int_equal(directory_alias_remove(f->d, "sales@example.org", &err), 0);
	assert_int_equal(directory_alias_remove(f->d, "sales@example.org", &err), -1);
	assert_string_equal(err, "alias sales@example.org does not exist");
	assert_int_equal(directory_alias_get(f->d, "sales@example.org", &l), DIR_ABSENT);
}

static void
test_alias_target_limit(void **state)
{
	struct fixture *f = *state;
	char *t[ALIAS_TARGETS_MAX + 1];
	struct cfg_strlist l;
	const char *err = NULL;
	int i;

	add_domain_user(f->d, "example.org", NULL);
	for (i = 0; i <= ALIAS_TARGETS_MAX; i++) {
		t[i] = malloc(32);
		snprintf(t[i], 32, "u%d@example.net", i);
	}
	assert_int_equal(directory_alias_add(f->d, "big@example.org", t,
	    ALIAS_TARGETS_MAX + 1, &err), -1);
	assert_int_equal(directory_alias_add(f->d, "big@example.org", t,
	    ALIAS_TARGETS_MAX, &err), 0);
	assert_int_equal(directory_alias_get(f->d, "big@example.org", &l), DIR_FOUND);
	assert_int_equal(l.n, ALIAS_TARGETS_MAX);
	cfg_strlist_free(&l);
	/* one more, added later, is refused; one already there is a no-op */
	assert_int_equal(directory_alias_add(f->d, "big@example.org",
	    &t[ALIAS_TARGETS_MAX], 1, &err), -1);
	assert_non_null(strstr(err, "more than 100 targets"));
	assert_int_equal(directory_alias_add(f->d, "big@example.org", t, 1, &err), 0);
	for (i = 0; i <= ALIAS_TARGETS_MAX; i++)
		free(t[i]);
}

/* ---- bounces and auto-replies ------------------------------------------ */

static void
test_bounce_policy(void **state)
{
	struct fixture *f = *state;
	enum cfg_spf_policy p = POLICY_ENABLED;
	const char *err = NULL;

	add_domain_user(f->d, "example.org", NULL);
	/* Local, unset: domain_defaults. */
	assert_int_equal(directory_bounce_policy(f->d, &f->cfg, "example.org", &p), DIR_FOUND);
	assert_int_equal(p, POLICY_REQUIRE_SPF);
	f->cfg.domain_defaults.bounces = POLICY_ENABLED;
	assert_int_equal(directory_bounce_policy(f->d, &f->cfg, "EXAMPLE.org", &p), DIR_FOUND);
	assert_int_equal(p, POLICY_ENABLED);
	/* Local, set: its own. */
	assert_int_equal(directory_domain_set(f->d, &f->cfg, "example.org", "bounces",
	    "disabled", &err), 0);
	assert_int_equal(directory_bounce_policy(f->d, &f->cfg, "example.org", &p), DIR_FOUND);
	assert_int_equal(p, POLICY_DISABLED);
	/* Not local, or not a domain: domain_defaults. */
	f->cfg.domain_defaults.bounces = POLICY_REQUIRE_SPF;
	assert_int_equal(directory_bounce_policy(f->d, &f->cfg, "example.net", &p), DIR_ABSENT);
	assert_int_equal(p, POLICY_REQUIRE_SPF);
	p = POLICY_ENABLED;
	assert_int_equal(directory_bounce_policy(f->d, &f->cfg, "[192.0.2.1]", &p), DIR_ABSENT);
	assert_int_equal(p, POLICY_REQUIRE_SPF);
	assert_int_equal(directory_bounce_policy(f->d, &f->cfg, "", &p), DIR_ABSENT);
}

#define T0	1772442847	/* "now" of the auto-reply tests */
#define WEEK	DIR_AUTOREPLY_INTERVAL_SEC

static enum dir_rc
claim(struct fixture *f, const char *user, const char *sender, bool spf, int64_t now)
{
	struct dir_autoreply a;
	enum dir_rc rc = directory_autoreply_claim(f->d, &f->cfg, user, sender,
	    spf, now, &a);

	if (rc == DIR_FOUND) {
		assert_non_null(a.address);
		assert_true(a.text[0] != '\0');
		assert_non_null(a.subject);
	} else {
		assert_null(a.address);
		assert_null(a.text);
	}
	dir_autoreply_clear(&a);
	return rc;
}

static void
autoreply_fixture(struct fixture *f)
{
	const char *err = NULL;

	add_domain_user(f->d, "example.org", "alice@example.org");
	add_domain_user(f->d, NULL, "bob@example.org");
	assert_int_equal(directory_user_set(f->d, "alice@example.org", "autoreply",
	    "Away until Monday.", &err), 0);
	assert_int_equal(directory_user_set(f->d, "alice@example.org",
	    "autoreply_subject", "Out of office", &err), 0);
	assert_int_equal(directory_user_set(f->d, "bob@example.org", "autoreply",
	    "Bob is away.", &err), 0);
}

static void
test_autoreply_policy(void **state)
{
	struct fixture *f = *state;
	struct dir_autoreply a;
	const char *err = NULL;

	autoreply_fixture(f);
	add_domain_user(f->d, NULL, "carol@example.org");	/* no text */
	assert_int_equal(claim(f, "carol@example.org", "friend@example.net", true, T0),
	    DIR_ABSENT);
	assert_int_equal(claim(f, "nobody@example.org", "friend@example.net", true, T0),
	    DIR_ABSENT);
	assert_int_equal(claim(f, "not an address", "friend@example.net", true, T0),
	    DIR_ABSENT);
	assert_int_equal(claim(f, "alice@example.org", "", true, T0), DIR_ABSENT);
	assert_int_equal(claim(f, "alice@example.org", NULL, true, T0), DIR_ABSENT);
	/* domain_defaults: require_spf. Refusals record nothing. */
	assert_int_equal(claim(f, "alice@example.org", "friend@example.net", false, T0),
	    DIR_ABSENT);
	assert_int_equal(raw_int(f->path, "SELECT COUNT(*) FROM autoreply_state"), 0);
	assert_int_equal(directory_autoreply_claim(f->d, &f->cfg, "Alice@Example.ORG",
	    "friend@example.net", true, T0, &a), DIR_FOUND);
	assert_string_equal(a.address, "alice@example.org");
	assert_string_equal(a.text, "Away until Monday.");
	assert_string_equal(a.subject, "Out of office");
	dir_autoreply_clear(&a);
	/* The domain's own setting wins over domain_defaults. */
	assert_int_equal(directory_domain_set(f->d, &f->cfg, "example.org",
	    "autoresponders", "enabled", &err), 0);
	assert_int_equal(claim(f, "bob@example.org", "friend@example.net", false, T0),
	    DIR_FOUND);
	assert_int_equal(directory_domain_set(f->d, &f->cfg, "example.org",
	    "autoresponders", "disabled", &err), 0);
	assert_int_equal(claim(f, "alice@example.org", "other@example.net", true, T0),
	    DIR_ABSENT);
	assert_int_equal(directory_domain_set(f->d, &f->cfg, "example.org",
	    "autoresponders", "default", &err), 0);
	f->cfg.domain_defaults.autoresponders = POLICY_ENABLED;
	assert_int_equal(claim(f, "alice@example.org", "other@example.net", false, T0),
	    DIR_FOUND);
	/* A disabled user sends nothing. */
	assert_int_equal(directory_user_set(f->d, "bob@example.org", "enabled", "no",
	    &err), 0);
	assert_int_equal(claim(f, "bob@example.org", "third@example.net", true, T0),
	    DIR_ABSENT);
}

static void
test_autoreply_once_per_week(void **state)
{
	struct fixture *f = *state;
	const char *err = NULL;

	autoreply_fixture(f);
	f->cfg.domain_defaults.autoresponders = POLICY_ENABLED;
	assert_int_equal(claim(f, "alice@example.org", "friend@example.net", false, T0),
	    DIR_FOUND);
	assert_int_equal(claim(f, "alice@example.org", "friend@example.net", false, T0),
	    DIR_ABSENT);
	/* The sender in another case is the same sender. */
	assert_int_equal(claim(f, "alice@example.org", "Friend@EXAMPLE.net", false, T0 + 60),
	    DIR_ABSENT);
	/* Another sender, or another user: counted apart. */
	assert_int_equal(claim(f, "alice@example.org", "other@example.net", false, T0 + 60),
	    DIR_FOUND);
	assert_int_equal(claim(f, "bob@example.org", "friend@example.net", false, T0 + 60),
	    DIR_FOUND);
	/* One second short of 7 days: still no; at 7 days: again. */
	assert_int_equal(claim(f, "alice@example.org", "friend@example.net", false,
	    T0 + WEEK - 1), DIR_ABSENT);
	assert_int_equal(claim(f, "alice@example.org", "friend@example.net", false,
	    T0 + WEEK), DIR_FOUND);
	assert_int_equal(raw_int(f->path, "SELECT last_sent FROM autoreply_state"
	    " WHERE sender = 'friend@example.net' AND recipient = 'alice@example.org'"),
	    T0 + WEEK);
	assert_int_equal(claim(f, "alice@example.org", "friend@example.net", false,
	    T0 + WEEK + 1), DIR_ABSENT);
	/* Rows older than the window went: only the renewed one and the
	 * ones from T0 + 60 are left (those expire at T0 + 60 + WEEK). */
	assert_int_equal(raw_int(f->path, "SELECT COUNT(*) FROM autoreply_state"), 3);
	assert_int_equal(claim(f, "bob@example.org", "x@example.net", false,
	    T0 + 60 + WEEK), DIR_FOUND);
	assert_int_equal(raw_int(f->path, "SELECT COUNT(*) FROM autoreply_state"), 2);
	/* A clock that went back does not answer again. */
	assert_int_equal(claim(f, "alice@example.org", "friend@example.net", false, T0),
	    DIR_ABSENT);
	/* The state goes with the user. */
	assert_int_equal(directory_user_remove(f->d, "alice@example.org", &err), 0);
	assert_int_equal(raw_int(f->path, "SELECT COUNT(*) FROM autoreply_state"
	    " WHERE recipient = 'alice@example.org'"), 0);
}

/* Committed before the answer: another connection (another process) sees
 * it at once and does not answer the same sender again. */
static void
test_autoreply_claim_is_shared(void **state)
{
	struct fixture *f = *state;
	struct directory *d2 = NULL;
	struct dir_autoreply a;
	const char *err = NULL;

	autoreply_fixture(f);
	f->cfg.domain_defaults.autoresponders = POLICY_ENABLED;
	assert_int_equal(directory_open(f->path, &d2, &err), 0);
	assert_int_equal(claim(f, "alice@example.org", "friend@example.net", false, T0),
	    DIR_FOUND);
	assert_int_equal(directory_autoreply_claim(d2, &f->cfg, "alice@example.org",
	    "FRIEND@example.net", false, T0 + 1, &a), DIR_ABSENT);
	assert_null(a.address);
	directory_close(&d2);
	/* Inside a transaction the claim is a savepoint: a rollback of the
	 * outer transaction takes it back. */
	assert_int_equal(directory_begin(f->d, &err), 0);
	assert_int_equal(claim(f, "bob@example.org", "friend@example.net", false, T0),
	    DIR_FOUND);
	directory_rollback(f->d);
	assert_int_equal(claim(f, "bob@example.org", "friend@example.net", false, T0),
	    DIR_FOUND);
}

/* ---- access lists ------------------------------------------------------ */

static struct sockaddr_storage
sa_of(const char *ip)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	if (strchr(ip, ':') == NULL) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		assert_int_equal(inet_pton(AF_INET, ip, &s4->sin_addr), 1);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		assert_int_equal(inet_pton(AF_INET6, ip, &s6->sin6_addr), 1);
	}
	return ss;
}

static enum access_kind
check(struct directory *d, const char *ip, int64_t now)
{
	struct sockaddr_storage ss = sa_of(ip);
	enum access_kind k = ACCESS_NONE;

	assert_int_not_equal(directory_access_check(d, (struct sockaddr *)&ss, now, &k),
	    DIR_TEMPFAIL);
	return k;
}

static void
test_access(void **state)
{
	struct fixture *f = *state;
	struct dir_access *v;
	size_t n;
	const char *err = NULL;
	int64_t now = 1700000000;

	assert_int_equal(check(f->d, "192.0.2.7", now), ACCESS_NONE);
	assert_int_equal(directory_access_add(f->d, ACCESS_TRUST, "192.0.2.0/24",
	    "office", 0, &err), 0);
	assert_int_equal(directory_access_add(f->d, ACCESS_BAN, "192.0.2.66",
	    "abuse", now + 60, &err), 0);
	assert_int_equal(directory_access_add(f->d, ACCESS_BAN, "2001:db8::/32",
	    NULL, 0, &err), 0);

	assert_int_equal(check(f->d, "192.0.2.7", now), ACCESS_TRUST);
	assert_int_equal(check(f->d, "192.0.2.66", now), ACCESS_BAN);	/* ban wins */
	assert_int_equal(check(f->d, "192.0.2.66", now + 60), ACCESS_TRUST); /* expired */
	assert_int_equal(check(f->d, "198.51.100.1", now), ACCESS_NONE);
	assert_int_equal(check(f->d, "2001:db8::1", now), ACCESS_BAN);
	assert_int_equal(check(f->d, "2001:db9::1", now), ACCESS_NONE);
	assert_int_equal(check(f->d, "::ffff:192.0.2.7", now), ACCESS_TRUST);

	/* host bits set: a typo, refused */
	assert_int_equal(directory_access_add(f->d, ACCESS_BAN, "10.0.0.1/8", "", 0, &err), -1);
	assert_int_equal(directory_access_add(f->d, ACCESS_BAN, "banana", "", 0, &err), -1);
	assert_int_equal(directory_access_add(f->d, ACCESS_BAN, "10.0.0.0/8",
	    "two\nlines", 0, &err), -1);

	assert_int_equal(directory_access_list(f->d, NULL, now, &v, &n), 0);
	assert_int_equal(n, 3);
	dir_access_list_free(v, n);
	assert_int_equal(directory_access_list(f->d, NULL, now + 60, &v, &n), 0);
	assert_int_equal(n, 2);		/* the expired ban is not listed */
	dir_access_list_free(v, n);
	assert_int_equal(directory_access_list(f->d, "192.0.2.0/24", now, &v, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(v[0].kind, ACCESS_TRUST);
	assert_string_equal(v[0].reason, "office");
	assert_int_equal(v[0].expires, 0);
	assert_true(v[0].created > 0);
	dir_access_list_free(v, n);

	/* adding again replaces: the trust becomes a ban */
	assert_int_equal(directory_access_add(f->d, ACCESS_BAN, "192.0.2.0/24",
	    "compromised", 0, &err), 0);
	assert_int_equal(check(f->d, "192.0.2.7", now), ACCESS_BAN);
	assert_int_equal(directory_access_remove(f->d, "192.0.2.0/24", &err), 0);
	assert_int_equal(directory_access_remove(f->d, "192.0.2.0/24", &err), -1);
	assert_int_equal(check(f->d, "192.0.2.7", now), ACCESS_NONE);
}

static void
test_auth_failure_window(void **state)
{
	struct fixture *f = *state;
	unsigned count = 0;
	int64_t t = 1700000000;

	assert_int_equal(directory_auth_failure(f->d, "192.0.2.1", t, 600, 0, &count), 0);
	assert_int_equal(count, 1);
	assert_int_equal(directory_auth_failure(f->d, "192.0.2.1", t + 10, 600, 0, &count), 0);
	assert_int_equal(count, 2);
	assert_int_equal(directory_auth_failure(f->d, "192.0.2.2", t + 20, 600, 0, &count), 0);
	assert_int_equal(count, 1);		/* per IP */
	assert_int_equal(directory_auth_failure(f->d, "192.0.2.1", t + 599, 600, 0, &count), 0);
	assert_int_equal(count, 3);
	/* at t + 600 the first failure is 600 s old: out of the window */
	assert_int_equal(directory_auth_failure(f->d, "192.0.2.1", t + 600, 600, 0, &count), 0);
	assert_int_equal(count, 3);
	assert_int_equal(directory_auth_failure(f->d, "192.0.2.1", t + 5000, 600, 0, &count), 0);
	assert_int_equal(count, 1);
	/* old rows of every IP were purged */
	assert_int_equal(raw_int(f->path, "SELECT COUNT(*) FROM auth_failure"), 1);
	/* reaching the limit forgets the IP's failures (a ban follows) */
	assert_int_equal(directory_auth_failure(f->d, "192.0.2.1", t + 5001, 600, 2, &count), 0);
	assert_int_equal(count, 2);
	assert_int_equal(directory_auth_failure(f->d, "192.0.2.1", t + 5002, 600, 2, &count), 0);
	assert_int_equal(count, 1);
}

/* relay.smtp_after_pop windows: opened by a login, closed after the
 * window, off with 0, per IP, extended by a later login; closed ones are
 * purged by the next write; another connection (dird's loop, when the
 * pool thread wrote) sees them. */
static void
test_pop_window(void **state)
{
	struct fixture *f = *state;
	int64_t t = 1700000000;
	struct directory *d2;
	const char *err = NULL;

	assert_int_equal(directory_pop_window_check(f->d, "192.0.2.1", t, 300), DIR_ABSENT);
	assert_int_equal(directory_pop_window_open(f->d, "192.0.2.1", t, 300), 0);
	assert_int_equal(directory_pop_window_check(f->d, "192.0.2.1", t + 299, 300), DIR_FOUND);
	assert_int_equal(directory_pop_window_check(f->d, "192.0.2.1", t + 300, 300), DIR_ABSENT);
	assert_int_equal(directory_pop_window_check(f->d, "192.0.2.1", t, 0), DIR_ABSENT);
	assert_int_equal(directory_pop_window_check(f->d, "192.0.2.2", t, 300), DIR_ABSENT);
	assert_int_equal(directory_open(f->path, &d2, &err), 0);
	assert_int_equal(directory_pop_window_check(d2, "192.0.2.1", t + 1, 300), DIR_FOUND);
	directory_close(&d2);
	/* A later login extends it; an earlier time never shortens it. */
	assert_int_equal(directory_pop_window_open(f->d, "192.0.2.1", t + 200, 300), 0);
	assert_int_equal(directory_pop_window_open(f->d, "192.0.2.1", t + 100, 300), 0);
	assert_int_equal(directory_pop_window_check(f->d, "192.0.2.1", t + 450, 300), DIR_FOUND);
	/* Closed windows go with the next write, for every IP. */
	assert_int_equal(directory_pop_window_open(f->d, "192.0.2.3", t + 1000, 300), 0);
	assert_int_equal(raw_int(f->path, "SELECT COUNT(*) FROM smtp_after_pop"), 1);
}

/* ---- case and visibility ------------------------------------------------ */

static void
test_case_insensitive(void **state)
{
	struct fixture *f = *state;
	struct dir_user u;
	struct dir_domain dom;
	char *t[] = { (char *)"alice@example.org" };
	const char *err = NULL;

	add_domain_user(f->d, "Example.ORG", "alice@example.org");
	assert_int_equal(directory_user_get(f->d, "Alice@Example.ORG", &u), DIR_FOUND);
	assert_string_equal(u.address, "alice@example.org");
	dir_user_clear(&u);
	assert_int_equal(directory_domain_get(f->d, "EXAMPLE.org", &dom), DIR_FOUND);
	assert_string_equal(dom.name, "example.org");
	dir_domain_clear(&dom);
	assert_int_equal(directory_alias_add(f->d, "Info@EXAMPLE.org", t, 1, &err), 0);
	assert_int_equal(directory_alias_has_target(f->d, "INFO@example.ORG",
	    "ALICE@example.org"), DIR_FOUND);
}

/* Two connections, as the CLI and the server: a change made by one is seen
 * by the next read of the other (no cache, no statement left open). */
static void
test_second_connection_sees_changes(void **state)
{
	struct fixture *f = *state;
	struct directory *d2 = NULL;
	struct dir_user u;
	const char *err = NULL;

	assert_int_equal(directory_open(f->path, &d2, &err), 0);
	add_domain_user(f->d, "example.org", NULL);
	assert_int_equal(directory_user_get(d2, "alice@example.org", &u), DIR_ABSENT);
	add_domain_user(f->d, NULL, "alice@example.org");
	assert_int_equal(directory_user_get(d2, "alice@example.org", &u), DIR_FOUND);
	dir_user_clear(&u);
	assert_int_equal(directory_user_set(f->d, "alice@example.org", "enabled",
	    "false", &err), 0);
	assert_int_equal(directory_user_get(d2, "alice@example.org", &u), DIR_FOUND);
	assert_false(u.enabled);
	dir_user_clear(&u);
	assert_int_equal(directory_domain_remove(d2, "example.org", &err), 0);
	assert_int_equal(directory_user_get(f->d, "alice@example.org", &u), DIR_ABSENT);
	directory_close(&d2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_create_and_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wal_and_pragmas, setup, teardown),
		cmocka_unit_test_teardown(test_migrate_from_version_0, teardown),
		cmocka_unit_test_teardown(test_failed_migration_rolls_back, teardown),
		cmocka_unit_test_setup_teardown(test_migrate_from_version_1, setup, teardown),
		cmocka_unit_test_setup_teardown(test_newer_schema_refused, setup, teardown),
		cmocka_unit_test(test_normalize),
		cmocka_unit_test_setup_teardown(test_domain_add_remove_cascade, setup, teardown),
		cmocka_unit_test_setup_teardown(test_domain_set_and_unset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_domain_size_values, setup, teardown),
		cmocka_unit_test_setup_teardown(test_catch_all_lock, setup, teardown),
		cmocka_unit_test_setup_teardown(test_domain_effective, setup, teardown),
		cmocka_unit_test_setup_teardown(test_transaction_all_or_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_user_add_get_passwd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_user_set, setup, teardown),
		cmocka_unit_test_setup_teardown(test_user_forward_keep, setup, teardown),
		cmocka_unit_test_setup_teardown(test_user_list_remove, setup, teardown),
		cmocka_unit_test_setup_teardown(test_user_alias_exclusive, setup, teardown),
		cmocka_unit_test_setup_teardown(test_alias, setup, teardown),
		cmocka_unit_test_setup_teardown(test_alias_target_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bounce_policy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_autoreply_policy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_autoreply_once_per_week, setup, teardown),
		cmocka_unit_test_setup_teardown(test_autoreply_claim_is_shared, setup, teardown),
		cmocka_unit_test_setup_teardown(test_access, setup, teardown),
		cmocka_unit_test_setup_teardown(test_auth_failure_window, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pop_window, setup, teardown),
		cmocka_unit_test_setup_teardown(test_case_insensitive, setup, teardown),
		cmocka_unit_test_setup_teardown(test_second_connection_sees_changes, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
