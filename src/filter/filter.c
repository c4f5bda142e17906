/*
 * filter: attachment globs and content rules over a streaming MIME parse
 * (filter.h). The parser hands over each part's file names and header
 * fields whole (they are bounded) and the decoded content in pieces; a
 * content rule keeps the last (length - 1) folded bytes of the part it is
 * reading, so a match split between two pieces is still found.
 */
#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"
#include "filter/filter.h"

#define FILTER_HEADER_MAX	(64 * 1024)	/* "Name: value" matched, cut */

struct filter_rule {
	const char		*text;		/* as configured */
	char			*needle;	/* ASCII-folded to lower case */
	size_t			 len;
	enum cfg_where		 where;
	enum cfg_action		 action;
	char			*carry;		/* last len - 1 folded bytes, and
						 * room for len - 1 more */
	size_t			 ncarry;
	bool			 hit;		/* one hit per rule is enough */
};

struct filter_scan {
	const struct config	*cfg;
	struct mime_parser	*mp;
	struct filter_rule	*rules;
	size_t			 nrules;
	struct filter_hit	 hits[FILTER_HITS_MAX];
	size_t			 nhits;
	bool			 stop;		/* a reject hit: no need to go on */
	bool			 done;
	char			 fold[FILTER_FOLD_CHUNK];
	struct buf		 field;		/* "Name: value", folded */
};

static const char *const filter_kind_names[] = {
	[FILTER_ATTACHMENT] = "attachment", [FILTER_CONTENT] = "content",
	[FILTER_ANTIVIRUS] = "antivirus", [FILTER_MILTER] = "milter",
	[FILTER_MIME] = "mime",
};
static const char *const filter_verdict_names[] = {
	[FV_ACCEPT] = "accept", [FV_DISCARD] = "discard",
	[FV_QUARANTINE] = "quarantine", [FV_TEMPFAIL] = "tempfail",
	[FV_REJECT] = "reject",
};

const char *
filter_kind_name(enum filter_kind k)
{
	return filter_kind_names[k];
}

const char *
filter_verdict_name(enum filter_verdict v)
{
	return filter_verdict_names[v];
}

enum filter_verdict
filter_verdict_of(enum cfg_action a)
{
	switch (a) {
	case ACTION_DISCARD:
		return FV_DISCARD;
	case ACTION_QUARANTINE:
		return FV_QUARANTINE;
	case ACTION_TAG:
		return FV_ACCEPT;
	case ACTION_REJECT:
	default:
		return FV_REJECT;
	}
}

static char
filter_lower(char c)
{
	if (c >= 'A' && c <= 'Z')
		c = (char)(c | 0x20);
	return c;
}

/*
 * Iterative glob with one backtrack point (the last '*'): linear in the
 * common case and O(|pat| * |name|) at worst, never recursive.
 */
bool
filter_glob_match(const char *pat, struct span name)
{
	size_t p = 0, n = 0, star_p = (size_t)-1, star_n = 0;
	size_t plen = strlen(pat);

	while (n < name.len) {
		if (p < plen && pat[p] == '*') {
			star_p = p++;
			star_n = n;
		} else if (p < plen && (pat[p] == '?' ||
		    filter_lower(pat[p]) == filter_lower(name.ptr[n]))) {
			p++;
			n++;
		} else if (star_p != (size_t)-1) {
			p = star_p + 1;
			n = ++star_n;
		} else
			return false;
	}
	while (p < plen && pat[p] == '*')
		p++;
	return p == plen;
}

static const char *
filter_globs_match(const struct cfg_strlist *globs, struct span name)
{
	for (size_t i = 0; i < globs->n; i++)
		if (filter_glob_match(globs->v[i], name))
			return globs->v[i];
	return NULL;
}

const char *
filter_name_blocked(const struct cfg_strlist *globs, struct span name)
{
	const char *g, *nul;

	if ((g = filter_globs_match(globs, name)) != NULL)
		return g;
	/* What a C-string client shows: the name up to a NUL byte. */
	if ((nul = memchr(name.ptr, '\0', name.len)) != NULL) {
		name.len = (size_t)(nul - name.ptr);
		if ((g = filter_globs_match(globs, name)) != NULL)
			return g;
	}
	/* Windows drops trailing dots and blanks: "x.exe. " runs as x.exe. */
	while (name.len > 0 && (name.ptr[name.len - 1] == '.' ||
	    name.ptr[name.len - 1] == ' ' || name.ptr[name.len - 1] == '\t'))
		name.len--;
	return filter_globs_match(globs, name);
}

