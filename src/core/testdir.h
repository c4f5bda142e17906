/*
 * testdir: for unit tests only (header-only, never in libpostern). A fresh
 * temporary directory made the cwd, as data_dir is for the server, and
 * removed with everything in it afterwards. Include after <cmocka.h>.
 */
#ifndef POSTERN_TESTDIR_H
#define POSTERN_TESTDIR_H

#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

struct testdir {
	char	old_cwd[PATH_MAX];
	char	dir[64];
};

static int
testdir_rm_one(const char *path, const struct stat *st, int flag,
    struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* Makes /tmp/postern-<name>-XXXXXX and changes into it. */
static void
testdir_enter(struct testdir *t, const char *name)
{
	assert_non_null(getcwd(t->old_cwd, sizeof(t->old_cwd)));
	snprintf(t->dir, sizeof(t->dir), "/tmp/postern-%s-XXXXXX", name);
	assert_non_null(mkdtemp(t->dir));
	assert_int_equal(chdir(t->dir), 0);
}

/* Goes back to the old cwd and removes the directory tree. */
static void
testdir_leave(struct testdir *t)
{
	assert_int_equal(chdir(t->old_cwd), 0);
	nftw(t->dir, testdir_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

#endif
