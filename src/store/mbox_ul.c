/*
 * mbox_ul: a folder's `postern-uidlist` file: locking (flock on the file
 * that is current at the path), reading the lines added since the last
 * read, appending new UIDs (fdatasync before they are used), and replacing
 * the file (tmp, rename) for a new UIDVALIDITY or to drop dead lines.
 * Parsing is mbox_uidlist.c's.
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

#include "core/buf.h"
#include "core/io.h"
#include "core/xalloc.h"
#include "store/mbox_int.h"

#define MBOX_UL_CHUNK		65536
#define MBOX_UL_LOCK_TRIES	16	/* the file replaced under us: ours */

void
mbox_ul_init(struct mbox_ul *ul, const char *dir)
{
	memset(ul, 0, sizeof(*ul));
	ul->path = xasprintf("%s/%s", dir, MBOX_UIDLIST);
}

void
mbox_ul_free(struct mbox_ul *ul)
{
	free(ul->path);
	memset(ul, 0, sizeof(*ul));
}

int
mbox_ul_lock(struct mbox_ul *ul, int op)
{
	struct stat a, b;

	for (int i = 0; i < MBOX_UL_LOCK_TRIES; i++) {
		int fd = open(ul->path, O_RDWR | O_CREAT | MBOX_O_FILE, 0600);

		if (fd == -1)
			return -1;
		while (flock(fd, op) == -1) {
			if (errno != EINTR) {
				close(fd);
				return -1;
			}
		}
		/* Replaced (rewritten) while we waited: lock the new one. */
		if (fstat(fd, &a) == 0 && stat(ul->path, &b) == 0 &&
		    a.st_dev == b.st_dev && a.st_ino == b.st_ino)
			return fd;
		close(fd);
	}
	errno = EAGAIN;
	return -1;
}

int
mbox_ul_upgrade(struct mbox_ul *ul, int *fdp)
{
	struct stat a, b;

	/* flock() converts by dropping the shared lock first: the file may
	 * have been replaced (rewritten) meanwhile. */
	while (flock(*fdp, LOCK_EX) == -1)
		if (errno != EINTR)
			goto fresh;
	if (fstat(*fdp, &a) == 0 && stat(ul->path, &b) == 0 &&
	    a.st_dev == b.st_dev && a.st_ino == b.st_ino)
		return 0;
fresh:
	close(*fdp);
	*fdp = mbox_ul_lock(ul, LOCK_EX);
	return *fdp == -1 ? -1 : 0;
}

uint32_t
mbox_ul_uidnext(const struct mbox_ul *ul)
{
	uint32_t n = ul->st.uidnext;

	if (ul->st.last_uid >= n)
		n = ul->st.last_uid + 1;
	return n == 0 ? 1 : n;
}

/* Writes data as the new file (tmp, fsync, lock, rename) and makes it the
 * one *fdp holds locked. */
static int
mbox_ul_replace(struct mbox_ul *ul, int *fdp, const struct buf *data)
{
	char *tmp = xasprintf("%s.tmp", ul->path);
	struct stat st;
	int fd;

	fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | MBOX_O_FILE, 0600);
	if (fd == -1) {
		free(tmp);
		return -1;
	}
	/* Locked before anyone can open it under the real name. */
	if (flock(fd, LOCK_EX) == -1 ||
	    io_write_all(fd, buf_cstr(data), data->len) == -1 ||
	    fdatasync(fd) == -1 || fstat(fd, &st) == -1 ||
	    rename(tmp, ul->path) == -1) {
		close(fd);
		unlink(tmp);
		free(tmp);
		return -1;
	}
	free(tmp);
	close(*fdp);
	*fdp = fd;
	ul->known = true;
	ul->dev = st.st_dev;
	ul->ino = st.st_ino;
	ul->off = ul->size = (off_t)data->len;
	return 0;
}

/* A new UIDVALIDITY: the file becomes just a header. */
static int
mbox_ul_renew(struct mbox_user *u, struct mbox_ul *ul, int *fdp,
    uint32_t above, bool in_place)
{
	uint32_t v = mbox_user_uidvalidity(u, above);
	struct buf b;
	int rc;

	buf_init(&b, 64);
	buf_printf(&b, "V%" PRIu32 " N1\n", v);
	if (in_place) {
		rc = ftruncate(*fdp, 0) == 0 &&
		    pwrite(*fdp, b.data, b.len, 0) == (ssize_t)b.len &&
		    fdatasync(*fdp) == 0 ? 0 : -1;
		ul->off = ul->size = (off_t)b.len;
	} else
		rc = mbox_ul_replace(ul, fdp, &b);
	buf_free(&b);
	memset(&ul->st, 0, sizeof(ul->st));
	ul->st.have_header = ul->st.header_ok = true;
	ul->st.uidvalidity = v;
	ul->st.uidnext = 1;
	return rc;
}

bool
mbox_ul_is_new(const struct mbox_ul *ul, int fd)
{
	struct stat st;

	return fstat(fd, &st) == -1 || !ul->known || st.st_dev != ul->dev ||
	    st.st_ino != ul->ino || st.st_size < ul->off;
}

