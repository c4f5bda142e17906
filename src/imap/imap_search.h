/*
 * imap_search: the SEARCH program of RFC 3501 6.4.4, compiled from the
 * parser's tokens into a tree and evaluated against one message at a
 * time. Every search key of RFC 3501 is supported: ALL, ANSWERED, BCC,
 * BEFORE, BODY, CC, DELETED, DRAFT, FLAGGED, FROM, HEADER, KEYWORD,
 * LARGER, NEW, NOT, OLD, ON, OR, RECENT, SEEN, SENTBEFORE, SENTON,
 * SENTSINCE, SINCE, SMALLER, SUBJECT, TEXT, TO, UID, UNANSWERED,
 * UNDELETED, UNDRAFT, UNFLAGGED, UNKEYWORD, UNSEEN, a sequence set and
 * parenthesised lists. Keywords are never set (no PERMANENTFLAGS \*):
 * KEYWORD matches nothing, UNKEYWORD everything.
 *
 * Limits: nesting (parentheses, NOT and OR together) at most
 * IMAP_SEARCH_DEPTH_MAX; keys at most IMAP_CMD_TOKENS_MAX (the parser's).
 * Pure: the message data comes from the caller.
 */
#ifndef POSTERN_IMAP_SEARCH_H
#define POSTERN_IMAP_SEARCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imap/imap_parse.h"

#define IMAP_SEARCH_DEPTH_MAX	32	/* nested NOT / OR / ( ): ours */

/* What evaluating needs, so the caller opens files only when needed. */
#define IMAP_SEARCH_NEEDS_MSG	0x1	/* header or body keys, SENT* dates */

struct imap_search;

/* One message, as the session knows it. msg is consulted only when the
 * program needs it; the callback opens it on first use, at most once per
 * imap_search_match(). What it returns stays the caller's: imap_search
 * never closes it (the caller closes it after the match, or caches it). */
struct imap_search_msg {
	uint32_t	 seq, uid;
	uint32_t	 max_seq, max_uid;	/* what "*" stands for */
	unsigned	 flags;			/* enum mbox_flag */
	bool		 recent;
	uint64_t	 vsize;
	int64_t		 internaldate;		/* seconds since the epoch */
	/* Returns the parsed message (imap_msg.h), or NULL when it cannot be
	 * read (then header and body keys do not match). */
	struct imap_msg	*(*open)(void *arg);
	void		*open_arg;
};

/*
 * Compiles toks[first..end) of cmd (the keys after SEARCH / UID SEARCH).
 * A leading CHARSET x is accepted for US-ASCII and UTF-8 (case-
 * insensitive); any other charset fails with *badcharset set (answer NO
 * [BADCHARSET (US-ASCII UTF-8)]). Dates are RFC 3501 date ("1-Feb-1994")
 * and compare by day in UTC, as the session's internal dates are kept.
 * NULL with a reason in err (answer BAD).
 */
struct imap_search *imap_search_compile(const struct imap_cmd *cmd,
	    size_t first, size_t end, bool *badcharset, char *err,
	    size_t errlen);
unsigned imap_search_needs(const struct imap_search *s);
bool	imap_search_match(const struct imap_search *s,
	    const struct imap_search_msg *msg);
void	imap_search_free(struct imap_search **sp);

#endif
