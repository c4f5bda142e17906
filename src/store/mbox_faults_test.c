/*
 * Fault tests for store/mbox: each test is a defect found in review
 * (crashes mid-write, hostile files on disk, races between sessions), and
 * failed on the code before its fix.
 *
 * 1. A uid list whose last line was cut by a crash mid-append: the next
 *    append writes "\n" after the torn tail, which turns the tail into a
 *    well-formed record (a base name cut short is still a valid base). Every
 *    other reader then takes the torn line as UID n and refuses the real
 *    "n ... base" line (UIDs must increase): the same message gets another
 *    UID in every other session (the appender's APPENDUID/first view lied).
 * 2. A FIFO in cur/ (hostile disk: another tool, a local user) named like
 *    a message: mbox_sync_assign() open()s it O_RDONLY without O_NONBLOCK
 *    and the whole mailbox worker blocks forever.
 * 4. RENAME "a" to "p/a" moves a child of depth MBOX_DEPTH_MAX past it: the
 *    renamed child is no valid name, so never listed nor selectable.
 * 3. A file in new/ whose base is already in cur/ (another tool, a message
 *    restored by hand): the new/ -> cur/ rename() replaces the cur/ file,
 *    whose contents are lost.
 * 5a-f. Second review of the store : lock upgrade on a
 *    replaced uid list, partial append, fsync of cur/, UIDVALIDITY stamp,
 *    symlinked folders, special folders at the first login only.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/testdir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sys/file.h>
#include <sys/resource.h>

#include "store/mbox.h"
#include "store/mbox_int.h"

#define MBOX_TESTDIR_NAME	"mboxfault"
#include "store/mbox_testfix.h"

static size_t
count_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

/* 1: the torn tail. */
static void
test_torn_uidlist_tail_keeps_uids(void **state)
{
	struct fixture *f = *state;
	struct mbox *a, *b;
	uint32_t ua, ub;

	/* A crash cut "1 4 1700000000.M1P1Q1.host,S=3\n" short; the message
	 * itself made it into cur/ (APPEND renames before it appends). */
	write_file(ROOT "/cur/1700000000.M1P1Q1.host,S=3:2,", "hi\n");
	write_file(UL, "V1000 N1\n1 4 1700000000.M1P1Q1.ho");

	a = mbox_open(f->u, "INBOX", false, f->err, sizeof(f->err));
	assert_non_null(a);
	assert_int_equal(mbox_count(a), 1);
	ua = mbox_msg(a, 0)->uid;

	/* Another session (a fresh handle reads the file from its top). */
	b = mbox_open(f->u, "INBOX", false, f->err, sizeof(f->err));
	assert_non_null(b);
	assert_int_equal(mbox_count(b), 1);
	ub = mbox_msg(b, 0)->uid;
	mbox_close(&b);
	mbox_close(&a);
	/* Fails as reviewed: a says 1, b says 2. */
	assert_int_equal(ua, ub);
}

/* 2: a FIFO in cur/ must not hang the worker. */
static void
test_fifo_in_cur_does_not_block(void **state)
{
	struct fixture *f = *state;
	const struct timespec tick = { 0, 100 * 1000 * 1000 };
	pid_t pid;
	int status = 0;

	assert_int_equal(mkfifo(ROOT "/cur/1700000001.M1P1Q1.host:2,", 0600), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct mbox *m = mbox_open(f->u, "INBOX", false, f->err,
		    sizeof(f->err));

		_exit(m != NULL ? 0 : 1);
	}
	for (int i = 0; i < 30; i++) {	/* 3 s */
		if (waitpid(pid, &status, WNOHANG) == pid)
			break;
		nanosleep(&tick, NULL);
		if (i == 29) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			fail_msg("mbox_open blocked on a FIFO in cur/");
		}
	}
	assert_true(WIFEXITED(status));
}

/* 3: new/ -> cur/ must not replace a file already in cur/. */
static void
test_new_to_cur_keeps_existing(void **state)
{
	struct fixture *f = *state;
	struct mbox *m;

	write_file(ROOT "/cur/1700000002.M1P1Q1.host:2,", "first\n");
	write_file(ROOT "/new/1700000002.M1P1Q1.host", "second\n");
	m = mbox_open(f->u, "INBOX", false, f->err, sizeof(f->err));
	assert_non_null(m);
	mbox_close(&m);
	/* Fails as reviewed: "first" was replaced by "second". */
	assert_int_equal(count_files(ROOT "/cur") + count_files(ROOT "/new"),
	    2);
}

/* 4: RENAME must not move a child past MBOX_DEPTH_MAX (or NAME_MAX): such
 * a folder is then invalid, never listed, never selectable, and its
 * messages are out of the client's reach. */
