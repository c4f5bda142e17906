/*
 * Unit tests for delivery/local: the retry schedule (delivery.retry, then
 * every last step), the queue file lock (gone, busy), delivery of the due
 * local recipients only (remote ones and those not due are left alone),
 * and exactly once when a message is worked again after a crash. Each
 * test runs in a fresh temp dir used as data_dir.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/testdir.h"

#include <dirent.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "delivery/local.h"

#define NOW	1800000000

struct fixture {
	struct testdir		td;
	struct config	cfg;
	unsigned	retry[3];
	struct log_ctx	log;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const char *err = NULL;

	assert_non_null(f);
	testdir_enter(&f->td, "local");
	queue_set_root("queue");
	assert_int_equal(queue_init_dirs(&err), 0);
	f->retry[0] = 60;
	f->retry[1] = 600;
	f->retry[2] = 3600;
	f->cfg.delivery.retry = f->retry;
	f->cfg.delivery.nretry = 3;
	f->cfg.delivery.max_lifetime = 86400;
	f->cfg.hostname = (char *)"mx.example.org";
	f->log.service = "test";
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

/* Queues a message for bob@example.org (local) and friend@example.net
 * (remote); returns its id in id. */
static void
spool(char id[QUEUE_ID_LEN + 1])
{
	static const char msg[] = "Subject: hi\n\nHello.\n";
	struct queue_env env = { 0 };
	const char *err = NULL;

	env.time = NOW - 10;
	env.from = strdup("alice@example.net");
	env.client = strdup("192.0.2.7");
	env.helo = strdup("client.example.net");
	env.auth = strdup("");
	queue_env_add_rcpt(&env, QKIND_LOCAL, "Bob@Example.org", "bob@example.org");
	queue_env_add_rcpt(&env, QKIND_REMOTE, "friend@example.net", "friend@example.net");
	assert_int_equal(queue_inject(&env, msg, sizeof(msg) - 1, id, &err), 0);
	queue_env_clear(&env);
}

static size_t
count_new(void)
{
	DIR *d = opendir("mail/example.org/bob/new");
	struct dirent *de;
	size_t n = 0;

	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static void
test_retry_schedule(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(local_retry_at(&f->cfg, 1, NOW), NOW + 60);
	assert_int_equal(local_retry_at(&f->cfg, 2, NOW), NOW + 600);
	assert_int_equal(local_retry_at(&f->cfg, 3, NOW), NOW + 3600);
	/* then every last step */
	assert_int_equal(local_retry_at(&f->cfg, 4, NOW), NOW + 3600);
	assert_int_equal(local_retry_at(&f->cfg, 1000, NOW), NOW + 3600);
	assert_int_equal(local_retry_at(&f->cfg, 0, NOW), NOW + 60);
	f->cfg.delivery.nretry = 0;
	assert_int_equal(local_retry_at(&f->cfg, 1, NOW), NOW + 300);
}

static void
test_lock_gone_and_busy(void **state)
{
	struct queue_env env, env2;
	char id[QUEUE_ID_LEN + 1];
	int fd, fd2;

	(void)state;
	assert_int_equal(local_lock("06H0MNBE0KRZ9WB0", &env, &fd), LOCAL_GONE);
	spool(id);
	assert_int_equal(local_lock(id, &env, &fd), LOCAL_DONE);
	assert_int_equal(env.nrcpts, 2);
	/* Another open file description cannot have it meanwhile. */
	assert_int_equal(local_lock(id, &env2, &fd2), LOCAL_BUSY);
	close(fd);
	queue_env_clear(&env);
	assert_int_equal(local_lock(id, &env2, &fd2), LOCAL_DONE);
	close(fd2);
	queue_env_clear(&env2);
}

static void
test_delivers_due_local_only(void **state)
{
	struct fixture *f = *state;
	struct queue_env env;
	char id[QUEUE_ID_LEN + 1];
	bool dirty[2] = { false, false };
	int fd;

	spool(id);
	assert_int_equal(local_lock(id, &env, &fd), LOCAL_DONE);
	/* Not due yet: nothing happens, it counts as pending. */
	env.rcpts[0].next_try = NOW + 100;
	assert_int_equal(local_deliver(&env, fd, &f->cfg, false, NOW, dirty, &f->log), 1);
	assert_false(dirty[0]);
	assert_int_equal(count_new(), 0);
	env.rcpts[0].next_try = 0;
	assert_int_equal(local_deliver(&env, fd, &f->cfg, false, NOW, dirty, &f->log), 0);
	assert_true(dirty[0]);
	assert_false(dirty[1]);
	assert_int_equal(env.rcpts[0].state, QSTATE_SENT);
	assert_int_equal(env.rcpts[0].attempts, 1);
	assert_int_equal(env.rcpts[1].state, QSTATE_QUEUED);
	assert_int_equal(count_new(), 1);
	close(fd);
	queue_env_clear(&env);
}

static void
test_worked_again_is_exactly_once(void **state)
{
	struct fixture *f = *state;
	struct queue_env env;
	char id[QUEUE_ID_LEN + 1];
	bool dirty[2];
	int fd;

	spool(id);
	for (int round = 0; round < 3; round++) {
		/* Nothing recorded: as after a crash right after the copy. */
		memset(dirty, 0, sizeof(dirty));
		assert_int_equal(local_lock(id, &env, &fd), LOCAL_DONE);
		assert_int_equal(env.rcpts[0].state, QSTATE_QUEUED);
		local_deliver(&env, fd, &f->cfg, true, NOW, dirty, &f->log);
		assert_int_equal(env.rcpts[0].state, QSTATE_SENT);
		close(fd);
		queue_env_clear(&env);
	}
	assert_int_equal(count_new(), 1);
}

static void
test_bad_mailbox_bounces(void **state)
{
	struct fixture *f = *state;
	static const char msg[] = "Subject: hi\n\nHello.\n";
	struct queue_env env = { 0 };
	char id[QUEUE_ID_LEN + 1];
	const char *err = NULL;
	bool dirty[1] = { false };
	int fd;

	env.time = NOW;
	env.from = strdup("");
	env.client = strdup("192.0.2.7");
	env.helo = strdup("client.example.net");
	env.auth = strdup("");
	queue_env_add_rcpt(&env, QKIND_LOCAL, "nobody", "nobody");
	assert_int_equal(queue_inject(&env, msg, sizeof(msg) - 1, id, &err), 0);
	queue_env_clear(&env);
	assert_int_equal(local_lock(id, &env, &fd), LOCAL_DONE);
	assert_int_equal(local_deliver(&env, fd, &f->cfg, false, NOW, dirty, &f->log), 0);
	assert_true(dirty[0]);
	assert_int_equal(env.rcpts[0].state, QSTATE_BOUNCED);
	assert_true(strncmp(env.rcpts[0].last_reply, "550 5.1.1", 9) == 0);
	close(fd);
	queue_env_clear(&env);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_retry_schedule, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lock_gone_and_busy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delivers_due_local_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_worked_again_is_exactly_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_mailbox_bounces, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
