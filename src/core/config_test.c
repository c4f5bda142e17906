/*
 * Unit tests for core/config: every default of SPEC section 2, a full file,
 * each class of error with its exact "FILE:LINE: message", sizes and
 * durations, listeners, the catch_all lock, file bounds and a round trip
 * through config_print().
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/config.h"
#include "core/limits.h"

static char err[512];

static int
load(const char *text, struct config *cfg)
{
	err[0] = '\0';
	return config_load_string(text, "t.conf", cfg, err, sizeof(err));
}

/* Loads text, expects exactly the error want, and a freed config. */
static void
expect_error(const char *text, const char *want)
{
	struct config cfg;

	if (load(text, &cfg) == 0) {
		config_free(&cfg);
		fail_msg("accepted: %s (wanted %s)", text, want);
	}
	assert_string_equal(err, want);
	assert_null(cfg.hostname);
	assert_null(cfg.listen);
}

static void
expect_ok(const char *text)
{
	struct config cfg;

	if (load(text, &cfg) != 0)
		fail_msg("refused: %s: %s", text, err);
	config_free(&cfg);
}

static in_port_t
sa_port(const struct cfg_listen *l)
{
	if (l->sa.ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)&l->sa)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)&l->sa)->sin6_port);
}

static const char *
net_text(const struct cidr_list *l, size_t i)
{
	static char out[64];

	assert_true(i < l->n);
	cidr_format(&l->v[i], out, sizeof(out));
	return out;
}

static void
test_defaults(void **state)
{
	static const char *const block[] = { "*.exe", "*.scr", "*.pif", "*.com",
	    "*.bat", "*.cmd", "*.vbs", "*.js", "*.jar", "*.msi", "*.hta", "*.lnk" };
	static const unsigned retry[] = { 300, 900, 1800, 3600, 7200, 14400 };
	static const struct { enum cfg_service s; in_port_t port; } lis[] = {
		{ SVC_SMTP, 25 }, { SVC_SUBMISSION, 587 }, { SVC_SUBMISSIONS, 465 },
		{ SVC_POP3, 110 }, { SVC_POP3S, 995 }, { SVC_IMAP, 143 },
		{ SVC_IMAPS, 993 } };
	struct config cfg;
	char host[256] = "", *cwd;

	(void)state;
	config_defaults(&cfg);
	assert_null(cfg.path);
	assert_int_equal(gethostname(host, sizeof(host) - 1), 0);
	assert_string_equal(cfg.hostname, host);
	if (geteuid() == 0)
		assert_string_equal(cfg.data_dir, "/var/lib/postern");
	else {
		cwd = getcwd(NULL, 0);
		assert_non_null(cwd);
		assert_true(strncmp(cfg.data_dir, cwd, strlen(cwd)) == 0);
		assert_string_equal(cfg.data_dir + strlen(cwd), "/var");
		free(cwd);
	}
	assert_string_equal(cfg.run_as, "postern");
	assert_string_equal(cfg.smtp_banner, "ESMTP");
	assert_string_equal(cfg.tls.cert, "");
	assert_string_equal(cfg.tls.key, "");
	assert_int_equal(cfg.tls.min_version, TLS1_2_VERSION);
	assert_string_equal(cfg.tls.min_version_name, "TLSv1.2");

	assert_int_equal(cfg.nlisten, 7);
	for (size_t i = 0; i < 7; i++) {
		const struct cfg_listen *l = &cfg.listen[i];
		char want[32];

		snprintf(want, sizeof(want), "0.0.0.0:%u", lis[i].port);
		assert_int_equal(l->service, lis[i].s);
		assert_string_equal(l->address, want);
		assert_int_equal(l->sa.ss_family, AF_INET);
		assert_int_equal(l->salen, sizeof(struct sockaddr_in));
		assert_int_equal(sa_port(l), lis[i].port);
		assert_false(l->has_allow);
		assert_int_equal(l->allow.n, 0);
		assert_false(l->auth);
	}

	assert_int_equal(cfg.auth.mechanisms.n, 2);
	assert_string_equal(cfg.auth.mechanisms.v[0], "PLAIN");
	assert_string_equal(cfg.auth.mechanisms.v[1], "LOGIN");
	assert_int_equal(cfg.auth.failures_before_ban, 5);
	assert_int_equal(cfg.auth.failure_window, 600);
	assert_int_equal(cfg.auth.ban_time, 3600);

	assert_int_equal(cfg.relay.trusted_networks.n, 2);
	assert_string_equal(net_text(&cfg.relay.trusted_networks, 0), "127.0.0.0/8");
	assert_string_equal(net_text(&cfg.relay.trusted_networks, 1), "::1/128");
	assert_int_equal(cfg.relay.smtp_after_pop, 0);
	assert_int_equal(cfg.relay.sender_rule, SENDER_RULE_LOCAL_DOMAIN);

	assert_true(cfg.domain_defaults.require_auth);
	assert_string_equal(cfg.domain_defaults.catch_all, "");
	assert_int_equal(cfg.domain_defaults.bounces, POLICY_REQUIRE_SPF);
	assert_int_equal(cfg.domain_defaults.autoresponders, POLICY_REQUIRE_SPF);
	assert_int_equal(cfg.domain_defaults.max_message_size, 25 * 1024 * 1024);
	assert_false(cfg.allow_catch_all);

	assert_true(cfg.checks.verify_recipients);
	assert_true(cfg.checks.verify_sender_domain);
	assert_int_equal(cfg.checks.spf, CHECK_REJECT);
	assert_int_equal(cfg.checks.rdns, CHECK_TAG);
	assert_int_equal(cfg.checks.helo, HELO_REJECT_INVALID);
	assert_int_equal(cfg.checks.ndnsbl, 0);
	assert_true(cfg.checks.pregreet_reject);
	assert_int_equal(cfg.checks.greet_delay, 0);

	assert_int_equal(cfg.limits.message_size, 25 * 1024 * 1024);
	assert_int_equal(cfg.limits.recipients, 100);
	assert_int_equal(cfg.limits.connections, 1000);
	assert_int_equal(cfg.limits.connections_per_ip, 20);
	assert_int_equal(cfg.limits.errors_before_disconnect, 10);
	assert_int_equal(cfg.limits.command_timeout, 300);

	assert_int_equal(cfg.filters.attachments.block.n, 12);
	for (size_t i = 0; i < 12; i++)
		assert_string_equal(cfg.filters.attachments.block.v[i], block[i]);
	assert_int_equal(cfg.filters.attachments.action, ACTION_REJECT);
	assert_int_equal(cfg.filters.attachments.notify, 0);
	assert_int_equal(cfg.filters.ncontent, 0);
	assert_string_equal(cfg.filters.antivirus.clamd, "");
	assert_int_equal(cfg.filters.antivirus.action, ACTION_REJECT);
	assert_int_equal(cfg.filters.antivirus.on_error, ON_ERROR_TEMPFAIL);
	assert_int_equal(cfg.filters.nmilters, 0);
	assert_string_equal(cfg.filters.quarantine, "");

	assert_string_equal(cfg.delivery.relayhost, "");
	assert_string_equal(cfg.delivery.relayhost_credentials, "");
	assert_int_equal(cfg.delivery.port, 25);
	assert_int_equal(cfg.delivery.tls, DELIVERY_TLS_OPPORTUNISTIC);
	assert_int_equal(cfg.delivery.nretry, 6);
	for (size_t i = 0; i < 6; i++)
		assert_int_equal(cfg.delivery.retry[i], retry[i]);
	assert_int_equal(cfg.delivery.max_lifetime, 5 * 86400);

	assert_int_equal(cfg.dns.servers.n, 0);
	assert_string_equal(cfg.log.file, "");
	assert_int_equal(cfg.log.level, LOGL_INFO);
	assert_string_equal(cfg.log.remote, "");
	config_free(&cfg);
	assert_null(cfg.hostname);
	config_free(&cfg);
}

