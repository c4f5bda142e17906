/* placeholder */
#include "cli/cli.h"
#include "cli/cli_util.h"

int
cli_dnsrecords(const struct cli_ctx *ctx, int argc, char **argv)
{
	(void)ctx;
	(void)argc;
	(void)argv;
	return cli_usage("dns-records DOMAIN");
}
