/*
 * directory_int: what the directory_*.c files share and nobody else sees:
 * the connection struct, the statement ids, the small query helpers and
 * the value parsers. Only directory/ includes this header.
 */
#ifndef POSTERN_DIRECTORY_INT_H
#define POSTERN_DIRECTORY_INT_H

#include <sqlite3.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#include "directory/directory.h"

#define DIR_ADDR_MAX		254	/* RFC 5321 4.5.3.1.3: 256 minus "<>" */

enum dir_stmt_id {
	DS_DOMAIN_GET, DS_DOMAIN_ADD, DS_DOMAIN_REMOVE,
	DS_DOMAIN_SET_REQUIRE_AUTH, DS_DOMAIN_SET_CATCH_ALL, DS_DOMAIN_SET_BOUNCES,
	DS_DOMAIN_SET_AUTORESPONDERS, DS_DOMAIN_SET_MAX_MESSAGE_SIZE,
	DS_DOMAIN_RESET_ALL, DS_DOMAIN_LIST,
	DS_USER_GET, DS_USER_ADD, DS_USER_REMOVE, DS_USER_PASSWD,
	DS_USER_SET_QUOTA, DS_USER_SET_ENABLED, DS_USER_SET_AUTOREPLY,
	DS_USER_SET_AUTOREPLY_SUBJECT, DS_USER_SET_FORWARD, DS_USER_SET_FORWARD_KEEP,
	DS_USER_LIST_ALL, DS_USER_LIST_DOMAIN,
	DS_ALIAS_GET, DS_ALIAS_HAS_TARGET, DS_ALIAS_NEXT_POSITION, DS_ALIAS_ADD,
	DS_ALIAS_REMOVE, DS_ALIAS_LIST,
	DS_ACCESS_ACTIVE, DS_ACCESS_ADD, DS_ACCESS_REMOVE, DS_ACCESS_LIST,
	DS_AUTH_FAILURE_ADD, DS_AUTH_FAILURE_PURGE, DS_AUTH_FAILURE_COUNT,
	DS_AUTH_FAILURE_CLEAR,
	DS_POP_WINDOW_SET, DS_POP_WINDOW_PURGE, DS_POP_WINDOW_GET,
	DS_AUTOREPLY_PURGE, DS_AUTOREPLY_CLAIM,
	DS_COUNT
};

struct directory {
	sqlite3		*db;
	sqlite3_stmt	*stmt[DS_COUNT];	/* prepared on first use */
	unsigned	 tx_depth;		/* 0 = no transaction of ours */
};

/* Errors: a static string or the thread-local buffer of dir_errf(). */
const char	*dir_errf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void		 dir_set_err(const char **err_out, const char *msg);
void		 dir_db_err(struct directory *d, const char **err_out);

/* Statements. Binding types: 't' text (NULL binds NULL), 'i' int64_t.
 * Whoever gets a statement from dir_stmt() or dir_query() ends with
 * dir_stmt_done(). */
sqlite3_stmt	*dir_stmt(struct directory *d, enum dir_stmt_id id,
		    const char **err_out);
sqlite3_stmt	*dir_query(struct directory *d, enum dir_stmt_id id,
		    const char **err_out, const char *types, ...);
void		 dir_stmt_done(sqlite3_stmt *st);
int		 dir_exec(struct directory *d, enum dir_stmt_id id,
		    const char **err_out, const char *types, ...);
enum dir_rc	 dir_query_int(struct directory *d, enum dir_stmt_id id,
		    int64_t *out, const char *types, ...);
int		 dir_query_strlist(struct directory *d, enum dir_stmt_id id,
		    struct cfg_strlist *out, const char *types, ...);
char		*dir_column_strdup(sqlite3_stmt *st, int col);

/* Transactions: BEGIN IMMEDIATE outside, savepoints inside. */
int		 dir_tx_begin(struct directory *d, const char **err_out);
int		 dir_tx_commit(struct directory *d, const char **err_out);
void		 dir_tx_rollback(struct directory *d);

const char	*dir_addr_domain(const char *normalized_addr);
int		 dir_parse_bool(const char *s, bool *out);
int		 dir_parse_size(const char *s, uint64_t *out);
bool		 dir_text_ok(const char *s, size_t max, const char *allowed);

#endif
