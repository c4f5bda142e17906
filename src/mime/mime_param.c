/*
 * mime_param: the parameters of Content-Type and Content-Disposition
 * values (RFC 2045 5.1, RFC 2183 2), with RFC 2231 continuations,
 * charsets and percent-encoding, and the "type/subtype" itself. Every
 * occurrence of a parameter is kept, since clients disagree which one
 * wins and a filter must check them all. Unquoting, joining and charset
 * conversion only; the parser decides what the values mean.
 */
#include <string.h>
#include <strings.h>

#include "mime/mime_int.h"
#include "mime/mime_parse.h"

#define MIME_SECT_DIGITS_MAX	4	/* "name*9999": far past MIME_PARAMS_MAX */

/* One parameter as written. */
struct mime_praw {
	struct span	 attr;		/* the name before any '*' */
	struct span	 val;		/* without the quotes, if quoted */
	unsigned	 sect;		/* RFC 2231 3 section, when sectioned */
	bool		 sectioned;	/* name*N or name*N* */
	bool		 ext;		/* name* or name*N*: RFC 2231 4 encoding */
	bool		 quoted;	/* val holds backslash escapes */
	bool		 used;		/* taken into an occurrence already */
};

static bool
mime_param_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Index of the '"' closing the quoted string opened at s[i], or s.len. */
static size_t
mime_param_qend(struct span s, size_t i)
{
	for (i++; i < s.len; i++) {
		if (s.ptr[i] == '\\')
			i++;
		else if (s.ptr[i] == '"')
			return i;
	}
	return s.len;
}

/* Index of the next ';' at or after i outside quoted strings, or s.len. */
static size_t
mime_param_semi(struct span s, size_t i)
{
	while (i < s.len && s.ptr[i] != ';') {
		if (s.ptr[i] == '"')
			i = mime_param_qend(s, i);
		i++;
	}
	return i < s.len ? i : s.len;
}

/* "name", "name*", "name*N" or "name*N*" (RFC 2231 3, 4); else false. */
static bool
mime_param_attr(struct span a, struct mime_praw *p)
{
	const char *star = memchr(a.ptr, '*', a.len);
	size_t i, nd = 0;

	p->attr = a;
	p->sect = 0;
	p->sectioned = p->ext = false;
	if (star == NULL)
		return a.len > 0;
	p->attr.len = (size_t)(star - a.ptr);
	i = p->attr.len + 1;
	if (i == a.len) {
		p->ext = true;
		return p->attr.len > 0;
	}
	while (i < a.len && a.ptr[i] >= '0' && a.ptr[i] <= '9' &&
	    nd < MIME_SECT_DIGITS_MAX) {
		p->sect = p->sect * 10 + (unsigned)(a.ptr[i++] - '0');
		nd++;
	}
	if (nd == 0)
		return false;
	p->sectioned = true;
	if (i + 1 == a.len && a.ptr[i] == '*') {
		p->ext = true;
		i++;
	}
	return i == a.len && p->attr.len > 0;
}

/*
 * One parameter in s[i..end) (end: its ';'). Lenient as clients are: a
 * token value may hold blanks; junk after a quoted string is skipped.
 * *next is where the following parameter's ';' search starts.
 */
static bool
mime_param_one(struct span s, size_t i, size_t end, struct mime_praw *p,
    size_t *next)
{
	const char *eq = memchr(s.ptr + i, '=', end - i);
	size_t v, q;

	*next = end;
	if (eq == NULL)
		return false;
	if (!mime_param_attr(span_trim((struct span){ s.ptr + i,
	    (size_t)(eq - s.ptr) - i }), p))
		return false;
	v = (size_t)(eq - s.ptr) + 1;
	while (v < end && mime_param_blank(s.ptr[v]))
		v++;
	p->quoted = v < end && s.ptr[v] == '"';
	p->used = false;
	if (!p->quoted) {
		p->val = span_trim((struct span){ s.ptr + v, end - v });
		return true;
	}
	q = mime_param_qend(s, v);
	p->val = (struct span){ s.ptr + v + 1, q - v - 1 };
	*next = q < s.len ? mime_param_semi(s, q + 1) : s.len;
	return true;
}

