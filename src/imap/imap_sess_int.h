/*
 * imap_sess_int: what the IMAP session's files share (imap_session.c, the
 * command files imap_cmd_*.c and imap_util.c). Not for other modules.
 */
#ifndef POSTERN_IMAP_SESS_INT_H
#define POSTERN_IMAP_SESS_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "imap/imap_parse.h"
#include "imap/imap_session.h"
#include "store/mbox.h"

#define IMAP_IDLE_SEC		(30 * 60)	/* RFC 3501 5.4: the floor */
#define IMAP_BADS_MAX		20		/* BADs in a row before BYE: ours */
#define IMAP_CHUNK		(64 * 1024)	/* body bytes read at a time: ours */
#define IMAP_STRUCT_MAX		(4u << 20)	/* ENVELOPE/BODYSTRUCTURE text: ours */

enum imap_state {
	IMAP_ST_NOTAUTH,	/* greeted, no login yet */
	IMAP_ST_AUTH,		/* logged in, no folder selected */
	IMAP_ST_SELECTED,	/* a folder is selected */
	IMAP_ST_LOGOUT,		/* BYE sent, closing */
};

/* How input is read: commands through the parser, or one line of a
 * continuation (AUTHENTICATE response, IDLE's DONE). */
enum imap_mode {
	IMAP_MODE_CMD,
	IMAP_MODE_AUTH,
	IMAP_MODE_IDLE,
};

struct imap_fetch;

struct imap_session {
	struct msess		*c;
	const struct config	*cfg;
	struct log_ctx		*log;
	enum imap_state		 state;
	enum imap_mode		 mode;
	char			*mode_tag;	/* tag of the AUTHENTICATE / IDLE */
	struct imap_parser	*parser;
	unsigned		 nbad;		/* BAD replies in a row */
	bool			 busy;		/* a command runs: start no other */
	bool			 closing;	/* msess_close() called */
	bool			 lit_refused_append; /* last refused literal: APPEND's */
	bool			 lit_refused_tls; /* ... a LOGIN's before TLS */
	bool			 in_process;	/* imap_session_process() runs */
	bool			 yield;		/* leave the read loop (STARTTLS) */
	uint64_t		 msg_max;	/* APPEND size limit, bytes */
	char			*user;		/* mailbox key after login */
	struct mbox_user	*mu;
	struct mbox		*mb;		/* selected folder, or NULL */
	bool			 read_only;	/* EXAMINE */
	uint32_t		 exists_sent;	/* EXISTS the client knows */
	uint32_t		 recent_sent;
	struct msess_watch	*watch_new, *watch_cur;	/* during IDLE */
	bool			 idle_pending;	/* a change waits for drained() */
	struct imap_fetch	*fetch;		/* a paced FETCH in progress */
};

/* A command handler. arg is the index of the first argument in cmd->toks
 * (after the subcommand for UID ...). Each handler sends its tagged reply
 * (now, or later when it runs asynchronously). */
typedef void (*imap_cmd_fn)(struct imap_session *s, const struct imap_cmd *cmd,
	    size_t arg, bool uid);

