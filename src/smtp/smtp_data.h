/*
 * smtp_data: the DATA byte stream (RFC 5321 4.1.1.4, 4.5.2) into message
 * bytes. Ends only at <CRLF>.<CRLF> (the start of DATA counts as a CRLF);
 * removes dot-stuffing; converts CRLF to LF for storage. Any bare CR or
 * bare LF is an error: the lever behind SMTP smuggling. Streaming: input
 * may be split anywhere. Pure.
 */
#ifndef POSTERN_SMTP_DATA_H
#define POSTERN_SMTP_DATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

enum smtp_data_rc {
	SMTP_DATA_MORE,		/* all input consumed, need more */
	SMTP_DATA_END,		/* terminator seen; *used_out bytes consumed */
	SMTP_DATA_BARE,		/* bare CR or LF: reply 521 and close */
};

struct smtp_data_dec {
	int		 state;		/* private */
	uint64_t	 out_bytes;	/* message bytes produced so far (LF form) */
	uint64_t	 in_bytes;	/* wire bytes consumed so far */
};

void	smtp_data_init(struct smtp_data_dec *d);
/*
 * Decodes up to len bytes of in, appending message bytes to out. Stops at
 * the terminator (SMTP_DATA_END, *used_out = bytes consumed including it;
 * the rest of in is the next pipelined command) or on error. When out
 * overflows its max the bytes are dropped but decoding goes on (the caller
 * checks out->overflowed and empties out between calls).
 */
enum smtp_data_rc smtp_data_feed(struct smtp_data_dec *d, const char *in,
	    size_t len, struct buf *out, size_t *used_out);

#endif
