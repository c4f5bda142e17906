/*
 * smtp_cmd_data: DATA (RFC 5321 4.1.1.4) from 354 to the durable 250.
 * Bytes stream from the socket through the decoder (smtp_data.c) into the
 * queue file; only the header section is held in memory, to prepend
 * Received: (RFC 5321 4.4, RFC 3848 protocol names) and, on submission,
 * Message-ID: and Date: when missing (RFC 6409 8). 250 is sent only after
 * the committer reports the file and its directory fsync'ed.
 */
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/uio.h>
#include <time.h>

#include "core/ids.h"
#include "core/limits.h"
#include "core/tls.h"
#include "core/xalloc.h"
#include "ipc/ipc_proto.h"
#include "mime/mime_header.h"
#include "queue/queue.h"
#include "smtp/smtp_checks.h"
#include "smtp/smtp_filter.h"
#include "smtp/smtp_session.h"

#define SMTP_DATA_OUT_MAX	(256 * 1024)

static void
smtp_data_rfc5322_date(char *out, size_t outlen, time_t t)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, outlen, "%a, %d %b %Y %H:%M:%S +0000", &tm);
}

/* The local mailboxes of the transaction, one a line (IK_TARGETS). */
static void
smtp_data_local_keys(const struct smtp_session *s, bool with_quota_only,
    struct buf *out)
{
	for (size_t i = 0; i < s->ntargets; i++) {
		const struct smtp_target *t = &s->targets[i];

		if (t->kind == QKIND_LOCAL && (!with_quota_only || t->quota > 0))
			buf_printf(out, "%s\n", t->key);
	}
}

/*
 * Opens the queue file. The size limit (limits.message_size, lowered by
 * the max_message_size of every local recipient's domain) came with the
 * RCPT replies, so DATA costs no round trip to the directory.
 */
void
smtp_data_make_env(struct smtp_session *s, struct queue_env *env)
{
	ids_queue(env->id);
	env->time = (int64_t)time(NULL);
	env->from = s->from;
	env->client = s->ip;
	env->helo = s->helo != NULL ? s->helo : (char *)"";
	env->auth = s->auth_user != NULL ? s->auth_user : (char *)"";
	/* For the require_spf policies of bounces and auto-replies. */
	if (smtp_checks_spf_word(s) != NULL)
		snprintf(env->spf, sizeof(env->spf), "%s", smtp_checks_spf_word(s));
	for (size_t i = 0; i < s->ntargets; i++)
		queue_env_add_rcpt(env, s->targets[i].kind, s->targets[i].orig,
		    s->targets[i].key);
}

void
smtp_cmd_data(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	struct queue_env env = { 0 };
	const char *err;

	(void)cmd;
	smtp_data_make_env(s, &env);
	s->qw = queue_writer_open(&env, &err);
	memcpy(s->queue_id, env.id, sizeof(env.id));
	/* The strings above are borrowed from the session. */
	env.from = env.client = env.helo = env.auth = NULL;
	queue_env_clear(&env);
	if (s->qw == NULL) {
		log_kv(&s->log, LOGL_ERROR, "queue_error", "detail", err, NULL);
		s->queue_id[0] = '\0';
		smtp_tempfail(s);
		return;
	}
	smtp_data_init(&s->dec);
	buf_init(&s->dout, SMTP_DATA_OUT_MAX);
	buf_init(&s->hdr, HEADER_SCAN_MAX);
	s->hdr_done = s->too_big = s->write_failed = false;
	smtp_filter_begin(s);
	smtp_session_set_state(s, SMTP_STATE_DATA);
	smtp_reply(s, 354, NULL, "End data with <CR><LF>.<CR><LF>");
}

static const char *
smtp_data_proto(const struct smtp_session *s)
{
	if (!s->esmtp)
		return "SMTP";
	if (s->auth_user != NULL)
		return s->tls ? "ESMTPSA" : "ESMTPA";
	return s->tls ? "ESMTPS" : "ESMTP";
}

/* Finds "Name:" at the start of a header line in hdr[0..len). */
static const char *
smtp_data_find_header(const char *hdr, size_t len, const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; i + n <= len; ) {
		if (strncasecmp(hdr + i, name, n) == 0)
			return hdr + i + n;
		const char *nl = memchr(hdr + i, '\n', len - i);

		if (nl == NULL)
			break;
		i = (size_t)(nl - hdr) + 1;
	}
	return NULL;
}

