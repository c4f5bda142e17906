/*
 * smtp_notice: filter notices (smtp_notice.h). Each notice is its own
 * little job: for the sender, the bounces policy and the route are asked
 * of the directory process; then the message is written to the queue and
 * committed. Nothing in it points into the session, which may be gone.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/ids.h"
#include "core/xalloc.h"
#include "ipc/ipc_proto.h"
#include "mime/mime_header.h"
#include "policy/route.h"
#include "queue/queue.h"
#include "smtp/smtp_addr.h"
#include "smtp/smtp_checks.h"
#include "smtp/smtp_notice.h"
#include "smtp/smtp_session.h"

#define NOTICE_MAX	(16 * 1024)	/* one notice message: ours */

struct notice {
	struct smtp_server	*srv;
	struct log_ctx		 log;
	char			*to;		/* address */
	bool			 spf_pass;
	struct buf		 text;		/* the body */
	char			*subject;
	struct queue_env	 env;
};

static void
notice_free(struct notice *n)
{
	free(n->to);
	free(n->subject);
	buf_free(&n->text);
	queue_env_clear(&n->env);
	free(n);
}

static void
notice_committed(void *arg, int rc)
{
	struct notice *n = arg;

	if (rc == 0 && n->srv->queued != NULL)
		n->srv->queued(n->srv->queued_arg, n->env.id);
	log_kv(&n->log, rc == 0 ? LOGL_INFO : LOGL_ERROR, "filter_notice",
	    "to", n->to, "queue_id", n->env.id, "result", rc == 0 ? "queued" :
	    "failed", NULL);
	notice_free(n);
}

/* Writes the message for the targets in n->env and commits it. */
static void
notice_queue(struct notice *n)
{
	struct queue_writer *w;
	struct buf m;
	char date[MIME_DATE_LEN];
	const char *err;
	char *from = xasprintf("Mail Delivery System <MAILER-DAEMON@%s>",
	    n->srv->cfg->hostname);

	ids_queue(n->env.id);
	n->env.time = (int64_t)time(NULL);
	mime_header_date(date, sizeof(date), n->env.time);
	buf_init(&m, NOTICE_MAX);
	mime_header_put(&m, "From", span_from_cstr(from));
	buf_printf(&m, "To: <%s>\n", n->to);
	buf_append_str(&m, "Subject: ");
	mime_header_encode(&m, span_from_cstr(n->subject));
	buf_printf(&m, "\nDate: %s\nMessage-ID: <%s.notice@%s>\n"
	    "Auto-Submitted: auto-generated\nMIME-Version: 1.0\n"
	    "Content-Type: text/plain; charset=utf-8\n"
	    "Content-Transfer-Encoding: 8bit\n\n", date, n->env.id,
	    n->srv->cfg->hostname);
	buf_append(&m, n->text.data, n->text.len);
	free(from);
	w = queue_writer_open(&n->env, &err);
	if (w == NULL || queue_writer_write(w, m.data, m.len) == -1 ||
	    queue_writer_finish(w) == -1) {
		log_kv(&n->log, LOGL_ERROR, "filter_notice", "to", n->to,
		    "result", "failed", "detail", w == NULL ? err : "write",
		    NULL);
		queue_writer_abort(&w);
		buf_free(&m);
		notice_free(n);
		return;
	}
	buf_free(&m);
	queue_commit(n->srv->committer, &w, notice_committed, n);
}

static void
notice_target(void *arg, enum queue_kind kind, const char *key, uint64_t quota)
{
	struct notice *n = arg;

	(void)quota;
	queue_env_add_rcpt(&n->env, kind, n->to, key);
}

static void
notice_routed(void *arg, const struct ipc_msg *reply)
{
	struct notice *n = arg;
	const struct ipc_field *tf = reply != NULL ?
	    ipc_msg_get(reply, IK_TARGETS) : NULL;
	unsigned v = reply != NULL ? smtp_dir_verdict(reply) : IPCV_TEMPFAIL;

	if (v == IPCV_OK && tf != NULL)
		route_targets_each((const char *)tf->data, tf->len, 16,
		    notice_target, n);
	else if (v == IPCV_REMOTE)
		queue_env_add_rcpt(&n->env, QKIND_REMOTE, n->to, n->to);
	if (n->env.nrcpts == 0) {
		log_kv(&n->log, LOGL_WARN, "filter_notice", "to", n->to,
		    "result", "failed", "detail", "no route", NULL);
		notice_free(n);
		return;
	}
	notice_queue(n);
}

static void
notice_route(struct notice *n)
{
	struct smtp_addr a;
	struct ipc_msg req;

	if (smtp_addr_parse(span_from_cstr(n->to), true, &a) != PARSE_OK ||
	    a.null) {
		notice_free(n);
		return;
	}
	ipc_msg_init(&req, IPCM_RCPT, 0);
	ipc_msg_add_str(&req, IK_LOCAL, a.local);
	ipc_msg_add_str(&req, IK_DOMAIN, a.domain);
	ipc_msg_add_u64(&req, IK_SIZE, 0);
	ipc_msg_add_u64(&req, IK_FLAGS, IPC_RCPT_TRUSTED);
	ipc_msg_add_str(&req, IK_ADDR, "");
	ipc_msg_add_str(&req, IK_DOMAIN2, "");
	if (n->srv->dir_call(n->srv->dir_arg, &req, notice_routed, n) == -1)
		notice_routed(n, NULL);
	smtp_addr_clear(&a);
}

