/*
 * mime_parse: the streaming MIME structure parser (see mime_parse.h):
 * the lines of each layer, header sections, and the delimiter lines of
 * RFC 2046 5.1.1. Content is looked at where it lies in the caller's
 * buffer, a run of lines at a time (memchr); only a line that may be a
 * delimiter, split between two pieces, is copied. mime_part.c opens,
 * reads and closes the parts.
 *
 * Lenient where clients are, so that no part hides from the filter:
 * boundaries of any length a line can hold, an outer delimiter closes
 * the parts inside it, a missing close delimiter is fine, CR LF is read
 * as LF, a header section without its empty line ends at the first line
 * that is not a field.
 */
#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"
#include "mime/mime_int.h"
#include "mime/mime_parse.h"

/* A delimiter found: the multipart (index in ents) and the kind. */
struct mime_bmatch {
	size_t	 ent;
	bool	 close;
};

void
mime_fail(struct mime_parser *p, enum mime_rc rc)
{
	if (p->rc == MIME_OK)
		p->rc = rc;
}

struct mime_ent *
mime_consumer(struct mime_parser *p, unsigned j)
{
	for (size_t i = p->nents; i-- > 0;) {
		struct mime_ent *e = &p->ents[i];

		if (e->st == MIME_ENT_HEADER ? e->hl == j :
		    (e->hl == j || e->sl == j))
			return e;
	}
	return NULL;
}

static bool
mime_bnd_active(const struct mime_ent *e, unsigned j)
{
	return e->pi.multipart && e->sl == j &&
	    (e->st == MIME_ENT_PREAMBLE || e->st == MIME_ENT_CHILD);
}

static bool
mime_layer_has_bnd(const struct mime_parser *p, unsigned j)
{
	for (size_t i = 0; i < p->nents; i++)
		if (mime_bnd_active(&p->ents[i], j))
			return true;
	return false;
}

/* Only blanks (SP, HTAB; and CR when the line may go on). */
static bool
mime_blank_rest(const char *s, size_t n, bool cr_too)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && (!cr_too || s[i] != '\r'))
			return false;
	return true;
}

/*
 * Is line[0..n) (no LF) a delimiter of an open multipart of layer j:
 * "--" boundary, "--" for the close, then blanks? Innermost first, so an
 * outer boundary closes what is open inside it. partial: the line goes
 * on past n, and a CR there may still be padding.
 */
static bool
mime_bnd_match(const struct mime_parser *p, unsigned j, const char *line,
    size_t n, bool partial, struct mime_bmatch *m)
{
	if (n < 2 || line[0] != '-' || line[1] != '-')
		return false;
	if (!partial && line[n - 1] == '\r')
		n--;
	for (size_t i = p->nents; i-- > 0;) {
		const struct mime_ent *e = &p->ents[i];
		const char *rest = line + 2 + e->bnd.len;
		size_t r;

		if (!mime_bnd_active(e, j) || n - 2 < e->bnd.len ||
		    memcmp(line + 2, e->bnd.data, e->bnd.len) != 0)
			continue;
		r = n - 2 - e->bnd.len;
		m->ent = i;
		m->close = r >= 2 && rest[0] == '-' && rest[1] == '-';
		if (m->close) {
			rest += 2;
			r -= 2;
		}
		if (mime_blank_rest(rest, r, partial))
			return true;
	}
	return false;
}

/*
 * Content of layer j to its reader, after the line break held before it
 * (no delimiter followed, so the break was content).
 */
static void
mime_content(struct mime_parser *p, unsigned j, const char *data, size_t len)
{
	struct mime_layer *l = &p->layers[j];
	struct mime_ent *e = mime_consumer(p, j);

	if (e == NULL)
		return;
	if (l->nl > 0) {
		unsigned nl = l->nl;

		l->nl = 0;
		mime_ent_content(p, e, j, nl == 2 ? "\r\n" : "\n", nl);
	}
	if (len > 0 && p->rc == MIME_OK)
		mime_ent_content(p, e, j, data, len);
}

/* NOLINTBEGIN(misc-no-recursion): a delimiter closes the layers decoded
 * inside this one, and a container's decoded content is another layer's
 * input; both recurse once per layer, at most MIME_DEPTH_MAX + 2 deep.
 * A header without its empty line replays its last line, one part deeper. */

static void mime_layer_eof(struct mime_parser *p, unsigned j);

/*
 * Layer j + 1, decoded from a container reading layer j, ends: the
 * decoder's last bytes, then the end of that layer's lines.
 */
