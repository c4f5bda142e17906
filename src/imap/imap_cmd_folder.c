/*
 * imap_cmd_folder: the folder commands of the authenticated state (RFC
 * 3501 6.3.3-6.3.10): CREATE, DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE,
 * LIST and LSUB (with CHILDREN, RFC 3348, and SPECIAL-USE, RFC 6154,
 * including the LIST (SPECIAL-USE) selection option), STATUS. The folder
 * tree itself is store/mbox's.
 */
#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"
#include "imap/imap_sess_int.h"

/* One mailbox name argument, with a trailing "/" dropped (RFC 3501 6.3.3:
 * it only says children are meant to follow). NULL: reply sent. */
static char *
imap_folder_arg(struct imap_session *s, const struct imap_cmd *cmd,
    size_t *arg)
{
	const struct imap_tok *t = imap_arg(cmd, arg);
	char *name = imap_arg_cstr(t);
	size_t n;

	if (name == NULL) {
		imap_reply_bad(s, cmd->tag, "Mailbox name expected");
		return NULL;
	}
	n = strlen(name);
	if (n > 1 && name[n - 1] == '/')
		name[n - 1] = '\0';
	if (mbox_name_is_inbox(name)) {
		free(name);
		name = xstrdup("INBOX");
	}
	return name;
}

static void
imap_folder_fail(struct imap_session *s, struct span tag, const char *what,
    const char *err)
{
	log_kv(s->log, LOGL_INFO, "folder_refused", "command", what,
	    "detail", err, NULL);
	if (strncmp(err, "[", 1) == 0)	/* a response code from mbox */
		imap_reply(s, tag, "NO", "%s", err);
	else
		imap_reply(s, tag, "NO", "%s failed", what);
}

/*
 * DELETE or RENAME of the folder this session has selected (or of one of
 * its parents, for RENAME): the session leaves the selected state first,
 * as UNSELECT does, instead of being ended by the sync that finds its
 * folder gone (the BYE that other sessions on that folder get).
 */
static void
imap_unselect_if_under(struct imap_session *s, const char *name)
{
	const char *sel;
	size_t n = strlen(name);

	if (s->mb == NULL || mbox_name_is_inbox(name))
		return;
	sel = mbox_folder_name(s->mb);
	if (strncmp(sel, name, n) == 0 && (sel[n] == '\0' || sel[n] == '/'))
		imap_session_unselect(s);
}

void
imap_cmd_create(struct imap_session *s, const struct imap_cmd *cmd,
    size_t arg, bool uid)
{
	char *name, err[256];

	(void)uid;
	if ((name = imap_folder_arg(s, cmd, &arg)) == NULL)
		return;
	if (arg < cmd->ntoks) {
		imap_reply_bad(s, cmd->tag, "Too many arguments");
	} else if (strcmp(name, "INBOX") == 0) {
		imap_reply(s, cmd->tag, "NO", "[ALREADYEXISTS] INBOX exists");
	} else if (mbox_folder_exists(s->mu, name)) {
		imap_reply(s, cmd->tag, "NO", "[ALREADYEXISTS] Mailbox exists");
	} else if (!mbox_name_valid(name)) {
		imap_reply(s, cmd->tag, "NO", "[CANNOT] Invalid mailbox name");
	} else if (mbox_folder_create(s->mu, name, err, sizeof(err)) < 0) {
		imap_folder_fail(s, cmd->tag, "CREATE", err);
	} else {
		imap_session_sync(s, true);
		imap_reply(s, cmd->tag, "OK", "CREATE completed");
	}
	free(name);
}

