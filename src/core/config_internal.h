/*
 * config_internal: what the files of the config module share: config.c
 * (loading, the key walker), config_keys.c (key tables), config_lex.c
 * (checks before libconfig), config_defaults.c, config_value.c (value
 * syntax) and config_print.c (check-config output). Not for other modules:
 * they get a const struct config and the functions of core/config.h.
 */
#ifndef POSTERN_CONFIG_INTERNAL_H
#define POSTERN_CONFIG_INTERNAL_H

#include <libconfig.h>
#include <stdbool.h>
#include <stddef.h>
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
bool	config_run_as_valid(const char *s);
bool	config_banner_valid(const char *s);
bool	config_mailbox_valid(const char *s);
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

/* ---- the key walker: config.c; key tables: config_keys.c ---- */

/* One load in progress: where errors go, what is being filled. */
struct config_ctx {
	const char	*name;		/* file name in errors */
	char		*err;
	size_t		 errlen;
	struct config	*cfg;
	config_t	*lc;
};

enum config_kind {
	CK_STRING,	/* char *: any string without control characters */
	CK_BOOL,	/* bool */
	CK_UINT,	/* unsigned: integer in [min, max] */
	CK_SIZE,	/* uint64_t: bytes, integer or "25M" */
	CK_DURATION,	/* unsigned: seconds, integer or "5m" */
	CK_ENUM,	/* enum: one name of enums */
	CK_GROUP,	/* nested group: keys sub, fields still relative to base */
	CK_CUSTOM,	/* parse(ctx, setting, base) */
};

struct config_key {
	const char		*name;
	enum config_kind	 kind;
	size_t			 off;		/* field offset from base */
	uint64_t		 min, max;	/* CK_UINT, CK_SIZE, CK_DURATION */
	const struct config_enum *enums;	/* CK_ENUM */
	const struct config_key	*sub;		/* CK_GROUP */
	int			(*parse)(struct config_ctx *,
				    const config_setting_t *, void *);
	bool			 required;	/* list entries: must be given */
};

/* f is a member designator ("limits.recipients"), which offsetof() takes
 * bare: parentheses around it would not compile.
 * NOLINTNEXTLINE(bugprone-macro-parentheses): see above */
#define FIELD(f)	offsetof(struct config, f)
#define KEY_BOOL(n, f)	{ .name = (n), .kind = CK_BOOL, .off = FIELD(f) }
#define KEY_UINT(n, f, lo, hi) \
	{ .name = (n), .kind = CK_UINT, .off = FIELD(f), .min = (lo), \
	  .max = (hi) }
#define KEY_SIZE(n, f, lo, hi) \
	{ .name = (n), .kind = CK_SIZE, .off = FIELD(f), .min = (lo), \
	  .max = (hi) }
#define KEY_DUR(n, f, lo, hi) \
	{ .name = (n), .kind = CK_DURATION, .off = FIELD(f), .min = (lo), \
	  .max = (hi) }
#define KEY_ENUM(n, f, t) \
	{ .name = (n), .kind = CK_ENUM, .off = FIELD(f), .enums = (t) }
#define KEY_GROUP(n, t)	{ .name = (n), .kind = CK_GROUP, .sub = (t) }
#define KEY_FN(n, fn)	{ .name = (n), .kind = CK_CUSTOM, .parse = (fn) }
#define KEY_END		{ .name = NULL }


static inline unsigned
config_line(const config_setting_t *s)
{
	return config_setting_source_line(s);
}

/* Every error returns -1 after writing "NAME:LINE: message" to ctx->err. */
int	config_error(struct config_ctx *ctx, unsigned line, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
int	config_walk(struct config_ctx *ctx, const config_setting_t *group,
	    const struct config_key *keys, void *base, const char *path);
/* *out is set on every path (NULL or 0 on error), never left indeterminate. */
int	config_want_string(struct config_ctx *ctx, const config_setting_t *s,
	    const char *what, const char **out);
int	config_want_amount(struct config_ctx *ctx, const config_setting_t *s,
	    const char *what, bool size, uint64_t *out);
int	config_check_range(struct config_ctx *ctx, const config_setting_t *s,
	    const char *what, uint64_t v, uint64_t min, uint64_t max,
	    const char *unit);
int	config_want_enum(struct config_ctx *ctx, const config_setting_t *s,
	    const char *what, const struct config_enum *t, int *out);
int	config_want_list(struct config_ctx *ctx, const config_setting_t *s,
	    const char *what, bool groups);
int	config_want_strlist(struct config_ctx *ctx, const config_setting_t *s,
	    const char *what, bool (*check)(const char *), const char *expect,
	    struct cfg_strlist *l);
int	config_want_cidrs(struct config_ctx *ctx, const config_setting_t *s,
	    const char *what, struct cidr_list *l);
void	config_set_string(char **field, const char *v);
int	config_check_cross(struct config_ctx *ctx);

/* The top-level keys of SPEC section 2 (config_keys.c). */
extern const struct config_key config_keys_top[];

/* Lexical checks before libconfig parses text (config_lex.c). */
int	config_lex_check(struct config_ctx *ctx, const char *text);

/* config_defaults.c */
void	config_free_listen(struct config *cfg);

#endif
