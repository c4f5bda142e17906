/*
 * Unit tests for the IMAP session's own logic (imap_session.c and the
 * command files) against fakes of the connection layer (msess) and of a
 * one-folder store (mbox, imap_msg): the greeting and capabilities before
 * and after TLS, no login before TLS, synchronizing literals refused
 * before "+", BAD counting, pipelining, a FETCH that stops while output is
 * backed up and resumes on drained(), IDLE with DONE, EXPUNGE reporting.
 * The fakes are weak, so this test links whatever the library holds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <event2/buffer.h>
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
W void msess_set_idle(struct msess *c, unsigned sec) { (void)c; (void)sec; }
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
	(void)dir; (void)cb; (void)arg;
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

W char *mbox_root(const char *k) { return xstrdup(k); }
W struct mbox_user *mbox_user_open(const char *r, char *e, size_t n) { (void)r; (void)e; (void)n; return (struct mbox_user *)&fake_user; }
W void mbox_user_close(struct mbox_user **u) { *u = NULL; }
W bool mbox_name_valid(const char *n) { return strchr(n, '*') == NULL; }
W bool mbox_name_is_inbox(const char *n) { return strcasecmp(n, "INBOX") == 0; }
W bool mbox_folder_exists(struct mbox_user *u, const char *n) { (void)u; return mbox_name_is_inbox(n) || strcmp(n, "Trash") == 0; }
W int mbox_folder_create(struct mbox_user *u, const char *n, char *e, size_t l) { (void)u; (void)n; (void)e; (void)l; return 0; }
W int mbox_folder_delete(struct mbox_user *u, const char *n, char *e, size_t l) { (void)u; (void)n; (void)e; (void)l; return 0; }
W int mbox_folder_rename(struct mbox_user *u, const char *f, const char *t, char *e, size_t l) { (void)u; (void)f; (void)t; (void)e; (void)l; return 0; }
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
	(void)u; (void)n; (void)e; (void)l;
	*st = (struct mbox_status){ nmsgs, 0, 1, 10, 42 };
	return 0;
}

W struct mbox *
mbox_open(struct mbox_user *u, const char *n, bool ro, char *e, size_t l)
{
	(void)u; (void)ro; (void)e; (void)l;
	return mbox_name_is_inbox(n) ? (struct mbox *)&fake_box : NULL;
}
W void mbox_close(struct mbox **m) { *m = NULL; }
W uint32_t mbox_uidvalidity(const struct mbox *m) { (void)m; return 42; }
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
	if (expunge_pending && report) {
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

W int mbox_copy(struct mbox *m, const uint32_t *i, size_t n, const char *d, uint32_t *v, uint32_t *u, char *e, size_t l) { (void)m; (void)i; (void)d; (void)e; (void)l; *v = 7; for (size_t k = 0; k < n; k++) u[k] = 100 + (uint32_t)k; return 0; }
W int mbox_move(struct mbox *m, const uint32_t *i, size_t n, const char *d, uint32_t *v, uint32_t *u, struct mbox_changes *ch, char *e, size_t l) { (void)m; (void)i; (void)n; (void)d; (void)v; (void)u; (void)ch; (void)e; (void)l; return -1; }

static size_t appended;
W struct mbox_append *mbox_append_begin(struct mbox_user *u, const char *n, char *e, size_t l) { (void)u; if (!mbox_name_is_inbox(n)) { snprintf(e, l, "[TRYCREATE] no"); return NULL; } appended = 0; return (struct mbox_append *)&fake_box; }
W int mbox_append_write(struct mbox_append *a, const void *d, size_t n) { (void)a; (void)d; appended += n; return 0; }
W int mbox_append_commit(struct mbox_append **a, unsigned f, int64_t t, uint32_t *v, uint32_t *u, char *e, size_t l) { (void)f; (void)t; (void)e; (void)l; *a = NULL; *v = 42; *u = 11; return 0; }
W void mbox_append_abort(struct mbox_append **a) { *a = NULL; }

/* ---- fake imap_msg: every message is body_text, sections are BODY[] ---- */

