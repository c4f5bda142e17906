/*
 * config: reads the libconfig file of SPEC section 2 once into struct
 * config. Every setting is walked against a table of known keys, so an
 * unknown key, a wrong type or a bad value is one "FILE:LINE: message" and
 * the whole file is refused. Value syntax lives in config_value.c, the
 * check-config output in config_print.c.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libconfig.h>
#include <limits.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/config.h"
#include "core/config_internal.h"
#include "core/limits.h"
#include "core/xalloc.h"

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

#define FIELD(f)	offsetof(struct config, f)
#define KEY_STR(n, f)	{ .name = n, .kind = CK_STRING, .off = FIELD(f) }
#define KEY_BOOL(n, f)	{ .name = n, .kind = CK_BOOL, .off = FIELD(f) }
#define KEY_UINT(n, f, lo, hi) \
	{ .name = n, .kind = CK_UINT, .off = FIELD(f), .min = lo, .max = hi }
#define KEY_SIZE(n, f, lo, hi) \
	{ .name = n, .kind = CK_SIZE, .off = FIELD(f), .min = lo, .max = hi }
#define KEY_DUR(n, f, lo, hi) \
	{ .name = n, .kind = CK_DURATION, .off = FIELD(f), .min = lo, .max = hi }
#define KEY_ENUM(n, f, t) \
	{ .name = n, .kind = CK_ENUM, .off = FIELD(f), .enums = t }
#define KEY_GROUP(n, t)	{ .name = n, .kind = CK_GROUP, .sub = t }
#define KEY_FN(n, fn)	{ .name = n, .kind = CK_CUSTOM, .parse = fn }
#define KEY_END		{ .name = NULL }

static unsigned
config_hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return (unsigned)(c - '0');
	if (c >= 'a' && c <= 'f')
		return (unsigned)(c - 'a' + 10);
	if (c >= 'A' && c <= 'F')
		return (unsigned)(c - 'A' + 10);
	return 16;
}

static void config_free_listen(struct config *cfg);

/*
 * Writes "NAME:LINE: message" into ctx->err. Any control byte that slipped
 * into the message becomes '?', so the error stays one line in any log.
 */
