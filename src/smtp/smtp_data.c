/*
 * smtp_data: the DATA stream into message bytes (see smtp_data.h). Implements
 * the end of mail data of RFC 5321 4.1.1.4, the transparency procedure of
 * RFC 5321 4.5.2 and the CRLF-only rule of RFC 5321 2.3.8, which is what
 * stops SMTP smuggling ("\n.\n", "\r.\r" and friends are never terminators
 * here, they are errors). Size limits and what is stored are the session's.
 */
#include <string.h>

#include "smtp/smtp_data.h"

enum smtp_data_state {
	SMTP_DATA_S_BOL,	/* start of a line (or of DATA) */
	SMTP_DATA_S_TEXT,	/* inside a line */
	SMTP_DATA_S_CR,		/* inside a line, after CR */
	SMTP_DATA_S_DOT,	/* start of a line, after '.' */
	SMTP_DATA_S_DOT_CR,	/* start of a line, after ".\r" */
	SMTP_DATA_S_END,	/* terminator seen */
	SMTP_DATA_S_BARE,	/* bare CR or LF seen */
};

void
smtp_data_init(struct smtp_data_dec *d)
{
	*d = (struct smtp_data_dec){ .state = SMTP_DATA_S_BOL };
}

/* Bytes are counted even when out is full, so the size check stays exact. */
static void
smtp_data_emit(struct smtp_data_dec *d, struct buf *out, const char *p,
    size_t n)
{
	if (n == 0)
		return;
	d->out_bytes += n;
	(void)buf_append(out, p, n);	/* on -1, out->overflowed is latched */
}

/*
 * Copies the run of ordinary bytes at *pp (stopping before CR or LF) in one
 * append. memchr() for the LF bounds the CR search, so every byte is looked
 * at twice at most, whatever the input.
 */
static void
smtp_data_run(struct smtp_data_dec *d, struct buf *out, const char **pp,
    const char *end)
{
	const char *p = *pp, *lf, *cr;

	lf = memchr(p, '\n', (size_t)(end - p));
	if (lf == NULL)
		lf = end;
	cr = memchr(p, '\r', (size_t)(lf - p));
	if (cr == NULL)
		cr = lf;
	smtp_data_emit(d, out, p, (size_t)(cr - p));
	*pp = cr;
}

static enum smtp_data_rc
smtp_data_stop(struct smtp_data_dec *d, int state, const char *in,
    const char *p, size_t *used_out)
{
	d->state = state;
	*used_out = (size_t)(p - in);
	d->in_bytes += *used_out;
	return state == SMTP_DATA_S_END ? SMTP_DATA_END : SMTP_DATA_BARE;
}

enum smtp_data_rc
smtp_data_feed(struct smtp_data_dec *d, const char *in, size_t len,
    struct buf *out, size_t *used_out)
{
	const char *p = in, *end = in + len;
	char c;

	*used_out = 0;
	if (d->state == SMTP_DATA_S_END)
		return SMTP_DATA_END;
	if (d->state == SMTP_DATA_S_BARE)
		return SMTP_DATA_BARE;
	if (len == 0)
		return SMTP_DATA_MORE;

	while (p < end) {
		switch (d->state) {
		case SMTP_DATA_S_BOL:
			if (*p == '.') {
				p++;
				d->state = SMTP_DATA_S_DOT;
				continue;
			}
			d->state = SMTP_DATA_S_TEXT;
			continue;
		case SMTP_DATA_S_DOT:
			if (*p == '\r') {
				p++;
				d->state = SMTP_DATA_S_DOT_CR;
				continue;
			}
			/* RFC 5321 4.5.2: drop the first dot, keep the rest. */
			d->state = SMTP_DATA_S_TEXT;
			continue;
		case SMTP_DATA_S_DOT_CR:
			if (*p != '\n')
				return smtp_data_stop(d, SMTP_DATA_S_BARE, in,
				    p + 1, used_out);
			return smtp_data_stop(d, SMTP_DATA_S_END, in, p + 1,
			    used_out);
		case SMTP_DATA_S_CR:
			if (*p != '\n')
				return smtp_data_stop(d, SMTP_DATA_S_BARE, in,
				    p + 1, used_out);
			p++;
			/* The CRLF before the final "." is the message's. */
			smtp_data_emit(d, out, "\n", 1);
			d->state = SMTP_DATA_S_BOL;
			continue;
		case SMTP_DATA_S_TEXT:
		default:
			smtp_data_run(d, out, &p, end);
			if (p == end)
				break;
			c = *p++;
			if (c == '\n')
				return smtp_data_stop(d, SMTP_DATA_S_BARE, in,
				    p, used_out);
			d->state = SMTP_DATA_S_CR;
			continue;
		}
	}
	*used_out = len;
	d->in_bytes += len;
	return SMTP_DATA_MORE;
}