static int fake_msg;
W struct imap_msg *imap_msg_open(int fd, char *e, size_t l) { (void)fd; (void)e; (void)l; return (struct imap_msg *)&fake_msg; }
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
	(void)e; (void)l;
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

W struct imap_search *imap_search_compile(const struct imap_cmd *c, size_t f, size_t e, bool *b, char *er, size_t l) { (void)c; (void)f; (void)e; (void)b; snprintf(er, l, "no"); return NULL; }
W bool imap_search_match(const struct imap_search *s, const struct imap_search_msg *m) { (void)s; (void)m; return true; }
W void imap_search_free(struct imap_search **s) { *s = NULL; }

/* ---- driver ---- */

static void *S;

static int
setup(void **state)
{
	(void)state;
	C = xcalloc(1, sizeof(*C));
	C->in = evbuffer_new();
	C->out = evbuffer_new();
	C->out_high = 1 << 20;
	C->cl.service = SVC_IMAP;
	C->srv.tls = (SSL_CTX *)&fake_user;	/* "TLS configured" */
	C->cfg.hostname = "mx.example.org";
	C->cfg.limits.message_size = 1000;
	nmsgs = NMSG;
	for (uint32_t i = 0; i < NMSG; i++)
		msgs[i] = (struct mbox_msg){ .uid = i + 1, .vsize = sizeof(body_text) - 1,
		    .internaldate = 837596665 };
	expunge_pending = false;
	S = imap_proto.open(C);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	imap_proto.close(S);
	evbuffer_free(C->in);
	evbuffer_free(C->out);
	free(C);
	return 0;
}

/* Everything written so far, as a string (consumed). */
static char *
out(void)
{
	size_t n = evbuffer_get_length(C->out);
	char *s = xmalloc(n + 1);

	evbuffer_remove(C->out, s, n);
	s[n] = '\0';
	return s;
}

static char *
say(const char *text)
{
	evbuffer_add(C->in, text, strlen(text));
	if (!C->paused)
		imap_proto.input(S);
	return out();
}

#define EXPECT(text, needle) do { char *o_ = say(text); \
	if (strstr(o_, needle) == NULL) fail_msg("%s -> %s (wanted %s)", text, o_, needle); \
	free(o_); } while (0)
#define REFUSE(text, needle) do { char *o_ = say(text); \
	if (strstr(o_, needle) != NULL) fail_msg("%s -> %s (not wanted %s)", text, o_, needle); \
	free(o_); } while (0)

static void
login(void)
{
	C->tls = true;
	free(say("L LOGIN bob pw\r\n"));
	assert_non_null(C->login_fn);
	assert_true(C->paused);
	C->login_fn(C->login_arg, MSESS_LOGIN_OK, "bob@example.org");
	C->login_fn = NULL;
	free(out());
}

static void
test_greeting_and_tls(void **state)
{
	char *o = out();

	(void)state;
	assert_non_null(strstr(o, "* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED"));
	assert_non_null(strstr(o, "mx.example.org ready\r\n"));
	assert_null(strstr(o, "AUTH="));
	free(o);
	EXPECT("a LOGIN bob pw\r\n", "a NO [PRIVACYREQUIRED]");
	EXPECT("b AUTHENTICATE PLAIN\r\n", "b NO [PRIVACYREQUIRED]");
	/* Pipelined after STARTTLS: discarded, never run. */
	REFUSE("c STARTTLS\r\nd CAPABILITY\r\n", "d OK");
	assert_true(C->starttls);
	EXPECT("e CAPABILITY\r\n", "AUTH=PLAIN SASL-IR");
	REFUSE("f CAPABILITY\r\n", "LOGINDISABLED");
	EXPECT("g STARTTLS\r\n", "g BAD");
}

