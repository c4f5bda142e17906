/*
 * imap_cmd_select: opening and leaving a folder and what reports its
 * changes: SELECT, EXAMINE (RFC 3501 6.3.1-2), CHECK, CLOSE, EXPUNGE and
 * UID EXPUNGE (6.4.1-3, RFC 4315 2.1), UNSELECT (RFC 3691) and IDLE
 * (RFC 2177), which pushes EXISTS/RECENT/EXPUNGE/FETCH as the folder's
 * directories change.
 */
#include <event2/buffer.h>
#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"
#include "imap/imap_sess_int.h"

#define IMAP_SYSFLAGS	"\\Answered \\Flagged \\Deleted \\Seen \\Draft"

void
imap_cmd_select(struct imap_session *s, const struct imap_cmd *cmd,
    size_t arg, bool uid)
{
	bool ro = span_eq_nocase(cmd->name, "EXAMINE");
	const struct imap_tok *t = imap_arg(cmd, &arg);
	char *name, err[256];
	uint32_t i, n, unseen = 0;

	(void)uid;
	if (t == NULL || arg < cmd->ntoks || (name = imap_arg_cstr(t)) == NULL) {
		imap_reply_bad(s, cmd->tag, "SELECT needs a mailbox name");
		return;
	}
	/* RFC 3501 6.3.1: a failed SELECT leaves no folder selected. */
	imap_session_unselect(s);
	s->mb = mbox_open(s->mu, name, ro, err, sizeof(err));
	free(name);
	if (s->mb == NULL) {
		imap_reply(s, cmd->tag, "NO", "Mailbox does not exist or "
		    "cannot be opened");
		return;
	}
	s->read_only = ro;
	imap_session_set_state(s, IMAP_ST_SELECTED);
	n = mbox_count(s->mb);
	for (i = 0; i < n && unseen == 0; i++)
		if ((mbox_msg(s->mb, i)->flags & MBOX_F_SEEN) == 0)
			unseen = i + 1;
	imap_untagged(s, "FLAGS (" IMAP_SYSFLAGS ")");
	/* No \*: keywords are not kept (docs/imap.md). */
	imap_untagged(s, "OK [PERMANENTFLAGS (%s)] Flags permitted",
	    ro ? "" : IMAP_SYSFLAGS);
	imap_untagged(s, "%u EXISTS", n);
	imap_untagged(s, "%u RECENT", mbox_recent(s->mb));
	s->exists_sent = n;
	s->recent_sent = mbox_recent(s->mb);
	if (unseen > 0)
		imap_untagged(s, "OK [UNSEEN %u] First unseen", unseen);
	imap_untagged(s, "OK [UIDVALIDITY %u] UIDs valid",
	    mbox_uidvalidity(s->mb));
	imap_untagged(s, "OK [UIDNEXT %u] Predicted next UID",
	    mbox_uidnext(s->mb));
	imap_reply(s, cmd->tag, "OK", "[%s] %s completed",
	    ro ? "READ-ONLY" : "READ-WRITE", ro ? "EXAMINE" : "SELECT");
}

void
imap_cmd_close(struct imap_session *s, const struct imap_cmd *cmd,
    size_t arg, bool uid)
{
	struct mbox_changes ch;

	(void)arg;
	(void)uid;
	/* RFC 3501 6.4.2: expunge silently, unless read-only. */
	if (!s->read_only) {
		memset(&ch, 0, sizeof(ch));
		if (mbox_expunge(s->mb, NULL, &ch) < 0)
			log_kv(s->log, LOGL_ERROR, "mailbox_error", "detail",
			    "expunge at close failed", NULL);
		mbox_changes_clear(&ch);
	}
	imap_session_unselect(s);
	imap_reply(s, cmd->tag, "OK", "CLOSE completed");
}

void
imap_cmd_unselect(struct imap_session *s, const struct imap_cmd *cmd,
    size_t arg, bool uid)
{
	(void)arg;
	(void)uid;
	imap_session_unselect(s);
	imap_reply(s, cmd->tag, "OK", "UNSELECT completed");
}

void
imap_cmd_check(struct imap_session *s, const struct imap_cmd *cmd,
    size_t arg, bool uid)
{
	(void)arg;
	(void)uid;
	imap_session_sync(s, true);
	imap_reply(s, cmd->tag, "OK", "CHECK completed");
}

