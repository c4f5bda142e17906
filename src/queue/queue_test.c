/*
 * Unit tests for queue/: the spool file format written by queue_writer_*,
 * made durable by the group committer, read back by queue_read() with its
 * appended state records (torn and corrupt records ignored), truncated
 * files refused, queue_list() order, queue_remove() and ids_queue_valid();
 * the optional spf line (absent = none) and queue_inject().
 * The queue API works relative to the cwd: each test runs in a fresh temp
 * dir after chdir() there.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/testdir.h"

#include <event2/event.h>
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/ids.h"
#include "queue/queue.h"

struct fixture {
	struct testdir			 td;
	struct event_base	*base;
	struct queue_committer	*qc;
};

struct commit_done {
	bool	fired;
	int	rc;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const char *err = NULL;

	assert_non_null(f);
	testdir_enter(&f->td, "queue");
	assert_int_equal(queue_init_dirs(&err), 0);
	f->base = event_base_new();
	assert_non_null(f->base);
	f->qc = queue_committer_new(f->base);
	assert_non_null(f->qc);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	queue_committer_free(&f->qc);
	event_base_free(f->base);
	testdir_leave(&f->td);
	free(f);
	return 0;
}

/* ---- helpers ------------------------------------------------------------ */

static void
env_make(struct queue_env *env, const char *id)
{
	memset(env, 0, sizeof(*env));
	if (id != NULL)
		memcpy(env->id, id, QUEUE_ID_LEN + 1);
	else
		ids_queue(env->id);
	env->time = 1700000000;
	env->from = strdup("alice@example.org");
	env->client = strdup("192.0.2.7");
	env->helo = strdup("client.example.net");
	env->auth = strdup("alice@example.org");
	queue_env_add_rcpt(env, QKIND_LOCAL, "Bob@Example.org", "bob@example.org");
	queue_env_add_rcpt(env, QKIND_REMOTE, "friend@example.net", "friend@example.net");
}

static void
commit_cb(void *arg, int rc)
{
	struct commit_done *d = arg;

	d->fired = true;
	d->rc = rc;
}

/* Runs the loop until the commit callback has fired (bounded). */
static int
commit_wait(struct fixture *f, struct queue_writer **w)
{
	struct commit_done d = { 0 };
	time_t deadline = time(NULL) + 10;

	queue_commit(f->qc, w, commit_cb, &d);
	assert_null(*w);
	while (!d.fired && time(NULL) < deadline)
		event_base_loop(f->base, EVLOOP_ONCE);
	assert_true(d.fired);
	return d.rc;
}

/* Writes a whole message (envelope from env_make) and commits it. */
static void
spool(struct fixture *f, const char *id, const char *body, char out_id[QUEUE_ID_LEN + 1])
{
	struct queue_env env;
	struct queue_writer *w;
	const char *err = NULL;

	env_make(&env, id);
	w = queue_writer_open(&env, &err);
	assert_non_null(w);
	assert_int_equal(queue_writer_write(w, body, strlen(body)), 0);
	assert_int_equal(queue_writer_finish(w), 0);
	assert_int_equal(commit_wait(f, &w), 0);
	if (out_id != NULL)
		memcpy(out_id, env.id, QUEUE_ID_LEN + 1);
	queue_env_clear(&env);
}

static char *
path_of(const char *dir, const char *id)
{
	static char p[1024];

	snprintf(p, sizeof(p), "%s/%s", dir, id);
	return p;
}

static bool
exists(const char *path)
{
	return access(path, F_OK) == 0;
}

