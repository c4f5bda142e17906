/*
 * mbox_sync: brings a folder's entries up to date with the disk (under the
 * uid list's exclusive flock: new lines, new/ moved to cur/, cur/ scanned,
 * UIDs given to files without a line), then the session's view (new
 * messages appended, gone ones marked or reported, others' flag changes).
 * Skipped when new/, cur/ and the uid list have not changed.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/xalloc.h"
#include "store/mbox_int.h"

/* A file that has no uid list line yet. */
struct mbox_scan {
	char		*name;
	char		*base;
	unsigned	 flags;
	bool		 in_new;
	bool		 recent;
};

struct mbox_scanv {
	struct mbox_scan *v;
	size_t		 n, cap;
	size_t		 nfiles;	/* files counted toward MBOX_MSGS_MAX */
	bool		 full;		/* some were left out for that */
};

static void
mbox_sync_rec(void *arg, const struct mbox_uidlist_rec *r)
{
	struct mbox *m = arg;
	struct mbox_ent e = { 0 }, *old;

	if (m->nents >= MBOX_ENTS_MAX)
		return;	/* Known limit: a corrupt, huge list; the rest get new UIDs */
	e.base = xstrndup(r->base.ptr, r->base.len);
	e.uid = r->uid;
	e.vsize = r->vsize;
	/* Two lines for one base: the later wins, as for every reader. */
	if ((old = mbox_ent_find(m, e.base)) != NULL) {
		free(old->base);
		free(old->file);
		old->base = old->file = NULL;
	}
	mbox_ent_add(m, &e);
}

static void
mbox_sync_forget(struct mbox *m)
{
	for (size_t i = 0; i < m->nents; i++) {
		free(m->ents[i].base);
		free(m->ents[i].file);
	}
	m->nents = 0;
	mbox_ents_compact(m);
}

/* One file found in new/ or cur/. */
static void
mbox_sync_file(struct mbox *m, struct mbox_scanv *sv, char *name, bool in_new,
    bool moved)
{
	size_t blen = mbox_base_len(name);
	char *base = xstrndup(name, blen);
	struct mbox_ent *e = mbox_ent_find(m, base);
	struct mbox_scan *s;

	if (e != NULL) {
		if (!e->found) {	/* else the same base twice: skipped */
			sv->nfiles++;
			e->found = true;
			free(e->file);
			e->file = name;
			e->flags = mbox_flags_from_name(name);
			e->in_new = in_new;
			e->recent = e->recent || moved;
			name = NULL;
		}
		free(name);
		free(base);
		return;
	}
	if (sv->nfiles >= MBOX_MSGS_MAX) {
		/* The folder is full: the rest wait for room (and every
		 * sync scans again until then). */
		sv->full = true;
		free(name);
		free(base);
		return;
	}
	if (sv->n == sv->cap) {
		sv->cap = sv->cap == 0 ? 16 : sv->cap * 2;
		sv->v = xrealloc(sv->v, sv->cap * sizeof(*sv->v));
	}
	s = &sv->v[sv->n++];
	s->name = name;
	s->base = base;
	s->flags = mbox_flags_from_name(name);
	s->in_new = in_new;
	s->recent = moved;
	sv->nfiles++;
}

