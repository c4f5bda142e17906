/*
 * cli_queue: `postern queue list|show|delete|flush|release` over
 * data_dir/queue/ (the cwd). flush and release write "due now" records
 * into the queue files (under the same flock the queue manager holds while
 * it works a message: a message being worked is skipped, it is being tried
 * right now) and leave queue/.flush, which the running queue manager
 * picks up within a second.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/ids.h"
#include "core/xalloc.h"
#include "delivery/local.h"
#include "delivery/qmgr.h"
#include "queue/queue.h"

static void
cli_queue_time(int64_t t, char *out, size_t outlen)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t <= 0) {
		snprintf(out, outlen, "now");
		return;
	}
	gmtime_r(&tt, &tm);
	strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void
cli_queue_print(const struct queue_env *env)
{
	char when[32], next[32];

	cli_queue_time(env->time, when, sizeof(when));
	printf("%s %s size=%" PRIu64 " from=<%s>\n", env->id, when, env->body_len,
	    env->from);
	for (size_t i = 0; i < env->nrcpts; i++) {
		const struct queue_rcpt *r = &env->rcpts[i];

		cli_queue_time(r->next_try, next, sizeof(next));
		printf("    %s %s attempts=%u next=%s reply=\"%s\"\n", r->target,
		    queue_state_name(r->state), r->attempts, next, r->last_reply);
	}
}

static int
cli_queue_list(void)
{
	char **ids;
	size_t n;

	if (queue_list(&ids, &n) == -1) {
		cli_error("queue: cannot read the queue directory");
		return 1;
	}
	for (size_t i = 0; i < n; i++) {
		struct queue_env env;
		const char *err;
		int fd;

		if (queue_read(ids[i], &env, &fd, &err) == 0) {
			cli_queue_print(&env);
			close(fd);
			queue_env_clear(&env);
		}
		free(ids[i]);
	}
	free(ids);
	return 0;
}

static int
cli_queue_show(const char *id)
{
	struct queue_env env;
	const char *err;
	char buf[65536];
	uint64_t off, left;
	int fd;

	if (queue_read(id, &env, &fd, &err) == -1) {
		cli_error("queue show %s: %s", id, err);
		return 1;
	}
	cli_queue_print(&env);
	printf("client=%s helo=%s auth=%s\n\n", env.client, env.helo,
	    env.auth[0] != '\0' ? env.auth : "-");
	fflush(stdout);
	off = env.body_off;
	left = env.body_len;
	while (left > 0) {
		ssize_t r = pread(fd, buf, left < sizeof(buf) ? (size_t)left : sizeof(buf),
		    (off_t)off);

		if (r <= 0)
			break;
		fwrite(buf, 1, (size_t)r, stdout);
		off += (uint64_t)r;
		left -= (uint64_t)r;
	}
	close(fd);
	queue_env_clear(&env);
	return 0;
}

/* Makes one message's deferred recipients due now; restart = begin the
 * retry schedule again (release). 1 = changed, 0 = nothing to do or busy,
 * -1 = no such message. */
static int
cli_queue_due(const char *id, bool restart)
{
	struct queue_env env;
	int fd, changed = 0;

	switch (local_lock(id, &env, &fd)) {
	case LOCAL_GONE:
		return -1;
	case LOCAL_BUSY:
		return 0;
	default:
		break;
	}
	for (size_t i = 0; i < env.nrcpts; i++) {
		struct queue_rcpt *r = &env.rcpts[i];

		if (queue_state_final(r->state) || (r->next_try == 0 && !restart))
			continue;
		r->next_try = 0;
		if (restart)
			r->attempts = 0;
		if (queue_record(fd, i, r, false) == 0)
			changed = 1;
	}
	if (changed && fdatasync(fd) == -1)
		changed = 0;
	close(fd);
	queue_env_clear(&env);
	return changed;
}

static void
cli_queue_poke(void)
{
	char *path = xasprintf("%s/%s", QUEUE_DIR, QUEUE_FLUSH_FILE);
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);

	if (fd != -1)
		close(fd);
	free(path);
}

static int
cli_queue_flush(void)
{
	char **ids;
	size_t n;

	if (queue_list(&ids, &n) == -1) {
		cli_error("queue: cannot read the queue directory");
		return 1;
	}
	for (size_t i = 0; i < n; i++) {
		cli_queue_due(ids[i], false);
		free(ids[i]);
	}
	free(ids);
	cli_queue_poke();
	return 0;
}

static int
cli_queue_release(const char *id)
{
	if (!ids_queue_valid(id) || cli_queue_due(id, true) == -1) {
		cli_error("queue release %s: no such message", id);
		return 1;
	}
	cli_queue_poke();
	return 0;
}

int
cli_queue(const struct cli_ctx *ctx, int argc, char **argv)
{
	(void)ctx;
	if (argc == 2 && strcmp(argv[1], "list") == 0)
		return cli_queue_list();
	if (argc == 3 && strcmp(argv[1], "show") == 0)
		return cli_queue_show(argv[2]);
	if (argc == 3 && strcmp(argv[1], "delete") == 0) {
		if (!ids_queue_valid(argv[2]) || queue_remove(argv[2]) == -1) {
			cli_error("queue delete %s: no such message", argv[2]);
			return 1;
		}
		return 0;
	}
	if (argc == 2 && strcmp(argv[1], "flush") == 0)
		return cli_queue_flush();
	if (argc == 3 && strcmp(argv[1], "release") == 0)
		return cli_queue_release(argv[2]);
	fprintf(stderr, "usage: postern queue list | show ID | delete ID | flush | release ID\n");
	return 2;
}
