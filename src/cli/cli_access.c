/*
 * cli_access: `postern access ban|trust|remove|list` (SPEC sections 1 and
 * 5). Networks are checked strictly (host bits zero) and stored in their
 * canonical text; --expires takes a duration (plain seconds or s/m/h/d).
 * `list` shows unexpired entries only, expiry in RFC 3339 UTC.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli_util.h"
#include "core/cidr.h"

#define CLI_ACCESS_USAGE "access ban|trust CIDR [--reason TEXT] [--expires DURATION] |" \
	" access remove CIDR | access list [CIDR]"

/* ours: 68 years; anything longer is "never", which needs no --expires */
#define CLI_DURATION_MAX_SEC	INT32_MAX

/* "90", "90s", "5m", "12h", "7d" -> seconds; 0 or -1. Zero is refused:
 * an entry that expires at once is a mistake. */
static int
cli_access_parse_duration(const char *s, int64_t *out)
{
	int64_t v = 0, mult = 1;

	if (*s < '0' || *s > '9')
		return -1;
	for (; *s >= '0' && *s <= '9'; s++) {
		v = v * 10 + (*s - '0');
		if (v > CLI_DURATION_MAX_SEC)
			return -1;
	}
	switch (*s) {
	case 's': mult = 1; s++; break;
	case 'm': mult = 60; s++; break;
	case 'h': mult = 3600; s++; break;
	case 'd': mult = 86400; s++; break;
	default: break;
	}
	if (*s != '\0' || v == 0 || v > CLI_DURATION_MAX_SEC / mult)
		return -1;
	*out = v * mult;
	return 0;
}

static int
cli_access_add(const struct cli_ctx *ctx, enum access_kind kind, int argc, char **argv)
{
	const char *cidr = NULL, *reason = NULL, *expires = NULL, *err;
	int64_t duration = 0;
	int i;

	for (i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--reason") == 0 && i + 1 < argc && reason == NULL)
			reason = argv[++i];
		else if (strcmp(argv[i], "--expires") == 0 && i + 1 < argc && expires == NULL)
			expires = argv[++i];
		else if (argv[i][0] != '-' && cidr == NULL)
			cidr = argv[i];
		else
			return cli_usage(CLI_ACCESS_USAGE);
	}
	if (cidr == NULL)
		return cli_usage(CLI_ACCESS_USAGE);
	if (expires != NULL && cli_access_parse_duration(expires, &duration) == -1) {
		cli_error("bad --expires duration (seconds, or with s, m, h or d: 12h, 7d)");
		return CLI_FAIL;
	}
	if (directory_access_add(ctx->dir, kind, cidr, reason,
	    duration > 0 ? (int64_t)time(NULL) + duration : 0, &err) == -1) {
		cli_error("%s", err);
		return CLI_FAIL;
	}
	return CLI_OK;
}

static int
cli_access_list(const struct cli_ctx *ctx, const char *cidr)
{
	struct dir_access *v;
	struct cidr c;
	size_t n, i;
	char when[32], canon[64];
	struct tm tm;
	time_t t;

	if (cidr != NULL) {
		if (cidr_parse(cidr, false, &c) == -1) {
			cli_error("invalid network: expected an address or"
			    " ADDRESS/PREFIX with the host bits zero");
			return CLI_FAIL;
		}
		cidr_format(&c, canon, sizeof(canon));
	}
	if (directory_access_list(ctx->dir, cidr, (int64_t)time(NULL), &v, &n) == -1) {
		cli_error("directory unavailable (database busy or damaged)");
		return CLI_FAIL;
	}
	if (cidr != NULL && n == 0) {
		cli_error("no access entry for %s", canon);
		return CLI_FAIL;
	}
	for (i = 0; i < n; i++) {
		t = (time_t)v[i].expires;
		if (v[i].expires == 0 || gmtime_r(&t, &tm) == NULL ||
		    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
			memcpy(when, "never", sizeof("never"));
		printf("%s %s expires=%s reason=", v[i].cidr,
		    v[i].kind == ACCESS_BAN ? "ban" : "trust", when);
		cli_quote(stdout, v[i].reason, true);
		putchar('\n');
	}
	dir_access_list_free(v, n);
	return CLI_OK;
}

int
cli_access(const struct cli_ctx *ctx, int argc, char **argv)
{
	const char *verb = argc >= 2 ? argv[1] : "", *err;

	if (strcmp(verb, "ban") == 0 && argc >= 3)
		return cli_access_add(ctx, ACCESS_BAN, argc, argv);
	if (strcmp(verb, "trust") == 0 && argc >= 3)
		return cli_access_add(ctx, ACCESS_TRUST, argc, argv);
	if (strcmp(verb, "list") == 0 && (argc == 2 || argc == 3))
		return cli_access_list(ctx, argc == 3 ? argv[2] : NULL);
	if (strcmp(verb, "remove") == 0 && argc == 3) {
		if (directory_access_remove(ctx->dir, argv[2], &err) == -1) {
			cli_error("%s", err);
			return CLI_FAIL;
		}
		return CLI_OK;
	}
	return cli_usage(CLI_ACCESS_USAGE);
}