/* ---- imap_session.c ---- */
void	imap_session_set_state(struct imap_session *s, enum imap_state st);
/* "tag OK text\r\n" etc.; for OK, resets the BAD counter. */
void	imap_reply(struct imap_session *s, struct span tag, const char *status,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void	imap_reply_bad(struct imap_session *s, struct span tag,
	    const char *text);
/* Untagged: "* " fmt "\r\n". */
void	imap_untagged(struct imap_session *s, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* Syncs the selected folder and reports changes (EXPUNGE only when
 * allow_expunge: RFC 3501 7.4.1). */
void	imap_session_sync(struct imap_session *s, bool allow_expunge);
/* Reports what a sync, EXPUNGE or MOVE found. */
void	imap_session_report(struct imap_session *s, struct mbox_changes *ch);
/* Ends a command that ran asynchronously: input resumes. */
void	imap_session_resume(struct imap_session *s);
void	imap_session_close(struct imap_session *s, const char *reason);
void	imap_session_unselect(struct imap_session *s);
/* Is PLAIN in auth.mechanisms (AUTH=PLAIN, AUTHENTICATE PLAIN)? */
bool	imap_session_plain_ok(struct imap_session *s);
/* The CAPABILITY list for the session's state, without "* CAPABILITY". */
const char *imap_session_caps(struct imap_session *s);

/* ---- imap_util.c ---- */
/* toks[*i] when i < end (then *i moves to the next sibling), else NULL. */
const struct imap_tok *imap_arg(const struct imap_cmd *cmd, size_t *i);
/* A string argument as a C string (xmalloc); NULL when t is not a string
 * or holds a NUL. */
char	*imap_arg_cstr(const struct imap_tok *t);
/* Appends s as an IMAP string: quoted when it can be, else a literal. */
void	imap_put_string(struct buf *b, const char *s, size_t len);
/* "\Seen \Deleted ..." (no parentheses). */
void	imap_put_flags(struct buf *b, unsigned flags, bool recent);
/* "(\Seen)", "\Answered" ... -> enum mbox_flag bits; 0 or -1 (not a
 * flag). Keywords are accepted and ignored (not kept). */
int	imap_flag_parse(struct span v, unsigned *flags);
/* RFC 3501 date-time, "dd-Mon-yyyy hh:mm:ss +zzzz". */
void	imap_put_datetime(struct buf *b, int64_t t);
int	imap_datetime_parse(struct span v, int64_t *out);
/*
 * Resolves a sequence set (uid: a UID set) against the selected folder:
 * sel[idx] set true for each message in it. 0; -1 when it does not parse
 * or names a sequence number past the last message (answer BAD).
 */
int	imap_set_select(struct imap_session *s, struct span v, bool uid,
	    bool *sel);
/* Appends a UID set "1:3,7" for uids[0..n) (runs of consecutive UIDs). */
void	imap_put_uidset(struct buf *b, const uint32_t *uids, size_t n);
/* Does an IMAP LIST pattern (ours: "*", "%") match name? */
bool	imap_list_match(const char *pat, const char *name);

/* ---- command handlers ---- */
void	imap_cmd_capability(struct imap_session *, const struct imap_cmd *, size_t, bool);
void	imap_cmd_noop(struct imap_session *, const struct imap_cmd *, size_t, bool);
void	imap_cmd_logout(struct imap_session *, const struct imap_cmd *, size_t, bool);
void	imap_cmd_id(struct imap_session *, const struct imap_cmd *, size_t, bool);
void	imap_cmd_enable(struct imap_session *, const struct imap_cmd *, size_t, bool);
void	imap_cmd_namespace(struct imap_session *, const struct imap_cmd *, size_t, bool);
void	imap_cmd_starttls(struct imap_session *, const struct imap_cmd *, size_t, bool);
void	imap_cmd_login(struct imap_session *, const struct imap_cmd *, size_t, bool);
void	imap_cmd_authenticate(struct imap_session *, const struct imap_cmd *, size_t, bool);
void	imap_auth_line(struct imap_session *s);	/* MODE_AUTH input */
void	imap_cmd_select(struct imap_session *, const struct imap_cmd *, size_t, bool);
void	imap_cmd_close(struct imap_session *, const struct imap_cmd *, size_t, bool);
void	imap_cmd_unselect(struct imap_session *, const struct imap_cmd *, size_t, bool);
void	imap_cmd_check(struct imap_session *, const struct imap_cmd *, size_t, bool);
void	imap_cmd_expunge(struct imap_session *, const struct imap_cmd *, size_t, bool);
void	imap_cmd_idle(struct imap_session *, const struct imap_cmd *, size_t, bool);
void	imap_idle_line(struct imap_session *s);	/* MODE_IDLE input */
void	imap_idle_end(struct imap_session *s);
void	imap_idle_drained(struct imap_session *s);	/* drained() in IDLE */
void	imap_cmd_create(struct imap_session *, const struct imap_cmd *, size_t, bool);
void	imap_cmd_delete(struct imap_session *, const struct imap_cmd *, size_t, bool);
void	imap_cmd_rename(struct imap_session *, const struct imap_cmd *, size_t, bool);
void	imap_cmd_subscribe(struct imap_session *, const struct imap_cmd *, size_t, bool);
void	imap_cmd_list(struct imap_session *, const struct imap_cmd *, size_t, bool);
void	imap_cmd_status(struct imap_session *, const struct imap_cmd *, size_t, bool);
void	imap_cmd_append(struct imap_session *, const struct imap_cmd *, size_t, bool);
void	imap_cmd_search(struct imap_session *, const struct imap_cmd *, size_t, bool);
void	imap_cmd_fetch(struct imap_session *, const struct imap_cmd *, size_t, bool);
void	imap_fetch_run(struct imap_session *s);	/* paced: drained() */
void	imap_fetch_free(struct imap_fetch **fp);
void	imap_cmd_store(struct imap_session *, const struct imap_cmd *, size_t, bool);
void	imap_cmd_copy(struct imap_session *, const struct imap_cmd *, size_t, bool);

#endif
