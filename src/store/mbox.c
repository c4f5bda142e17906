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

/* ---- the entries' index by base name ------------------------------------ */

static uint32_t
mbox_hash_str(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

static void
mbox_hash_put(struct mbox *m, size_t idx)
{
	size_t mask = m->hashcap - 1;
	size_t i = mbox_hash_str(m->ents[idx].base) & mask;

	while (m->hash[i] != 0)
		i = (i + 1) & mask;
	m->hash[i] = (uint32_t)idx + 1;
}

static void
mbox_hash_rebuild(struct mbox *m, size_t want)
{
	size_t cap = 64;

	while (cap < 2 * want + 2)
		cap *= 2;
	free(m->hash);
	m->hash = xcalloc(cap, sizeof(*m->hash));
	m->hashcap = cap;
	for (size_t i = 0; i < m->nents; i++)
		mbox_hash_put(m, i);
}

struct mbox_ent *
mbox_ent_find(struct mbox *m, const char *base)
{
	size_t mask, i;

	if (m->hashcap == 0)
		return NULL;
	mask = m->hashcap - 1;
	for (i = mbox_hash_str(base) & mask; m->hash[i] != 0; i = (i + 1) & mask)
		if (m->ents[m->hash[i] - 1].base != NULL &&
		    strcmp(m->ents[m->hash[i] - 1].base, base) == 0)
			return &m->ents[m->hash[i] - 1];
	return NULL;
}

/* Appends e (UIDs increase); takes its strings. */
void
mbox_ent_add(struct mbox *m, const struct mbox_ent *e)
{
	if (m->nents == m->capents) {
		m->capents = m->capents == 0 ? 64 : m->capents * 2;
		m->ents = xrealloc(m->ents, m->capents * sizeof(*m->ents));
	}
	m->ents[m->nents++] = *e;
	if (2 * m->nents + 2 > m->hashcap)
		mbox_hash_rebuild(m, m->nents * 2);
	else
		mbox_hash_put(m, m->nents - 1);
}

/* Drops the entries whose base is NULL (dead). */
void
mbox_ents_compact(struct mbox *m)
{
	size_t j = 0;

	for (size_t i = 0; i < m->nents; i++)
		if (m->ents[i].base != NULL)
			m->ents[j++] = m->ents[i];
	m->nents = j;
	mbox_hash_rebuild(m, m->nents);
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
	m->dir = dir;
	m->dir_new = xasprintf("%s/new", dir);
	m->dir_cur = xasprintf("%s/cur", dir);
	m->dir_tmp = xasprintf("%s/tmp", dir);
	m->read_only = read_only;
	mbox_ul_init(&m->ul, dir);
	if (!read_only)
		mbox_tmp_clean(m->dir_tmp);
	if (mbox_sync(m, true, NULL) == -1) {
		mbox_seterr(err, errlen, "cannot read the folder: %s",
		    strerror(errno));
		mbox_close(&m);
		return NULL;
	}
	return m;
}

static void
mbox_msg_free(struct mbox_msg *msg)
{
	free(msg->base);
	free(msg->file);
}

void
mbox_close(struct mbox **mp)
{
	struct mbox *m = *mp;

	if (m == NULL)
		return;
	for (size_t i = 0; i < m->nents; i++) {
		free(m->ents[i].base);
		free(m->ents[i].file);
	}
	for (size_t i = 0; i < m->nmsgs; i++)
		mbox_msg_free(&m->msgs[i]);
	free(m->ents);
	free(m->hash);
	free(m->msgs);
	mbox_ul_free(&m->ul);
	free(m->name);
	free(m->dir);
	free(m->dir_new);
	free(m->dir_cur);
	free(m->dir_tmp);
	free(m);
	*mp = NULL;
}

uint32_t
mbox_uidvalidity(const struct mbox *m)
{
	return m->uidvalidity;
}

uint32_t
mbox_uidnext(const struct mbox *m)
{
	return mbox_ul_uidnext(&m->ul);
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

const struct mbox_msg *
mbox_msg(const struct mbox *m, uint32_t idx)
{
	return idx < m->nmsgs ? &m->msgs[idx] : NULL;
}

int64_t
mbox_find_uid(const struct mbox *m, uint32_t uid)
{
	size_t lo = 0, hi = m->nmsgs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (m->msgs[mid].uid == uid)
			return (int64_t)mid;
		if (m->msgs[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

const char *
mbox_dir_new(const struct mbox *m)
{
	return m->dir_new;
}

const char *
mbox_dir_cur(const struct mbox *m)
{
	return m->dir_cur;
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
mbox_msg_path(struct mbox *m, struct mbox_msg *msg, bool retry, int *lockfd)
{
	struct mbox_ent *e = mbox_ent_find(m, msg->base);
	char *name;

	if (!retry) {
		if (e != NULL && e->in_new)
			return xasprintf("%s/%s", m->dir_new, e->file);
		return xasprintf("%s/%s", m->dir_cur, msg->file);
	}
	/* Our sessions rename under the shared lock, and readdir() may miss
	 * a name renamed while it runs: look under the exclusive lock (a
	 * shared one held is converted), so that "gone" is true. */
	if (*lockfd == -1)
		*lockfd = mbox_ul_lock(&m->ul, LOCK_EX);
	else
		(void)mbox_ul_upgrade(&m->ul, lockfd);
	name = mbox_find_in_cur(m->dir_cur, msg->base);
	if (name == NULL)
		return NULL;
	free(msg->file);
	msg->file = xstrdup(name);
	if (e != NULL && e->uid == msg->uid) {
		free(e->file);
		e->file = xstrdup(name);
		e->in_new = false;
	}
	free(name);
	return xasprintf("%s/%s", m->dir_cur, msg->file);
}

int
mbox_msg_open(struct mbox *m, uint32_t idx)
{
	struct mbox_msg *msg;
	char *p;
	int fd = -1, lk = -1, saved;

	if (idx >= m->nmsgs || m->msgs[idx].gone) {
		errno = ENOENT;
		return -1;
	}
	msg = &m->msgs[idx];
	for (int retry = 0; retry < 2 && fd == -1; retry++) {
		p = mbox_msg_path(m, msg, retry == 1, &lk);
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
	return mbox_ul_lock(&m->ul, LOCK_SH);
}

/* Under the shared lock: rename to the name for flags. 0, 1 gone, -1. */
static int
mbox_set_flags_locked(struct mbox *m, struct mbox_msg *msg, unsigned flags,
    int *lockfd)
{
	struct mbox_ent *e;
	char *from, *to, *name;
	int rc = -1;

	for (int retry = 0; retry < 2 && rc == -1; retry++) {
		from = mbox_msg_path(m, msg, retry == 1, lockfd);
		if (from == NULL)
			return 1;
		name = mbox_flags_name(msg->base, msg->file, flags);
		to = xasprintf("%s/%s", m->dir_cur, name);
		/* Also when the name stays: rename() then tells if it is gone. */
		rc = rename(from, to);
		free(from);
		free(to);
		if (rc == 0) {
			free(msg->file);
			msg->file = name;
			msg->flags = flags;
			e = mbox_ent_find(m, msg->base);
			if (e != NULL && e->uid == msg->uid) {
				free(e->file);
				e->file = xstrdup(name);
				e->flags = flags;
				e->in_new = false;
			}
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
	if (m->msgs[idx].gone)
		return 1;
	flags &= MBOX_F_ALL;
	if (flags == m->msgs[idx].flags)
		return 0;
	if ((fd = mbox_lock_shared(m)) == -1)
		return -1;
	rc = mbox_set_flags_locked(m, &m->msgs[idx], flags, &fd);
	close(fd);
	/* The rename durable before the client's OK. */
	if (rc == 0 && mbox_fsync_dir(m->dir, "cur") == -1)
		rc = -1;
	if (rc == 1)
		m->msgs[idx].gone = true;
	return rc;
}

/* Under the shared lock: unlink msg's file. 0 (also when already gone),
 * -1. */
int
mbox_unlink_locked(struct mbox *m, struct mbox_msg *msg, int *lockfd)
{
	struct mbox_ent *e;
	char *p;

	for (int retry = 0; retry < 2; retry++) {
		p = mbox_msg_path(m, msg, retry == 1, lockfd);
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
	e = mbox_ent_find(m, msg->base);
	if (e != NULL && e->uid == msg->uid) {
		free(e->base);
		free(e->file);
		e->base = e->file = NULL;
	}
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
			m->msgs[j++] = m->msgs[i];
			continue;
		}
		if (m->msgs[i].recent)
			m->nrecent--;
		mbox_msg_free(&m->msgs[i]);
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
		struct mbox_msg *msg = &m->msgs[i];

		if (msg->gone || !(msg->flags & MBOX_F_DELETED) ||
		    (only != NULL && !only[i]))
			continue;
		if (mbox_unlink_locked(m, msg, &fd) == 0)
			del[i] = true;
		else
			rc = -1;
		n++;
	}
	close(fd);
	/* The unlinks durable before the client's OK: once per call. */
	if (n > 0 && mbox_fsync_dir(m->dir, "cur") == -1)
		rc = -1;
	mbox_ents_compact(m);
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
			failed += del[i] && !m->msgs[i].gone;
		return failed;
	}
	/* The view keeps its indexes (POP3 numbers): removed ones are gone. */
	for (size_t i = 0; i < m->nmsgs; i++) {
		if (!del[i] || m->msgs[i].gone)
			continue;
		if (mbox_unlink_locked(m, &m->msgs[i], &fd) == 0)
			m->msgs[i].gone = true;
		else
			failed++;
		n++;
	}
	close(fd);
	/* Durable before QUIT's +OK: a crash must not hand these to the
	 * client again. Once per call. */
	if (n > 0 && mbox_fsync_dir(m->dir, "cur") == -1)
		failed = n;
	mbox_ents_compact(m);
	return failed;
}
