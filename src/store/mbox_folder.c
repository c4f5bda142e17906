/*
 * mbox_folder: a user's folders (store/mbox.h): Maildir++ directories in
 * the root (".a.b" for "a/b"), made, deleted, renamed and listed, the
 * subscriptions file, STATUS, and the special-use folders of the first
 * login (RFC 3501 6.3.3-6.3.10, RFC 6154).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/io.h"
#include "core/xalloc.h"
#include "store/mbox_int.h"

#define MBOX_SUBS_BYTES_MAX	(MBOX_FOLDERS_MAX * (MBOX_FOLDER_NAME_MAX + 1))

static const struct {
	const char		*name;
	enum mbox_special	 special;
} mbox_specials[] = {
	{ "Sent", MBOX_SPECIAL_SENT }, { "Drafts", MBOX_SPECIAL_DRAFTS },
	{ "Trash", MBOX_SPECIAL_TRASH }, { "Junk", MBOX_SPECIAL_JUNK },
};
#define MBOX_NSPECIALS	(sizeof(mbox_specials) / sizeof(mbox_specials[0]))

/* "inbox/x" -> "INBOX/x", "Inbox" -> "INBOX"; else a copy. */
static char *
mbox_name_canon(const char *name)
{
	if (mbox_name_is_inbox(name))
		return xstrdup("INBOX");
	if (strncasecmp(name, "INBOX/", 6) == 0)
		return xasprintf("INBOX%s", name + 5);
	return xstrdup(name);
}

/* The directory's name in the root ("root/.a.b" -> ".a.b"). */
static const char *
mbox_dir_leaf(const char *dir)
{
	const char *s = strrchr(dir, '/');

	return s == NULL ? dir : s + 1;
}

static int
mbox_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;	/* we write upper case only */
}

/* ".a.b%2Ec" -> "a/b.c", or NULL when it is not what we would write. */
static char *
mbox_name_decode(const struct mbox_user *u, const char *leaf)
{
	struct buf b;
	char *name = NULL, *back;

	buf_init(&b, MBOX_FOLDER_NAME_MAX + 1);
	for (const char *p = leaf + 1; *p != '\0'; p++) {
		char c = *p;

		if (c == '.')
			c = '/';
		else if (c == '%') {
			int hi = mbox_hex(p[1]), lo = hi < 0 ? -1 : mbox_hex(p[2]);

			if (lo < 0)
				break;	/* not decodable: refused below */
			c = (char)(hi * 16 + lo);
			p += 2;
		}
		buf_append(&b, &c, 1);
	}
	if (!b.overflowed && b.len > 0 && mbox_name_valid(b.data) &&
	    !mbox_name_is_inbox(b.data)) {
		/* Only the one spelling we write: no two dirs for a name. */
		back = mbox_folder_dir(u, b.data);
		if (back != NULL && strcmp(mbox_dir_leaf(back), leaf) == 0)
			name = xstrdup(b.data);
		free(back);
	}
	buf_free(&b);
	return name;
}

bool
mbox_folder_exists(struct mbox_user *u, const char *name)
{
	char *dir = mbox_folder_dir(u, name);
	bool ok = dir != NULL && mbox_is_maildir(dir);

	free(dir);
	return ok;
}

/* ---- subscriptions ------------------------------------------------------ */

/* The subscribed names (at most MBOX_FOLDERS_MAX valid ones). */
static size_t
mbox_subs_read(struct mbox_user *u, char ***out)
{
	char *p = xasprintf("%s/%s", u->root, MBOX_SUBSCRIPTIONS);
	int fd = open(p, O_RDONLY | MBOX_O_FILE);
	char *data, **v;
	ssize_t n = 0, r;
	size_t nv = 0;

	free(p);
	*out = NULL;
	if (fd == -1)
		return 0;
	data = xmalloc(MBOX_SUBS_BYTES_MAX + 1);
	while ((size_t)n < MBOX_SUBS_BYTES_MAX &&
	    (r = read(fd, data + n, MBOX_SUBS_BYTES_MAX - (size_t)n)) > 0)
		n += r;
	close(fd);
	data[n] = '\0';
	v = xcalloc(MBOX_FOLDERS_MAX, sizeof(*v));
	for (char *s = data, *lf; nv < MBOX_FOLDERS_MAX && *s != '\0'; s = lf + 1) {
		if ((lf = strchr(s, '\n')) == NULL)
			break;	/* an unterminated last line: cut short */
		*lf = '\0';
		if (s[0] == '\0' || (!mbox_name_valid(s) && !mbox_name_is_inbox(s)))
			continue;
		v[nv++] = mbox_name_canon(s);
	}
	free(data);
	*out = v;
	return nv;
}

