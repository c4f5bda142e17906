/*
 * route: recipient resolution (SPEC sections 4 and 5: aliases to local and
 * remote addresses, user forwards, catch_all under the allow_catch_all
 * lock, postmaster@ every local domain). Alias and forward chains are
 * bounded by ALIAS_DEPTH_MAX and the fan-out by ALIAS_TARGETS_MAX, so a
 * loop in the directory ends.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/limits.h"
#include "core/xalloc.h"
#include "policy/route.h"

void
route_result_clear(struct route_result *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->v[i].key);
		free(r->v[i].domain);
	}
	free(r->v);
	*r = (struct route_result){ 0 };
}

static void
route_add(struct route_result *r, enum queue_kind kind, const char *key,
    uint64_t quota)
{
	const char *at = strrchr(key, '@');

	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->v[i].key, key) == 0)
			return;		/* one copy per mailbox */
	r->v = xrealloc(r->v, (r->n + 1) * sizeof(*r->v));
	r->v[r->n++] = (struct route_target){ .kind = kind, .key = xstrdup(key),
	    .quota = quota, .domain = xstrdup(at != NULL ? at + 1 : "") };
}

enum dir_rc
route_domain_is_local(struct directory *d, const char *domain)
{
	struct dir_domain dom;
	enum dir_rc rc;

	if (domain[0] == '\0' || domain[0] == '[')
		return DIR_ABSENT;
	rc = directory_domain_get(d, domain, &dom);
	if (rc == DIR_FOUND)
		dir_domain_clear(&dom);
	return rc;
}

