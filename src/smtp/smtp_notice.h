/*
 * smtp_notice: the notices of filters.attachments.notify (SPEC 2). When a
 * blocked attachment decides a transaction, Postern may tell the local
 * recipients ("recipient": a message for you was refused, discarded or
 * quarantined) and the sender ("sender": only for discard and quarantine,
 * as a refused sender already has the SMTP reply; a sender who did not
 * authenticate only when the bounces policy of the recipient's domain
 * allows it, SPEC 4). A notice is a short text message from the null
 * sender, queued like any other; it outlives the session that made it.
 */
#ifndef POSTERN_SMTP_NOTICE_H
#define POSTERN_SMTP_NOTICE_H

#include "filter/filter.h"

struct smtp_session;

struct smtp_target;
/*
 * Once the outcome is final (refused, or discarded or quarantined and
 * committed), before the transaction is reset. targets: the recipients
 * the message had before a quarantine replaced them.
 */
void	smtp_notice_send(struct smtp_session *s, const struct filter_hit *h,
	    enum filter_verdict v, const struct smtp_target *targets,
	    size_t ntargets);

#endif
