/*
 * directory_user: accounts and aliases of the local domains (SPEC sections
 * 1 and 4). An address is either a user or an alias, never both; both
 * belong to a local domain and go with it. Per-user settings are validated
 * here so that nothing stored can inject a header line into mail we make
 * later (auto-replies, forwards). Password hashing is password.c's.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/limits.h"
#include "core/xalloc.h"
#include "directory/directory_int.h"

#define DIR_AUTOREPLY_MAX	(16 * 1024)	/* ours: an auto-reply body */
#define DIR_SUBJECT_MAX		900	/* ours: "Subject: " + this fits 998 (RFC 5322 2.1.1) */

/* Is address free to become a user or an alias? 0, or -1 with the reason. */
static int
dir_address_free(struct directory *d, const char *addr, const char **err_out)
{
	enum dir_rc rc;

	rc = dir_query_int(d, DS_USER_GET, NULL, "t", addr);
	if (rc == DIR_FOUND) {
		dir_set_err(err_out, dir_errf("%s is already a user", addr));
		return -1;
	}
	if (rc == DIR_ABSENT)
		rc = dir_query_int(d, DS_ALIAS_GET, NULL, "t", addr);
	if (rc == DIR_FOUND) {
		dir_set_err(err_out, dir_errf("%s is already an alias", addr));
		return -1;
	}
	if (rc == DIR_TEMPFAIL) {
		dir_db_err(d, err_out);
		return -1;
	}
	return 0;
}

static int
dir_domain_is_local(struct directory *d, const char *addr, const char **err_out)
{
	const char *domain = dir_addr_domain(addr);

	switch (dir_query_int(d, DS_DOMAIN_GET, NULL, "t", domain)) {
	case DIR_FOUND:
		return 0;
	case DIR_ABSENT:
		dir_set_err(err_out, dir_errf("domain %s is not local", domain));
		return -1;
	default:
		dir_db_err(d, err_out);
		return -1;
	}
}

/* ---- users ------------------------------------------------------------- */

enum dir_rc
directory_user_get(struct directory *d, const char *address, struct dir_user *out)
{
	char *addr = directory_addr_normalize(address, NULL);
	sqlite3_stmt *st;
	int rc;

	*out = (struct dir_user){ 0 };
	if (addr == NULL)
		return DIR_ABSENT;
	if ((st = dir_query(d, DS_USER_GET, NULL, "t", addr)) == NULL) {
		free(addr);
		return DIR_TEMPFAIL;
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		out->address = addr;
		addr = NULL;
		out->password_hash = dir_column_strdup(st, 0);
		out->enabled = sqlite3_column_int(st, 1) != 0;
		out->quota = (uint64_t)sqlite3_column_int64(st, 2);
		out->autoreply = dir_column_strdup(st, 3);
		out->autoreply_subject = dir_column_strdup(st, 4);
		out->forward = dir_column_strdup(st, 5);
		out->forward_keep = sqlite3_column_int(st, 6) != 0;
	}
	dir_stmt_done(st);
	free(addr);
	if (rc == SQLITE_ROW)
		return DIR_FOUND;
	return rc == SQLITE_DONE ? DIR_ABSENT : DIR_TEMPFAIL;
}

void
dir_user_clear(struct dir_user *u)
{
	free(u->address);
	if (u->password_hash != NULL) {
		explicit_bzero(u->password_hash, strlen(u->password_hash));
		free(u->password_hash);
	}
	free(u->autoreply);
	free(u->autoreply_subject);
	free(u->forward);
	*u = (struct dir_user){ 0 };
}

int
directory_user_add(struct directory *d, const char *address,
    const char *password_hash, const char **err_out)
{
	char *addr = directory_addr_normalize(address, err_out);
	int rc;

	if (addr == NULL)
		return -1;
	if (password_hash == NULL || password_hash[0] == '\0') {
		dir_set_err(err_out, "empty password hash");
		free(addr);
		return -1;
	}
	if ((rc = dir_tx_begin(d, err_out)) == 0) {
		rc = dir_domain_is_local(d, addr, err_out);
		if (rc == 0)
			rc = dir_address_free(d, addr, err_out);
		if (rc == 0 && dir_exec(d, DS_USER_ADD, err_out, "ttti", addr,
		    dir_addr_domain(addr), password_hash, (int64_t)time(NULL)) == -1)
			rc = -1;
		if (rc == 0)
			rc = dir_tx_commit(d, err_out);
		else
			dir_tx_rollback(d);
	}
	free(addr);
	return rc;
}

