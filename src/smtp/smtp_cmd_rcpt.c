/*
 * smtp_cmd_rcpt: RCPT TO (RFC 5321 4.1.1.3). The address is split once,
 * here (smtp_addr_parse: '%', '!' and a quoted '@' stay inside the local
 * part and can never turn into a second hop); the directory process says
 * where it goes and whether this client may relay there.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"
#include "ipc/ipc_proto.h"
#include "policy/route.h"
#include "smtp/smtp_session.h"

/* Adds a target unless that mailbox is already one (one copy each). The
 * RCPT being answered is its original recipient (the queue's rcpt orig:
 * DSN Original-Recipient, auto-replies of forwarding users). */
static void
smtp_rcpt_add_target(struct smtp_session *s, enum queue_kind kind,
    const char *key, uint64_t quota)
{
	for (size_t j = 0; j < s->ntargets; j++)
		if (strcmp(s->targets[j].key, key) == 0)
			return;
	s->targets = xrealloc(s->targets, (s->ntargets + 1) * sizeof(*s->targets));
	s->targets[s->ntargets++] = (struct smtp_target){ .kind = kind,
	    .key = xstrdup(key), .quota = quota,
	    .orig = xstrdup(s->rcpt_pending != NULL ? s->rcpt_pending : key) };
}

static void
smtp_rcpt_target_cb(void *arg, enum queue_kind kind, const char *key,
    uint64_t quota)
{
	smtp_rcpt_add_target(arg, kind, key, quota);
}

/* IK_TARGETS (route_targets_each): at least one, or the answer is void. */
static int
smtp_rcpt_targets(struct smtp_session *s, const struct ipc_msg *reply)
{
	const struct ipc_field *f = ipc_msg_get(reply, IK_TARGETS);

	if (f == NULL || f->len == 0)
		return -1;
	return route_targets_each((const char *)f->data, f->len, SIZE_MAX,
	    smtp_rcpt_target_cb, s) > 0 ? 0 : -1;
}

static void
smtp_rcpt_refuse(struct smtp_session *s, const char *addr, int code,
    const char *esc, const char *text)
{
	smtp_tx_log_rcpt(s, addr, code);
	if (code == 451)
		smtp_tempfail(s);
	else
		smtp_reply(s, code, esc, "%s", text);
}

static void
smtp_rcpt_accept(struct smtp_session *s)
{
	s->rcpt_text = xrealloc(s->rcpt_text, (s->nrcpt + 1) * sizeof(*s->rcpt_text));
	s->rcpt_text[s->nrcpt++] = s->rcpt_pending;
	s->rcpt_pending = NULL;
	smtp_tx_log_rcpt(s, s->rcpt_text[s->nrcpt - 1], 250);
	smtp_session_set_state(s, SMTP_STATE_RCPT);
	smtp_reply(s, 250, "2.1.5", "Ok");
}

static void
smtp_rcpt_routed(struct smtp_session *s, const struct ipc_msg *reply)
{
	const char *addr = s->rcpt_pending;

	switch (smtp_dir_verdict(reply)) {
	case IPCV_OK:
		if (smtp_rcpt_targets(s, reply) == 0) {
			uint64_t max;

			/* The smallest limit of the domains involved applies. */
			if (ipc_msg_get_u64(reply, IK_SIZE, &max) == 0 &&
			    max < s->max_size)
				s->max_size = max;
			smtp_rcpt_accept(s);
			return;
		}
		smtp_rcpt_refuse(s, addr, 451, "4.3.0", "temporary failure");
		break;
	case IPCV_REMOTE:
		/* Remote local parts may be case-sensitive: keep them. */
		smtp_rcpt_add_target(s, QKIND_REMOTE, addr, 0);
		smtp_rcpt_accept(s);
		return;
	case IPCV_RELAY_DENIED:
		smtp_rcpt_refuse(s, addr, 554, "5.7.1", "relay access denied");
		break;
	case IPCV_SENDER_DENIED:
		smtp_rcpt_refuse(s, addr, 554, "5.7.1",
		    "relay access denied for this sender");
		break;
	case IPCV_UNKNOWN:
		smtp_rcpt_refuse(s, addr, 550, "5.1.1", "user unknown");
		break;
	case IPCV_DISABLED:
		smtp_rcpt_refuse(s, addr, 550, "5.2.1", "mailbox disabled");
		break;
	case IPCV_FULL:
		smtp_rcpt_refuse(s, addr, 552, "5.2.2", "mailbox full");
		break;
	default:
		smtp_rcpt_refuse(s, addr, 451, "4.3.0", "temporary failure");
		break;
	}
	free(s->rcpt_pending);
	s->rcpt_pending = NULL;
}

void
smtp_cmd_rcpt(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	struct smtp_addr a;
	struct ipc_msg req;
	enum parse_rc prc;
	uint64_t flags = 0;

	if (cmd->nparams > 0) {
		/* RFC 5321 4.1.1.11: DSN (NOTIFY, ORCPT) is not offered. */
		smtp_reply(s, 555, "5.5.4", "unsupported RCPT parameter");
		return;
	}
	if (s->nrcpt >= s->cfg->limits.recipients) {
		smtp_reply(s, 452, "4.5.3", "too many recipients");
		return;
	}
	prc = smtp_addr_parse(cmd->path, s->smtputf8, &a);
	if (prc != PARSE_OK || a.null) {
		if (prc == PARSE_OK)
			smtp_addr_clear(&a);
		smtp_reply(s, 501, "5.1.3", prc == PARSE_TOO_LONG ?
		    "recipient address too long" : "bad recipient address syntax");
		return;
	}
	s->rcpt_pending = smtp_addr_text(&a);
	if (s->auth_user != NULL)
		flags |= IPC_RCPT_AUTH;
	if (s->trusted)
		flags |= IPC_RCPT_TRUSTED;
	ipc_msg_init(&req, IPCM_RCPT, 0);
	ipc_msg_add_str(&req, IK_LOCAL, a.local);
	ipc_msg_add_str(&req, IK_DOMAIN, a.domain);	/* a literal is never local */
	ipc_msg_add_u64(&req, IK_SIZE, s->declared_size);
	ipc_msg_add_u64(&req, IK_FLAGS, flags);
	ipc_msg_add_str(&req, IK_ADDR, s->from_key);
	ipc_msg_add_str(&req, IK_DOMAIN2, s->from_domain);
	smtp_session_dir_call(s, &req, smtp_rcpt_routed);
	smtp_addr_clear(&a);
}
