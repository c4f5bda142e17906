/*
 * Unit tests for store/maildir: the escaping of mailbox keys into paths
 * ('/', a leading '.', '%', control and non-ASCII bytes), delivery through
 * tmp/ into new/, maildir_has() in new/ and cur/ with flags, and the usage
 * sum from ",S=" names with a stat() fallback. Each test runs in a fresh
 * temp dir (the paths are relative to data_dir, the cwd).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/testdir.h"

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/maildir.h"

#define BOX	"mail/example.org/bob"

struct fixture {
	struct testdir	td;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	testdir_enter(&f->td, "maildir");
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	testdir_leave(&f->td);
	free(f);
	return 0;
}

/* ---- helpers ------------------------------------------------------------ */

static void
path_is(const char *key, const char *want)
{
	char *p = maildir_path(key);

	if (want == NULL) {
		assert_null(p);
		return;
	}
	assert_non_null(p);
	assert_string_equal(p, want);
	free(p);
}

static int
count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static void
write_file(const char *path, const char *text, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, n), (ssize_t)n);
	close(fd);
}

static char *
read_file(const char *path, size_t *len)
{
	struct stat st;
	char *buf;
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	buf = malloc((size_t)st.st_size + 1);
	assert_non_null(buf);
	assert_int_equal(read(fd, buf, (size_t)st.st_size), st.st_size);
	buf[st.st_size] = '\0';
	close(fd);
	*len = (size_t)st.st_size;
	return buf;
}

/* A source "queue file": junk, then the body at a known offset. */
static int
source_fd(const char *junk, const char *body)
{
	int fd = open("source", O_RDWR | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, junk, strlen(junk)), (ssize_t)strlen(junk));
	assert_int_equal(write(fd, body, strlen(body)), (ssize_t)strlen(body));
	return fd;
}

static void
mode_is(const char *path, mode_t want)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, want);
}

/* ---- maildir_path --------------------------------------------------------- */

static void
test_path_plain(void **state)
{
	(void)state;
	path_is("alice@example.org", "mail/example.org/alice");
	path_is("first.last@mail.example.org", "mail/mail.example.org/first.last");
	path_is("a+tag@example.org", "mail/example.org/a+tag");
}

static void
test_path_escapes_slash(void **state)
{
	(void)state;
	path_is("a/b@example.org", "mail/example.org/a%2Fb");
	path_is("../../etc@example.org", "mail/example.org/%2E.%2F..%2Fetc");
	path_is("alice@ex/ample.org", "mail/ex%2Fample.org/alice");
	path_is("x@../..", "mail/%2E.%2F../x");
}

static void
test_path_escapes_leading_dot(void **state)
{
	(void)state;
	path_is(".hidden@example.org", "mail/example.org/%2Ehidden");
	path_is("..@example.org", "mail/example.org/%2E.");
	path_is(".@example.org", "mail/example.org/%2E");
	path_is("a@.example.org", "mail/%2Eexample.org/a");
	/* Only the first byte: inner dots are ordinary. */
	path_is("a.b.@example.org", "mail/example.org/a.b.");
}

static void
test_path_escapes_percent(void **state)
{
	(void)state;
	/* '%' itself is escaped, so no two keys share a path. */
	path_is("a%2Fb@example.org", "mail/example.org/a%252Fb");
	path_is("%@example.org", "mail/example.org/%25");
}

static void
test_path_escapes_control_and_non_ascii(void **state)
{
	(void)state;
	path_is("a\x01" "b@example.org", "mail/example.org/a%01b");
	path_is("a\nb@example.org", "mail/example.org/a%0Ab");
	path_is("a b@example.org", "mail/example.org/a%20b");
	path_is("a\x7f@example.org", "mail/example.org/a%7F");
	path_is("\xc3\xa9t\xc3\xa9@example.org", "mail/example.org/%C3%A9t%C3%A9");
	path_is("a\tb@example.org", "mail/example.org/a%09b");
}

