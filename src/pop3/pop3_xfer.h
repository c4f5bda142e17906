/*
 * pop3_xfer: turns a message as the store keeps it (LF line ends) into the
 * bytes of a POP3 multi-line response (RFC 1939 3): CRLF line ends, a "."
 * doubled at the start of a line, and for TOP (RFC 1939 7) the header, the
 * blank line and then only n lines of the body. Pure and incremental: the
 * session feeds it the file in pieces of any size, so it is unit-tested and
 * fuzzed alone.
 */
#ifndef POSTERN_POP3_XFER_H
#define POSTERN_POP3_XFER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Output of pop3_xfer_feed() for n input bytes is at most this: every byte
 * doubles at worst (LF -> CRLF, "." -> ".."), plus a CR held back from the
 * previous piece. */
#define POP3_XFER_OUT_MAX(n)	(2 * (size_t)(n) + 1)
/* Output of pop3_xfer_finish(): CRLF to end the last line, then ".",
 * CRLF (one spare byte). */
#define POP3_XFER_FINISH_MAX	6

struct pop3_xfer {
	bool		 top;		/* TOP: stop after `lines` body lines */
	bool		 in_body;	/* TOP: the blank line has been seen */
	bool		 at_bol;	/* the next byte starts a line */
	bool		 held_cr;	/* a CR that may be the start of CRLF */
	bool		 done;		/* TOP has all it wants: ignore the rest */
	uint64_t	 lines_left;	/* TOP: body lines still to send */
};

/* RETR: top false (lines ignored). TOP n: top true, lines n. */
void	pop3_xfer_init(struct pop3_xfer *x, bool top, uint64_t lines);

/*
 * Converts in[0..n) into out (room for POP3_XFER_OUT_MAX(n) bytes); returns
 * the bytes written. CRLF in the input stays CRLF (no CR is doubled); a
 * bare CR is passed on as it is. Once x->done, input is ignored (0).
 */
size_t	pop3_xfer_feed(struct pop3_xfer *x, const char *in, size_t n,
	    char *out);

/* End of input: a last line without LF (or ending in a lone CR) gets
 * CRLF, then the terminating ".\r\n". Writes at most
 * POP3_XFER_FINISH_MAX bytes; returns how many. */
size_t	pop3_xfer_finish(struct pop3_xfer *x, char *out);

#endif