struct filter_hit *
filter_hits_slot(struct filter_hit *hits, size_t *n, enum filter_verdict v)
{
	struct filter_hit *weakest = NULL;

	if (*n < FILTER_HITS_MAX)
		return &hits[(*n)++];
	for (size_t i = 0; i < *n; i++)
		if (hits[i].verdict < v && (weakest == NULL ||
		    hits[i].verdict < weakest->verdict))
			weakest = &hits[i];
	return weakest;
}

/* Copies text for a log value: printable ASCII, the rest as '?'. */
static void
filter_copy_text(char *out, size_t outlen, const char *in, size_t len)
{
	size_t i;

	for (i = 0; i < len && i + 1 < outlen; i++)
		if (in[i] >= ' ' && in[i] <= '~')
			out[i] = in[i];
		else
			out[i] = '?';
	out[i] = '\0';
}

static void
filter_add_hit(struct filter_scan *fs, enum filter_kind kind,
    enum filter_verdict v, const char *rule, const char *part,
    struct span detail)
{
	struct filter_hit *h;

	if (v == FV_REJECT)
		fs->stop = true;
	if ((h = filter_hits_slot(fs->hits, &fs->nhits, v)) == NULL)
		return;
	memset(h, 0, sizeof(*h));
	h->kind = kind;
	h->verdict = v;
	filter_copy_text(h->rule, sizeof(h->rule), rule, strlen(rule));
	filter_copy_text(h->part, sizeof(h->part), part, strlen(part));
	filter_copy_text(h->detail, sizeof(h->detail), detail.ptr, detail.len);
}

/* Folds in[0..len) to lower case into out (ASCII only: what matters in
 * a rule like "viagra"; UTF-8 bytes compare as they are). */
static void
filter_fold(char *out, const char *in, size_t len)
{
	for (size_t i = 0; i < len; i++)
		out[i] = filter_lower(in[i]);
}

static bool
filter_rule_applies(const struct filter_rule *r, enum cfg_where w)
{
	return !r->hit && (r->where == WHERE_ANY || r->where == w);
}

static void
filter_rule_hit(struct filter_scan *fs, struct filter_rule *r,
    const char *path, const char *where)
{
	r->hit = true;
	filter_add_hit(fs, FILTER_CONTENT, filter_verdict_of(r->action),
	    r->text, path, span_from_cstr(where));
}

static bool
filter_on_header(void *arg, const char *path, struct span name,
    struct span value)
{
	struct filter_scan *fs = arg;
	struct buf *f = &fs->field;

	buf_reset(f);
	buf_append_span(f, name);
	buf_append_str(f, ": ");
	buf_append_span(f, value);
	f->overflowed = false;		/* cut: what fit is matched */
	filter_fold(f->data, f->data, f->len);
	for (size_t i = 0; i < fs->nrules && !fs->stop; i++) {
		struct filter_rule *r = &fs->rules[i];

		if (filter_rule_applies(r, WHERE_HEADERS) &&
		    memmem(f->data, f->len, r->needle, r->len) != NULL)
			filter_rule_hit(fs, r, path, "headers");
	}
	return !fs->stop;
}

static bool
filter_on_part(void *arg, const struct mime_part_info *pi)
{
	struct filter_scan *fs = arg;
	const struct cfg_strlist *globs = &fs->cfg->filters.attachments.block;

	for (size_t i = 0; i < pi->nnames && globs->n > 0 && !fs->stop; i++) {
		const char *g = filter_name_blocked(globs, pi->names[i]);

		if (g != NULL) {
			filter_add_hit(fs, FILTER_ATTACHMENT, filter_verdict_of(
			    fs->cfg->filters.attachments.action), g, pi->path,
			    pi->names[i]);
			break;	/* one hit per part */
		}
	}
	return !fs->stop;
}

/* One folded piece of a part's content against one rule. */
static void
filter_rule_scan(struct filter_scan *fs, struct filter_rule *r,
    const char *folded, size_t len, const char *path)
{
	size_t keep = r->len - 1, take = len < keep ? len : keep;

	/* A match that begins in the carried bytes ends in the first
	 * len - 1 bytes of this piece. */
	if (r->ncarry > 0) {
		memcpy(r->carry + r->ncarry, folded, take);
		if (memmem(r->carry, r->ncarry + take, r->needle, r->len) != NULL) {
			filter_rule_hit(fs, r, path, "body");
			return;
		}
	}
	if (memmem(folded, len, r->needle, r->len) != NULL) {
		filter_rule_hit(fs, r, path, "body");
		return;
	}
	if (len >= keep) {
		memcpy(r->carry, folded + len - keep, keep);
		r->ncarry = keep;
	} else {
		size_t total = r->ncarry + take;	/* carry + piece, joined above */

		if (r->ncarry == 0)
			memcpy(r->carry, folded, take);
		if (total > keep) {
			memmove(r->carry, r->carry + total - keep, keep);
			total = keep;
		}
		r->ncarry = total;
	}
}