/* The parameters after the first item (the type or disposition). */
static size_t
mime_param_split(struct span s, struct mime_praw *ps, size_t max)
{
	size_t i = mime_param_semi(s, 0), n = 0, next;

	while (i < s.len && n < max) {
		size_t end = mime_param_semi(s, i + 1);

		if (mime_param_one(s, i + 1, end, &ps[n], &next))
			n++;
		i = next;
	}
	return n;
}

/* Appends a quoted string's text without its backslashes (RFC 5322 3.2.4). */
static int
mime_param_unquote(struct span v, bool quoted, struct buf *out)
{
	size_t i, start = 0;
	int rc = 0;

	if (!quoted)
		return buf_append(out, v.ptr, v.len);
	for (i = 0; i < v.len; i++) {
		if (v.ptr[i] != '\\' || i + 1 == v.len)
			continue;
		rc |= buf_append(out, v.ptr + start, i - start);
		start = ++i;
	}
	rc |= buf_append(out, v.ptr + start, v.len - start);
	return rc;
}

/* RFC 2231 4: "%XX" is a byte; a '%' that starts no escape is kept. */
static void
mime_param_pct(struct span v, struct buf *raw)
{
	size_t i = 0, start = 0;
	int hi, lo;

	while (i < v.len) {
		const char *pc = memchr(v.ptr + i, '%', v.len - i);

		if (pc == NULL)
			break;
		i = (size_t)(pc - v.ptr);
		if (i + 2 < v.len &&
		    (hi = mime_hexval((unsigned char)v.ptr[i + 1])) >= 0 &&
		    (lo = mime_hexval((unsigned char)v.ptr[i + 2])) >= 0) {
			char c = (char)(hi << 4 | lo);

			(void)buf_append(raw, v.ptr + start, i - start);
			(void)buf_append(raw, &c, 1);
			start = i += 3;
		} else
			i++;
	}
	(void)buf_append(raw, v.ptr + start, v.len - start);
}

/*
 * An extended value: the first one of a parameter starts with
 * "charset'language'" (RFC 2231 4), which sets *cs; without both quotes
 * it is taken as percent-encoded bytes of no known charset.
 */
static void
mime_param_ext(struct span v, bool first, enum mime_charset *cs,
    struct buf *tmp, struct buf *out)
{
	const char *q1, *q2;

	if (first && (q1 = memchr(v.ptr, '\'', v.len)) != NULL &&
	    (q2 = memchr(q1 + 1, '\'', v.len - (size_t)(q1 + 1 - v.ptr))) !=
	    NULL) {
		*cs = mime_charset_of((struct span){ v.ptr,
		    (size_t)(q1 - v.ptr) });
		v = (struct span){ q2 + 1, v.len - (size_t)(q2 + 1 - v.ptr) };
	}
	buf_reset(tmp);
	mime_param_pct(v, tmp);
	(void)mime_charset_append(*cs, buf_cstr(tmp), tmp->len, out);
}

/* A plain value: unquoted, then (names) its RFC 2047 words decoded. */
static void
mime_param_plain(struct span v, bool quoted, bool words, struct buf *tmp,
    struct buf *out)
{
	if (!words) {
		(void)mime_param_unquote(v, quoted, out);
		return;
	}
	buf_reset(tmp);
	(void)mime_param_unquote(v, quoted, tmp);
	(void)mime_decode_words((struct span){ buf_cstr(tmp), tmp->len }, out);
}

/*
 * The sections of one continued parameter, joined in section order
 * whatever their order in the field (RFC 2231 3). Plain sections are
 * taken as written; when there is no extended one, RFC 2047 words are
 * decoded over the joined text (some mailers split a word between them).
 */
static void
mime_param_join(struct mime_praw **set, size_t n, bool words,
    struct buf *tmp, struct buf *out)
{
	enum mime_charset cs = MIME_CS_ASIS;
	struct buf joined;
	bool any_ext = false;
	size_t i;

	for (i = 0; i < n; i++)
		any_ext |= set[i]->ext;
	if (!any_ext && words) {
		buf_init(&joined, MIME_VALUE_MAX);
		for (i = 0; i < n; i++)
			(void)mime_param_unquote(set[i]->val, set[i]->quoted,
			    &joined);
		mime_param_plain((struct span){ buf_cstr(&joined), joined.len },
		    false, true, tmp, out);
		buf_free(&joined);
		return;
	}
	for (i = 0; i < n; i++) {
		if (set[i]->ext)
			mime_param_ext(set[i]->val, i == 0, &cs, tmp, out);
		else
			(void)mime_param_unquote(set[i]->val, set[i]->quoted,
			    out);
	}
}

