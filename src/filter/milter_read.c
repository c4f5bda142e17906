/*
 * milter_read: the stored message (LF form, in the queue file) as the
 * milter protocol carries it: SMFIC_HEADER packets, one per field, then
 * SMFIC_BODY packets of at most MILTER_CHUNK bytes with CR LF line ends.
 * Reads with pread through a fixed window, so memory does not grow with
 * the message, its lines or its fields. The conversation is milter.c's.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/xalloc.h"
#include "filter/milter_int.h"

void
milter_reader_init(struct milter_reader *rd, int fd, uint64_t off,
    uint64_t len, bool leadspc)
{
	memset(rd, 0, sizeof(*rd));
	rd->fd = fd;
	rd->off = off;
	rd->len = len;
	rd->leadspc = leadspc;
	rd->win = xmalloc(MILTER_READ_WINDOW);
	/*
	 * libmilter refuses a packet of more than MILTER_CHUNK data bytes
	 * (its default MILTER_MAX_DATA_SIZE), so name\0value\0 must fit.
	 */
	buf_init(&rd->name, MILTER_READ_WINDOW);
	buf_init(&rd->value, MILTER_CHUNK);
	buf_init(&rd->chunk, MILTER_CHUNK);
}

void
milter_reader_free(struct milter_reader *rd)
{
	free(rd->win);
	rd->win = NULL;
	buf_free(&rd->name);
	buf_free(&rd->value);
	buf_free(&rd->chunk);
}

/* More of the message into the window, after what is unread. 0 or -1. */
static int
milter_reader_fill(struct milter_reader *rd)
{
	size_t want;
	ssize_t n;

	if (rd->wstart > 0) {
		memmove(rd->win, rd->win + rd->wstart, rd->wend - rd->wstart);
		rd->wend -= rd->wstart;
		rd->wstart = 0;
	}
	want = MILTER_READ_WINDOW - rd->wend;
	if (rd->len - rd->pos < want)
		want = (size_t)(rd->len - rd->pos);
	if (want == 0)
		return 0;
	do
		n = pread(rd->fd, rd->win + rd->wend, want,
		    (off_t)(rd->off + rd->pos));
	while (n == -1 && errno == EINTR);
	if (n <= 0) {
		rd->err = n == 0 ? "message file shorter than its length" :
		    strerror(errno);
		return -1;
	}
	rd->wend += (size_t)n;
	rd->pos += (uint64_t)n;
	return 0;
}

/* Offset in the message of the next unread byte. */
static uint64_t
milter_reader_at(const struct milter_reader *rd)
{
	return rd->pos - (rd->wend - rd->wstart);
}

/*
 * The next piece of the current line, consumed: up to its LF (not
 * included; *whole true), or as much of a longer line as the window
 * holds (*whole false). 1, 0 at the end of the message, or -1.
 */
static int
milter_reader_piece(struct milter_reader *rd, struct span *piece, bool *whole)
{
	for (;;) {
		const char *p = rd->win + rd->wstart;
		size_t avail = rd->wend - rd->wstart;
		const char *lf = memchr(p, '\n', avail);

		if (lf != NULL) {
			*piece = (struct span){ p, (size_t)(lf - p) };
			rd->wstart += piece->len + 1;
			*whole = true;
			return 1;
		}
		if (avail == MILTER_READ_WINDOW || rd->pos == rd->len) {
			if (avail == 0)
				return 0;
			*piece = (struct span){ p, avail };
			rd->wstart = rd->wend;
			/* A last line without LF is whole all the same. */
			*whole = rd->pos == rd->len;
			return 1;
		}
		if (milter_reader_fill(rd) == -1)
			return -1;
	}
}

/*
 * Adds to the field's value what fits in the packet. Known limit: the
 * rest of a field longer than MILTER_CHUNK is not shown to the milter
 * (libmilter would refuse the packet); the stored message keeps it whole.
 * NUL bytes are left out: the value travels as a C string.
 */
static void
milter_reader_add_value(struct milter_reader *rd, const char *p, size_t n)
{
	size_t room = MILTER_CHUNK - 2 - rd->name.len;

	for (size_t i = 0; i < n && rd->value.len < room; i++)
		if (p[i] != '\0')
			(void)buf_append(&rd->value, p + i, 1);
}

/* RFC 5322 3.6.8 ftext: printable ASCII but ':'. */
static bool
milter_reader_ftext(char c)
{
	return c >= 33 && c <= 126 && c != ':';
}

/*
 * Starts a field when line begins with "name:" (blanks before the colon
 * allowed, RFC 5322 4.5.3 obs-optional). false when it does not.
 */
