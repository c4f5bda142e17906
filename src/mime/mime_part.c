/*
 * mime_part: the parts of mime_parse. Opens a part (its number, the
 * depth and part-count limits), reads its header section when complete
 * (type, transfer encoding, disposition, file names, the header()
 * and part() callbacks), routes its content (body(), a decoder, or the
 * decoded layer of a container) and closes it. Finding the lines and
 * delimiters is mime_parse.c's business.
 */
#include <stdio.h>
#include <string.h>

#include "mime/mime_header.h"
#include "mime/mime_int.h"
#include "mime/mime_parse.h"

/*
 * Opens a part at the next depth, reading its header section from layer
 * hl. The limits stop a message built to cost us a slot and callbacks
 * per byte: past them the parse ends with the error, the filter rejects.
 */
void
mime_ent_push(struct mime_parser *p, const char *path, bool in_digest,
    unsigned hl)
{
	struct mime_ent *e;

	if (p->nents > MIME_DEPTH_MAX) {
		mime_fail(p, MIME_ERR_DEPTH);
		return;
	}
	if (p->nparts >= MIME_PARTS_MAX) {
		mime_fail(p, MIME_ERR_PARTS);
		return;
	}
	e = &p->ents[p->nents];
	/* The slot's buffers are kept from its last use: no allocation. */
	buf_reset(&e->names);
	buf_reset(&e->bnd);
	buf_reset(&e->dec);
	e->pi = (struct mime_part_info){ .path = e->path, .type = e->type,
	    .depth = (unsigned)p->nents };
	(void)snprintf(e->path, sizeof(e->path), "%s", path);
	(void)snprintf(e->type, sizeof(e->type), "text/plain");
	e->st = MIME_ENT_HEADER;
	e->hl = e->sl = hl;
	e->nchild = 0;
	e->container = false;
	e->in_digest = in_digest;
	p->nents++;
	p->nparts++;
	buf_reset(&p->hdr);
	p->line_off = 0;
}

/* The next child of a multipart: "1", "2", ... or "<parent>.N". */
void
mime_ent_child(struct mime_parser *p, struct mime_ent *parent, unsigned hl)
{
	char path[MIME_PATH_MAX];
	int n;

	parent->nchild++;
	if (parent->path[0] == '\0')
		n = snprintf(path, sizeof(path), "%u", parent->nchild);
	else
		n = snprintf(path, sizeof(path), "%s.%u", parent->path,
		    parent->nchild);
	/* Cannot happen: 17 levels of "1000." fit; but never a cut number. */
	if (n < 0 || (size_t)n >= sizeof(path)) {
		mime_fail(p, MIME_ERR_DEPTH);
		return;
	}
	mime_ent_push(p, path, strcmp(parent->type, "multipart/digest") == 0,
	    hl);
}

/* The first word of a value: up to a blank, ';' or comment. */
static struct span
mime_ent_word(struct span v)
{
	size_t i = 0;

	v = span_trim(v);
	while (i < v.len && v.ptr[i] != ' ' && v.ptr[i] != '\t' &&
	    v.ptr[i] != ';' && v.ptr[i] != '(')
		i++;
	return (struct span){ v.ptr, i };
}

static enum mime_cte
mime_ent_cte(struct span v)
{
	struct span w = mime_ent_word(v);

	if (span_eq_nocase(w, "base64"))
		return MIME_CTE_BASE64;
	if (span_eq_nocase(w, "quoted-printable"))
		return MIME_CTE_QP;
	return MIME_CTE_IDENTITY;	/* RFC 2045 6.4: unknown is opaque */
}

/*
 * RFC 5322 2.2.3 unfolding that keeps every other byte: a raw NUL in a
 * file name must stay a NUL (a client may stop there, and the filter
 * cuts names there), not become a blank as mime_header_unfold() makes
 * it. A CR before the LF goes too (CR LF input). Blanks at both ends
 * are trimmed; the value is cut at MIME_VALUE_MAX.
 */