static void
smtp_data_note_msgid(struct smtp_session *s, const char *v, const char *end)
{
	const char *e;

	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	e = memchr(v, '\n', (size_t)(end - v));
	if (e == NULL)
		e = end;
	if (e - v > 256)
		e = v + 256;
	free(s->msgid);
	s->msgid = xstrndup(v, (size_t)(e - v));
}

/*
 * Does this Authentication-Results: value claim our authserv-id? RFC 8601
 * 5: a forged one must not reach the user, who trusts the results that
 * name this server.
 */
static bool
smtp_data_authres_ours(const struct smtp_session *s, struct span value)
{
	const char *host = s->cfg->hostname;
	struct buf v;
	size_t n = 0;
	bool ours;

	buf_init(&v, 2 * SMTP_DOMAIN_MAX);
	mime_header_unfold(value, &v);
	while (n < v.len && v.data[n] != ';' && v.data[n] != ' ' &&
	    v.data[n] != '\t' && v.data[n] != '(')
		n++;
	ours = n > 0 && n == strlen(host) && strncasecmp(v.data, host, n) == 0;
	buf_free(&v);
	return ours;
}

/* Writes the held header section h[0..len), leaving out forged results. */
static int
smtp_data_write_fields(struct smtp_session *s, const char *h, size_t len)
{
	struct mime_header_iter it;
	struct span name, value;
	const char *done = h, *end = h + len;

	mime_header_iter_init(&it, h, len);
	while (mime_header_next(&it, &name, &value)) {
		const char *fe = value.ptr + value.len;

		if (!span_eq_nocase(name, "Authentication-Results") ||
		    !smtp_data_authres_ours(s, value))
			continue;
		while (fe < end && *fe != '\n')	/* a tolerated CR */
			fe++;
		if (fe < end)
			fe++;
		if (queue_writer_write(s->qw, done, (size_t)(name.ptr - done)) == -1)
			return -1;
		done = fe;
		log_kv(&s->log, LOGL_INFO, "header_removed", "queue_id",
		    s->queue_id, "field", "Authentication-Results", NULL);
	}
	return queue_writer_write(s->qw, done, (size_t)(end - done));
}

/* Writes the trace and missing headers, then the held header section. */
static void
smtp_data_flush_header(struct smtp_session *s, size_t hdr_len)
{
	struct buf p;
	char date[64];
	time_t now = time(NULL);
	const char *mid;
	bool has_mid, has_date;

	mid = smtp_data_find_header(s->hdr.data, hdr_len, "Message-ID:");
	has_mid = mid != NULL;
	has_date = smtp_data_find_header(s->hdr.data, hdr_len, "Date:") != NULL;
	if (has_mid)
		smtp_data_note_msgid(s, mid, s->hdr.data + hdr_len);
	smtp_data_rfc5322_date(date, sizeof(date), now);
	buf_init(&p, 8192);
	buf_printf(&p, "Received: from %s (%s [%s])\n\tby %s with %s id %s",
	    s->helo != NULL ? s->helo : "unknown", smtp_checks_ptr(s), s->ip,
	    s->cfg->hostname,
	    smtp_data_proto(s), s->queue_id);
	if (s->tls)
		buf_printf(&p, "\n\t(using %s)",
		    tls_version_name(bufferevent_openssl_get_ssl(s->bev)));
	if (s->nrcpt == 1)
		buf_printf(&p, "\n\tfor <%s>", s->rcpt_text[0]);
	buf_printf(&p, "; %s\n", date);
	smtp_checks_headers(s, &p);
	if (smtp_session_is_submission(s)) {
		if (!has_mid) {
			free(s->msgid);
			s->msgid = xasprintf("<%s.%lld@%s>", s->queue_id,
			    (long long)now, s->cfg->hostname);
			buf_printf(&p, "Message-ID: %s\n", s->msgid);
		}
		if (!has_date)
			buf_printf(&p, "Date: %s\n", date);
	}
	if (queue_writer_write(s->qw, p.data, p.len) == -1 ||
	    smtp_data_write_fields(s, s->hdr.data, hdr_len) == -1 ||
	    queue_writer_write(s->qw, s->hdr.data + hdr_len,
	    s->hdr.len - hdr_len) == -1)
		s->write_failed = true;
	buf_free(&p);
	buf_free(&s->hdr);
	s->hdr_done = true;
}