/* Runs a one-row UPDATE/DELETE keyed by a user's address. */
static int
dir_user_exec(struct directory *d, enum dir_stmt_id id, const char *address,
    const char *value, const char **err_out)
{
	char *addr = directory_addr_normalize(address, err_out);
	int n;

	if (addr == NULL)
		return -1;
	n = value == NULL ? dir_exec(d, id, err_out, "t", addr) :
	    dir_exec(d, id, err_out, "tt", addr, value);
	if (n == 0)
		dir_set_err(err_out, dir_errf("user %s does not exist", addr));
	free(addr);
	return n > 0 ? 0 : -1;
}

int
directory_user_remove(struct directory *d, const char *address, const char **err_out)
{
	return dir_user_exec(d, DS_USER_REMOVE, address, NULL, err_out);
}

int
directory_user_passwd(struct directory *d, const char *address,
    const char *password_hash, const char **err_out)
{
	if (password_hash == NULL || password_hash[0] == '\0') {
		dir_set_err(err_out, "empty password hash");
		return -1;
	}
	return dir_user_exec(d, DS_USER_PASSWD, address, password_hash, err_out);
}

/* Validates one user setting into the text to store (SQLite converts the
 * numbers to INTEGER by the column affinity). Returns a new string or NULL. */
static char *
dir_user_value(const char *addr, const char *key, const char *value,
    enum dir_stmt_id *id_out, const char **err_out)
{
	uint64_t size;
	bool b;
	char *fwd;

	if (strcmp(key, "quota") == 0) {
		*id_out = DS_USER_SET_QUOTA;
		if (dir_parse_size(value, &size) == 0 && size <= INT64_MAX)
			return xasprintf("%llu", (unsigned long long)size);
		dir_set_err(err_out, "quota must be a size (bytes, or with a K, M"
		    " or G suffix), 0 for none");
	} else if (strcmp(key, "enabled") == 0) {
		*id_out = DS_USER_SET_ENABLED;
		if (dir_parse_bool(value, &b) == 0)
			return xstrdup(b ? "1" : "0");
		dir_set_err(err_out, "enabled must be true or false");
	} else if (strcmp(key, "autoreply") == 0) {
		*id_out = DS_USER_SET_AUTOREPLY;
		if (dir_text_ok(value, DIR_AUTOREPLY_MAX, "\t\r\n"))
			return xstrdup(value);
		dir_set_err(err_out, "autoreply must be text of at most 16K bytes"
		    " without control characters");
	} else if (strcmp(key, "autoreply_subject") == 0) {
		*id_out = DS_USER_SET_AUTOREPLY_SUBJECT;
		/* It becomes a header field: a CR or LF would start a new one. */
		if (dir_text_ok(value, DIR_SUBJECT_MAX, "\t"))
			return xstrdup(value);
		dir_set_err(err_out, "autoreply_subject must be one line of at most"
		    " 900 bytes without control characters");
	} else if (strcmp(key, "forward") == 0) {
		*id_out = DS_USER_SET_FORWARD;
		if (value[0] == '\0')
			return xstrdup("");
		if ((fwd = directory_addr_normalize(value, err_out)) == NULL)
			return NULL;
		if (strcmp(fwd, addr) != 0)
			return fwd;
		free(fwd);
		dir_set_err(err_out, "forward to the same address would loop");
	} else if (strcmp(key, "forward_keep") == 0) {
		*id_out = DS_USER_SET_FORWARD_KEEP;
		if (dir_parse_bool(value, &b) == 0)
			return xstrdup(b ? "1" : "0");
		dir_set_err(err_out, "forward_keep must be true or false");
	} else
		dir_set_err(err_out, "unknown user key (quota, enabled, autoreply,"
		    " autoreply_subject, forward, forward_keep)");
	return NULL;
}

int
directory_user_set(struct directory *d, const char *address, const char *key,
    const char *value, const char **err_out)
{
	char *addr = directory_addr_normalize(address, err_out), *v;
	enum dir_stmt_id id;
	int rc;

	if (addr == NULL)
		return -1;
	v = dir_user_value(addr, key, value, &id, err_out);
	rc = v == NULL ? -1 : dir_user_exec(d, id, addr, v, err_out);
	free(v);
	free(addr);
	return rc;
}

