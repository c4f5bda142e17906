/*
 * directory_access: the ban and trust lists (SPEC sections 1 and 5) and the
 * login bookkeeping behind them: failed logins per IP (auth.failures_before_
 * ban within auth.failure_window) and the last POP3/IMAP login per IP
 * (relay.smtp_after_pop). Networks are stored in cidr_format()'s canonical
 * text and matched with cidr_match(), so IPv4-mapped clients match IPv4.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/cidr.h"
#include "core/limits.h"
#include "core/xalloc.h"
#include "directory/directory_int.h"

#define DIR_REASON_MAX		LOG_VALUE_MAX	/* ours: it is logged with the ban */
#define DIR_CIDR_TEXT_MAX	64		/* cidr_format()'s contract */

/* Canonical text of a network written by an administrator (host bits must
 * be zero: "10.0.0.1/8" is a typo, not 10.0.0.0/8). */
static int
dir_cidr_canonical(const char *text, char *out, const char **err_out)
{
	struct cidr c;

	if (cidr_parse(text, false, &c) == -1) {
		dir_set_err(err_out, "invalid network: expected an address or"
		    " ADDRESS/PREFIX with the host bits zero");
		return -1;
	}
	cidr_format(&c, out, DIR_CIDR_TEXT_MAX);
	return 0;
}

/* XXX: reads every unexpired row for each check; fine for the hundreds of
 * entries an administrator and the auto-ban make, not for a blocklist feed. */
enum dir_rc
directory_access_check(struct directory *d, const struct sockaddr *sa,
    int64_t now, enum access_kind *kind_out)
{
	sqlite3_stmt *st = dir_query(d, DS_ACCESS_ACTIVE, NULL, "i", now);
	enum access_kind kind = ACCESS_NONE;
	struct cidr c;
	int rc;

	*kind_out = ACCESS_NONE;
	if (st == NULL)
		return DIR_TEMPFAIL;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *text = (const char *)sqlite3_column_text(st, 0);
		const char *k = (const char *)sqlite3_column_text(st, 1);

		if (text == NULL || k == NULL || cidr_parse(text, true, &c) == -1 ||
		    !cidr_match(&c, sa))
			continue;
		if (strcmp(k, "ban") == 0) {
			kind = ACCESS_BAN;	/* a ban wins over any trust */
			rc = SQLITE_DONE;
			break;
		}
		kind = ACCESS_TRUST;
	}
	dir_stmt_done(st);
	if (rc != SQLITE_DONE)
		return DIR_TEMPFAIL;
	*kind_out = kind;
	return kind == ACCESS_NONE ? DIR_ABSENT : DIR_FOUND;
}

int
directory_access_add(struct directory *d, enum access_kind kind, const char *cidr,
    const char *reason, int64_t expires, const char **err_out)
{
	char canon[DIR_CIDR_TEXT_MAX];

	if (kind != ACCESS_BAN && kind != ACCESS_TRUST) {
		dir_set_err(err_out, "access kind must be ban or trust");
		return -1;
	}
	if (dir_cidr_canonical(cidr, canon, err_out) == -1)
		return -1;
	if (reason == NULL)
		reason = "";
	/* One line of at most 512 bytes: it goes into `access list` and logs. */
	if (!dir_text_ok(reason, DIR_REASON_MAX, "")) {
		dir_set_err(err_out, "reason must be one line of at most 512 bytes");
		return -1;
	}
	if (expires < 0) {
		dir_set_err(err_out, "expiry time is negative");
		return -1;
	}
	if (expires == 0)
		return dir_exec(d, DS_ACCESS_ADD, err_out, "tttit", canon,
		    kind == ACCESS_BAN ? "ban" : "trust", reason, (int64_t)time(NULL),
		    (const char *)NULL) == -1 ? -1 : 0;
	return dir_exec(d, DS_ACCESS_ADD, err_out, "tttii", canon,
	    kind == ACCESS_BAN ? "ban" : "trust", reason, (int64_t)time(NULL),
	    expires) == -1 ? -1 : 0;
}