/*
 * Gathers the sections of the continued parameter starting at ps[k]: for
 * each section number, its first occurrence not yet used. A repeated
 * number thus starts a second value, kept like any duplicate.
 */
static size_t
mime_param_gather(struct mime_praw *ps, size_t n, size_t k, struct span name,
    struct mime_praw **set)
{
	size_t m = 0, i, j;

	for (i = k; i < n; i++) {
		bool dup = false;

		if (ps[i].used || !ps[i].sectioned ||
		    ps[i].attr.len != name.len ||
		    strncasecmp(ps[i].attr.ptr, name.ptr, name.len) != 0)
			continue;
		for (j = 0; j < m && !dup; j++)
			dup = set[j]->sect == ps[i].sect;
		if (dup)
			continue;
		ps[i].used = true;
		/* Insertion sort by section: at most MIME_PARAMS_MAX. */
		for (j = m++; j > 0 && set[j - 1]->sect > ps[i].sect; j--)
			set[j] = set[j - 1];
		set[j] = &ps[i];
	}
	return m;
}

size_t
mime_param_collect(struct span value, const char *name, bool words,
    struct buf *out, struct mime_pval *vals, size_t max)
{
	struct mime_praw ps[MIME_PARAMS_MAX], *set[MIME_PARAMS_MAX];
	enum mime_charset cs;
	struct buf tmp;
	size_t n, k, count = 0;

	n = mime_param_split(value, ps, MIME_PARAMS_MAX);
	buf_init(&tmp, MIME_VALUE_MAX);
	for (k = 0; k < n && count < max; k++) {
		size_t off = out->len;

		if (ps[k].used || !span_eq_nocase(ps[k].attr, name))
			continue;
		cs = MIME_CS_ASIS;
		if (ps[k].sectioned)
			mime_param_join(set, mime_param_gather(ps, n, k,
			    span_from_cstr(name), set), words, &tmp, out);
		else if (ps[k].ext)
			mime_param_ext(ps[k].val, true, &cs, &tmp, out);
		else
			mime_param_plain(ps[k].val, ps[k].quoted, words, &tmp,
			    out);
		ps[k].used = true;
		vals[count++] = (struct mime_pval){ off, out->len - off };
		(void)buf_append(out, "", 1);
	}
	buf_free(&tmp);
	return count;
}

size_t
mime_param_get(struct span value, const char *name, struct buf *out)
{
	struct mime_pval vals[MIME_PARAMS_MAX];

	return mime_param_collect(value, name, true, out, vals,
	    MIME_PARAMS_MAX);
}

/* ---- every parameter, as written (IMAP BODYSTRUCTURE) ------------------- */

/* RFC 2231 7 attribute-char: what an extended value may hold unescaped. */
static bool
mime_param_attrc(char c)
{
	return c > 0x20 && c < 0x7f && strchr("*'%()<>@,;:\\\"/[]?=", c) == NULL;
}

/* A plain section inside an extended value: its bytes percent-encoded. */
static void
mime_param_pctenc(struct span v, bool quoted, struct buf *tmp, struct buf *out)
{
	static const char hex[] = "0123456789ABCDEF";

	buf_reset(tmp);
	(void)mime_param_unquote(v, quoted, tmp);
	for (size_t i = 0; i < tmp->len; i++) {
		unsigned char c = (unsigned char)tmp->data[i];
		char e[3] = { '%', hex[c >> 4], hex[c & 15] };

		if (mime_param_attrc((char)c))
			(void)buf_append(out, &c, 1);
		else
			(void)buf_append(out, e, 3);
	}
}

/*
 * The value of one sectioned parameter: sections in order, joined; when
 * any is extended, the whole is one extended value ("charset'lang'" from
 * the first section, "''" when that one is plain) with plain sections
 * percent-encoded, so the reader decodes it once.
 */
static void
mime_param_list_join(struct mime_praw **set, size_t n, struct buf *tmp,
    struct buf *out)
{
	bool any_ext = false;
	size_t i;

