/*
 * queue: spool files (format in queue.h). Owns the file format, the
 * fsync-then-rename protocol and the group commit thread; what a message
 * means (routing, delivery) belongs to delivery/ and smtp/.
 */
#include <dirent.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/limits.h"
#include "core/io.h"
#include "core/xalloc.h"
#include "queue/queue.h"

#define QUEUE_MAGIC		"postern-queue 1\n"
#define QUEUE_WBUF		(64 * 1024)
#define QUEUE_RECORD_MAX	2048
#define QUEUE_FREE_RELIST_MS	100	/* after finding queue/free/ empty */

struct queue_paths queue_paths = { "queue", "queue/tmp", "queue/free" };

void
queue_set_root(const char *root)
{
	snprintf(queue_paths.dir, sizeof(queue_paths.dir), "%s", root);
	snprintf(queue_paths.tmp, sizeof(queue_paths.tmp), "%s/tmp", root);
	snprintf(queue_paths.free, sizeof(queue_paths.free), "%s/free", root);
}

static const char *const queue_state_names[] = {
	"queued", "deferred", "sent", "bounced"
};

const char *
queue_state_name(enum queue_state s)
{
	return (unsigned)s < 4 ? queue_state_names[s] : "queued";
}

bool
queue_state_final(enum queue_state s)
{
	return s == QSTATE_SENT || s == QSTATE_BOUNCED;
}

bool
queue_spf_valid(const char *s)
{
	static const char *const words[] = { "pass", "fail", "softfail",
	    "neutral", "none", "permerror", "temperror" };

	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strcmp(s, words[i]) == 0)
			return true;
	return false;
}

static int
queue_state_parse(const char *s, enum queue_state *out)
{
	for (int i = 0; i < 4; i++) {
		if (strcmp(s, queue_state_names[i]) == 0) {
			*out = (enum queue_state)i;
			return 0;
		}
	}
	return -1;
}

int
queue_init_dirs(const char **err_out)
{
	if ((mkdir(QUEUE_DIR, 0700) == -1 && errno != EEXIST) ||
	    (mkdir(QUEUE_TMP_DIR, 0700) == -1 && errno != EEXIST) ||
	    (mkdir(QUEUE_FREE_DIR, 0700) == -1 && errno != EEXIST)) {
		*err_out = strerror(errno);
		return -1;
	}
	return 0;
}

void
queue_clean_tmp(void)
{
	DIR *d = opendir(QUEUE_TMP_DIR);
	struct dirent *de;

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] != '.')
			unlinkat(dirfd(d), de->d_name, 0);
	}
	closedir(d);
}

void
queue_env_add_rcpt(struct queue_env *env, enum queue_kind kind,
    const char *orig, const char *target)
{
	struct queue_rcpt *r;

	env->rcpts = xrealloc(env->rcpts, (env->nrcpts + 1) * sizeof(*env->rcpts));
	r = &env->rcpts[env->nrcpts++];
	*r = (struct queue_rcpt){ .kind = kind, .orig = xstrdup(orig),
	    .target = xstrdup(target), .last_reply = xstrdup("") };
}

void
queue_env_clear(struct queue_env *env)
{
	for (size_t i = 0; i < env->nrcpts; i++) {
		free(env->rcpts[i].orig);
		free(env->rcpts[i].target);
		free(env->rcpts[i].last_reply);
	}
	free(env->rcpts);
	free(env->from);
	free(env->client);
	free(env->helo);
	free(env->auth);
	*env = (struct queue_env){ 0 };
}

/* Field values never hold the separators of the format. */
static void
queue_put_field(struct buf *b, const char *v)
{
	for (const char *p = v != NULL ? v : ""; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;

		buf_append(b, c < 0x20 || c == 0x7f ? "?" : p, 1);
	}
}

/* ---- writer ----------------------------------------------------------- */

struct queue_writer {
	int		 fd;
	char		 id[QUEUE_ID_LEN + 1];
	uint64_t	 hdr_len;	/* envelope bytes before the message */
	uint64_t	 len_off;	/* where the 20-digit body length sits */
	uint64_t	 body_len;
	bool		 failed;
	struct buf	 wbuf;
};

