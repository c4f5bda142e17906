/*
 * imap_msg_addr: the ENVELOPE of a message (RFC 3501 7.4.2): its fields
 * as written (unfolded, never RFC 2047 decoded, as RFC 3501 says), and
 * its address fields taken apart per RFC 5322 3.4 (display names,
 * comments, quoted local parts, obsolete routes, groups) into
 * (name adl mailbox host) lists, at most IMAP_ENV_ADDR_MAX per field.
 * Lenient: junk is skipped, never an error.
 */
#include <string.h>

#include "imap/imap_msg_int.h"
#include "mime/mime_parse.h"

#define IMAP_ENV_ADDR_MAX	1000	/* addresses kept per field: ours */
#define IMAP_ENV_VALUE_MAX	(64 * 1024)	/* one field unfolded: ours */

enum imap_addr_type {
	IMAP_AT_END,
	IMAP_AT_WORD,		/* atom or dot-atom, obs-phrase dots included */
	IMAP_AT_QUOTED,		/* text: inside the quotes, escapes kept */
	IMAP_AT_DLIT,		/* "[...]", brackets included */
	IMAP_AT_SPECIAL,	/* c: one of < > @ , : ; */
};

struct imap_addr_tok {
	enum imap_addr_type	 type;
	struct span		 text;
	char			 c;
};

struct imap_addr_lex {
	struct span	 s;
	size_t		 i;
	struct span	 comment;	/* inside of the last comment passed */
};

struct imap_addr_ctx {
	struct buf	*out;
	struct buf	 phrase, local, dom, adl;
	size_t		 count;
};

static bool
imap_addr_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Skips a comment at s[i] == '(' (nesting bounded by the length). */
static size_t
imap_addr_comment(struct imap_addr_lex *lx, size_t i)
{
	size_t depth = 0, start = i + 1;

	for (; i < lx->s.len; i++) {
		char c = lx->s.ptr[i];

		if (c == '\\')
			i++;
		else if (c == '(')
			depth++;
		else if (c == ')' && --depth == 0)
			break;
	}
	if (i > lx->s.len)
		i = lx->s.len;
	lx->comment = span_trim((struct span){ lx->s.ptr + start,
	    (i < lx->s.len ? i : lx->s.len) - start });
	return i < lx->s.len ? i + 1 : i;
}

static struct imap_addr_tok
imap_addr_next(struct imap_addr_lex *lx)
{
	const struct span s = lx->s;
	struct imap_addr_tok t = { IMAP_AT_END, { NULL, 0 }, 0 };
	size_t i = lx->i, j;

	while (i < s.len && (imap_addr_blank(s.ptr[i]) || s.ptr[i] == '(' ||
	    s.ptr[i] == ')')) {
		if (s.ptr[i] == '(')
			i = imap_addr_comment(lx, i);
		else
			i++;	/* blanks, and a stray ')' */
	}
	if (i >= s.len) {
		lx->i = s.len;
		return t;
	}
	j = i + 1;
	if (strchr("<>@,:;", s.ptr[i]) != NULL) {
		t.type = IMAP_AT_SPECIAL;
		t.c = s.ptr[i];
	} else if (s.ptr[i] == '"' || s.ptr[i] == '[') {
		char close = s.ptr[i] == '"' ? '"' : ']';

		while (j < s.len && s.ptr[j] != close)
			j += s.ptr[j] == '\\' && j + 1 < s.len ? 2 : 1;
		if (close == '"') {
			t.type = IMAP_AT_QUOTED;
			t.text = (struct span){ s.ptr + i + 1, j - i - 1 };
		} else {
			t.type = IMAP_AT_DLIT;
			t.text = (struct span){ s.ptr + i,
			    (j < s.len ? j + 1 : j) - i };
		}
		if (j < s.len)
			j++;
	} else {
		while (j < s.len && !imap_addr_blank(s.ptr[j]) &&
		    strchr("()<>@,:;\"[", s.ptr[j]) == NULL)
			j++;
		t.type = IMAP_AT_WORD;
		t.text = (struct span){ s.ptr + i, j - i };
	}
	lx->i = j;
	return t;
}

static bool
imap_addr_is(struct imap_addr_tok t, char c)
{
	return t.type == IMAP_AT_SPECIAL && t.c == c;
}

/* RFC 5322 3.2.3 atext, and '.': a quoted local part made of these needs
 * no quotes. */
static bool
imap_addr_atext(struct span s)
{
	if (s.len == 0)
		return false;
	for (size_t i = 0; i < s.len; i++) {
		unsigned char c = (unsigned char)s.ptr[i];

		if (c <= 0x20 || c >= 0x7f || strchr("()<>[]:;@\\,\"", c) != NULL)
			return false;
	}
	return true;
}

/* A quoted string's text without its backslashes. */
static void
imap_addr_unquote(struct buf *b, struct span q)
{
	for (size_t i = 0; i < q.len; i++) {
		if (q.ptr[i] == '\\' && i + 1 < q.len)
			i++;
		(void)buf_append(b, q.ptr + i, 1);
	}
}

/* A word of a display name (words joined by SP, quotes removed) and of
 * a local part (as written, quotes kept unless not needed). */
