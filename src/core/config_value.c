/*
 * config_value: the syntax of single configuration values (SPEC section 2):
 * sizes, durations, enumerations, listener and server addresses, hosts and
 * paths. Pure string checks, no DNS and no file access; config.c decides
 * which key takes which value and reports errors with file and line.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config_internal.h"
#include "core/limits.h"
#include "core/logremote_fmt.h"
#include "core/xalloc.h"

const struct config_enum config_enum_service[] = {
	{ "smtp", SVC_SMTP }, { "submission", SVC_SUBMISSION },
	{ "submissions", SVC_SUBMISSIONS }, { "pop3", SVC_POP3 },
	{ "pop3s", SVC_POP3S }, { "imap", SVC_IMAP }, { "imaps", SVC_IMAPS },
	{ NULL, 0 }
};
const struct config_enum config_enum_sender_rule[] = {
	{ "none", SENDER_RULE_NONE }, { "local_domain", SENDER_RULE_LOCAL_DOMAIN },
	{ "account", SENDER_RULE_ACCOUNT }, { NULL, 0 }
};
const struct config_enum config_enum_spf_policy[] = {
	{ "disabled", POLICY_DISABLED }, { "require_spf", POLICY_REQUIRE_SPF },
	{ "enabled", POLICY_ENABLED }, { NULL, 0 }
};
const struct config_enum config_enum_check_mode[] = {
	{ "off", CHECK_OFF }, { "tag", CHECK_TAG }, { "reject", CHECK_REJECT },
	{ NULL, 0 }
};
const struct config_enum config_enum_helo[] = {
	{ "off", HELO_OFF }, { "reject_invalid", HELO_REJECT_INVALID }, { NULL, 0 }
};
const struct config_enum config_enum_pregreet[] = {
	{ "reject", 1 }, { "off", 0 }, { NULL, 0 }
};
const struct config_enum config_enum_filter_action[] = {
	{ "reject", ACTION_REJECT }, { "discard", ACTION_DISCARD },
	{ "quarantine", ACTION_QUARANTINE }, { NULL, 0 }
};
const struct config_enum config_enum_dnsbl_action[] = {
	{ "reject", ACTION_REJECT }, { "tag", ACTION_TAG }, { NULL, 0 }
};
const struct config_enum config_enum_where[] = {
	{ "headers", WHERE_HEADERS }, { "body", WHERE_BODY }, { "any", WHERE_ANY },
	{ NULL, 0 }
};
const struct config_enum config_enum_on_error[] = {
	{ "tempfail", ON_ERROR_TEMPFAIL }, { "accept", ON_ERROR_ACCEPT },
	{ "reject", ON_ERROR_REJECT }, { NULL, 0 }
};
const struct config_enum config_enum_delivery_tls[] = {
	{ "opportunistic", DELIVERY_TLS_OPPORTUNISTIC },
	{ "required", DELIVERY_TLS_REQUIRED }, { NULL, 0 }
};
const struct config_enum config_enum_log_level[] = {
	{ "debug", LOGL_DEBUG }, { "info", LOGL_INFO }, { "warn", LOGL_WARN },
	{ "error", LOGL_ERROR }, { NULL, 0 }
};
/* TLS 1.0 and 1.1 are deprecated (RFC 8996); nothing older is offered. */
const struct config_enum config_enum_tls_version[] = {
	{ "TLSv1.2", TLS1_2_VERSION }, { "TLSv1.3", TLS1_3_VERSION }, { NULL, 0 }
};
const struct config_enum config_enum_notify[] = {
	{ "sender", NOTIFY_SENDER }, { "recipient", NOTIFY_RECIPIENT }, { NULL, 0 }
};

int
config_enum_parse(const struct config_enum *t, const char *s, int *out)
{
	for (; t->name != NULL; t++) {
		if (strcmp(t->name, s) == 0) {
			*out = t->value;
			return 0;
		}
	}
	return -1;
}

const char *
config_enum_name(const struct config_enum *t, int value)
{
	for (; t->name != NULL; t++)
		if (t->value == value)
			return t->name;
	return "?";
}

const char *
config_service_name(enum cfg_service s)
{
	return config_enum_name(config_enum_service, (int)s);
}

