/*
 * imap_search: SEARCH (RFC 3501 6.4.4; search-key grammar of section 9)
 * compiled from the parser's token tree into a small program, a pre-order
 * array of nodes like the tokens themselves, then evaluated per message.
 * The message data (flags, sizes, dates, the parsed message for header and
 * body keys) comes from the caller; nothing here does I/O. Recursion, in
 * compiling and evaluating, is bounded by IMAP_SEARCH_DEPTH_MAX.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"
#include "imap/imap_msg.h"
#include "imap/imap_search.h"
#include "store/mbox.h"

#define SECS_PER_DAY	86400

enum imap_search_op {
	ISO_AND,		/* children up to end: a list, or the whole program */
	ISO_OR,			/* two children */
	ISO_NOT,		/* one child */
	ISO_ALL,
	ISO_NONE,		/* KEYWORD (never set), HEADER "" x */
	ISO_FLAG_SET,		/* all of flags set */
	ISO_FLAG_UNSET,		/* none of flags set */
	ISO_RECENT,
	ISO_OLD,		/* not recent */
	ISO_NEW,		/* recent and not seen */
	ISO_SEQ,
	ISO_UID,
	ISO_LARGER,
	ISO_SMALLER,
	ISO_BEFORE,		/* internal date, by UTC day */
	ISO_ON,
	ISO_SINCE,
	ISO_SENTBEFORE,		/* Date: field, by UTC day */
	ISO_SENTON,
	ISO_SENTSINCE,
	ISO_HEADER,		/* name, str */
	ISO_BODY,		/* str */
	ISO_TEXT,		/* str */
};

/*
 * A sequence set made fast to test, as a SEARCH visits every message: the
 * ranges without "*" sorted and merged (binary search), and for the
 * ranges with "*" the smallest and largest number written beside it (a
 * range n:* is every number between n and "*", whichever is larger).
 * Equivalent to imap_seq_set_contains() (checked by the fuzz target).
 */
struct imap_search_set {
	struct imap_seq_range	*fixed;		/* first <= last, sorted, disjoint */
	size_t			 nfixed;
	bool			 star;		/* some range has "*" */
	uint32_t		 star_lo, star_hi;	/* numbers beside "*" */
};

struct imap_search_node {
	enum imap_search_op	 op;
	size_t			 end;		/* index after this subtree */
	bool			 needs;		/* this subtree reads the message */
	unsigned		 flags;		/* ISO_FLAG_* */
	uint64_t		 num;		/* LARGER, SMALLER */
	int64_t			 day;		/* dates: days since the epoch */
	char			*name, *str;	/* HEADER name; needle */
	struct imap_search_set	 set;		/* ISO_SEQ, ISO_UID */
};

struct imap_search {
	struct imap_search_node	*nodes;		/* nodes[0]: the top-level AND */
	size_t			 nnodes, cap;
};

/* ---- compiling ---- */

enum imap_search_arg {
	ARG_NONE, ARG_STRING, ARG_NUMBER, ARG_DATE, ARG_SET, ARG_KEYWORD,
	ARG_HEADER,
};

struct imap_search_keydef {
	const char		*name;
	enum imap_search_op	 op;
	enum imap_search_arg	 arg;
	unsigned		 flags;
	const char		*field;		/* FROM, TO, ... */
};