/* Every key set away from its default. Line numbers matter below. */
static const char full_conf[] =
	"hostname = \"mx.example.org\";\n"			/* 1 */
	"data_dir = \"/srv/postern\";\n"
	"run_as = \"mail\";\n"
	"smtp_banner = \"Mail service ready\";\n"
	"tls = { cert = \"/etc/c.pem\"; key = \"/etc/k.pem\";\n"	/* 5 */
	"        min_version = \"TLSv1.3\"; };\n"
	"listen = (\n"
	"  { service = \"smtp\"; address = \"127.0.0.1:2525\"; auth = true; },\n"
	"  { service = \"submission\"; address = \"[::1]:5870\";\n"
	"    allow = [\"10.0.0.0/8\", \"2001:db8::/32\"]; },\n"	/* 10 */
	"  { service = \"imaps\"; address = \"0.0.0.0:9930\"; }\n"
	");\n"
	"auth = { mechanisms = [\"login\"]; failures_before_ban = 3;\n"
	"         failure_window = \"1h\"; ban_time = \"2d\"; };\n"
	"relay = { trusted_networks = [\"192.0.2.0/24\"];\n"	/* 15 */
	"          smtp_after_pop = \"10m\"; sender_rule = \"account\"; };\n"
	"domain_defaults = { require_auth = false; catch_all = \"all@example.org\";\n"
	"  bounces = \"enabled\"; autoresponders = \"disabled\";\n"
	"  max_message_size = \"10M\"; };\n"
	"allow_catch_all = true;\n"				/* 20 */
	"checks = { verify_recipients = false; verify_sender_domain = false;\n"
	"  spf = \"tag\"; rdns = \"reject\"; helo = \"off\";\n"
	"  dnsbl = ( { zone = \"zen.example\"; action = \"tag\"; },\n"
	"            { zone = \"bl.example\"; } );\n"
	"  pregreet = \"off\"; greet_delay = \"5s\"; };\n"		/* 25 */
	"limits = { message_size = 2147483648L; recipients = 10000;\n"
	"  connections = 50; connections_per_ip = 2; errors_before_disconnect = 3;\n"
	"  command_timeout = 30; };\n"
	"filters = {\n"
	"  attachments = { block = [\"*.exe\"]; action = \"quarantine\";\n" /* 30 */
	"                  notify = [\"sender\", \"recipient\"]; };\n"
	"  content = ( { match = \"viagra\"; where = \"body\"; action = \"discard\"; },\n"
	"              { match = \"X-Spam: yes\"; } );\n"
	"  antivirus = { clamd = \"unix:/run/clamav/clamd.ctl\"; action = \"discard\";\n"
	"                on_error = \"accept\"; };\n"			/* 35 */
	"  milters = ( { address = \"inet:127.0.0.1:11332\"; on_error = \"reject\"; },\n"
	"              { address = \"unix:/run/milter.sock\"; } );\n"
	"  quarantine = \"quarantine@example.org\";\n"
	"};\n"
	"delivery = { relayhost = \"[smtp.example.net]:587\"; port = 2525;\n" /* 40 */
	"  relayhost_credentials = \"/etc/postern/relay.secret\";\n"
	"  tls = \"required\"; retry = (60, \"2m\", \"1h\"); max_lifetime = \"1d\"; };\n"
	"dns = { servers = [\"127.0.0.1:5353\", \"::1\", \"[::1]:53\", \"192.0.2.1\"]; };\n"
	"log = { file = \"/var/log/postern.log\"; level = \"debug\";\n"
	"        remote = \"udp://logs.example.org:514\"; };\n";

static void
test_full_file(void **state)
{
	struct config cfg;
	const struct cfg_listen *l;

	(void)state;
	if (load(full_conf, &cfg) != 0)
		fail_msg("%s", err);
	assert_null(cfg.path);
	assert_string_equal(cfg.hostname, "mx.example.org");
	assert_string_equal(cfg.data_dir, "/srv/postern");
	assert_string_equal(cfg.run_as, "mail");
	assert_string_equal(cfg.smtp_banner, "Mail service ready");
	assert_string_equal(cfg.tls.cert, "/etc/c.pem");
	assert_string_equal(cfg.tls.key, "/etc/k.pem");
	assert_int_equal(cfg.tls.min_version, TLS1_3_VERSION);
	assert_string_equal(cfg.tls.min_version_name, "TLSv1.3");

	assert_int_equal(cfg.nlisten, 3);
	l = &cfg.listen[0];
	assert_int_equal(l->service, SVC_SMTP);
	assert_int_equal(l->sa.ss_family, AF_INET);
	assert_int_equal(sa_port(l), 2525);
	assert_true(l->auth);
	assert_false(l->has_allow);
	l = &cfg.listen[1];
	assert_int_equal(l->service, SVC_SUBMISSION);
	assert_string_equal(l->address, "[::1]:5870");
	assert_int_equal(l->sa.ss_family, AF_INET6);
	assert_int_equal(l->salen, sizeof(struct sockaddr_in6));
	assert_int_equal(sa_port(l), 5870);
	assert_true(IN6_IS_ADDR_LOOPBACK(
	    &((const struct sockaddr_in6 *)&l->sa)->sin6_addr));
	assert_true(l->has_allow);
	assert_int_equal(l->allow.n, 2);
	assert_string_equal(net_text(&l->allow, 1), "2001:db8::/32");
	assert_false(l->auth);
	assert_int_equal(cfg.listen[2].service, SVC_IMAPS);

	assert_int_equal(cfg.auth.mechanisms.n, 1);
	assert_string_equal(cfg.auth.mechanisms.v[0], "LOGIN");
	assert_int_equal(cfg.auth.failures_before_ban, 3);
	assert_int_equal(cfg.auth.failure_window, 3600);
	assert_int_equal(cfg.auth.ban_time, 2 * 86400);
	assert_int_equal(cfg.relay.trusted_networks.n, 1);
	assert_string_equal(net_text(&cfg.relay.trusted_networks, 0),
	    "192.0.2.0/24");
	assert_int_equal(cfg.relay.smtp_after_pop, 600);
	assert_int_equal(cfg.relay.sender_rule, SENDER_RULE_ACCOUNT);

	assert_false(cfg.domain_defaults.require_auth);
	assert_string_equal(cfg.domain_defaults.catch_all, "all@example.org");
	assert_int_equal(cfg.domain_defaults.bounces, POLICY_ENABLED);
	assert_int_equal(cfg.domain_defaults.autoresponders, POLICY_DISABLED);
	assert_int_equal(cfg.domain_defaults.max_message_size, 10 << 20);
	assert_true(cfg.allow_catch_all);

	assert_false(cfg.checks.verify_recipients);
	assert_false(cfg.checks.verify_sender_domain);
	assert_int_equal(cfg.checks.spf, CHECK_TAG);
	assert_int_equal(cfg.checks.rdns, CHECK_REJECT);
	assert_int_equal(cfg.checks.helo, HELO_OFF);
	assert_int_equal(cfg.checks.ndnsbl, 2);
	assert_string_equal(cfg.checks.dnsbl[0].zone, "zen.example");
	assert_int_equal(cfg.checks.dnsbl[0].action, ACTION_TAG);
	assert_int_equal(cfg.checks.dnsbl[1].action, ACTION_REJECT);
	assert_false(cfg.checks.pregreet_reject);
	assert_int_equal(cfg.checks.greet_delay, 5);

	assert_int_equal(cfg.limits.message_size, SMTP_MSG_SIZE_HARD_MAX);
	assert_int_equal(cfg.limits.recipients, SMTP_RCPT_HARD_MAX);
	assert_int_equal(cfg.limits.connections, 50);
	assert_int_equal(cfg.limits.connections_per_ip, 2);
	assert_int_equal(cfg.limits.errors_before_disconnect, 3);
	assert_int_equal(cfg.limits.command_timeout, 30);

	assert_int_equal(cfg.filters.attachments.block.n, 1);
	assert_int_equal(cfg.filters.attachments.action, ACTION_QUARANTINE);
	assert_int_equal(cfg.filters.attachments.notify,
	    NOTIFY_SENDER | NOTIFY_RECIPIENT);
	assert_int_equal(cfg.filters.ncontent, 2);
	assert_string_equal(cfg.filters.content[0].match, "viagra");
	assert_int_equal(cfg.filters.content[0].where, WHERE_BODY);
	assert_int_equal(cfg.filters.content[0].action, ACTION_DISCARD);
	assert_int_equal(cfg.filters.content[1].where, WHERE_ANY);
	assert_int_equal(cfg.filters.content[1].action, ACTION_REJECT);
	assert_string_equal(cfg.filters.antivirus.clamd,
	    "unix:/run/clamav/clamd.ctl");
	assert_int_equal(cfg.filters.antivirus.action, ACTION_DISCARD);
	assert_int_equal(cfg.filters.antivirus.on_error, ON_ERROR_ACCEPT);
	assert_int_equal(cfg.filters.nmilters, 2);
	assert_int_equal(cfg.filters.milters[0].on_error, ON_ERROR_REJECT);
	assert_int_equal(cfg.filters.milters[1].on_error, ON_ERROR_TEMPFAIL);
	assert_string_equal(cfg.filters.quarantine, "quarantine@example.org");

	assert_string_equal(cfg.delivery.relayhost, "[smtp.example.net]:587");
	assert_string_equal(cfg.delivery.relayhost_credentials,
	    "/etc/postern/relay.secret");
	assert_int_equal(cfg.delivery.port, 2525);
	assert_int_equal(cfg.delivery.tls, DELIVERY_TLS_REQUIRED);
	assert_int_equal(cfg.delivery.nretry, 3);
	assert_int_equal(cfg.delivery.retry[0], 60);
	assert_int_equal(cfg.delivery.retry[1], 120);
	assert_int_equal(cfg.delivery.retry[2], 3600);
	assert_int_equal(cfg.delivery.max_lifetime, 86400);
	assert_int_equal(cfg.dns.servers.n, 4);
	assert_string_equal(cfg.dns.servers.v[2], "[::1]:53");
	assert_string_equal(cfg.log.file, "/var/log/postern.log");
	assert_int_equal(cfg.log.level, LOGL_DEBUG);
	assert_string_equal(cfg.log.remote, "udp://logs.example.org:514");
	config_free(&cfg);
}

