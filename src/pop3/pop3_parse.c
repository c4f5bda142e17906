/*
 * pop3_parse: one POP3 command line into a struct pop3_cmd (see
 * pop3_parse.h). Implements the command syntax of RFC 1939 3 and 9 with
 * the 255-octet line of RFC 2449 4, CAPA (RFC 2449 5), STLS (RFC 2595 4)
 * and AUTH (RFC 5034 4). Only splits and range-checks: which command is
 * legal when, and whether a message exists, is the session's.
 */
#include <string.h>

#include "pop3/pop3_parse.h"

static const char *const pop3_parse_verbs[POP3_VERB_COUNT] = {
	[POP3_VERB_UNKNOWN] = "UNKNOWN",
	[POP3_VERB_USER] = "USER",
	[POP3_VERB_PASS] = "PASS",
	[POP3_VERB_STAT] = "STAT",
	[POP3_VERB_LIST] = "LIST",
	[POP3_VERB_RETR] = "RETR",
	[POP3_VERB_DELE] = "DELE",
	[POP3_VERB_NOOP] = "NOOP",
	[POP3_VERB_RSET] = "RSET",
	[POP3_VERB_QUIT] = "QUIT",
	[POP3_VERB_TOP] = "TOP",
	[POP3_VERB_UIDL] = "UIDL",
	[POP3_VERB_CAPA] = "CAPA",
	[POP3_VERB_STLS] = "STLS",
	[POP3_VERB_AUTH] = "AUTH",
};

/* RFC 4422 3.1: a mechanism name is 1 to 20 of [A-Z0-9-_]. */
#define POP3_PARSE_MECH_MAX	20

const char *
pop3_verb_name(enum pop3_verb v)
{
	if ((unsigned)v >= POP3_VERB_COUNT)
		return pop3_parse_verbs[POP3_VERB_UNKNOWN];
	return pop3_parse_verbs[v];
}

static enum pop3_verb
pop3_parse_verb(struct span word)
{
	int v;

	for (v = POP3_VERB_UNKNOWN + 1; v < POP3_VERB_COUNT; v++)
		if (span_eq_nocase(word, pop3_parse_verbs[v]))
			return (enum pop3_verb)v;
	return POP3_VERB_UNKNOWN;
}

/*
 * Splits the next SP-free token off *rest. RFC 1939 3: "Keywords and
 * arguments are each separated by a single SPACE character", so the token
 * must be non-empty and, unless it ends the line, followed by exactly one
 * SP that is not the last byte. Returns false on any other spacing.
 */
static bool
pop3_parse_token(struct span *rest, struct span *tok_out)
{
	size_t i;

	for (i = 0; i < rest->len && rest->ptr[i] != ' '; i++)
		;
	if (i == 0)
		return false;
	*tok_out = (struct span){ rest->ptr, i };
	if (i == rest->len) {
		*rest = (struct span){ rest->ptr + i, 0 };
		return true;
	}
	/* rest->ptr[i] is the separator: something must follow it. */
	if (i + 1 == rest->len)
		return false;
	*rest = (struct span){ rest->ptr + i + 1, rest->len - i - 1 };
	return true;
}

/*
 * RFC 1939 9: a number is 1*DIGIT, no sign. Leading zeros are accepted
 * ("RETR 01" is message 1): the grammar allows them and the line limit
 * bounds their count. Overflow cannot happen: we stop as soon as the
 * value passes max, which is far below UINT32_MAX / 10.
 */
