/*
 * config_keys: the keys of SPEC section 2, one table per group, and the
 * parsers of values that need more than a type and a range (listeners,
 * CIDR lists, addresses, hosts). config.c walks the file against these
 * tables; an entry missing here is an "unknown key" error there.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/config.h"
#include "core/config_internal.h"
#include "core/limits.h"
#include "core/xalloc.h"

static bool
config_glob_valid(const char *s)
{
	return *s != '\0';
}

/* ---- top level ---- */

static int
config_parse_hostname(struct config_ctx *ctx, const config_setting_t *s,
    void *base)
{
	const char *v;

	if (config_want_string(ctx, s, "hostname", &v) == -1)
		return -1;
	if (!config_hostname_valid(v))
		return config_error(ctx, config_line(s),
		    "'hostname': '%.64s' is not a host name", v);
	config_set_string(&ctx->cfg->hostname, v);
	return 0;
}

/* Relative paths are resolved now, against the directory postern was
 * started in, so a later chdir() cannot move them. */
static int
config_want_path(struct config_ctx *ctx, const config_setting_t *s,
    const char *what, bool empty_ok, char **field)
{
	const char *v;
	char *abs;

	if (config_want_string(ctx, s, what, &v) == -1)
		return -1;
	if (*v == '\0') {
		if (!empty_ok)
			return config_error(ctx, config_line(s),
			    "'%s' must not be empty", what);
		config_set_string(field, "");
		return 0;
	}
	if ((abs = config_path_absolute(v)) == NULL)
		return config_error(ctx, config_line(s),
		    "'%s': cannot resolve '%.64s': %s", what, v, strerror(errno));
	free(*field);
	*field = abs;
	return 0;
}

static int
config_parse_data_dir(struct config_ctx *ctx, const config_setting_t *s,
    void *base)
{
	return config_want_path(ctx, s, "data_dir", false, &ctx->cfg->data_dir);
}

static int
config_parse_run_as(struct config_ctx *ctx, const config_setting_t *s,
    void *base)
{
	const char *v;

	if (config_want_string(ctx, s, "run_as", &v) == -1)
		return -1;
	if (!config_run_as_valid(v))
		return config_error(ctx, config_line(s),
		    "'run_as': '%.64s' is not a user name postern may run as", v);
	config_set_string(&ctx->cfg->run_as, v);
	return 0;
}

static int
config_parse_banner(struct config_ctx *ctx, const config_setting_t *s,
    void *base)
{
	const char *v;

	if (config_want_string(ctx, s, "smtp_banner", &v) == -1)
		return -1;
	if (!config_banner_valid(v))
		return config_error(ctx, config_line(s),
		    "'smtp_banner' must be printable ASCII of at most %d bytes",
		    CONFIG_BANNER_MAX);
	config_set_string(&ctx->cfg->smtp_banner, v);
	return 0;
}

/* ---- tls ---- */

static int
config_parse_tls_cert(struct config_ctx *ctx, const config_setting_t *s,
    void *base)
{
	return config_want_path(ctx, s, "tls.cert", true, &ctx->cfg->tls.cert);
}

static int
config_parse_tls_key(struct config_ctx *ctx, const config_setting_t *s,
    void *base)
{
	return config_want_path(ctx, s, "tls.key", true, &ctx->cfg->tls.key);
}

static int
config_parse_tls_min(struct config_ctx *ctx, const config_setting_t *s,
    void *base)
{
	int v;

	if (config_want_enum(ctx, s, "tls.min_version", config_enum_tls_version,
	    &v) == -1)
		return -1;
	ctx->cfg->tls.min_version = v;
	config_set_string(&ctx->cfg->tls.min_version_name,
	    config_enum_name(config_enum_tls_version, v));
	return 0;
}

static const struct config_key config_keys_tls[] = {
	KEY_FN("cert", config_parse_tls_cert),
	KEY_FN("key", config_parse_tls_key),
	KEY_FN("min_version", config_parse_tls_min),
	KEY_END
};

/* ---- listen ---- */

static int
config_parse_listen_allow(struct config_ctx *ctx, const config_setting_t *s,
    void *base)
{
	struct cfg_listen *l = base;

	if (config_want_cidrs(ctx, s, "listen.allow", &l->allow) == -1)
		return -1;
	/* An empty allow list would refuse everyone: a listener that
	 * cannot be used is a mistake; "disable what you do not use". */
	if (l->allow.n == 0)
		return config_error(ctx, config_line(s), "'listen.allow' is "
		    "empty: nobody could connect; remove the listener instead");
	l->has_allow = true;
	return 0;
}

