/*
 * mbox: a user's mail store as POP3 and IMAP see it (SPEC 3): a Maildir
 * whose root is INBOX, with Maildir++ folders (".Sent", ".a.b" for "a/b"),
 * flags in the file names (":2,DFRST"), and per folder a uid list,
 * `postern-uidlist`, that gives every message a UID that never changes
 * (docs/architecture.md, "Mailbox access"):
 *
 *   V<uidvalidity> N<uidnext>\n          first line
 *   <uid> <vsize> <base name>\n           one per message, UID order
 *
 * vsize is the message's size with CRLF line ends (RFC822.SIZE, POP3
 * octets), counted once when the UID is given. UIDs are given under an
 * exclusive flock on the uid list, by appending (fdatasync before the UIDs
 * are used); the file is rewritten (tmp, rename) only to drop the lines of
 * expunged messages when they are more than half of it. Flag changes and
 * expunges by our sessions take a shared flock, so a sync (exclusive)
 * always reads a stable cur/. A lost uid list gets a new UIDVALIDITY.
 *
 * Folder names are IMAP names as the client sent them (modified UTF-7,
 * RFC 3501 5.1.3), hierarchy separator "/". On disk "/" becomes ".", and
 * "." and "%" are written %2E and %25. "INBOX" (any case) is the root.
 *
 * Paths are relative to the current directory: the mailbox worker runs
 * chrooted in data_dir/mail, so a user's root is "DOMAIN/LOCAL"
 * (mbox_root()). Everything here is blocking file I/O on local disk, done
 * on the loop: each call is bounded (MBOX_* limits) and short.
 */
#ifndef POSTERN_MBOX_H
#define POSTERN_MBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MBOX_FOLDER_NAME_MAX	254	/* IMAP name bytes: ".name" fits NAME_MAX; each
					 * "." of a name costs 2 more (%2E): ours */
#define MBOX_FOLDERS_MAX	1000	/* folders per user: ours */
#define MBOX_DEPTH_MAX		16	/* levels in a folder name: ours */
#define MBOX_MSGS_MAX		1000000	/* messages per folder: ours */
#define MBOX_UIDLIST		"postern-uidlist"
#define MBOX_POP3_LOCK		"postern-pop3.lock"
#define MBOX_SUBSCRIPTIONS	"subscriptions"	/* in the root: one name a line */

/* System flags; on disk the Maildir letters D F R S T (in ASCII order). */
enum mbox_flag {
	MBOX_F_SEEN	= 0x01,	/* S */
	MBOX_F_ANSWERED	= 0x02,	/* R */
	MBOX_F_FLAGGED	= 0x04,	/* F */
	MBOX_F_DELETED	= 0x08,	/* T */
	MBOX_F_DRAFT	= 0x10,	/* D */
};
#define MBOX_F_ALL	0x1f

/* SPECIAL-USE (RFC 6154) of the folders made at first login. */
enum mbox_special {
	MBOX_SPECIAL_NONE = 0,
	MBOX_SPECIAL_SENT,	/* "Sent"   \Sent   */
	MBOX_SPECIAL_DRAFTS,	/* "Drafts" \Drafts */
	MBOX_SPECIAL_TRASH,	/* "Trash"  \Trash  */
	MBOX_SPECIAL_JUNK,	/* "Junk"   \Junk   */
};

struct mbox_msg {
	uint32_t	 uid;
	unsigned	 flags;		/* enum mbox_flag */
	bool		 recent;	/* this session moved it out of new/ */
	bool		 gone;		/* expunged by someone else, not yet
					 * reported (mbox_sync(..., false)) */
	uint64_t	 vsize;		/* bytes with CRLF line ends; 0 if gone */
	int64_t		 internaldate;	/* seconds: the file's mtime; 0 if gone */
};

/* What a sync found, for the session to report (IMAP EXPUNGE, EXISTS,
 * RECENT, FETCH FLAGS). Cleared with mbox_changes_clear(). */
struct mbox_changes {
	/* Sequence numbers to report as EXPUNGE, in the order to send them:
	 * each as it is at the time of its report (RFC 3501 7.4.1). */
	uint32_t	*expunged;
	size_t		 nexpunged;
	bool		 exists_changed;	/* report EXISTS mbox_count() */
	uint32_t	 recent;		/* report RECENT mbox_recent() if changed */
	bool		 recent_changed;
	/* 1-based sequence numbers whose flags another session changed. */
	uint32_t	*flags_changed;
	size_t		 nflags_changed;
};

