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

#include "imap/imap_session_fake.h"

/* ---- driver ---- */

static void *S;

static int
setup(void **state)
{
	(void)state;
	fake_reset();
	S = imap_proto.open(C);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	imap_proto.close(S);
	fake_free();
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

/* RFC 3501 5.4's 30-minute floor is for authenticated sessions: before
 * login a silent client is dropped after limits.command_timeout, as on
 * SMTP, so idle connections cannot hold the connection slots for long. */
static void
test_idle_timeout_before_and_after_login(void **state)
{
	(void)state;
	imap_proto.close(S);
	C->cfg.limits.command_timeout = 300;
	S = imap_proto.open(C);
	free(out());
	assert_int_equal(C->idle_sec, 300);
	login();
	assert_int_equal(C->idle_sec, IMAP_IDLE_SEC);
}

/* Before TLS no "+" invites a LOGIN password (or an AUTHENTICATE
 * argument) in plaintext: the literal is refused, the client sends
 * nothing more of that command and may go on. */
static void
test_no_login_literal_before_tls(void **state)
{
	char *o;

	(void)state;
	free(out());	/* the greeting */
	o = say("a LOGIN bob {8}\r\n");
	if (strstr(o, "+ Ready") != NULL || strstr(o, "a NO [PRIVACYREQUIRED]") == NULL)
		fail_msg("got %s", o);
	free(o);
	EXPECT("b NOOP\r\n", "b OK");
	C->tls = true;
	EXPECT("c LOGIN bob {2}\r\n", "+ Ready");
}

/* Overlapping, unordered and reversed ranges select each message once,
 * in order (imap_set sorts and sweeps the ranges). */
static void
test_sequence_sets(void **state)
{
	char *o;

	(void)state;
	login();
	free(say("s SELECT INBOX\r\n"));
	o = say("a FETCH 3,2:1,1:*,*,2:3 (FLAGS)\r\n");
	assert_string_equal(o, "* 1 FETCH (FLAGS ())\r\n* 2 FETCH (FLAGS ())\r\n"
	    "* 3 FETCH (FLAGS ())\r\na OK FETCH completed\r\n");
	free(o);
	o = say("b UID FETCH 9:2,1,3:2 (FLAGS)\r\n");
	assert_string_equal(o, "* 1 FETCH (UID 1 FLAGS ())\r\n"
	    "* 2 FETCH (UID 2 FLAGS ())\r\n* 3 FETCH (UID 3 FLAGS ())\r\n"
	    "b OK UID FETCH completed\r\n");
	free(o);
	o = say("c UID FETCH 5:7 (FLAGS)\r\n");
	assert_string_equal(o, "c OK UID FETCH completed\r\n");
	free(o);
	EXPECT("d FETCH 2:4 (FLAGS)\r\n", "d BAD");
	o = say("e FETCH 2 (FLAGS)\r\n");
	assert_string_equal(o, "* 2 FETCH (FLAGS ())\r\ne OK FETCH completed\r\n");
	free(o);
}

/* auth.mechanisms without PLAIN: no AUTH=PLAIN offered nor accepted (as
 * POP3 and SMTP); the LOGIN command is not a SASL mechanism and stays. */
static void
test_plain_disabled(void **state)
{
	static char login_mech[] = "LOGIN";
	static char *mechs[] = { login_mech };

	(void)state;
	free(out());
	C->cfg.auth.mechanisms = (struct cfg_strlist){ mechs, 1 };
	C->tls = true;
	REFUSE("a CAPABILITY\r\n", "AUTH=PLAIN");
	EXPECT("b AUTHENTICATE PLAIN AGJvYgBwdw==\r\n", "b NO");
	assert_null(C->login_fn);
	REFUSE("c LOGIN bob pw\r\n", "c ");
	assert_non_null(C->login_fn);
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
			C->idle_sec = 0;
			imap_proto.drained(S);
			/* A client reading a long FETCH is not idle: the
			 * timer restarts (no autologout inside a literal). */
			assert_int_equal(C->idle_sec, IMAP_IDLE_SEC);
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
	/* A change while the client does not read: reported once drained. */
	nmsgs = 3;
	EXPECT("f2 IDLE\r\n", "+ idling");
	expunge_pending = true;
	C->out_high = 0;
	evbuffer_add(C->out, "x", 1);
	C->watch_cb(C->watch_arg);
	o = out();
	assert_string_equal(o, "x");
	free(o);
	C->out_high = 1 << 20;
	imap_proto.drained(S);
	EXPECT("", "* 2 EXPUNGE");
	EXPECT("DONE\r\n", "f2 OK");
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
		cmocka_unit_test_setup_teardown(test_idle_timeout_before_and_after_login, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_login_literal_before_tls, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sequence_sets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plain_disabled, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