static void
append_raw(const char *id, const char *text)
{
	int fd = open(path_of(QUEUE_DIR, id), O_WRONLY | O_APPEND);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

/* The FNV-1a of queue.c, to build records by hand. */
static uint32_t
fnv1a(const char *p)
{
	uint32_t h = 2166136261u;

	for (; *p != '\0'; p++) {
		h ^= (unsigned char)*p;
		h *= 16777619u;
	}
	return h;
}

static void
read_ok(const char *id, struct queue_env *env)
{
	const char *err = NULL;
	int fd = -1;

	assert_int_equal(queue_read(id, env, &fd, &err), 0);
	assert_true(fd >= 0);
	close(fd);
}

static void
read_fails(const char *id, const char *want_err)
{
	struct queue_env env;
	const char *err = NULL;
	int fd = 7;

	if (queue_read(id, &env, &fd, &err) == 0) {
		/* Clean up first, so that the failure below leaks nothing. */
		print_message("queue_read(%s) accepted a bad file (body_len %" PRIu64
		    ")\n", id, env.body_len);
		close(fd);
		queue_env_clear(&env);
		fail_msg("queue_read accepted a file it must refuse");
	}
	assert_int_equal(fd, -1);
	assert_non_null(err);
	if (want_err != NULL)
		assert_string_equal(err, want_err);
	assert_null(env.rcpts);
	assert_int_equal(env.nrcpts, 0);
}

/* ---- tests -------------------------------------------------------------- */

static void
test_write_commit_read(void **state)
{
	struct fixture *f = *state;
	struct queue_env env, got;
	struct queue_writer *w;
	const char *err = NULL;
	static char big[100000];
	char head[] = "Subject: hi\n\nfirst line\n";
	char *back;
	int fd;

	memset(big, 'x', sizeof(big));
	env_make(&env, NULL);
	w = queue_writer_open(&env, &err);
	assert_non_null(w);
	/* In queue/tmp/ until committed. */
	assert_true(exists(path_of(QUEUE_TMP_DIR, env.id)));
	assert_false(exists(path_of(QUEUE_DIR, env.id)));
	assert_int_equal(queue_writer_write(w, head, strlen(head)), 0);
	assert_int_equal(queue_writer_write(w, big, sizeof(big)), 0);	/* direct path */
	assert_int_equal(queue_writer_write(w, "end\n", 4), 0);
	assert_int_equal(queue_writer_size(w), strlen(head) + sizeof(big) + 4);
	assert_int_equal(queue_writer_finish(w), 0);
	assert_int_equal(commit_wait(f, &w), 0);
	assert_false(exists(path_of(QUEUE_TMP_DIR, env.id)));
	assert_true(exists(path_of(QUEUE_DIR, env.id)));

	assert_int_equal(queue_read(env.id, &got, &fd, &err), 0);
	assert_string_equal(got.id, env.id);
	assert_int_equal(got.time, 1700000000);
	assert_string_equal(got.from, "alice@example.org");
	assert_string_equal(got.client, "192.0.2.7");
	assert_string_equal(got.helo, "client.example.net");
	assert_string_equal(got.auth, "alice@example.org");
	assert_int_equal(got.nrcpts, 2);
	assert_int_equal(got.rcpts[0].kind, QKIND_LOCAL);
	assert_string_equal(got.rcpts[0].orig, "Bob@Example.org");
	assert_string_equal(got.rcpts[0].target, "bob@example.org");
	assert_int_equal(got.rcpts[0].state, QSTATE_QUEUED);
	assert_int_equal(got.rcpts[0].attempts, 0);
	assert_string_equal(got.rcpts[0].last_reply, "");
	assert_int_equal(got.rcpts[1].kind, QKIND_REMOTE);
	assert_string_equal(got.rcpts[1].target, "friend@example.net");
	assert_int_equal(got.body_len, strlen(head) + sizeof(big) + 4);
	back = malloc(got.body_len);
	assert_non_null(back);
	assert_int_equal(pread(fd, back, got.body_len, (off_t)got.body_off),
	    (ssize_t)got.body_len);
	assert_memory_equal(back, head, strlen(head));
	assert_memory_equal(back + strlen(head), big, sizeof(big));
	assert_memory_equal(back + strlen(head) + sizeof(big), "end\n", 4);
	free(back);
	close(fd);
	queue_env_clear(&got);
	queue_env_clear(&env);
}

static void
test_null_sender_and_empty_fields(void **state)
{
	struct fixture *f = *state;
	struct queue_env env = { 0 }, got;
	struct queue_writer *w;
	const char *err = NULL;

	ids_queue(env.id);
	env.from = strdup("");
	queue_env_add_rcpt(&env, QKIND_LOCAL, "bob@example.org", "bob@example.org");
	w = queue_writer_open(&env, &err);
	assert_non_null(w);
	assert_int_equal(queue_writer_finish(w), 0);
	assert_int_equal(commit_wait(f, &w), 0);
	read_ok(env.id, &got);
	assert_string_equal(got.from, "");
	assert_string_equal(got.client, "");
	assert_string_equal(got.helo, "");
	assert_string_equal(got.auth, "");
	assert_int_equal(got.body_len, 0);
	queue_env_clear(&got);
	queue_env_clear(&env);
}

/* A control byte in a field cannot forge an envelope line. */
static void
test_fields_cannot_inject_lines(void **state)
{
	struct fixture *f = *state;
	struct queue_env env, got;
	struct queue_writer *w;
	const char *err = NULL;

	env_make(&env, NULL);
	free(env.helo);
	env.helo = strdup("evil\nrcpt queued\tR\tx@example.com\tx@example.com");
	w = queue_writer_open(&env, &err);
	assert_non_null(w);
	assert_int_equal(queue_writer_finish(w), 0);
	assert_int_equal(commit_wait(f, &w), 0);
	read_ok(env.id, &got);
	assert_int_equal(got.nrcpts, 2);
	assert_null(strchr(got.helo, '\n'));
	assert_non_null(strstr(got.helo, "evil"));
	queue_env_clear(&got);
	queue_env_clear(&env);
}

static void
test_records_are_applied(void **state)
{
	struct fixture *f = *state;
	struct queue_env got;
	struct queue_rcpt r = { 0 };
	const char *err = NULL;
	char id[QUEUE_ID_LEN + 1];
	int fd;

	spool(f, NULL, "body\n", id);
	assert_int_equal(queue_read(id, &got, &fd, &err), 0);
	r.state = QSTATE_DEFERRED;
	r.attempts = 1;
	r.next_try = 1700000300;
	r.last_reply = (char *)"451 4.4.1 try later";
	assert_int_equal(queue_record(fd, 1, &r, true), 0);
	r.state = QSTATE_SENT;
	r.last_reply = (char *)"250 2.0.0 delivered to maildir";
	r.attempts = 0;
	r.next_try = 0;
	assert_int_equal(queue_record(fd, 0, &r, false), 0);
	r.state = QSTATE_DEFERRED;
	r.attempts = 2;
	r.next_try = 1700000900;
	r.last_reply = (char *)"421 4.7.0 busy\tnow";	/* a tab in the reply */
	assert_int_equal(queue_record(fd, 1, &r, false), 0);
	close(fd);
	queue_env_clear(&got);

	read_ok(id, &got);
	assert_int_equal(got.rcpts[0].state, QSTATE_SENT);
	assert_string_equal(got.rcpts[0].last_reply, "250 2.0.0 delivered to maildir");
	/* The last record for a recipient wins. */
	assert_int_equal(got.rcpts[1].state, QSTATE_DEFERRED);
	assert_int_equal(got.rcpts[1].attempts, 2);
	assert_int_equal(got.rcpts[1].next_try, 1700000900);
	assert_non_null(strstr(got.rcpts[1].last_reply, "421 4.7.0 busy"));
	/* The body is unchanged by records. */
	assert_int_equal(got.body_len, 5);
	queue_env_clear(&got);
}

static void
test_writer_record_before_commit(void **state)
{
	struct fixture *f = *state;
	struct queue_env env, got;
	struct queue_writer *w;
	struct queue_rcpt r = { .state = QSTATE_BOUNCED,
	    .last_reply = (char *)"552 5.2.2 mailbox full" };
	const char *err = NULL;

	env_make(&env, NULL);
	w = queue_writer_open(&env, &err);
	assert_non_null(w);
	assert_int_equal(queue_writer_write(w, "hello\n", 6), 0);
	assert_int_equal(queue_writer_finish(w), 0);
	assert_int_equal(queue_writer_record(w, 0, &r), 0);
	assert_int_equal(commit_wait(f, &w), 0);
	read_ok(env.id, &got);
	assert_int_equal(got.body_len, 6);
	assert_int_equal(got.rcpts[0].state, QSTATE_BOUNCED);
	assert_string_equal(got.rcpts[0].last_reply, "552 5.2.2 mailbox full");
	assert_int_equal(got.rcpts[1].state, QSTATE_QUEUED);
	queue_env_clear(&got);
	queue_env_clear(&env);
}

static void
test_torn_last_record_is_ignored(void **state)
{
	struct fixture *f = *state;
	struct queue_env got;
	struct queue_rcpt r = { .state = QSTATE_DEFERRED, .attempts = 1,
	    .last_reply = (char *)"451 first" };
	const char *err = NULL;
	char id[QUEUE_ID_LEN + 1], torn[128];
	int fd;

	spool(f, NULL, "body\n", id);
	assert_int_equal(queue_read(id, &got, &fd, &err), 0);
	assert_int_equal(queue_record(fd, 0, &r, false), 0);
	close(fd);
	queue_env_clear(&got);
	/* A complete record, its checksum right, but no newline: a crash
	 * mid-write. It must not count. */
	snprintf(torn, sizeof(torn), "R\t0\tsent\t2\t0\t250 ok");
	{
		char rec[256];

		snprintf(rec, sizeof(rec), "%s\t%08x", torn, fnv1a(torn));
		append_raw(id, rec);
	}
	read_ok(id, &got);
	assert_int_equal(got.rcpts[0].state, QSTATE_DEFERRED);
	assert_int_equal(got.rcpts[0].attempts, 1);
	assert_string_equal(got.rcpts[0].last_reply, "451 first");
	queue_env_clear(&got);
}

static void
test_bad_checksum_record_is_ignored(void **state)
{
	struct fixture *f = *state;
	struct queue_env got;
	char id[QUEUE_ID_LEN + 1], body[64], rec[160];

	spool(f, NULL, "body\n", id);
	/* Right checksum: applied. */
	snprintf(body, sizeof(body), "R\t1\tdeferred\t3\t1700001000\t451 good");
	snprintf(rec, sizeof(rec), "%s\t%08x\n", body, fnv1a(body));
	append_raw(id, rec);
	/* Wrong checksum (one bit off): ignored, and the next good one counts. */
	snprintf(body, sizeof(body), "R\t1\tsent\t4\t0\t250 forged");
	snprintf(rec, sizeof(rec), "%s\t%08x\n", body, fnv1a(body) ^ 1u);
	append_raw(id, rec);
	/* Garbage lines and an index out of range: ignored too. */
	append_raw(id, "garbage\n\n");
	snprintf(body, sizeof(body), "R\t9\tsent\t1\t0\t250 nobody");
	snprintf(rec, sizeof(rec), "%s\t%08x\n", body, fnv1a(body));
	append_raw(id, rec);
	snprintf(body, sizeof(body), "R\t0\tlost\t1\t0\t250 bad state");
	snprintf(rec, sizeof(rec), "%s\t%08x\n", body, fnv1a(body));
	append_raw(id, rec);
	read_ok(id, &got);
	assert_int_equal(got.rcpts[0].state, QSTATE_QUEUED);
	assert_int_equal(got.rcpts[1].state, QSTATE_DEFERRED);
	assert_int_equal(got.rcpts[1].attempts, 3);
	assert_int_equal(got.rcpts[1].next_try, 1700001000);
	assert_string_equal(got.rcpts[1].last_reply, "451 good");
	queue_env_clear(&got);
}

static void
test_truncated_file_is_refused(void **state)
{
	struct fixture *f = *state;
	struct queue_env got;
	struct stat st;
	char id[QUEUE_ID_LEN + 1];
	uint64_t body_end;

	spool(f, NULL, "a body of some length\n", id);
	read_ok(id, &got);
	body_end = got.body_off + got.body_len;
	queue_env_clear(&got);
	assert_int_equal(stat(path_of(QUEUE_DIR, id), &st), 0);
	assert_int_equal((uint64_t)st.st_size, body_end);
	/* One byte of the body missing. */
	assert_int_equal(truncate(path_of(QUEUE_DIR, id), (off_t)body_end - 1), 0);
	read_fails(id, NULL);
	/* Cut inside the envelope: no blank line ends it. */
	assert_int_equal(truncate(path_of(QUEUE_DIR, id), 40), 0);
	read_fails(id, NULL);
	/* Empty file. */
	assert_int_equal(truncate(path_of(QUEUE_DIR, id), 0), 0);
	read_fails(id, NULL);
}

static void
test_not_a_queue_file_is_refused(void **state)
{
	char id[QUEUE_ID_LEN + 1];
	int fd;

	(void)state;
	ids_queue(id);
	fd = open(path_of(QUEUE_DIR, id), O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "From alice\n\nhello\n", 18), 18);
	close(fd);
	read_fails(id, "not a queue file");
}

