/*
 * Unit tests for mime/mime_parse: every message of tests/mime/corpus/
 * (NAME.eml) against its expected callbacks (NAME.expect), each fed
 * whole, byte by byte and in random pieces with identical results; then
 * the limits at max and max + 1 (depth, header section, parts, boundary
 * length), lines past MIME_LINE_MAX, a callback that stops the parse, and
 * the throughput (printed, not asserted). Run from the source root.
 * MIME_EXPECT_WRITE=1 writes the .expect files instead (to review!).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/limits.h"
#include "mime/mime_parse.h"

#define CORPUS		"tests/mime/corpus"
#define FILE_MAX	(4 << 20)
#define REC_MAX		(64 << 20)

/* ---- the recorder: callbacks as lines of text -------------------------- */

struct rec {
	struct buf	 out;
	struct buf	 body;		/* body pieces of one part, merged */
	const struct mime_part_info *open[MIME_DEPTH_MAX + 2];
	size_t		 nopen;
	long		 stop_after;	/* callbacks before one says stop; -1 */
};

static void
esc(struct buf *b, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\\')
			buf_append_str(b, "\\\\");
		else if (c == '\n')
			buf_append_str(b, "\\n");
		else if (c == '\r')
			buf_append_str(b, "\\r");
		else if (c == '\t')
			buf_append_str(b, "\\t");
		else if (c < 0x20 || c > 0x7e)
			buf_printf(b, "\\x%02x", c);
		else
			buf_append(b, &c, 1);
	}
}

/* Pieces of one part's body become one line, however the input was cut. */
static void
rec_flush(struct rec *r)
{
	const struct mime_part_info *pi = r->open[r->nopen - 1];

	if (r->body.len == 0)
		return;
	buf_printf(&r->out, "B [%s] ", pi->path);
	esc(&r->out, r->body.data, r->body.len);
	buf_append_str(&r->out, "\n");
	buf_reset(&r->body);
}

static bool
rec_go(struct rec *r)
{
	return r->stop_after < 0 || r->stop_after-- > 0;
}

static bool
rec_header(void *arg, const char *path, struct span name, struct span value)
{
	struct rec *r = arg;

	if (r->nopen > 0)
		rec_flush(r);
	buf_printf(&r->out, "H [%s] ", path);
	esc(&r->out, name.ptr, name.len);
	buf_append_str(&r->out, ": ");
	esc(&r->out, value.ptr, value.len);
	buf_append_str(&r->out, "\n");
	return rec_go(r);
}

static bool
rec_part(void *arg, const struct mime_part_info *pi)
{
	static const char *const ctes[] = { "id", "b64", "qp" };
	struct rec *r = arg;

	if (r->nopen > 0)
		rec_flush(r);
	assert_true(r->nopen < MIME_DEPTH_MAX + 2);
	assert_int_equal(pi->depth, r->nopen);
	assert_true(pi->nnames <= MIME_NAMES_MAX);
	r->open[r->nopen++] = pi;
	buf_printf(&r->out, "P [%s] d=%u %s %s%s%s%s\n", pi->path, pi->depth,
	    pi->type, ctes[pi->cte], pi->multipart ? " multipart" : "",
	    pi->message ? " message" : "", pi->attachment ? " attachment" : "");
	for (size_t i = 0; i < pi->nnames; i++) {
		assert_true(pi->names[i].len <= MIME_NAME_MAX);
		buf_printf(&r->out, "N [%s] ", pi->path);
		esc(&r->out, pi->names[i].ptr, pi->names[i].len);
		buf_append_str(&r->out, "\n");
	}
	return rec_go(r);
}

static bool
rec_body(void *arg, const struct mime_part_info *pi, const char *data,
    size_t len)
{
	struct rec *r = arg;

	/* Only the innermost open part, a leaf, gets content. */
	assert_true(r->nopen > 0 && r->open[r->nopen - 1] == pi);
	assert_false(pi->multipart);
	assert_false(pi->message);
	assert_true(len > 0);
	buf_append(&r->body, data, len);
	return rec_go(r);
}

