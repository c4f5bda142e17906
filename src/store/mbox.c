/*
 * mbox: a user's store and one open folder (store/mbox.h): the handles,
 * the entries' index, the view's accessors, flag changes, expunges,
 * reading a message and POP3's lock. Syncing with the disk is
 * mbox_sync.c, folders mbox_folder.c, APPEND/COPY/MOVE mbox_append.c, the
 * uid list file mbox_ul.c, names (folders, flags, unique) mbox_name.c.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/xalloc.h"
#include "store/maildir.h"
#include "store/mbox_int.h"

void
mbox_seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

char *
mbox_root(const char *mailbox_key)
{
	return maildir_user_dir(mailbox_key);
}

/* ---- the user ----------------------------------------------------------- */

static void
mbox_user_host(struct mbox_user *u)
{
	char h[256];
	size_t j = 0;

	if (gethostname(h, sizeof(h)) != 0)
		h[0] = '\0';
	h[sizeof(h) - 1] = '\0';
	/* Maildir-safe: no "/" ":" "," or controls in a base name. */
	for (size_t i = 0; h[i] != '\0' && j + 1 < sizeof(u->host); i++) {
		char c = h[i];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.')
			u->host[j++] = c;
	}
	if (j == 0)
		j = (size_t)snprintf(u->host, sizeof(u->host), "postern");
	u->host[j] = '\0';
}

struct mbox_user *
mbox_user_open(const char *root, char *err, size_t errlen)
{
	struct mbox_user *u;
	char *tmp;

	if (root == NULL || root[0] == '\0' || root[0] == '/' ||
	    strlen(root) > MBOX_DIR_MAX / 2) {
		mbox_seterr(err, errlen, "bad mailbox root");
		return NULL;
	}
	u = xcalloc(1, sizeof(*u));
	u->root = xstrdup(root);
	mbox_user_host(u);
	/* The parents (the domain's directory) first, then the Maildir. */
	tmp = xstrdup(root);
	for (char *s = strchr(tmp, '/'); s != NULL; s = strchr(s + 1, '/')) {
		*s = '\0';
		if (mkdir(tmp, 0700) == -1 && errno != EEXIST)
			break;
		*s = '/';
	}
	free(tmp);
	if (mbox_maildir_make(root) == -1) {
		mbox_seterr(err, errlen, "cannot make the mailbox: %s",
		    strerror(errno));
		mbox_user_close(&u);
		return NULL;
	}
	if (mbox_user_setup(u, err, errlen) == -1) {
		mbox_user_close(&u);
		return NULL;
	}
	return u;
}

void
mbox_user_close(struct mbox_user **up)
{
	struct mbox_user *u = *up;

	if (u == NULL)
		return;
	if (u->aux_dir != NULL)
		mbox_ul_free(&u->aux);
	free(u->aux_dir);
	free(u->root);
	free(u);
	*up = NULL;
}

const char *
mbox_user_root(const struct mbox_user *u)
{
	return u->root;
}

