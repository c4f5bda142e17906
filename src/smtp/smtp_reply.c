/*
 * smtp_reply: incremental parser of SMTP server replies (see smtp_reply.h).
 * Owns framing (CRLF only, RFC 5321 2.3.8), the reply-line syntax and
 * multiline rule of RFC 5321 4.2 and 4.2.1, the enhanced status code of
 * RFC 3463 section 2 / RFC 2034 section 4, and EHLO keyword lookup
 * (RFC 5321 4.1.1.1). What a code means is left to the client.
 */
#include <string.h>
#include <strings.h>

#include "smtp/smtp_reply.h"

void
smtp_resp_init(struct smtp_resp *r)
{
	*r = (struct smtp_resp){ .status = PARSE_INCOMPLETE };
	buf_init(&r->text, SMTP_REPLY_MAX);
	buf_init(&r->line, SMTP_TEXT_LINE_MAX);
}

void
smtp_resp_clear(struct smtp_resp *r)
{
	buf_free(&r->text);
	buf_free(&r->line);
	smtp_resp_init(r);
}

static bool
smtp_resp_is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/*
 * 1 to 3 digits at s[*pos], value into *val_out; RFC 3463 section 2 bounds
 * subject and detail at three digits each.
 */
static bool
smtp_resp_num(struct span s, size_t *pos, int *val_out)
{
	size_t start = *pos;
	int v = 0;

	while (*pos < s.len && smtp_resp_is_digit(s.ptr[*pos]) &&
	    *pos - start < 3) {
		v = v * 10 + (s.ptr[*pos] - '0');
		(*pos)++;
	}
	if (*pos == start)
		return false;
	*val_out = v;
	return true;
}

/*
 * "C.S.D" then SP or the end, C the reply code's first digit and one of
 * 2, 4, 5 (RFC 3463 section 2: class must agree with the reply, RFC 2034
 * section 4). Returns the bytes to skip (the code and one SP), 0 if absent.
 */
static size_t
smtp_resp_enh(struct span s, int code, int *cls, int *subj, int *det)
{
	size_t pos = 1;
	int c, sv, dv;

	if (s.len < 5 || !smtp_resp_is_digit(s.ptr[0]))
		return 0;
	c = s.ptr[0] - '0';
	if ((c != 2 && c != 4 && c != 5) || c != code / 100)
		return 0;
	if (s.ptr[pos++] != '.' || !smtp_resp_num(s, &pos, &sv))
		return 0;
	if (pos >= s.len || s.ptr[pos++] != '.' || !smtp_resp_num(s, &pos, &dv))
		return 0;
	if (pos < s.len && s.ptr[pos] != ' ')
		return 0;	/* "2.0.0x" or a fourth digit: not a code */
	*cls = c;
	*subj = sv;
	*det = dv;
	return pos < s.len ? pos + 1 : pos;
}

/* One complete line, without its CRLF: RFC 5321 4.2 reply-line. */
static enum parse_rc
smtp_resp_line(struct smtp_resp *r, struct span line, bool *last_out)
{
	struct span text;
	int code, cls = 0, subj = 0, det = 0;
	size_t skip;

	if (line.len < 3 || !smtp_resp_is_digit(line.ptr[0]) ||
	    !smtp_resp_is_digit(line.ptr[1]) || !smtp_resp_is_digit(line.ptr[2]))
		return PARSE_INVALID;
	if (line.len > 3 && line.ptr[3] != ' ' && line.ptr[3] != '-')
		return PARSE_INVALID;
	code = (line.ptr[0] - '0') * 100 + (line.ptr[1] - '0') * 10 +
	    (line.ptr[2] - '0');
	/* 1xx is not used by SMTP (RFC 5321 4.2.1); 6xx+ is undefined. */
	if (code < 200 || code > 599)
		return PARSE_INVALID;
	/* RFC 5321 4.2.1: every line of a multiline reply has the same code. */
	if (r->nlines > 0 && code != r->code)
		return PARSE_INVALID;
	if (++r->nlines > SMTP_REPLY_LINES_MAX)
		return PARSE_TOO_LONG;
	*last_out = line.len == 3 || line.ptr[3] == ' ';
	text = line.len > 4 ? (struct span){ line.ptr + 4, line.len - 4 }
	    : (struct span){ line.ptr + line.len, 0 };
	if (r->nlines == 1) {
		r->code = code;
		skip = smtp_resp_enh(text, code, &r->cls, &r->subj, &r->det);
	} else {
		/*
		 * RFC 2034 section 4 repeats the code on every line; strip it
		 * only when the first line had one, so EHLO keywords stay.
		 */
		skip = r->cls != 0 ? smtp_resp_enh(text, code, &cls, &subj,
		    &det) : 0;
	}
	text.ptr += skip;
	text.len -= skip;
	if ((r->nlines > 1 && buf_append(&r->text, "\n", 1) == -1) ||
	    buf_append_span(&r->text, text) == -1)
		return PARSE_TOO_LONG;	/* cannot happen: total is checked */
	return PARSE_OK;
}

