/*
 * smtp_addr: RFC 5321 4.1.2 Path / Mailbox syntax into local part and
 * domain (see smtp_addr.h), the address-literals of RFC 5321 4.1.3, the
 * size limits of RFC 5321 4.5.3.1.1-3, the "<Postmaster>" recipient of
 * RFC 5321 4.5.1, and the UTF-8 extension of RFC 6531 3.3 (UTF-8 as in
 * RFC 3629 4). The one place in postern where an address is split.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/limits.h"
#include "core/xalloc.h"
#include "smtp/smtp_addr.h"

/* A cursor over the path. too_long is latched so syntax errors win. */
struct smtp_addr_cur {
	const unsigned char	*p, *end;
	bool			 too_long;
};

static bool
smtp_addr_is_alnum(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') ||
	    (c >= 'a' && c <= 'z');
}

/* RFC 5322 3.2.3 atext, as RFC 5321 4.1.2 uses it; RFC 6531 adds UTF-8. */
static bool
smtp_addr_is_atext(unsigned char c)
{
	return smtp_addr_is_alnum(c) || c >= 0x80 ||
	    (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

/* RFC 5321 4.1.2 qtextSMTP (%d32-33 / %d35-91 / %d93-126) + RFC 6531. */
static bool
smtp_addr_is_qtext(unsigned char c)
{
	return (c >= 32 && c <= 126 && c != '"' && c != '\\') || c >= 0x80;
}

/* Let-dig, with RFC 6531 U-label bytes counting as letters. */
static bool
smtp_addr_is_letdig(unsigned char c)
{
	return smtp_addr_is_alnum(c) || c >= 0x80;
}

/*
 * Length of the well-formed UTF-8 sequence at p (RFC 3629 4), or 0. Refuses
 * overlong forms, surrogates, code points past U+10FFFF and truncation: an
 * ill-formed sequence can decode to ASCII '@' or '.' in a lax consumer.
 */
static size_t
smtp_addr_utf8_len(const unsigned char *p, const unsigned char *end)
{
	unsigned char c = p[0], lo = 0x80, hi = 0xbf;
	size_t n, i;

	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4;
	else
		return 0;
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if ((size_t)(end - p) < n || p[1] < lo || p[1] > hi)
		return 0;
	for (i = 2; i < n; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return n;
}

/*
 * Whole-path screen before the grammar: no control byte is legal anywhere
 * (not even quoted, RFC 5321 4.1.2 qtextSMTP and quoted-pairSMTP are
 * %d32-126), and non-ASCII must be allowed and well-formed.
 */
static enum parse_rc
smtp_addr_screen(struct span path, bool allow_utf8)
{
	const unsigned char *p = (const unsigned char *)path.ptr;
	const unsigned char *end = p + path.len;
	size_t n;

	while (p < end) {
		if (*p < 0x20 || *p == 0x7f)
			return PARSE_INVALID;
		if (*p < 0x80) {
			p++;
			continue;
		}
		if (!allow_utf8 || (n = smtp_addr_utf8_len(p, end)) == 0)
			return PARSE_INVALID;
		p += n;
	}
	return PARSE_OK;
}

static bool
smtp_addr_has_8bit(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s >= 0x80)
			return true;
	return false;
}

/*
 * RFC 5321 4.1.2: Domain = sub-domain *("." sub-domain), sub-domain =
 * Let-dig [Ldh-str]: no empty label (so no trailing dot), no hyphen at
 * either end. Stops at the first byte that cannot continue the domain.
 */
static enum parse_rc
smtp_addr_domain(struct smtp_addr_cur *c)
{
	const unsigned char *start = c->p, *label;

	for (;;) {
		label = c->p;
		if (c->p == c->end || !smtp_addr_is_letdig(*c->p))
			return PARSE_INVALID;
		while (c->p < c->end && (smtp_addr_is_letdig(*c->p) ||
		    *c->p == '-'))
			c->p++;
		if (c->p[-1] == '-')
			return PARSE_INVALID;
		/* RFC 1035 2.3.4; octets, so a U-label counts as it is sent. */
		if (c->p - label > SMTP_LABEL_MAX)
			c->too_long = true;
		if (c->p == c->end || *c->p != '.')
			break;
		c->p++;
	}
	/* RFC 5321 4.5.3.1.2. The path limit binds first; kept for A-d-l
	 * domains and so this function stands on its own. */
	if (c->p - start > SMTP_DOMAIN_MAX)
		c->too_long = true;
	return PARSE_OK;
}

/*
 * RFC 5321 4.1.3: "[" IPv4-address-literal "]" or "[IPv6:" addr "]", each
 * checked by inet_pton(). General-address-literal names no protocol we can
 * deliver to, so it is refused. The cursor is at '[' and the literal must
 * end the path.
 */
static enum parse_rc
smtp_addr_literal(struct smtp_addr_cur *c)
{
	const char *body = (const char *)c->p + 1;
	size_t n = (size_t)(c->end - c->p);
	unsigned char bin[16];
	char *text;
	int af = AF_INET, ok;

	if (n < 2 || c->end[-1] != ']')
		return PARSE_INVALID;
	n -= 2;
	if (n >= 5 && strncasecmp(body, "IPv6:", 5) == 0) {
		af = AF_INET6;
		body += 5;
		n -= 5;
	}
	/* inet_pton() takes a C string; the screen already refused NUL. */
	text = xstrndup(body, n);
	ok = inet_pton(af, text, bin);
	free(text);
	if (ok != 1)
		return PARSE_INVALID;
	c->p = c->end;
	return PARSE_OK;
}

/*
 * RFC 5321 4.1.2 Quoted-string, cursor at the opening DQUOTE. Writes the
 * unquoted bytes to dst (room for the whole path) and their count to *n.
 */
static enum parse_rc
smtp_addr_quoted(struct smtp_addr_cur *c, char *dst, size_t *n)
{
	*n = 0;
	for (c->p++; c->p < c->end; c->p++) {
		if (*c->p == '"') {
			c->p++;
			return PARSE_OK;
		}
		if (*c->p == '\\') {
			/* quoted-pairSMTP = %d92 %d32-126 */
			if (++c->p == c->end || *c->p < 32 || *c->p > 126)
				return PARSE_INVALID;
		} else if (!smtp_addr_is_qtext(*c->p)) {
			return PARSE_INVALID;
		}
		dst[(*n)++] = (char)*c->p;
	}
	return PARSE_INVALID;
}

/* RFC 5321 4.1.2 Dot-string = Atom *("." Atom): no empty atom. */
static enum parse_rc
smtp_addr_dot_string(struct smtp_addr_cur *c)
{
	for (;;) {
		if (c->p == c->end || !smtp_addr_is_atext(*c->p))
			return PARSE_INVALID;
		while (c->p < c->end && smtp_addr_is_atext(*c->p))
			c->p++;
		if (c->p == c->end || *c->p != '.')
			return PARSE_OK;
		c->p++;
	}
}

/* RFC 5321 4.1.2 A-d-l = At-domain *( "," At-domain ), then ":". */
static enum parse_rc
smtp_addr_source_route(struct smtp_addr_cur *c)
{
	for (;;) {
		if (c->p == c->end || *c->p != '@')
			return PARSE_INVALID;
		c->p++;
		if (smtp_addr_domain(c) != PARSE_OK || c->p == c->end)
			return PARSE_INVALID;
		if (*c->p == ':') {
			c->p++;
			return PARSE_OK;
		}
		if (*c->p != ',')
			return PARSE_INVALID;
		c->p++;
	}
}

static char *
smtp_addr_lower_dup(const unsigned char *p, size_t n)
{
	char *s = xstrndup((const char *)p, n);
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] >= 'A' && s[i] <= 'Z')
			s[i] = (char)(s[i] - 'A' + 'a');
	return s;
}