struct mbox_user;
struct mbox;

/* "bob@example.org" -> "example.org/bob" (same escaping as delivery,
 * store/maildir.c). NULL for a key that has no local part or domain. */
char	*mbox_root(const char *mailbox_key);

/*
 * Opens a user's store at root, making the Maildir and the folders Sent,
 * Drafts, Trash and Junk (subscribed) if they do not exist yet (first
 * login). NULL with a reason in err.
 */
struct mbox_user *mbox_user_open(const char *root, char *err, size_t errlen);
void	mbox_user_close(struct mbox_user **up);
const char *mbox_user_root(const struct mbox_user *u);

/* ---- folders (IMAP CREATE, DELETE, RENAME, LIST, LSUB, SUBSCRIBE) ---- */

struct mbox_folder_info {
	char		*name;		/* IMAP name; "INBOX" for the root */
	enum mbox_special special;
	bool		 has_children;
	bool		 noselect;	/* only a parent: no Maildir of its own */
	bool		 subscribed;
};

/* Is name acceptable (bytes 0x20-0x7e, no "*" "%", no empty level, no
 * level "." or "..", length and depth within limits)? */
bool	mbox_name_valid(const char *name);
/* Case-folded "INBOX"? */
bool	mbox_name_is_inbox(const char *name);

/* 0, or -1 with err: exists, invalid name, too many folders, I/O. Parents
 * are made as needed (RFC 3501 6.3.3). */
int	mbox_folder_create(struct mbox_user *u, const char *name, char *err,
	    size_t errlen);
/* INBOX is refused; a folder with children is refused (RFC 3501 6.3.4
 * allows either). Removes its messages and its directory. */
int	mbox_folder_delete(struct mbox_user *u, const char *name, char *err,
	    size_t errlen);
/* Renames a folder and its children. Renaming INBOX moves its messages
 * into a new folder and leaves INBOX empty (RFC 3501 6.3.5). */
int	mbox_folder_rename(struct mbox_user *u, const char *from,
	    const char *to, char *err, size_t errlen);
/* Every folder, INBOX first, then by name; free with
 * mbox_folder_list_free(). -1 on I/O error. */
int	mbox_folder_list(struct mbox_user *u, struct mbox_folder_info **out,
	    size_t *nout);
void	mbox_folder_list_free(struct mbox_folder_info *v, size_t n);
bool	mbox_folder_exists(struct mbox_user *u, const char *name);
/* SUBSCRIBE / UNSUBSCRIBE (the name need not exist, RFC 3501 6.3.6). */
int	mbox_subscribe(struct mbox_user *u, const char *name, bool on);

/* STATUS without selecting: assigns UIDs to new mail (without taking it
 * out of new/) so that uidnext is exact. */
struct mbox_status {
	uint32_t	 messages, recent, unseen, uidnext, uidvalidity;
};
int	mbox_folder_status(struct mbox_user *u, const char *name,
	    struct mbox_status *st, char *err, size_t errlen);

/* ---- one open folder (SELECT, EXAMINE, POP3's INBOX) ---- */

/*
 * Opens and syncs a folder: messages in new/ are moved to cur/ (unless
 * read_only) and given UIDs; those moved by this call are recent.
 */
struct mbox *mbox_open(struct mbox_user *u, const char *name, bool read_only,
	    char *err, size_t errlen);
void	mbox_close(struct mbox **mp);

/* The folder's IMAP name as opened ("INBOX" for the root). */
const char *mbox_folder_name(const struct mbox *m);
uint32_t mbox_uidvalidity(const struct mbox *m);
uint32_t mbox_uidnext(const struct mbox *m);
/* The session's view: messages 1..count in UID order (index = seq - 1). */
uint32_t mbox_count(const struct mbox *m);
uint32_t mbox_recent(const struct mbox *m);
/* Message idx (NULL past the end): a copy, valid until the 4th next
 * mbox_msg() on m or mbox_close() (the view keeps only UIDs and flags; the
 * rest is the folder's state shared by the sessions of the process). */
const struct mbox_msg *mbox_msg(const struct mbox *m, uint32_t idx);
/* The index of uid, or -1. */
int64_t	mbox_find_uid(const struct mbox *m, uint32_t uid);
/* The folder's new/ and cur/ (for msess_watch_add()). */
const char *mbox_dir_new(const struct mbox *m);
const char *mbox_dir_cur(const struct mbox *m);

