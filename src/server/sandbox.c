/*
 * sandbox: Landlock rules and seccomp allow-lists per process role. The
 * tables below are the whole policy; docs/sandbox.md says how the lists
 * were found (strace of the integration suite) and why each path right is
 * there. Landlock system calls are made directly: glibc 2.36 has no
 * wrappers, and Debian 12's <linux/landlock.h> stops at ABI 2.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <sched.h>
#include <seccomp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "server/sandbox.h"

/* Rights of later ABIs, for kernels newer than the headers (values fixed
 * by the kernel's UAPI). */
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE	(1ULL << 14)	/* ABI 3 */
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV	(1ULL << 15)	/* ABI 5 */
#endif

#define LL_READ		LANDLOCK_ACCESS_FS_READ_FILE
#define LL_WRITE	LANDLOCK_ACCESS_FS_WRITE_FILE
#define LL_TRUNC	LANDLOCK_ACCESS_FS_TRUNCATE
#define LL_LIST		LANDLOCK_ACCESS_FS_READ_DIR
#define LL_MKREG	LANDLOCK_ACCESS_FS_MAKE_REG
#define LL_MKDIR	LANDLOCK_ACCESS_FS_MAKE_DIR
#define LL_RM		LANDLOCK_ACCESS_FS_REMOVE_FILE
#define LL_REFER	LANDLOCK_ACCESS_FS_REFER
#define LL_RMDIR	LANDLOCK_ACCESS_FS_REMOVE_DIR
/* The rights a rule on a regular file may carry. */
#define LL_FILE_RIGHTS	(LANDLOCK_ACCESS_FS_EXECUTE | LL_READ | LL_WRITE | \
	LL_TRUNC | LANDLOCK_ACCESS_FS_IOCTL_DEV)

#define SANDBOX_RULES_MAX	8
#define SANDBOX_SYSCALLS_MAX	128

enum sandbox_path_kind {
	SPATH_DIR,		/* must exist */
	SPATH_DIR_MAKE,		/* made (0700) when missing, then as SPATH_DIR */
	SPATH_FILE,		/* must exist */
	SPATH_FILE_MAKE,	/* made empty (0600) when missing */
};

struct sandbox_rule {
	const char		*path;
	enum sandbox_path_kind	 kind;
	uint64_t		 access;
};

struct sandbox_policy {
	const char		*name;
	int			 landlock_abi_min;	/* 2: renames across dirs */
	struct sandbox_rule	 rules[SANDBOX_RULES_MAX];
	const char		*syscalls[SANDBOX_SYSCALLS_MAX];	/* NULL-ended */
	bool			 threads;	/* clone(CLONE_THREAD) */
};

/* Queue spool: write tmp/<id>, rename into queue/, take spares from
 * free/ (renames between the three directories need REFER). */
#define QUEUE_RIGHTS	(LL_READ | LL_WRITE | LL_TRUNC | LL_LIST | LL_MKREG | \
	LL_RM | LL_REFER)
/* SQLite in WAL mode: the three files exist (see sandbox.h); nothing is
 * created, removed or listed in data_dir itself. */
#define DB_RIGHTS	(LL_READ | LL_WRITE | LL_TRUNC)
#define DB_RULES \
	{ "postern.db", SPATH_FILE, DB_RIGHTS }, \
	{ "postern.db-wal", SPATH_FILE_MAKE, DB_RIGHTS }, \
	{ "postern.db-shm", SPATH_FILE_MAKE, DB_RIGHTS }

/*
 * Calls every role makes: glibc (malloc, stdio, time, exit), libevent
 * with epoll, the log's write(2), signals, and thread synchronisation.
 */
#define SYSCALLS_BASE \
	"read", "write", "readv", "writev", "close", "lseek", "fstat", \
	"newfstatat", "statx", "fcntl", "openat", "dup", "dup3", \
	"mmap", "munmap", "mprotect", "mremap", "madvise", "brk", \
	"rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "sigaltstack", \
	"tgkill", "futex", "set_robust_list", "get_robust_list", "rseq", \
	"sched_yield", "sched_getaffinity", "clock_gettime", "clock_getres", \
	"gettimeofday", "time", "nanosleep", "clock_nanosleep", "getpid", \
	"gettid", "getppid", "getuid", "geteuid", "getgid", "getegid", \
	"getrandom", "prlimit64", "epoll_create1", "epoll_ctl", "epoll_wait", \
	"epoll_pwait", "epoll_pwait2", "eventfd2", "pipe2", "poll", "ppoll", \
	"restart_syscall", "exit", "exit_group", "uname", "getcwd"