void
imap_cmd_delete(struct imap_session *s, const struct imap_cmd *cmd,
    size_t arg, bool uid)
{
	char *name, err[256];

	(void)uid;
	if ((name = imap_folder_arg(s, cmd, &arg)) == NULL)
		return;
	if (arg < cmd->ntoks) {
		imap_reply_bad(s, cmd->tag, "Too many arguments");
	} else if (strcmp(name, "INBOX") == 0) {
		imap_reply(s, cmd->tag, "NO", "[CANNOT] INBOX cannot be deleted");
	} else if (!mbox_folder_exists(s->mu, name)) {
		imap_reply(s, cmd->tag, "NO", "[NONEXISTENT] No such mailbox");
	} else {
		imap_unselect_if_under(s, name);
		if (mbox_folder_delete(s->mu, name, err, sizeof(err)) < 0) {
			imap_folder_fail(s, cmd->tag, "DELETE", err);
		} else {
			imap_session_sync(s, true);
			imap_reply(s, cmd->tag, "OK", "DELETE completed");
		}
	}
	free(name);
}

void
imap_cmd_rename(struct imap_session *s, const struct imap_cmd *cmd,
    size_t arg, bool uid)
{
	char *from, *to, err[256];

	(void)uid;
	if ((from = imap_folder_arg(s, cmd, &arg)) == NULL)
		return;
	if ((to = imap_folder_arg(s, cmd, &arg)) == NULL) {
		free(from);
		return;
	}
	if (arg < cmd->ntoks) {
		imap_reply_bad(s, cmd->tag, "Too many arguments");
	} else if (!mbox_folder_exists(s->mu, from)) {
		imap_reply(s, cmd->tag, "NO", "[NONEXISTENT] No such mailbox");
	} else if (mbox_folder_exists(s->mu, to)) {
		imap_reply(s, cmd->tag, "NO", "[ALREADYEXISTS] Mailbox exists");
	} else if (!mbox_name_valid(to) || strcmp(to, "INBOX") == 0) {
		imap_reply(s, cmd->tag, "NO", "[CANNOT] Invalid mailbox name");
	} else {
		imap_unselect_if_under(s, from);
		if (mbox_folder_rename(s->mu, from, to, err, sizeof(err)) < 0) {
			imap_folder_fail(s, cmd->tag, "RENAME", err);
		} else {
			imap_session_sync(s, true);
			imap_reply(s, cmd->tag, "OK", "RENAME completed");
		}
	}
	free(from);
	free(to);
}

void
imap_cmd_subscribe(struct imap_session *s, const struct imap_cmd *cmd,
    size_t arg, bool uid)
{
	bool on = span_eq_nocase(cmd->name, "SUBSCRIBE");
	char *name;

	(void)uid;
	if ((name = imap_folder_arg(s, cmd, &arg)) == NULL)
		return;
	if (arg < cmd->ntoks)
		imap_reply_bad(s, cmd->tag, "Too many arguments");
	else if (!mbox_name_valid(name) && strcmp(name, "INBOX") != 0)
		imap_reply(s, cmd->tag, "NO", "[CANNOT] Invalid mailbox name");
	else if (mbox_subscribe(s->mu, name, on) < 0)
		imap_reply(s, cmd->tag, "NO", "%s failed",
		    on ? "SUBSCRIBE" : "UNSUBSCRIBE");
	else
		imap_reply(s, cmd->tag, "OK", "%s completed",
		    on ? "SUBSCRIBE" : "UNSUBSCRIBE");
	free(name);
}

static const char *const imap_special_attr[] = {
	[MBOX_SPECIAL_NONE] = NULL,
	[MBOX_SPECIAL_SENT] = "\\Sent",
	[MBOX_SPECIAL_DRAFTS] = "\\Drafts",
	[MBOX_SPECIAL_TRASH] = "\\Trash",
	[MBOX_SPECIAL_JUNK] = "\\Junk",
};

static void
imap_list_one(struct imap_session *s, const char *verb,
    const struct mbox_folder_info *f, bool lsub)
{
	struct buf b;
	bool sp = false;

	buf_init(&b, 2 * MBOX_FOLDER_NAME_MAX + 256);
	buf_printf(&b, "%s (", verb);
	if (f->noselect) {
		buf_printf(&b, "\\Noselect");
		sp = true;
	}
	if (!lsub) {
		buf_printf(&b, "%s%s", sp ? " " : "",
		    f->has_children ? "\\HasChildren" : "\\HasNoChildren");
		sp = true;
	}
	if (f->special > MBOX_SPECIAL_NONE && f->special <= MBOX_SPECIAL_JUNK)
		buf_printf(&b, "%s%s", sp ? " " : "",
		    imap_special_attr[f->special]);
	buf_printf(&b, ") \"/\" ");
	imap_put_string(&b, f->name, strlen(f->name));
	imap_untagged(s, "%s", buf_cstr(&b));
	buf_free(&b);
}