static void
mbox_subs_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* Known limit: two sessions of one user subscribing at the same instant may lose
 * one of the changes (last rename wins); both files are whole. */
int
mbox_subscribe(struct mbox_user *u, const char *name, bool on)
{
	char *canon, **v, *path, *tmp;
	size_t n = mbox_subs_read(u, &v), i;
	struct buf b;
	int fd, rc = -1;

	if (!mbox_name_valid(name) && !mbox_name_is_inbox(name)) {
		mbox_subs_free(v, n);
		return -1;
	}
	canon = mbox_name_canon(name);
	for (i = 0; i < n && strcmp(v[i], canon) != 0; i++)
		;
	if ((i < n) == on || (on && n >= MBOX_FOLDERS_MAX)) {
		rc = (i < n) == on ? 0 : -1;	/* nothing to do, or full */
		free(canon);
		mbox_subs_free(v, n);
		return rc;
	}
	buf_init(&b, MBOX_SUBS_BYTES_MAX + MBOX_FOLDER_NAME_MAX + 2);
	for (size_t j = 0; j < n; j++)
		if (j != i)
			buf_printf(&b, "%s\n", v[j]);
	if (on)
		buf_printf(&b, "%s\n", canon);
	path = xasprintf("%s/%s", u->root, MBOX_SUBSCRIPTIONS);
	tmp = xasprintf("%s.%ld.tmp", path, (long)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | MBOX_O_FILE, 0600);
	if (fd != -1) {
		if (io_write_all(fd, buf_cstr(&b), b.len) == 0 &&
		    fsync(fd) == 0 && rename(tmp, path) == 0)
			rc = 0;
		close(fd);
		if (rc == -1)
			unlink(tmp);
	}
	free(path);
	free(tmp);
	buf_free(&b);
	free(canon);
	mbox_subs_free(v, n);
	return rc;
}

/* ---- create, delete, rename --------------------------------------------- */

/* Folders in the root, as directory entries ".x": how many. */
static size_t
mbox_folder_count(struct mbox_user *u)
{
	DIR *d = opendir(u->root);
	struct dirent *de;
	size_t n = 0;

	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL)
		n += de->d_name[0] == '.' && strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0;
	closedir(d);
	return n;
}

/* Levels of name: the folders CREATE may make (parents included). */
static size_t
mbox_name_depth(const char *name)
{
	size_t n = 1;

	for (; *name != '\0'; name++)
		n += *name == '/';
	return n;
}

/* A Maildir++ folder: the Maildir and its "maildirfolder" marker. */
static int
mbox_folder_make(const char *dir)
{
	char *p;
	int fd;

	if (mbox_maildir_make(dir) == -1)
		return -1;
	p = xasprintf("%s/maildirfolder", dir);
	fd = open(p, O_WRONLY | O_CREAT | MBOX_O_FILE, 0600);
	free(p);
	if (fd != -1)
		close(fd);
	return 0;
}

/* The parents of name ("a" and "a/b" for "a/b/c") that are missing. */
static int
mbox_folder_make_parents(struct mbox_user *u, const char *name)
{
	char *tmp = xstrdup(name);
	int rc = 0;

	for (char *s = strchr(tmp, '/'); s != NULL && rc == 0;
	    s = strchr(s + 1, '/')) {
		char *dir;

		*s = '\0';
		if (!mbox_name_is_inbox(tmp)) {
			dir = mbox_folder_dir(u, tmp);
			if (dir == NULL || (!mbox_is_maildir(dir) &&
			    mbox_folder_make(dir) == -1))
				rc = -1;
			free(dir);
		}
		*s = '/';
	}
	free(tmp);
	return rc;
}

int
mbox_folder_create(struct mbox_user *u, const char *name, char *err,
    size_t errlen)
{
	char *canon, *dir;
	int rc = -1;

	if (mbox_name_is_inbox(name)) {
		mbox_seterr(err, errlen, "folder exists");
		return -1;
	}
	if (!mbox_name_valid(name)) {
		mbox_seterr(err, errlen, "invalid folder name");
		return -1;
	}
	canon = mbox_name_canon(name);
	if ((dir = mbox_folder_dir(u, canon)) == NULL) {
		free(canon);
		mbox_seterr(err, errlen, "invalid folder name");
		return -1;
	}
	if (mbox_is_maildir(dir))
		mbox_seterr(err, errlen, "folder exists");
	else if (mbox_folder_count(u) + mbox_name_depth(canon) > MBOX_FOLDERS_MAX)
		mbox_seterr(err, errlen, "too many folders");
	else if (mbox_folder_make_parents(u, canon) == -1 ||
	    mbox_folder_make(dir) == -1)
		mbox_seterr(err, errlen, "cannot make the folder: %s",
		    strerror(errno));
	else
		rc = 0;
	free(dir);
	free(canon);
	return rc;
}