/*
 * A spare file from queue/free/ renamed to tmp_path, or -1. Names are listed
 * a batch at a time; two processes racing for one file is settled by
 * rename(2): the loser gets ENOENT and tries the next. Loop thread only.
 */
static int
queue_take_spare(const char *tmp_path)
{
	static char names[64][QUEUE_ID_LEN + 1];
	static size_t n, next;
	static uint64_t empty_until_ms;
	struct dirent *de;
	struct timespec now;
	uint64_t now_ms;
	DIR *d;

	clock_gettime(CLOCK_MONOTONIC, &now);
	now_ms = (uint64_t)now.tv_sec * 1000 + (uint64_t)now.tv_nsec / 1000000;
	for (int pass = 0; pass < 2; pass++) {
		while (next < n) {
			char *from = xasprintf("%s/%s", QUEUE_FREE_DIR, names[next++]);
			int rc = rename(from, tmp_path);

			free(from);
			if (rc == 0)
				return open(tmp_path, O_RDWR | O_CLOEXEC);
		}
		if (pass == 1 || now_ms < empty_until_ms ||
		    (d = opendir(QUEUE_FREE_DIR)) == NULL)
			return -1;
		n = next = 0;
		while (n < 64 && (de = readdir(d)) != NULL)
			if (ids_queue_valid(de->d_name))
				memcpy(names[n++], de->d_name, QUEUE_ID_LEN + 1);
		closedir(d);
		if (n == 0)	/* do not list an empty directory per message */
			empty_until_ms = now_ms + QUEUE_FREE_RELIST_MS;
	}
	return -1;
}

/* Writes the envelope into fd (an empty or spare file named queue/tmp/<id>)
 * and wraps it in a writer; on error the fd is closed, the file unlinked. */
static struct queue_writer *
queue_writer_start(const struct queue_env *env, int fd, const char **err_out)
{
	struct queue_writer *w;
	struct buf h;

	buf_init(&h, QUEUE_HEADER_MAX);
	buf_append_str(&h, QUEUE_MAGIC);
	buf_printf(&h, "id %s\ntime %" PRId64 "\nfrom ", env->id, env->time);
	queue_put_field(&h, env->from);
	buf_append_str(&h, "\nclient ");
	queue_put_field(&h, env->client);
	buf_append_str(&h, "\nhelo ");
	queue_put_field(&h, env->helo);
	buf_append_str(&h, "\nauth ");
	queue_put_field(&h, env->auth);
	buf_append_str(&h, "\n");
	/* Absent means none, so files from before this line still read. */
	if (queue_spf_valid(env->spf) && strcmp(env->spf, "none") != 0)
		buf_printf(&h, "spf %s\n", env->spf);
	for (size_t i = 0; i < env->nrcpts; i++) {
		const struct queue_rcpt *r = &env->rcpts[i];

		buf_printf(&h, "rcpt %s\t%c\t", queue_state_name(r->state), r->kind);
		queue_put_field(&h, r->orig);
		buf_append_str(&h, "\t");
		queue_put_field(&h, r->target);
		buf_append_str(&h, "\n");
	}
	buf_append_str(&h, "body ");
	w = xcalloc(1, sizeof(*w));
	w->fd = fd;
	memcpy(w->id, env->id, sizeof(w->id));
	w->len_off = h.len;
	buf_append_str(&h, "00000000000000000000\n\n");
	w->hdr_len = h.len;
	buf_init(&w->wbuf, QUEUE_WBUF);
	if (h.overflowed || io_write_all(fd, h.data, h.len) == -1) {
		*err_out = h.overflowed ? "envelope too large" : strerror(errno);
		buf_free(&h);
		queue_writer_abort(&w);
		return NULL;
	}
	buf_free(&h);
	return w;
}

struct queue_writer *
queue_writer_open(const struct queue_env *env, const char **err_out)
{
	char *path = xasprintf("%s/%s", QUEUE_TMP_DIR, env->id);
	int fd;

	fd = queue_take_spare(path);
	if (fd == -1)
		fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	free(path);
	if (fd == -1) {
		*err_out = strerror(errno);
		return NULL;
	}
	return queue_writer_start(env, fd, err_out);
}