	for (i = 0; i < n; i++)
		any_ext |= set[i]->ext;
	if (any_ext && !set[0]->ext)
		(void)buf_append(out, "''", 2);
	for (i = 0; i < n; i++) {
		if (set[i]->ext || !any_ext)
			(void)mime_param_unquote(set[i]->val, set[i]->quoted,
			    out);
		else
			mime_param_pctenc(set[i]->val, set[i]->quoted, tmp, out);
	}
}

size_t
mime_param_list(struct span value, struct buf *out,
    struct mime_param_item *items, size_t max)
{
	struct mime_praw ps[MIME_PARAMS_MAX], *set[MIME_PARAMS_MAX];
	struct buf tmp;
	size_t n, k, m = 0, count = 0;

	n = mime_param_split(value, ps, MIME_PARAMS_MAX);
	buf_init(&tmp, MIME_VALUE_MAX);
	for (k = 0; k < n && count < max; k++) {
		struct mime_param_item *it = &items[count];
		bool ext = ps[k].ext;

		if (ps[k].used)
			continue;
		if (ps[k].sectioned) {
			m = mime_param_gather(ps, n, k, ps[k].attr, set);
			for (size_t i = 0; i < m; i++)
				ext |= set[i]->ext;
		}
		ps[k].used = true;
		it->name_off = out->len;
		(void)buf_append(out, ps[k].attr.ptr, ps[k].attr.len);
		if (ext)	/* "name*": the value is RFC 2231 encoded */
			(void)buf_append(out, "*", 1);
		it->name_len = out->len - it->name_off;
		(void)buf_append(out, "", 1);
		it->val_off = out->len;
		if (ps[k].sectioned)
			mime_param_list_join(set, m, &tmp, out);
		else
			(void)mime_param_unquote(ps[k].val, ps[k].quoted, out);
		it->val_len = out->len - it->val_off;
		(void)buf_append(out, "", 1);
		count++;
	}
	buf_free(&tmp);
	return count;
}

/* ---- the type ----------------------------------------------------------- */

/* RFC 2045 5.1 token: printable ASCII but SP and tspecials. */
static bool
mime_param_tokenc(char c)
{
	return c > 0x20 && c < 0x7f && strchr("()<>@,;:\\\"/[]?=", c) == NULL;
}

/* Skips blanks and RFC 5322 comments from s[i]; nesting bounded by s. */
static size_t
mime_param_cfws(struct span s, size_t i)
{
	size_t depth = 0;

	for (; i < s.len; i++) {
		char c = s.ptr[i];

		if (depth > 0 && c == '\\')
			i++;
		else if (c == '(')
			depth++;
		else if (depth > 0 && c == ')')
			depth--;
		else if (depth == 0 && !mime_param_blank(c))
			break;
	}
	return i < s.len ? i : s.len;
}

static char
mime_param_lower(char c)
{
	if (c >= 'A' && c <= 'Z')
		return (char)(c - 'A' + 'a');
	return c;
}

static size_t
mime_param_token(struct span s, size_t i)
{
	while (i < s.len && mime_param_tokenc(s.ptr[i]))
		i++;
	return i;
}

bool
mime_content_type(struct span value, char *out, size_t outlen)
{
	size_t t0, t1, s0, s1, i, n;

	t0 = mime_param_cfws(value, 0);
	t1 = mime_param_token(value, t0);
	i = mime_param_cfws(value, t1);
	if (t1 == t0 || i >= value.len || value.ptr[i] != '/')
		return false;
	s0 = mime_param_cfws(value, i + 1);
	s1 = mime_param_token(value, s0);
	if (s1 == s0 || (s1 < value.len && value.ptr[s1] != ';' &&
	    value.ptr[s1] != '(' && !mime_param_blank(value.ptr[s1])))
		return false;
	if ((t1 - t0) + 1 + (s1 - s0) >= outlen)
		return false;
	n = 0;
	for (i = t0; i < t1; i++)
		out[n++] = mime_param_lower(value.ptr[i]);
	out[n++] = '/';
	for (i = s0; i < s1; i++)
		out[n++] = mime_param_lower(value.ptr[i]);
	out[n] = '\0';
	return true;
}