static bool
milter_reader_field(struct milter_reader *rd, struct span line)
{
	size_t i = 0, j;

	while (i < line.len && i < MILTER_HEADER_NAME_MAX &&
	    milter_reader_ftext(line.ptr[i]))
		i++;
	for (j = i; j < line.len && (line.ptr[j] == ' ' || line.ptr[j] == '\t');)
		j++;
	if (i == 0 || j >= line.len || line.ptr[j] != ':')
		return false;
	buf_reset(&rd->name);
	buf_reset(&rd->value);
	(void)buf_append(&rd->name, line.ptr, i);
	j++;
	/* Sendmail drops the one space after the colon, unless the milter
	 * asked for the value as it is (SMFIP_HDR_LEADSPC). */
	if (!rd->leadspc && j < line.len && line.ptr[j] == ' ')
		j++;
	milter_reader_add_value(rd, line.ptr + j, line.len - j);
	rd->have_field = true;
	return true;
}

/* The field gathered, as a packet: 1, or 0 when there is none. */
static int
milter_reader_emit(struct milter_reader *rd, struct buf *pkt)
{
	if (!rd->have_field)
		return 0;
	rd->have_field = false;
	(void)milter_put_strs(pkt, SMFIC_HEADER, buf_cstr(&rd->name),
	    buf_cstr(&rd->value), (const char *)NULL);
	return 1;
}

int
milter_reader_header(struct milter_reader *rd, struct buf *pkt)
{
	struct span line;
	uint64_t start;
	bool whole;
	int rc;

	for (;;) {
		if (rd->header_done)
			return milter_reader_emit(rd, pkt);
		start = milter_reader_at(rd);
		if ((rc = milter_reader_piece(rd, &line, &whole)) == -1)
			return -1;
		if (rc == 0) {		/* a message of header only */
			rd->header_done = true;
			rd->body_pos = rd->len;
			continue;
		}
		if (rd->mid_line) {	/* more of a long line */
			rd->mid_line = !whole;
			milter_reader_add_value(rd, line.ptr, line.len);
			continue;
		}
		rd->mid_line = !whole;
		if (line.len == 0) {
			rd->header_done = true;
			rd->body_pos = milter_reader_at(rd);
		} else if ((line.ptr[0] == ' ' || line.ptr[0] == '\t') &&
		    rd->have_field) {
			/* Sendmail sends folded lines joined by a newline. */
			milter_reader_add_value(rd, "\n", 1);
			milter_reader_add_value(rd, line.ptr, line.len);
		} else if (rd->have_field) {
			/* The previous field is whole: it goes now, and this
			 * line starts the next one. line is still valid: the
			 * window has not moved. */
			rc = milter_reader_emit(rd, pkt);
			if (!milter_reader_field(rd, line)) {
				rd->header_done = true;
				rd->body_pos = start;
			}
			return rc;
		} else if (!milter_reader_field(rd, line)) {
			rd->header_done = true;
			rd->body_pos = start;
			rd->mid_line = false;
		}
	}
}

/* Body bytes into rd->chunk, each LF as CR LF, until it is full. 0 or -1. */
static int
milter_reader_convert(struct milter_reader *rd)
{
	struct buf *c = &rd->chunk;

	while (c->len < MILTER_CHUNK) {
		const char *p = rd->win + rd->wstart, *lf;
		size_t n = rd->wend - rd->wstart, room = MILTER_CHUNK - c->len;
		size_t run;

		if (n == 0) {
			if (rd->pos == rd->len)
				break;
			if (milter_reader_fill(rd) == -1)
				return -1;
			continue;
		}
		lf = memchr(p, '\n', n < room ? n : room);
		run = lf != NULL ? (size_t)(lf - p) : (n < room ? n : room);
		(void)buf_append(c, p, run);
		rd->wstart += run;
		if (lf == NULL)
			continue;
		if (room - run < 2)	/* CR LF goes whole into the next */
			break;
		(void)buf_append(c, "\r\n", 2);
		rd->wstart++;
	}
	return 0;
}

int
milter_reader_body(struct milter_reader *rd, struct buf *pkt)
{
	if (!rd->body_started) {
		/* The window may hold the first body line (read as a
		 * header line that was not one): start again from it. */
		rd->body_started = true;
		rd->wstart = rd->wend = 0;
		rd->pos = rd->body_pos;
	}
	buf_reset(&rd->chunk);
	if (milter_reader_convert(rd) == -1)
		return -1;
	if (rd->chunk.len == 0)
		return 0;
	(void)milter_put(pkt, SMFIC_BODY, rd->chunk.data, rd->chunk.len);
	return 1;
}
