/*
 * mbox_int: what the files of store/mbox share and nobody else sees: the
 * user and folder handles, the uid list file (mbox_ul.c), file names with
 * flags. The design is in docs/architecture.md, "Mailbox access".
 */
#ifndef POSTERN_MBOX_INT_H
#define POSTERN_MBOX_INT_H

#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "store/mbox.h"
#include "store/mbox_uidlist.h"

#define MBOX_UIDVALIDITY_FILE	"postern-uidvalidity"	/* in the root */
#define MBOX_INITIALIZED	"postern-initialized"	/* in the root: first
							 * login's setup done */
/* Lines of a uid list kept in memory: dead lines may be up to half of the
 * file (and 100) before it is rewritten. Lines past this are ignored. */
#define MBOX_ENTS_MAX		(2 * (size_t)MBOX_MSGS_MAX + 256)
#define MBOX_DIR_MAX		4096	/* a path we build: ours */
#define MBOX_TMP_MAX_SEC	(36 * 3600)	/* tmp/ leftovers: Maildir's rule */
/* Files we open: never through a symlink planted in a Maildir, and never
 * blocking on a FIFO planted there (no effect on regular files). */
#define MBOX_O_FILE		(O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)

/* A folder's uid list file as this process last read it. */
struct mbox_ul {
	char		*path;
	bool		 known;		/* dev, ino, off, st are valid */
	dev_t		 dev;
	ino_t		 ino;
	off_t		 off;		/* bytes parsed */
	off_t		 size;		/* file size when last read/written */
	struct mbox_uidlist_state st;
};

struct mbox_user {
	char		*root;
	char		 host[64];	/* for unique names: Maildir-safe */
	unsigned	 counter;	/* unique names made by this handle */
	/* The last APPEND/COPY destination's uid list, kept so that many
	 * appends to one folder read only the new lines. */
	char		*aux_dir;
	struct mbox_ul	 aux;
};

/* One uid list line that has (or had, until the next scan) a file. */
struct mbox_ent {
	char		*base;
	char		*file;		/* name in cur/, or in new/ if in_new */
	uint32_t	 uid;
	uint64_t	 vsize;
	unsigned	 flags;
	bool		 in_new;
	bool		 recent;	/* moved out of new/ by us, not in view */
	bool		 found;		/* scan mark */
};

struct mbox {
	struct mbox_user *u;
	char		*name;		/* IMAP name */
	char		*dir, *dir_new, *dir_cur, *dir_tmp;
	bool		 read_only;
	struct mbox_ul	 ul;
	uint32_t	 uidvalidity;	/* of the view; 0 before the first sync */
	/* Disk state: live uid list entries in UID order, by base name. */
	struct mbox_ent	*ents;
	size_t		 nents, capents;
	uint32_t	*hash;		/* ents index + 1; 0 = empty */
	size_t		 hashcap;	/* power of 2, > 2 * nents */
	/* The session's view, UID order. */
	struct mbox_msg	*msgs;
	size_t		 nmsgs, capmsgs;
	uint32_t	 nrecent;
	/* Fast path of mbox_sync: the stamps before the last full scan. */
	bool		 stamps_ok;
	struct timespec	 mt_new, mt_cur, mt_ul;
	ino_t		 ino_ul;
	off_t		 size_ul;
};

/* mbox_name.c */
char	*mbox_folder_dir(const struct mbox_user *u, const char *name);
bool	 mbox_is_maildir(const char *dir);
int	 mbox_maildir_make(const char *dir);
unsigned mbox_flags_from_name(const char *name);
char	*mbox_flags_name(const char *base, const char *oldname, unsigned flags);
size_t	 mbox_base_len(const char *name);
char	*mbox_find_in_cur(const char *dir_cur, const char *base);
uint32_t mbox_user_uidvalidity(struct mbox_user *u, uint32_t above);
char	*mbox_unique_base(struct mbox_user *u);
int	 mbox_vsize_fd(int fd, uint64_t *vsize);

