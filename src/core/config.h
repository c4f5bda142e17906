/*
 * config: the whole configuration of SPEC section 2, read once from a
 * libconfig file into typed, validated structs. Modules get a const pointer.
 * Unknown keys, wrong types and bad values are errors naming file and line.
 */
#ifndef POSTERN_CONFIG_H
#define POSTERN_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "core/cidr.h"
#include "core/log.h"

enum cfg_service {
	SVC_SMTP, SVC_SUBMISSION, SVC_SUBMISSIONS,
	SVC_POP3, SVC_POP3S, SVC_IMAP, SVC_IMAPS,
	SVC_COUNT
};

struct cfg_strlist {
	char	**v;
	size_t	  n;
};

struct cfg_listen {
	enum cfg_service	 service;
	char			*address;	/* as written: "127.0.0.1:2525", "[::1]:25" */
	struct sockaddr_storage	 sa;		/* parsed address */
	socklen_t		 salen;
	bool			 has_allow;	/* allow = [...] given */
	struct cidr_list	 allow;
	bool			 auth;		/* smtp only: offer AUTH after TLS */
};

enum cfg_sender_rule { SENDER_RULE_NONE, SENDER_RULE_LOCAL_DOMAIN, SENDER_RULE_ACCOUNT };
/* bounces, autoresponders */
enum cfg_spf_policy { POLICY_DISABLED, POLICY_REQUIRE_SPF, POLICY_ENABLED };
enum cfg_check_mode { CHECK_OFF, CHECK_TAG, CHECK_REJECT };	/* spf, rdns */
enum cfg_helo_mode { HELO_OFF, HELO_REJECT_INVALID };
enum cfg_action { ACTION_REJECT, ACTION_DISCARD, ACTION_QUARANTINE, ACTION_TAG };
enum cfg_on_error { ON_ERROR_TEMPFAIL, ON_ERROR_ACCEPT, ON_ERROR_REJECT };
enum cfg_where { WHERE_HEADERS, WHERE_BODY, WHERE_ANY };
enum cfg_delivery_tls { DELIVERY_TLS_OPPORTUNISTIC, DELIVERY_TLS_REQUIRED };

#define NOTIFY_SENDER		0x1
#define NOTIFY_RECIPIENT	0x2

struct cfg_domain_defaults {
	bool			 require_auth;
	char			*catch_all;	/* "" = none */
	enum cfg_spf_policy	 bounces;
	enum cfg_spf_policy	 autoresponders;
	uint64_t		 max_message_size;
};

struct cfg_dnsbl {
	char			*zone;
	enum cfg_action		 action;	/* reject or tag */
};

struct cfg_content_rule {
	char			*match;
	enum cfg_where		 where;
	enum cfg_action		 action;
};

struct cfg_milter {
	char			*address;	/* "inet:host:port" or "unix:/path" */
	enum cfg_on_error	 on_error;
};

struct config {
	char	*path;		/* file read, or NULL when built-in defaults apply */
	char	*hostname;
	char	*data_dir;	/* absolute */
	char	*run_as;
	char	*smtp_banner;

	struct {
		char	*cert;		/* "" = self-signed in data_dir/tls/ */
		char	*key;
		int	 min_version;	/* TLS1_2_VERSION, TLS1_3_VERSION, ... */
		char	*min_version_name;	/* "TLSv1.2" */
	} tls;

	struct cfg_listen	*listen;
	size_t			 nlisten;

	struct {
		struct cfg_strlist	 mechanisms;	/* upper case */
		unsigned		 failures_before_ban;
		unsigned		 failure_window;	/* seconds */
		unsigned		 ban_time;		/* seconds */
	} auth;

	struct {
		struct cidr_list	 trusted_networks;
		unsigned		 smtp_after_pop;	/* seconds, 0 = off */
		enum cfg_sender_rule	 sender_rule;
	} relay;

	struct cfg_domain_defaults	 domain_defaults;
	bool				 allow_catch_all;