static int
queue_writer_flush(struct queue_writer *w)
{
	if (!w->failed && w->wbuf.len > 0 &&
	    io_write_all(w->fd, w->wbuf.data, w->wbuf.len) == -1)
		w->failed = true;
	buf_reset(&w->wbuf);
	return w->failed ? -1 : 0;
}

int
queue_writer_write(struct queue_writer *w, const void *data, size_t n)
{
	if (w->failed)
		return -1;
	w->body_len += n;
	if (w->wbuf.len + n > QUEUE_WBUF) {
		if (queue_writer_flush(w) == -1)
			return -1;
		if (n >= QUEUE_WBUF / 2) {
			/* Large chunks go straight to the file: no extra copy. */
			if (io_write_all(w->fd, data, n) == -1)
				w->failed = true;
			return w->failed ? -1 : 0;
		}
	}
	buf_append(&w->wbuf, data, n);
	return 0;
}

int
queue_writer_finish(struct queue_writer *w)
{
	char len[21];

	if (queue_writer_flush(w) == -1)
		return -1;
	snprintf(len, sizeof(len), "%020" PRIu64, w->body_len);
	/* A reused file may be longer than this message: cut what is left. */
	if (pwrite(w->fd, len, 20, (off_t)w->len_off) != 20 ||
	    ftruncate(w->fd, (off_t)(w->hdr_len + w->body_len)) == -1) {
		w->failed = true;
		return -1;
	}
	return 0;
}

int
queue_writer_record(struct queue_writer *w, size_t idx, const struct queue_rcpt *r)
{
	if (w->failed || queue_record(w->fd, idx, r, false) == -1) {
		w->failed = true;
		return -1;
	}
	return 0;
}

uint64_t
queue_writer_size(const struct queue_writer *w)
{
	return w->body_len;
}

static void
queue_writer_close(struct queue_writer **wp, bool unlink_tmp)
{
	struct queue_writer *w = *wp;

	if (w == NULL)
		return;
	if (w->fd != -1)
		close(w->fd);
	if (unlink_tmp) {
		char *path = xasprintf("%s/%s", QUEUE_TMP_DIR, w->id);
		char *spare = xasprintf("%s/%s", QUEUE_FREE_DIR, w->id);

		if (rename(path, spare) == -1)
			unlink(path);
		free(path);
		free(spare);
	}
	buf_free(&w->wbuf);
	free(w);
	*wp = NULL;
}

void
queue_writer_abort(struct queue_writer **wp)
{
	queue_writer_close(wp, true);
}

int
queue_writer_fd(const struct queue_writer *w, uint64_t *off_out,
    uint64_t *len_out)
{
	*off_out = w->hdr_len;
	*len_out = w->body_len;
	return w->failed ? -1 : w->fd;
}

int
queue_writer_detach(struct queue_writer **wp, uint64_t *off_out,
    uint64_t *len_out)
{
	struct queue_writer *w = *wp;
	char *path;
	int fd;

	if (w->failed) {
		queue_writer_abort(wp);
		return -1;
	}
	*off_out = w->hdr_len;
	*len_out = w->body_len;
	path = xasprintf("%s/%s", QUEUE_TMP_DIR, w->id);
	if (unlink(path) == -1) {
		free(path);
		queue_writer_abort(wp);
		return -1;
	}
	free(path);
	fd = w->fd;
	w->fd = -1;
	queue_writer_close(wp, false);
	return fd;
}

int
queue_scratch_open(void)
{
	char id[QUEUE_ID_LEN + 1], *path;
	int fd;

	ids_queue(id);
	path = xasprintf("%s/scratch-%s", QUEUE_TMP_DIR, id);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd != -1 && unlink(path) == -1) {
		int e = errno;

		close(fd);
		fd = -1;
		errno = e;
	}
	free(path);
	return fd;
}

