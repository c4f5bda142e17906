/*
 * Unit tests for filter/milter: milter_run_start() against the fake
 * milter of milter_fake.h. Checked: the exact command sequence and
 * macros, SMFIP_NO* and SMFIP_NR_* honoured, each verdict, early
 * verdicts (ABORT, QUIT, nothing more), per-recipient refusals, a long
 * body (chunks, pacing, skip), option negotiation refused, timeouts,
 * EOF, bad packets, connect failure, cancel, a unix socket. The
 * modification requests are milter_mods_test.c's, the message reader
 * milter_read_test.c's.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <sys/un.h>

#include "filter/milter_fake.h"

#define HEAD_TRACE							\
	"O 6 0x3f 0x1ff7ff\n"						\
	"DC j=mx.example.org {daemon_name}=postern "			\
	"_=client.example.net [192.0.2.1] {client_addr}=192.0.2.1 "	\
	"{client_name}=client.example.net\n"

static void
test_sequence(void **state)
{
	struct fake f;
	struct run r;

	(void)state;
	fake_init(&f);
	converse_msg(&f, &r);
	assert_string_equal(buf_cstr(&f.trace), HEAD_TRACE
	    "C client.example.net 4 0 192.0.2.1\n"
	    "DH {tls_version}=TLSv1.3\n"
	    "H client.example.net\n"
	    "DM {mail_addr}=alice@example.org {auth_authen}=alice@example.org "
	    "{tls_version}=TLSv1.3\n"
	    "M <alice@example.org>\n"
	    "DR {rcpt_addr}=bob@example.org\n"
	    "R <bob@example.org>\n"
	    "DR {rcpt_addr}=carol@example.org\n"
	    "R <carol@example.org>\n"
	    "DT i=QID123\n"
	    "T\n"
	    "L Received|from client.example.net\\n\tby mx.example.org\n"
	    "L From|<alice@example.org>\n"
	    "L Subject| two spaces\n"
	    "L X-Empty|\n"
	    "N\n"
	    "B 14\n"
	    "DE i=QID123\n"
	    "E\n"
	    "Q\n");
	assert_string_equal(buf_cstr(&f.body), "Hello\r\nWorld\r\n");
	assert_int_equal(r.res.verdict, MILTER_ACCEPT);
	assert_int_equal(r.res.nmods, 0);
	assert_int_equal(r.res.body_fd, -1);
	assert_string_equal(r.res.reply, "");
	run_free(&r);
	fake_free(&f);
}

/* No name, an IPv4-mapped address, no TLS, no AUTH, the null sender. */
static void
test_sequence_anonymous(void **state)
{
	struct fake f;
	struct run r;
	const char *want = "C [192.0.2.9] 4 0 192.0.2.9\n"
	    "H x\n"
	    "DM {mail_addr}=\n"
	    "M <>\n";

	(void)state;
	fake_init(&f);
	run_init(&r, MSG, sizeof(MSG) - 1);
	r.msg.client_ip = "::ffff:192.0.2.9";
	r.msg.client_ptr = "unknown";
	r.msg.helo = "x";
	r.msg.tls_version = NULL;
	r.msg.auth_user = NULL;
	r.msg.from = "";
	converse(&f, &r);
	assert_non_null(strstr(buf_cstr(&f.trace), "DC j=mx.example.org "
	    "{daemon_name}=postern _=[192.0.2.9] {client_addr}=192.0.2.9 "
	    "{client_name}=unknown\n"));
	assert_non_null(strstr(buf_cstr(&f.trace), want));
	run_free(&r);
	fake_free(&f);
	fake_init(&f);
	run_init(&r, MSG, sizeof(MSG) - 1);
	r.msg.client_ip = "2001:db8::1";
	r.msg.client_ptr = NULL;
	converse(&f, &r);
	assert_non_null(strstr(buf_cstr(&f.trace),
	    "C [2001:db8::1] 6 0 2001:db8::1\n"));
	run_free(&r);
	fake_free(&f);
}

/* SMFIP_HDR_LEADSPC: values as they are, and a mod's leading space is
 * ours to write. */
