/*
 * imap_session_fake: weak fakes of the connection layer (msess), of a
 * one-folder store (mbox) and of imap_msg, for imap_session_test.c and
 * imap_session_fuzz.c. Function definitions: include in one file only.
 * fake_reset() sets up a session's connection C with NMSG messages.
 */
#ifndef POSTERN_IMAP_SESSION_FAKE_H
#define POSTERN_IMAP_SESSION_FAKE_H

#include <errno.h>
#include <event2/buffer.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "core/xalloc.h"
#include "imap/imap_msg.h"
#include "imap/imap_search.h"
#include "imap/imap_sess_int.h"

#define W	__attribute__((weak))

/* ---- fake msess ---- */

struct msess {
	struct evbuffer		*in, *out;
	bool			 tls, paused, closed, starttls;
	size_t			 out_high;	/* out_full() above this */
	struct msrv		 srv;
	struct cfg_listen	 cl;
	struct config		 cfg;
	struct log_ctx		 log;
	msess_login_fn		 login_fn;
	void			*login_arg;
	char			 login_user[64], login_pass[64];
	int			 watches;
	unsigned		 idle_sec;	/* msess_set_idle() */
	void			(*watch_cb)(void *);
	void			*watch_arg;
};

static struct msess *C;

W struct msrv *msess_server(struct msess *c) { return &c->srv; }
W const struct config *msess_config(struct msess *c) { return &c->cfg; }
W const struct cfg_listen *msess_listener(struct msess *c) { return &c->cl; }
W const char *msess_ip(struct msess *c) { (void)c; return "192.0.2.1"; }
W const char *msess_id(struct msess *c) { (void)c; return "s1"; }
W struct log_ctx *msess_log(struct msess *c) { return &c->log; }
W bool msess_tls(struct msess *c) { return c->tls; }
W struct evbuffer *msess_input(struct msess *c) { return c->in; }
W void msess_pause_input(struct msess *c, bool p) { c->paused = p; }
W void msess_write(struct msess *c, const void *d, size_t n) { evbuffer_add(c->out, d, n); }
W struct evbuffer *msess_output(struct msess *c) { return c->out; }
W bool msess_out_full(struct msess *c) { return evbuffer_get_length(c->out) > c->out_high; }
W void msess_set_idle(struct msess *c, unsigned sec) { c->idle_sec = sec; }
W void msess_close(struct msess *c, const char *r) { (void)r; c->closed = true; }

W void
msess_printf(struct msess *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	evbuffer_add_vprintf(c->out, fmt, ap);
	va_end(ap);
}

W int
msess_starttls(struct msess *c)
{
	c->starttls = true;
	c->tls = true;
	evbuffer_drain(c->in, evbuffer_get_length(c->in));
	return 0;
}

W void
msess_login(struct msess *c, const char *user, const char *pass,
    msess_login_fn fn, void *arg)
{
	snprintf(c->login_user, sizeof(c->login_user), "%s", user);
	snprintf(c->login_pass, sizeof(c->login_pass), "%s", pass);
	c->login_fn = fn;
	c->login_arg = arg;
}

struct msess_watch { int dummy; };
static struct msess_watch the_watch;
W struct msess_watch *
msess_watch_add(struct msess *c, const char *dir, void (*cb)(void *), void *arg)
{
	(void)dir;
	c->watch_cb = cb;
	c->watch_arg = arg;
	c->watches++;
	return &the_watch;
}
W void
msess_watch_del(struct msess_watch **wp)
{
	if (*wp != NULL)
		C->watches--;
	*wp = NULL;
}

/* ---- fake store: one folder "INBOX" of NMSG messages ---- */

#define NMSG	3
static const char body_text[] = "Subject: hi\r\n\r\nhello\r\n";
static struct mbox_msg msgs[NMSG];
static uint32_t nmsgs;
static int fake_user, fake_box;
static bool expunge_pending;	/* another session removed message 2 */

/* Every fake that can fail says nothing. */
static void fake_noerr(char *e, size_t l) { if (l > 0) e[0] = '\0'; }

