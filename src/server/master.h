/*
 * master: `postern serve`. Prepares data_dir, binds every listener, then
 * supervises the queue manager and one worker process per core: restarts
 * one that dies (with backoff), replaces them all on SIGHUP with the new
 * configuration, stops them on SIGTERM.
 */
#ifndef POSTERN_MASTER_H
#define POSTERN_MASTER_H

#include <stdbool.h>

#include "core/config.h"

/* Takes ownership of cfg. Returns the exit status. */
int	master_serve(struct config *cfg, const char *config_path, bool must_exist);

#endif
