/*
 * imap_parse: the streaming IMAP command parser (RFC 3501 section 9 command
 * grammar, tokens only; RFC 7888 LITERAL+) and sequence-set helpers. Owns
 * framing, literals, limits and resynchronisation; what a command's
 * arguments mean is left to the session's per-command files.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/xalloc.h"
#include "imap/imap_parse.h"

enum imap_pstate {
	ST_TAG, ST_NAME, ST_ARG, ST_LISTOPEN, ST_AFTER, ST_ATOM, ST_BRACKET,
	ST_QUOTED, ST_QESC, ST_LITNUM, ST_LITBRACE, ST_LITCR, ST_LITLF,
	ST_LITWAIT, ST_LITDATA, ST_LF, ST_DISCARD, ST_DSKIP,
};

/* Step results. */
enum { STEP_MORE, STEP_DONE, STEP_FAIL };

struct imap_parser {
	struct buf		 in;		/* fed, not yet consumed */
	size_t			 line_max, nest_max, literal_max;
	enum imap_pstate	 st;
	/* The command being built. */
	struct buf		 data;
	struct imap_tok		*toks;
	size_t			 ntoks, tokcap;
	size_t			*stack;		/* open LIST indexes */
	size_t			 depth;
	size_t			 taglen, name_off, name_len;
	bool			 tag_ok;
	size_t			 line_used;	/* bytes outside literals */
	size_t			 lit_used;	/* literal bytes, all literals */
	uint64_t		 lit_num;	/* announced size / bytes left */
	size_t			 lit_digits;
	bool			 lit_plus;
	/* Discarding after an error: the {n+} recogniser. */
	int			 d_st;		/* 0 none, 1 digits, 2 '+', 3 '}', 4 CR */
	uint64_t		 d_num;
	bool			 d_plus;
	/* The error to report. */
	enum parse_rc		 err_rc;
	const char		*err_msg;
	bool			 err_pending;	/* from imap_parser_literal_reject() */
};

#define DATA_MAX	((size_t)1 << 40)	/* bytes are bounded by the counters */

static void
imap_parser_reset_cmd(struct imap_parser *p)
{
	buf_init(&p->data, DATA_MAX);
	p->toks = NULL;
	p->ntoks = p->tokcap = 0;
	p->depth = 0;
	p->taglen = p->name_off = p->name_len = 0;
	p->tag_ok = false;
	p->line_used = p->lit_used = 0;
}

static void
imap_parser_drop_cmd(struct imap_parser *p)
{
	buf_free(&p->data);
	free(p->toks);
	imap_parser_reset_cmd(p);
}

struct imap_parser *
imap_parser_new(size_t line_max, size_t nest_max)
{
	struct imap_parser *p = xcalloc(1, sizeof(*p));

	p->line_max = line_max;
	p->nest_max = nest_max;
	p->literal_max = IMAP_LITERAL_MAX;
	buf_init(&p->in, IMAP_INPUT_MAX);
	p->stack = xcalloc(nest_max + 1, sizeof(*p->stack));
	p->st = ST_TAG;
	imap_parser_reset_cmd(p);
	return p;
}

void
imap_parser_set_literal_max(struct imap_parser *p, size_t max)
{
	p->literal_max = max;
}

void
imap_parser_free(struct imap_parser **pp)
{
	struct imap_parser *p = *pp;

	if (p == NULL)
		return;
	buf_wipe(&p->in);	/* may hold a LOGIN password */
	buf_wipe(&p->data);
	free(p->toks);
	free(p->stack);
	free(p);
	*pp = NULL;
}

int
imap_parser_feed(struct imap_parser *p, const void *data, size_t len)
{
	if (len > IMAP_INPUT_MAX - p->in.len)
		return -1;
	return buf_append(&p->in, data, len);
}

/* RFC 3501 9 ATOM-CHAR, plus list-wildcards "%" "*" (LIST, 1:*). */
static bool
imap_parse_is_atom(unsigned char c)
{
	return c > 0x20 && c < 0x7f && strchr("(){\"\\]", c) == NULL;
}

/* RFC 3501 9 tag: ASTRING-CHAR except "+". */
static bool
imap_parse_is_tag(unsigned char c)
{
	return c > 0x20 && c < 0x7f && strchr("(){\"\\%*+", c) == NULL;
}

static int
imap_parse_fail(struct imap_parser *p, enum parse_rc rc, const char *msg)
{
	p->err_rc = rc;
	p->err_msg = msg;
	return STEP_FAIL;
}