static void
test_rename_keeps_children_reachable(void **state)
{
	struct fixture *f = *state;
	struct mbox_folder_info *v;
	char deep[512] = "a";
	size_t n, found = 0;
	int rc;

	for (int i = 1; i < MBOX_DEPTH_MAX; i++)
		snprintf(deep + strlen(deep), sizeof(deep) - strlen(deep),
		    "/c%d", i);
	assert_int_equal(mbox_folder_create(f->u, deep, f->err,
	    sizeof(f->err)), 0);
	rc = mbox_folder_rename(f->u, "a", "p/a", f->err, sizeof(f->err));
	assert_int_equal(mbox_folder_list(f->u, &v, &n), 0);
	for (size_t i = 0; i < n; i++)
		found += strncmp(v[i].name, rc == 0 ? "p/a" : "a", rc == 0 ?
		    3 : 1) == 0 && !v[i].noselect;
	mbox_folder_list_free(v, n);
	/* Refused (all 16 stay), or done (all 16 listed under p/a). Fails as
	 * reviewed: done, and the deepest one is no longer listed. */
	assert_int_equal(found, MBOX_DEPTH_MAX);
}

/* 5a: a shared lock upgraded to exclusive is on the current uid list,
 * even when the file was replaced while flock() had dropped it. */
static void
test_upgrade_checks_current_file(void **state)
{
	struct mbox_ul ul;
	struct stat a, b;
	int fd;

	(void)state;
	mbox_ul_init(&ul, ROOT);
	fd = mbox_ul_lock(&ul, LOCK_SH);
	assert_true(fd >= 0);
	/* Another process rewrites the list (tmp, rename) meanwhile. */
	write_file(UL ".new", "V1 N1\n");
	assert_int_equal(rename(UL ".new", UL), 0);
	assert_int_equal(mbox_ul_upgrade(&ul, &fd), 0);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &a), 0);
	assert_int_equal(stat(UL, &b), 0);
	assert_true(a.st_ino == b.st_ino);
	close(fd);
	mbox_ul_free(&ul);
}

/* 5b: a failed append (here a file size limit) leaves no partial line. */
static void
test_failed_append_truncates(void **state)
{
	struct fixture *f = *state;
	struct mbox_ul ul;
	struct rlimit old, lim;
	struct stat st;
	char base[200];
	char *bases[1] = { base };
	uint64_t vs[1] = { 10 };
	uint32_t uid;
	bool reset;
	int fd;

	mbox_ul_init(&ul, ROOT);
	fd = mbox_ul_lock(&ul, LOCK_EX);
	assert_true(fd >= 0);
	assert_int_equal(mbox_ul_read(f->u, &ul, &fd, &reset, NULL, NULL), 0);
	assert_int_equal(fstat(fd, &st), 0);
	memset(base, 'x', sizeof(base) - 1);
	base[sizeof(base) - 1] = '\0';
	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = (rlim_t)st.st_size + 20;	/* the line is longer */
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	assert_int_equal(mbox_ul_append(&ul, fd, bases, vs, 1, &uid), -1);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, SIG_DFL);
	/* Fails as reviewed: 20 bytes of a line stay. */
	assert_int_equal(stat(UL, &st), 0);
	assert_int_equal(st.st_size, ul.size);
	close(fd);
	mbox_ul_free(&ul);
}

/* 5c: expunge, POP3 UPDATE and MOVE fsync cur/ once per call (not per
 * message) before they return; flag changes once for a run of them, at
 * the next mbox_sync() (before the session's tagged OK) or mbox_close(). */
static void
test_changes_fsync_cur_once(void **state)
{
	struct fixture *f = *state;
	struct mbox *m;
	bool del[3] = { true, true, false };
	uint32_t idx[1] = { 0 }, uv, uids[1];
	struct mbox_changes ch = { 0 };
	unsigned long before;

	write_file(ROOT "/new/1700000010.M1P1Q1.host", "a\n");
	write_file(ROOT "/new/1700000011.M1P1Q1.host", "b\n");
	write_file(ROOT "/new/1700000012.M1P1Q1.host", "c\n");
	write_file(ROOT "/new/1700000013.M1P1Q1.host", "d\n");
	m = mbox_open(f->u, "INBOX", false, f->err, sizeof(f->err));
	assert_non_null(m);
	assert_int_equal(mbox_count(m), 4);
	/* Flag changes: one fsync for a run of them, by the next sync. */
	before = mbox_dir_fsyncs;
	assert_int_equal(mbox_set_flags(m, 0, MBOX_F_SEEN), 0);
	assert_int_equal(mbox_set_flags(m, 1, MBOX_F_SEEN), 0);
	assert_int_equal(mbox_dir_fsyncs, before);
	assert_int_equal(mbox_sync(m, false, NULL), 0);
	assert_int_equal(mbox_dir_fsyncs, before + 1);
	assert_int_equal(mbox_sync(m, false, NULL), 0);
	assert_int_equal(mbox_dir_fsyncs, before + 1);
	assert_int_equal(mbox_set_flags(m, 0, MBOX_F_DELETED), 0);
	assert_int_equal(mbox_set_flags(m, 1, MBOX_F_DELETED), 0);
	/* Expunge: once, covering the pending flag changes too. */
	before = mbox_dir_fsyncs;
	assert_int_equal(mbox_expunge(m, NULL, &ch), 0);
	assert_int_equal(ch.nexpunged, 2);
	assert_int_equal(mbox_dir_fsyncs, before + 1);
	mbox_changes_clear(&ch);
	before = mbox_dir_fsyncs;
	assert_int_equal(mbox_move(m, idx, 1, "Trash", &uv, uids, &ch,
	    f->err, sizeof(f->err)), 0);
	/* Trash's cur/ for the copy, then ours once for the unlink. */
	assert_true(mbox_dir_fsyncs >= before + 2);
	mbox_changes_clear(&ch);
	assert_int_equal(mbox_count(m), 1);
	before = mbox_dir_fsyncs;
	assert_int_equal(mbox_delete(m, del), 0);
	assert_int_equal(mbox_dir_fsyncs, before + 1);
	mbox_close(&m);
	/* A flag change then close: flushed by the close. */
	m = mbox_open(f->u, "Trash", false, f->err, sizeof(f->err));
	assert_non_null(m);
	assert_int_equal(mbox_count(m), 1);
	assert_int_equal(mbox_set_flags(m, 0, MBOX_F_FLAGGED), 0);
	before = mbox_dir_fsyncs;
	mbox_close(&m);
	assert_int_equal(mbox_dir_fsyncs, before + 1);
}

