/*
 * libFuzzer target for mime/mime_parse: the input is a message, parsed
 * whole and again in pieces whose sizes come from its last byte; both
 * parses must give the same callbacks (a hash of them, body pieces
 * merged). Every callback checks the invariants: part numbers that
 * follow the nesting, depth, only leaves get content, names within
 * their limits and readable. Then the pieces alone: mime_param_get,
 * mime_content_type and mime_decode_words on the input as a header
 * value, and the base64 and QP decoders, whole against in pieces.
 */
#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/limits.h"
#include "mime/mime_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fz {
	const struct mime_part_info *open[MIME_DEPTH_MAX + 2];
	char		 paths[MIME_DEPTH_MAX + 2][MIME_PATH_MAX];
	unsigned	 nchild[MIME_DEPTH_MAX + 2];
	size_t		 nopen;
	uint64_t	 h;
	const struct mime_part_info *in_body;	/* last callback was body() */
};

static void
fz_hash(struct fz *f, const void *p, size_t n)
{
	const unsigned char *s = p;

	for (size_t i = 0; i < n; i++)
		f->h = (f->h ^ s[i]) * 1099511628211ull;
}

static void
fz_event(struct fz *f, char kind, const char *path)
{
	f->in_body = NULL;
	fz_hash(f, &kind, 1);
	fz_hash(f, path, strlen(path) + 1);
}

/* "" or "N(.N)*" with N > 0 and no leading zero. */
static void
fz_path_ok(const char *path)
{
	const char *s = path;

	assert(strlen(path) < MIME_PATH_MAX);
	while (*s != '\0') {
		assert(*s >= '1' && *s <= '9');
		while (*s >= '0' && *s <= '9')
			s++;
		if (*s == '.') {
			s++;
			assert(*s != '\0');
		} else
			assert(*s == '\0');
	}
}

static bool
fz_header(void *arg, const char *path, struct span name, struct span value)
{
	struct fz *f = arg;

	fz_path_ok(path);
	assert(name.len > 0 && memchr(name.ptr, ':', name.len) == NULL);
	/* Unfolded, but an encoded word may decode to LF: only bounded. */
	assert(value.len <= 64 * 1024);
	fz_event(f, 'H', path);
	fz_hash(f, name.ptr, name.len);
	fz_hash(f, value.ptr, value.len);
	return true;
}

/* The number a new part must have, given the part that holds it. */
static void
fz_expect_path(struct fz *f, const struct mime_part_info *pi)
{
	size_t d = f->nopen;
	char want[MIME_PATH_MAX + 16];

	if (d == 0) {
		assert(strcmp(pi->path, "") == 0);
		return;
	}
	if (f->open[d - 1]->message) {
		assert(strcmp(pi->path, f->paths[d - 1]) == 0);
		return;
	}
	assert(f->open[d - 1]->multipart);
	f->nchild[d - 1]++;
	if (f->paths[d - 1][0] == '\0')
		snprintf(want, sizeof(want), "%u", f->nchild[d - 1]);
	else
		snprintf(want, sizeof(want), "%s.%u", f->paths[d - 1],
		    f->nchild[d - 1]);
	assert(strcmp(pi->path, want) == 0);
}

static bool
fz_part(void *arg, const struct mime_part_info *pi)
{
	struct fz *f = arg;
	volatile unsigned sink = 0;

	fz_path_ok(pi->path);
	assert(pi->depth == f->nopen && pi->depth <= MIME_DEPTH_MAX);
	fz_expect_path(f, pi);
	assert(strchr(pi->type, '/') != NULL && strlen(pi->type) < MIME_TYPE_MAX);
	for (const char *t = pi->type; *t != '\0'; t++)
		assert(!(*t >= 'A' && *t <= 'Z') && *t > ' ');
	assert(!(pi->multipart && pi->message));
	assert(pi->nnames <= MIME_NAMES_MAX);
	for (size_t i = 0; i < pi->nnames; i++) {
		assert(pi->names[i].len <= MIME_NAME_MAX);
		for (size_t k = 0; k < pi->names[i].len; k++)
			sink += (unsigned char)pi->names[i].ptr[k];
	}
	(void)sink;
	f->open[f->nopen] = pi;
	snprintf(f->paths[f->nopen], MIME_PATH_MAX, "%s", pi->path);
	f->nchild[f->nopen] = 0;
	f->nopen++;
	fz_event(f, 'P', pi->path);
	fz_hash(f, pi->type, strlen(pi->type));
	fz_hash(f, &pi->cte, sizeof(pi->cte));
	for (size_t i = 0; i < pi->nnames; i++)
		fz_hash(f, pi->names[i].ptr, pi->names[i].len);
	return true;
}

