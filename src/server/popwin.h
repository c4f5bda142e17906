/*
 * popwin: the smtp_after_pop windows (relay.smtp_after_pop): "this IP
 * logged in to POP3/IMAP recently, trust its SMTP until then". Kept in
 * dird's memory only: lost when dird restarts (a crash, or a reload, which
 * starts a new dird). Bounded: when full, an expired window makes room,
 * else the one closest to expiry (the oldest).
 */
#ifndef POSTERN_POPWIN_H
#define POSTERN_POPWIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define POPWIN_MAX	65536	/* windows at once: ours */

struct popwin;

/* cap: at most this many windows (1..POPWIN_MAX). */
struct popwin	*popwin_new(size_t cap);
void		 popwin_free(struct popwin **wp);
/* Opens (or extends) ip's window: open until now + sec. -1 when ip is
 * no IP address. */
int		 popwin_open(struct popwin *w, const char *ip, int64_t now,
		    unsigned sec);
/* Is ip's window open at now? */
bool		 popwin_open_at(const struct popwin *w, const char *ip, int64_t now);
size_t		 popwin_count(const struct popwin *w);

#endif