static const struct imap_search_keydef imap_search_keys[] = {
	{ "ALL",	ISO_ALL,	ARG_NONE,	0, NULL },
	{ "ANSWERED",	ISO_FLAG_SET,	ARG_NONE,	MBOX_F_ANSWERED, NULL },
	{ "BCC",	ISO_HEADER,	ARG_STRING,	0, "Bcc" },
	{ "BEFORE",	ISO_BEFORE,	ARG_DATE,	0, NULL },
	{ "BODY",	ISO_BODY,	ARG_STRING,	0, NULL },
	{ "CC",		ISO_HEADER,	ARG_STRING,	0, "Cc" },
	{ "DELETED",	ISO_FLAG_SET,	ARG_NONE,	MBOX_F_DELETED, NULL },
	{ "DRAFT",	ISO_FLAG_SET,	ARG_NONE,	MBOX_F_DRAFT, NULL },
	{ "FLAGGED",	ISO_FLAG_SET,	ARG_NONE,	MBOX_F_FLAGGED, NULL },
	{ "FROM",	ISO_HEADER,	ARG_STRING,	0, "From" },
	{ "HEADER",	ISO_HEADER,	ARG_HEADER,	0, NULL },
	{ "KEYWORD",	ISO_NONE,	ARG_KEYWORD,	0, NULL },
	{ "LARGER",	ISO_LARGER,	ARG_NUMBER,	0, NULL },
	{ "NEW",	ISO_NEW,	ARG_NONE,	0, NULL },
	{ "OLD",	ISO_OLD,	ARG_NONE,	0, NULL },
	{ "ON",		ISO_ON,		ARG_DATE,	0, NULL },
	{ "RECENT",	ISO_RECENT,	ARG_NONE,	0, NULL },
	{ "SEEN",	ISO_FLAG_SET,	ARG_NONE,	MBOX_F_SEEN, NULL },
	{ "SENTBEFORE",	ISO_SENTBEFORE,	ARG_DATE,	0, NULL },
	{ "SENTON",	ISO_SENTON,	ARG_DATE,	0, NULL },
	{ "SENTSINCE",	ISO_SENTSINCE,	ARG_DATE,	0, NULL },
	{ "SINCE",	ISO_SINCE,	ARG_DATE,	0, NULL },
	{ "SMALLER",	ISO_SMALLER,	ARG_NUMBER,	0, NULL },
	{ "SUBJECT",	ISO_HEADER,	ARG_STRING,	0, "Subject" },
	{ "TEXT",	ISO_TEXT,	ARG_STRING,	0, NULL },
	{ "TO",		ISO_HEADER,	ARG_STRING,	0, "To" },
	{ "UID",	ISO_UID,	ARG_SET,	0, NULL },
	{ "UNANSWERED",	ISO_FLAG_UNSET,	ARG_NONE,	MBOX_F_ANSWERED, NULL },
	{ "UNDELETED",	ISO_FLAG_UNSET,	ARG_NONE,	MBOX_F_DELETED, NULL },
	{ "UNDRAFT",	ISO_FLAG_UNSET,	ARG_NONE,	MBOX_F_DRAFT, NULL },
	{ "UNFLAGGED",	ISO_FLAG_UNSET,	ARG_NONE,	MBOX_F_FLAGGED, NULL },
	{ "UNKEYWORD",	ISO_ALL,	ARG_KEYWORD,	0, NULL },
	{ "UNSEEN",	ISO_FLAG_UNSET,	ARG_NONE,	MBOX_F_SEEN, NULL },
};

struct imap_search_cc {
	const struct imap_tok	*toks;
	struct imap_search	*s;
	const char		*err;
};

static const struct imap_search_keydef *
imap_search_key_find(struct span name)
{
	size_t i;

	for (i = 0; i < sizeof(imap_search_keys) / sizeof(imap_search_keys[0]);
	    i++)
		if (span_eq_nocase(name, imap_search_keys[i].name))
			return &imap_search_keys[i];
	return NULL;
}

/* A new node; the capacity (one per token, plus the root) cannot run out. */
static size_t
imap_search_node_add(struct imap_search *s, enum imap_search_op op)
{
	struct imap_search_node *n;

	if (s->nnodes >= s->cap)
		fatal("imap_search: node capacity %zu exceeded", s->cap);
	n = &s->nodes[s->nnodes];
	memset(n, 0, sizeof(*n));
	n->op = op;
	n->end = s->nnodes + 1;
	return s->nnodes++;
}

