/*
 * config_lex: a pass over the configuration text before libconfig 1.5
 * parses it, for what that version gets wrong: integer literals that wrap
 * silently, @include (files outside our size bound), unclosed strings and
 * comments taken as the end of the file, and a token leak on misplaced
 * strings. It follows libconfig's scanner rules for strings and comments.
 */
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/config_internal.h"

static unsigned
config_lex_hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return (unsigned)(c - '0');
	if (c >= 'a' && c <= 'f')
		return (unsigned)(c - 'a' + 10);
	if (c >= 'A' && c <= 'F')
		return (unsigned)(c - 'A' + 10);
	return 16;
}


/*
 * Skips one numeric literal at *pp and checks that an integer fits the
 * type libconfig gives it: int, or long long with an L suffix.
 */
static int
config_lex_number(struct config_ctx *ctx, const char **pp, unsigned line)
{
	const char *p = *pp, *start = *pp;
	uint64_t v = 0, limit;
	bool over = false;
	unsigned d;

	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		for (p += 2; (d = config_lex_hex_digit(*p)) < 16; p++) {
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

/* Brackets open at once: deeper nesting is no configuration we read. */
#define CONFIG_NEST_MAX	32

struct config_lex {
	unsigned	 line;
	char		 prev;		/* last token: punctuation, '"' string,
					 * 'a' name or number, 0 none */
	char		 open[CONFIG_NEST_MAX];	/* open brackets, innermost last */
	size_t		 depth;
};

/*
 * XXX: libconfig 1.5 leaks a string token that its parser does not expect
 * (no bison %destructor), e.g. `a = 1 "x";` or `{ "x" = 1; }`. A string is
 * only ever expected after '=' or ':', after another string (they join),
 * or as an element of an array or list; anything else is refused here
 * before libconfig sees it.
 */
static bool
config_lex_string_ok(const struct config_lex *lx)
{
	char in = '{';		/* the top level is a group without braces */

	if (lx->depth > 0)
		in = lx->open[lx->depth - 1];
	if (lx->prev == '=' || lx->prev == ':' || lx->prev == '"' ||
	    lx->prev == '[' || lx->prev == '(')
		return true;
	return lx->prev == ',' && (in == '[' || in == '(');
}

/* Skips a comment or string at *pp; 0, or -1 when it is not closed. */
static int
config_lex_skip(struct config_ctx *ctx, struct config_lex *lx, const char **pp)
{
	const char *p = *pp;
	unsigned start = lx->line;

	/* libconfig 1.5 takes an unclosed comment or string as the end of
	 * the file and keeps what came before: a truncated file would load. */
	if (*p == '"') {
		for (p++; *p != '\0' && *p != '"'; p++) {
			if (*p == '\\' && p[1] != '\0')
				p++;
			lx->line += *p == '\n';
		}
		if (*p == '\0')
			return config_error(ctx, start, "unterminated string");
		*pp = p + 1;
		return 0;
	}
	if (*p == '#' || p[1] == '/') {
		while (*p != '\0' && *p != '\n')
			p++;
		*pp = p;
		return 0;
	}
	for (p += 2; *p != '\0' && !(p[0] == '*' && p[1] == '/'); p++)
		lx->line += *p == '\n';
	if (*p == '\0')
		return config_error(ctx, start, "unterminated comment");
	*pp = p + 2;
	return 0;
}

static bool
config_lex_name_char(char c, bool first)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '*' ||
	    (!first && ((c >= '0' && c <= '9') || c == '-' || c == '_'));
}

/*
 * Lexical checks libconfig 1.5 does not make. It silently wraps integer
 * literals that do not fit ("3000000000" reads as a negative int), and it
 * opens files named by @include, which would let a configuration pull in
 * files past CONFIG_FILE_MAX or, for the fuzzer, anything on disk. Strings
 * and comments are skipped as libconfig's scanner does.
 */
int
config_lex_check(struct config_ctx *ctx, const char *p)
{
	struct config_lex lx = { .line = 1 };

	while (*p != '\0') {
		if (*p == '\n') {
			lx.line++;
			p++;
		} else if (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\f') {
			p++;
		} else if (*p == '#' || (p[0] == '/' && (p[1] == '/' || p[1] == '*'))) {
			if (config_lex_skip(ctx, &lx, &p) == -1)
				return -1;
		} else if (*p == '"') {
			if (!config_lex_string_ok(&lx))
				return config_error(ctx, lx.line,
				    "syntax error (unexpected string)");
			if (config_lex_skip(ctx, &lx, &p) == -1)
				return -1;
			lx.prev = '"';
		} else if (*p == '@') {
			return config_error(ctx, lx.line,
			    "@include is not supported: use one file");
		} else if (config_lex_name_char(*p, true)) {
			while (config_lex_name_char(*p, false))
				p++;
			lx.prev = 'a';
		} else if (*p >= '0' && *p <= '9') {
			if (config_lex_number(ctx, &p, lx.line) == -1)
				return -1;
			lx.prev = 'a';
		} else {
			if (*p == '{' || *p == '[' || *p == '(') {
				if (lx.depth == CONFIG_NEST_MAX)
					return config_error(ctx, lx.line,
					    "nested deeper than %d levels",
					    CONFIG_NEST_MAX);
				lx.open[lx.depth++] = *p;
			} else if ((*p == '}' || *p == ']' || *p == ')') &&
			    lx.depth > 0)
				lx.depth--;
			lx.prev = *p++;
		}
	}
	return 0;
}
