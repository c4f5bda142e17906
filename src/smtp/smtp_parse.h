/*
 * smtp_parse: one SMTP command line (without its CRLF) into a struct
 * smtp_cmd. Pure: never looks at session state (RFC 5321 4.1).
 */
#ifndef POSTERN_SMTP_PARSE_H
#define POSTERN_SMTP_PARSE_H

#include <stddef.h>

#include "core/buf.h"
#include "core/limits.h"
#include "core/parse.h"

enum smtp_verb {
	SMTP_VERB_UNKNOWN, SMTP_VERB_HELO, SMTP_VERB_EHLO, SMTP_VERB_MAIL,
	SMTP_VERB_RCPT, SMTP_VERB_DATA, SMTP_VERB_RSET, SMTP_VERB_NOOP,
	SMTP_VERB_QUIT, SMTP_VERB_VRFY, SMTP_VERB_EXPN, SMTP_VERB_HELP,
	SMTP_VERB_STARTTLS, SMTP_VERB_AUTH, SMTP_VERB_BDAT,
	SMTP_VERB_COUNT
};

struct smtp_param {
	struct span	 key;		/* "SIZE" */
	struct span	 value;		/* "1234"; ptr NULL when no '=' */
};

struct smtp_cmd {
	enum smtp_verb		 verb;
	struct span		 arg;	/* text after the verb, trimmed ("" if none) */
	/* MAIL FROM:<path> and RCPT TO:<path> only: */
	struct span		 path;	/* between < and >, "" for <> */
	struct smtp_param	 params[SMTP_PARAMS_MAX];
	size_t			 nparams;
};

/*
 * line: one command line without CRLF, at most SMTP_CMD_LINE_MAX - 2 bytes
 * (longer is PARSE_TOO_LONG). An unknown verb is PARSE_OK with
 * SMTP_VERB_UNKNOWN. PARSE_INVALID: bad syntax for a known verb (missing
 * "FROM:", no angle brackets, more than SMTP_PARAMS_MAX parameters, a NUL
 * byte, a path over SMTP_PATH_MAX). The spans point into line.
 */
enum parse_rc smtp_cmd_parse(struct span line, struct smtp_cmd *out);
const char *smtp_verb_name(enum smtp_verb v);

#endif
