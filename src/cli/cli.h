/*
 * cli: the administrator's subcommands of the one binary (SPEC section 1).
 * Each returns the exit status: 0 success, 1 failure (one line on stderr),
 * 2 usage error. argv[0] is the subcommand name ("domain", "user", ...).
 */
#ifndef POSTERN_CLI_H
#define POSTERN_CLI_H

#include <stdio.h>

#include "core/config.h"
#include "directory/directory.h"

struct cli_ctx {
	const struct config	*cfg;
	struct directory	*dir;	/* open; cwd is data_dir (NULL for
					 * relay-test and dns-records) */
	FILE			*in;	/* passwords come from here (stdin) */
};

int	cli_domain(const struct cli_ctx *ctx, int argc, char **argv);
int	cli_user(const struct cli_ctx *ctx, int argc, char **argv);
int	cli_alias(const struct cli_ctx *ctx, int argc, char **argv);
int	cli_access(const struct cli_ctx *ctx, int argc, char **argv);
int	cli_queue(const struct cli_ctx *ctx, int argc, char **argv);
/* Network tools: no data_dir, no directory (ctx->dir is NULL). relay-test
 * exits 1 when a trick relayed or the target could not be tried;
 * dns-records exits 1 when a check failed. */
int	cli_relaytest(const struct cli_ctx *ctx, int argc, char **argv);
int	cli_dnsrecords(const struct cli_ctx *ctx, int argc, char **argv);
/* `spf`: needs the configuration only (dns.servers, hostname), no
 * data_dir and no directory. */
int	cli_spf(const struct config *cfg, int argc, char **argv);

/* Prints "postern: <msg>" on stderr. */
void	cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