/* One byte of the wire; PARSE_OK when it completed the reply. */
static enum parse_rc
smtp_resp_byte(struct smtp_resp *r, char c)
{
	enum parse_rc rc;
	bool last = false;

	if (++r->total > SMTP_REPLY_MAX)
		return PARSE_TOO_LONG;
	/* A NUL, or a CR or LF not part of a CRLF: refused (smuggling). */
	if (c == '\0' || (r->cr && c != '\n') || (c == '\n' && !r->cr))
		return PARSE_INVALID;
	if (c == '\n') {
		r->cr = false;
		rc = smtp_resp_line(r, (struct span){ buf_cstr(&r->line),
		    r->line.len }, &last);
		buf_reset(&r->line);
		if (rc != PARSE_OK)
			return rc;
		return last ? PARSE_OK : PARSE_INCOMPLETE;
	}
	if (c == '\r')
		r->cr = true;
	else if (buf_append(&r->line, &c, 1) == -1)
		return PARSE_TOO_LONG;
	/* RFC 5321 4.5.3.1.5: SMTP_TEXT_LINE_MAX bytes with the CRLF. */
	if (r->line.len + (r->cr ? 1 : 0) >= SMTP_TEXT_LINE_MAX)
		return PARSE_TOO_LONG;
	return PARSE_INCOMPLETE;
}

enum parse_rc
smtp_resp_feed(struct smtp_resp *r, const char *data, size_t len,
    size_t *used_out)
{
	size_t i;

	*used_out = 0;
	if (r->status != PARSE_INCOMPLETE)
		return r->status;
	for (i = 0; i < len; i++) {
		r->status = smtp_resp_byte(r, data[i]);
		if (r->status != PARSE_INCOMPLETE) {
			*used_out = i + 1;
			return r->status;
		}
	}
	*used_out = len;
	return PARSE_INCOMPLETE;
}

bool
smtp_resp_has_ext(const struct smtp_resp *r, const char *keyword,
    struct span *params_out)
{
	const char *p = buf_cstr(&r->text), *end = p + r->text.len, *nl;
	size_t klen = strlen(keyword);
	struct span line;

	if (r->status != PARSE_OK || r->code != 250 || klen == 0)
		return false;
	/* RFC 5321 4.1.1.1: the first line is the domain and a greeting. */
	nl = memchr(p, '\n', (size_t)(end - p));
	while (nl != NULL) {
		p = nl + 1;
		nl = memchr(p, '\n', (size_t)(end - p));
		line = (struct span){ p, (size_t)((nl != NULL ? nl : end) - p) };
		if (line.len < klen || strncasecmp(line.ptr, keyword, klen) != 0)
			continue;
		if (line.len > klen && line.ptr[klen] != ' ')
			continue;
		if (params_out != NULL)
			*params_out = span_trim((struct span){ line.ptr + klen,
			    line.len - klen });
		return true;
	}
	return false;
}

void
smtp_resp_format(const struct smtp_resp *r, struct buf *out)
{
	const char *t = buf_cstr(&r->text);
	size_t i;
	char c;

	if (r->cls != 0) {
		if (buf_printf(out, "%03d %d.%d.%d", r->code, r->cls, r->subj,
		    r->det) == -1)
			return;
	} else if (buf_printf(out, "%03d", r->code) == -1) {
		return;
	}
	if (r->text.len == 0 || buf_append(out, " ", 1) == -1)
		return;
	for (i = 0; i < r->text.len; i++) {
		c = t[i];
		/* One line per record: no CR, LF or other control byte. */
		if (c == '\n')
			c = ' ';
		else if ((unsigned char)c < 0x20 || c == 0x7f)
			c = '?';
		if (buf_append(out, &c, 1) == -1)
			return;
	}
}
