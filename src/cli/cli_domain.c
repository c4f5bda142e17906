/*
 * cli_domain: `postern domain add|remove|list|show|set|propagate` (SPEC
 * sections 1 and 4). Validation and storage are the directory's; this file
 * parses the command line, applies a multi-key `set` in one transaction and
 * prints `list` and `show` in the stable formats of docs/directory.md.
 */
#include <stdlib.h>
#include <string.h>

#include "cli/cli_util.h"
#include "core/xalloc.h"

#define CLI_DOMAIN_USAGE "domain add|remove|show DOMAIN | domain list |" \
	" domain set DOMAIN KEY=VALUE... | domain propagate"

static const char *
cli_domain_policy_name(enum cfg_spf_policy p)
{
	switch (p) {
	case POLICY_DISABLED:	return "disabled";
	case POLICY_REQUIRE_SPF: return "require_spf";
	case POLICY_ENABLED:	return "enabled";
	}
	return "?";
}

/* Loads a local domain, or prints why not. 0 or -1. */
static int
cli_domain_load(const struct cli_ctx *ctx, const char *arg, struct dir_domain *dom)
{
	const char *err;
	char *name = directory_domain_normalize(arg, &err);

	if (name == NULL) {
		cli_error("%s", err);
		return -1;
	}
	switch (directory_domain_get(ctx->dir, name, dom)) {
	case DIR_FOUND:
		free(name);
		return 0;
	case DIR_ABSENT:
		cli_error("domain %s is not local", name);
		break;
	default:
		cli_error("directory unavailable (database busy or damaged)");
	}
	free(name);
	return -1;
}

/* How many users and aliases the domain has, for `show`. */
static int
cli_domain_counts(const struct cli_ctx *ctx, const char *name, size_t *users,
    size_t *aliases)
{
	struct cfg_strlist l;
	size_t i, nlen = strlen(name), alen;

	if (directory_user_list(ctx->dir, name, &l) == -1)
		return -1;
	*users = l.n;
	cfg_strlist_free(&l);
	if (directory_alias_list(ctx->dir, &l) == -1)
		return -1;
	*aliases = 0;
	for (i = 0; i < l.n; i++) {
		alen = strlen(l.v[i]);
		if (alen > nlen && l.v[i][alen - nlen - 1] == '@' &&
		    strcmp(l.v[i] + alen - nlen, name) == 0)
			(*aliases)++;
	}
	cfg_strlist_free(&l);
	return 0;
}

static int
cli_domain_show(const struct cli_ctx *ctx, const char *arg)
{
	struct dir_domain dom;
	struct dir_domain_effective eff;
	size_t users, aliases;
	const char *dflt = " (default)";

	if (cli_domain_load(ctx, arg, &dom) == -1)
		return CLI_FAIL;
	if (cli_domain_counts(ctx, dom.name, &users, &aliases) == -1) {
		dir_domain_clear(&dom);
		cli_error("directory unavailable (database busy or damaged)");
		return CLI_FAIL;
	}
	dir_domain_effective(&dom, ctx->cfg, &eff);
	printf("require_auth = %s%s\n", eff.require_auth ? "true" : "false",
	    dom.require_auth < 0 ? dflt : "");
	fputs("catch_all = ", stdout);
	cli_quote(stdout, eff.catch_all, false);
	/* A catch_all stored before the lock was set stays stored, unused. */
	if (dom.catch_all == NULL)
		fputs(dflt, stdout);
	else if (dom.catch_all[0] != '\0' && !ctx->cfg->allow_catch_all)
		fputs(" (locked: allow_catch_all = false)", stdout);
	fputc('\n', stdout);
	printf("bounces = %s%s\n", cli_domain_policy_name(eff.bounces),
	    dom.bounces < 0 ? dflt : "");
	printf("autoresponders = %s%s\n", cli_domain_policy_name(eff.autoresponders),
	    dom.autoresponders < 0 ? dflt : "");
	printf("max_message_size = %llu%s\n",
	    (unsigned long long)eff.max_message_size,
	    dom.max_message_size < 0 ? dflt : "");
	printf("users = %zu\naliases = %zu\n", users, aliases);
	dir_domain_clear(&dom);
	return CLI_OK;
}

static int
cli_domain_list(const struct cli_ctx *ctx)
{
	struct cfg_strlist l;
	size_t i;

	if (directory_domain_list(ctx->dir, &l) == -1) {
		cli_error("directory unavailable (database busy or damaged)");
		return CLI_FAIL;
	}
	for (i = 0; i < l.n; i++)
		printf("%s\n", l.v[i]);
	cfg_strlist_free(&l);
	return CLI_OK;
}

static int
cli_domain_set_one(const struct cli_ctx *ctx, const char *name,
    const char *key, const char *value, const char **err_out)
{
	return directory_domain_set(ctx->dir, ctx->cfg, name, key, value, err_out);
}

/* All KEY=VALUE or nothing (cli_set_all). */
static int
cli_domain_set(const struct cli_ctx *ctx, int argc, char **argv)
{
	struct dir_domain dom;
	int rc;

	if (!cli_kv_args_ok(argc, argv, 3))
		return cli_usage(CLI_DOMAIN_USAGE);
	if (cli_domain_load(ctx, argv[2], &dom) == -1)
		return CLI_FAIL;
	rc = cli_set_all(ctx, dom.name, argc, argv, 3, cli_domain_set_one);
	dir_domain_clear(&dom);
	return rc;
}

int
cli_domain(const struct cli_ctx *ctx, int argc, char **argv)
{
	const char *verb = argc >= 2 ? argv[1] : "", *err;
	int rc = 0;

	if (strcmp(verb, "list") == 0 && argc == 2)
		return cli_domain_list(ctx);
	if (strcmp(verb, "show") == 0 && argc == 3)
		return cli_domain_show(ctx, argv[2]);
	if (strcmp(verb, "set") == 0 && argc >= 4)
		return cli_domain_set(ctx, argc, argv);
	if (strcmp(verb, "add") == 0 && argc == 3)
		rc = directory_domain_add(ctx->dir, argv[2], &err);
	else if (strcmp(verb, "remove") == 0 && argc == 3)
		rc = directory_domain_remove(ctx->dir, argv[2], &err);
	else if (strcmp(verb, "propagate") == 0 && argc == 2)
		rc = directory_domain_reset_all(ctx->dir, &err);
	else
		return cli_usage(CLI_DOMAIN_USAGE);
	if (rc == -1) {
		cli_error("%s", err);
		return CLI_FAIL;
	}
	return CLI_OK;
}