static void
mime_layer_close_above(struct mime_parser *p, unsigned j)
{
	struct mime_ent *prod = mime_consumer(p, j);

	if (prod == NULL || !prod->container || prod->hl != j)
		return;
	mime_ent_dec_finish(p, prod);
	if (p->rc == MIME_OK)
		mime_layer_eof(p, j + 1);
}

/*
 * A delimiter of ents[m->ent] in layer j: it takes the line break before
 * it (RFC 2046 5.1.1), ends the layers and parts inside the multipart,
 * then opens its next part or, for the close delimiter, its epilogue.
 */
static void
mime_bnd_hit(struct mime_parser *p, unsigned j, const struct mime_bmatch *m)
{
	struct mime_ent *e;

	p->layers[j].nl = 0;
	if (p->nlayers > j + 1)
		mime_layer_close_above(p, j);
	while (p->rc == MIME_OK && p->nents > m->ent + 1)
		mime_ent_close(p);
	if (p->rc != MIME_OK)
		return;
	e = &p->ents[m->ent];
	if (m->close) {
		e->st = MIME_ENT_EPILOGUE;
		return;
	}
	e->st = MIME_ENT_CHILD;
	mime_ent_child(p, e, j);
}

/* A whole line of layer j (lf: it ended in LF), from the line start. */
static void
mime_line(struct mime_parser *p, unsigned j, const char *line, size_t n,
    bool lf)
{
	struct mime_bmatch m;
	unsigned nl = 0;

	if (mime_bnd_match(p, j, line, n, false, &m)) {
		mime_bnd_hit(p, j, &m);
		return;
	}
	if (lf) {
		nl = 1;
		if (n > 0 && line[n - 1] == '\r') {
			n--;
			nl = 2;
		}
	}
	mime_content(p, j, line, n);
	p->layers[j].nl = nl;
}

/* ---- header sections ---------------------------------------------------- */

static void
mime_hdr_cut(struct buf *b, size_t len)
{
	b->len = len;
	if (b->data != NULL)
		b->data[len] = '\0';
}

/* RFC 5322 2.2: "name:" with name printable ASCII (blanks before ':' are
 * obsolete syntax, 4.5.1), or a continuation line. */
static bool
mime_hdr_fieldish(const char *s, size_t n)
{
	size_t i = 0;

	if (n > 0 && (s[0] == ' ' || s[0] == '\t'))
		return true;
	while (i < n && s[i] > ' ' && s[i] < 0x7f && s[i] != ':')
		i++;
	if (i == 0)
		return false;
	while (i < n && (s[i] == ' ' || s[i] == '\t'))
		i++;
	return i < n && s[i] == ':';
}

/* The header section is complete: the part is reported, content follows. */
static void
mime_hdr_end(struct mime_parser *p, unsigned j)
{
	struct mime_ent *e = &p->ents[p->nents - 1];
	struct mime_layer *l = &p->layers[j];

	mime_ent_header_done(p, e, (struct span){ buf_cstr(&p->hdr),
	    p->hdr.len });
	buf_reset(&p->hdr);
	p->line_off = 0;
	l->ls = MIME_LS_START;
	l->nl = 0;
	l->cr = false;
	if (p->rc == MIME_OK)
		mime_ent_body_start(p, e);
}

/*
 * A line that is no field ends a header section that lacks its empty
 * line, and is the first line of the content (as the Python email
 * package and others read it: text there must not escape the filter).
 * The section moves out of p->hdr, which the content may need.
 */
static void
mime_hdr_replay(struct mime_parser *p, unsigned j)
{
	struct mime_ent *e = &p->ents[p->nents - 1];
	struct buf rep = p->hdr;
	size_t off = p->line_off;

	buf_init(&p->hdr, MIME_HEADER_MAX);
	p->line_off = 0;
	mime_ent_header_done(p, e, (struct span){ rep.data, off });
	if (p->rc == MIME_OK)
		mime_ent_body_start(p, e);
	if (p->rc == MIME_OK)
		mime_layer_input(p, j, rep.data + off, rep.len - off);
	if (p->hdr.data == NULL) {
		p->hdr = rep;
		buf_reset(&p->hdr);
	} else
		buf_free(&rep);
}

