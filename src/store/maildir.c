/*
 * maildir: delivery into Maildir folders and the usage sum for quotas.
 * Reading and flag changes belong to the POP3/IMAP code of a later issue.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/io.h"
#include "core/xalloc.h"
#include "store/maildir.h"

static void
maildir_put_part(struct buf *b, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c <= 0x20 || c >= 0x7f || c == '/' || c == '%' ||
		    (i == 0 && c == '.'))
			buf_printf(b, "%%%02X", c);
		else
			buf_append(b, &p[i], 1);
	}
}

static char *
maildir_key_path(const char *prefix, const char *key)
{
	const char *at = strrchr(key, '@');
	struct buf b;
	char *out;

	if (at == NULL || at == key || at[1] == '\0')
		return NULL;
	buf_init(&b, 4096);
	buf_append_str(&b, prefix);
	maildir_put_part(&b, at + 1, strlen(at + 1));
	buf_append_str(&b, "/");
	maildir_put_part(&b, key, (size_t)(at - key));
	out = b.overflowed ? NULL : xstrdup(b.data);
	buf_free(&b);
	return out;
}

char *
maildir_path(const char *key)
{
	return maildir_key_path("mail/", key);
}

char *
maildir_user_dir(const char *key)
{
	return maildir_key_path("", key);
}

static int
maildir_mkdir(const char *path)
{
	return mkdir(path, 0700) == -1 && errno != EEXIST ? -1 : 0;
}

int
maildir_ensure(const char *path)
{
	char *sub;
	int rc = 0;
	char *slash;
	char *tmp = xstrdup(path);

	/* Parents first: mail/, mail/DOMAIN/. */
	for (slash = strchr(tmp, '/'); slash != NULL; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		if (maildir_mkdir(tmp) == -1)
			rc = -1;
		*slash = '/';
	}
	free(tmp);
	if (rc == -1 || maildir_mkdir(path) == -1)
		return -1;
	/* tmp/ last: a concurrent delivery that finds tmp/ then finds new/. */
	for (int i = 0; i < 3 && rc == 0; i++) {
		static const char *const subs[] = { "new", "cur", "tmp" };

		sub = xasprintf("%s/%s", path, subs[i]);
		rc = maildir_mkdir(sub);
		free(sub);
	}
	return rc;
}

/* In-kernel copy where the file system allows, else through a buffer. */
static int
maildir_copy(int dst, int src, uint64_t off, uint64_t len)
{
	loff_t in_off = (loff_t)off;
	char buf[65536];

	while (len > 0) {
		ssize_t n = copy_file_range(src, &in_off, dst, NULL, len, 0);

		if (n > 0) {
			len -= (uint64_t)n;
			continue;
		}
		if (n == 0)
			return -1;	/* source shorter than its envelope says */
		if (errno == EINTR)
			continue;
		if (errno != EXDEV && errno != EINVAL && errno != ENOSYS &&
		    errno != EOPNOTSUPP)
			return -1;
		/* Fallback: plain reads and writes. */
		while (len > 0) {
			size_t want = len < sizeof(buf) ? (size_t)len : sizeof(buf);
			ssize_t r = pread(src, buf, want, in_off);

			if (r <= 0) {
				if (r < 0 && errno == EINTR)
					continue;
				return -1;
			}
			if (io_write_all(dst, buf, (size_t)r) == -1)
				return -1;
			in_off += r;
			len -= (uint64_t)r;
		}
	}
	return 0;
}

int
maildir_deliver(const char *path, const char *name, struct span prefix,
    int src_fd, uint64_t off, uint64_t len)
{
	char *tmp = xasprintf("%s/tmp/%s", path, name);
	char *dst = xasprintf("%s/new/%s", path, name);
	int fd, rc = -1, saved;

	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd == -1 && errno == ENOENT && maildir_ensure(path) == 0)
		fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd == -1)
		goto out;
	if (io_write_all(fd, prefix.ptr, prefix.len) == 0 &&
	    maildir_copy(fd, src_fd, off, len) == 0 && fsync(fd) == 0) {
		rc = rename(tmp, dst);
		/* A tree half made by an older version or by hand: complete it. */
		if (rc == -1 && errno == ENOENT && maildir_ensure(path) == 0)
			rc = rename(tmp, dst);
	}
	saved = errno;
	close(fd);
	if (rc == -1)
		unlink(tmp);
	errno = saved;
out:
	free(tmp);
	free(dst);
	return rc;
}

int
maildir_sync(const char *path)
{
	char *sub = xasprintf("%s/new", path);
	int fd = open(sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc = -1;

	free(sub);
	if (fd != -1) {
		rc = fsync(fd);
		close(fd);
	}
	return rc;
}

bool
maildir_has(const char *path, const char *name)
{
	char *p = xasprintf("%s/new/%s", path, name);
	size_t nlen = strlen(name);
	struct dirent *de;
	bool found;
	DIR *d;

	found = access(p, F_OK) == 0;
	free(p);
	if (found)
		return true;
	p = xasprintf("%s/cur", path);
	d = opendir(p);
	free(p);
	if (d == NULL)
		return false;
	while (!found && (de = readdir(d)) != NULL)
		found = strncmp(de->d_name, name, nlen) == 0 &&
		    (de->d_name[nlen] == '\0' || de->d_name[nlen] == ':');
	closedir(d);
	return found;
}

static uint64_t
maildir_usage_dir(const char *path, const char *sub)
{
	char *p = xasprintf("%s/%s", path, sub);
	DIR *d = opendir(p);
	struct dirent *de;
	struct stat st;
	uint64_t sum = 0;

	free(p);
	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		const char *s = strstr(de->d_name, ",S=");

		if (de->d_name[0] == '.')
			continue;
		if (s != NULL)
			sum += strtoull(s + 3, NULL, 10);
		else if (fstatat(dirfd(d), de->d_name, &st, 0) == 0)
			sum += (uint64_t)st.st_size;
	}
	closedir(d);
	return sum;
}

uint64_t
maildir_usage(const char *path)
{
	return maildir_usage_dir(path, "new") + maildir_usage_dir(path, "cur");
}