static int __attribute__((format(printf, 3, 4)))
config_error(struct config_ctx *ctx, unsigned line, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (ctx->err == NULL || ctx->errlen == 0)
		return -1;
	n = snprintf(ctx->err, ctx->errlen, "%s:%u: ", ctx->name, line);
	if (n >= 0 && (size_t)n < ctx->errlen) {
		va_start(ap, fmt);
		vsnprintf(ctx->err + n, ctx->errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	for (char *p = ctx->err; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return -1;
}

static unsigned
config_line(const config_setting_t *s)
{
	return config_setting_source_line(s);
}

/* "limits.recipients", or "hostname" at the top level. */
static void
config_key_path(char *out, size_t outlen, const char *path, const char *name)
{
	snprintf(out, outlen, "%s%s%s", path, *path != '\0' ? "." : "",
	    name != NULL ? name : "");
}

static int
config_want_string(struct config_ctx *ctx, const config_setting_t *s,
    const char *what, const char **out)
{
	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return config_error(ctx, config_line(s), "'%s' must be a string",
		    what);
	*out = config_setting_get_string(s);
	if (config_has_control(*out))
		return config_error(ctx, config_line(s),
		    "'%s' contains a control character", what);
	return 0;
}

static int
config_want_int(struct config_ctx *ctx, const config_setting_t *s,
    const char *what, long long *out)
{
	int t = config_setting_type(s);

	if (t != CONFIG_TYPE_INT && t != CONFIG_TYPE_INT64)
		return config_error(ctx, config_line(s),
		    "'%s' must be an integer", what);
	*out = config_setting_get_int64(s);
	return 0;
}

/* A size or duration: a non-negative integer or a string with a suffix. */
static int
config_want_amount(struct config_ctx *ctx, const config_setting_t *s,
    const char *what, bool size, uint64_t *out)
{
	const char *str;
	long long v;

	if (config_setting_type(s) == CONFIG_TYPE_STRING) {
		if (config_want_string(ctx, s, what, &str) == -1)
			return -1;
		if ((size ? config_parse_size(str, out) :
		    config_parse_duration(str, out)) == -1)
			return config_error(ctx, config_line(s),
			    "'%s': bad %s '%.64s' (%s)", what,
			    size ? "size" : "duration", str, size ?
			    "bytes, or a number with K, M or G" :
			    "seconds, or a number with s, m, h or d");
		return 0;
	}
	if (config_setting_type(s) != CONFIG_TYPE_INT &&
	    config_setting_type(s) != CONFIG_TYPE_INT64)
		return config_error(ctx, config_line(s),
		    "'%s' must be an integer or a string like \"%s\"", what,
		    size ? "25M" : "5m");
	v = config_setting_get_int64(s);
	if (v < 0)
		return config_error(ctx, config_line(s),
		    "'%s' must not be negative", what);
	*out = (uint64_t)v;
	return 0;
}

static int
config_check_range(struct config_ctx *ctx, const config_setting_t *s,
    const char *what, uint64_t v, uint64_t min, uint64_t max, const char *unit)
{
	if (v >= min && v <= max)
		return 0;
	return config_error(ctx, config_line(s),
	    "'%s' must be between %llu and %llu%s", what,
	    (unsigned long long)min, (unsigned long long)max, unit);
}

static int
config_want_enum(struct config_ctx *ctx, const config_setting_t *s,
    const char *what, const struct config_enum *t, int *out)
{
	char choices[256];
	const char *str;
	size_t n = 0;

	if (config_want_string(ctx, s, what, &str) == -1)
		return -1;
	if (config_enum_parse(t, str, out) == 0)
		return 0;
	choices[0] = '\0';
	for (; t->name != NULL && n < sizeof(choices); t++)
		n += (size_t)snprintf(choices + n, sizeof(choices) - n, "%s\"%s\"",
		    n > 0 ? ", " : "", t->name);
	return config_error(ctx, config_line(s), "'%s' must be one of %s, not "
	    "'%.64s'", what, choices, str);
}

static void
config_set_string(char **field, const char *v)
{
	free(*field);
	*field = xstrdup(v);
}

static int config_walk(struct config_ctx *ctx, const config_setting_t *group,
    const struct config_key *keys, void *base, const char *path);

/* Stores one setting into the field that key describes. */
static int
config_apply(struct config_ctx *ctx, const config_setting_t *s,
    const struct config_key *k, void *base, const char *path)
{
	char what[128];
	void *field = (char *)base + k->off;
	const char *str;
	uint64_t v;
	long long i = 0;
	int e;

	config_key_path(what, sizeof(what), path, k->name);
	switch (k->kind) {
	case CK_STRING:
		if (config_want_string(ctx, s, what, &str) == -1)
			return -1;
		config_set_string(field, str);
		return 0;
	case CK_BOOL:
		if (config_setting_type(s) != CONFIG_TYPE_BOOL)
			return config_error(ctx, config_line(s),
			    "'%s' must be true or false", what);
		*(bool *)field = config_setting_get_bool(s) != 0;
		return 0;
	case CK_UINT:
		if (config_want_int(ctx, s, what, &i) == -1)
			return -1;
		if (i < 0 || config_check_range(ctx, s, what, (uint64_t)i,
		    k->min, k->max, "") == -1)
			return config_error(ctx, config_line(s),
			    "'%s' must be between %llu and %llu", what,
			    (unsigned long long)k->min,
			    (unsigned long long)k->max);
		*(unsigned *)field = (unsigned)i;
		return 0;
	case CK_SIZE:
	case CK_DURATION:
		if (config_want_amount(ctx, s, what, k->kind == CK_SIZE, &v) == -1 ||
		    config_check_range(ctx, s, what, v, k->min, k->max,
		    k->kind == CK_SIZE ? " bytes" : " seconds") == -1)
			return -1;
		if (k->kind == CK_SIZE)
			*(uint64_t *)field = v;
		else
			*(unsigned *)field = (unsigned)v;
		return 0;
	case CK_ENUM:
		if (config_want_enum(ctx, s, what, k->enums, &e) == -1)
			return -1;
		/* Every enum of config.h has non-negative values: int-sized. */
		*(int *)field = e;
		return 0;
	case CK_GROUP:
		return config_walk(ctx, s, k->sub, base, what);
	case CK_CUSTOM:
		return k->parse(ctx, s, base);
	}
	return config_error(ctx, config_line(s), "'%s': internal error", what);
}

/*
 * Applies every member of group through keys. A member that no key names
 * is an error: a typo must not silently leave a secure default in place
 * of what the administrator meant, nor the reverse.
 */
static int
config_walk(struct config_ctx *ctx, const config_setting_t *group,
    const struct config_key *keys, void *base, const char *path)
{
	uint64_t seen = 0;
	int n;

	if (config_setting_type(group) != CONFIG_TYPE_GROUP)
		return config_error(ctx, config_line(group),
		    "'%s' must be a group { ... }", path);
	n = config_setting_length(group);
	for (int i = 0; i < n; i++) {
		const config_setting_t *s = config_setting_get_elem(group,
		    (unsigned)i);
		const char *name = config_setting_name(s);
		size_t k;

		for (k = 0; keys[k].name != NULL; k++)
			if (name != NULL && strcmp(keys[k].name, name) == 0)
				break;
		if (keys[k].name == NULL) {
			if (*path == '\0')
				return config_error(ctx, config_line(s),
				    "unknown key '%s'", name ? name : "?");
			return config_error(ctx, config_line(s),
			    "unknown key '%s' in '%s'", name ? name : "?", path);
		}
		if (k < 64)
			seen |= 1ULL << k;
		if (config_apply(ctx, s, &keys[k], base, path) == -1)
			return -1;
	}
	for (size_t k = 0; keys[k].name != NULL && k < 64; k++)
		if (keys[k].required && (seen & (1ULL << k)) == 0)
			return config_error(ctx, config_line(group),
			    "'%s' entry without '%s'", path, keys[k].name);
	return 0;
}

/*
 * Checks that s is a list or array of at most CONFIG_LIST_MAX entries and
 * returns how many, or -1. libconfig types "[]" as an array, so an empty
 * array stands for an empty list of groups too.
 */
static int
config_want_list(struct config_ctx *ctx, const config_setting_t *s,
    const char *what, bool groups)
{
	int t = config_setting_type(s), n = config_setting_length(s);

	if (groups ? !(t == CONFIG_TYPE_LIST || (t == CONFIG_TYPE_ARRAY && n == 0)) :
	    !(t == CONFIG_TYPE_LIST || t == CONFIG_TYPE_ARRAY))
		return config_error(ctx, config_line(s), groups ?
		    "'%s' must be a list ( { ... }, ... )" :
		    "'%s' must be a list [ ... ]", what);
	if (n > CONFIG_LIST_MAX)
		return config_error(ctx, config_line(s),
		    "'%s' has more than %d entries", what, CONFIG_LIST_MAX);
	return n;
}

/* Replaces *l with the strings of list s, each passing check (if any). */
static int
config_want_strlist(struct config_ctx *ctx, const config_setting_t *s,
    const char *what, bool (*check)(const char *), const char *expect,
    struct cfg_strlist *l)
{
	int n = config_want_list(ctx, s, what, false);

	if (n == -1)
		return -1;
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = xcalloc((size_t)n, sizeof(*l->v));
	l->n = 0;
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		const char *str;

		if (config_want_string(ctx, e, what, &str) == -1)
			return -1;
		if (check != NULL && !check(str))
			return config_error(ctx, config_line(e),
			    "'%s': bad entry '%.64s' (%s)", what, str, expect);
		l->v[l->n++] = xstrdup(str);
	}
	return 0;
}

static int
config_want_cidrs(struct config_ctx *ctx, const config_setting_t *s,
    const char *what, struct cidr_list *l)
{
	int n = config_want_list(ctx, s, what, false);

	if (n == -1)
		return -1;
	cidr_list_free(l);
	l->v = xcalloc((size_t)n, sizeof(*l->v));
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		const char *str;
		struct cidr c;
		char net[64];

		if (config_want_string(ctx, e, what, &str) == -1)
			return -1;
		if (cidr_parse(str, false, &c) == -1) {
			/* Say why when only the host bits are wrong. */
			if (cidr_parse(str, true, &c) == 0) {
				cidr_format(&c, net, sizeof(net));
				return config_error(ctx, config_line(e),
				    "'%s': '%.64s' has host bits set (network "
				    "is %s)", what, str, net);
			}
			return config_error(ctx, config_line(e),
			    "'%s': bad network '%.64s' (want \"10.0.0.0/8\", "
			    "\"2001:db8::/32\" or an address)", what, str);
		}
		l->v[l->n++] = c;
	}
	return 0;
}

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

static const struct config_key config_keys_top[] = {
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

/* ---- rules that span keys ---- */

static unsigned
config_lookup_line(struct config_ctx *ctx, const char *path)
{
	const config_setting_t *s = config_lookup(ctx->lc, path);

	return s != NULL ? config_line(s) : 0;
}

/* Line of the first filter action = "quarantine", or 0. */
static unsigned
config_quarantine_line(struct config_ctx *ctx)
{
	const struct config *cfg = ctx->cfg;
	const config_setting_t *l;

	if (cfg->filters.attachments.action == ACTION_QUARANTINE)
		return config_lookup_line(ctx, "filters.attachments.action");
	if (cfg->filters.antivirus.action == ACTION_QUARANTINE)
		return config_lookup_line(ctx, "filters.antivirus.action");
	l = config_lookup(ctx->lc, "filters.content");
	for (size_t i = 0; l != NULL && i < cfg->filters.ncontent; i++)
		if (cfg->filters.content[i].action == ACTION_QUARANTINE)
			return config_line(config_setting_get_member(
			    config_setting_get_elem(l, (unsigned)i), "action"));
	return 0;
}

static int
config_check_cross(struct config_ctx *ctx)
{
	const struct config *cfg = ctx->cfg;
	unsigned line;

	/* SPEC 2: the server-wide lock wins; a catch_all under it is a
	 * mistake to report, not a setting to ignore. */
	if (!cfg->allow_catch_all && *cfg->domain_defaults.catch_all != '\0')
		return config_error(ctx, config_lookup_line(ctx,
		    "domain_defaults.catch_all"), "'domain_defaults.catch_all' "
		    "is set but allow_catch_all = false");
	if ((*cfg->tls.cert == '\0') != (*cfg->tls.key == '\0'))
		return config_error(ctx, config_lookup_line(ctx,
		    *cfg->tls.cert != '\0' ? "tls.cert" : "tls.key"),
		    "'tls.cert' and 'tls.key' must be given together");
	if (*cfg->filters.quarantine == '\0' &&
	    (line = config_quarantine_line(ctx)) != 0)
		return config_error(ctx, line, "action \"quarantine\" needs "
		    "'filters.quarantine' (the mailbox that receives it)");
	return 0;
}

/*
 * Skips one numeric literal at *pp and checks that an integer fits the
 * type libconfig gives it: int, or long long with an L suffix.
 */
static int
config_prescan_number(struct config_ctx *ctx, const char **pp, unsigned line)
{
	const char *p = *pp, *start = *pp;
	uint64_t v = 0, limit;
	bool over = false;
	unsigned d;

	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		for (p += 2; (d = config_hex_digit(*p)) < 16; p++) {
			if (v > (UINT64_MAX >> 4))
				over = true;
			v = v << 4 | d;
		}
	} else {
		for (; *p >= '0' && *p <= '9'; p++) {
			d = (unsigned)(*p - '0');
			if (v > (UINT64_MAX - d) / 10)
				over = true;
			v = v * 10 + d;
		}
		if (*p == '.' || *p == 'e' || *p == 'E') {
			/* A float: its value is not ours to check. */
			while ((*p >= '0' && *p <= '9') || *p == '.' || *p == 'e' ||
			    *p == 'E' || *p == '+' || *p == '-')
				p++;
			*pp = p;
			return 0;
		}
	}
	limit = *p == 'L' ? (uint64_t)LLONG_MAX : (uint64_t)INT_MAX;
	while (*p == 'L')
		p++;
	*pp = p;
	if (over || v > limit)
		return config_error(ctx, line, "integer %.*s is out of range%s",
		    (int)((p - start) > 32 ? 32 : (p - start)), start,
		    limit == (uint64_t)INT_MAX ? " (use a string like \"4G\" "
		    "for large sizes)" : "");
	return 0;
}

/*
 * Lexical checks libconfig 1.5 does not make. It silently wraps integer
 * literals that do not fit ("3000000000" reads as a negative int, a huge
 * one as anything), and it opens files named by @include, which would let
 * a configuration pull in files past CONFIG_FILE_MAX or, for the fuzzer,
 * anything on disk. Strings and comments are skipped as libconfig does.
 */
static int
config_prescan(struct config_ctx *ctx, const char *p)
{
	unsigned line = 1, start;

	while (*p != '\0') {
		if (*p == '\n') {
			line++;
			p++;
		} else if (*p == '#' || (p[0] == '/' && p[1] == '/')) {
			while (*p != '\0' && *p != '\n')
				p++;
		} else if (p[0] == '/' && p[1] == '*') {
			/* libconfig 1.5 takes an unclosed comment or string
			 * as the end of the file and keeps what came before. */
			start = line;
			for (p += 2; *p != '\0' && !(p[0] == '*' && p[1] == '/'); p++)
				if (*p == '\n')
					line++;
			if (*p == '\0')
				return config_error(ctx, start, "unterminated comment");
			p += 2;
		} else if (*p == '"') {
			start = line;
			for (p++; *p != '\0' && *p != '"'; p++) {
				if (*p == '\\' && p[1] != '\0')
					p++;
				if (*p == '\n')
					line++;
			}
			if (*p == '\0')
				return config_error(ctx, start, "unterminated string");
			p++;
		} else if (*p == '@') {
			return config_error(ctx, line,
			    "@include is not supported: use one file");
		} else if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    *p == '*') {
			while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			    (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' ||
			    *p == '*')
				p++;
		} else if (*p >= '0' && *p <= '9') {
			if (config_prescan_number(ctx, &p, line) == -1)
				return -1;
		} else
			p++;
	}
	return 0;
}