/* RFC 3501 number: 1*DIGIT (leading zeros allowed), at most 2^32 - 1. */
static int
imap_search_number(struct span v, uint64_t *out)
{
	uint64_t n = 0;
	size_t i;

	if (v.len == 0)
		return -1;
	for (i = 0; i < v.len; i++) {
		if (v.ptr[i] < '0' || v.ptr[i] > '9')
			return -1;
		n = n * 10 + (uint64_t)(v.ptr[i] - '0');
		if (n > UINT32_MAX)
			return -1;
	}
	*out = n;
	return 0;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian; H. Hinnant's
 * days_from_civil). */
static int64_t
imap_search_days_from_civil(int64_t y, int64_t m, int64_t d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* The UTC day of t, rounding toward minus infinity, without overflow. */
static int64_t
imap_search_day_of(int64_t t)
{
	if (t >= 0)
		return t / SECS_PER_DAY;
	return -((-(t + 1)) / SECS_PER_DAY) - 1;
}

/* RFC 3501 date-text: date-day "-" date-month "-" date-year, day 1 or 2
 * digits and valid for the month. */
static int
imap_search_date(struct span v, int64_t *day_out)
{
	static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May",
	    "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	static const unsigned mdays[12] = { 31, 29, 31, 30, 31, 30, 31, 31, 30,
	    31, 30, 31 };
	const char *p = v.ptr, *end = v.ptr + v.len;
	unsigned d = 0, m, y = 0, i;
	bool leap;

	for (i = 0; i < 2 && p < end && *p >= '0' && *p <= '9'; i++, p++)
		d = d * 10 + (unsigned)(*p - '0');
	if (i == 0 || end - p != 9 || p[0] != '-' || p[4] != '-')
		return -1;
	for (m = 0; m < 12; m++)
		if (span_eq_nocase((struct span){ p + 1, 3 }, months[m]))
			break;
	if (m == 12)
		return -1;
	for (p += 5; p < end; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		y = y * 10 + (unsigned)(*p - '0');
	}
	leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (d == 0 || d > mdays[m] || (m == 1 && d == 29 && !leap))
		return -1;
	*day_out = imap_search_days_from_civil(y, m + 1, d);
	return 0;
}

static int
imap_search_range_cmp(const void *a, const void *b)
{
	const struct imap_seq_range *x = a, *y = b;

	return x->first < y->first ? -1 : x->first > y->first;
}

/* Parses and normalises a sequence set (struct imap_search_set). */
static int
imap_search_set_make(struct span v, struct imap_search_set *out)
{
	struct imap_seq_set set;
	struct imap_seq_range r;
	size_t i, n = 0;

	if (imap_seq_set_parse(v, &set) != PARSE_OK)
		return -1;
	out->fixed = xcalloc(set.nranges, sizeof(*out->fixed));
	out->star_lo = UINT32_MAX;
	out->star_hi = 0;
	for (i = 0; i < set.nranges; i++) {
		r = set.ranges[i];
		if (r.first == IMAP_SEQ_STAR || r.last == IMAP_SEQ_STAR) {
			out->star = true;
			if (r.first == IMAP_SEQ_STAR)
				r.first = r.last;
			if (r.first == IMAP_SEQ_STAR)
				continue;	/* "*" or "*:*" */
			if (r.first < out->star_lo)
				out->star_lo = r.first;
			if (r.first > out->star_hi)
				out->star_hi = r.first;
			continue;
		}
		if (r.first > r.last)
			out->fixed[n++] = (struct imap_seq_range){ r.last, r.first };
		else
			out->fixed[n++] = r;
	}
	imap_seq_set_clear(&set);
	if (n > 1)
		qsort(out->fixed, n, sizeof(*out->fixed), imap_search_range_cmp);
	out->nfixed = 0;
	for (i = 0; i < n; i++) {
		struct imap_seq_range *last = out->nfixed > 0 ?
		    &out->fixed[out->nfixed - 1] : NULL;

		if (last != NULL && (uint64_t)out->fixed[i].first <=
		    (uint64_t)last->last + 1) {
			if (out->fixed[i].last > last->last)
				last->last = out->fixed[i].last;
		} else {
			out->fixed[out->nfixed++] = out->fixed[i];
		}
	}
	return 0;
}