/* Content rules read text: what a person is shown. Other parts are not
 * even decoded. */
static bool
filter_wants_body(void *arg, const struct mime_part_info *pi)
{
	(void)arg;
	return strncmp(pi->type, "text/", 5) == 0;
}

static bool
filter_on_body(void *arg, const struct mime_part_info *pi, const char *data,
    size_t len)
{
	struct filter_scan *fs = arg;

	if (!filter_wants_body(arg, pi))
		return !fs->stop;
	while (len > 0 && !fs->stop) {
		size_t n = len < sizeof(fs->fold) ? len : sizeof(fs->fold);

		filter_fold(fs->fold, data, n);
		for (size_t i = 0; i < fs->nrules && !fs->stop; i++)
			if (filter_rule_applies(&fs->rules[i], WHERE_BODY))
				filter_rule_scan(fs, &fs->rules[i], fs->fold, n,
				    pi->path);
		data += n;
		len -= n;
	}
	return !fs->stop;
}

static void
filter_on_part_end(void *arg, const struct mime_part_info *pi)
{
	struct filter_scan *fs = arg;

	(void)pi;
	for (size_t i = 0; i < fs->nrules; i++)
		fs->rules[i].ncarry = 0;
}

struct filter_scan *
filter_scan_new(const struct config *cfg)
{
	struct filter_scan *fs;
	struct mime_callbacks cb = { .header = filter_on_header,
	    .part = filter_on_part, .body = filter_on_body,
	    .wants_body = filter_wants_body,
	    .part_end = filter_on_part_end };

	if (cfg->filters.attachments.block.n == 0 && cfg->filters.ncontent == 0)
		return NULL;
	fs = xcalloc(1, sizeof(*fs));
	fs->cfg = cfg;
	fs->rules = xcalloc(cfg->filters.ncontent + 1, sizeof(*fs->rules));
	for (size_t i = 0; i < cfg->filters.ncontent; i++) {
		const struct cfg_content_rule *c = &cfg->filters.content[i];
		struct filter_rule *r = &fs->rules[fs->nrules];

		if (*c->match == '\0')
			continue;	/* matches everything: config refuses it */
		r->text = c->match;
		r->len = strlen(c->match);
		r->needle = xmalloc(r->len);
		filter_fold(r->needle, c->match, r->len);
		r->where = c->where;
		r->action = c->action;
		r->carry = xmalloc(2 * r->len);
		fs->nrules++;
	}
	buf_init(&fs->field, FILTER_HEADER_MAX);
	cb.arg = fs;
	/* Without a rule on bodies, the parser need not decode content
	 * (the attachment globs need only the header sections). */
	cb.body = NULL;
	for (size_t i = 0; i < fs->nrules; i++)
		if (fs->rules[i].where != WHERE_HEADERS)
			cb.body = filter_on_body;
	fs->mp = mime_parser_new(&cb);
	return fs;
}

static void
filter_scan_rc(struct filter_scan *fs, enum mime_rc rc)
{
	if (rc == MIME_OK || rc == MIME_ERR_STOPPED || fs->done)
		return;
	fs->done = true;
	filter_add_hit(fs, FILTER_MIME, FV_REJECT, mime_rc_text(rc), "",
	    span_from_cstr(""));
}

void
filter_scan_feed(struct filter_scan *fs, const char *data, size_t len)
{
	if (fs->stop || fs->done)
		return;
	filter_scan_rc(fs, mime_parser_feed(fs->mp, data, len));
}

void
filter_scan_finish(struct filter_scan *fs)
{
	if (!fs->stop && !fs->done)
		filter_scan_rc(fs, mime_parser_finish(fs->mp));
	fs->done = true;
}

const struct filter_hit *
filter_scan_hits(const struct filter_scan *fs, size_t *n_out)
{
	*n_out = fs->nhits;
	return fs->hits;
}

void
filter_scan_free(struct filter_scan **fsp)
{
	struct filter_scan *fs = *fsp;

	if (fs == NULL)
		return;
	mime_parser_free(&fs->mp);
	for (size_t i = 0; i < fs->nrules; i++) {
		free(fs->rules[i].needle);
		free(fs->rules[i].carry);
	}
	free(fs->rules);
	buf_free(&fs->field);
	free(fs);
	*fsp = NULL;
}
