/*
 * Unit tests for server/dird over its real IPC: a forked dird_run() in a
 * temp dir with its own postern.db gets a client socket the way the master
 * hands one over (IPCM_DIRD_CLIENT), and the test speaks the queue
 * manager's requests: IPCM_BOUNCE_POLICY (local domain with and without
 * its own setting, not local, malformed) and IPCM_AUTOREPLY (policy, SPF
 * flag, the once-per-7-days record shared with another connection, <>,
 * malformed). Changes made through another connection are seen at once.
 * And the mailbox workers' logins: IPCM_AUTH returns the mailbox key, and
 * with IPC_AUTH_MAILBOX opens the smtp_after_pop window that IPCM_CONNECT
 * and IPCM_MAIL then report as IK_TRUSTED (open, expiry, off when 0).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/testdir.h"

#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/config.h"
#include "directory/directory.h"
#include "directory/password.h"
#include "ipc/ipc.h"
#include "ipc/ipc_proto.h"
#include "server/dird.h"

#define FAKE_HASH	"$y$j9T$notarealsalt$notarealhashnotarealhashnotarealhas"

struct fixture {
	struct testdir			 td;
	struct config		 cfg;
	struct directory	*d;	/* the test's own connection (the CLI's role) */
	pid_t			 pid;
	int			 ctl, sock;
	uint32_t		 next_id;
	struct buf		 rbuf;
};

#define CAROL_PASS	"carol's secret"

static int
setup_with(void **state, unsigned smtp_after_pop)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const char *err = NULL;
	int ctl[2], cli[2];
	struct ipc_msg give;
	char *hash;

	assert_non_null(f);
	testdir_enter(&f->td, "dird");
	config_defaults(&f->cfg);
	f->cfg.relay.smtp_after_pop = smtp_after_pop;
	assert_int_equal(directory_open("postern.db", &f->d, &err), 0);
	assert_int_equal(directory_domain_add(f->d, "example.org", &err), 0);
	assert_int_equal(directory_user_add(f->d, "alice@example.org", FAKE_HASH, &err), 0);
	hash = password_hash(CAROL_PASS, strlen(CAROL_PASS));
	assert_non_null(hash);
	assert_int_equal(directory_user_add(f->d, "carol@example.org", hash, &err), 0);
	free(hash);
	assert_int_equal(directory_user_set(f->d, "alice@example.org", "autoreply",
	    "Away until Monday.", &err), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ctl), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, cli), 0);
	f->pid = fork();
	assert_true(f->pid >= 0);
	if (f->pid == 0) {
		close(ctl[0]);
		close(cli[0]);
		close(cli[1]);
		_exit(dird_run(&f->cfg, ctl[1]));
	}
	close(ctl[1]);
	f->ctl = ctl[0];
	ipc_msg_init(&give, IPCM_DIRD_CLIENT, 0);
	give.fd = cli[1];
	assert_int_equal(ipc_send(f->ctl, &give), 0);
	close(cli[1]);
	f->sock = cli[0];
	buf_init(&f->rbuf, IPC_MSG_MAX);
	*state = f;
	return 0;
}

static int
setup(void **state)
{
	return setup_with(state, 0);
}

/* relay.smtp_after_pop = 2 s */
static int
setup_pop(void **state)
{
	return setup_with(state, 2);
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	int status = 0;

	kill(f->pid, SIGTERM);
	assert_int_equal(waitpid(f->pid, &status, 0), f->pid);
	close(f->sock);
	close(f->ctl);
	buf_free(&f->rbuf);
	directory_close(&f->d);
	config_free(&f->cfg);
	testdir_leave(&f->td);
	free(f);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	return 0;
}

/* Sends req and waits (at most 10 s) for the reply with its id. */
static void
call(struct fixture *f, struct ipc_msg *req, struct ipc_msg *reply)
{
	struct pollfd pfd = { .fd = f->sock, .events = POLLIN };

	req->id = ++f->next_id;
	assert_int_equal(ipc_send(f->sock, req), 0);
	assert_int_equal(poll(&pfd, 1, 10000), 1);
	assert_int_equal(ipc_recv(f->sock, &f->rbuf, reply), 1);
	assert_int_equal(reply->type, IPCM_REPLY);
	assert_int_equal(reply->id, req->id);
}

static uint64_t
u64(const struct ipc_msg *m, uint16_t key)
{
	uint64_t v = 0xdead;

	assert_int_equal(ipc_msg_get_u64(m, key, &v), 0);
	return v;
}

