/*
 * config_defaults: the built-in configuration of SPEC section 2 (each
 * default the secure choice) and the release of a loaded one. What the
 * defaults print as is what `postern check-config` shows without a file.
 */
#include <errno.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"
#include "core/config_internal.h"
#include "core/limits.h"
#include "core/xalloc.h"

static void
config_strlist_set(struct cfg_strlist *l, const char *const *v, size_t n)
{
	l->v = xcalloc(n, sizeof(*l->v));
	for (l->n = 0; l->n < n; l->n++)
		l->v[l->n] = xstrdup(v[l->n]);
}

static void
config_default_hostname(struct config *cfg)
{
	char name[SMTP_DOMAIN_MAX + 1];

	/* gethostname() may truncate without a NUL; force one. */
	if (gethostname(name, sizeof(name)) == -1 || name[0] == '\0')
		snprintf(name, sizeof(name), "localhost");
	name[sizeof(name) - 1] = '\0';
	cfg->hostname = xstrdup(name);
}

static void
config_default_listen(struct config *cfg)
{
	static const struct {
		enum cfg_service	 svc;
		const char		*addr;
	} def[] = {
		{ SVC_SMTP, "0.0.0.0:25" }, { SVC_SUBMISSION, "0.0.0.0:587" },
		{ SVC_SUBMISSIONS, "0.0.0.0:465" }, { SVC_POP3, "0.0.0.0:110" },
		{ SVC_POP3S, "0.0.0.0:995" }, { SVC_IMAP, "0.0.0.0:143" },
		{ SVC_IMAPS, "0.0.0.0:993" },
	};
	size_t n = sizeof(def) / sizeof(def[0]);

	cfg->listen = xcalloc(n, sizeof(*cfg->listen));
	for (cfg->nlisten = 0; cfg->nlisten < n; cfg->nlisten++) {
		struct cfg_listen *l = &cfg->listen[cfg->nlisten];

		l->service = def[cfg->nlisten].svc;
		l->address = xstrdup(def[cfg->nlisten].addr);
		if (config_listen_addr_parse(l->address, &l->sa, &l->salen) == -1)
			fatal("config: bad built-in listener %s", l->address);
	}
}

/* One assignment per key, in SPEC section 2 order: long, but flat, and
 * easy to hold against the SPEC line by line. */