/* The last line in p->hdr is whole (or the input ended): what is it? */
static void
mime_hdr_line(struct mime_parser *p, unsigned j)
{
	const char *s = p->hdr.data + p->line_off;
	size_t n = p->hdr.len - p->line_off;
	struct mime_bmatch m;

	if (n > 0 && s[n - 1] == '\n')
		n--;
	/* Delimiters as in content lines: past MIME_LINE_MAX, only as a
	 * delimiter padded with blanks (see mime_win_full()). */
	if (n == 0 || (n == 1 && s[0] == '\r'))
		mime_hdr_end(p, j);
	else if (mime_bnd_match(p, j, s, n, n > MIME_LINE_MAX, &m)) {
		mime_hdr_cut(&p->hdr, p->line_off);
		mime_bnd_hit(p, j, &m);
	} else if (!mime_hdr_fieldish(s, n))
		mime_hdr_replay(p, j);
	else
		p->line_off = p->hdr.len;
}

/* Header bytes up to the end of the line; the section has a ceiling. */
static size_t
mime_hdr_input(struct mime_parser *p, unsigned j, const char *data,
    size_t len)
{
	const char *lf = memchr(data, '\n', len);
	size_t n = lf != NULL ? (size_t)(lf - data) + 1 : len;

	if (buf_append(&p->hdr, data, n) == -1) {
		mime_fail(p, MIME_ERR_HEADER);
		return len;
	}
	if (lf != NULL)
		mime_hdr_line(p, j);
	return n;
}

/* ---- content lines ------------------------------------------------------ */

static const char mime_spaces[] = "                                ";

/*
 * A held line reached MIME_LINE_MAX without LF. Still a delimiter so far
 * (then blanks only)? Then wait for its end, counting the blanks: a
 * client would take it, padding and all. Else it is content, in pieces.
 */
static void
mime_win_full(struct mime_parser *p, unsigned j)
{
	struct mime_layer *l = &p->layers[j];
	struct mime_bmatch m;
	size_t n = l->win.len;

	if (mime_bnd_match(p, j, l->win.data, n, true, &m)) {
		l->ls = MIME_LS_BLANKS;
		l->tail = 0;
		return;
	}
	l->ls = MIME_LS_MID;
	l->cr = l->win.data[n - 1] == '\r';
	mime_content(p, j, l->win.data, l->cr ? n - 1 : n);
	buf_reset(&l->win);
}

/*
 * What looked like a padded delimiter was not: content. Known limit: its
 * blanks past the window are given as SP whatever they were (HTAB, CR);
 * nothing but a filter reads them, and padding this long is an attack
 * anyway.
 */
static void
mime_blanks_fail(struct mime_parser *p, unsigned j)
{
	struct mime_layer *l = &p->layers[j];

	mime_content(p, j, l->win.data, l->win.len);
	while (l->tail > 0 && p->rc == MIME_OK) {
		size_t k = l->tail < sizeof(mime_spaces) - 1 ? l->tail :
		    sizeof(mime_spaces) - 1;

		mime_content(p, j, mime_spaces, k);
		l->tail -= k;
	}
	l->tail = 0;
	buf_reset(&l->win);
	l->ls = MIME_LS_MID;
}

static size_t
mime_blanks_input(struct mime_parser *p, unsigned j, const char *data,
    size_t len)
{
	struct mime_layer *l = &p->layers[j];
	struct mime_bmatch m;

	for (size_t i = 0; i < len; i++) {
		if (data[i] == '\n') {
			if (!mime_bnd_match(p, j, l->win.data, l->win.len, true,
			    &m)) {
				mime_blanks_fail(p, j);
				return i;
			}
			buf_reset(&l->win);
			l->ls = MIME_LS_START;
			l->tail = 0;
			mime_bnd_hit(p, j, &m);
			return i + 1;
		}
		if (data[i] != ' ' && data[i] != '\t' && data[i] != '\r') {
			mime_blanks_fail(p, j);
			return i;
		}
		l->tail++;
	}
	return len;
}

/* A held line that may be a delimiter, until its LF or MIME_LINE_MAX. */
static size_t
mime_hold_input(struct mime_parser *p, unsigned j, const char *data,
    size_t len)
{
	struct mime_layer *l = &p->layers[j];
	size_t room = MIME_LINE_MAX - l->win.len;
	const char *lf = memchr(data, '\n', len < room + 1 ? len : room + 1);

	if (lf != NULL) {
		(void)buf_append(&l->win, data, (size_t)(lf - data));
		l->ls = MIME_LS_START;
		mime_line(p, j, l->win.data, l->win.len, true);
		buf_reset(&l->win);
		return (size_t)(lf - data) + 1;
	}
	if (len <= room) {
		(void)buf_append(&l->win, data, len);
		return len;
	}
	(void)buf_append(&l->win, data, room);
	mime_win_full(p, j);
	return room;
}

