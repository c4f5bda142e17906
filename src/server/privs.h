/*
 * privs: who Postern runs as. Started as root it binds its ports, prepares
 * data_dir for run_as, and drops to run_as (setgroups, setgid, setuid,
 * verified) before any byte from a client is read. Not root: it stays the
 * user it is.
 */
#ifndef POSTERN_PRIVS_H
#define POSTERN_PRIVS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "core/config.h"

struct privs {
	bool	 drop;		/* started as root: must drop */
	uid_t	 uid;
	gid_t	 gid;
};

/* Looks up run_as when root; refuses a run_as that is root itself. */
int	privs_resolve(const struct config *cfg, struct privs *out, char *err,
	    size_t errlen);
/* Chroots into the cwd (data_dir), drops for good and verifies that root
 * cannot be regained; fatal() otherwise. No-op when !p->drop. */
void	privs_drop(const struct privs *p);
/* The same drop without the chroot, for commands that need no data_dir
 * but talk to the network (relay-test, dns-records). No-op when !p->drop. */
void	privs_drop_user(const struct privs *p);
/* Creates data_dir (mode 0700, owned by run_as) and makes it the cwd. */
int	privs_datadir(const struct config *cfg, const struct privs *p, char *err,
	    size_t errlen);

#endif
