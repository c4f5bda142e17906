/*
 * Unit tests for the directory subcommands (cli_domain, cli_user,
 * cli_alias, cli_access): exit codes 0/1/2, the exact stdout formats of
 * docs/directory.md, one stderr line on failure, the password from stdin.
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

#include "cli/cli.h"
#include "core/limits.h"
#include "directory/password.h"

typedef int (*cli_fn)(const struct cli_ctx *, int, char **);

struct fixture {
	char			 dir[64];
	char			 path[96];
	struct directory	*d;
	struct config		 cfg;
	struct cli_ctx		 ctx;
	char			 out[8192];	/* stdout of the last run */
	char			 err[1024];	/* stderr of the last run */
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const char *err = NULL;

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/postern-cli-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/postern.db", f->dir);
	assert_int_equal(directory_open(f->path, &f->d, &err), 0);
	f->cfg.domain_defaults.require_auth = true;
	f->cfg.domain_defaults.catch_all = (char *)"";
	f->cfg.domain_defaults.bounces = POLICY_REQUIRE_SPF;
	f->cfg.domain_defaults.autoresponders = POLICY_REQUIRE_SPF;
	f->cfg.domain_defaults.max_message_size = 25ULL << 20;
	f->ctx = (struct cli_ctx){ .cfg = &f->cfg, .dir = f->d };
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

static void
slurp(FILE *tmp, char *buf, size_t len)
{
	size_t n;

	rewind(tmp);
	n = fread(buf, 1, len - 1, tmp);
	buf[n] = '\0';
	fclose(tmp);
}

/*
 * Runs fn with argv (NULL-terminated varargs) and stdin_len bytes of
 * stdin_data as stdin, capturing stdout and stderr into f->out and f->err.
 */
static int
run_in(struct fixture *f, const char *stdin_data, size_t stdin_len, cli_fn fn, ...)
{
	char *argv[32];
	int argc = 0, rc, saved_out, saved_err;
	FILE *tout = tmpfile(), *terr = tmpfile(), *in;
	va_list ap;

	assert_non_null(tout);
	assert_non_null(terr);
	va_start(ap, fn);
	while ((argv[argc] = va_arg(ap, char *)) != NULL)
		argc++;
	va_end(ap);
	in = stdin_len > 0 ? fmemopen((void *)stdin_data, stdin_len, "r") :
	    fopen("/dev/null", "r");
	assert_non_null(in);
	f->ctx.in = in;

	fflush(stdout);
	fflush(stderr);
	saved_out = dup(STDOUT_FILENO);
	saved_err = dup(STDERR_FILENO);
	dup2(fileno(tout), STDOUT_FILENO);
	dup2(fileno(terr), STDERR_FILENO);
	rc = fn(&f->ctx, argc, argv);
	fflush(stdout);
	fflush(stderr);
	dup2(saved_out, STDOUT_FILENO);
	dup2(saved_err, STDERR_FILENO);
	close(saved_out);
	close(saved_err);
	fclose(in);
	f->ctx.in = NULL;
	slurp(tout, f->out, sizeof(f->out));
	slurp(terr, f->err, sizeof(f->err));
	return rc;
}

#define run(f, ...)	run_in((f), NULL, 0, __VA_ARGS__, (char *)NULL)
#define run_pw(f, pw, ...) \
	run_in((f), (pw), strlen(pw), __VA_ARGS__, (char *)NULL)

/* Exactly one line on stderr, starting "postern: " (exit 1). */
static void
assert_one_error(const struct fixture *f, const char *want)
{
	size_t len = strlen(f->err);

	assert_true(len > 0);
	assert_memory_equal(f->err, "postern: ", 9);
	assert_int_equal(f->err[len - 1], '\n');
	assert_null(memchr(f->err, '\n', len - 1));
	if (want != NULL)
		assert_non_null(strstr(f->err, want));
}

static void
assert_usage(const struct fixture *f)
{
	assert_memory_equal(f->err, "usage: postern ", 15);
	assert_string_equal(f->out, "");
}