static void
rec_end(void *arg, const struct mime_part_info *pi)
{
	struct rec *r = arg;

	assert_true(r->nopen > 0 && r->open[r->nopen - 1] == pi);
	rec_flush(r);
	buf_printf(&r->out, "E [%s]\n", pi->path);
	r->nopen--;
}

/* ---- feeding ------------------------------------------------------------ */

static uint32_t
lcg(uint32_t *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 8;
}

/*
 * The transcript of msg fed in pieces: maxchunk 0 = whole, else random
 * sizes in 1..maxchunk from seed (1 = byte by byte). Then "R <rc text>".
 */
static void
transcript(const char *msg, size_t len, size_t maxchunk, uint32_t seed,
    long stop_after, struct buf *out)
{
	struct rec r = { .stop_after = stop_after };
	struct mime_callbacks cb = { &r, rec_header, rec_part, rec_body,
	    rec_end, NULL };
	struct mime_parser *p;
	enum mime_rc rc = MIME_OK;
	size_t off = 0;

	buf_init(&r.out, REC_MAX);
	buf_init(&r.body, REC_MAX);
	p = mime_parser_new(&cb);
	while (off < len) {
		size_t n = maxchunk == 0 ? len : 1 + lcg(&seed) % maxchunk;

		if (n > len - off)
			n = len - off;
		rc = mime_parser_feed(p, msg + off, n);
		off += n;
	}
	if (rc == MIME_OK)
		rc = mime_parser_finish(p);
	/* After an error, or the end, nothing more happens. */
	assert_int_equal(mime_parser_feed(p, "x\n", 2), rc);
	assert_int_equal(mime_parser_finish(p), rc);
	if (rc == MIME_OK)
		assert_int_equal(r.nopen, 0);
	buf_printf(&r.out, "R %s\n", mime_rc_text(rc));
	*out = r.out;
	buf_free(&r.body);
	mime_parser_free(&p);
	assert_null(p);
}

/* Every way of cutting the input gives the same callbacks: one transcript. */
static void
transcript_all(const char *name, const char *msg, size_t len, long stop_after,
    struct buf *out)
{
	static const size_t maxes[] = { 1, 2, 3, 7, 64, 1000, 5000 };
	struct buf t;

	transcript(msg, len, 0, 0, stop_after, out);
	for (size_t i = 0; i < sizeof(maxes) / sizeof(maxes[0]); i++) {
		for (uint32_t seed = 1; seed <= (maxes[i] == 1 ? 1 : 3); seed++) {
			transcript(msg, len, maxes[i], seed, stop_after, &t);
			if (t.len != out->len ||
			    memcmp(t.data, out->data, t.len) != 0) {
				fprintf(stderr, "%s: pieces of %zu (seed %u) "
				    "differ:\n--- whole\n%s--- pieces\n%s",
				    name, maxes[i], seed, out->data, t.data);
				fail();
			}
			buf_free(&t);
		}
	}
}

static char *
slurp(const char *path, size_t *len_out)
{
	FILE *f = fopen(path, "rb");
	char *s;

	if (f == NULL)
		return NULL;
	s = malloc(FILE_MAX);
	assert_non_null(s);
	*len_out = fread(s, 1, FILE_MAX, f);
	fclose(f);
	return s;
}

/* ---- the corpus --------------------------------------------------------- */

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
corpus_one(const char *base, bool write)
{
	char path[512];
	char *msg, *want;
	size_t len, wlen;
	struct buf got;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.eml", CORPUS, base);
	msg = slurp(path, &len);
	assert_non_null(msg);
	transcript_all(base, msg, len, -1, &got);
	snprintf(path, sizeof(path), "%s/%s.expect", CORPUS, base);
	if (write) {
		f = fopen(path, "wb");
		assert_non_null(f);
		fwrite(got.data, 1, got.len, f);
		fclose(f);
	} else {
		want = slurp(path, &wlen);
		if (want == NULL || wlen != got.len ||
		    memcmp(want, got.data, wlen) != 0) {
			fprintf(stderr, "%s: got\n%s", base, got.data);
			fail_msg("%s: callbacks differ from %s", base, path);
		}
		free(want);
	}
	buf_free(&got);
	free(msg);
}