static void
test_login_flow(void **state)
{
	(void)state;
	C->tls = true;
	REFUSE("a LOGIN bob pw\r\nb NOOP\r\n", "b OK");	/* waits for the login */
	assert_string_equal(C->login_pass, "pw");
	C->login_fn(C->login_arg, MSESS_LOGIN_FAIL, NULL);
	{
		char *o = out();

		assert_non_null(strstr(o, "a NO [AUTHENTICATIONFAILED]"));
		assert_non_null(strstr(o, "b OK"));	/* then the next one ran */
		free(o);
	}
	/* SASL-IR: \0bob\0pw */
	REFUSE("c AUTHENTICATE PLAIN AGJvYgBwdw==\r\n", "c ");
	assert_string_equal(C->login_user, "bob");
	C->login_fn(C->login_arg, MSESS_LOGIN_OK, "bob@example.org");
	EXPECT("", "c OK [CAPABILITY IMAP4rev1 LITERAL+");
	REFUSE("d CAPABILITY\r\n", "AUTH=");
}

static void
test_authenticate_continuation(void **state)
{
	(void)state;
	C->tls = true;
	EXPECT("a AUTHENTICATE PLAIN\r\n", "+ \r\n");
	EXPECT("*\r\n", "a BAD");
	EXPECT("b AUTHENTICATE PLAIN\r\n", "+ \r\n");
	free(say("AGJvYgBwdw==\r\n"));
	assert_string_equal(C->login_pass, "pw");
	C->login_fn(C->login_arg, MSESS_LOGIN_BANNED, NULL);
	EXPECT("", "* BYE");
	assert_true(C->closed);
}

static void
test_bad_and_literals(void **state)
{
	char big[9000];

	(void)state;
	EXPECT("a FROB\r\n", "a BAD");
	EXPECT("\r\n", "* BAD");
	EXPECT("b SELECT INBOX\r\n", "b BAD");
	/* a literal too big for a command before login: no "+" */
	REFUSE("c LOGIN {100000}\r\n", "+");
	EXPECT("d NOOP\r\n", "d OK");
	EXPECT("e ID {2}\r\n", "+ Ready");
	EXPECT("ab\r\n", "e BAD");	/* ID wants NIL or a list */
	memset(big, 'x', sizeof(big));
	memcpy(big, "f NOOP ", 7);
	memcpy(big + sizeof(big) - 2, "\r\n", 2);
	evbuffer_add(C->in, big, sizeof(big));
	EXPECT("g NOOP\r\n", "g OK");
	for (int i = 0; i < 30 && !C->closed; i++)
		free(say("x FROB\r\n"));
	assert_true(C->closed);
}

static void
test_append_literal(void **state)
{
	(void)state;
	login();
	REFUSE("a APPEND INBOX {2000}\r\n", "+");	/* message_size 1000 */
	EXPECT("", "");
	EXPECT("b APPEND INBOX (\\Seen) \"17-Jul-1996 02:44:25 -0700\" {5}\r\n",
	    "+ Ready");
	EXPECT("hello\r\n", "b OK [APPENDUID 42 11]");
	assert_int_equal(appended, 5);
	EXPECT("c APPEND INBOX {3+}\r\nabc\r\n", "c OK [APPENDUID");
	EXPECT("d APPEND Nope {3+}\r\nabc\r\n", "d NO [TRYCREATE]");
}

