/*
 * remote_body: LF-form message to RFC 5321 DATA stream (see
 * remote_body.h): line ends (2.3.8), transparency (4.5.2), and the scan
 * that sizes the stream for SIZE= (RFC 1870) and finds 8-bit bytes
 * (RFC 6152). The terminator ".\r\n" is the client's to send.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/xalloc.h"
#include "delivery/remote_body.h"

void
remote_body_init(struct remote_body_enc *e)
{
	/* The start of DATA counts as the start of a line. */
	*e = (struct remote_body_enc){ .bol = true };
}

size_t
remote_body_encode(struct remote_body_enc *e, const char *in, size_t len,
    char *out)
{
	size_t o = 0;
	char c;

	for (size_t i = 0; i < len; i++) {
		c = in[i];
		if (e->cr) {
			/* The held CR ends a line, whatever follows it. */
			e->cr = false;
			out[o++] = '\r';
			out[o++] = '\n';
			e->bol = true;
			if (c == '\n')
				continue;
		}
		if (c == '\r') {
			e->cr = true;
			continue;
		}
		if (c == '\n') {
			out[o++] = '\r';
			out[o++] = '\n';
			e->bol = true;
			continue;
		}
		if (e->bol && c == '.')
			out[o++] = '.';	/* RFC 5321 4.5.2 */
		out[o++] = c;
		e->bol = false;
	}
	return o;
}

size_t
remote_body_finish(struct remote_body_enc *e, char *out)
{
	if (!e->cr && e->bol)
		return 0;
	e->cr = false;
	e->bol = true;
	out[0] = '\r';
	out[1] = '\n';
	return 2;
}

int
remote_body_read(int fd, uint64_t off, char *out, size_t n)
{
	size_t got = 0;
	ssize_t r;

	while (got < n) {
		r = pread(fd, out + got, n - got, (off_t)(off + got));
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			return -1;
		if (r == 0) {
			errno = EIO;	/* shorter than the queue file says */
			return -1;
		}
		got += (size_t)r;
	}
	return 0;
}

int
remote_body_scan(int fd, uint64_t off, uint64_t len, uint64_t *wire_len_out,
    bool *eightbit_out)
{
	char *in = xmalloc(REMOTE_BODY_CHUNK);
	char *out = xmalloc(REMOTE_BODY_OUT_MAX(REMOTE_BODY_CHUNK));
	struct remote_body_enc e;
	uint64_t pos = 0, wire = 0;
	bool eight = false;
	size_t n;
	int rc = 0;

	remote_body_init(&e);
	while (pos < len) {
		n = len - pos < REMOTE_BODY_CHUNK ? (size_t)(len - pos) :
		    REMOTE_BODY_CHUNK;
		if (remote_body_read(fd, off + pos, in, n) == -1) {
			rc = -1;
			break;
		}
		for (size_t i = 0; i < n && !eight; i++)
			eight = (unsigned char)in[i] >= 0x80;
		wire += remote_body_encode(&e, in, n, out);
		pos += n;
	}
	wire += remote_body_finish(&e, out);
	free(in);
	free(out);
	*wire_len_out = wire;
	*eightbit_out = eight;
	return rc;
}
