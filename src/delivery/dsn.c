/*
 * dsn: delivery status notifications (see dsn.h). RFC 3464 (the
 * message/delivery-status fields), RFC 6522 (multipart/report), RFC 3463
 * (status codes), RFC 6533 3 (utf-8-addr-xtext for addresses that are not
 * ASCII), RFC 3834 5 (Auto-Submitted). Everything from a peer or the
 * original message is cleaned before it reaches a field; the original
 * body is never quoted.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "core/ids.h"
#include "core/limits.h"
#include "core/xalloc.h"
#include "delivery/dsn.h"
#include "mime/mime_header.h"

#define DSN_REPLY_MAX		900	/* bytes of a reply quoted in a line: ours */
#define DSN_BOUNDARY_TRIES	8

/* Appends s cleaned: control bytes become SP; with ascii, bytes over 0x7e
 * become '?' (message/delivery-status is 7-bit); at most max bytes. */
static void
dsn_clean(struct buf *out, const char *s, size_t max, bool ascii)
{
	for (size_t i = 0; s != NULL && s[i] != '\0' && i < max; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f)
			c = ' ';
		else if (ascii && c > 0x7e)
			c = '?';
		buf_append(out, &c, 1);
	}
}

/* One UTF-8 character at s[0..n): its code point and length; an invalid
 * sequence is U+FFFD of length 1. */
static size_t
dsn_utf8_next(const unsigned char *s, size_t n, uint32_t *cp)
{
	size_t len;
	uint32_t v, min;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if ((s[0] & 0xe0) == 0xc0) {
		len = 2, v = s[0] & 0x1f, min = 0x80;
	} else if ((s[0] & 0xf0) == 0xe0) {
		len = 3, v = s[0] & 0x0f, min = 0x800;
	} else if ((s[0] & 0xf8) == 0xf0) {
		len = 4, v = s[0] & 0x07, min = 0x10000;
	} else {
		*cp = 0xfffd;
		return 1;
	}
	if (len > n) {
		*cp = 0xfffd;
		return 1;
	}
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80) {
			*cp = 0xfffd;
			return 1;
		}
		v = v << 6 | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates and values past Unicode are not text. */
	*cp = v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff) ? 0xfffd : v;
	return len;
}

/*
 * An address-type and address (RFC 3464 2.3.2): "rfc822; addr" when it is
 * printable ASCII, else "utf-8; " with RFC 6533's utf-8-addr-xtext, where
 * '+', '=', '\' and every non-ASCII character are "\x{HEX}".
 */
static void
dsn_addr(struct buf *out, const char *addr)
{
	const unsigned char *p = (const unsigned char *)(addr != NULL ? addr : "");
	size_t n = strnlen((const char *)p, SMTP_PATH_MAX);

	if (mime_is_ascii((struct span){ (const char *)p, n })) {
		buf_append_str(out, "rfc822; ");
		dsn_clean(out, (const char *)p, n, true);
		return;
	}
	buf_append_str(out, "utf-8; ");
	for (size_t i = 0; i < n; ) {
		uint32_t cp;

		i += dsn_utf8_next(p + i, n - i, &cp);
		if (cp > 0x20 && cp < 0x7f && cp != '+' && cp != '=' && cp != '\\') {
			char c = (char)cp;

			buf_append(out, &c, 1);
		} else
			buf_printf(out, "\\x{%02" PRIX32 "}", cp);
	}
}

/* Is s an RFC 3463 code, class.subject.detail? */
static bool
dsn_status_ok(const char *s, size_t *len_out)
{
	size_t i = 0, n;

	if (s[0] != '2' && s[0] != '4' && s[0] != '5')
		return false;
	i = 1;
	for (int part = 0; part < 2; part++) {
		if (s[i++] != '.')
			return false;
		for (n = 0; s[i] >= '0' && s[i] <= '9'; i++)
			n++;
		if (n < 1 || n > 3)
			return false;
	}
	*len_out = i;
	return true;
}

