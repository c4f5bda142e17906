/*
 * queue: the durable spool of accepted mail, data_dir/queue/ (SPEC section
 * 3). One file per message: an envelope, the message in LF form, then
 * appended per-recipient state records. A file is written in queue/tmp/,
 * fdatasync'ed, renamed into queue/ and the directory fsync'ed before the
 * client hears 250; several messages share one directory fsync (group
 * commit). Paths are relative: the process's cwd is data_dir.
 *
 *   postern-queue 1
 *   id <queue id>            time <unix seconds>
 *   from <address or empty>  client <ip>  helo <name>  auth <user>
 *   spf <result word>        optional (absent = none): RFC 7208 2.6
 *   rcpt <state>\t<kind>\t<original>\t<target>     one per recipient
 *   body <20-digit length>
 *   <empty line>, then the message, then records
 *   R\t<index>\t<state>\t<attempts>\t<next try>\t<reply>\t<checksum>
 */
#ifndef POSTERN_QUEUE_H
#define POSTERN_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/ids.h"

/* Where the queue is, relative to the cwd: "queue" (data_dir/queue) for
 * the command line and the queue manager, "." for a worker, whose root is
 * data_dir/queue itself. */
struct queue_paths {
	char	dir[64], tmp[64], free[64];
};
extern struct queue_paths queue_paths;
#define QUEUE_DIR	(queue_paths.dir)
#define QUEUE_TMP_DIR	(queue_paths.tmp)	/* being written, never acknowledged */
#define QUEUE_FREE_DIR	(queue_paths.free)	/* finished files kept for reuse */
#define QUEUE_FREE_MAX	512			/* ... at most this many */

/* Sets the queue's root directory ("queue" by default). */
void	queue_set_root(const char *root);

enum queue_state { QSTATE_QUEUED, QSTATE_DEFERRED, QSTATE_SENT, QSTATE_BOUNCED };
enum queue_kind { QKIND_LOCAL = 'L', QKIND_REMOTE = 'R' };

struct queue_rcpt {
	enum queue_kind	 kind;
	char		*orig;		/* as the client wrote it (RCPT TO) */
	char		*target;	/* local mailbox key or remote address */
	enum queue_state state;
	unsigned	 attempts;
	int64_t		 next_try;	/* unix seconds, 0 = now */
	char		*last_reply;	/* "" when none */
};

/* Longest RFC 7208 2.6 result word ("permerror", "temperror") and a NUL. */
#define QUEUE_SPF_LEN	16

struct queue_env {
	char		 id[QUEUE_ID_LEN + 1];
	int64_t		 time;
	char		*from;		/* "" = null sender */
	char		*client;	/* ip */
	char		*helo;
	char		*auth;		/* "" = not authenticated */
	/*
	 * The SPF result for `from` at MAIL FROM (RFC 7208 2.6: pass fail
	 * softfail neutral none permerror temperror). "" is written as none;
	 * queue_read() always fills in a word, "none" when the file has no
	 * spf line (older files) or an unknown word. The autoresponders and
	 * bounces policies (require_spf, SPEC section 4) need "pass".
	 */
	char		 spf[QUEUE_SPF_LEN];
	struct queue_rcpt *rcpts;
	size_t		 nrcpts;
	uint64_t	 body_off;	/* offset of the message in the file */
	uint64_t	 body_len;
};

/* Creates queue/ and queue/tmp/ (mode 0700) if needed. */
int	queue_init_dirs(const char **err_out);
/* Removes leftovers in queue/tmp/ (never acknowledged). */
void	queue_clean_tmp(void);
/* A queue_env with rcpts appended one at a time; strings are copied. */
void	queue_env_add_rcpt(struct queue_env *env, enum queue_kind kind,
	    const char *orig, const char *target);
void	queue_env_clear(struct queue_env *env);
const char *queue_state_name(enum queue_state s);
bool	queue_state_final(enum queue_state s);
/* Is s one of the seven RFC 7208 2.6 result words (lower case)? */
bool	queue_spf_valid(const char *s);

/* ---- writing (on the loop thread; no fsync here) ---- */

struct queue_writer;

