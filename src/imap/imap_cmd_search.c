/*
 * imap_cmd_search: SEARCH and UID SEARCH (RFC 3501 6.4.4, 6.4.8). The
 * program is imap_search's; here each message of the view is given to it,
 * its file opened only when a key needs the contents. No EXPUNGE may be
 * reported during SEARCH (7.4.1), so expunged messages just do not match.
 */
#include <event2/buffer.h>
#include <stdlib.h>
#include <unistd.h>

#include "imap/imap_msg.h"
#include "imap/imap_search.h"
#include "imap/imap_sess_int.h"

struct imap_search_ctx {
	struct imap_session	*s;
	uint32_t		 idx;
	int			 fd;
	struct imap_msg		*m;
	bool			 tried;
};

static struct imap_msg *
imap_search_open(void *arg)
{
	struct imap_search_ctx *x = arg;
	char err[128];

	if (!x->tried) {
		x->tried = true;
		x->fd = mbox_msg_open(x->s->mb, x->idx);
		if (x->fd >= 0)
			x->m = imap_msg_open(x->fd, err, sizeof(err));
	}
	return x->m;
}

static void
imap_search_ctx_clear(struct imap_search_ctx *x)
{
	imap_msg_close(&x->m);
	if (x->fd >= 0)
		close(x->fd);
	x->fd = -1;
	x->tried = false;
}

void
imap_cmd_search(struct imap_session *s, const struct imap_cmd *cmd,
    size_t arg, bool uid)
{
	struct imap_search *prog;
	struct imap_search_ctx x = { .s = s, .fd = -1 };
	struct imap_search_msg sm;
	struct evbuffer *out = msess_output(s->c);
	const struct mbox_msg *mm;
	struct mbox_msg cur;
	uint32_t i, n = mbox_count(s->mb), max_uid;
	bool badcs = false;
	char err[256];

	prog = imap_search_compile(cmd, arg, cmd->ntoks, &badcs, err,
	    sizeof(err));
	if (prog == NULL) {
		if (badcs)
			imap_reply(s, cmd->tag, "NO", "[BADCHARSET (US-ASCII "
			    "UTF-8)] Unsupported charset");
		else
			imap_reply_bad(s, cmd->tag, err);
		return;
	}
	/* Known limit: the answer for a huge folder is written at once (at most
	 * MBOX_MSGS_MAX numbers, ~11 bytes each), not paced. */
	evbuffer_add_printf(out, "* SEARCH");
	max_uid = n > 0 ? mbox_msg(s->mb, n - 1)->uid : 0;
	for (i = 0; i < n; i++) {
		/* A copy: matching may call mbox_msg() (sets with "*"). */
		cur = *mbox_msg(s->mb, i);
		mm = &cur;
		if (mm->gone)
			continue;
		sm = (struct imap_search_msg){
			.seq = i + 1, .uid = mm->uid, .max_seq = n,
			.max_uid = max_uid,
			.flags = mm->flags, .recent = mm->recent,
			.vsize = mm->vsize, .internaldate = mm->internaldate,
			.open = imap_search_open, .open_arg = &x,
		};
		x.idx = i;
		if (imap_search_match(prog, &sm))
			evbuffer_add_printf(out, " %u", uid ? mm->uid : i + 1);
		imap_search_ctx_clear(&x);
	}
	evbuffer_add(out, "\r\n", 2);
	imap_search_free(&prog);
	imap_session_sync(s, uid);
	imap_reply(s, cmd->tag, "OK", "%sSEARCH completed", uid ? "UID " : "");
}
