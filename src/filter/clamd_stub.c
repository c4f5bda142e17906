/*
 * TEMPORARY stand-in so that main links while src/filter/clamd.c is
 * written on its branch: DELETE THIS FILE (git rm) when clamd.c lands.
 */
#include <stdlib.h>

#include "filter/clamd.h"

struct clamd_scan *
clamd_scan_start(struct event_base *b, const struct filter_endpoint *ep,
    int fd, uint64_t off, uint64_t len, clamd_done_fn done, void *arg)
{
	(void)b;
	(void)ep;
	(void)fd;
	(void)off;
	(void)len;
	(void)done;
	(void)arg;
	abort();
}

void
clamd_scan_cancel(struct clamd_scan **sp)
{
	(void)sp;
}