static void
test_unknown_keys(void **state)
{
	(void)state;
	expect_error("hostname = \"a.b\";\nfoo = 1;\n", "t.conf:2: unknown key 'foo'");
	expect_error("\n\n\n\n\n\nlimits = {\n  foo = 1;\n};\n",
	    "t.conf:8: unknown key 'foo' in 'limits'");
	expect_error("tls = { cert = \"\"; crt = \"x\"; };",
	    "t.conf:1: unknown key 'crt' in 'tls'");
	expect_error("auth = { mechanism = []; };",
	    "t.conf:1: unknown key 'mechanism' in 'auth'");
	expect_error("relay = {\n trusted = []; };",
	    "t.conf:2: unknown key 'trusted' in 'relay'");
	expect_error("domain_defaults = { catchall = \"\"; };",
	    "t.conf:1: unknown key 'catchall' in 'domain_defaults'");
	expect_error("checks = { spam = \"tag\"; };",
	    "t.conf:1: unknown key 'spam' in 'checks'");
	expect_error("filters = { x = 1; };",
	    "t.conf:1: unknown key 'x' in 'filters'");
	expect_error("filters = {\n attachments = {\n  blocks = [];\n };\n};",
	    "t.conf:3: unknown key 'blocks' in 'filters.attachments'");
	expect_error("filters = { antivirus = { clamav = \"\"; }; };",
	    "t.conf:1: unknown key 'clamav' in 'filters.antivirus'");
	expect_error("delivery = { smarthost = \"\"; };",
	    "t.conf:1: unknown key 'smarthost' in 'delivery'");
	expect_error("dns = { server = []; };",
	    "t.conf:1: unknown key 'server' in 'dns'");
	expect_error("log = { lvl = \"info\"; };",
	    "t.conf:1: unknown key 'lvl' in 'log'");
	expect_error("listen = (\n { service = \"smtp\"; address = \"1.2.3.4:25\";\n"
	    "   alow = [\"1.2.3.4\"]; }\n);",
	    "t.conf:3: unknown key 'alow' in 'listen'");
	expect_error("checks = { dnsbl = ( { zone = \"a.b\"; act = \"tag\"; } ); };",
	    "t.conf:1: unknown key 'act' in 'checks.dnsbl'");
	expect_error("filters = { content = ( { match = \"a\"; in = \"body\"; } ); };",
	    "t.conf:1: unknown key 'in' in 'filters.content'");
	expect_error("filters = { milters = ( { address = \"unix:/a\"; x = 1; } ); };",
	    "t.conf:1: unknown key 'x' in 'filters.milters'");
}

static void
test_type_errors(void **state)
{
	(void)state;
	expect_error("hostname = 5;", "t.conf:1: 'hostname' must be a string");
	expect_error("\nallow_catch_all = 1;",
	    "t.conf:2: 'allow_catch_all' must be true or false");
	expect_error("checks = { verify_recipients = \"yes\"; };",
	    "t.conf:1: 'checks.verify_recipients' must be true or false");
	expect_error("limits = { recipients = \"100\"; };",
	    "t.conf:1: 'limits.recipients' must be an integer");
	expect_error("limits = { recipients = 1.5; };",
	    "t.conf:1: 'limits.recipients' must be an integer");
	expect_error("limits = { message_size = true; };",
	    "t.conf:1: 'limits.message_size' must be an integer or a string "
	    "like \"25M\"");
	expect_error("auth = { ban_time = 1.0; };",
	    "t.conf:1: 'auth.ban_time' must be an integer or a string like \"5m\"");
	expect_error("limits = 5;", "t.conf:1: 'limits' must be a group { ... }");
	expect_error("tls = [];", "t.conf:1: 'tls' must be a group { ... }");
	expect_error("listen = { };",
	    "t.conf:1: 'listen' must be a list ( { ... }, ... )");
	expect_error("listen = [\"0.0.0.0:25\"];",
	    "t.conf:1: 'listen' must be a list ( { ... }, ... )");
	expect_error("listen = ( \"0.0.0.0:25\" );",
	    "t.conf:1: 'listen' must be a group { ... }");
	expect_error("auth = { mechanisms = \"PLAIN\"; };",
	    "t.conf:1: 'auth.mechanisms' must be a list [ ... ]");
	expect_error("auth = { mechanisms = [1]; };",
	    "t.conf:1: 'auth.mechanisms' must be a string");
	expect_error("relay = { trusted_networks = (\"10.0.0.0/8\", 1); };",
	    "t.conf:1: 'relay.trusted_networks' must be a string");
	expect_error("log = { level = 1; };",
	    "t.conf:1: 'log.level' must be a string");
	expect_error("smtp_banner = \"a\\nb\";",
	    "t.conf:1: 'smtp_banner' contains a control character");
}