static void
test_path_last_at_splits(void **state)
{
	(void)state;
	path_is("\"a@b\"@example.org", "mail/example.org/\"a@b\"");
}

static void
test_path_refuses_keys_without_parts(void **state)
{
	static char big[5000];

	(void)state;
	path_is("alice", NULL);
	path_is("@example.org", NULL);
	path_is("alice@", NULL);
	path_is("", NULL);
	/* Too long once escaped: refused, never silently cut. */
	memset(big, '%', sizeof(big) - 20);
	memcpy(big + sizeof(big) - 20, "@example.org", 13);
	path_is(big, NULL);
}

/* ---- maildir_ensure / deliver --------------------------------------------- */

static void
test_ensure_makes_private_tree(void **state)
{
	(void)state;
	assert_int_equal(maildir_ensure(BOX), 0);
	mode_is("mail", 0700);
	mode_is("mail/example.org", 0700);
	mode_is(BOX, 0700);
	mode_is(BOX "/tmp", 0700);
	mode_is(BOX "/new", 0700);
	mode_is(BOX "/cur", 0700);
	/* Again: nothing to do, no error. */
	assert_int_equal(maildir_ensure(BOX), 0);
}

static void
test_deliver_writes_prefix_and_body_into_new(void **state)
{
	const char *prefix = "Return-Path: <a@example.net>\nDelivered-To: bob@example.org\n";
	const char *body = "Subject: hi\n\nhello\n";
	char *got, want[256];
	size_t len;
	int fd;

	(void)state;
	fd = source_fd("ENVELOPE\n\n", body);
	assert_int_equal(maildir_deliver(BOX, "1700000000.QABCR0.mx,S=99",
	    span_from_cstr(prefix), fd, 10, strlen(body)), 0);
	close(fd);
	assert_int_equal(maildir_sync(BOX), 0);
	got = read_file(BOX "/new/1700000000.QABCR0.mx,S=99", &len);
	snprintf(want, sizeof(want), "%s%s", prefix, body);
	assert_int_equal(len, strlen(want));
	assert_string_equal(got, want);
	free(got);
	assert_int_equal(count_entries(BOX "/tmp"), 0);
	assert_int_equal(count_entries(BOX "/cur"), 0);
	assert_int_equal(count_entries(BOX "/new"), 1);
}

/* Another delivery is making the tree: tmp/ exists, new/ not yet. The copy
 * must still land (an acknowledged message once got deferred here). */
static void
test_deliver_into_half_made_tree(void **state)
{
	const char *body = "Subject: hi\n\nhello\n";
	int fd;

	(void)state;
	assert_int_equal(mkdir("mail", 0700), 0);
	assert_int_equal(mkdir("mail/example.org", 0700), 0);
	assert_int_equal(mkdir(BOX, 0700), 0);
	assert_int_equal(mkdir(BOX "/tmp", 0700), 0);
	fd = source_fd("", body);
	assert_int_equal(maildir_deliver(BOX, "1.QAR0.mx,S=1", span_from_cstr(""),
	    fd, 0, strlen(body)), 0);
	close(fd);
	assert_int_equal(count_entries(BOX "/new"), 1);
	assert_int_equal(count_entries(BOX "/tmp"), 0);
	mode_is(BOX "/cur", 0700);
}

static void
test_deliver_part_of_source(void **state)
{
	char *got;
	size_t len;
	int fd;

	(void)state;
	fd = source_fd("0123456789", "ABCDEFGHIJ");
	assert_int_equal(maildir_deliver(BOX, "m1", SPAN_LIT(""), fd, 12, 5), 0);
	close(fd);
	got = read_file(BOX "/new/m1", &len);
	assert_int_equal(len, 5);
	assert_string_equal(got, "CDEFG");
	free(got);
}

