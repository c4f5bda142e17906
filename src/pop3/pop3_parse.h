/*
 * pop3_parse: one POP3 command line (without its CRLF) into a struct
 * pop3_cmd, and one client line of an AUTH exchange. Pure: never looks at
 * session state (RFC 1939 3, RFC 2449, RFC 2595 4, RFC 5034 4).
 */
#ifndef POSTERN_POP3_PARSE_H
#define POSTERN_POP3_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/limits.h"
#include "core/parse.h"

/* APOP is deliberately absent (docs/pop3.md): it parses as UNKNOWN. */
enum pop3_verb {
	POP3_VERB_UNKNOWN, POP3_VERB_USER, POP3_VERB_PASS, POP3_VERB_STAT,
	POP3_VERB_LIST, POP3_VERB_RETR, POP3_VERB_DELE, POP3_VERB_NOOP,
	POP3_VERB_RSET, POP3_VERB_QUIT, POP3_VERB_TOP, POP3_VERB_UIDL,
	POP3_VERB_CAPA, POP3_VERB_STLS, POP3_VERB_AUTH,
	POP3_VERB_COUNT
};

struct pop3_cmd {
	enum pop3_verb	 verb;
	/* USER name, PASS password (may hold SP), AUTH mechanism ("" if
	 * none); "" for every other verb. */
	struct span	 arg;
	/* AUTH only: the initial response, still base64 ("=" is empty,
	 * RFC 5034 4); ptr NULL when the client sent none. */
	struct span	 sasl_ir;
	/* LIST, UIDL (when has_msg), RETR, DELE, TOP: 1..POP3_MSG_MAX. */
	bool		 has_msg;
	uint32_t	 msg;
	/* TOP only: 0..POP3_TOP_LINES_MAX. */
	uint32_t	 lines;
};

/*
 * line: one command line without CRLF, at most POP3_CMD_LINE_MAX - 2 bytes
 * (longer is PARSE_TOO_LONG, whatever it holds). An unknown keyword is
 * PARSE_OK with POP3_VERB_UNKNOWN. PARSE_INVALID: a NUL, CR or LF
 * anywhere, or arguments a known verb does not take (missing, extra,
 * not exactly one SP apart, a number out of range). The spans point into
 * line.
 */
enum parse_rc pop3_cmd_parse(struct span line, struct pop3_cmd *out);
const char *pop3_verb_name(enum pop3_verb v);

/*
 * One client line during AUTH (RFC 5034 4): "*" cancels (*cancel_out
 * true), anything else is a base64 response returned in *resp_out for
 * sasl_b64_decode(); an empty line is the empty response. At most
 * POP3_SASL_LINE_MAX - 2 bytes, else PARSE_TOO_LONG. PARSE_INVALID on a
 * byte outside the base64 alphabet (SP included).
 */
enum parse_rc pop3_auth_line_parse(struct span line, bool *cancel_out,
	    struct span *resp_out);

#endif
