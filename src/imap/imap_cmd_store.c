/*
 * imap_cmd_store: the commands that change messages of the selected
 * folder: STORE (RFC 3501 6.4.6), COPY (6.4.7) with COPYUID (RFC 4315
 * 3), MOVE (RFC 6851), and their UID forms. Keywords are not kept:
 * storing one is accepted and ignored (no \* in PERMANENTFLAGS).
 */
#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"
#include "imap/imap_sess_int.h"

/* The messages of a set argument, as indexes in order; NULL with a BAD
 * sent. *nout may be 0. */
static uint32_t *
imap_set_indexes(struct imap_session *s, const struct imap_cmd *cmd,
    const struct imap_tok *t, bool uid, size_t *nout)
{
	uint32_t n = mbox_count(s->mb), i, *idx;
	bool *sel;
	size_t k = 0;

	if (t == NULL || t->type != IMAP_TOK_ATOM) {
		imap_reply_bad(s, cmd->tag, "Sequence set expected");
		return NULL;
	}
	sel = xcalloc(n + 1, sizeof(*sel));
	if (imap_set_select(s, t->val, uid, sel) < 0) {
		free(sel);
		imap_reply_bad(s, cmd->tag, "Invalid sequence set");
		return NULL;
	}
	idx = xcalloc(n + 1, sizeof(*idx));
	for (i = 0; i < n; i++)
		if (sel[i])
			idx[k++] = i;
	free(sel);
	*nout = k;
	return idx;
}

/*
 * The item and flags of STORE: FLAGS, +FLAGS or -FLAGS (op 0, 1, -1),
 * each optionally .SILENT, then one list of flags or atoms (RFC 3501 9
 * store-att-flags). NULL, or the reason for BAD.
 */
static const char *
imap_store_parse(const struct imap_cmd *cmd, size_t arg, int *op,
    bool *silent, unsigned *flags)
{
	const struct imap_tok *item = imap_arg(cmd, &arg), *t;
	struct span v;
	size_t k;

	if (item == NULL || item->type != IMAP_TOK_ATOM || arg >= cmd->ntoks)
		return "STORE needs set, item and flags";
	v = item->val;
	*op = v.ptr[0] == '+' ? 1 : v.ptr[0] == '-' ? -1 : 0;
	if (*op != 0) {
		v.ptr++;
		v.len--;
	}
	*silent = span_eq_nocase(v, "FLAGS.SILENT");
	if (!*silent && !span_eq_nocase(v, "FLAGS"))
		return "Unknown STORE item";
	while ((t = imap_arg(cmd, &arg)) != NULL) {
		if (t->type == IMAP_TOK_LIST) {
			for (k = (size_t)(t - cmd->toks) + 1; k < t->end; k++)
				if (cmd->toks[k].type != IMAP_TOK_ATOM ||
				    imap_flag_parse(cmd->toks[k].val, flags) < 0)
					return "Invalid flag";
		} else if (t->type != IMAP_TOK_ATOM ||
		    imap_flag_parse(t->val, flags) < 0) {
			return "Invalid flag";
		}
	}
	return NULL;
}

void
imap_cmd_store(struct imap_session *s, const struct imap_cmd *cmd,
    size_t arg, bool uid)
{
	const struct imap_tok *set = imap_arg(cmd, &arg);
	const char *why;
	unsigned flags = 0, nf;
	uint32_t *idx;
	size_t n, i;
	bool silent = false, gone = false;
	int op = 0, rc;
	struct buf b;

	if ((why = imap_store_parse(cmd, arg, &op, &silent, &flags)) != NULL) {
		imap_reply_bad(s, cmd->tag, why);
		return;
	}
	if ((idx = imap_set_indexes(s, cmd, set, uid, &n)) == NULL)
		return;
	if (s->read_only) {
		free(idx);
		imap_reply(s, cmd->tag, "NO", "Mailbox is read-only");
		return;
	}
	buf_init(&b, 256);
	for (i = 0; i < n; i++) {
		const struct mbox_msg *m = mbox_msg(s->mb, idx[i]);

		nf = op > 0 ? m->flags | flags : op < 0 ? m->flags & ~flags :
		    flags;
		rc = nf == m->flags ? 0 : mbox_set_flags(s->mb, idx[i], nf);
		if (rc != 0) {
			gone = true;
			continue;
		}
		if (silent)
			continue;
		m = mbox_msg(s->mb, idx[i]);
		buf_reset(&b);
		imap_put_flags(&b, m->flags, m->recent);
		if (uid)
			imap_untagged(s, "%u FETCH (UID %u FLAGS (%s))",
			    idx[i] + 1, m->uid, buf_cstr(&b));
		else
			imap_untagged(s, "%u FETCH (FLAGS (%s))", idx[i] + 1,
			    buf_cstr(&b));
	}
	buf_free(&b);
	free(idx);
	imap_session_sync(s, uid);
	if (gone)
		imap_reply(s, cmd->tag, "NO", "Some of the messages no longer "
		    "exist");
	else
		imap_reply(s, cmd->tag, "OK", "STORE completed");
}

