/*
 * Unit tests for server/sandbox: each test forks a child in a temp dir
 * laid out like data_dir (postern.db in WAL mode, queue/{tmp,free},
 * mail/, tls/key.pem), confines it with one role, and checks there what
 * works and what fails. The child reports through its exit status (0, or
 * the failing line); a forbidden call must end it with SIGSYS. Landlock
 * checks are skipped, not the tests, on a kernel without Landlock ABI 2.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <event2/event.h>
#include <linux/landlock.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dns/dns.h"
#include "server/sandbox.h"

struct fixture {
	char	old_cwd[PATH_MAX];
	char	dir[64];
};

/* Set once by main(): the kernel's Landlock ABI (-1: none), and whether
 * the child may expect Landlock denials (ABI 2, which every role but dird
 * needs). */
static long sandbox_test_abi;
static bool sandbox_test_landlock;

/* In the child: report the failing line through the exit status. */
#define CHILD_CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "sandbox_test.c:%d: %s (errno %s)\n",	\
		    __LINE__, #cond, strerror(errno));			\
		_exit(__LINE__ % 250 + 1);				\
	}								\
} while (0)

/* Denied by Landlock: EACCES (EXDEV for a refused rename). */
#define CHILD_DENIED(expr) do {						\
	if (sandbox_test_landlock) {					\
		errno = 0;						\
		CHILD_CHECK((expr) == -1 && (errno == EACCES ||		\
		    errno == EPERM || errno == EXDEV));			\
	}								\
} while (0)

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static int
setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	sqlite3 *db;

	assert_non_null(fx);
	assert_non_null(getcwd(fx->old_cwd, sizeof(fx->old_cwd)));
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/postern-sandbox-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	assert_int_equal(chdir(fx->dir), 0);
	assert_int_equal(mkdir("queue", 0700), 0);
	assert_int_equal(mkdir("queue/tmp", 0700), 0);
	assert_int_equal(mkdir("queue/free", 0700), 0);
	assert_int_equal(mkdir("mail", 0700), 0);
	assert_int_equal(mkdir("tls", 0700), 0);
	write_file("tls/key.pem", "not a key\n");
	write_file("queue/Q1", "queued\n");
	write_file("queue/free/F1", "spare\n");
	/* As directory_open() leaves it: WAL mode; closing the last
	 * connection removes -wal and -shm, so sandbox_apply() makes them. */
	assert_int_equal(sqlite3_open("postern.db", &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA journal_mode = WAL;"
	    "CREATE TABLE t (v INTEGER); INSERT INTO t VALUES (1);",
	    NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
	*state = fx;
	return 0;
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;

	assert_int_equal(chdir(fx->old_cwd), 0);
	nftw(fx->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(fx);
	return 0;
}

/* Forks; the child runs prep (may be NULL: what a process sets up before
 * its sandbox), applies role, runs body, exits 0. Returns the status. */
static int
run_child_prep(enum sandbox_role role, void (*prep)(void), void (*body)(void))
{
	pid_t pid = fork();
	int status;

	assert_true(pid != -1);
	if (pid == 0) {
		char err[256];
		bool ll, want = sandbox_test_landlock ||
		    (role == SANDBOX_DIRD && sandbox_test_abi >= 1 && sandbox_enabled());

		if (role == SANDBOX_WORKER && chdir("queue") != 0)
			_exit(202);
		if (role == SANDBOX_MAILBOX && chdir("mail") != 0)
			_exit(202);
		if (prep != NULL)
			prep();
		if (sandbox_apply(role, &ll, err, sizeof(err)) == -1) {
			fprintf(stderr, "sandbox_apply: %s\n", err);
			_exit(200);
		}
		if (ll != want) {
			fprintf(stderr, "landlock_out %d, expected %d\n", ll, want);
			_exit(201);
		}
		body();
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

static int
run_child(enum sandbox_role role, void (*body)(void))
{
	return run_child_prep(role, NULL, body);
}

static void
assert_child_ok(int status)
{
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void
assert_child_sigsys(int status)
{
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGSYS);
}

static int
try_open(const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC, 0600);

	if (fd != -1)
		close(fd);
	return fd == -1 ? -1 : 0;
}

static int
try_opendir(const char *path)
{
	DIR *d = opendir(path);

	if (d == NULL)
		return -1;
	closedir(d);
	return 0;
}

static void *
thread_noop(void *arg)
{
	return arg;
}

/* ---- worker ---- */

static void
worker_body(void)
{
	pthread_t t;
	int fd;

	/* A worker lives in data_dir/queue (its cwd, set by run_child, and its
	 * chroot as root): write tmp/<id>, rename into ".", reuse a spare. */
	fd = open("tmp/Q2", O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	CHILD_CHECK(fd != -1);
	CHILD_CHECK(write(fd, "msg\n", 4) == 4 && fdatasync(fd) == 0);
	CHILD_CHECK(ftruncate(fd, 2) == 0);
	close(fd);
	CHILD_CHECK(rename("tmp/Q2", "Q2") == 0);
	CHILD_CHECK(rename("free/F1", "tmp/Q3") == 0);
	CHILD_CHECK(try_open("tmp/Q3", O_RDWR | O_TRUNC) == 0);
	CHILD_CHECK(unlink("tmp/Q3") == 0);
	CHILD_CHECK(try_open("Q1", O_RDONLY) == 0);
	CHILD_CHECK(try_opendir(".") == 0);
	/* Pool and commit threads start after the sandbox. */
	CHILD_CHECK(pthread_create(&t, NULL, thread_noop, NULL) == 0);
	CHILD_CHECK(pthread_join(t, NULL) == 0);
	/* Nothing else. */
	CHILD_DENIED(try_open("../postern.db", O_RDONLY));
	CHILD_DENIED(try_open("../tls/key.pem", O_RDONLY));
	CHILD_DENIED(try_opendir("../mail"));
	CHILD_DENIED(try_opendir(".."));
	CHILD_DENIED(try_open("../x", O_WRONLY | O_CREAT));
	CHILD_DENIED(rename("Q1", "../mail/Q1"));
}

static void
test_worker_files(void **state)
{
	(void)state;
	assert_child_ok(run_child(SANDBOX_WORKER, worker_body));
	if (sandbox_test_landlock) {
		assert_int_equal(access("queue/Q2", F_OK), 0);
		assert_int_equal(access("queue/Q1", F_OK), 0);
		assert_int_equal(access("mail/Q1", F_OK), -1);
	}
}

static void
worker_fork_body(void)
{
	pid_t pid = fork();	/* clone() without CLONE_THREAD */

	if (pid == 0)
		_exit(0);
	_exit(3);
}

static void
test_worker_fork_is_killed(void **state)
{
	(void)state;
	assert_child_sigsys(run_child(SANDBOX_WORKER, worker_fork_body));
}

/* ---- qmgr ---- */

static void
qmgr_body(void)
{
	int fd;

	CHILD_CHECK(try_open("queue/Q1", O_RDWR) == 0);
	CHILD_CHECK(try_opendir("queue") == 0);
	CHILD_CHECK(rename("queue/Q1", "queue/free/Q1") == 0);
	CHILD_CHECK(mkdir("mail/example.org", 0700) == 0);
	CHILD_CHECK(mkdir("mail/example.org/alice", 0700) == 0);
	CHILD_CHECK(mkdir("mail/example.org/alice/tmp", 0700) == 0);
	CHILD_CHECK(mkdir("mail/example.org/alice/new", 0700) == 0);
	fd = open("mail/example.org/alice/tmp/m1",
	    O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	CHILD_CHECK(fd != -1);
	CHILD_CHECK(write(fd, "mail\n", 5) == 5 && fsync(fd) == 0);
	close(fd);
	CHILD_CHECK(rename("mail/example.org/alice/tmp/m1",
	    "mail/example.org/alice/new/m1") == 0);
	CHILD_CHECK(try_opendir("mail/example.org/alice/new") == 0);
	CHILD_DENIED(try_open("postern.db", O_RDONLY));
	CHILD_DENIED(try_open("tls/key.pem", O_RDONLY));
	CHILD_DENIED(try_open("mail/example.org/alice/new/m1", O_RDONLY));
	CHILD_DENIED(try_open("x", O_WRONLY | O_CREAT));
}

static void
test_qmgr_files(void **state)
{
	(void)state;
	assert_child_ok(run_child(SANDBOX_QMGR, qmgr_body));
	assert_int_equal(access("mail/example.org/alice/new/m1", F_OK), 0);
}

/*
 * Outbound SMTP and DNS, as the qmgr does them: libunbound made before the
 * sandbox (dns_new() reads resolv.conf), its thread and sockets after; a
 * TCP connection the way remote_smtp.c opens one. The DNS server is
 * tests/dns/dnsserver.py, started by the test (from the source root).
 */
static char		 qmgr_dns_server[64];
static struct sockaddr_in qmgr_peer;
static struct event_base *qmgr_base;
static struct dns	*qmgr_dns;

static void
qmgr_net_prep(void)
{
	char *v[1] = { qmgr_dns_server };
	struct cfg_strlist servers = { v, 1 };
	char err[256];

	qmgr_base = event_base_new();
	qmgr_dns = dns_new(qmgr_base, &servers, err, sizeof(err));
	CHILD_CHECK(qmgr_base != NULL && qmgr_dns != NULL);
}

static void
qmgr_on_dns(void *arg, const struct dns_result *r)
{
	*(int *)arg = r->rc == DNS_OK && r->naddr == 1 ? 1 : 2;
}

static void
qmgr_net_body(void)
{
	struct pollfd pfd = { .events = POLLOUT };
	socklen_t len = sizeof(int);
	int done = 0, soerr = -1, one = 1;

	CHILD_CHECK(dns_query_a(qmgr_dns, "mx1.example.net", qmgr_on_dns,
	    &done) == 0);
	while (done == 0)
		CHILD_CHECK(event_base_loop(qmgr_base, EVLOOP_ONCE) == 0);
	CHILD_CHECK(done == 1);
	pfd.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	CHILD_CHECK(pfd.fd != -1);
	CHILD_CHECK(setsockopt(pfd.fd, IPPROTO_TCP, TCP_NODELAY, &one,
	    sizeof(one)) == 0);
	CHILD_CHECK(connect(pfd.fd, (struct sockaddr *)&qmgr_peer,
	    sizeof(qmgr_peer)) == 0 || errno == EINPROGRESS);
	CHILD_CHECK(poll(&pfd, 1, 5000) == 1);
	CHILD_CHECK(getsockopt(pfd.fd, SOL_SOCKET, SO_ERROR, &soerr,
	    &len) == 0 && soerr == 0);
	CHILD_CHECK(write(pfd.fd, "EHLO x\r\n", 8) == 8);
	close(pfd.fd);
	dns_free(&qmgr_dns);
	event_base_free(qmgr_base);
}

static void
test_qmgr_outbound(void **state)
{
	const struct fixture *fx = *state;
	struct sockaddr_in sin = { .sin_family = AF_INET };
	char script[PATH_MAX + 32];
	socklen_t len = sizeof(sin);
	int in[2], out[2], lfd, status;
	char line[32] = "";
	pid_t dns_pid;
	FILE *f;

	/* The peer: a listening socket; the kernel completes the handshake. */
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(lfd, 4), 0);
	assert_int_equal(getsockname(lfd, (struct sockaddr *)&qmgr_peer, &len), 0);
	snprintf(script, sizeof(script), "%s/tests/dns/dnsserver.py",
	    fx->old_cwd);
	assert_int_equal(pipe(in), 0);
	assert_int_equal(pipe(out), 0);
	dns_pid = fork();
	assert_true(dns_pid != -1);
	if (dns_pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		close(in[1]);
		close(out[0]);
		execl("/usr/bin/python3", "python3", script, (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	f = fdopen(out[0], "r");
	assert_non_null(f);
	assert_non_null(fgets(line, sizeof(line), f));
	fclose(f);
	snprintf(qmgr_dns_server, sizeof(qmgr_dns_server), "127.0.0.1:%d",
	    (int)strtol(line, NULL, 10));
	status = run_child_prep(SANDBOX_QMGR, qmgr_net_prep, qmgr_net_body);
	close(in[1]);	/* the DNS server exits on EOF */
	waitpid(dns_pid, NULL, 0);
	close(lfd);
	assert_child_ok(status);
}

static void
qmgr_listen_body(void)
{
	/* Outbound only: the queue manager never serves a socket. */
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	CHILD_CHECK(fd != -1);
	if (listen(fd, 1) == 0) {	/* SIGSYS: never returns */
		close(fd);
		_exit(3);
	}
	_exit(4);
}

static void
test_qmgr_listen_is_killed(void **state)
{
	(void)state;
	assert_child_sigsys(run_child(SANDBOX_QMGR, qmgr_listen_body));
}

static void
test_seccomp_log_mode(void **state)
{
	int status;

	(void)state;
	/* POSTERN_SECCOMP=log: the call is let through (and logged). */
	assert_int_equal(setenv("POSTERN_SECCOMP", "log", 1), 0);
	status = run_child(SANDBOX_QMGR, qmgr_listen_body);
	unsetenv("POSTERN_SECCOMP");
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 3);
}

/* ---- dird ---- */

static void
dird_body(void)
{
	sqlite3 *db;
	sqlite3_stmt *st;

	/* A real WAL session: locks, the mapped -shm, writes and fsync. */
	CHILD_CHECK(sqlite3_open_v2("postern.db", &db, SQLITE_OPEN_READWRITE,
	    NULL) == SQLITE_OK);
	CHILD_CHECK(sqlite3_exec(db, "PRAGMA temp_store = MEMORY;"
	    "PRAGMA synchronous = FULL;"
	    "INSERT INTO t VALUES (2); INSERT INTO t VALUES (3);"
	    "PRAGMA wal_checkpoint(TRUNCATE);", NULL, NULL, NULL) == SQLITE_OK);
	CHILD_CHECK(sqlite3_prepare_v2(db, "SELECT sum(v) FROM t", -1, &st,
	    NULL) == SQLITE_OK);
	CHILD_CHECK(sqlite3_step(st) == SQLITE_ROW);
	CHILD_CHECK(sqlite3_column_int(st, 0) == 6);
	sqlite3_finalize(st);
	CHILD_CHECK(sqlite3_close(db) == SQLITE_OK);
	CHILD_DENIED(try_open("queue/Q1", O_RDONLY));
	CHILD_DENIED(try_opendir("queue"));
	CHILD_CHECK(try_opendir("mail") == 0);	/* names only, for quota */
	CHILD_DENIED(try_open("mail/x", O_WRONLY | O_CREAT));
	CHILD_DENIED(try_open("tls/key.pem", O_RDONLY));
	CHILD_DENIED(try_open("postern.db-journal", O_WRONLY | O_CREAT));
	CHILD_DENIED(unlink("postern.db"));
}

static void
test_dird_files(void **state)
{
	(void)state;
	assert_child_ok(run_child(SANDBOX_DIRD, dird_body));
	assert_int_equal(access("postern.db-wal", F_OK), 0);
}

static void
dird_socket_body(void)
{
	int fd = socket(AF_INET6, SOCK_DGRAM, 0);	/* SIGSYS: never returns */

	if (fd != -1)
		close(fd);
	_exit(fd != -1 ? 3 : 4);
}

static void
test_dird_socket_is_killed(void **state)
{
	(void)state;
	assert_child_sigsys(run_child(SANDBOX_DIRD, dird_socket_body));
}

/* ---- mailbox worker ---- */

static void
mailbox_prep(void)
{
	/* A user's Maildir as the qmgr leaves it, one message in new/. */
	CHILD_CHECK(mkdir("example.org", 0700) == 0);
	CHILD_CHECK(mkdir("example.org/alice", 0700) == 0);
	CHILD_CHECK(mkdir("example.org/alice/tmp", 0700) == 0);
	CHILD_CHECK(mkdir("example.org/alice/new", 0700) == 0);
	CHILD_CHECK(mkdir("example.org/alice/cur", 0700) == 0);
	write_file("example.org/alice/new/m1", "mail\n");
}

static void
mailbox_body(void)
{
	char buf[8];
	int fd, in;
	struct timespec ts[2] = { { 0, UTIME_NOW }, { 0, UTIME_NOW } };

	/* Maildir work beneath its root, data_dir/mail (the cwd). */
	CHILD_CHECK(try_opendir("example.org/alice/new") == 0);
	CHILD_CHECK(rename("example.org/alice/new/m1",
	    "example.org/alice/cur/m1:2,") == 0);
	CHILD_CHECK(rename("example.org/alice/cur/m1:2,",
	    "example.org/alice/cur/m1:2,S") == 0);
	fd = open("example.org/alice/cur/m1:2,S", O_RDONLY | O_CLOEXEC);
	CHILD_CHECK(fd != -1 && pread(fd, buf, 4, 0) == 4);
	CHILD_CHECK(lseek(fd, 0, SEEK_SET) == 0);
	close(fd);
	/* uidlist: flock, append, rewrite by rename. */
	fd = open("example.org/alice/postern-uidlist",
	    O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	CHILD_CHECK(fd != -1 && flock(fd, LOCK_EX) == 0);
	CHILD_CHECK(write(fd, "V1 N2\n", 6) == 6 && fdatasync(fd) == 0);
	CHILD_CHECK(ftruncate(fd, 6) == 0 && fsync(fd) == 0);
	close(fd);
	CHILD_CHECK(rename("example.org/alice/postern-uidlist",
	    "example.org/alice/tmp/u") == 0);
	/* Folders: make, COPY by link, delete. */
	CHILD_CHECK(mkdir("example.org/alice/.Sent", 0700) == 0);
	CHILD_CHECK(mkdir("example.org/alice/.Sent/cur", 0700) == 0);
	CHILD_CHECK(link("example.org/alice/cur/m1:2,S",
	    "example.org/alice/.Sent/cur/m1:2,S") == 0);
	CHILD_CHECK(utimensat(AT_FDCWD, "example.org/alice/.Sent/cur", ts, 0) == 0);
	CHILD_CHECK(unlink("example.org/alice/.Sent/cur/m1:2,S") == 0);
	CHILD_CHECK(rmdir("example.org/alice/.Sent/cur") == 0);
	CHILD_CHECK(rmdir("example.org/alice/.Sent") == 0);
	/* Folder watches. */
	in = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	CHILD_CHECK(in != -1);
	fd = inotify_add_watch(in, "example.org/alice/new", IN_CREATE);
	CHILD_CHECK(fd != -1 && inotify_rm_watch(in, fd) == 0);
	close(in);
	/* Nothing outside mail/. */
	CHILD_DENIED(try_open("../postern.db", O_RDONLY));
	CHILD_DENIED(try_open("../tls/key.pem", O_RDONLY));
	CHILD_DENIED(try_open("../queue/Q1", O_RDONLY));
	CHILD_DENIED(try_opendir(".."));
	CHILD_DENIED(try_open("../x", O_WRONLY | O_CREAT));
	CHILD_DENIED(rename("example.org/alice/cur/m1:2,S", "../queue/m1"));
}

static void
test_mailbox_files(void **state)
{
	(void)state;
	assert_child_ok(run_child_prep(SANDBOX_MAILBOX, mailbox_prep,
	    mailbox_body));
	assert_int_equal(access("mail/example.org/alice/cur/m1:2,S", F_OK), 0);
	assert_int_equal(access("mail/example.org/alice/.Sent", F_OK), -1);
	assert_int_equal(access("queue/m1", F_OK), -1);
}

static void
mailbox_socket_body(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);	/* no outbound at all */

	_exit(fd != -1 ? 3 : 4);
}

static void
test_mailbox_socket_is_killed(void **state)
{
	(void)state;
	assert_child_sigsys(run_child(SANDBOX_MAILBOX, mailbox_socket_body));
}

static void
test_mailbox_fork_is_killed(void **state)
{
	(void)state;
	assert_child_sigsys(run_child(SANDBOX_MAILBOX, worker_fork_body));
}

/* ---- switched off ---- */

static void
off_body(void)
{
	CHILD_CHECK(try_open("../postern.db", O_RDONLY) == 0);
	CHILD_CHECK(try_open("../tls/key.pem", O_RDONLY) == 0);
	CHILD_CHECK(!sandbox_enabled());
}

static void
test_off_disables(void **state)
{
	bool saved = sandbox_test_landlock;

	(void)state;
	assert_int_equal(setenv("POSTERN_SANDBOX", "off", 1), 0);
	sandbox_test_landlock = false;	/* landlock_out must say no */
	assert_child_ok(run_child(SANDBOX_WORKER, off_body));
	sandbox_test_landlock = saved;
	unsetenv("POSTERN_SANDBOX");
	assert_true(sandbox_enabled());
}

static void
test_role_names(void **state)
{
	(void)state;
	assert_string_equal(sandbox_role_name(SANDBOX_WORKER), "worker");
	assert_string_equal(sandbox_role_name(SANDBOX_QMGR), "qmgr");
	assert_string_equal(sandbox_role_name(SANDBOX_DIRD), "dird");
	assert_string_equal(sandbox_role_name(SANDBOX_MAILBOX), "mailbox");
	assert_string_equal(sandbox_role_name((enum sandbox_role)99), "unknown");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_worker_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_worker_fork_is_killed, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_qmgr_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_qmgr_outbound, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_qmgr_listen_is_killed, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_seccomp_log_mode, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_dird_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dird_socket_is_killed, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_mailbox_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mailbox_socket_is_killed,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_mailbox_fork_is_killed,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_off_disables, setup, teardown),
		cmocka_unit_test(test_role_names),
	};
	long abi = syscall(SYS_landlock_create_ruleset, NULL, 0,
	    LANDLOCK_CREATE_RULESET_VERSION);

	sandbox_test_abi = abi;
	sandbox_test_landlock = abi >= 2;
	if (!sandbox_test_landlock)
		printf("sandbox_test: Landlock ABI %ld (%s): skipping the "
		    "filesystem assertions, not the tests\n", abi,
		    abi < 0 ? strerror(errno) : "below 2, no cross-directory rename");
	unsetenv("POSTERN_SANDBOX");
	unsetenv("POSTERN_SECCOMP");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