static char *
route_lower(const char *s)
{
	char *out = xstrdup(s);

	for (char *p = out; *p != '\0'; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	return out;
}

struct route_walk {
	struct directory	*d;
	struct route_result	*out;
	unsigned		 visited;
	bool			 tempfail;
	/* Users whose forward is being followed on the current path (keys
	 * borrowed from the callers' frames): a forward back to one of them
	 * is a loop. At most one per level of depth. */
	const char		*fwd[ALIAS_DEPTH_MAX + 1];
	unsigned		 nfwd;
};

static enum route_rc route_key(struct route_walk *w, const char *key,
	    unsigned depth, bool top);

static bool
route_fwd_on_path(const struct route_walk *w, const char *key)
{
	for (unsigned i = 0; i < w->nfwd; i++)
		if (strcmp(w->fwd[i], key) == 0)
			return true;
	return false;
}

/*
 * A user with a forward (docs/directory.md, "Forwarding"): the forward
 * replaces local delivery unless forward_keep. A forward that leads
 * nowhere (unknown or disabled, past the depth limit, or back to a user
 * already forwarding on this path) leaves the mail in the user's own
 * mailbox, so a mistake or a loop loses nothing and ends here.
 */
static enum route_rc
route_forward(struct route_walk *w, const char *key, uint64_t quota, /* NOLINT(misc-no-recursion): the forward half of route_key()'s recursion, bounded by ALIAS_DEPTH_MAX and ALIAS_TARGETS_MAX */
    const char *forward, bool keep, unsigned depth)
{
	enum route_rc fr = ROUTE_UNKNOWN;

	if (keep)
		route_add(w->out, QKIND_LOCAL, key, quota);
	if (depth < ALIAS_DEPTH_MAX && w->nfwd < ALIAS_DEPTH_MAX + 1 &&
	    !route_fwd_on_path(w, key)) {
		w->fwd[w->nfwd++] = key;
		fr = route_key(w, forward, depth + 1, false);
		w->nfwd--;
	}
	if (fr == ROUTE_TEMPFAIL)
		return ROUTE_TEMPFAIL;	/* 451 rather than a guess */
	if (fr != ROUTE_OK && !keep)
		route_add(w->out, QKIND_LOCAL, key, quota);
	return ROUTE_OK;
}

/* A user, an alias, or nothing (ROUTE_UNKNOWN) for a key in a local domain. */
static enum route_rc
route_local_key(struct route_walk *w, const char *key, unsigned depth, bool top)
{
	struct dir_user u;
	struct cfg_strlist targets = { 0 };
	enum dir_rc rc;
	enum route_rc best = ROUTE_UNKNOWN;

	rc = directory_user_get(w->d, key, &u);
	if (rc == DIR_TEMPFAIL)
		return ROUTE_TEMPFAIL;
	if (rc == DIR_FOUND) {
		bool enabled = u.enabled, keep = u.forward_keep;
		uint64_t quota = u.quota;
		char *forward = u.forward != NULL && *u.forward != '\0' ?
		    route_lower(u.forward) : NULL;
		enum route_rc r = ROUTE_OK;

		dir_user_clear(&u);
		if (!enabled)
			r = ROUTE_DISABLED;
		else if (forward == NULL)
			route_add(w->out, QKIND_LOCAL, key, quota);
		else
			r = route_forward(w, key, quota, forward, keep, depth);
		free(forward);
		return r;
	}
	rc = directory_alias_get(w->d, key, &targets);
	if (rc == DIR_TEMPFAIL)
		return ROUTE_TEMPFAIL;
	if (rc == DIR_ABSENT)
		return ROUTE_UNKNOWN;
	if (depth >= ALIAS_DEPTH_MAX) {
		cfg_strlist_free(&targets);
		return ROUTE_UNKNOWN;
	}
	for (size_t i = 0; i < targets.n; i++) {
		enum route_rc r = route_key(w, targets.v[i], depth + 1, false);

		if (r == ROUTE_OK)
			best = ROUTE_OK;
		else if (r == ROUTE_TEMPFAIL)
			w->tempfail = true;
	}
	cfg_strlist_free(&targets);
	(void)top;
	return best;
}

/* Any address: remote ones are kept as they are, local ones resolved. */
static enum route_rc
route_key(struct route_walk *w, const char *key, unsigned depth, bool top)
{
	const char *at = strrchr(key, '@');
	enum dir_rc rc;

	if (at == NULL || ++w->visited > ALIAS_TARGETS_MAX)
		return ROUTE_UNKNOWN;
	rc = route_domain_is_local(w->d, at + 1);
	if (rc == DIR_TEMPFAIL)
		return ROUTE_TEMPFAIL;
	if (rc == DIR_ABSENT) {
		/* An alias's remote target: the administrator chose it. */
		route_add(w->out, QKIND_REMOTE, key, 0);
		return ROUTE_OK;
	}
	return route_local_key(w, key, depth, top);
}

static const char *
route_catch_all(struct directory *d, const struct config *cfg,
    const char *domain, struct dir_domain *dom)
{
	struct dir_domain_effective eff;

	/* The server-wide lock wins over any per-domain setting. */
	if (!cfg->allow_catch_all)
		return NULL;
	if (directory_domain_get(d, domain, dom) != DIR_FOUND)
		return NULL;
	dir_domain_effective(dom, cfg, &eff);
	return eff.catch_all != NULL && *eff.catch_all != '\0' ? eff.catch_all : NULL;
}

enum route_rc
route_rcpt(struct directory *d, const struct config *cfg, const char *local,
    const char *domain, struct route_result *out)
{
	struct route_walk w = { .d = d, .out = out };
	struct dir_domain dom = { 0 };
	const char *catch_all;
	enum route_rc rc;
	enum dir_rc drc;
	char *lp, *key;

	*out = (struct route_result){ 0 };
	if (domain[0] == '\0') {
		/* RFC 5321 4.1.1.3: <Postmaster> without a domain is ours. */
		key = xasprintf("postmaster@%s", cfg->hostname);
		route_add(out, QKIND_LOCAL, key, 0);
		free(key);
		return ROUTE_OK;
	}
	drc = route_domain_is_local(d, domain);
	if (drc == DIR_TEMPFAIL)
		return ROUTE_TEMPFAIL;
	if (drc == DIR_ABSENT)
		return ROUTE_REMOTE;
	lp = route_lower(local);
	key = xasprintf("%s@%s", lp, domain);
	rc = route_local_key(&w, key, 0, true);
	if (rc == ROUTE_UNKNOWN && strcmp(lp, "postmaster") == 0) {
		route_add(out, QKIND_LOCAL, key, 0);
		rc = ROUTE_OK;
	}
	if (rc == ROUTE_UNKNOWN &&
	    (catch_all = route_catch_all(d, cfg, domain, &dom)) != NULL) {
		char *ca = route_lower(catch_all);

		rc = route_key(&w, ca, 1, false);
		free(ca);
	}
	if (rc == ROUTE_UNKNOWN && !cfg->checks.verify_recipients) {
		/* Accept-all was asked for: keep it in a mailbox of that name. */
		route_add(out, QKIND_LOCAL, key, 0);
		rc = ROUTE_OK;
	}
	if (rc == ROUTE_OK && out->n == 0)
		rc = ROUTE_UNKNOWN;
	if (w.tempfail && rc != ROUTE_OK)
		rc = ROUTE_TEMPFAIL;
	if (rc != ROUTE_OK)
		route_result_clear(out);
	dir_domain_clear(&dom);
	free(lp);
	free(key);
	return rc;
}

size_t
route_targets_each(const char *data, size_t len, size_t max,
    route_target_fn fn, void *arg)
{
	char *list = xstrndup(data, len), *line, *nl;
	size_t n = 0;

	for (line = list; *line != '\0' && n < max; line = nl + 1) {
		char *t1, *t2;

		nl = strchr(line, '\n');
		if (nl == NULL)
			break;
		*nl = '\0';
		t1 = strchr(line, '\t');
		t2 = t1 != NULL ? strchr(t1 + 1, '\t') : NULL;
		if (t2 == NULL || (line[0] != QKIND_LOCAL && line[0] != QKIND_REMOTE) ||
		    t1 != line + 1 || t2 == t1 + 1)
			break;
		*t2 = '\0';
		fn(arg, (enum queue_kind)line[0], t1 + 1, strtoull(t2 + 1, NULL, 10));
		n++;
	}
	free(list);
	return n;
}
