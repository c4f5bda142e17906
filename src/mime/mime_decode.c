/*
 * mime_decode: the streaming content decoders of RFC 2045 (6.7
 * quoted-printable, 6.8 base64) and the charset step shared by RFC 2047
 * words and RFC 2231 parameters. Input comes in pieces split anywhere;
 * each decoder keeps a few bytes of state between them. Output goes
 * through a small stack array so that a buf grows in large steps.
 */
#include <string.h>

#include "mime/mime_int.h"
#include "mime/mime_parse.h"

#define MIME_OUT_CHUNK	2048	/* decoded bytes gathered per buf_append */

/* Base64 digit values + 1: 0 is "not in the alphabet". */
static const unsigned char mime_b64_tbl[256] = {
	['A'] = 1, ['B'] = 2, ['C'] = 3, ['D'] = 4, ['E'] = 5, ['F'] = 6,
	['G'] = 7, ['H'] = 8, ['I'] = 9, ['J'] = 10, ['K'] = 11, ['L'] = 12,
	['M'] = 13, ['N'] = 14, ['O'] = 15, ['P'] = 16, ['Q'] = 17, ['R'] = 18,
	['S'] = 19, ['T'] = 20, ['U'] = 21, ['V'] = 22, ['W'] = 23, ['X'] = 24,
	['Y'] = 25, ['Z'] = 26, ['a'] = 27, ['b'] = 28, ['c'] = 29, ['d'] = 30,
	['e'] = 31, ['f'] = 32, ['g'] = 33, ['h'] = 34, ['i'] = 35, ['j'] = 36,
	['k'] = 37, ['l'] = 38, ['m'] = 39, ['n'] = 40, ['o'] = 41, ['p'] = 42,
	['q'] = 43, ['r'] = 44, ['s'] = 45, ['t'] = 46, ['u'] = 47, ['v'] = 48,
	['w'] = 49, ['x'] = 50, ['y'] = 51, ['z'] = 52, ['0'] = 53, ['1'] = 54,
	['2'] = 55, ['3'] = 56, ['4'] = 57, ['5'] = 58, ['6'] = 59, ['7'] = 60,
	['8'] = 61, ['9'] = 62, ['+'] = 63, ['/'] = 64,
};

int
mime_hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

void
mime_b64_init(struct mime_b64 *d)
{
	*d = (struct mime_b64){ 0 };
}

/*
 * Four digits at once while the quantum is empty: nearly all of a
 * well-formed body, a line of 76 digits at a time. Returns where it
 * stopped: junk, a line end, the end of in, or o full.
 */
static size_t
mime_b64_quads(const unsigned char *s, size_t i, size_t len, unsigned char *o,
    size_t *n, size_t omax)
{
	while (len - i >= 4 && *n + 3 <= omax) {
		unsigned a = mime_b64_tbl[s[i]], b = mime_b64_tbl[s[i + 1]];
		unsigned c = mime_b64_tbl[s[i + 2]], d = mime_b64_tbl[s[i + 3]];
		unsigned v;

		if (a == 0 || b == 0 || c == 0 || d == 0)
			break;
		v = ((a - 1) << 18) + ((b - 1) << 12) + ((c - 1) << 6) + (d - 1);
		o[(*n)++] = (unsigned char)(v >> 16);
		o[(*n)++] = (unsigned char)(v >> 8);
		o[(*n)++] = (unsigned char)v;
		i += 4;
	}
	return i;
}

/*
 * Then one digit at a time around junk and line ends. A '=' ends the
 * quantum; decoding goes on after it, as several clients do with
 * concatenated base64: a filter had better see what they may show.
 */
