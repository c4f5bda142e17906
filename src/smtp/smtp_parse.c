/*
 * smtp_parse: one SMTP command line into a struct smtp_cmd (see
 * smtp_parse.h). Implements the command syntax of RFC 5321 4.1.1 and the
 * esmtp parameter grammar of RFC 5321 4.1.2 (with RFC 6531 3.3 UTF-8
 * values). Only splits: the path itself is smtp_addr's, and which command is
 * legal when is the session's.
 */
#include <string.h>

#include "smtp/smtp_parse.h"

static const char *const smtp_parse_verbs[SMTP_VERB_COUNT] = {
	[SMTP_VERB_UNKNOWN] = "UNKNOWN",
	[SMTP_VERB_HELO] = "HELO",
	[SMTP_VERB_EHLO] = "EHLO",
	[SMTP_VERB_MAIL] = "MAIL",
	[SMTP_VERB_RCPT] = "RCPT",
	[SMTP_VERB_DATA] = "DATA",
	[SMTP_VERB_RSET] = "RSET",
	[SMTP_VERB_NOOP] = "NOOP",
	[SMTP_VERB_QUIT] = "QUIT",
	[SMTP_VERB_VRFY] = "VRFY",
	[SMTP_VERB_EXPN] = "EXPN",
	[SMTP_VERB_HELP] = "HELP",
	[SMTP_VERB_STARTTLS] = "STARTTLS",
	[SMTP_VERB_AUTH] = "AUTH",
	[SMTP_VERB_BDAT] = "BDAT",
};

const char *
smtp_verb_name(enum smtp_verb v)
{
	if ((unsigned)v >= SMTP_VERB_COUNT)
		return smtp_parse_verbs[SMTP_VERB_UNKNOWN];
	return smtp_parse_verbs[v];
}

static enum smtp_verb
smtp_parse_verb(struct span word)
{
	int v;

	for (v = SMTP_VERB_UNKNOWN + 1; v < SMTP_VERB_COUNT; v++)
		if (span_eq_nocase(word, smtp_parse_verbs[v]))
			return (enum smtp_verb)v;
	return SMTP_VERB_UNKNOWN;
}

static bool
smtp_parse_is_alnum(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') ||
	    (c >= 'a' && c <= 'z');
}

/*
 * RFC 5321 4.1.2: esmtp-value = 1*(%d33-60 / %d62-126), and RFC 6531 3.3
 * adds UTF8-non-ascii for SMTPUTF8 clients. Well-formedness of the UTF-8 is
 * left to whoever interprets a value; none of ours carries text we store.
 */
static bool
smtp_parse_is_value_char(unsigned char c)
{
	return (c >= 33 && c <= 126 && c != '=') || c >= 0x80;
}

/* esmtp-param = esmtp-keyword ["=" esmtp-value]; p is one SP-free word. */
static enum parse_rc
smtp_parse_param(struct span p, struct smtp_param *out)
{
	size_t i = 0;

	if (p.len == 0 || !smtp_parse_is_alnum((unsigned char)p.ptr[0]))
		return PARSE_INVALID;
	while (i < p.len && (smtp_parse_is_alnum((unsigned char)p.ptr[i]) ||
	    p.ptr[i] == '-'))
		i++;
	out->key = (struct span){ p.ptr, i };
	out->value = (struct span){ NULL, 0 };
	if (i == p.len)
		return PARSE_OK;
	if (p.ptr[i] != '=' || i + 1 == p.len)
		return PARSE_INVALID;
	out->value = (struct span){ p.ptr + i + 1, p.len - i - 1 };
	for (i = 0; i < out->value.len; i++)
		if (!smtp_parse_is_value_char((unsigned char)out->value.ptr[i]))
			return PARSE_INVALID;
	return PARSE_OK;
}

/*
 * Finds the '>' that closes the path starting after '<' at s[0]. A quoted
 * local part may hold '>' and SP (RFC 5321 4.1.2 Quoted-string), and a
 * backslash inside quotes escapes the next byte. Returns its offset, or -1.
 */
static long
smtp_parse_path_end(struct span s)
{
	bool quoted = false;
	size_t i;

	for (i = 0; i < s.len; i++) {
		if (quoted && s.ptr[i] == '\\') {
			if (++i == s.len)
				return -1;
		} else if (s.ptr[i] == '"') {
			quoted = !quoted;
		} else if (!quoted && s.ptr[i] == '>') {
			return (long)i;
		}
	}
	return -1;
}