static void
test_leadspc(void **state)
{
	struct fake f;
	struct run r;
	char eom[128];
	size_t n;

	(void)state;
	fake_init(&f);
	f.protocol = SMFIP_HDR_LEADSPC;
	n = pkt(eom, 'h', "X-A\0 one\0", 9);
	n += pkt(eom + n, 'h', "X-B\0two\0", 8);
	n += pkt(eom + n, 'c', NULL, 0);
	f.eom = eom;
	f.eom_len = n;
	converse_msg(&f, &r);
	assert_non_null(strstr(buf_cstr(&f.trace),
	    "L Subject|  two spaces\nL X-Empty|\n"));
	assert_int_equal(r.res.verdict, MILTER_ACCEPT);
	assert_int_equal(r.res.nmods, 2);
	assert_string_equal(r.res.mods[0].value, "one");
	assert_string_equal(r.res.mods[1].value, "two");
	run_free(&r);
	fake_free(&f);
}

/* Skipped steps are not sent (their macros are); unanswered ones are not
 * awaited: the fake answers only 'E'. */
static void
test_skip_noreply(void **state)
{
	struct fake f;
	struct run r;

	(void)state;
	fake_init(&f);
	f.protocol = SMFIP_NOCONNECT | SMFIP_NOHELO | SMFIP_NR_MAIL |
	    SMFIP_NR_RCPT | SMFIP_NODATA | SMFIP_NR_HDR | SMFIP_NOEOH |
	    SMFIP_NR_BODY | SMFIP_RCPT_REJ;
	converse_msg(&f, &r);
	assert_string_equal(buf_cstr(&f.trace), HEAD_TRACE
	    "DH {tls_version}=TLSv1.3\n"
	    "DM {mail_addr}=alice@example.org {auth_authen}=alice@example.org "
	    "{tls_version}=TLSv1.3\n"
	    "M <alice@example.org>\n"
	    "DR {rcpt_addr}=bob@example.org\n"
	    "R <bob@example.org>\n"
	    "DR {rcpt_addr}=carol@example.org\n"
	    "R <carol@example.org>\n"
	    "DT i=QID123\n"
	    "L Received|from client.example.net\\n\tby mx.example.org\n"
	    "L From|<alice@example.org>\n"
	    "L Subject| two spaces\n"
	    "L X-Empty|\n"
	    "B 14\n"
	    "DE i=QID123\n"
	    "E\n"
	    "Q\n");
	assert_int_equal(r.res.verdict, MILTER_ACCEPT);
	run_free(&r);
	fake_free(&f);
	/* No header, no body: the file is not even read. */
	fake_init(&f);
	f.protocol = SMFIP_NOHDRS | SMFIP_NOBODY | SMFIP_NOMAIL | SMFIP_NORCPT;
	converse_msg(&f, &r);
	assert_null(strstr(buf_cstr(&f.trace), "\nL "));
	assert_null(strstr(buf_cstr(&f.trace), "\nB "));
	assert_null(strstr(buf_cstr(&f.trace), "\nM "));
	assert_null(strstr(buf_cstr(&f.trace), "\nR "));
	assert_non_null(strstr(buf_cstr(&f.trace), "T\nN\nDE i=QID123\nE\nQ\n"));
	run_free(&r);
	fake_free(&f);
}


