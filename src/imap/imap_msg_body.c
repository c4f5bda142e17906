/*
 * imap_msg_body: BODY and BODYSTRUCTURE (RFC 3501 7.4.2, 9 "body") from
 * the structure imap_msg.c found. Types, subtypes, parameter names,
 * encodings and disposition types are sent upper case, as the RFC's
 * examples show them; values as written (RFC 2231 values still encoded,
 * RFC 2047 words not decoded). The tree is walked with a stack bounded
 * by MIME_DEPTH_MAX, no recursion.
 */
#include <stdio.h>
#include <string.h>

#include "core/limits.h"
#include "imap/imap_msg_int.h"
#include "mime/mime_header.h"
#include "mime/mime_parse.h"

#define IMAP_BODY_VALUE_MAX	(64 * 1024)	/* one field unfolded: ours */

/* The fields of a part's header that BODYSTRUCTURE shows (first of each). */
struct imap_body_hdr {
	struct span	 cte, id, desc, md5, disp, lang, loc;
	bool		 has_cte, has_id, has_desc, has_md5, has_disp, has_lang,
			 has_loc;
};

struct imap_body_ctx {
	struct imap_msg	*m;
	struct buf	*out;
	struct buf	 tmp, params;
	bool		 ext;
};

static void
imap_body_hdr_read(const struct imap_msg *m, const struct imap_ent *e,
    struct imap_body_hdr *h)
{
	static const struct {
		const char	*name;
		size_t		 span_off, has_off;
	} f[] = {
#define F(n, s) { n, offsetof(struct imap_body_hdr, s), \
		offsetof(struct imap_body_hdr, has_##s) }
		F("Content-Transfer-Encoding", cte),
		F("Content-ID", id),
		F("Content-Description", desc),
		F("Content-MD5", md5),
		F("Content-Disposition", disp),
		F("Content-Language", lang),
		F("Content-Location", loc),
#undef F
	};
	struct mime_header_iter it;
	struct span n, v;

	memset(h, 0, sizeof(*h));
	mime_header_iter_init(&it, m->data + e->hdr_off, e->hdr_len);
	while (mime_header_next(&it, &n, &v)) {
		for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
			bool *has = (bool *)((char *)h + f[i].has_off);

			if (*has || !span_eq_nocase(n, f[i].name))
				continue;
			*has = true;
			*(struct span *)((char *)h + f[i].span_off) = v;
		}
	}
}

static void
imap_body_sp(struct imap_body_ctx *c)
{
	(void)buf_append(c->out, " ", 1);
}

/* The first word of a value: up to a blank, ';' or comment. */
static struct span
imap_body_word(struct span v)
{
	size_t i = 0;

	while (i < v.len && v.ptr[i] != ' ' && v.ptr[i] != '\t' &&
	    v.ptr[i] != ';' && v.ptr[i] != '(')
		i++;
	return (struct span){ v.ptr, i };
}

/* body-fld-param: the parameters of value (unfolded), or NIL. */
static void
imap_body_params(struct imap_body_ctx *c, struct span v)
{
	struct mime_param_item items[MIME_PARAMS_MAX];
	size_t n;

	buf_reset(&c->params);
	n = mime_param_list(v, &c->params, items, MIME_PARAMS_MAX);
	if (n == 0) {
		(void)buf_append(c->out, "NIL", 3);
		return;
	}
	(void)buf_append(c->out, "(", 1);
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			imap_body_sp(c);
		imap_msg_str_upper(c->out, c->params.data + items[i].name_off,
		    items[i].name_len);
		imap_body_sp(c);
		imap_msg_str(c->out, c->params.data + items[i].val_off,
		    items[i].val_len);
	}
	(void)buf_append(c->out, ")", 1);
}

/* An unfolded field as an nstring (NIL when absent). */
static void
imap_body_nstr(struct imap_body_ctx *c, bool has, struct span raw)
{
	struct span v;

	if (!has) {
		(void)buf_append(c->out, "NIL", 3);
		return;
	}
	v = imap_msg_unfold(&c->tmp, raw);
	imap_msg_str(c->out, v.ptr, v.len);
}

