/*
 * config_internal: what config.c (loading), config_value.c (value syntax)
 * and config_print.c (check-config output) share. Not for other modules:
 * they get a const struct config and the functions of core/config.h.
 */
#ifndef POSTERN_CONFIG_INTERNAL_H
#define POSTERN_CONFIG_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/config.h"

/* Ceilings on values that have no RFC bound; see docs/configuration.md. */
#define CONFIG_DURATION_MAX_SEC	(3650ULL * 86400)	/* ten years */
#define CONFIG_COUNT_MAX	1000000			/* counts and limits */
#define CONFIG_GREET_DELAY_MAX_SEC 299	/* RFC 5321 4.5.3.2.1: 5 min for the 220 */
#define CONFIG_BANNER_MAX	200	/* keeps "220 host banner" in one line */
#define CONFIG_RUN_AS_MAX	32	/* useradd(8) limit */

/* One accepted spelling of an enumerated value. Tables end with name NULL. */
struct config_enum {
	const char	*name;
	int		 value;
};

extern const struct config_enum config_enum_service[];
extern const struct config_enum config_enum_sender_rule[];
extern const struct config_enum config_enum_spf_policy[];
extern const struct config_enum config_enum_check_mode[];
extern const struct config_enum config_enum_helo[];
extern const struct config_enum config_enum_pregreet[];
extern const struct config_enum config_enum_filter_action[];
extern const struct config_enum config_enum_dnsbl_action[];
extern const struct config_enum config_enum_where[];
extern const struct config_enum config_enum_on_error[];
extern const struct config_enum config_enum_delivery_tls[];
extern const struct config_enum config_enum_log_level[];
extern const struct config_enum config_enum_tls_version[];
extern const struct config_enum config_enum_notify[];

/* Exact, case-sensitive match; 0 or -1. */
int	config_enum_parse(const struct config_enum *t, const char *s, int *out);
/* The name of value, or "?" when it has none. */
const char *config_enum_name(const struct config_enum *t, int value);

/* "1.2.3.4:25" or "[2001:db8::1]:25", numeric only; 0 or -1. */
int	config_listen_addr_parse(const char *s, struct sockaddr_storage *sa_out,
	    socklen_t *salen_out);
/* Value checks for strings whose syntax the SPEC fixes. */
bool	config_hostname_valid(const char *s);
bool	config_run_as_valid(const char *s);
bool	config_banner_valid(const char *s);
bool	config_mailbox_valid(const char *s);
bool	config_dns_server_valid(const char *s);
bool	config_relayhost_valid(const char *s);
bool	config_clamd_valid(const char *s);
bool	config_milter_valid(const char *s);
bool	config_remote_log_valid(const char *s);
bool	config_has_control(const char *s);
/*
 * Makes path absolute against the current directory (leading "./" dropped).
 * Returns a new string, or NULL when the current directory is unknown.
 */
char	*config_path_absolute(const char *path);

#endif