static void
test_verdicts(void **state)
{
	struct run r;
	char p[256];
	size_t n;

	(void)state;
	n = pkt(p, 'r', NULL, 0);
	assert_int_equal(verdict_eom(p, n, &r), MILTER_REJECT);
	assert_string_equal(r.res.reply, "");
	run_free(&r);
	n = pkt(p, 't', NULL, 0);
	assert_int_equal(verdict_eom(p, n, &r), MILTER_TEMPFAIL);
	run_free(&r);
	n = pkt(p, 'd', NULL, 0);
	assert_int_equal(verdict_eom(p, n, &r), MILTER_DISCARD);
	run_free(&r);
	n = pkt(p, 'a', NULL, 0);
	assert_int_equal(verdict_eom(p, n, &r), MILTER_ACCEPT);
	run_free(&r);
	n = pkt(p, 'y', "550 5.7.1 no thanks", 20);
	assert_int_equal(verdict_eom(p, n, &r), MILTER_REJECT);
	assert_string_equal(r.res.reply, "550 5.7.1 no thanks");
	run_free(&r);
	n = pkt(p, 'y', "451 4.7.1 later", 16);
	assert_int_equal(verdict_eom(p, n, &r), MILTER_TEMPFAIL);
	assert_string_equal(r.res.reply, "451 4.7.1 later");
	run_free(&r);
	/* A multi-line text is not relayed; the class still counts. */
	n = pkt(p, 'y', "550-5.7.1 a\r\n550 5.7.1 b", 25);
	assert_int_equal(verdict_eom(p, n, &r), MILTER_REJECT);
	assert_string_equal(r.res.reply, "");
	run_free(&r);
	n = pkt(p, 'y', "250 2.0.0 fine", 15);
	assert_int_equal(verdict_eom(p, n, &r), MILTER_ERROR);
	assert_non_null(strstr(r.res.error, "4xx or 5xx"));
	run_free(&r);
	/* Progress, then the verdict. */
	n = pkt(p, 'p', NULL, 0);
	n += pkt(p + n, 'p', NULL, 0);
	n += pkt(p + n, 'd', NULL, 0);
	assert_int_equal(verdict_eom(p, n, &r), MILTER_DISCARD);
	run_free(&r);
}

/* A verdict before the end: ABORT and QUIT, nothing more sent. */
static void
test_early(void **state)
{
	struct fake f;
	struct run r;
	char p[64];

	(void)state;
	fake_init(&f);
	f.at_cmd = 'M';
	f.at_n = 1;
	f.at_len = pkt(p, 'a', NULL, 0);
	f.at = p;
	converse_msg(&f, &r);
	assert_int_equal(r.res.verdict, MILTER_ACCEPT);
	assert_non_null(strstr(buf_cstr(&f.trace), "M <alice@example.org>\nA\nQ\n"));
	assert_int_equal(f.counts['R'], 0);
	run_free(&r);
	fake_free(&f);
	fake_init(&f);
	f.at_cmd = 'L';
	f.at_n = 2;
	f.at_len = pkt(p, 'y', "554 5.7.1 bad header", 21);
	f.at = p;
	converse_msg(&f, &r);
	assert_int_equal(r.res.verdict, MILTER_REJECT);
	assert_string_equal(r.res.reply, "554 5.7.1 bad header");
	assert_int_equal(f.counts['L'], 2);
	assert_int_equal(f.counts['B'], 0);
	run_free(&r);
	fake_free(&f);
	fake_init(&f);
	f.at_cmd = 'C';
	f.at_n = 1;
	f.at_len = pkt(p, 't', NULL, 0);
	f.at = p;
	converse_msg(&f, &r);
	assert_int_equal(r.res.verdict, MILTER_TEMPFAIL);
	run_free(&r);
	fake_free(&f);
}