static bool
pop3_parse_number(struct span tok, uint32_t min, uint32_t max,
    uint32_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (tok.len == 0)
		return false;
	for (i = 0; i < tok.len; i++) {
		if (tok.ptr[i] < '0' || tok.ptr[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(tok.ptr[i] - '0');
		if (v > max)
			return false;
	}
	if (v < min)
		return false;
	*out = (uint32_t)v;
	return true;
}

static bool
pop3_parse_msg(struct span tok, uint32_t *out)
{
	return pop3_parse_number(tok, 1, POP3_MSG_MAX, out);
}

static bool
pop3_parse_is_b64(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '+' || c == '/' || c == '=';
}

static bool
pop3_parse_is_mech_char(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/* AUTH [mechanism [initial-response]] (RFC 5034 4). */
static enum parse_rc
pop3_parse_auth(struct span rest, struct pop3_cmd *out)
{
	struct span tok;
	size_t i;

	/*
	 * Bare "AUTH" is not in RFC 5034; RFC 1734-era clients send it to
	 * list mechanisms. Parse it (arg "") and let the session choose.
	 */
	if (rest.len == 0)
		return PARSE_OK;
	if (!pop3_parse_token(&rest, &tok) || tok.len > POP3_PARSE_MECH_MAX)
		return PARSE_INVALID;
	for (i = 0; i < tok.len; i++)
		if (!pop3_parse_is_mech_char((unsigned char)tok.ptr[i]))
			return PARSE_INVALID;
	out->arg = tok;
	if (rest.len == 0)
		return PARSE_OK;
	if (!pop3_parse_token(&rest, &tok) || rest.len != 0)
		return PARSE_INVALID;
	for (i = 0; i < tok.len; i++)
		if (!pop3_parse_is_b64((unsigned char)tok.ptr[i]))
			return PARSE_INVALID;
	out->sasl_ir = tok;
	return PARSE_OK;
}

static enum parse_rc
pop3_parse_args(struct span rest, struct pop3_cmd *out)
{
	struct span tok;
	size_t i;

	switch (out->verb) {
	case POP3_VERB_STAT:
	case POP3_VERB_NOOP:
	case POP3_VERB_RSET:
	case POP3_VERB_QUIT:
	case POP3_VERB_CAPA:
	case POP3_VERB_STLS:
		return rest.len == 0 ? PARSE_OK : PARSE_INVALID;
	case POP3_VERB_LIST:
	case POP3_VERB_UIDL:
		if (rest.len == 0)
			return PARSE_OK;
		/* FALLTHROUGH */
	case POP3_VERB_RETR:
	case POP3_VERB_DELE:
		if (!pop3_parse_token(&rest, &tok) || rest.len != 0 ||
		    !pop3_parse_msg(tok, &out->msg))
			return PARSE_INVALID;
		out->has_msg = true;
		return PARSE_OK;
	case POP3_VERB_TOP:
		if (!pop3_parse_token(&rest, &tok) ||
		    !pop3_parse_msg(tok, &out->msg) ||
		    !pop3_parse_token(&rest, &tok) || rest.len != 0 ||
		    !pop3_parse_number(tok, 0, POP3_TOP_LINES_MAX, &out->lines))
			return PARSE_INVALID;
		out->has_msg = true;
		return PARSE_OK;
	case POP3_VERB_USER:
		/* Our logins are addresses: one SP-free token, no controls. */
		if (!pop3_parse_token(&rest, &tok) || rest.len != 0)
			return PARSE_INVALID;
		for (i = 0; i < tok.len; i++)
			if ((unsigned char)tok.ptr[i] < 0x20 ||
			    tok.ptr[i] == 0x7f)
				return PARSE_INVALID;
		out->arg = tok;
		return PARSE_OK;
	case POP3_VERB_PASS:
		/*
		 * RFC 1939 7: PASS has one argument, so a server "may treat
		 * spaces in the argument as part of the password". We do:
		 * everything after the first SP, kept verbatim.
		 */
		if (rest.len == 0)
			return PARSE_INVALID;
		out->arg = rest;
		return PARSE_OK;
	case POP3_VERB_AUTH:
		return pop3_parse_auth(rest, out);
	default:
		return PARSE_OK;
	}
}

enum parse_rc
pop3_cmd_parse(struct span line, struct pop3_cmd *out)
{
	static const char empty[] = "";
	const char *end;
	struct span word, rest;
	size_t i;

	memset(out, 0, sizeof(*out));
	/* Never hand out a NULL span (only an absent sasl_ir is). */
	if (line.ptr == NULL)
		line = (struct span){ empty, 0 };
	end = line.ptr + line.len;
	out->arg = (struct span){ end, 0 };
	out->sasl_ir = (struct span){ NULL, 0 };

	/* RFC 2449 4: 255 octets including the CRLF. */
	if (line.len > POP3_CMD_LINE_MAX - 2)
		return PARSE_TOO_LONG;
	/*
	 * A NUL would cut a password or a user name short for any C-string
	 * consumer. CR and LF never survive line_find(); refusing them here
	 * too keeps this function safe for any other caller.
	 */
	for (i = 0; i < line.len; i++)
		if (line.ptr[i] == '\0' || line.ptr[i] == '\r' ||
		    line.ptr[i] == '\n')
			return PARSE_INVALID;

	/* RFC 1939 3: the keyword ends at SP or at the end of the line. */
	for (i = 0; i < line.len && line.ptr[i] != ' '; i++)
		;
	word = (struct span){ line.ptr, i };
	out->verb = pop3_parse_verb(word);
	if (out->verb == POP3_VERB_UNKNOWN)
		return PARSE_OK;
	if (i == line.len) {
		rest = (struct span){ end, 0 };
	} else {
		/* Exactly one SP, and something after it (a password
		 * may begin with SP). */
		if (i + 1 == line.len || (line.ptr[i + 1] == ' ' &&
		    out->verb != POP3_VERB_PASS))
			return PARSE_INVALID;
		rest = (struct span){ line.ptr + i + 1, line.len - i - 1 };
	}
	return pop3_parse_args(rest, out);
}

enum parse_rc
pop3_auth_line_parse(struct span line, bool *cancel_out,
    struct span *resp_out)
{
	static const char empty[] = "";
	size_t i;

	*cancel_out = false;
	if (line.ptr == NULL)
		line = (struct span){ empty, 0 };
	*resp_out = (struct span){ line.ptr, 0 };
	if (line.len > POP3_SASL_LINE_MAX - 2)
		return PARSE_TOO_LONG;
	/* RFC 5034 4: "a single '*'" cancels the exchange. */
	if (line.len == 1 && line.ptr[0] == '*') {
		*cancel_out = true;
		return PARSE_OK;
	}
	for (i = 0; i < line.len; i++)
		if (!pop3_parse_is_b64((unsigned char)line.ptr[i]))
			return PARSE_INVALID;
	*resp_out = line;
	return PARSE_OK;
}
