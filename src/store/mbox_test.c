/*
 * Unit tests for store/mbox: the root path, folder names, first login,
 * delivery (maildir_deliver into new/) then sync, UIDs that persist and a
 * new UIDVALIDITY when the uid list is lost, hostile uid lists, two handles
 * on one folder (flags, expunges gone then reported, appends), a forked
 * process delivering and appending while we sync, flags, expunge, POP3's
 * delete and lock, APPEND (CRLF across pieces), COPY/MOVE UIDs, STATUS and
 * folder create/rename/delete/list. Each test runs in a fresh temp dir.
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store/maildir.h"
#include "store/mbox.h"
#include "store/mbox_int.h"
#include "store/mbox_uidlist.h"

#define MBOX_TESTDIR_NAME	"mbox"
#include "store/mbox_testfix.h"

static char *
slurp_fd(int fd)
{
	static char buf[65536];
	ssize_t n = read(fd, buf, sizeof(buf) - 1);

	assert_true(n >= 0);
	buf[n] = '\0';
	close(fd);
	return buf;
}

/* Delivery as the queue manager does it: tmp/, then new/. */
static void
deliver_to(const char *dir, const char *name, const char *body)
{
	int fd;

	write_file("source", body);
	fd = open("source", O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(maildir_deliver(dir, name, SPAN_LIT(""), fd, 0,
	    strlen(body)), 0);
	close(fd);
}

static void
deliver(const char *name, const char *body)
{
	deliver_to(ROOT, name, body);
}

static int
count_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

static bool
exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

/* Sets path's mtime to long ago, as if the last change were old. */
static void
age(const char *path)
{
	struct timespec ts[2] = { { .tv_sec = 1000000000 },
	    { .tv_sec = 1000000000 } };

	assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
}

static struct mbox *
open_box(struct fixture *f, const char *name, bool ro)
{
	struct mbox *m = mbox_open(f->u, name, ro, f->err, sizeof(f->err));

	assert_non_null(m);
	return m;
}

/* ---- names -------------------------------------------------------------- */

static void
test_root(void **state)
{
	char *r = mbox_root("bob@example.org");

	(void)state;
	assert_string_equal(r, "example.org/bob");
	free(r);
	r = mbox_root("a/b@.x");
	assert_string_equal(r, "%2Ex/a%2Fb");
	free(r);
	assert_null(mbox_root("bob"));
	assert_null(mbox_root("@x"));
}

static void
test_name_valid(void **state)
{
	char big[MBOX_FOLDER_NAME_MAX + 2];
	char deep[3 * MBOX_DEPTH_MAX + 3];

	(void)state;
	assert_true(mbox_name_valid("Sent"));
	assert_true(mbox_name_valid("a/b c/d.e"));
	assert_true(mbox_name_valid("&AOQ-"));
	assert_false(mbox_name_valid(""));
	assert_false(mbox_name_valid("/a"));
	assert_false(mbox_name_valid("a/"));
	assert_false(mbox_name_valid("a//b"));
	assert_false(mbox_name_valid("a/./b"));
	assert_false(mbox_name_valid(".."));
	assert_false(mbox_name_valid("a*"));
	assert_false(mbox_name_valid("a%"));
	assert_false(mbox_name_valid("a\tb"));
	assert_false(mbox_name_valid("\xc3\xa4"));
	assert_true(mbox_name_valid(".a"));
	memset(big, 'x', sizeof(big));
	big[MBOX_FOLDER_NAME_MAX] = '\0';
	assert_true(mbox_name_valid(big));
	big[MBOX_FOLDER_NAME_MAX] = 'x';
	big[MBOX_FOLDER_NAME_MAX + 1] = '\0';
	assert_false(mbox_name_valid(big));
	/* Dots are written %2E on disk: 1 + 85 + 2 * 84 = 254 fits, one
	 * more dot does not. */
	memset(big, '.', 85);
	big[0] = 'x';
	big[85] = '\0';
	assert_true(mbox_name_valid(big));
	big[85] = '.';
	big[86] = '\0';
	assert_false(mbox_name_valid(big));
	deep[0] = '\0';
	for (int i = 0; i < MBOX_DEPTH_MAX; i++)
		strcat(deep, i == 0 ? "a" : "/a");
	assert_true(mbox_name_valid(deep));
	strcat(deep, "/a");
	assert_false(mbox_name_valid(deep));
	assert_true(mbox_name_is_inbox("inBox"));
	assert_false(mbox_name_is_inbox("INBOX/a"));
}

/* ---- first login -------------------------------------------------------- */

static void
test_user_open_makes_store(void **state)
{
	struct fixture *f = *state;
	struct mbox_folder_info *v;
	size_t n;
	struct stat st;
	static const char *const want[] = { "INBOX", "Drafts", "Junk", "Sent",
	    "Trash" };
	static const enum mbox_special sp[] = { MBOX_SPECIAL_NONE,
	    MBOX_SPECIAL_DRAFTS, MBOX_SPECIAL_JUNK, MBOX_SPECIAL_SENT,
	    MBOX_SPECIAL_TRASH };

	assert_string_equal(mbox_user_root(f->u), ROOT);
	assert_true(exists(ROOT "/new") && exists(ROOT "/cur") &&
	    exists(ROOT "/tmp"));
	assert_int_equal(stat(ROOT "/.Sent/cur", &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_int_equal(mbox_folder_list(f->u, &v, &n), 0);
	assert_int_equal(n, 5);
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(v[i].name, want[i]);
		assert_int_equal(v[i].special, sp[i]);
		assert_false(v[i].noselect);
		assert_false(v[i].has_children);
		assert_int_equal(v[i].subscribed, i > 0);
	}
	mbox_folder_list_free(v, n);
	/* A second login changes nothing; an unsubscribed one stays so. */
	assert_int_equal(mbox_subscribe(f->u, "Junk", false), 0);
	mbox_user_close(&f->u);
	f->u = mbox_user_open(ROOT, f->err, sizeof(f->err));
	assert_non_null(f->u);
	assert_int_equal(mbox_folder_list(f->u, &v, &n), 0);
	assert_int_equal(n, 5);
	assert_false(v[2].subscribed);
	mbox_folder_list_free(v, n);
	assert_null(mbox_user_open("/abs", f->err, sizeof(f->err)));
}

/* ---- delivery, sync, UIDs ----------------------------------------------- */

static void
test_delivery_then_open(void **state)
{
	struct fixture *f = *state;
	struct mbox_changes ch = { 0 };
	struct mbox *m;
	const struct mbox_msg *msg;

	deliver("1700000002.QBR0.mx,S=4", "b\nc\n");
	deliver("1700000001.QAR0.mx,S=2", "a\n");
	deliver("1700000003.QCR0.mx,S=8", "x\r\ny\nz");
	m = open_box(f, "INBOX", false);
	assert_int_equal(mbox_count(m), 3);
	assert_int_equal(mbox_recent(m), 3);
	assert_true(mbox_uidvalidity(m) > 0);
	assert_int_equal(mbox_uidnext(m), 4);
	msg = mbox_msg(m, 0);
	assert_int_equal(msg->uid, 1);
	assert_string_equal(mbox_msg_file(m, 0), "1700000001.QAR0.mx,S=2:2,");
	assert_int_equal(msg->vsize, 3);
	assert_true(msg->recent);
	assert_int_equal(msg->flags, 0);
	assert_true(msg->internaldate > 0);
	assert_int_equal(mbox_msg(m, 1)->vsize, 6);
	assert_int_equal(mbox_msg(m, 2)->vsize, 7);
	assert_int_equal(mbox_msg(m, 2)->uid, 3);
	assert_null(mbox_msg(m, 3));
	assert_int_equal(count_dir(ROOT "/new"), 0);
	assert_int_equal(count_dir(ROOT "/cur"), 3);
	/* Delivery's recovery still finds them (exactly once). */
	assert_true(maildir_has(ROOT, "1700000001.QAR0.mx,S=2"));
	assert_string_equal(slurp_fd(mbox_msg_open(m, 1)), "b\nc\n");
	assert_int_equal(mbox_find_uid(m, 2), 1);
	assert_int_equal(mbox_find_uid(m, 9), -1);
	assert_string_equal(mbox_dir_new(m), ROOT "/new");
	assert_string_equal(mbox_dir_cur(m), ROOT "/cur");

	/* Nothing changed: a cheap sync with nothing to say. */
	assert_int_equal(mbox_sync(m, true, &ch), 0);
	assert_false(ch.exists_changed);
	assert_int_equal(ch.nexpunged, 0);
	mbox_changes_clear(&ch);

	deliver("1700000004.QDR0.mx,S=1", "d");
	assert_int_equal(mbox_sync(m, true, &ch), 0);
	assert_true(ch.exists_changed);
	assert_true(ch.recent_changed);
	assert_int_equal(ch.recent, 4);
	assert_int_equal(mbox_count(m), 4);
	assert_int_equal(mbox_msg(m, 3)->uid, 4);
	assert_int_equal(mbox_uidnext(m), 5);
	mbox_changes_clear(&ch);
	mbox_close(&m);
	assert_null(m);
}

static void
test_uids_persist_and_uidvalidity_renews(void **state)
{
	struct fixture *f = *state;
	struct mbox *m;
	uint32_t v;

	deliver("1.QA.mx", "1\n");
	deliver("2.QB.mx", "2\n");
	deliver("3.QC.mx", "3\n");
	/* A delivery still writing tmp/ (even with an old mtime) stays. */
	write_file(ROOT "/tmp/4.QD.mx", "4");
	age(ROOT "/tmp/4.QD.mx");
	m = open_box(f, "INBOX", false);
	assert_true(exists(ROOT "/tmp/4.QD.mx"));
	v = mbox_uidvalidity(m);
	assert_int_equal(mbox_set_flags(m, 0, MBOX_F_DELETED), 0);
	assert_int_equal(mbox_expunge(m, NULL, NULL), 0);
	mbox_close(&m);

	m = open_box(f, "INBOX", false);
	assert_int_equal(mbox_uidvalidity(m), v);
	assert_int_equal(mbox_count(m), 2);
	assert_int_equal(mbox_recent(m), 0);
	assert_int_equal(mbox_msg(m, 0)->uid, 2);
	assert_int_equal(mbox_msg(m, 1)->uid, 3);
	assert_int_equal(mbox_uidnext(m), 4);
	mbox_close(&m);

	/* The uid list lost: a new, greater UIDVALIDITY, UIDs from 1. */
	assert_int_equal(unlink(UL), 0);
	m = open_box(f, "INBOX", false);
	assert_true(mbox_uidvalidity(m) > v);
	assert_int_equal(mbox_count(m), 2);
	assert_int_equal(mbox_msg(m, 0)->uid, 1);
	assert_int_equal(mbox_msg(m, 1)->uid, 2);
	assert_int_equal(strncmp(mbox_msg_file(m, 1), "3.QC.mx", 7), 0);
	assert_true(strchr(":", mbox_msg_file(m, 1)[7]) != NULL);
	mbox_close(&m);
}

static void
test_read_only_moves_nothing(void **state)
{
	struct fixture *f = *state;
	struct mbox *ro, *rw;
	struct mbox_status st;

	deliver("1.QA.mx", "hello\n");
	ro = open_box(f, "INBOX", true);
	assert_int_equal(mbox_count(ro), 1);
	assert_int_equal(mbox_recent(ro), 0);
	assert_int_equal(mbox_msg(ro, 0)->uid, 1);
	assert_int_equal(count_dir(ROOT "/new"), 1);
	assert_string_equal(slurp_fd(mbox_msg_open(ro, 0)), "hello\n");
	assert_int_equal(mbox_set_flags(ro, 0, MBOX_F_SEEN), -1);
	assert_int_equal(mbox_folder_status(f->u, "INBOX", &st, f->err,
	    sizeof(f->err)), 0);
	assert_int_equal(st.messages, 1);
	assert_int_equal(st.recent, 1);
	assert_int_equal(st.unseen, 1);
	assert_int_equal(st.uidnext, 2);
	assert_int_equal(st.uidvalidity, mbox_uidvalidity(ro));
	/* SELECT later moves it, keeping the UID STATUS gave. */
	rw = open_box(f, "INBOX", false);
	assert_int_equal(mbox_count(rw), 1);
	assert_int_equal(mbox_msg(rw, 0)->uid, 1);
	assert_int_equal(mbox_recent(rw), 1);
	assert_int_equal(count_dir(ROOT "/new"), 0);
	/* The read-only view still reads it, from cur/ now. */
	assert_string_equal(slurp_fd(mbox_msg_open(ro, 0)), "hello\n");
	mbox_close(&rw);
	mbox_close(&ro);
	assert_int_equal(mbox_folder_status(f->u, "nope", &st, f->err,
	    sizeof(f->err)), -1);
}

static uint32_t
append(struct fixture *f, const char *name, const char *const *pieces,
    unsigned flags, int64_t date)
{
	struct mbox_append *a = mbox_append_begin(f->u, name, f->err,
	    sizeof(f->err));
	uint32_t v = 0, uid = 0;

	assert_non_null(a);
	for (; *pieces != NULL; pieces++)
		assert_int_equal(mbox_append_write(a, *pieces, strlen(*pieces)), 0);
	assert_int_equal(mbox_append_commit(&a, flags, date, &v, &uid, f->err,
	    sizeof(f->err)), 0);
	assert_null(a);
	assert_true(v > 0);
	return uid;
}

/* ---- flags and expunges between two sessions ----------------------------- */

static void
test_flags_between_sessions(void **state)
{
	struct fixture *f = *state;
	struct mbox_changes ch = { 0 };
	struct mbox *a, *b;

	deliver("1.QA.mx", "1\n");
	deliver("2.QB.mx", "2\n");
	a = open_box(f, "INBOX", false);
	b = open_box(f, "INBOX", false);
	assert_int_equal(mbox_recent(a) + mbox_recent(b), 2);
	assert_int_equal(mbox_set_flags(a, 1, MBOX_F_SEEN | MBOX_F_FLAGGED |
	    MBOX_F_DRAFT | MBOX_F_ANSWERED | MBOX_F_DELETED), 0);
	assert_string_equal(mbox_msg_file(a, 1), "2.QB.mx:2,DFRST");
	assert_true(exists(ROOT "/cur/2.QB.mx:2,DFRST"));
	assert_int_equal(mbox_sync(b, false, &ch), 0);
	assert_int_equal(ch.nflags_changed, 1);
	assert_int_equal(ch.flags_changed[0], 2);
	assert_int_equal(mbox_msg(b, 1)->flags, MBOX_F_ALL);
	mbox_changes_clear(&ch);
	/* b changes it again from its own (old) name: found again. */
	assert_int_equal(mbox_set_flags(a, 0, MBOX_F_SEEN), 0);
	assert_int_equal(mbox_set_flags(b, 0, MBOX_F_FLAGGED), 0);
	assert_true(exists(ROOT "/cur/1.QA.mx:2,F"));
	assert_int_equal(mbox_sync(a, false, &ch), 0);
	assert_int_equal(ch.nflags_changed, 1);
	assert_int_equal(mbox_msg(a, 0)->flags, MBOX_F_FLAGGED);
	mbox_changes_clear(&ch);
	/* Unknown letters (another tool's keywords) are kept, in order. */
	assert_int_equal(rename(ROOT "/cur/1.QA.mx:2,F", ROOT "/cur/1.QA.mx:2,Fab"), 0);
	assert_int_equal(mbox_set_flags(a, 0, MBOX_F_SEEN | MBOX_F_ANSWERED), 0);
	assert_true(exists(ROOT "/cur/1.QA.mx:2,RSab"));
	/* An APPEND by one is new mail for the other. */
	{
		static const char *const body[] = { "new\r\n", NULL };
		uint32_t uid = append(f, "INBOX", body, MBOX_F_SEEN, 0);

		assert_int_equal(mbox_sync(b, true, &ch), 0);
		assert_true(ch.exists_changed);
		assert_int_equal(mbox_count(b), 3);
		assert_int_equal(mbox_msg(b, 2)->uid, uid);
		assert_int_equal(mbox_msg(b, 2)->flags, MBOX_F_SEEN);
		assert_false(mbox_msg(b, 2)->recent);
		mbox_changes_clear(&ch);
	}
	mbox_close(&a);
	mbox_close(&b);
}

static void
test_expunge_gone_then_reported(void **state)
{
	struct fixture *f = *state;
	struct mbox_changes ch = { 0 };
	struct mbox *a, *b;
	bool only[4] = { false, false, false, true };

	for (int i = 1; i <= 4; i++) {
		char name[32];

		snprintf(name, sizeof(name), "%d.Q.mx", i);
		deliver(name, "x\n");
	}
	a = open_box(f, "INBOX", false);
	b = open_box(f, "INBOX", false);
	assert_int_equal(mbox_set_flags(a, 1, MBOX_F_DELETED), 0);
	assert_int_equal(mbox_set_flags(a, 2, MBOX_F_DELETED), 0);
	assert_int_equal(mbox_set_flags(a, 3, MBOX_F_DELETED), 0);
	/* UID EXPUNGE of the 4th only. */
	assert_int_equal(mbox_expunge(a, only, &ch), 0);
	assert_int_equal(ch.nexpunged, 1);
	assert_int_equal(ch.expunged[0], 4);
	mbox_changes_clear(&ch);
	assert_int_equal(mbox_expunge(a, NULL, &ch), 0);
	assert_int_equal(ch.nexpunged, 2);
	assert_int_equal(ch.expunged[0], 3);	/* each valid when sent */
	assert_int_equal(ch.expunged[1], 2);
	assert_int_equal(mbox_count(a), 1);
	mbox_changes_clear(&ch);
	assert_int_equal(count_dir(ROOT "/cur"), 1);

	/* b, during a FETCH: kept, marked gone. */
	assert_int_equal(mbox_sync(b, false, &ch), 0);
	assert_int_equal(ch.nexpunged, 0);
	assert_int_equal(mbox_count(b), 4);
	assert_false(mbox_msg(b, 0)->gone);
	assert_true(mbox_msg(b, 1)->gone);
	assert_true(mbox_msg(b, 3)->gone);
	assert_int_equal(mbox_msg_open(b, 1), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(mbox_set_flags(b, 1, MBOX_F_SEEN), 1);
	mbox_changes_clear(&ch);
	/* Then when allowed: reported, highest first. */
	assert_int_equal(mbox_sync(b, true, &ch), 0);
	assert_int_equal(ch.nexpunged, 3);
	assert_int_equal(ch.expunged[0], 4);
	assert_int_equal(ch.expunged[1], 3);
	assert_int_equal(ch.expunged[2], 2);
	assert_int_equal(mbox_count(b), 1);
	assert_int_equal(mbox_msg(b, 0)->uid, 1);
	mbox_changes_clear(&ch);
	mbox_close(&a);
	mbox_close(&b);
}

static void
test_msg_open_after_rename_elsewhere(void **state)
{
	struct fixture *f = *state;
	struct mbox *m;

	deliver("1.QA.mx", "body\n");
	m = open_box(f, "INBOX", false);
	/* Another tool renamed it: found again by its base name. */
	assert_int_equal(rename(ROOT "/cur/1.QA.mx:2,", ROOT "/cur/1.QA.mx:2,S"), 0);
	assert_string_equal(slurp_fd(mbox_msg_open(m, 0)), "body\n");
	assert_string_equal(mbox_msg_file(m, 0), "1.QA.mx:2,S");
	assert_int_equal(unlink(ROOT "/cur/1.QA.mx:2,S"), 0);
	assert_int_equal(mbox_msg_open(m, 0), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(mbox_set_flags(m, 0, MBOX_F_SEEN), 1);
	assert_int_equal(mbox_msg_open(m, 7), -1);
	mbox_close(&m);
}

static void
test_pop3_delete_and_lock(void **state)
{
	struct fixture *f = *state;
	struct mbox *m;
	bool del[3] = { true, false, true };
	int a, b;

	deliver("1.QA.mx", "1\n");
	deliver("2.QB.mx", "2\n");
	deliver("3.QC.mx", "3\n");
	a = mbox_pop3_lock(f->u);
	assert_true(a >= 0);
	b = mbox_pop3_lock(f->u);
	assert_int_equal(b, -1);
	assert_int_equal(errno, EWOULDBLOCK);
	m = open_box(f, "INBOX", false);
	/* One already gone counts as removed. */
	assert_int_equal(unlink(ROOT "/cur/3.QC.mx:2,"), 0);
	assert_int_equal(mbox_delete(m, del), 0);
	assert_int_equal(count_dir(ROOT "/cur"), 1);
	assert_true(exists(ROOT "/cur/2.QB.mx:2,"));
	mbox_close(&m);
	m = open_box(f, "INBOX", false);
	assert_int_equal(mbox_count(m), 1);
	assert_int_equal(mbox_msg(m, 0)->uid, 2);
	mbox_close(&m);
	close(a);
	b = mbox_pop3_lock(f->u);
	assert_true(b >= 0);
	close(b);
}

static void
test_sync_fast_path_uses_mtimes(void **state)
{
	struct fixture *f = *state;
	struct mbox_changes ch = { 0 };
	struct mbox *a, *b;

	deliver("1.QA.mx", "1\n");
	a = open_box(f, "INBOX", false);
	b = open_box(f, "INBOX", false);
	/* Stamps a second old or more are trusted by the next sync... */
	age(ROOT "/new");
	age(ROOT "/cur");
	age(UL);
	assert_int_equal(mbox_sync(a, true, &ch), 0);
	mbox_changes_clear(&ch);
	/* ...so a file slipped in with no mtime change is not seen: the
	 * sync did not scan. */
	deliver("2.QB.mx", "2\n");
	age(ROOT "/new");
	assert_int_equal(mbox_sync(a, true, &ch), 0);
	assert_false(ch.exists_changed);
	assert_int_equal(mbox_count(a), 1);
	/* Any change moves an mtime: another session's flags (cur/). */
	assert_int_equal(mbox_set_flags(b, 0, MBOX_F_SEEN), 0);
	assert_int_equal(mbox_sync(a, true, &ch), 0);
	assert_int_equal(ch.nflags_changed, 1);
	assert_int_equal(ch.flags_changed[0], 1);
	assert_true(ch.exists_changed);
	assert_int_equal(mbox_count(a), 2);
	mbox_changes_clear(&ch);
	/* Stamps from this second are not trusted: the next sync scans
	 * again even if nothing seems to move. */
	deliver("3.QC.mx", "3\n");
	assert_int_equal(mbox_sync(a, true, &ch), 0);
	assert_int_equal(mbox_count(a), 3);
	mbox_changes_clear(&ch);
	mbox_close(&a);
	mbox_close(&b);
}

/* ---- hostile uid lists -------------------------------------------------- */

static void
open_with_uidlist(struct fixture *f, const char *text, uint32_t *uids,
    size_t n, uint32_t *uidvalidity)
{
	struct mbox *m;

	write_file(UL, text);
	m = open_box(f, "INBOX", false);
	assert_int_equal(mbox_count(m), n);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(mbox_msg(m, (uint32_t)i)->uid, uids[i]);
	*uidvalidity = mbox_uidvalidity(m);
	mbox_close(&m);
}

static void
test_hostile_uidlists(void **state)
{
	struct fixture *f = *state;
	uint32_t v, u1[] = { 5, 9 }, u2[] = { 1, 2 }, u3[] = { 7, 8 };
	char *big;

	deliver("1.QA.mx", "1\n");
	deliver("2.QB.mx", "2\n");
	/* Good: the UIDs on file are kept. */
	open_with_uidlist(f, "V1234 N10\n5 3 1.QA.mx\n9 3 2.QB.mx\n", u1, 2, &v);
	assert_int_equal(v, 1234);
	/* Bad lines skipped: decreasing, zero, slash, huge, junk. The
	 * messages without a good line get new UIDs after the highest. */
	open_with_uidlist(f, "V1234 N3\n7 3 1.QA.mx\n6 3 2.QB.mx\n"
	    "0 1 x\n8 1 a/b\n99999999999 1 c\n11 1\nzzz\n", u3, 2, &v);
	assert_int_equal(v, 1234);
	/* A bad first line: a new UIDVALIDITY above the old one. */
	open_with_uidlist(f, "V1234 Nx\n5 3 1.QA.mx\n9 3 2.QB.mx\n", u2, 2, &v);
	assert_true(v > 1234);
	open_with_uidlist(f, "garbage\n5 3 1.QA.mx\n", u2, 2, &v);
	open_with_uidlist(f, "V4294967295 N1\n", u2, 2, &v);
	assert_true(v > 0);
	open_with_uidlist(f, "", u2, 2, &v);
	/* An unterminated last line (a crash mid-append) and a line far
	 * longer than any real one. */
	big = malloc(100000);
	assert_non_null(big);
	memset(big, 'x', 99999);
	big[99999] = '\0';
	{
		char *text = malloc(100100);

		assert_non_null(text);
		snprintf(text, 100100, "V77 N1\n%s\n4 3 1.QA.mx\n6 3 2.QB", big);
		open_with_uidlist(f, text, (uint32_t[]){ 4, 5 }, 2, &v);
		assert_int_equal(v, 77);
		free(text);
	}
	free(big);
}

static void
test_uidlist_parser_limits(void **state)
{
	struct mbox_uidlist_state st;
	char line[MBOX_UIDLIST_LINE_MAX + 16];
	size_t n;

	(void)state;
	memset(&st, 0, sizeof(st));
	n = mbox_uidlist_parse(&st, "V1 N1\n1 2 a\n", 12, NULL, NULL);
	assert_int_equal(n, 12);
	assert_true(st.header_ok);
	assert_int_equal(st.nrecords, 1);
	/* A line of exactly the maximum with its LF is read; one more is not. */
	memset(line, 'b', sizeof(line));
	memcpy(line, "2 2 ", 4);
	line[MBOX_UIDLIST_LINE_MAX - 1] = '\n';
	n = mbox_uidlist_parse(&st, line, MBOX_UIDLIST_LINE_MAX, NULL, NULL);
	assert_int_equal(n, MBOX_UIDLIST_LINE_MAX);
	assert_int_equal(st.nbad, 1);	/* base longer than NAME_MAX */
	assert_false(mbox_uidlist_base_ok(line + 4, MBOX_UIDLIST_BASE_MAX + 1));
	assert_true(mbox_uidlist_base_ok(line + 4, MBOX_UIDLIST_BASE_MAX));
	/* Unterminated under the maximum: left for later. */
	assert_int_equal(mbox_uidlist_parse(&st, "3 1 c", 5, NULL, NULL), 0);
	/* Unterminated over it: consumed, skipped up to its LF. */
	memset(line, 'c', sizeof(line));
	assert_int_equal(mbox_uidlist_parse(&st, line, sizeof(line), NULL, NULL),
	    sizeof(line));
	/* ... the rest of it too, however short (found by the fuzzer). */
	assert_int_equal(mbox_uidlist_parse(&st, "cc", 2, NULL, NULL), 2);
	assert_int_equal(mbox_uidlist_parse(&st, "cc\n3 1 c\n", 9, NULL, NULL), 9);
	assert_int_equal(st.nbad, 2);
	assert_int_equal(st.nrecords, 2);
	assert_int_equal(st.last_uid, 3);
	/* Leading zeros, signs and out of range numbers. */
	{
		static const char bad[] = "04 1 d\n+5 1 d\n6 -1 d\n"
		    "4294967295 1 d\n7 281474976710657 d\n7 1 .d\n7 1 d:2,S\n";

		assert_int_equal(mbox_uidlist_parse(&st, bad, sizeof(bad) - 1,
		    NULL, NULL), sizeof(bad) - 1);
	}
	assert_int_equal(st.nrecords, 2);
	assert_int_equal(st.nbad, 9);
}

/* ---- APPEND, COPY, MOVE ------------------------------------------------- */

static void
test_append_crlf_across_pieces(void **state)
{
	struct fixture *f = *state;
	static const char *const p1[] = { "Subject: x\r", "\n\r", "\nbody\r",
	    "\r\nlast\r", NULL };
	static const char *const p2[] = { "a\r\n", NULL };
	struct mbox_append *a;
	struct mbox *m;
	const struct mbox_msg *msg;

	assert_int_equal(append(f, "Sent", p1, MBOX_F_SEEN, 1600000000), 1);
	assert_int_equal(append(f, "Sent", p2, 0, 0), 2);
	m = open_box(f, "Sent", false);
	assert_int_equal(mbox_count(m), 2);
	assert_int_equal(mbox_recent(m), 0);
	msg = mbox_msg(m, 0);
	assert_int_equal(msg->uid, 1);
	assert_int_equal(msg->flags, MBOX_F_SEEN);
	assert_int_equal(msg->internaldate, 1600000000);
	/* The last line gets its line end (SPEC 3): the CR held at the end
	 * and the LF added make a CRLF. */
	assert_string_equal(slurp_fd(mbox_msg_open(m, 0)),
	    "Subject: x\n\nbody\r\nlast\r\n");
	/* Stored: 24 bytes; sent: two bare LFs become CRLF. */
	assert_int_equal(msg->vsize, 26);
	assert_non_null(strstr(mbox_msg_file(m, 0), ",S=24"));
	assert_int_equal(mbox_msg(m, 1)->vsize, 3);
	mbox_close(&m);
	/* No such folder: TRYCREATE. */
	assert_null(mbox_append_begin(f->u, "Nope", f->err, sizeof(f->err)));
	assert_memory_equal(f->err, "[TRYCREATE]", 11);
	a = mbox_append_begin(f->u, "Sent", f->err, sizeof(f->err));
	assert_non_null(a);
	assert_int_equal(mbox_append_write(a, "zz", 2), 0);
	mbox_append_abort(&a);
	assert_null(a);
	assert_int_equal(count_dir(ROOT "/.Sent/tmp"), 0);
}

static void
test_copy_and_move(void **state)
{
	struct fixture *f = *state;
	struct mbox_changes ch = { 0 };
	struct mbox *m, *t;
	uint32_t idx[2] = { 2, 0 }, uids[2], v = 0;
	struct stat st;

	deliver("1.QA.mx", "one\n");
	deliver("2.QB.mx", "two\n");
	deliver("3.QC.mx", "three\n");
	assert_int_equal(utimensat(AT_FDCWD, ROOT "/new/3.QC.mx",
	    (struct timespec[]){ { .tv_nsec = UTIME_OMIT }, { .tv_sec = 1500000000 } },
	    0), 0);
	m = open_box(f, "INBOX", false);
	assert_int_equal(mbox_set_flags(m, 2, MBOX_F_FLAGGED), 0);
	assert_int_equal(mbox_copy(m, idx, 2, "Trash", &v, uids, f->err,
	    sizeof(f->err)), 0);
	assert_int_equal(uids[0], 1);
	assert_int_equal(uids[1], 2);
	assert_int_equal(mbox_count(m), 3);
	t = open_box(f, "Trash", false);
	assert_int_equal(v, mbox_uidvalidity(t));
	assert_int_equal(mbox_count(t), 2);
	assert_int_equal(mbox_msg(t, 0)->flags, MBOX_F_FLAGGED);
	assert_int_equal(mbox_msg(t, 0)->internaldate, 1500000000);
	assert_int_equal(mbox_msg(t, 0)->vsize, 7);
	assert_string_equal(slurp_fd(mbox_msg_open(t, 0)), "three\n");
	assert_string_equal(slurp_fd(mbox_msg_open(t, 1)), "one\n");
	/* A hard link: the same file. */
	assert_int_equal(stat(ROOT "/cur/3.QC.mx:2,F", &st), 0);
	assert_int_equal(st.st_nlink, 2);

	idx[0] = 1;
	assert_int_equal(mbox_move(m, idx, 1, "Trash", &v, uids, &ch, f->err,
	    sizeof(f->err)), 0);
	assert_int_equal(uids[0], 3);
	assert_int_equal(ch.nexpunged, 1);
	assert_int_equal(ch.expunged[0], 2);
	assert_int_equal(mbox_count(m), 2);
	assert_int_equal(mbox_msg(m, 1)->uid, 3);
	mbox_changes_clear(&ch);
	assert_int_equal(mbox_sync(t, true, &ch), 0);
	assert_true(ch.exists_changed);
	assert_int_equal(mbox_count(t), 3);
	assert_int_equal(mbox_msg(t, 2)->uid, 3);
	mbox_changes_clear(&ch);
	/* Errors: no folder, a gone message. */
	assert_int_equal(mbox_copy(m, idx, 1, "Nope", &v, uids, f->err,
	    sizeof(f->err)), -1);
	assert_memory_equal(f->err, "[TRYCREATE]", 11);
	idx[0] = 9;
	assert_int_equal(mbox_copy(m, idx, 1, "Trash", &v, uids, f->err,
	    sizeof(f->err)), -1);
	assert_int_equal(count_dir(ROOT "/.Trash/tmp"), 0);
	mbox_close(&t);
	mbox_close(&m);
}

/* ---- folders ------------------------------------------------------------ */

static struct mbox_folder_info *
find_info(struct mbox_folder_info *v, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i].name, name) == 0)
			return &v[i];
	return NULL;
}

static void
test_folder_create_list_delete(void **state)
{
	struct fixture *f = *state;
	struct mbox_folder_info *v, *i;
	size_t n;

	assert_int_equal(mbox_folder_create(f->u, "a/b.c/d", f->err,
	    sizeof(f->err)), 0);
	assert_true(exists(ROOT "/.a/cur"));
	assert_true(exists(ROOT "/.a.b%2Ec/cur"));
	assert_true(exists(ROOT "/.a.b%2Ec.d/cur"));
	assert_true(exists(ROOT "/.a.b%2Ec.d/maildirfolder"));
	assert_true(mbox_folder_exists(f->u, "a/b.c"));
	assert_int_equal(mbox_folder_create(f->u, "a/b.c", f->err,
	    sizeof(f->err)), -1);
	assert_int_equal(mbox_folder_create(f->u, "inbox", f->err,
	    sizeof(f->err)), -1);
	assert_int_equal(mbox_folder_create(f->u, "a//b", f->err,
	    sizeof(f->err)), -1);
	assert_int_equal(mbox_folder_create(f->u, "INBOX/kids", f->err,
	    sizeof(f->err)), 0);
	assert_true(exists(ROOT "/.INBOX.kids/cur"));
	/* A Maildir made by another tool with no parent: "x" is noselect. */
	assert_int_equal(mkdir(ROOT "/.x.y", 0700), 0);
	assert_int_equal(mkdir(ROOT "/.x.y/cur", 0700), 0);
	/* Junk in the root is not a folder. */
	assert_int_equal(mkdir(ROOT "/.nocur", 0700), 0);
	assert_int_equal(mkdir(ROOT "/.bad%41", 0700), 0);
	assert_int_equal(mkdir(ROOT "/.bad%41/cur", 0700), 0);
	assert_int_equal(mbox_subscribe(f->u, "a/b.c", true), 0);
	assert_int_equal(mbox_subscribe(f->u, "gone/never", true), 0);
	assert_int_equal(mbox_folder_list(f->u, &v, &n), 0);
	assert_string_equal(v[0].name, "INBOX");
	assert_true(v[0].has_children);
	assert_int_equal(n, 11);
	assert_non_null(i = find_info(v, n, "a"));
	assert_true(i->has_children && !i->noselect && !i->subscribed);
	assert_non_null(i = find_info(v, n, "a/b.c"));
	assert_true(i->has_children && i->subscribed);
	assert_non_null(i = find_info(v, n, "a/b.c/d"));
	assert_false(i->has_children);
	assert_non_null(i = find_info(v, n, "x"));
	assert_true(i->noselect && i->has_children);
	assert_non_null(find_info(v, n, "x/y"));
	assert_non_null(find_info(v, n, "INBOX/kids"));
	assert_null(find_info(v, n, "nocur"));
	assert_null(find_info(v, n, "badA"));
	for (size_t k = 1; k < n; k++)
		assert_true(strcmp(v[k - 1].name, v[k].name) < 0 || k == 1);
	mbox_folder_list_free(v, n);

	/* Delete: not INBOX, not with children, not missing. */
	assert_int_equal(mbox_folder_delete(f->u, "INBOX", f->err,
	    sizeof(f->err)), -1);
	assert_int_equal(mbox_folder_delete(f->u, "a", f->err,
	    sizeof(f->err)), -1);
	assert_int_equal(mbox_folder_delete(f->u, "x", f->err,
	    sizeof(f->err)), -1);
	assert_int_equal(mbox_folder_delete(f->u, "zz", f->err,
	    sizeof(f->err)), -1);
	deliver_to(ROOT "/.a.b%2Ec.d", "1.Q.mx", "x\n");
	assert_int_equal(mbox_folder_delete(f->u, "a/b.c/d", f->err,
	    sizeof(f->err)), 0);
	assert_false(exists(ROOT "/.a.b%2Ec.d"));
	assert_false(mbox_folder_exists(f->u, "a/b.c/d"));
	assert_int_equal(count_dir(ROOT), 5);	/* new cur tmp subscriptions,
						 * postern-initialized */
	assert_int_equal(mbox_folder_delete(f->u, "a/b.c", f->err,
	    sizeof(f->err)), 0);
	assert_int_equal(mbox_folder_delete(f->u, "a", f->err,
	    sizeof(f->err)), 0);
	assert_int_equal(mbox_subscribe(f->u, "a/b.c", false), 0);
	assert_int_equal(mbox_subscribe(f->u, "a*", true), -1);
}

static void
test_folder_limit(void **state)
{
	struct fixture *f = *state;
	char name[32];
	int i;

	/* INBOX is the root; Sent, Drafts, Trash and Junk count. Most are
	 * bare directories, which count the same and are quicker to make. */
	for (i = 4; i < MBOX_FOLDERS_MAX - 3; i++) {
		snprintf(name, sizeof(name), ROOT "/.g%d", i);
		assert_int_equal(mkdir(name, 0700), 0);
	}
	for (; i < MBOX_FOLDERS_MAX; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		assert_int_equal(mbox_folder_create(f->u, name, f->err,
		    sizeof(f->err)), 0);
	}
	assert_int_equal(mbox_folder_create(f->u, "one/more", f->err,
	    sizeof(f->err)), -1);
	assert_string_equal(f->err, "too many folders");
	assert_int_equal(mbox_folder_create(f->u, "last", f->err,
	    sizeof(f->err)), -1);
	snprintf(name, sizeof(name), "f%d", MBOX_FOLDERS_MAX - 1);
	assert_int_equal(mbox_folder_delete(f->u, name, f->err,
	    sizeof(f->err)), 0);
	assert_int_equal(mbox_folder_create(f->u, "last", f->err,
	    sizeof(f->err)), 0);
}

static void
test_folder_rename(void **state)
{
	struct fixture *f = *state;
	struct mbox *m;

	assert_int_equal(mbox_folder_create(f->u, "a/b", f->err,
	    sizeof(f->err)), 0);
	deliver_to(ROOT "/.a.b", "1.Q.mx", "x\n");
	m = open_box(f, "a/b", false);
	assert_int_equal(mbox_count(m), 1);
	mbox_close(&m);
	assert_int_equal(mbox_folder_rename(f->u, "a", "n/m", f->err,
	    sizeof(f->err)), 0);
	assert_false(mbox_folder_exists(f->u, "a"));
	assert_false(mbox_folder_exists(f->u, "a/b"));
	assert_true(mbox_folder_exists(f->u, "n"));
	assert_true(mbox_folder_exists(f->u, "n/m"));
	m = open_box(f, "n/m/b", false);
	assert_int_equal(mbox_count(m), 1);
	assert_int_equal(mbox_msg(m, 0)->uid, 1);
	mbox_close(&m);
	/* Into itself, onto an existing one, from nothing. */
	assert_int_equal(mbox_folder_rename(f->u, "n", "n/x", f->err,
	    sizeof(f->err)), -1);
	assert_int_equal(mbox_folder_rename(f->u, "n", "Sent", f->err,
	    sizeof(f->err)), -1);
	assert_int_equal(mbox_folder_rename(f->u, "zz", "yy", f->err,
	    sizeof(f->err)), -1);
	assert_int_equal(mbox_folder_rename(f->u, "Sent", "INBOX", f->err,
	    sizeof(f->err)), -1);

	/* INBOX: its messages move, INBOX stays, empty. */
	deliver("1.QA.mx", "new\n");
	deliver("2.QB.mx", "cur\n");
	m = open_box(f, "INBOX", false);
	mbox_close(&m);
	deliver("3.QC.mx", "new\n");
	assert_int_equal(mbox_folder_rename(f->u, "INBOX", "Old", f->err,
	    sizeof(f->err)), 0);
	m = open_box(f, "INBOX", false);
	assert_int_equal(mbox_count(m), 0);
	mbox_close(&m);
	m = open_box(f, "Old", false);
	assert_int_equal(mbox_count(m), 3);
	mbox_close(&m);
}

/* ---- concurrency -------------------------------------------------------- */

#define CHILD_MSGS	60

static void
test_forked_writer_while_syncing(void **state)
{
	struct fixture *f = *state;
	struct mbox_changes ch = { 0 };
	struct mbox *m, *again;
	pid_t pid;
	int status;
	uint32_t last = 0, uids[2 * CHILD_MSGS];
	char *files[2 * CHILD_MSGS];

	m = open_box(f, "INBOX", false);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* The queue manager and an APPENDing session at once. */
		char err[128], name[64];
		struct mbox_user *u = mbox_user_open(ROOT, err, sizeof(err));

		for (int i = 0; i < CHILD_MSGS; i++) {
			struct mbox_append *a;
			uint32_t v, uid;
			int fd;

			snprintf(name, sizeof(name), "%d.Q%dR0.mx", 1000 + i, i);
			write_file("csrc", "child\n");
			fd = open("csrc", O_RDONLY);
			if (maildir_deliver(ROOT, name, SPAN_LIT(""), fd, 0, 6) != 0)
				_exit(2);
			close(fd);
			a = mbox_append_begin(u, "INBOX", err, sizeof(err));
			if (a == NULL || mbox_append_write(a, "ap\r\n", 4) != 0 ||
			    mbox_append_commit(&a, 0, 0, &v, &uid, err,
			    sizeof(err)) != 0)
				_exit(3);
		}
		mbox_user_close(&u);
		_exit(0);
	}
	for (int k = 0; k < 100000; k++) {
		assert_int_equal(mbox_sync(m, true, &ch), 0);
		assert_int_equal(ch.nexpunged, 0);
		mbox_changes_clear(&ch);
		for (uint32_t i = 0; i < mbox_count(m); i++) {
			assert_true(mbox_msg(m, i)->uid > (i == 0 ? 0 :
			    mbox_msg(m, i - 1)->uid));
		}
		if (mbox_count(m) > 0)
			last = mbox_msg(m, mbox_count(m) - 1)->uid;
		if (waitpid(pid, &status, WNOHANG) == pid)
			break;
	}
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(mbox_sync(m, true, &ch), 0);
	mbox_changes_clear(&ch);
	assert_int_equal(mbox_count(m), 2 * CHILD_MSGS);
	assert_int_equal(mbox_msg(m, 2 * CHILD_MSGS - 1)->uid, 2 * CHILD_MSGS);
	assert_true(last <= 2 * CHILD_MSGS);
	assert_int_equal(mbox_recent(m) + 0, mbox_recent(m));
	/* Another session agrees on every UID: one that reads the disk
	 * afresh (m closed first, else it would share m's state). */
	for (uint32_t i = 0; i < mbox_count(m); i++) {
		uids[i] = mbox_msg(m, i)->uid;
		files[i] = strdup(mbox_msg_file(m, i));
	}
	mbox_close(&m);
	again = open_box(f, "INBOX", false);
	assert_int_equal(mbox_count(again), 2 * CHILD_MSGS);
	for (uint32_t i = 0; i < 2 * CHILD_MSGS; i++) {
		assert_int_equal(mbox_msg(again, i)->uid, uids[i]);
		assert_string_equal(mbox_msg_file(again, i), files[i]);
		free(files[i]);
	}
	mbox_close(&again);
}