/* media type and subtype, and body-fld-param. */
static void
imap_body_type(struct imap_body_ctx *c, const struct imap_ent *e)
{
	char type[MIME_TYPE_MAX];
	const char *slash;
	struct span v;

	if (e->opaque) {
		(void)buf_append_str(c->out, "\"APPLICATION\" \"OCTET-STREAM\" NIL");
		return;
	}
	if (!e->has_ct) {
		(void)buf_append_str(c->out, e->digest ?
		    "\"MESSAGE\" \"RFC822\" NIL" :
		    "\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\")");
		return;
	}
	v = imap_msg_unfold(&c->tmp, (struct span){ c->m->data + e->ct_off,
	    e->ct_len });
	if (!mime_content_type(v, type, sizeof(type)) ||
	    (slash = strchr(type, '/')) == NULL) {
		(void)buf_append_str(c->out, "NIL NIL NIL");	/* cannot be */
		return;
	}
	imap_msg_str_upper(c->out, type, (size_t)(slash - type));
	imap_body_sp(c);
	imap_msg_str_upper(c->out, slash + 1, strlen(slash + 1));
	imap_body_sp(c);
	imap_body_params(c, v);
}

/* body-fields: params, id, description, encoding, octets. */
static void
imap_body_fields(struct imap_body_ctx *c, const struct imap_ent *e,
    const struct imap_body_hdr *h)
{
	struct span w;

	imap_body_type(c, e);
	imap_body_sp(c);
	imap_body_nstr(c, h->has_id, h->id);
	imap_body_sp(c);
	imap_body_nstr(c, h->has_desc, h->desc);
	imap_body_sp(c);
	w = h->has_cte ? imap_body_word(imap_msg_unfold(&c->tmp, h->cte)) :
	    (struct span){ NULL, 0 };
	if (w.len == 0)
		(void)buf_append_str(c->out, "\"7BIT\"");
	else
		imap_msg_str_upper(c->out, w.ptr, w.len);
	(void)buf_printf(c->out, " %llu", (unsigned long long)e->body_vsize);
}

/* body-fld-dsp: ("TYPE" params) or NIL. */
static void
imap_body_disp(struct imap_body_ctx *c, const struct imap_body_hdr *h)
{
	struct span v, w;

	if (!h->has_disp || (w = imap_body_word(v = imap_msg_unfold(&c->tmp,
	    h->disp))).len == 0) {
		(void)buf_append(c->out, "NIL", 3);
		return;
	}
	(void)buf_append(c->out, "(", 1);
	imap_msg_str_upper(c->out, w.ptr, w.len);
	imap_body_sp(c);
	imap_body_params(c, v);
	(void)buf_append(c->out, ")", 1);
}

/* body-fld-lang: the tags of Content-Language as a list, or NIL. */
static void
imap_body_lang(struct imap_body_ctx *c, const struct imap_body_hdr *h)
{
	struct span v;
	size_t i = 0, n = 0, depth = 0, start;

	v = h->has_lang ? imap_msg_unfold(&c->tmp, h->lang) :
	    (struct span){ NULL, 0 };
	while (i < v.len) {
		char ch = v.ptr[i];

		if (ch == '(' || (depth > 0 && ch == ')')) {
			depth += ch == '(' ? 1 : (size_t)-1;
			i++;
			continue;
		}
		if (depth > 0 || ch == ' ' || ch == '\t' || ch == ',') {
			i += depth > 0 && ch == '\\' ? 2 : 1;
			continue;
		}
		start = i;
		while (i < v.len && strchr(" \t,()", v.ptr[i]) == NULL)
			i++;
		(void)buf_append(c->out, n++ == 0 ? "(" : " ", 1);
		imap_msg_str(c->out, v.ptr + start, i - start);
	}
	(void)buf_append(c->out, n > 0 ? ")" : "NIL", n > 0 ? 1 : 3);
}

/* md5 (single parts only), disposition, language, location. */
static void
imap_body_ext(struct imap_body_ctx *c, const struct imap_body_hdr *h,
    bool md5)
{
	if (md5) {
		imap_body_sp(c);
		imap_body_nstr(c, h->has_md5, h->md5);
	}
	imap_body_sp(c);
	imap_body_disp(c, h);
	imap_body_sp(c);
	imap_body_lang(c, h);
	imap_body_sp(c);
	imap_body_nstr(c, h->has_loc, h->loc);
}

