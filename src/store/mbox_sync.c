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
	struct mbox_fst *f = arg;
	struct mbox_ent *e;
	int64_t old;

	if (f->nents >= MBOX_ENTS_MAX)
		return;	/* Known limit: a corrupt, huge list; the rest get new UIDs */
	/* Two lines for one base: the later wins, as for every reader. */
	if ((old = mbox_ent_find(f, r->base.ptr, r->base.len)) >= 0)
		mbox_ent_kill(f, (size_t)old);
	e = mbox_ent_new(r->base.ptr, r->base.len, NULL);
	e->uid = r->uid;
	e->vsize = r->vsize;
	mbox_ent_add(f, e);
}

static void
mbox_sync_forget(struct mbox_fst *f)
{
	for (size_t i = 0; i < f->nents; i++)
		f->ents[i]->dead = true;
	f->gen++;
	mbox_ents_compact(f);
}

/* One file found in new/ or cur/. */
static void
mbox_sync_file(struct mbox_fst *f, struct mbox_scanv *sv, char *name,
    bool in_new, bool moved)
{
	size_t blen = mbox_base_len(name);
	int64_t i = mbox_ent_find(f, name, blen);
	struct mbox_scan *s;

	if (i >= 0) {
		struct mbox_ent *e = f->ents[i];

		if (!e->found) {	/* else the same base twice: skipped */
			unsigned fl = mbox_flags_from_name(name);

			sv->nfiles++;
			if (fl != e->flags || strcmp(e->file, name) != 0 ||
			    in_new != e->in_new)
				f->gen++;
			mbox_ent_set_file(f, (size_t)i, name);
			e = f->ents[i];
			e->found = true;
			e->flags = (uint8_t)fl;
			e->in_new = in_new;
			e->recent = e->recent || moved;
		}
		free(name);
		return;
	}
	if (sv->nfiles >= MBOX_MSGS_MAX) {
		/* The folder is full: the rest wait for room (and every
		 * sync scans again until then). */
		sv->full = true;
		free(name);
		return;
	}
	if (sv->n == sv->cap) {
		sv->cap = sv->cap == 0 ? 16 : sv->cap * 2;
		sv->v = xrealloc(sv->v, sv->cap * sizeof(*sv->v));
	}
	s = &sv->v[sv->n++];
	s->name = name;
	s->base = xstrndup(name, blen);
	s->flags = mbox_flags_from_name(name);
	s->in_new = in_new;
	s->recent = moved;
	sv->nfiles++;
}

