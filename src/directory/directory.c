/*
 * directory: the SQLite database of SPEC section 3 and every SQL statement
 * of postern. Owns the connection set-up (WAL, synchronous=FULL, foreign
 * keys), the versioned schema and its migrations, the statement cache and
 * transactions, and the normalization of addresses and domain names.
 * The tables themselves are read and written in directory_domain.c,
 * directory_user.c and directory_access.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "core/limits.h"
#include "core/xalloc.h"
#include "directory/directory_int.h"

#define DIR_BUSY_TIMEOUT_MSEC	5000	/* a CLI write never stalls the server longer */
#define DIR_ERR_MAX		256

/*
 * Messages with a value in them (a domain name, SQLite's text) are built
 * here. Thread-local, so that each thread's connection reports its own;
 * a message stays valid until the next directory call on the same thread.
 */
static _Thread_local char dir_err_buf[DIR_ERR_MAX];

/*
 * The schema, one step per version: step i brings user_version i to i + 1
 * in one transaction. Steps are never edited once released; a change is a
 * new step appended here (see docs/directory.md).
 */
static const char *const dir_migrations[] = {
	/* 1: the initial schema. NULL in a domain column = follow domain_defaults. */
	"CREATE TABLE domain ("
	"  name TEXT PRIMARY KEY NOT NULL,"
	"  require_auth INTEGER CHECK (require_auth IN (0, 1)),"
	"  catch_all TEXT,"
	"  bounces INTEGER CHECK (bounces BETWEEN 0 AND 2),"
	"  autoresponders INTEGER CHECK (autoresponders BETWEEN 0 AND 2),"
	"  max_message_size INTEGER CHECK (max_message_size > 0),"
	"  created INTEGER NOT NULL"
	") WITHOUT ROWID;"
	"CREATE TABLE user ("
	"  address TEXT PRIMARY KEY NOT NULL,"
	"  domain TEXT NOT NULL REFERENCES domain (name) ON DELETE CASCADE,"
	"  password_hash TEXT NOT NULL,"
	"  enabled INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),"
	"  quota INTEGER NOT NULL DEFAULT 0 CHECK (quota >= 0),"
	"  autoreply TEXT NOT NULL DEFAULT '',"
	"  autoreply_subject TEXT NOT NULL DEFAULT '',"
	"  forward TEXT NOT NULL DEFAULT '',"
	"  created INTEGER NOT NULL"
	");"
	"CREATE INDEX user_domain ON user (domain);"
	"CREATE TABLE alias ("
	"  address TEXT NOT NULL,"
	"  domain TEXT NOT NULL REFERENCES domain (name) ON DELETE CASCADE,"
	"  target TEXT NOT NULL,"
	"  position INTEGER NOT NULL,"
	"  PRIMARY KEY (address, target)"
	");"
	"CREATE INDEX alias_domain ON alias (domain);"
	"CREATE TABLE access ("
	"  cidr TEXT PRIMARY KEY NOT NULL,"
	"  kind TEXT NOT NULL CHECK (kind IN ('ban', 'trust')),"
	"  reason TEXT NOT NULL DEFAULT '',"
	"  created INTEGER NOT NULL,"
	"  expires INTEGER"			/* NULL = never */
	");"
	"CREATE TABLE auth_failure ("
	"  ip TEXT NOT NULL,"
	"  at INTEGER NOT NULL"
	");"
	"CREATE INDEX auth_failure_ip_at ON auth_failure (ip, at);"
	"CREATE INDEX auth_failure_at ON auth_failure (at);"
	"CREATE TABLE pop_login ("
	"  ip TEXT PRIMARY KEY NOT NULL,"
	"  at INTEGER NOT NULL"
	");"
	"CREATE TABLE autoreply_state ("
	"  sender TEXT NOT NULL,"
	"  recipient TEXT NOT NULL REFERENCES user (address) ON DELETE CASCADE,"
	"  last_sent INTEGER NOT NULL,"
	"  PRIMARY KEY (sender, recipient)"
	");"
	"CREATE INDEX autoreply_state_recipient ON autoreply_state (recipient);",
	/* 2: forward_keep (a forward replaces local delivery unless set); an
	 * index for purging auto-reply state older than the 7-day window. */
	"ALTER TABLE user ADD COLUMN forward_keep INTEGER NOT NULL DEFAULT 0"
	"  CHECK (forward_keep IN (0, 1));"
	"CREATE INDEX autoreply_state_last_sent ON autoreply_state (last_sent);",
	/* 3: pop_login goes: the smtp_after_pop window lives in dird's memory
	 * (then; version 4 moved it to smtp_after_pop), nothing wrote it. */
	"DROP TABLE pop_login;",
	/* 4: the relay.smtp_after_pop windows: one row per IP, the time of
	 * its last POP3/IMAP login, written by dird (so a reload or restart
	 * keeps them and every generation of processes sees the same). */
	"CREATE TABLE smtp_after_pop ("
	"  ip TEXT PRIMARY KEY NOT NULL,"
	"  at INTEGER NOT NULL"
	");"
	"CREATE INDEX smtp_after_pop_at ON smtp_after_pop (at);",
};