W char *mbox_root(const char *k) { return xstrdup(k); }
W struct mbox_user *mbox_user_open(const char *r, char *e, size_t n) { (void)r; fake_noerr(e, n); return (struct mbox_user *)&fake_user; }
W void mbox_user_close(struct mbox_user **u) { *u = NULL; }
W bool mbox_name_valid(const char *n) { return strchr(n, '*') == NULL; }
W bool mbox_name_is_inbox(const char *n) { return strcasecmp(n, "INBOX") == 0; }
W bool mbox_folder_exists(struct mbox_user *u, const char *n) { (void)u; return mbox_name_is_inbox(n) || strcmp(n, "Trash") == 0; }
W int mbox_folder_create(struct mbox_user *u, const char *n, char *e, size_t l) { (void)u; (void)n; fake_noerr(e, l); return 0; }
W int mbox_folder_delete(struct mbox_user *u, const char *n, char *e, size_t l) { (void)u; (void)n; fake_noerr(e, l); return 0; }
W int mbox_folder_rename(struct mbox_user *u, const char *f, const char *t, char *e, size_t l) { (void)u; (void)f; (void)t; fake_noerr(e, l); return 0; }
W int mbox_subscribe(struct mbox_user *u, const char *n, bool on) { (void)u; (void)n; (void)on; return 0; }

W int
mbox_folder_list(struct mbox_user *u, struct mbox_folder_info **out, size_t *n)
{
	(void)u;
	*out = xcalloc(3, sizeof(**out));
	(*out)[0].name = xstrdup("INBOX");
	(*out)[1].name = xstrdup("Trash");
	(*out)[1].special = MBOX_SPECIAL_TRASH;
	(*out)[2].name = xstrdup("a");
	(*out)[2].has_children = true;
	(*out)[2].noselect = true;
	*n = 3;
	return 0;
}

W void
mbox_folder_list_free(struct mbox_folder_info *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].name);
	free(v);
}

W int
mbox_folder_status(struct mbox_user *u, const char *n, struct mbox_status *st,
    char *e, size_t l)
{
	(void)u; (void)n;
	fake_noerr(e, l);
	*st = (struct mbox_status){ nmsgs, 0, 1, 10, 42 };
	return 0;
}

W struct mbox *
mbox_open(struct mbox_user *u, const char *n, bool ro, char *e, size_t l)
{
	(void)u; (void)ro;
	fake_noerr(e, l);
	return mbox_name_is_inbox(n) ? (struct mbox *)&fake_box : NULL;
}
W void mbox_close(struct mbox **m) { *m = NULL; }
W uint32_t mbox_uidvalidity(const struct mbox *m) { (void)m; return 42; }
W const char *mbox_folder_name(const struct mbox *m) { (void)m; return "INBOX"; }
W uint32_t mbox_uidnext(const struct mbox *m) { (void)m; return 10; }
W uint32_t mbox_count(const struct mbox *m) { (void)m; return nmsgs; }
W uint32_t mbox_recent(const struct mbox *m) { (void)m; return 0; }
W const struct mbox_msg *mbox_msg(const struct mbox *m, uint32_t i) { (void)m; return &msgs[i]; }
W const char *mbox_dir_new(const struct mbox *m) { (void)m; return "d/new"; }
W const char *mbox_dir_cur(const struct mbox *m) { (void)m; return "d/cur"; }
W void mbox_changes_clear(struct mbox_changes *ch) { free(ch->expunged); free(ch->flags_changed); memset(ch, 0, sizeof(*ch)); }
W int mbox_set_flags(struct mbox *m, uint32_t i, unsigned f) { (void)m; msgs[i].flags = f; return 0; }
W int mbox_msg_open(struct mbox *m, uint32_t i) { (void)m; (void)i; return dup(0); }

static void
fake_remove(uint32_t idx, struct mbox_changes *ch)
{
	memmove(&msgs[idx], &msgs[idx + 1], (nmsgs - idx - 1) * sizeof(msgs[0]));
	nmsgs--;
	ch->expunged = xrealloc(ch->expunged, (ch->nexpunged + 1) * sizeof(uint32_t));
	ch->expunged[ch->nexpunged++] = idx + 1;
}

W int
mbox_sync(struct mbox *m, bool report, struct mbox_changes *ch)
{
	(void)m;
	if (expunge_pending && report && nmsgs > 1) {
		expunge_pending = false;
		fake_remove(1, ch);
	}
	return 0;
}

W int
mbox_expunge(struct mbox *m, const bool *only, struct mbox_changes *ch)
{
	(void)m;
	for (uint32_t i = nmsgs; i-- > 0;)
		if ((msgs[i].flags & MBOX_F_DELETED) && (only == NULL || only[i]))
			fake_remove(i, ch);
	return 0;
}

