/*
 * imap_msg_search: what SEARCH asks of one message (RFC 3501 6.4.4): the
 * Date: field as a time (RFC 5322 3.3 and its obsolete forms, 4.3), and
 * substring tests, ASCII case-insensitive, over header fields (unfolded,
 * RFC 2047 decoded) and over the decoded text of the body parts
 * (mime_parse's streaming parser over the mapping, base64 and QP
 * decoded). Matching is linear (memmem over lower-cased windows).
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/xalloc.h"
#include "imap/imap_msg_int.h"
#include "mime/mime_header.h"
#include "mime/mime_parse.h"

#define IMAP_SEARCH_VALUE_MAX	(64 * 1024)	/* one field, unfolded: ours */
#define IMAP_SEARCH_CHUNK	8192	/* bytes searched at a time, at least */

/* ---- dates -------------------------------------------------------------- */

struct imap_date_lex {
	const char	*p;
	size_t		 i, n;
};

static bool
imap_date_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool
imap_date_digit(char c)
{
	return c >= '0' && c <= '9';
}

static void
imap_date_skip(struct imap_date_lex *x, const char *also)
{
	while (x->i < x->n && (x->p[x->i] == ' ' || x->p[x->i] == '\t' ||
	    strchr(also, x->p[x->i]) != NULL) && x->p[x->i] != '\0')
		x->i++;
}

/* Up to max digits; the count of digits read, 0 when none. */
static size_t
imap_date_num(struct imap_date_lex *x, size_t max, int *out)
{
	size_t k = 0;

	*out = 0;
	while (x->i < x->n && k < max && imap_date_digit(x->p[x->i])) {
		*out = *out * 10 + (x->p[x->i++] - '0');
		k++;
	}
	return k;
}

static struct span
imap_date_word(struct imap_date_lex *x)
{
	size_t start = x->i;

	while (x->i < x->n && imap_date_alpha(x->p[x->i]))
		x->i++;
	return (struct span){ x->p + start, x->i - start };
}

/* RFC 5322 3.3 and 4.3 zones: +hhmm, or a name; unknown: 0 (4.3). */
static int
imap_date_zone(struct imap_date_lex *x)
{
	static const struct {
		const char	*name;
		int		 hours;
	} names[] = { { "EST", -5 }, { "EDT", -4 }, { "CST", -6 },
	    { "CDT", -5 }, { "MST", -7 }, { "MDT", -6 }, { "PST", -8 },
	    { "PDT", -7 } };
	struct span w;
	int v;

	imap_date_skip(x, "");
	if (x->i < x->n && (x->p[x->i] == '+' || x->p[x->i] == '-')) {
		int sign = x->p[x->i++] == '-' ? -1 : 1;

		if (imap_date_num(x, 4, &v) != 4 || v % 100 > 59)
			return 0;
		return sign * ((v / 100) * 3600 + (v % 100) * 60);
	}
	w = imap_date_word(x);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (span_eq_nocase(w, names[i].name))
			return names[i].hours * 3600;
	return 0;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian). */