/* Does the root hold a folder below leaf (".a.b" has ".a.b.c")? */
static bool
mbox_folder_has_children(struct mbox_user *u, const char *leaf)
{
	DIR *d = opendir(u->root);
	struct dirent *de;
	size_t n = strlen(leaf);
	bool found = false;

	if (d == NULL)
		return false;
	while (!found && (de = readdir(d)) != NULL)
		found = strncmp(de->d_name, leaf, n) == 0 &&
		    de->d_name[n] == '.';
	closedir(d);
	return found;
}

/* Unlinks the files in dir, then dir (which must then be empty). */
static int
mbox_rm_flat(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (d == NULL)
		return errno == ENOENT ? 0 : -1;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			(void)unlinkat(dirfd(d), de->d_name, 0);
	closedir(d);
	return rmdir(dir);
}

/* A folder's files, and tmp/ new/ cur/ with theirs: one level down, never
 * further (no recursion on what is on disk). */
static int
mbox_rm_folder(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		char *sub;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
		    unlinkat(dirfd(d), de->d_name, 0) == 0 ||
		    (errno != EISDIR && errno != EPERM))
			continue;
		sub = xasprintf("%s/%s", dir, de->d_name);
		(void)mbox_rm_flat(sub);
		free(sub);
	}
	closedir(d);
	return rmdir(dir);
}

int
mbox_folder_delete(struct mbox_user *u, const char *name, char *err,
    size_t errlen)
{
	char *dir, *gone;
	int rc;

	if (mbox_name_is_inbox(name)) {
		mbox_seterr(err, errlen, "cannot delete INBOX");
		return -1;
	}
	if ((dir = mbox_folder_dir(u, name)) == NULL) {
		mbox_seterr(err, errlen, "invalid folder name");
		return -1;
	}
	if (mbox_folder_has_children(u, mbox_dir_leaf(dir))) {
		mbox_seterr(err, errlen, "folder has children");
		free(dir);
		return -1;
	}
	if (!mbox_is_maildir(dir)) {
		mbox_seterr(err, errlen, "no such folder");
		free(dir);
		return -1;
	}
	/* Out of sight first (no leading "."), so no one sees half of it. */
	{
		char *b = mbox_unique_base(u);

		gone = xasprintf("%s/postern-deleted.%s", u->root, b);
		free(b);
	}
	rc = rename(dir, gone);
	if (rc == -1)
		mbox_seterr(err, errlen, "cannot delete: %s", strerror(errno));
	else
		(void)mbox_rm_folder(gone);	/* leftovers stay hidden */
	free(gone);
	free(dir);
	return rc;
}

/* INBOX's messages (new/ and cur/) into the folder at dir: RFC 3501 6.3.5. */
static int
mbox_inbox_move(struct mbox_user *u, const char *dir)
{
	static const char *const subs[] = { "new", "cur" };
	int rc = 0;

	for (size_t i = 0; i < 2; i++) {
		char *from = xasprintf("%s/%s", u->root, subs[i]);
		DIR *d = opendir(from);
		struct dirent *de;

		while (d != NULL && (de = readdir(d)) != NULL) {
			char *a, *b;

			if (de->d_name[0] == '.')
				continue;
			a = xasprintf("%s/%s", from, de->d_name);
			b = xasprintf("%s/%s/%s", dir, subs[i], de->d_name);
			if (rename(a, b) == -1)
				rc = -1;
			free(a);
			free(b);
		}
		if (d != NULL)
			closedir(d);
		free(from);
	}
	return rc;
}

