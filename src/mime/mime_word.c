/*
 * mime_word: decoding RFC 2047 encoded words ("=?charset?B|Q?text?=") in
 * header values and file names. Lenient where clients are (a word inside
 * other text, blanks inside Q text, lower case hex): the filter must see
 * what a client may show. A malformed word is left as it is written.
 * Writing words is mime_header.c's business.
 */
#include <string.h>

#include "mime/mime_int.h"
#include "mime/mime_parse.h"

struct mime_word {
	struct span	 charset;	/* "*lang" included (RFC 2231 5) */
	struct span	 text;		/* the encoded text */
	char		 enc;		/* 'B' or 'Q' */
	size_t		 end;		/* offset just past "?=" */
};

static bool
mime_word_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* The next '?' in s[i..len), or len. */
static size_t
mime_word_qmark(struct span s, size_t i)
{
	const char *q = i < s.len ? memchr(s.ptr + i, '?', s.len - i) : NULL;

	return q != NULL ? (size_t)(q - s.ptr) : s.len;
}

/*
 * Is there a word at s[i] ("=?" already seen)? Scans to at most the third
 * '?' after i, so a run of "=?" costs linear time overall.
 */
static bool
mime_word_parse(struct span s, size_t i, struct mime_word *w)
{
	size_t cs = i + 2, q1, q3;

	q1 = mime_word_qmark(s, cs);
	if (q1 == cs || q1 + 3 >= s.len || s.ptr[q1 + 2] != '?')
		return false;
	for (size_t k = cs; k < q1; k++)
		if (mime_word_blank(s.ptr[k]) || (unsigned char)s.ptr[k] < 0x20)
			return false;
	w->enc = (char)(s.ptr[q1 + 1] & ~0x20);
	if (w->enc != 'B' && w->enc != 'Q')
		return false;
	q3 = mime_word_qmark(s, q1 + 3);
	if (q3 + 1 >= s.len || s.ptr[q3 + 1] != '=')
		return false;
	w->charset = (struct span){ s.ptr + cs, q1 - cs };
	w->text = (struct span){ s.ptr + q1 + 3, q3 - q1 - 3 };
	w->end = q3 + 2;
	return true;
}

/* B text: the alphabet, then '=' padding only. */
static bool
mime_word_b_ok(struct span t)
{
	size_t i = 0;

	while (i < t.len && (t.ptr[i] == '+' || t.ptr[i] == '/' ||
	    (t.ptr[i] >= '0' && t.ptr[i] <= '9') ||
	    ((t.ptr[i] | 0x20) >= 'a' && (t.ptr[i] | 0x20) <= 'z')))
		i++;
	while (i < t.len && t.ptr[i] == '=')
		i++;
	return i == t.len;
}

/* Q text (RFC 2047 4.2): '_' is SP, "=XX" a byte, a stray '=' kept. */
static void
mime_word_q(struct span t, struct buf *raw)
{
	for (size_t i = 0; i < t.len; i++) {
		char c = t.ptr[i];
		int hi, lo;

		if (c == '_')
			c = ' ';
		else if (c == '=' && i + 2 < t.len &&
		    (hi = mime_hexval((unsigned char)t.ptr[i + 1])) >= 0 &&
		    (lo = mime_hexval((unsigned char)t.ptr[i + 2])) >= 0) {
			c = (char)(hi << 4 | lo);
			i += 2;
		}
		(void)buf_append(raw, &c, 1);
	}
}

/* Appends the word's decoded text, converted to UTF-8 per its charset. */
static int
mime_word_decode(const struct mime_word *w, struct buf *out)
{
	struct buf raw;
	struct mime_b64 d;
	int rc;

	buf_init(&raw, w->text.len);
	if (w->enc == 'B') {
		mime_b64_init(&d);
		(void)mime_b64_feed(&d, w->text.ptr, w->text.len, &raw);
	} else
		mime_word_q(w->text, &raw);
	rc = mime_charset_append(mime_charset_of(w->charset), buf_cstr(&raw),
	    raw.len, out);
	buf_free(&raw);
	return rc;
}

static bool
mime_word_all_blank(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!mime_word_blank(p[i]))
			return false;
	return true;
}

int
mime_decode_words(struct span text, struct buf *out)
{
	struct mime_word w;
	size_t i = 0, lit = 0;
	bool after_word = false;
	int rc = 0;

	while (i + 1 < text.len) {
		const char *eq = memchr(text.ptr + i, '=', text.len - i - 1);

		if (eq == NULL)
			break;
		i = (size_t)(eq - text.ptr);
		if (text.ptr[i + 1] != '?' || !mime_word_parse(text, i, &w) ||
		    (w.enc == 'B' && !mime_word_b_ok(w.text))) {
			i++;
			continue;
		}
		/* RFC 2047 6.2: blanks between two words are not displayed. */
		if (!after_word || !mime_word_all_blank(text.ptr + lit, i - lit))
			rc |= buf_append(out, text.ptr + lit, i - lit);
		rc |= mime_word_decode(&w, out);
		i = lit = w.end;
		after_word = true;
	}
	rc |= buf_append(out, text.ptr + lit, text.len - lit);
	return rc != 0 || out->overflowed ? -1 : 0;
}
