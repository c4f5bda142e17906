/*
 * route: where a recipient address goes. Local domains resolve through
 * users (and their forwards), aliases (recursively, bounded), postmaster
 * and the catch-all; anything else is remote and needs relay rights
 * (decided by the caller). A user's forward replaces the local copy unless
 * forward_keep (docs/directory.md, "Forwarding").
 * Reads the directory; no I/O of its own.
 */
#ifndef POSTERN_ROUTE_H
#define POSTERN_ROUTE_H

#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "directory/directory.h"
#include "queue/queue.h"

enum route_rc {
	ROUTE_OK,		/* targets filled */
	ROUTE_REMOTE,		/* domain is not local: relay decision */
	ROUTE_UNKNOWN,		/* 550 5.1.1 */
	ROUTE_DISABLED,		/* 550 5.2.1 */
	ROUTE_TEMPFAIL,		/* 451 4.3.0 */
};

struct route_target {
	enum queue_kind	 kind;
	char		*key;		/* "local@domain", lower case */
	uint64_t	 quota;		/* bytes, 0 = none (local users only) */
	char		*domain;	/* the target's domain (size limits) */
};

struct route_result {
	struct route_target	*v;
	size_t			 n;
};

/*
 * Resolves local@domain (domain lower case, "" for <Postmaster>). Domain
 * literals and non-local domains give ROUTE_REMOTE. postmaster@ a local
 * domain is always accepted: its own user or alias, else its mailbox.
 */
enum route_rc route_rcpt(struct directory *d, const struct config *cfg,
	    const char *local, const char *domain, struct route_result *out);
void	route_result_clear(struct route_result *r);
/* Is domain one of ours? DIR_FOUND / DIR_ABSENT / DIR_TEMPFAIL. */
enum dir_rc route_domain_is_local(struct directory *d, const char *domain);

/*
 * Walks the targets of a route answer as the directory process sends them
 * (IK_TARGETS: "L|R\tkey\tquota\n" lines): fn once per line, at most max
 * lines, stopping at the first malformed one. Returns how many fn saw.
 */
typedef void (*route_target_fn)(void *arg, enum queue_kind kind,
	    const char *key, uint64_t quota);
size_t	route_targets_each(const char *data, size_t len, size_t max,
	    route_target_fn fn, void *arg);

#endif
