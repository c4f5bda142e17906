/*
 * postern: main(). Parses -c, loads the configuration, and dispatches the
 * subcommands of SPEC section 1. Commands that touch data_dir run as
 * run_as (when started as root) with data_dir as their cwd, so every file
 * they create belongs to run_as.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/config.h"
#include "core/xalloc.h"
#include "directory/directory.h"
#include "server/master.h"
#include "server/privs.h"

#define POSTERN_VERSION "0.1.0"

static void
usage(void)
{
	fprintf(stderr,
	    "usage: postern [-c FILE] serve | check-config | version\n"
	    "       postern [-c FILE] domain add|remove|list|show|set|propagate ...\n"
	    "       postern [-c FILE] user add|remove|list|show|passwd|set ...\n"
	    "       postern [-c FILE] alias add|remove|list ...\n"
	    "       postern [-c FILE] access ban|trust|remove|list ...\n"
	    "       postern [-c FILE] queue list|show|delete ...\n"
	    "       postern [-c FILE] relay-test HOST:PORT [--from-ip ADDR] ...\n"
	    "       postern [-c FILE] dns-records DOMAIN [--dns HOST:PORT]\n"
	    "       postern [-c FILE] spf [--dns HOST:PORT] IP HELO MAIL_FROM\n");
}

/* Runs a directory or queue subcommand as run_as inside data_dir. */
static int
postern_admin(const struct config *cfg, int argc, char **argv)
{
	struct privs p;
	struct cli_ctx ctx = { .cfg = cfg, .in = stdin };
	const char *derr;
	char err[512];
	int rc;

	if (privs_resolve(cfg, &p, err, sizeof(err)) == -1 ||
	    privs_datadir(cfg, &p, err, sizeof(err)) == -1) {
		cli_error("%s", err);
		return 1;
	}
	privs_drop(&p);
	if (strcmp(argv[0], "queue") == 0)
		return cli_queue(&ctx, argc, argv);
	if (directory_open("postern.db", &ctx.dir, &derr) == -1) {
		cli_error("directory: %s", derr);
		return 1;
	}
	if (strcmp(argv[0], "domain") == 0)
		rc = cli_domain(&ctx, argc, argv);
	else if (strcmp(argv[0], "user") == 0)
		rc = cli_user(&ctx, argc, argv);
	else if (strcmp(argv[0], "alias") == 0)
		rc = cli_alias(&ctx, argc, argv);
	else
		rc = cli_access(&ctx, argc, argv);
	directory_close(&ctx.dir);
	return rc;
}

/*
 * relay-test and dns-records need no data_dir: they run where they are
 * started, as run_as when started as root (they read bytes from any
 * server on the network), without the chroot.
 */
static int
postern_tool(const struct config *cfg, int argc, char **argv)
{
	struct privs p;
	struct cli_ctx ctx = { .cfg = cfg, .in = stdin };
	char err[512];

	if (privs_resolve(cfg, &p, err, sizeof(err)) == -1) {
		cli_error("%s", err);
		return 1;
	}
	privs_drop_user(&p);
	if (strcmp(argv[0], "relay-test") == 0)
		return cli_relaytest(&ctx, argc, argv);
	return cli_dnsrecords(&ctx, argc, argv);
}

static bool
postern_command_known(const char *cmd)
{
	static const char *const cmds[] = { "serve", "check-config", "domain",
	    "user", "alias", "access", "queue", "spf", "relay-test",
	    "dns-records" };

	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(cmd, cmds[i]) == 0)
			return true;
	return false;
}

int
main(int argc, char **argv)
{
	const char *path = NULL;
	struct config *cfg;
	char err[1024];
	int opt;

	while ((opt = getopt(argc, argv, "+c:h")) != -1) {
		switch (opt) {
		case 'c':
			path = optarg;
			break;
		default:
			usage();
			return 2;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1) {
		usage();
		return 2;
	}
	if (strcmp(argv[0], "version") == 0) {
		printf("postern %s\n", POSTERN_VERSION);
		return 0;
	}
	if (!postern_command_known(argv[0])) {
		usage();
		return 2;
	}
	if (path == NULL)
		path = config_default_path();
	cfg = xcalloc(1, sizeof(*cfg));
	if (config_load(path, false, cfg, err, sizeof(err)) == -1) {
		fprintf(stderr, "postern: %s\n", err);
		free(cfg);
		return 1;
	}
	if (strcmp(argv[0], "check-config") == 0) {
		int rc = argc == 1 ? 0 : 2;

		if (rc == 0)
			config_print(cfg, stdout);
		else
			usage();
		config_free(cfg);
		free(cfg);
		return rc;
	}
	if (strcmp(argv[0], "spf") == 0) {
		/* No data_dir, no directory: a DNS check as any user. */
		int rc = cli_spf(cfg, argc, argv);

		config_free(cfg);
		free(cfg);
		return rc;
	}
	if (strcmp(argv[0], "serve") == 0) {
		if (argc != 1) {
			usage();
			return 2;
		}
		return master_serve(cfg, path, cfg->path != NULL);
	}
	{
		bool tool = strcmp(argv[0], "relay-test") == 0 ||
		    strcmp(argv[0], "dns-records") == 0;
		int rc = tool ? postern_tool(cfg, argc, argv) :
		    postern_admin(cfg, argc, argv);

		config_free(cfg);
		free(cfg);
		return rc;
	}
}