static int
config_parse_listen_auth(struct config_ctx *ctx, const config_setting_t *s,
    void *base)
{
	struct cfg_listen *l = base;

	if (config_setting_type(s) != CONFIG_TYPE_BOOL)
		return config_error(ctx, config_line(s),
		    "'listen.auth' must be true or false");
	l->auth = config_setting_get_bool(s) != 0;
	return 0;
}

#define LFIELD(f)	offsetof(struct cfg_listen, f)
static const struct config_key config_keys_listen[] = {
	{ .name = "service", .kind = CK_ENUM, .off = LFIELD(service),
	  .enums = config_enum_service, .required = true },
	{ .name = "address", .kind = CK_STRING, .off = LFIELD(address),
	  .required = true },
	KEY_FN("allow", config_parse_listen_allow),
	KEY_FN("auth", config_parse_listen_auth),
	KEY_END
};

static bool
config_sa_is_wildcard(const struct sockaddr_storage *sa)
{
	static const struct in6_addr any6 = IN6ADDR_ANY_INIT;

	if (sa->ss_family == AF_INET)
		return ((const struct sockaddr_in *)sa)->sin_addr.s_addr ==
		    htonl(INADDR_ANY);
	return memcmp(&((const struct sockaddr_in6 *)sa)->sin6_addr, &any6,
	    sizeof(any6)) == 0;
}

static in_port_t
config_sa_port(const struct sockaddr_storage *sa)
{
	if (sa->ss_family == AF_INET)
		return ((const struct sockaddr_in *)sa)->sin_port;
	return ((const struct sockaddr_in6 *)sa)->sin6_port;
}

/*
 * Two listeners on one port clash when the addresses are equal or one is
 * the wildcard of the same family: bind() would fail at start-up, later
 * and with a vaguer message than this.
 */
static int
config_check_listen_clash(struct config_ctx *ctx, const config_setting_t *list,
    size_t i)
{
	const struct cfg_listen *a = &ctx->cfg->listen[i];

	for (size_t j = 0; j < i; j++) {
		const struct cfg_listen *b = &ctx->cfg->listen[j];

		if (a->sa.ss_family != b->sa.ss_family ||
		    config_sa_port(&a->sa) != config_sa_port(&b->sa))
			continue;
		if (a->salen == b->salen && memcmp(&a->sa, &b->sa, a->salen) == 0)
			return config_error(ctx, config_line(
			    config_setting_get_elem(list, (unsigned)i)),
			    "listen address '%s' given twice (line %u)",
			    a->address, config_line(config_setting_get_elem(list,
			    (unsigned)j)));
		if (config_sa_is_wildcard(&a->sa) || config_sa_is_wildcard(&b->sa))
			return config_error(ctx, config_line(
			    config_setting_get_elem(list, (unsigned)i)),
			    "listen address '%s' overlaps '%s' (line %u)",
			    a->address, b->address, config_line(
			    config_setting_get_elem(list, (unsigned)j)));
	}
	return 0;
}

static int
config_parse_listen(struct config_ctx *ctx, const config_setting_t *s,
    void *base)
{
	struct config *cfg = ctx->cfg;
	int n = config_want_list(ctx, s, "listen", true);

	if (n == -1)
		return -1;
	config_free_listen(cfg);
	cfg->listen = n > 0 ? xcalloc((size_t)n, sizeof(*cfg->listen)) : NULL;
	cfg->nlisten = (size_t)n;
	for (size_t i = 0; i < (size_t)n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		struct cfg_listen *l = &cfg->listen[i];

		if (config_walk(ctx, e, config_keys_listen, l, "listen") == -1)
			return -1;
		if (config_listen_addr_parse(l->address, &l->sa, &l->salen) == -1)
			return config_error(ctx, config_line(
			    config_setting_get_member(e, "address")),
			    "'listen.address': bad address '%.64s' (want "
			    "\"0.0.0.0:25\" or \"[::]:25\")", l->address);
		/* SPEC 5: AUTH on port 25 is an smtp-only legacy switch;
		 * submission always offers it and POP3/IMAP have their own. */
		if (l->service != SVC_SMTP &&
		    config_setting_get_member(e, "auth") != NULL)
			return config_error(ctx, config_line(
			    config_setting_get_member(e, "auth")),
			    "'listen.auth' is only for service \"smtp\"");
		if (config_check_listen_clash(ctx, s, i) == -1)
			return -1;
	}
	return 0;
}