void
imap_cmd_expunge(struct imap_session *s, const struct imap_cmd *cmd,
    size_t arg, bool uid)
{
	const struct imap_tok *t = imap_arg(cmd, &arg);
	struct mbox_changes ch;
	bool *only = NULL;
	uint32_t n = mbox_count(s->mb);
	int rc;

	if ((uid && (t == NULL || t->type != IMAP_TOK_ATOM)) ||
	    (!uid && t != NULL) || arg < cmd->ntoks) {
		imap_reply_bad(s, cmd->tag, "Bad EXPUNGE arguments");
		return;
	}
	if (s->read_only) {
		imap_reply(s, cmd->tag, "NO", "Mailbox is read-only");
		return;
	}
	if (uid) {	/* RFC 4315 2.1 */
		only = xcalloc(n + 1, sizeof(*only));
		if (imap_set_select(s, t->val, true, only) < 0) {
			free(only);
			imap_reply_bad(s, cmd->tag, "Invalid UID set");
			return;
		}
	}
	memset(&ch, 0, sizeof(ch));
	rc = mbox_expunge(s->mb, only, &ch);
	free(only);
	imap_session_report(s, &ch);
	mbox_changes_clear(&ch);
	if (rc < 0) {
		log_kv(s->log, LOGL_ERROR, "mailbox_error", "detail",
		    "expunge failed", NULL);
		imap_reply(s, cmd->tag, "NO", "EXPUNGE failed, ref %s",
		    msess_id(s->c));
		return;
	}
	imap_session_sync(s, true);
	imap_reply(s, cmd->tag, "OK", "EXPUNGE completed");
}

/* A folder directory changed while idling: report at once. */
static void
imap_idle_changed(void *arg)
{
	struct imap_session *s = arg;

	if (s->closing || s->mode != IMAP_MODE_IDLE)
		return;
	/* A client that does not read while its folder keeps changing:
	 * report once its output has drained, not into a growing buffer. */
	if (msess_out_full(s->c)) {
		s->idle_pending = true;
		return;
	}
	s->idle_pending = false;
	imap_session_sync(s, true);
}

void
imap_idle_drained(struct imap_session *s)
{
	if (s->mode == IMAP_MODE_IDLE && s->idle_pending)
		imap_idle_changed(s);
}

void
imap_cmd_idle(struct imap_session *s, const struct imap_cmd *cmd,
    size_t arg, bool uid)
{
	(void)uid;
	if (arg < cmd->ntoks) {
		imap_reply_bad(s, cmd->tag, "IDLE takes no arguments");
		return;
	}
	free(s->mode_tag);
	s->mode_tag = xstrndup(cmd->tag.ptr, cmd->tag.len);
	s->mode = IMAP_MODE_IDLE;
	if (s->mb != NULL) {
		s->watch_new = msess_watch_add(s->c, mbox_dir_new(s->mb),
		    imap_idle_changed, s);
		s->watch_cur = msess_watch_add(s->c, mbox_dir_cur(s->mb),
		    imap_idle_changed, s);
	}
	msess_printf(s->c, "+ idling\r\n");
	/* What happened before the IDLE is reported at once. */
	imap_session_sync(s, true);
}

void
imap_idle_end(struct imap_session *s)
{
	msess_watch_del(&s->watch_new);
	msess_watch_del(&s->watch_cur);
	s->idle_pending = false;
	s->mode = IMAP_MODE_CMD;
	free(s->mode_tag);
	s->mode_tag = NULL;
}

/* During IDLE the only input is "DONE" (RFC 2177 3). Lines are short;
 * anything longer than a few bytes without CRLF is refused. */
void
imap_idle_line(struct imap_session *s)
{
	struct evbuffer *in = msess_input(s->c);
	struct evbuffer_ptr eol;
	size_t eol_len = 0, n;
	char line[16];
	char *tag;

	eol = evbuffer_search_eol(in, NULL, &eol_len, EVBUFFER_EOL_CRLF_STRICT);
	if (eol.pos < 0 && evbuffer_get_length(in) < sizeof(line))
		return;
	tag = xstrdup(s->mode_tag);
	imap_idle_end(s);
	if (eol.pos < 0 || (size_t)eol.pos >= sizeof(line)) {
		imap_reply_bad(s, span_from_cstr(tag), "Expected DONE");
		imap_untagged(s, "BYE Protocol error");
		imap_session_close(s, "protocol_error");
		free(tag);
		return;
	}
	n = (size_t)eol.pos;
	evbuffer_remove(in, line, n);
	evbuffer_drain(in, eol_len);
	line[n] = '\0';
	if (strcasecmp(line, "DONE") != 0) {
		imap_reply_bad(s, span_from_cstr(tag), "Expected DONE");
	} else {
		imap_session_sync(s, true);
		imap_reply(s, span_from_cstr(tag), "OK", "IDLE terminated");
	}
	free(tag);
}
