/*
 * imap_cmd_fetch: FETCH and UID FETCH (RFC 3501 6.4.5, 6.4.8, 7.4.2),
 * paced: one message's response at a time, body sections in IMAP_CHUNK
 * pieces, stopping while msess_out_full() and resuming in drained(), so a
 * client that does not read costs at most MSESS_OUT_HIGH plus a chunk.
 * The message contents (structure, ENVELOPE, sections) are imap_msg's.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/xalloc.h"
#include "imap/imap_msg.h"
#include "imap/imap_sess_int.h"

#define IMAP_FETCH_ITEMS_MAX	64	/* items in one FETCH: ours */

enum imap_fitem_kind {
	FI_FLAGS, FI_UID, FI_INTERNALDATE, FI_SIZE, FI_ENVELOPE, FI_BODY,
	FI_BODYSTRUCTURE, FI_SECTION,
};

struct imap_fitem {
	enum imap_fitem_kind	 kind;
	struct imap_section	 sec;	/* FI_SECTION */
};

struct imap_fetch {
	char			*tag;
	bool			 uid;
	struct imap_fitem	 items[IMAP_FETCH_ITEMS_MAX];
	size_t			 nitems;
	bool			 need_msg;	/* ENVELOPE, BODY*, sections */
	bool			 set_seen;	/* a non-PEEK section */
	bool			 want_flags;
	uint32_t		*idx;		/* messages, in order */
	size_t			 n, pos;
	bool			 gone;		/* some could not be read */
	/* The message being written. */
	bool			 in_msg, seen_added;
	size_t			 item;
	int			 fd;
	struct imap_msg		*m;
	bool			 streaming;
	struct imap_msg_reader	 r;
	uint64_t		 sent;		/* bytes of the section so far */
	char			*chunk;		/* IMAP_CHUNK bytes */
};

static const struct {
	const char		*name;
	enum imap_fitem_kind	 kind;
} imap_fetch_simple[] = {
	{ "FLAGS", FI_FLAGS }, { "UID", FI_UID },
	{ "INTERNALDATE", FI_INTERNALDATE }, { "RFC822.SIZE", FI_SIZE },
	{ "ENVELOPE", FI_ENVELOPE }, { "BODY", FI_BODY },
	{ "BODYSTRUCTURE", FI_BODYSTRUCTURE },
};

static int
imap_fetch_add(struct imap_fetch *f, enum imap_fitem_kind kind)
{
	size_t i;

	for (i = 0; i < f->nitems; i++)
		if (f->items[i].kind == kind && kind != FI_SECTION)
			return 0;	/* asked twice: answered once */
	if (f->nitems == IMAP_FETCH_ITEMS_MAX)
		return -1;
	memset(&f->items[f->nitems], 0, sizeof(f->items[0]));
	f->items[f->nitems++].kind = kind;
	if (kind == FI_ENVELOPE || kind == FI_BODY || kind == FI_BODYSTRUCTURE)
		f->need_msg = true;
	if (kind == FI_FLAGS)
		f->want_flags = true;
	return 0;
}

/* One fetch attribute (an atom); 0 or -1 with err. */
static int
imap_fetch_item(struct imap_fetch *f, struct span v, char *err, size_t errlen)
{
	size_t i;

	if (span_eq_nocase(v, "ALL") || span_eq_nocase(v, "FAST") ||
	    span_eq_nocase(v, "FULL")) {
		if (imap_fetch_add(f, FI_FLAGS) < 0 ||
		    imap_fetch_add(f, FI_INTERNALDATE) < 0 ||
		    imap_fetch_add(f, FI_SIZE) < 0)
			goto many;
		if (!span_eq_nocase(v, "FAST") &&
		    imap_fetch_add(f, FI_ENVELOPE) < 0)
			goto many;
		if (span_eq_nocase(v, "FULL") && imap_fetch_add(f, FI_BODY) < 0)
			goto many;
		return 0;
	}
	for (i = 0; i < sizeof(imap_fetch_simple) / sizeof(imap_fetch_simple[0]);
	    i++)
		if (span_eq_nocase(v, imap_fetch_simple[i].name))
			return imap_fetch_add(f, imap_fetch_simple[i].kind) < 0 ?
			    (snprintf(err, errlen, "too many items"), -1) : 0;
	if (!span_startswith_nocase(v, "BODY[") &&
	    !span_startswith_nocase(v, "BODY.PEEK[") &&
	    !span_startswith_nocase(v, "RFC822")) {
		snprintf(err, errlen, "unknown FETCH item");
		return -1;
	}
	if (f->nitems == IMAP_FETCH_ITEMS_MAX)
		goto many;
	memset(&f->items[f->nitems], 0, sizeof(f->items[0]));
	if (imap_section_parse(v.ptr, v.len, &f->items[f->nitems].sec, err,
	    errlen) < 0)
		return -1;
	f->items[f->nitems].kind = FI_SECTION;
	if (!f->items[f->nitems].sec.peek)
		f->set_seen = true;
	f->need_msg = true;
	f->nitems++;
	return 0;
many:
	snprintf(err, errlen, "too many items");
	return -1;
}