/* ---- auth, relay ---- */

static bool
config_mechanism_valid(const char *s)
{
	return strcasecmp(s, "PLAIN") == 0 || strcasecmp(s, "LOGIN") == 0;
}

static int
config_parse_mechanisms(struct config_ctx *ctx, const config_setting_t *s,
    void *base)
{
	struct cfg_strlist *l = &ctx->cfg->auth.mechanisms;

	if (config_want_strlist(ctx, s, "auth.mechanisms",
	    config_mechanism_valid, "PLAIN or LOGIN", l) == -1)
		return -1;
	for (size_t i = 0; i < l->n; i++) {
		for (char *p = l->v[i]; *p != '\0'; p++)
			if (*p >= 'a' && *p <= 'z')
				*p = (char)(*p - 'a' + 'A');
		for (size_t j = 0; j < i; j++)
			if (strcmp(l->v[i], l->v[j]) == 0)
				return config_error(ctx, config_line(
				    config_setting_get_elem(s, (unsigned)i)),
				    "'auth.mechanisms': '%s' given twice",
				    l->v[i]);
	}
	return 0;
}

static const struct config_key config_keys_auth[] = {
	KEY_FN("mechanisms", config_parse_mechanisms),
	KEY_UINT("failures_before_ban", auth.failures_before_ban, 1,
	    CONFIG_COUNT_MAX),
	KEY_DUR("failure_window", auth.failure_window, 1, CONFIG_DURATION_MAX_SEC),
	KEY_DUR("ban_time", auth.ban_time, 1, CONFIG_DURATION_MAX_SEC),
	KEY_END
};

static int
config_parse_trusted(struct config_ctx *ctx, const config_setting_t *s,
    void *base)
{
	return config_want_cidrs(ctx, s, "relay.trusted_networks",
	    &ctx->cfg->relay.trusted_networks);
}

static const struct config_key config_keys_relay[] = {
	KEY_FN("trusted_networks", config_parse_trusted),
	KEY_DUR("smtp_after_pop", relay.smtp_after_pop, 0,
	    CONFIG_DURATION_MAX_SEC),
	KEY_ENUM("sender_rule", relay.sender_rule, config_enum_sender_rule),
	KEY_END
};

/* ---- domain_defaults, allow_catch_all ---- */

static int
config_parse_catch_all(struct config_ctx *ctx, const config_setting_t *s,
    void *base)
{
	const char *v;

	if (config_want_string(ctx, s, "domain_defaults.catch_all", &v) == -1)
		return -1;
	if (*v != '\0' && !config_mailbox_valid(v))
		return config_error(ctx, config_line(s),
		    "'domain_defaults.catch_all': '%.64s' is not an address", v);
	config_set_string(&ctx->cfg->domain_defaults.catch_all, v);
	return 0;
}

static const struct config_key config_keys_domain[] = {
	KEY_BOOL("require_auth", domain_defaults.require_auth),
	KEY_FN("catch_all", config_parse_catch_all),
	KEY_ENUM("bounces", domain_defaults.bounces, config_enum_spf_policy),
	KEY_ENUM("autoresponders", domain_defaults.autoresponders,
	    config_enum_spf_policy),
	KEY_SIZE("max_message_size", domain_defaults.max_message_size, 1,
	    SMTP_MSG_SIZE_HARD_MAX),
	KEY_END
};

/* ---- checks ---- */

#define BFIELD(f)	offsetof(struct cfg_dnsbl, f)
static const struct config_key config_keys_dnsbl[] = {
	{ .name = "zone", .kind = CK_STRING, .off = BFIELD(zone),
	  .required = true },
	{ .name = "action", .kind = CK_ENUM, .off = BFIELD(action),
	  .enums = config_enum_dnsbl_action },
	KEY_END
};