/* Socket I/O on descriptors the process was given or accepted. */
#define SYSCALLS_SOCKIO \
	"recvfrom", "recvmsg", "sendto", "sendmsg", "shutdown", \
	"getsockname", "getpeername", "getsockopt", "setsockopt"

/* Durable files: fsync before rename, directory fsync after. */
#define SYSCALLS_FILES \
	"pread64", "pwrite64", "preadv", "pwritev", "fsync", "fdatasync", \
	"ftruncate", "fallocate", "rename", "renameat", "renameat2", \
	"unlink", "unlinkat", "getdents64", "flock", "access", "faccessat", \
	"faccessat2", "readlink", "readlinkat", "lstat", "stat"

/* SQLite's unix VFS: POSIX locks (fcntl), -shm mapped shared, fchown only
 * when run as root (never here, but harmless). */
#define SYSCALLS_SQLITE \
	"fchown", "fchmod"

static const struct sandbox_policy sandbox_policies[] = {
	[SANDBOX_WORKER] = {
		.name = "worker",
		.landlock_abi_min = 2,
		/* The worker's cwd (and, as root, its root) is data_dir/queue. */
		.rules = { { ".", SPATH_DIR, QUEUE_RIGHTS } },
		/* socket, connect, bind: libunbound's thread asks the DNS
		 * servers for the sender checks (UDP and TCP, a random source
		 * port, RFC 5452 9.2). */
		.syscalls = { SYSCALLS_BASE, SYSCALLS_SOCKIO, SYSCALLS_FILES,
		    "accept", "accept4", "listen", "socket", "connect", "bind",
		    NULL },
		.threads = true,
	},
	[SANDBOX_QMGR] = {
		.name = "qmgr",
		.landlock_abi_min = 2,
		.rules = {
			{ "queue", SPATH_DIR, LL_READ | LL_WRITE | LL_TRUNC |
			    LL_LIST | LL_RM | LL_MKREG | LL_REFER },
			/* Maildirs: make mail/D/L/{tmp,new,cur}, write tmp/,
			 * rename into new/, look in new/ and cur/. */
			{ "mail", SPATH_DIR_MAKE, LL_MKDIR | LL_MKREG | LL_WRITE |
			    LL_TRUNC | LL_LIST | LL_RM | LL_REFER },
		},
		/* Sockets: the datagrams of queue ids from workers; outbound
		 * SMTP (TCP: socket, connect, then SO_ERROR) and libunbound's
		 * thread (UDP and TCP to the DNS servers; bind picks a random
		 * source port, RFC 5452 9.2). Never listen or accept. */
		.syscalls = { SYSCALLS_BASE, SYSCALLS_FILES, SYSCALLS_SOCKIO,
		    "socket", "connect", "bind", "mkdir", "mkdirat",
		    "copy_file_range", "sendfile", NULL },
		.threads = true,
	},
	[SANDBOX_DIRD] = {
		.name = "dird",
		.landlock_abi_min = 1,
		.rules = {
			DB_RULES,
			/* Quota: maildir_usage() lists names (sizes are in
			 * them); no file under mail/ can be opened. */
			{ "mail", SPATH_DIR_MAKE, LL_LIST },
		},
		.syscalls = { SYSCALLS_BASE, SYSCALLS_SOCKIO, SYSCALLS_FILES,
		    SYSCALLS_SQLITE, NULL },
		.threads = true,
	},
	[SANDBOX_MAILBOX] = {
		.name = "mailbox",
		.landlock_abi_min = 2,
		/* The mailbox worker's cwd (and, as root, its root) is
		 * data_dir/mail: read messages, make folders (mkdir) and
		 * delete them (rmdir), tmp/ -> new/ -> cur/ renames, flag
		 * renames in cur/, uidlist rewrites, COPY by link. */
		.rules = { { ".", SPATH_DIR, LL_READ | LL_WRITE | LL_TRUNC |
		    LL_LIST | LL_MKREG | LL_MKDIR | LL_RM | LL_RMDIR | LL_REFER } },
		/* listen: evconnlistener_new() calls it on the inherited
		 * sockets; accept4 the clients. inotify_*: folder watches
		 * (msess_watch.c). link/linkat: COPY without copying. No
		 * socket, connect or bind: it talks to dird over the socket
		 * the master hands it. */
		.syscalls = { SYSCALLS_BASE, SYSCALLS_SOCKIO, SYSCALLS_FILES,
		    "accept", "accept4", "listen", "inotify_init1",
		    "inotify_add_watch", "inotify_rm_watch", "link", "linkat",
		    "mkdir", "mkdirat", "rmdir", "utimensat", NULL },
		.threads = false,
	},
};

