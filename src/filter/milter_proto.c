/*
 * milter_proto: packets of the milter protocol, version 6 (Sendmail's
 * libmilter mfdef.h): framing both ways, and the decoding of what a
 * milter answers, which is hostile input: every string must end in a NUL
 * inside its packet, every packet must hold exactly what its command
 * says, and a length past MILTER_PACKET_MAX is refused before anything is
 * buffered for it. Pure: no I/O (milter.c does the conversation).
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <string.h>

#include "filter/milter_proto.h"

/* Does n more bytes fit in out? Latches overflowed as buf_append would,
 * but before anything is written, so that a packet is whole or absent. */
static bool
milter_room(struct buf *out, size_t n)
{
	if (n > out->max || out->len > out->max - n) {
		out->overflowed = true;
		return false;
	}
	return true;
}

static void
milter_put_head(struct buf *out, char cmd, size_t len)
{
	uint32_t n = htonl((uint32_t)(len + 1));

	(void)buf_append(out, &n, sizeof(n));
	(void)buf_append(out, &cmd, 1);
}

int
milter_put(struct buf *out, char cmd, const void *data, size_t len)
{
	/* The length field counts the command byte too. */
	if (len >= UINT32_MAX || !milter_room(out, len + 5))
		return -1;
	milter_put_head(out, cmd, len);
	return buf_append(out, data, len);
}

int
milter_put_strs(struct buf *out, int cmd, ...)
{
	va_list ap;
	const char *s;
	size_t len = 0;

	va_start(ap, cmd);
	while ((s = va_arg(ap, const char *)) != NULL) {
		size_t n = strlen(s) + 1;

		if (n > UINT32_MAX - 1 - len) {
			va_end(ap);
			return -1;
		}
		len += n;
	}
	va_end(ap);
	if (len >= UINT32_MAX || !milter_room(out, len + 5))
		return -1;
	milter_put_head(out, (char)cmd, len);
	va_start(ap, cmd);
	while ((s = va_arg(ap, const char *)) != NULL)
		(void)buf_append(out, s, strlen(s) + 1);
	va_end(ap);
	return 0;
}

static uint32_t
milter_u32(const char *p)
{
	uint32_t n;

	memcpy(&n, p, sizeof(n));
	return ntohl(n);
}

int
milter_get(const char *in, size_t len, char *cmd, const char **data,
    size_t *dlen, size_t *used)
{
	uint32_t n;

	if (len < 4)
		return 0;
	n = milter_u32(in);
	/* Checked before waiting for the rest: a length alone must not make
	 * the caller buffer more than MILTER_PACKET_MAX. */
	if (n == 0 || n > MILTER_PACKET_MAX)
		return -1;
	if (len - 4 < n)
		return 0;
	*cmd = in[4];
	*data = in + 5;
	*dlen = n - 1;
	*used = 4 + (size_t)n;
	return 1;
}

int
milter_parse_optneg(const char *data, size_t dlen, struct milter_optneg *out)
{
	/* Bytes after the three words are the milter's macro lists
	 * (SMFIF_SETSYMLIST), which we never offer: ignored. */
	if (dlen < 12)
		return -1;
	out->version = milter_u32(data);
	out->actions = milter_u32(data + 4);
	out->protocol = milter_u32(data + 8);
	return 0;
}

/* The NUL-terminated string at *off into s; -1 when no NUL follows. */
static int
milter_str(const char *data, size_t dlen, size_t *off, struct span *s)
{
	const char *nul;

	if (*off >= dlen)
		return -1;
	nul = memchr(data + *off, '\0', dlen - *off);
	if (nul == NULL)
		return -1;
	*s = (struct span){ data + *off, (size_t)(nul - (data + *off)) };
	*off = (size_t)(nul - data) + 1;
	return 0;
}

int
milter_parse_reply(char cmd, const char *data, size_t dlen,
    struct milter_reply *out)
{
	size_t off = 0;

	memset(out, 0, sizeof(*out));
	out->cmd = cmd;
	switch (cmd) {
	case SMFIR_ACCEPT:
	case SMFIR_CONTINUE:
	case SMFIR_DISCARD:
	case SMFIR_REJECT:
	case SMFIR_TEMPFAIL:
	case SMFIR_PROGRESS:
	case SMFIR_SKIP:
		return dlen == 0 ? 0 : -1;
	case SMFIR_ADDHEADER:
		if (milter_str(data, dlen, &off, &out->a) == -1 ||
		    milter_str(data, dlen, &off, &out->b) == -1)
			return -1;
		break;
	case SMFIR_INSHEADER:
	case SMFIR_CHGHEADER:
		if (dlen < 4)
			return -1;
		out->index = milter_u32(data);
		off = 4;
		if (milter_str(data, dlen, &off, &out->a) == -1 ||
		    milter_str(data, dlen, &off, &out->b) == -1)
			return -1;
		break;
	case SMFIR_ADDRCPT_PAR:
		/* The ESMTP arguments may be left out (Postfix reads it so). */
		if (milter_str(data, dlen, &off, &out->a) == -1 ||
		    (off < dlen && milter_str(data, dlen, &off, &out->b) == -1))
			return -1;
		break;
	case SMFIR_ADDRCPT:
	case SMFIR_DELRCPT:
	case SMFIR_REPLYCODE:
	case SMFIR_QUARANTINE:
		if (milter_str(data, dlen, &off, &out->a) == -1)
			return -1;
		break;
	case SMFIR_REPLBODY:
		out->a = (struct span){ data, dlen };
		return 0;
	default:
		return -1;
	}
	/* Nothing may follow the last string: a confused or hostile
	 * milter, whose next packet we could not trust either. */
	return off == dlen ? 0 : -1;
}

static bool
milter_is_digit(char c)
{
	return c >= '0' && c <= '9';
}

bool
milter_reply_text_valid(struct span text)
{
	const char *p = text.ptr;

	if (text.len < 3 || (p[0] != '4' && p[0] != '5') ||
	    !milter_is_digit(p[1]) || !milter_is_digit(p[2]))
		return false;
	if (text.len == 3)
		return true;
	/*
	 * One line only: a multi-line reply (smfi_setmlreply, "550-...")
	 * would have to be relayed line by line, and its CR LF must never
	 * reach the client as text. So no '-' here.
	 */
	if (p[3] != ' ')
		return false;
	for (size_t i = 4; i < text.len; i++)
		if ((unsigned char)p[i] < 0x20 || (unsigned char)p[i] > 0x7e)
			return false;
	/* An enhanced code (RFC 3463) must be of the reply's class: "550
	 * 4.7.1" would say two things at once. */
	if (text.len >= 6 && milter_is_digit(p[4]) && p[5] == '.' &&
	    p[4] != p[0])
		return false;
	return true;
}