#define RACE_MSGS	20
#define RACE_ROUNDS	40

/* Two processes renaming the same files at once: neither ever takes a
 * message renamed by the other for an expunged one. */
static void
test_concurrent_flag_changes(void **state)
{
	struct fixture *f = *state;
	struct mbox_changes ch = { 0 };
	struct mbox *m;
	char name[32];
	pid_t pid;
	int status;

	for (int i = 0; i < RACE_MSGS; i++) {
		snprintf(name, sizeof(name), "%d.Q.mx", i);
		deliver(name, "x\n");
	}
	m = open_box(f, "INBOX", false);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char err[128];
		struct mbox_user *u = mbox_user_open(ROOT, err, sizeof(err));
		struct mbox *c = mbox_open(u, "INBOX", false, err, sizeof(err));

		if (c == NULL)
			_exit(2);
		for (int r = 0; r < RACE_ROUNDS; r++)
			for (uint32_t i = 0; i < RACE_MSGS; i++)
				if (mbox_set_flags(c, i, (r & 1) ? MBOX_F_SEEN :
				    MBOX_F_FLAGGED) != 0 ||
				    mbox_msg_open(c, i) < 0)
					_exit(3);
		mbox_close(&c);
		mbox_user_close(&u);
		_exit(0);
	}
	for (int r = 0; r < RACE_ROUNDS; r++) {
		for (uint32_t i = 0; i < RACE_MSGS; i++) {
			int fd;

			assert_int_equal(mbox_set_flags(m, i, (r & 1) ?
			    MBOX_F_ANSWERED : MBOX_F_DRAFT), 0);
			fd = mbox_msg_open(m, i);
			assert_true(fd >= 0);
			close(fd);
		}
		assert_int_equal(mbox_sync(m, true, &ch), 0);
		assert_int_equal(ch.nexpunged, 0);
		mbox_changes_clear(&ch);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(mbox_sync(m, true, &ch), 0);
	assert_int_equal(ch.nexpunged, 0);
	assert_int_equal(mbox_count(m), RACE_MSGS);
	assert_int_equal(count_dir(ROOT "/cur"), RACE_MSGS);
	mbox_changes_clear(&ch);
	mbox_close(&m);
}