/* fsync of queue/ after a rename into it; 0 or -1 with errno. */
static int
queue_sync_dir(void)
{
	int dfd = open(QUEUE_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc;

	if (dfd == -1)
		return -1;
	rc = fsync(dfd);
	close(dfd);
	return rc;
}

/*
 * No spare from queue/free/ here: queue_take_spare() keeps its listing in
 * statics that belong to a worker's loop thread, and the queue manager
 * calls this from several delivery threads. The ids alone cannot collide
 * (32 random bits per millisecond); O_EXCL makes sure.
 */
int
queue_inject(const struct queue_env *env, const void *msg, size_t len,
    char id_out[QUEUE_ID_LEN + 1], const char **err_out)
{
	struct queue_env e = *env;
	struct queue_writer *w;
	char *from, *to;
	int fd, rc = -1;

	if (env->nrcpts == 0) {
		*err_out = "no recipients";
		return -1;
	}
	ids_queue(e.id);
	if (e.time == 0)
		e.time = (int64_t)time(NULL);
	from = xasprintf("%s/%s", QUEUE_TMP_DIR, e.id);
	to = xasprintf("%s/%s", QUEUE_DIR, e.id);
	fd = open(from, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd == -1) {
		*err_out = strerror(errno);
		goto out;
	}
	if ((w = queue_writer_start(&e, fd, err_out)) == NULL)
		goto out;
	if (queue_writer_write(w, msg, len) == -1 || queue_writer_finish(w) == -1 ||
	    fdatasync(w->fd) == -1) {
		*err_out = strerror(errno);
		queue_writer_close(&w, false);
		unlink(from);
		goto out;
	}
	queue_writer_close(&w, false);
	if (rename(from, to) == -1) {
		*err_out = strerror(errno);
		unlink(from);
		goto out;
	}
	if (queue_sync_dir() == -1) {
		/* Not known durable: take it back rather than risk a lie. */
		*err_out = strerror(errno);
		unlink(to);
		goto out;
	}
	memcpy(id_out, e.id, QUEUE_ID_LEN + 1);
	rc = 0;
out:
	free(from);
	free(to);
	return rc;
}

/* ---- group commit --------------------------------------------------- */

struct queue_commit_job {
	struct queue_writer	*w;
	queue_commit_fn		 done;
	void			*arg;
	int			 rc;
	struct queue_commit_job	*next;
};

struct queue_committer {
	pthread_mutex_t		 mu;
	pthread_cond_t		 cv;
	struct queue_commit_job	*waiting, *finished;	/* to commit; committed */
	bool			 stopping;
	size_t			 pending;
	pthread_t		 thread;
	int			 efd;
	struct event		*ev;
};

/*
 * One pass: fdatasync every file of the batch, rename each into queue/,
 * then one fsync of queue/ makes all the renames durable at once. Only then
 * does any client of the batch hear 250.
 */
static void
queue_commit_batch(struct queue_commit_job *batch)
{
	int dfd = open(QUEUE_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	bool dir_ok = true;

	for (struct queue_commit_job *j = batch; j != NULL; j = j->next) {
		char *from = xasprintf("%s/%s", QUEUE_TMP_DIR, j->w->id);
		char *to = xasprintf("%s/%s", QUEUE_DIR, j->w->id);

		j->rc = 0;
		if (j->w->failed || fdatasync(j->w->fd) == -1 ||
		    rename(from, to) == -1) {
			j->rc = -1;
			unlink(from);
		}
		free(from);
		free(to);
	}
	if (dfd == -1 || fsync(dfd) == -1)
		dir_ok = false;
	if (dfd != -1)
		close(dfd);
	for (struct queue_commit_job *j = batch; j != NULL; j = j->next) {
		if (!dir_ok && j->rc == 0) {
			/* Not known durable: take it back rather than risk a lie. */
			char *to = xasprintf("%s/%s", QUEUE_DIR, j->w->id);

			unlink(to);
			free(to);
			j->rc = -1;
		}
	}
}

static void *
queue_commit_thread(void *arg)
{
	struct queue_committer *c = arg;
	struct queue_commit_job *batch, *last;
	uint64_t one = 1;

	for (;;) {
		pthread_mutex_lock(&c->mu);
		while (c->waiting == NULL && !c->stopping)
			pthread_cond_wait(&c->cv, &c->mu);
		batch = c->waiting;
		c->waiting = NULL;
		pthread_mutex_unlock(&c->mu);
		if (batch == NULL)
			return NULL;
		queue_commit_batch(batch);
		for (last = batch; last->next != NULL; last = last->next)
			;
		pthread_mutex_lock(&c->mu);
		last->next = c->finished;
		c->finished = batch;
		pthread_mutex_unlock(&c->mu);
		while (write(c->efd, &one, sizeof(one)) == -1 && errno == EINTR)
			;
	}
}

static void
queue_commit_drain(struct queue_committer *c)
{
	struct queue_commit_job *j, *next;

	pthread_mutex_lock(&c->mu);
	j = c->finished;
	c->finished = NULL;
	pthread_mutex_unlock(&c->mu);
	for (; j != NULL; j = next) {
		next = j->next;
		c->pending--;
		queue_writer_close(&j->w, false);
		j->done(j->arg, j->rc);
		free(j);
	}
}

static void
queue_commit_wake(evutil_socket_t fd, short what, void *arg)
{
	uint64_t n;

	(void)what;
	while (read(fd, &n, sizeof(n)) == -1 && errno == EINTR)
		;
	queue_commit_drain(arg);
}

struct queue_committer *
queue_committer_new(struct event_base *base)
{
	struct queue_committer *c = xcalloc(1, sizeof(*c));
	int rc;

	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cv, NULL);
	c->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (c->efd == -1)
		fatal("eventfd: %s", strerror(errno));
	c->ev = event_new(base, c->efd, EV_READ | EV_PERSIST, queue_commit_wake, c);
	event_add(c->ev, NULL);
	if ((rc = pthread_create(&c->thread, NULL, queue_commit_thread, c)) != 0)
		fatal("pthread_create: %s", strerror(rc));
	pthread_setname_np(c->thread, "qcommit");
	return c;
}

void
queue_commit(struct queue_committer *c, struct queue_writer **wp,
    queue_commit_fn done, void *arg)
{
	struct queue_commit_job *j = xcalloc(1, sizeof(*j));

	*j = (struct queue_commit_job){ .w = *wp, .done = done, .arg = arg };
	*wp = NULL;
	c->pending++;
	pthread_mutex_lock(&c->mu);
	j->next = c->waiting;
	c->waiting = j;
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
}

size_t
queue_committer_pending(const struct queue_committer *c)
{
	return c->pending;
}

void
queue_committer_free(struct queue_committer **cp)
{
	struct queue_committer *c = *cp;

	if (c == NULL)
		return;
	pthread_mutex_lock(&c->mu);
	c->stopping = true;
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
	pthread_join(c->thread, NULL);
	queue_commit_drain(c);
	event_free(c->ev);
	close(c->efd);
	pthread_mutex_destroy(&c->mu);
	pthread_cond_destroy(&c->cv);
	free(c);
	*cp = NULL;
}

/* ---- reading ---------------------------------------------------------- */

static uint32_t
queue_checksum(const char *p, size_t n)
{
	uint32_t h = 2166136261u;	/* FNV-1a */

	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)p[i];
		h *= 16777619u;
	}
	return h;
}

