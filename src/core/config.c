/*
 * config: reads the libconfig file of SPEC section 2 once into struct
 * config. Every setting is walked against the key tables of config_keys.c,
 * so an unknown key, a wrong type or a bad value is one "FILE:LINE:
 * message" and the whole file is refused. Defaults: config_defaults.c;
 * value syntax: config_value.c; check-config output: config_print.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <libconfig.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/stat.h>
#include <unistd.h>

#include "core/config.h"
#include "core/config_internal.h"
#include "core/limits.h"
#include "core/xalloc.h"

/*
 * Writes "NAME:LINE: message" into ctx->err. Any control byte that slipped
 * into the message becomes '?', so the error stays one line in any log.
 */
int
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

/* "limits.recipients", or "hostname" at the top level. */
static void
config_key_path(char *out, size_t outlen, const char *path, const char *name)
{
	snprintf(out, outlen, "%s%s%s", path, *path != '\0' ? "." : "",
	    name != NULL ? name : "");
}

int
config_want_string(struct config_ctx *ctx, const config_setting_t *s,
    const char *what, const char **out)
{
	*out = NULL;
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
int
config_want_amount(struct config_ctx *ctx, const config_setting_t *s,
    const char *what, bool size, uint64_t *out)
{
	const char *str;
	long long v;

	*out = 0;
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

int
config_check_range(struct config_ctx *ctx, const config_setting_t *s,
    const char *what, uint64_t v, uint64_t min, uint64_t max, const char *unit)
{
	if (v >= min && v <= max)
		return 0;
	return config_error(ctx, config_line(s),
	    "'%s' must be between %llu and %llu%s", what,
	    (unsigned long long)min, (unsigned long long)max, unit);
}

int
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

void
config_set_string(char **field, const char *v)
{
	free(*field);
	*field = xstrdup(v);
}

/*
 * NOLINTBEGIN(misc-no-recursion): config_apply() and config_walk() recurse
 * once per CK_GROUP level of the static key tables in config_keys.c, so the
 * depth is fixed at compile time and no configuration file can deepen it.
 */

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
int
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
	for (size_t k = 0; k < 64 && keys[k].name != NULL; k++)
		if (keys[k].required && (seen & (1ULL << k)) == 0)
			return config_error(ctx, config_line(group),
			    "'%s' entry without '%s'", path, keys[k].name);
	return 0;
}

/* NOLINTEND(misc-no-recursion) */

/*
 * Checks that s is a list or array of at most CONFIG_LIST_MAX entries and
 * returns how many, or -1. libconfig types "[]" as an array, so an empty
 * array stands for an empty list of groups too.
 */
int
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
int
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

int
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

int
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
	/* Credentials belong to the relayhost: without one they would be
	 * sent nowhere, which is a mistake to report. */
	if (*cfg->delivery.relayhost_credentials != '\0' &&
	    *cfg->delivery.relayhost == '\0')
		return config_error(ctx, config_lookup_line(ctx,
		    "delivery.relayhost_credentials"),
		    "'delivery.relayhost_credentials' needs 'delivery.relayhost'");
	if (*cfg->filters.quarantine == '\0' &&
	    (line = config_quarantine_line(ctx)) != 0)
		return config_error(ctx, line, "action \"quarantine\" needs "
		    "'filters.quarantine' (the mailbox that receives it)");
	return 0;
}

/* Parses text over the defaults already in cfg; on error frees cfg. */
static int
config_parse_text(struct config_ctx *ctx, const char *text)
{
	size_t len = strlen(text);
	config_t lc;
	char *copy;
	int rc = -1;

	if (config_lex_check(ctx, text) == -1) {
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