int
mbox_pop3_lock(struct mbox_user *u)
{
	char *p = xasprintf("%s/%s", u->root, MBOX_POP3_LOCK);
	int fd = open(p, O_RDWR | O_CREAT | MBOX_O_FILE, 0600), saved;

	free(p);
	if (fd == -1)
		return -1;
	while (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		if (errno == EINTR)
			continue;
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

/* ---- the shared records and their index by base name ------------------- */

static uint32_t
mbox_hash_mem(const char *s, size_t n)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return h;
}

static void
mbox_hash_put(struct mbox_fst *f, size_t idx)
{
	size_t mask = f->hashcap - 1;
	size_t i = mbox_hash_mem(f->ents[idx]->file, f->ents[idx]->baselen) &
	    mask;

	while (f->hash[i] != 0)
		i = (i + 1) & mask;
	f->hash[i] = (uint32_t)idx + 1;
}

static void
mbox_hash_rebuild(struct mbox_fst *f, size_t want)
{
	size_t cap = 64;

	while (cap < 2 * want + 2)
		cap *= 2;
	free(f->hash);
	f->hash = xcalloc(cap, sizeof(*f->hash));
	f->hashcap = cap;
	for (size_t i = 0; i < f->nents; i++)
		mbox_hash_put(f, i);
}

struct mbox_ent *
mbox_ent_new(const char *base, size_t blen, const char *file)
{
	size_t flen = file != NULL ? strlen(file) : blen;
	struct mbox_ent *e = xmalloc(sizeof(*e) + flen + 1);

	memset(e, 0, sizeof(*e));
	e->idate = MBOX_IDATE_UNKNOWN;
	e->baselen = (uint16_t)blen;	/* < MBOX_UIDLIST_LINE_MAX */
	memcpy(e->file, file != NULL ? file : base, flen);
	e->file[flen] = '\0';
	return e;
}

void
mbox_ent_set_file(struct mbox_fst *f, size_t i, const char *file)
{
	struct mbox_ent *e = f->ents[i];
	size_t flen = strlen(file);

	if (strcmp(e->file, file) == 0)
		return;
	e = xrealloc(e, sizeof(*e) + flen + 1);
	memcpy(e->file, file, flen + 1);
	f->ents[i] = e;
}

int64_t
mbox_ent_find(const struct mbox_fst *f, const char *base, size_t blen)
{
	size_t mask, i;

	if (f->hashcap == 0)
		return -1;
	mask = f->hashcap - 1;
	for (i = mbox_hash_mem(base, blen) & mask; f->hash[i] != 0;
	    i = (i + 1) & mask) {
		const struct mbox_ent *e = f->ents[f->hash[i] - 1];

		if (!e->dead && e->baselen == blen &&
		    memcmp(e->file, base, blen) == 0)
			return (int64_t)f->hash[i] - 1;
	}
	return -1;
}

int64_t
mbox_ent_by_uid(const struct mbox_fst *f, uint32_t uid)
{
	size_t lo = 0, hi = f->nents;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (f->ents[mid]->uid == uid)
			return f->ents[mid]->dead ? -1 : (int64_t)mid;
		if (f->ents[mid]->uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

void
mbox_ent_add(struct mbox_fst *f, struct mbox_ent *e)
{
	if (f->nents == f->capents) {
		f->capents = f->capents == 0 ? 64 : f->capents * 2;
		f->ents = xrealloc(f->ents, f->capents * sizeof(struct mbox_ent *));
	}
	f->ents[f->nents++] = e;
	f->gen++;
	if (2 * f->nents + 2 > f->hashcap)
		mbox_hash_rebuild(f, f->nents * 2);
	else
		mbox_hash_put(f, f->nents - 1);
}

void
mbox_ent_kill(struct mbox_fst *f, size_t i)
{
	f->ents[i]->dead = true;
	f->gen++;
}

/* Frees the dead records. */
void
mbox_ents_compact(struct mbox_fst *f)
{
	size_t j = 0;

	for (size_t i = 0; i < f->nents; i++) {
		if (f->ents[i]->dead)
			free(f->ents[i]);
		else
			f->ents[j++] = f->ents[i];
	}
	if (j == f->nents && f->hash != NULL)
		return;
	f->nents = j;
	if (f->capents > 64 && f->nents < f->capents / 4) {
		f->capents /= 2;
		f->ents = xrealloc(f->ents, f->capents * sizeof(struct mbox_ent *));
	}
	mbox_hash_rebuild(f, f->nents);
}

/* ---- the shared states: one per folder directory in this process -------- */

static struct mbox_fst *mbox_fsts;

static struct mbox_fst *
mbox_fst_get(char *dir)
{
	struct mbox_fst *f;

	for (f = mbox_fsts; f != NULL; f = f->next)
		if (strcmp(f->dir, dir) == 0) {
			f->refs++;
			free(dir);
			return f;
		}
	f = xcalloc(1, sizeof(*f));
	f->refs = 1;
	f->dir = dir;
	f->dir_new = xasprintf("%s/new", dir);
	f->dir_cur = xasprintf("%s/cur", dir);
	f->dir_tmp = xasprintf("%s/tmp", dir);
	mbox_ul_init(&f->ul, dir);
	f->next = mbox_fsts;
	mbox_fsts = f;
	return f;
}

static void
mbox_fst_put(struct mbox_fst *f)
{
	struct mbox_fst **pp;

	if (f == NULL || --f->refs > 0)
		return;
	for (pp = &mbox_fsts; *pp != NULL; pp = &(*pp)->next)
		if (*pp == f) {
			*pp = f->next;
			break;
		}
	for (size_t i = 0; i < f->nents; i++)
		free(f->ents[i]);
	free(f->ents);
	free(f->hash);
	mbox_ul_free(&f->ul);
	free(f->dir);
	free(f->dir_new);
	free(f->dir_cur);
	free(f->dir_tmp);
	free(f);
}

/* ---- one open folder ---------------------------------------------------- */

/*
 * Files left in tmp/ by a crash (an APPEND or a delivery cut short) go
 * after 36 hours, as Maildir readers do. By ctime, which only the kernel
 * sets: an APPEND sets an old mtime (its internal date) before its rename.
 */
static void
mbox_tmp_clean(const char *dir_tmp)
{
	DIR *d = opendir(dir_tmp);
	struct dirent *de;
	struct stat st;
	time_t old = time(NULL) - MBOX_TMP_MAX_SEC;

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.' &&
		    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISREG(st.st_mode) && st.st_ctim.tv_sec < old)
			(void)unlinkat(dirfd(d), de->d_name, 0);
	closedir(d);
}

struct mbox *
mbox_open(struct mbox_user *u, const char *name, bool read_only, char *err,
    size_t errlen)
{
	char *dir = mbox_folder_dir(u, name);
	struct mbox *m;
	bool first;

	if (dir == NULL) {
		mbox_seterr(err, errlen, "invalid folder name");
		return NULL;
	}
	if (!mbox_is_maildir(dir)) {
		free(dir);
		mbox_seterr(err, errlen, "no such folder");
		return NULL;
	}
	m = xcalloc(1, sizeof(*m));
	m->u = u;
	m->name = xstrdup(mbox_name_is_inbox(name) ? "INBOX" : name);
	m->f = mbox_fst_get(dir);
	m->sc = xcalloc(1, sizeof(*m->sc));
	m->read_only = read_only;
	m->gen = UINT64_MAX;	/* never seen: the first sync fills the view */
	first = m->f->refs == 1;
	if (!read_only && first)
		mbox_tmp_clean(m->f->dir_tmp);
	if (mbox_sync(m, true, NULL) == -1) {
		mbox_seterr(err, errlen, "cannot read the folder: %s",
		    strerror(errno));
		mbox_close(&m);
		return NULL;
	}
	return m;
}

int
mbox_flush(struct mbox *m)
{
	if (!m->cur_dirty)
		return 0;
	m->cur_dirty = false;
	return mbox_fsync_dir(m->f->dir, "cur");
}

void
mbox_close(struct mbox **mp)
{
	struct mbox *m = *mp;

	if (m == NULL)
		return;
	(void)mbox_flush(m);	/* Known limit: nobody to tell of a failure */
	mbox_fst_put(m->f);
	free(m->uids);
	free(m->bits);
	free(m->sc);
	free(m->name);
	free(m);
	*mp = NULL;
}

const char *
mbox_folder_name(const struct mbox *m)
{
	return m->name;
}

uint32_t
mbox_uidvalidity(const struct mbox *m)
{
	return m->uidvalidity;
}

uint32_t
mbox_uidnext(const struct mbox *m)
{
	return mbox_ul_uidnext(&m->f->ul);
}

uint32_t
mbox_count(const struct mbox *m)
{
	return (uint32_t)m->nmsgs;
}

uint32_t
mbox_recent(const struct mbox *m)
{
	return m->nrecent;
}

/* The internal date, stat'ed once per process and record. */
static int64_t
mbox_ent_idate(const struct mbox_fst *f, struct mbox_ent *e)
{
	struct stat st;
	char *p;

	if (e->idate != MBOX_IDATE_UNKNOWN)
		return e->idate;
	p = xasprintf("%s/%s", e->in_new ? f->dir_new : f->dir_cur, e->file);
	if (stat(p, &st) == 0)
		e->idate = (int64_t)st.st_mtim.tv_sec;
	free(p);
	return e->idate == MBOX_IDATE_UNKNOWN ? 0 : e->idate;
}

/*
 * A copy made from the view and the shared record, in one of the
 * MBOX_SCRATCH slots of m: valid until the MBOX_SCRATCH-th next call
 * (and mbox_close()). A message no longer in the shared state (expunged
 * by another session of this process, not yet reported) is gone, with
 * vsize and internaldate 0.
 */
const struct mbox_msg *
mbox_msg(const struct mbox *m, uint32_t idx)
{
	struct mbox_msg *msg;
	int64_t i;

	if (idx >= m->nmsgs)
		return NULL;
	msg = &m->sc->v[m->sc->next];
	m->sc->next = (m->sc->next + 1) % MBOX_SCRATCH;
	memset(msg, 0, sizeof(*msg));
	msg->uid = m->uids[idx];
	msg->flags = m->bits[idx] & MBOX_V_FLAGS;
	msg->recent = (m->bits[idx] & MBOX_V_RECENT) != 0;
	msg->gone = (m->bits[idx] & MBOX_V_GONE) != 0;
	if (!msg->gone) {
		i = mbox_ent_by_uid(m->f, msg->uid);
		if (i < 0)
			msg->gone = true;
		else {
			msg->vsize = m->f->ents[i]->vsize;
			msg->internaldate = mbox_ent_idate(m->f,
			    m->f->ents[i]);
		}
	}
	return msg;
}

const char *
mbox_msg_file(const struct mbox *m, uint32_t idx)
{
	int64_t i;

	if (idx >= m->nmsgs || (m->bits[idx] & MBOX_V_GONE) ||
	    (i = mbox_ent_by_uid(m->f, m->uids[idx])) < 0)
		return NULL;
	return m->f->ents[i]->file;
}

int64_t
mbox_find_uid(const struct mbox *m, uint32_t uid)
{
	size_t lo = 0, hi = m->nmsgs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (m->uids[mid] == uid)
			return (int64_t)mid;
		if (m->uids[mid] < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

const char *
mbox_dir_new(const struct mbox *m)
{
	return m->f->dir_new;
}

const char *
mbox_dir_cur(const struct mbox *m)
{
	return m->f->dir_cur;
}

void
mbox_changes_clear(struct mbox_changes *ch)
{
	if (ch == NULL)
		return;
	free(ch->expunged);
	free(ch->flags_changed);
	memset(ch, 0, sizeof(*ch));
}

/* ---- flags, reading, expunging ------------------------------------------ */

char *
mbox_msg_path(struct mbox *m, uint32_t idx, bool retry, int *lockfd)
{
	struct mbox_fst *f = m->f;
	int64_t i = mbox_ent_by_uid(f, m->uids[idx]);
	struct mbox_ent *e;
	char *name, *base;

	if (i < 0)
		return NULL;	/* dropped by a sync: gone */
	e = f->ents[i];
	if (!retry)
		return xasprintf("%s/%s", e->in_new ? f->dir_new : f->dir_cur,
		    e->file);
	/* Our sessions rename under the shared lock, and readdir() may miss
	 * a name renamed while it runs: look under the exclusive lock (a
	 * shared one held is converted), so that "gone" is true. */
	if (*lockfd == -1)
		*lockfd = mbox_ul_lock(&f->ul, LOCK_EX);
	else
		(void)mbox_ul_upgrade(&f->ul, lockfd);
	base = xstrndup(e->file, e->baselen);
	name = mbox_find_in_cur(f->dir_cur, base);
	free(base);
	if (name == NULL)
		return NULL;
	mbox_ent_set_file(f, (size_t)i, name);
	f->ents[i]->in_new = false;
	free(name);
	return xasprintf("%s/%s", f->dir_cur, f->ents[i]->file);
}

int
mbox_msg_open(struct mbox *m, uint32_t idx)
{
	char *p;
	int fd = -1, lk = -1, saved;

	if (idx >= m->nmsgs || (m->bits[idx] & MBOX_V_GONE)) {
		errno = ENOENT;
		return -1;
	}
	for (int retry = 0; retry < 2 && fd == -1; retry++) {
		p = mbox_msg_path(m, idx, retry == 1, &lk);
		if (p == NULL) {
			errno = ENOENT;
			break;
		}
		fd = open(p, O_RDONLY | MBOX_O_FILE);
		free(p);
		if (fd == -1 && errno != ENOENT)
			break;
	}
	if (lk != -1) {
		saved = errno;
		close(lk);
		errno = saved;
	}
	return fd;
}

int
mbox_lock_shared(struct mbox *m)
{
	return mbox_ul_lock(&m->f->ul, LOCK_SH);
}

/* Under the shared lock: rename to the name for flags. 0, 1 gone, -1. */
static int
mbox_set_flags_locked(struct mbox *m, uint32_t idx, unsigned flags,
    int *lockfd)
{
	struct mbox_fst *f = m->f;
	char *from, *to, *name, *base;
	int64_t i;
	int rc = -1;

	for (int retry = 0; retry < 2 && rc == -1; retry++) {
		from = mbox_msg_path(m, idx, retry == 1, lockfd);
		if (from == NULL)
			return 1;
		i = mbox_ent_by_uid(f, m->uids[idx]);	/* still there */
		base = xstrndup(f->ents[i]->file, f->ents[i]->baselen);
		name = mbox_flags_name(base, f->ents[i]->file, flags);
		free(base);
		to = xasprintf("%s/%s", f->dir_cur, name);
		/* Also when the name stays: rename() then tells if it is gone. */
		rc = rename(from, to);
		free(from);
		free(to);
		if (rc == 0) {
			mbox_ent_set_file(f, (size_t)i, name);
			f->ents[i]->flags = (uint8_t)flags;
			f->ents[i]->in_new = false;
			f->gen++;	/* the others report it */
			m->bits[idx] = (uint8_t)((m->bits[idx] & ~MBOX_V_FLAGS) |
			    flags);
			free(name);
			return 0;
		}
		free(name);
		if (errno != ENOENT)
			return -1;
	}
	return 1;
}

int
mbox_set_flags(struct mbox *m, uint32_t idx, unsigned flags)
{
	int fd, rc;

	if (m->read_only || idx >= m->nmsgs)
		return -1;
	if (m->bits[idx] & MBOX_V_GONE)
		return 1;
	flags &= MBOX_F_ALL;
	if (flags == (m->bits[idx] & MBOX_V_FLAGS))
		return 0;
	if ((fd = mbox_lock_shared(m)) == -1)
		return -1;
	rc = mbox_set_flags_locked(m, idx, flags, &fd);
	if (fd != -1)
		close(fd);
	/* Durable before the client's OK: mbox_flush() at the next sync or
	 * close, one fsync for a whole STORE or FETCH. */
	if (rc == 0)
		m->cur_dirty = true;
	if (rc == 1)
		m->bits[idx] |= MBOX_V_GONE;
	return rc;
}

/* Under the shared lock: unlink the file of view message idx. 0 (also
 * when already gone), -1. */
int
mbox_unlink_locked(struct mbox *m, uint32_t idx, int *lockfd)
{
	struct mbox_fst *f = m->f;
	char *p;
	int64_t i;

	for (int retry = 0; retry < 2; retry++) {
		p = mbox_msg_path(m, idx, retry == 1, lockfd);
		if (p == NULL)
			break;
		if (unlink(p) == 0) {
			free(p);
			break;
		}
		free(p);
		if (errno != ENOENT)
			return -1;
	}
	/* Dead: dropped by the caller's mbox_ents_compact(). */
	if ((i = mbox_ent_by_uid(f, m->uids[idx])) >= 0)
		mbox_ent_kill(f, (size_t)i);
	return 0;
}

void
mbox_view_remove(struct mbox *m, const bool *del, struct mbox_changes *ch)
{
	size_t n = 0, j = 0;

	for (size_t i = 0; i < m->nmsgs; i++)
		n += del[i];
	if (n == 0)
		return;
	if (ch != NULL) {
		ch->expunged = xrealloc(ch->expunged,
		    (ch->nexpunged + n) * sizeof(*ch->expunged));
		for (size_t i = m->nmsgs; i-- > 0;)
			if (del[i])
				ch->expunged[ch->nexpunged++] = (uint32_t)i + 1;
		ch->exists_changed = true;
	}
	for (size_t i = 0; i < m->nmsgs; i++) {
		if (!del[i]) {
			m->uids[j] = m->uids[i];
			m->bits[j++] = m->bits[i];
			continue;
		}
		if (m->bits[i] & MBOX_V_RECENT)
			m->nrecent--;
	}
	m->nmsgs = j;
}

int
mbox_expunge(struct mbox *m, const bool *only, struct mbox_changes *ch)
{
	bool *del;
	size_t n = 0;
	int fd, rc = 0;

	if (m->read_only)
		return -1;
	if (m->nmsgs == 0)
		return 0;
	if ((fd = mbox_lock_shared(m)) == -1)
		return -1;
	del = xcalloc(m->nmsgs, sizeof(*del));
	for (size_t i = 0; i < m->nmsgs; i++) {
		uint8_t b = m->bits[i];

		if ((b & MBOX_V_GONE) || !(b & MBOX_F_DELETED) ||
		    (only != NULL && !only[i]))
			continue;
		if (mbox_unlink_locked(m, (uint32_t)i, &fd) == 0)
			del[i] = true;
		else
			rc = -1;
		n++;
	}
	if (fd != -1)
		close(fd);
	/* The unlinks durable before the client's OK: once per call (it
	 * covers pending flag changes too). */
	if ((n > 0 || m->cur_dirty) && mbox_fsync_dir(m->f->dir, "cur") == -1)
		rc = -1;
	m->cur_dirty = false;
	mbox_ents_compact(m->f);
	mbox_view_remove(m, del, ch);
	free(del);
	return rc;
}

size_t
mbox_delete(struct mbox *m, const bool *del)
{
	size_t failed = 0, n = 0;
	int fd;

	if (m->read_only)
		return 0;
	if ((fd = mbox_lock_shared(m)) == -1) {
		for (size_t i = 0; i < m->nmsgs; i++)
			failed += del[i] && !(m->bits[i] & MBOX_V_GONE);
		return failed;
	}
	/* The view keeps its indexes (POP3 numbers): removed ones are gone. */
	for (size_t i = 0; i < m->nmsgs; i++) {
		if (!del[i] || (m->bits[i] & MBOX_V_GONE))
			continue;
		if (mbox_unlink_locked(m, (uint32_t)i, &fd) == 0)
			m->bits[i] |= MBOX_V_GONE;
		else
			failed++;
		n++;
	}
	if (fd != -1)
		close(fd);
	/* Durable before QUIT's +OK: a crash must not hand these to the
	 * client again. Once per call. */
	if (n > 0 && mbox_fsync_dir(m->f->dir, "cur") == -1)
		failed = n;
	mbox_ents_compact(m->f);
	return failed;
}