/* Splits s at tabs into at most max fields (in place). */
static size_t
queue_split(char *s, char **f, size_t max)
{
	size_t n = 0;

	while (n < max) {
		f[n++] = s;
		s = strchr(s, '\t');
		if (s == NULL)
			break;
		*s++ = '\0';
	}
	return n;
}

static int
queue_parse_header_line(struct queue_env *env, char *line)
{
	char *sp = strchr(line, ' ');
	char *key = line, *val = sp != NULL ? sp + 1 : (char *)"";
	char *f[4];

	if (sp != NULL)
		*sp = '\0';
	if (strcmp(key, "id") == 0) {
		if (!ids_queue_valid(val))
			return -1;
		memcpy(env->id, val, QUEUE_ID_LEN + 1);
	} else if (strcmp(key, "time") == 0) {
		env->time = strtoll(val, NULL, 10);
	} else if (strcmp(key, "from") == 0) {
		free(env->from);
		env->from = xstrdup(val);
	} else if (strcmp(key, "client") == 0) {
		free(env->client);
		env->client = xstrdup(val);
	} else if (strcmp(key, "helo") == 0) {
		free(env->helo);
		env->helo = xstrdup(val);
	} else if (strcmp(key, "auth") == 0) {
		free(env->auth);
		env->auth = xstrdup(val);
	} else if (strcmp(key, "spf") == 0) {
		/* An unknown word counts as none: it can never pass for pass. */
		snprintf(env->spf, sizeof(env->spf), "%s",
		    queue_spf_valid(val) ? val : "none");
	} else if (strcmp(key, "rcpt") == 0) {
		enum queue_state st;

		if (queue_split(val, f, 4) != 4 || queue_state_parse(f[0], &st) == -1 ||
		    (f[1][0] != QKIND_LOCAL && f[1][0] != QKIND_REMOTE))
			return -1;
		queue_env_add_rcpt(env, (enum queue_kind)f[1][0], f[2], f[3]);
		env->rcpts[env->nrcpts - 1].state = st;
	} else if (strcmp(key, "body") == 0) {
		env->body_len = strtoull(val, NULL, 10);
	}
	/* Unknown keys are skipped: a newer version may add fields. */
	return 0;
}