static void
test_select_fetch_paced(void **state)
{
	char *o;

	(void)state;
	login();
	o = say("s SELECT INBOX\r\n");
	assert_non_null(strstr(o, "* 3 EXISTS\r\n"));
	assert_non_null(strstr(o, "* OK [UIDVALIDITY 42]"));
	assert_non_null(strstr(o, "* OK [UNSEEN 1]"));
	assert_non_null(strstr(o, "s OK [READ-WRITE]"));
	free(o);
	/* Output "full" from the start: nothing is produced, input waits. */
	C->out_high = 0;
	evbuffer_add(C->out, "x", 1);
	o = say("f FETCH 1:* (UID BODY[])\r\nn NOOP\r\n");
	assert_string_equal(o, "x");
	free(o);
	/* Drain 30 bytes at a time: each drained() produces a little. */
	C->out_high = 30;
	{
		struct buf all;
		int rounds = 0;

		buf_init(&all, 1 << 20);
		while (strstr(buf_cstr(&all), "n OK") == NULL && rounds++ < 200) {
			o = out();
			buf_append_str(&all, o);
			free(o);
			imap_proto.drained(S);
		}
		assert_true(rounds > 5);	/* it was paced */
		assert_non_null(strstr(buf_cstr(&all), "* 1 FETCH (UID 1 BODY[] {22}\r\nSubject: hi\r\n\r\nhello\r\n FLAGS (\\Seen))\r\n"));
		assert_non_null(strstr(buf_cstr(&all), "* 3 FETCH (UID 3"));
		assert_non_null(strstr(buf_cstr(&all), "f OK"));
		buf_free(&all);
	}
	C->out_high = 1 << 20;
	o = say("g FETCH 2 (FLAGS)\r\n");
	assert_non_null(strstr(o, "* 2 FETCH (FLAGS (\\Seen))"));
	free(o);
	o = say("h UID FETCH 2:* (BODY.PEEK[] RFC822.SIZE)\r\n");
	assert_non_null(strstr(o, "* 2 FETCH (UID 2 BODY[] {22}\r\nSubject: hi\r\n\r\nhello\r\n RFC822.SIZE 22)\r\n"));
	assert_non_null(strstr(o, "* 3 FETCH (UID 3"));
	free(o);
	EXPECT("i FETCH 4 (FLAGS)\r\n", "i BAD");
	EXPECT("j UID FETCH 400:* (FLAGS)\r\n", "* 3 FETCH (UID 3 FLAGS");
}

static void
test_store_expunge_idle(void **state)
{
	char *o;

	(void)state;
	login();
	free(say("s SELECT INBOX\r\n"));
	EXPECT("a STORE 1 +FLAGS (\\Deleted $kw)\r\n", "* 1 FETCH (FLAGS (\\Deleted))");
	EXPECT("b UID STORE 3 +FLAGS.SILENT \\Deleted\r\n", "b OK");
	/* No EXPUNGE of others' removals during FETCH; then at NOOP. */
	expunge_pending = true;
	REFUSE("c FETCH 1 (FLAGS)\r\n", "EXPUNGE");
	EXPECT("d NOOP\r\n", "* 2 EXPUNGE");
	o = say("e EXPUNGE\r\n");
	assert_non_null(strstr(o, "* 2 EXPUNGE\r\n* 1 EXPUNGE\r\ne OK"));
	free(o);
	EXPECT("f IDLE\r\n", "+ idling");
	assert_int_equal(C->watches, 2);
	EXPECT("DONE\r\n", "f OK");
	assert_int_equal(C->watches, 0);
	EXPECT("g UID COPY 1 Nope\r\n", "g NO [TRYCREATE]");
	EXPECT("h LIST \"\" *\r\n", "* LIST (\\HasNoChildren \\Trash) \"/\" \"Trash\"");
	EXPECT("i LIST \"\" %\r\n", "* LIST (\\Noselect \\HasChildren) \"/\" \"a\"");
	EXPECT("j LOGOUT\r\n", "* BYE");
	assert_true(C->closed);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_greeting_and_tls, setup, teardown),
		cmocka_unit_test_setup_teardown(test_login_flow, setup, teardown),
		cmocka_unit_test_setup_teardown(test_authenticate_continuation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_and_literals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_append_literal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_select_fetch_paced, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_expunge_idle, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