static int
imap_parse_put(struct imap_parser *p, unsigned char c)
{
	if (buf_append(&p->data, &c, 1) == -1)
		return imap_parse_fail(p, PARSE_TOO_LONG, "command too long");
	if (p->ntoks > 0 && p->st != ST_NAME && p->st != ST_TAG)
		p->toks[p->ntoks - 1].val.len++;
	return STEP_MORE;
}

static int
imap_parse_tok_new(struct imap_parser *p, enum imap_tok_type type)
{
	struct imap_tok *t;

	if (p->ntoks >= IMAP_CMD_TOKENS_MAX)
		return imap_parse_fail(p, PARSE_TOO_LONG, "too many arguments");
	if (p->ntoks == p->tokcap) {
		p->tokcap = p->tokcap ? p->tokcap * 2 : 16;
		p->toks = xrealloc(p->toks, p->tokcap * sizeof(*p->toks));
	}
	if (p->depth > 0)
		p->toks[p->stack[p->depth - 1]].nchildren++;
	t = &p->toks[p->ntoks++];
	*t = (struct imap_tok){ .type = type, .off = p->data.len,
	    .end = p->ntoks };
	return STEP_MORE;
}

static void
imap_parse_atom_end(struct imap_parser *p)
{
	struct imap_tok *t = &p->toks[p->ntoks - 1];

	if (t->val.len == 3 && strncasecmp(p->data.data + t->off, "NIL", 3) == 0)
		t->type = IMAP_TOK_NIL;
}

/* A token may start here: after SP, or after "(". */
static int
imap_parse_tok_start(struct imap_parser *p, unsigned char c)
{
	int rc;

	if (c == '(') {
		if (p->depth >= p->nest_max)
			return imap_parse_fail(p, PARSE_TOO_LONG, "nesting too deep");
		if ((rc = imap_parse_tok_new(p, IMAP_TOK_LIST)) != STEP_MORE)
			return rc;
		p->stack[p->depth++] = p->ntoks - 1;
		p->st = ST_LISTOPEN;
		return STEP_MORE;
	}
	if (c == '"') {
		p->st = ST_QUOTED;
		return imap_parse_tok_new(p, IMAP_TOK_QUOTED);
	}
	if (c == '{') {
		p->lit_num = 0;
		p->lit_digits = 0;
		p->lit_plus = false;
		p->st = ST_LITNUM;
		return imap_parse_tok_new(p, IMAP_TOK_LITERAL);
	}
	/* A flag: "\" then an atom, or \* (RFC 3501 9 flag, flag-perm). */
	if (imap_parse_is_atom(c) || c == '\\') {
		if ((rc = imap_parse_tok_new(p, IMAP_TOK_ATOM)) != STEP_MORE)
			return rc;
		p->st = c == '[' ? ST_BRACKET : ST_ATOM;
		return imap_parse_put(p, c);
	}
	return imap_parse_fail(p, PARSE_INVALID, "bad argument");
}

/* After a token: SP, ")" or the CR ending the command. */
static int
imap_parse_after(struct imap_parser *p, unsigned char c)
{
	if (c == ' ') {
		p->st = ST_ARG;
	} else if (c == ')') {
		if (p->depth == 0)
			return imap_parse_fail(p, PARSE_INVALID, "unbalanced parenthesis");
		p->toks[p->stack[--p->depth]].end = p->ntoks;
		p->st = ST_AFTER;
	} else if (c == '\r') {
		if (p->depth > 0)
			return imap_parse_fail(p, PARSE_INVALID, "unbalanced parenthesis");
		p->st = ST_LF;
	} else {
		return imap_parse_fail(p, PARSE_INVALID, "expected space");
	}
	return STEP_MORE;
}

/* "LF" of "{n}CRLF" or "{n+}CRLF": RFC 3501 4.3, RFC 7888 3. */
static int
imap_parse_lit_announced(struct imap_parser *p)
{
	if (p->lit_plus) {
		if (p->lit_num > p->literal_max - p->lit_used) {
			/* Its bytes are skipped unstored: imap_parse_track(). */
			return imap_parse_fail(p, PARSE_TOO_LONG, "literal too big");
		}
		p->lit_used += p->lit_num;
		p->toks[p->ntoks - 1].off = p->data.len;
		p->st = p->lit_num ? ST_LITDATA : ST_AFTER;
		return STEP_MORE;
	}
	p->st = ST_LITWAIT;
	return STEP_MORE;
}

