/*
 * cli_alias: `postern alias add|remove|list` (SPEC section 1). An alias
 * names one or more targets, kept in the order added; `list` prints
 * "ALIAS -> T1, T2" per alias. The rules (local domain, not a user, at most
 * ALIAS_TARGETS_MAX targets) are the directory's.
 */
#include <stdlib.h>
#include <string.h>

#include "cli/cli_util.h"

#define CLI_ALIAS_USAGE "alias add ALIAS TARGET... | alias remove ALIAS |" \
	" alias list [ALIAS]"

/* Prints one alias line; DIR_ABSENT when it does not exist. */
static enum dir_rc
cli_alias_print(const struct cli_ctx *ctx, const char *alias)
{
	struct cfg_strlist t;
	enum dir_rc rc = directory_alias_get(ctx->dir, alias, &t);
	size_t i;

	if (rc != DIR_FOUND)
		return rc;
	printf("%s -> ", alias);
	for (i = 0; i < t.n; i++)
		printf("%s%s", i > 0 ? ", " : "", t.v[i]);
	putchar('\n');
	cfg_strlist_free(&t);
	return DIR_FOUND;
}

static int
cli_alias_list(const struct cli_ctx *ctx, const char *alias)
{
	struct cfg_strlist l;
	const char *err;
	char *addr;
	enum dir_rc rc;
	size_t i;

	if (alias != NULL) {
		if ((addr = directory_addr_normalize(alias, &err)) == NULL) {
			cli_error("%s", err);
			return CLI_FAIL;
		}
		if ((rc = cli_alias_print(ctx, addr)) != DIR_FOUND)
			cli_error(rc == DIR_ABSENT ? "alias %s does not exist" :
			    "directory unavailable (database busy or damaged): %s", addr);
		free(addr);
		return rc == DIR_FOUND ? CLI_OK : CLI_FAIL;
	}
	if (directory_alias_list(ctx->dir, &l) == -1) {
		cli_error("directory unavailable (database busy or damaged)");
		return CLI_FAIL;
	}
	/* An alias removed between the two reads is simply not printed. */
	for (i = 0, rc = DIR_FOUND; i < l.n && rc != DIR_TEMPFAIL; i++)
		rc = cli_alias_print(ctx, l.v[i]);
	cfg_strlist_free(&l);
	if (rc == DIR_TEMPFAIL) {
		cli_error("directory unavailable (database busy or damaged)");
		return CLI_FAIL;
	}
	return CLI_OK;
}

int
cli_alias(const struct cli_ctx *ctx, int argc, char **argv)
{
	const char *verb = argc >= 2 ? argv[1] : "", *err;
	int rc;

	if (strcmp(verb, "list") == 0 && (argc == 2 || argc == 3))
		return cli_alias_list(ctx, argc == 3 ? argv[2] : NULL);
	if (strcmp(verb, "add") == 0 && argc >= 4)
		rc = directory_alias_add(ctx->dir, argv[2], argv + 3,
		    (size_t)(argc - 3), &err);
	else if (strcmp(verb, "remove") == 0 && argc == 3)
		rc = directory_alias_remove(ctx->dir, argv[2], &err);
	else
		return cli_usage(CLI_ALIAS_USAGE);
	if (rc == -1) {
		cli_error("%s", err);
		return CLI_FAIL;
	}
	return CLI_OK;
}
