/*
 * mworker: a mailbox worker process, the POP3 and IMAP4 side of Postern
 * (docs/architecture.md, "Mailbox access"). One per core, started by the
 * master only when a pop3, pop3s, imap or imaps listener exists; chrooted
 * in data_dir/mail (the mailboxes, nothing else), run_as, sandboxed
 * (SANDBOX_MAILBOX). Logins go to dird over a brokered connection, as the
 * SMTP workers' do. One libevent loop serves every session (msess.h).
 */
#ifndef POSTERN_MWORKER_H
#define POSTERN_MWORKER_H

#include <openssl/ssl.h>

#include "core/config.h"
#include "server/conntrack.h"

struct event_base;

struct mworker_args {
	const struct config	*cfg;
	struct event_base	*base;		/* made before the chroot */
	SSL_CTX			*tls;
	struct conntrack	*ct;
	unsigned		 slot;
	const int		*listen_fds;	/* parallel to cfg->listen; -1 = none */
	int			 ctl_fd;	/* control socket to the master */
};

/* Runs until SIGTERM (every session says goodbye, then exit) or SIGUSR1
 * (stop accepting, let sessions end, then exit). The exit status. */
int	mworker_run(const struct mworker_args *a);

#endif