/* Applies "R\tidx\tstate\tattempts\tnext\treply\tcrc" records. */
static void
queue_apply_records(struct queue_env *env, char *p, size_t n)
{
	char *end = p + n, *nl;

	for (; p < end; p = nl + 1) {
		char *f[7];
		enum queue_state st;
		size_t idx;

		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			return;		/* torn last record: never completed */
		*nl = '\0';
		char *crc = strrchr(p, '\t');
		if (crc == NULL || strtoul(crc + 1, NULL, 16) !=
		    queue_checksum(p, (size_t)(crc - p)))
			continue;
		*crc = '\0';
		if (queue_split(p, f, 6) != 6 || strcmp(f[0], "R") != 0 ||
		    queue_state_parse(f[2], &st) == -1)
			continue;
		idx = strtoul(f[1], NULL, 10);
		if (idx >= env->nrcpts)
			continue;
		env->rcpts[idx].state = st;
		env->rcpts[idx].attempts = (unsigned)strtoul(f[3], NULL, 10);
		env->rcpts[idx].next_try = strtoll(f[4], NULL, 10);
		free(env->rcpts[idx].last_reply);
		env->rcpts[idx].last_reply = xstrdup(f[5]);
	}
}

int
queue_read(const char *id, struct queue_env *env_out, int *fd_out,
    const char **err_out)
{
	char *path, *hdr = NULL, *end, *line, *nl, *rec = NULL;
	struct stat st;
	ssize_t n;
	int fd;

	*env_out = (struct queue_env){ 0 };
	*fd_out = -1;
	if (!ids_queue_valid(id)) {
		*err_out = "bad queue id";
		return -1;
	}
	path = xasprintf("%s/%s", QUEUE_DIR, id);
	fd = open(path, O_RDWR | O_CLOEXEC);
	free(path);
	if (fd == -1 || fstat(fd, &st) == -1) {
		*err_out = errno == ENOENT ? "no such message" : strerror(errno);
		goto fail;
	}
	hdr = xmalloc(QUEUE_HEADER_MAX + 1);
	n = pread(fd, hdr, QUEUE_HEADER_MAX, 0);
	if (n < (ssize_t)strlen(QUEUE_MAGIC) ||
	    memcmp(hdr, QUEUE_MAGIC, strlen(QUEUE_MAGIC)) != 0) {
		*err_out = "not a queue file";
		goto fail;
	}
	hdr[n] = '\0';
	end = strstr(hdr, "\n\n");
	if (end == NULL) {
		*err_out = "envelope too large or truncated";
		goto fail;
	}
	end[1] = '\0';
	env_out->body_off = (uint64_t)(end - hdr) + 2;
	for (line = hdr + strlen(QUEUE_MAGIC); *line != '\0'; line = nl + 1) {
		nl = strchr(line, '\n');
		*nl = '\0';
		if (queue_parse_header_line(env_out, line) == -1) {
			*err_out = "malformed envelope";
			goto fail;
		}
	}
	if (env_out->id[0] == '\0' || env_out->nrcpts == 0 ||
	    env_out->body_off > (uint64_t)st.st_size ||
	    env_out->body_len > (uint64_t)st.st_size - env_out->body_off) {
		*err_out = "malformed envelope";
		goto fail;
	}
	if (env_out->from == NULL)
		env_out->from = xstrdup("");
	if (env_out->auth == NULL)
		env_out->auth = xstrdup("");
	if (env_out->client == NULL)
		env_out->client = xstrdup("");
	if (env_out->helo == NULL)
		env_out->helo = xstrdup("");
	if (env_out->spf[0] == '\0')
		memcpy(env_out->spf, "none", sizeof("none"));
	/* Records: bounded by the recipients' count, so a hostile file cannot
	 * make us read without end. */
	uint64_t roff = env_out->body_off + env_out->body_len;
	uint64_t rlen = (uint64_t)st.st_size - roff;
	uint64_t rmax = (uint64_t)QUEUE_RECORD_MAX * (env_out->nrcpts + 1) * 64;
	if (rlen > rmax)
		rlen = rmax;
	if (rlen > 0) {
		rec = xmalloc(rlen + 1);
		n = pread(fd, rec, rlen, (off_t)roff);
		if (n > 0)
			queue_apply_records(env_out, rec, (size_t)n);
		free(rec);
	}
	free(hdr);
	*fd_out = fd;
	return 0;
fail:
	free(hdr);
	if (fd != -1)
		close(fd);
	queue_env_clear(env_out);
	return -1;
}