static bool
imap_search_set_contains(const struct imap_search_set *set, uint32_t n,
    uint32_t star)
{
	size_t lo = 0, hi = set->nfixed, mid;

	if (set->star) {
		if (n == star)
			return true;
		if (n < star && set->star_lo <= n)
			return true;
		if (n > star && set->star_hi >= n)
			return true;
	}
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (n < set->fixed[mid].first)
			hi = mid;
		else if (n > set->fixed[mid].last)
			lo = mid + 1;
		else
			return true;
	}
	return false;
}

/* A string argument (astring) as a C string; NUL is not CHAR8 (RFC 3501
 * 9), so it cannot occur in a valid one. */
static char *
imap_search_cstr(const struct imap_tok *t)
{
	if (!imap_tok_is_string(t) || memchr(t->val.ptr, '\0', t->val.len))
		return NULL;
	return xstrndup(t->val.len ? t->val.ptr : "", t->val.len);
}

/* The argument at *ip, which must lie before lim. */
static const struct imap_tok *
imap_search_arg(struct imap_search_cc *cc, size_t *ip, size_t lim)
{
	if (*ip >= lim) {
		cc->err = "missing search argument";
		return NULL;
	}
	return &cc->toks[(*ip)++];
}

static int
imap_search_leaf_arg(struct imap_search_cc *cc, struct imap_search_node *n,
    const struct imap_search_keydef *k, size_t *ip, size_t lim)
{
	const struct imap_tok *t, *t2;

	if (k->arg == ARG_NONE)
		return 0;
	if ((t = imap_search_arg(cc, ip, lim)) == NULL)
		return -1;
	switch (k->arg) {
	case ARG_STRING:
		if ((n->str = imap_search_cstr(t)) == NULL)
			break;
		if (k->field != NULL)
			n->name = xstrdup(k->field);
		return 0;
	case ARG_HEADER:
		if ((t2 = imap_search_arg(cc, ip, lim)) == NULL)
			return -1;
		if ((n->name = imap_search_cstr(t)) == NULL ||
		    (n->str = imap_search_cstr(t2)) == NULL)
			break;
		/* "" would mean any field to imap_msg_header_contains(); no
		 * field has an empty name. */
		if (n->name[0] == '\0')
			n->op = ISO_NONE;
		return 0;
	case ARG_NUMBER:
		if (t->type != IMAP_TOK_ATOM || imap_search_number(t->val,
		    &n->num) == -1) {
			cc->err = "bad number in search";
			return -1;
		}
		return 0;
	case ARG_DATE:
		if ((t->type != IMAP_TOK_ATOM && t->type != IMAP_TOK_QUOTED) ||
		    imap_search_date(t->val, &n->day) == -1) {
			cc->err = "bad date in search";
			return -1;
		}
		return 0;
	case ARG_SET:
		if (t->type != IMAP_TOK_ATOM ||
		    imap_search_set_make(t->val, &n->set) == -1) {
			cc->err = "bad sequence set in search";
			return -1;
		}
		return 0;
	case ARG_KEYWORD:
		/* flag-keyword = atom; never set (no PERMANENTFLAGS \*). */
		if (t->type == IMAP_TOK_ATOM || t->type == IMAP_TOK_NIL)
			return 0;
		cc->err = "bad keyword in search";
		return -1;
	case ARG_NONE:
		break;
	}
	cc->err = "bad string in search";
	return -1;
}

static int	imap_search_key(struct imap_search_cc *cc, size_t *ip,
		    size_t lim, unsigned depth);