/*
 * Looks for changes by others (deliveries, other sessions, other tools);
 * cheap when nothing changed (the directories' and uid list's mtimes).
 * With report_expunges, messages gone are removed from the view and listed
 * in ch->expunged; without (during FETCH, STORE, SEARCH: RFC 3501 7.4.1)
 * they stay, marked gone. New messages are appended to the view either
 * way. 0, or -1 on I/O error (the view is unchanged); errno ESTALE when
 * the uid list was lost and the folder has a new UIDVALIDITY (the session
 * must end: RFC 3501 2.3.1.1). ch may be NULL; else what is found is
 * added to it (start from a zeroed or cleared one).
 */
int	mbox_sync(struct mbox *m, bool report_expunges, struct mbox_changes *ch);
void	mbox_changes_clear(struct mbox_changes *ch);

/* Sets the flags of message idx (a rename in cur/). 0; 1 when the message
 * is gone (expunged by another session); -1 on error. read_only: -1.
 * Durable (cur/ fsync'd, once for any number of changes) when the next
 * mbox_sync() or mbox_close() on m returns: call one before telling the
 * client (IMAP does, before every tagged OK of STORE and FETCH). */
int	mbox_set_flags(struct mbox *m, uint32_t idx, unsigned flags);

/* Opens message idx for reading (O_RDONLY|O_CLOEXEC), the LF form on
 * disk. -1 with errno ENOENT when it is gone. */
int	mbox_msg_open(struct mbox *m, uint32_t idx);

/*
 * Removes messages from disk and from the view: with only == NULL every
 * message flagged \Deleted (IMAP EXPUNGE, CLOSE); else those idx for which
 * only[idx] is true and that are flagged \Deleted (UID EXPUNGE). The
 * sequence numbers removed are listed in ch->expunged (report order).
 */
int	mbox_expunge(struct mbox *m, const bool *only, struct mbox_changes *ch);
/* POP3 UPDATE: removes the messages idx with del[idx] true, flags
 * ignored (in the view they keep their places, marked gone). Returns how
 * many could not be removed (gone ones count as removed). */
size_t	mbox_delete(struct mbox *m, const bool *del);

/*
 * COPY / UID COPY: copies messages (hard links when possible) into folder
 * dest of the same user, keeping their flags and internal dates; new UIDs
 * in dest, in order, given under dest's lock. *uidvalidity and uids[i]
 * (i < n) for COPYUID (RFC 4315). 0, or -1 with err (nothing copied).
 */
int	mbox_copy(struct mbox *m, const uint32_t *idx, size_t n,
	    const char *dest, uint32_t *uidvalidity, uint32_t *uids,
	    char *err, size_t errlen);
/* MOVE (RFC 6851): mbox_copy, then the sources are removed from disk and
 * from the view; their sequence numbers are in ch->expunged. */
int	mbox_move(struct mbox *m, const uint32_t *idx, size_t n,
	    const char *dest, uint32_t *uidvalidity, uint32_t *uids,
	    struct mbox_changes *ch, char *err, size_t errlen);

/* ---- APPEND: a message written in pieces ---- */

struct mbox_append;
/* Starts writing into folder name's tmp/. NULL with err (no such folder:
 * err starts "[TRYCREATE]"). */
struct mbox_append *mbox_append_begin(struct mbox_user *u, const char *name,
	    char *err, size_t errlen);
/* The next bytes as the client sent them: CRLF line ends are stored as
 * LF. 0, or -1 (disk full...). */
int	mbox_append_write(struct mbox_append *a, const void *data, size_t len);
/*
 * Fsyncs, moves into cur/ with flags and internaldate (0 = now; sets the
 * file's mtime), gives the UID under the folder's lock. Frees a. 0 with
 * *uidvalidity and *uid (APPENDUID, RFC 4315), or -1 with err.
 */
int	mbox_append_commit(struct mbox_append **ap, unsigned flags,
	    int64_t internaldate, uint32_t *uidvalidity, uint32_t *uid,
	    char *err, size_t errlen);
void	mbox_append_abort(struct mbox_append **ap);

/* ---- POP3 ---- */

/* One POP3 session per mailbox: a non-blocking exclusive flock on the
 * root's postern-pop3.lock. The fd (close to release), or -1 (errno
 * EWOULDBLOCK: another session has it). */
int	mbox_pop3_lock(struct mbox_user *u);

#endif