#define DIR_SCHEMA_VERSION \
	((int)(sizeof(dir_migrations) / sizeof(dir_migrations[0])))

/* Statement text by id; prepared on first use, kept for the connection. */
static const char *const dir_sql[DS_COUNT] = {
	[DS_DOMAIN_GET] = "SELECT require_auth, catch_all, bounces, autoresponders,"
	    " max_message_size FROM domain WHERE name = ?1",
	[DS_DOMAIN_ADD] = "INSERT INTO domain (name, created) VALUES (?1, ?2)",
	[DS_DOMAIN_REMOVE] = "DELETE FROM domain WHERE name = ?1",
	[DS_DOMAIN_SET_REQUIRE_AUTH] =
	    "UPDATE domain SET require_auth = ?2 WHERE name = ?1",
	[DS_DOMAIN_SET_CATCH_ALL] = "UPDATE domain SET catch_all = ?2 WHERE name = ?1",
	[DS_DOMAIN_SET_BOUNCES] = "UPDATE domain SET bounces = ?2 WHERE name = ?1",
	[DS_DOMAIN_SET_AUTORESPONDERS] =
	    "UPDATE domain SET autoresponders = ?2 WHERE name = ?1",
	[DS_DOMAIN_SET_MAX_MESSAGE_SIZE] =
	    "UPDATE domain SET max_message_size = ?2 WHERE name = ?1",
	[DS_DOMAIN_RESET_ALL] = "UPDATE domain SET require_auth = NULL,"
	    " catch_all = NULL, bounces = NULL, autoresponders = NULL,"
	    " max_message_size = NULL",
	[DS_DOMAIN_LIST] = "SELECT name FROM domain ORDER BY name",
	[DS_USER_GET] = "SELECT password_hash, enabled, quota, autoreply,"
	    " autoreply_subject, forward, forward_keep FROM user WHERE address = ?1",
	[DS_USER_ADD] = "INSERT INTO user (address, domain, password_hash, created)"
	    " VALUES (?1, ?2, ?3, ?4)",
	[DS_USER_REMOVE] = "DELETE FROM user WHERE address = ?1",
	[DS_USER_PASSWD] = "UPDATE user SET password_hash = ?2 WHERE address = ?1",
	[DS_USER_SET_QUOTA] = "UPDATE user SET quota = ?2 WHERE address = ?1",
	[DS_USER_SET_ENABLED] = "UPDATE user SET enabled = ?2 WHERE address = ?1",
	[DS_USER_SET_AUTOREPLY] = "UPDATE user SET autoreply = ?2 WHERE address = ?1",
	[DS_USER_SET_AUTOREPLY_SUBJECT] =
	    "UPDATE user SET autoreply_subject = ?2 WHERE address = ?1",
	[DS_USER_SET_FORWARD] = "UPDATE user SET forward = ?2 WHERE address = ?1",
	[DS_USER_SET_FORWARD_KEEP] =
	    "UPDATE user SET forward_keep = ?2 WHERE address = ?1",
	[DS_USER_LIST_ALL] = "SELECT address FROM user ORDER BY address",
	[DS_USER_LIST_DOMAIN] =
	    "SELECT address FROM user WHERE domain = ?1 ORDER BY address",
	[DS_ALIAS_GET] = "SELECT target FROM alias WHERE address = ?1 ORDER BY position",
	[DS_ALIAS_HAS_TARGET] =
	    "SELECT 1 FROM alias WHERE address = ?1 AND target = ?2",
	[DS_ALIAS_NEXT_POSITION] =
	    "SELECT COALESCE(MAX(position), 0) + 1 FROM alias WHERE address = ?1",
	[DS_ALIAS_ADD] = "INSERT INTO alias (address, domain, target, position)"
	    " VALUES (?1, ?2, ?3, ?4)",
	[DS_ALIAS_REMOVE] = "DELETE FROM alias WHERE address = ?1",
	[DS_ALIAS_LIST] = "SELECT DISTINCT address FROM alias ORDER BY address",
	[DS_ACCESS_ACTIVE] = "SELECT cidr, kind FROM access"
	    " WHERE expires IS NULL OR expires > ?1",
	[DS_ACCESS_ADD] = "INSERT INTO access (cidr, kind, reason, created, expires)"
	    " VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (cidr) DO UPDATE SET"
	    " kind = excluded.kind, reason = excluded.reason,"
	    " created = excluded.created, expires = excluded.expires",
	[DS_ACCESS_REMOVE] = "DELETE FROM access WHERE cidr = ?1",
	[DS_ACCESS_LIST] = "SELECT cidr, kind, reason, created, expires FROM access"
	    " WHERE (?1 IS NULL OR cidr = ?1)"
	    " AND (expires IS NULL OR expires > ?2) ORDER BY cidr",
	[DS_AUTH_FAILURE_ADD] = "INSERT INTO auth_failure (ip, at) VALUES (?1, ?2)",
	[DS_AUTH_FAILURE_PURGE] = "DELETE FROM auth_failure WHERE at <= ?1",
	[DS_AUTH_FAILURE_CLEAR] = "DELETE FROM auth_failure WHERE ip = ?1",
	[DS_AUTH_FAILURE_COUNT] =
	    "SELECT COUNT(*) FROM auth_failure WHERE ip = ?1 AND at > ?2",
	[DS_POP_WINDOW_SET] = "INSERT INTO smtp_after_pop (ip, at) VALUES (?1, ?2)"
	    " ON CONFLICT (ip) DO UPDATE SET at = MAX(at, excluded.at)",
	[DS_POP_WINDOW_PURGE] = "DELETE FROM smtp_after_pop WHERE at <= ?1",
	[DS_POP_WINDOW_GET] = "SELECT at FROM smtp_after_pop WHERE ip = ?1",
	[DS_AUTOREPLY_PURGE] = "DELETE FROM autoreply_state WHERE last_sent <= ?1",
	/* Inserts only when no reply went to this sender within the window
	 * (older rows were purged first, in the same transaction). */
	[DS_AUTOREPLY_CLAIM] = "INSERT INTO autoreply_state (sender, recipient,"
	    " last_sent) VALUES (?1, ?2, ?3) ON CONFLICT (sender, recipient) DO NOTHING",
};