const char *
sandbox_role_name(enum sandbox_role role)
{
	return (unsigned)role < sizeof(sandbox_policies) / sizeof(sandbox_policies[0]) ?
	    sandbox_policies[role].name : "unknown";
}

bool
sandbox_enabled(void)
{
	const char *v = getenv("POSTERN_SANDBOX");

	return v == NULL || strcmp(v, "off") != 0;
}

/* Every filesystem right the ABI knows: handled = denied unless a rule
 * grants it. */
static uint64_t
sandbox_ll_handled(int abi)
{
	uint64_t h = (LANDLOCK_ACCESS_FS_MAKE_SYM << 1) - 1;	/* ABI 1 */

	if (abi >= 2)
		h |= LL_REFER;
	if (abi >= 3)
		h |= LL_TRUNC;
	if (abi >= 5)
		h |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
	return h;
}

/* Opens rule->path for a rule (O_PATH), making it first if the kind says. */
static int
sandbox_rule_fd(const struct sandbox_rule *r, char *err, size_t errlen)
{
	bool dir = r->kind == SPATH_DIR || r->kind == SPATH_DIR_MAKE;
	struct stat st;
	int fd;

	if (r->kind == SPATH_DIR_MAKE && mkdir(r->path, 0700) == -1 &&
	    errno != EEXIST)
		goto fail;
	if (r->kind == SPATH_FILE_MAKE && access(r->path, F_OK) == -1) {
		/* No O_TRUNC: another process may have made it meanwhile. The
		 * directory is synced here since SQLite's own sync of it (after
		 * it makes the WAL) will be refused. */
		fd = open(r->path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd == -1)
			goto fail;
		close(fd);
		if ((fd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1) {
			fsync(fd);
			close(fd);
		}
	}
	fd = open(r->path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1)
		goto fail;
	if (fstat(fd, &st) == -1 || (dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode))) {
		snprintf(err, errlen, "sandbox: %s: not a %s", r->path,
		    dir ? "directory" : "regular file");
		close(fd);
		return -1;
	}
	return fd;
fail:
	snprintf(err, errlen, "sandbox: %s: %s", r->path, strerror(errno));
	return -1;
}

/*
 * Lays p's rules. Returns 1 when confined, 0 when the kernel cannot
 * (no Landlock, or an ABI below the role's minimum: ABI 1 refuses every
 * rename across directories), -1 on error.
 */
static int
sandbox_landlock(const struct sandbox_policy *p, char *err, size_t errlen)
{
	struct landlock_ruleset_attr attr = { 0 };
	long abi;
	int rfd, rc = -1;

	abi = syscall(SYS_landlock_create_ruleset, NULL, 0,
	    LANDLOCK_CREATE_RULESET_VERSION);
	if (abi < p->landlock_abi_min)
		return 0;	/* -1 (ENOSYS, EOPNOTSUPP) included */
	attr.handled_access_fs = sandbox_ll_handled((int)abi);
	rfd = (int)syscall(SYS_landlock_create_ruleset, &attr, sizeof(attr), 0);
	if (rfd == -1) {
		snprintf(err, errlen, "sandbox: landlock_create_ruleset: %s",
		    strerror(errno));
		return -1;
	}
	for (size_t i = 0; i < SANDBOX_RULES_MAX && p->rules[i].path != NULL; i++) {
		const struct sandbox_rule *r = &p->rules[i];
		struct landlock_path_beneath_attr pb = { 0 };
		bool file = r->kind == SPATH_FILE || r->kind == SPATH_FILE_MAKE;

		pb.allowed_access = r->access & attr.handled_access_fs;
		if (file)
			pb.allowed_access &= LL_FILE_RIGHTS;
		pb.parent_fd = sandbox_rule_fd(r, err, errlen);
		if (pb.parent_fd == -1)
			goto out;
		if (syscall(SYS_landlock_add_rule, rfd, LANDLOCK_RULE_PATH_BENEATH,
		    &pb, 0) == -1) {
			snprintf(err, errlen, "sandbox: landlock_add_rule %s: %s",
			    r->path, strerror(errno));
			close(pb.parent_fd);
			goto out;
		}
		close(pb.parent_fd);
	}
	if (syscall(SYS_landlock_restrict_self, rfd, 0) == -1) {
		snprintf(err, errlen, "sandbox: landlock_restrict_self: %s",
		    strerror(errno));
		goto out;
	}
	rc = 1;
out:
	close(rfd);
	return rc;
}