int
mbox_folder_rename(struct mbox_user *u, const char *from, const char *to,
    char *err, size_t errlen)
{
	char *fdir = NULL, *tdir = NULL, *tcanon = NULL;
	char **leaves = NULL;
	size_t nleaves = 0, flen;
	DIR *d = NULL;
	struct dirent *de;
	int rc = -1;

	if (mbox_name_is_inbox(to) || !mbox_name_valid(to) ||
	    (fdir = mbox_folder_dir(u, from)) == NULL ||
	    (tdir = mbox_folder_dir(u, (tcanon = mbox_name_canon(to)))) == NULL) {
		mbox_seterr(err, errlen, "invalid folder name");
		goto out;
	}
	if (mbox_is_maildir(tdir) ||
	    mbox_folder_has_children(u, mbox_dir_leaf(tdir))) {
		mbox_seterr(err, errlen, "folder exists");
		goto out;
	}
	if (mbox_name_is_inbox(from)) {
		if (mbox_folder_create(u, tcanon, err, errlen) == 0 &&
		    (rc = mbox_inbox_move(u, tdir)) == -1)
			mbox_seterr(err, errlen, "cannot move the messages");
		goto out;
	}
	/* "a" into "a/b" would rename its own new parent. */
	flen = strlen(mbox_dir_leaf(fdir));
	if (strncmp(mbox_dir_leaf(tdir), mbox_dir_leaf(fdir), flen) == 0 &&
	    mbox_dir_leaf(tdir)[flen] == '.') {
		mbox_seterr(err, errlen, "cannot rename a folder into itself");
		goto out;
	}
	/* The folder and its children: ".a" and ".a.*". */
	if ((d = opendir(u->root)) == NULL)
		goto io;
	while ((de = readdir(d)) != NULL && nleaves < MBOX_FOLDERS_MAX) {
		if (strncmp(de->d_name, mbox_dir_leaf(fdir), flen) != 0 ||
		    (de->d_name[flen] != '\0' && de->d_name[flen] != '.'))
			continue;
		leaves = xrealloc(leaves, (nleaves + 1) * sizeof(*leaves));
		leaves[nleaves++] = xstrdup(de->d_name);
	}
	if (nleaves == 0) {
		mbox_seterr(err, errlen, "no such folder");
		goto out;
	}
	/* Each child must keep a valid name (depth, length): one that does
	 * not is never listed nor selectable, its mail out of reach. */
	for (size_t i = 0; i < nleaves; i++) {
		char *nl = xasprintf("%s%s", mbox_dir_leaf(tdir),
		    leaves[i] + flen);
		char *was = mbox_name_decode(u, leaves[i]);
		char *now = was != NULL ? mbox_name_decode(u, nl) : NULL;
		bool bad = was != NULL && now == NULL;

		free(nl);
		free(was);
		free(now);
		if (bad) {
			mbox_seterr(err, errlen, "a child's new name would be"
			    " too deep or too long");
			goto out;
		}
	}
	if (mbox_folder_make_parents(u, tcanon) == -1)
		goto io;
	rc = 0;
	for (size_t i = 0; i < nleaves; i++) {
		char *a = xasprintf("%s/%s", u->root, leaves[i]);
		char *b = xasprintf("%s%s", tdir, leaves[i] + flen);

		if (rename(a, b) == -1)
			rc = -1;
		free(a);
		free(b);
	}
	if (rc == 0)
		goto out;
io:
	mbox_seterr(err, errlen, "cannot rename: %s", strerror(errno));
	rc = -1;
out:
	if (d != NULL)
		closedir(d);
	for (size_t i = 0; i < nleaves; i++)
		free(leaves[i]);
	free(leaves);
	free(fdir);
	free(tdir);
	free(tcanon);
	return rc;
}

/* ---- list --------------------------------------------------------------- */

static int
mbox_info_cmp(const void *a, const void *b)
{
	const char *x = ((const struct mbox_folder_info *)a)->name;
	const char *y = ((const struct mbox_folder_info *)b)->name;
	bool xi = strcmp(x, "INBOX") == 0, yi = strcmp(y, "INBOX") == 0;

	if (xi || yi)
		return yi - xi;
	return strcmp(x, y);
}

static struct mbox_folder_info *
mbox_info_find(struct mbox_folder_info *v, size_t n, const char *name)
{
	struct mbox_folder_info key = { .name = (char *)name };

	return bsearch(&key, v, n, sizeof(*v), mbox_info_cmp);
}

static void
mbox_info_push(struct mbox_folder_info **v, size_t *n, char *name,
    bool noselect)
{
	struct mbox_folder_info *f;

	*v = xrealloc(*v, (*n + 1) * sizeof(**v));
	f = &(*v)[(*n)++];
	memset(f, 0, sizeof(*f));
	f->name = name;
	f->noselect = noselect;
	for (size_t i = 0; i < MBOX_NSPECIALS; i++)
		if (strcmp(name, mbox_specials[i].name) == 0)
			f->special = mbox_specials[i].special;
}