static void
test_uidlist_rewritten_when_mostly_dead(void **state)
{
	struct fixture *f = *state;
	struct mbox_changes ch = { 0 };
	struct mbox *m, *other;
	struct stat a, b;
	char name[32];

	for (int i = 0; i < 300; i++) {
		snprintf(name, sizeof(name), "%04d.Q.mx", i);
		deliver(name, "x\n");
	}
	m = open_box(f, "INBOX", false);
	other = open_box(f, "INBOX", false);
	assert_int_equal(mbox_count(m), 300);
	for (uint32_t i = 0; i < 250; i++)
		assert_int_equal(mbox_set_flags(m, i, MBOX_F_DELETED), 0);
	assert_int_equal(mbox_expunge(m, NULL, NULL), 0);
	assert_int_equal(stat(UL, &a), 0);
	mbox_close(&m);
	m = open_box(f, "INBOX", false);
	assert_int_equal(stat(UL, &b), 0);
	assert_true(b.st_size < a.st_size / 4);
	assert_true(a.st_ino != b.st_ino);
	assert_int_equal(mbox_count(m), 50);
	assert_int_equal(mbox_msg(m, 0)->uid, 251);
	assert_int_equal(mbox_uidnext(m), 301);
	/* A session that read the old file reads the new one whole. */
	deliver("9999.Q.mx", "late\n");
	assert_int_equal(mbox_sync(other, true, &ch), 0);
	assert_int_equal(ch.nexpunged, 250);
	assert_int_equal(mbox_count(other), 51);
	assert_int_equal(mbox_msg(other, 0)->uid, 251);
	assert_int_equal(mbox_msg(other, 50)->uid, 301);
	mbox_changes_clear(&ch);
	assert_int_equal(mbox_sync(m, true, &ch), 0);
	assert_int_equal(mbox_msg(m, 50)->uid, 301);
	mbox_changes_clear(&ch);
	mbox_close(&other);
	mbox_close(&m);
}

