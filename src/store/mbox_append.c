/*
 * mbox_append: messages added to a folder by our sessions: APPEND (the
 * bytes streamed into tmp/, CRLF stored as LF), COPY (hard links, else a
 * byte copy) and MOVE (RFC 6851: copy, then expunge the sources). New
 * files go from tmp/ into cur/ and get their UIDs under the destination's
 * exclusive lock only: never two folders' locks at once, so two sessions
 * moving opposite ways cannot deadlock. UIDPLUS answers: RFC 4315.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/io.h"
#include "core/xalloc.h"
#include "store/mbox_int.h"

#define MBOX_APPEND_BUF	65536

/* The new files of one APPEND or COPY. */
struct mbox_newv {
	size_t		  n;
	char		**tmp;		/* paths in tmp/ */
	char		**base;		/* new base names */
	char		**final;	/* names in cur/, with flags */
	uint64_t	 *vsize;
};

static void
mbox_newv_init(struct mbox_newv *v, size_t n)
{
	v->n = 0;
	v->tmp = xcalloc(n + 1, sizeof(*v->tmp));
	v->base = xcalloc(n + 1, sizeof(*v->base));
	v->final = xcalloc(n + 1, sizeof(*v->final));
	v->vsize = xcalloc(n + 1, sizeof(*v->vsize));
}

/* Frees v; the files still in tmp/ are removed. */
static void
mbox_newv_free(struct mbox_newv *v)
{
	for (size_t i = 0; i < v->n; i++) {
		if (v->tmp[i] != NULL)
			unlink(v->tmp[i]);
		free(v->tmp[i]);
		free(v->base[i]);
		free(v->final[i]);
	}
	free(v->tmp);
	free(v->base);
	free(v->final);
	free(v->vsize);
}

/* The destination's uid list: the user's cached one when it is the same
 * folder, so that a run of APPENDs reads only the lines added since. */
static struct mbox_ul *
mbox_aux(struct mbox_user *u, const char *dir)
{
	if (u->aux_dir != NULL && strcmp(u->aux_dir, dir) == 0)
		return &u->aux;
	if (u->aux_dir != NULL)
		mbox_ul_free(&u->aux);
	free(u->aux_dir);
	u->aux_dir = xstrdup(dir);
	mbox_ul_init(&u->aux, dir);
	return &u->aux;
}

/*
 * Under dir's exclusive lock: the files of v from tmp/ into cur/, and
 * their UIDs appended to the uid list (fdatasync) before anyone can use
 * them. All or nothing.
 */
static int
mbox_newv_commit(struct mbox_user *u, const char *dir, struct mbox_newv *v,
    uint32_t *uidvalidity, uint32_t *uids, char *err, size_t errlen)
{
	struct mbox_ul *ul = mbox_aux(u, dir);
	size_t moved = 0;
	bool reset;
	int fd, rc = -1;

	if ((fd = mbox_ul_lock(ul, LOCK_EX)) == -1 ||
	    mbox_ul_read(u, ul, &fd, &reset, NULL, NULL) == -1) {
		mbox_seterr(err, errlen, "cannot lock the folder: %s",
		    strerror(errno));
		goto out;
	}
	/* Lines, dead ones included: at least as many as messages. */
	if (ul->st.nrecords + v->n > MBOX_MSGS_MAX) {
		mbox_seterr(err, errlen, "folder full");
		goto out;
	}
	for (; moved < v->n; moved++) {
		char *to = xasprintf("%s/cur/%s", dir, v->final[moved]);
		int r = rename(v->tmp[moved], to);

		free(to);
		if (r == -1)
			break;
	}
	/* The new names durable before their UIDs are (APPEND's OK, COPY's
	 * OK promise the messages). */
	if (moved == v->n && mbox_fsync_dir(dir, "cur") == 0 &&
	    mbox_ul_append(ul, fd, v->base, v->vsize, v->n, uids) == 0) {
		*uidvalidity = ul->st.uidvalidity;
		rc = 0;
	} else
		mbox_seterr(err, errlen, "cannot store: %s", strerror(errno));
	for (size_t i = 0; i < moved; i++) {
		if (rc == -1) {
			char *to = xasprintf("%s/cur/%s", dir, v->final[i]);

			unlink(to);
			free(to);
		}
		free(v->tmp[i]);	/* no longer in tmp/ */
		v->tmp[i] = NULL;
	}
out:
	if (fd != -1)
		close(fd);
	return rc;
}

unsigned long mbox_dir_fsyncs;

int
mbox_fsync_dir(const char *dir, const char *sub)
{
	char *p = xasprintf("%s/%s", dir, sub);
	int fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc = -1;

	free(p);
	mbox_dir_fsyncs++;
	if (fd != -1) {
		rc = fsync(fd);
		close(fd);
	}
	return rc;
}

/* ---- APPEND ------------------------------------------------------------- */

struct mbox_append {
	struct mbox_user *u;
	char		*dir;
	char		*base;		/* unique part, before ",S=" */
	char		*tmp;
	int		 fd;
	bool		 cr;		/* a CR held for the next piece */
	char		 last;		/* last byte written */
	bool		 failed;
	uint64_t	 size, vsize;
	size_t		 nout;
	char		 out[MBOX_APPEND_BUF];
};