static void
imap_addr_word(struct imap_addr_ctx *c, struct imap_addr_tok t)
{
	if (c->phrase.len > 0)
		(void)buf_append(&c->phrase, " ", 1);
	if (t.type == IMAP_AT_QUOTED) {
		imap_addr_unquote(&c->phrase, t.text);
		if (imap_addr_atext(t.text)) {
			(void)buf_append_span(&c->local, t.text);
		} else {
			(void)buf_append(&c->local, "\"", 1);
			(void)buf_append_span(&c->local, t.text);
			(void)buf_append(&c->local, "\"", 1);
		}
	} else {
		(void)buf_append_span(&c->phrase, t.text);
		(void)buf_append_span(&c->local, t.text);
	}
}

static void
imap_addr_emit(struct imap_addr_ctx *c, struct span name, struct span adl,
    struct span mbox, struct span host, bool group)
{
	struct buf *out = c->out;

	(void)buf_append(out, c->count == 0 ? "((" : "(", c->count == 0 ? 2 : 1);
	c->count++;
	imap_msg_nstr(out, name.ptr, name.len, true);
	(void)buf_append(out, " ", 1);
	imap_msg_nstr(out, adl.ptr, adl.len, true);
	(void)buf_append(out, " ", 1);
	if (mbox.len == 0 && !group)
		mbox = SPAN_LIT("MISSING_MAILBOX");
	/* A group's start has a name, "" if need be: NIL would end it. */
	imap_msg_nstr(out, mbox.ptr, mbox.len, !group);
	(void)buf_append(out, " ", 1);
	if (host.len == 0 && !group)
		host = SPAN_LIT("MISSING_DOMAIN");
	imap_msg_nstr(out, host.ptr, host.len, true);
	(void)buf_append(out, ")", 1);
}

static struct span
imap_addr_span(const struct buf *b)
{
	return (struct span){ buf_cstr(b), b->len };
}

/* A domain after '@': words and literals up to anything else. */
static struct imap_addr_tok
imap_addr_domain(struct imap_addr_lex *lx, struct buf *dom)
{
	struct imap_addr_tok t = imap_addr_next(lx);

	buf_reset(dom);
	while (t.type == IMAP_AT_WORD || t.type == IMAP_AT_DLIT) {
		(void)buf_append_span(dom, t.text);
		t = imap_addr_next(lx);
	}
	return t;
}

/* "<" [route ":"] local "@" domain ">": adl, local part and domain. */
static struct imap_addr_tok
imap_addr_angle(struct imap_addr_ctx *c, struct imap_addr_lex *lx)
{
	struct imap_addr_tok t = imap_addr_next(lx);

	buf_reset(&c->adl);
	buf_reset(&c->local);
	buf_reset(&c->dom);
	if (imap_addr_is(t, '@')) {	/* RFC 5322 4.4 obs-route */
		while (t.type != IMAP_AT_END && !imap_addr_is(t, ':') &&
		    !imap_addr_is(t, '>')) {
			if (t.type == IMAP_AT_SPECIAL)
				(void)buf_append(&c->adl, &t.c, 1);
			else
				(void)buf_append_span(&c->adl, t.text);
			t = imap_addr_next(lx);
		}
		if (imap_addr_is(t, ':'))
			t = imap_addr_next(lx);
	}
	while (t.type == IMAP_AT_WORD || t.type == IMAP_AT_QUOTED) {
		if (t.type == IMAP_AT_QUOTED && !imap_addr_atext(t.text)) {
			(void)buf_append(&c->local, "\"", 1);
			(void)buf_append_span(&c->local, t.text);
			(void)buf_append(&c->local, "\"", 1);
		} else {
			(void)buf_append_span(&c->local, t.text);
		}
		t = imap_addr_next(lx);
	}
	if (imap_addr_is(t, '@'))
		t = imap_addr_domain(lx, &c->dom);
	while (t.type != IMAP_AT_END && !imap_addr_is(t, '>'))
		t = imap_addr_next(lx);
	return imap_addr_next(lx);
}

/* Past junk to the next ',' or ';' or the end. */
static struct imap_addr_tok
imap_addr_skip(struct imap_addr_lex *lx, struct imap_addr_tok t)
{
	while (t.type != IMAP_AT_END && !imap_addr_is(t, ',') &&
	    !imap_addr_is(t, ';'))
		t = imap_addr_next(lx);
	return t;
}

