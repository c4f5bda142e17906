/*
 * imap_msg_section: FETCH sections (RFC 3501 6.4.5, 9 "section"): the
 * attribute's text taken apart, the extent of the message it names, and
 * a reader giving that extent in CRLF form, lazily, after the partial
 * range. Only HEADER.FIELDS output is built (once, into the reader);
 * everything else is read where it lies in the mapping.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/xalloc.h"
#include "imap/imap_msg_int.h"
#include "mime/mime_header.h"

#define IMAP_SECTION_LABEL_MAX	(16 * 1024)	/* > any section text: ours */

static bool
imap_section_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* A number at s[*i] (leading zeros allowed unless nz), at most 2^32 - 1. */
static bool
imap_section_num(struct span s, size_t *i, bool nz, uint32_t *out)
{
	uint64_t v = 0;
	size_t start = *i;

	if (*i >= s.len || !imap_section_digit(s.ptr[*i]) ||
	    (nz && s.ptr[*i] == '0'))
		return false;
	while (*i < s.len && imap_section_digit(s.ptr[*i])) {
		v = v * 10 + (uint64_t)(s.ptr[*i] - '0');
		if (v > UINT32_MAX || *i - start >= 10)
			return false;
		(*i)++;
	}
	*out = (uint32_t)v;
	return true;
}

/* RFC 5322 3.6.8 field name: printable ASCII but ':'. */
static bool
imap_section_fname_ok(struct span n)
{
	if (n.len == 0)
		return false;
	for (size_t i = 0; i < n.len; i++)
		if ((unsigned char)n.ptr[i] < 33 || (unsigned char)n.ptr[i] > 126 ||
		    n.ptr[i] == ':')
			return false;
	return true;
}

/* One header-fld-name (astring: atom or quoted) at s[*i], upper-cased. */
static int
imap_section_fname(struct span s, size_t *i, struct imap_section *out)
{
	struct buf b;
	size_t j = *i;
	int rc = -1;

	buf_init(&b, s.len + 1);
	if (j < s.len && s.ptr[j] == '"') {
		for (j++; j < s.len && s.ptr[j] != '"'; j++) {
			if (s.ptr[j] == '\\' && j + 1 < s.len)
				j++;
			(void)buf_append(&b, s.ptr + j, 1);
		}
		if (j >= s.len)
			goto out;
		j++;
	} else {
		while (j < s.len && s.ptr[j] != ' ' && s.ptr[j] != '(' &&
		    s.ptr[j] != ')' && s.ptr[j] != '"' && s.ptr[j] != '{')
			(void)buf_append(&b, s.ptr + j++, 1);
	}
	if (!imap_section_fname_ok((struct span){ buf_cstr(&b), b.len }) ||
	    out->nfields >= IMAP_SECTION_FIELDS_MAX)
		goto out;
	for (size_t k = 0; k < b.len; k++)
		if (b.data[k] >= 'a' && b.data[k] <= 'z')
			b.data[k] = (char)(b.data[k] - 'a' + 'A');
	out->fields[out->nfields++] = xstrndup(b.data, b.len);
	*i = j;
	rc = 0;
out:
	buf_free(&b);
	return rc;
}

/* " (" name *(SP name) ")" to the end of s. */
static int
imap_section_flist(struct span s, size_t i, struct imap_section *out)
{
	if (i + 1 >= s.len || s.ptr[i] != ' ' || s.ptr[i + 1] != '(')
		return -1;
	i += 2;
	for (;;) {
		if (imap_section_fname(s, &i, out) == -1)
			return -1;
		if (i < s.len && s.ptr[i] == ')')
			return i + 1 == s.len ? 0 : -1;
		if (i >= s.len || s.ptr[i] != ' ')
			return -1;
		i++;
	}
}

/* section-spec inside the brackets. */
static int
imap_section_spec(struct span s, struct imap_section *out)
{
	size_t i = 0;
	struct span t;

	out->kind = IMAP_SEC_ALL;
	while (i < s.len && imap_section_digit(s.ptr[i])) {
		if (out->npart >= IMAP_SECTION_PART_MAX ||
		    !imap_section_num(s, &i, true, &out->part[out->npart]))
			return -1;
		out->npart++;
		if (i == s.len)
			return 0;
		if (s.ptr[i] != '.' || i + 1 == s.len)
			return -1;
		i++;
	}
	t = (struct span){ s.ptr + i, s.len - i };
	if (t.len == 0)
		return out->npart == 0 ? 0 : -1;
	if (span_eq_nocase(t, "HEADER"))
		out->kind = IMAP_SEC_HEADER;
	else if (span_eq_nocase(t, "TEXT"))
		out->kind = IMAP_SEC_TEXT;
	else if (span_eq_nocase(t, "MIME") && out->npart > 0)
		out->kind = IMAP_SEC_MIME;
	else if (span_startswith_nocase(t, "HEADER.FIELDS.NOT")) {
		out->kind = IMAP_SEC_FIELDS_NOT;
		return imap_section_flist(t, 17, out);
	} else if (span_startswith_nocase(t, "HEADER.FIELDS")) {
		out->kind = IMAP_SEC_FIELDS;
		return imap_section_flist(t, 13, out);
	} else
		return -1;
	return 0;
}