void
dsn_status_from_reply(const char *reply, enum dsn_action action, char *out,
    size_t outlen)
{
	const char *r = reply != NULL ? reply : "";
	size_t len;

	if (strncasecmp(r, "smtp;", 5) == 0)
		r += 5;
	while (*r == ' ')
		r++;
	if (r[0] >= '2' && r[0] <= '5' && r[1] >= '0' && r[1] <= '9' &&
	    r[2] >= '0' && r[2] <= '9' && (r[3] == ' ' || r[3] == '-')) {
		if (dsn_status_ok(r + 4, &len) && r[4] == r[0] &&
		    (r[4 + len] == '\0' || r[4 + len] == ' ')) {
			snprintf(out, outlen, "%.*s", (int)len, r + 4);
			return;
		}
		if (r[0] == '4' || r[0] == '5') {
			snprintf(out, outlen, "%c.0.0", r[0]);
			return;
		}
	}
	snprintf(out, outlen, "%s", action == DSN_FAILED ? "5.0.0" : "4.0.0");
}

/* The original header section, at most DSN_HEADERS_MAX bytes, cut at a
 * line end, without the empty line that ends it; NUL bytes become SP. */
static int
dsn_read_headers(const struct dsn_request *req, struct buf *hdr)
{
	size_t want = DSN_HEADERS_MAX, got = 0, len;
	char *p;

	if (req->env->body_len < (uint64_t)want)
		want = (size_t)req->env->body_len;
	if (req->fd < 0 || want == 0)
		return 0;
	p = xmalloc(want);
	while (got < want) {
		ssize_t n = pread(req->fd, p + got, want - got,
		    (off_t)(req->env->body_off + got));

		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			free(p);
			return -1;
		}
		got += (size_t)n;
	}
	len = mime_header_section_len(p, got);
	while (len > 0 && (p[len - 1] == '\n' || p[len - 1] == '\r') &&
	    (len == 1 || p[len - 2] == '\n' || p[len - 2] == '\r'))
		len--;		/* the empty line */
	for (size_t i = 0; i < len; i++)
		if (p[i] == '\0')
			p[i] = ' ';
	buf_append(hdr, p, len);
	free(p);
	return 0;
}

static bool
dsn_any_failed(const struct dsn_request *req)
{
	for (size_t i = 0; i < req->nrcpts; i++)
		if (req->rcpts[i].action == DSN_FAILED)
			return true;
	return false;
}

/* The human part: who, and the reply; nothing of the message. */
static void
dsn_text(struct buf *t, const struct dsn_request *req)
{
	char date[MIME_DATE_LEN];
	size_t i;

	mime_header_date(date, sizeof(date), req->env->time);
	buf_append_str(t, "This is the mail system at host ");
	dsn_clean(t, req->hostname, SMTP_DOMAIN_MAX, true);
	buf_append_str(t, ".\n\n");
	if (dsn_any_failed(req))
		buf_append_str(t, "Your message could not be delivered to one or"
		    " more recipients.\nIt has been returned; the reasons are"
		    " below.\n\n");
	else
		buf_append_str(t, "Your message has not been delivered yet to one"
		    " or more recipients.\nDelivery will be tried again: you do"
		    " not need to send it again.\n\n");
	buf_printf(t, "The message was received on %s\n(queue id %s);"
	    " its headers are attached.\n\n", date, req->env->id);
	for (i = 0; i < req->nrcpts && i < DSN_TEXT_RCPTS_MAX; i++) {
		const struct dsn_rcpt *r = &req->rcpts[i];
		const char *who = r->orig != NULL && r->orig[0] != '\0' ? r->orig : r->final;

		buf_append_str(t, "<");
		dsn_clean(t, who, SMTP_PATH_MAX, false);
		buf_append_str(t, r->action == DSN_FAILED ? ">: failed\n" : ">: delayed\n");
		if (r->remote_mta != NULL && r->remote_mta[0] != '\0') {
			buf_append_str(t, "    host ");
			dsn_clean(t, r->remote_mta, SMTP_DOMAIN_MAX, false);
			buf_append_str(t, " said:\n");
		}
		buf_append_str(t, "    ");
		if (r->reply != NULL && r->reply[0] != '\0')
			dsn_clean(t, r->reply, DSN_REPLY_MAX, false);
		else
			buf_append_str(t, "(no reply recorded)");
		buf_append_str(t, "\n\n");
	}
	if (i < req->nrcpts)
		buf_printf(t, "... and %zu more recipients (see the delivery"
		    " report).\n", req->nrcpts - i);
}

/* One field through mime_header_put (cleaned, folded). */
static void
dsn_field(struct buf *out, const char *name, const struct buf *value)
{
	mime_header_put(out, name, (struct span){ buf_cstr(value), value->len });
}

