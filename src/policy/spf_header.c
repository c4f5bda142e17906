/*
 * spf_header: the Received-SPF header field (RFC 7208 9.1) and the SPF
 * resinfo of Authentication-Results (RFC 7208 9.2, RFC 8601 2.7.2). Every
 * value comes from a peer (sender, HELO) or a DNS record (mechanism,
 * problem): it is written as a dot-atom or token when it is one, else as a
 * quoted-string; CR, LF, other controls and non-ASCII bytes become '?', so
 * a peer can never start a header line of its own.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "core/limits.h"
#include "policy/spf.h"
#include "policy/spf_int.h"

#define SPF_HEADER_FOLD	78	/* RFC 5322 2.1.1: SHOULD */

/* Writes atoms separated by one space, folding (CRLF before the space)
 * when the line would pass SPF_HEADER_FOLD. */
struct spf_fold {
	struct buf	*out;
	size_t		 line;	/* bytes on the current line */
	int		 rc;
};

static void
spf_fold_atom(struct spf_fold *f, const char *atom, size_t len, bool space)
{
	if (space && f->line + 1 + len > SPF_HEADER_FOLD) {
		if (buf_append(f->out, "\r\n", 2) == -1)
			f->rc = -1;
		f->line = 0;
	}
	if ((space && buf_append(f->out, " ", 1) == -1) ||
	    buf_append(f->out, atom, len) == -1)
		f->rc = -1;
	f->line += len + (space ? 1 : 0);
}

static void
spf_fold_str(struct spf_fold *f, const char *atom)
{
	spf_fold_atom(f, atom, strlen(atom), true);
}

/* RFC 5322 3.2.3 atext. */
static bool
spf_header_atext(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~",
	    c) != NULL);
}

static bool
spf_header_dot_atom(const char *v, size_t len)
{
	size_t i;

	if (len == 0 || v[0] == '.' || v[len - 1] == '.')
		return false;
	for (i = 0; i < len; i++)
		if (v[i] == '.' ? v[i + 1] == '.' :
		    !spf_header_atext((unsigned char)v[i]))
			return false;
	return true;
}

/* RFC 2045 token: CHAR except SP, CTLs and tspecials. */
static bool
spf_header_token(const char *v, size_t len)
{
	size_t i;

	if (len == 0)
		return false;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)v[i];

		if (c <= 0x20 || c >= 0x7f || strchr("()<>@,;:\\\"/[]?=", c))
			return false;
	}
	return true;
}

/* A printable copy of at most SPF_HEADER_VALUE_MAX bytes of v, quoted
 * (with '\' before '"' and '\') unless plain says it needs no quotes. The
 * result goes to b (reset first). */
static void
spf_header_value(struct buf *b, const char *v, bool (*plain)(const char *,
    size_t))
{
	size_t len = strlen(v), i;

	if (len > SPF_HEADER_VALUE_MAX)
		len = SPF_HEADER_VALUE_MAX;
	buf_reset(b);
	if (plain != NULL && plain(v, len)) {
		(void)buf_append(b, v, len);
		return;
	}
	(void)buf_append(b, "\"", 1);
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)v[i];

		if (c == '"' || c == '\\')
			(void)buf_append(b, "\\", 1);
		if (c < 0x20 || c > 0x7e)
			c = '?';
		(void)buf_append(b, &c, 1);
	}
	(void)buf_append(b, "\"", 1);
}

/* A comment word: ( ) \ escaped, controls and non-ASCII as '?'. */
static void
spf_header_comment_word(struct buf *b, const char *v)
{
	size_t len = strlen(v), i;

	if (len > SPF_HEADER_VALUE_MAX)
		len = SPF_HEADER_VALUE_MAX;
	buf_reset(b);
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)v[i];

		if (c == '(' || c == ')' || c == '\\')
			(void)buf_append(b, "\\", 1);
		if (c <= 0x20 || c > 0x7e)
			c = '?';
		(void)buf_append(b, &c, 1);
	}
}

static void
spf_header_pair(struct spf_fold *f, struct buf *tmp, const char *key,
    const char *value, bool last)
{
	struct buf pair;

	spf_header_value(tmp, value, spf_header_dot_atom);
	buf_init(&pair, 2 * SPF_HEADER_VALUE_MAX + 64);
	if (buf_printf(&pair, "%s=%s%s", key, buf_cstr(tmp), last ? "" : ";") ==
	    -1)
		f->rc = -1;
	spf_fold_atom(f, buf_cstr(&pair), pair.len, true);
	buf_free(&pair);
}

