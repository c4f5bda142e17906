/*
 * mbox_name: the names of store/mbox: folder names and their Maildir++
 * directories, flags in message file names (":2,DFRST", letters of other
 * tools kept), new unique base names, the vsize of a message and the
 * UIDVALIDITY stamp of a user's store.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
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
#include "store/mbox_int.h"

/* ---- names and paths ---------------------------------------------------- */

bool
mbox_name_is_inbox(const char *name)
{
	return strcasecmp(name, "INBOX") == 0;
}

bool
mbox_name_valid(const char *name)
{
	size_t len = strlen(name), level = 0, depth = 1, disk;

	if (len == 0 || len > MBOX_FOLDER_NAME_MAX)
		return false;
	/* The directory ".a.b" must fit NAME_MAX: a leading ".", and each "."
	 * of the name written "%2E" ("%" itself is refused below). */
	disk = 1 + len;
	for (size_t i = 0; i < len; i++)
		if (name[i] == '.')
			disk += 2;
	if (disk > NAME_MAX)
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

/* A real directory, not a symlink to one (lstat). */
static bool
mbox_is_dir(const char *dir, const char *sub)
{
	char *p = sub == NULL ? xstrdup(dir) : xasprintf("%s/%s", dir, sub);
	struct stat st;
	bool ok = lstat(p, &st) == 0 && S_ISDIR(st.st_mode);

	free(p);
	return ok;
}

/* dir/sub is absent, or a directory that is no symlink. */
static bool
mbox_no_link(const char *dir, const char *sub)
{
	char *p = xasprintf("%s/%s", dir, sub);
	struct stat st;
	bool ok = lstat(p, &st) == 0 ? S_ISDIR(st.st_mode) : errno == ENOENT;

	free(p);
	return ok;
}

/* dir and its cur/ are directories, neither a symlink, and new/ and tmp/
 * if present are no symlinks either: a symlink planted in the root (to
 * another user's Maildir, to /etc) is neither listed nor opened. The
 * path's parents (the root given) are followed as they are. */
bool
mbox_is_maildir(const char *dir)
{
	return mbox_is_dir(dir, NULL) && mbox_is_dir(dir, "cur") &&
	    mbox_no_link(dir, "new") && mbox_no_link(dir, "tmp");
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
	struct stat st;
	bool fresh = false;

	if (fd != -1) {
		flock(fd, LOCK_EX);
		fresh = fstat(fd, &st) == 0 && st.st_size == 0;
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
		v = 1;	/* Known limit: after 2106 or 4 billion folders; wraps */
	if (fd != -1) {
		/*
		 * Durable before the value is used: in place (the file is
		 * also the lock, so it is never replaced), one small write
		 * over the old value (never shorter: values increase, a wrap
		 * to 1 excepted), then the length, then fdatasync; a new file
		 * also gets its directory entry synced. Best effort: without
		 * it the time still moves on.
		 */
		n = snprintf(buf, sizeof(buf), "%" PRIu64 "\n", v);
		bool ok = pwrite(fd, buf, (size_t)n, 0) == n &&
		    ftruncate(fd, n) == 0 && fdatasync(fd) == 0;

		if (ok && fresh)
			(void)mbox_fsync_dir(u->root, ".");
		close(fd);
	}
	free(p);
	return (uint32_t)v;
}