static int
mbox_sync_scan(struct mbox *m, struct mbox_scanv *sv, bool is_new)
{
	const char *dir = is_new ? m->dir_new : m->dir_cur;
	DIR *d = opendir(dir);
	struct dirent *de;

	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		size_t blen = mbox_base_len(de->d_name);
		char *name, *from, *to;
		bool in_new = is_new, moved = false;

		if (!mbox_uidlist_base_ok(de->d_name, blen))
			continue;	/* ".", "..", dot files, odd names */
		name = xstrdup(de->d_name);
		if (is_new && !m->read_only) {
			char *base = xstrndup(name, blen);
			char *cur = mbox_flags_name(base, name,
			    mbox_flags_from_name(name));
			int rrc, err;

			free(base);
			from = xasprintf("%s/%s", m->dir_new, name);
			to = xasprintf("%s/%s", m->dir_cur, cur);
			/* Never over a file of cur/ with the same name (another
			 * tool's, a restored copy): that message would be lost.
			 * It then stays in new/, its base seen in cur/ only. */
			rrc = renameat2(AT_FDCWD, from, AT_FDCWD, to,
			    RENAME_NOREPLACE);
			if (rrc == -1 && errno == EINVAL)
				rrc = rename(from, to);	/* no NOREPLACE here */
			err = errno;
			if (rrc == 0) {
				free(name);
				name = cur;
				in_new = false;
				moved = true;
			} else
				free(cur);
			free(from);
			free(to);
			if (in_new && err == ENOENT) {
				free(name);	/* moved by someone else */
				continue;
			}
		}
		mbox_sync_file(m, sv, name, in_new, moved);
	}
	closedir(d);
	return 0;
}

static int
mbox_scan_cmp(const void *a, const void *b)
{
	return strcmp(((const struct mbox_scan *)a)->base,
	    ((const struct mbox_scan *)b)->base);
}

/* UIDs for the files without a line, in name order (delivery names start
 * with the time): vsize read once, lines appended and fdatasync'd. */
static int
mbox_sync_assign(struct mbox *m, int fd, struct mbox_scanv *sv)
{
	char **bases;
	uint64_t *vsizes;
	uint32_t *uids;
	size_t *keep, n = 0;
	struct stat st;
	int rc;

	if (sv->n == 0)
		return 0;
	qsort(sv->v, sv->n, sizeof(*sv->v), mbox_scan_cmp);
	bases = xcalloc(sv->n, sizeof(*bases));
	vsizes = xcalloc(sv->n, sizeof(*vsizes));
	uids = xcalloc(sv->n, sizeof(*uids));
	keep = xcalloc(sv->n, sizeof(*keep));
	for (size_t i = 0; i < sv->n; i++) {
		struct mbox_scan *s = &sv->v[i];
		char *p;
		int mfd;

		if (n > 0 && strcmp(s->base, bases[n - 1]) == 0)
			continue;	/* in new/ and in cur/ */
		p = xasprintf("%s/%s", s->in_new ? m->dir_new : m->dir_cur,
		    s->name);
		mfd = open(p, O_RDONLY | MBOX_O_FILE);
		free(p);
		if (mfd == -1)
			continue;
		/* A FIFO, a device, a directory: not a message. */
		if (fstat(mfd, &st) == -1 || !S_ISREG(st.st_mode)) {
			close(mfd);
			continue;
		}
		rc = mbox_vsize_fd(mfd, &vsizes[n]);
		close(mfd);
		if (rc == -1)
			continue;
		bases[n] = s->base;
		keep[n++] = i;
	}
	rc = mbox_ul_append(&m->ul, fd, bases, vsizes, n, uids);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		struct mbox_scan *s = &sv->v[keep[i]];
		struct mbox_ent e = {
			.base = s->base, .file = s->name,
			.uid = uids[i], .vsize = vsizes[i],
			.flags = s->flags, .in_new = s->in_new,
			.recent = s->recent, .found = true,
		};

		mbox_ent_add(m, &e);
		s->base = s->name = NULL;
	}
	free(bases);
	free(vsizes);
	free(uids);
	free(keep);
	return rc;
}

static void
mbox_scanv_free(struct mbox_scanv *sv)
{
	for (size_t i = 0; i < sv->n; i++) {
		free(sv->v[i].name);
		free(sv->v[i].base);
	}
	free(sv->v);
}

static bool
mbox_stamp_eq(const struct timespec *a, const struct stat *st)
{
	return a->tv_sec == st->st_mtim.tv_sec &&
	    a->tv_nsec == st->st_mtim.tv_nsec;
}

