/*
 * mbox_testfix: the fixture the store's unit tests share (mbox_test.c,
 * mbox_faults_test.c): a fresh temp dir per test with bob's store opened
 * in it. Include after cmocka.h and core/testdir.h; define
 * MBOX_TESTDIR_NAME first.
 */
#ifndef POSTERN_MBOX_TESTFIX_H
#define POSTERN_MBOX_TESTFIX_H

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/mbox.h"

#define ROOT	"example.org/bob"
#define UL	ROOT "/" MBOX_UIDLIST

struct fixture {
	struct testdir	 td;
	struct mbox_user *u;
	char		 err[256];
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	testdir_enter(&f->td, MBOX_TESTDIR_NAME);
	f->u = mbox_user_open(ROOT, f->err, sizeof(f->err));
	assert_non_null(f->u);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	mbox_user_close(&f->u);
	testdir_leave(&f->td);
	free(f);
	return 0;
}

static void
write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	size_t n = strlen(text);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, n), (ssize_t)n);
	close(fd);
}

#endif