static void
test_corpus(void **state)
{
	bool write = getenv("MIME_EXPECT_WRITE") != NULL;
	char *names[256] = { NULL };
	size_t n = 0;
	struct dirent *de;
	DIR *d = opendir(CORPUS);

	(void)state;
	assert_non_null(d);
	while ((de = readdir(d)) != NULL && n < 256) {
		size_t l = strlen(de->d_name);

		if (l > 4 && strcmp(de->d_name + l - 4, ".eml") == 0)
			names[n++] = strndup(de->d_name, l - 4);
	}
	closedir(d);
	assert_true(n >= 30);
	qsort(names, n, sizeof(names[0]), cmp_names);
	for (size_t i = 0; i < n; i++) {
		corpus_one(names[i], write);
		free(names[i]);
	}
}

/* ---- limits ------------------------------------------------------------- */

static enum mime_rc
parse_rc(const char *msg, size_t len, struct buf *t)
{
	const char *r;
	enum mime_rc rc;

	transcript_all("generated", msg, len, -1, t);
	/* The last line: "R <text>". */
	for (r = t->data + t->len - 1; r > t->data && r[-1] != '\n'; r--)
		;
	for (rc = MIME_OK; rc <= MIME_ERR_STOPPED; rc++)
		if (strncmp(r, "R ", 2) == 0 &&
		    strncmp(r + 2, mime_rc_text(rc), strlen(r + 2) - 1) == 0)
			return rc;
	fail_msg("no result in %s", t->data);
	return MIME_OK;
}

/* levels multiparts, one in the other, and a leaf in the innermost. */
static void
nested(struct buf *m, unsigned levels)
{
	for (unsigned i = 0; i < levels; i++)
		buf_printf(m, "Content-Type: multipart/mixed; boundary=b%u\n\n"
		    "--b%u\n", i, i);
	buf_append_str(m, "\nleaf\n");
}

static void
test_depth_limit(void **state)
{
	struct buf m, t;

	(void)state;
	buf_init(&m, 1 << 20);
	nested(&m, MIME_DEPTH_MAX);
	assert_int_equal(parse_rc(m.data, m.len, &t), MIME_OK);
	assert_non_null(strstr(t.data, "d=16 text/plain id\nB [1.1.1.1.1.1.1.1"
	    ".1.1.1.1.1.1.1.1] leaf\\n\n"));
	buf_free(&t);
	buf_reset(&m);
	nested(&m, MIME_DEPTH_MAX + 1);
	assert_int_equal(parse_rc(m.data, m.len, &t), MIME_ERR_DEPTH);
	buf_free(&t);
	/* Attached messages count too: each is one level deeper. */
	buf_reset(&m);
	for (unsigned i = 0; i < MIME_DEPTH_MAX + 1; i++)
		buf_append_str(&m, "Content-Type: message/rfc822\n\n");
	assert_int_equal(parse_rc(m.data, m.len, &t), MIME_ERR_DEPTH);
	buf_free(&t);
	buf_free(&m);
}

/* A header section of exactly total bytes, its empty line included. */
static void
header_of(struct buf *m, size_t total)
{
	char line[1000];
	size_t r;

	buf_append_str(m, "Content-Type: text/plain\n");
	memset(line, 'a', sizeof(line));
	memcpy(line, "X-Pad: ", 7);
	for (r = total - m->len - 1; r > 0;) {
		size_t n = r > sizeof(line) ? sizeof(line) : r;

		if (r > sizeof(line) && r - sizeof(line) < 9)
			n = sizeof(line) - 10;	/* room for a last line */
		line[n - 1] = '\n';
		buf_append(m, line, n);
		line[n - 1] = 'a';
		r -= n;
	}
	buf_append_str(m, "\nbody\n");
}

