/*
 * directory: domains, users, aliases and access lists in SQLite (WAL), the
 * only place SQL lives. One struct directory is one connection and belongs
 * to one thread. Reads see every committed change at once: nothing here
 * caches across calls, so a running server follows the command line.
 * Addresses and domains are stored and matched in lower case.
 */
#ifndef POSTERN_DIRECTORY_H
#define POSTERN_DIRECTORY_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include "core/config.h"

struct directory;

/* Lookups answer found / absent / temporary failure (picks 5xx or 4xx). */
enum dir_rc { DIR_FOUND = 0, DIR_ABSENT = 1, DIR_TEMPFAIL = -1 };

/* Opens (creating and migrating when needed) the database at path.
 * Returns 0 or -1 with a static message in *err_out. */
int	directory_open(const char *path, struct directory **dir_out,
	    const char **err_out);
void	directory_close(struct directory **dp);
/* The schema version this build creates. */
int	directory_schema_version(void);

/* Groups several changes into one transaction, so that a command line `set`
 * with several KEY=VALUE applies all or nothing. The functions below called
 * in between join it; on their failure call directory_rollback(). 0 or -1. */
int	directory_begin(struct directory *d, const char **err_out);
int	directory_commit(struct directory *d, const char **err_out);
void	directory_rollback(struct directory *d);

/* ---- domains --------------------------------------------------------- */

/* Per-domain overrides; a field left unset follows domain_defaults. */
struct dir_domain {
	char	*name;
	int	 require_auth;		/* -1 unset, 0, 1 */
	char	*catch_all;		/* NULL unset; "" = explicitly none */
	int	 bounces;		/* -1 unset, else enum cfg_spf_policy */
	int	 autoresponders;	/* -1 unset, else enum cfg_spf_policy */
	int64_t	 max_message_size;	/* -1 unset, bytes */
};

/* The settings after merging the overrides over domain_defaults. */
struct dir_domain_effective {
	bool			 require_auth;
	const char		*catch_all;	/* "" = none; borrowed from dir_domain or cfg */
	enum cfg_spf_policy	 bounces;
	enum cfg_spf_policy	 autoresponders;
	uint64_t		 max_message_size;
};

enum dir_rc directory_domain_get(struct directory *d, const char *domain,
	    struct dir_domain *out);
/*
 * The `bounces` policy (SPEC section 4) for mail on behalf of domain: the
 * domain's own setting, or domain_defaults when it has none (DIR_FOUND:
 * the domain is local); domain_defaults.bounces when it is not local or
 * not a domain name (DIR_ABSENT); DIR_TEMPFAIL on a database error (*out
 * is then domain_defaults.bounces too).
 */
enum dir_rc directory_bounce_policy(struct directory *d, const struct config *cfg,
	    const char *domain, enum cfg_spf_policy *out);
void	dir_domain_effective(const struct dir_domain *dom,
	    const struct config *cfg, struct dir_domain_effective *out);
void	dir_domain_clear(struct dir_domain *dom);
int	directory_domain_add(struct directory *d, const char *domain,
	    const char **err_out);
/* Removes the domain with its users and aliases (Maildirs stay on disk). */
int	directory_domain_remove(struct directory *d, const char *domain,
	    const char **err_out);
/* Sets one override; value "default" unsets it. Validates key and value
 * (catch_all is refused while !cfg->allow_catch_all). */
int	directory_domain_set(struct directory *d, const struct config *cfg,
	    const char *domain, const char *key, const char *value,
	    const char **err_out);
/* Clears every override of every domain (domain propagate). */
int	directory_domain_reset_all(struct directory *d, const char **err_out);
/* Names in alphabetical order; the caller frees with cfg_strlist_free(). */
int	directory_domain_list(struct directory *d, struct cfg_strlist *out);

/* ---- users ----------------------------------------------------------- */

struct dir_user {
	char	*address;
	char	*password_hash;		/* crypt(3) string */
	bool	 enabled;
	uint64_t quota;			/* bytes, 0 = none */
	char	*autoreply;		/* "" = off */
	char	*autoreply_subject;
	char	*forward;		/* "" = off */
	bool	 forward_keep;		/* with forward: keep a local copy too */
};

enum dir_rc directory_user_get(struct directory *d, const char *address,
	    struct dir_user *out);
void	dir_user_clear(struct dir_user *u);
/* The domain must exist; password_hash comes from password_hash(). */
int	directory_user_add(struct directory *d, const char *address,
	    const char *password_hash, const char **err_out);
int	directory_user_remove(struct directory *d, const char *address,
	    const char **err_out);
int	directory_user_passwd(struct directory *d, const char *address,
	    const char *password_hash, const char **err_out);
/* Keys: quota, enabled, autoreply, autoreply_subject, forward, forward_keep. */
int	directory_user_set(struct directory *d, const char *address,
	    const char *key, const char *value, const char **err_out);
/* domain NULL = every user. */
int	directory_user_list(struct directory *d, const char *domain,
	    struct cfg_strlist *out);