static void
test_deliver_large_body(void **state)
{
	size_t n = 300000, len;
	char *body = malloc(n + 1), *got;
	int fd;

	(void)state;
	assert_non_null(body);
	for (size_t i = 0; i < n; i++)
		body[i] = (char)('a' + i % 26);
	body[n] = '\0';
	fd = source_fd("", body);
	assert_int_equal(maildir_deliver(BOX, "big", SPAN_LIT("P: x\n"), fd, 0, n), 0);
	close(fd);
	got = read_file(BOX "/new/big", &len);
	assert_int_equal(len, n + 5);
	assert_memory_equal(got, "P: x\n", 5);
	assert_memory_equal(got + 5, body, n);
	free(got);
	free(body);
}

static void
test_deliver_short_source_leaves_nothing(void **state)
{
	int fd;

	(void)state;
	fd = source_fd("", "only ten b");
	assert_int_equal(maildir_deliver(BOX, "short", SPAN_LIT("X: y\n"), fd, 0, 100), -1);
	close(fd);
	assert_int_equal(count_entries(BOX "/new"), 0);
	assert_int_equal(count_entries(BOX "/tmp"), 0);
}

static void
test_deliver_into_existing_maildir(void **state)
{
	int fd;

	(void)state;
	assert_int_equal(maildir_ensure(BOX), 0);
	fd = source_fd("", "one\n");
	assert_int_equal(maildir_deliver(BOX, "a", SPAN_LIT(""), fd, 0, 4), 0);
	assert_int_equal(maildir_deliver(BOX, "b", SPAN_LIT(""), fd, 0, 4), 0);
	close(fd);
	assert_int_equal(count_entries(BOX "/new"), 2);
	assert_int_equal(count_entries(BOX "/tmp"), 0);
}

static void
test_sync_missing_maildir_fails(void **state)
{
	(void)state;
	assert_int_equal(maildir_sync("mail/example.org/nobody"), -1);
}

/* ---- maildir_has ---------------------------------------------------------- */

static void
test_has_in_new_and_cur(void **state)
{
	const char *name = "1700000000.Q06H0ABCDR1.mx,S=120";
	int fd;

	(void)state;
	assert_false(maildir_has(BOX, name));	/* no maildir at all */
	fd = source_fd("", "body\n");
	assert_int_equal(maildir_deliver(BOX, name, SPAN_LIT(""), fd, 0, 5), 0);
	close(fd);
	assert_true(maildir_has(BOX, name));
	assert_false(maildir_has(BOX, "1700000000.Q06H0ABCDR2.mx,S=120"));
	/* A reader moved it to cur/ and flagged it as seen. */
	assert_int_equal(rename(BOX "/new/1700000000.Q06H0ABCDR1.mx,S=120",
	    BOX "/cur/1700000000.Q06H0ABCDR1.mx,S=120:2,S"), 0);
	assert_true(maildir_has(BOX, name));
	assert_int_equal(rename(BOX "/cur/1700000000.Q06H0ABCDR1.mx,S=120:2,S",
	    BOX "/cur/1700000000.Q06H0ABCDR1.mx,S=120:2,FRS"), 0);
	assert_true(maildir_has(BOX, name));
	/* Bare name in cur/ (no info part) also counts. */
	assert_int_equal(rename(BOX "/cur/1700000000.Q06H0ABCDR1.mx,S=120:2,FRS",
	    BOX "/cur/1700000000.Q06H0ABCDR1.mx,S=120"), 0);
	assert_true(maildir_has(BOX, name));
}