void
config_defaults(struct config *cfg)
{
	static const char *const mechanisms[] = { "PLAIN", "LOGIN" };
	static const char *const block[] = {
		"*.exe", "*.scr", "*.pif", "*.com", "*.bat", "*.cmd", "*.vbs",
		"*.js", "*.jar", "*.msi", "*.hta", "*.lnk",
	};
	static const unsigned retry[] = { 300, 900, 1800, 3600, 7200, 14400 };
	struct cidr c;

	memset(cfg, 0, sizeof(*cfg));
	config_default_hostname(cfg);
	if (geteuid() == 0)
		cfg->data_dir = xstrdup("/var/lib/postern");
	else if ((cfg->data_dir = config_path_absolute("./var")) == NULL)
		fatal("config: cannot resolve ./var: %s", strerror(errno));
	cfg->run_as = xstrdup("postern");
	cfg->smtp_banner = xstrdup("ESMTP");

	cfg->tls.cert = xstrdup("");
	cfg->tls.key = xstrdup("");
	cfg->tls.min_version = TLS1_2_VERSION;
	cfg->tls.min_version_name = xstrdup("TLSv1.2");

	config_default_listen(cfg);

	config_strlist_set(&cfg->auth.mechanisms, mechanisms, 2);
	cfg->auth.failures_before_ban = 5;
	cfg->auth.failure_window = 600;
	cfg->auth.ban_time = 3600;

	cfg->relay.trusted_networks.v = xcalloc(2, sizeof(struct cidr));
	if (cidr_parse("127.0.0.0/8", false, &c) == -1)
		fatal("config: bad built-in network");
	cfg->relay.trusted_networks.v[cfg->relay.trusted_networks.n++] = c;
	if (cidr_parse("::1/128", false, &c) == -1)
		fatal("config: bad built-in network");
	cfg->relay.trusted_networks.v[cfg->relay.trusted_networks.n++] = c;
	cfg->relay.smtp_after_pop = 0;
	cfg->relay.sender_rule = SENDER_RULE_LOCAL_DOMAIN;

	cfg->domain_defaults.require_auth = true;
	cfg->domain_defaults.catch_all = xstrdup("");
	cfg->domain_defaults.bounces = POLICY_REQUIRE_SPF;
	cfg->domain_defaults.autoresponders = POLICY_REQUIRE_SPF;
	cfg->domain_defaults.max_message_size = 25ULL << 20;
	cfg->allow_catch_all = false;

	cfg->checks.verify_recipients = true;
	cfg->checks.verify_sender_domain = true;
	cfg->checks.spf = CHECK_REJECT;
	cfg->checks.rdns = CHECK_TAG;
	cfg->checks.helo = HELO_REJECT_INVALID;
	cfg->checks.pregreet_reject = true;
	cfg->checks.greet_delay = 0;

	cfg->limits.message_size = 25ULL << 20;
	cfg->limits.recipients = 100;
	cfg->limits.connections = 1000;
	cfg->limits.connections_per_ip = 20;
	cfg->limits.errors_before_disconnect = 10;
	cfg->limits.command_timeout = 300;

	config_strlist_set(&cfg->filters.attachments.block, block,
	    sizeof(block) / sizeof(block[0]));
	cfg->filters.attachments.action = ACTION_REJECT;
	cfg->filters.attachments.notify = 0;
	cfg->filters.antivirus.clamd = xstrdup("");
	cfg->filters.antivirus.action = ACTION_REJECT;
	cfg->filters.antivirus.on_error = ON_ERROR_TEMPFAIL;
	cfg->filters.quarantine = xstrdup("");

	cfg->delivery.relayhost = xstrdup("");
	cfg->delivery.relayhost_credentials = xstrdup("");
	cfg->delivery.port = 25;
	cfg->delivery.tls = DELIVERY_TLS_OPPORTUNISTIC;
	cfg->delivery.nretry = sizeof(retry) / sizeof(retry[0]);
	cfg->delivery.retry = xcalloc(cfg->delivery.nretry, sizeof(unsigned));
	memcpy(cfg->delivery.retry, retry, sizeof(retry));
	cfg->delivery.max_lifetime = 5 * 86400;

	cfg->log.file = xstrdup("");
	cfg->log.level = LOGL_INFO;
	cfg->log.remote = xstrdup("");
}

static void
config_strlist_free(struct cfg_strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

void
config_free_listen(struct config *cfg)
{
	for (size_t i = 0; i < cfg->nlisten; i++) {
		free(cfg->listen[i].address);
		cidr_list_free(&cfg->listen[i].allow);
	}
	free(cfg->listen);
	cfg->listen = NULL;
	cfg->nlisten = 0;
}

void
config_free(struct config *cfg)
{
	if (cfg == NULL)
		return;
	free(cfg->path);
	free(cfg->hostname);
	free(cfg->data_dir);
	free(cfg->run_as);
	free(cfg->smtp_banner);
	free(cfg->tls.cert);
	free(cfg->tls.key);
	free(cfg->tls.min_version_name);
	config_free_listen(cfg);
	config_strlist_free(&cfg->auth.mechanisms);
	cidr_list_free(&cfg->relay.trusted_networks);
	free(cfg->domain_defaults.catch_all);
	for (size_t i = 0; i < cfg->checks.ndnsbl; i++)
		free(cfg->checks.dnsbl[i].zone);
	free(cfg->checks.dnsbl);
	config_strlist_free(&cfg->filters.attachments.block);
	for (size_t i = 0; i < cfg->filters.ncontent; i++)
		free(cfg->filters.content[i].match);
	free(cfg->filters.content);
	free(cfg->filters.antivirus.clamd);
	for (size_t i = 0; i < cfg->filters.nmilters; i++)
		free(cfg->filters.milters[i].address);
	free(cfg->filters.milters);
	free(cfg->filters.quarantine);
	free(cfg->delivery.relayhost);
	free(cfg->delivery.relayhost_credentials);
	free(cfg->delivery.retry);
	config_strlist_free(&cfg->dns.servers);
	free(cfg->log.file);
	free(cfg->log.remote);
	memset(cfg, 0, sizeof(*cfg));
}