/* ---- auto-replies ---------------------------------------------------- */

#define DIR_AUTOREPLY_INTERVAL_SEC	(7 * 24 * 3600)	/* SPEC section 4, RFC 3834 */

/* What to send, when directory_autoreply_claim() says to. */
struct dir_autoreply {
	char	*address;	/* the user's address (From:) */
	char	*text;		/* the body, never "" */
	char	*subject;	/* autoreply_subject; "" = "Auto: " + original */
};

/*
 * Should `user` auto-reply to `sender` now, and if so, record that it did.
 * DIR_FOUND (out filled, the caller sends) when the user exists, is
 * enabled and has autoreply text, the domain's effective autoresponders
 * policy allows it (disabled: never; require_spf: only with spf_pass;
 * enabled), and no reply went from this user to this sender (compared in
 * any case) in the DIR_AUTOREPLY_INTERVAL_SEC before `now`. The check and
 * the record are one transaction, committed (synchronous = FULL) before
 * DIR_FOUND is returned, so two processes never both answer (inside
 * directory_begin() it is a savepoint of the caller's transaction instead). DIR_ABSENT:
 * no reply (also for <>, an invalid user or an over-long sender).
 * DIR_TEMPFAIL: database error; nothing recorded.
 */
enum dir_rc directory_autoreply_claim(struct directory *d, const struct config *cfg,
	    const char *user, const char *sender, bool spf_pass, int64_t now,
	    struct dir_autoreply *out);
void	dir_autoreply_clear(struct dir_autoreply *a);

/* ---- aliases --------------------------------------------------------- */

/* Targets of one alias, in the order added. */
enum dir_rc directory_alias_get(struct directory *d, const char *alias,
	    struct cfg_strlist *targets_out);
/* Adds targets to the alias (creating it); the alias's domain must be local. */
int	directory_alias_add(struct directory *d, const char *alias,
	    char *const *targets, size_t ntargets, const char **err_out);
int	directory_alias_remove(struct directory *d, const char *alias,
	    const char **err_out);
/* Every alias name; the caller frees. */
int	directory_alias_list(struct directory *d, struct cfg_strlist *out);
/* Is `alias` an alias with `target` among its targets? (sender check) */
enum dir_rc directory_alias_has_target(struct directory *d, const char *alias,
	    const char *target);

/* ---- access lists ---------------------------------------------------- */

enum access_kind { ACCESS_NONE, ACCESS_BAN, ACCESS_TRUST };

struct dir_access {
	enum access_kind	 kind;
	char			*cidr;		/* canonical text */
	char			*reason;	/* "" when none */
	int64_t			 created;	/* unix time */
	int64_t			 expires;	/* unix time, 0 = never */
};

/* The entry that applies to sa at `now` (unexpired; a ban wins over a
 * trust). *kind_out is ACCESS_NONE when nothing matches. */
enum dir_rc directory_access_check(struct directory *d, const struct sockaddr *sa,
	    int64_t now, enum access_kind *kind_out);
/* Adds or replaces the entry for cidr. expires 0 = never. */
int	directory_access_add(struct directory *d, enum access_kind kind,
	    const char *cidr, const char *reason, int64_t expires,
	    const char **err_out);
int	directory_access_remove(struct directory *d, const char *cidr,
	    const char **err_out);
/* cidr NULL = every entry. The caller frees with dir_access_list_free(). */
int	directory_access_list(struct directory *d, const char *cidr, int64_t now,
	    struct dir_access **list_out, size_t *n_out);
void	dir_access_list_free(struct dir_access *list, size_t n);

/* Records one failed login from ip and returns how many happened within the
 * last `window` seconds (this one included). When that count reaches
 * `limit` (0 = no limit) the IP's failures are forgotten: the caller bans
 * it, and after the ban it starts again from zero. */
int	directory_auth_failure(struct directory *d, const char *ip, int64_t now,
	    unsigned window, unsigned limit, unsigned *count_out);

/*
 * relay.smtp_after_pop: a successful POP3/IMAP login from ip at `now`
 * opens (or extends) its window of `window` seconds. Windows closed by
 * `now` are removed in the same transaction, for every IP.
 */
int	directory_pop_window_open(struct directory *d, const char *ip,
	    int64_t now, unsigned window);
/* Is ip's window open at `now` (a login within the last `window`
 * seconds)? DIR_FOUND, DIR_ABSENT (also with window 0: off), DIR_TEMPFAIL. */
enum dir_rc directory_pop_window_check(struct directory *d, const char *ip,
	    int64_t now, unsigned window);

/* ---- helpers shared with the command line ---------------------------- */

void	cfg_strlist_free(struct cfg_strlist *l);
/* Lower-cases and validates "local@domain" (dot-atom local part, domain
 * name); returns a new string or NULL with *err_out set. */
char	*directory_addr_normalize(const char *addr, const char **err_out);
char	*directory_domain_normalize(const char *domain, const char **err_out);

#endif