static void
imap_section_label(struct imap_section *s)
{
	static const char *const kinds[] = { "", "HEADER", "HEADER.FIELDS",
	    "HEADER.FIELDS.NOT", "TEXT", "MIME" };
	struct buf b;

	buf_init(&b, IMAP_SECTION_LABEL_MAX);
	(void)buf_append_str(&b, "BODY[");
	for (size_t i = 0; i < s->npart; i++)
		(void)buf_printf(&b, "%s%u", i > 0 ? "." : "", s->part[i]);
	if (s->npart > 0 && s->kind != IMAP_SEC_ALL)
		(void)buf_append(&b, ".", 1);
	(void)buf_append_str(&b, kinds[s->kind]);
	for (size_t i = 0; i < s->nfields; i++)
		(void)buf_printf(&b, "%s%s", i == 0 ? " (" : " ", s->fields[i]);
	if (s->nfields > 0)
		(void)buf_append(&b, ")", 1);
	(void)buf_append(&b, "]", 1);
	if (s->partial)
		(void)buf_printf(&b, "<%llu>", (unsigned long long)s->off);
	s->label = xstrndup(buf_cstr(&b), b.len);
	buf_free(&b);
}

int
imap_section_parse(const char *atom, size_t len, struct imap_section *out,
    char *err, size_t errlen)
{
	struct span a = { atom, len }, p;
	const char *rb;
	size_t i;
	uint32_t off, n;

	memset(out, 0, sizeof(*out));
	if (span_eq_nocase(a, "RFC822")) {
		out->label = xstrdup("RFC822");
		return 0;
	}
	if (span_eq_nocase(a, "RFC822.HEADER")) {
		out->peek = true;	/* RFC 3501 6.4.5: like BODY.PEEK[HEADER] */
		out->kind = IMAP_SEC_HEADER;
		out->label = xstrdup("RFC822.HEADER");
		return 0;
	}
	if (span_eq_nocase(a, "RFC822.TEXT")) {
		out->kind = IMAP_SEC_TEXT;
		out->label = xstrdup("RFC822.TEXT");
		return 0;
	}
	if (span_startswith_nocase(a, "BODY.PEEK[")) {
		out->peek = true;
		i = 10;
	} else if (span_startswith_nocase(a, "BODY[")) {
		i = 5;
	} else {
		(void)snprintf(err, errlen, "not a body section");
		return -1;
	}
	rb = memchr(atom + i, ']', len - i);
	if (rb == NULL || imap_section_spec((struct span){ atom + i,
	    (size_t)(rb - atom) - i }, out) == -1) {
		(void)snprintf(err, errlen, "invalid section");
		goto fail;
	}
	p = (struct span){ rb + 1, len - (size_t)(rb + 1 - atom) };
	if (p.len > 0) {
		i = 1;
		if (p.ptr[0] != '<' || !imap_section_num(p, &i, false, &off) ||
		    i >= p.len || p.ptr[i++] != '.' ||
		    !imap_section_num(p, &i, true, &n) || i + 1 != p.len ||
		    p.ptr[i] != '>') {
			(void)snprintf(err, errlen, "invalid partial");
			goto fail;
		}
		out->partial = true;
		out->off = off;
		out->len = n;
	}
	imap_section_label(out);
	return 0;
fail:
	imap_section_clear(out);
	return -1;
}

void
imap_section_clear(struct imap_section *s)
{
	for (size_t i = 0; i < s->nfields; i++)
		free(s->fields[i]);
	free(s->label);
	memset(s, 0, sizeof(*s));
}

/* ---- the reader --------------------------------------------------------- */

static bool
imap_reader_listed(const struct imap_section *s, struct span name)
{
	for (size_t i = 0; i < s->nfields; i++)
		if (span_eq_nocase(name, s->fields[i]))
			return true;
	return false;
}

/* HEADER.FIELDS (.NOT): the fields kept, as written, and the empty line. */
static void
imap_reader_fields(struct imap_msg_reader *r, const struct imap_section *s,
    const char *hdr, size_t len)
{
	struct mime_header_iter it;
	struct span n, v;
	bool want_not = s->kind == IMAP_SEC_FIELDS_NOT;

	buf_init(&r->gen, len + 2);
	mime_header_iter_init(&it, hdr, len);
	while (mime_header_next(&it, &n, &v)) {
		if (imap_reader_listed(s, n) == want_not)
			continue;
		/* The field's lines: from its name to past its last LF. */
		(void)buf_append(&r->gen, n.ptr, (size_t)(it.p - n.ptr));
		if (it.p[-1] != '\n')
			(void)buf_append(&r->gen, "\n", 1);
	}
	(void)buf_append(&r->gen, "\n", 1);
	r->src = buf_cstr(&r->gen);
	r->srclen = r->gen.len;
}