static void
test_value_errors(void **state)
{
	(void)state;
	expect_error("relay = { sender_rule = \"domain\"; };",
	    "t.conf:1: 'relay.sender_rule' must be one of \"none\", "
	    "\"local_domain\", \"account\", not 'domain'");
	expect_error("domain_defaults = { bounces = \"Enabled\"; };",
	    "t.conf:1: 'domain_defaults.bounces' must be one of \"disabled\", "
	    "\"require_spf\", \"enabled\", not 'Enabled'");
	expect_error("domain_defaults = {\n autoresponders = \"on\"; };",
	    "t.conf:2: 'domain_defaults.autoresponders' must be one of "
	    "\"disabled\", \"require_spf\", \"enabled\", not 'on'");
	expect_error("checks = { spf = \"fail\"; };",
	    "t.conf:1: 'checks.spf' must be one of \"off\", \"tag\", \"reject\", "
	    "not 'fail'");
	expect_error("checks = { rdns = \"\"; };",
	    "t.conf:1: 'checks.rdns' must be one of \"off\", \"tag\", \"reject\", "
	    "not ''");
	expect_error("checks = { helo = \"reject\"; };",
	    "t.conf:1: 'checks.helo' must be one of \"off\", \"reject_invalid\", "
	    "not 'reject'");
	expect_error("checks = { pregreet = \"tag\"; };",
	    "t.conf:1: 'checks.pregreet' must be one of \"reject\", \"off\", "
	    "not 'tag'");
	expect_error("checks = { dnsbl = ( { zone = \"a.b\"; action = \"discard\"; } ); };",
	    "t.conf:1: 'checks.dnsbl.action' must be one of \"reject\", \"tag\", "
	    "not 'discard'");
	expect_error("checks = { dnsbl = ( { action = \"tag\"; } ); };",
	    "t.conf:1: 'checks.dnsbl' entry without 'zone'");
	expect_error("checks = { dnsbl = ( { zone = \"bad zone\"; } ); };",
	    "t.conf:1: 'checks.dnsbl.zone': 'bad zone' is not a DNS zone");
	expect_error("checks = { greet_delay = \"5m\"; };",
	    "t.conf:1: 'checks.greet_delay' must be between 0 and 299 seconds");
	expect_error("filters = { attachments = { action = \"tag\"; }; };",
	    "t.conf:1: 'filters.attachments.action' must be one of \"reject\", "
	    "\"discard\", \"quarantine\", not 'tag'");
	expect_error("filters = { attachments = { notify = [\"admin\"]; }; };",
	    "t.conf:1: 'filters.attachments.notify' must be one of \"sender\", "
	    "\"recipient\", not 'admin'");
	expect_error("filters = { attachments = { block = [\"\"]; }; };",
	    "t.conf:1: 'filters.attachments.block': bad entry '' (an empty "
	    "pattern matches nothing)");
	expect_error("filters = { content = ( { match = \"x\"; where = \"subject\"; } ); };",
	    "t.conf:1: 'filters.content.where' must be one of \"headers\", "
	    "\"body\", \"any\", not 'subject'");
	expect_error("filters = { content = ( { match = \"\"; } ); };",
	    "t.conf:1: 'filters.content.match' must not be empty");
	expect_error("filters = { content = ( { where = \"any\"; } ); };",
	    "t.conf:1: 'filters.content' entry without 'match'");
	expect_error("filters = { antivirus = { on_error = \"ignore\"; }; };",
	    "t.conf:1: 'filters.antivirus.on_error' must be one of \"tempfail\", "
	    "\"accept\", \"reject\", not 'ignore'");
	expect_error("filters = { antivirus = { clamd = \"/run/clamd.ctl\"; }; };",
	    "t.conf:1: 'filters.antivirus.clamd': bad address '/run/clamd.ctl' "
	    "(want \"unix:/path\" or \"inet:host:port\")");
	expect_error("filters = { milters = ( { address = \"inet:host\"; } ); };",
	    "t.conf:1: 'filters.milters.address': bad address 'inet:host' "
	    "(want \"unix:/path\" or \"inet:host:port\")");
	expect_error("filters = { milters = ( { address = \"unix:/a\"; on_error = \"x\"; } ); };",
	    "t.conf:1: 'filters.milters.on_error' must be one of \"tempfail\", "
	    "\"accept\", \"reject\", not 'x'");
	expect_error("filters = { quarantine = \"nobody\"; };",
	    "t.conf:1: 'filters.quarantine': 'nobody' is not an address");
	expect_error("filters = {\n attachments = {\n  action = \"quarantine\"; };\n};",
	    "t.conf:3: action \"quarantine\" needs 'filters.quarantine' (the "
	    "mailbox that receives it)");
	expect_error("filters = { content = (\n { match = \"a\"; },\n"
	    " { match = \"b\"; action = \"quarantine\"; } ); };",
	    "t.conf:3: action \"quarantine\" needs 'filters.quarantine' (the "
	    "mailbox that receives it)");
	expect_error("delivery = { tls = \"none\"; };",
	    "t.conf:1: 'delivery.tls' must be one of \"opportunistic\", "
	    "\"required\", not 'none'");
	expect_error("delivery = { port = 0; };",
	    "t.conf:1: 'delivery.port' must be between 1 and 65535");
	expect_error("delivery = { port = 65536; };",
	    "t.conf:1: 'delivery.port' must be between 1 and 65535");
	expect_error("delivery = { retry = []; };",
	    "t.conf:1: 'delivery.retry' must not be empty");
	expect_error("delivery = { retry = (\"5m\", 0); };",
	    "t.conf:1: 'delivery.retry' must be between 1 and 315360000 seconds");
	expect_error("delivery = { retry = [\"5x\"]; };",
	    "t.conf:1: 'delivery.retry': bad duration '5x' (seconds, or a number "
	    "with s, m, h or d)");
	expect_error("delivery = { max_lifetime = 0; };",
	    "t.conf:1: 'delivery.max_lifetime' must be between 1 and 315360000 "
	    "seconds");
	expect_error("delivery = { relayhost = \"a b\"; };",
	    "t.conf:1: 'delivery.relayhost': bad host 'a b' (want \"[host]:port\", "
	    "\"host:port\" or \"host\")");
	expect_error("delivery = {\n relayhost_credentials = \"/etc/x\"; };",
	    "t.conf:2: 'delivery.relayhost_credentials' needs "
	    "'delivery.relayhost'");
	expect_error("delivery = { relayhost = \"[r.example]:587\";\n"
	    " relayhost_credentials = 5; };",
	    "t.conf:2: 'delivery.relayhost_credentials' must be a string");
	expect_error("dns = { servers = [\"ns.example.org\"]; };",
	    "t.conf:1: 'dns.servers': bad entry 'ns.example.org' (want \"IP\", "
	    "\"IPv4:port\" or \"[IPv6]:port\")");
	expect_error("log = { level = \"warning\"; };",
	    "t.conf:1: 'log.level' must be one of \"debug\", \"info\", \"warn\", "
	    "\"error\", not 'warning'");
	expect_error("log = { remote = \"syslog://x:514\"; };",
	    "t.conf:1: 'log.remote': bad target 'syslog://x:514' (want "
	    "\"udp://host:port\" or \"tcp://host:port\")");
	expect_error("tls = { min_version = \"TLSv1.1\"; };",
	    "t.conf:1: 'tls.min_version' must be one of \"TLSv1.2\", \"TLSv1.3\", "
	    "not 'TLSv1.1'");
	expect_error("tls = {\n cert = \"/c.pem\"; };",
	    "t.conf:2: 'tls.cert' and 'tls.key' must be given together");
	expect_error("hostname = \"bad host\";",
	    "t.conf:1: 'hostname': 'bad host' is not a host name");
	expect_error("hostname = \"\";",
	    "t.conf:1: 'hostname': '' is not a host name");
	expect_error("run_as = \"root\";",
	    "t.conf:1: 'run_as': 'root' is not a user name postern may run as");
	expect_error("data_dir = \"\";", "t.conf:1: 'data_dir' must not be empty");
	expect_error("auth = { mechanisms = [\"CRAM-MD5\"]; };",
	    "t.conf:1: 'auth.mechanisms': bad entry 'CRAM-MD5' (PLAIN or LOGIN)");
	expect_error("auth = { mechanisms = [\"plain\", \"PLAIN\"]; };",
	    "t.conf:1: 'auth.mechanisms': 'PLAIN' given twice");
	expect_error("auth = { failures_before_ban = 0; };",
	    "t.conf:1: 'auth.failures_before_ban' must be between 1 and 1000000");
	expect_error("auth = { failure_window = 0; };",
	    "t.conf:1: 'auth.failure_window' must be between 1 and 315360000 "
	    "seconds");
	expect_error("auth = { ban_time = \"0s\"; };",
	    "t.conf:1: 'auth.ban_time' must be between 1 and 315360000 seconds");
	expect_error("relay = { trusted_networks = [\"10.1.2.3/8\"]; };",
	    "t.conf:1: 'relay.trusted_networks': '10.1.2.3/8' has host bits set "
	    "(network is 10.0.0.0/8)");
	expect_error("relay = { trusted_networks = [\"10.0.0.0/33\"]; };",
	    "t.conf:1: 'relay.trusted_networks': bad network '10.0.0.0/33' (want "
	    "\"10.0.0.0/8\", \"2001:db8::/32\" or an address)");
	expect_error("relay = { smtp_after_pop = -1; };",
	    "t.conf:1: 'relay.smtp_after_pop' must not be negative");
}