static void
test_domain_commands(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(run(f, cli_domain, "domain", "add", "Example.ORG"), 0);
	assert_string_equal(f->out, "");
	assert_int_equal(run(f, cli_domain, "domain", "add", "example.org"), 1);
	assert_one_error(f, "domain example.org already exists");
	assert_int_equal(run(f, cli_domain, "domain", "add", "localhost"), 1);
	assert_one_error(f, NULL);
	assert_int_equal(run(f, cli_domain, "domain", "add", "example.com"), 0);
	assert_int_equal(run(f, cli_domain, "domain", "list"), 0);
	assert_string_equal(f->out, "example.com\nexample.org\n");

	assert_int_equal(run(f, cli_domain, "domain", "show", "example.org"), 0);
	assert_string_equal(f->out,
	    "require_auth = true (default)\n"
	    "catch_all = \"\" (default)\n"
	    "bounces = require_spf (default)\n"
	    "autoresponders = require_spf (default)\n"
	    "max_message_size = 26214400 (default)\n"
	    "users = 0\n"
	    "aliases = 0\n");

	assert_int_equal(run(f, cli_domain, "domain", "set", "example.org",
	    "require_auth=false", "bounces=disabled", "max_message_size=10M"), 0);
	assert_int_equal(run(f, cli_domain, "domain", "show", "EXAMPLE.org"), 0);
	assert_string_equal(f->out,
	    "require_auth = false\n"
	    "catch_all = \"\" (default)\n"
	    "bounces = disabled\n"
	    "autoresponders = require_spf (default)\n"
	    "max_message_size = 10485760\n"
	    "users = 0\n"
	    "aliases = 0\n");

	/* all or nothing: the good first key is not applied either */
	assert_int_equal(run(f, cli_domain, "domain", "set", "example.org",
	    "autoresponders=enabled", "catch_all=x@example.org"), 1);
	assert_one_error(f, "catch_all is locked: allow_catch_all = false");
	assert_int_equal(run(f, cli_domain, "domain", "set", "example.org",
	    "autoresponders=enabled", "nosuchkey=1"), 1);
	assert_one_error(f, "unknown domain key");
	assert_int_equal(run(f, cli_domain, "domain", "show", "example.org"), 0);
	assert_non_null(strstr(f->out, "autoresponders = require_spf (default)\n"));
	assert_int_equal(run(f, cli_domain, "domain", "set", "example.net",
	    "bounces=enabled"), 1);
	assert_one_error(f, "domain example.net is not local");

	assert_int_equal(run(f, cli_domain, "domain", "propagate"), 0);
	assert_int_equal(run(f, cli_domain, "domain", "show", "example.org"), 0);
	assert_non_null(strstr(f->out, "bounces = require_spf (default)\n"));

	assert_int_equal(run(f, cli_domain, "domain", "remove", "example.com"), 0);
	assert_int_equal(run(f, cli_domain, "domain", "remove", "example.com"), 1);
	assert_one_error(f, "domain example.com is not local");
	assert_int_equal(run(f, cli_domain, "domain", "show", "example.com"), 1);
	assert_one_error(f, "not local");
}

static void
test_domain_usage(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(run(f, cli_domain, "domain"), 2);
	assert_usage(f);
	assert_int_equal(run(f, cli_domain, "domain", "frobnicate", "x.org"), 2);
	assert_usage(f);
	assert_int_equal(run(f, cli_domain, "domain", "add"), 2);
	assert_int_equal(run(f, cli_domain, "domain", "add", "a.org", "b.org"), 2);
	assert_int_equal(run(f, cli_domain, "domain", "list", "extra"), 2);
	assert_int_equal(run(f, cli_domain, "domain", "set", "a.org"), 2);
	assert_int_equal(run(f, cli_domain, "domain", "set", "a.org", "bounces"), 2);
	assert_int_equal(run(f, cli_domain, "domain", "set", "a.org", "=x"), 2);
	assert_usage(f);
}

