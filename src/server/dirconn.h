/*
 * dirconn: a child's connection to the directory process (dird). The
 * master brokers it: the child asks on its control socket
 * (IPCM_DIRD_CONNECT) and gets one end of a fresh socketpair, or none
 * while dird is down, in which case it asks again shortly. A call made
 * while there is no connection fails (fn gets NULL) on the next loop turn,
 * never inside dirconn_call; a dead connection is replaced on first use.
 */
#ifndef POSTERN_DIRCONN_H
#define POSTERN_DIRCONN_H

#include <stdbool.h>

#include "ipc/ipc.h"

struct event_base;
struct dirconn;

struct dirconn	*dirconn_new(struct event_base *base, int ctl_fd);
/* At start: waits (bounded, about 25 s at worst) for the first connection,
 * so the first clients do not see a temporary failure. */
void		 dirconn_first(struct dirconn *d);
bool		 dirconn_ready(const struct dirconn *d);
/* fn runs exactly once, later, on the loop; reply NULL = no answer. */
void		 dirconn_call(struct dirconn *d, struct ipc_msg *req,
		    ipc_reply_fn fn, void *arg);
/* No new connection is asked for after this (the process is ending). */
void		 dirconn_stop(struct dirconn *d);
void		 dirconn_free(struct dirconn **dp);

#endif