static int
mbox_sync_scan(struct mbox_fst *f, bool read_only, struct mbox_scanv *sv,
    bool is_new)
{
	const char *dir = is_new ? f->dir_new : f->dir_cur;
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
		if (is_new && !read_only) {
			char *base = xstrndup(name, blen);
			char *cur = mbox_flags_name(base, name,
			    mbox_flags_from_name(name));
			int rrc, err;

			free(base);
			from = xasprintf("%s/%s", f->dir_new, name);
			to = xasprintf("%s/%s", f->dir_cur, cur);
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
		mbox_sync_file(f, sv, name, in_new, moved);
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
mbox_sync_assign(struct mbox_fst *f, int fd, struct mbox_scanv *sv)
{
	char **bases;
	uint64_t *vsizes;
	int64_t *idates;
	uint32_t *uids;
	size_t *keep, n = 0;
	struct stat st;
	int rc;

	if (sv->n == 0)
		return 0;
	qsort(sv->v, sv->n, sizeof(*sv->v), mbox_scan_cmp);
	bases = xcalloc(sv->n, sizeof(*bases));
	vsizes = xcalloc(sv->n, sizeof(*vsizes));
	idates = xcalloc(sv->n, sizeof(*idates));
	uids = xcalloc(sv->n, sizeof(*uids));
	keep = xcalloc(sv->n, sizeof(*keep));
	for (size_t i = 0; i < sv->n; i++) {
		struct mbox_scan *s = &sv->v[i];
		char *p;
		int mfd;

		if (n > 0 && strcmp(s->base, bases[n - 1]) == 0)
			continue;	/* in new/ and in cur/ */
		p = xasprintf("%s/%s", s->in_new ? f->dir_new : f->dir_cur,
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
		idates[n] = (int64_t)st.st_mtim.tv_sec;
		bases[n] = s->base;
		keep[n++] = i;
	}
	rc = mbox_ul_append(&f->ul, fd, bases, vsizes, n, uids);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		struct mbox_scan *s = &sv->v[keep[i]];
		struct mbox_ent *e = mbox_ent_new(s->base, strlen(s->base),
		    s->name);

		e->uid = uids[i];
		e->vsize = vsizes[i];
		e->idate = idates[i];
		e->flags = (uint8_t)s->flags;
		e->in_new = s->in_new;
		e->recent = s->recent;
		e->found = true;
		mbox_ent_add(f, e);
	}
	free(bases);
	free(vsizes);
	free(idates);
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
	struct mbox_fst *f = m->f;
	struct stat a, b, c;

	if (!f->stamps_ok || (f->new_left && !m->read_only) ||
	    stat(f->dir_new, &a) == -1 || stat(f->dir_cur, &b) == -1 ||
	    stat(f->ul.path, &c) == -1)
		return false;
	return mbox_stamp_eq(&f->mt_new, &a) && mbox_stamp_eq(&f->mt_cur, &b) &&
	    mbox_stamp_eq(&f->mt_ul, &c) && c.st_ino == f->ino_ul &&
	    c.st_size == f->size_ul;
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
	struct mbox_fst *f = m->f;
	struct mbox_scanv sv = { 0 };
	struct stat a, b;
	bool reset, dead = false, full, left = false;
	int rc;

	if (stat(f->dir_new, &a) == -1 || stat(f->dir_cur, &b) == -1)
		return -1;
	if (mbox_ul_is_new(&f->ul, *fdp))
		mbox_sync_forget(f);	/* read again from the top */
	if (mbox_ul_read(m->u, &f->ul, fdp, &reset, mbox_sync_rec, f) == -1)
		return -1;
	if (reset)
		mbox_sync_forget(f);	/* a new UIDVALIDITY: no lines */
	for (size_t i = 0; i < f->nents; i++)
		f->ents[i]->found = false;
	/* cur/ first: what the new/ scan moves into cur/ is then seen once. */
	if (mbox_sync_scan(f, m->read_only, &sv, false) == -1 ||
	    mbox_sync_scan(f, m->read_only, &sv, true) == -1) {
		mbox_scanv_free(&sv);
		return -1;
	}
	for (size_t i = 0; i < f->nents; i++) {
		struct mbox_ent *e = f->ents[i];

		if (!e->dead && e->found) {
			left = left || e->in_new;
			continue;
		}
		mbox_ent_kill(f, i);
		dead = true;
	}
	if (dead)
		mbox_ents_compact(f);
	rc = mbox_sync_assign(f, *fdp, &sv);
	full = sv.full;
	mbox_scanv_free(&sv);
	for (size_t i = 0; rc == 0 && i < f->nents; i++)
		left = left || f->ents[i]->in_new;
	f->new_left = m->read_only && left;
	if (rc == 0 && mbox_ul_wants_rewrite(&f->ul, f->nents))
		rc = mbox_ul_rewrite(&f->ul, fdp, f->ents, f->nents);
	if (rc == 0) {
		f->mt_new = a.st_mtim;
		f->mt_cur = b.st_mtim;
		if (fstat(*fdp, &a) == 0) {
			f->mt_ul = a.st_mtim;
			f->ino_ul = a.st_ino;
			f->size_ul = a.st_size;
			f->stamps_ok = !full && !mbox_stamp_recent(&f->mt_new) &&
			    !mbox_stamp_recent(&f->mt_cur) &&
			    !mbox_stamp_recent(&f->mt_ul);
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
	m->f->stamps_ok = false;
	if ((fd = mbox_ul_lock(&m->f->ul, LOCK_EX)) == -1)
		return -1;
	rc = mbox_sync_locked(m, &fd);
	saved = errno;
	if (fd != -1)
		close(fd);
	errno = saved;
	return rc == 0 ? 1 : -1;
}

static void
mbox_view_grow(struct mbox *m, size_t add)
{
	if (m->nmsgs + add <= m->capmsgs)
		return;
	m->capmsgs = m->nmsgs + add + m->nmsgs / 8 + 16;
	m->uids = xrealloc(m->uids, m->capmsgs * sizeof(*m->uids));
	m->bits = xrealloc(m->bits, m->capmsgs * sizeof(*m->bits));
}

/*
 * The view after a change of the shared state (both in UID order, one
 * merge): gone ones marked, flags changed by others, new ones appended
 * (recent for the first view that takes a message moved by a sync).
 */
static void
mbox_view_update(struct mbox *m, struct mbox_changes *ch)
{
	struct mbox_fst *f = m->f;
	uint32_t *changed = NULL, maxuid;
	size_t nchanged = 0, capchanged = 0, i, j = 0, first;

	for (i = 0; i < m->nmsgs; i++) {
		uint8_t *b = &m->bits[i];
		struct mbox_ent *e;

		if (*b & MBOX_V_GONE)
			continue;
		while (j < f->nents && (f->ents[j]->uid < m->uids[i] ||
		    f->ents[j]->dead))
			j++;
		if (j == f->nents || f->ents[j]->uid != m->uids[i]) {
			*b |= MBOX_V_GONE;
			continue;
		}
		e = f->ents[j];
		if (e->flags != (*b & MBOX_V_FLAGS)) {
			*b = (uint8_t)((*b & ~MBOX_V_FLAGS) | e->flags);
			if (nchanged == capchanged) {
				capchanged = capchanged == 0 ? 16 : 2 * capchanged;
				changed = xrealloc(changed,
				    capchanged * sizeof(*changed));
			}
			changed[nchanged++] = m->uids[i];
		}
	}
	maxuid = m->nmsgs > 0 ? m->uids[m->nmsgs - 1] : 0;
	for (first = f->nents; first > 0 && f->ents[first - 1]->uid > maxuid;)
		first--;
	if (first < f->nents) {
		size_t added = 0;

		mbox_view_grow(m, f->nents - first);
		for (i = first; i < f->nents; i++) {
			struct mbox_ent *e = f->ents[i];

			if (e->dead)
				continue;
			m->uids[m->nmsgs] = e->uid;
			m->bits[m->nmsgs] = e->flags;
			if (e->recent) {
				m->bits[m->nmsgs] |= MBOX_V_RECENT;
				m->nrecent++;
				e->recent = false;
			}
			m->nmsgs++;
			added++;
		}
		if (ch != NULL && added > 0)
			ch->exists_changed = true;
	}
	if (ch != NULL && nchanged > 0) {
		ch->flags_changed = xrealloc(ch->flags_changed,
		    (ch->nflags_changed + nchanged) * sizeof(*changed));
		for (i = 0; i < nchanged; i++)
			ch->flags_changed[ch->nflags_changed++] = changed[i];
	}
	free(changed);
	m->gen = f->gen;
}

int
mbox_sync(struct mbox *m, bool report_expunges, struct mbox_changes *ch)
{
	uint32_t recent = m->nrecent;
	size_t nflags = ch != NULL ? ch->nflags_changed : 0;

	/* Our flag changes durable before the session reports anything. */
	if (mbox_flush(m) == -1 || mbox_sync_disk(m, false) == -1)
		return -1;
	if (m->uidvalidity == 0)
		m->uidvalidity = m->f->ul.st.uidvalidity;
	else if (m->f->ul.st.uidvalidity != m->uidvalidity) {
		/* The uid list was lost: this view's UIDs mean nothing now.
		 * The session must end (RFC 3501 2.3.1.1). */
		errno = ESTALE;
		return -1;
	}
	if (m->gen != m->f->gen)
		mbox_view_update(m, ch);
	if (report_expunges) {
		bool *del = xcalloc(m->nmsgs + 1, sizeof(*del));

		for (size_t i = 0; i < m->nmsgs; i++)
			del[i] = (m->bits[i] & MBOX_V_GONE) != 0;
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