/* Mailbox = Local-part "@" ( Domain / address-literal ), to the end. */
static enum parse_rc
smtp_addr_mailbox(struct smtp_addr_cur *c, struct smtp_addr *out)
{
	const unsigned char *local = c->p, *domain;
	size_t n = 0;
	char *unq = xmalloc((size_t)(c->end - c->p) + 1);

	if (*c->p == '"') {
		out->quoted = true;
		if (smtp_addr_quoted(c, unq, &n) != PARSE_OK)
			goto invalid;
		/*
		 * XXX: RFC 5321's grammar allows "" but an empty local part
		 * would make the key "@domain", which reads as a catch-all in
		 * many directories. No real sender needs it.
		 */
		if (n == 0)
			goto invalid;
	} else {
		if (smtp_addr_dot_string(c) != PARSE_OK)
			goto invalid;
		n = (size_t)(c->p - local);
		memcpy(unq, local, n);
	}
	unq[n] = '\0';
	/* RFC 5321 4.5.3.1.1, counted on the unquoted local part. */
	if (n > SMTP_LOCAL_PART_MAX)
		c->too_long = true;
	if (c->p == c->end || *c->p != '@')
		goto invalid;
	domain = ++c->p;
	if (c->p < c->end && *c->p == '[') {
		if (smtp_addr_literal(c) != PARSE_OK)
			goto invalid;
		out->literal = true;
	} else if (smtp_addr_domain(c) != PARSE_OK || c->p != c->end) {
		goto invalid;
	}
	out->local = unq;
	out->domain = smtp_addr_lower_dup(domain, (size_t)(c->end - domain));
	return PARSE_OK;
invalid:
	free(unq);
	return PARSE_INVALID;
}