/* A line starting "-" or "--": whole here, or held until it is. */
static size_t
mime_cand_input(struct mime_parser *p, unsigned j, const char *data,
    size_t len)
{
	struct mime_layer *l = &p->layers[j];
	const char *lf = memchr(data, '\n',
	    len < MIME_LINE_MAX + 1 ? len : MIME_LINE_MAX + 1);

	if (lf != NULL) {
		mime_line(p, j, data, (size_t)(lf - data), true);
		return (size_t)(lf - data) + 1;
	}
	l->ls = MIME_LS_HOLD;
	return mime_hold_input(p, j, data, len);
}

/* Bytes of a line that cannot be a delimiter; a CR at the end is held. */
static size_t
mime_mid_input(struct mime_parser *p, unsigned j, const char *data,
    size_t len)
{
	struct mime_layer *l = &p->layers[j];
	const char *lf;
	size_t n;

	if (l->cr) {
		l->cr = false;
		if (data[0] == '\n') {
			l->nl = 2;
			l->ls = MIME_LS_START;
			return 1;
		}
		mime_content(p, j, "\r", 1);
		return 0;
	}
	lf = memchr(data, '\n', len);
	if (lf == NULL) {
		l->cr = data[len - 1] == '\r';
		mime_content(p, j, data, l->cr ? len - 1 : len);
		return len;
	}
	n = (size_t)(lf - data);
	l->ls = MIME_LS_START;
	if (n > 0 && data[n - 1] == '\r') {
		mime_content(p, j, data, n - 1);
		l->nl = 2;
	} else {
		mime_content(p, j, data, n);
		l->nl = 1;
	}
	return n + 1;
}

static bool
mime_is_cand(const char *s, const char *end)
{
	return s[0] == '-' && (end - s < 2 || s[1] == '-');
}

/*
 * At a line start: the run of whole lines up to the next one that may be
 * a delimiter goes out at once, its last line break held. With no
 * multipart open in the layer nothing can be a delimiter: the run is the
 * whole piece.
 */
static size_t
mime_start_input(struct mime_parser *p, unsigned j, const char *data,
    size_t len)
{
	const char *pos = data, *end = data + len, *lf;
	bool bnd = mime_layer_has_bnd(p, j);

	if (bnd && mime_is_cand(data, end))
		return mime_cand_input(p, j, data, len);
	if (!bnd) {
		lf = memrchr(data, '\n', len);
		pos = lf != NULL ? lf + 1 : data;
	} else
		while (pos < end && !mime_is_cand(pos, end) &&
		    (lf = memchr(pos, '\n', (size_t)(end - pos))) != NULL)
			pos = lf + 1;
	if (pos < end && !(bnd && mime_is_cand(pos, end))) {
		/* The run ends in a line not yet whole: stream it. */
		struct mime_layer *l = &p->layers[j];

		l->ls = MIME_LS_MID;
		l->cr = end[-1] == '\r';
		mime_content(p, j, data, l->cr ? len - 1 : len);
		return len;
	}
	mime_line(p, j, data, (size_t)(pos - data) - 1, true);
	return (size_t)(pos - data);
}

static size_t
mime_body_input(struct mime_parser *p, unsigned j, const char *data,
    size_t len)
{
	switch (p->layers[j].ls) {
	case MIME_LS_HOLD:
		return mime_hold_input(p, j, data, len);
	case MIME_LS_BLANKS:
		return mime_blanks_input(p, j, data, len);
	case MIME_LS_MID:
		return mime_mid_input(p, j, data, len);
	case MIME_LS_START:
	default:
		return mime_start_input(p, j, data, len);
	}
}

void
mime_layer_input(struct mime_parser *p, unsigned j, const char *data,
    size_t len)
{
	while (len > 0 && p->rc == MIME_OK) {
		struct mime_ent *e = mime_consumer(p, j);
		size_t n;

		if (e == NULL)
			return;
		if (e->st == MIME_ENT_HEADER)
			n = mime_hdr_input(p, j, data, len);
		else
			n = mime_body_input(p, j, data, len);
		data += n;
		len -= n;
	}
}

/*
 * Layer j has no more input: its last line, held or partial, is whole
 * now (no LF), and its last line break was content (no delimiter came).
 * Then the layer decoded inside it, if any, ends too.
 */