static int
config_parse_dnsbl(struct config_ctx *ctx, const config_setting_t *s,
    void *base)
{
	struct config *cfg = ctx->cfg;
	int n = config_want_list(ctx, s, "checks.dnsbl", true);

	if (n == -1)
		return -1;
	for (size_t i = 0; i < cfg->checks.ndnsbl; i++)
		free(cfg->checks.dnsbl[i].zone);
	free(cfg->checks.dnsbl);
	cfg->checks.dnsbl = xcalloc((size_t)n, sizeof(*cfg->checks.dnsbl));
	cfg->checks.ndnsbl = (size_t)n;
	for (size_t i = 0; i < (size_t)n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		struct cfg_dnsbl *d = &cfg->checks.dnsbl[i];

		d->action = ACTION_REJECT;
		if (config_walk(ctx, e, config_keys_dnsbl, d, "checks.dnsbl") == -1)
			return -1;
		if (!config_hostname_valid(d->zone))
			return config_error(ctx, config_line(
			    config_setting_get_member(e, "zone")),
			    "'checks.dnsbl.zone': '%.64s' is not a DNS zone",
			    d->zone);
	}
	return 0;
}

static int
config_parse_pregreet(struct config_ctx *ctx, const config_setting_t *s,
    void *base)
{
	int v;

	if (config_want_enum(ctx, s, "checks.pregreet", config_enum_pregreet,
	    &v) == -1)
		return -1;
	ctx->cfg->checks.pregreet_reject = v != 0;
	return 0;
}

static const struct config_key config_keys_checks[] = {
	KEY_BOOL("verify_recipients", checks.verify_recipients),
	KEY_BOOL("verify_sender_domain", checks.verify_sender_domain),
	KEY_ENUM("spf", checks.spf, config_enum_check_mode),
	KEY_ENUM("rdns", checks.rdns, config_enum_check_mode),
	KEY_ENUM("helo", checks.helo, config_enum_helo),
	KEY_FN("dnsbl", config_parse_dnsbl),
	KEY_FN("pregreet", config_parse_pregreet),
	KEY_DUR("greet_delay", checks.greet_delay, 0,
	    CONFIG_GREET_DELAY_MAX_SEC),
	KEY_END
};

/* No 5-minute floor on command_timeout (RFC 5321 4.5.3.2.7 is advice to
 * servers, and tests need short idle timeouts); see docs/configuration.md. */
static const struct config_key config_keys_limits[] = {
	KEY_SIZE("message_size", limits.message_size, 1, SMTP_MSG_SIZE_HARD_MAX),
	KEY_UINT("recipients", limits.recipients, 1, SMTP_RCPT_HARD_MAX),
	KEY_UINT("connections", limits.connections, 1, CONFIG_COUNT_MAX),
	KEY_UINT("connections_per_ip", limits.connections_per_ip, 1,
	    CONFIG_COUNT_MAX),
	KEY_UINT("errors_before_disconnect", limits.errors_before_disconnect, 1,
	    CONFIG_COUNT_MAX),
	KEY_DUR("command_timeout", limits.command_timeout, 1,
	    CONFIG_DURATION_MAX_SEC),
	KEY_END
};

/* ---- filters ---- */

static int
config_parse_block(struct config_ctx *ctx, const config_setting_t *s,
    void *base)
{
	return config_want_strlist(ctx, s, "filters.attachments.block",
	    config_glob_valid, "an empty pattern matches nothing",
	    &ctx->cfg->filters.attachments.block);
}

static int
config_parse_notify(struct config_ctx *ctx, const config_setting_t *s,
    void *base)
{
	int n = config_want_list(ctx, s, "filters.attachments.notify", false);
	unsigned bits = 0;
	int v;

	if (n == -1)
		return -1;
	for (int i = 0; i < n; i++)
		if (config_want_enum(ctx, config_setting_get_elem(s, (unsigned)i),
		    "filters.attachments.notify", config_enum_notify, &v) == -1)
			return -1;
		else
			bits |= (unsigned)v;
	ctx->cfg->filters.attachments.notify = bits;
	return 0;
}

static const struct config_key config_keys_attachments[] = {
	KEY_FN("block", config_parse_block),
	KEY_ENUM("action", filters.attachments.action, config_enum_filter_action),
	KEY_FN("notify", config_parse_notify),
	KEY_END
};

#define CFIELD(f)	offsetof(struct cfg_content_rule, f)
static const struct config_key config_keys_content[] = {
	{ .name = "match", .kind = CK_STRING, .off = CFIELD(match),
	  .required = true },
	{ .name = "where", .kind = CK_ENUM, .off = CFIELD(where),
	  .enums = config_enum_where },
	{ .name = "action", .kind = CK_ENUM, .off = CFIELD(action),
	  .enums = config_enum_filter_action },
	KEY_END
};