int
directory_user_list(struct directory *d, const char *domain, struct cfg_strlist *out)
{
	char *name;
	int rc;

	if (domain == NULL)
		return dir_query_strlist(d, DS_USER_LIST_ALL, out, "");
	if ((name = directory_domain_normalize(domain, NULL)) == NULL) {
		*out = (struct cfg_strlist){ 0 };
		return 0;	/* an invalid name has no users */
	}
	rc = dir_query_strlist(d, DS_USER_LIST_DOMAIN, out, "t", name);
	free(name);
	return rc;
}

/* ---- auto-replies ------------------------------------------------------- */

void
dir_autoreply_clear(struct dir_autoreply *a)
{
	free(a->address);
	free(a->text);
	free(a->subject);
	*a = (struct dir_autoreply){ 0 };
}

/* The user's text and subject when the user and the domain's policy allow
 * a reply at all: DIR_FOUND (out filled), DIR_ABSENT, DIR_TEMPFAIL. */
static enum dir_rc
dir_autoreply_wanted(struct directory *d, const struct config *cfg,
    const char *addr, bool spf_pass, struct dir_autoreply *out)
{
	struct dir_user u;
	struct dir_domain dom;
	struct dir_domain_effective eff;
	enum dir_rc rc;

	rc = directory_user_get(d, addr, &u);
	if (rc != DIR_FOUND)
		return rc;
	if (!u.enabled || u.autoreply[0] == '\0') {
		dir_user_clear(&u);
		return DIR_ABSENT;
	}
	rc = directory_domain_get(d, dir_addr_domain(addr), &dom);
	if (rc == DIR_FOUND) {
		dir_domain_effective(&dom, cfg, &eff);
		if (eff.autoresponders == POLICY_DISABLED ||
		    (eff.autoresponders == POLICY_REQUIRE_SPF && !spf_pass))
			rc = DIR_ABSENT;
		dir_domain_clear(&dom);
	}
	if (rc == DIR_FOUND) {
		*out = (struct dir_autoreply){ .address = u.address,
		    .text = u.autoreply, .subject = u.autoreply_subject };
		u.address = u.autoreply = u.autoreply_subject = NULL;
	}
	dir_user_clear(&u);
	return rc;
}

/* The sender as stored: ASCII letters in lower case (SPEC section 3:
 * addresses match in any case); NULL for <> or one over SMTP_PATH_MAX. */