/* One address (or a group's start) from lx; false at the end. */
static bool
imap_addr_one(struct imap_addr_ctx *c, struct imap_addr_lex *lx,
    bool *in_group)
{
	struct imap_addr_tok t;
	struct span none = { NULL, 0 };

	buf_reset(&c->phrase);
	buf_reset(&c->local);
	lx->comment = none;
	t = imap_addr_next(lx);
	while (t.type != IMAP_AT_END && !(t.type == IMAP_AT_SPECIAL &&
	    strchr("<:@,;", t.c) != NULL)) {
		if (t.type != IMAP_AT_SPECIAL)
			imap_addr_word(c, t);
		t = imap_addr_next(lx);
	}
	if (imap_addr_is(t, ':')) {
		if (!*in_group)
			imap_addr_emit(c, none, none, imap_addr_span(&c->phrase),
			    none, true);
		*in_group = true;
		return true;
	}
	if (imap_addr_is(t, '<')) {
		/* The phrase is the name; angle() leaves it alone. */
		t = imap_addr_skip(lx, imap_addr_angle(c, lx));
		imap_addr_emit(c, imap_addr_span(&c->phrase),
		    imap_addr_span(&c->adl),
		    imap_addr_span(&c->local), imap_addr_span(&c->dom), false);
	} else if (imap_addr_is(t, '@')) {
		t = imap_addr_skip(lx, imap_addr_domain(lx, &c->dom));
		/* "user@host (Name)": the comment names the address. */
		imap_addr_emit(c, lx->comment, none, imap_addr_span(&c->local),
		    imap_addr_span(&c->dom), false);
	} else if (c->local.len > 0) {
		imap_addr_emit(c, none, none, imap_addr_span(&c->local), none,
		    false);
	}
	if (imap_addr_is(t, ';') && *in_group) {
		imap_addr_emit(c, none, none, none, none, true);
		*in_group = false;
	}
	return t.type != IMAP_AT_END;
}

/* An address list, or NIL when it has none. */
static void
imap_addr_list(struct buf *out, struct span v)
{
	struct imap_addr_lex lx = { v, 0, { NULL, 0 } };
	struct imap_addr_ctx c = { .out = out };
	struct span none = { NULL, 0 };
	bool in_group = false;

	buf_init(&c.phrase, IMAP_ENV_VALUE_MAX);
	buf_init(&c.local, IMAP_ENV_VALUE_MAX);
	buf_init(&c.dom, IMAP_ENV_VALUE_MAX);
	buf_init(&c.adl, IMAP_ENV_VALUE_MAX);
	while (c.count < IMAP_ENV_ADDR_MAX && imap_addr_one(&c, &lx, &in_group))
		;
	if (in_group)
		imap_addr_emit(&c, none, none, none, none, true);
	(void)buf_append(out, c.count > 0 ? ")" : "NIL", c.count > 0 ? 1 : 3);
	buf_free(&c.phrase);
	buf_free(&c.local);
	buf_free(&c.dom);
	buf_free(&c.adl);
}

/* The field as an nstring: unfolded, as written. */
static void
imap_env_text(struct buf *out, const char *hdr, size_t len, const char *name,
    struct buf *tmp)
{
	struct span raw, v;

	if (!imap_msg_field(hdr, len, name, &raw)) {
		(void)buf_append(out, "NIL", 3);
		return;
	}
	v = imap_msg_unfold(tmp, raw);
	imap_msg_str(out, v.ptr, v.len);
}

/* The address field into out; false (nothing written) when it has none. */
static bool
imap_env_addrs(struct buf *out, const char *hdr, size_t len, const char *name,
    struct buf *tmp)
{
	struct span raw;
	size_t before = out->len;

	if (!imap_msg_field(hdr, len, name, &raw))
		return false;
	imap_addr_list(out, imap_msg_unfold(tmp, raw));
	if (out->len == before + 3 && memcmp(out->data + before, "NIL", 3) == 0) {
		out->len = before;
		out->data[before] = '\0';
		return false;
	}
	return true;
}

void
imap_msg_envelope_of(const char *hdr, size_t len, struct buf *out)
{
	static const char *const addrs[] = { "Sender", "Reply-To", "To", "Cc",
	    "Bcc" };
	struct buf tmp, from;

	buf_init(&tmp, IMAP_ENV_VALUE_MAX);
	buf_init(&from, (size_t)IMAP_ENV_ADDR_MAX * 4 * 1024);
	(void)buf_append(out, "(", 1);
	imap_env_text(out, hdr, len, "Date", &tmp);
	(void)buf_append(out, " ", 1);
	imap_env_text(out, hdr, len, "Subject", &tmp);
	(void)buf_append(out, " ", 1);
	if (!imap_env_addrs(&from, hdr, len, "From", &tmp))
		(void)buf_append(&from, "NIL", 3);
	(void)buf_append(out, from.data, from.len);
	for (size_t i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
		(void)buf_append(out, " ", 1);
		/* RFC 3501 7.4.2: Sender and Reply-To default to From. */
		if (!imap_env_addrs(out, hdr, len, addrs[i], &tmp))
			(void)buf_append(out, i < 2 ? from.data : "NIL",
			    i < 2 ? from.len : 3);
	}
	(void)buf_append(out, " ", 1);
	imap_env_text(out, hdr, len, "In-Reply-To", &tmp);
	(void)buf_append(out, " ", 1);
	imap_env_text(out, hdr, len, "Message-ID", &tmp);
	(void)buf_append(out, ")", 1);
	buf_free(&tmp);
	buf_free(&from);
}

int
imap_msg_envelope(struct imap_msg *m, struct buf *out)
{
	imap_msg_parse(m);
	imap_msg_envelope_of(m->data + m->ents[0].hdr_off, m->ents[0].hdr_len,
	    out);
	return out->overflowed ? -1 : 0;
}