/* A refused recipient is deleted; all refused, the message is. */
static void
test_rcpt_refused(void **state)
{
	struct fake f;
	struct run r;
	char p[64];

	(void)state;
	fake_init(&f);
	f.at_cmd = 'R';
	f.at_n = 1;
	f.at_len = pkt(p, 'r', NULL, 0);
	f.at = p;
	converse_msg(&f, &r);
	assert_int_equal(r.res.verdict, MILTER_ACCEPT);
	assert_int_equal(r.res.nmods, 1);
	assert_int_equal(r.res.mods[0].kind, MILTER_MOD_DELETE_RCPT);
	assert_string_equal(r.res.mods[0].value, "bob@example.org");
	assert_int_equal(f.counts['E'], 1);
	run_free(&r);
	fake_free(&f);
	/* Both: the last refusal's text. */
	run_init(&r, MSG, sizeof(MSG) - 1);
	r.msg.nrcpts = 1;
	fake_init(&f);
	f.at_cmd = 'R';
	f.at_n = 1;
	f.at_len = pkt(p, 'y', "550 5.1.1 no such user", 23);
	f.at = p;
	converse(&f, &r);
	assert_int_equal(r.res.verdict, MILTER_REJECT);
	assert_string_equal(r.res.reply, "550 5.1.1 no such user");
	assert_int_equal(r.res.nmods, 0);
	assert_non_null(strstr(buf_cstr(&f.trace), "R <bob@example.org>\nA\nQ\n"));
	run_free(&r);
	fake_free(&f);
	/* A 4xx for one recipient defers them all. */
	fake_init(&f);
	f.at_cmd = 'R';
	f.at_n = 2;
	f.at_len = pkt(p, 't', NULL, 0);
	f.at = p;
	converse_msg(&f, &r);
	assert_int_equal(r.res.verdict, MILTER_TEMPFAIL);
	run_free(&r);
	fake_free(&f);
}
/* A long body: chunks of at most MILTER_CHUNK, all bytes there, in
 * order; once unanswered (NR_BODY, paced by the socket), once answered;
 * then skipped after its first chunk. */
static void
test_big_body(void **state)
{
	size_t lines = 40000, hl = 12, len = hl + lines * 50;
	char *m = malloc(len + 1), *want = malloc(lines * 51);
	struct fake f;
	struct run r;
	char skip[8];

	(void)state;
	memcpy(m, "Subject: x\n\n", hl);
	for (size_t i = 0; i < lines; i++) {
		snprintf(m + hl + i * 50, 51, "%049zu\n", i);
		memcpy(want + i * 51, m + hl + i * 50, 49);
		memcpy(want + i * 51 + 49, "\r\n", 2);
	}
	for (int nr = 0; nr < 2; nr++) {
		fake_init(&f);
		f.protocol = nr ? SMFIP_NR_BODY : 0;
		run_init(&r, m, len);
		converse(&f, &r);
		assert_int_equal(r.res.verdict, MILTER_ACCEPT);
		assert_int_equal(f.body.len, lines * 51);
		assert_memory_equal(f.body.data, want, lines * 51);
		assert_true(f.counts['B'] >= (int)(lines * 51 / MILTER_CHUNK));
		for (const char *t = f.trace.data; (t = strstr(t, "\nB ")) != NULL;
		    t++)
			assert_in_range(strtol(t + 3, NULL, 10), 1, MILTER_CHUNK);
		run_free(&r);
	fake_free(&f);
	}
	fake_init(&f);
	f.protocol = SMFIP_SKIP;
	f.at_cmd = 'B';
	f.at_n = 1;
	f.at_len = pkt(skip, 's', NULL, 0);
	f.at = skip;
	run_init(&r, m, len);
	converse(&f, &r);
	assert_int_equal(r.res.verdict, MILTER_ACCEPT);
	assert_int_equal(f.counts['B'], 1);
	assert_int_equal(f.counts['E'], 1);
	run_free(&r);
	fake_free(&f);
	/* Skip not negotiated: an error. */
	fake_init(&f);
	f.at_cmd = 'B';
	f.at_n = 1;
	f.at_len = pkt(skip, 's', NULL, 0);
	f.at = skip;
	run_init(&r, m, len);
	converse(&f, &r);
	assert_int_equal(r.res.verdict, MILTER_ERROR);
	run_free(&r);
	fake_free(&f);
	free(m);
	free(want);
}

static void
expect_error(struct fake *f, const char *why)
{
	struct run r;

	converse_msg(f, &r);
	assert_int_equal(r.res.verdict, MILTER_ERROR);
	if (strstr(r.res.error, why) == NULL)
		fail_msg("error \"%s\", wanted \"%s\"", r.res.error, why);
	run_free(&r);
	fake_free(f);
}

