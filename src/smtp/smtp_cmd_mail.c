/*
 * smtp_cmd_mail: MAIL FROM (RFC 5321 4.1.1.2) with SIZE (RFC 1870), BODY
 * (RFC 6152) and SMTPUTF8 (RFC 6531), and the sender rules of SPEC
 * section 5: submission needs AUTH, an authenticated user sends only as
 * itself or its aliases, a local domain with require_auth is not spoofable.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/xalloc.h"
#include "directory/directory.h"
#include "smtp/smtp_session.h"

/*
 * Decided at each MAIL: `access trust` and `access remove` apply to the next
 * transaction, also on a connection that is already open (SPEC section 1).
 */
static bool
smtp_session_trust_compute(struct smtp_session *s)
{
	const struct sockaddr *sa = (const struct sockaddr *)&s->peer;
	enum access_kind kind = ACCESS_NONE;

	if (cidr_list_match(&s->cfg->relay.trusted_networks, sa))
		return true;
	if (directory_access_check(s->srv->dir, sa, (int64_t)time(NULL), &kind) ==
	    DIR_FOUND && kind == ACCESS_TRUST)
		return true;
	return s->cfg->relay.smtp_after_pop > 0 &&
	    directory_pop_login_recent(s->srv->dir, s->ip, (int64_t)time(NULL),
	    s->cfg->relay.smtp_after_pop) == DIR_FOUND;
}

bool
smtp_session_trusted_now(struct smtp_session *s)
{
	return s->trusted;
}

static int
smtp_mail_params(struct smtp_session *s, const struct smtp_cmd *cmd,
    uint64_t *size_out, bool *utf8_out)
{
	for (size_t i = 0; i < cmd->nparams; i++) {
		const struct smtp_param *p = &cmd->params[i];

		if (span_eq_nocase(p->key, "SIZE") && p->value.ptr != NULL) {
			uint64_t v = 0;

			if (p->value.len == 0 || p->value.len > 19)
				goto bad;
			for (size_t j = 0; j < p->value.len; j++) {
				if (p->value.ptr[j] < '0' || p->value.ptr[j] > '9')
					goto bad;
				v = v * 10 + (uint64_t)(p->value.ptr[j] - '0');
			}
			*size_out = v;
		} else if (span_eq_nocase(p->key, "BODY") && p->value.ptr != NULL) {
			if (!span_eq_nocase(p->value, "7BIT") &&
			    !span_eq_nocase(p->value, "8BITMIME"))
				goto bad;
		} else if (span_eq_nocase(p->key, "SMTPUTF8") && p->value.ptr == NULL) {
			*utf8_out = true;
		} else if (span_eq_nocase(p->key, "AUTH") && p->value.ptr != NULL) {
			/* RFC 4954 5: accepted and not trusted. */
		} else {
			smtp_reply(s, 555, "5.5.4", "unsupported MAIL parameter");
			return -1;
		}
	}
	return 0;
bad:
	smtp_reply(s, 501, "5.5.4", "bad MAIL parameter value");
	return -1;
}

static void
smtp_mail_refuse(struct smtp_session *s, const char *from, int code,
    const char *esc, const char *text)
{
	char reply[256];

	snprintf(reply, sizeof(reply), "%d %s %s", code, esc, text);
	s->from = xstrdup(from);
	smtp_session_log_tx(s, reply);
	free(s->from);
	s->from = NULL;
	smtp_reply(s, code, esc, "%s", text);
}

/* Is `from_key` the authenticated user, or an alias that reaches it? */
static enum dir_rc
smtp_mail_owned(struct smtp_session *s, const char *from_key)
{
	if (strcmp(from_key, s->auth_user) == 0)
		return DIR_FOUND;
	return directory_alias_has_target(s->srv->dir, from_key, s->auth_user);
}

void
smtp_cmd_mail(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	struct smtp_addr a;
	uint64_t size = 0;
	bool utf8 = false;
	enum parse_rc rc;
	char *key = NULL, *text = NULL;

	if (smtp_session_is_submission(s) && s->auth_user == NULL) {
		smtp_reply(s, 530, "5.7.0", "authentication required");
		return;
	}
	if (smtp_mail_params(s, cmd, &size, &utf8) == -1)
		return;
	s->trusted = smtp_session_trust_compute(s);
	rc = smtp_addr_parse(cmd->path, utf8, &a);
	if (rc != PARSE_OK) {
		smtp_reply(s, 501, "5.1.7", rc == PARSE_TOO_LONG ?
		    "sender address too long" : "bad sender address syntax");
		return;
	}
	if (!a.null && a.domain[0] == '\0') {
		/* <Postmaster> is a recipient form only (RFC 5321 4.1.1.3). */
		smtp_reply(s, 501, "5.1.7", "bad sender address syntax");
		smtp_addr_clear(&a);
		return;
	}
	text = smtp_addr_text(&a);
	if (size > s->cfg->limits.message_size) {
		smtp_mail_refuse(s, text, 552, "5.3.4", "message size exceeds fixed limit");
		goto out;
	}
	key = smtp_addr_key(&a);
	if (!a.null && s->auth_user != NULL) {
		enum dir_rc own = smtp_mail_owned(s, key);

		if (own == DIR_TEMPFAIL) {
			smtp_reply(s, 451, "4.3.0", "temporary failure, ref %s",
			    s->log.session);
			goto out;
		}
		if (own != DIR_FOUND) {
			smtp_mail_refuse(s, text, 553, "5.7.1",
			    "sender address not owned by authenticated user");
			goto out;
		}
	} else if (!a.null && !smtp_session_trusted_now(s)) {
		struct dir_domain dom;
		struct dir_domain_effective eff;
		enum dir_rc drc = a.literal ? DIR_ABSENT :
		    directory_domain_get(s->srv->dir, a.domain, &dom);

		if (drc == DIR_TEMPFAIL) {
			smtp_reply(s, 451, "4.3.0", "temporary failure, ref %s",
			    s->log.session);
			goto out;
		}
		if (drc == DIR_FOUND) {
			dir_domain_effective(&dom, s->cfg, &eff);
			dir_domain_clear(&dom);
			if (eff.require_auth) {
				/* Our own domain from outside: a spoofing attempt. */
				smtp_mail_refuse(s, text, 550, "5.7.1",
				    "authentication required to send as this domain");
				goto out;
			}
		}
	}
	s->from = text;
	s->from_key = key;
	s->from_domain = xstrdup(a.domain != NULL ? a.domain : "");
	text = key = NULL;
	s->declared_size = size;
	s->smtputf8 = utf8;
	smtp_session_set_state(s, SMTP_STATE_MAIL);
	smtp_reply(s, 250, "2.1.0", "Ok");
out:
	free(text);
	free(key);
	smtp_addr_clear(&a);
}