int
mbox_folder_list(struct mbox_user *u, struct mbox_folder_info **out,
    size_t *nout)
{
	struct mbox_folder_info *v = NULL;
	size_t n = 0, nreal, nsubs;
	char **subs;
	DIR *d = opendir(u->root);
	struct dirent *de;

	*out = NULL;
	*nout = 0;
	if (d == NULL)
		return -1;
	mbox_info_push(&v, &n, xstrdup("INBOX"), false);
	while ((de = readdir(d)) != NULL && n < MBOX_FOLDERS_MAX) {
		char *name, *dir;

		if (de->d_name[0] != '.' || de->d_name[1] == '\0' ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if ((name = mbox_name_decode(u, de->d_name)) == NULL)
			continue;
		dir = xasprintf("%s/%s", u->root, de->d_name);
		if (mbox_is_maildir(dir))
			mbox_info_push(&v, &n, name, false);
		else
			free(name);
		free(dir);
	}
	closedir(d);
	/* Parents implied by children but with no Maildir: \Noselect. */
	qsort(v, n, sizeof(*v), mbox_info_cmp);
	nreal = n;
	for (size_t i = 0; i < nreal; i++) {
		char *p = xstrdup(v[i].name), *s;

		while ((s = strrchr(p, '/')) != NULL) {
			*s = '\0';
			if (mbox_info_find(v, nreal, p) == NULL) {
				size_t j;

				for (j = nreal; j < n && strcmp(v[j].name, p) != 0; j++)
					;
				if (j == n)
					mbox_info_push(&v, &n, xstrdup(p), true);
			}
		}
		free(p);
	}
	qsort(v, n, sizeof(*v), mbox_info_cmp);
	nsubs = mbox_subs_read(u, &subs);
	for (size_t i = 0; i < nsubs; i++) {
		struct mbox_folder_info *f = mbox_info_find(v, n, subs[i]);

		if (f != NULL)
			f->subscribed = true;
	}
	mbox_subs_free(subs, nsubs);
	for (size_t i = 0; i < n; i++) {
		const char *s = strrchr(v[i].name, '/');
		struct mbox_folder_info *parent;
		char *p;

		if (s == NULL)
			continue;
		p = xstrndup(v[i].name, (size_t)(s - v[i].name));
		if ((parent = mbox_info_find(v, n, p)) != NULL)
			parent->has_children = true;
		free(p);
	}
	*out = v;
	*nout = n;
	return 0;
}

void
mbox_folder_list_free(struct mbox_folder_info *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].name);
	free(v);
}

/* ---- STATUS and the first login ----------------------------------------- */

int
mbox_folder_status(struct mbox_user *u, const char *name,
    struct mbox_status *st, char *err, size_t errlen)
{
	struct mbox *m = mbox_open(u, name, true, err, errlen);

	memset(st, 0, sizeof(*st));
	if (m == NULL)
		return -1;
	st->messages = mbox_count(m);
	st->uidnext = mbox_uidnext(m);
	st->uidvalidity = mbox_uidvalidity(m);
	for (size_t i = 0; i < m->f->nents; i++) {
		const struct mbox_ent *e = m->f->ents[i];

		if (e->dead)
			continue;
		/* Still in new/: \Recent for the next session to select. */
		st->recent += e->in_new;
		st->unseen += (e->flags & MBOX_F_SEEN) == 0;
	}
	mbox_close(&m);
	return 0;
}

/*
 * First login only (SPEC 3): the special folders are made (and
 * subscribed) when the root has no MBOX_INITIALIZED marker yet, then the
 * marker is written; a user who deletes Junk later does not get it back.
 * A root made by a delivery before the first login has no marker either.
 */
int
mbox_user_setup(struct mbox_user *u, char *err, size_t errlen)
{
	char *p = xasprintf("%s/%s", u->root, MBOX_INITIALIZED);
	struct stat st;
	int fd;

	if (lstat(p, &st) == 0) {
		free(p);
		return 0;
	}
	for (size_t i = 0; i < MBOX_NSPECIALS; i++) {
		const char *name = mbox_specials[i].name;

		if (mbox_folder_exists(u, name))
			continue;
		if (mbox_folder_create(u, name, err, errlen) == -1 &&
		    !mbox_folder_exists(u, name)) {	/* a racing login made it */
			free(p);
			return -1;
		}
		(void)mbox_subscribe(u, name, true);
	}
	/* Without it (I/O error) the next login tries again: harmless. */
	fd = open(p, O_WRONLY | O_CREAT | MBOX_O_FILE, 0600);
	if (fd != -1)
		close(fd);
	free(p);
	return 0;
}
