/*
 * config_print: the effective configuration in libconfig syntax, for
 * `postern check-config`. Loading the printed text gives back an equal
 * configuration: sizes print as bytes, durations as seconds, every key is
 * written out, so the output also documents what the defaults resolved to.
 */
#include <arpa/inet.h>
#include <limits.h>
#include <stdio.h>

#include "core/config.h"
#include "core/config_internal.h"

/* A libconfig string literal: quotes, backslashes and control bytes
 * escaped (validated values have none, but hostname may be a default). */
static void
config_print_quoted(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			fprintf(out, "\\x%02x", c);
		else
			fputc(c, out);
	}
	fputc('"', out);
}

static void
config_print_str(FILE *out, const char *indent, const char *key, const char *v)
{
	fprintf(out, "%s%s = ", indent, key);
	config_print_quoted(out, v);
	fputs(";\n", out);
}

static void
config_print_bool(FILE *out, const char *indent, const char *key, bool v)
{
	fprintf(out, "%s%s = %s;\n", indent, key, v ? "true" : "false");
}

/* Integers past INT_MAX need libconfig's L suffix to survive reading. */
static void
config_print_u64(FILE *out, const char *indent, const char *key, uint64_t v)
{
	fprintf(out, "%s%s = %llu%s;\n", indent, key, (unsigned long long)v,
	    v > INT_MAX ? "L" : "");
}

static void
config_print_strlist(FILE *out, const char *indent, const char *key,
    const struct cfg_strlist *l)
{
	fprintf(out, "%s%s = [", indent, key);
	for (size_t i = 0; i < l->n; i++) {
		fputs(i > 0 ? ", " : " ", out);
		config_print_quoted(out, l->v[i]);
	}
	fputs(l->n > 0 ? " ];\n" : "];\n", out);
}

static void
config_print_cidrs(FILE *out, const char *indent, const char *key,
    const struct cidr_list *l)
{
	char net[64];

	fprintf(out, "%s%s = [", indent, key);
	for (size_t i = 0; i < l->n; i++) {
		cidr_format(&l->v[i], net, sizeof(net));
		fprintf(out, "%s\"%s\"", i > 0 ? ", " : " ", net);
	}
	fputs(l->n > 0 ? " ];\n" : "];\n", out);
}

static void
config_print_listen(FILE *out, const struct config *cfg)
{
	fputs("listen = (", out);
	for (size_t i = 0; i < cfg->nlisten; i++) {
		const struct cfg_listen *l = &cfg->listen[i];

		fprintf(out, "%s\n  { service = \"%s\"; address = ", i > 0 ? "," : "",
		    config_service_name(l->service));
		config_print_quoted(out, l->address);
		fputs(";", out);
		if (l->has_allow)
			config_print_cidrs(out, " ", "allow", &l->allow);
		if (l->service == SVC_SMTP)
			fprintf(out, "%sauth = %s;", l->has_allow ? "   " : " ",
			    l->auth ? "true" : "false");
		fputs(" }", out);
	}
	fputs(cfg->nlisten > 0 ? "\n);\n" : ");\n", out);
}

static void
config_print_checks(FILE *out, const struct config *cfg)
{
	fputs("checks = {\n", out);
	config_print_bool(out, "  ", "verify_recipients",
	    cfg->checks.verify_recipients);
	config_print_bool(out, "  ", "verify_sender_domain",
	    cfg->checks.verify_sender_domain);
	config_print_str(out, "  ", "spf",
	    config_enum_name(config_enum_check_mode, (int)cfg->checks.spf));
	config_print_str(out, "  ", "rdns",
	    config_enum_name(config_enum_check_mode, (int)cfg->checks.rdns));
	config_print_str(out, "  ", "helo",
	    config_enum_name(config_enum_helo, (int)cfg->checks.helo));
	fputs("  dnsbl = (", out);
	for (size_t i = 0; i < cfg->checks.ndnsbl; i++) {
		fprintf(out, "%s\n    { zone = ", i > 0 ? "," : "");
		config_print_quoted(out, cfg->checks.dnsbl[i].zone);
		fprintf(out, "; action = \"%s\"; }", config_enum_name(
		    config_enum_dnsbl_action, (int)cfg->checks.dnsbl[i].action));
	}
	fputs(cfg->checks.ndnsbl > 0 ? "\n  );\n" : ");\n", out);
	config_print_str(out, "  ", "pregreet",
	    cfg->checks.pregreet_reject ? "reject" : "off");
	config_print_u64(out, "  ", "greet_delay", cfg->checks.greet_delay);
	fputs("};\n", out);
}

