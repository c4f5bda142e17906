/*
 * pop3_trans: the POP3 TRANSACTION and UPDATE states (RFC 1939 5, 6, 7):
 * the maildrop (INBOX, locked for the session, its message list fixed at
 * login), STAT, LIST, UIDL, RETR, TOP, DELE, NOOP, RSET and QUIT, and the
 * paced output of the multi-line responses: a message file is read in
 * POP3_READ_CHUNK pieces, converted by pop3_xfer and written only while
 * msess has room, so a client that never reads costs no memory.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "core/xalloc.h"
#include "pop3/pop3_int.h"
#include "store/mbox.h"

/* The maildrop could not be used: log the detail, tell the client little. */
static void
pop3_trans_fail(struct pop3_session *s, const char *what, const char *err)
{
	log_kv(s->log, LOGL_ERROR, "mailbox_error", "op", what, "detail", err,
	    NULL);
	pop3_err(s, false, "[SYS/TEMP] cannot open maildrop, ref %s",
	    msess_id(s->c));
}

void
pop3_trans_begin(struct pop3_session *s, const char *mailbox)
{
	char err[256] = "", *root;
	uint32_t i;

	root = mailbox != NULL ? mbox_root(mailbox) : NULL;
	if (root == NULL) {
		pop3_trans_fail(s, "root", "bad mailbox key");
		return;
	}
	s->mu = mbox_user_open(root, err, sizeof(err));
	free(root);
	if (s->mu == NULL) {
		pop3_trans_fail(s, "user_open", err);
		return;
	}
	/* RFC 1939 8: one session per maildrop. The lock is taken before the
	 * open so a second session never moves mail out of new/ either. */
	s->lock_fd = mbox_pop3_lock(s->mu);
	if (s->lock_fd < 0) {
		int e = errno;

		mbox_user_close(&s->mu);
		if (e == EWOULDBLOCK || e == EAGAIN) {
			log_kv(s->log, LOGL_INFO, "pop3_in_use", "user", mailbox,
			    NULL);
			pop3_err(s, false, "[IN-USE] mailbox in use by another session");
		} else {
			pop3_trans_fail(s, "lock", strerror(e));
		}
		return;
	}
	/* Not read-only: new mail moves to cur/ and keeps its UID, as an
	 * IMAP session would see it. */
	s->mb = mbox_open(s->mu, "INBOX", false, err, sizeof(err));
	if (s->mb == NULL) {
		pop3_trans_end(s);
		pop3_trans_fail(s, "open", err);
		return;
	}
	s->count = mbox_count(s->mb);
	s->del = xcalloc(s->count > 0 ? s->count : 1, sizeof(*s->del));
	s->ndel = 0;
	s->octets = s->del_octets = 0;
	for (i = 0; i < s->count; i++)
		s->octets += mbox_msg(s->mb, i)->vsize;
	pop3_set_state(s, POP3_STATE_TRANSACTION);
	pop3_ok(s, "maildrop has %" PRIu32 " messages (%" PRIu64 " octets)",
	    s->count, s->octets);
}

void
pop3_trans_end(struct pop3_session *s)
{
	if (s->fd >= 0) {
		close(s->fd);
		s->fd = -1;
	}
	s->prod = POP3_PROD_NONE;
	mbox_close(&s->mb);
	if (s->lock_fd >= 0) {
		close(s->lock_fd);
		s->lock_fd = -1;
	}
	mbox_user_close(&s->mu);
	free(s->del);
	s->del = NULL;
	free(s->chunk);
	s->chunk = NULL;
	free(s->conv);
	s->conv = NULL;
	s->count = s->ndel = 0;
}

/* Message number n of a command: exists and not marked, else -ERR. The
 * index in *idx_out. */
static bool
pop3_trans_msg(struct pop3_session *s, uint32_t n, uint32_t *idx_out)
{
	if (n == 0 || n > s->count) {
		pop3_err(s, true, "no such message");
		return false;
	}
	if (s->del[n - 1]) {
		pop3_err(s, true, "message %" PRIu32 " already deleted", n);
		return false;
	}
	*idx_out = n - 1;
	return true;
}