/* Nothing changed since the last full sync? */
static bool
mbox_sync_unchanged(struct mbox *m)
{
	struct stat a, b, c;

	if (!m->stamps_ok || stat(m->dir_new, &a) == -1 ||
	    stat(m->dir_cur, &b) == -1 || stat(m->ul.path, &c) == -1)
		return false;
	return mbox_stamp_eq(&m->mt_new, &a) && mbox_stamp_eq(&m->mt_cur, &b) &&
	    mbox_stamp_eq(&m->mt_ul, &c) && c.st_ino == m->ino_ul &&
	    c.st_size == m->size_ul;
}

/*
 * A change within the same clock tick as a stamp would not move it, so a
 * stamp from the last second is not trusted: the next sync scans again.
 */
static bool
mbox_stamp_recent(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME_COARSE, &now);
	return t->tv_sec >= now.tv_sec - 1;
}

static int
mbox_sync_locked(struct mbox *m, int *fdp)
{
	struct mbox_scanv sv = { 0 };
	struct stat a, b;
	bool reset, dead = false, full;
	int rc;

	if (stat(m->dir_new, &a) == -1 || stat(m->dir_cur, &b) == -1)
		return -1;
	if (mbox_ul_is_new(&m->ul, *fdp))
		mbox_sync_forget(m);	/* read again from the top */
	if (mbox_ul_read(m->u, &m->ul, fdp, &reset, mbox_sync_rec, m) == -1)
		return -1;
	if (reset)
		mbox_sync_forget(m);	/* a new UIDVALIDITY: no lines */
	if (m->uidvalidity != 0 && m->ul.st.uidvalidity != m->uidvalidity) {
		/* The uid list was lost: this view's UIDs mean nothing now.
		 * The session must end (RFC 3501 2.3.1.1). */
		errno = ESTALE;
		return -1;
	}
	for (size_t i = 0; i < m->nents; i++)
		m->ents[i].found = false;
	/* cur/ first: what the new/ scan moves into cur/ is then seen once. */
	if (mbox_sync_scan(m, &sv, false) == -1 ||
	    mbox_sync_scan(m, &sv, true) == -1) {
		mbox_scanv_free(&sv);
		return -1;
	}
	for (size_t i = 0; i < m->nents; i++) {
		struct mbox_ent *e = &m->ents[i];

		if (e->base != NULL && e->found)
			continue;
		free(e->base);
		free(e->file);
		e->base = e->file = NULL;
		dead = true;
	}
	if (dead)
		mbox_ents_compact(m);
	rc = mbox_sync_assign(m, *fdp, &sv);
	full = sv.full;
	mbox_scanv_free(&sv);
	if (rc == 0 && mbox_ul_wants_rewrite(&m->ul, m->nents))
		rc = mbox_ul_rewrite(&m->ul, fdp, m->ents, m->nents);
	if (rc == 0) {
		m->mt_new = a.st_mtim;
		m->mt_cur = b.st_mtim;
		if (fstat(*fdp, &a) == 0) {
			m->mt_ul = a.st_mtim;
			m->ino_ul = a.st_ino;
			m->size_ul = a.st_size;
			m->stamps_ok = !full && !mbox_stamp_recent(&m->mt_new) &&
			    !mbox_stamp_recent(&m->mt_cur) &&
			    !mbox_stamp_recent(&m->mt_ul);
		}
	}
	return rc;
}

/* 1 after a full sync, 0 when nothing changed, -1 on error. */
int
mbox_sync_disk(struct mbox *m, bool force)
{
	int fd, rc, saved;

	if (!force && mbox_sync_unchanged(m))
		return 0;
	m->stamps_ok = false;
	if ((fd = mbox_ul_lock(&m->ul, LOCK_EX)) == -1)
		return -1;
	rc = mbox_sync_locked(m, &fd);
	saved = errno;
	close(fd);
	errno = saved;
	if (rc == 0 && m->uidvalidity == 0)
		m->uidvalidity = m->ul.st.uidvalidity;
	return rc == 0 ? 1 : -1;
}

