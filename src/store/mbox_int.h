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

/*
 * One uid list line that has (or had, until the next scan) a file: one
 * allocation per message, in the folder's shared state (struct mbox_fst).
 * The base name is the first baselen bytes of file (base names have no
 * ":", file names are base or base ":2,..."), so each record holds one
 * string. Dead records (unlinked, or a line for a base seen again) keep
 * their place and UID until mbox_ents_compact() frees them.
 */
#define MBOX_IDATE_UNKNOWN	INT64_MIN
struct mbox_ent {
	uint64_t	 vsize;
	int64_t		 idate;		/* file mtime; MBOX_IDATE_UNKNOWN */
	uint32_t	 uid;
	uint16_t	 baselen;
	uint8_t		 flags;
	bool		 in_new;	/* file is in new/ */
	bool		 recent;	/* moved out of new/ by us, not in a view */
	bool		 found;		/* scan mark */
	bool		 dead;
	char		 file[];	/* name in cur/, or in new/ if in_new */
};

/*
 * A folder's disk state as this process knows it, shared by every open
 * struct mbox of the process on the same directory (a registry keyed by
 * dir, refcounted; the mailbox worker is one thread: no locks in-process,
 * flock for the other processes). gen moves on every change a view must
 * see (records added, dropped, flags), so a view that has seen gen skips
 * its update.
 */
struct mbox_fst {
	struct mbox_fst	*next;		/* the registry */
	unsigned	 refs;
	char		*dir, *dir_new, *dir_cur, *dir_tmp;
	struct mbox_ul	 ul;
	/* Live uid list records in UID order (and dead ones until the next
	 * compaction), indexed by base name. */
	struct mbox_ent	**ents;
	size_t		 nents, capents;
	uint32_t	*hash;		/* ents index + 1; 0 = empty */
	size_t		 hashcap;	/* power of 2, > 2 * nents */
	uint64_t	 gen;
	/* Fast path of mbox_sync: the stamps before the last full scan. */
	bool		 stamps_ok;
	bool		 new_left;	/* a read-only sync left files in new/ */
	struct timespec	 mt_new, mt_cur, mt_ul;
	ino_t		 ino_ul;
	off_t		 size_ul;
};

/* View bits, one byte per message beside its UID. */
#define MBOX_V_FLAGS	0x1f		/* enum mbox_flag as last reported */
#define MBOX_V_RECENT	0x20
#define MBOX_V_GONE	0x40		/* not in the shared state: expunged,
					 * not yet reported */
#define MBOX_SCRATCH	4		/* mbox_msg() copies kept: ours */

struct mbox_scratch {
	struct mbox_msg	 v[MBOX_SCRATCH];
	unsigned	 next;
};

/* One session's view of a folder: only what is per session. */
struct mbox {
	struct mbox_user *u;
	struct mbox_fst	*f;
	char		*name;		/* IMAP name */
	bool		 read_only;
	uint32_t	 uidvalidity;	/* of the view; 0 before the first sync */
	uint64_t	 gen;		/* f->gen last seen by the view */
	/* The view, UID order: UIDs and bits. */
	uint32_t	*uids;
	uint8_t		*bits;
	size_t		 nmsgs, capmsgs;
	uint32_t	 nrecent;
	bool		 cur_dirty;	/* flags renamed, cur/ not fsync'd yet */
	struct mbox_scratch *sc;	/* what mbox_msg() returns points here */
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
/* A new record: base (blen bytes) and its file name (which starts with
 * base), or file NULL (just base until a scan finds it). */
struct mbox_ent *mbox_ent_new(const char *base, size_t blen, const char *file);
/* Sets the file name of record i (same base): reallocated. */
void	 mbox_ent_set_file(struct mbox_fst *f, size_t i, const char *file);
/* The live record of base: its index, or -1. */
int64_t	 mbox_ent_find(const struct mbox_fst *f, const char *base, size_t blen);
/* The live record of uid (binary search): its index, or -1. */
int64_t	 mbox_ent_by_uid(const struct mbox_fst *f, uint32_t uid);
/* Appends e (UIDs increase); takes it. */
void	 mbox_ent_add(struct mbox_fst *f, struct mbox_ent *e);
/* Marks record i dead (freed by the next mbox_ents_compact()). */
void	 mbox_ent_kill(struct mbox_fst *f, size_t i);
void	 mbox_ents_compact(struct mbox_fst *f);
/*
 * The path of view message idx's file: as last known, or with retry found
 * again by its base in cur/ (renamed by another process since our last
 * sync), updating the record; NULL when it is truly gone. A retry looks
 * under the uid list's exclusive lock: *lockfd held (shared) is
 * converted, -1 is replaced by a new locked fd the caller closes.
 */
char	*mbox_msg_path(struct mbox *m, uint32_t idx, bool retry, int *lockfd);
/* The folder's uid list flocked LOCK_SH: the fd, or -1. */
int	 mbox_lock_shared(struct mbox *m);
/* Under the lock *lockfd: unlinks view message idx's file, marks its
 * record dead (call mbox_ents_compact() after). 0 (also when already
 * gone) or -1. */
int	 mbox_unlink_locked(struct mbox *m, uint32_t idx, int *lockfd);
/* Removes the messages with del[i] from the view, listing their sequence
 * numbers in ch (descending: each is valid when it is reported). */
void	 mbox_view_remove(struct mbox *m, const bool *del,
	    struct mbox_changes *ch);
/* For tests: the current file name of view message idx, or NULL. */
const char *mbox_msg_file(const struct mbox *m, uint32_t idx);

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
int	mbox_ul_rewrite(struct mbox_ul *ul, int *fdp,
	    struct mbox_ent *const *e, size_t n);

/* mbox_append.c: fsync of dir/sub (a rename there made durable).
 * mbox_dir_fsyncs counts the calls (for the unit tests). */
int	mbox_fsync_dir(const char *dir, const char *sub);
extern unsigned long mbox_dir_fsyncs;

/* mbox.c: fsyncs cur/ if a flag change of m is not durable yet. 0/-1. */
int	mbox_flush(struct mbox *m);

/* mbox_sync.c: brings m's shared state up to date with the disk. */
int	mbox_sync_disk(struct mbox *m, bool force);

#endif
