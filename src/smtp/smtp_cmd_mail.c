/*
 * smtp_cmd_mail: MAIL FROM (RFC 5321 4.1.1.2) with SIZE (RFC 1870), BODY
 * (RFC 6152) and SMTPUTF8 (RFC 6531). The syntax is checked here; the
 * sender rules of SPEC section 5 (an authenticated user sends only as
 * itself or its aliases, a local domain with require_auth is not
 * spoofable) and the trust of the transaction come from the directory
 * process. Submission needs AUTH before any of that.
 */
#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"
#include "ipc/ipc_proto.h"
#include "smtp/smtp_checks.h"
#include "smtp/smtp_session.h"

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

/* A refused MAIL is a transaction too: it gets its summary line. */
static void
smtp_mail_refuse(struct smtp_session *s, int code, const char *esc,
    const char *text)
{
	char reply[256];

	snprintf(reply, sizeof(reply), "%d %s %s", code, esc, text);
	smtp_session_log_tx(s, reply);
	smtp_session_reset_tx(s, NULL);
	smtp_reply(s, code, esc, "%s", text);
}

/* The DNS checks' verdict (smtp_checks.c). */
static void
smtp_mail_verdict(struct smtp_session *s, int code, const char *esc,
    const char *text)
{
	if (code == 250) {
		smtp_session_set_state(s, SMTP_STATE_MAIL);
		smtp_reply(s, 250, esc, "%s", text);
	} else
		smtp_mail_refuse(s, code, esc, text);
}

static void
smtp_mail_checked(struct smtp_session *s, const struct ipc_msg *reply)
{
	uint64_t trusted = 0;

	if (reply != NULL)
		ipc_msg_get_u64(reply, IK_TRUSTED, &trusted);
	switch (smtp_dir_verdict(reply)) {
	case IPCV_OK:
		s->trusted = trusted != 0;
		smtp_checks_mail(s, smtp_mail_verdict);
		break;
	case IPCV_NOT_OWNED:
		smtp_mail_refuse(s, 553, "5.7.1",
		    "sender address not owned by authenticated user");
		break;
	case IPCV_REQUIRE_AUTH:
		/* Our own domain from outside: a spoofing attempt. */
		smtp_mail_refuse(s, 550, "5.7.1",
		    "authentication required to send as this domain");
		break;
	default:
		smtp_session_reset_tx(s, NULL);
		smtp_tempfail(s);
		break;
	}
}

void
smtp_cmd_mail(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	struct smtp_addr a;
	struct ipc_msg req;
	uint64_t size = 0;
	bool utf8 = false;
	enum parse_rc rc;
	char *text;

	if (smtp_session_is_submission(s) && s->auth_user == NULL) {
		smtp_reply(s, 530, "5.7.0", "authentication required");
		return;
	}
	if (smtp_mail_params(s, cmd, &size, &utf8) == -1)
		return;
	rc = smtp_addr_parse(cmd->path, utf8, &a);
	if (rc != PARSE_OK || (!a.null && a.domain[0] == '\0')) {
		/* <Postmaster> is a recipient form only (RFC 5321 4.1.1.3). */
		if (rc == PARSE_OK)
			smtp_addr_clear(&a);
		smtp_reply(s, 501, "5.1.7", rc == PARSE_TOO_LONG ?
		    "sender address too long" : "bad sender address syntax");
		return;
	}
	text = smtp_addr_text(&a);
	s->from = text;
	s->from_key = smtp_addr_key(&a);
	s->from_domain = xstrdup(a.domain != NULL ? a.domain : "");
	s->declared_size = size;
	s->max_size = s->cfg->limits.message_size;	/* RCPT lowers it */
	s->smtputf8 = utf8;
	if (size > s->cfg->limits.message_size) {
		smtp_mail_refuse(s, 552, "5.3.4", "message size exceeds fixed limit");
		smtp_addr_clear(&a);
		return;
	}
	ipc_msg_init(&req, IPCM_MAIL, 0);
	ipc_msg_add_str(&req, IK_IP, s->ip);
	ipc_msg_add_str(&req, IK_ADDR, s->from_key);
	ipc_msg_add_str(&req, IK_DOMAIN, s->from_domain);
	if (!a.null && s->auth_user != NULL)
		ipc_msg_add_str(&req, IK_USER, s->auth_user);
	if (a.literal)
		ipc_msg_add(&req, IK_LITERAL, "1", 1);
	smtp_addr_clear(&a);
	smtp_session_dir_call(s, &req, smtp_mail_checked);
}
