/*
 * imap_parse: a streaming IMAP4rev1 command parser (RFC 3501 section 9,
 * literals per RFC 7888 LITERAL+). Bytes are fed in pieces of any size; it
 * yields whole commands (tag, upper-cased name, a bounded token tree) and
 * never looks at session state. See docs/imap.md "Command parser".
 */
#ifndef POSTERN_IMAP_PARSE_H
#define POSTERN_IMAP_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/limits.h"
#include "core/parse.h"

enum imap_tok_type {
	IMAP_TOK_ATOM,		/* incl. \Flags, 1:*, BODY.PEEK[...]<0.100> */
	IMAP_TOK_QUOTED,	/* value unescaped (\" and \\) */
	IMAP_TOK_LITERAL,	/* {n} or {n+}: n raw bytes, NUL and CRLF too */
	IMAP_TOK_NIL,		/* the atom NIL, any case; value "NIL" */
	IMAP_TOK_LIST,		/* ( ... ): children follow it in toks[] */
};

/*
 * Tokens are stored in pre-order. A LIST at index i has nchildren direct
 * children starting at i + 1; every token's `end` is the index just past it
 * and its descendants, so the next sibling of toks[i] is toks[toks[i].end].
 * The top-level arguments are toks[0], toks[toks[0].end], ... up to ntoks.
 */
struct imap_tok {
	enum imap_tok_type	 type;
	struct span		 val;	/* bytes; empty for LIST */
	size_t			 nchildren;	/* LIST only */
	size_t			 end;
	size_t			 off;	/* internal: offset of val in data */
};

/*
 * One command. The spans point into `data`, owned by the command: valid
 * until imap_cmd_clear(). On PARSE_INVALID / PARSE_TOO_LONG only `tag`
 * (empty when no valid tag was read: answer "* BAD") and `error` are set.
 */
struct imap_cmd {
	struct span		 tag;
	struct span		 name;	/* upper-cased: "LOGIN", "UID", ... */
	struct imap_tok		*toks;
	size_t			 ntoks;
	const char		*error;	/* short reason for a BAD reply, or NULL */
	struct buf		 data;
};

struct imap_parser;

/*
 * line_max bounds the bytes of a command outside its literals, all its
 * lines together, CRLFs and literal announcements included (at most
 * IMAP_CMD_LINE_MAX); nest_max bounds the parenthesis depth. The literal
 * bytes of one command, all literals together, are at most IMAP_LITERAL_MAX
 * unless imap_parser_set_literal_max() says otherwise.
 */
struct imap_parser *imap_parser_new(size_t line_max, size_t nest_max);
void	imap_parser_set_literal_max(struct imap_parser *p, size_t max);
void	imap_parser_free(struct imap_parser **pp);	/* sets *pp = NULL */

/*
 * Appends bytes read from the peer. -1 when the unconsumed input would pass
 * IMAP_INPUT_MAX (nothing is appended): call imap_parser_next() until
 * PARSE_INCOMPLETE before reading more from the socket.
 */
int	imap_parser_feed(struct imap_parser *p, const void *data, size_t len);

/*
 * PARSE_OK: *cmd_out holds the next command; free it with imap_cmd_clear().
 * PARSE_INCOMPLETE: more bytes are needed, or a synchronizing literal waits
 * for a decision (imap_parser_literal_wait()); *cmd_out untouched.
 * PARSE_INVALID: malformed (bad tag, bad atom, unbalanced parentheses, bare
 * CR or LF, ...). PARSE_TOO_LONG: a limit passed (line, tokens, nesting,
 * literal). For both, *cmd_out has tag and error (clear it as well) and the
 * parser skips the rest of that command up to its CRLF; it does parse
 * {n+} announcements on the way and skips their n bytes, so literal bytes
 * are never taken for commands. A {n+} over the limit is reported at once
 * (PARSE_TOO_LONG), and its bytes are then skipped without being stored:
 * the session may answer BAD and carry on, or close (RFC 7888 section 4).
 */
enum parse_rc imap_parser_next(struct imap_parser *p, struct imap_cmd *cmd_out);

/*
 * True when the parser stopped after a synchronizing literal "{n}CRLF" and
 * waits: *size_out is n, *tag_out and *name_out (may be NULL) the command's
 * tag and name (valid until the next parser call). The session checks n,
 * then either sends "+ Ready" after imap_parser_literal_accept() returns 0,
 * or calls imap_parser_literal_reject(): the next imap_parser_next() then
 * gives PARSE_TOO_LONG for that tag and the command is over (RFC 3501 7.5:
 * the client sends no literal and nothing else of that command).
 * imap_parser_literal_accept() returns -1 and rejects when n would pass the
 * parser's literal limit.
 */
bool	imap_parser_literal_wait(const struct imap_parser *p,
	    uint64_t *size_out, struct span *tag_out, struct span *name_out);
int	imap_parser_literal_accept(struct imap_parser *p);
void	imap_parser_literal_reject(struct imap_parser *p);

void	imap_cmd_clear(struct imap_cmd *cmd);

/* ATOM, QUOTED, LITERAL or NIL: usable where RFC 3501 wants an astring. */
bool	imap_tok_is_string(const struct imap_tok *t);

/*
 * Sequence sets (RFC 3501 9 "sequence-set"): "1:3,5,7:*". Ranges are kept
 * as written; IMAP_SEQ_STAR (0, never a valid number) stands for "*".
 * PARSE_INVALID for 0, a number over 2^32 - 1, empty parts or other bytes;
 * PARSE_TOO_LONG past IMAP_SEQ_RANGES_MAX ranges. Free with
 * imap_seq_set_clear().
 */
#define IMAP_SEQ_STAR	0u
struct imap_seq_range {
	uint32_t	 first, last;	/* a single number has first == last */
};
struct imap_seq_set {
	struct imap_seq_range	*ranges;
	size_t			 nranges;
};
enum parse_rc imap_seq_set_parse(struct span in, struct imap_seq_set *out);
/* Whether n is in the set when the largest number in use is star. */
bool	imap_seq_set_contains(const struct imap_seq_set *s, uint32_t n,
	    uint32_t star);
void	imap_seq_set_clear(struct imap_seq_set *s);

#endif