/* The extent a section names: src/srclen (empty when none). */
static void
imap_reader_extent(struct imap_msg_reader *r, struct imap_msg *m,
    const struct imap_section *s)
{
	const struct imap_ent *e = imap_msg_find(m, s->part, s->npart);

	r->src = "";
	r->srclen = 0;
	if (e == NULL)
		return;
	if (s->kind == IMAP_SEC_ALL) {
		if (s->npart == 0) {
			r->src = m->data;
			r->srclen = m->len;
		} else {
			r->src = m->data + e->body_off;
			r->srclen = e->body_len;
		}
		return;
	}
	if (s->kind == IMAP_SEC_MIME) {
		r->src = m->data + e->hdr_off;
		r->srclen = e->hdr_len;
		return;
	}
	/* HEADER, TEXT, HEADER.FIELDS: of the message, or an attached one. */
	if (s->npart > 0) {
		if (e->kind != IMAP_ENT_MESSAGE)
			return;
		e = &m->ents[e->child];
	}
	if (s->kind == IMAP_SEC_TEXT) {
		r->src = m->data + e->body_off;
		r->srclen = e->body_len;
	} else if (s->kind == IMAP_SEC_HEADER) {
		r->src = m->data + e->hdr_off;
		r->srclen = e->hdr_len;
	} else {
		imap_reader_fields(r, s, m->data + e->hdr_off, e->hdr_len);
	}
}

void
imap_msg_reader_init(struct imap_msg_reader *r, struct imap_msg *m,
    const struct imap_section *s)
{
	uint64_t total;

	memset(r, 0, sizeof(*r));
	r->m = m;
	imap_reader_extent(r, m, s);
	total = imap_msg_crlf_size(r->src, r->srclen, NULL);
	r->left = total;
	if (s->partial) {
		r->skip = s->off;
		r->left = s->off >= total ? 0 : total - s->off;
		if (r->left > s->len)
			r->left = s->len;
	}
	r->size = r->left;
}

/* Skips r->skip CRLF bytes; a skip that ends inside a CR LF made of a
 * lone LF leaves its LF to give (cr_pending). */
static void
imap_reader_skip(struct imap_msg_reader *r)
{
	while (r->skip > 0 && r->pos < r->srclen) {
		const char *s = r->src + r->pos;
		size_t avail = r->srclen - r->pos, n;
		const char *nl;

		if (avail > r->skip)
			avail = (size_t)r->skip;
		nl = memchr(s, '\n', avail);
		n = nl != NULL ? (size_t)(nl - s) : avail;
		if (n > 0) {
			r->pos += n;
			r->skip -= n;
		} else if (r->pos > 0 && r->src[r->pos - 1] == '\r') {
			r->pos++;
			r->skip--;
		} else if (r->skip >= 2) {
			r->pos++;
			r->skip -= 2;
		} else {
			r->cr_pending = true;
			r->skip = 0;
		}
	}
	r->skip = 0;
}

/* Copies n plain bytes; NUL goes as 0x80 (none is allowed in a literal). */
static void
imap_reader_copy(char *dst, const char *src, size_t n)
{
	char *z;

	memcpy(dst, src, n);
	while ((z = memchr(dst, '\0', n)) != NULL) {
		*z = (char)0x80;
		n -= (size_t)(z - dst) + 1;
		dst = z + 1;
	}
}

size_t
imap_msg_reader_read(struct imap_msg_reader *r, char *dst, size_t max)
{
	size_t o = 0;

	if (r->skip > 0)
		imap_reader_skip(r);
	while (o < max && r->left > 0 && (r->cr_pending || r->pos < r->srclen)) {
		const char *s = r->src + r->pos, *nl;
		size_t n = r->srclen - r->pos;

		if (r->cr_pending) {
			dst[o++] = '\n';
			r->pos++;
			r->left--;
			r->cr_pending = false;
			continue;
		}
		if (n > max - o)
			n = max - o;
		if (n > r->left)
			n = (size_t)r->left;
		nl = memchr(s, '\n', n);
		if (nl != s) {
			n = nl != NULL ? (size_t)(nl - s) : n;
			imap_reader_copy(dst + o, s, n);
			o += n;
			r->pos += n;
			r->left -= n;
			continue;
		}
		if (r->pos > 0 && r->src[r->pos - 1] == '\r') {
			dst[o++] = '\n';
			r->pos++;
			r->left--;
			continue;
		}
		dst[o++] = '\r';	/* a lone LF: CR then LF */
		r->left--;
		r->cr_pending = true;
	}
	return o;
}

void
imap_msg_reader_clear(struct imap_msg_reader *r)
{
	buf_free(&r->gen);
	r->src = NULL;
	r->srclen = 0;
	r->left = 0;
}