const char *
config_spf_policy_name(enum cfg_spf_policy p)
{
	return config_enum_name(config_enum_spf_policy, (int)p);
}

int
config_spf_policy_parse(const char *s, enum cfg_spf_policy *out)
{
	int v;

	if (s == NULL || config_enum_parse(config_enum_spf_policy, s, &v) == -1)
		return -1;
	*out = (enum cfg_spf_policy)v;
	return 0;
}

const char *
config_default_path(void)
{
	return geteuid() == 0 ? "/etc/postern/postern.conf" : "./postern.conf";
}

/*
 * Decimal digits then at most one suffix from units; overflow, signs,
 * blanks and empty input are errors, so "-1" cannot wrap to a huge size.
 */
static int
config_number_parse(const char *s, const char *units, const uint64_t *mult,
    uint64_t *out)
{
	uint64_t v = 0, m = 1;
	size_t i;
	const char *u;

	if (s == NULL)
		return -1;
	for (i = 0; s[i] >= '0' && s[i] <= '9'; i++) {
		if (v > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (i == 0)
		return -1;
	if (s[i] != '\0') {
		if (s[i + 1] != '\0' || (u = strchr(units, s[i])) == NULL)
			return -1;
		m = mult[u - units];
	}
	if (m != 0 && v > UINT64_MAX / m)
		return -1;
	*out = v * m;
	return 0;
}

int
config_parse_size(const char *s, uint64_t *out)
{
	static const uint64_t mult[] = {
		1ULL << 10, 1ULL << 20, 1ULL << 30,
		1ULL << 10, 1ULL << 20, 1ULL << 30,
	};

	return config_number_parse(s, "KMGkmg", mult, out);
}

int
config_parse_duration(const char *s, uint64_t *out)
{
	static const uint64_t mult[] = { 1, 60, 3600, 86400 };

	/* Lower case only: "5M" would read as months to some people. */
	return config_number_parse(s, "smhd", mult, out);
}

int
config_port_parse(const char *s, in_port_t *out)
{
	uint64_t v;

	if (strlen(s) > 5 || config_number_parse(s, "", NULL, &v) == -1 ||
	    v == 0 || v > 65535)
		return -1;
	*out = (in_port_t)v;
	return 0;
}

int
config_hostport_split(const char *s, bool port_optional, char *host,
    size_t hostlen, const char **port_out, bool *bracketed_out)
{
	const char *end, *colon;
	size_t n;

	*bracketed_out = s[0] == '[';
	if (*bracketed_out) {
		if ((end = strchr(s, ']')) == NULL)
			return -1;
		n = (size_t)(end - s - 1);
		s++;
		colon = end[1] == ':' ? end + 1 : NULL;
		if (end[1] != '\0' && colon == NULL)
			return -1;
	} else {
		colon = strrchr(s, ':');
		n = colon != NULL ? (size_t)(colon - s) : strlen(s);
	}
	if (n == 0 || n >= hostlen || (colon == NULL && !port_optional))
		return -1;
	memcpy(host, s, n);
	host[n] = '\0';
	*port_out = colon != NULL ? colon + 1 : NULL;
	return 0;
}

int
config_listen_addr_parse(const char *s, struct sockaddr_storage *sa_out,
    socklen_t *salen_out)
{
	char host[INET6_ADDRSTRLEN];
	const char *port;
	bool br;
	in_port_t p;

	if (config_hostport_split(s, false, host, sizeof(host), &port, &br) == -1 ||
	    config_port_parse(port, &p) == -1)
		return -1;
	memset(sa_out, 0, sizeof(*sa_out));
	if (br) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)sa_out;

		if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1)
			return -1;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(p);
		*salen_out = sizeof(*sin6);
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)sa_out;

		if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
			return -1;
		sin->sin_family = AF_INET;
		sin->sin_port = htons(p);
		*salen_out = sizeof(*sin);
	}
	return 0;
}