static int
config_parse_content(struct config_ctx *ctx, const config_setting_t *s,
    void *base)
{
	struct config *cfg = ctx->cfg;
	int n = config_want_list(ctx, s, "filters.content", true);

	if (n == -1)
		return -1;
	for (size_t i = 0; i < cfg->filters.ncontent; i++)
		free(cfg->filters.content[i].match);
	free(cfg->filters.content);
	cfg->filters.content = xcalloc((size_t)n, sizeof(*cfg->filters.content));
	cfg->filters.ncontent = (size_t)n;
	for (size_t i = 0; i < (size_t)n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		struct cfg_content_rule *r = &cfg->filters.content[i];

		r->where = WHERE_ANY;
		r->action = ACTION_REJECT;
		if (config_walk(ctx, e, config_keys_content, r,
		    "filters.content") == -1)
			return -1;
		/* An empty needle matches every message. */
		if (*r->match == '\0')
			return config_error(ctx, config_line(
			    config_setting_get_member(e, "match")),
			    "'filters.content.match' must not be empty");
	}
	return 0;
}

static int
config_parse_clamd(struct config_ctx *ctx, const config_setting_t *s,
    void *base)
{
	const char *v;

	if (config_want_string(ctx, s, "filters.antivirus.clamd", &v) == -1)
		return -1;
	if (!config_clamd_valid(v))
		return config_error(ctx, config_line(s),
		    "'filters.antivirus.clamd': bad address '%.64s' (want "
		    "\"unix:/path\" or \"inet:host:port\")", v);
	config_set_string(&ctx->cfg->filters.antivirus.clamd, v);
	return 0;
}

static const struct config_key config_keys_antivirus[] = {
	KEY_FN("clamd", config_parse_clamd),
	KEY_ENUM("action", filters.antivirus.action, config_enum_filter_action),
	KEY_ENUM("on_error", filters.antivirus.on_error, config_enum_on_error),
	KEY_END
};

#define MFIELD(f)	offsetof(struct cfg_milter, f)
static const struct config_key config_keys_milter[] = {
	{ .name = "address", .kind = CK_STRING, .off = MFIELD(address),
	  .required = true },
	{ .name = "on_error", .kind = CK_ENUM, .off = MFIELD(on_error),
	  .enums = config_enum_on_error },
	KEY_END
};

static int
config_parse_milters(struct config_ctx *ctx, const config_setting_t *s,
    void *base)
{
	struct config *cfg = ctx->cfg;
	int n = config_want_list(ctx, s, "filters.milters", true);

	if (n == -1)
		return -1;
	for (size_t i = 0; i < cfg->filters.nmilters; i++)
		free(cfg->filters.milters[i].address);
	free(cfg->filters.milters);
	cfg->filters.milters = xcalloc((size_t)n, sizeof(*cfg->filters.milters));
	cfg->filters.nmilters = (size_t)n;
	for (size_t i = 0; i < (size_t)n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		struct cfg_milter *m = &cfg->filters.milters[i];

		m->on_error = ON_ERROR_TEMPFAIL;
		if (config_walk(ctx, e, config_keys_milter, m,
		    "filters.milters") == -1)
			return -1;
		if (!config_milter_valid(m->address))
			return config_error(ctx, config_line(
			    config_setting_get_member(e, "address")),
			    "'filters.milters.address': bad address '%.64s' "
			    "(want \"unix:/path\" or \"inet:host:port\")",
			    m->address);
	}
	return 0;
}

static int
config_parse_quarantine(struct config_ctx *ctx, const config_setting_t *s,
    void *base)
{
	const char *v;

	if (config_want_string(ctx, s, "filters.quarantine", &v) == -1)
		return -1;
	if (*v != '\0' && !config_mailbox_valid(v))
		return config_error(ctx, config_line(s),
		    "'filters.quarantine': '%.64s' is not an address", v);
	config_set_string(&ctx->cfg->filters.quarantine, v);
	return 0;
}

static const struct config_key config_keys_filters[] = {
	KEY_GROUP("attachments", config_keys_attachments),
	KEY_FN("content", config_parse_content),
	KEY_GROUP("antivirus", config_keys_antivirus),
	KEY_FN("milters", config_parse_milters),
	KEY_FN("quarantine", config_parse_quarantine),
	KEY_END
};

/* ---- delivery, dns, log ---- */