static void
config_print_filters(FILE *out, const struct config *cfg)
{
	const char *notify[] = { "", "[\"sender\"]", "[\"recipient\"]",
	    "[\"sender\", \"recipient\"]" };

	fputs("filters = {\n  attachments = {\n", out);
	config_print_strlist(out, "    ", "block", &cfg->filters.attachments.block);
	config_print_str(out, "    ", "action", config_enum_name(
	    config_enum_filter_action, (int)cfg->filters.attachments.action));
	fprintf(out, "    notify = %s;\n  };\n",
	    cfg->filters.attachments.notify == 0 ? "[]" :
	    notify[cfg->filters.attachments.notify & 3]);
	fputs("  content = (", out);
	for (size_t i = 0; i < cfg->filters.ncontent; i++) {
		const struct cfg_content_rule *r = &cfg->filters.content[i];

		fprintf(out, "%s\n    { match = ", i > 0 ? "," : "");
		config_print_quoted(out, r->match);
		fprintf(out, "; where = \"%s\"; action = \"%s\"; }",
		    config_enum_name(config_enum_where, (int)r->where),
		    config_enum_name(config_enum_filter_action, (int)r->action));
	}
	fputs(cfg->filters.ncontent > 0 ? "\n  );\n" : ");\n", out);
	fputs("  antivirus = {\n", out);
	config_print_str(out, "    ", "clamd", cfg->filters.antivirus.clamd);
	config_print_str(out, "    ", "action", config_enum_name(
	    config_enum_filter_action, (int)cfg->filters.antivirus.action));
	config_print_str(out, "    ", "on_error", config_enum_name(
	    config_enum_on_error, (int)cfg->filters.antivirus.on_error));
	fputs("  };\n  milters = (", out);
	for (size_t i = 0; i < cfg->filters.nmilters; i++) {
		fprintf(out, "%s\n    { address = ", i > 0 ? "," : "");
		config_print_quoted(out, cfg->filters.milters[i].address);
		fprintf(out, "; on_error = \"%s\"; }", config_enum_name(
		    config_enum_on_error, (int)cfg->filters.milters[i].on_error));
	}
	fputs(cfg->filters.nmilters > 0 ? "\n  );\n" : ");\n", out);
	config_print_str(out, "  ", "quarantine", cfg->filters.quarantine);
	fputs("};\n", out);
}

static void
config_print_delivery(FILE *out, const struct config *cfg)
{
	fputs("delivery = {\n", out);
	config_print_str(out, "  ", "relayhost", cfg->delivery.relayhost);
	config_print_str(out, "  ", "relayhost_credentials",
	    cfg->delivery.relayhost_credentials);
	config_print_u64(out, "  ", "port", cfg->delivery.port);
	config_print_str(out, "  ", "tls", config_enum_name(
	    config_enum_delivery_tls, (int)cfg->delivery.tls));
	fputs("  retry = [", out);
	for (size_t i = 0; i < cfg->delivery.nretry; i++)
		fprintf(out, "%s%u", i > 0 ? ", " : " ", cfg->delivery.retry[i]);
	fputs(cfg->delivery.nretry > 0 ? " ];\n" : "];\n", out);
	config_print_u64(out, "  ", "max_lifetime", cfg->delivery.max_lifetime);
	fputs("};\n", out);
}

void
config_print(const struct config *cfg, FILE *out)
{
	if (cfg->path != NULL) {
		fputs("# effective configuration of ", out);
		config_print_quoted(out, cfg->path);
		fputs("\n", out);
	} else
		fputs("# effective configuration: built-in defaults\n", out);
	config_print_str(out, "", "hostname", cfg->hostname);
	config_print_str(out, "", "data_dir", cfg->data_dir);
	config_print_str(out, "", "run_as", cfg->run_as);
	config_print_str(out, "", "smtp_banner", cfg->smtp_banner);

	fputs("tls = {\n", out);
	config_print_str(out, "  ", "cert", cfg->tls.cert);
	config_print_str(out, "  ", "key", cfg->tls.key);
	config_print_str(out, "  ", "min_version", cfg->tls.min_version_name);
	fputs("};\n", out);

	config_print_listen(out, cfg);

	fputs("auth = {\n", out);
	config_print_strlist(out, "  ", "mechanisms", &cfg->auth.mechanisms);
	config_print_u64(out, "  ", "failures_before_ban",
	    cfg->auth.failures_before_ban);
	config_print_u64(out, "  ", "failure_window", cfg->auth.failure_window);
	config_print_u64(out, "  ", "ban_time", cfg->auth.ban_time);
	fputs("};\n", out);

	fputs("relay = {\n", out);
	config_print_cidrs(out, "  ", "trusted_networks",
	    &cfg->relay.trusted_networks);
	config_print_u64(out, "  ", "smtp_after_pop", cfg->relay.smtp_after_pop);
	config_print_str(out, "  ", "sender_rule", config_enum_name(
	    config_enum_sender_rule, (int)cfg->relay.sender_rule));
	fputs("};\n", out);

	fputs("domain_defaults = {\n", out);
	config_print_bool(out, "  ", "require_auth",
	    cfg->domain_defaults.require_auth);
	config_print_str(out, "  ", "catch_all", cfg->domain_defaults.catch_all);
	config_print_str(out, "  ", "bounces",
	    config_spf_policy_name(cfg->domain_defaults.bounces));
	config_print_str(out, "  ", "autoresponders",
	    config_spf_policy_name(cfg->domain_defaults.autoresponders));
	config_print_u64(out, "  ", "max_message_size",
	    cfg->domain_defaults.max_message_size);
	fputs("};\n", out);
	config_print_bool(out, "", "allow_catch_all", cfg->allow_catch_all);

	config_print_checks(out, cfg);

	fputs("limits = {\n", out);
	config_print_u64(out, "  ", "message_size", cfg->limits.message_size);
	config_print_u64(out, "  ", "recipients", cfg->limits.recipients);
	config_print_u64(out, "  ", "connections", cfg->limits.connections);
	config_print_u64(out, "  ", "connections_per_ip",
	    cfg->limits.connections_per_ip);
	config_print_u64(out, "  ", "errors_before_disconnect",
	    cfg->limits.errors_before_disconnect);
	config_print_u64(out, "  ", "command_timeout", cfg->limits.command_timeout);
	fputs("};\n", out);

	config_print_filters(out, cfg);
	config_print_delivery(out, cfg);

	fputs("dns = {\n", out);
	config_print_strlist(out, "  ", "servers", &cfg->dns.servers);
	fputs("};\n", out);

	fputs("log = {\n", out);
	config_print_str(out, "  ", "file", cfg->log.file);
	config_print_str(out, "  ", "level", config_enum_name(
	    config_enum_log_level, (int)cfg->log.level));
	config_print_str(out, "  ", "remote", cfg->log.remote);
	fputs("};\n", out);
}