static void
test_envelope_without_recipients_is_refused(void **state)
{
	char id[QUEUE_ID_LEN + 1], text[256];
	int fd, n;

	(void)state;
	ids_queue(id);
	n = snprintf(text, sizeof(text), "postern-queue 1\nid %s\ntime 1\nfrom a@b.example\n"
	    "body 00000000000000000002\n\nhi", id);
	fd = open(path_of(QUEUE_DIR, id), O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, (size_t)n), n);
	close(fd);
	read_fails(id, NULL);
}

/* A body length that does not fit the file is a truncated file, even when
 * body_off + body_len wraps around 2^64. */
static void
test_body_length_past_the_file_is_refused(void **state)
{
	static const char *const lens[] = {
		"00000000000000000003",		/* one more than there is */
		"18446744073709551615",		/* 2^64 - 1: the sum wraps */
		"18446744073709551600",
		"99999999999999999999",		/* saturates strtoull */
	};
	char id[QUEUE_ID_LEN + 1], text[256];
	int fd, n;

	(void)state;
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		ids_queue(id);
		n = snprintf(text, sizeof(text), "postern-queue 1\nid %s\ntime 1\n"
		    "from a@b.example\nrcpt queued\tL\tx@example.org\tx@example.org\n"
		    "body %s\n\nhi", id, lens[i]);
		fd = open(path_of(QUEUE_DIR, id), O_WRONLY | O_CREAT | O_EXCL, 0600);
		assert_true(fd >= 0);
		assert_int_equal(write(fd, text, (size_t)n), n);
		close(fd);
		read_fails(id, NULL);
	}
}

