/*
 * TEMPORARY (issue 7): stand-ins for the store/mbox.h calls the POP3
 * session makes, so the binary links before wip/store is merged. Every
 * call fails ("store not merged yet"). DELETE THIS FILE when
 * src/store/mbox.c arrives from main.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "store/mbox.h"

char *
mbox_root(const char *key)
{
	(void)key;
	return NULL;
}

struct mbox_user *
mbox_user_open(const char *root, char *err, size_t errlen)
{
	(void)root;
	snprintf(err, errlen, "store not merged yet");
	return NULL;
}

void mbox_user_close(struct mbox_user **up) { *up = NULL; }
int mbox_pop3_lock(struct mbox_user *u) { (void)u; errno = EIO; return -1; }

struct mbox *
mbox_open(struct mbox_user *u, const char *name, bool ro, char *err,
    size_t errlen)
{
	(void)u;
	(void)name;
	(void)ro;
	snprintf(err, errlen, "store not merged yet");
	return NULL;
}

void mbox_close(struct mbox **mp) { *mp = NULL; }
uint32_t mbox_count(const struct mbox *m) { (void)m; return 0; }
uint32_t mbox_uidvalidity(const struct mbox *m) { (void)m; return 0; }
const struct mbox_msg *mbox_msg(const struct mbox *m, uint32_t i) { (void)m; (void)i; abort(); }
int mbox_msg_open(struct mbox *m, uint32_t i) { (void)m; (void)i; errno = EIO; return -1; }
size_t mbox_delete(struct mbox *m, const bool *del) { (void)m; (void)del; return 0; }
