/*
 * local: queue file -> Maildir copies (SPEC section 3: Return-Path and
 * Delivered-To added, tmp/ -> fsync -> new/, LF line ends). Routing was
 * decided when the message was accepted; this file only carries it out.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/xalloc.h"
#include "delivery/local.h"
#include "queue/queue.h"
#include "store/maildir.h"

/* Maildir unique names may not hold '/' or ':' (the flags separator). */
static void
local_put_host(struct buf *b, const char *host)
{
	for (const char *p = host; *p != '\0'; p++) {
		if (*p == '/')
			buf_append_str(b, "\\057");
		else if (*p == ':')
			buf_append_str(b, "\\072");
		else
			buf_append(b, p, 1);
	}
}

static char *
local_name(const struct queue_env *env, size_t idx, const char *hostname,
    uint64_t size)
{
	struct buf b;
	char *out;

	buf_init(&b, 1024);
	buf_printf(&b, "%" PRId64 ".Q%sR%zu.", env->time, env->id, idx);
	local_put_host(&b, hostname);
	buf_printf(&b, ",S=%" PRIu64, size);
	out = xstrdup(buf_cstr(&b));
	buf_free(&b);
	return out;
}

static void
local_log(const struct log_ctx *log, const struct queue_env *env,
    const struct queue_rcpt *r, const char *status, const char *reply)
{
	log_kv(log, strcmp(status, "sent") == 0 ? LOGL_INFO : LOGL_WARN,
	    "delivery", "queue_id", env->id, "rcpt", r->target,
	    "status", status, "reply", reply, NULL);
}

int64_t
local_retry_at(const struct config *cfg, unsigned attempts, int64_t now)
{
	size_t i;

	if (cfg->delivery.nretry == 0)
		return now + 300;
	i = attempts == 0 ? 0 : attempts - 1;
	if (i >= cfg->delivery.nretry)
		i = cfg->delivery.nretry - 1;	/* then every last step */
	return now + cfg->delivery.retry[i];
}

enum local_rc
local_lock(const char *id, struct queue_env *env, int *fd_out)
{
	struct stat st, cur;
	const char *err;
	char *path;
	int fd, rc;

	if (queue_read(id, env, &fd, &err) == -1)
		return LOCAL_GONE;
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		close(fd);
		queue_env_clear(env);
		return LOCAL_BUSY;
	}
	path = xasprintf("%s/%s", QUEUE_DIR, id);
	rc = stat(path, &cur);
	free(path);
	/* Locked after another process finished it (retired, maybe already
	 * reused for another message under another name). */
	if (fstat(fd, &st) == -1 || rc == -1 || st.st_ino != cur.st_ino ||
	    st.st_dev != cur.st_dev) {
		close(fd);
		queue_env_clear(env);
		return LOCAL_GONE;
	}
	/* The lock was taken on the file as it was read before: read again,
	 * records appended in between by the lock's previous holder count. */
	queue_env_clear(env);
	close(fd);
	if (queue_read(id, env, &fd, &err) == -1)
		return LOCAL_GONE;
	if (flock(fd, LOCK_EX | LOCK_NB) == -1 || fstat(fd, &cur) == -1 ||
	    cur.st_ino != st.st_ino) {
		close(fd);
		queue_env_clear(env);
		return LOCAL_BUSY;
	}
	*fd_out = fd;
	return LOCAL_DONE;
}

size_t
local_deliver(struct queue_env *env, int fd, const struct config *cfg,
    bool recovering, int64_t now, bool *dirty, const struct log_ctx *log)
{
	const char *hostname = cfg->hostname;
	char **synced = NULL;
	size_t nsynced = 0, pending = 0;


	for (size_t i = 0; i < env->nrcpts; i++) {
		struct queue_rcpt *r = &env->rcpts[i];
		struct buf prefix;
		char *path, *name;

		if (queue_state_final(r->state) || r->kind != QKIND_LOCAL)
			continue;
		if (r->next_try > now) {
			pending++;
			continue;
		}
		path = maildir_path(r->target);
		if (path == NULL) {
			r->state = QSTATE_BOUNCED;
			free(r->last_reply);
			r->last_reply = xstrdup("550 5.1.1 bad mailbox");
			dirty[i] = true;
			local_log(log, env, r, "bounced", r->last_reply);
			continue;
		}
		buf_init(&prefix, 4096);
		buf_printf(&prefix, "Return-Path: <%s>\nDelivered-To: %s\n",
		    env->from, r->target);
		name = local_name(env, i, hostname, prefix.len + env->body_len);
		if ((recovering && maildir_has(path, name)) ||
		    maildir_deliver(path, name, (struct span){ prefix.data, prefix.len },
		    fd, env->body_off, env->body_len) == 0) {
			r->state = QSTATE_SENT;
			r->attempts++;
			free(r->last_reply);
			r->last_reply = xstrdup("250 2.0.0 delivered to maildir");
			dirty[i] = true;
			synced = xrealloc(synced, (nsynced + 1) * sizeof(*synced));
			synced[nsynced++] = path;
			path = NULL;
		} else {
			char *reply = xasprintf("451 4.3.0 maildir: %s", strerror(errno));

			r->state = QSTATE_DEFERRED;
			r->attempts++;
			r->next_try = local_retry_at(cfg, r->attempts, now);
			free(r->last_reply);
			r->last_reply = reply;
			dirty[i] = true;
			pending++;
			local_log(log, env, r, "deferred", reply);
		}
		free(path);
		free(name);
		buf_free(&prefix);
	}
	/* One fsync per mailbox touched, then the copies are durable. */
	for (size_t i = 0; i < nsynced; i++) {
		bool dup = false;

		for (size_t j = 0; j < i && !dup; j++)
			dup = strcmp(synced[i], synced[j]) == 0;
		if (!dup)
			maildir_sync(synced[i]);
	}
	for (size_t i = 0; i < env->nrcpts; i++) {
		struct queue_rcpt *r = &env->rcpts[i];

		/* No record needed: the Maildir name itself says it is done. */
		if (dirty[i] && r->state == QSTATE_SENT)
			local_log(log, env, r, "sent", r->last_reply);
	}
	for (size_t i = 0; i < nsynced; i++)
		free(synced[i]);
	free(synced);
	return pending;
}
