/*
 * spf_macro: the macro language of RFC 7208 section 7 (7.1 syntax, 7.2
 * letters, 7.3 transformers, delimiters and URL escaping, 7.4 examples in
 * spf_macro_test.c). One scanner serves the syntax check done when a record
 * is parsed and the expansion done when a term is evaluated, so the two
 * cannot disagree. Lookups for %{p} are the evaluator's (spf.c): here p is
 * a string in the environment. Pure; no I/O.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/limits.h"
#include "core/xalloc.h"
#include "policy/spf.h"
#include "policy/spf_int.h"

/* One parsed "%{...}": letter (lower case), escape for an upper-case
 * letter, keep (0 = all parts), reverse, and the delimiter set. */
struct spf_macro_ref {
	char		 letter;
	bool		 escape, reverse;
	unsigned	 keep;
	struct span	 delims;	/* empty: "." */
};

static bool
spf_macro_is_delim(char c)
{
	return c == '.' || c == '-' || c == '+' || c == ',' || c == '/' ||
	    c == '_' || c == '=';
}

/*
 * Parses "{" letter *DIGIT ["r"] *delimiter "}" at in[*pos] (just after the
 * '%'). Advances *pos past the '}'. PARSE_INVALID on anything else.
 */
static enum parse_rc
spf_macro_ref_parse(struct span in, size_t *pos, bool exp,
    struct spf_macro_ref *ref_out)
{
	size_t i = *pos, ndig = 0, d0;
	unsigned keep = 0;
	char c;

	if (i >= in.len || in.ptr[i] != '{' || i + 1 >= in.len)
		return PARSE_INVALID;
	c = in.ptr[++i];
	memset(ref_out, 0, sizeof(*ref_out));
	ref_out->escape = c >= 'A' && c <= 'Z';
	if (ref_out->escape)
		c = (char)(c - 'A' + 'a');
	/* strchr() finds the terminator too: a NUL is no letter. */
	if (c == '\0' || (strchr("slodiphv", c) == NULL &&
	    !(exp && strchr("crt", c) != NULL)))
		return PARSE_INVALID;	/* 7.2: c r t only in exp text */
	ref_out->letter = c;
	for (i++; i < in.len && in.ptr[i] >= '0' && in.ptr[i] <= '9'; i++) {
		/* Stop growing past the ceiling: no overflow, still invalid. */
		if (keep <= SPF_MACRO_DIGITS_MAX)
			keep = keep * 10 + (unsigned)(in.ptr[i] - '0');
		ndig++;
	}
	/* 7.3: a DIGIT transformer must be nonzero; 128 is the most labels
	 * a name can have, so more is an error rather than "all". */
	if (ndig > 0 && (keep == 0 || keep > SPF_MACRO_DIGITS_MAX))
		return PARSE_INVALID;
	ref_out->keep = keep;
	if (i < in.len && (in.ptr[i] == 'r' || in.ptr[i] == 'R')) {
		ref_out->reverse = true;
		i++;
	}
	for (d0 = i; i < in.len && spf_macro_is_delim(in.ptr[i]); i++)
		;
	ref_out->delims = (struct span){ in.ptr + d0, i - d0 };
	if (i >= in.len || in.ptr[i] != '}')
		return PARSE_INVALID;
	*pos = i + 1;
	return PARSE_OK;
}

/*
 * The one scanner. With env == NULL it only checks; otherwise it appends
 * the expansion to out. *ends_out: the string ended with a macro-expand.
 */
static enum parse_rc spf_macro_scan(struct span in, bool exp,
    const struct spf_macro_env *env, struct buf *out, bool *ends_out);

enum parse_rc
spf_macro_check(struct span in, bool exp, bool *ends_in_macro_out)
{
	bool ends = false;
	enum parse_rc rc = spf_macro_scan(in, exp, NULL, NULL, &ends);

	if (ends_in_macro_out != NULL)
		*ends_in_macro_out = ends;
	return rc;
}

