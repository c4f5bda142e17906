/*
 * smtp_addr: RFC 5321 4.1.2 paths (Mailbox, with optional source route)
 * into local part and domain. Pure. This parser is the first line of the
 * anti-relay defence: an address is split exactly once, here, and nothing
 * else in postern looks for '@', '%' or '!' in an address.
 */
#ifndef POSTERN_SMTP_ADDR_H
#define POSTERN_SMTP_ADDR_H

#include <stdbool.h>

#include "core/buf.h"
#include "core/parse.h"

struct smtp_addr {
	bool	 null;		/* <> */
	char	*local;		/* unquoted local part, case kept */
	char	*domain;	/* lower case; "[192.0.2.1]" for literals */
	bool	 quoted;	/* local part was a quoted-string */
	bool	 literal;	/* domain is an address literal */
	bool	 source_route;	/* "@a,@b:" was present and dropped */
	bool	 utf8;		/* non-ASCII bytes present (needs SMTPUTF8) */
};

/*
 * path: the text between < and > (source route allowed, "" = null path).
 * PARSE_TOO_LONG: local part over 64, domain over 255, path over 256.
 * PARSE_INVALID: anything else RFC 5321 does not allow, including a trailing
 * dot, empty labels, "@" in an unquoted local part, bare NUL/CR/LF, or UTF-8
 * when allow_utf8 is false. On PARSE_OK the caller frees with smtp_addr_clear().
 */
enum parse_rc smtp_addr_parse(struct span path, bool allow_utf8,
	    struct smtp_addr *out);
void	smtp_addr_clear(struct smtp_addr *a);
/* "local@domain" with both parts lower-cased (ASCII), the directory key;
 * "" for the null path. New string. */
char	*smtp_addr_key(const struct smtp_addr *a);
/* The address as it should be written back in a header or reply, with the
 * local part re-quoted when needed. New string. */
char	*smtp_addr_text(const struct smtp_addr *a);

#endif