static void
mbox_msg_from_ent(struct mbox *m, struct mbox_msg *msg, struct mbox_ent *e)
{
	struct stat st;
	char *p = xasprintf("%s/%s", e->in_new ? m->dir_new : m->dir_cur,
	    e->file);

	memset(msg, 0, sizeof(*msg));
	msg->uid = e->uid;
	msg->flags = e->flags;
	msg->recent = e->recent;
	msg->vsize = e->vsize;
	msg->internaldate = stat(p, &st) == 0 ? (int64_t)st.st_mtim.tv_sec : 0;
	msg->base = xstrdup(e->base);
	msg->file = xstrdup(e->file);
	e->recent = false;
	free(p);
	if (msg->recent)
		m->nrecent++;
}

/* The view after a full sync: gone ones marked, flags, new ones. */
static void
mbox_view_update(struct mbox *m, struct mbox_changes *ch)
{
	uint32_t *changed = NULL, maxuid;
	size_t nchanged = 0, i, first;

	for (i = 0; i < m->nmsgs; i++) {
		struct mbox_msg *msg = &m->msgs[i];
		struct mbox_ent *e;

		if (msg->gone)
			continue;
		e = mbox_ent_find(m, msg->base);
		if (e == NULL || e->uid != msg->uid) {
			msg->gone = true;
			continue;
		}
		if (strcmp(e->file, msg->file) != 0) {
			free(msg->file);
			msg->file = xstrdup(e->file);
		}
		if (e->flags != msg->flags) {
			msg->flags = e->flags;
			changed = xrealloc(changed, (nchanged + 1) * sizeof(*changed));
			changed[nchanged++] = (uint32_t)i + 1;
		}
	}
	maxuid = m->nmsgs > 0 ? m->msgs[m->nmsgs - 1].uid : 0;
	for (first = m->nents; first > 0 && m->ents[first - 1].uid > maxuid;)
		first--;
	if (first < m->nents) {
		size_t add = m->nents - first;

		if (m->nmsgs + add > m->capmsgs) {
			m->capmsgs = m->nmsgs + add + m->nmsgs / 2 + 16;
			m->msgs = xrealloc(m->msgs, m->capmsgs * sizeof(*m->msgs));
		}
		for (i = first; i < m->nents; i++)
			mbox_msg_from_ent(m, &m->msgs[m->nmsgs++], &m->ents[i]);
		if (ch != NULL)
			ch->exists_changed = true;
	}
	if (ch != NULL && nchanged > 0) {
		ch->flags_changed = xrealloc(ch->flags_changed,
		    (ch->nflags_changed + nchanged) * sizeof(*changed));
		for (i = 0; i < nchanged; i++)
			ch->flags_changed[ch->nflags_changed++] =
			    m->msgs[changed[i] - 1].uid;
	}
	free(changed);
}

int
mbox_sync(struct mbox *m, bool report_expunges, struct mbox_changes *ch)
{
	uint32_t recent = m->nrecent;
	size_t nflags = ch != NULL ? ch->nflags_changed : 0;
	int rc = mbox_sync_disk(m, false);

	if (rc == -1)
		return -1;
	if (rc == 1)
		mbox_view_update(m, ch);
	if (report_expunges) {
		bool *del = xcalloc(m->nmsgs + 1, sizeof(*del));

		for (size_t i = 0; i < m->nmsgs; i++)
			del[i] = m->msgs[i].gone;
		mbox_view_remove(m, del, ch);
		free(del);
	}
	if (ch != NULL) {
		/* flags_changed held UIDs until now: sequence numbers after
		 * the removals, dropping those removed. */
		size_t j = nflags;

		for (size_t i = nflags; i < ch->nflags_changed; i++) {
			int64_t idx = mbox_find_uid(m, ch->flags_changed[i]);

			if (idx >= 0)
				ch->flags_changed[j++] = (uint32_t)idx + 1;
		}
		ch->nflags_changed = j;
		ch->recent = m->nrecent;
		ch->recent_changed = ch->recent_changed || recent != m->nrecent;
	}
	return 0;
}
