/*
 * directory_domain: local domains and their per-domain overrides (SPEC
 * section 4): require_auth, catch_all, bounces, autoresponders,
 * max_message_size. A NULL column follows domain_defaults; the merge is
 * dir_domain_effective(). The catch_all lock (allow_catch_all) is enforced
 * both when setting and when merging, so turning the lock on later wins.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/limits.h"
#include "core/xalloc.h"
#include "directory/directory_int.h"

static int
directory_policy_parse(const char *s, int *out)
{
	static const char *const names[] = {
		[POLICY_DISABLED] = "disabled",
		[POLICY_REQUIRE_SPF] = "require_spf",
		[POLICY_ENABLED] = "enabled",
	};
	int i;

	for (i = 0; i < (int)(sizeof(names) / sizeof(names[0])); i++) {
		if (strcmp(s, names[i]) == 0) {
			*out = i;
			return 0;
		}
	}
	return -1;
}

enum dir_rc
directory_domain_get(struct directory *d, const char *domain, struct dir_domain *out)
{
	char *name = directory_domain_normalize(domain, NULL);
	sqlite3_stmt *st;
	int rc;

	*out = (struct dir_domain){ .require_auth = -1, .bounces = -1,
	    .autoresponders = -1, .max_message_size = -1 };
	if (name == NULL)
		return DIR_ABSENT;	/* an invalid name is never local */
	if ((st = dir_query(d, DS_DOMAIN_GET, NULL, "t", name)) == NULL) {
		free(name);
		return DIR_TEMPFAIL;
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		out->name = name;
		name = NULL;
		if (sqlite3_column_type(st, 0) != SQLITE_NULL)
			out->require_auth = sqlite3_column_int(st, 0) != 0;
		if (sqlite3_column_type(st, 1) != SQLITE_NULL)
			out->catch_all = dir_column_strdup(st, 1);
		if (sqlite3_column_type(st, 2) != SQLITE_NULL)
			out->bounces = sqlite3_column_int(st, 2);
		if (sqlite3_column_type(st, 3) != SQLITE_NULL)
			out->autoresponders = sqlite3_column_int(st, 3);
		if (sqlite3_column_type(st, 4) != SQLITE_NULL)
			out->max_message_size = sqlite3_column_int64(st, 4);
	}
	dir_stmt_done(st);
	free(name);
	if (rc == SQLITE_ROW)
		return DIR_FOUND;
	return rc == SQLITE_DONE ? DIR_ABSENT : DIR_TEMPFAIL;
}

void
dir_domain_clear(struct dir_domain *dom)
{
	free(dom->name);
	free(dom->catch_all);
	*dom = (struct dir_domain){ .require_auth = -1, .bounces = -1,
	    .autoresponders = -1, .max_message_size = -1 };
}

/* dom may be NULL (a domain that is not local): the defaults apply. */
void
dir_domain_effective(const struct dir_domain *dom, const struct config *cfg,
    struct dir_domain_effective *out)
{
	const struct cfg_domain_defaults *def = &cfg->domain_defaults;
	const char *catch_all = def->catch_all;

	out->require_auth = def->require_auth;
	out->bounces = def->bounces;
	out->autoresponders = def->autoresponders;
	out->max_message_size = def->max_message_size;
	if (dom != NULL) {
		if (dom->require_auth >= 0)
			out->require_auth = dom->require_auth != 0;
		if (dom->catch_all != NULL)
			catch_all = dom->catch_all;
		if (dom->bounces >= POLICY_DISABLED && dom->bounces <= POLICY_ENABLED)
			out->bounces = (enum cfg_spf_policy)dom->bounces;
		if (dom->autoresponders >= POLICY_DISABLED &&
		    dom->autoresponders <= POLICY_ENABLED)
			out->autoresponders = (enum cfg_spf_policy)dom->autoresponders;
		if (dom->max_message_size > 0)
			out->max_message_size = (uint64_t)dom->max_message_size;
	}
	/* The server-wide lock beats a catch_all stored before it was set. */
	if (catch_all == NULL || !cfg->allow_catch_all)
		catch_all = "";
	out->catch_all = catch_all;
}

enum dir_rc
directory_bounce_policy(struct directory *d, const struct config *cfg,
    const char *domain, enum cfg_spf_policy *out)
{
	struct dir_domain dom;
	struct dir_domain_effective eff;
	enum dir_rc rc = directory_domain_get(d, domain, &dom);

	dir_domain_effective(rc == DIR_FOUND ? &dom : NULL, cfg, &eff);
	*out = eff.bounces;
	dir_domain_clear(&dom);
	return rc;
}