static void
notice_policy(void *arg, const struct ipc_msg *reply)
{
	struct notice *n = arg;
	uint64_t p;

	if (reply == NULL || smtp_dir_verdict(reply) != IPCV_OK ||
	    ipc_msg_get_u64(reply, IK_FLAGS, &p) == -1) {
		log_kv(&n->log, LOGL_WARN, "filter_notice", "to", n->to,
		    "result", "failed", "detail", "directory unreachable", NULL);
		notice_free(n);
		return;
	}
	if (p == POLICY_DISABLED || (p == POLICY_REQUIRE_SPF && !n->spf_pass)) {
		log_kv(&n->log, LOGL_INFO, "filter_notice", "to", n->to,
		    "result", "suppressed", "detail", "bounces policy", NULL);
		notice_free(n);
		return;
	}
	notice_route(n);
}

static const char *
notice_done_text(enum filter_verdict v)
{
	switch (v) {
	case FV_DISCARD:
		return "was discarded";
	case FV_QUARANTINE:
		return "was quarantined (held for the postmaster)";
	default:
		return "was refused";
	}
}

static struct notice *
notice_new(struct smtp_session *s, const char *to, const struct filter_hit *h,
    enum filter_verdict v, bool to_sender)
{
	struct notice *n = xcalloc(1, sizeof(*n));

	n->srv = s->srv;
	n->log = s->log;
	n->to = xstrdup(to);
	n->env.from = xstrdup("");
	n->env.client = xstrdup("127.0.0.1");
	n->env.helo = xstrdup(s->cfg->hostname);
	n->env.auth = xstrdup("");
	n->subject = xasprintf("%s: attachment not allowed", to_sender ?
	    "Your message was not delivered" : "A message for you was blocked");
	buf_init(&n->text, NOTICE_MAX / 2);
	buf_printf(&n->text, "This is the mail system at %s.\n\n"
	    "A message %s because it carries an attachment that is not "
	    "allowed here:\n\n  file name: %s\n  rule:      %s\n  part:      %s\n\n"
	    "  from:       <%s>\n", s->cfg->hostname, notice_done_text(v),
	    h->detail, h->rule, h->part, s->from != NULL ? s->from : "");
	for (size_t i = 0; i < s->nrcpt; i++)
		buf_printf(&n->text, "  to:         <%s>\n", s->rcpt_text[i]);
	buf_printf(&n->text, "  message-id: %s\n  queue id:   %s\n",
	    s->msgid != NULL ? s->msgid : "(none)", s->queue_id);
	return n;
}

/* The local domain whose bounces policy applies (SPEC 4): the first local
 * recipient's for mail from outside, else the sender's. */
static const char *
notice_policy_domain(const struct smtp_session *s,
    const struct smtp_target *targets, size_t ntargets)
{
	for (size_t i = 0; i < ntargets; i++)
		if (targets[i].kind == QKIND_LOCAL) {
			const char *at = strrchr(targets[i].key, '@');

			if (at != NULL)
				return at + 1;
		}
	return s->from_domain != NULL ? s->from_domain : "";
}

void
smtp_notice_send(struct smtp_session *s, const struct filter_hit *h,
    enum filter_verdict v, const struct smtp_target *targets, size_t ntargets)
{
	unsigned notify = s->cfg->filters.attachments.notify;

	if (h == NULL || h->kind != FILTER_ATTACHMENT)
		return;
	if (notify & NOTIFY_RECIPIENT)
		for (size_t i = 0; i < ntargets; i++) {
			const struct smtp_target *t = &targets[i];
			struct notice *n;

			if (t->kind != QKIND_LOCAL)
				continue;	/* only our own users */
			n = notice_new(s, t->key, h, v, false);
			queue_env_add_rcpt(&n->env, QKIND_LOCAL, t->key, t->key);
			notice_queue(n);
		}
	if ((notify & NOTIFY_SENDER) && v != FV_REJECT && s->from != NULL &&
	    *s->from != '\0') {
		struct notice *n = notice_new(s, s->from, h, v, true);
		struct ipc_msg req;
		const char *spf = smtp_checks_spf_word(s);

		if (s->auth_user != NULL) {
			notice_route(n);	/* authenticated: always told */
			return;
		}
		n->spf_pass = spf != NULL && strcmp(spf, "pass") == 0;
		ipc_msg_init(&req, IPCM_BOUNCE_POLICY, 0);
		ipc_msg_add_str(&req, IK_DOMAIN, notice_policy_domain(s, targets,
		    ntargets));
		if (s->srv->dir_call(s->srv->dir_arg, &req, notice_policy, n) == -1)
			notice_policy(n, NULL);
	}
}
