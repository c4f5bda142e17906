/*
 * qmgr: the queue manager process. Learns of new messages from the workers
 * (datagrams of queue ids) and from scanning queue/, delivers to local
 * mailboxes on a pool of threads and to remote hosts asynchronously on its
 * loop (remote.c), retries on the delivery.retry schedule until
 * delivery.max_lifetime, and sends DSNs and auto-replies.
 */
#ifndef POSTERN_QMGR_H
#define POSTERN_QMGR_H

#include <stddef.h>

#include "core/config.h"

/* In queue/: left by `postern queue flush|release`; the queue manager
 * removes it and makes every message due now. */
#define QUEUE_FLUSH_FILE	".flush"

struct qmgr_pre;

/* Before chroot and privilege drop: the event loop, the DNS resolver
 * (reads resolv.conf) and the outbound context (TLS, relayhost
 * credentials). NULL with err on failure. */
struct qmgr_pre	*qmgr_prepare(const struct config *cfg, char *err, size_t errlen);

/* Runs until SIGTERM; finishes the deliveries in progress first (attempts
 * still talking after a grace period are cut and retried later). ctl_fd is
 * the control socket to the master (directory connections). */
int	qmgr_run(const struct config *cfg, struct qmgr_pre *pre, int notify_fd,
	    int ctl_fd);

#endif