/* 5d: the UIDVALIDITY stamp is written in place, durably, and replaces a
 * longer old value entirely. */
static void
test_uidvalidity_stamp_durable(void **state)
{
	struct fixture *f = *state;
	char buf[64] = "";
	unsigned long before;
	uint32_t v;
	int fd;

	unlink(ROOT "/" MBOX_UIDVALIDITY_FILE);
	before = mbox_dir_fsyncs;
	assert_true(mbox_user_uidvalidity(f->u, 0) > 0);
	/* A new stamp file: its directory entry synced too. */
	assert_int_equal(mbox_dir_fsyncs, before + 1);
	write_file(ROOT "/" MBOX_UIDVALIDITY_FILE, "5\n\n\n\n\n\n\n\n\n\n\n\n\n");
	v = mbox_user_uidvalidity(f->u, 0);
	fd = open(ROOT "/" MBOX_UIDVALIDITY_FILE, O_RDONLY);
	assert_true(fd >= 0);
	assert_true(read(fd, buf, sizeof(buf) - 1) > 0);
	close(fd);
	assert_int_equal(strtoul(buf, NULL, 10), v);
	assert_int_equal(strlen(buf), strcspn(buf, "\n") + 1);
	assert_true(mbox_user_uidvalidity(f->u, 0) > v);
}

/* 5e: a folder that is a symlink (here to another user's Maildir), or
 * whose cur/ is one, is neither listed nor opened. */
static void
test_symlinked_folder_refused(void **state)
{
	struct fixture *f = *state;
	struct mbox_user *eve;
	struct mbox_folder_info *v;
	size_t n;

	eve = mbox_user_open("example.org/eve", f->err, sizeof(f->err));
	assert_non_null(eve);
	write_file("example.org/eve/new/1700000020.M1P1Q1.host", "secret\n");
	assert_int_equal(symlink("../eve", ROOT "/.Other"), 0);
	assert_int_equal(mkdir(ROOT "/.Half", 0700), 0);
	assert_int_equal(mkdir(ROOT "/.Half/new", 0700), 0);
	assert_int_equal(mkdir(ROOT "/.Half/tmp", 0700), 0);
	assert_int_equal(symlink("../../eve/cur", ROOT "/.Half/cur"), 0);
	assert_false(mbox_folder_exists(f->u, "Other"));
	assert_false(mbox_folder_exists(f->u, "Half"));
	assert_null(mbox_open(f->u, "Other", true, f->err, sizeof(f->err)));
	assert_null(mbox_open(f->u, "Half", false, f->err, sizeof(f->err)));
	assert_int_equal(mbox_folder_list(f->u, &v, &n), 0);
	for (size_t i = 0; i < n; i++) {
		assert_string_not_equal(v[i].name, "Other");
		assert_string_not_equal(v[i].name, "Half");
	}
	mbox_folder_list_free(v, n);
	mbox_user_close(&eve);
}

/* 5f: the special folders are made at the first login only: a user who
 * deleted Junk does not get it back at the next. */
static void
test_deleted_junk_stays_deleted(void **state)
{
	struct fixture *f = *state;

	assert_true(mbox_folder_exists(f->u, "Junk"));
	assert_int_equal(mbox_folder_delete(f->u, "Junk", f->err,
	    sizeof(f->err)), 0);
	mbox_user_close(&f->u);
	f->u = mbox_user_open(ROOT, f->err, sizeof(f->err));
	assert_non_null(f->u);
	assert_false(mbox_folder_exists(f->u, "Junk"));
	assert_true(mbox_folder_exists(f->u, "Sent"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_torn_uidlist_tail_keeps_uids,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_fifo_in_cur_does_not_block,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_new_to_cur_keeps_existing,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_rename_keeps_children_reachable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_upgrade_checks_current_file,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_append_truncates,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_changes_fsync_cur_once,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_uidvalidity_stamp_durable,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_symlinked_folder_refused,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_deleted_junk_stays_deleted,
		    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