int
directory_schema_version(void)
{
	return DIR_SCHEMA_VERSION;
}

/* ---- errors ------------------------------------------------------------ */

const char *
dir_errf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(dir_err_buf, sizeof(dir_err_buf), fmt, ap);
	va_end(ap);
	return dir_err_buf;
}

void
dir_set_err(const char **err_out, const char *msg)
{
	if (err_out != NULL)
		*err_out = msg;
}

void
dir_db_err(struct directory *d, const char **err_out)
{
	dir_set_err(err_out, dir_errf("database error: %s", sqlite3_errmsg(d->db)));
}

/* ---- statements -------------------------------------------------------- */

sqlite3_stmt *
dir_stmt(struct directory *d, enum dir_stmt_id id, const char **err_out)
{
	if (d->stmt[id] == NULL && sqlite3_prepare_v3(d->db, dir_sql[id], -1,
	    SQLITE_PREPARE_PERSISTENT, &d->stmt[id], NULL) != SQLITE_OK) {
		dir_db_err(d, err_out);
		d->stmt[id] = NULL;
		return NULL;
	}
	return d->stmt[id];
}

/* Every use ends here: an unreset SELECT would pin its WAL snapshot, and
 * then this connection would stop seeing the command line's changes. */
void
dir_stmt_done(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

/* Binds parameters ?1.. from types: 't' text (NULL binds NULL), 'i' int64. */
static int
dir_bindv(sqlite3_stmt *st, const char *types, va_list ap)
{
	int i, rc = SQLITE_OK;

	for (i = 0; types[i] != '\0' && rc == SQLITE_OK; i++) {
		if (types[i] == 't') {
			const char *s = va_arg(ap, const char *);

			rc = s == NULL ? sqlite3_bind_null(st, i + 1) :
			    sqlite3_bind_text(st, i + 1, s, -1, SQLITE_STATIC);
		} else if (types[i] == 'i')
			rc = sqlite3_bind_int64(st, i + 1, va_arg(ap, int64_t));
		else
			fatal("dir_bindv: bad type '%c'", types[i]);
	}
	return rc == SQLITE_OK ? 0 : -1;
}

sqlite3_stmt *
dir_query(struct directory *d, enum dir_stmt_id id, const char **err_out,
    const char *types, ...)
{
	sqlite3_stmt *st = dir_stmt(d, id, err_out);
	va_list ap;
	int rc;

	if (st == NULL)
		return NULL;
	va_start(ap, types);
	rc = dir_bindv(st, types, ap);
	va_end(ap);
	if (rc == -1) {
		dir_db_err(d, err_out);
		dir_stmt_done(st);
		return NULL;
	}
	return st;
}

/* Runs a statement that returns no rows; the number of rows changed or -1. */
int
dir_exec(struct directory *d, enum dir_stmt_id id, const char **err_out,
    const char *types, ...)
{
	sqlite3_stmt *st = dir_stmt(d, id, err_out);
	va_list ap;
	int rc;

	if (st == NULL)
		return -1;
	va_start(ap, types);
	rc = dir_bindv(st, types, ap);
	va_end(ap);
	if (rc == 0 && sqlite3_step(st) != SQLITE_DONE)
		rc = -1;
	if (rc == -1)
		dir_db_err(d, err_out);
	dir_stmt_done(st);
	return rc == -1 ? -1 : sqlite3_changes(d->db);
}

/* The first column of the first row as an integer. */
enum dir_rc
dir_query_int(struct directory *d, enum dir_stmt_id id, int64_t *out,
    const char *types, ...)
{
	sqlite3_stmt *st = dir_stmt(d, id, NULL);
	enum dir_rc ret = DIR_TEMPFAIL;
	va_list ap;
	int rc;

	if (st == NULL)
		return DIR_TEMPFAIL;
	va_start(ap, types);
	rc = dir_bindv(st, types, ap);
	va_end(ap);
	if (rc == 0) {
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			if (out != NULL)
				*out = sqlite3_column_int64(st, 0);
			ret = DIR_FOUND;
		} else if (rc == SQLITE_DONE)
			ret = DIR_ABSENT;
	}
	dir_stmt_done(st);
	return ret;
}