int
directory_access_remove(struct directory *d, const char *cidr, const char **err_out)
{
	char canon[DIR_CIDR_TEXT_MAX];
	int n;

	if (dir_cidr_canonical(cidr, canon, err_out) == -1)
		return -1;
	n = dir_exec(d, DS_ACCESS_REMOVE, err_out, "t", canon);
	if (n == 0)
		dir_set_err(err_out, dir_errf("no access entry for %s", canon));
	return n > 0 ? 0 : -1;
}

int
directory_access_list(struct directory *d, const char *cidr, int64_t now,
    struct dir_access **list_out, size_t *n_out)
{
	char canon[DIR_CIDR_TEXT_MAX];
	struct dir_access *v = NULL;
	size_t n = 0, cap = 0;
	sqlite3_stmt *st;
	int rc;

	*list_out = NULL;
	*n_out = 0;
	if (cidr != NULL && dir_cidr_canonical(cidr, canon, NULL) == -1)
		return -1;
	st = dir_query(d, DS_ACCESS_LIST, NULL, "ti", cidr ? canon : NULL, now);
	if (st == NULL)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const unsigned char *k = sqlite3_column_text(st, 1);

		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			v = xrealloc(v, cap * sizeof(*v));
		}
		v[n++] = (struct dir_access){
			.kind = k != NULL && strcmp((const char *)k, "ban") == 0 ?
			    ACCESS_BAN : ACCESS_TRUST,
			.cidr = dir_column_strdup(st, 0),
			.reason = dir_column_strdup(st, 2),
			.created = sqlite3_column_int64(st, 3),
			.expires = sqlite3_column_int64(st, 4),	/* NULL reads 0 */
		};
	}
	dir_stmt_done(st);
	if (rc != SQLITE_DONE) {
		dir_access_list_free(v, n);
		return -1;
	}
	*list_out = v;
	*n_out = n;
	return 0;
}

void
dir_access_list_free(struct dir_access *list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(list[i].cidr);
		free(list[i].reason);
	}
	free(list);
}

/*
 * One transaction: record, forget what fell out of the window, count. The
 * purge is global rather than per IP (the window is one server-wide
 * setting), so IPs that fail once and never return do not pile up.
 * A window of 0 counts as 1 second: "this one included" must hold.
 */
int
directory_auth_failure(struct directory *d, const char *ip, int64_t now,
    unsigned window, unsigned limit, unsigned *count_out)
{
	int64_t since = now - (int64_t)(window > 0 ? window : 1), count = 0;

	*count_out = 0;
	if (dir_tx_begin(d, NULL) == -1)
		return -1;
	if (dir_exec(d, DS_AUTH_FAILURE_ADD, NULL, "ti", ip, now) == -1 ||
	    dir_exec(d, DS_AUTH_FAILURE_PURGE, NULL, "i", since) == -1 ||
	    dir_query_int(d, DS_AUTH_FAILURE_COUNT, &count, "ti", ip, since) != DIR_FOUND ||
	    (limit > 0 && count >= limit &&
	    dir_exec(d, DS_AUTH_FAILURE_CLEAR, NULL, "t", ip) == -1)) {
		dir_tx_rollback(d);
		return -1;
	}
	if (dir_tx_commit(d, NULL) == -1)
		return -1;
	*count_out = count > UINT32_MAX ? UINT32_MAX : (unsigned)count;
	return 0;
}


int
directory_pop_window_open(struct directory *d, const char *ip, int64_t now,
    unsigned window)
{
	if (dir_tx_begin(d, NULL) == -1)
		return -1;
	if (dir_exec(d, DS_POP_WINDOW_PURGE, NULL, "i",
	    now - (int64_t)window) == -1 ||
	    dir_exec(d, DS_POP_WINDOW_SET, NULL, "ti", ip, now) == -1) {
		dir_tx_rollback(d);
		return -1;
	}
	return dir_tx_commit(d, NULL) == -1 ? -1 : 0;
}

enum dir_rc
directory_pop_window_check(struct directory *d, const char *ip, int64_t now,
    unsigned window)
{
	int64_t at = 0;
	enum dir_rc rc;

	if (window == 0)
		return DIR_ABSENT;	/* smtp_after_pop = 0: off */
	rc = dir_query_int(d, DS_POP_WINDOW_GET, &at, "t", ip);
	if (rc != DIR_FOUND)
		return rc;
	return at > now - (int64_t)window ? DIR_FOUND : DIR_ABSENT;
}