W int mbox_copy(struct mbox *m, const uint32_t *i, size_t n, const char *d, uint32_t *v, uint32_t *u, char *e, size_t l) { (void)m; (void)i; (void)d; fake_noerr(e, l); *v = 7; for (size_t k = 0; k < n; k++) u[k] = 100 + (uint32_t)k; return 0; }
W int mbox_move(struct mbox *m, const uint32_t *i, size_t n, const char *d, uint32_t *v, uint32_t *u, struct mbox_changes *ch, char *e, size_t l) { (void)m; (void)i; (void)d; (void)ch; *v = 0; if (n > 0) u[0] = 0; snprintf(e, l, "fake: no MOVE"); return -1; }

static size_t appended;
W struct mbox_append *mbox_append_begin(struct mbox_user *u, const char *n, char *e, size_t l) { (void)u; if (!mbox_name_is_inbox(n)) { snprintf(e, l, "[TRYCREATE] no"); return NULL; } appended = 0; return (struct mbox_append *)&fake_box; }
W int mbox_append_write(struct mbox_append *a, const void *d, size_t n) { (void)a; (void)d; appended += n; return 0; }
W int mbox_append_commit(struct mbox_append **a, unsigned f, int64_t t, uint32_t *v, uint32_t *u, char *e, size_t l) { (void)f; (void)t; fake_noerr(e, l); *a = NULL; *v = 42; *u = 11; return 0; }
W void mbox_append_abort(struct mbox_append **a) { *a = NULL; }

/* ---- fake imap_msg: every message is body_text, sections are BODY[] ---- */

static int fake_msg;
W struct imap_msg *imap_msg_open(int fd, char *e, size_t l) { (void)fd; fake_noerr(e, l); return (struct imap_msg *)&fake_msg; }
W void imap_msg_close(struct imap_msg **m) { *m = NULL; }
W int imap_msg_envelope(struct imap_msg *m, struct buf *o) { (void)m; return buf_append_str(o, "(NIL \"hi\" NIL NIL NIL NIL NIL NIL NIL NIL)"); }
W int imap_msg_bodystructure(struct imap_msg *m, bool x, struct buf *o) { (void)m; (void)x; return buf_append_str(o, "(\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 7 1)"); }

W int
imap_section_parse(const char *a, size_t n, struct imap_section *s, char *e,
    size_t l)
{
	memset(s, 0, sizeof(*s));
	s->peek = n >= 9 && strncmp(a, "BODY.PEEK", 9) == 0;
	s->label = xstrdup("BODY[]");
	fake_noerr(e, l);
	return 0;
}
W void imap_section_clear(struct imap_section *s) { free(s->label); s->label = NULL; }

W void
imap_msg_reader_init(struct imap_msg_reader *r, struct imap_msg *m,
    const struct imap_section *s)
{
	(void)m; (void)s;
	memset(r, 0, sizeof(*r));
	r->size = sizeof(body_text) - 1;
	r->pos = 0;
}

W size_t
imap_msg_reader_read(struct imap_msg_reader *r, char *dst, size_t max)
{
	size_t n = r->size - r->pos;

	if (n > max)
		n = max;
	if (n > 5)
		n = 5;		/* small pieces: pacing between them */
	memcpy(dst, body_text + r->pos, n);
	r->pos += n;
	return n;
}
W void imap_msg_reader_clear(struct imap_msg_reader *r) { (void)r; }

W struct imap_search *imap_search_compile(const struct imap_cmd *c, size_t f, size_t e, bool *b, char *er, size_t l) { (void)c; (void)f; (void)e; *b = false; snprintf(er, l, "no"); return NULL; }
W bool imap_search_match(const struct imap_search *s, const struct imap_search_msg *m) { (void)s; (void)m; return true; }
W void imap_search_free(struct imap_search **s) { *s = NULL; }

static void
fake_reset(void)
{
	C = xcalloc(1, sizeof(*C));
	C->in = evbuffer_new();
	C->out = evbuffer_new();
	C->out_high = 1 << 20;
	C->cl.service = SVC_IMAP;
	C->srv.tls = (SSL_CTX *)&fake_user;	/* "TLS configured" */
	C->cfg.hostname = "mx.example.org";
	C->cfg.limits.message_size = 1000;
	{
		static char m_plain[] = "PLAIN", m_login[] = "LOGIN";
		static char *mechs[] = { m_plain, m_login };

		C->cfg.auth.mechanisms = (struct cfg_strlist){ mechs, 2 };
	}
	nmsgs = NMSG;
	for (uint32_t i = 0; i < NMSG; i++)
		msgs[i] = (struct mbox_msg){ .uid = i + 1,
		    .vsize = sizeof(body_text) - 1, .internaldate = 837596665 };
	expunge_pending = false;
}

static void
fake_free(void)
{
	evbuffer_free(C->in);
	evbuffer_free(C->out);
	free(C);
	C = NULL;
}

#endif