int
queue_record(int fd, size_t idx, const struct queue_rcpt *r, bool sync)
{
	struct buf b;
	int rc = 0;

	buf_init(&b, QUEUE_RECORD_MAX);
	buf_printf(&b, "R\t%zu\t%s\t%u\t%" PRId64 "\t", idx,
	    queue_state_name(r->state), r->attempts, r->next_try);
	queue_put_field(&b, r->last_reply);
	if (b.overflowed)
		b.len = QUEUE_RECORD_MAX - 16;
	buf_printf(&b, "\t%08x\n", queue_checksum(b.data, b.len));
	/* O_APPEND is not set on the fd: seek-to-end then write keeps it simple,
	 * and only one process updates a message at a time. */
	if (lseek(fd, 0, SEEK_END) == -1 || io_write_all(fd, b.data, b.len) == -1 ||
	    (sync && fdatasync(fd) == -1))
		rc = -1;
	buf_free(&b);
	return rc;
}

int
queue_remove(const char *id)
{
	char *path;
	int rc;

	if (!ids_queue_valid(id))
		return -1;
	path = xasprintf("%s/%s", QUEUE_DIR, id);
	rc = unlink(path);
	free(path);
	return rc;
}

int
queue_retire(const char *id)
{
	char *path, *spare;
	int rc;

	if (!ids_queue_valid(id))
		return -1;
	path = xasprintf("%s/%s", QUEUE_DIR, id);
	spare = xasprintf("%s/%s", QUEUE_FREE_DIR, id);
	rc = rename(path, spare);
	if (rc == -1)
		rc = unlink(path);
	free(path);
	free(spare);
	return rc;
}

void
queue_free_trim(void)
{
	DIR *d = opendir(QUEUE_FREE_DIR);
	struct dirent *de;
	size_t n = 0;

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] != '.' && ++n > QUEUE_FREE_MAX)
			unlinkat(dirfd(d), de->d_name, 0);
	}
	closedir(d);
}

static int
queue_id_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
queue_list(char ***ids_out, size_t *n_out)
{
	DIR *d = opendir(QUEUE_DIR);
	struct dirent *de;
	char **v = NULL;
	size_t n = 0, cap = 0;

	*ids_out = NULL;
	*n_out = 0;
	if (d == NULL)
		return errno == ENOENT ? 0 : -1;
	while ((de = readdir(d)) != NULL) {
		if (!ids_queue_valid(de->d_name))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			v = xrealloc(v, cap * sizeof(*v));
		}
		v[n++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (n > 1)
		qsort(v, n, sizeof(*v), queue_id_cmp);
	*ids_out = v;
	*n_out = n;
	return 0;
}