static void
test_optneg_refused(void **state)
{
	struct fake f;
	struct run r;

	(void)state;
	fake_init(&f);
	f.version = 7;
	expect_error(&f, "version 7");
	fake_init(&f);
	f.version = 1;
	expect_error(&f, "version 1");
	fake_init(&f);
	f.actions = ALL_ACTIONS | SMFIF_CHGFROM;
	expect_error(&f, "actions 0x7f");
	fake_init(&f);
	f.optneg_cmd = 'c';
	expect_error(&f, "bad option negotiation");
	/* Version 2 is fine, and flags we never offered are ignored. */
	fake_init(&f);
	f.version = 2;
	f.protocol = 0xff000000u;
	converse_msg(&f, &r);
	assert_int_equal(r.res.verdict, MILTER_ACCEPT);
	assert_int_equal(f.counts['E'], 1);
	run_free(&r);
	fake_free(&f);
}

static void
test_broken(void **state)
{
	struct fake f;
	char p[64];

	(void)state;
	milter_set_timeout_ms(200);
	fake_init(&f);
	f.stall_cmd = 'M';
	expect_error(&f, "timeout (200 ms) in MAIL");
	fake_init(&f);
	f.close_cmd = 'R';
	expect_error(&f, "connection closed by the milter in RCPT");
	fake_init(&f);
	f.at_cmd = 'H';
	f.at_n = 1;
	memcpy(p, "\0\0\0\0", 4);
	f.at = p;
	f.at_len = 4;
	expect_error(&f, "bad packet length 0 in reply to HELO");
	fake_init(&f);
	f.at_cmd = 'H';
	f.at_n = 1;
	memcpy(p, "\0\2\0\0", 4);
	f.at = p;
	f.at_len = 4;
	expect_error(&f, "bad packet length 131072");
	fake_init(&f);
	f.at_cmd = 'T';
	f.at_n = 1;
	f.at_len = pkt(p, 'Z', NULL, 0);
	f.at = p;
	expect_error(&f, "bad reply 'Z' to DATA");
	milter_set_timeout_ms(0);
}

/* A milter that stops reading a long unanswered body: the output stops
 * growing, and the same timeout ends it. */
static void
test_milter_stops_reading(void **state)
{
	size_t len = 8 << 20;
	char *m = malloc(len);
	struct fake f;
	struct run r;

	(void)state;
	memcpy(m, "Subject: x\n\n", 12);
	memset(m + 12, 'b', len - 12);
	for (size_t i = 100; i < len; i += 100)
		m[i] = '\n';
	milter_set_timeout_ms(300);
	fake_init(&f);
	f.protocol = SMFIP_NR_BODY;
	f.deaf_cmd = 'B';
	run_init(&r, m, len);
	converse(&f, &r);
	assert_int_equal(r.res.verdict, MILTER_ERROR);
	assert_string_equal(r.res.error, "timeout (300 ms) in body");
	assert_int_equal(f.counts['B'], 1);
	milter_set_timeout_ms(0);
	run_free(&r);
	fake_free(&f);
	free(m);
}

/* A reply sent for a step that was not to be answered (SMFIP_NR_HDR)
 * answers the next step that awaits one (Postfix's rule): here EOH. */
static void
test_unasked_reply_waits(void **state)
{
	struct fake f;
	struct run r;
	char p[64];

	(void)state;
	fake_init(&f);
	f.protocol = SMFIP_NR_HDR;
	f.at_cmd = 'L';
	f.at_n = 1;
	f.at_len = pkt(p, 'r', NULL, 0);
	f.at = p;
	converse_msg(&f, &r);
	assert_int_equal(r.res.verdict, MILTER_REJECT);
	assert_int_equal(f.counts['L'], 4);
	assert_int_equal(f.counts['N'], 1);
	assert_int_equal(f.counts['B'], 0);
	run_free(&r);
	fake_free(&f);
}

static void
test_connect_failure(void **state)
{
	struct fake f;
	struct run r;
	struct milter_run *m;

	(void)state;
	fake_init(&f);
	fake_listen_inet(&f);
	close(f.lfd);		/* nobody listens there now */
	run_init(&r, MSG, sizeof(MSG) - 1);
	m = milter_run_start(r.base, &f.ep, &r.msg, run_done, &r);
	assert_non_null(m);
	assert_int_equal(r.ndone, 0);
	run_loop(&r);
	assert_int_equal(r.res.verdict, MILTER_ERROR);
	assert_non_null(strstr(r.res.error, "connect: "));
	run_free(&r);
	fake_free(&f);
}

