/*
 * mime_header: reading and writing RFC 5322 header fields (see
 * mime_header.h). Reading never trusts the message: every scan is bounded
 * by the caller's length and a malformed line is skipped, not fatal.
 * Writing never lets a value end its line: control bytes become SP.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "mime/mime_header.h"

#define MIME_B64_CHUNK	45	/* bytes per encoded word: 60 base64 + 12 = 72 <= 75 */

static bool
mime_is_blank(char c)
{
	return c == ' ' || c == '\t';
}

size_t
mime_header_section_len(const char *msg, size_t len)
{
	const char *p = msg, *end = msg + len, *nl;

	if (len > 0 && msg[0] == '\n')
		return 1;
	while (p < end && (nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		p = nl + 1;
		if (p < end && *p == '\n')
			return (size_t)(p - msg) + 1;
		if (p + 1 < end && p[0] == '\r' && p[1] == '\n')
			return (size_t)(p - msg) + 2;
	}
	return (size_t)(p - msg);
}

void
mime_header_iter_init(struct mime_header_iter *it, const char *hdr, size_t len)
{
	it->p = hdr;
	it->end = hdr + len;
}

/* The end of the line at p (its LF, or end). */
static const char *
mime_line_end(const char *p, const char *end)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));

	return nl != NULL ? nl : end;
}

/* RFC 5322 3.6.8 ftext: printable ASCII but ':'. */
static bool
mime_name_ok(struct span name)
{
	if (name.len == 0)
		return false;
	for (size_t i = 0; i < name.len; i++) {
		unsigned char c = (unsigned char)name.ptr[i];

		if (c < 33 || c > 126 || c == ':')
			return false;
	}
	return true;
}

bool
mime_header_next(struct mime_header_iter *it, struct span *name_out,
    struct span *value_out)
{
	while (it->p < it->end) {
		const char *line = it->p, *le = mime_line_end(line, it->end);
		const char *colon, *vend = le;
		struct span name;

		it->p = le < it->end ? le + 1 : it->end;
		if (le == line || (le == line + 1 && line[0] == '\r')) {
			it->p = it->end;	/* the empty line ends the section */
			return false;
		}
		if (mime_is_blank(line[0]))
			continue;		/* a continuation without a field */
		colon = memchr(line, ':', (size_t)(le - line));
		if (colon == NULL)
			continue;
		name = (struct span){ line, (size_t)(colon - line) };
		while (name.len > 0 && mime_is_blank(name.ptr[name.len - 1]))
			name.len--;		/* RFC 5322 4.5.1 obs: WSP before ':' */
		if (!mime_name_ok(name))
			continue;
		/* Continuation lines start with a blank (2.2.3). */
		while (it->p < it->end && mime_is_blank(*it->p)) {
			vend = mime_line_end(it->p, it->end);
			it->p = vend < it->end ? vend + 1 : it->end;
		}
		if (vend > colon + 1 && vend[-1] == '\r')
			vend--;
		*name_out = name;
		*value_out = (struct span){ colon + 1, (size_t)(vend - colon - 1) };
		return true;
	}
	return false;
}

int
mime_header_unfold(struct span raw, struct buf *out)
{
	size_t start = out->len, i;
	int rc = 0;

	for (i = 0; i < raw.len && rc == 0; i++) {
		unsigned char c = (unsigned char)raw.ptr[i];

		if (c == '\n')
			continue;
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			c = ' ';
		if (mime_is_blank((char)c) && out->len == start)
			continue;		/* leading blanks */
		rc = buf_append(out, &c, 1);
	}
	while (out->len > start && mime_is_blank(out->data[out->len - 1]))
		out->data[--out->len] = '\0';
	return rc;
}

bool
mime_header_get(const char *hdr, size_t len, const char *name, struct buf *out)
{
	struct mime_header_iter it;
	struct span n, v;
	size_t nlen = strlen(name);

	mime_header_iter_init(&it, hdr, len);
	while (mime_header_next(&it, &n, &v)) {
		if (n.len == nlen && strncasecmp(n.ptr, name, nlen) == 0) {
			(void)mime_header_unfold(v, out);
			return true;
		}
	}
	return false;
}

/* ---- writing ------------------------------------------------------------ */

/* Control bytes and DEL are written as SP: no value can end its line. */
static bool
mime_is_blankish(unsigned char c)
{
	return c < 0x20 || c == ' ' || c == 0x7f;
}