static int
config_parse_relayhost(struct config_ctx *ctx, const config_setting_t *s,
    void *base)
{
	const char *v;

	if (config_want_string(ctx, s, "delivery.relayhost", &v) == -1)
		return -1;
	if (!config_relayhost_valid(v))
		return config_error(ctx, config_line(s),
		    "'delivery.relayhost': bad host '%.64s' (want \"[host]:port\", "
		    "\"host:port\" or \"host\")", v);
	config_set_string(&ctx->cfg->delivery.relayhost, v);
	return 0;
}

static int
config_parse_relay_creds(struct config_ctx *ctx, const config_setting_t *s,
    void *base)
{
	return config_want_path(ctx, s, "delivery.relayhost_credentials", true,
	    &ctx->cfg->delivery.relayhost_credentials);
}

static int
config_parse_retry(struct config_ctx *ctx, const config_setting_t *s,
    void *base)
{
	struct config *cfg = ctx->cfg;
	int n = config_want_list(ctx, s, "delivery.retry", false);

	if (n == -1)
		return -1;
	if (n == 0)
		return config_error(ctx, config_line(s),
		    "'delivery.retry' must not be empty");
	free(cfg->delivery.retry);
	cfg->delivery.retry = xcalloc((size_t)n, sizeof(*cfg->delivery.retry));
	cfg->delivery.nretry = 0;
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		uint64_t v;

		if (config_want_amount(ctx, e, "delivery.retry", false, &v) == -1 ||
		    config_check_range(ctx, e, "delivery.retry", v, 1,
		    CONFIG_DURATION_MAX_SEC, " seconds") == -1)
			return -1;
		cfg->delivery.retry[cfg->delivery.nretry++] = (unsigned)v;
	}
	return 0;
}

static const struct config_key config_keys_delivery[] = {
	KEY_FN("relayhost", config_parse_relayhost),
	KEY_FN("relayhost_credentials", config_parse_relay_creds),
	KEY_UINT("port", delivery.port, 1, 65535),
	KEY_ENUM("tls", delivery.tls, config_enum_delivery_tls),
	KEY_FN("retry", config_parse_retry),
	KEY_DUR("max_lifetime", delivery.max_lifetime, 1, CONFIG_DURATION_MAX_SEC),
	KEY_END
};

static int
config_parse_servers(struct config_ctx *ctx, const config_setting_t *s,
    void *base)
{
	return config_want_strlist(ctx, s, "dns.servers", config_dns_server_valid,
	    "want \"IP\", \"IPv4:port\" or \"[IPv6]:port\"",
	    &ctx->cfg->dns.servers);
}

static const struct config_key config_keys_dns[] = {
	KEY_FN("servers", config_parse_servers),
	KEY_END
};

static int
config_parse_log_file(struct config_ctx *ctx, const config_setting_t *s,
    void *base)
{
	return config_want_path(ctx, s, "log.file", true, &ctx->cfg->log.file);
}

static int
config_parse_log_remote(struct config_ctx *ctx, const config_setting_t *s,
    void *base)
{
	const char *v;

	if (config_want_string(ctx, s, "log.remote", &v) == -1)
		return -1;
	if (!config_remote_log_valid(v))
		return config_error(ctx, config_line(s),
		    "'log.remote': bad target '%.64s' (want \"udp://host:port\" "
		    "or \"tcp://host:port\")", v);
	config_set_string(&ctx->cfg->log.remote, v);
	return 0;
}

static const struct config_key config_keys_log[] = {
	KEY_FN("file", config_parse_log_file),
	KEY_ENUM("level", log.level, config_enum_log_level),
	KEY_FN("remote", config_parse_log_remote),
	KEY_END
};

const struct config_key config_keys_top[] = {
	KEY_FN("hostname", config_parse_hostname),
	KEY_FN("data_dir", config_parse_data_dir),
	KEY_FN("run_as", config_parse_run_as),
	KEY_FN("smtp_banner", config_parse_banner),
	KEY_GROUP("tls", config_keys_tls),
	KEY_FN("listen", config_parse_listen),
	KEY_GROUP("auth", config_keys_auth),
	KEY_GROUP("relay", config_keys_relay),
	KEY_GROUP("domain_defaults", config_keys_domain),
	KEY_BOOL("allow_catch_all", allow_catch_all),
	KEY_GROUP("checks", config_keys_checks),
	KEY_GROUP("limits", config_keys_limits),
	KEY_GROUP("filters", config_keys_filters),
	KEY_GROUP("delivery", config_keys_delivery),
	KEY_GROUP("dns", config_keys_dns),
	KEY_GROUP("log", config_keys_log),
	KEY_END
};

