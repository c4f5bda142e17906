/*
 * pop3_int: what the two halves of the POP3 session share:
 * pop3_session.c (connection, read loop, AUTHORIZATION: CAPA, STLS, USER,
 * PASS, AUTH) and pop3_trans.c (TRANSACTION and UPDATE: the maildrop,
 * STAT ... QUIT, and the paced output of RETR, TOP, LIST and UIDL).
 * Not for other modules.
 */
#ifndef POSTERN_POP3_INT_H
#define POSTERN_POP3_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "core/log.h"
#include "msess/msess.h"
#include "pop3/pop3_parse.h"
#include "pop3/pop3_xfer.h"

/* RFC 1939 10 minutes, the floor of STYLE 4: also our value. */
#define POP3_IDLE_SEC		600
/* -ERR replies in a row before we give up on the client: ours. */
#define POP3_ERRORS_MAX		10
/* Bytes read from a message file at a time while streaming: ours. */
#define POP3_READ_CHUNK		(64 * 1024)

enum pop3_state {
	POP3_STATE_AUTHORIZATION,	/* greeted, not logged in */
	POP3_STATE_TRANSACTION,		/* maildrop locked and open */
	POP3_STATE_UPDATE,		/* QUIT: deleting, then closing */
	POP3_STATE_CLOSING,		/* msess_close() called: nothing more */
	POP3_STATE_COUNT
};

/* What keeps the read loop from taking the next command. */
enum pop3_wait {
	POP3_WAIT_NONE,
	POP3_WAIT_LOGIN,	/* msess_login() running */
	POP3_WAIT_OUTPUT,	/* a multi-line response is being produced */
};

/* A multi-line response produced in pieces while the client reads. */
enum pop3_prod {
	POP3_PROD_NONE,
	POP3_PROD_FILE,		/* RETR, TOP: a message file */
	POP3_PROD_LIST,		/* LIST without argument */
	POP3_PROD_UIDL,		/* UIDL without argument */
};

struct mbox_user;
struct mbox;

struct pop3_session {
	struct msess		*c;
	const struct config	*cfg;
	struct log_ctx		*log;
	enum pop3_state		 state;
	enum pop3_wait		 wait;
	unsigned		 errors;	/* -ERR in a row */
	bool			 skip_line;	/* drop input up to the next LF */
	bool			 auth_cont;	/* AUTH PLAIN: "+ " sent, waiting */
	char			*user;		/* after USER, until PASS */

	/* Callback nesting: close() during a callback frees afterwards. */
	unsigned		 depth;
	bool			 dead;

	/* TRANSACTION */
	struct mbox_user	*mu;
	struct mbox		*mb;
	int			 lock_fd;	/* mbox_pop3_lock(); -1 = none */
	uint32_t		 count;		/* messages, fixed at login */
	bool			*del;		/* [count]: DELE marks */
	uint32_t		 ndel;
	uint64_t		 octets;	/* vsize of all messages */
	uint64_t		 del_octets;	/* vsize of the marked ones */

	/* The paced producer */
	enum pop3_prod		 prod;
	int			 fd;		/* POP3_PROD_FILE; -1 = none */
	struct pop3_xfer	 xfer;
	uint32_t		 next_idx;	/* POP3_PROD_LIST, _UIDL */
	char			*chunk;		/* POP3_READ_CHUNK bytes */
	char			*conv;		/* POP3_XFER_OUT_MAX(chunk) */
};

/* pop3_session.c */
void	pop3_set_state(struct pop3_session *s, enum pop3_state st);
void	pop3_ok(struct pop3_session *s, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* -ERR text; a client error counts toward POP3_ERRORS_MAX (and may close
 * the session: check s->state afterwards). */
void	pop3_err(struct pop3_session *s, bool client_fault, const char *fmt,
	    ...) __attribute__((format(printf, 3, 4)));
void	pop3_close(struct pop3_session *s, const char *reason);
/* A wait ended: take the next pipelined command, if any. */
void	pop3_resume(struct pop3_session *s);

/* pop3_trans.c */
/* Login succeeded for mailbox key: lock and open the maildrop, answer. */
void	pop3_trans_begin(struct pop3_session *s, const char *mailbox);
void	pop3_trans_cmd(struct pop3_session *s, const struct pop3_cmd *cmd);
/* QUIT in TRANSACTION: UPDATE, answer, close. */
void	pop3_trans_quit(struct pop3_session *s);
/* Produce more of the current multi-line response; true when it is done. */
bool	pop3_trans_produce(struct pop3_session *s);
/* Releases the maildrop without deleting anything. */
void	pop3_trans_end(struct pop3_session *s);

#endif
