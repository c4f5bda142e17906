/*
 * mbox: a user's store and one open folder (store/mbox.h): the handles,
 * folder paths (Maildir++), flags in file names, the view's accessors,
 * flag changes, expunges, reading a message and POP3's lock. Syncing with
 * the disk is mbox_sync.c, folders mbox_folder.c, APPEND/COPY/MOVE
 * mbox_append.c, the uid list file mbox_ul.c.
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

/* ---- names and paths ---------------------------------------------------- */

bool
mbox_name_is_inbox(const char *name)
{
	return strcasecmp(name, "INBOX") == 0;
}

bool
mbox_name_valid(const char *name)
{
	size_t len = strlen(name), level = 0, depth = 1;

	if (len == 0 || len > MBOX_FOLDER_NAME_MAX)
		return false;
	for (size_t i = 0; i <= len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c == '/' || c == '\0') {
			/* No empty level, no "." or "..". */
			if (level == 0 ||
			    (level == 1 && name[i - 1] == '.') ||
			    (level == 2 && name[i - 1] == '.' && name[i - 2] == '.'))
				return false;
			if (c == '/' && ++depth > MBOX_DEPTH_MAX)
				return false;
			level = 0;
			continue;
		}
		if (c < 0x20 || c > 0x7e || c == '*' || c == '%')
			return false;
		level++;
	}
	return true;
}

/* "INBOX" -> root; "a/b" -> root/.a.b with "." and "%" as %2E, %25. A
 * first level "inbox" in any case is written "INBOX". NULL if invalid. */
char *
mbox_folder_dir(const struct mbox_user *u, const char *name)
{
	struct buf b;
	char *out;
	size_t start;

	if (mbox_name_is_inbox(name))
		return xstrdup(u->root);
	if (!mbox_name_valid(name))
		return NULL;
	buf_init(&b, MBOX_DIR_MAX);
	buf_printf(&b, "%s/.", u->root);
	start = b.len;
	if (strncasecmp(name, "INBOX/", 6) == 0) {
		buf_append_str(&b, "INBOX");
		name += 5;
	}
	for (const char *p = name; *p != '\0'; p++) {
		if (*p == '/')
			buf_append_str(&b, ".");
		else if (*p == '.' || *p == '%')
			buf_printf(&b, "%%%02X", (unsigned char)*p);
		else
			buf_append(&b, p, 1);
	}
	/* NAME_MAX for the directory's name, its "." included. */
	out = b.overflowed || b.len - start + 1 > 255 ? NULL : xstrdup(b.data);
	buf_free(&b);
	return out;
}

bool
mbox_is_maildir(const char *dir)
{
	char *p = xasprintf("%s/cur", dir);
	struct stat st;
	bool ok = stat(p, &st) == 0 && S_ISDIR(st.st_mode);

	free(p);
	return ok;
}

/* dir with new/ and cur/ before tmp/ (a delivery that finds tmp/ must find
 * new/, store/maildir.c), mode 0700. */
int
mbox_maildir_make(const char *dir)
{
	static const char *const subs[] = { "new", "cur", "tmp" };

	if (mkdir(dir, 0700) == -1 && errno != EEXIST)
		return -1;
	for (size_t i = 0; i < 3; i++) {
		char *p = xasprintf("%s/%s", dir, subs[i]);
		int rc = mkdir(p, 0700);

		free(p);
		if (rc == -1 && errno != EEXIST)
			return -1;
	}
	return 0;
}

/* ---- flags in names ----------------------------------------------------- */

static const struct {
	char		 letter;
	unsigned	 flag;
} mbox_letters[] = {
	{ 'D', MBOX_F_DRAFT }, { 'F', MBOX_F_FLAGGED }, { 'R', MBOX_F_ANSWERED },
	{ 'S', MBOX_F_SEEN }, { 'T', MBOX_F_DELETED },
};

size_t
mbox_base_len(const char *name)
{
	const char *colon = strchr(name, ':');

	return colon == NULL ? strlen(name) : (size_t)(colon - name);
}

static const char *
mbox_info(const char *name)
{
	const char *colon = strchr(name, ':');

	return colon != NULL && colon[1] == '2' && colon[2] == ',' ?
	    colon + 3 : NULL;
}

unsigned
mbox_flags_from_name(const char *name)
{
	const char *info = mbox_info(name);
	unsigned f = 0;

	for (; info != NULL && *info != '\0'; info++)
		for (size_t i = 0; i < sizeof(mbox_letters) / sizeof(mbox_letters[0]); i++)
			if (*info == mbox_letters[i].letter)
				f |= mbox_letters[i].flag;
	return f;
}

/* base ":2," and the letters in ASCII order: ours from flags, and the
 * unknown ones of oldname (other tools' keywords) kept as they are. */