static void
test_header_limit(void **state)
{
	struct buf m, t;

	(void)state;
	buf_init(&m, 1 << 20);
	header_of(&m, MIME_HEADER_MAX);
	assert_int_equal(strstr(m.data, "\n\nbody\n") + 2 - m.data,
	    MIME_HEADER_MAX);
	assert_int_equal(parse_rc(m.data, m.len, &t), MIME_OK);
	assert_non_null(strstr(t.data, "B [] body\\n\n"));
	buf_free(&t);
	buf_reset(&m);
	header_of(&m, MIME_HEADER_MAX + 1);
	assert_int_equal(parse_rc(m.data, m.len, &t), MIME_ERR_HEADER);
	assert_null(strstr(t.data, "P []"));
	buf_free(&t);
	/* A section with no end at all stops at the ceiling too. */
	buf_reset(&m);
	while (m.len <= MIME_HEADER_MAX)
		buf_append_str(&m, "X: y\n");
	assert_int_equal(parse_rc(m.data, m.len, &t), MIME_ERR_HEADER);
	buf_free(&t);
	buf_free(&m);
}

static void
parts_of(struct buf *m, unsigned children)
{
	buf_append_str(m, "Content-Type: multipart/mixed; boundary=b\n\n");
	for (unsigned i = 0; i < children; i++)
		buf_append_str(m, "--b\n\nx\n");
	buf_append_str(m, "--b--\n");
}

static void
test_parts_limit(void **state)
{
	struct buf m, t;

	(void)state;
	buf_init(&m, 1 << 20);
	parts_of(&m, MIME_PARTS_MAX - 1);	/* and the message: MAX */
	assert_int_equal(parse_rc(m.data, m.len, &t), MIME_OK);
	assert_non_null(strstr(t.data, "E [999]\nE []\nR "));
	buf_free(&t);
	buf_reset(&m);
	parts_of(&m, MIME_PARTS_MAX);
	assert_int_equal(parse_rc(m.data, m.len, &t), MIME_ERR_PARTS);
	assert_non_null(strstr(t.data, "E [999]\nR too many MIME parts\n"));
	buf_free(&t);
	buf_free(&m);
}

/* A multipart whose boundary is blen bytes, with one part, CR LF lines. */
static void
long_boundary(struct buf *m, size_t blen)
{
	struct buf b;

	buf_init(&b, blen + 1);
	for (size_t i = 0; i < blen; i++)
		buf_append(&b, i % 2 ? "'" : "z", 1);
	buf_printf(m, "Content-Type: multipart/mixed; boundary=\"%s\"\r\n\r\n"
	    "--%s\r\n\r\nin\r\n--%s--\r\n", b.data, b.data, b.data);
	buf_free(&b);
}

static void
test_boundary_limit(void **state)
{
	struct buf m, t;

	(void)state;
	buf_init(&m, 1 << 20);
	long_boundary(&m, 200);	/* past RFC 2046's 70: still found */
	assert_int_equal(parse_rc(m.data, m.len, &t), MIME_OK);
	assert_non_null(strstr(t.data, "B [1] in\nE [1]\nE []\n"));
	buf_free(&t);
	buf_reset(&m);
	long_boundary(&m, MIME_LINE_MAX - 5);
	assert_int_equal(parse_rc(m.data, m.len, &t), MIME_OK);
	assert_non_null(strstr(t.data, "B [1] in\nE [1]\nE []\n"));
	buf_free(&t);
	buf_reset(&m);
	long_boundary(&m, MIME_LINE_MAX - 4);
	assert_int_equal(parse_rc(m.data, m.len, &t), MIME_ERR_HEADER);
	buf_free(&t);
	buf_free(&m);
}

/* "--b" then pad bytes of c, then end: a line of 3 + pad bytes. */
static void
padded(struct buf *m, size_t pad, char c, const char *end)
{
	buf_append_str(m, "Content-Type: multipart/mixed; boundary=b\n\n"
	    "--b\n\none\n--b");
	for (size_t i = 0; i < pad; i++)
		buf_append(m, &c, 1);
	buf_printf(m, "%s\n\ntwo\n--b--\n", end);
}