/* Moves decoder output to the held header section or the queue file. */
static void
smtp_data_sink(struct smtp_session *s)
{
	if (s->dout.overflowed) {
		/* Bytes were dropped: this copy of the message is not whole. */
		s->write_failed = true;
		s->dout.overflowed = false;
	}
	if (s->dout.len == 0)
		return;
	if (s->dec.out_bytes > s->max_size && !s->too_big) {
		s->too_big = true;
		queue_writer_abort(&s->qw);
	}
	if (s->too_big || s->qw == NULL) {
		buf_reset(&s->dout);
		return;
	}
	smtp_filter_feed(s, s->dout.data, s->dout.len);
	if (s->hdr_done) {
		if (queue_writer_write(s->qw, s->dout.data, s->dout.len) == -1)
			s->write_failed = true;
	} else if (buf_append(&s->hdr, s->dout.data, s->dout.len) == -1) {
		/* A header section past HEADER_SCAN_MAX: stream it as it is. */
		size_t held = s->hdr.len;

		s->hdr.overflowed = false;
		smtp_data_flush_header(s, held);
		if (queue_writer_write(s->qw, s->dout.data, s->dout.len) == -1)
			s->write_failed = true;
	} else {
		const char *end = s->hdr.data[0] == '\n' ? s->hdr.data :
		    memmem(s->hdr.data, s->hdr.len, "\n\n", 2);

		if (end != NULL)
			smtp_data_flush_header(s, (size_t)(end - s->hdr.data) + 1);
	}
	buf_reset(&s->dout);
}

static void
smtp_data_committed(void *arg, int rc)
{
	struct smtp_session *s = arg;
	char reply[128];

	if (rc == 0) {
		snprintf(reply, sizeof(reply), "250 2.0.0 Ok: queued as %s",
		    s->queue_id);
		smtp_reply(s, 250, "2.0.0", "Ok: queued as %s", s->queue_id);
		if (s->srv->queued != NULL)
			s->srv->queued(s->srv->queued_arg, s->queue_id);
		smtp_filter_notify(s, FV_QUARANTINE);
	} else {
		snprintf(reply, sizeof(reply), "451 4.3.0 temporary failure");
		log_kv(&s->log, LOGL_ERROR, "queue_error", "queue_id", s->queue_id,
		    "detail", "commit failed", NULL);
		smtp_reply(s, 451, "4.3.0", "temporary failure, ref %s",
		    s->log.session);
	}
	smtp_session_log_tx(s, reply);
	smtp_session_reset_tx(s, NULL);
	smtp_session_resume(s);
}

static void
smtp_data_refuse(struct smtp_session *s, int code, const char *esc,
    const char *text)
{
	char reply[256];

	snprintf(reply, sizeof(reply), "%d %s %s", code, esc, text);
	smtp_session_log_tx(s, reply);
	smtp_session_reset_tx(s, NULL);
	if (code == 451)
		smtp_reply(s, code, esc, "%s, ref %s", text, s->log.session);
	else
		smtp_reply(s, code, esc, "%s", text);
}

static void smtp_data_commit(struct smtp_session *s);
static void smtp_data_filtered(struct smtp_session *s,
	    const struct smtp_filter_decision *d);

/* Is key among the newline-separated keys of f? */
static bool
smtp_data_listed(const struct ipc_field *f, const char *key)
{
	size_t n = strlen(key);
	const char *p = (const char *)f->data, *end = p + f->len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);

		if (len == n && memcmp(p, key, n) == 0)
			return true;
		if (nl == NULL)
			break;
		p = nl + 1;
	}
	return false;
}

/* Over-quota mailboxes found now are marked bounced; all over = 552. */
static void
smtp_data_quota_checked(struct smtp_session *s, const struct ipc_msg *reply)
{
	const struct ipc_field *over = reply != NULL ? ipc_msg_get(reply, IK_TARGETS) : NULL;
	size_t nover = 0;

	if (smtp_dir_verdict(reply) != IPCV_OK || over == NULL) {
		smtp_data_refuse(s, 451, "4.3.0", "temporary failure");
		return;
	}
	for (size_t i = 0; i < s->ntargets && over->len > 0; i++) {
		struct smtp_target *t = &s->targets[i];
		struct queue_rcpt r = { .kind = QKIND_LOCAL, .target = t->key,
		    .orig = t->key, .state = QSTATE_BOUNCED,
		    .last_reply = (char *)"552 5.2.2 mailbox full" };

		if (t->kind != QKIND_LOCAL || !smtp_data_listed(over, t->key))
			continue;
		nover++;
		queue_writer_record(s->qw, i, &r);
		log_kv(&s->log, LOGL_WARN, "quota", "queue_id", s->queue_id,
		    "rcpt", t->key, NULL);
	}
	if (nover == s->ntargets) {
		smtp_data_refuse(s, 552, "5.2.2", "mailbox full");
		return;
	}
	smtp_data_commit(s);
}