char *
mbox_flags_name(const char *base, const char *oldname, unsigned flags)
{
	bool set[128] = { false };
	const char *info = oldname != NULL ? mbox_info(oldname) : NULL;
	struct buf b;
	char *out;

	for (; info != NULL && *info != '\0'; info++)
		if (*info > 0x20 && *info < 0x7f && *info != '/')
			set[(unsigned char)*info] = true;
	for (size_t i = 0; i < sizeof(mbox_letters) / sizeof(mbox_letters[0]); i++)
		set[(unsigned char)mbox_letters[i].letter] =
		    (flags & mbox_letters[i].flag) != 0;
	buf_init(&b, MBOX_DIR_MAX);
	buf_printf(&b, "%s:2,", base);
	for (int c = 0x21; c < 0x7f; c++)
		if (set[c]) {
			char ch = (char)c;

			buf_append(&b, &ch, 1);
		}
	out = xstrdup(b.data);
	buf_free(&b);
	return out;
}

/* The name in cur/ of the message base now (another session may have
 * renamed it), or NULL. */
char *
mbox_find_in_cur(const char *dir_cur, const char *base)
{
	size_t n = strlen(base);
	struct dirent *de;
	char *found = NULL;
	DIR *d = opendir(dir_cur);

	if (d == NULL)
		return NULL;
	while (found == NULL && (de = readdir(d)) != NULL)
		if (strncmp(de->d_name, base, n) == 0 &&
		    (de->d_name[n] == '\0' || de->d_name[n] == ':'))
			found = xstrdup(de->d_name);
	closedir(d);
	return found;
}

/* ---- vsize and unique names --------------------------------------------- */

/* Size with CRLF line ends: every LF not after a CR counts twice. */
int
mbox_vsize_fd(int fd, uint64_t *vsize)
{
	char *chunk = xmalloc(65536);
	uint64_t n = 0;
	bool cr = false;
	ssize_t r;

	for (;;) {
		r = read(fd, chunk, 65536);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (uint64_t)r;
		for (const char *p = chunk, *end = chunk + r; p < end;) {
			const char *lf = memchr(p, '\n', (size_t)(end - p));

			if (lf == NULL)
				break;
			if (!(lf == chunk ? cr : lf[-1] == '\r'))
				n++;
			p = lf + 1;
		}
		cr = chunk[r - 1] == '\r';
	}
	free(chunk);
	*vsize = n;
	return r < 0 ? -1 : 0;
}

char *
mbox_unique_base(struct mbox_user *u)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return xasprintf("%lld.M%ldP%ldQ%u.%s", (long long)tv.tv_sec,
	    (long)tv.tv_usec, (long)getpid(), ++u->counter, u->host);
}

/* max(now, above + 1, the last one given in this store + 1), remembered
 * in the root so that a folder deleted and made again within a second
 * still gets a new one (RFC 3501 2.3.1.1). */
uint32_t
mbox_user_uidvalidity(struct mbox_user *u, uint32_t above)
{
	char *p = xasprintf("%s/%s", u->root, MBOX_UIDVALIDITY_FILE);
	char buf[16];
	uint64_t v = (uint64_t)time(NULL), last = 0;
	ssize_t n;
	int fd = open(p, O_RDWR | O_CREAT | MBOX_O_FILE, 0600);

	if (fd != -1) {
		flock(fd, LOCK_EX);
		n = pread(fd, buf, sizeof(buf) - 1, 0);
		if (n > 0) {
			buf[n] = '\0';
			last = strtoull(buf, NULL, 10);
			if (last >= UINT32_MAX)
				last = 0;
		}
	}
	if (v <= last)
		v = last + 1;
	if (v <= above)
		v = (uint64_t)above + 1;
	if (v >= UINT32_MAX)
		v = 1;	/* XXX: after 2106 or 4 billion folders; wraps */
	if (fd != -1) {
		n = snprintf(buf, sizeof(buf), "%" PRIu64 "\n", v);
		/* Best effort: without it the time still moves on. */
		bool ok = ftruncate(fd, 0) == 0 &&
		    pwrite(fd, buf, (size_t)n, 0) == n;

		(void)ok;
		close(fd);
	}
	free(p);
	return (uint32_t)v;
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
		while (flock(*lockfd, LOCK_EX) == -1 && errno == EINTR)
			;
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
	}
	close(fd);
	mbox_ents_compact(m);
	mbox_view_remove(m, del, ch);
	free(del);
	return rc;
}

size_t
mbox_delete(struct mbox *m, const bool *del)
{
	size_t failed = 0;
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
	}
	close(fd);
	mbox_ents_compact(m);
	return failed;
}