int
mbox_ul_read(struct mbox_user *u, struct mbox_ul *ul, int *fdp, bool *reset,
    void (*rec)(void *, const struct mbox_uidlist_rec *), void *arg)
{
	struct stat st;
	char *chunk;
	ssize_t n = 0;
	size_t used;

	*reset = false;
	if (fstat(*fdp, &st) == -1)
		return -1;
	if (!ul->known || st.st_dev != ul->dev || st.st_ino != ul->ino ||
	    st.st_size < ul->off) {
		memset(&ul->st, 0, sizeof(ul->st));
		ul->known = true;
		ul->dev = st.st_dev;
		ul->ino = st.st_ino;
		ul->off = 0;
	}
	if (st.st_size == 0) {
		*reset = true;
		return mbox_ul_renew(u, ul, fdp, 0, true);
	}
	chunk = xmalloc(MBOX_UL_CHUNK);
	while (ul->off < st.st_size) {
		n = pread(*fdp, chunk, MBOX_UL_CHUNK, ul->off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		used = mbox_uidlist_parse(&ul->st, chunk, (size_t)n, rec, arg);
		if (used == 0)
			break;	/* an unterminated tail (a crash mid-append) */
		ul->off += (off_t)used;
	}
	free(chunk);
	if (n < 0)
		return -1;
	ul->size = st.st_size;
	if (!ul->st.header_ok) {
		/* RFC 3501 2.3.1.1: UIDs we cannot trust get a new
		 * UIDVALIDITY, greater than the one we could still read. */
		*reset = true;
		return mbox_ul_renew(u, ul, fdp, ul->st.old_uidvalidity, false);
	}
	return 0;
}

int
mbox_ul_append(struct mbox_ul *ul, int fd, char *const *bases,
    const uint64_t *vsizes, size_t n, uint32_t *uids_out)
{
	uint32_t next = mbox_ul_uidnext(ul);
	struct buf b;
	int rc = 0;

	if (n == 0)
		return 0;
	if ((uint64_t)next + n >= UINT32_MAX) {
		errno = EOVERFLOW;
		return -1;
	}
	/*
	 * An unterminated tail is a write cut by a crash: its fdatasync never
	 * returned, so no UID of it was used. It goes (we hold LOCK_EX):
	 * ended with "\n" instead, a base name cut short would still parse
	 * as a record and make every other reader refuse our line for the
	 * same UID (UIDs must increase).
	 */
	if (ul->size > ul->off) {
		if (ftruncate(fd, ul->off) == -1)
			return -1;
		ul->size = ul->off;
	}
	buf_init(&b, n * MBOX_UIDLIST_LINE_MAX + 2);
	for (size_t i = 0; i < n; i++) {
		uids_out[i] = next + (uint32_t)i;
		buf_printf(&b, "%" PRIu32 " %" PRIu64 " %s\n", uids_out[i],
		    vsizes[i], bases[i]);
	}
	if (b.overflowed ||
	    pwrite(fd, b.data, b.len, ul->size) != (ssize_t)b.len ||
	    fdatasync(fd) == -1) {
		/* No partial line stays (disk full, a file size limit): the
		 * next append would write after it. Best effort; errno kept. */
		int saved = errno;

		if (ftruncate(fd, ul->size) == -1)
			(void)0;	/* the next append truncates the tail */
		errno = saved;
		rc = -1;
	} else {
		ul->size += (off_t)b.len;
		ul->off = ul->size;
		ul->st.last_uid = next + (uint32_t)(n - 1);
		ul->st.nrecords += n;
	}
	buf_free(&b);
	return rc;
}

bool
mbox_ul_wants_rewrite(const struct mbox_ul *ul, size_t live)
{
	size_t lines = ul->st.nrecords + ul->st.nbad;
	size_t dead = lines > live ? lines - live : 0;

	return dead > 100 && dead > lines / 2;
}

int
mbox_ul_rewrite(struct mbox_ul *ul, int *fdp, struct mbox_ent *const *e,
    size_t n)
{
	uint32_t next = mbox_ul_uidnext(ul);
	struct buf b;
	int rc;

	buf_init(&b, (n + 1) * MBOX_UIDLIST_LINE_MAX);
	buf_printf(&b, "V%" PRIu32 " N%" PRIu32 "\n", ul->st.uidvalidity, next);
	for (size_t i = 0; i < n; i++)
		buf_printf(&b, "%" PRIu32 " %" PRIu64 " %.*s\n", e[i]->uid,
		    e[i]->vsize, (int)e[i]->baselen, e[i]->file);
	rc = b.overflowed ? -1 : mbox_ul_replace(ul, fdp, &b);
	buf_free(&b);
	if (rc == 0) {
		ul->st.uidnext = next;
		ul->st.nrecords = n;
		ul->st.nbad = 0;
		ul->st.last_uid = n > 0 ? e[n - 1]->uid : 0;
	}
	return rc;
}