/* Every row's first column into *out; 0 or -1 (*out is then empty). */
int
dir_query_strlist(struct directory *d, enum dir_stmt_id id,
    struct cfg_strlist *out, const char *types, ...)
{
	sqlite3_stmt *st = dir_stmt(d, id, NULL);
	va_list ap;
	size_t cap = 0;
	int rc;

	*out = (struct cfg_strlist){ 0 };
	if (st == NULL)
		return -1;
	va_start(ap, types);
	rc = dir_bindv(st, types, ap);
	va_end(ap);
	if (rc == -1) {
		dir_stmt_done(st);
		return -1;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (out->n == cap) {
			cap = cap ? cap * 2 : 16;
			out->v = xrealloc(out->v, cap * sizeof(*out->v));
		}
		out->v[out->n++] = dir_column_strdup(st, 0);
	}
	dir_stmt_done(st);
	if (rc != SQLITE_DONE) {
		cfg_strlist_free(out);
		return -1;
	}
	return 0;
}

char *
dir_column_strdup(sqlite3_stmt *st, int col)
{
	const unsigned char *s = sqlite3_column_text(st, col);

	return xstrdup(s != NULL ? (const char *)s : "");
}

void
cfg_strlist_free(struct cfg_strlist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	*l = (struct cfg_strlist){ 0 };
}

