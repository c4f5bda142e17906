/*
 * smtp_cmd_rcpt: RCPT TO (RFC 5321 4.1.1.3) and the relay decision. Local
 * domains take mail from anyone for known recipients; any other domain
 * only from authenticated sessions and trusted networks. The address was
 * split once by smtp_addr_parse(); '%', '!' and quoted '@' stay inside the
 * local part and can never turn into a second hop.
 */
#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"
#include "directory/directory.h"
#include "store/maildir.h"
#include "smtp/smtp_session.h"

/* relay.sender_rule for trusted clients that did not authenticate. */
static bool
smtp_rcpt_sender_may_relay(struct smtp_session *s)
{
	struct dir_user u;
	struct cfg_strlist t = { 0 };

	if (s->from_key[0] == '\0')
		return true;	/* bounces must flow */
	switch (s->cfg->relay.sender_rule) {
	case SENDER_RULE_NONE:
		return true;
	case SENDER_RULE_LOCAL_DOMAIN:
		return route_domain_is_local(s->srv->dir, s->from_domain) == DIR_FOUND;
	case SENDER_RULE_ACCOUNT:
		if (directory_user_get(s->srv->dir, s->from_key, &u) == DIR_FOUND) {
			dir_user_clear(&u);
			return true;
		}
		if (directory_alias_get(s->srv->dir, s->from_key, &t) == DIR_FOUND) {
			cfg_strlist_free(&t);
			return true;
		}
		return false;
	}
	return false;
}

/* Drops targets whose mailbox cannot take `size` more bytes. */
static void
smtp_rcpt_quota(struct route_result *r, uint64_t size)
{
	size_t keep = 0;

	for (size_t i = 0; i < r->n; i++) {
		struct route_target *t = &r->v[i];
		bool over = false;

		if (t->kind == QKIND_LOCAL && t->quota > 0) {
			char *path = maildir_path(t->key);

			/* XXX: a readdir on the loop; cheap for normal mailboxes,
			 * and only for users with a quota. */
			over = path != NULL && maildir_usage(path) + size > t->quota;
			free(path);
		}
		if (over) {
			free(t->key);
			free(t->domain);
		} else {
			r->v[keep++] = *t;
		}
	}
	r->n = keep;
}

static void
smtp_rcpt_merge(struct smtp_session *s, struct route_result *r)
{
	for (size_t i = 0; i < r->n; i++) {
		bool dup = false;

		for (size_t j = 0; j < s->targets.n && !dup; j++)
			dup = strcmp(s->targets.v[j].key, r->v[i].key) == 0;
		if (dup) {
			free(r->v[i].key);
			free(r->v[i].domain);
			continue;
		}
		s->targets.v = xrealloc(s->targets.v,
		    (s->targets.n + 1) * sizeof(*s->targets.v));
		s->targets.v[s->targets.n++] = r->v[i];
	}
	free(r->v);
	*r = (struct route_result){ 0 };
}

static void
smtp_rcpt_refuse(struct smtp_session *s, const char *addr, int code,
    const char *esc, const char *text)
{
	smtp_tx_log_rcpt(s, addr, code);
	if (code == 451)
		smtp_reply(s, code, esc, "%s, ref %s", text, s->log.session);
	else
		smtp_reply(s, code, esc, "%s", text);
}

void
smtp_cmd_rcpt(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	struct route_result r = { 0 };
	struct smtp_addr a;
	enum parse_rc prc;
	char *text;

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
	text = smtp_addr_text(&a);
	switch (route_rcpt(s->srv->dir, s->cfg, a.local, a.domain, &r)) {
	case ROUTE_REMOTE:
		if (s->auth_user == NULL && !smtp_session_trusted_now(s)) {
			smtp_rcpt_refuse(s, text, 554, "5.7.1", "relay access denied");
			goto out;
		}
		if (s->auth_user == NULL && !smtp_rcpt_sender_may_relay(s)) {
			smtp_rcpt_refuse(s, text, 554, "5.7.1",
			    "relay access denied for this sender");
			goto out;
		}
		{
			/* Remote local parts may be case-sensitive: keep them. */
			struct route_result one = { 0 };

			one.v = xcalloc(1, sizeof(*one.v));
			one.n = 1;
			one.v[0] = (struct route_target){ .kind = QKIND_REMOTE,
			    .key = xstrdup(text), .domain = xstrdup(a.domain) };
			smtp_rcpt_merge(s, &one);
		}
		break;
	case ROUTE_UNKNOWN:
		smtp_rcpt_refuse(s, text, 550, "5.1.1", "user unknown");
		goto out;
	case ROUTE_DISABLED:
		smtp_rcpt_refuse(s, text, 550, "5.2.1", "mailbox disabled");
		goto out;
	case ROUTE_TEMPFAIL:
		smtp_rcpt_refuse(s, text, 451, "4.3.0", "temporary failure");
		goto out;
	case ROUTE_OK:
		smtp_rcpt_quota(&r, s->declared_size);
		if (r.n == 0) {
			smtp_rcpt_refuse(s, text, 552, "5.2.2", "mailbox full");
			goto out;
		}
		smtp_rcpt_merge(s, &r);
		break;
	}
	s->rcpt_text = xrealloc(s->rcpt_text, (s->nrcpt + 1) * sizeof(*s->rcpt_text));
	s->rcpt_text[s->nrcpt++] = text;
	text = NULL;
	smtp_tx_log_rcpt(s, s->rcpt_text[s->nrcpt - 1], 250);
	smtp_session_set_state(s, SMTP_STATE_RCPT);
	smtp_reply(s, 250, "2.1.5", "Ok");
out:
	route_result_clear(&r);
	free(text);
	smtp_addr_clear(&a);
}