static int
imap_parse_lit_step(struct imap_parser *p, unsigned char c)
{
	switch (p->st) {
	case ST_LITNUM:
		if (c >= '0' && c <= '9') {
			p->lit_num = p->lit_num * 10 + (uint64_t)(c - '0');
			/* RFC 3501 9: number is 32 bits. */
			if (++p->lit_digits > 10 || p->lit_num > UINT32_MAX)
				return imap_parse_fail(p, PARSE_TOO_LONG, "literal too big");
			return STEP_MORE;
		}
		if (p->lit_digits == 0)
			return imap_parse_fail(p, PARSE_INVALID, "bad literal");
		if (c == '+')
			p->lit_plus = true;
		else if (c != '}')
			return imap_parse_fail(p, PARSE_INVALID, "bad literal");
		p->st = c == '+' ? ST_LITBRACE : ST_LITCR;
		return STEP_MORE;
	case ST_LITBRACE:
		if (c != '}')
			return imap_parse_fail(p, PARSE_INVALID, "bad literal");
		p->st = ST_LITCR;
		return STEP_MORE;
	case ST_LITCR:
		if (c != '\r')
			return imap_parse_fail(p, PARSE_INVALID, "bad literal");
		p->st = ST_LITLF;
		return STEP_MORE;
	default:	/* ST_LITLF */
		if (c != '\n')
			return imap_parse_fail(p, PARSE_INVALID, "bare CR");
		return imap_parse_lit_announced(p);
	}
}

/* One byte outside literal data. */
static int
imap_parse_step(struct imap_parser *p, unsigned char c)
{
	if (c == '\n' && p->st != ST_LF && p->st != ST_LITLF)
		return imap_parse_fail(p, PARSE_INVALID, "bare LF");
	switch (p->st) {
	case ST_TAG:
		if (c == ' ' && p->taglen > 0) {
			p->tag_ok = true;
			p->name_off = p->data.len;
			p->st = ST_NAME;
			return STEP_MORE;
		}
		if (!imap_parse_is_tag(c))
			return imap_parse_fail(p, PARSE_INVALID,
			    p->taglen ? "bad tag" : "missing tag");
		p->taglen++;
		return imap_parse_put(p, c);
	case ST_NAME:
		if ((c == ' ' || c == '\r') && p->name_len > 0) {
			p->st = c == ' ' ? ST_ARG : ST_LF;
			return STEP_MORE;
		}
		if (!imap_parse_is_atom(c) || strchr("[%*", c) != NULL)
			return imap_parse_fail(p, PARSE_INVALID, "bad command name");
		p->name_len++;
		return imap_parse_put(p, (unsigned char)(c >= 'a' && c <= 'z' ?
		    c - 'a' + 'A' : c));
	case ST_ARG:
		return imap_parse_tok_start(p, c);
	case ST_LISTOPEN:
		if (c == ')')
			return imap_parse_after(p, c);
		return imap_parse_tok_start(p, c);
	case ST_AFTER:
		return imap_parse_after(p, c);
	case ST_ATOM:
		if (imap_parse_is_atom(c)) {
			if (c == '[')
				p->st = ST_BRACKET;
			return imap_parse_put(p, c);
		}
		imap_parse_atom_end(p);
		return imap_parse_after(p, c);
	case ST_BRACKET:
		/* BODY[HEADER.FIELDS (From)]: kept in the atom, checked later. */
		if (c < 0x20 || c >= 0x7f)
			return imap_parse_fail(p, PARSE_INVALID, "bad section");
		if (c == ']')
			p->st = ST_ATOM;
		return imap_parse_put(p, c);
	case ST_QUOTED:
		if (c == '"') {
			p->st = ST_AFTER;
			return STEP_MORE;
		}
		if (c == '\\') {
			p->st = ST_QESC;
			return STEP_MORE;
		}
		if (c == '\0' || c == '\r')
			return imap_parse_fail(p, PARSE_INVALID, "bad quoted string");
		return imap_parse_put(p, c);
	case ST_QESC:
		if (c != '"' && c != '\\')
			return imap_parse_fail(p, PARSE_INVALID, "bad quoted string");
		p->st = ST_QUOTED;
		return imap_parse_put(p, c);
	case ST_LITNUM:
	case ST_LITBRACE:
	case ST_LITCR:
	case ST_LITLF:
		return imap_parse_lit_step(p, c);
	case ST_LF:
		if (c != '\n')
			return imap_parse_fail(p, PARSE_INVALID, "bare CR");
		return STEP_DONE;
	default:
		fatal("imap_parse_step: state %d", (int)p->st);
	}
}

/*
 * Every byte outside literal data goes through this "{n[+]}CR" recogniser,
 * so that when a command fails, even inside a literal announcement, the
 * literal that follows is known. n saturates just past 2^32 - 1.
 */