/* The answer of a COPY or MOVE that worked: COPYUID (RFC 4315 3) in the
 * tagged OK, or for MOVE untagged before the EXPUNGEs (RFC 6851 4.3). */
static void
imap_copy_done(struct imap_session *s, struct span tag, bool move,
    uint32_t uidv, const uint32_t *src, const uint32_t *dst, size_t n,
    struct mbox_changes *ch)
{
	struct buf b;

	/* Two UID sets of at most MBOX_MSGS_MAX numbers each. */
	buf_init(&b, 64 * 1024 * 1024);
	buf_printf(&b, "[COPYUID %u ", uidv);
	imap_put_uidset(&b, src, n);
	buf_append(&b, " ", 1);
	imap_put_uidset(&b, dst, n);
	buf_append(&b, "]", 1);
	if (move) {
		imap_untagged(s, "OK %s Moved", buf_cstr(&b));
		imap_session_report(s, ch);
		imap_session_sync(s, true);
		imap_reply(s, tag, "OK", "MOVE completed");
	} else {
		imap_session_sync(s, true);
		imap_reply(s, tag, "OK", "%s COPY completed", buf_cstr(&b));
	}
	mbox_changes_clear(ch);
	buf_free(&b);
}

/* COPY and MOVE, with UIDPLUS's COPYUID. */
void
imap_cmd_copy(struct imap_session *s, const struct imap_cmd *cmd,
    size_t arg, bool uid)
{
	bool move = span_eq_nocase(uid ? cmd->toks[0].val : cmd->name, "MOVE");
	const struct imap_tok *set = imap_arg(cmd, &arg);
	const struct imap_tok *dt = imap_arg(cmd, &arg);
	struct mbox_changes ch;
	uint32_t *idx, *src = NULL, *dst = NULL, uidv = 0;
	char *dest = NULL, err[256];
	size_t n = 0, i;
	int rc;

	if (dt == NULL || arg < cmd->ntoks || (dest = imap_arg_cstr(dt)) == NULL) {
		imap_reply_bad(s, cmd->tag, "COPY needs a set and a mailbox");
		return;
	}
	if ((idx = imap_set_indexes(s, cmd, set, uid, &n)) == NULL) {
		free(dest);
		return;
	}
	if (mbox_name_is_inbox(dest)) {
		free(dest);
		dest = xstrdup("INBOX");
	}
	if (!mbox_folder_exists(s->mu, dest)) {
		imap_reply(s, cmd->tag, "NO", "[TRYCREATE] No such mailbox");
		goto out;
	}
	if (move && s->read_only) {
		imap_reply(s, cmd->tag, "NO", "Mailbox is read-only");
		goto out;
	}
	if (n == 0) {	/* RFC 3501 allows an empty set by UID */
		imap_session_sync(s, true);
		imap_reply(s, cmd->tag, "OK", "%s completed, nothing to do",
		    move ? "MOVE" : "COPY");
		goto out;
	}
	src = xcalloc(n, sizeof(*src));
	dst = xcalloc(n, sizeof(*dst));
	for (i = 0; i < n; i++)
		src[i] = mbox_msg(s->mb, idx[i])->uid;
	memset(&ch, 0, sizeof(ch));
	rc = move ? mbox_move(s->mb, idx, n, dest, &uidv, dst, &ch, err,
	    sizeof(err)) : mbox_copy(s->mb, idx, n, dest, &uidv, dst, err,
	    sizeof(err));
	if (rc < 0) {
		mbox_changes_clear(&ch);
		log_kv(s->log, LOGL_WARN, "mailbox_error", "detail", err, NULL);
		if (strncmp(err, "[TRYCREATE]", 11) == 0)
			imap_reply(s, cmd->tag, "NO", "[TRYCREATE] No such "
			    "mailbox");
		else
			imap_reply(s, cmd->tag, "NO", "%s failed, ref %s",
			    move ? "MOVE" : "COPY", msess_id(s->c));
		goto out;
	}
	imap_copy_done(s, cmd->tag, move, uidv, src, dst, n, &ch);
out:
	free(src);
	free(dst);
	free(idx);
	free(dest);
}