int
directory_domain_add(struct directory *d, const char *domain, const char **err_out)
{
	char *name = directory_domain_normalize(domain, err_out);
	int rc;

	if (name == NULL)
		return -1;
	if ((rc = dir_tx_begin(d, err_out)) == 0) {
		switch (dir_query_int(d, DS_DOMAIN_GET, NULL, "t", name)) {
		case DIR_ABSENT:
			rc = dir_exec(d, DS_DOMAIN_ADD, err_out, "ti", name,
			    (int64_t)time(NULL)) == -1 ? -1 : 0;
			break;
		case DIR_FOUND:
			dir_set_err(err_out, dir_errf("domain %s already exists", name));
			rc = -1;
			break;
		default:
			dir_db_err(d, err_out);
			rc = -1;
		}
		if (rc == 0)
			rc = dir_tx_commit(d, err_out);
		else
			dir_tx_rollback(d);
	}
	free(name);
	return rc;
}

int
directory_domain_remove(struct directory *d, const char *domain, const char **err_out)
{
	char *name = directory_domain_normalize(domain, err_out);
	int n;

	if (name == NULL)
		return -1;
	/* The foreign keys remove its users, aliases and auto-reply state. */
	n = dir_exec(d, DS_DOMAIN_REMOVE, err_out, "t", name);
	if (n == 0)
		dir_set_err(err_out, dir_errf("domain %s is not local", name));
	free(name);
	return n > 0 ? 0 : -1;
}

/* A validated override: the statement to run and its value (NULL = unset). */
struct dir_domain_value {
	enum dir_stmt_id id;
	bool	 is_null;
	bool	 is_text;
	int64_t	 num;
	char	*text;
};

static int
dir_domain_value_parse(const struct config *cfg, const char *key,
    const char *value, struct dir_domain_value *v, const char **err_out)
{
	bool unset = strcmp(value, "default") == 0, b;
	uint64_t size;
	int policy;

	*v = (struct dir_domain_value){ .is_null = unset };
	if (strcmp(key, "require_auth") == 0) {
		v->id = DS_DOMAIN_SET_REQUIRE_AUTH;
		if (unset)
			return 0;
		if (dir_parse_bool(value, &b) == -1) {
			dir_set_err(err_out, "require_auth must be true or false");
			return -1;
		}
		v->num = b;
	} else if (strcmp(key, "catch_all") == 0) {
		v->id = DS_DOMAIN_SET_CATCH_ALL;
		v->is_text = true;
		if (unset)
			return 0;
		if (value[0] == '\0') {
			v->text = xstrdup("");
			return 0;
		}
		if (!cfg->allow_catch_all) {
			dir_set_err(err_out, "catch_all is locked: allow_catch_all = false");
			return -1;
		}
		if ((v->text = directory_addr_normalize(value, err_out)) == NULL)
			return -1;
	} else if (strcmp(key, "bounces") == 0 || strcmp(key, "autoresponders") == 0) {
		v->id = key[0] == 'b' ? DS_DOMAIN_SET_BOUNCES : DS_DOMAIN_SET_AUTORESPONDERS;
		if (unset)
			return 0;
		if (directory_policy_parse(value, &policy) == -1) {
			dir_set_err(err_out, key[0] == 'b' ?
			    "bounces must be disabled, require_spf or enabled" :
			    "autoresponders must be disabled, require_spf or enabled");
			return -1;
		}
		v->num = policy;
	} else if (strcmp(key, "max_message_size") == 0) {
		v->id = DS_DOMAIN_SET_MAX_MESSAGE_SIZE;
		if (unset)
			return 0;
		if (dir_parse_size(value, &size) == -1 || size == 0 ||
		    size > SMTP_MSG_SIZE_HARD_MAX) {
			dir_set_err(err_out, "max_message_size must be a size from 1"
			    " to 2G (bytes, or with a K, M or G suffix)");
			return -1;
		}
		v->num = (int64_t)size;
	} else {
		dir_set_err(err_out, "unknown domain key (require_auth, catch_all,"
		    " bounces, autoresponders, max_message_size)");
		return -1;
	}
	return 0;
}

int
directory_domain_set(struct directory *d, const struct config *cfg,
    const char *domain, const char *key, const char *value, const char **err_out)
{
	struct dir_domain_value v;
	char *name;
	int n;

	if ((name = directory_domain_normalize(domain, err_out)) == NULL)
		return -1;
	if (dir_domain_value_parse(cfg, key, value, &v, err_out) == -1) {
		free(name);
		return -1;
	}
	if (v.is_null)
		n = dir_exec(d, v.id, err_out, "tt", name, (const char *)NULL);
	else if (v.is_text)
		n = dir_exec(d, v.id, err_out, "tt", name, v.text);
	else
		n = dir_exec(d, v.id, err_out, "ti", name, v.num);
	if (n == 0)
		dir_set_err(err_out, dir_errf("domain %s is not local", name));
	free(v.text);
	free(name);
	return n > 0 ? 0 : -1;
}

int
directory_domain_reset_all(struct directory *d, const char **err_out)
{
	return dir_exec(d, DS_DOMAIN_RESET_ALL, err_out, "") == -1 ? -1 : 0;
}

int
directory_domain_list(struct directory *d, struct cfg_strlist *out)
{
	return dir_query_strlist(d, DS_DOMAIN_LIST, out, "");
}