int
mime_b64_feed(struct mime_b64 *d, const char *in, size_t len, struct buf *out)
{
	const unsigned char *s = (const unsigned char *)in;
	unsigned char o[MIME_OUT_CHUNK];
	size_t i = 0, n = 0;
	int rc = 0;

	while (i < len) {
		unsigned v;

		if (n > sizeof(o) - 3) {
			rc |= buf_append(out, o, n);
			n = 0;
		}
		if (d->nbits == 0) {
			size_t k = mime_b64_quads(s, i, len, o, &n, sizeof(o));

			if (k > i) {
				i = k;
				continue;
			}
		}
		v = mime_b64_tbl[s[i++]];
		if (v == 0) {
			if (s[i - 1] == '=') {
				d->done = true;
				d->acc = 0;
				d->nbits = 0;
			}
			continue;
		}
		d->acc = (d->acc << 6 | (v - 1)) & 0xffffff;
		d->nbits += 6;
		if (d->nbits >= 8) {
			d->nbits -= 8;
			o[n++] = (unsigned char)(d->acc >> d->nbits);
			d->acc &= (1u << d->nbits) - 1;
		}
	}
	if (n > 0)
		rc |= buf_append(out, o, n);
	return rc;
}

void
mime_qp_init(struct mime_qp *d)
{
	*d = (struct mime_qp){ 0 };
}

/* The output gathered by a QP feed: a stack array, spilled into a buf. */
struct mime_qp_out {
	unsigned char	 o[MIME_OUT_CHUNK];
	size_t		 n;
	struct buf	*out;
	int		 rc;
};

static void
mime_qp_put(struct mime_qp_out *w, const char *p, size_t n)
{
	if (n == 0)
		return;
	if (w->n + n > sizeof(w->o)) {
		w->rc |= buf_append(w->out, w->o, w->n);
		w->n = 0;
	}
	if (n > sizeof(w->o)) {
		w->rc |= buf_append(w->out, p, n);
		return;
	}
	memcpy(w->o + w->n, p, n);
	w->n += n;
}

static bool
mime_qp_blank(char c)
{
	/* CR counts: "text \r\n" ends its line like "text \n" (CRLF input). */
	return c == ' ' || c == '\t' || c == '\r';
}

/* Held blanks turn out to be inside the line: they are content. */
static void
mime_qp_flush_blanks(struct mime_qp *d, struct mime_qp_out *w)
{
	mime_qp_put(w, d->blanks, d->nblanks);
	d->nblanks = 0;
}

/*
 * A byte after '=' (npend > 0). "=XX" is a byte; "=" LF, and "=" with
 * blanks then LF (RFC 2045 6.7 rule 3: blanks a gateway added), is a soft
 * line break. Anything else was not an escape: the '=' and what followed
 * are kept, and false asks the caller to read c again as plain text.
 */
static bool
mime_qp_escape(struct mime_qp *d, char c, struct mime_qp_out *w)
{
	int hi, lo;

	if (d->npend == 2) {
		hi = mime_hexval((unsigned char)d->pend[1]);
		lo = mime_hexval((unsigned char)c);
		d->npend = 0;
		if (hi >= 0 && lo >= 0) {
			char b = (char)(hi << 4 | lo);

			mime_qp_put(w, &b, 1);
			return true;
		}
		mime_qp_put(w, d->pend, 2);
		return false;
	}
	if (c == '\n') {
		d->npend = 0;
		d->nblanks = 0;
		return true;
	}
	if (mime_qp_blank(c) && d->nblanks < sizeof(d->blanks)) {
		d->blanks[d->nblanks++] = c;
		return true;
	}
	if (d->nblanks == 0 && mime_hexval((unsigned char)c) >= 0) {
		d->pend[1] = c;
		d->npend = 2;
		return true;
	}
	d->npend = 0;
	mime_qp_put(w, "=", 1);
	mime_qp_flush_blanks(d, w);
	return false;
}

/* Bytes that are not themselves: '=', blanks and CR (maybe padding), LF. */
static const unsigned char mime_qp_special[256] = {
	['='] = 1, [' '] = 1, ['\t'] = 1, ['\r'] = 1, ['\n'] = 1,
};

/*
 * The end of the run of plain bytes from in[i], copied in one go: blanks
 * belong to it when a plain byte follows them (they are not at a line
 * end), so that a line of words is one run, not one per word.
 */
