/*
 * imap_msg: the mapping of one stored message and its MIME structure as
 * IMAP numbers it (RFC 3501 6.4.5, RFC 2045, RFC 2046 5.1.1): header and
 * body offsets of every entity, sizes in CRLF bytes, line counts. The
 * structure is found top-down, one entity at a time, with no recursion:
 * the entity array is its own work queue. ENVELOPE and BODYSTRUCTURE
 * are in imap_msg_fetch.c, sections in imap_msg_section.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "core/limits.h"
#include "core/xalloc.h"
#include "imap/imap_msg_int.h"
#include "mime/mime_header.h"
#include "mime/mime_parse.h"

struct imap_msg *
imap_msg_open_mem(const char *data, size_t len)
{
	struct imap_msg *m = xcalloc(1, sizeof(*m));

	m->data = len > 0 ? data : "";
	m->len = len;
	return m;
}

struct imap_msg *
imap_msg_open(int fd, char *err, size_t errlen)
{
	struct imap_msg *m;
	struct stat st;
	void *p;

	if (fstat(fd, &st) == -1) {
		(void)snprintf(err, errlen, "fstat: %s", strerror(errno));
		return NULL;
	}
	if (!S_ISREG(st.st_mode) || st.st_size < 0 ||
	    (uint64_t)st.st_size > IMAP_MSG_SIZE_MAX) {
		(void)snprintf(err, errlen, "not a regular file or too big");
		return NULL;
	}
	if (st.st_size == 0)
		return imap_msg_open_mem("", 0);
	/*
	 * Maildir files are never rewritten in place (SPEC 3), so the
	 * mapping cannot shrink under us (which would be SIGBUS).
	 */
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED) {
		(void)snprintf(err, errlen, "mmap: %s", strerror(errno));
		return NULL;
	}
	m = imap_msg_open_mem(p, (size_t)st.st_size);
	m->map = p;
	m->maplen = (size_t)st.st_size;
	return m;
}

void
imap_msg_close(struct imap_msg **mp)
{
	struct imap_msg *m = *mp;

	if (m == NULL)
		return;
	if (m->map != NULL)
		(void)munmap(m->map, m->maplen);
	free(m->ents);
	free(m);
	*mp = NULL;
}

uint64_t
imap_msg_crlf_size(const char *p, size_t n, uint64_t *lines_out)
{
	const char *s = p, *end = p + n, *nl;
	uint64_t size = n, lf = 0;

	while (s < end && (nl = memchr(s, '\n', (size_t)(end - s))) != NULL) {
		if (nl == p || nl[-1] != '\r')
			size++;
		lf++;
		s = nl + 1;
	}
	if (lines_out != NULL)
		*lines_out = lf + (n > 0 && p[n - 1] != '\n' ? 1 : 0);
	return size;
}

uint64_t
imap_msg_vsize(struct imap_msg *m)
{
	if (!m->have_vsize) {
		m->vsize = imap_msg_crlf_size(m->data, m->len, NULL);
		m->have_vsize = true;
	}
	return m->vsize;
}

size_t
imap_msg_header_end(const char *p, size_t n)
{
	size_t i = 0;
	const char *nl;

	while (i < n) {
		if (p[i] == '\n')
			return i + 1;
		if (p[i] == '\r' && i + 1 < n && p[i + 1] == '\n')
			return i + 2;
		nl = memchr(p + i, '\n', n - i);
		if (nl == NULL)
			return n;
		i = (size_t)(nl - p) + 1;
	}
	return n;
}

bool
imap_msg_field(const char *hdr, size_t len, const char *name,
    struct span *raw_out)
{
	struct mime_header_iter it;
	struct span n, v;

	mime_header_iter_init(&it, hdr, len);
	while (mime_header_next(&it, &n, &v)) {
		if (span_eq_nocase(n, name)) {
			*raw_out = v;
			return true;
		}
	}
	return false;
}

struct span
imap_msg_unfold(struct buf *tmp, struct span raw)
{
	const char *s = raw.ptr, *end = raw.ptr + raw.len, *nl;
	size_t n;

	buf_reset(tmp);
	while (s < end) {
		nl = memchr(s, '\n', (size_t)(end - s));
		n = (size_t)((nl != NULL ? nl : end) - s);
		if (nl != NULL && n > 0 && s[n - 1] == '\r')
			n--;
		if (n > tmp->max - tmp->len)
			n = tmp->max - tmp->len;
		(void)buf_append(tmp, s, n);
		s = nl != NULL ? nl + 1 : end;
	}
	return span_trim((struct span){ buf_cstr(tmp), tmp->len });
}

/* ---- the structure ------------------------------------------------------ */

