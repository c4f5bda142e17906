/*
 * sandbox: confines a child process for good once it has dropped
 * privileges: Landlock limits which files under data_dir it may touch,
 * and a seccomp allow-list (libseccomp) which system calls it may make.
 * Which paths and calls each role gets is the table in sandbox.c; the
 * reasons are in docs/sandbox.md.
 */
#ifndef POSTERN_SANDBOX_H
#define POSTERN_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>

enum sandbox_role {
	SANDBOX_WORKER,		/* sessions: their cwd, data_dir/queue, only */
	SANDBOX_QMGR,		/* delivery: queue/ and mail/ (no reads there) */
	SANDBOX_DIRD,		/* the directory process: postern.db and its WAL,
				 * names under mail/ (quota) */
	SANDBOX_MAILBOX,	/* POP3/IMAP: their cwd, data_dir/mail, only */
};

/*
 * Confines the calling process for good: Landlock (filesystem) when the
 * kernel has it, then a seccomp allow-list (libseccomp). Call after
 * privs_drop(), once the process has opened what it needs at start, and
 * before it starts any thread (Landlock binds the calling thread only;
 * threads created later inherit both). Paths are relative to the cwd:
 * data_dir, or "/" after the chroot.
 *
 * On a kernel without Landlock (or whose ABI cannot express the role:
 * WORKER, QMGR and MAILBOX need cross-directory rename, ABI 2), it logs nothing
 * itself: *landlock_out is false, for the caller's log line. The seccomp
 * filter is always loaded; a call outside the list kills the process
 * (SIGSYS), or is only logged by the kernel with POSTERN_SECCOMP=log (to
 * find a missing call; see the audit log or dmesg).
 *
 * POSTERN_SANDBOX=off in the environment disables both (debugging only):
 * returns 0, *landlock_out false, and sandbox_enabled() says so.
 *
 * DIRD creates postern.db-wal and postern.db-shm
 * (empty, 0600) when missing: Landlock cannot allow creating only these
 * names, so they must exist before the rules are laid. The database must
 * be in WAL mode and use temp_store = MEMORY (no temporary files).
 *
 * Returns 0, or -1 with err; after -1 the process may be confined in
 * part (Landlock laid, seccomp not): the caller must exit.
 */
int	sandbox_apply(enum sandbox_role role, bool *landlock_out, char *err,
	    size_t errlen);
/* false when POSTERN_SANDBOX=off. */
bool	sandbox_enabled(void);
/* "worker", "qmgr", "dird", "mailbox": for log lines. */
const char *sandbox_role_name(enum sandbox_role role);

#endif
