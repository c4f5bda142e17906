/*
 * imap_cmd_append: APPEND (RFC 3501 6.3.11) with APPENDUID (RFC 4315 3).
 * The message arrives as one literal, whose size was checked against the
 * message size limit before "+" was sent (imap_session.c); the parser
 * holds it, and it goes to the store in IMAP_CHUNK pieces.
 */
#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"
#include "imap/imap_sess_int.h"

/* [flags] [date-time] literal after the name; 0 or -1 (BAD). */
static int
imap_append_args(const struct imap_cmd *cmd, size_t arg, unsigned *flags,
    int64_t *date, const struct imap_tok **msg)
{
	const struct imap_tok *t = imap_arg(cmd, &arg);
	size_t k;

	if (t != NULL && t->type == IMAP_TOK_LIST) {
		for (k = (size_t)(t - cmd->toks) + 1; k < t->end; k++)
			if (cmd->toks[k].type != IMAP_TOK_ATOM ||
			    imap_flag_parse(cmd->toks[k].val, flags) < 0)
				return -1;
		t = imap_arg(cmd, &arg);
	}
	if (t != NULL && t->type == IMAP_TOK_QUOTED) {
		if (imap_datetime_parse(t->val, date) < 0)
			return -1;
		t = imap_arg(cmd, &arg);
	}
	if (t == NULL || t->type != IMAP_TOK_LITERAL || arg < cmd->ntoks)
		return -1;
	*msg = t;
	return 0;
}

void
imap_cmd_append(struct imap_session *s, const struct imap_cmd *cmd,
    size_t arg, bool uid)
{
	const struct imap_tok *name_t = imap_arg(cmd, &arg), *msg = NULL;
	struct mbox_append *a;
	unsigned flags = 0;
	int64_t date = 0;
	uint32_t uidv = 0, newuid = 0;
	char *name, err[256];
	size_t off, n;

	(void)uid;
	if ((name = imap_arg_cstr(name_t)) == NULL ||
	    imap_append_args(cmd, arg, &flags, &date, &msg) < 0) {
		free(name);
		imap_reply_bad(s, cmd->tag, "Bad APPEND arguments");
		return;
	}
	if (msg->val.len > s->msg_max) {	/* a LITERAL+ one */
		free(name);
		imap_reply(s, cmd->tag, "NO", "[TOOBIG] Message too big");
		return;
	}
	if (mbox_name_is_inbox(name)) {
		free(name);
		name = xstrdup("INBOX");
	}
	a = mbox_append_begin(s->mu, name, err, sizeof(err));
	free(name);
	if (a == NULL) {
		if (strncmp(err, "[TRYCREATE]", 11) == 0)
			imap_reply(s, cmd->tag, "NO", "[TRYCREATE] No such "
			    "mailbox");
		else
			imap_reply(s, cmd->tag, "NO", "APPEND failed, ref %s",
			    msess_id(s->c));
		return;
	}
	for (off = 0; off < msg->val.len; off += n) {
		n = msg->val.len - off;
		if (n > IMAP_CHUNK)
			n = IMAP_CHUNK;
		if (mbox_append_write(a, msg->val.ptr + off, n) < 0) {
			mbox_append_abort(&a);
			log_kv(s->log, LOGL_ERROR, "mailbox_error", "detail",
			    "append write failed", NULL);
			imap_reply(s, cmd->tag, "NO", "APPEND failed, ref %s",
			    msess_id(s->c));
			return;
		}
	}
	if (mbox_append_commit(&a, flags, date, &uidv, &newuid, err,
	    sizeof(err)) < 0) {
		log_kv(s->log, LOGL_ERROR, "mailbox_error", "detail", err, NULL);
		imap_reply(s, cmd->tag, "NO", "APPEND failed, ref %s",
		    msess_id(s->c));
		return;
	}
	imap_session_sync(s, true);
	imap_reply(s, cmd->tag, "OK", "[APPENDUID %u %u] APPEND completed",
	    uidv, newuid);
}