void
imap_fetch_free(struct imap_fetch **fp)
{
	struct imap_fetch *f = *fp;
	size_t i;

	if (f == NULL)
		return;
	if (f->streaming)
		imap_msg_reader_clear(&f->r);
	imap_msg_close(&f->m);
	if (f->fd >= 0)
		close(f->fd);
	for (i = 0; i < f->nitems; i++)
		if (f->items[i].kind == FI_SECTION)
			imap_section_clear(&f->items[i].sec);
	free(f->chunk);
	free(f->idx);
	free(f->tag);
	free(f);
	*fp = NULL;
}

static void
imap_fetch_msg_end(struct imap_fetch *f)
{
	if (f->streaming)
		imap_msg_reader_clear(&f->r);
	f->streaming = false;
	imap_msg_close(&f->m);
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
	f->in_msg = false;
	f->pos++;
}

/* Starts message f->idx[f->pos]: \Seen, the file, "* n FETCH (".
 * -1: it is gone, skip it. */
static int
imap_fetch_msg_begin(struct imap_session *s, struct imap_fetch *f)
{
	uint32_t idx = f->idx[f->pos];
	const struct mbox_msg *mm = mbox_msg(s->mb, idx);
	char err[128];

	if (mm->gone)
		return -1;
	f->seen_added = false;
	if (f->set_seen && !s->read_only && (mm->flags & MBOX_F_SEEN) == 0) {
		if (mbox_set_flags(s->mb, idx, mm->flags | MBOX_F_SEEN) != 0)
			return -1;
		f->seen_added = true;
	}
	if (f->need_msg) {
		if ((f->fd = mbox_msg_open(s->mb, idx)) < 0) {
			if (errno != ENOENT)
				log_kv(s->log, LOGL_ERROR, "mailbox_error",
				    "detail", "message open failed", NULL);
			return -1;
		}
		if ((f->m = imap_msg_open(f->fd, err, sizeof(err))) == NULL) {
			log_kv(s->log, LOGL_ERROR, "mailbox_error", "detail",
			    err, NULL);
			close(f->fd);
			f->fd = -1;
			return -1;
		}
	}
	msess_printf(s->c, "* %u FETCH (", idx + 1);
	f->item = 0;
	f->in_msg = true;
	return 0;
}

/* A small item into b. */
static void
imap_fetch_small(struct imap_session *s, struct imap_fetch *f,
    enum imap_fitem_kind kind, struct buf *b)
{
	const struct mbox_msg *mm = mbox_msg(s->mb, f->idx[f->pos]);
	int rc = 0;

	switch (kind) {
	case FI_FLAGS:
		buf_printf(b, "FLAGS (");
		imap_put_flags(b, mm->flags, mm->recent);
		buf_printf(b, ")");
		break;
	case FI_UID:
		buf_printf(b, "UID %u", mm->uid);
		break;
	case FI_INTERNALDATE:
		buf_printf(b, "INTERNALDATE ");
		imap_put_datetime(b, mm->internaldate);
		break;
	case FI_SIZE:
		buf_printf(b, "RFC822.SIZE %llu", (unsigned long long)mm->vsize);
		break;
	case FI_ENVELOPE:
		buf_printf(b, "ENVELOPE ");
		rc = imap_msg_envelope(f->m, b);
		break;
	case FI_BODY:
	case FI_BODYSTRUCTURE:
		buf_printf(b, "%s ", kind == FI_BODY ? "BODY" : "BODYSTRUCTURE");
		rc = imap_msg_bodystructure(f->m, kind == FI_BODYSTRUCTURE, b);
		break;
	case FI_SECTION:
		break;
	}
	if (rc < 0 || b->overflowed)	/* cannot happen within our limits */
		log_kv(s->log, LOGL_ERROR, "fetch_overflow", NULL);
}

/* Streams the current section; false when paused for output. */
static bool
imap_fetch_stream(struct imap_session *s, struct imap_fetch *f)
{
	size_t n;

	while (f->sent < f->r.size) {
		if (msess_out_full(s->c))
			return false;
		n = imap_msg_reader_read(&f->r, f->chunk, IMAP_CHUNK);
		if (n > f->r.size - f->sent)
			n = (size_t)(f->r.size - f->sent);
		if (n == 0) {
			/* The size was announced: keep the framing whole. */
			n = f->r.size - f->sent > IMAP_CHUNK ? IMAP_CHUNK :
			    (size_t)(f->r.size - f->sent);
			memset(f->chunk, ' ', n);
		}
		msess_write(s->c, f->chunk, n);
		f->sent += n;
	}
	imap_msg_reader_clear(&f->r);
	f->streaming = false;
	return true;
}

/* The rest of the current message (a section being streamed is
 * finished by imap_fetch_run() first); false when paused for output. */