/* ---- defaults, loading, freeing ---- */

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

static void
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
	free(cfg->delivery.retry);
	config_strlist_free(&cfg->dns.servers);
	free(cfg->log.file);
	free(cfg->log.remote);
	memset(cfg, 0, sizeof(*cfg));
}

/* Parses text over the defaults already in cfg; on error frees cfg. */
static int
config_parse_text(struct config_ctx *ctx, const char *text)
{
	size_t len = strlen(text);
	config_t lc;
	char *copy;
	int rc = -1;

	if (config_prescan(ctx, text) == -1) {
		config_free(ctx->cfg);
		return -1;
	}
	/* libconfig 1.5 refuses a '#' comment that ends the file without a
	 * newline; editors that leave the last newline out are common. */
	copy = xmalloc(len + 2);
	memcpy(copy, text, len);
	copy[len] = '\n';
	copy[len + 1] = '\0';
	config_init(&lc);
	ctx->lc = &lc;
	if (config_read_string(&lc, copy) != CONFIG_TRUE)
		config_error(ctx, (unsigned)config_error_line(&lc), "%s",
		    config_error_text(&lc) != NULL ? config_error_text(&lc) :
		    "syntax error");
	else if (config_walk(ctx, config_root_setting(&lc), config_keys_top,
	    ctx->cfg, "") == 0 && config_check_cross(ctx) == 0)
		rc = 0;
	config_destroy(&lc);
	free(copy);
	ctx->lc = NULL;
	if (rc == -1)
		config_free(ctx->cfg);
	return rc;
}

