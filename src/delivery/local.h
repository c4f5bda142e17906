/*
 * local: delivery of a queued message to its local mailboxes. Blocking
 * (fsync); runs on the queue manager's delivery threads, never on a
 * session loop.
 */
#ifndef POSTERN_LOCAL_H
#define POSTERN_LOCAL_H

#include <stdbool.h>

#include "core/log.h"

enum local_rc {
	LOCAL_DONE,		/* nothing pending: the queue file is gone */
	LOCAL_REMOTE_PENDING,	/* local part done; remote recipients wait */
	LOCAL_RETRY,		/* a local mailbox failed for now */
	LOCAL_GONE,		/* no such queue file (already finished) */
	LOCAL_BUSY,		/* another process is delivering it right now */
};

/*
 * Delivers every local recipient of queue/<id> that is not final yet.
 * Exactly once: each copy has a name fixed by (queue id, recipient index),
 * so when `recovering` (the message may have been worked on before: found
 * by a scan, after a crash or a retry) a copy already in new/ or cur/ is
 * recognised, not written again. A fresh message (first attempt, announced
 * by the worker that queued it) skips that look-up. An exclusive flock on
 * the queue file keeps two processes (old and new qmgr during a reload)
 * from delivering the same message at once.
 */
enum local_rc local_deliver(const char *id, const char *hostname,
	    bool recovering, const struct log_ctx *log);

#endif
