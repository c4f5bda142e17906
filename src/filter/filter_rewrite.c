/*
 * filter_rewrite: milter header changes on a held header section. The
 * section is cut into fields (each with its continuation lines), the
 * changes edit that list, and the list is written back.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/xalloc.h"
#include "filter/filter_rewrite.h"
#include "mime/mime_header.h"

struct field {
	struct span	 name;
	struct span	 whole;		/* as written, with its LF; or ... */
	char		*made;		/* ... a field we wrote (mime_header_put) */
	size_t		 made_len;
};

struct fields {
	struct field	*v;
	size_t		 n, cap;
};

static int
fields_insert(struct fields *f, size_t at, struct field x)
{
	if (f->n == FILTER_FIELDS_MAX)
		return -1;
	if (f->n == f->cap) {
		f->cap = f->cap ? 2 * f->cap : 32;
		f->v = xrealloc(f->v, f->cap * sizeof(*f->v));
	}
	if (at > f->n)
		at = f->n;
	memmove(&f->v[at + 1], &f->v[at], (f->n - at) * sizeof(*f->v));
	f->v[at] = x;
	f->n++;
	return 0;
}

/* A new field "name: value" made by us. */
static int
field_make(struct field *x, const char *name, const char *value)
{
	struct buf b;

	buf_init(&b, 2 * MIME_LINE_HARD_MAX + 64 * 1024);
	if (mime_header_put(&b, name, span_from_cstr(value)) == -1) {
		buf_free(&b);
		return -1;
	}
	*x = (struct field){ .made = b.data, .made_len = b.len };
	x->name = (struct span){ x->made, strcspn(x->made, ":") };
	return 0;
}

static void
field_free(struct field *x)
{
	free(x->made);
	x->made = NULL;
}

/* Splits hdr into fields; lines that are not fields stay with the field
 * before them (or make an unnamed one). */
static int
fields_split(const char *hdr, size_t len, struct fields *f)
{
	const char *p = hdr, *end = hdr + len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl != NULL ? nl + 1 : end;
		const char *colon = memchr(p, ':', (size_t)(le - p));

		if ((*p == ' ' || *p == '\t') && f->n > 0) {
			struct field *last = &f->v[f->n - 1];

			last->whole.len = (size_t)(le - last->whole.ptr);
		} else {
			struct field x = { .whole = { p, (size_t)(le - p) } };

			x.name = (struct span){ p, colon != NULL ?
			    (size_t)(colon - p) : 0 };
			while (x.name.len > 0 && (x.name.ptr[x.name.len - 1] == ' ' ||
			    x.name.ptr[x.name.len - 1] == '\t'))
				x.name.len--;
			if (fields_insert(f, f->n, x) == -1)
				return -1;
		}
		p = le;
	}
	return 0;
}

static bool
field_named(const struct field *x, const char *name)
{
	return x->name.len == strlen(name) &&
	    strncasecmp(x->name.ptr, name, x->name.len) == 0;
}

static int
fields_change(struct fields *f, const struct milter_mod *m)
{
	uint32_t seen = 0;
	struct field x;

	for (size_t i = 0; i < f->n; i++) {
		if (!field_named(&f->v[i], m->name) || ++seen != m->index)
			continue;
		field_free(&f->v[i]);
		if (*m->value == '\0') {
			memmove(&f->v[i], &f->v[i + 1],
			    (f->n - i - 1) * sizeof(*f->v));
			f->n--;
			return 0;
		}
		if (field_make(&x, m->name, m->value) == -1)
			return -1;
		f->v[i] = x;
		return 0;
	}
	if (*m->value == '\0')
		return 0;	/* nothing to delete */
	if (field_make(&x, m->name, m->value) == -1)
		return -1;
	if (fields_insert(f, f->n, x) == -1) {
		field_free(&x);
		return -1;
	}
	return 0;
}

static int
fields_apply(struct fields *f, const struct milter_mod *m)
{
	struct field x;
	size_t at;

	switch (m->kind) {
	case MILTER_MOD_ADD_HEADER:
	case MILTER_MOD_INSERT_HEADER:
		at = m->kind == MILTER_MOD_ADD_HEADER ? f->n : m->index;
		if (field_make(&x, m->name, m->value) == -1)
			return -1;
		if (fields_insert(f, at, x) == -1) {
			field_free(&x);
			return -1;
		}
		return 0;
	case MILTER_MOD_CHANGE_HEADER:
		return fields_change(f, m);
	default:
		return 0;
	}
}

int
filter_headers_apply(const char *hdr, size_t len,
    const struct milter_mod *mods, size_t nmods, struct buf *out)
{
	struct fields f = { 0 };
	int rc = fields_split(hdr, len, &f);

	for (size_t i = 0; i < nmods && rc == 0; i++)
		if (mods[i].name != NULL && mods[i].value != NULL)
			rc = fields_apply(&f, &mods[i]);
	for (size_t i = 0; i < f.n && rc == 0; i++) {
		const struct field *x = &f.v[i];

		if (x->made != NULL)
			rc = buf_append(out, x->made, x->made_len);
		else {
			rc = buf_append(out, x->whole.ptr, x->whole.len);
			/* The last field of a section cut without its LF. */
			if (rc == 0 && (x->whole.len == 0 ||
			    x->whole.ptr[x->whole.len - 1] != '\n'))
				rc = buf_append(out, "\n", 1);
		}
	}
	for (size_t i = 0; i < f.n; i++)
		field_free(&f.v[i]);
	free(f.v);
	return rc;
}