static void
test_domain_show_counts_and_catch_all(void **state)
{
	struct fixture *f = *state;

	f->cfg.allow_catch_all = true;
	assert_int_equal(run(f, cli_domain, "domain", "add", "example.org"), 0);
	assert_int_equal(run(f, cli_domain, "domain", "add", "example.com"), 0);
	assert_int_equal(run_pw(f, "pw\n", cli_user, "user", "add", "a@example.org"), 0);
	assert_int_equal(run_pw(f, "pw\n", cli_user, "user", "add", "b@example.org"), 0);
	assert_int_equal(run_pw(f, "pw\n", cli_user, "user", "add", "c@example.com"), 0);
	assert_int_equal(run(f, cli_alias, "alias", "add", "x@example.org", "a@example.org"), 0);
	assert_int_equal(run(f, cli_domain, "domain", "set", "example.org",
	    "catch_all=A@example.org"), 0);
	assert_int_equal(run(f, cli_domain, "domain", "show", "example.org"), 0);
	assert_non_null(strstr(f->out, "catch_all = a@example.org\n"));
	assert_non_null(strstr(f->out, "users = 2\naliases = 1\n"));
	/* the lock turned on later: stored but not in effect, and shown so */
	f->cfg.allow_catch_all = false;
	assert_int_equal(run(f, cli_domain, "domain", "show", "example.org"), 0);
	assert_non_null(strstr(f->out,
	    "catch_all = \"\" (locked: allow_catch_all = false)\n"));
}

static void
test_user_commands(void **state)
{
	struct fixture *f = *state;
	struct dir_user u;

	assert_int_equal(run(f, cli_domain, "domain", "add", "example.org"), 0);
	assert_int_equal(run_pw(f, "s3cret\n", cli_user, "user", "add", "a@example.net"), 1);
	assert_one_error(f, "domain example.net is not local");
	assert_int_equal(run_pw(f, "s3cret\n", cli_user, "user", "add", "Alice@Example.org"), 0);
	assert_string_equal(f->out, "");
	assert_int_equal(run_pw(f, "s3cret\n", cli_user, "user", "add", "alice@example.org"), 1);
	assert_one_error(f, "user alice@example.org already exists");

	/* exactly one trailing newline is dropped */
	assert_int_equal(directory_user_get(f->d, "alice@example.org", &u), DIR_FOUND);
	assert_memory_equal(u.password_hash, "$y$", 3);
	assert_true(password_verify("s3cret", 6, u.password_hash));
	assert_false(password_verify("s3cret\n", 7, u.password_hash));
	dir_user_clear(&u);

	assert_int_equal(run_pw(f, "new pass\r\n", cli_user, "user", "passwd",
	    "alice@example.org"), 0);
	assert_int_equal(directory_user_get(f->d, "alice@example.org", &u), DIR_FOUND);
	assert_true(password_verify("new pass", 8, u.password_hash));
	dir_user_clear(&u);
	assert_int_equal(run_pw(f, "two\n\n", cli_user, "user", "passwd",
	    "alice@example.org"), 0);
	assert_int_equal(directory_user_get(f->d, "alice@example.org", &u), DIR_FOUND);
	assert_true(password_verify("two\n", 4, u.password_hash));
	dir_user_clear(&u);
	assert_int_equal(run_pw(f, "x\n", cli_user, "user", "passwd", "bob@example.org"), 1);
	assert_one_error(f, "user bob@example.org does not exist");

	assert_int_equal(run(f, cli_user, "user", "show", "ALICE@example.org"), 0);
	assert_string_equal(f->out,
	    "address = alice@example.org\n"
	    "enabled = true\n"
	    "quota = 0\n"
	    "autoreply = \"\"\n"
	    "autoreply_subject = \"\"\n"
	    "forward = \"\"\n"
	    "forward_keep = false\n");
	assert_null(strstr(f->out, "$y$"));

	assert_int_equal(run(f, cli_user, "user", "set", "alice@example.org",
	    "quota=1G", "enabled=no", "autoreply=Away \"for\" now\nBye",
	    "autoreply_subject=Out of office", "forward=al@example.net",
	    "forward_keep=yes"), 0);
	assert_int_equal(run(f, cli_user, "user", "show", "alice@example.org"), 0);
	assert_string_equal(f->out,
	    "address = alice@example.org\n"
	    "enabled = false\n"
	    "quota = 1073741824\n"
	    "autoreply = \"Away \\\"for\\\" now\\nBye\"\n"
	    "autoreply_subject = \"Out of office\"\n"
	    "forward = al@example.net\n"
	    "forward_keep = true\n");

	/* all or nothing */
	assert_int_equal(run(f, cli_user, "user", "set", "alice@example.org",
	    "quota=0", "enabled=perhaps"), 1);
	assert_one_error(f, "enabled must be true or false");
	assert_int_equal(run(f, cli_user, "user", "show", "alice@example.org"), 0);
	assert_non_null(strstr(f->out, "quota = 1073741824\n"));

	assert_int_equal(run_pw(f, "pw\n", cli_user, "user", "add", "bob@example.org"), 0);
	assert_int_equal(run(f, cli_user, "user", "list"), 0);
	assert_string_equal(f->out, "alice@example.org\nbob@example.org\n");
	assert_int_equal(run(f, cli_user, "user", "list", "example.org"), 0);
	assert_string_equal(f->out, "alice@example.org\nbob@example.org\n");
	assert_int_equal(run(f, cli_user, "user", "list", "example.net"), 1);
	assert_one_error(f, "domain example.net is not local");
	assert_int_equal(run(f, cli_user, "user", "remove", "bob@example.org"), 0);
	assert_int_equal(run(f, cli_user, "user", "remove", "bob@example.org"), 1);
	assert_one_error(f, "does not exist");

	assert_int_equal(run(f, cli_user, "user", "frob", "x@example.org"), 2);
	assert_usage(f);
	assert_int_equal(run(f, cli_user, "user", "show"), 2);
	assert_int_equal(run(f, cli_user, "user", "set", "alice@example.org"), 2);
	assert_int_equal(run(f, cli_user, "user", "set", "alice@example.org", "quota"), 2);
}

