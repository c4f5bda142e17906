/*
 * smtp_cmd: the short commands of RFC 5321 4.1.1 (EHLO, HELO, RSET, NOOP,
 * QUIT, VRFY, EXPN, HELP). MAIL, RCPT, DATA and AUTH have files of their own.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/xalloc.h"
#include "smtp/smtp_session.h"

/* A domain name (letters, digits, '-', '_' tolerated, labels <= 63). */
static bool
smtp_helo_domain_ok(struct span a)
{
	size_t label = 0;

	if (a.len == 0 || a.len > 255)
		return false;
	if (a.ptr[a.len - 1] == '.')
		a.len--;	/* a rooted name "mx.example." is still a name */
	for (size_t i = 0; i < a.len; i++) {
		char c = a.ptr[i];

		if (c == '.') {
			if (label == 0 || a.ptr[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return false;
		if (label == 0 && c == '-')
			return false;
		if (++label > 63)
			return false;
	}
	return label > 0 && a.ptr[a.len - 1] != '-';
}

/* "[192.0.2.1]" or "[IPv6:2001:db8::1]" (RFC 5321 4.1.3). */
static bool
smtp_helo_literal_ok(struct span a)
{
	char tmp[64];
	unsigned char addr[16];

	if (a.len < 3 || a.len >= sizeof(tmp) || a.ptr[0] != '[' ||
	    a.ptr[a.len - 1] != ']')
		return false;
	memcpy(tmp, a.ptr + 1, a.len - 2);
	tmp[a.len - 2] = '\0';
	if (strncasecmp(tmp, "IPv6:", 5) == 0)
		return inet_pton(AF_INET6, tmp + 5, addr) == 1;
	return inet_pton(AF_INET, tmp, addr) == 1;
}

static bool
smtp_helo_accept(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	if (cmd->arg.len == 0) {
		smtp_reply(s, 501, "5.5.2", "HELO/EHLO requires a domain name");
		return false;
	}
	if (s->cfg->checks.helo == HELO_REJECT_INVALID &&
	    !smtp_helo_domain_ok(cmd->arg) && !smtp_helo_literal_ok(cmd->arg)) {
		smtp_reply(s, 501, "5.5.2", "invalid HELO/EHLO argument");
		return false;
	}
	/* RFC 5321 4.1.4: a new greeting resets any transaction. */
	smtp_session_reset_tx(s, "RSET by EHLO");
	free(s->helo);
	s->helo = xstrndup(cmd->arg.ptr, cmd->arg.len);
	smtp_session_set_state(s, SMTP_STATE_READY);
	return true;
}

void
smtp_cmd_helo(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	if (!smtp_helo_accept(s, cmd))
		return;
	s->esmtp = false;
	smtp_reply(s, 250, NULL, "%s", s->cfg->hostname);
}

void
smtp_cmd_ehlo(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	struct buf b;

	if (!smtp_helo_accept(s, cmd))
		return;
	s->esmtp = true;
	buf_init(&b, 2048);
	buf_printf(&b, "250-%s\r\n250-PIPELINING\r\n250-SIZE %llu\r\n"
	    "250-8BITMIME\r\n250-ENHANCEDSTATUSCODES\r\n",
	    s->cfg->hostname, (unsigned long long)s->cfg->limits.message_size);
	if (!s->tls)
		buf_append_str(&b, "250-STARTTLS\r\n");
	/* RFC 4954 4: no AUTH before TLS, so no password crosses in clear. */
	if (s->tls && smtp_session_may_auth(s) && s->auth_user == NULL &&
	    s->cfg->auth.mechanisms.n > 0) {
		buf_append_str(&b, "250-AUTH");
		for (size_t i = 0; i < s->cfg->auth.mechanisms.n; i++)
			buf_printf(&b, " %s", s->cfg->auth.mechanisms.v[i]);
		buf_append_str(&b, "\r\n");
	}
	buf_append_str(&b, "250 SMTPUTF8\r\n");
	smtp_reply_raw(s, b.data);
	buf_free(&b);
}

void
smtp_cmd_rset(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	(void)cmd;
	smtp_session_reset_tx(s, "RSET");
	smtp_reply(s, 250, "2.0.0", "Ok");
}

void
smtp_cmd_noop(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	(void)cmd;
	smtp_reply(s, 250, "2.0.0", "Ok");
}

void
smtp_cmd_quit(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	(void)cmd;
	smtp_session_reset_tx(s, "QUIT");
	smtp_reply(s, 221, "2.0.0", "Bye");
	smtp_session_close(s, "quit");
}

/* Never confirms an address: VRFY would be a free directory harvest. */
void
smtp_cmd_vrfy(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	(void)cmd;
	smtp_reply(s, 252, "2.5.2", "cannot VRFY user, but will accept message");
}

void
smtp_cmd_expn(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	(void)cmd;
	smtp_reply(s, 502, "5.5.1", "EXPN not available");
}

void
smtp_cmd_help(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	(void)cmd;
	smtp_reply(s, 214, "2.0.0", "see RFC 5321");
}