static void
test_has_needs_whole_name(void **state)
{
	(void)state;
	assert_int_equal(maildir_ensure(BOX), 0);
	write_file(BOX "/cur/1234.Qx,S=10:2,S", "x", 1);
	write_file(BOX "/new/1234.Qy,S=10", "x", 1);
	/* A prefix of a name is not the name. */
	assert_false(maildir_has(BOX, "1234.Qx"));
	assert_false(maildir_has(BOX, "1234.Qx,S=1"));
	assert_false(maildir_has(BOX, "1234.Qy"));
	assert_true(maildir_has(BOX, "1234.Qx,S=10"));
	assert_true(maildir_has(BOX, "1234.Qy,S=10"));
	/* tmp/ does not count: it was never delivered. */
	write_file(BOX "/tmp/5678.Qz,S=10", "x", 1);
	assert_false(maildir_has(BOX, "5678.Qz,S=10"));
}

/* ---- maildir_usage -------------------------------------------------------- */

static void
test_usage_sums_sizes_from_names(void **state)
{
	(void)state;
	assert_int_equal(maildir_usage(BOX), 0);	/* no maildir yet */
	assert_int_equal(maildir_ensure(BOX), 0);
	assert_int_equal(maildir_usage(BOX), 0);
	/* The files are 1 byte: the S= in the name is what counts. */
	write_file(BOX "/new/1.a,S=100", "x", 1);
	write_file(BOX "/cur/2.b,S=250:2,S", "x", 1);
	write_file(BOX "/cur/3.c,S=1000,W=1020:2,", "x", 1);
	assert_int_equal(maildir_usage(BOX), 1350);
	/* tmp/ is not counted. */
	write_file(BOX "/tmp/4.d,S=5000", "x", 1);
	assert_int_equal(maildir_usage(BOX), 1350);
}

static void
test_usage_falls_back_to_stat(void **state)
{
	(void)state;
	assert_int_equal(maildir_ensure(BOX), 0);
	write_file(BOX "/new/1.from-another-tool", "0123456789abcdefg", 17);
	write_file(BOX "/cur/2.other:2,S", "0123", 4);
	assert_int_equal(maildir_usage(BOX), 21);
	write_file(BOX "/new/3.ours,S=79", "x", 1);
	assert_int_equal(maildir_usage(BOX), 100);
	/* Dot files (a reader's own bookkeeping) are not messages. */
	write_file(BOX "/new/.lock", "0123456789", 10);
	assert_int_equal(maildir_usage(BOX), 100);
}

static void
test_usage_of_delivered_message(void **state)
{
	const char *prefix = "Return-Path: <>\n";
	const char *body = "Subject: s\n\nbody\n";
	char name[64];
	int fd;

	(void)state;
	/* Names made the way delivery makes them: S= is the stored size. */
	snprintf(name, sizeof(name), "1.Q0R0.mx,S=%zu", strlen(prefix) + strlen(body));
	fd = source_fd("", body);
	assert_int_equal(maildir_deliver(BOX, name, span_from_cstr(prefix), fd, 0,
	    strlen(body)), 0);
	close(fd);
	assert_int_equal(maildir_usage(BOX), strlen(prefix) + strlen(body));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path_plain),
		cmocka_unit_test(test_path_escapes_slash),
		cmocka_unit_test(test_path_escapes_leading_dot),
		cmocka_unit_test(test_path_escapes_percent),
		cmocka_unit_test(test_path_escapes_control_and_non_ascii),
		cmocka_unit_test(test_path_last_at_splits),
		cmocka_unit_test(test_path_refuses_keys_without_parts),
		cmocka_unit_test_setup_teardown(test_ensure_makes_private_tree, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deliver_writes_prefix_and_body_into_new,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_deliver_into_half_made_tree,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_deliver_part_of_source, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deliver_large_body, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deliver_short_source_leaves_nothing,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_deliver_into_existing_maildir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sync_missing_maildir_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_has_in_new_and_cur, setup, teardown),
		cmocka_unit_test_setup_teardown(test_has_needs_whole_name, setup, teardown),
		cmocka_unit_test_setup_teardown(test_usage_sums_sizes_from_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_usage_falls_back_to_stat, setup, teardown),
		cmocka_unit_test_setup_teardown(test_usage_of_delivered_message, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