/* mbox.c */
void	 mbox_seterr(char *err, size_t errlen, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
struct mbox_ent *mbox_ent_find(struct mbox *m, const char *base);
void	 mbox_ent_add(struct mbox *m, const struct mbox_ent *e);
void	 mbox_ents_compact(struct mbox *m);
/*
 * The path of msg's file: as last known, or with retry found again by its
 * base in cur/ (renamed by another session since our last sync), updating
 * the view and the entry; NULL when it is truly gone. A retry looks under
 * the uid list's exclusive lock: *lockfd held (shared) is converted, -1
 * is replaced by a new locked fd the caller closes.
 */
char	*mbox_msg_path(struct mbox *m, struct mbox_msg *msg, bool retry,
	    int *lockfd);
/* The folder's uid list flocked LOCK_SH: the fd, or -1. */
int	 mbox_lock_shared(struct mbox *m);
/* Under the lock *lockfd: unlinks msg's file, marks its entry dead (call
 * mbox_ents_compact() after). 0 (also when already gone) or -1. */
int	 mbox_unlink_locked(struct mbox *m, struct mbox_msg *msg,
	    int *lockfd);
/* Removes the messages with del[i] from the view, listing their sequence
 * numbers in ch (descending: each is valid when it is reported). */
void	 mbox_view_remove(struct mbox *m, const bool *del,
	    struct mbox_changes *ch);

/* mbox_folder.c: first login (special folders, subscriptions). */
int	 mbox_user_setup(struct mbox_user *u, char *err, size_t errlen);

/* mbox_ul.c */
void	mbox_ul_init(struct mbox_ul *ul, const char *dir);
void	mbox_ul_free(struct mbox_ul *ul);
/* Opens (creating) and flocks the current file (op LOCK_EX or LOCK_SH).
 * The fd, or -1 (errno). */
int	mbox_ul_lock(struct mbox_ul *ul, int op);
/* Converts *fdp (LOCK_SH) to LOCK_EX on the file that is current at the
 * path: when it was replaced while the lock was dropped, *fdp is closed
 * and replaced by a fresh mbox_ul_lock(LOCK_EX) (-1 on failure). 0/-1. */
int	mbox_ul_upgrade(struct mbox_ul *ul, int *fdp);
/*
 * Under LOCK_EX: reads the lines added since the last call (everything
 * when the file is new to us). A missing or bad first line gets a new
 * UIDVALIDITY: the file is replaced by just a header (*fdp is then the new
 * file's fd, locked), *reset is set (forget every line) and every message
 * gets a new UID. 0/-1.
 */
/* Would mbox_ul_read() read fd from its top (replaced, truncated, new)? */
bool	mbox_ul_is_new(const struct mbox_ul *ul, int fd);
int	mbox_ul_read(struct mbox_user *u, struct mbox_ul *ul, int *fdp,
	    bool *reset, void (*rec)(void *, const struct mbox_uidlist_rec *),
	    void *arg);
uint32_t mbox_ul_uidnext(const struct mbox_ul *ul);
/* Appends lines for n messages numbered from uidnext (uids_out[i]);
 * fdatasync. 0, or -1 (UIDs exhausted, I/O). */
int	mbox_ul_append(struct mbox_ul *ul, int fd, char *const *bases,
	    const uint64_t *vsizes, size_t n, uint32_t *uids_out);
/* Dead lines more than half and more than 100? */
bool	mbox_ul_wants_rewrite(const struct mbox_ul *ul, size_t live);
/* Replaces the file with a header and the lines of ents (tmp, rename);
 * *fdp becomes the new file, locked. 0/-1. */
int	mbox_ul_rewrite(struct mbox_ul *ul, int *fdp, const struct mbox_ent *e,
	    size_t n);

/* mbox_append.c: fsync of dir/sub (a rename there made durable).
 * mbox_dir_fsyncs counts the calls (for the unit tests). */
int	mbox_fsync_dir(const char *dir, const char *sub);
extern unsigned long mbox_dir_fsyncs;

/* mbox_sync.c */
int	mbox_sync_disk(struct mbox *m, bool force);

#endif