/* ---- transactions ------------------------------------------------------ */

/*
 * The outermost level is BEGIN IMMEDIATE: taking the write lock up front
 * means busy_timeout applies, where a deferred read-then-write could fail
 * at once with SQLITE_BUSY_SNAPSHOT. Inner levels are savepoints, so a
 * function called inside directory_begin() undoes only its own part.
 */
int
dir_tx_begin(struct directory *d, const char **err_out)
{
	const char *sql = d->tx_depth == 0 ? "BEGIN IMMEDIATE" : "SAVEPOINT dir_inner";

	if (sqlite3_exec(d->db, sql, NULL, NULL, NULL) != SQLITE_OK) {
		dir_db_err(d, err_out);
		return -1;
	}
	d->tx_depth++;
	return 0;
}

int
dir_tx_commit(struct directory *d, const char **err_out)
{
	const char *sql = d->tx_depth == 1 ? "COMMIT" : "RELEASE dir_inner";

	if (d->tx_depth == 0)
		fatal("dir_tx_commit: no transaction");
	if (sqlite3_exec(d->db, sql, NULL, NULL, NULL) != SQLITE_OK) {
		dir_db_err(d, err_out);
		dir_tx_rollback(d);
		return -1;
	}
	d->tx_depth--;
	return 0;
}

void
dir_tx_rollback(struct directory *d)
{
	if (d->tx_depth == 0)
		fatal("dir_tx_rollback: no transaction");
	d->tx_depth--;
	/* SQLite may already have rolled back by itself (SQLITE_FULL, IOERR). */
	if (sqlite3_get_autocommit(d->db)) {
		d->tx_depth = 0;
		return;
	}
	if (d->tx_depth == 0)
		(void)sqlite3_exec(d->db, "ROLLBACK", NULL, NULL, NULL);
	else
		(void)sqlite3_exec(d->db,
		    "ROLLBACK TO dir_inner; RELEASE dir_inner", NULL, NULL, NULL);
}

int
directory_begin(struct directory *d, const char **err_out)
{
	return dir_tx_begin(d, err_out);
}

int
directory_commit(struct directory *d, const char **err_out)
{
	return dir_tx_commit(d, err_out);
}

void
directory_rollback(struct directory *d)
{
	dir_tx_rollback(d);
}

/* ---- opening and migrations -------------------------------------------- */

/* A pragma that answers one row; its first column into *out (may be NULL). */
static int
dir_pragma(sqlite3 *db, const char *sql, int64_t *num_out, char *text_out,
    size_t textlen)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		if (num_out != NULL)
			*num_out = sqlite3_column_int64(st, 0);
		if (text_out != NULL) {
			const unsigned char *s = sqlite3_column_text(st, 0);

			snprintf(text_out, textlen, "%s", s ? (const char *)s : "");
		}
	}
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

/* Applies the steps after the stored version, each in its own transaction;
 * the version is re-read under the write lock, so two processes starting
 * at once do not both apply a step. */
static int
dir_migrate(struct directory *d, const char **err_out)
{
	for (;;) {
		char sql[64];
		int64_t version = 0;

		if (dir_tx_begin(d, err_out) == -1)
			return -1;
		if (dir_pragma(d->db, "PRAGMA user_version", &version, NULL, 0) == -1) {
			dir_db_err(d, err_out);
			dir_tx_rollback(d);
			return -1;
		}
		if (version < 0 || version > DIR_SCHEMA_VERSION) {
			dir_tx_rollback(d);
			dir_set_err(err_out, dir_errf("database schema version %lld is"
			    " newer than this build's (%d)", (long long)version,
			    DIR_SCHEMA_VERSION));
			return -1;
		}
		if (version == DIR_SCHEMA_VERSION)
			return dir_tx_commit(d, err_out);
		/* PRAGMA takes no parameters; the number is ours, not input. */
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", (int)version + 1);
		if (sqlite3_exec(d->db, dir_migrations[version], NULL, NULL, NULL) != SQLITE_OK ||
		    sqlite3_exec(d->db, sql, NULL, NULL, NULL) != SQLITE_OK) {
			const char *msg = dir_errf("schema migration to version %d failed: %s",
			    (int)version + 1, sqlite3_errmsg(d->db));

			dir_tx_rollback(d);
			dir_set_err(err_out, msg);
			return -1;
		}
		if (dir_tx_commit(d, err_out) == -1)
			return -1;
	}
}