static void
smtp_data_end(struct smtp_session *s)
{
	if (!s->hdr_done && !s->too_big && s->qw != NULL)
		smtp_data_flush_header(s, s->hdr.len);
	if (s->too_big) {
		smtp_data_refuse(s, 552, "5.3.4", "message size exceeds fixed limit");
		return;
	}
	if (s->write_failed || s->qw == NULL || queue_writer_finish(s->qw) == -1) {
		log_kv(&s->log, LOGL_ERROR, "queue_error", "queue_id", s->queue_id,
		    "detail", "write failed", NULL);
		smtp_data_refuse(s, 451, "4.3.0", "temporary failure");
		return;
	}
	smtp_filter_end(s, smtp_data_filtered);
}

/* Accepted and dropped (filter action discard): the client cannot tell. */
static void
smtp_data_discard(struct smtp_session *s)
{
	char reply[128];

	snprintf(reply, sizeof(reply), "250 2.0.0 Ok: queued as %s",
	    s->queue_id);
	smtp_session_log_tx(s, reply);
	smtp_reply(s, 250, "2.0.0", "Ok: queued as %s", s->queue_id);
	smtp_filter_notify(s, FV_DISCARD);
	smtp_session_reset_tx(s, NULL);
}

static void
smtp_data_filtered(struct smtp_session *s, const struct smtp_filter_decision *d)
{
	switch (d->verdict) {
	case FV_REJECT:
		smtp_filter_notify(s, FV_REJECT);
		smtp_data_refuse(s, d->code, d->esc, d->text);
		return;
	case FV_TEMPFAIL:
		smtp_data_refuse(s, d->code, d->esc, d->text);
		return;
	case FV_DISCARD:
		smtp_data_discard(s);
		return;
	case FV_QUARANTINE:
		/* The quarantine mailbox is the postmaster's: its quota
		 * must not turn a quarantine into a refusal the sender sees. */
		smtp_data_commit(s);
		return;
	case FV_ACCEPT:
		break;
	}
	{
		struct ipc_msg req;
		struct buf keys;

		buf_init(&keys, IPC_TARGETS_MAX);
		smtp_data_local_keys(s, true, &keys);
		if (keys.len == 0 || keys.overflowed) {
			buf_free(&keys);
			smtp_data_commit(s);
			return;
		}
		ipc_msg_init(&req, IPCM_DATA, 0);
		ipc_msg_add(&req, IK_TARGETS, keys.data, keys.len);
		ipc_msg_add_u64(&req, IK_SIZE, queue_writer_size(s->qw));
		smtp_session_dir_call(s, &req, smtp_data_quota_checked);
		buf_free(&keys);
	}
}

static void
smtp_data_commit(struct smtp_session *s)
{
	s->busy = true;
	queue_commit(s->srv->committer, &s->qw, smtp_data_committed, s);
}

bool
smtp_data_consume(struct smtp_session *s)
{
	struct evbuffer *in = bufferevent_get_input(s->bev);
	struct evbuffer_iovec vec[8];
	enum smtp_data_rc rc = SMTP_DATA_MORE;
	size_t total = 0;
	int n;

	n = evbuffer_peek(in, -1, NULL, vec, 8);
	if (n > 8)
		n = 8;
	for (int i = 0; i < n && rc == SMTP_DATA_MORE; i++) {
		size_t used = 0;

		rc = smtp_data_feed(&s->dec, vec[i].iov_base, vec[i].iov_len,
		    &s->dout, &used);
		total += rc == SMTP_DATA_MORE ? vec[i].iov_len : used;
		smtp_data_sink(s);
	}
	evbuffer_drain(in, total);
	if (rc == SMTP_DATA_BARE) {
		smtp_session_log_tx(s, "521 5.5.2 bare CR or LF");
		smtp_session_reset_tx(s, NULL);
		smtp_reply_raw(s, "521 5.5.2 bare CR or LF not allowed, closing\r\n");
		smtp_session_close(s, "bare_crlf");
		return false;
	}
	if (rc == SMTP_DATA_END) {
		event_del(s->timer);
		smtp_data_end(s);
		{
			struct timeval tv = { .tv_sec = s->cfg->limits.command_timeout };

			event_add(s->timer, &tv);
		}
		return !s->busy;
	}
	{
		struct timeval tv = { .tv_sec = s->cfg->limits.command_timeout };

		event_add(s->timer, &tv);
	}
	return true;
}