/* What comes before an entity's children (a leaf: all of it). */
static void
imap_body_open(struct imap_body_ctx *c, const struct imap_ent *e)
{
	struct imap_body_hdr h;

	(void)buf_append(c->out, "(", 1);
	if (e->kind == IMAP_ENT_MULTI) {
		if (e->nchild == 0)	/* RFC 3501 9 needs a part: an empty one */
			(void)buf_append_str(c->out, c->ext ?
			    "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL "
			    "NIL \"7BIT\" 0 0 NIL NIL NIL NIL)" :
			    "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL "
			    "NIL \"7BIT\" 0 0)");
		return;
	}
	imap_body_hdr_read(c->m, e, &h);
	imap_body_fields(c, e, &h);
	if (e->kind == IMAP_ENT_MESSAGE) {
		const struct imap_ent *msg = &c->m->ents[e->child];

		imap_body_sp(c);
		imap_msg_envelope_of(c->m->data + msg->hdr_off, msg->hdr_len,
		    c->out);
		imap_body_sp(c);
		return;		/* then the message's body */
	}
	if (e->text)
		(void)buf_printf(c->out, " %llu", (unsigned long long)e->lines);
	if (c->ext)
		imap_body_ext(c, &h, true);
	(void)buf_append(c->out, ")", 1);
}

/* What comes after the children of a multipart or message. */
static void
imap_body_close(struct imap_body_ctx *c, const struct imap_ent *e)
{
	struct imap_body_hdr h;
	char type[MIME_TYPE_MAX];
	struct span v;
	const char *slash;

	imap_body_hdr_read(c->m, e, &h);
	if (e->kind == IMAP_ENT_MESSAGE) {
		(void)buf_printf(c->out, " %llu", (unsigned long long)e->lines);
		if (c->ext)
			imap_body_ext(c, &h, true);
		(void)buf_append(c->out, ")", 1);
		return;
	}
	/* A multipart: has_ct always, or it would not be one. */
	v = imap_msg_unfold(&c->tmp, (struct span){ c->m->data + e->ct_off,
	    e->ct_len });
	imap_body_sp(c);
	if (mime_content_type(v, type, sizeof(type)) &&
	    (slash = strchr(type, '/')) != NULL)
		imap_msg_str_upper(c->out, slash + 1, strlen(slash + 1));
	else
		(void)buf_append_str(c->out, "\"MIXED\"");	/* cannot be */
	if (c->ext) {
		imap_body_sp(c);
		imap_body_params(c, v);
		imap_body_ext(c, &h, false);
	}
	(void)buf_append(c->out, ")", 1);
}

int
imap_msg_bodystructure(struct imap_msg *m, bool extensible, struct buf *out)
{
	struct {
		uint32_t	 ent, next;
	} stack[MIME_DEPTH_MAX + 2];
	struct imap_body_ctx c = { .m = m, .out = out, .ext = extensible };
	size_t depth = 0;

	imap_msg_parse(m);
	buf_init(&c.tmp, IMAP_BODY_VALUE_MAX);
	buf_init(&c.params, 2 * IMAP_BODY_VALUE_MAX);
	stack[depth++].ent = 0;
	stack[0].next = 0;
	imap_body_open(&c, &m->ents[0]);
	/* Entity depth is at most MIME_DEPTH_MAX, so is the stack's. */
	while (depth > 0 && !out->overflowed) {
		const struct imap_ent *e = &m->ents[stack[depth - 1].ent];

		if (e->kind != IMAP_ENT_LEAF && stack[depth - 1].next < e->nchild &&
		    depth < sizeof(stack) / sizeof(stack[0])) {
			uint32_t k = e->child + stack[depth - 1].next++;

			stack[depth].ent = k;
			stack[depth++].next = 0;
			imap_body_open(&c, &m->ents[k]);
			continue;
		}
		if (e->kind != IMAP_ENT_LEAF)
			imap_body_close(&c, e);
		depth--;
	}
	buf_free(&c.tmp);
	buf_free(&c.params);
	return out->overflowed ? -1 : 0;
}