	struct {
		bool			 verify_recipients;
		bool			 verify_sender_domain;
		enum cfg_check_mode	 spf;
		enum cfg_check_mode	 rdns;
		enum cfg_helo_mode	 helo;
		struct cfg_dnsbl	*dnsbl;
		size_t			 ndnsbl;
		bool			 pregreet_reject;	/* pregreet = "reject" | "off" */
		unsigned		 greet_delay;		/* seconds */
	} checks;

	struct {
		uint64_t	 message_size;
		unsigned	 recipients;
		unsigned	 connections;
		unsigned	 connections_per_ip;
		unsigned	 errors_before_disconnect;
		unsigned	 command_timeout;	/* seconds */
	} limits;

	struct {
		struct {
			struct cfg_strlist	 block;
			enum cfg_action		 action;
			unsigned		 notify;	/* NOTIFY_* bits */
		} attachments;
		struct cfg_content_rule	*content;
		size_t			 ncontent;
		struct {
			char			*clamd;
			enum cfg_action		 action;
			enum cfg_on_error	 on_error;
		} antivirus;
		struct cfg_milter	*milters;
		size_t			 nmilters;
		char			*quarantine;
	} filters;

	struct {
		char			*relayhost;	/* "" = MX */
		/* Absolute path of a "user:password" file for AUTH PLAIN to the
		 * relayhost (read by remote_new() before chroot), "" = none. */
		char			*relayhost_credentials;
		unsigned		 port;
		enum cfg_delivery_tls	 tls;
		unsigned		*retry;		/* seconds */
		size_t			 nretry;
		unsigned		 max_lifetime;	/* seconds */
	} delivery;

	struct {
		struct cfg_strlist	 servers;	/* "127.0.0.1:53" */
	} dns;

	struct {
		char		*file;		/* "" = stderr */
		enum log_level	 level;
		char		*remote;
	} log;
};

/* Fills *cfg with the built-in defaults of SPEC section 2. */
void	config_defaults(struct config *cfg);
/*
 * Reads path into *cfg_out (defaults first, then the file). When the file
 * does not exist and must_exist is false, the defaults apply and 0 is
 * returned. On error returns -1 and writes one line "FILE:LINE: message"
 * into err (errlen bytes); *cfg_out is then left freed.
 */
int	config_load(const char *path, bool must_exist, struct config *cfg_out,
	    char *err, size_t errlen);
/* Parses a configuration held in memory (used by the fuzzer and tests);
 * name appears in errors in place of a file name. */
int	config_load_string(const char *text, const char *name,
	    struct config *cfg_out, char *err, size_t errlen);
void	config_free(struct config *cfg);
/* Prints the effective configuration in libconfig syntax (check-config). */
void	config_print(const struct config *cfg, FILE *out);

/* "25M" -> bytes, "5m" -> seconds; 0 or -1. Exposed for tests and the CLI. */
int	config_parse_size(const char *s, uint64_t *out);
int	config_parse_duration(const char *s, uint64_t *out);
const char *config_service_name(enum cfg_service s);
const char *config_spf_policy_name(enum cfg_spf_policy p);
int	config_spf_policy_parse(const char *s, enum cfg_spf_policy *out);
/* The default configuration file: /etc/postern/postern.conf as root, else
 * ./postern.conf. */
const char *config_default_path(void);

/* Value syntax shared with the command line (relay-test, dns-records). */
/* A DNS name: labels of letters, digits, '-' and '_' (RFC 1035 2.3.4
 * lengths), no empty label, no trailing dot. */
bool	config_hostname_valid(const char *s);
/* 1..65535, decimal digits only; 0 or -1. */
int	config_port_parse(const char *s, in_port_t *out);
/* A dns.servers entry: "IP", "IPv4:port" or "[IPv6]:port". */
bool	config_dns_server_valid(const char *s);
/*
 * Splits "[v6]:port", "host:port" or (port_optional) "host"/"[v6]" into a
 * host copied to host (hostlen bytes) and a port string (NULL when left
 * out). bracketed_out tells whether the host was in brackets. 0 or -1.
 */
int	config_hostport_split(const char *s, bool port_optional, char *host,
	    size_t hostlen, const char **port_out, bool *bracketed_out);

#endif