static bool
imap_list_any(char *const *pat, size_t npat, const char *name)
{
	size_t k;

	for (k = 0; k < npat; k++)
		if (imap_list_match(pat[k], name))
			return true;
	return false;
}

/*
 * RFC 3501 6.3.9: a subscribed folder that "%" does not reach shows its
 * parent that "%" does, as \Noselect when the parent itself is not
 * subscribed. Folders come sorted, so a parent's children are together:
 * a parent is written for the first child that needs it.
 */
static void
imap_lsub_parents(struct imap_session *s, const struct mbox_folder_info *fv,
    size_t nf, size_t i, char *const *pat, size_t npat)
{
	char parent[MBOX_FOLDER_NAME_MAX + 1];
	const char *name = fv[i].name, *slash;
	size_t j;
	bool dup;

	for (slash = strchr(name, '/'); slash != NULL;
	    slash = strchr(slash + 1, '/')) {
		size_t len = (size_t)(slash - name);

		if (len >= sizeof(parent))
			return;
		memcpy(parent, name, len);
		parent[len] = '\0';
		if (!imap_list_any(pat, npat, parent))
			continue;
		dup = false;
		for (j = 0; j < nf && !dup; j++)	/* subscribed: listed alone */
			dup = fv[j].subscribed && strcmp(fv[j].name, parent) == 0;
		for (j = i; j-- > 0 && !dup;) {	/* written for a sibling */
			if (strncmp(fv[j].name, parent, len) != 0 ||
			    fv[j].name[len] != '/')
				break;
			dup = fv[j].subscribed &&
			    !imap_list_any(pat, npat, fv[j].name);
		}
		if (!dup) {
			struct mbox_folder_info f = { .name = parent,
			    .noselect = true };

			imap_list_one(s, "LSUB", &f, true);
		}
		return;
	}
}

/* LIST [(selection options)] reference pattern|(patterns) [RETURN (...)]
 * (RFC 3501 6.3.8, RFC 5258 as far as RFC 6154 needs it). */
void
imap_cmd_list(struct imap_session *s, const struct imap_cmd *cmd,
    size_t arg, bool uid)
{
	bool lsub = span_eq_nocase(cmd->name, "LSUB"), special_only = false;
	const struct imap_tok *t, *pats;
	struct mbox_folder_info *fv = NULL;
	size_t nf = 0, i, k, npat;
	char *ref, *pat[16];

	(void)uid;
	t = imap_arg(cmd, &arg);
	if (!lsub && t != NULL && t->type == IMAP_TOK_LIST) {
		for (k = (size_t)(t - cmd->toks) + 1; k < t->end; k++)
			if (span_eq_nocase(cmd->toks[k].val, "SPECIAL-USE"))
				special_only = true;
		t = imap_arg(cmd, &arg);
	}
	ref = imap_arg_cstr(t);
	pats = imap_arg(cmd, &arg);
	if (ref == NULL || pats == NULL) {
		free(ref);
		imap_reply_bad(s, cmd->tag, "LIST needs reference and pattern");
		return;
	}
	npat = 0;
	if (pats->type == IMAP_TOK_LIST) {
		for (k = (size_t)(pats - cmd->toks) + 1; k < pats->end &&
		    npat < 16; k = cmd->toks[k].end)
			if ((pat[npat] = imap_arg_cstr(&cmd->toks[k])) != NULL)
				npat++;
	} else if ((pat[0] = imap_arg_cstr(pats)) != NULL) {
		npat = 1;
	}
	/* Anything after (RETURN (...)) is ignored: we always return the
	 * CHILDREN and SPECIAL-USE attributes. */
	if (npat == 1 && pat[0][0] == '\0' && !lsub) {
		/* RFC 3501 6.3.8: the hierarchy delimiter and root. */
		imap_untagged(s, "LIST (\\Noselect) \"/\" \"\"");
		goto done;
	}
	if (mbox_folder_list(s->mu, &fv, &nf) < 0) {
		imap_reply(s, cmd->tag, "NO", "LIST failed, ref %s",
		    msess_id(s->c));
		goto out;
	}
	for (k = 0; k < npat; k++) {	/* the reference goes first */
		char *full = xasprintf("%s%s", ref, pat[k]);

		free(pat[k]);
		pat[k] = full;
	}
	for (i = 0; i < nf; i++) {
		if (lsub && !fv[i].subscribed)
			continue;
		if (special_only && fv[i].special == MBOX_SPECIAL_NONE)
			continue;
		if (imap_list_any(pat, npat, fv[i].name))
			imap_list_one(s, lsub ? "LSUB" : "LIST", &fv[i], lsub);
		else if (lsub)
			imap_lsub_parents(s, fv, nf, i, pat, npat);
	}
	mbox_folder_list_free(fv, nf);
done:
	imap_session_sync(s, true);
	imap_reply(s, cmd->tag, "OK", "%s completed", lsub ? "LSUB" : "LIST");
out:
	for (k = 0; k < npat; k++)
		free(pat[k]);
	free(ref);
}