static void
imap_parse_track(struct imap_parser *p, unsigned char c)
{
	if (c == '{') {
		p->d_st = 1;
		p->d_num = 0;
		p->d_plus = false;
	} else if (p->d_st == 1 && c >= '0' && c <= '9') {
		p->d_num = p->d_num * 10 + (uint64_t)(c - '0');
		if (p->d_num > (uint64_t)UINT32_MAX + 1)
			p->d_num = (uint64_t)UINT32_MAX + 1;
	} else if (p->d_st == 1 && c == '+') {
		p->d_st = 2;
		p->d_plus = true;
	} else if ((p->d_st == 1 || p->d_st == 2) && c == '}') {
		p->d_st = 3;
	} else if (p->d_st == 3 && c == '\r') {
		p->d_st = 4;
	} else if (c != '\n') {
		p->d_st = 0;
	}
}

/*
 * The LF that ends a failed command, unless it ends "{n+}CRLF": those n
 * literal bytes are skipped first, so no literal byte is ever read as a
 * command. After "{n}CRLF" the client waits for a continuation we never
 * send: the command ends there.
 */
static void
imap_parse_discard_end(struct imap_parser *p)
{
	p->st = p->d_st == 4 && p->d_plus && p->d_num > 0 ? ST_DSKIP : ST_TAG;
	p->d_st = 0;
}

static void
imap_parse_error_cmd(struct imap_parser *p, struct imap_cmd *cmd)
{
	memset(cmd, 0, sizeof(*cmd));
	buf_init(&cmd->data, p->line_max + 1);
	if (p->tag_ok)
		(void)buf_append(&cmd->data, p->data.data, p->taglen);
	cmd->tag = (struct span){ buf_cstr(&cmd->data), cmd->data.len };
	cmd->name = (struct span){ buf_cstr(&cmd->data) + cmd->data.len, 0 };
	cmd->error = p->err_msg;
	imap_parser_drop_cmd(p);
}

static void
imap_parse_done_cmd(struct imap_parser *p, struct imap_cmd *cmd)
{
	size_t i;

	memset(cmd, 0, sizeof(*cmd));
	cmd->data = p->data;
	cmd->toks = p->toks;
	cmd->ntoks = p->ntoks;
	cmd->tag = (struct span){ cmd->data.data, p->taglen };
	cmd->name = (struct span){ cmd->data.data + p->name_off, p->name_len };
	for (i = 0; i < cmd->ntoks; i++)
		cmd->toks[i].val.ptr = cmd->data.data + cmd->toks[i].off;
	imap_parser_reset_cmd(p);
	p->st = ST_TAG;
}

/* Literal data, or skipped literal bytes: as many as are here. */
static void
imap_parse_lit_bytes(struct imap_parser *p, size_t *pos)
{
	size_t avail = p->in.len - *pos;
	size_t n = p->st == ST_DSKIP ? p->d_num : p->lit_num;

	if (n > avail)
		n = avail;
	if (p->st == ST_LITDATA) {
		if (buf_append(&p->data, p->in.data + *pos, n) == -1)
			fatal("imap_parse: literal past its checked size");
		p->toks[p->ntoks - 1].val.len += n;
		p->lit_num -= n;
		if (p->lit_num == 0)
			p->st = ST_AFTER;
	} else {
		p->d_num -= n;
		if (p->d_num == 0)
			p->st = ST_DISCARD;
	}
	*pos += n;
}

static enum parse_rc
imap_parse_run(struct imap_parser *p, struct imap_cmd *cmd, size_t *pos)
{
	unsigned char c;
	int rc;

	while (*pos < p->in.len && p->st != ST_LITWAIT) {
		if (p->st == ST_LITDATA || p->st == ST_DSKIP) {
			imap_parse_lit_bytes(p, pos);
			continue;
		}
		c = (unsigned char)p->in.data[(*pos)++];
		imap_parse_track(p, c);
		if (p->st == ST_DISCARD) {
			if (c == '\n')
				imap_parse_discard_end(p);
			continue;
		}
		if (++p->line_used > p->line_max)
			rc = imap_parse_fail(p, PARSE_TOO_LONG, "line too long");
		else
			rc = imap_parse_step(p, c);
		if (rc == STEP_DONE) {
			p->d_st = 0;
			imap_parse_done_cmd(p, cmd);
			return PARSE_OK;
		}
		if (rc == STEP_FAIL) {
			p->st = ST_DISCARD;
			if (c == '\n')
				imap_parse_discard_end(p);
			imap_parse_error_cmd(p, cmd);
			return p->err_rc;
		}
		if (c == '\n')
			p->d_st = 0;
	}
	return PARSE_INCOMPLETE;
}