/*
 * The sessions of one process on one folder share its state (records,
 * index, uid list reader): each view holds UIDs and bits only, and sees
 * the others' changes at its next sync.
 */
static void
test_sessions_share_state(void **state)
{
	struct fixture *f = *state;
	struct mbox_changes ch = { 0 };
	struct mbox *a, *b, *ro, *other;
	bool del[3] = { false, false, false };

	deliver("1.QA.mx", "a\n");
	deliver("2.QB.mx", "b\n");
	deliver("3.QC.mx", "c\n");
	/* Read-only first: the files stay in new/, nobody's recent yet. */
	ro = open_box(f, "INBOX", true);
	assert_int_equal(mbox_count(ro), 3);
	assert_int_equal(mbox_recent(ro), 0);
	assert_int_equal(count_dir(ROOT "/new"), 3);
	/* A writer then moves them, and they are its recent ones. */
	a = open_box(f, "INBOX", false);
	assert_ptr_equal(a->f, ro->f);
	assert_int_equal(count_dir(ROOT "/new"), 0);
	assert_int_equal(mbox_recent(a), 3);
	b = open_box(f, "inbox", false);
	assert_ptr_equal(a->f, b->f);
	assert_int_equal(mbox_count(b), 3);
	assert_int_equal(mbox_recent(b), 0);
	other = open_box(f, "Trash", false);
	assert_ptr_not_equal(other->f, a->f);
	mbox_close(&other);
	assert_int_equal(mbox_msg(b, 1)->vsize, 3);
	assert_true(mbox_msg(b, 1)->internaldate > 0);

	/* Flags set by a: b is told at its sync, a is not. */
	assert_int_equal(mbox_set_flags(a, 0, MBOX_F_FLAGGED), 0);
	assert_int_equal(mbox_msg(b, 0)->flags, 0);	/* not yet reported */
	assert_int_equal(mbox_sync(b, true, &ch), 0);
	assert_int_equal(ch.nflags_changed, 1);
	assert_int_equal(ch.flags_changed[0], 1);
	assert_int_equal(mbox_msg(b, 0)->flags, MBOX_F_FLAGGED);
	mbox_changes_clear(&ch);
	assert_int_equal(mbox_sync(a, true, &ch), 0);
	assert_int_equal(ch.nflags_changed, 0);
	mbox_changes_clear(&ch);

	/* Expunged by a: gone for b, then reported when b may. */
	assert_int_equal(mbox_set_flags(a, 1, MBOX_F_DELETED), 0);
	assert_int_equal(mbox_expunge(a, NULL, &ch), 0);
	assert_int_equal(ch.nexpunged, 1);
	mbox_changes_clear(&ch);
	assert_int_equal(mbox_sync(b, false, &ch), 0);
	assert_int_equal(mbox_count(b), 3);
	assert_true(mbox_msg(b, 1)->gone);
	assert_int_equal(mbox_msg_open(b, 1), -1);
	assert_int_equal(mbox_set_flags(b, 1, MBOX_F_SEEN), 1);
	mbox_changes_clear(&ch);
	assert_int_equal(mbox_sync(b, true, &ch), 0);
	assert_int_equal(ch.nexpunged, 1);
	assert_int_equal(ch.expunged[0], 2);
	assert_int_equal(mbox_count(b), 2);
	mbox_changes_clear(&ch);

	/* New mail: recent for the first view that syncs it. */
	deliver("4.QD.mx", "d\n");
	assert_int_equal(mbox_sync(b, true, &ch), 0);
	assert_true(ch.exists_changed);
	assert_int_equal(mbox_count(b), 3);
	assert_int_equal(mbox_recent(b), 1);
	mbox_changes_clear(&ch);
	assert_int_equal(mbox_sync(a, true, &ch), 0);
	assert_true(ch.exists_changed);
	assert_int_equal(mbox_count(a), 3);
	assert_int_equal(mbox_recent(a), 2);	/* its first ones, still */
	assert_false(mbox_msg(a, 2)->recent);
	mbox_changes_clear(&ch);
	assert_int_equal(mbox_sync(ro, true, &ch), 0);
	assert_int_equal(mbox_count(ro), 3);
	mbox_changes_clear(&ch);

	/* POP3 UPDATE by a (its view keeps its places). */
	mbox_close(&ro);
	del[0] = true;
	assert_int_equal(mbox_delete(a, del), 0);
	assert_true(mbox_msg(a, 0)->gone);
	assert_int_equal(mbox_sync(b, true, &ch), 0);
	assert_int_equal(ch.nexpunged, 1);
	assert_int_equal(mbox_count(b), 2);
	assert_string_equal(slurp_fd(mbox_msg_open(b, 1)), "d\n");
	mbox_changes_clear(&ch);
	mbox_close(&a);
	assert_int_equal(mbox_sync(b, true, &ch), 0);
	assert_int_equal(mbox_count(b), 2);
	mbox_close(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_root),
		cmocka_unit_test(test_name_valid),
		cmocka_unit_test(test_uidlist_parser_limits),
		cmocka_unit_test_setup_teardown(test_user_open_makes_store, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delivery_then_open, setup, teardown),
		cmocka_unit_test_setup_teardown(test_uids_persist_and_uidvalidity_renews,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_only_moves_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flags_between_sessions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expunge_gone_then_reported,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_msg_open_after_rename_elsewhere,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_pop3_delete_and_lock, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sync_fast_path_uses_mtimes,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_uidlists, setup, teardown),
		cmocka_unit_test_setup_teardown(test_append_crlf_across_pieces,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_copy_and_move, setup, teardown),
		cmocka_unit_test_setup_teardown(test_folder_create_list_delete,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_folder_rename, setup, teardown),
		cmocka_unit_test_setup_teardown(test_folder_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_forked_writer_while_syncing,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_flag_changes,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_sessions_share_state,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_uidlist_rewritten_when_mostly_dead,
		    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
