/*
 * filter: the checks Postern makes itself on a message as it streams in
 * (SPEC 2 filters.attachments and filters.content). The message's bytes
 * (LF form, as the client sent them) are pushed to a mime_parser; every
 * part's file names are matched against the attachment globs, and the
 * decoded header fields and text content against the content rules. Only
 * the parser's bounded window and each rule's last (match length - 1)
 * bytes are held, whatever the message's size.
 *
 * A hit names the filter, the rule, the MIME part and the action; the
 * session decides with every filter's hits together (filter_decide()).
 */
#ifndef POSTERN_FILTER_H
#define POSTERN_FILTER_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"
#include "core/config.h"
#include "mime/mime_parse.h"

#define FILTER_HITS_MAX		8	/* hits kept per message: ours */
#define FILTER_FOLD_CHUNK	4096	/* text folded to lower case at a time */
#define FILTER_TEXT_MAX		256	/* rule and detail text kept: ours */

enum filter_kind {
	FILTER_ATTACHMENT,	/* rule: the glob; detail: the file name */
	FILTER_CONTENT,		/* rule: the match text; detail: headers|body */
	FILTER_ANTIVIRUS,	/* rule: the signature; detail: "" or the error */
	FILTER_MILTER,		/* rule: the milter's address; detail: its reply */
	FILTER_MIME,		/* rule: the limit passed (mime_rc_text) */
};

/* What a hit asks for, strongest last: the decision is the strongest. */
enum filter_verdict {
	FV_ACCEPT,		/* logged only: on_error = accept, milter accept */
	FV_DISCARD,		/* 250, delivered to nobody */
	FV_QUARANTINE,		/* 250, delivered to filters.quarantine only */
	FV_TEMPFAIL,		/* 451 4.3.0 (or a milter's 4xx) */
	FV_REJECT,		/* 554 5.7.1 (or a milter's 5xx) */
};

struct filter_hit {
	enum filter_kind	 kind;
	enum filter_verdict	 verdict;
	char			 rule[FILTER_TEXT_MAX];
	char			 part[MIME_PATH_MAX];	/* "" = the message */
	char			 detail[FILTER_TEXT_MAX];
	bool			 reply;		/* detail is a milter's own reply,
						 * "550 5.7.1 text" */
};

/*
 * Where a new hit of verdict v goes in hits[0..*n) (at most
 * FILTER_HITS_MAX): a free slot, else the place of the weakest weaker hit
 * (a stronger hit is never lost), else NULL.
 */
struct filter_hit *filter_hits_slot(struct filter_hit *hits, size_t *n,
	    enum filter_verdict v);

const char *filter_kind_name(enum filter_kind k);	/* "attachment" ... */
const char *filter_verdict_name(enum filter_verdict v);	/* "reject" ... */
enum filter_verdict filter_verdict_of(enum cfg_action a);

/*
 * fnmatch-like glob: '*' any run of bytes, '?' one byte (not one UTF-8
 * character: a name's extension is what matters), ASCII letters without
 * regard to case, nothing else special. Bounded: O(len(pat) * len(name)).
 */
bool	filter_glob_match(const char *pat, struct span name);
/*
 * Does any of the globs match name, or name as a client would show it:
 * cut at a NUL byte, and with trailing dots and blanks removed (Windows
 * drops them)? The matching glob, or NULL.
 */
const char *filter_name_blocked(const struct cfg_strlist *globs,
	    struct span name);

struct filter_scan;

/* NULL when the configuration has no glob and no content rule. */
struct filter_scan *filter_scan_new(const struct config *cfg);
/* The next bytes of the message. Once a reject hit or a MIME limit is
 * found the rest is skipped. */
void	filter_scan_feed(struct filter_scan *fs, const char *data, size_t len);
/* End of message. */
void	filter_scan_finish(struct filter_scan *fs);
/* The hits found (a MIME limit passed is a FILTER_MIME hit that rejects). */
const struct filter_hit *filter_scan_hits(const struct filter_scan *fs,
	    size_t *n_out);
void	filter_scan_free(struct filter_scan **fsp);

#endif
