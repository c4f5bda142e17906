/*
 * TEMPORARY stand-in so that main links while src/filter/milter.c is
 * written on its branch: DELETE THIS FILE (git rm) when milter.c lands.
 */
#include <stdlib.h>

#include "filter/milter.h"

struct milter_run *
milter_run_start(struct event_base *b, const struct filter_endpoint *ep,
    const struct milter_msg *msg, milter_done_fn done, void *arg)
{
	(void)b;
	(void)ep;
	(void)msg;
	(void)done;
	(void)arg;
	abort();
}

void
milter_run_cancel(struct milter_run **rp)
{
	(void)rp;
}
