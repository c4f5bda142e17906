/*
 * cli_user: `postern user add|remove|list|show|passwd|set` (SPEC sections 1
 * and 4). Passwords come from stdin (cli_password_read()) and only their
 * yescrypt hash reaches the directory; `show` never prints the hash.
 */
#include <stdlib.h>
#include <string.h>

#include "cli/cli_util.h"
#include "core/xalloc.h"
#include "directory/password.h"

#define CLI_USER_USAGE "user add|remove|show|passwd ADDRESS | user list [DOMAIN] |" \
	" user set ADDRESS KEY=VALUE..."

#define CLI_DIR_DOWN "directory unavailable (database busy or damaged)"

/* Loads an existing user, or prints why not. 0 or -1. */
static int
cli_user_load(const struct cli_ctx *ctx, const char *arg, struct dir_user *u)
{
	const char *err;
	char *addr = directory_addr_normalize(arg, &err);

	if (addr == NULL) {
		cli_error("%s", err);
		return -1;
	}
	switch (directory_user_get(ctx->dir, addr, u)) {
	case DIR_FOUND:
		free(addr);
		return 0;
	case DIR_ABSENT:
		cli_error("user %s does not exist", addr);
		break;
	default:
		cli_error(CLI_DIR_DOWN);
	}
	free(addr);
	return -1;
}

/* Reads and hashes the password; a new hash or NULL after an error line. */
static char *
cli_user_new_hash(const struct cli_ctx *ctx)
{
	size_t len;
	char *pw = cli_password_read(ctx, &len), *hash;

	if (pw == NULL)
		return NULL;
	hash = password_hash(pw, len);
	cli_password_free(&pw);
	if (hash == NULL)
		cli_error("cannot hash the password (crypt failed)");
	return hash;
}

static void
cli_user_hash_free(char *hash)
{
	explicit_bzero(hash, strlen(hash));
	free(hash);
}

/* Checks what can be checked before the password is read and hashed, so a
 * typo in the address fails at once; directory_user_add() checks again. */
static int
cli_user_add(const struct cli_ctx *ctx, const char *arg)
{
	struct dir_domain dom;
	struct dir_user u;
	const char *err, *domain;
	char *addr = directory_addr_normalize(arg, &err), *hash;
	enum dir_rc urc, drc = DIR_TEMPFAIL;
	int rc = CLI_FAIL;

	if (addr == NULL) {
		cli_error("%s", err);
		return CLI_FAIL;
	}
	domain = strrchr(addr, '@') + 1;
	if ((urc = directory_user_get(ctx->dir, addr, &u)) == DIR_ABSENT)
		drc = directory_domain_get(ctx->dir, domain, &dom);
	if (urc == DIR_FOUND) {
		cli_error("user %s already exists", addr);
		dir_user_clear(&u);
	} else if (drc == DIR_ABSENT)
		cli_error("domain %s is not local", domain);
	else if (drc == DIR_TEMPFAIL)
		cli_error(CLI_DIR_DOWN);
	else {
		dir_domain_clear(&dom);
		if ((hash = cli_user_new_hash(ctx)) != NULL) {
			if (directory_user_add(ctx->dir, addr, hash, &err) == 0)
				rc = CLI_OK;
			else
				cli_error("%s", err);
			cli_user_hash_free(hash);
		}
	}
	free(addr);
	return rc;
}

static int
cli_user_passwd(const struct cli_ctx *ctx, const char *arg)
{
	struct dir_user u;
	const char *err;
	char *hash;
	int rc = CLI_FAIL;

	if (cli_user_load(ctx, arg, &u) == -1)
		return CLI_FAIL;
	if ((hash = cli_user_new_hash(ctx)) != NULL) {
		if (directory_user_passwd(ctx->dir, u.address, hash, &err) == 0)
			rc = CLI_OK;
		else
			cli_error("%s", err);
		cli_user_hash_free(hash);
	}
	dir_user_clear(&u);
	return rc;
}

static int
cli_user_show(const struct cli_ctx *ctx, const char *arg)
{
	struct dir_user u;

	if (cli_user_load(ctx, arg, &u) == -1)
		return CLI_FAIL;
	cli_print_kv(stdout, "address", u.address);
	printf("enabled = %s\n", u.enabled ? "true" : "false");
	printf("quota = %llu\n", (unsigned long long)u.quota);
	cli_print_kv(stdout, "autoreply", u.autoreply);
	cli_print_kv(stdout, "autoreply_subject", u.autoreply_subject);
	cli_print_kv(stdout, "forward", u.forward);
	printf("forward_keep = %s\n", u.forward_keep ? "true" : "false");
	dir_user_clear(&u);
	return CLI_OK;
}

static int
cli_user_list(const struct cli_ctx *ctx, const char *domain)
{
	struct dir_domain dom;
	struct cfg_strlist l;
	const char *err;
	char *name = NULL;
	size_t i;

	if (domain != NULL) {
		if ((name = directory_domain_normalize(domain, &err)) == NULL) {
			cli_error("%s", err);
			return CLI_FAIL;
		}
		if (directory_domain_get(ctx->dir, name, &dom) != DIR_FOUND) {
			cli_error("domain %s is not local", name);
			free(name);
			return CLI_FAIL;
		}
		dir_domain_clear(&dom);
	}
	if (directory_user_list(ctx->dir, name, &l) == -1) {
		cli_error(CLI_DIR_DOWN);
		free(name);
		return CLI_FAIL;
	}
	for (i = 0; i < l.n; i++)
		printf("%s\n", l.v[i]);
	cfg_strlist_free(&l);
	free(name);
	return CLI_OK;
}

static int
cli_user_set_one(const struct cli_ctx *ctx, const char *name,
    const char *key, const char *value, const char **err_out)
{
	return directory_user_set(ctx->dir, name, key, value, err_out);
}

/* All KEY=VALUE or nothing (cli_set_all). */
static int
cli_user_set(const struct cli_ctx *ctx, int argc, char **argv)
{
	struct dir_user u;
	int rc;

	if (!cli_kv_args_ok(argc, argv, 3))
		return cli_usage(CLI_USER_USAGE);
	if (cli_user_load(ctx, argv[2], &u) == -1)
		return CLI_FAIL;
	rc = cli_set_all(ctx, u.address, argc, argv, 3, cli_user_set_one);
	dir_user_clear(&u);
	return rc;
}

int
cli_user(const struct cli_ctx *ctx, int argc, char **argv)
{
	const char *verb = argc >= 2 ? argv[1] : "", *err;

	if (strcmp(verb, "add") == 0 && argc == 3)
		return cli_user_add(ctx, argv[2]);
	if (strcmp(verb, "passwd") == 0 && argc == 3)
		return cli_user_passwd(ctx, argv[2]);
	if (strcmp(verb, "show") == 0 && argc == 3)
		return cli_user_show(ctx, argv[2]);
	if (strcmp(verb, "list") == 0 && (argc == 2 || argc == 3))
		return cli_user_list(ctx, argc == 3 ? argv[2] : NULL);
	if (strcmp(verb, "set") == 0 && argc >= 4)
		return cli_user_set(ctx, argc, argv);
	if (strcmp(verb, "remove") == 0 && argc == 3) {
		if (directory_user_remove(ctx->dir, argv[2], &err) == -1) {
			cli_error("%s", err);
			return CLI_FAIL;
		}
		return CLI_OK;
	}
	return cli_usage(CLI_USER_USAGE);
}