/* RFC 1939 7 unique-id: 1-70 of 0x21-0x7e. Ours: UIDVALIDITY and UID as
 * 8 hex digits each, the same in every session while the uid list lives. */
static void
pop3_trans_uidl_line(struct pop3_session *s, uint32_t idx, bool ok)
{
	msess_printf(s->c, "%s%" PRIu32 " %08" PRIx32 "%08" PRIx32 "\r\n",
	    ok ? "+OK " : "", idx + 1, mbox_uidvalidity(s->mb),
	    mbox_msg(s->mb, idx)->uid);
	if (ok)
		s->errors = 0;
}

/* Starts a multi-line response producer; the read loop waits until done. */
static void
pop3_trans_start(struct pop3_session *s, enum pop3_prod prod)
{
	s->prod = prod;
	s->next_idx = 0;
	s->wait = POP3_WAIT_OUTPUT;
	if (pop3_trans_produce(s))
		s->wait = POP3_WAIT_NONE;
}

static void
pop3_trans_retr(struct pop3_session *s, const struct pop3_cmd *cmd, bool top)
{
	uint32_t idx;
	int fd;

	if (!pop3_trans_msg(s, cmd->msg, &idx))
		return;
	fd = mbox_msg_open(s->mb, idx);
	if (fd < 0) {
		if (errno == ENOENT) {
			pop3_err(s, false, "message %" PRIu32 " no longer exists",
			    cmd->msg);
		} else {
			log_kv(s->log, LOGL_ERROR, "mailbox_error", "op",
			    "msg_open", "detail", strerror(errno), NULL);
			pop3_err(s, false, "[SYS/TEMP] cannot read message, ref %s",
			    msess_id(s->c));
		}
		return;
	}
	s->fd = fd;
	if (s->chunk == NULL) {
		s->chunk = xmalloc(POP3_READ_CHUNK);
		s->conv = xmalloc(POP3_XFER_OUT_MAX(POP3_READ_CHUNK));
	}
	pop3_xfer_init(&s->xfer, top, cmd->lines);
	if (top)
		pop3_ok(s, "top of message follows");
	else
		pop3_ok(s, "%" PRIu64 " octets", mbox_msg(s->mb, idx)->vsize);
	pop3_trans_start(s, POP3_PROD_FILE);
}

void
pop3_trans_cmd(struct pop3_session *s, const struct pop3_cmd *cmd)
{
	uint32_t idx;

	switch (cmd->verb) {
	case POP3_VERB_STAT:
		pop3_ok(s, "%" PRIu32 " %" PRIu64, s->count - s->ndel,
		    s->octets - s->del_octets);
		break;
	case POP3_VERB_LIST:
		if (!cmd->has_msg) {
			pop3_ok(s, "%" PRIu32 " messages (%" PRIu64 " octets)",
			    s->count - s->ndel, s->octets - s->del_octets);
			pop3_trans_start(s, POP3_PROD_LIST);
		} else if (pop3_trans_msg(s, cmd->msg, &idx)) {
			pop3_ok(s, "%" PRIu32 " %" PRIu64, cmd->msg,
			    mbox_msg(s->mb, idx)->vsize);
		}
		break;
	case POP3_VERB_UIDL:
		if (!cmd->has_msg) {
			pop3_ok(s, "unique-id listing follows");
			pop3_trans_start(s, POP3_PROD_UIDL);
		} else if (pop3_trans_msg(s, cmd->msg, &idx)) {
			pop3_trans_uidl_line(s, idx, true);
		}
		break;
	case POP3_VERB_RETR:
		pop3_trans_retr(s, cmd, false);
		break;
	case POP3_VERB_TOP:
		pop3_trans_retr(s, cmd, true);
		break;
	case POP3_VERB_DELE:
		if (pop3_trans_msg(s, cmd->msg, &idx)) {
			s->del[idx] = true;
			s->ndel++;
			s->del_octets += mbox_msg(s->mb, idx)->vsize;
			pop3_ok(s, "message %" PRIu32 " deleted", cmd->msg);
		}
		break;
	case POP3_VERB_NOOP:
		pop3_ok(s, "%s", "");
		break;
	case POP3_VERB_RSET:
		memset(s->del, 0, (s->count > 0 ? s->count : 1) * sizeof(*s->del));
		s->ndel = 0;
		s->del_octets = 0;
		pop3_ok(s, "maildrop has %" PRIu32 " messages (%" PRIu64 " octets)",
		    s->count, s->octets);
		break;
	default:
		pop3_err(s, true, "command not valid in this state");
		break;
	}
}