static void
assert_str(const struct ipc_msg *m, uint16_t key, const char *want)
{
	char *s = ipc_msg_get_str(m, key, 1 << 16);

	assert_non_null(s);
	assert_string_equal(s, want);
	free(s);
}

/* IPCM_BOUNCE_POLICY; returns IK_RC, the policy in *policy_out with OK. */
static uint64_t
bounce_policy(struct fixture *f, const char *domain, uint64_t *policy_out)
{
	struct ipc_msg req, r;
	uint64_t rc;

	ipc_msg_init(&req, IPCM_BOUNCE_POLICY, 0);
	if (domain != NULL)
		ipc_msg_add_str(&req, IK_DOMAIN, domain);
	call(f, &req, &r);
	rc = u64(&r, IK_RC);
	if (rc == IPCV_OK)
		*policy_out = u64(&r, IK_FLAGS);
	else
		assert_null(ipc_msg_get(&r, IK_FLAGS));
	return rc;
}

static void
test_bounce_policy(void **state)
{
	struct fixture *f = *state;
	const char *err = NULL;
	uint64_t p = 99;

	assert_int_equal(bounce_policy(f, "example.org", &p), IPCV_OK);
	assert_int_equal(p, f->cfg.domain_defaults.bounces);
	/* Set from the command line: the next request sees it. */
	assert_int_equal(directory_domain_set(f->d, &f->cfg, "example.org", "bounces",
	    "enabled", &err), 0);
	assert_int_equal(bounce_policy(f, "Example.ORG", &p), IPCV_OK);
	assert_int_equal(p, POLICY_ENABLED);
	assert_int_equal(directory_domain_set(f->d, &f->cfg, "example.org", "bounces",
	    "disabled", &err), 0);
	assert_int_equal(bounce_policy(f, "example.org", &p), IPCV_OK);
	assert_int_equal(p, POLICY_DISABLED);
	/* Not local, a literal, empty: domain_defaults. */
	assert_int_equal(bounce_policy(f, "example.net", &p), IPCV_OK);
	assert_int_equal(p, f->cfg.domain_defaults.bounces);
	assert_int_equal(bounce_policy(f, "[192.0.2.1]", &p), IPCV_OK);
	assert_int_equal(p, f->cfg.domain_defaults.bounces);
	assert_int_equal(bounce_policy(f, "", &p), IPCV_OK);
	/* Malformed: no domain field. */
	assert_int_equal(bounce_policy(f, NULL, &p), IPCV_TEMPFAIL);
}

/* IPCM_AUTOREPLY; returns IK_RC and checks the fields that go with it. */
static uint64_t
autoreply(struct fixture *f, const char *user, const char *sender, uint64_t flags)
{
	struct ipc_msg req, r;
	uint64_t rc;

	ipc_msg_init(&req, IPCM_AUTOREPLY, 0);
	if (user != NULL)
		ipc_msg_add_str(&req, IK_USER, user);
	if (sender != NULL)
		ipc_msg_add_str(&req, IK_ADDR, sender);
	ipc_msg_add_u64(&req, IK_FLAGS, flags);
	call(f, &req, &r);
	rc = u64(&r, IK_RC);
	if (rc == IPCV_OK) {
		assert_str(&r, IK_USER, "alice@example.org");
		assert_str(&r, IK_TEXT, "Away until Monday.");
		assert_str(&r, IK_SUBJECT, "");
	} else {
		assert_null(ipc_msg_get(&r, IK_TEXT));
		assert_null(ipc_msg_get(&r, IK_USER));
	}
	return rc;
}