static void
test_long_lines(void **state)
{
	struct buf m, t;
	const char *e;

	(void)state;
	buf_init(&m, 1 << 20);
	/* A delimiter with blanks to MIME_LINE_MAX, and far past it. */
	padded(&m, MIME_LINE_MAX - 3, ' ', "");
	assert_int_equal(parse_rc(m.data, m.len, &t), MIME_OK);
	assert_non_null(strstr(t.data, "B [1] one\nE [1]\nP [2]"));
	buf_free(&t);
	buf_reset(&m);
	padded(&m, 3 * MIME_LINE_MAX, '\t', "\r");
	assert_int_equal(parse_rc(m.data, m.len, &t), MIME_OK);
	assert_non_null(strstr(t.data, "B [1] one\nE [1]\nP [2]"));
	buf_free(&t);
	/* The same in a header section: it ends the part there. */
	buf_reset(&m);
	buf_append_str(&m, "Content-Type: multipart/mixed; boundary=b\n\n"
	    "--b\nX: y\n--b");
	for (size_t i = 0; i < 2 * MIME_LINE_MAX; i++)
		buf_append(&m, " ", 1);
	buf_append_str(&m, "\n\ntwo\n--b--\n");
	assert_int_equal(parse_rc(m.data, m.len, &t), MIME_OK);
	assert_non_null(strstr(t.data, "H [1] X: y\nP [1] d=1 text/plain id\n"
	    "E [1]\nP [2] d=1 text/plain id\nB [2] two\nE [2]\n"));
	buf_free(&t);
	/* Not a delimiter when something else follows the blanks. */
	buf_reset(&m);
	padded(&m, 2 * MIME_LINE_MAX, ' ', "x");
	assert_int_equal(parse_rc(m.data, m.len, &t), MIME_OK);
	assert_null(strstr(t.data, "P [2]"));
	e = strstr(t.data, "B [1] one\\n--b   ");
	assert_non_null(e);
	assert_non_null(strstr(e, "   x\\n\\ntwo\n"));
	buf_free(&t);
	/* A line starting "--b" longer than MIME_LINE_MAX is content. */
	buf_reset(&m);
	padded(&m, MIME_LINE_MAX, 'x', "");
	assert_int_equal(parse_rc(m.data, m.len, &t), MIME_OK);
	assert_null(strstr(t.data, "P [2]"));
	assert_non_null(strstr(t.data, "xxx\\n\\ntwo\n"));
	buf_free(&t);
	buf_free(&m);
}

static void
test_stop(void **state)
{
	static const char msg[] =
	    "Subject: s\n"
	    "Content-Type: multipart/mixed; boundary=b\n\n"
	    "--b\n\none\n--b\nX: y\n\ntwo\n--b--\n";
	struct buf t;
	size_t calls;

	(void)state;
	/* 2 header() + 1 part() + 1 body() + 1 part() + 1 body() + ... */
	for (calls = 0; calls < 6; calls++) {
		transcript(msg, sizeof(msg) - 1, 0, 0, (long)calls, &t);
		assert_non_null(strstr(t.data, "R MIME parse stopped\n"));
		buf_free(&t);
	}
	transcript(msg, sizeof(msg) - 1, 0, 0, 100, &t);
	assert_non_null(strstr(t.data, "R MIME structure valid\n"));
	buf_free(&t);
	assert_string_equal(mime_rc_text(MIME_ERR_DEPTH),
	    "MIME nesting too deep");
	assert_string_equal(mime_rc_text(MIME_ERR_HEADER),
	    "MIME header section too large");
	assert_string_equal(mime_rc_text(MIME_ERR_PARTS),
	    "too many MIME parts");
}

