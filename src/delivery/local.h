/*
 * local: delivery of a queued message to its local mailboxes. Blocking
 * (fsync); runs on the queue manager's delivery threads, never on a
 * session loop.
 */
#ifndef POSTERN_LOCAL_H
#define POSTERN_LOCAL_H

#include "core/log.h"

enum local_rc {
	LOCAL_DONE,		/* nothing pending: the queue file is gone */
	LOCAL_REMOTE_PENDING,	/* local part done; remote recipients wait */
	LOCAL_RETRY,		/* a local mailbox failed for now */
	LOCAL_GONE,		/* no such queue file (already finished) */
};

/*
 * Delivers every local recipient of queue/<id> that is not final yet.
 * Exactly once: each copy has a name fixed by (queue id, recipient index),
 * so after a crash a copy already in new/ or cur/ is recognised, not
 * written again.
 */
enum local_rc local_deliver(const char *id, const char *hostname,
	    const struct log_ctx *log);

#endif