static void
test_autoreply(void **state)
{
	struct fixture *f = *state;
	struct dir_autoreply a;
	const char *err = NULL;

	/* domain_defaults.autoresponders is require_spf. */
	assert_int_equal(f->cfg.domain_defaults.autoresponders, POLICY_REQUIRE_SPF);
	assert_int_equal(autoreply(f, "alice@example.org", "friend@example.net", 0),
	    IPCV_UNKNOWN);
	assert_int_equal(autoreply(f, "alice@example.org", "friend@example.net",
	    IPC_AUTOREPLY_SPF_PASS), IPCV_OK);
	/* Once per sender per 7 days, in any case; then another sender. */
	assert_int_equal(autoreply(f, "alice@example.org", "FRIEND@example.net",
	    IPC_AUTOREPLY_SPF_PASS), IPCV_UNKNOWN);
	assert_int_equal(autoreply(f, "Alice@Example.org", "other@example.net",
	    IPC_AUTOREPLY_SPF_PASS), IPCV_OK);
	/* The record is in the database already: another connection sees it. */
	assert_int_equal(directory_autoreply_claim(f->d, &f->cfg, "alice@example.org",
	    "other@example.net", true, (int64_t)time(NULL), &a), DIR_ABSENT);
	/* Never to <>; nobody; no text. */
	assert_int_equal(autoreply(f, "alice@example.org", "", IPC_AUTOREPLY_SPF_PASS),
	    IPCV_UNKNOWN);
	assert_int_equal(autoreply(f, "nobody@example.org", "third@example.net",
	    IPC_AUTOREPLY_SPF_PASS), IPCV_UNKNOWN);
	assert_int_equal(directory_user_set(f->d, "alice@example.org", "autoreply", "",
	    &err), 0);
	assert_int_equal(autoreply(f, "alice@example.org", "third@example.net",
	    IPC_AUTOREPLY_SPF_PASS), IPCV_UNKNOWN);
	/* The domain's own policy. */
	assert_int_equal(directory_user_set(f->d, "alice@example.org", "autoreply",
	    "Away until Monday.", &err), 0);
	assert_int_equal(directory_domain_set(f->d, &f->cfg, "example.org",
	    "autoresponders", "enabled", &err), 0);
	assert_int_equal(autoreply(f, "alice@example.org", "third@example.net", 0),
	    IPCV_OK);
	assert_int_equal(directory_domain_set(f->d, &f->cfg, "example.org",
	    "autoresponders", "disabled", &err), 0);
	assert_int_equal(autoreply(f, "alice@example.org", "fourth@example.net",
	    IPC_AUTOREPLY_SPF_PASS), IPCV_UNKNOWN);
	/* Malformed requests. */
	assert_int_equal(autoreply(f, NULL, "x@example.net", 0), IPCV_TEMPFAIL);
	assert_int_equal(autoreply(f, "alice@example.org", NULL, 0), IPCV_TEMPFAIL);
}

/* Requests keep flowing after one of each kind, and an unknown type is
 * answered TEMPFAIL. */
static void
test_unknown_request(void **state)
{
	struct fixture *f = *state;
	struct ipc_msg req, r;
	uint64_t p;

	ipc_msg_init(&req, 999, 0);
	call(f, &req, &r);
	assert_int_equal(u64(&r, IK_RC), IPCV_TEMPFAIL);
	assert_int_equal(bounce_policy(f, "example.org", &p), IPCV_OK);
}

/* IPCM_AUTH: the verdict; the mailbox key into key_out (NULL: not wanted). */
static uint64_t
auth(struct fixture *f, const char *user, const char *pass, const char *ip,
    uint64_t flags, char **key_out)
{
	struct ipc_msg req, reply;
	uint64_t rc = 99;

	ipc_msg_init(&req, IPCM_AUTH, 0);
	ipc_msg_add_str(&req, IK_USER, user);
	ipc_msg_add_str(&req, IK_PASS, pass);
	ipc_msg_add_str(&req, IK_IP, ip);
	ipc_msg_add_u64(&req, IK_FLAGS, flags);
	call(f, &req, &reply);
	assert_int_equal(ipc_msg_get_u64(&reply, IK_RC, &rc), 0);
	if (key_out != NULL)
		*key_out = ipc_msg_get_str(&reply, IK_USER, 320);
	return rc;
}

/* IK_TRUSTED of IPCM_CONNECT (mail false) or IPCM_MAIL (mail true). */
static uint64_t
trusted(struct fixture *f, const char *ip, bool mail)
{
	struct ipc_msg req, reply;
	uint64_t rc = 99, t = 99;

	ipc_msg_init(&req, mail ? IPCM_MAIL : IPCM_CONNECT, 0);
	ipc_msg_add_str(&req, IK_IP, ip);
	if (mail) {
		ipc_msg_add_str(&req, IK_ADDR, "someone@remote.example");
		ipc_msg_add_str(&req, IK_DOMAIN, "remote.example");
	}
	call(f, &req, &reply);
	assert_int_equal(ipc_msg_get_u64(&reply, IK_RC, &rc), 0);
	assert_int_equal(rc, IPCV_OK);
	assert_int_equal(ipc_msg_get_u64(&reply, IK_TRUSTED, &t), 0);
	return t;
}

static void
test_auth_returns_mailbox_key(void **state)
{
	struct fixture *f = *state;
	char *key = NULL;

	assert_int_equal(auth(f, "Carol@Example.ORG", CAROL_PASS, "192.0.2.9",
	    IPC_AUTH_MAILBOX, &key), IPCV_OK);
	assert_non_null(key);
	assert_string_equal(key, "carol@example.org");
	free(key);
	/* SMTP AUTH gets it too. */
	assert_int_equal(auth(f, "carol@example.org", CAROL_PASS, "192.0.2.9",
	    0, &key), IPCV_OK);
	assert_string_equal(key, "carol@example.org");
	free(key);
	assert_int_equal(auth(f, "carol@example.org", "wrong", "192.0.2.9",
	    IPC_AUTH_MAILBOX, &key), IPCV_AUTH_FAIL);
	assert_null(key);
}