/* A name longer than MIME_NAME_MAX is cut, never inside a character. */
static void
test_name_limit(void **state)
{
	struct buf m, t, want;

	(void)state;
	buf_init(&m, 1 << 16);
	buf_init(&want, 1 << 16);
	buf_append_str(&m, "Content-Disposition: attachment; filename=\"");
	for (size_t i = 0; i < MIME_NAME_MAX + 100; i++)
		buf_append(&m, "a", 1);
	buf_append_str(&m, "\"; filename*=utf-8''");
	for (size_t i = 0; i < MIME_NAME_MAX - 1; i++)
		buf_append(&m, "b", 1);
	buf_append_str(&m, "%C3%A9\n\nx\n");
	transcript_all("name-limit", m.data, m.len, -1, &t);
	buf_append_str(&want, "N [] ");
	for (size_t i = 0; i < MIME_NAME_MAX; i++)
		buf_append(&want, "a", 1);
	buf_append_str(&want, "\nN [] ");
	for (size_t i = 0; i < MIME_NAME_MAX - 1; i++)
		buf_append(&want, "b", 1);
	buf_append_str(&want, "\nB [] x");
	assert_non_null(strstr(t.data, want.data));
	buf_free(&t);
	buf_free(&m);
	buf_free(&want);
}

/* A header value is given to header() cut at 64 KiB. */
static void
test_value_cut(void **state)
{
	struct buf m, t;
	const char *h, *e;

	(void)state;
	buf_init(&m, 1 << 20);
	buf_append_str(&m, "Subject: ");
	for (size_t i = 0; i < 100000; i++)
		buf_append(&m, i % 70 == 69 ? "\n " : "s", i % 70 == 69 ? 2 : 1);
	buf_append_str(&m, "\nX: after\n\nbody\n");
	transcript_all("value-cut", m.data, m.len, -1, &t);
	h = strstr(t.data, "H [] Subject: ");
	assert_non_null(h);
	e = strchr(h, '\n');
	assert_int_equal(e - h, strlen("H [] Subject: ") + 64 * 1024);
	assert_non_null(strstr(e, "\nH [] X: after\nP [] d=0 text/plain"));
	buf_free(&t);
	buf_free(&m);
}

