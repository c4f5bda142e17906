/*
 * local: delivery of a queued message to its local mailboxes. Blocking
 * (fsync); runs on the queue manager's delivery threads, never on a
 * session loop.
 */
#ifndef POSTERN_LOCAL_H
#define POSTERN_LOCAL_H

#include <stdbool.h>

#include <stdint.h>

#include "core/config.h"
#include "core/log.h"
#include "queue/queue.h"

enum local_rc {
	LOCAL_DONE,		/* locked and read */
	LOCAL_GONE,		/* no such queue file (already finished) */
	LOCAL_BUSY,		/* another process is delivering it right now */
};

/*
 * Reads queue/<id> into env and takes an exclusive flock on it, which
 * keeps two processes (old and new qmgr during a reload) from working on
 * the same message at once. The lock lasts until *fd_out is closed.
 */
enum local_rc local_lock(const char *id, struct queue_env *env, int *fd_out);

/*
 * Delivers every local recipient of env that is pending and due (next_try
 * <= now); marks each one whose state changed in dirty[] (env->nrcpts
 * entries) and logs it. Nothing is recorded in the queue file: the caller
 * does that for the dirty ones. Exactly once: each copy has a name fixed
 * by (queue id, recipient index), so when `recovering` (the message may
 * have been worked on before: found by a scan, after a crash or a retry)
 * a copy already in new/ or cur/ is recognised, not written again. A
 * fresh message (first attempt, announced by the worker that queued it)
 * skips that look-up. Returns how many local recipients are still pending.
 */
size_t	local_deliver(struct queue_env *env, int fd, const struct config *cfg,
	    bool recovering, int64_t now, bool *dirty, const struct log_ctx *log);

/* When to try again after `attempts` failed attempts: delivery.retry, then
 * every last step. */
int64_t	local_retry_at(const struct config *cfg, unsigned attempts, int64_t now);

#endif