int
config_load_string(const char *text, const char *name, struct config *cfg_out,
    char *err, size_t errlen)
{
	struct config_ctx ctx = {
		.name = name != NULL ? name : "(string)",
		.err = err, .errlen = errlen, .cfg = cfg_out,
	};

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	config_defaults(cfg_out);
	return config_parse_text(&ctx, text != NULL ? text : "");
}

/*
 * Reads the whole file, bounded by CONFIG_FILE_MAX: fstat() refuses a big
 * file before reading, and the read stops one byte past the limit in case
 * the file grows in between. Returns the text, or NULL with the error set.
 */
static char *
config_read_bounded(struct config_ctx *ctx, int fd)
{
	struct stat st;
	size_t len = 0;
	char *text;
	ssize_t n;

	if (fstat(fd, &st) == -1) {
		config_error(ctx, 0, "cannot stat: %s", strerror(errno));
		return NULL;
	}
	if (!S_ISREG(st.st_mode)) {
		config_error(ctx, 0, "not a regular file");
		return NULL;
	}
	if (st.st_size > CONFIG_FILE_MAX) {
		config_error(ctx, 0, "file larger than %d bytes", CONFIG_FILE_MAX);
		return NULL;
	}
	text = xmalloc((size_t)CONFIG_FILE_MAX + 2);
	while (len <= (size_t)CONFIG_FILE_MAX) {
		n = read(fd, text + len, (size_t)CONFIG_FILE_MAX + 1 - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			config_error(ctx, 0, "cannot read: %s", strerror(errno));
			free(text);
			return NULL;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	text[len] = '\0';
	if (len > (size_t)CONFIG_FILE_MAX) {
		config_error(ctx, 0, "file larger than %d bytes", CONFIG_FILE_MAX);
		free(text);
		return NULL;
	}
	/* libconfig would stop at a NUL and ignore the rest unseen. */
	if (memchr(text, '\0', len) != NULL) {
		unsigned line = 1;

		for (const char *p = text; *p != '\0'; p++)
			line += *p == '\n';
		config_error(ctx, line, "NUL byte in the file");
		free(text);
		return NULL;
	}
	return text;
}

int
config_load(const char *path, bool must_exist, struct config *cfg_out,
    char *err, size_t errlen)
{
	struct config_ctx ctx = {
		.name = path, .err = err, .errlen = errlen, .cfg = cfg_out,
	};
	char *text;
	int fd, rc;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	config_defaults(cfg_out);
	/* O_NONBLOCK: a FIFO in place of the file must not hang start-up;
	 * config_read_bounded() then refuses anything but a regular file. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd == -1) {
		if (errno == ENOENT && !must_exist)
			return 0;
		config_error(&ctx, 0, "cannot open: %s", strerror(errno));
		config_free(cfg_out);
		return -1;
	}
	text = config_read_bounded(&ctx, fd);
	close(fd);
	if (text == NULL) {
		config_free(cfg_out);
		return -1;
	}
	rc = config_parse_text(&ctx, text);
	free(text);
	if (rc == 0)
		cfg_out->path = xstrdup(path);
	return rc;
}
