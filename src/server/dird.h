/*
 * dird: the directory process. The only long-running process that opens
 * postern.db: session processes ask it over IPC (ipc_proto.h) whether a
 * client is banned or trusted, whether a sender or recipient is allowed,
 * where a recipient goes, and whether a password is right. They never see
 * a password hash.
 */
#ifndef POSTERN_DIRD_H
#define POSTERN_DIRD_H

#include "core/config.h"

/* ctl_fd: the control socket from the master, which hands over one client
 * socket per worker (IPCM_DIRD_CLIENT). Runs until SIGTERM. */
int	dird_run(const struct config *cfg, int ctl_fd);

#endif