static struct span
mime_ent_unfold(struct buf *b, struct span raw)
{
	const char *s = raw.ptr, *end = raw.ptr + raw.len, *nl;

	buf_reset(b);
	while (s < end && (*s == ' ' || *s == '\t' || *s == '\r' ||
	    *s == '\n'))
		s++;
	while (s < end) {
		size_t n;

		nl = memchr(s, '\n', (size_t)(end - s));
		n = (size_t)((nl != NULL ? nl : end) - s);
		if (nl != NULL && n > 0 && s[n - 1] == '\r')
			n--;
		if (n > b->max - b->len)
			n = b->max - b->len;
		(void)buf_append(b, s, n);
		s = nl != NULL ? nl + 1 : end;
	}
	while (b->len > 0 && (b->data[b->len - 1] == ' ' ||
	    b->data[b->len - 1] == '\t'))
		b->data[--b->len] = '\0';
	return (struct span){ buf_cstr(b), b->len };
}

/*
 * Adds the file names that parameter param of value carries, each cut at
 * MIME_NAME_MAX (back to a UTF-8 character start), while fewer than
 * MIME_NAMES_MAX are kept. Only lengths now: the spans are set once the
 * buffer stops growing (mime_ent_names_done).
 */
static void
mime_ent_names(struct mime_parser *p, struct mime_ent *e, struct span value,
    const char *param)
{
	struct mime_pval vals[MIME_NAMES_MAX];
	size_t n, i;

	if (e->pi.nnames >= MIME_NAMES_MAX)
		return;
	buf_reset(&p->scratch);
	n = mime_param_collect(value, param, true, &p->scratch, vals,
	    MIME_NAMES_MAX - e->pi.nnames);
	for (i = 0; i < n; i++) {
		const char *s = buf_cstr(&p->scratch) + vals[i].off;
		size_t len = vals[i].len;

		if (len > MIME_NAME_MAX) {
			len = MIME_NAME_MAX;
			while (len > 0 && ((unsigned char)s[len] & 0xc0) == 0x80)
				len--;
		}
		if (buf_append(&e->names, s, len) == -1)
			return;
		e->pi.names[e->pi.nnames++].len = len;
	}
}

static void
mime_ent_names_done(struct mime_ent *e)
{
	size_t off = 0;

	for (size_t i = 0; i < e->pi.nnames; i++) {
		e->pi.names[i].ptr = buf_cstr(&e->names) + off;
		off += e->pi.names[i].len;
	}
}

/* One field to the header() callback, unfolded and words decoded. */
static void
mime_ent_header_cb(struct mime_parser *p, struct mime_ent *e,
    struct span name, struct span raw)
{
	struct span v = mime_ent_unfold(&p->val, raw);

	buf_reset(&p->words);
	(void)mime_decode_words(v, &p->words);	/* cut at MIME_VALUE_MAX */
	if (!p->cb.header(p->cb.arg, e->path, name,
	    (struct span){ buf_cstr(&p->words), p->words.len }))
		mime_fail(p, MIME_ERR_STOPPED);
}

/*
 * The fields that shape the part. The first Content-Type and
 * Content-Transfer-Encoding count (what most clients read; a second one
 * is an attack on someone); file names come from every
 * Content-Disposition, here, then from every Content-Type.
 */
