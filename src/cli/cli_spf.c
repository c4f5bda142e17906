/*
 * cli_spf: `postern spf [--dns HOST:PORT] IP HELO MAIL_FROM` (SPEC section
 * 1): one SPF check (RFC 7208) as the SMTP server would run it, on a loop
 * and a resolver of its own. Prints the result word, then "explanation:
 * TEXT" when a fail came with an exp= text; the reason of a permerror or
 * temperror goes to stderr as "problem: TEXT". Needs no data_dir.
 */
#include <arpa/inet.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/cli_util.h"
#include "core/limits.h"
#include "dns/dns.h"
#include "policy/spf.h"

#define CLI_SPF_USAGE	"spf [--dns HOST:PORT] IP HELO MAIL_FROM"

struct cli_spf_result {
	bool	done;
	int	rc;
};

static void
cli_spf_done(void *arg, const struct spf_outcome *o)
{
	struct cli_spf_result *res = arg;

	res->done = true;
	printf("%s\n", spf_result_name(o->result));
	if (o->explanation != NULL)
		printf("explanation: %s\n", o->explanation);
	if (o->problem != NULL)
		fprintf(stderr, "problem: %s\n", o->problem);
	res->rc = fflush(stdout) == 0 ? CLI_OK : CLI_FAIL;
}

static bool
cli_spf_is_ip(const char *s)
{
	unsigned char b[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, s, b) == 1 || inet_pton(AF_INET6, s, b) == 1;
}

int
cli_spf(const struct config *cfg, int argc, char **argv)
{
	struct cli_spf_result res = { false, CLI_FAIL };
	struct cfg_strlist servers = cfg->dns.servers;
	char *one[1], from[SMTP_PATH_MAX + 1], err[512];
	struct spf_request req;
	struct spf_resolver r;
	struct event_base *base;
	struct dns *dns;
	const char *mail;
	size_t len;
	int i = 1;

	if (argc > 2 && strcmp(argv[1], "--dns") == 0) {
		one[0] = argv[2];
		servers = (struct cfg_strlist){ one, 1 };
		i = 3;
	}
	if (argc - i != 3)
		return cli_usage(CLI_SPF_USAGE);
	if (!cli_spf_is_ip(argv[i])) {
		cli_error("spf: not an IP address: %s", argv[i]);
		return CLI_USAGE;
	}
	/* MAIL_FROM with or without <>; "" and "<>" are the null sender. */
	mail = argv[i + 2];
	len = strlen(mail);
	if (len >= 2 && mail[0] == '<' && mail[len - 1] == '>') {
		mail++;
		len -= 2;
	}
	if (len > SMTP_PATH_MAX) {
		cli_error("spf: MAIL_FROM longer than %d bytes", SMTP_PATH_MAX);
		return CLI_USAGE;
	}
	memcpy(from, mail, len);
	from[len] = '\0';
	req = (struct spf_request){ .ip = argv[i], .helo = argv[i + 1],
	    .sender = from, .receiver = cfg->hostname };
	if ((base = event_base_new()) == NULL) {
		cli_error("spf: cannot create an event loop");
		return CLI_FAIL;
	}
	if ((dns = dns_new(base, &servers, err, sizeof(err))) == NULL) {
		cli_error("spf: %s", err);
		event_base_free(base);
		return CLI_FAIL;
	}
	spf_resolver_dns(&r, dns);
	if (spf_check(&r, &req, (int64_t)time(NULL), cli_spf_done, &res) ==
	    NULL)
		cli_error("spf: cannot start the check");
	else
		(void)event_base_dispatch(base);
	dns_free(&dns);
	event_base_free(base);
	if (!res.done)
		return CLI_FAIL;
	return res.rc;
}