/*
 * Threads only: clone() must carry CLONE_THREAD, so no fork, no new
 * namespaces. clone3() passes its flags in memory seccomp cannot read:
 * it fails with ENOSYS, and glibc (2.34+) falls back to clone().
 */
static int
sandbox_seccomp_threads(scmp_filter_ctx ctx)
{
	/* s390 swaps clone's first two arguments; every other Linux port
	 * passes the flags first. */
#if defined(__s390__) || defined(__s390x__)
	struct scmp_arg_cmp flags = SCMP_A1(SCMP_CMP_MASKED_EQ, CLONE_THREAD,
	    CLONE_THREAD);
#else
	struct scmp_arg_cmp flags = SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD,
	    CLONE_THREAD);
#endif

	if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1, flags) != 0)
		return -1;
	return seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
}

/* ioctl: FIONREAD (libevent sizes its reads with it), FIONBIO, and
 * TCGETS (isatty() from stdio); nothing that reaches a device. */
static int
sandbox_seccomp_ioctl(scmp_filter_ctx ctx)
{
	const unsigned long ok[] = { FIONREAD, FIONBIO, TCGETS };

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
		    SCMP_A1(SCMP_CMP_EQ, ok[i], 0)) != 0)
			return -1;
	return 0;
}

static int
sandbox_seccomp(const struct sandbox_policy *p, char *err, size_t errlen)
{
	const char *mode = getenv("POSTERN_SECCOMP");
	uint32_t deny = mode != NULL && strcmp(mode, "log") == 0 ?
	    SCMP_ACT_LOG : SCMP_ACT_KILL_PROCESS;
	scmp_filter_ctx ctx = seccomp_init(deny);
	int rc;

	if (ctx == NULL) {
		snprintf(err, errlen, "sandbox: seccomp_init failed");
		return -1;
	}
	for (size_t i = 0; i < SANDBOX_SYSCALLS_MAX && p->syscalls[i] != NULL; i++) {
		int nr = seccomp_syscall_resolve_name(p->syscalls[i]);

		if (nr == __NR_SCMP_ERROR)
			continue;	/* not a call of this architecture */
		if ((rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0)) != 0) {
			snprintf(err, errlen, "sandbox: seccomp %s: %s",
			    p->syscalls[i], strerror(-rc));
			goto out;
		}
	}
	if ((p->threads && sandbox_seccomp_threads(ctx) != 0) ||
	    sandbox_seccomp_ioctl(ctx) != 0) {
		snprintf(err, errlen, "sandbox: seccomp argument rules failed");
		rc = -1;
		goto out;
	}
	if ((rc = seccomp_load(ctx)) != 0)
		snprintf(err, errlen, "sandbox: seccomp_load: %s", strerror(-rc));
out:
	seccomp_release(ctx);
	return rc == 0 ? 0 : -1;
}

int
sandbox_apply(enum sandbox_role role, bool *landlock_out, char *err,
    size_t errlen)
{
	const struct sandbox_policy *p;
	int ll;

	*landlock_out = false;
	if ((unsigned)role >= sizeof(sandbox_policies) / sizeof(sandbox_policies[0])) {
		snprintf(err, errlen, "sandbox: unknown role %d", (int)role);
		return -1;
	}
	if (!sandbox_enabled())
		return 0;
	p = &sandbox_policies[role];
	/* Both Landlock and an unprivileged seccomp filter require it; it
	 * also makes set-id executables inert, for good. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1) {
		snprintf(err, errlen, "sandbox: PR_SET_NO_NEW_PRIVS: %s",
		    strerror(errno));
		return -1;
	}
	if ((ll = sandbox_landlock(p, err, errlen)) == -1)
		return -1;
	*landlock_out = ll == 1;
	return sandbox_seccomp(p, err, errlen);
}
