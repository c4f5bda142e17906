/*
 * pop3_xfer: the byte-level conversion of a stored message into a POP3
 * multi-line response (RFC 1939 3 byte-stuffing, CRLF; RFC 1939 7 TOP).
 * One pass, constant state, bounded output per input byte: the session
 * streams a file of any size through it in fixed pieces.
 */
#include "pop3/pop3_xfer.h"

void
pop3_xfer_init(struct pop3_xfer *x, bool top, uint64_t lines)
{
	*x = (struct pop3_xfer){ .top = top, .at_bol = true,
	    .lines_left = lines };
}

/* One byte that is not the CR of a CRLF (the LF of one, or any other). */
static size_t
pop3_xfer_byte(struct pop3_xfer *x, char ch, char *out)
{
	size_t o = 0;

	if (x->at_bol) {
		if (x->top && x->in_body) {
			/* A new body line: send it only while the count lasts. */
			if (x->lines_left == 0) {
				x->done = true;
				return 0;
			}
			x->lines_left--;
		} else if (x->top && ch == '\n') {
			/* The blank line that ends the header (RFC 5322 2.1). */
			x->in_body = true;
		}
		/* RFC 1939 3: a line starting with "." gets another. */
		if (ch == '.')
			out[o++] = '.';
	}
	if (ch == '\n') {
		out[o++] = '\r';
		out[o++] = '\n';
		x->at_bol = true;
	} else {
		out[o++] = ch;
		x->at_bol = false;
	}
	return o;
}

size_t
pop3_xfer_feed(struct pop3_xfer *x, const char *in, size_t n, char *out)
{
	size_t o = 0;

	for (size_t i = 0; i < n && !x->done; i++) {
		char ch = in[i];

		if (x->held_cr) {
			x->held_cr = false;
			/* A CR not before LF is a bare CR: pass it on. */
			if (ch != '\n')
				o += pop3_xfer_byte(x, '\r', out + o);
			if (x->done)
				break;
		}
		if (ch == '\r') {
			x->held_cr = true;
			continue;
		}
		o += pop3_xfer_byte(x, ch, out + o);
	}
	return o;
}

size_t
pop3_xfer_finish(struct pop3_xfer *x, char *out)
{
	size_t o = 0;

	/* A CR that ends the file ends its last line. */
	if (x->held_cr && !x->done)
		o += pop3_xfer_byte(x, '\n', out);
	x->held_cr = false;
	/* A last line without LF still ends with CRLF before the ".". */
	if (!x->done && !x->at_bol) {
		out[o++] = '\r';
		out[o++] = '\n';
	}
	out[o++] = '.';
	out[o++] = '\r';
	out[o++] = '\n';
	x->done = true;
	return o;
}