struct mbox_append *
mbox_append_begin(struct mbox_user *u, const char *name, char *err,
    size_t errlen)
{
	char *dir = mbox_folder_dir(u, name);
	struct mbox_append *a;

	if (dir == NULL || !mbox_is_maildir(dir)) {
		mbox_seterr(err, errlen, "[TRYCREATE] no such folder");
		free(dir);
		return NULL;
	}
	a = xcalloc(1, sizeof(*a));
	a->u = u;
	a->dir = dir;
	a->base = mbox_unique_base(u);
	a->tmp = xasprintf("%s/tmp/%s", dir, a->base);
	a->fd = open(a->tmp, O_WRONLY | O_CREAT | O_EXCL | MBOX_O_FILE, 0600);
	if (a->fd == -1) {
		mbox_seterr(err, errlen, "cannot write: %s", strerror(errno));
		free(a->tmp);
		a->tmp = NULL;
		mbox_append_abort(&a);
	}
	return a;
}

static void
mbox_append_put(struct mbox_append *a, char c)
{
	if (a->nout == sizeof(a->out)) {
		if (!a->failed && io_write_all(a->fd, a->out, a->nout) == -1)
			a->failed = true;
		a->nout = 0;
	}
	a->out[a->nout++] = c;
	a->size++;
	/* RFC822.SIZE counts CRLF: a bare LF stored is two bytes there. */
	a->vsize += c == '\n' && a->last != '\r' ? 2 : 1;
	a->last = c;
}

int
mbox_append_write(struct mbox_append *a, const void *data, size_t len)
{
	const char *p = data;

	for (size_t i = 0; i < len; i++) {
		if (a->cr) {
			a->cr = false;
			if (p[i] == '\n') {
				mbox_append_put(a, '\n');
				continue;
			}
			mbox_append_put(a, '\r');
		}
		if (p[i] == '\r')
			a->cr = true;	/* maybe a CRLF split across pieces */
		else
			mbox_append_put(a, p[i]);
	}
	return a->failed ? -1 : 0;
}

int
mbox_append_commit(struct mbox_append **ap, unsigned flags,
    int64_t internaldate, uint32_t *uidvalidity, uint32_t *uid, char *err,
    size_t errlen)
{
	struct mbox_append *a = *ap;
	struct mbox_newv v;
	int rc = -1;

	if (a->cr)
		mbox_append_put(a, '\r');
	a->cr = false;
	/* SPEC 3: stored lines end with LF. A last line without one gets it,
	 * so that every reader (POP3's octet counts, RFC822.SIZE) agrees. */
	if (a->size > 0 && a->last != '\n')
		mbox_append_put(a, '\n');
	if (!a->failed && a->nout > 0 &&
	    io_write_all(a->fd, a->out, a->nout) == -1)
		a->failed = true;
	if (!a->failed && internaldate > 0) {
		struct timespec ts[2] = {
			{ .tv_nsec = UTIME_OMIT },
			{ .tv_sec = (time_t)internaldate },
		};

		if (futimens(a->fd, ts) == -1)
			a->failed = true;
	}
	if (a->failed || fsync(a->fd) == -1) {
		mbox_seterr(err, errlen, "cannot write: %s", strerror(errno));
		mbox_append_abort(ap);
		return -1;
	}
	mbox_newv_init(&v, 1);
	v.n = 1;
	v.tmp[0] = a->tmp;
	a->tmp = NULL;
	v.base[0] = xasprintf("%s,S=%" PRIu64, a->base, a->size);
	v.final[0] = mbox_flags_name(v.base[0], NULL, flags & MBOX_F_ALL);
	v.vsize[0] = a->vsize;
	rc = mbox_newv_commit(a->u, a->dir, &v, uidvalidity, uid, err, errlen);
	mbox_newv_free(&v);
	mbox_append_abort(ap);
	return rc;
}

void
mbox_append_abort(struct mbox_append **ap)
{
	struct mbox_append *a = *ap;

	if (a == NULL)
		return;
	if (a->fd != -1)
		close(a->fd);
	if (a->tmp != NULL)
		unlink(a->tmp);
	free(a->tmp);
	free(a->base);
	free(a->dir);
	free(a);
	*ap = NULL;
}

/* ---- COPY and MOVE ------------------------------------------------------ */

/* Byte copy into a new file dst (when link() cannot be used), keeping the
 * source's mtime (INTERNALDATE). */