static size_t
mime_qp_run(const char *in, size_t i, size_t len)
{
	while (i < len) {
		size_t k = i;

		if (!mime_qp_special[(unsigned char)in[i]]) {
			i++;
			continue;
		}
		while (k < len && (in[k] == ' ' || in[k] == '\t'))
			k++;
		if (k == i || k == len ||
		    mime_qp_special[(unsigned char)in[k]])
			break;
		i = k + 1;
	}
	return i;
}

int
mime_qp_feed(struct mime_qp *d, const char *in, size_t len, struct buf *out)
{
	struct mime_qp_out w = { .out = out };
	size_t i = 0, j;

	while (i < len) {
		char c = in[i];

		if (d->npend > 0) {
			if (mime_qp_escape(d, c, &w))
				i++;
			continue;
		}
		if ((j = mime_qp_run(in, i, len)) > i) {
			mime_qp_flush_blanks(d, &w);
			mime_qp_put(&w, in + i, j - i);
			i = j;
			continue;
		}
		if (mime_qp_blank(c)) {
			/* A run longer than we hold is content, not padding. */
			if (d->nblanks == sizeof(d->blanks))
				mime_qp_flush_blanks(d, &w);
			d->blanks[d->nblanks++] = c;
		} else if (c == '\n') {
			d->nblanks = 0;		/* rule 3: trailing blanks go */
			mime_qp_put(&w, "\n", 1);
		} else {
			mime_qp_flush_blanks(d, &w);	/* c is '=' */
			d->pend[0] = '=';
			d->npend = 1;
		}
		i++;
	}
	if (w.n > 0)
		w.rc |= buf_append(out, w.o, w.n);
	return w.rc;
}

/*
 * The content's last line break belonged to the boundary that followed
 * (RFC 2046 5.1.1), so what is pending ends the last line: blanks go,
 * a lone '=' is a soft break, an incomplete "=X" is kept as it is.
 */
int
mime_qp_finish(struct mime_qp *d, struct buf *out)
{
	int rc = 0;

	if (d->npend == 2)
		rc = buf_append(out, d->pend, 2);
	mime_qp_init(d);
	return rc;
}

/* ---- charsets ----------------------------------------------------------- */

enum mime_charset
mime_charset_of(struct span name)
{
	static const char *const latin1[] = { "iso-8859-1", "iso8859-1",
	    "iso_8859-1", "iso-8859-1:1987", "iso_8859-1:1987", "latin1",
	    "latin-1", "l1", "iso-ir-100", "csisolatin1", "ibm819", "cp819",
	    "windows-1252", "cp1252", "x-cp1252" };
	const char *star = memchr(name.ptr, '*', name.len);

	/* RFC 2231 5: "charset*language" in an RFC 2047 word. */
	if (star != NULL)
		name.len = (size_t)(star - name.ptr);
	for (size_t i = 0; i < sizeof(latin1) / sizeof(latin1[0]); i++)
		if (span_eq_nocase(name, latin1[i]))
			return MIME_CS_LATIN1;
	return MIME_CS_ASIS;
}

/*
 * windows-1252 differs from latin-1 only in 0x80-0x9f (curly quotes,
 * the euro sign); file names and filter rules care about the ASCII
 * part, so both are read as latin-1: each byte is its code point.
 */
int
mime_charset_append(enum mime_charset cs, const char *p, size_t n,
    struct buf *out)
{
	unsigned char o[MIME_OUT_CHUNK];
	size_t i, k = 0;
	int rc = 0;

	if (cs == MIME_CS_ASIS)
		return buf_append(out, p, n);
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (k > sizeof(o) - 2) {
			rc |= buf_append(out, o, k);
			k = 0;
		}
		if (c < 0x80)
			o[k++] = c;
		else {
			o[k++] = (unsigned char)(0xc0 | c >> 6);
			o[k++] = (unsigned char)(0x80 | (c & 0x3f));
		}
	}
	if (k > 0)
		rc |= buf_append(out, o, k);
	return rc;
}
