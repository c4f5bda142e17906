/*
 * remote_body: a queued message (stored with LF line ends, SPEC 3) as the
 * DATA stream of RFC 5321 4.1.1.4: CRLF line ends, dot-stuffing (4.5.2),
 * and a last CRLF so that the terminator ".\r\n" starts a line. The
 * encoder is pure and streams; remote_body_scan() reads the file.
 */
#ifndef POSTERN_REMOTE_BODY_H
#define POSTERN_REMOTE_BODY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define REMOTE_BODY_CHUNK	(64 * 1024)	/* one pread(): ours */
/* Output room for n input bytes (encode) plus the end (finish). */
#define REMOTE_BODY_OUT_MAX(n)	(2 * (size_t)(n) + 2)

struct remote_body_enc {
	bool	 bol;	/* the next byte starts a line */
	bool	 cr;	/* a CR was held back: CRLF or bare CR, not known yet */
};

void	remote_body_init(struct remote_body_enc *e);
/*
 * Encodes len message bytes into out, which has room for
 * REMOTE_BODY_OUT_MAX(len) bytes; returns the bytes written. LF and CRLF
 * become CRLF; a bare CR (never in a queue file) becomes CRLF too, so no
 * byte sequence of the message can reach the peer as a line end other
 * than CRLF (SMTP smuggling). A line starting with '.' gets one more.
 * Input may be split anywhere.
 */
size_t	remote_body_encode(struct remote_body_enc *e, const char *in,
	    size_t len, char *out);
/* The end of the message: a CRLF unless it ended with one. 0 or 2 bytes. */
size_t	remote_body_finish(struct remote_body_enc *e, char *out);

/*
 * Reads len bytes of fd from off (pread, REMOTE_BODY_CHUNK at a time;
 * never the whole message in memory) and reports the size of the encoded
 * stream without the terminator (the SIZE of RFC 1870 4) and whether any
 * byte is >= 0x80 (RFC 6152 BODY=8BITMIME). 0, or -1 with errno (EIO for a
 * file shorter than len).
 */
int	remote_body_scan(int fd, uint64_t off, uint64_t len,
	    uint64_t *wire_len_out, bool *eightbit_out);

/*
 * pread() of exactly n bytes at off into out, retrying EINTR and short
 * reads. 0, or -1 with errno (EIO at an early end of file).
 */
int	remote_body_read(int fd, uint64_t off, char *out, size_t n);

#endif