static int64_t
imap_date_days(int64_t y, unsigned mon, unsigned d)
{
	int64_t era, yoe, doy, doe;

	y -= mon <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (mon > 2 ? mon - 3 : mon + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int
imap_date_month(struct span w)
{
	static const char months[] = "janfebmaraprmayjunjulaugsepoctnovdec";

	if (w.len < 3)
		return 0;
	for (int i = 0; i < 12; i++)
		if (strncasecmp(w.ptr, months + 3 * i, 3) == 0)
			return i + 1;
	return 0;
}

/* [day ","] d month y h:m[:s] [zone], comments already blanked. */
static bool
imap_date_parse(const char *p, size_t n, int64_t *out)
{
	struct imap_date_lex x = { p, 0, n };
	int day, mon, year, h, mi, sec = 0;
	size_t yd;

	imap_date_skip(&x, ",");
	if (x.i < n && imap_date_alpha(p[x.i])) {
		(void)imap_date_word(&x);	/* the day of the week */
		imap_date_skip(&x, ",");
	}
	if (imap_date_num(&x, 2, &day) == 0)
		return false;
	imap_date_skip(&x, "-");
	mon = imap_date_month(imap_date_word(&x));
	imap_date_skip(&x, "-");
	yd = imap_date_num(&x, 4, &year);
	if (mon == 0 || yd < 2)
		return false;
	if (yd == 2)	/* RFC 5322 4.3 */
		year += year < 50 ? 2000 : 1900;
	else if (yd == 3)
		year += 1900;
	imap_date_skip(&x, "");
	if (imap_date_num(&x, 2, &h) == 0 || x.i >= n || p[x.i++] != ':' ||
	    imap_date_num(&x, 2, &mi) == 0)
		return false;
	if (x.i < n && p[x.i] == ':') {
		x.i++;
		if (imap_date_num(&x, 2, &sec) == 0)
			return false;
	}
	if (day < 1 || day > 31 || h > 23 || mi > 59 || sec > 60)
		return false;
	*out = imap_date_days(year, (unsigned)mon, (unsigned)day) * 86400 +
	    h * 3600 + mi * 60 + sec - imap_date_zone(&x);
	return true;
}

int64_t
imap_msg_date(struct imap_msg *m)
{
	struct buf tmp;
	struct span raw, v;
	int64_t t = INT64_MIN;
	size_t depth = 0;

	imap_msg_parse(m);
	if (!imap_msg_field(m->data + m->ents[0].hdr_off, m->ents[0].hdr_len,
	    "Date", &raw))
		return INT64_MIN;
	buf_init(&tmp, IMAP_SEARCH_VALUE_MAX);
	v = imap_msg_unfold(&tmp, raw);
	/* Comments become blanks (RFC 5322 3.2.2 CFWS), nesting counted. */
	for (size_t i = 0; i < v.len; i++) {
		char *c = tmp.data + (v.ptr - tmp.data) + i;

		if (*c == '(')
			depth++;
		if (depth > 0) {
			if (*c == ')')
				depth--;
			else if (*c == '\\' && i + 1 < v.len)
				c[1] = ' ';
			*c = ' ';
		}
	}
	if (!imap_date_parse(v.ptr, v.len, &t))
		t = INT64_MIN;
	buf_free(&tmp);
	return t;
}

/* ---- substrings --------------------------------------------------------- */

/* A needle looked for in a stream: the last nlen - 1 bytes are carried,
 * so a match split between pieces is found. */
struct imap_find {
	struct buf	 needle;	/* lower case */
	struct buf	 win;
	bool		 found;
};

static char
imap_find_lower(char c)
{
	if (c >= 'A' && c <= 'Z')
		return (char)(c - 'A' + 'a');
	return c;
}

static void
imap_find_init(struct imap_find *f, const char *needle)
{
	size_t n = strlen(needle);

	buf_init(&f->needle, n + 1);
	for (size_t i = 0; i < n; i++) {
		char c = imap_find_lower(needle[i]);

		(void)buf_append(&f->needle, &c, 1);
	}
	buf_init(&f->win, 2 * n + IMAP_SEARCH_CHUNK);
	f->found = n == 0;
}

static void
imap_find_free(struct imap_find *f)
{
	buf_free(&f->needle);
	buf_free(&f->win);
}

static void
imap_find_feed(struct imap_find *f, const char *p, size_t n)
{
	size_t keep = f->needle.len - 1;
	/* Pieces at least as long as the needle: the carried bytes never
	 * cost more than the new ones. */
	size_t piece = f->needle.len > IMAP_SEARCH_CHUNK ? f->needle.len :
	    IMAP_SEARCH_CHUNK;

	while (n > 0 && !f->found) {
		size_t k = n > piece ? piece : n, start = f->win.len;

		if (buf_append(&f->win, p, k) == -1)
			return;		/* cannot be: win holds keep + piece */
		for (size_t i = start; i < f->win.len; i++)
			f->win.data[i] = imap_find_lower(f->win.data[i]);
		f->found = memmem(f->win.data, f->win.len, f->needle.data,
		    f->needle.len) != NULL;
		if (f->win.len > keep)
			buf_consume(&f->win, f->win.len - keep);
		p += k;
		n -= k;
	}
}

/* A new piece of text that no match may span into. */
static void
imap_find_break(struct imap_find *f)
{
	buf_reset(&f->win);
}

/* Fields named name ("" any) of hdr: a value (unfolded, RFC 2047
 * decoded) containing f's needle; with an empty needle, the field. */
static bool
imap_find_fields(struct imap_find *f, const char *hdr, size_t len,
    const char *name)
{
	struct mime_header_iter it;
	struct span n, v;
	struct buf tmp, dec;

	buf_init(&tmp, IMAP_SEARCH_VALUE_MAX);
	buf_init(&dec, IMAP_SEARCH_VALUE_MAX);
	mime_header_iter_init(&it, hdr, len);
	while (!f->found && mime_header_next(&it, &n, &v)) {
		if (name[0] != '\0' && !span_eq_nocase(n, name))
			continue;
		if (f->needle.len == 0) {
			f->found = true;
			break;
		}
		v = imap_msg_unfold(&tmp, v);
		buf_reset(&dec);
		(void)mime_decode_words(v, &dec);
		imap_find_break(f);
		imap_find_feed(f, buf_cstr(&dec), dec.len);
	}
	buf_free(&tmp);
	buf_free(&dec);
	return f->found;
}

bool
imap_msg_header_contains(struct imap_msg *m, const char *name,
    const char *needle)
{
	struct imap_find f;
	bool found;

	imap_msg_parse(m);
	imap_find_init(&f, needle);
	f.found = false;
	found = imap_find_fields(&f, m->data + m->ents[0].hdr_off,
	    m->ents[0].hdr_len, name);
	imap_find_free(&f);
	return found;
}

static bool
imap_find_body_cb(void *arg, const struct mime_part_info *pi,
    const char *data, size_t len)
{
	struct imap_find *f = arg;

	imap_find_feed(f, data, len);
	return !f->found;
}

static void
imap_find_end_cb(void *arg, const struct mime_part_info *pi)
{
	imap_find_break(arg);
}

bool
imap_msg_body_contains(struct imap_msg *m, const char *needle,
    bool with_header)
{
	struct mime_callbacks cb = { .body = imap_find_body_cb,
	    .part_end = imap_find_end_cb };
	struct mime_parser *p;
	struct imap_find f;
	bool found;

	imap_msg_parse(m);
	imap_find_init(&f, needle);
	if (!f.found && with_header) {
		/* TEXT: the header as written (names too), then decoded. */
		imap_find_feed(&f, m->data + m->ents[0].hdr_off,
		    m->ents[0].hdr_len);
		imap_find_break(&f);
		(void)imap_find_fields(&f, m->data + m->ents[0].hdr_off,
		    m->ents[0].hdr_len, "");
		imap_find_break(&f);
	}
	if (!f.found) {
		cb.arg = &f;
		p = mime_parser_new(&cb);
		/* Limits passed stop the parse: what was read is searched. */
		if (mime_parser_feed(p, m->data, m->len) == MIME_OK)
			(void)mime_parser_finish(p);
		mime_parser_free(&p);
	}
	found = f.found;
	imap_find_free(&f);
	return found;
}