static void
test_user_password_input(void **state)
{
	struct fixture *f = *state;
	char *pw = malloc(PASSWORD_MAX + 8);

	assert_int_equal(run(f, cli_domain, "domain", "add", "example.org"), 0);
	assert_int_equal(run_in(f, NULL, 0, cli_user, "user", "add", "a@example.org",
	    (char *)NULL), 1);
	assert_one_error(f, "empty password");
	assert_int_equal(run_pw(f, "\n", cli_user, "user", "add", "a@example.org"), 1);
	assert_one_error(f, "empty password");
	assert_int_equal(run_in(f, "a\0b\n", 4, cli_user, "user", "add", "a@example.org",
	    (char *)NULL), 1);
	assert_one_error(f, "NUL");

	/* at the ceiling, with "\r\n"; then one byte more */
	memset(pw, 'p', PASSWORD_MAX + 8);
	memcpy(pw + PASSWORD_CRYPT_MAX, "\r\n", 3);
	assert_int_equal(run_pw(f, pw, cli_user, "user", "add", "a@example.org"), 0);
	memset(pw, 'p', PASSWORD_MAX + 8);
	memcpy(pw + PASSWORD_CRYPT_MAX + 1, "\n", 2);
	assert_int_equal(run_pw(f, pw, cli_user, "user", "add", "b@example.org"), 1);
	assert_one_error(f, "password is longer than 511 bytes");
	/* far over the read limit: still one error, nothing added */
	memset(pw, 'p', PASSWORD_MAX + 7);
	pw[PASSWORD_MAX + 7] = '\0';
	assert_int_equal(run_pw(f, pw, cli_user, "user", "add", "b@example.org"), 1);
	assert_one_error(f, "longer than");
	assert_int_equal(run(f, cli_user, "user", "list"), 0);
	assert_string_equal(f->out, "a@example.org\n");
	free(pw);
}

static void
test_alias_commands(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(run(f, cli_domain, "domain", "add", "example.org"), 0);
	assert_int_equal(run(f, cli_alias, "alias", "add", "sales@example.org",
	    "Bob@example.org", "carol@example.net"), 0);
	assert_int_equal(run(f, cli_alias, "alias", "add", "info@example.org",
	    "dave@example.net"), 0);
	assert_int_equal(run(f, cli_alias, "alias", "add", "info@example.org",
	    "sales@example.org", "dave@example.net"), 0);
	assert_int_equal(run(f, cli_alias, "alias", "list"), 0);
	assert_string_equal(f->out,
	    "info@example.org -> dave@example.net, sales@example.org\n"
	    "sales@example.org -> bob@example.org, carol@example.net\n");
	assert_int_equal(run(f, cli_alias, "alias", "list", "SALES@example.org"), 0);
	assert_string_equal(f->out, "sales@example.org -> bob@example.org, carol@example.net\n");
	assert_int_equal(run(f, cli_alias, "alias", "list", "nope@example.org"), 1);
	assert_one_error(f, "alias nope@example.org does not exist");
	assert_int_equal(run(f, cli_alias, "alias", "add", "x@example.net", "a@example.org"), 1);
	assert_one_error(f, "domain example.net is not local");
	assert_int_equal(run(f, cli_alias, "alias", "add", "x@example.org", "bad"), 1);
	assert_one_error(f, NULL);
	assert_int_equal(run(f, cli_alias, "alias", "remove", "sales@example.org"), 0);
	assert_int_equal(run(f, cli_alias, "alias", "remove", "sales@example.org"), 1);
	assert_int_equal(run(f, cli_alias, "alias", "add", "x@example.org"), 2);
	assert_usage(f);
	assert_int_equal(run(f, cli_alias, "alias", "remove"), 2);
	assert_int_equal(run(f, cli_alias, "alias"), 2);
}