/* A connection opened before the ban keeps no right to guess: IPCM_AUTH
 * answers BANNED (IK_EXPIRES 0: no new ban) for a banned IP without
 * checking the password, for SMTP AUTH and mailbox logins alike. */
static void
test_auth_banned_ip(void **state)
{
	struct fixture *f = *state;
	const char *err = NULL;
	struct ipc_msg req, reply;
	char *key = NULL;

	assert_int_equal(directory_access_add(f->d, ACCESS_BAN, "192.0.2.20",
	    "test", (int64_t)time(NULL) + 3600, &err), 0);
	assert_int_equal(auth(f, "carol@example.org", CAROL_PASS, "192.0.2.20",
	    IPC_AUTH_MAILBOX, &key), IPCV_BANNED);
	assert_null(key);
	assert_int_equal(auth(f, "carol@example.org", CAROL_PASS, "192.0.2.20",
	    0, NULL), IPCV_BANNED);
	assert_int_equal(auth(f, "carol@example.org", "wrong", "192.0.2.20",
	    IPC_AUTH_MAILBOX, NULL), IPCV_BANNED);
	ipc_msg_init(&req, IPCM_AUTH, 0);
	ipc_msg_add_str(&req, IK_USER, "carol@example.org");
	ipc_msg_add_str(&req, IK_PASS, CAROL_PASS);
	ipc_msg_add_str(&req, IK_IP, "192.0.2.20");
	call(f, &req, &reply);
	assert_int_equal(u64(&reply, IK_RC), IPCV_BANNED);
	assert_int_equal(u64(&reply, IK_EXPIRES), 0);
	/* The guesses were not counted nor was the IP banned again; other
	 * IPs are served. */
	assert_int_equal(auth(f, "carol@example.org", CAROL_PASS, "192.0.2.21",
	    IPC_AUTH_MAILBOX, NULL), IPCV_OK);
	/* Lifted: served again. */
	assert_int_equal(directory_access_remove(f->d, "192.0.2.20", &err), 0);
	assert_int_equal(auth(f, "carol@example.org", CAROL_PASS, "192.0.2.20",
	    IPC_AUTH_MAILBOX, NULL), IPCV_OK);
}

static void
test_pop_window(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(trusted(f, "192.0.2.10", false), 0);
	/* A failed login opens nothing; nor does SMTP AUTH. */
	assert_int_equal(auth(f, "carol@example.org", "wrong", "192.0.2.10",
	    IPC_AUTH_MAILBOX, NULL), IPCV_AUTH_FAIL);
	assert_int_equal(auth(f, "carol@example.org", CAROL_PASS, "192.0.2.10",
	    0, NULL), IPCV_OK);
	assert_int_equal(trusted(f, "192.0.2.10", false), 0);
	/* A mailbox login opens it, for that IP only, at CONNECT and MAIL. */
	assert_int_equal(auth(f, "carol@example.org", CAROL_PASS, "192.0.2.10",
	    IPC_AUTH_MAILBOX, NULL), IPCV_OK);
	assert_int_equal(trusted(f, "192.0.2.10", false), 1);
	assert_int_equal(trusted(f, "192.0.2.10", true), 1);
	assert_int_equal(trusted(f, "192.0.2.11", false), 0);
	assert_int_equal(trusted(f, "192.0.2.11", true), 0);
	/* Closed after smtp_after_pop (2 s). */
	sleep(3);
	assert_int_equal(trusted(f, "192.0.2.10", false), 0);
	assert_int_equal(trusted(f, "192.0.2.10", true), 0);
}

static void
test_pop_window_off(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(f->cfg.relay.smtp_after_pop, 0);
	assert_int_equal(auth(f, "carol@example.org", CAROL_PASS, "192.0.2.12",
	    IPC_AUTH_MAILBOX, NULL), IPCV_OK);
	assert_int_equal(trusted(f, "192.0.2.12", false), 0);
	assert_int_equal(trusted(f, "192.0.2.12", true), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_bounce_policy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_autoreply, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_request, setup, teardown),
		cmocka_unit_test_setup_teardown(test_auth_returns_mailbox_key,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_auth_banned_ip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pop_window, setup_pop, teardown),
		cmocka_unit_test_setup_teardown(test_pop_window_off, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