static void
mime_ent_fields(struct mime_parser *p, struct mime_ent *e, struct span hdr,
    bool *have_ct)
{
	struct mime_header_iter it;
	struct span n, v;
	bool have_cte = false, have_cd = false;

	mime_header_iter_init(&it, hdr.ptr, hdr.len);
	while (p->rc == MIME_OK && mime_header_next(&it, &n, &v)) {
		if (p->cb.header != NULL)
			mime_ent_header_cb(p, e, n, v);
		if (span_eq_nocase(n, "Content-Type") && !*have_ct) {
			*have_ct = true;
			(void)mime_ent_unfold(&p->ctv, v);
		} else if (span_eq_nocase(n, "Content-Transfer-Encoding") &&
		    !have_cte) {
			have_cte = true;
			e->pi.cte = mime_ent_cte(mime_ent_unfold(&p->val, v));
		} else if (span_eq_nocase(n, "Content-Disposition")) {
			v = mime_ent_unfold(&p->val, v);
			if (!have_cd)
				e->pi.attachment = span_eq_nocase(
				    mime_ent_word(v), "attachment");
			have_cd = true;
			mime_ent_names(p, e, v, "filename");
		}
	}
	mime_header_iter_init(&it, hdr.ptr, hdr.len);
	while (p->rc == MIME_OK && mime_header_next(&it, &n, &v))
		if (span_eq_nocase(n, "Content-Type"))
			mime_ent_names(p, e, mime_ent_unfold(&p->val, v),
			    "name");
}

/*
 * A multipart's boundary, taken as written (no RFC 2047: '=' and '?' are
 * boundary characters). None, or an empty one, leaves the part a leaf.
 * Any length is accepted that a held line can show: refusing a long one
 * as RFC 2046 5.1.1 would (70) hides parts that clients show. One too
 * long for a held line could not be found by us but could by a client,
 * so it stops the parse; no real mailer writes one.
 */
static void
mime_ent_boundary(struct mime_parser *p, struct mime_ent *e)
{
	struct mime_pval v;
	struct span ct = { buf_cstr(&p->ctv), p->ctv.len };

	buf_reset(&p->scratch);
	if (mime_param_collect(ct, "boundary", false, &p->scratch, &v, 1) == 0 ||
	    v.len == 0)
		return;
	if (v.len > MIME_BOUNDARY_HARD_MAX) {
		mime_fail(p, MIME_ERR_HEADER);
		return;
	}
	(void)buf_append(&e->bnd, buf_cstr(&p->scratch) + v.off, v.len);
	e->pi.multipart = true;
}

void
mime_ent_header_done(struct mime_parser *p, struct mime_ent *e,
    struct span hdr)
{
	bool have_ct = false, valid;

	buf_reset(&p->ctv);
	mime_ent_fields(p, e, hdr, &have_ct);
	if (p->rc != MIME_OK)
		return;
	valid = have_ct && mime_content_type((struct span){ buf_cstr(&p->ctv),
	    p->ctv.len }, e->type, sizeof(e->type));
	if (valid && strncmp(e->type, "multipart/", 10) == 0) {
		mime_ent_boundary(p, e);
		/* Without a boundary it has no parts: one part of text. */
		valid = e->pi.multipart;
	}
	/* RFC 2045 5.2, RFC 2046 5.1.5: the default when absent or invalid. */
	if (!valid)
		(void)snprintf(e->type, sizeof(e->type), "%s", e->in_digest ?
		    "message/rfc822" : "text/plain");
	e->pi.message = strcmp(e->type, "message/rfc822") == 0 ||
	    strcmp(e->type, "message/global") == 0;
	mime_ent_names_done(e);
	if (p->rc == MIME_OK && p->cb.part != NULL &&
	    !p->cb.part(p->cb.arg, &e->pi))
		mime_fail(p, MIME_ERR_STOPPED);
}

/*
 * After the header section: a multipart waits for its first delimiter,
 * a message opens its attached message (same number, one level deeper),
 * a leaf gets its content. A multipart or message with a base64 or QP
 * encoding (invalid, RFC 2045 6.4, but some clients decode it, so a part
 * could hide there) has its content decoded into a layer of its own.
 */