/* NOLINTBEGIN(misc-no-recursion): keys, lists, NOT and OR recurse at most
 * IMAP_SEARCH_DEPTH_MAX (32) levels deep; the depth is checked before
 * every step down. */

/* Keys toks[first..lim) ANDed under the AND node at index `and`. */
static int
imap_search_keys_add(struct imap_search_cc *cc, size_t and, size_t first,
    size_t lim, unsigned depth)
{
	struct imap_search_node *nodes;
	size_t i = first;

	if (first >= lim) {
		cc->err = "missing search key";
		return -1;
	}
	while (i < lim)
		if (imap_search_key(cc, &i, lim, depth) == -1)
			return -1;
	nodes = cc->s->nodes;
	nodes[and].end = cc->s->nnodes;
	for (i = and + 1; i < nodes[and].end; i = nodes[i].end)
		nodes[and].needs |= nodes[i].needs;
	return 0;
}

/*
 * Compiles the key at toks[*ip] and its arguments (all before lim),
 * advancing *ip past them. depth is the key's own nesting level; NOT, OR
 * and lists put their operands one deeper, refused past
 * IMAP_SEARCH_DEPTH_MAX, which bounds this recursion.
 */
static int
imap_search_key(struct imap_search_cc *cc, size_t *ip, size_t lim,
    unsigned depth)
{
	const struct imap_tok *t = &cc->toks[*ip];
	const struct imap_search_keydef *k;
	struct imap_search_node *nodes;
	size_t at;
	int i, nops;

	if (t->type == IMAP_TOK_LIST || span_eq_nocase(t->val, "NOT") ||
	    span_eq_nocase(t->val, "OR")) {
		if (t->type != IMAP_TOK_ATOM && t->type != IMAP_TOK_LIST)
			goto unknown;
		if (depth >= IMAP_SEARCH_DEPTH_MAX) {
			cc->err = "search too deeply nested";
			return -1;
		}
		if (t->type == IMAP_TOK_LIST) {
			if (t->end > lim) {
				cc->err = "malformed search";
				return -1;
			}
			at = imap_search_node_add(cc->s, ISO_AND);
			*ip = t->end;
			return imap_search_keys_add(cc, at, (size_t)(t - cc->toks)
			    + 1, t->end, depth + 1);
		}
		nops = span_eq_nocase(t->val, "OR") ? 2 : 1;
		at = imap_search_node_add(cc->s, nops == 2 ? ISO_OR : ISO_NOT);
		(*ip)++;
		for (i = 0; i < nops; i++) {
			if (*ip >= lim) {
				cc->err = "missing search key";
				return -1;
			}
			if (imap_search_key(cc, ip, lim, depth + 1) == -1)
				return -1;
		}
		nodes = cc->s->nodes;
		nodes[at].end = cc->s->nnodes;
		nodes[at].needs = nodes[at + 1].needs ||
		    (nops == 2 && nodes[nodes[at + 1].end].needs);
		return 0;
	}
	if (t->type != IMAP_TOK_ATOM)
		goto unknown;
	(*ip)++;
	if (t->val.len > 0 && ((t->val.ptr[0] >= '0' && t->val.ptr[0] <= '9') ||
	    t->val.ptr[0] == '*')) {
		at = imap_search_node_add(cc->s, ISO_SEQ);
		if (imap_search_set_make(t->val, &cc->s->nodes[at].set) == -1) {
			cc->err = "bad sequence set in search";
			return -1;
		}
		return 0;
	}
	if ((k = imap_search_key_find(t->val)) == NULL)
		goto unknown;
	at = imap_search_node_add(cc->s, k->op);
	nodes = cc->s->nodes;
	nodes[at].flags = k->flags;
	if (imap_search_leaf_arg(cc, &nodes[at], k, ip, lim) == -1)
		return -1;
	switch (nodes[at].op) {
	case ISO_SENTBEFORE: case ISO_SENTON: case ISO_SENTSINCE:
	case ISO_HEADER: case ISO_BODY: case ISO_TEXT:
		nodes[at].needs = true;
		break;
	default:
		break;
	}
	return 0;
unknown:
	cc->err = "unknown search key";
	return -1;
}