/* Appends one segment (blanks, then a word) of n clean bytes, breaking it
 * where it would pass the hard limit; *col is the current line's length. */
static void
mime_put_segment(struct buf *out, const char *s, size_t n, size_t *col)
{
	if (*col + n <= MIME_LINE_HARD_MAX) {
		buf_append(out, s, n);
		*col += n;
		return;
	}
	for (size_t i = 0; i < n; i++) {
		if (*col >= MIME_LINE_HARD_MAX) {
			buf_append(out, "\n ", 2);
			*col = 1;
		}
		buf_append(out, s + i, 1);
		(*col)++;
	}
}

int
mime_header_put(struct buf *out, const char *name, struct span value)
{
	char seg[MIME_LINE_HARD_MAX];
	size_t i = 0, col, n;

	while (value.len > 0 && mime_is_blankish((unsigned char)value.ptr[0]))
		value = (struct span){ value.ptr + 1, value.len - 1 };
	while (value.len > 0 &&
	    mime_is_blankish((unsigned char)value.ptr[value.len - 1]))
		value.len--;
	buf_printf(out, "%s:", name);
	col = strlen(name) + 1;
	if (value.len > 0) {
		buf_append(out, " ", 1);
		col++;
	}
	while (i < value.len) {
		n = 0;
		while (i < value.len && n < sizeof(seg) &&
		    mime_is_blankish((unsigned char)value.ptr[i]))
			seg[n++] = value.ptr[i++] == '\t' ? '\t' : ' ';
		while (i < value.len && n < sizeof(seg) &&
		    !mime_is_blankish((unsigned char)value.ptr[i]))
			seg[n++] = value.ptr[i++];
		/* Fold before the blanks (2.2.3) when the segment does not fit. */
		if (col + n > MIME_LINE_SOFT_MAX && col > 1 && mime_is_blank(seg[0])) {
			buf_append(out, "\n", 1);
			col = 0;
		}
		mime_put_segment(out, seg, n, &col);
	}
	buf_append(out, "\n", 1);
	return out->overflowed ? -1 : 0;
}

bool
mime_is_ascii(struct span s)
{
	for (size_t i = 0; i < s.len; i++) {
		unsigned char c = (unsigned char)s.ptr[i];

		if ((c < 0x20 && c != '\t') || c > 0x7e)
			return false;
	}
	return true;
}

static void
mime_b64(struct buf *out, const unsigned char *p, size_t n)
{
	static const char tbl[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char o[4];

	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)p[i] << 16;

		if (i + 1 < n)
			v |= (unsigned)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		o[0] = tbl[v >> 18 & 63];
		o[1] = tbl[v >> 12 & 63];
		o[2] = o[3] = '=';
		if (i + 1 < n)
			o[2] = tbl[v >> 6 & 63];
		if (i + 2 < n)
			o[3] = tbl[v & 63];
		buf_append(out, o, 4);
	}
}

int
mime_header_encode(struct buf *out, struct span text)
{
	const unsigned char *p = (const unsigned char *)text.ptr;
	size_t i = 0;

	if (mime_is_ascii(text))
		return buf_append(out, text.ptr, text.len);
	while (i < text.len) {
		size_t j = i + MIME_B64_CHUNK < text.len ? i + MIME_B64_CHUNK : text.len;

		/* Never split a UTF-8 character: back off its continuation bytes. */
		while (j < text.len && j > i + 1 && (p[j] & 0xc0) == 0x80)
			j--;
		if (i > 0)
			buf_append(out, " ", 1);
		buf_append_str(out, "=?UTF-8?B?");
		mime_b64(out, p + i, j - i);
		buf_append_str(out, "?=");
		i = j;
	}
	return out->overflowed ? -1 : 0;
}

void
mime_header_date(char *out, size_t outlen, int64_t t)
{
	static const char *const days[] = { "Sun", "Mon", "Tue", "Wed", "Thu",
	    "Fri", "Sat" };
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May",
	    "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL || tm.tm_wday < 0 || tm.tm_wday > 6 ||
	    tm.tm_mon < 0 || tm.tm_mon > 11) {
		snprintf(out, outlen, "Thu, 01 Jan 1970 00:00:00 +0000");
		return;
	}
	snprintf(out, outlen, "%s, %02d %s %04d %02d:%02d:%02d +0000",
	    days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900,
	    tm.tm_hour, tm.tm_min, tm.tm_sec);
}