static int
mbox_copy_bytes(const char *src, const char *dst)
{
	char *chunk;
	struct stat st;
	ssize_t n;
	int in, out, rc = -1;

	if ((in = open(src, O_RDONLY | MBOX_O_FILE)) == -1)
		return -1;
	out = open(dst, O_WRONLY | O_CREAT | O_EXCL | MBOX_O_FILE, 0600);
	if (out == -1) {
		close(in);
		return -1;
	}
	chunk = xmalloc(MBOX_APPEND_BUF);
	while ((n = read(in, chunk, MBOX_APPEND_BUF)) > 0 ||
	    (n < 0 && errno == EINTR))
		if (n > 0 && io_write_all(out, chunk, (size_t)n) == -1)
			break;
	free(chunk);
	if (n == 0 && fstat(in, &st) == 0) {
		struct timespec ts[2] = { { .tv_nsec = UTIME_OMIT }, st.st_mtim };

		if (futimens(out, ts) == 0 && fsync(out) == 0)
			rc = 0;
	}
	close(in);
	close(out);
	if (rc == -1)
		unlink(dst);
	return rc;
}

/* One source message into dest's tmp/ under a new name. */
static int
mbox_copy_one(struct mbox *m, uint32_t idx, const char *ddir,
    struct mbox_newv *v)
{
	struct mbox_ent *e;
	int64_t ei;
	size_t i = v->n;
	char *unique, *src = NULL, *tmp = NULL;
	struct stat st;
	int rc = -1, lk = -1;

	for (int retry = 0; retry < 2 && rc == -1; retry++) {
		free(src);
		if ((src = mbox_msg_path(m, idx, retry == 1, &lk)) == NULL)
			break;
		if (stat(src, &st) == -1)
			continue;	/* renamed meanwhile: look again */
		unique = mbox_unique_base(m->u);
		v->base[i] = xasprintf("%s,S=%" PRIu64, unique,
		    (uint64_t)st.st_size);
		free(unique);
		tmp = xasprintf("%s/tmp/%s", ddir, v->base[i]);
		if (link(src, tmp) == 0 || (errno != ENOENT &&
		    mbox_copy_bytes(src, tmp) == 0))
			rc = 0;
		else {
			free(tmp);
			free(v->base[i]);
			v->base[i] = NULL;
		}
	}
	free(src);
	if (lk != -1)
		close(lk);
	if (rc == -1)
		return -1;
	if ((ei = mbox_ent_by_uid(m->f, m->uids[idx])) < 0) {
		unlink(tmp);	/* dropped meanwhile: cannot happen in-loop */
		free(tmp);
		free(v->base[i]);
		v->base[i] = NULL;
		return -1;
	}
	e = m->f->ents[ei];
	v->tmp[i] = tmp;
	/* The flags of the view (what the client was told). */
	v->final[i] = mbox_flags_name(v->base[i], e->file,
	    m->bits[idx] & MBOX_V_FLAGS);
	v->vsize[i] = e->vsize;
	v->n++;
	return 0;
}

int
mbox_copy(struct mbox *m, const uint32_t *idx, size_t n, const char *dest,
    uint32_t *uidvalidity, uint32_t *uids, char *err, size_t errlen)
{
	char *ddir = mbox_folder_dir(m->u, dest);
	struct mbox_newv v;
	int rc = -1;

	if (ddir == NULL || !mbox_is_maildir(ddir)) {
		mbox_seterr(err, errlen, "[TRYCREATE] no such folder");
		free(ddir);
		return -1;
	}
	if (n > MBOX_MSGS_MAX) {
		mbox_seterr(err, errlen, "too many messages");
		free(ddir);
		return -1;
	}
	mbox_newv_init(&v, n);
	for (size_t i = 0; i < n; i++) {
		if (idx[i] >= m->nmsgs || (m->bits[idx[i]] & MBOX_V_GONE) ||
		    mbox_copy_one(m, idx[i], ddir, &v) == -1) {
			mbox_seterr(err, errlen, "message expunged or unreadable");
			goto out;
		}
	}
	rc = mbox_newv_commit(m->u, ddir, &v, uidvalidity, uids, err, errlen);
out:
	mbox_newv_free(&v);
	free(ddir);
	return rc;
}

int
mbox_move(struct mbox *m, const uint32_t *idx, size_t n, const char *dest,
    uint32_t *uidvalidity, uint32_t *uids, struct mbox_changes *ch,
    char *err, size_t errlen)
{
	bool *del;
	int fd;

	if (m->read_only) {
		mbox_seterr(err, errlen, "folder is read-only");
		return -1;
	}
	if (mbox_copy(m, idx, n, dest, uidvalidity, uids, err, errlen) == -1)
		return -1;
	/* dest's lock is released: now the source's (never both). */
	if ((fd = mbox_lock_shared(m)) == -1) {
		mbox_seterr(err, errlen, "copied, but cannot remove: %s",
		    strerror(errno));
		return -1;
	}
	del = xcalloc(m->nmsgs + 1, sizeof(*del));
	for (size_t i = 0; i < n; i++)
		if (!del[idx[i]] &&
		    mbox_unlink_locked(m, idx[i], &fd) == 0)
			del[idx[i]] = true;
	if (fd != -1)
		close(fd);
	/* The unlinks made durable before MOVE's OK (once per call). */
	if (n > 0)
		(void)mbox_fsync_dir(m->f->dir, "cur");
	mbox_ents_compact(m->f);
	mbox_view_remove(m, del, ch);
	free(del);
	return 0;
}