/* NOLINTEND(misc-no-recursion) */

/* A leading CHARSET x (RFC 3501 6.4.4): US-ASCII or UTF-8, whose bytes we
 * match as they are. 1 when other, -1 when malformed, else 0 with *ip past. */
static int
imap_search_charset(struct imap_search_cc *cc, size_t *ip, size_t end)
{
	const struct imap_tok *t;

	if (*ip >= end)
		return 0;
	t = &cc->toks[*ip];
	if (t->type != IMAP_TOK_ATOM ||
	    !span_eq_nocase(t->val, "CHARSET"))
		return 0;
	if (*ip + 1 >= end || !imap_tok_is_string(&cc->toks[*ip + 1])) {
		cc->err = "missing charset";
		return -1;
	}
	t = &cc->toks[*ip + 1];
	if (!span_eq_nocase(t->val, "US-ASCII") && !span_eq_nocase(t->val,
	    "UTF-8")) {
		cc->err = "unsupported charset";
		return 1;
	}
	*ip += 2;
	return 0;
}

struct imap_search *
imap_search_compile(const struct imap_cmd *cmd, size_t first, size_t end,
    bool *badcharset, char *err, size_t errlen)
{
	struct imap_search_cc cc = { .toks = cmd->toks };
	struct imap_search *s;
	size_t i = first;
	int rc;

	*badcharset = false;
	if (end > cmd->ntoks || first > end) {
		if (errlen > 0)
			snprintf(err, errlen, "%s", "missing search key");
		return NULL;
	}
	s = xcalloc(1, sizeof(*s));
	s->cap = end - first + 1;
	s->nodes = xcalloc(s->cap, sizeof(*s->nodes));
	cc.s = s;
	rc = first < end ? imap_search_charset(&cc, &i, end) : 0;
	if (rc == 0)
		rc = imap_search_keys_add(&cc, imap_search_node_add(s, ISO_AND),
		    i, end, 0);
	if (rc != 0) {
		*badcharset = rc == 1;
		if (errlen > 0)
			snprintf(err, errlen, "%s", cc.err);
		imap_search_free(&s);
		return NULL;
	}
	return s;
}

unsigned
imap_search_needs(const struct imap_search *s)
{
	return s->nodes[0].needs ? IMAP_SEARCH_NEEDS_MSG : 0;
}

void
imap_search_free(struct imap_search **sp)
{
	struct imap_search *s = *sp;
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < s->nnodes; i++) {
		free(s->nodes[i].name);
		free(s->nodes[i].str);
		free(s->nodes[i].set.fixed);
	}
	free(s->nodes);
	free(s);
	*sp = NULL;
}

/* ---- evaluating ---- */

struct imap_search_ev {
	const struct imap_search	*s;
	const struct imap_search_msg	*msg;
	struct imap_msg			*m;
	bool				 opened;
};

/* The parsed message, asked for once per imap_search_match(); it stays
 * the caller's (its callback opened it, the caller closes it). */
static struct imap_msg *
imap_search_ev_msg(struct imap_search_ev *ev)
{
	if (!ev->opened) {
		ev->opened = true;
		ev->m = ev->msg->open != NULL ?
		    ev->msg->open(ev->msg->open_arg) : NULL;
	}
	return ev->m;
}

static bool
imap_search_date_cmp(enum imap_search_op op, int64_t t, int64_t day)
{
	int64_t d = imap_search_day_of(t);

	switch (op) {
	case ISO_BEFORE: case ISO_SENTBEFORE:
		return d < day;
	case ISO_ON: case ISO_SENTON:
		return d == day;
	default:
		return d >= day;
	}
}