/* The database holds password hashes: create it 0600 ourselves rather than
 * leave the mode to the umask. SQLite gives -wal and -shm the same mode. */
static int
dir_create_private(const char *path, const char **err_out)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);

	if (fd == -1 && errno != EEXIST) {
		dir_set_err(err_out, dir_errf("cannot create %s: %s", path, strerror(errno)));
		return -1;
	}
	if (fd != -1)
		close(fd);
	return 0;
}

static int
dir_configure(struct directory *d, const char **err_out)
{
	char mode[16];

	sqlite3_extended_result_codes(d->db, 1);
	sqlite3_busy_timeout(d->db, DIR_BUSY_TIMEOUT_MSEC);
	/* Defensive mode: no writable_schema tricks even through our own SQL. */
	(void)sqlite3_db_config(d->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	if (dir_pragma(d->db, "PRAGMA journal_mode = WAL", NULL, mode, sizeof(mode)) == -1 ||
	    strcasecmp(mode, "wal") != 0) {
		dir_set_err(err_out, "cannot switch the database to WAL mode");
		return -1;
	}
	/* FULL: an acknowledged `user add` or ban survives a power loss. The
	 * foreign keys carry the ON DELETE CASCADE of domain remove. */
	if (sqlite3_exec(d->db, "PRAGMA synchronous = FULL;"
	    "PRAGMA foreign_keys = ON;"
	    "PRAGMA secure_delete = ON;"
	    /* No temporary files: the directory process may create none. */
	    "PRAGMA temp_store = MEMORY;", NULL, NULL, NULL) != SQLITE_OK) {
		dir_db_err(d, err_out);
		return -1;
	}
	return 0;
}

int
directory_open(const char *path, struct directory **dir_out, const char **err_out)
{
	struct directory *d;
	int rc;

	*dir_out = NULL;
	if (dir_create_private(path, err_out) == -1)
		return -1;
	d = xcalloc(1, sizeof(*d));
	rc = sqlite3_open_v2(path, &d->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
	    SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		if (d->db == NULL)
			dir_set_err(err_out, "cannot open the database: out of memory");
		else
			dir_set_err(err_out, dir_errf("cannot open %s: %s", path,
			    sqlite3_errmsg(d->db)));
		directory_close(&d);
		return -1;
	}
	if (dir_configure(d, err_out) == -1 || dir_migrate(d, err_out) == -1) {
		directory_close(&d);
		return -1;
	}
	*dir_out = d;
	return 0;
}

void
directory_close(struct directory **dp)
{
	struct directory *d = *dp;
	int i;

	if (d == NULL)
		return;
	for (i = 0; i < DS_COUNT; i++)
		sqlite3_finalize(d->stmt[i]);
	sqlite3_close(d->db);
	free(d);
	*dp = NULL;
}

/* ---- normalization ----------------------------------------------------- */

/* RFC 5322 3.2.3 atext. */
static bool
dir_is_atext(char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

/* RFC 1035 2.3.1 labels (letters, digits, inner hyphens), at least two of
 * them: a bare "localhost" is never a mail domain of ours. */
static const char *
dir_domain_check(const char *s, size_t len)
{
	size_t i, label = 0, dots = 0;

	if (len == 0)
		return "domain is empty";
	if (len > SMTP_DOMAIN_MAX)
		return "domain is longer than 255 octets";
	for (i = 0; i < len; i++) {
		char c = s[i];

		if (c == '.') {
			if (label == 0)
				return "domain has an empty label";
			if (s[i - 1] == '-')
				return "domain label ends with '-'";
			label = 0;
			dots++;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-'))
			return "domain has a character other than letters, digits, '-' and '.'";
		if (c == '-' && label == 0)
			return "domain label starts with '-'";
		if (++label > SMTP_LABEL_MAX)
			return "domain label is longer than 63 octets";
	}
	if (label == 0)
		return "domain ends with '.'";
	if (s[len - 1] == '-')
		return "domain label ends with '-'";
	if (dots == 0)
		return "domain needs at least two labels (example.org)";
	return NULL;
}

static char *
dir_lower_dup(const char *s, size_t len)
{
	char *p = xstrndup(s, len);
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] >= 'A' && p[i] <= 'Z')
			p[i] = (char)(p[i] - 'A' + 'a');
	return p;
}

char *
directory_domain_normalize(const char *domain, const char **err_out)
{
	size_t len = strnlen(domain, SMTP_DOMAIN_MAX + 1);
	const char *why = dir_domain_check(domain, len);

	if (why != NULL) {
		dir_set_err(err_out, why);
		return NULL;
	}
	return dir_lower_dup(domain, len);
}

/* local@domain with a dot-atom local part (RFC 5322 3.4.1; no quoted
 * strings: no client of ours needs them and they complicate every match). */
char *
directory_addr_normalize(const char *addr, const char **err_out)
{
	size_t len = strnlen(addr, DIR_ADDR_MAX + 1), i, at;
	const char *sep, *why;

	if (len > DIR_ADDR_MAX) {
		dir_set_err(err_out, "address is longer than 254 octets");
		return NULL;
	}
	sep = strrchr(addr, '@');
	if (sep == NULL) {
		dir_set_err(err_out, "address has no '@'");
		return NULL;
	}
	at = (size_t)(sep - addr);
	if (at == 0 || at > SMTP_LOCAL_PART_MAX) {
		dir_set_err(err_out, at == 0 ? "address has an empty local part" :
		    "address local part is longer than 64 octets");
		return NULL;
	}
	for (i = 0; i < at; i++) {
		if (addr[i] == '.' && (i == 0 || i == at - 1 || addr[i - 1] == '.')) {
			dir_set_err(err_out, "address local part has a leading,"
			    " trailing or double '.'");
			return NULL;
		}
		if (addr[i] != '.' && !dir_is_atext(addr[i])) {
			dir_set_err(err_out, "address local part has a character"
			    " not allowed in a dot-atom");
			return NULL;
		}
	}
	if ((why = dir_domain_check(sep + 1, len - at - 1)) != NULL) {
		dir_set_err(err_out, dir_errf("address %s", why));
		return NULL;
	}
	return dir_lower_dup(addr, len);
}

/* The domain part of a normalized address. */
const char *
dir_addr_domain(const char *addr)
{
	return strrchr(addr, '@') + 1;
}

/* ---- value parsers shared by the setting tables ------------------------ */

int
dir_parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "true", "yes", "on", "1" };
	static const char *const no[] = { "false", "no", "off", "0" };
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -1;
}