static bool
fz_body(void *arg, const struct mime_part_info *pi, const char *d, size_t n)
{
	struct fz *f = arg;

	assert(f->nopen > 0 && f->open[f->nopen - 1] == pi);
	assert(!pi->multipart && !pi->message && n > 0);
	if (f->in_body != pi)
		fz_event(f, 'B', pi->path);
	f->in_body = pi;
	fz_hash(f, d, n);
	return true;
}

static void
fz_end(void *arg, const struct mime_part_info *pi)
{
	struct fz *f = arg;

	assert(f->nopen > 0 && f->open[f->nopen - 1] == pi);
	f->nopen--;
	fz_event(f, 'E', pi->path);
}

/* maxchunk 0: whole; else pieces of 1..maxchunk from an LCG. */
static uint64_t
fz_parse(const char *msg, size_t len, size_t maxchunk, enum mime_rc *rc_out)
{
	struct fz f = { .h = 14695981039346656037ull };
	struct mime_callbacks cb = { &f, fz_header, fz_part, fz_body, fz_end };
	struct mime_parser *p = mime_parser_new(&cb);
	enum mime_rc rc = MIME_OK;
	uint32_t s = (uint32_t)maxchunk;
	size_t off = 0, n;

	while (off < len && rc == MIME_OK) {
		s = s * 1103515245u + 12345u;
		n = maxchunk == 0 ? len - off : 1 + (s >> 8) % maxchunk;
		if (n > len - off)
			n = len - off;
		rc = mime_parser_feed(p, msg + off, n);
		off += n;
	}
	if (rc == MIME_OK)
		rc = mime_parser_finish(p);
	assert(rc != MIME_OK || f.nopen == 0);
	assert(mime_parser_feed(p, "x", 1) == rc);
	assert(mime_rc_text(rc) != NULL);
	mime_parser_free(&p);
	*rc_out = rc;
	return f.h;
}

/* A decoder fed whole and in two pieces: the same bytes. */
static void
fz_decoders(const char *s, size_t n)
{
	struct mime_b64 b1, b2;
	struct mime_qp q1, q2;
	struct buf o1, o2;
	size_t cut = n > 0 ? (unsigned char)s[0] % (n + 1) : 0;

	buf_init(&o1, n + 256);
	buf_init(&o2, n + 256);
	mime_b64_init(&b1);
	mime_b64_init(&b2);
	assert(mime_b64_feed(&b1, s, n, &o1) == 0);
	assert(mime_b64_feed(&b2, s, cut, &o2) == 0);
	assert(mime_b64_feed(&b2, s + cut, n - cut, &o2) == 0);
	assert(o1.len == o2.len && o1.len <= n);
	assert(o1.len == 0 || memcmp(o1.data, o2.data, o1.len) == 0);
	buf_reset(&o1);
	buf_reset(&o2);
	mime_qp_init(&q1);
	mime_qp_init(&q2);
	assert(mime_qp_feed(&q1, s, n, &o1) == 0);
	assert(mime_qp_finish(&q1, &o1) == 0);
	assert(mime_qp_feed(&q2, s, cut, &o2) == 0);
	assert(mime_qp_feed(&q2, s + cut, n - cut, &o2) == 0);
	assert(mime_qp_finish(&q2, &o2) == 0);
	assert(o1.len == o2.len && o1.len <= n);
	assert(o1.len == 0 || memcmp(o1.data, o2.data, o1.len) == 0);
	buf_free(&o1);
	buf_free(&o2);
}

/* The input as a Content-Type or Content-Disposition value. */
static void
fz_value(const char *s, size_t n)
{
	struct span v = { s, n };
	char type[MIME_TYPE_MAX];
	struct buf out;
	size_t k;

	buf_init(&out, 4096);
	k = mime_param_get(v, "filename", &out);
	assert(k <= MIME_PARAMS_MAX && out.len <= out.max);
	buf_reset(&out);
	(void)mime_param_get(v, "name", &out);
	if (mime_content_type(v, type, sizeof(type))) {
		assert(strlen(type) < sizeof(type) && strchr(type, '/') != NULL);
		for (const char *t = type; *t != '\0'; t++)
			assert(!(*t >= 'A' && *t <= 'Z'));
	}
	buf_free(&out);
	buf_init(&out, 1024);
	if (mime_decode_words(v, &out) == 0)
		assert(!out.overflowed);
	assert(out.len <= 1024);
	buf_free(&out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *msg = (const char *)data;
	size_t maxchunk = size > 0 ? 1 + data[size - 1] : 1;
	enum mime_rc rc1, rc2;
	uint64_t h1, h2;

	h1 = fz_parse(msg, size, 0, &rc1);
	h2 = fz_parse(msg, size, maxchunk, &rc2);
	assert(rc1 == rc2);
	assert(h1 == h2);
	if (size <= 65536) {
		fz_decoders(msg, size);
		fz_value(msg, size);
	}
	return 0;
}