static void
b64_encode(const struct buf *in, struct buf *out)
{
	static const char tbl[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *p = (const unsigned char *)in->data;

	for (size_t i = 0; i < in->len; i += 3) {
		unsigned v = (unsigned)p[i] << 16;
		char o[4] = { '=', '=', '=', '=' };

		if (i + 1 < in->len)
			v |= (unsigned)p[i + 1] << 8;
		if (i + 2 < in->len)
			v |= p[i + 2];
		o[0] = tbl[v >> 18 & 63];
		o[1] = tbl[v >> 12 & 63];
		if (i + 1 < in->len)
			o[2] = tbl[v >> 6 & 63];
		if (i + 2 < in->len)
			o[3] = tbl[v & 63];
		buf_append(out, o, 4);
		if (i % 57 == 54)
			buf_append(out, "\n", 1);
	}
	buf_append(out, "\n", 1);
}

/* levels base64 message/rfc822 parts, each encoding the next. */
static void
b64_chain(struct buf *m, unsigned levels)
{
	struct buf in;

	buf_reset(m);
	buf_append_str(m, "Subject: deep\n\nbody\n");
	for (unsigned i = 0; i < levels; i++) {
		buf_init(&in, 1 << 22);
		buf_append(&in, m->data, m->len);
		buf_reset(m);
		buf_append_str(m, "Content-Type: message/rfc822\n"
		    "Content-Transfer-Encoding: base64\n\n");
		b64_encode(&in, m);
		buf_free(&in);
	}
}

static void
test_b64_chain(void **state)
{
	struct buf m, t;

	(void)state;
	buf_init(&m, 1 << 22);
	b64_chain(&m, MIME_DEPTH_MAX);
	assert_int_equal(parse_rc(m.data, m.len, &t), MIME_OK);
	assert_non_null(strstr(t.data, "H [] Subject: deep\nP [] d=16 "
	    "text/plain id\nB [] body\\n\n"));
	buf_free(&t);
	b64_chain(&m, MIME_DEPTH_MAX + 1);
	assert_int_equal(parse_rc(m.data, m.len, &t), MIME_ERR_DEPTH);
	buf_free(&t);
	buf_free(&m);
}

/* ---- throughput: printed for the record, never asserted ---------------- */

static bool
bench_body(void *arg, const struct mime_part_info *pi, const char *d,
    size_t n)
{
	*(size_t *)arg += n;
	return true;
}

static bool
bench_header(void *arg, const char *path, struct span name, struct span v)
{
	*(size_t *)arg += v.len;
	return true;
}

static double
bench_mbs(const char *msg, size_t len, unsigned rounds)
{
	struct mime_callbacks cb = { NULL, bench_header, NULL, bench_body,
	    NULL, NULL };
	struct timespec a, b;
	size_t sink = 0;

	cb.arg = &sink;
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (unsigned i = 0; i < rounds; i++) {
		struct mime_parser *p = mime_parser_new(&cb);

		/* 64 KiB pieces, as the SMTP session reads them. */
		for (size_t off = 0; off < len; off += 65536)
			mime_parser_feed(p, msg + off,
			    len - off < 65536 ? len - off : 65536);
		assert_int_equal(mime_parser_finish(p), MIME_OK);
		mime_parser_free(&p);
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	assert_true(sink > 0);
	return (double)len * rounds / 1e6 /
	    ((double)(b.tv_sec - a.tv_sec) +
	    (double)(b.tv_nsec - a.tv_nsec) / 1e9);
}

static void
bench_b64(struct buf *m, size_t bytes)
{
	static const char tbl[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	uint32_t s = 7;

	for (size_t i = 0; i < bytes / 77; i++) {
		char line[77];

		for (size_t k = 0; k < 76; k++)
			line[k] = tbl[lcg(&s) % 64];
		line[76] = '\n';
		buf_append(m, line, sizeof(line));
	}
}

static void
test_throughput(void **state)
{
	static const char head[] =
	    "Received: from a.example by b.example; Mon, 2 Mar 2026 09:00:00 +0000\n"
	    "From: =?utf-8?q?J=C3=B6rg?= <j@example.org>\n"
	    "To: b@example.net\nSubject: report\nMIME-Version: 1.0\n"
	    "Content-Type: multipart/mixed; boundary=\"=_outer_0123\"\n\n"
	    "--=_outer_0123\nContent-Type: text/plain; charset=utf-8\n"
	    "Content-Transfer-Encoding: quoted-printable\n\n";
	struct buf big, small;

	(void)state;
	buf_init(&big, 2 << 20);
	buf_append_str(&big, head);
	for (unsigned i = 0; i < 20; i++)
		buf_append_str(&big, "Hello J=C3=B6rg, the figures are in the "
		    "attachment; all of them.   \n");
	buf_append_str(&big, "--=_outer_0123\nContent-Type: application/pdf;"
	    " name=\"r.pdf\"\nContent-Disposition: attachment; filename="
	    "\"r.pdf\"\nContent-Transfer-Encoding: base64\n\n");
	bench_b64(&big, (1 << 20) - big.len - 20);
	buf_append_str(&big, "--=_outer_0123--\n");
	buf_init(&small, 1 << 20);
	buf_append_str(&small, head);
	while (small.len < 10240 - 120)
		buf_append_str(&small, "Hello J=C3=B6rg, the figures are in "
		    "the attachment; all of them.   \n");
	buf_append_str(&small, "--=_outer_0123--\n");
	print_message("mime_parse: 1 MB with a base64 attachment: %.0f MB/s\n",
	    bench_mbs(big.data, big.len, 20));
	print_message("mime_parse: 10 KB text messages: %.0f MB/s\n",
	    bench_mbs(small.data, small.len, 2000));
	buf_free(&big);
	buf_free(&small);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_corpus),
		cmocka_unit_test(test_depth_limit),
		cmocka_unit_test(test_header_limit),
		cmocka_unit_test(test_parts_limit),
		cmocka_unit_test(test_boundary_limit),
		cmocka_unit_test(test_long_lines),
		cmocka_unit_test(test_stop),
		cmocka_unit_test(test_name_limit),
		cmocka_unit_test(test_value_cut),
		cmocka_unit_test(test_b64_chain),
		cmocka_unit_test(test_throughput),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