enum parse_rc
imap_parser_next(struct imap_parser *p, struct imap_cmd *cmd_out)
{
	size_t pos = 0;
	enum parse_rc rc;

	if (p->err_pending) {
		p->err_pending = false;
		imap_parse_error_cmd(p, cmd_out);
		p->st = ST_TAG;
		return p->err_rc;
	}
	rc = imap_parse_run(p, cmd_out, &pos);
	buf_consume(&p->in, pos);
	return rc;
}

bool
imap_parser_literal_wait(const struct imap_parser *p, uint64_t *size_out,
    struct span *tag_out, struct span *name_out)
{
	if (p->st != ST_LITWAIT || p->err_pending)
		return false;
	*size_out = p->lit_num;
	if (tag_out != NULL)
		*tag_out = (struct span){ p->data.data, p->taglen };
	if (name_out != NULL)
		*name_out = (struct span){ p->data.data + p->name_off,
		    p->name_len };
	return true;
}

int
imap_parser_literal_accept(struct imap_parser *p)
{
	if (p->st != ST_LITWAIT || p->err_pending)
		fatal("imap_parser_literal_accept: no literal waiting");
	if (p->lit_num > p->literal_max - p->lit_used) {
		imap_parser_literal_reject(p);
		return -1;
	}
	p->lit_used += p->lit_num;
	p->toks[p->ntoks - 1].off = p->data.len;
	p->st = p->lit_num ? ST_LITDATA : ST_AFTER;
	return 0;
}

void
imap_parser_literal_reject(struct imap_parser *p)
{
	if (p->st != ST_LITWAIT || p->err_pending)
		fatal("imap_parser_literal_reject: no literal waiting");
	p->err_pending = true;
	p->err_rc = PARSE_TOO_LONG;
	p->err_msg = "literal refused";
}

void
imap_cmd_clear(struct imap_cmd *cmd)
{
	buf_wipe(&cmd->data);
	free(cmd->toks);
	memset(cmd, 0, sizeof(*cmd));
}

bool
imap_tok_is_string(const struct imap_tok *t)
{
	return t->type != IMAP_TOK_LIST;
}

/* nz-number or "*"; *s advanced past it. */
static enum parse_rc
imap_seq_num(const char **s, const char *end, uint32_t *out)
{
	uint64_t v = 0;

	if (*s < end && **s == '*') {
		(*s)++;
		*out = IMAP_SEQ_STAR;
		return PARSE_OK;
	}
	if (*s >= end || **s < '1' || **s > '9')
		return PARSE_INVALID;
	while (*s < end && **s >= '0' && **s <= '9') {
		v = v * 10 + (uint64_t)(**s - '0');
		if (v > UINT32_MAX)
			return PARSE_INVALID;
		(*s)++;
	}
	*out = (uint32_t)v;
	return PARSE_OK;
}

enum parse_rc
imap_seq_set_parse(struct span in, struct imap_seq_set *out)
{
	const char *s = in.ptr, *end = in.ptr + in.len;
	size_t n = 1, i;
	struct imap_seq_range r;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < in.len; i++)
		n += in.ptr[i] == ',';
	if (n > IMAP_SEQ_RANGES_MAX)
		return PARSE_TOO_LONG;
	out->ranges = xcalloc(n, sizeof(*out->ranges));
	for (;;) {
		if (imap_seq_num(&s, end, &r.first) != PARSE_OK)
			break;
		r.last = r.first;
		if (s < end && *s == ':') {
			s++;
			if (imap_seq_num(&s, end, &r.last) != PARSE_OK)
				break;
		}
		out->ranges[out->nranges++] = r;
		if (s == end)
			return PARSE_OK;
		if (*s++ != ',')
			break;
	}
	imap_seq_set_clear(out);
	return PARSE_INVALID;
}

bool
imap_seq_set_contains(const struct imap_seq_set *s, uint32_t n, uint32_t star)
{
	size_t i;
	uint32_t a, b;

	for (i = 0; i < s->nranges; i++) {
		a = s->ranges[i].first == IMAP_SEQ_STAR ? star : s->ranges[i].first;
		b = s->ranges[i].last == IMAP_SEQ_STAR ? star : s->ranges[i].last;
		if ((a <= n && n <= b) || (b <= n && n <= a))
			return true;
	}
	return false;
}

void
imap_seq_set_clear(struct imap_seq_set *s)
{
	free(s->ranges);
	memset(s, 0, sizeof(*s));
}