static bool	imap_search_eval(struct imap_search_ev *ev, size_t i,
		    unsigned depth);

/* NOLINTBEGIN(misc-no-recursion): evaluation follows the compiled tree,
 * at most IMAP_SEARCH_DEPTH_MAX + 1 (33) levels deep. */

/* The keys that need the message: opened on first use. */
static bool
imap_search_eval_msg(struct imap_search_ev *ev, const struct imap_search_node *n)
{
	struct imap_msg *m = imap_search_ev_msg(ev);
	int64_t t;

	if (m == NULL)
		return false;
	switch (n->op) {
	case ISO_HEADER:
		return imap_msg_header_contains(m, n->name, n->str);
	case ISO_BODY:
		return imap_msg_body_contains(m, n->str, false);
	case ISO_TEXT:
		return imap_msg_body_contains(m, n->str, true);
	default:
		t = imap_msg_date(m);
		return t != INT64_MIN && imap_search_date_cmp(n->op, t, n->day);
	}
}

/* AND: the keys that do not need the message first, so that flags, sizes
 * and sets can spare opening it. */
static bool
imap_search_eval_and(struct imap_search_ev *ev, size_t at, unsigned depth)
{
	const struct imap_search_node *nodes = ev->s->nodes;
	size_t i;
	int pass;

	for (pass = 0; pass < 2; pass++)
		for (i = at + 1; i < nodes[at].end; i = nodes[i].end)
			if (nodes[i].needs == (pass == 1) &&
			    !imap_search_eval(ev, i, depth + 1))
				return false;
	return true;
}

/* Recursion follows the compiled tree, whose depth compiling bounded. */
static bool
imap_search_eval(struct imap_search_ev *ev, size_t i, unsigned depth)
{
	const struct imap_search_node *n = &ev->s->nodes[i];
	const struct imap_search_msg *msg = ev->msg;
	size_t a, b;

	if (depth > IMAP_SEARCH_DEPTH_MAX + 1)
		fatal("imap_search: program deeper than compiled");
	switch (n->op) {
	case ISO_AND:
		return imap_search_eval_and(ev, i, depth);
	case ISO_OR:
		a = i + 1;
		b = ev->s->nodes[a].end;
		if (ev->s->nodes[a].needs && !ev->s->nodes[b].needs) {
			a = b;
			b = i + 1;
		}
		return imap_search_eval(ev, a, depth + 1) ||
		    imap_search_eval(ev, b, depth + 1);
	case ISO_NOT:
		return !imap_search_eval(ev, i + 1, depth + 1);
	case ISO_ALL:
		return true;
	case ISO_NONE:
		return false;
	case ISO_FLAG_SET:
		return (msg->flags & n->flags) == n->flags;
	case ISO_FLAG_UNSET:
		return (msg->flags & n->flags) == 0;
	case ISO_RECENT:
		return msg->recent;
	case ISO_OLD:
		return !msg->recent;
	case ISO_NEW:
		return msg->recent && (msg->flags & MBOX_F_SEEN) == 0;
	case ISO_SEQ:
		return imap_search_set_contains(&n->set, msg->seq, msg->max_seq);
	case ISO_UID:
		return imap_search_set_contains(&n->set, msg->uid, msg->max_uid);
	case ISO_LARGER:
		return msg->vsize > n->num;
	case ISO_SMALLER:
		return msg->vsize < n->num;
	case ISO_BEFORE: case ISO_ON: case ISO_SINCE:
		return imap_search_date_cmp(n->op, msg->internaldate, n->day);
	default:
		return imap_search_eval_msg(ev, n);
	}
}

/* NOLINTEND(misc-no-recursion) */

bool
imap_search_match(const struct imap_search *s,
    const struct imap_search_msg *msg)
{
	struct imap_search_ev ev = { .s = s, .msg = msg };

	return imap_search_eval(&ev, 0, 0);
}