/* A STATUS item's canonical name and value; NULL when unknown. */
static const char *
imap_status_item(struct span v, const struct mbox_status *st, uint32_t *val)
{
	const struct {
		const char	*name;
		uint32_t	 val;
	} items[] = {
		{ "MESSAGES", st->messages }, { "RECENT", st->recent },
		{ "UIDNEXT", st->uidnext }, { "UIDVALIDITY", st->uidvalidity },
		{ "UNSEEN", st->unseen },
	};
	size_t i;

	for (i = 0; i < sizeof(items) / sizeof(items[0]); i++)
		if (span_eq_nocase(v, items[i].name)) {
			*val = items[i].val;
			return items[i].name;
		}
	return NULL;
}

void
imap_cmd_status(struct imap_session *s, const struct imap_cmd *cmd,
    size_t arg, bool uid)
{
	const struct imap_tok *items;
	struct mbox_status st;
	struct buf b;
	char *name, err[256];
	size_t k;
	uint32_t val = 0;
	bool sp = false;

	(void)uid;
	if ((name = imap_folder_arg(s, cmd, &arg)) == NULL)
		return;
	items = imap_arg(cmd, &arg);
	if (items == NULL || items->type != IMAP_TOK_LIST ||
	    items->nchildren == 0 || arg < cmd->ntoks) {
		free(name);
		imap_reply_bad(s, cmd->tag, "STATUS needs a list of items");
		return;
	}
	if (mbox_folder_status(s->mu, name, &st, err, sizeof(err)) < 0) {
		free(name);
		imap_reply(s, cmd->tag, "NO", "[NONEXISTENT] No such mailbox");
		return;
	}
	buf_init(&b, 2 * MBOX_FOLDER_NAME_MAX + 256);
	buf_printf(&b, "STATUS ");
	imap_put_string(&b, name, strlen(name));
	buf_printf(&b, " (");
	for (k = (size_t)(items - cmd->toks) + 1; k < items->end;
	    k = cmd->toks[k].end) {
		const char *item = imap_status_item(cmd->toks[k].val, &st, &val);

		if (item == NULL) {
			buf_free(&b);
			free(name);
			imap_reply_bad(s, cmd->tag, "Unknown STATUS item");
			return;
		}
		buf_printf(&b, "%s%s %u", sp ? " " : "", item, val);
		sp = true;
	}
	buf_printf(&b, ")");
	imap_untagged(s, "%s", buf_cstr(&b));
	buf_free(&b);
	free(name);
	imap_session_sync(s, true);
	imap_reply(s, cmd->tag, "OK", "STATUS completed");
}