/* The comment of 9.1, word by word (each may fold), between "(" ")". */
static void
spf_header_comment(struct spf_fold *f, struct buf *tmp, const char *host,
    const char *sender, const char *ip, enum spf_result r)
{
	static const char *const text[] = {
		[SPF_NONE] = "domain of S does not designate permitted sender hosts",
		[SPF_NEUTRAL] = "I is neither permitted nor denied by domain of S",
		[SPF_PASS] = "domain of S designates I as permitted sender",
		[SPF_FAIL] = "domain of S does not designate I as permitted sender",
		[SPF_SOFTFAIL] = "transitioning domain of S does not designate I "
		    "as permitted sender",
		[SPF_TEMPERROR] = "temporary error in processing during lookup "
		    "of S",
		[SPF_PERMERROR] = "permanent error in processing domain of S",
	};
	const char *p = text[(unsigned)r < sizeof(text) / sizeof(text[0]) ?
	    r : SPF_PERMERROR], *sp;
	bool first = true;
	struct buf w;

	buf_init(&w, 2 * SPF_HEADER_VALUE_MAX + 8);
	if (host != NULL && host[0] != '\0') {
		spf_header_comment_word(tmp, host);
		(void)buf_printf(&w, "(%s:", buf_cstr(tmp));
		spf_fold_atom(f, buf_cstr(&w), w.len, true);
		first = false;
	}
	while (*p != '\0') {
		size_t n = (sp = strchr(p, ' ')) != NULL ? (size_t)(sp - p) :
		    strlen(p);

		buf_reset(&w);
		if (first)
			(void)buf_append(&w, "(", 1);
		if (n == 1 && (*p == 'S' || *p == 'I')) {
			spf_header_comment_word(tmp, *p == 'S' ? sender : ip);
			(void)buf_append_str(&w, buf_cstr(tmp));
		} else
			(void)buf_append(&w, p, n);
		if (p[n] == '\0')
			(void)buf_append(&w, ")", 1);
		spf_fold_atom(f, buf_cstr(&w), w.len, true);
		first = false;
		p += n + (p[n] == ' ' ? 1 : 0);
	}
	buf_free(&w);
}

int
spf_header_received(struct buf *out, const struct spf_request *req,
    const struct spf_outcome *o)
{
	struct spf_fold f = { .out = out };
	char ip[INET6_ADDRSTRLEN];
	const char *sender = o->sender != NULL ? o->sender :
	    req->sender != NULL ? req->sender : "";
	uint8_t addr[16];
	struct buf tmp;
	int family;

	if (spf_ip_parse(req->ip, &family, addr) == -1 ||
	    inet_ntop(family, addr, ip, sizeof(ip)) == NULL)
		snprintf(ip, sizeof(ip), "unknown");
	buf_init(&tmp, 2 * SPF_HEADER_VALUE_MAX + 2);
	spf_fold_atom(&f, "Received-SPF:", 13, false);
	spf_fold_str(&f, spf_result_name(o->result));
	spf_header_comment(&f, &tmp, req->receiver, sender, ip, o->result);
	spf_header_pair(&f, &tmp, "client-ip", ip, false);
	spf_header_pair(&f, &tmp, "envelope-from", sender, false);
	spf_header_pair(&f, &tmp, "helo", req->helo != NULL ? req->helo : "",
	    false);
	if (req->receiver != NULL)
		spf_header_pair(&f, &tmp, "receiver", req->receiver, false);
	spf_header_pair(&f, &tmp, "identity", o->identity != NULL ?
	    o->identity : "mailfrom", o->mechanism == NULL &&
	    o->problem == NULL);
	if (o->mechanism != NULL)
		spf_header_pair(&f, &tmp, "mechanism", o->mechanism,
		    o->problem == NULL);
	if (o->problem != NULL)
		spf_header_pair(&f, &tmp, "problem", o->problem, true);
	buf_free(&tmp);
	if (buf_append(out, "\r\n", 2) == -1)
		f.rc = -1;
	return f.rc;
}

/* RFC 8601 pvalue for an address: local-part "@" domain-name written
 * plainly when the local part is a dot-atom and the domain a name; a
 * token as is; anything else quoted. */
static bool
spf_header_pvalue_plain(const char *v, size_t len)
{
	const char *at = memchr(v, '@', len);
	size_t i, dlen;

	if (at == NULL)
		return spf_header_token(v, len);
	dlen = len - (size_t)(at - v) - 1;
	if (!spf_header_dot_atom(v, (size_t)(at - v)) || dlen == 0)
		return false;
	for (i = 0; i < dlen; i++) {
		char c = at[1 + i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_'))
			return false;
	}
	return spf_name_valid(at + 1, dlen, false);
}

int
spf_header_authres(struct buf *out, const struct spf_outcome *o)
{
	const char *helo = o->domain;
	bool is_helo = o->identity != NULL && strcmp(o->identity, "helo") == 0;
	struct buf v;
	int rc;

	if (is_helo && helo == NULL) {
		/* No domain: the HELO as given, after "postmaster@". */
		const char *at = o->sender != NULL ? strchr(o->sender, '@') : NULL;

		helo = at != NULL ? at + 1 : "";
	}
	buf_init(&v, 2 * SPF_HEADER_VALUE_MAX + 2);
	spf_header_value(&v, is_helo ? helo : o->sender != NULL ? o->sender :
	    "", spf_header_pvalue_plain);
	rc = buf_printf(out, "spf=%s %s=%s", spf_result_name(o->result),
	    is_helo ? "smtp.helo" : "smtp.mailfrom", buf_cstr(&v));
	buf_free(&v);
	return rc;
}
