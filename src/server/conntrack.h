/*
 * conntrack: connection counts shared by every worker process (total and
 * per client IP), in an anonymous shared mapping made before fork. Each
 * worker writes only its own slot, so the master can zero the slot of a
 * worker that died and no count leaks.
 */
#ifndef POSTERN_CONNTRACK_H
#define POSTERN_CONNTRACK_H

#include <sys/socket.h>

struct conntrack;

struct conntrack *conntrack_new(unsigned nslots);
/* 0 admitted (counted), 1 over max_per_ip, 2 over max_total. */
int	conntrack_acquire(struct conntrack *ct, unsigned slot,
	    const struct sockaddr *sa, unsigned max_total, unsigned max_per_ip);
void	conntrack_release(struct conntrack *ct, unsigned slot,
	    const struct sockaddr *sa);
void	conntrack_reset_slot(struct conntrack *ct, unsigned slot);
unsigned conntrack_slots(const struct conntrack *ct);

#endif
