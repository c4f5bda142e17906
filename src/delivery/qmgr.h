/*
 * qmgr: the queue manager process. Learns of new messages from the workers
 * (datagrams of queue ids) and from scanning queue/, and hands each to a
 * delivery thread: local mailboxes now, remote hosts in a later issue.
 */
#ifndef POSTERN_QMGR_H
#define POSTERN_QMGR_H

#include "core/config.h"

/* Runs until SIGTERM; finishes the deliveries in progress first. */
int	qmgr_run(const struct config *cfg, int notify_fd);

#endif