/* A new entity over data[start..end), child of nothing yet. -1 at the limit. */
static int
imap_msg_ent_add(struct imap_msg *m, size_t start, size_t end, unsigned depth,
    bool is_msg, bool digest)
{
	struct imap_ent *e;

	if (m->nents >= MIME_PARTS_MAX)
		return -1;
	/* Grows by doubling up to MIME_PARTS_MAX entries. */
	if ((m->nents & (m->nents - 1)) == 0)
		m->ents = xrealloc(m->ents, (m->nents == 0 ? 1 : m->nents * 2) *
		    sizeof(*m->ents));
	e = &m->ents[m->nents++];
	*e = (struct imap_ent){ .hdr_off = start, .body_off = end,
	    .depth = (uint8_t)depth, .is_msg = is_msg, .digest = digest };
	return 0;
}

/*
 * Is line[0..n) (no LF) a delimiter of boundary b: "--" b, "--" for the
 * close, then only blanks (RFC 2046 5.1.1 transport padding) and a CR?
 */
static bool
imap_msg_delim(const char *line, size_t n, struct span b, bool *close_out)
{
	size_t i;
	bool close;

	if (n < 2 + b.len || line[0] != '-' || line[1] != '-' ||
	    memcmp(line + 2, b.ptr, b.len) != 0)
		return false;
	i = 2 + b.len;
	close = i + 1 < n && line[i] == '-' && line[i + 1] == '-';
	if (close)
		i += 2;
	for (; i < n; i++)
		if (line[i] != ' ' && line[i] != '\t' &&
		    (line[i] != '\r' || i + 1 != n))
			return false;
	*close_out = close;
	return true;
}

/*
 * The parts of multipart e (index ei): the content between delimiter
 * lines, the line break before a delimiter belonging to the delimiter;
 * no close delimiter: the last part runs to the end. false when the
 * parts do not all fit (then none is kept).
 */
static bool
imap_msg_split(struct imap_msg *m, size_t ei, struct span b)
{
	const char *d = m->data;
	size_t pos = m->ents[ei].body_off;
	size_t end = pos + m->ents[ei].body_len, first = m->nents, start = 0;
	unsigned depth = m->ents[ei].depth + 1u;
	bool in_part = false, close = false;
	bool digest = m->ents[ei].is_digest;

	while (pos < end && !close) {
		const char *nl = memchr(d + pos, '\n', end - pos);
		size_t lend = nl != NULL ? (size_t)(nl - d) : end;
		size_t next = nl != NULL ? lend + 1 : end, pend;

		if (imap_msg_delim(d + pos, lend - pos, b, &close)) {
			if (in_part) {
				pend = pos;
				if (pend > start && d[pend - 1] == '\n')
					pend--;
				if (pend > start && d[pend - 1] == '\r')
					pend--;
				if (imap_msg_ent_add(m, start, pend, depth, false,
				    digest) == -1)
					goto full;
			}
			in_part = true;
			start = next;
		}
		pos = next;
	}
	if (in_part && !close &&
	    imap_msg_ent_add(m, start, end, depth, false, digest) == -1)
		goto full;
	m->ents[ei].child = (uint32_t)first;
	m->ents[ei].nchild = (uint32_t)(m->nents - first);
	return true;
full:
	m->nents = first;
	return false;
}

/* Type and boundary of entity e from its Content-Type, if valid. */
static bool
imap_msg_ctype(struct imap_msg *m, struct imap_ent *e, char *type,
    size_t typelen, struct buf *bnd)
{
	struct mime_param_item items[MIME_PARAMS_MAX];
	struct buf tmp;
	struct span raw, v;
	size_t n, i;
	bool ok;

	if (!imap_msg_field(m->data + e->hdr_off, e->hdr_len, "Content-Type",
	    &raw))
		return false;
	e->ct_off = (size_t)(raw.ptr - m->data);
	e->ct_len = raw.len;
	buf_init(&tmp, MIME_HEADER_MAX);
	v = imap_msg_unfold(&tmp, raw);
	ok = mime_content_type(v, type, typelen);
	if (ok && strncmp(type, "multipart/", 10) == 0) {
		n = mime_param_list(v, bnd, items, MIME_PARAMS_MAX);
		ok = false;
		for (i = 0; i < n && !ok; i++) {
			if (strcasecmp(bnd->data + items[i].name_off,
			    "boundary") != 0 || items[i].val_len == 0)
				continue;
			/* Keep the value alone at the start of bnd. */
			memmove(bnd->data, bnd->data + items[i].val_off,
			    items[i].val_len);
			bnd->len = items[i].val_len;
			bnd->data[bnd->len] = '\0';
			ok = true;
		}
	}
	buf_free(&tmp);
	return ok;
}