static bool
imap_fetch_msg_items(struct imap_session *s, struct imap_fetch *f)
{
	const struct mbox_msg *mm;
	struct imap_fitem *it;
	struct buf b;

	for (; f->item < f->nitems; f->item++) {
		it = &f->items[f->item];
		if (f->item > 0)
			msess_write(s->c, " ", 1);
		if (it->kind != FI_SECTION) {
			buf_init(&b, IMAP_STRUCT_MAX);
			imap_fetch_small(s, f, it->kind, &b);
			msess_write(s->c, b.data, b.len);
			buf_free(&b);
			continue;
		}
		imap_msg_reader_init(&f->r, f->m, &it->sec);
		msess_printf(s->c, "%s {%llu}\r\n", it->sec.label,
		    (unsigned long long)f->r.size);
		f->streaming = true;
		f->sent = 0;
		if (!imap_fetch_stream(s, f)) {
			f->item++;	/* resume streaming, then the next */
			return false;
		}
	}
	/* RFC 3501 6.4.5: \Seen set by the fetch is reported with it. */
	if (f->seen_added && !f->want_flags) {
		mm = mbox_msg(s->mb, f->idx[f->pos]);
		buf_init(&b, 256);
		buf_printf(&b, " FLAGS (");
		imap_put_flags(&b, mm->flags, mm->recent);
		buf_printf(&b, ")");
		msess_write(s->c, b.data, b.len);
		buf_free(&b);
	}
	msess_write(s->c, ")\r\n", 3);
	return true;
}

void
imap_fetch_run(struct imap_session *s)
{
	struct imap_fetch *f = s->fetch;
	struct span tag;

	while (f->pos < f->n) {
		if (!f->in_msg) {
			if (msess_out_full(s->c))
				return;		/* drained() */
			if (imap_fetch_msg_begin(s, f) < 0) {
				f->gone = true;
				f->pos++;
				continue;
			}
		}
		if (f->streaming && !imap_fetch_stream(s, f))
			return;
		if (!imap_fetch_msg_items(s, f))
			return;
		imap_fetch_msg_end(f);
	}
	/* RFC 3501 7.4.1: no EXPUNGE during FETCH; UID FETCH may. */
	imap_session_sync(s, f->uid);
	tag = span_from_cstr(f->tag);
	if (f->gone)
		imap_reply(s, tag, "NO", "Some of the requested messages no "
		    "longer exist");
	else
		imap_reply(s, tag, "OK", "%sFETCH completed", f->uid ? "UID " :
		    "");
	imap_fetch_free(&s->fetch);
	imap_session_resume(s);
}

void
imap_cmd_fetch(struct imap_session *s, const struct imap_cmd *cmd,
    size_t arg, bool uid)
{
	const struct imap_tok *set = imap_arg(cmd, &arg);
	const struct imap_tok *items = imap_arg(cmd, &arg);
	struct imap_fetch *f;
	uint32_t count = mbox_count(s->mb), i;
	bool *sel;
	char err[128];
	size_t k;

	if (set == NULL || set->type != IMAP_TOK_ATOM || items == NULL ||
	    arg < cmd->ntoks || (items->type != IMAP_TOK_ATOM &&
	    items->type != IMAP_TOK_LIST)) {
		imap_reply_bad(s, cmd->tag, "FETCH needs a set and items");
		return;
	}
	f = xcalloc(1, sizeof(*f));
	f->fd = -1;
	f->uid = uid;
	if (uid)
		imap_fetch_add(f, FI_UID);	/* RFC 3501 6.4.8 */
	if (items->type == IMAP_TOK_ATOM) {
		if (imap_fetch_item(f, items->val, err, sizeof(err)) < 0)
			goto bad;
	} else {
		for (k = (size_t)(items - cmd->toks) + 1; k < items->end;
		    k = cmd->toks[k].end)
			if (cmd->toks[k].type != IMAP_TOK_ATOM ||
			    imap_fetch_item(f, cmd->toks[k].val, err,
			    sizeof(err)) < 0)
				goto bad;
		if (f->nitems == 0) {
			snprintf(err, sizeof(err), "no FETCH items");
			goto bad;
		}
	}
	sel = xcalloc(count + 1, sizeof(*sel));
	if (imap_set_select(s, set->val, uid, sel) < 0) {
		free(sel);
		snprintf(err, sizeof(err), "Invalid sequence set");
		goto bad;
	}
	f->idx = xcalloc(count + 1, sizeof(*f->idx));
	for (i = 0; i < count; i++)
		if (sel[i])
			f->idx[f->n++] = i;
	free(sel);
	f->chunk = xmalloc(IMAP_CHUNK);
	f->tag = xstrndup(cmd->tag.ptr, cmd->tag.len);
	s->fetch = f;
	s->busy = true;
	msess_pause_input(s->c, true);
	imap_fetch_run(s);
	return;
bad:
	imap_fetch_free(&f);
	imap_reply_bad(s, cmd->tag, err);
}