/* Cancelled before the connection, and in the middle: done never runs,
 * nothing leaks (ASan). */
static void
test_cancel(void **state)
{
	struct fake f;
	struct run r;
	struct milter_run *m;
	long end;

	(void)state;
	fake_init(&f);
	fake_listen_inet(&f);
	run_init(&r, MSG, sizeof(MSG) - 1);
	m = milter_run_start(r.base, &f.ep, &r.msg, run_done, &r);
	milter_run_cancel(&m);
	assert_null(m);
	milter_run_cancel(&m);
	event_base_loop(r.base, EVLOOP_NONBLOCK);
	assert_int_equal(r.ndone, 0);
	run_free(&r);
	close(f.lfd);
	fake_free(&f);

	fake_init(&f);
	f.stall_cmd = 'R';
	fake_start(&f);
	run_init(&r, MSG, sizeof(MSG) - 1);
	m = milter_run_start(r.base, &f.ep, &r.msg, run_done, &r);
	end = now_ms() + 5000;
	while (__atomic_load_n(&f.counts['R'], __ATOMIC_SEQ_CST) == 0 &&
	    now_ms() < end)
		event_base_loop(r.base, EVLOOP_NONBLOCK);
	milter_run_cancel(&m);
	event_base_loop(r.base, EVLOOP_NONBLOCK);
	assert_int_equal(r.ndone, 0);
	fake_end(&f);
	run_free(&r);
	fake_free(&f);
}

/* done may cancel its own run: harmless. */
static struct milter_run *self_run;

static void
run_done_cancel(void *arg, struct milter_result *res)
{
	run_done(arg, res);
	milter_run_cancel(&self_run);
}

static void
test_cancel_in_done(void **state)
{
	struct fake f;
	struct run r;

	(void)state;
	fake_init(&f);
	fake_start(&f);
	run_init(&r, MSG, sizeof(MSG) - 1);
	self_run = milter_run_start(r.base, &f.ep, &r.msg, run_done_cancel, &r);
	run_loop(&r);
	assert_null(self_run);
	fake_end(&f);
	assert_int_equal(r.res.verdict, MILTER_ACCEPT);
	run_free(&r);
	fake_free(&f);
}

static void
test_unix(void **state)
{
	struct fake f;
	struct run r;
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char addr[128], err[160];

	(void)state;
	fake_init(&f);
	snprintf(sun.sun_path, sizeof(sun.sun_path),
	    "/tmp/postern-milter-test-%d.sock", (int)getpid());
	unlink(sun.sun_path);
	f.lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(bind(f.lfd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(listen(f.lfd, 4), 0);
	snprintf(addr, sizeof(addr), "unix:%s", sun.sun_path);
	assert_int_equal(filter_endpoint_parse(addr, &f.ep, err, sizeof(err)), 0);
	converse_msg(&f, &r);
	unlink(sun.sun_path);
	assert_int_equal(r.res.verdict, MILTER_ACCEPT);
	assert_int_equal(f.counts['E'], 1);
	run_free(&r);
	fake_free(&f);
}

/* ---- the reader alone --------------------------------------------------- */

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sequence),
		cmocka_unit_test(test_sequence_anonymous),
		cmocka_unit_test(test_leadspc),
		cmocka_unit_test(test_skip_noreply),
		cmocka_unit_test(test_verdicts),
		cmocka_unit_test(test_early),
		cmocka_unit_test(test_rcpt_refused),
		cmocka_unit_test(test_big_body),
		cmocka_unit_test(test_optneg_refused),
		cmocka_unit_test(test_broken),
		cmocka_unit_test(test_milter_stops_reading),
		cmocka_unit_test(test_unasked_reply_waits),
		cmocka_unit_test(test_connect_failure),
		cmocka_unit_test(test_cancel),
		cmocka_unit_test(test_cancel_in_done),
		cmocka_unit_test(test_unix),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