static void
test_limits(void **state)
{
	(void)state;
	expect_ok("limits = { recipients = 10000; };");
	expect_error("limits = { recipients = 10001; };",
	    "t.conf:1: 'limits.recipients' must be between 1 and 10000");
	expect_error("limits = { recipients = 0; };",
	    "t.conf:1: 'limits.recipients' must be between 1 and 10000");
	expect_error("limits = { recipients = -1; };",
	    "t.conf:1: 'limits.recipients' must be between 1 and 10000");
	expect_ok("limits = { message_size = \"2G\"; };");
	expect_ok("limits = { message_size = 2147483648L; };");
	expect_ok("limits = { message_size = 1; };");
	expect_error("limits = { message_size = 2147483649L; };",
	    "t.conf:1: 'limits.message_size' must be between 1 and 2147483648 "
	    "bytes");
	expect_error("limits = { message_size = \"2049M\"; };",
	    "t.conf:1: 'limits.message_size' must be between 1 and 2147483648 "
	    "bytes");
	expect_error("limits = { message_size = 0; };",
	    "t.conf:1: 'limits.message_size' must be between 1 and 2147483648 "
	    "bytes");
	expect_error("domain_defaults = { max_message_size = \"3G\"; };",
	    "t.conf:1: 'domain_defaults.max_message_size' must be between 1 and "
	    "2147483648 bytes");
	expect_error("limits = { connections = 0; };",
	    "t.conf:1: 'limits.connections' must be between 1 and 1000000");
	expect_error("limits = { connections_per_ip = 0; };",
	    "t.conf:1: 'limits.connections_per_ip' must be between 1 and 1000000");
	expect_error("limits = { errors_before_disconnect = 0; };",
	    "t.conf:1: 'limits.errors_before_disconnect' must be between 1 and "
	    "1000000");
	/* No 5-minute floor: tests run with short idle timeouts. */
	expect_ok("limits = { command_timeout = 1; };");
	expect_ok("limits = { command_timeout = \"2s\"; };");
	expect_error("limits = { command_timeout = 0; };",
	    "t.conf:1: 'limits.command_timeout' must be between 1 and 315360000 "
	    "seconds");
	/* libconfig 1.5 would wrap these literals silently. */
	expect_error("limits = {\n recipients = 4294967297; };",
	    "t.conf:2: integer 4294967297 is out of range (use a string like "
	    "\"4G\" for large sizes)");
	expect_error("limits = { message_size = 3000000000; };",
	    "t.conf:1: integer 3000000000 is out of range (use a string like "
	    "\"4G\" for large sizes)");
	expect_error("limits = { message_size = 0x80000000; };",
	    "t.conf:1: integer 0x80000000 is out of range (use a string like "
	    "\"4G\" for large sizes)");
	expect_error("limits = { message_size = 99999999999999999999L; };",
	    "t.conf:1: integer 99999999999999999999L is out of range");
	expect_ok("limits = { message_size = 2147483647; connections = 0x10; };");
	expect_error("limits = { recipients = 1e2; };",
	    "t.conf:1: 'limits.recipients' must be an integer");
}