/* Header, body, type and children of entity ei over its extent. */
static void
imap_msg_ent_fill(struct imap_msg *m, size_t ei)
{
	struct imap_ent *e = &m->ents[ei];
	char type[MIME_TYPE_MAX];
	size_t start = e->hdr_off, end = e->body_off;
	struct buf bnd;
	bool multi, msg;

	e->hdr_len = imap_msg_header_end(m->data + start, end - start);
	e->body_off = start + e->hdr_len;
	e->body_len = end - e->body_off;
	buf_init(&bnd, MIME_HEADER_MAX);
	e->has_ct = imap_msg_ctype(m, e, type, sizeof(type), &bnd);
	if (!e->has_ct)
		(void)snprintf(type, sizeof(type), "%s", e->digest ?
		    "message/rfc822" : "text/plain");
	e->text = strncmp(type, "text/", 5) == 0;
	e->body_vsize = imap_msg_crlf_size(m->data + e->body_off, e->body_len,
	    &e->lines);
	multi = strncmp(type, "multipart/", 10) == 0;
	msg = strcmp(type, "message/rfc822") == 0;
	if ((multi || msg) && e->depth >= MIME_DEPTH_MAX) {
		e->opaque = true;	/* nested too deep: content as it is */
	} else if (multi) {
		e->kind = IMAP_ENT_MULTI;
		/* RFC 2046 5.1.5: its parts default to message/rfc822. */
		e->is_digest = strcmp(type, "multipart/digest") == 0;
		if (!imap_msg_split(m, ei, (struct span){ bnd.data, bnd.len }))
			m->ents[ei].opaque = true;
	} else if (msg) {
		e->kind = IMAP_ENT_MESSAGE;
		if (imap_msg_ent_add(m, e->body_off, e->body_off + e->body_len,
		    e->depth + 1u, true, false) == -1) {
			m->ents[ei].opaque = true;
		} else {
			m->ents[ei].child = (uint32_t)(m->nents - 1);
			m->ents[ei].nchild = 1;
		}
	}
	e = &m->ents[ei];
	if (e->opaque) {
		e->kind = IMAP_ENT_LEAF;
		e->nchild = 0;
	}
	buf_free(&bnd);
}

void
imap_msg_parse(struct imap_msg *m)
{
	if (m->parsed)
		return;
	m->parsed = true;
	(void)imap_msg_ent_add(m, 0, m->len, 0, true, false);
	/* Entities are appended as found: each is filled once, in order. */
	for (size_t i = 0; i < m->nents; i++)
		imap_msg_ent_fill(m, i);
}

const struct imap_ent *
imap_msg_find(struct imap_msg *m, const uint32_t *part, size_t npart)
{
	size_t e = 0;
	bool msg = true;

	imap_msg_parse(m);
	for (size_t i = 0; i < npart; i++) {
		const struct imap_ent *x = &m->ents[e];

		/* A number after a message/rfc822 part goes into its message. */
		if (i > 0 && x->kind == IMAP_ENT_MESSAGE) {
			e = x->child;
			x = &m->ents[e];
			msg = true;
		}
		if (x->kind == IMAP_ENT_MULTI) {
			if (part[i] == 0 || part[i] > x->nchild)
				return NULL;
			e = x->child + part[i] - 1;
			msg = false;
		} else if (msg && part[i] == 1) {
			msg = false;	/* a non-multipart message's body is 1 */
		} else {
			return NULL;
		}
	}
	return &m->ents[e];
}

/* ---- IMAP strings ------------------------------------------------------- */

static bool
imap_msg_quotable(const char *p, size_t n)
{
	if (n > IMAP_MSG_QUOTED_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c == 0 || c == '\r' || c == '\n' || c >= 0x80)
			return false;
	}
	return true;
}

static void
imap_msg_str_conv(struct buf *out, const char *p, size_t n, bool upper)
{
	bool quoted = imap_msg_quotable(p, n);
	size_t start = 0;

	if (quoted)
		(void)buf_append(out, "\"", 1);
	else
		(void)buf_printf(out, "{%zu}\r\n", n);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		char x;

		if (!(c == '"' || c == '\\' || c == 0 ||
		    (upper && c >= 'a' && c <= 'z')))
			continue;
		(void)buf_append(out, p + start, i - start);
		start = i + 1;
		if (c == 0) {
			x = (char)0x80;
		} else if (c == '"' || c == '\\') {
			if (quoted)
				(void)buf_append(out, "\\", 1);
			x = (char)c;
		} else {
			x = (char)(c - 'a' + 'A');
		}
		(void)buf_append(out, &x, 1);
	}
	(void)buf_append(out, p + start, n - start);
	if (quoted)
		(void)buf_append(out, "\"", 1);
}

void
imap_msg_str(struct buf *out, const char *p, size_t n)
{
	imap_msg_str_conv(out, p, n, false);
}

void
imap_msg_str_upper(struct buf *out, const char *p, size_t n)
{
	imap_msg_str_conv(out, p, n, true);
}

void
imap_msg_nstr(struct buf *out, const char *p, size_t n, bool empty_nil)
{
	if (p == NULL || (empty_nil && n == 0))
		(void)buf_append(out, "NIL", 3);
	else
		imap_msg_str_conv(out, p, n, false);
}