bool
spf_macro_uses_p(struct span in)
{
	size_t i;

	for (i = 0; i + 1 < in.len; i++) {
		if (in.ptr[i] != '%')
			continue;
		if (in.ptr[i + 1] == '{' && i + 2 < in.len &&
		    (in.ptr[i + 2] == 'p' || in.ptr[i + 2] == 'P'))
			return true;
		i++;	/* "%%{p}" is a literal '%' then "{p}" */
	}
	return false;
}

/* The dot-separated nibbles of an IPv6 address (7.3: %{i} for IPv6). */
static void
spf_macro_nibbles(const uint8_t a[16], char out[64])
{
	static const char hex[] = "0123456789abcdef";
	size_t i, o = 0;

	for (i = 0; i < 16; i++) {
		out[o++] = hex[a[i] >> 4];
		out[o++] = '.';
		out[o++] = hex[a[i] & 0xf];
		out[o++] = i < 15 ? '.' : '\0';
	}
}

/*
 * The raw value of a letter into val (at least INET6_ADDRSTRLEN + 64
 * bytes for the address letters) or as a pointer into env. NULL strings
 * in env read as "unknown" (7.2 says so for p; we do the same for h and r
 * rather than fail). -1 when the address in env is not one.
 */
static int
spf_macro_value(const struct spf_macro_env *env, char letter, char *tmp,
    size_t tmplen, struct span *val_out)
{
	const char *s = env->sender != NULL ? env->sender : "";
	const char *at = strrchr(s, '@');
	uint8_t addr[16];
	int family;

	switch (letter) {
	case 's':
		*val_out = span_from_cstr(s);
		return 0;
	case 'l':
		/* 4.3: a sender without local-part is postmaster. */
		if (at == NULL || at == s)
			*val_out = SPAN_LIT("postmaster");
		else
			*val_out = (struct span){ s, (size_t)(at - s) };
		return 0;
	case 'o':
		*val_out = span_from_cstr(at != NULL ? at + 1 : s);
		return 0;
	case 'd':
		*val_out = span_from_cstr(env->domain != NULL ? env->domain : "");
		return 0;
	case 'p':
		*val_out = span_from_cstr(env->ptr != NULL ? env->ptr : "unknown");
		return 0;
	case 'h':
		*val_out = span_from_cstr(env->helo != NULL ? env->helo : "unknown");
		return 0;
	case 'r':
		*val_out = span_from_cstr(env->receiver != NULL ? env->receiver :
		    "unknown");
		return 0;
	case 't':
		snprintf(tmp, tmplen, "%" PRId64, env->now);
		*val_out = span_from_cstr(tmp);
		return 0;
	default:
		break;
	}
	/* i, c, v: from the client address. */
	if (spf_ip_parse(env->ip, &family, addr) == -1)
		return -1;
	if (letter == 'v')
		*val_out = family == AF_INET ? SPAN_LIT("in-addr") : SPAN_LIT("ip6");
	else {
		if (letter == 'i' && family == AF_INET6)
			spf_macro_nibbles(addr, tmp);
		else if (inet_ntop(family, addr, tmp, (socklen_t)tmplen) == NULL)
			return -1;
		*val_out = span_from_cstr(tmp);
	}
	return 0;
}

static bool
spf_macro_in_delims(char c, struct span delims)
{
	if (delims.len == 0)
		return c == '.';
	return memchr(delims.ptr, c, delims.len) != NULL;
}

/* Appends one part, URL-escaped (RFC 3986 unreserved kept) if asked. */
static int
spf_macro_put(struct buf *out, struct span part, bool escape)
{
	size_t i;

	if (!escape)
		return buf_append_span(out, part);
	for (i = 0; i < part.len; i++) {
		unsigned char c = (unsigned char)part.ptr[i];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == '_' || c == '~') {
			if (buf_append(out, part.ptr + i, 1) == -1)
				return -1;
		} else if (buf_printf(out, "%%%02X", c) == -1)
			return -1;
	}
	return 0;
}

