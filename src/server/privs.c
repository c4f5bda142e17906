/*
 * privs: privilege drop and data_dir preparation. After privs_datadir()
 * every path Postern opens is relative to data_dir, so the unprivileged
 * processes need no access to data_dir's parents.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/xalloc.h"
#include "server/privs.h"

int
privs_resolve(const struct config *cfg, struct privs *out, char *err,
    size_t errlen)
{
	struct passwd *pw;

	*out = (struct privs){ .uid = getuid(), .gid = getgid() };
	if (geteuid() != 0)
		return 0;
	pw = getpwnam(cfg->run_as);
	if (pw == NULL) {
		snprintf(err, errlen, "run_as user '%s' does not exist "
		    "(create it: useradd --system %s)", cfg->run_as, cfg->run_as);
		return -1;
	}
	if (pw->pw_uid == 0) {
		snprintf(err, errlen, "run_as user '%s' is root: refusing to serve "
		    "clients as root", cfg->run_as);
		return -1;
	}
	*out = (struct privs){ .drop = true, .uid = pw->pw_uid, .gid = pw->pw_gid };
	return 0;
}

void
privs_drop(const struct privs *p)
{
	if (!p->drop)
		return;
	/*
	 * The cwd is data_dir (privs_datadir): make it the root, so the
	 * unprivileged process sees nothing else and needs no access to
	 * data_dir's parents (SQLite opens absolute paths).
	 */
	if (chroot(".") == -1 || chdir("/") == -1)
		fatal("chroot to data_dir: %s", strerror(errno));
	privs_drop_user(p);
}

void
privs_drop_user(const struct privs *p)
{
	if (!p->drop)
		return;
	if (setgroups(1, &p->gid) == -1 || setresgid(p->gid, p->gid, p->gid) == -1 ||
	    setresuid(p->uid, p->uid, p->uid) == -1)
		fatal("dropping privileges: %s", strerror(errno));
	/* Verify: root must be gone for good. */
	if (setuid(0) == 0 || seteuid(0) == 0 || geteuid() != p->uid ||
	    getuid() != p->uid || getegid() != p->gid)
		fatal("dropping privileges: root could be regained");
}

static int
privs_mkdir_p(const char *path, mode_t mode)
{
	char *tmp = xstrdup(path);
	int rc = 0;

	for (char *s = tmp + 1; *s != '\0'; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(tmp, 0755) == -1 && errno != EEXIST)
			rc = -1;
		*s = '/';
	}
	if (rc == 0 && mkdir(tmp, mode) == -1 && errno != EEXIST)
		rc = -1;
	free(tmp);
	return rc;
}

int
privs_datadir(const struct config *cfg, const struct privs *p, char *err,
    size_t errlen)
{
	struct stat st;

	if (privs_mkdir_p(cfg->data_dir, 0700) == -1 ||
	    stat(cfg->data_dir, &st) == -1) {
		snprintf(err, errlen, "data_dir %s: %s", cfg->data_dir, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "data_dir %s: not a directory", cfg->data_dir);
		return -1;
	}
	if (p->drop && (st.st_uid != p->uid || st.st_gid != p->gid) &&
	    chown(cfg->data_dir, p->uid, p->gid) == -1) {
		snprintf(err, errlen, "data_dir %s: %s", cfg->data_dir, strerror(errno));
		return -1;
	}
	if ((st.st_mode & 07777) != 0700 && chmod(cfg->data_dir, 0700) == -1) {
		snprintf(err, errlen, "data_dir %s: %s", cfg->data_dir, strerror(errno));
		return -1;
	}
	if (chdir(cfg->data_dir) == -1) {
		snprintf(err, errlen, "data_dir %s: %s", cfg->data_dir, strerror(errno));
		return -1;
	}
	return 0;
}