static void
test_read_missing_and_bad_ids(void **state)
{
	char id[QUEUE_ID_LEN + 1];

	(void)state;
	ids_queue(id);
	read_fails(id, "no such message");
	read_fails("../postern.db", "bad queue id");
	read_fails("tmp", "bad queue id");
	read_fails("", "bad queue id");
}

static void
test_writer_open_refuses_existing_id(void **state)
{
	struct queue_env env;
	struct queue_writer *w, *w2;
	const char *err = NULL;

	(void)state;
	env_make(&env, NULL);
	w = queue_writer_open(&env, &err);
	assert_non_null(w);
	w2 = queue_writer_open(&env, &err);
	assert_null(w2);
	assert_non_null(err);
	queue_writer_abort(&w);
	assert_null(w);
	queue_env_clear(&env);
}

static void
test_abort_and_clean_tmp(void **state)
{
	struct queue_env env;
	struct queue_writer *w;
	const char *err = NULL;
	char id[QUEUE_ID_LEN + 1];
	int fd;

	(void)state;
	env_make(&env, NULL);
	w = queue_writer_open(&env, &err);
	assert_non_null(w);
	assert_int_equal(queue_writer_write(w, "x\n", 2), 0);
	queue_writer_abort(&w);
	assert_false(exists(path_of(QUEUE_TMP_DIR, env.id)));
	assert_false(exists(path_of(QUEUE_DIR, env.id)));
	/* Leftovers of a crash are removed; queue/ itself is untouched. */
	ids_queue(id);
	fd = open(path_of(QUEUE_TMP_DIR, id), O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	close(fd);
	queue_clean_tmp();
	assert_false(exists(path_of(QUEUE_TMP_DIR, id)));
	assert_true(exists(QUEUE_TMP_DIR));
	queue_env_clear(&env);
}

static void
test_group_commit(void **state)
{
	struct fixture *f = *state;
	struct queue_env env[5];
	struct queue_writer *w;
	struct commit_done d[5] = { { 0 } };
	const char *err = NULL;
	time_t deadline = time(NULL) + 10;
	size_t i, done;

	for (i = 0; i < 5; i++) {
		env_make(&env[i], NULL);
		w = queue_writer_open(&env[i], &err);
		assert_non_null(w);
		assert_int_equal(queue_writer_write(w, "m\n", 2), 0);
		assert_int_equal(queue_writer_finish(w), 0);
		queue_commit(f->qc, &w, commit_cb, &d[i]);
		assert_null(w);
	}
	assert_true(queue_committer_pending(f->qc) <= 5);
	do {
		event_base_loop(f->base, EVLOOP_ONCE);
		for (i = 0, done = 0; i < 5; i++)
			done += d[i].fired;
	} while (done < 5 && time(NULL) < deadline);
	assert_int_equal(done, 5);
	assert_int_equal(queue_committer_pending(f->qc), 0);
	for (i = 0; i < 5; i++) {
		assert_int_equal(d[i].rc, 0);
		assert_true(exists(path_of(QUEUE_DIR, env[i].id)));
		queue_env_clear(&env[i]);
	}
}

static void
test_list_in_arrival_order(void **state)
{
	struct fixture *f = *state;
	char ids[4][QUEUE_ID_LEN + 1], **v;
	struct timespec ms = { 0, 3 * 1000 * 1000 };
	size_t n, i;
	int fd;

	for (i = 0; i < 4; i++) {
		ids_queue(ids[i]);
		nanosleep(&ms, NULL);
	}
	/* Spooled out of order: the list still follows the ids' times. */
	spool(f, ids[2], "c\n", NULL);
	spool(f, ids[0], "a\n", NULL);
	spool(f, ids[3], "d\n", NULL);
	spool(f, ids[1], "b\n", NULL);
	/* Files that are not queue ids are not listed. */
	fd = open("queue/.hidden", O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	close(fd);
	fd = open("queue/README", O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(queue_list(&v, &n), 0);
	assert_int_equal(n, 4);
	for (i = 0; i < 4; i++) {
		assert_string_equal(v[i], ids[i]);
		free(v[i]);
	}
	free(v);
}

static void
test_list_without_queue_dir_is_empty(void **state)
{
	char **v = (char **)1;
	size_t n = 99;

	(void)state;
	assert_int_equal(rmdir(QUEUE_TMP_DIR), 0);
	assert_int_equal(rmdir(QUEUE_FREE_DIR), 0);
	assert_int_equal(rmdir(QUEUE_DIR), 0);
	assert_int_equal(queue_list(&v, &n), 0);
	assert_int_equal(n, 0);
	assert_null(v);
}

static void
test_remove(void **state)
{
	struct fixture *f = *state;
	char id[QUEUE_ID_LEN + 1], other[QUEUE_ID_LEN + 1], **v;
	size_t n;
	int fd;

	spool(f, NULL, "x\n", id);
	spool(f, NULL, "y\n", other);
	assert_int_equal(queue_remove(id), 0);
	assert_false(exists(path_of(QUEUE_DIR, id)));
	assert_int_equal(queue_remove(id), -1);
	assert_int_equal(queue_list(&v, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(v[0], other);
	free(v[0]);
	free(v);
	/* Never a path outside queue/. */
	fd = open("victim", O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(queue_remove("../victim"), -1);
	assert_int_equal(queue_remove("tmp"), -1);
	assert_true(exists("victim"));
}

static void
test_retired_file_is_reused_and_cut(void **state)
{
	struct fixture *f = *state;
	char big[4096], id[QUEUE_ID_LEN + 1], next[QUEUE_ID_LEN + 1];
	struct queue_env env;
	struct stat st_old, st_new;
	char *p;

	memset(big, 'b', sizeof(big) - 2);
	big[sizeof(big) - 2] = '\n';
	big[sizeof(big) - 1] = '\0';
	spool(f, NULL, big, id);
	p = path_of(QUEUE_DIR, id);
	assert_int_equal(stat(p, &st_old), 0);
	assert_int_equal(queue_retire(id), 0);
	assert_false(exists(p));
	assert_true(exists(path_of(QUEUE_FREE_DIR, id)));
	/* Earlier tests found queue/free/ empty: it is listed again after
	 * QUEUE_FREE_RELIST_MS (100 ms). */
	nanosleep(&(struct timespec){ .tv_nsec = 150 * 1000 * 1000 }, NULL);
	/* The next message takes the spare inode, and a shorter body leaves no
	 * trace of the old one. */
	spool(f, NULL, "short\n", next);
	assert_int_equal(stat(path_of(QUEUE_DIR, next), &st_new), 0);
	assert_int_equal(st_new.st_ino, st_old.st_ino);
	assert_true(st_new.st_size < st_old.st_size);
	assert_false(exists(path_of(QUEUE_FREE_DIR, id)));
	read_ok(next, &env);
	assert_int_equal(env.body_len, 6);
	queue_env_clear(&env);
	assert_int_equal(queue_retire("../x"), -1);
}

static void
test_free_pool_is_trimmed(void **state)
{
	char name[160];
	size_t n = 0;
	DIR *d;
	struct dirent *de;

	(void)state;
	for (int i = 0; i < QUEUE_FREE_MAX + 10; i++) {
		int fd;

		snprintf(name, sizeof(name), "%s/%016d", QUEUE_FREE_DIR, i);
		fd = open(name, O_WRONLY | O_CREAT, 0600);
		assert_true(fd >= 0);
		close(fd);
	}
	queue_free_trim();
	d = opendir(QUEUE_FREE_DIR);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		n += de->d_name[0] != '.';
	closedir(d);
	assert_int_equal(n, QUEUE_FREE_MAX);
}

static void
test_ids_queue_valid(void **state)
{
	char id[QUEUE_ID_LEN + 1], prev[QUEUE_ID_LEN + 1], bad[QUEUE_ID_LEN + 2];

	(void)state;
	ids_queue(prev);
	assert_true(ids_queue_valid(prev));
	for (int i = 0; i < 50; i++) {
		ids_queue(id);
		assert_true(ids_queue_valid(id));
		assert_int_equal(strlen(id), QUEUE_ID_LEN);
		/* Time first: never earlier than the previous id. */
		assert_true(strncmp(prev, id, 9) <= 0);
		memcpy(prev, id, sizeof(id));
	}
	assert_true(ids_queue_valid("0123456789ABCDEF"));
	assert_true(ids_queue_valid("VWXYZ0123456789A"));
	assert_false(ids_queue_valid(""));
	assert_false(ids_queue_valid("0123456789ABCDE"));	/* 15 */
	memcpy(bad, "0123456789ABCDEF0", 18);
	assert_false(ids_queue_valid(bad));			/* 17 */
	/* Crockford base32 leaves out I, L, O and U; lower case is not ours. */
	assert_false(ids_queue_valid("0123456789ABCDEI"));
	assert_false(ids_queue_valid("0123456789ABCDEL"));
	assert_false(ids_queue_valid("0123456789ABCDEO"));
	assert_false(ids_queue_valid("0123456789ABCDEU"));
	assert_false(ids_queue_valid("0123456789abcdef"));
	assert_false(ids_queue_valid("../../etc/passwd"));
	assert_false(ids_queue_valid("0123456789ABCD/F"));
	assert_false(ids_queue_valid("0123456789ABCD.F"));
}

static void
test_state_names(void **state)
{
	(void)state;
	assert_string_equal(queue_state_name(QSTATE_QUEUED), "queued");
	assert_string_equal(queue_state_name(QSTATE_DEFERRED), "deferred");
	assert_string_equal(queue_state_name(QSTATE_SENT), "sent");
	assert_string_equal(queue_state_name(QSTATE_BOUNCED), "bounced");
	assert_false(queue_state_final(QSTATE_QUEUED));
	assert_false(queue_state_final(QSTATE_DEFERRED));
	assert_true(queue_state_final(QSTATE_SENT));
	assert_true(queue_state_final(QSTATE_BOUNCED));
}

/* ---- spf ---------------------------------------------------------------- */

/* The spf line of queue/<id>, or NULL; the text is static. */
static const char *
spf_line(const char *id)
{
	static char text[4096];
	const char *p;
	int fd = open(path_of(QUEUE_DIR, id), O_RDONLY);
	ssize_t n;

	assert_true(fd >= 0);
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	assert_true(n > 0);
	text[n] = '\0';
	*strstr(text, "\n\n") = '\0';
	p = strstr(text, "\nspf ");
	return p != NULL ? p + 1 : NULL;
}

static void
spool_spf(struct fixture *f, const char *word, char id_out[QUEUE_ID_LEN + 1])
{
	struct queue_env env;
	struct queue_writer *w;
	const char *err = NULL;

	env_make(&env, NULL);
	snprintf(env.spf, sizeof(env.spf), "%s", word);
	w = queue_writer_open(&env, &err);
	assert_non_null(w);
	assert_int_equal(queue_writer_finish(w), 0);
	assert_int_equal(commit_wait(f, &w), 0);
	memcpy(id_out, env.id, QUEUE_ID_LEN + 1);
	queue_env_clear(&env);
}

static void
test_spf_round_trip(void **state)
{
	static const char *const words[] = { "pass", "fail", "softfail",
	    "neutral", "permerror", "temperror" };
	struct fixture *f = *state;
	struct queue_env got;
	char id[QUEUE_ID_LEN + 1], want[32];

	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		spool_spf(f, words[i], id);
		snprintf(want, sizeof(want), "spf %s\n", words[i]);
		assert_non_null(spf_line(id));
		assert_memory_equal(spf_line(id), want, strlen(want));
		read_ok(id, &got);
		assert_string_equal(got.spf, words[i]);
		queue_env_clear(&got);
	}
	/* none, "" and a word that is not RFC 7208's are all none, unwritten. */
	spool_spf(f, "none", id);
	assert_null(spf_line(id));
	read_ok(id, &got);
	assert_string_equal(got.spf, "none");
	queue_env_clear(&got);
	spool_spf(f, "", id);
	assert_null(spf_line(id));
	read_ok(id, &got);
	assert_string_equal(got.spf, "none");
	queue_env_clear(&got);
	spool_spf(f, "PASS", id);
	assert_null(spf_line(id));
	read_ok(id, &got);
	assert_string_equal(got.spf, "none");
	queue_env_clear(&got);
	assert_true(queue_spf_valid("temperror"));
	assert_false(queue_spf_valid("Pass"));
	assert_false(queue_spf_valid(""));
}

/* A file from before the spf line, and one with a word we do not know. */
static void
test_spf_absent_or_unknown_is_none(void **state)
{
	static const char *const lines[] = { "", "spf pass-ish\n", "spf\n",
	    "spf passpasspasspasspasspass\n" };
	char id[QUEUE_ID_LEN + 1], text[512];
	struct queue_env got;
	int fd, n;

	(void)state;
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		ids_queue(id);
		n = snprintf(text, sizeof(text), "postern-queue 1\nid %s\ntime 1\n"
		    "from a@b.example\nclient 192.0.2.1\nhelo h\nauth \n%s"
		    "rcpt queued\tL\tbob@example.org\tbob@example.org\n"
		    "body 00000000000000000003\n\nhi\n", id, lines[i]);
		fd = open(path_of(QUEUE_DIR, id), O_WRONLY | O_CREAT | O_EXCL, 0600);
		assert_true(fd >= 0);
		assert_int_equal(write(fd, text, (size_t)n), n);
		close(fd);
		read_ok(id, &got);
		assert_string_equal(got.spf, "none");
		assert_int_equal(got.nrcpts, 1);
		queue_env_clear(&got);
	}
}

/* ---- inject ------------------------------------------------------------- */

static size_t
count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static void
test_inject(void **state)
{
	static const char msg[] = "From: \"Mail Delivery System\" <MAILER-DAEMON@mx.example.org>\n"
	    "To: <alice@example.org>\nSubject: Undelivered\n\nbody\n";
	struct queue_env env = { 0 }, got;
	char id[QUEUE_ID_LEN + 1], back[sizeof(msg)];
	const char *err = NULL;
	time_t before = time(NULL);
	int fd;

	(void)state;
	memcpy(env.id, "0000000000000000", QUEUE_ID_LEN + 1);	/* ignored */
	env.from = (char *)"";
	memcpy(env.spf, "pass", 5);
	queue_env_add_rcpt(&env, QKIND_REMOTE, "alice@example.net", "alice@example.net");
	assert_int_equal(queue_inject(&env, msg, sizeof(msg) - 1, id, &err), 0);
	assert_true(ids_queue_valid(id));
	assert_string_not_equal(id, "0000000000000000");
	assert_true(exists(path_of(QUEUE_DIR, id)));
	assert_int_equal(count_entries(QUEUE_TMP_DIR), 0);

	assert_int_equal(queue_read(id, &got, &fd, &err), 0);
	assert_string_equal(got.id, id);
	assert_true(got.time >= before && got.time <= time(NULL));	/* 0 = now */
	assert_string_equal(got.from, "");
	assert_string_equal(got.client, "");
	assert_string_equal(got.spf, "pass");
	assert_int_equal(got.nrcpts, 1);
	assert_int_equal(got.rcpts[0].kind, QKIND_REMOTE);
	assert_string_equal(got.rcpts[0].target, "alice@example.net");
	assert_int_equal(got.rcpts[0].state, QSTATE_QUEUED);
	assert_int_equal(got.body_len, sizeof(msg) - 1);
	assert_int_equal(pread(fd, back, got.body_len, (off_t)got.body_off),
	    (ssize_t)got.body_len);
	assert_memory_equal(back, msg, sizeof(msg) - 1);
	close(fd);
	queue_env_clear(&got);

	/* Two in a row get two ids; env->time is kept when given. */
	{
		char id2[QUEUE_ID_LEN + 1];

		env.time = 1700000000;
		assert_int_equal(queue_inject(&env, "x\n", 2, id2, &err), 0);
		assert_string_not_equal(id, id2);
		read_ok(id2, &got);
		assert_int_equal(got.time, 1700000000);
		queue_env_clear(&got);
	}
	env.from = NULL;
	queue_env_clear(&env);
}

static void
test_inject_failures_leave_nothing(void **state)
{
	struct queue_env env = { 0 };
	char id[QUEUE_ID_LEN + 1] = "";
	const char *err = NULL;

	(void)state;
	/* No recipient: queue_read() would refuse the file, so it is not made. */
	assert_int_equal(queue_inject(&env, "x\n", 2, id, &err), -1);
	assert_string_equal(err, "no recipients");
	assert_int_equal(count_entries(QUEUE_DIR), 2);	/* tmp/ and free/ */

	/* queue/tmp/ is gone: nothing may appear in queue/. */
	queue_env_add_rcpt(&env, QKIND_LOCAL, "bob@example.org", "bob@example.org");
	assert_int_equal(rename(QUEUE_TMP_DIR, "tmp-away"), 0);
	err = NULL;
	assert_int_equal(queue_inject(&env, "x\n", 2, id, &err), -1);
	assert_non_null(err);
	assert_string_equal(id, "");
	assert_int_equal(count_entries(QUEUE_DIR), 1);	/* free/ */
	assert_int_equal(rename("tmp-away", QUEUE_TMP_DIR), 0);
	queue_env_clear(&env);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_write_commit_read, setup, teardown),
		cmocka_unit_test_setup_teardown(test_null_sender_and_empty_fields, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fields_cannot_inject_lines, setup, teardown),
		cmocka_unit_test_setup_teardown(test_records_are_applied, setup, teardown),
		cmocka_unit_test_setup_teardown(test_writer_record_before_commit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_torn_last_record_is_ignored, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_checksum_record_is_ignored, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncated_file_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_a_queue_file_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_envelope_without_recipients_is_refused,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_body_length_past_the_file_is_refused,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_missing_and_bad_ids, setup, teardown),
		cmocka_unit_test_setup_teardown(test_writer_open_refuses_existing_id, setup, teardown),
		cmocka_unit_test_setup_teardown(test_abort_and_clean_tmp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_group_commit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list_in_arrival_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list_without_queue_dir_is_empty, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remove, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retired_file_is_reused_and_cut,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_free_pool_is_trimmed, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_spf_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_spf_absent_or_unknown_is_none,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_inject, setup, teardown),
		cmocka_unit_test_setup_teardown(test_inject_failures_leave_nothing,
		    setup, teardown),
		cmocka_unit_test(test_ids_queue_valid),
		cmocka_unit_test(test_state_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