/* 7.3: split on the delimiters, reverse if asked, keep the rightmost
 * parts, join with '.', then URL-escape for an upper-case letter. */
static int
spf_macro_transform(struct buf *out, struct span val,
    const struct spf_macro_ref *ref)
{
	struct span *parts;
	size_t n = 1, i, k, first;
	int rc = 0;

	for (i = 0; i < val.len; i++)
		if (spf_macro_in_delims(val.ptr[i], ref->delims))
			n++;
	parts = xcalloc(n, sizeof(*parts));
	for (i = 0, k = 0, parts[0].ptr = val.ptr; i < val.len; i++) {
		if (spf_macro_in_delims(val.ptr[i], ref->delims)) {
			parts[++k].ptr = val.ptr + i + 1;
			continue;
		}
		parts[k].len++;
	}
	if (ref->reverse)
		for (i = 0; i < n / 2; i++) {
			struct span t = parts[i];

			parts[i] = parts[n - 1 - i];
			parts[n - 1 - i] = t;
		}
	first = ref->keep != 0 && ref->keep < n ? n - ref->keep : 0;
	for (i = first; i < n && rc == 0; i++) {
		if (i > first && buf_append(out, ".", 1) == -1)
			rc = -1;
		else
			rc = spf_macro_put(out, parts[i], ref->escape);
	}
	free(parts);
	return rc;
}

static enum parse_rc
spf_macro_scan(struct span in, bool exp, const struct spf_macro_env *env,
    struct buf *out, bool *ends_out)
{
	char tmp[INET6_ADDRSTRLEN + 64];
	struct spf_macro_ref ref;
	struct span val;
	size_t i = 0;
	unsigned char c;

	*ends_out = false;
	while (i < in.len) {
		c = (unsigned char)in.ptr[i];
		if (c != '%') {
			/* 7.1 macro-literal: VCHAR but '%'; SP only in exp. */
			if ((c < 0x21 || c > 0x7e) && !(exp && c == ' '))
				return PARSE_INVALID;
			if (out != NULL && buf_append(out, in.ptr + i, 1) == -1)
				return PARSE_TOO_LONG;
			*ends_out = false;
			i++;
			continue;
		}
		if (i + 1 >= in.len)
			return PARSE_INVALID;
		*ends_out = true;
		c = (unsigned char)in.ptr[i + 1];
		if (c == '%' || c == '_' || c == '-') {
			if (out != NULL && buf_append_str(out, c == '%' ? "%" :
			    c == '_' ? " " : "%20") == -1)
				return PARSE_TOO_LONG;
			i += 2;
			continue;
		}
		i++;
		if (spf_macro_ref_parse(in, &i, exp, &ref) != PARSE_OK)
			return PARSE_INVALID;
		if (env == NULL)
			continue;
		if (spf_macro_value(env, ref.letter, tmp, sizeof(tmp), &val) == -1)
			return PARSE_INVALID;
		if (spf_macro_transform(out, val, &ref) == -1)
			return PARSE_TOO_LONG;
	}
	return PARSE_OK;
}

/* 7.3: a domain name over 253 octets loses labels from the left. */
static void
spf_macro_truncate(struct buf *out)
{
	const char *dot;

	while (out->len > SPF_DOMAIN_MAX) {
		dot = memchr(out->data, '.', out->len);
		if (dot == NULL) {
			buf_reset(out);
			return;
		}
		buf_consume(out, (size_t)(dot - out->data) + 1);
	}
}

enum parse_rc
spf_macro_expand(struct span in, const struct spf_macro_env *env,
    struct buf *out)
{
	enum parse_rc rc;
	bool ends;

	buf_reset(out);
	rc = spf_macro_scan(in, env->exp, env, out, &ends);
	if (rc != PARSE_OK) {
		buf_reset(out);
		return rc;
	}
	if (!env->exp)
		spf_macro_truncate(out);
	return PARSE_OK;
}