static void
test_access_commands(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(run(f, cli_access, "access", "ban", "192.0.2.0/24",
	    "--reason", "spam \"run\"", "--expires", "7d"), 0);
	assert_int_equal(run(f, cli_access, "access", "trust", "2001:db8::/32"), 0);
	assert_int_equal(run(f, cli_access, "access", "trust", "--expires", "90",
	    "198.51.100.7"), 0);
	assert_int_equal(run(f, cli_access, "access", "list"), 0);
	/* sorted by text; expiry dates vary, so check the shape */
	assert_non_null(strstr(f->out, "192.0.2.0/24 ban expires=20"));
	assert_non_null(strstr(f->out, "Z reason=\"spam \\\"run\\\"\"\n"));
	assert_non_null(strstr(f->out, "2001:db8::/32 trust expires=never reason=\"\"\n"));
	/* a host: "/32" or not is cidr_format()'s choice */
	assert_non_null(strstr(f->out, "198.51.100.7"));
	assert_non_null(strstr(f->out, " trust expires=20"));
	assert_int_equal(run(f, cli_access, "access", "list", "2001:db8::/32"), 0);
	assert_string_equal(f->out, "2001:db8::/32 trust expires=never reason=\"\"\n");

	assert_int_equal(run(f, cli_access, "access", "ban", "10.0.0.1/8"), 1);
	assert_one_error(f, "host bits");
	assert_int_equal(run(f, cli_access, "access", "ban", "10.0.0.0/8",
	    "--expires", "soon"), 1);
	assert_one_error(f, "--expires");
	assert_int_equal(run(f, cli_access, "access", "ban", "10.0.0.0/8",
	    "--expires", "0"), 1);
	assert_int_equal(run(f, cli_access, "access", "remove", "2001:db8::/32"), 0);
	assert_int_equal(run(f, cli_access, "access", "remove", "2001:db8::/32"), 1);
	assert_one_error(f, "no access entry for 2001:db8::/32");
	assert_int_equal(run(f, cli_access, "access", "list", "2001:db8::/32"), 1);
	assert_one_error(f, "no access entry for 2001:db8::/32");
	assert_int_equal(run(f, cli_access, "access", "list", "10.0.0.1/8"), 1);
	assert_one_error(f, "invalid network");

	assert_int_equal(run(f, cli_access, "access", "ban"), 2);
	assert_usage(f);
	assert_int_equal(run(f, cli_access, "access", "ban", "10.0.0.0/8", "--reason"), 2);
	assert_int_equal(run(f, cli_access, "access", "ban", "10.0.0.0/8", "10.1.0.0/16"), 2);
	assert_int_equal(run(f, cli_access, "access", "ban", "10.0.0.0/8", "--bogus", "x"), 2);
	assert_int_equal(run(f, cli_access, "access", "ban", "10.0.0.0/8",
	    "--reason", "a", "--reason", "b"), 2);
	assert_int_equal(run(f, cli_access, "access", "wipe"), 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_domain_commands, setup, teardown),
		cmocka_unit_test_setup_teardown(test_domain_usage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_domain_show_counts_and_catch_all,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_user_commands, setup, teardown),
		cmocka_unit_test_setup_teardown(test_user_password_input, setup, teardown),
		cmocka_unit_test_setup_teardown(test_alias_commands, setup, teardown),
		cmocka_unit_test_setup_teardown(test_access_commands, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