/* Creates queue/tmp/<env->id> and writes the envelope. NULL on error. */
struct queue_writer *queue_writer_open(const struct queue_env *env,
	    const char **err_out);
/* Appends message bytes (buffered). 0 or -1 (disk error, latched). */
int	queue_writer_write(struct queue_writer *w, const void *data, size_t n);
/* Flushes and records the body length; 0 or -1. */
int	queue_writer_finish(struct queue_writer *w);
uint64_t queue_writer_size(const struct queue_writer *w);
/* After finish, before commit: records a recipient's state (e.g. bounced
 * for a mailbox found over quota at end of data). 0 or -1. */
int	queue_writer_record(struct queue_writer *w, size_t idx,
	    const struct queue_rcpt *r);
/* Closes and unlinks the temporary file. */
void	queue_writer_abort(struct queue_writer **wp);
/*
 * After finish: the open file, for reading the message back (clamd and
 * milters read it with pread), and where the message sits in it. The fd
 * stays the writer's.
 */
int	queue_writer_fd(const struct queue_writer *w, uint64_t *off_out,
	    uint64_t *len_out);
/*
 * After finish, for a rewrite (filter modifications, quarantine): unlinks
 * the temporary file and frees the writer (*wp = NULL), but returns its
 * fd, still open, with the message's offset and length, so that the new
 * file can copy from it under the same queue id. -1 on error (then the
 * writer is aborted).
 */
int	queue_writer_detach(struct queue_writer **wp, uint64_t *off_out,
	    uint64_t *len_out);
/* A new unlinked file in queue/tmp/, open for reading and writing (a
 * milter's replacement body). -1 with errno. */
int	queue_scratch_open(void);

/* ---- committing: fdatasync, rename, directory fsync, off the loop ---- */

struct queue_committer;
struct event_base;
typedef void (*queue_commit_fn)(void *arg, int rc);	/* rc 0 = durable */

struct queue_committer *queue_committer_new(struct event_base *base);
/* Takes ownership of *wp (set to NULL); done runs on the loop thread. */
void	queue_commit(struct queue_committer *c, struct queue_writer **wp,
	    queue_commit_fn done, void *arg);
size_t	queue_committer_pending(const struct queue_committer *c);
void	queue_committer_free(struct queue_committer **cp);

/*
 * Writes a complete new message in one call, synchronously: for the queue
 * manager, which makes bounces and auto-replies. A fresh queue id is made
 * here (ids_queue(), like a worker's); env->id is ignored, env->time 0
 * means now. msg is the message in LF form (len bytes). The file is
 * written in queue/tmp/, fdatasync'ed, renamed into queue/ and the
 * directory fsync'ed before this returns 0 with the id in id_out; on -1
 * nothing is left in queue/ or queue/tmp/ and *err_out says why (static
 * text or strerror). Blocking: call it from a delivery thread, never from
 * a session loop. Safe from several threads at once.
 */
int	queue_inject(const struct queue_env *env, const void *msg, size_t len,
	    char id_out[QUEUE_ID_LEN + 1], const char **err_out);

/* ---- reading and updating ---- */

/* Parses queue/<id>; *fd_out is the open file (O_RDWR) for body reads and
 * record appends. Returns 0, or -1 with *err_out (static text). */
int	queue_read(const char *id, struct queue_env *env_out, int *fd_out,
	    const char **err_out);
/* Appends a state record for rcpt idx; sync = fdatasync after. */
int	queue_record(int fd, size_t idx, const struct queue_rcpt *r, bool sync);
/* Unlinks queue/<id>. */
int	queue_remove(const char *id);
/*
 * Takes queue/<id> out of the queue for good, keeping its inode in
 * queue/free/ for the next message: creating and deleting a file per
 * message costs more (inode allocation, block churn) than overwriting an
 * old one in place.
 */
int	queue_retire(const char *id);
/* Unlinks spare files beyond QUEUE_FREE_MAX. */
void	queue_free_trim(void);
/* Ids in queue/ in arrival order; the caller frees each and the array. */
int	queue_list(char ***ids_out, size_t *n_out);

#endif