void
mime_ent_body_start(struct mime_parser *p, struct mime_ent *e)
{
	if (e->pi.multipart)
		e->st = MIME_ENT_PREAMBLE;
	else if (e->pi.message)
		e->st = MIME_ENT_CHILD;
	else
		e->st = MIME_ENT_LEAF;
	mime_b64_init(&e->b64);
	mime_qp_init(&e->qp);
	e->container = e->st != MIME_ENT_LEAF &&
	    e->pi.cte != MIME_CTE_IDENTITY;
	e->want_body = e->st == MIME_ENT_LEAF && p->cb.body != NULL &&
	    (p->cb.wants_body == NULL || p->cb.wants_body(p->cb.arg, &e->pi));
	if (e->container) {
		struct mime_layer *l;

		e->sl = e->hl + 1;
		p->nlayers = e->sl + 1;
		l = &p->layers[e->sl];
		buf_reset(&l->win);
		l->ls = MIME_LS_START;
		l->nl = 0;
		l->cr = false;
		l->tail = 0;
	}
	if (e->pi.message)
		mime_ent_push(p, e->path, false, e->sl);
}

/* Decoded bytes to where they go: the container's layer, or body(). */
static void
mime_ent_dec_flush(struct mime_parser *p, struct mime_ent *e)
{
	if (e->dec.len == 0)
		return;
	if (e->container)
		mime_layer_input(p, e->sl, e->dec.data, e->dec.len);
	else if (p->cb.body != NULL &&
	    !p->cb.body(p->cb.arg, &e->pi, e->dec.data, e->dec.len))
		mime_fail(p, MIME_ERR_STOPPED);
	buf_reset(&e->dec);
}

/* A slice at a time, so that dec stays within MIME_DEC_MAX. */
static void
mime_ent_decode(struct mime_parser *p, struct mime_ent *e, const char *data,
    size_t len)
{
	while (len > 0 && p->rc == MIME_OK) {
		size_t k = len < MIME_DEC_SLICE ? len : MIME_DEC_SLICE;

		if (e->pi.cte == MIME_CTE_BASE64)
			(void)mime_b64_feed(&e->b64, data, k, &e->dec);
		else
			(void)mime_qp_feed(&e->qp, data, k, &e->dec);
		mime_ent_dec_flush(p, e);
		data += k;
		len -= k;
	}
}

void
mime_ent_dec_finish(struct mime_parser *p, struct mime_ent *e)
{
	if (e->pi.cte == MIME_CTE_QP)
		(void)mime_qp_finish(&e->qp, &e->dec);
	mime_b64_init(&e->b64);
	mime_ent_dec_flush(p, e);
}

/* Content of layer j for e, its reader: see struct mime_ent. */
void
mime_ent_content(struct mime_parser *p, struct mime_ent *e, unsigned j,
    const char *data, size_t len)
{
	bool leaf = e->st == MIME_ENT_LEAF;

	/* A leaf is decoded only for a body() that wants its content. */
	if (leaf && !e->want_body)
		return;			/* nobody reads it: not even decoded */
	if ((e->container && j == e->hl) ||
	    (leaf && e->pi.cte != MIME_CTE_IDENTITY))
		mime_ent_decode(p, e, data, len);
	else if (!leaf)
		return;			/* preamble, epilogue: not content */
	else if (p->cb.body != NULL &&
	    !p->cb.body(p->cb.arg, &e->pi, data, len))
		mime_fail(p, MIME_ERR_STOPPED);
}

/*
 * Closes the innermost part. One still in its header section (cut by a
 * delimiter or the end) is reported with what it had, and no content.
 */
void
mime_ent_close(struct mime_parser *p)
{
	struct mime_ent *e = &p->ents[p->nents - 1];

	if (e->st == MIME_ENT_HEADER) {
		mime_ent_header_done(p, e, (struct span){ buf_cstr(&p->hdr),
		    p->hdr.len });
		buf_reset(&p->hdr);
		p->line_off = 0;
	} else if (e->st == MIME_ENT_LEAF && e->pi.cte != MIME_CTE_IDENTITY)
		mime_ent_dec_finish(p, e);
	if (p->rc != MIME_OK)
		return;
	if (p->cb.part_end != NULL)
		p->cb.part_end(p->cb.arg, &e->pi);
	if (e->container)
		p->nlayers = e->hl + 1;
	p->nents--;
}