/* "25M" -> bytes: decimal digits, then an optional K, M or G (powers of
 * 1024, either case). config_parse_size() does the same for the file; this
 * copy keeps the directory free of config.c. */
int
dir_parse_size(const char *s, uint64_t *out)
{
	uint64_t v = 0, mult = 1;

	if (*s < '0' || *s > '9')
		return -1;
	for (; *s >= '0' && *s <= '9'; s++) {
		unsigned digit = (unsigned)(*s - '0');

		if (v > (UINT64_MAX - digit) / 10)
			return -1;
		v = v * 10 + digit;
	}
	switch (*s) {
	case 'k': case 'K': mult = 1024; s++; break;
	case 'm': case 'M': mult = 1024 * 1024; s++; break;
	case 'g': case 'G': mult = 1024 * 1024 * 1024; s++; break;
	default: break;
	}
	if (*s != '\0' || v > UINT64_MAX / mult)
		return -1;
	*out = v * mult;
	return 0;
}

/* Free text stored for later use in mail: refuses control bytes but those
 * in `allowed`, so nothing we store can inject a header line. */
bool
dir_text_ok(const char *s, size_t max, const char *allowed)
{
	size_t len = strnlen(s, max + 1), i;

	if (len > max)
		return false;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((c < 0x20 || c == 0x7f) && strchr(allowed, (char)c) == NULL)
			return false;
	}
	return true;
}
