/*
 * autoreply: RFC 3834 auto-replies (see autoreply.h). Section 2 (when not
 * to answer), 3.1 (the reply's fields), 5 (Auto-Submitted). The original
 * header section is peer input: it is only read through mime_header's
 * bounded walk, and nothing of it reaches the reply but a cleaned Subject
 * and message ids.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/ids.h"
#include "core/limits.h"
#include "delivery/autoreply.h"
#include "mime/mime_header.h"

#define AUTOREPLY_TOKEN_MAX	64

/* "mailer-daemon", "owner-*", "*-request": list software and bounces. */
static bool
autoreply_sender_is_robot(const char *from)
{
	const char *at = strrchr(from, '@');
	size_t n = at != NULL ? (size_t)(at - from) : strlen(from);
	const char *lp = from;

	/* A quoted local part ("owner-x"@...) is the same mailbox. */
	if (n >= 2 && lp[0] == '"' && lp[n - 1] == '"') {
		lp++;
		n -= 2;
	}
	if (n == 13 && strncasecmp(lp, "mailer-daemon", 13) == 0)
		return true;
	if (n >= 6 && strncasecmp(lp, "owner-", 6) == 0)
		return true;
	return n >= 8 && strncasecmp(lp + n - 8, "-request", 8) == 0;
}

/*
 * The first token of a structured value, after blanks and RFC 5322 3.2.2
 * comments (nested, with quoted pairs), up to a blank, '(' or ';'. An
 * unterminated comment or an over-long token gives "".
 */
static void
autoreply_first_token(struct span v, char *out, size_t outlen)
{
	size_t i = 0, n = 0, depth = 0;

	out[0] = '\0';
	while (i < v.len) {
		char c = v.ptr[i];

		if (depth > 0) {
			if (c == '\\')
				i++;
			else if (c == '(')
				depth++;
			else if (c == ')')
				depth--;
			i++;
		} else if (c == '(') {
			depth++;
			i++;
		} else if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
			i++;
		else
			break;
	}
	if (depth > 0)
		return;
	for (; i < v.len && n + 1 < outlen; i++, n++) {
		char c = v.ptr[i];

		if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '(' ||
		    c == ';')
			break;
		out[n] = c;
	}
	if (i < v.len && n + 1 >= outlen)
		n = 0;		/* too long to be a keyword we know */
	out[n] = '\0';
}

static bool
autoreply_name_is(struct span name, const char *lit)
{
	return span_eq_nocase(name, lit);
}

bool
autoreply_permitted(const char *env_from, const char *headers, size_t len)
{
	struct mime_header_iter it;
	struct span name, value;
	char tok[AUTOREPLY_TOKEN_MAX];

	if (env_from == NULL || env_from[0] == '\0' ||
	    autoreply_sender_is_robot(env_from))
		return false;
	if (len > HEADER_SCAN_MAX)
		len = HEADER_SCAN_MAX;
	mime_header_iter_init(&it, headers != NULL ? headers : "", headers != NULL ? len : 0);
	while (mime_header_next(&it, &name, &value)) {
		/* RFC 2369 and 2919: mail from a list. */
		if (span_startswith_nocase(name, "List-"))
			return false;
		if (autoreply_name_is(name, "Precedence")) {
			autoreply_first_token(value, tok, sizeof(tok));
			if (strcasecmp(tok, "bulk") == 0 || strcasecmp(tok, "list") == 0 ||
			    strcasecmp(tok, "junk") == 0)
				return false;
		}
		if (autoreply_name_is(name, "Auto-Submitted")) {
			autoreply_first_token(value, tok, sizeof(tok));
			if (strcasecmp(tok, "no") != 0)
				return false;
		}
	}
	return true;
}

/* ---- building ----------------------------------------------------------- */

/* Appends the msg-ids ("<...>", no blank or '<' inside) found in v to out,
 * separated by SP; peer text between them is dropped. */
static void
autoreply_msgids(struct buf *out, const char *v)
{
	const char *p = v, *e;

	while ((p = strchr(p, '<')) != NULL) {
		size_t n = strcspn(p + 1, "<> \t");

		e = p + 1 + n;
		if (*e == '>' && n > 0 && n < MIME_LINE_SOFT_MAX * 4) {
			if (out->len > 0)
				buf_append(out, " ", 1);
			buf_append(out, p, (size_t)(e - p) + 1);
			p = e + 1;
		} else
			p++;
	}
}

/* Keeps the last ids of refs so that it fits AUTOREPLY_REFS_MAX, cutting
 * in front of an id. */
static void
autoreply_refs_trim(struct buf *refs)
{
	const char *p;

	if (refs->len <= AUTOREPLY_REFS_MAX)
		return;
	p = strchr(refs->data + refs->len - AUTOREPLY_REFS_MAX, ' ');
	buf_consume(refs, p != NULL ? (size_t)(p - refs->data) + 1 : refs->len);
}