static void
mime_layer_eof(struct mime_parser *p, unsigned j)
{
	struct mime_layer *l = &p->layers[j];
	struct mime_ent *e;
	struct mime_bmatch m;

	/* A replayed line can leave a deeper header with a last line. */
	while (p->rc == MIME_OK && (e = mime_consumer(p, j)) != NULL &&
	    e->st == MIME_ENT_HEADER && p->hdr.len > p->line_off)
		mime_hdr_line(p, j);
	if (p->rc != MIME_OK)
		return;
	if (l->ls == MIME_LS_HOLD) {
		l->ls = MIME_LS_START;
		mime_line(p, j, l->win.data, l->win.len, false);
		buf_reset(&l->win);
	} else if (l->ls == MIME_LS_BLANKS) {
		l->ls = MIME_LS_START;
		if (mime_bnd_match(p, j, l->win.data, l->win.len, true, &m)) {
			buf_reset(&l->win);
			l->tail = 0;
			mime_bnd_hit(p, j, &m);
		} else
			mime_blanks_fail(p, j);
	} else if (l->ls == MIME_LS_MID && l->cr) {
		l->cr = false;
		mime_content(p, j, "\r", 1);
	}
	l->ls = MIME_LS_START;
	if (p->rc == MIME_OK && l->nl > 0)
		mime_content(p, j, NULL, 0);
	if (p->rc == MIME_OK && p->nlayers > j + 1)
		mime_layer_close_above(p, j);
}

/* NOLINTEND(misc-no-recursion) */

/* ---- the interface ------------------------------------------------------ */

struct mime_parser *
mime_parser_new(const struct mime_callbacks *cb)
{
	struct mime_parser *p = xcalloc(1, sizeof(*p));
	size_t i;

	p->cb = *cb;
	buf_init(&p->hdr, MIME_HEADER_MAX);
	buf_init(&p->val, MIME_VALUE_MAX);
	buf_init(&p->words, MIME_VALUE_MAX);
	buf_init(&p->ctv, MIME_VALUE_MAX);
	buf_init(&p->scratch, MIME_VALUE_MAX);
	for (i = 0; i < sizeof(p->ents) / sizeof(p->ents[0]); i++) {
		buf_init(&p->ents[i].names, MIME_NAMES_MAX * MIME_NAME_MAX);
		buf_init(&p->ents[i].bnd, MIME_BOUNDARY_HARD_MAX);
		buf_init(&p->ents[i].dec, MIME_DEC_MAX);
	}
	for (i = 0; i < sizeof(p->layers) / sizeof(p->layers[0]); i++)
		buf_init(&p->layers[i].win, MIME_LINE_MAX);
	p->nlayers = 1;
	mime_ent_push(p, "", false, 0);
	return p;
}

enum mime_rc
mime_parser_feed(struct mime_parser *p, const char *data, size_t len)
{
	if (p->rc == MIME_OK && !p->finished)
		mime_layer_input(p, 0, data, len);
	return p->rc;
}

enum mime_rc
mime_parser_finish(struct mime_parser *p)
{
	if (p->rc != MIME_OK || p->finished)
		return p->rc;
	p->finished = true;
	mime_layer_eof(p, 0);
	while (p->rc == MIME_OK && p->nents > 0)
		mime_ent_close(p);
	return p->rc;
}

const char *
mime_rc_text(enum mime_rc rc)
{
	switch (rc) {
	case MIME_OK:
		return "MIME structure valid";
	case MIME_ERR_DEPTH:
		return "MIME nesting too deep";
	case MIME_ERR_HEADER:
		return "MIME header section too large";
	case MIME_ERR_PARTS:
		return "too many MIME parts";
	case MIME_ERR_STOPPED:
		return "MIME parse stopped";
	}
	return "MIME error";
}

void
mime_parser_free(struct mime_parser **pp)
{
	struct mime_parser *p = *pp;
	size_t i;

	if (p == NULL)
		return;
	buf_free(&p->hdr);
	buf_free(&p->val);
	buf_free(&p->words);
	buf_free(&p->ctv);
	buf_free(&p->scratch);
	for (i = 0; i < sizeof(p->ents) / sizeof(p->ents[0]); i++) {
		buf_free(&p->ents[i].names);
		buf_free(&p->ents[i].bnd);
		buf_free(&p->ents[i].dec);
	}
	for (i = 0; i < sizeof(p->layers) / sizeof(p->layers[0]); i++)
		buf_free(&p->layers[i].win);
	free(p);
	*pp = NULL;
}