/* RFC 3464 2.3: the fields of one recipient. */
static void
dsn_rcpt_fields(struct buf *s, const struct dsn_rcpt *r)
{
	char status[16], date[MIME_DATE_LEN];
	struct buf v;
	size_t len;

	buf_init(&v, 4096);
	if (r->orig != NULL && r->orig[0] != '\0' &&
	    strcasecmp(r->orig, r->final != NULL ? r->final : "") != 0) {
		dsn_addr(&v, r->orig);
		dsn_field(s, "Original-Recipient", &v);
		buf_reset(&v);
	}
	dsn_addr(&v, r->final);
	dsn_field(s, "Final-Recipient", &v);
	buf_append_str(s, r->action == DSN_FAILED ? "Action: failed\n" :
	    "Action: delayed\n");
	if (r->status != NULL && dsn_status_ok(r->status, &len) &&
	    r->status[len] == '\0')
		snprintf(status, sizeof(status), "%s", r->status);
	else
		dsn_status_from_reply(r->reply, r->action, status, sizeof(status));
	buf_printf(s, "Status: %s\n", status);
	if (r->remote_mta != NULL && r->remote_mta[0] != '\0') {
		buf_reset(&v);
		buf_append_str(&v, "dns; ");
		dsn_clean(&v, r->remote_mta, SMTP_DOMAIN_MAX, true);
		dsn_field(s, "Remote-MTA", &v);
	}
	if (r->reply != NULL && r->reply[0] != '\0') {
		const char *t = r->reply;

		buf_reset(&v);
		if (strncasecmp(t, "smtp;", 5) == 0)
			t += 5;
		while (*t == ' ')
			t++;
		/* RFC 3464 2.3.6: "smtp" is for replies with a code. */
		buf_append_str(&v, t[0] >= '2' && t[0] <= '5' ? "smtp; " : "x-postern; ");
		dsn_clean(&v, t, DSN_REPLY_MAX, true);
		dsn_field(s, "Diagnostic-Code", &v);
	}
	if (r->last_attempt > 0) {
		mime_header_date(date, sizeof(date), r->last_attempt);
		buf_printf(s, "Last-Attempt-Date: %s\n", date);
	}
	if (r->action == DSN_DELAYED && r->will_retry_until > 0) {
		mime_header_date(date, sizeof(date), r->will_retry_until);
		buf_printf(s, "Will-Retry-Until: %s\n", date);
	}
	buf_free(&v);
}

/* The message/delivery-status part (RFC 3464 2.1): per-message fields,
 * then one group per recipient, groups separated by an empty line. */
static void
dsn_status_part(struct buf *s, const struct dsn_request *req)
{
	char date[MIME_DATE_LEN];
	struct buf v;

	buf_init(&v, 1024);
	buf_append_str(&v, "dns; ");
	dsn_clean(&v, req->hostname, SMTP_DOMAIN_MAX, true);
	dsn_field(s, "Reporting-MTA", &v);
	buf_free(&v);
	buf_printf(s, "X-Postern-Queue-ID: %s\n", req->env->id);
	mime_header_date(date, sizeof(date), req->env->time);
	buf_printf(s, "Arrival-Date: %s\n", date);
	for (size_t i = 0; i < req->nrcpts; i++) {
		buf_append_str(s, "\n");
		dsn_rcpt_fields(s, &req->rcpts[i]);
	}
}

/* A boundary found in none of the parts (RFC 2046 5.1.1: it must not
 * appear inside). "=_" cannot occur in base64 or quoted-printable. */
static int
dsn_boundary(char *out, size_t outlen, const char *id, const struct buf *const *parts,
    size_t nparts)
{
	for (int t = 0; t < DSN_BOUNDARY_TRIES; t++) {
		uint8_t r[8];
		bool clash = false;

		ids_random(r, sizeof(r));
		snprintf(out, outlen, "=_%s/%02x%02x%02x%02x%02x%02x%02x%02x", id,
		    r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]);
		for (size_t i = 0; i < nparts && !clash; i++)
			clash = parts[i]->len > 0 &&
			    memmem(parts[i]->data, parts[i]->len, out, strlen(out)) != NULL;
		if (!clash)
			return 0;
	}
	return -1;
}