/* Subject: the user's own, or "Auto: " and the original's. */
static void
autoreply_subject(struct buf *out, const struct autoreply_msg *m)
{
	struct buf orig, s;

	buf_init(&s, 4096);
	if (m->subject != NULL && m->subject[0] != '\0') {
		mime_header_encode(&s, span_from_cstr(m->subject));
	} else {
		buf_init(&orig, 2048);
		if (m->headers != NULL)
			(void)mime_header_get(m->headers, m->headers_len, "Subject", &orig);
		buf_append_str(&s, "Auto: ");
		if (orig.len == 0)
			buf_append_str(&s, "(no subject)");
		else
			mime_header_encode(&s, (struct span){ orig.data, orig.len });
		buf_free(&orig);
	}
	mime_header_put(out, "Subject", (struct span){ buf_cstr(&s), s.len });
	buf_free(&s);
}

/* In-Reply-To and References (RFC 5322 3.6.4, RFC 3834 3.1.5). */
static void
autoreply_thread(struct buf *out, const struct autoreply_msg *m)
{
	struct buf v, id, refs;

	if (m->headers == NULL)
		return;
	buf_init(&v, SMTP_TEXT_LINE_MAX * 8);
	buf_init(&id, SMTP_TEXT_LINE_MAX);
	buf_init(&refs, SMTP_TEXT_LINE_MAX * 8);
	if (mime_header_get(m->headers, m->headers_len, "Message-ID", &v))
		autoreply_msgids(&id, buf_cstr(&v));
	/* The first id only: a Message-ID has one. */
	if (id.len > 0 && strchr(id.data, ' ') != NULL) {
		id.len = (size_t)(strchr(id.data, ' ') - id.data);
		id.data[id.len] = '\0';
	}
	if (id.len > 0) {
		buf_reset(&v);
		if (mime_header_get(m->headers, m->headers_len, "References", &v))
			autoreply_msgids(&refs, buf_cstr(&v));
		if (refs.len > 0)
			buf_append(&refs, " ", 1);
		buf_append(&refs, id.data, id.len);
		autoreply_refs_trim(&refs);
		mime_header_put(out, "In-Reply-To", (struct span){ id.data, id.len });
		mime_header_put(out, "References", (struct span){ refs.data, refs.len });
	}
	buf_free(&v);
	buf_free(&id);
	buf_free(&refs);
}

/* The body: LF line ends, no control bytes but TAB, lines within 998. */
static void
autoreply_body(struct buf *out, const char *text)
{
	size_t col = 0;

	for (const char *p = text != NULL ? text : ""; *p != '\0'; p++) {
		char c = *p;

		if (c == '\r') {
			if (p[1] == '\n')
				continue;	/* CRLF: the LF follows */
			c = '\n';
		} else if (((unsigned char)c < 0x20 && c != '\t' && c != '\n') ||
		    c == 0x7f)
			c = ' ';
		if (c != '\n' && col >= MIME_LINE_HARD_MAX) {
			buf_append(out, "\n", 1);
			col = 0;
		}
		buf_append(out, &c, 1);
		col = c == '\n' ? 0 : col + 1;
	}
	if (out->len > 0 && out->data[out->len - 1] != '\n')
		buf_append(out, "\n", 1);
}

static bool
autoreply_eight_bit(const char *s)
{
	for (; s != NULL && *s != '\0'; s++)
		if ((unsigned char)*s > 0x7e)
			return true;
	return false;
}

int
autoreply_build(struct buf *out, const struct autoreply_msg *m,
    const char **err_out)
{
	char date[MIME_DATE_LEN];
	uint8_t r[8];
	struct buf v;

	if (m->to == NULL || m->to[0] == '\0' || m->user == NULL || m->user[0] == '\0') {
		*err_out = m->to == NULL || m->to[0] == '\0' ?
		    "no auto-reply to the null sender" : "no user";
		return -1;
	}
	buf_init(&v, 4096);
	buf_printf(&v, "<%.*s>", SMTP_PATH_MAX, m->user);
	mime_header_put(out, "From", (struct span){ v.data, v.len });
	buf_reset(&v);
	buf_printf(&v, "<%.*s>", SMTP_PATH_MAX, m->to);
	mime_header_put(out, "To", (struct span){ v.data, v.len });
	autoreply_subject(out, m);
	mime_header_date(date, sizeof(date), m->now);
	buf_printf(out, "Date: %s\n", date);
	ids_random(r, sizeof(r));
	buf_reset(&v);
	buf_printf(&v, "<%02x%02x%02x%02x%02x%02x%02x%02x.%lld.auto@%.*s>", r[0],
	    r[1], r[2], r[3], r[4], r[5], r[6], r[7], (long long)m->now,
	    SMTP_DOMAIN_MAX, m->hostname != NULL ? m->hostname : "localhost");
	mime_header_put(out, "Message-ID", (struct span){ v.data, v.len });
	buf_free(&v);
	autoreply_thread(out, m);
	buf_append_str(out, "Auto-Submitted: auto-replied\nMIME-Version: 1.0\n"
	    "Content-Type: text/plain; charset=utf-8\n");
	buf_printf(out, "Content-Transfer-Encoding: %s\n\n",
	    autoreply_eight_bit(m->text) ? "8bit" : "7bit");
	autoreply_body(out, m->text);
	if (out->overflowed) {
		*err_out = "auto-reply too large";
		return -1;
	}
	return 0;
}