static char *
dir_autoreply_sender(const char *sender)
{
	size_t n = sender != NULL ? strnlen(sender, SMTP_PATH_MAX + 1) : 0;
	char *s;

	if (n == 0 || n > SMTP_PATH_MAX)
		return NULL;
	s = xstrndup(sender, n);
	for (char *p = s; *p != '\0'; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	return s;
}

enum dir_rc
directory_autoreply_claim(struct directory *d, const struct config *cfg,
    const char *user, const char *sender, bool spf_pass, int64_t now,
    struct dir_autoreply *out)
{
	char *addr = directory_addr_normalize(user, NULL);
	char *from = dir_autoreply_sender(sender);
	enum dir_rc rc = DIR_ABSENT;
	int n = 0;

	*out = (struct dir_autoreply){ 0 };
	if (addr == NULL || from == NULL)
		goto done;
	rc = dir_autoreply_wanted(d, cfg, addr, spf_pass, out);
	if (rc != DIR_FOUND)
		goto done;
	/* Check and record in one write transaction: BEGIN IMMEDIATE takes
	 * the lock first, so two deliveries cannot both see "not yet". */
	rc = DIR_TEMPFAIL;
	if (dir_tx_begin(d, NULL) == -1)
		goto done;
	if (dir_exec(d, DS_AUTOREPLY_PURGE, NULL, "i",
	    now - DIR_AUTOREPLY_INTERVAL_SEC) == -1 ||
	    (n = dir_exec(d, DS_AUTOREPLY_CLAIM, NULL, "tti", from, addr, now)) == -1) {
		dir_tx_rollback(d);
		goto done;
	}
	if (dir_tx_commit(d, NULL) == -1)
		goto done;
	rc = n == 1 ? DIR_FOUND : DIR_ABSENT;
done:
	if (rc != DIR_FOUND)
		dir_autoreply_clear(out);
	free(addr);
	free(from);
	return rc;
}

/* ---- aliases ----------------------------------------------------------- */

enum dir_rc
directory_alias_get(struct directory *d, const char *alias, struct cfg_strlist *targets_out)
{
	char *addr = directory_addr_normalize(alias, NULL);
	int rc;

	*targets_out = (struct cfg_strlist){ 0 };
	if (addr == NULL)
		return DIR_ABSENT;
	rc = dir_query_strlist(d, DS_ALIAS_GET, targets_out, "t", addr);
	free(addr);
	if (rc == -1)
		return DIR_TEMPFAIL;
	return targets_out->n > 0 ? DIR_FOUND : DIR_ABSENT;
}

/* Inserts the targets that are new, after the existing ones. */
static int
dir_alias_insert(struct directory *d, const char *addr, char *const *targets,
    size_t ntargets, const char **err_out)
{
	int64_t pos, have;
	size_t i;
	char *t;

	if (dir_query_int(d, DS_ALIAS_NEXT_POSITION, &pos, "t", addr) != DIR_FOUND) {
		dir_db_err(d, err_out);
		return -1;
	}
	for (i = 0; i < ntargets; i++) {
		if ((t = directory_addr_normalize(targets[i], err_out)) == NULL)
			return -1;
		if (strcmp(t, addr) == 0) {
			dir_set_err(err_out, dir_errf("alias %s cannot point to itself", addr));
			free(t);
			return -1;
		}
		switch (dir_query_int(d, DS_ALIAS_HAS_TARGET, NULL, "tt", addr, t)) {
		case DIR_ABSENT:
			/* Positions start at 1 and targets are only ever removed
			 * with their alias, so pos - 1 targets are there. */
			have = pos - 1;
			if (have >= ALIAS_TARGETS_MAX) {
				dir_set_err(err_out, dir_errf("alias %s would have more"
				    " than %d targets", addr, ALIAS_TARGETS_MAX));
				free(t);
				return -1;
			}
			if (dir_exec(d, DS_ALIAS_ADD, err_out, "ttti", addr,
			    dir_addr_domain(addr), t, pos) == -1) {
				free(t);
				return -1;
			}
			pos++;
			break;
		case DIR_FOUND:
			break;		/* already a target: adding it again is a no-op */
		default:
			dir_db_err(d, err_out);
			free(t);
			return -1;
		}
		free(t);
	}
	return 0;
}

int
directory_alias_add(struct directory *d, const char *alias, char *const *targets,
    size_t ntargets, const char **err_out)
{
	char *addr = directory_addr_normalize(alias, err_out);
	enum dir_rc have;
	int rc;

	if (addr == NULL)
		return -1;
	if (ntargets == 0 || ntargets > ALIAS_TARGETS_MAX) {
		dir_set_err(err_out, dir_errf("an alias has 1 to %d targets",
		    ALIAS_TARGETS_MAX));
		free(addr);
		return -1;
	}
	if ((rc = dir_tx_begin(d, err_out)) == 0) {
		rc = dir_domain_is_local(d, addr, err_out);
		/* Adding to an existing alias is fine; shadowing a user is not. */
		if (rc == 0) {
			have = dir_query_int(d, DS_ALIAS_GET, NULL, "t", addr);
			if (have == DIR_ABSENT)
				rc = dir_address_free(d, addr, err_out);
			else if (have == DIR_TEMPFAIL) {
				dir_db_err(d, err_out);
				rc = -1;
			}
		}
		if (rc == 0)
			rc = dir_alias_insert(d, addr, targets, ntargets, err_out);
		if (rc == 0)
			rc = dir_tx_commit(d, err_out);
		else
			dir_tx_rollback(d);
	}
	free(addr);
	return rc;
}

int
directory_alias_remove(struct directory *d, const char *alias, const char **err_out)
{
	char *addr = directory_addr_normalize(alias, err_out);
	int n;

	if (addr == NULL)
		return -1;
	n = dir_exec(d, DS_ALIAS_REMOVE, err_out, "t", addr);
	if (n == 0)
		dir_set_err(err_out, dir_errf("alias %s does not exist", addr));
	free(addr);
	return n > 0 ? 0 : -1;
}

int
directory_alias_list(struct directory *d, struct cfg_strlist *out)
{
	return dir_query_strlist(d, DS_ALIAS_LIST, out, "");
}

enum dir_rc
directory_alias_has_target(struct directory *d, const char *alias, const char *target)
{
	char *a = directory_addr_normalize(alias, NULL);
	char *t = directory_addr_normalize(target, NULL);
	enum dir_rc rc = DIR_ABSENT;

	if (a != NULL && t != NULL)
		rc = dir_query_int(d, DS_ALIAS_HAS_TARGET, NULL, "tt", a, t);
	free(a);
	free(t);
	return rc;
}