static void
dsn_headers(struct buf *out, const struct dsn_request *req, const char *boundary)
{
	char date[MIME_DATE_LEN];
	uint8_t r[6];
	struct buf v;

	buf_init(&v, 4096);
	buf_append_str(&v, "\"Mail Delivery System\" <MAILER-DAEMON@");
	dsn_clean(&v, req->hostname, SMTP_DOMAIN_MAX, true);
	buf_append_str(&v, ">");
	dsn_field(out, "From", &v);
	buf_reset(&v);
	buf_append_str(&v, "<");
	dsn_clean(&v, req->env->from, SMTP_PATH_MAX, false);
	buf_append_str(&v, ">");
	dsn_field(out, "To", &v);
	buf_printf(out, "Subject: %s\n", dsn_any_failed(req) ?
	    "Undelivered Mail Returned to Sender" :
	    "Delayed Mail (still being retried)");
	mime_header_date(date, sizeof(date), req->now);
	buf_printf(out, "Date: %s\n", date);
	ids_random(r, sizeof(r));
	buf_reset(&v);
	buf_printf(&v, "<%s.%02x%02x%02x%02x%02x%02x.dsn@", req->env->id,
	    r[0], r[1], r[2], r[3], r[4], r[5]);
	dsn_clean(&v, req->hostname, SMTP_DOMAIN_MAX, true);
	buf_append_str(&v, ">");
	dsn_field(out, "Message-ID", &v);
	buf_append_str(out, "Auto-Submitted: auto-replied\nMIME-Version: 1.0\n");
	buf_printf(out, "Content-Type: multipart/report; report-type=delivery-status;\n"
	    "\tboundary=\"%s\"\n\n", boundary);
	buf_append_str(out, "This is a MIME-encapsulated message.\n\n");
	buf_free(&v);
}

/* A part: its headers, an empty line, its content; 8bit when it must. */
static void
dsn_part(struct buf *out, const char *boundary, const char *type,
    const char *desc, const struct buf *body)
{
	struct span s = { buf_cstr(body), body->len };
	bool eight = false;

	for (size_t i = 0; i < s.len && !eight; i++)
		eight = (unsigned char)s.ptr[i] > 0x7e;
	buf_printf(out, "--%s\nContent-Type: %s\nContent-Description: %s\n",
	    boundary, type, desc);
	if (eight)
		buf_append_str(out, "Content-Transfer-Encoding: 8bit\n");
	buf_append_str(out, "\n");
	buf_append_span(out, s);
	if (s.len > 0 && s.ptr[s.len - 1] != '\n')
		buf_append_str(out, "\n");
	buf_append_str(out, "\n");
}

int
dsn_build(struct buf *out, const struct dsn_request *req, const char **err_out)
{
	struct buf text, status, hdr;
	const struct buf *parts[3] = { &text, &status, &hdr };
	char boundary[MIME_BOUNDARY_MAX + 1];
	int rc = -1;

	if (req->env->from == NULL || req->env->from[0] == '\0') {
		*err_out = "no DSN to the null sender";
		return -1;
	}
	if (req->nrcpts == 0) {
		*err_out = "no recipients to report";
		return -1;
	}
	buf_init(&text, DSN_SIZE_MAX);
	buf_init(&status, DSN_SIZE_MAX);
	buf_init(&hdr, DSN_HEADERS_MAX);
	if (dsn_read_headers(req, &hdr) == -1) {
		*err_out = "cannot read the original message";
		goto out;
	}
	dsn_text(&text, req);
	dsn_status_part(&status, req);
	if (dsn_boundary(boundary, sizeof(boundary), req->env->id, parts, 3) == -1) {
		*err_out = "no free MIME boundary";
		goto out;
	}
	dsn_headers(out, req, boundary);
	dsn_part(out, boundary, "text/plain; charset=utf-8", "Notification", &text);
	dsn_part(out, boundary, "message/delivery-status", "Delivery report", &status);
	if (hdr.len > 0)
		dsn_part(out, boundary, "text/rfc822-headers",
		    dsn_any_failed(req) ? "Undelivered message headers" :
		    "Delayed message headers", &hdr);
	buf_printf(out, "--%s--\n", boundary);
	if (text.overflowed || status.overflowed || out->overflowed) {
		*err_out = "DSN too large";
		goto out;
	}
	rc = 0;
out:
	buf_free(&text);
	buf_free(&status);
	buf_free(&hdr);
	return rc;
}