static void
test_sizes(void **state)
{
	uint64_t v;
	static const char *const bad[] = {
		"5x", "-1", "", "K", "5MB", " 5", "5 ", "+5", "5.5M", "5KK",
		"18446744073709551616", "17179869184G", "16777216T", "0x10",
		"25 M", "5b",
	};

	(void)state;
	assert_int_equal(config_parse_size("1024", &v), 0);
	assert_int_equal(v, 1024);
	assert_int_equal(config_parse_size("0", &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(config_parse_size("25M", &v), 0);
	assert_int_equal(v, 25ULL << 20);
	assert_int_equal(config_parse_size("25m", &v), 0);
	assert_int_equal(v, 25ULL << 20);
	assert_int_equal(config_parse_size("4K", &v), 0);
	assert_int_equal(v, 4096);
	assert_int_equal(config_parse_size("4k", &v), 0);
	assert_int_equal(v, 4096);
	assert_int_equal(config_parse_size("2G", &v), 0);
	assert_int_equal(v, 2ULL << 30);
	assert_int_equal(config_parse_size("2g", &v), 0);
	assert_int_equal(v, 2ULL << 30);
	assert_int_equal(config_parse_size("18446744073709551615", &v), 0);
	assert_int_equal(v, UINT64_MAX);
	assert_int_equal(config_parse_size("17179869183G", &v), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (config_parse_size(bad[i], &v) != -1)
			fail_msg("size '%s' accepted", bad[i]);
	assert_int_equal(config_parse_size(NULL, &v), -1);
	/* In a file. */
	expect_error("limits = { message_size = \"5x\"; };",
	    "t.conf:1: 'limits.message_size': bad size '5x' (bytes, or a number "
	    "with K, M or G)");
	expect_error("limits = { message_size = \"-1\"; };",
	    "t.conf:1: 'limits.message_size': bad size '-1' (bytes, or a number "
	    "with K, M or G)");
	expect_error("limits = { message_size = \"\"; };",
	    "t.conf:1: 'limits.message_size': bad size '' (bytes, or a number "
	    "with K, M or G)");
	expect_error("limits = { message_size = \"99999999999999999999\"; };",
	    "t.conf:1: 'limits.message_size': bad size '99999999999999999999' "
	    "(bytes, or a number with K, M or G)");
	expect_error("limits = { message_size = -5; };",
	    "t.conf:1: 'limits.message_size' must not be negative");
}

static void
test_durations(void **state)
{
	uint64_t v;
	static const char *const bad[] = {
		"5x", "-1", "", "m", "5M", "5H", "1h30m", " 5", "5 ", "+5", "5.5s",
		"18446744073709551616", "213503982334602d", "5ms", "5w",
	};

	(void)state;
	assert_int_equal(config_parse_duration("42", &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(config_parse_duration("42s", &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(config_parse_duration("5m", &v), 0);
	assert_int_equal(v, 300);
	assert_int_equal(config_parse_duration("2h", &v), 0);
	assert_int_equal(v, 7200);
	assert_int_equal(config_parse_duration("5d", &v), 0);
	assert_int_equal(v, 432000);
	assert_int_equal(config_parse_duration("0", &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(config_parse_duration("213503982334601d", &v), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (config_parse_duration(bad[i], &v) != -1)
			fail_msg("duration '%s' accepted", bad[i]);
	expect_error("auth = { ban_time = \"1h30m\"; };",
	    "t.conf:1: 'auth.ban_time': bad duration '1h30m' (seconds, or a "
	    "number with s, m, h or d)");
	expect_error("auth = { ban_time = \"3651d\"; };",
	    "t.conf:1: 'auth.ban_time' must be between 1 and 315360000 seconds");
	expect_ok("auth = { ban_time = \"3650d\"; failure_window = 1L; };");
}

static void
test_listen(void **state)
{
	struct config cfg;

	(void)state;
	assert_int_equal(load("listen = ();", &cfg), 0);
	assert_int_equal(cfg.nlisten, 0);
	assert_null(cfg.listen);
	config_free(&cfg);
	assert_int_equal(load("listen = [];", &cfg), 0);
	assert_int_equal(cfg.nlisten, 0);
	config_free(&cfg);
	assert_int_equal(load("listen = ( { service = \"pop3\"; address = "
	    "\"[2001:db8::5]:110\"; allow = [\"::ffff:10.0.0.0/104\"]; }, "
	    "{ service = \"pop3s\"; address = \"[::]:995\"; }, "
	    "{ service = \"smtp\"; address = \"0.0.0.0:25\"; auth = false; } );",
	    &cfg), 0);
	assert_int_equal(cfg.nlisten, 3);
	assert_int_equal(cfg.listen[0].sa.ss_family, AF_INET6);
	assert_int_equal(sa_port(&cfg.listen[0]), 110);
	assert_true(cfg.listen[0].has_allow);
	assert_int_equal(cfg.listen[1].service, SVC_POP3S);
	assert_false(cfg.listen[2].auth);
	config_free(&cfg);

	expect_error("listen = (\n { service = \"smtp\"; address = \"1.2.3.4\"; } );",
	    "t.conf:2: 'listen.address': bad address '1.2.3.4' (want "
	    "\"0.0.0.0:25\" or \"[::]:25\")");
	static const char *const bad[] = {
		"1.2.3.4:0", "1.2.3.4:65536", "1.2.3.4:", "1.2.3.4:-1",
		"1.2.3.4:+25", "1.2.3.4:025x", "[::1]", "::1:25", "[::1]25",
		"mx.example.org:25", "localhost:25", "[1.2.3.4]:25",
		"1.2.3:25", "", ":25", "[]:25", "[::1]:", "1.2.3.4:100000",
		"*:25", "[fe80::1%eth0]:25",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char text[256], want[256];

		snprintf(text, sizeof(text), "listen = ( { service = \"imap\"; "
		    "address = \"%s\"; } );", bad[i]);
		snprintf(want, sizeof(want), "t.conf:1: 'listen.address': bad "
		    "address '%s' (want \"0.0.0.0:25\" or \"[::]:25\")", bad[i]);
		expect_error(text, want);
	}
	expect_error("listen = ( { service = \"smtps\"; address = \"1.2.3.4:25\"; } );",
	    "t.conf:1: 'listen.service' must be one of \"smtp\", \"submission\", "
	    "\"submissions\", \"pop3\", \"pop3s\", \"imap\", \"imaps\", not "
	    "'smtps'");
	expect_error("listen = (\n { address = \"1.2.3.4:25\"; } );",
	    "t.conf:2: 'listen' entry without 'service'");
	expect_error("listen = ( { service = \"smtp\"; } );",
	    "t.conf:1: 'listen' entry without 'address'");
	expect_error("listen = ( { service = \"submission\"; address = \"1.2.3.4:587\";\n"
	    "  auth = true; } );",
	    "t.conf:2: 'listen.auth' is only for service \"smtp\"");
	expect_error("listen = ( { service = \"imap\"; address = \"1.2.3.4:143\";"
	    " auth = false; } );",
	    "t.conf:1: 'listen.auth' is only for service \"smtp\"");
	expect_error("listen = ( { service = \"smtp\"; address = \"1.2.3.4:25\";"
	    " auth = 1; } );",
	    "t.conf:1: 'listen.auth' must be true or false");
	expect_error("listen = (\n { service = \"smtp\"; address = \"1.2.3.4:25\"; },\n"
	    " { service = \"submission\"; address = \"1.2.3.4:25\"; } );",
	    "t.conf:3: listen address '1.2.3.4:25' given twice (line 2)");
	expect_error("listen = (\n { service = \"smtp\"; address = \"[::1]:25\"; },\n"
	    " { service = \"smtp\"; address = \"[0::1]:25\"; } );",
	    "t.conf:3: listen address '[0::1]:25' given twice (line 2)");
	expect_error("listen = (\n { service = \"smtp\"; address = \"0.0.0.0:25\"; },\n"
	    " { service = \"smtp\"; address = \"127.0.0.1:25\"; } );",
	    "t.conf:3: listen address '127.0.0.1:25' overlaps '0.0.0.0:25' "
	    "(line 2)");
	/* Other port, or other family: no clash. */
	expect_ok("listen = ( { service = \"smtp\"; address = \"0.0.0.0:25\"; },"
	    " { service = \"smtp\"; address = \"127.0.0.1:26\"; },"
	    " { service = \"smtp\"; address = \"[::]:25\"; } );");
	expect_error("listen = ( { service = \"smtp\"; address = \"1.2.3.4:25\";"
	    " allow = []; } );",
	    "t.conf:1: 'listen.allow' is empty: nobody could connect; remove the "
	    "listener instead");
	expect_error("listen = ( { service = \"smtp\"; address = \"1.2.3.4:25\";"
	    " allow = [\"abc\"]; } );",
	    "t.conf:1: 'listen.allow': bad network 'abc' (want \"10.0.0.0/8\", "
	    "\"2001:db8::/32\" or an address)");
}

static void
test_catch_all_lock(void **state)
{
	struct config cfg;

	(void)state;
	expect_error("hostname = \"a.b\";\ndomain_defaults = {\n"
	    "  catch_all = \"all@example.org\";\n};\n",
	    "t.conf:3: 'domain_defaults.catch_all' is set but allow_catch_all = "
	    "false");
	expect_error("allow_catch_all = false;\ndomain_defaults = {\n"
	    "  catch_all = \"all@example.org\";\n};\n",
	    "t.conf:3: 'domain_defaults.catch_all' is set but allow_catch_all = "
	    "false");
	/* The lock may come after the group it unlocks. */
	assert_int_equal(load("domain_defaults = { catch_all = \"x@example.org\"; };\n"
	    "allow_catch_all = true;\n", &cfg), 0);
	assert_string_equal(cfg.domain_defaults.catch_all, "x@example.org");
	config_free(&cfg);
	expect_ok("domain_defaults = { catch_all = \"\"; };");
	expect_error("allow_catch_all = true;\ndomain_defaults = { catch_all = \"nobody\"; };",
	    "t.conf:2: 'domain_defaults.catch_all': 'nobody' is not an address");
	expect_error("allow_catch_all = true;\ndomain_defaults = { catch_all = \"a@b@c\"; };",
	    "t.conf:2: 'domain_defaults.catch_all': 'a@b@c' is not an address");
	expect_error("allow_catch_all = true;\ndomain_defaults = { catch_all = \"@b.c\"; };",
	    "t.conf:2: 'domain_defaults.catch_all': '@b.c' is not an address");
	expect_error("allow_catch_all = true;\ndomain_defaults = { catch_all = \"a@\"; };",
	    "t.conf:2: 'domain_defaults.catch_all': 'a@' is not an address");
}

static void
test_syntax_and_lexical(void **state)
{
	(void)state;
	expect_error("hostname = \"a.b\";\nlimits = {\n recipients = ;\n};",
	    "t.conf:3: syntax error");
	expect_error("a = 1;\na = 2;", "t.conf:2: duplicate setting name");
	expect_error("\n@include \"/etc/passwd\"\n",
	    "t.conf:2: @include is not supported: use one file");
	/* "@include" inside a string or a comment is text, not a directive. */
	expect_ok("smtp_banner = \"ESMTP @include\"; # @include \"x\"\n"
	    "// @include \"y\"\n/* @include\n \"z\" */\n");
	expect_error("smtp_banner = \"a\\\"\";\n/* x\n*/ hostname = 1;",
	    "t.conf:3: 'hostname' must be a string");
	expect_ok("hostname = \"a.b\"; # no newline at the end");
	expect_error("\nhostname = \"unterminated\n", "t.conf:2: unterminated string");
	/* Strings where libconfig 1.5 would leak them on its syntax error. */
	expect_error("hostname = \"a.b\";\nx = 1 \"s\";",
	    "t.conf:2: syntax error (unexpected string)");
	expect_error("limits = { \"x\" = 1; };",
	    "t.conf:1: syntax error (unexpected string)");
	expect_error("limits = { recipients = 1, \"x\" };",
	    "t.conf:1: syntax error (unexpected string)");
	expect_error("\"x\"", "t.conf:1: syntax error (unexpected string)");
	expect_error("hostname \"x\";", "t.conf:1: syntax error (unexpected string)");
	expect_ok("smtp_banner = \"a\" \"b\"; dns = { servers = [\"::1\",\n"
	    "\"127.0.0.1\"]; }; delivery = { retry = (\"1m\" \"\", 5); };");
	{
		char deep[64];

		/* 32 open brackets pass the lexer (then fail as a value),
		 * 33 do not. */
		memset(deep, '(', 32);
		deep[32] = '\0';
		expect_error(deep, "t.conf:1: syntax error");
		memset(deep, '(', 33);
		deep[33] = '\0';
		expect_error(deep, "t.conf:1: nested deeper than 32 levels");
	}
	expect_error("hostname = \"a.b\";\n/* x\nlimits = 5;\n",
	    "t.conf:2: unterminated comment");
}

static void
test_relayhost_and_servers(void **state)
{
	static const char *const good_relay[] = {
		"", "[smtp.example.net]:587", "smtp.example.net:25",
		"smtp.example.net", "[smtp.example.net]", "192.0.2.1:25",
		"[2001:db8::1]:25", "[192.0.2.1]",
	};
	static const char *const bad_relay[] = {
		"2001:db8::1", "smtp.example.net:", "smtp.example.net:0",
		"[smtp.example.net", "[]", "a..b", "host:25:25", "[x]y",
	};
	static const char *const good_dns[] = {
		"127.0.0.1", "127.0.0.1:53", "::1", "[::1]:5353", "2001:db8::1",
	};
	static const char *const bad_dns[] = {
		"", "127.0.0.1:0", "[::1]", "localhost", "127.0.0.1:x", "[127.0.0.1]:53",
	};
	char text[256];

	(void)state;
	for (size_t i = 0; i < sizeof(good_relay) / sizeof(good_relay[0]); i++) {
		snprintf(text, sizeof(text), "delivery = { relayhost = \"%s\"; };",
		    good_relay[i]);
		expect_ok(text);
	}
	for (size_t i = 0; i < sizeof(bad_relay) / sizeof(bad_relay[0]); i++) {
		struct config cfg;

		snprintf(text, sizeof(text), "delivery = { relayhost = \"%s\"; };",
		    bad_relay[i]);
		if (load(text, &cfg) == 0)
			fail_msg("relayhost '%s' accepted", bad_relay[i]);
	}
	for (size_t i = 0; i < sizeof(good_dns) / sizeof(good_dns[0]); i++) {
		snprintf(text, sizeof(text), "dns = { servers = [\"%s\"]; };",
		    good_dns[i]);
		expect_ok(text);
	}
	for (size_t i = 0; i < sizeof(bad_dns) / sizeof(bad_dns[0]); i++) {
		struct config cfg;

		snprintf(text, sizeof(text), "dns = { servers = [\"%s\"]; };",
		    bad_dns[i]);
		if (load(text, &cfg) == 0)
			fail_msg("dns server '%s' accepted", bad_dns[i]);
	}
	expect_ok("filters = { antivirus = { clamd = \"inet:127.0.0.1:3310\"; }; };");
	expect_ok("filters = { milters = ( { address = \"inet:[::1]:11332\"; } ); };");
	expect_ok("log = { remote = \"tcp://[2001:db8::1]:514\"; };");
}

/* A list of n strings "*.a" under filters.attachments.block. */
static char *
block_list(size_t n)
{
	size_t cap = 64 + n * 8, len;
	char *s = malloc(cap);

	assert_non_null(s);
	len = (size_t)snprintf(s, cap, "filters = { attachments = { block = [");
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(s + len, cap - len, "%s\"*.a\"",
		    i > 0 ? "," : "");
	snprintf(s + len, cap - len, "]; }; };");
	return s;
}

static void
test_list_bound(void **state)
{
	char *s, want[128];

	(void)state;
	s = block_list(CONFIG_LIST_MAX);
	expect_ok(s);
	free(s);
	s = block_list(CONFIG_LIST_MAX + 1);
	snprintf(want, sizeof(want), "t.conf:1: 'filters.attachments.block' has "
	    "more than %d entries", CONFIG_LIST_MAX);
	expect_error(s, want);
	free(s);
}

static void
test_relative_paths(void **state)
{
	struct config cfg;
	char *cwd = getcwd(NULL, 0), want[4096];

	(void)state;
	assert_non_null(cwd);
	assert_int_equal(load("data_dir = \"./spool/x\";\n"
	    "log = { file = \"log/p.log\"; };\n"
	    "tls = { cert = \"c.pem\"; key = \"/k.pem\"; };\n", &cfg), 0);
	snprintf(want, sizeof(want), "%s/spool/x", strcmp(cwd, "/") ? cwd : "");
	assert_string_equal(cfg.data_dir, want);
	snprintf(want, sizeof(want), "%s/log/p.log", strcmp(cwd, "/") ? cwd : "");
	assert_string_equal(cfg.log.file, want);
	snprintf(want, sizeof(want), "%s/c.pem", strcmp(cwd, "/") ? cwd : "");
	assert_string_equal(cfg.tls.cert, want);
	assert_string_equal(cfg.tls.key, "/k.pem");
	config_free(&cfg);
	assert_int_equal(load("delivery = { relayhost = \"[r.example]:587\";\n"
	    "relayhost_credentials = \"relay.secret\"; };\n", &cfg), 0);
	snprintf(want, sizeof(want), "%s/relay.secret", strcmp(cwd, "/") ? cwd : "");
	assert_string_equal(cfg.delivery.relayhost_credentials, want);
	config_free(&cfg);
	assert_int_equal(load("data_dir = \".\";", &cfg), 0);
	assert_string_equal(cfg.data_dir, cwd);
	config_free(&cfg);
	free(cwd);
}

/* Field-by-field equality, so the round trip cannot hide a lost key. */
static void
assert_config_equal(const struct config *a, const struct config *b)
{
	assert_string_equal(a->hostname, b->hostname);
	assert_string_equal(a->data_dir, b->data_dir);
	assert_string_equal(a->run_as, b->run_as);
	assert_string_equal(a->smtp_banner, b->smtp_banner);
	assert_string_equal(a->tls.cert, b->tls.cert);
	assert_string_equal(a->tls.key, b->tls.key);
	assert_int_equal(a->tls.min_version, b->tls.min_version);
	assert_string_equal(a->tls.min_version_name, b->tls.min_version_name);
	assert_int_equal(a->nlisten, b->nlisten);
	for (size_t i = 0; i < a->nlisten; i++) {
		const struct cfg_listen *x = &a->listen[i], *y = &b->listen[i];

		assert_int_equal(x->service, y->service);
		assert_string_equal(x->address, y->address);
		assert_int_equal(x->salen, y->salen);
		assert_memory_equal(&x->sa, &y->sa, x->salen);
		assert_int_equal(x->has_allow, y->has_allow);
		assert_int_equal(x->allow.n, y->allow.n);
		if (x->allow.n > 0)
			assert_memory_equal(x->allow.v, y->allow.v,
			    x->allow.n * sizeof(*x->allow.v));
		assert_int_equal(x->auth, y->auth);
	}
	assert_int_equal(a->auth.mechanisms.n, b->auth.mechanisms.n);
	for (size_t i = 0; i < a->auth.mechanisms.n; i++)
		assert_string_equal(a->auth.mechanisms.v[i], b->auth.mechanisms.v[i]);
	assert_int_equal(a->auth.failures_before_ban, b->auth.failures_before_ban);
	assert_int_equal(a->auth.failure_window, b->auth.failure_window);
	assert_int_equal(a->auth.ban_time, b->auth.ban_time);
	assert_int_equal(a->relay.trusted_networks.n, b->relay.trusted_networks.n);
	assert_memory_equal(a->relay.trusted_networks.v, b->relay.trusted_networks.v,
	    a->relay.trusted_networks.n * sizeof(struct cidr));
	assert_int_equal(a->relay.smtp_after_pop, b->relay.smtp_after_pop);
	assert_int_equal(a->relay.sender_rule, b->relay.sender_rule);
	assert_int_equal(a->domain_defaults.require_auth,
	    b->domain_defaults.require_auth);
	assert_string_equal(a->domain_defaults.catch_all,
	    b->domain_defaults.catch_all);
	assert_int_equal(a->domain_defaults.bounces, b->domain_defaults.bounces);
	assert_int_equal(a->domain_defaults.autoresponders,
	    b->domain_defaults.autoresponders);
	assert_int_equal(a->domain_defaults.max_message_size,
	    b->domain_defaults.max_message_size);
	assert_int_equal(a->allow_catch_all, b->allow_catch_all);
	assert_int_equal(a->checks.verify_recipients, b->checks.verify_recipients);
	assert_int_equal(a->checks.verify_sender_domain,
	    b->checks.verify_sender_domain);
	assert_int_equal(a->checks.spf, b->checks.spf);
	assert_int_equal(a->checks.rdns, b->checks.rdns);
	assert_int_equal(a->checks.helo, b->checks.helo);
	assert_int_equal(a->checks.ndnsbl, b->checks.ndnsbl);
	for (size_t i = 0; i < a->checks.ndnsbl; i++) {
		assert_string_equal(a->checks.dnsbl[i].zone, b->checks.dnsbl[i].zone);
		assert_int_equal(a->checks.dnsbl[i].action, b->checks.dnsbl[i].action);
	}
	assert_int_equal(a->checks.pregreet_reject, b->checks.pregreet_reject);
	assert_int_equal(a->checks.greet_delay, b->checks.greet_delay);
	assert_memory_equal(&a->limits, &b->limits, sizeof(a->limits));
	assert_int_equal(a->filters.attachments.block.n,
	    b->filters.attachments.block.n);
	for (size_t i = 0; i < a->filters.attachments.block.n; i++)
		assert_string_equal(a->filters.attachments.block.v[i],
		    b->filters.attachments.block.v[i]);
	assert_int_equal(a->filters.attachments.action,
	    b->filters.attachments.action);
	assert_int_equal(a->filters.attachments.notify,
	    b->filters.attachments.notify);
	assert_int_equal(a->filters.ncontent, b->filters.ncontent);
	for (size_t i = 0; i < a->filters.ncontent; i++) {
		assert_string_equal(a->filters.content[i].match,
		    b->filters.content[i].match);
		assert_int_equal(a->filters.content[i].where,
		    b->filters.content[i].where);
		assert_int_equal(a->filters.content[i].action,
		    b->filters.content[i].action);
	}
	assert_string_equal(a->filters.antivirus.clamd, b->filters.antivirus.clamd);
	assert_int_equal(a->filters.antivirus.action, b->filters.antivirus.action);
	assert_int_equal(a->filters.antivirus.on_error,
	    b->filters.antivirus.on_error);
	assert_int_equal(a->filters.nmilters, b->filters.nmilters);
	for (size_t i = 0; i < a->filters.nmilters; i++) {
		assert_string_equal(a->filters.milters[i].address,
		    b->filters.milters[i].address);
		assert_int_equal(a->filters.milters[i].on_error,
		    b->filters.milters[i].on_error);
	}
	assert_string_equal(a->filters.quarantine, b->filters.quarantine);
	assert_string_equal(a->delivery.relayhost, b->delivery.relayhost);
	assert_string_equal(a->delivery.relayhost_credentials,
	    b->delivery.relayhost_credentials);
	assert_int_equal(a->delivery.port, b->delivery.port);
	assert_int_equal(a->delivery.tls, b->delivery.tls);
	assert_int_equal(a->delivery.nretry, b->delivery.nretry);
	assert_memory_equal(a->delivery.retry, b->delivery.retry,
	    a->delivery.nretry * sizeof(unsigned));
	assert_int_equal(a->delivery.max_lifetime, b->delivery.max_lifetime);
	assert_int_equal(a->dns.servers.n, b->dns.servers.n);
	for (size_t i = 0; i < a->dns.servers.n; i++)
		assert_string_equal(a->dns.servers.v[i], b->dns.servers.v[i]);
	assert_string_equal(a->log.file, b->log.file);
	assert_int_equal(a->log.level, b->log.level);
	assert_string_equal(a->log.remote, b->log.remote);
}

/* Prints a, loads the text back, compares. */
static void
round_trip(const struct config *a)
{
	struct config b;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	assert_non_null(f);
	config_print(a, f);
	assert_int_equal(fclose(f), 0);
	if (load(text, &b) != 0)
		fail_msg("printed config refused: %s\n%s", err, text);
	assert_config_equal(a, &b);
	config_free(&b);
	free(text);
}

static void
test_round_trip(void **state)
{
	struct config a;

	(void)state;
	config_defaults(&a);
	round_trip(&a);
	config_free(&a);
	assert_int_equal(load(full_conf, &a), 0);
	round_trip(&a);
	config_free(&a);
	assert_int_equal(load("listen = (); smtp_banner = \"say \\\"hi\\\" \\\\o/\";"
	    "filters = { attachments = { notify = [\"recipient\"]; block = []; }; };"
	    "dns = { servers = []; };", &a), 0);
	round_trip(&a);
	config_free(&a);
}

static char *
tmp_file(const char *content, size_t len)
{
	char *path = strdup("/tmp/postern_config_test_XXXXXX");
	int fd;

	assert_non_null(path);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, len), (ssize_t)len);
	close(fd);
	return path;
}

static void
test_files(void **state)
{
	struct config cfg;
	char *path, want[256], *big;

	(void)state;
	/* Missing file: defaults when it may be absent, an error when not. */
	assert_int_equal(config_load("/nonexistent/postern.conf", false, &cfg,
	    err, sizeof(err)), 0);
	assert_null(cfg.path);
	assert_int_equal(cfg.nlisten, 7);
	config_free(&cfg);
	assert_int_equal(config_load("/nonexistent/postern.conf", true, &cfg,
	    err, sizeof(err)), -1);
	assert_string_equal(err, "/nonexistent/postern.conf:0: cannot open: No "
	    "such file or directory");
	assert_null(cfg.hostname);

	path = tmp_file("hostname = \"mx.example.org\";\n", 29);
	assert_int_equal(config_load(path, true, &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg.path, path);
	assert_string_equal(cfg.hostname, "mx.example.org");
	config_free(&cfg);
	unlink(path);
	free(path);

	path = tmp_file("hostname = \"a.b\";\n\nlimits = { foo = 1; };\n", 42);
	assert_int_equal(config_load(path, true, &cfg, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s:3: unknown key 'foo' in 'limits'", path);
	assert_string_equal(err, want);
	unlink(path);
	free(path);

	path = tmp_file("hostname = \"a.b\";\n\0x = 1;\n", 26);
	assert_int_equal(config_load(path, true, &cfg, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s:2: NUL byte in the file", path);
	assert_string_equal(err, want);
	unlink(path);
	free(path);

	/* Exactly CONFIG_FILE_MAX bytes of comment: fine; one more: refused. */
	big = malloc(CONFIG_FILE_MAX + 1);
	assert_non_null(big);
	memset(big, ' ', CONFIG_FILE_MAX + 1);
	big[0] = '#';
	path = tmp_file(big, CONFIG_FILE_MAX);
	assert_int_equal(config_load(path, true, &cfg, err, sizeof(err)), 0);
	config_free(&cfg);
	unlink(path);
	free(path);
	path = tmp_file(big, CONFIG_FILE_MAX + 1);
	assert_int_equal(config_load(path, true, &cfg, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s:0: file larger than %d bytes", path,
	    CONFIG_FILE_MAX);
	assert_string_equal(err, want);
	unlink(path);
	free(path);
	free(big);

	assert_int_equal(config_load("/tmp", true, &cfg, err, sizeof(err)), -1);
	assert_string_equal(err, "/tmp:0: not a regular file");
	/* A tiny error buffer truncates, never overflows. */
	assert_int_equal(config_load("/tmp", true, &cfg, err, 6), -1);
	assert_string_equal(err, "/tmp:");
	assert_int_equal(config_load("/tmp", true, &cfg, NULL, 0), -1);
}

static void
test_names(void **state)
{
	enum cfg_spf_policy p;

	(void)state;
	assert_string_equal(config_service_name(SVC_SMTP), "smtp");
	assert_string_equal(config_service_name(SVC_SUBMISSIONS), "submissions");
	assert_string_equal(config_service_name(SVC_IMAPS), "imaps");
	assert_string_equal(config_spf_policy_name(POLICY_REQUIRE_SPF),
	    "require_spf");
	assert_string_equal(config_spf_policy_name(POLICY_DISABLED), "disabled");
	assert_int_equal(config_spf_policy_parse("enabled", &p), 0);
	assert_int_equal(p, POLICY_ENABLED);
	assert_int_equal(config_spf_policy_parse("require_spf", &p), 0);
	assert_int_equal(p, POLICY_REQUIRE_SPF);
	assert_int_equal(config_spf_policy_parse("on", &p), -1);
	assert_int_equal(config_spf_policy_parse(NULL, &p), -1);
	assert_string_equal(config_default_path(), geteuid() == 0 ?
	    "/etc/postern/postern.conf" : "./postern.conf");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_full_file),
		cmocka_unit_test(test_unknown_keys),
		cmocka_unit_test(test_type_errors),
		cmocka_unit_test(test_value_errors),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_listen),
		cmocka_unit_test(test_catch_all_lock),
		cmocka_unit_test(test_syntax_and_lexical),
		cmocka_unit_test(test_relayhost_and_servers),
		cmocka_unit_test(test_list_bound),
		cmocka_unit_test(test_relative_paths),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_files),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
