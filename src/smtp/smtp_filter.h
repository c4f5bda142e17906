/*
 * smtp_filter: the content filters of a transaction (SPEC 2 `filters`),
 * answered at end of DATA (SPEC 5). While DATA streams in, the message
 * goes through the attachment and content scan (filter.h). Once the queue
 * file is finished, clamd scans it, then each milter in turn reads it; the
 * strongest verdict of every hit decides (filter.h enum filter_verdict).
 * Milter changes and quarantine rewrite the queue file under the same id
 * before the session goes on to its quota check and commit; nothing is
 * acknowledged before that.
 */
#ifndef POSTERN_SMTP_FILTER_H
#define POSTERN_SMTP_FILTER_H

#include "core/log.h"
#include "filter/filter.h"
#include "filter/milter.h"

struct smtp_session;

struct smtp_filter_decision {
	enum filter_verdict	 verdict;	/* accept, discard, quarantine
						 * (already applied), tempfail, reject */
	int			 code;		/* with tempfail and reject */
	char			 esc[16];
	char			 text[MILTER_REPLY_TEXT_MAX];
};

typedef void (*smtp_filter_fn)(struct smtp_session *s,
	    const struct smtp_filter_decision *d);

/* At 354: starts the streaming scan when the configuration has filters. */
void	smtp_filter_begin(struct smtp_session *s);
/* Message bytes as they arrive (LF form). */
void	smtp_filter_feed(struct smtp_session *s, const char *data, size_t len);
/*
 * After queue_writer_finish(): runs what is left and calls done once,
 * maybe later (the session is busy meanwhile). With accept or
 * quarantine, s->qw and s->targets are the file and recipients to commit.
 */
void	smtp_filter_end(struct smtp_session *s, smtp_filter_fn done);
/* The deciding hit on the transaction line: filter, action, rule, part. */
void	smtp_filter_log_tx(const struct smtp_session *s, struct log_line *l);
/*
 * The notices of filters.attachments.notify for decision v, once it is
 * final: the message refused, or discarded, or quarantined and durable.
 */
void	smtp_filter_notify(struct smtp_session *s, enum filter_verdict v);
/* Ends the transaction's filtering (cancels what still runs). */
void	smtp_filter_reset(struct smtp_session *s);

#endif