enum parse_rc
smtp_addr_parse(struct span path, bool allow_utf8, struct smtp_addr *out)
{
	struct smtp_addr_cur c;
	enum parse_rc rc;

	memset(out, 0, sizeof(*out));
	/* RFC 5321 4.5.3.1.3: 256 octets with the angle brackets. */
	if (path.len > SMTP_PATH_MAX - 2)
		return PARSE_TOO_LONG;
	if (path.len == 0) {
		out->null = true;	/* RFC 5321 4.5.5 */
		return PARSE_OK;
	}
	if ((rc = smtp_addr_screen(path, allow_utf8)) != PARSE_OK)
		return rc;
	/* RFC 5321 4.5.1: "<Postmaster>" with no domain, any case. */
	if (span_eq_nocase(path, "Postmaster")) {
		out->local = xstrndup(path.ptr, path.len);
		out->domain = xstrdup("");
		return PARSE_OK;
	}

	c = (struct smtp_addr_cur){ (const unsigned char *)path.ptr,
	    (const unsigned char *)path.ptr + path.len, false };
	if (*c.p == '@') {
		/* RFC 5321 4.1.1.3 and C: accepted and ignored, never used. */
		if (smtp_addr_source_route(&c) != PARSE_OK)
			goto invalid;
		out->source_route = true;
	}
	if (c.p == c.end || smtp_addr_mailbox(&c, out) != PARSE_OK)
		goto invalid;
	if (c.too_long) {
		smtp_addr_clear(out);
		return PARSE_TOO_LONG;
	}
	/* Only what we keep counts: a dropped source route needs no UTF-8. */
	out->utf8 = smtp_addr_has_8bit(out->local) ||
	    smtp_addr_has_8bit(out->domain);
	return PARSE_OK;
invalid:
	memset(out, 0, sizeof(*out));
	return PARSE_INVALID;
}

void
smtp_addr_clear(struct smtp_addr *a)
{
	free(a->local);
	free(a->domain);
	memset(a, 0, sizeof(*a));
}

char *
smtp_addr_key(const struct smtp_addr *a)
{
	char *key, *local;

	if (a->null || a->local == NULL)
		return xstrdup("");
	local = smtp_addr_lower_dup((const unsigned char *)a->local,
	    strlen(a->local));
	key = xasprintf("%s@%s", local, a->domain != NULL ? a->domain : "");
	free(local);
	return key;
}

/* True when s can be written bare: RFC 5321 4.1.2 Dot-string. */
static bool
smtp_addr_is_dot_string(const char *s)
{
	struct smtp_addr_cur c = { (const unsigned char *)s,
	    (const unsigned char *)s + strlen(s), false };

	return smtp_addr_dot_string(&c) == PARSE_OK && c.p == c.end;
}

char *
smtp_addr_text(const struct smtp_addr *a)
{
	struct buf b;
	const char *s;
	char *text;
	size_t dlen;

	if (a->null || a->local == NULL)
		return xstrdup("");
	dlen = a->domain != NULL ? strlen(a->domain) : 0;
	/* Worst case: every byte escaped, two quotes, "@", the domain. */
	buf_init(&b, 2 * strlen(a->local) + 3 + dlen);
	/* RFC 5321 4.1.2: quote only when the local part needs it. */
	if (smtp_addr_is_dot_string(a->local)) {
		buf_append_str(&b, a->local);
	} else {
		buf_append(&b, "\"", 1);
		for (s = a->local; *s != '\0'; s++) {
			if (*s == '"' || *s == '\\')
				buf_append(&b, "\\", 1);
			buf_append(&b, s, 1);
		}
		buf_append(&b, "\"", 1);
	}
	/* "<Postmaster>" has no domain and must not grow an "@". */
	if (dlen > 0) {
		buf_append(&b, "@", 1);
		buf_append(&b, a->domain, dlen);
	}
	text = xstrdup(buf_cstr(&b));
	buf_free(&b);
	return text;
}