/* "FROM:<path> params" / "TO:<path> params" of MAIL and RCPT. */
static enum parse_rc
smtp_parse_mail_rcpt(struct span arg, const char *prefix, struct smtp_cmd *out)
{
	struct span rest, word;
	size_t n = strlen(prefix);
	long end;

	if (!span_startswith_nocase(arg, prefix))
		return PARSE_INVALID;
	rest = (struct span){ arg.ptr + n, arg.len - n };
	/* RFC 5321 has no SP after the colon; clients send one anyway and
	 * Postfix accepts it, so do we. */
	while (rest.len > 0 && rest.ptr[0] == ' ') {
		rest.ptr++;
		rest.len--;
	}
	if (rest.len == 0 || rest.ptr[0] != '<')
		return PARSE_INVALID;
	rest.ptr++;
	rest.len--;
	if ((end = smtp_parse_path_end(rest)) < 0)
		return PARSE_INVALID;
	/* RFC 5321 4.5.3.1.3: 256 octets counting the angle brackets. */
	if ((size_t)end > SMTP_PATH_MAX - 2)
		return PARSE_TOO_LONG;
	out->path = (struct span){ rest.ptr, (size_t)end };
	rest.ptr += end + 1;
	rest.len -= (size_t)end + 1;

	/* RFC 5321 4.1.2: Mail-parameters = esmtp-param *(SP esmtp-param). */
	while (rest.len > 0) {
		if (rest.ptr[0] != ' ')
			return PARSE_INVALID;
		while (rest.len > 0 && rest.ptr[0] == ' ') {
			rest.ptr++;
			rest.len--;
		}
		word = rest;
		while (rest.len > 0 && rest.ptr[0] != ' ') {
			rest.ptr++;
			rest.len--;
		}
		word.len -= rest.len;
		if (out->nparams == SMTP_PARAMS_MAX)
			return PARSE_INVALID;
		if (smtp_parse_param(word, &out->params[out->nparams]) !=
		    PARSE_OK)
			return PARSE_INVALID;
		out->nparams++;
	}
	return PARSE_OK;
}

enum parse_rc
smtp_cmd_parse(struct span line, struct smtp_cmd *out)
{
	static const char empty[] = "";
	const char *end;
	struct span word, arg;
	size_t i;

	memset(out, 0, sizeof(*out));
	/* Never hand out a NULL span (only a param value without '=' is). */
	if (line.ptr == NULL)
		line = (struct span){ empty, 0 };
	end = line.ptr + line.len;
	out->arg = out->path = (struct span){ end, 0 };

	if (line.len > SMTP_CMD_LINE_MAX - 2)
		return PARSE_TOO_LONG;
	/*
	 * A NUL would cut the line short for any C-string consumer (logs,
	 * SASL). CR and LF never survive line_find(); refusing them here
	 * too keeps this function safe for any other caller.
	 */
	for (i = 0; i < line.len; i++)
		if (line.ptr[i] == '\0' || line.ptr[i] == '\r' ||
		    line.ptr[i] == '\n')
			return PARSE_INVALID;

	/* RFC 5321 4.1.1: the verb ends at SP or at the end of the line. */
	word = line;
	for (i = 0; i < line.len && line.ptr[i] != ' '; i++)
		;
	word.len = i;
	while (i < line.len && line.ptr[i] == ' ')
		i++;
	arg = (struct span){ line.ptr + i, line.len - i };
	while (arg.len > 0 && (arg.ptr[arg.len - 1] == ' ' ||
	    arg.ptr[arg.len - 1] == '\t'))
		arg.len--;
	out->verb = smtp_parse_verb(word);
	out->arg = arg;

	switch (out->verb) {
	case SMTP_VERB_DATA:
	case SMTP_VERB_RSET:
	case SMTP_VERB_QUIT:
	case SMTP_VERB_STARTTLS:
		/* RFC 5321 4.1.1.4, 4.1.1.5, 4.1.1.10; RFC 3207 4. */
		return arg.len == 0 ? PARSE_OK : PARSE_INVALID;
	case SMTP_VERB_MAIL:
		return smtp_parse_mail_rcpt(arg, "FROM:", out);
	case SMTP_VERB_RCPT:
		return smtp_parse_mail_rcpt(arg, "TO:", out);
	default:
		return PARSE_OK;
	}
}