void
pop3_trans_quit(struct pop3_session *s)
{
	size_t failed = 0;
	uint32_t ndel = s->ndel;

	/* RFC 1939 6: only QUIT from TRANSACTION removes anything. */
	pop3_set_state(s, POP3_STATE_UPDATE);
	if (s->ndel > 0)
		failed = mbox_delete(s->mb, s->del);
	if (ndel > 0) {
		char nd[16], nf[24];

		snprintf(nd, sizeof(nd), "%" PRIu32, ndel);
		snprintf(nf, sizeof(nf), "%zu", failed);
		log_kv(s->log, failed > 0 ? LOGL_ERROR : LOGL_INFO,
		    "pop3_update", "marked", nd, "failed", nf, NULL);
	}
	pop3_trans_end(s);
	if (failed > 0)
		pop3_err(s, false, "some deleted messages not removed");
	else
		pop3_ok(s, "bye (%" PRIu32 " messages deleted)", ndel);
	pop3_close(s, "quit");
}

/* Lines of LIST or UIDL while there is room. true when ".". */
static bool
pop3_trans_produce_list(struct pop3_session *s)
{
	while (s->next_idx < s->count && !msess_out_full(s->c)) {
		uint32_t i = s->next_idx++;

		if (s->del[i])
			continue;
		if (s->prod == POP3_PROD_UIDL)
			pop3_trans_uidl_line(s, i, false);
		else
			msess_printf(s->c, "%" PRIu32 " %" PRIu64 "\r\n", i + 1,
			    mbox_msg(s->mb, i)->vsize);
	}
	if (s->next_idx < s->count)
		return false;
	msess_printf(s->c, ".\r\n");
	return true;
}

/* The message file while there is room. true when ".". */
static bool
pop3_trans_produce_file(struct pop3_session *s)
{
	while (!msess_out_full(s->c)) {
		ssize_t n = read(s->fd, s->chunk, POP3_READ_CHUNK);
		size_t o;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			/* The "+OK" is out: the only honest end is the close. */
			log_kv(s->log, LOGL_ERROR, "mailbox_error", "op", "read",
			    "detail", strerror(errno), NULL);
			pop3_close(s, "read_error");
			return true;
		}
		if (n > 0) {
			o = pop3_xfer_feed(&s->xfer, s->chunk, (size_t)n, s->conv);
			msess_write(s->c, s->conv, o);
		}
		if (n == 0 || s->xfer.done) {
			o = pop3_xfer_finish(&s->xfer, s->conv);
			msess_write(s->c, s->conv, o);
			close(s->fd);
			s->fd = -1;
			return true;
		}
	}
	return false;
}

bool
pop3_trans_produce(struct pop3_session *s)
{
	bool done;

	switch (s->prod) {
	case POP3_PROD_FILE:
		done = pop3_trans_produce_file(s);
		break;
	case POP3_PROD_LIST:
	case POP3_PROD_UIDL:
		done = pop3_trans_produce_list(s);
		break;
	default:
		done = true;
		break;
	}
	if (done)
		s->prod = POP3_PROD_NONE;
	return done;
}