bool
config_has_control(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

bool
config_hostname_valid(const char *s)
{
	size_t n = strlen(s), label = 0;

	if (n == 0 || n > SMTP_DOMAIN_MAX)
		return false;
	for (size_t i = 0; i <= n; i++) {
		char c = s[i];

		if (c == '.' || c == '\0') {
			if (label == 0 || s[i - 1] == '-' || s[i - label] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return false;
		if (++label > SMTP_LABEL_MAX)
			return false;
	}
	return true;
}

bool
config_run_as_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > CONFIG_RUN_AS_MAX || s[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'))
			return false;
	}
	/* Protocol code never runs as root (SPEC section 2, run_as). */
	return strcmp(s, "root") != 0;
}

bool
config_banner_valid(const char *s)
{
	size_t n = strlen(s);

	if (n > CONFIG_BANNER_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return false;
	return true;
}

/* local@domain: one '@', both sides non-empty, no blanks, within RFC 5321
 * 4.5.3.1 lengths. Not a full RFC 5321 parse: smtp_addr owns that. */
bool
config_mailbox_valid(const char *s)
{
	const char *at = strchr(s, '@');
	size_t n = strlen(s);

	if (at == NULL || strchr(at + 1, '@') != NULL || at == s ||
	    at[1] == '\0' || n + 2 > SMTP_PATH_MAX ||
	    (size_t)(at - s) > SMTP_LOCAL_PART_MAX || strpbrk(s, " \t<>") != NULL)
		return false;
	return config_hostname_valid(at + 1);
}

static bool
config_ip_valid(const char *s, int family)
{
	uint8_t b[16];

	return inet_pton(family, s, b) == 1;
}

bool
config_dns_server_valid(const char *s)
{
	char host[INET6_ADDRSTRLEN];
	const char *port;
	bool br;
	in_port_t p;

	if (config_ip_valid(s, AF_INET) || config_ip_valid(s, AF_INET6))
		return true;
	if (config_hostport_split(s, false, host, sizeof(host), &port, &br) == -1 ||
	    config_port_parse(port, &p) == -1)
		return false;
	return config_ip_valid(host, br ? AF_INET6 : AF_INET);
}

/* host[:port] or [host][:port], host a name or address; bare IPv6 only in
 * brackets. port_optional says whether ":port" may be left out. */
static bool
config_host_port_valid(const char *s, bool port_optional)
{
	char host[SMTP_DOMAIN_MAX + 1];
	const char *port;
	bool br;
	in_port_t p;

	if (config_hostport_split(s, port_optional, host, sizeof(host), &port,
	    &br) == -1)
		return false;
	if (port != NULL && config_port_parse(port, &p) == -1)
		return false;
	if (br && config_ip_valid(host, AF_INET6))
		return true;
	return config_ip_valid(host, AF_INET) || config_hostname_valid(host);
}

bool
config_relayhost_valid(const char *s)
{
	return *s == '\0' || config_host_port_valid(s, true);
}

/* "unix:/absolute/path" or "inet:host:port". */
bool
config_milter_valid(const char *s)
{
	if (strncmp(s, "unix:", 5) == 0)
		return s[5] == '/' && s[6] != '\0';
	if (strncmp(s, "inet:", 5) == 0)
		return config_host_port_valid(s + 5, false);
	return false;
}

bool
config_clamd_valid(const char *s)
{
	return *s == '\0' || config_milter_valid(s);
}

/* "udp://host:port" or "tcp://host:port" (RFC 5424 transports): what the
 * relay will parse, by the relay's own parser. */
bool
config_remote_log_valid(const char *s)
{
	struct logremote_target t;

	return *s == '\0' ||
	    logremote_fmt_parse_target(span_from_cstr(s), &t) == PARSE_OK;
}

char *
config_path_absolute(const char *path)
{
	char *cwd, *abs;

	if (path[0] == '/')
		return xstrdup(path);
	while (path[0] == '.' && path[1] == '/') {
		path += 2;
		while (*path == '/')
			path++;
	}
	/* glibc allocates a buffer of the right size: no PATH_MAX guess. */
	if ((cwd = getcwd(NULL, 0)) == NULL)
		return NULL;
	if (strcmp(path, ".") == 0 || *path == '\0')
		abs = xstrdup(cwd);
	else
		abs = xasprintf("%s%s%s", cwd,
		    cwd[strlen(cwd) - 1] == '/' ? "" : "/", path);
	free(cwd);
	return abs;
}
