/*
 * smtp_filter: the filters of one transaction, from the streaming scan
 * during DATA to the decision at its end (smtp_filter.h). The steps after
 * DATA run one at a time on the loop, each a callback: clamd, then each
 * milter, then the routes of recipients a milter added (or of the
 * quarantine mailbox), then the rewrite of the queue file.
 */
#include <event2/bufferevent_ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "core/limits.h"
#include "core/tls.h"
#include "core/xalloc.h"
#include "filter/clamd.h"
#include "filter/filter_conn.h"
#include "filter/filter_rewrite.h"
#include "ipc/ipc_proto.h"
#include "mime/mime_header.h"
#include "policy/route.h"
#include "queue/queue.h"
#include "smtp/smtp_checks.h"
#include "smtp/smtp_filter.h"
#include "smtp/smtp_notice.h"
#include "smtp/smtp_session.h"

#define SMTP_FILTER_COPY	(64 * 1024)	/* rewrite copy piece: ours */
/* A header section rewritten: the client's (HEADER_SCAN_MAX, as the MIME
 * parser allows) and the fields we added before it. */
#define SMTP_FILTER_HEADER_MAX	(HEADER_SCAN_MAX + 64 * 1024)

struct smtp_filter {
	struct filter_scan	*scan;
	struct filter_hit	 hits[FILTER_HITS_MAX];
	size_t			 nhits;
	const struct filter_hit	*decider;	/* into hits, after decide */
	struct clamd_scan	*clamd;
	bool			 clamd_done;
	struct milter_run	*milter;
	size_t			 milter_i;
	struct milter_mod	*mods;		/* every milter's, in order */
	size_t			 nmods;
	int			 body_fd;	/* a milter's new body, or -1 */
	uint64_t		 body_len;
	size_t			 route_i;	/* next mod to route (ADD_RCPT) */
	struct smtp_target	*orig_targets;	/* before a quarantine */
	size_t			 norig_targets;
	struct smtp_filter_decision d;
	smtp_filter_fn		 done;
};

static void smtp_filter_step(struct smtp_session *s);
static void smtp_filter_route_next(struct smtp_session *s);

static const struct filter_endpoints *
smtp_filter_eps(const struct smtp_session *s)
{
	return s->srv->feps;
}

static bool
smtp_filter_configured(const struct smtp_session *s)
{
	const struct filter_endpoints *e = smtp_filter_eps(s);

	return e != NULL && (e->clamd.text[0] != '\0' || e->nmilters > 0);
}

void
smtp_filter_begin(struct smtp_session *s)
{
	struct filter_scan *scan = filter_scan_new(s->cfg);

	smtp_filter_reset(s);
	if (scan == NULL && !smtp_filter_configured(s))
		return;
	s->filt = xcalloc(1, sizeof(*s->filt));
	s->filt->scan = scan;
	s->filt->body_fd = -1;
}

void
smtp_filter_feed(struct smtp_session *s, const char *data, size_t len)
{
	if (s->filt != NULL && s->filt->scan != NULL)
		filter_scan_feed(s->filt->scan, data, len);
}

/* Records a hit and logs it (SPEC 6: event=filter, action, rule, part).
 * The stored copy, or NULL when only weaker-or-equal hits are kept. */
static struct filter_hit *
smtp_filter_hit(struct smtp_session *s, const struct filter_hit *h)
{
	struct smtp_filter *f = s->filt;
	struct filter_hit *slot;

	log_kv(&s->log, h->verdict == FV_ACCEPT ? LOGL_WARN : LOGL_INFO,
	    "filter", "queue_id", s->queue_id, "filter", filter_kind_name(h->kind),
	    "action", filter_verdict_name(h->verdict), "rule", h->rule,
	    "part", h->part, "detail", h->detail, NULL);
	if ((slot = filter_hits_slot(f->hits, &f->nhits, h->verdict)) != NULL)
		*slot = *h;
	return slot;
}

static struct filter_hit *
smtp_filter_add(struct smtp_session *s, enum filter_kind kind,
    enum filter_verdict v, const char *rule, const char *detail)
{
	struct filter_hit h = { .kind = kind, .verdict = v };

	snprintf(h.rule, sizeof(h.rule), "%s", rule);
	snprintf(h.detail, sizeof(h.detail), "%s", detail);
	return smtp_filter_hit(s, &h);
}

static const struct filter_hit *
smtp_filter_strongest(const struct smtp_filter *f)
{
	const struct filter_hit *best = NULL;

	for (size_t i = 0; i < f->nhits; i++)
		if (best == NULL || f->hits[i].verdict > best->verdict)
			best = &f->hits[i];
	return best;
}

static enum filter_verdict
smtp_filter_on_error(enum cfg_on_error e)
{
	switch (e) {
	case ON_ERROR_ACCEPT:
		return FV_ACCEPT;
	case ON_ERROR_REJECT:
		return FV_REJECT;
	case ON_ERROR_TEMPFAIL:
	default:
		return FV_TEMPFAIL;
	}
}

/* Goes on after an asynchronous step, as smtp_session_dir_call does. */
static bool
smtp_filter_woken(struct smtp_session *s)
{
	if (s->dead) {
		/* SPEC 6: every transaction ends with its line, the hits
		 * recorded so far included. */
		smtp_session_log_tx(s, "connection lost");
		smtp_session_resume(s);		/* frees it */
		return false;
	}
	s->busy = false;
	return true;
}

static void
smtp_filter_clamd_done(void *arg, enum clamd_result r, const char *detail)
{
	struct smtp_session *s = arg;
	const struct config *cfg = s->cfg;

	s->filt->clamd = NULL;
	if (r == CLAMD_FOUND)
		smtp_filter_add(s, FILTER_ANTIVIRUS,
		    filter_verdict_of(cfg->filters.antivirus.action), detail, "");
	else if (r == CLAMD_ERROR)
		smtp_filter_add(s, FILTER_ANTIVIRUS, smtp_filter_on_error(
		    cfg->filters.antivirus.on_error), "error", detail);
	if (!smtp_filter_woken(s))
		return;
	smtp_filter_step(s);
	if (!s->busy)
		smtp_session_resume(s);
}

/* Moves a milter's changes into the transaction's list. */
static void
smtp_filter_take_mods(struct smtp_filter *f, struct milter_result *r)
{
	if (r->nmods > 0) {
		f->mods = xrealloc(f->mods, (f->nmods + r->nmods) * sizeof(*f->mods));
		memcpy(f->mods + f->nmods, r->mods, r->nmods * sizeof(*r->mods));
		f->nmods += r->nmods;
		free(r->mods);
		r->mods = NULL;
		r->nmods = 0;
	}
	if (r->body_fd != -1) {
		if (f->body_fd != -1)
			close(f->body_fd);	/* the last milter's body wins */
		f->body_fd = r->body_fd;
		f->body_len = r->body_len;
		r->body_fd = -1;
	}
}

static void
smtp_filter_milter_done(void *arg, struct milter_result *r)
{
	struct smtp_session *s = arg;
	struct smtp_filter *f = s->filt;
	const struct cfg_milter *m = &s->cfg->filters.milters[f->milter_i];
	const char *addr = m->address;

	struct filter_hit *h;

	f->milter = NULL;
	f->milter_i++;
	switch (r->verdict) {
	case MILTER_REJECT:
	case MILTER_TEMPFAIL:
		h = smtp_filter_add(s, FILTER_MILTER, r->verdict == MILTER_REJECT ?
		    FV_REJECT : FV_TEMPFAIL, addr, r->reply);
		if (h != NULL)
			h->reply = r->reply[0] != '\0';
		break;
	case MILTER_DISCARD:
		smtp_filter_add(s, FILTER_MILTER, FV_DISCARD, addr, "");
		break;
	case MILTER_ERROR:
		smtp_filter_add(s, FILTER_MILTER, smtp_filter_on_error(
		    m->on_error), addr, r->error);
		break;
	case MILTER_ACCEPT:
		if (r->quarantine)
			/* Without a quarantine mailbox the sender is told:
			 * a message is never dropped unseen. */
			smtp_filter_add(s, FILTER_MILTER,
			    *s->cfg->filters.quarantine != '\0' ?
			    FV_QUARANTINE : FV_REJECT, addr,
			    r->quarantine_reason);
		smtp_filter_take_mods(f, r);
		break;
	}
	if (!smtp_filter_woken(s))
		return;
	smtp_filter_step(s);
	if (!s->busy)
		smtp_session_resume(s);
}

static int
smtp_filter_scratch(void *arg)
{
	(void)arg;
	return queue_scratch_open();
}

static void
smtp_filter_start_milter(struct smtp_session *s, int fd, uint64_t off,
    uint64_t len)
{
	struct smtp_filter *f = s->filt;
	struct milter_msg msg = {
		.hostname = s->cfg->hostname, .queue_id = s->queue_id,
		.client_ip = s->ip, .client_ptr = smtp_checks_ptr(s),
		.helo = s->helo != NULL ? s->helo : "",
		.auth_user = s->auth_user,
		.tls_version = s->tls ? tls_version_name(
		    bufferevent_openssl_get_ssl(s->bev)) : NULL,
		.from = s->from != NULL ? s->from : "",
		.rcpts = (const char *const *)s->rcpt_text,
		.nrcpts = s->nrcpt, .fd = fd, .off = off, .len = len,
		.scratch = smtp_filter_scratch, .body_max = s->max_size,
	};

	s->busy = true;
	f->milter = milter_run_start(s->srv->base,
	    &smtp_filter_eps(s)->milters[f->milter_i], &msg,
	    smtp_filter_milter_done, s);
}

/* Fills the reply of a reject or tempfail decision from its hit. */
static void
smtp_filter_reply(struct smtp_filter_decision *d, const struct filter_hit *h)
{
	const char *t = h->detail;
	bool rej = d->verdict == FV_REJECT;

	d->code = rej ? 554 : 451;
	snprintf(d->esc, sizeof(d->esc), rej ? "5.7.1" : "4.3.0");
	/* A milter's own reply: "550 5.7.1 text" (milter_reply_text_valid). */
	if (h->reply && strlen(t) >= 3 && t[0] == (rej ? '5' : '4')) {
		const char *p = t + 3, *sp;

		d->code = (int)strtol(t, NULL, 10);
		if (d->code == 421)
			d->code = 451;	/* we choose when to close */
		while (*p == ' ' || *p == '-')
			p++;
		sp = strchr(p, ' ');
		if (p[0] == t[0] && p[1] == '.' && sp != NULL &&
		    (size_t)(sp - p) < sizeof(d->esc)) {
			snprintf(d->esc, sizeof(d->esc), "%.*s", (int)(sp - p), p);
			p = sp + 1;
		} else if (!rej)
			snprintf(d->esc, sizeof(d->esc), "4.7.1");
		snprintf(d->text, sizeof(d->text), "%s", p);
		return;
	}
	if (!rej) {
		/* A milter's tempfail (not its failure): 451 4.7.1. */
		bool milter_said = h->kind == FILTER_MILTER &&
		    h->detail[0] == '\0';

		snprintf(d->text, sizeof(d->text), "%s", milter_said ?
		    "try again later" : "temporary failure");
		if (milter_said)
			snprintf(d->esc, sizeof(d->esc), "4.7.1");
		return;
	}
	switch (h->kind) {
	case FILTER_ATTACHMENT:
		snprintf(d->text, sizeof(d->text), "message refused: attachment "
		    "\"%s\" is not allowed", h->detail);
		break;
	case FILTER_CONTENT:
		snprintf(d->text, sizeof(d->text), "message refused: content "
		    "not allowed");
		break;
	case FILTER_ANTIVIRUS:
		if (strcmp(h->rule, "error") == 0)
			snprintf(d->text, sizeof(d->text), "message refused: "
			    "virus scanner unavailable");
		else
			snprintf(d->text, sizeof(d->text), "message refused: "
			    "virus found (%s)", h->rule);
		break;
	case FILTER_MIME:
		snprintf(d->esc, sizeof(d->esc), "5.6.0");
		snprintf(d->text, sizeof(d->text), "message refused: %s",
		    h->rule);
		break;
	case FILTER_MILTER:
	default:
		snprintf(d->text, sizeof(d->text), "message refused by filter");
		break;
	}
}

static void
smtp_filter_finish(struct smtp_session *s)
{
	struct smtp_filter *f = s->filt;
	struct smtp_filter_decision d = f->d;

	/* done may end the transaction, which frees f. */
	f->done(s, &d);
}

static void
smtp_filter_fail(struct smtp_session *s, const char *why)
{
	struct smtp_filter *f = s->filt;

	log_kv(&s->log, LOGL_ERROR, "filter_error", "queue_id", s->queue_id,
	    "detail", why, NULL);
	f->d.verdict = FV_TEMPFAIL;
	f->d.code = 451;
	snprintf(f->d.esc, sizeof(f->d.esc), "4.3.0");
	snprintf(f->d.text, sizeof(f->d.text), "temporary failure");
	smtp_filter_finish(s);
}

/* ---- the rewrite of the queue file ---- */

/* An RFC 5322 quoted-string of printable text. */
static void
smtp_filter_quoted(struct buf *b, const char *t)
{
	buf_append(b, "\"", 1);
	for (; *t != '\0'; t++) {
		if (*t == '"' || *t == '\\')
			buf_append(b, "\\", 1);
		buf_append(b, t, 1);
	}
	buf_append(b, "\"", 1);
}

static void
smtp_filter_quarantine_field(struct smtp_session *s, struct buf *out)
{
	const struct filter_hit *h = s->filt->decider;
	struct buf v;

	buf_init(&v, 64 * 1024);
	buf_printf(&v, "%s; filter=%s; rule=", s->cfg->hostname,
	    filter_kind_name(h->kind));
	smtp_filter_quoted(&v, h->rule);
	buf_append_str(&v, "; part=");
	smtp_filter_quoted(&v, h->part);
	buf_printf(&v, "; from=<%s>", s->from != NULL ? s->from : "");
	for (size_t i = 0; i < s->nrcpt; i++)
		buf_printf(&v, "; rcpt=<%s>", s->rcpt_text[i]);
	mime_header_put(out, "X-Postern-Quarantine",
	    (struct span){ v.data, v.len });
	buf_free(&v);
}

static int
smtp_filter_copy(struct queue_writer *w, int fd, uint64_t off, uint64_t len)
{
	char *piece = xmalloc(SMTP_FILTER_COPY);
	int rc = 0;

	while (len > 0 && rc == 0) {
		size_t n = len < SMTP_FILTER_COPY ? (size_t)len : SMTP_FILTER_COPY;
		ssize_t got = pread(fd, piece, n, (off_t)off);

		if (got <= 0)
			rc = -1;
		else {
			rc = queue_writer_write(w, piece, (size_t)got);
			off += (uint64_t)got;
			len -= (uint64_t)got;
		}
	}
	free(piece);
	return rc;
}

/*
 * The header section of the finished message, read into *hdr_out (the
 * caller frees it): *fields_out bytes of fields, *section_out with the
 * empty line that ends it. -1 when it goes on past HEADER_SCAN_MAX.
 */
static int
smtp_filter_read_header(int fd, uint64_t off, uint64_t len, char **hdr_out,
    size_t *fields_out, size_t *section_out)
{
	size_t want = len < SMTP_FILTER_HEADER_MAX ? (size_t)len :
	    SMTP_FILTER_HEADER_MAX;
	char *h = xmalloc(want + 1);
	size_t sec;

	*hdr_out = h;
	*fields_out = *section_out = 0;
	if (want == 0)
		return 0;
	if (pread(fd, h, want, (off_t)off) != (ssize_t)want)
		return -1;
	sec = mime_header_section_len(h, want);
	/* Found: an empty line ends it, or the whole message is in hand (a
	 * message without a body). Else the section goes on past the window
	 * and a field would be cut: refuse rather than split it. */
	if (!(sec >= 2 && h[sec - 1] == '\n' && h[sec - 2] == '\n') &&
	    !(sec == 1 && h[0] == '\n') && len > want)
		return -1;
	*section_out = *fields_out = sec;
	if (sec == 1 && h[0] == '\n')
		*fields_out = 0;
	else if (sec >= 2 && h[sec - 1] == '\n' && h[sec - 2] == '\n')
		*fields_out = sec - 1;
	return 0;
}

static int
smtp_filter_rewrite(struct smtp_session *s)
{
	struct smtp_filter *f = s->filt;
	struct queue_env env = { 0 };
	struct buf out;
	char *h = NULL;
	uint64_t off, len;
	size_t fields, section;
	const char *err;
	int fd, rc = -1;

	if ((fd = queue_writer_detach(&s->qw, &off, &len)) == -1)
		return -1;
	buf_init(&out, HEADER_SCAN_MAX + 64 * 1024);
	if (smtp_filter_read_header(fd, off, len, &h, &fields, &section) == -1) {
		rc = -2;
		goto done;
	}
	if (f->d.verdict == FV_QUARANTINE)
		smtp_filter_quarantine_field(s, &out);
	if (filter_headers_apply(h, fields, f->mods, f->nmods, &out) == -1 ||
	    buf_append(&out, "\n", 1) == -1)
		goto done;
	smtp_data_make_env(s, &env);
	memcpy(env.id, s->queue_id, sizeof(env.id));
	s->qw = queue_writer_open(&env, &err);
	if (s->qw == NULL)
		goto done;
	if (queue_writer_write(s->qw, out.data, out.len) == -1)
		goto done;
	if (f->body_fd != -1)
		rc = smtp_filter_copy(s->qw, f->body_fd, 0, f->body_len);
	else
		rc = smtp_filter_copy(s->qw, fd, off + section, len - section);
	if (rc == 0)
		rc = queue_writer_finish(s->qw);
done:
	env.from = env.client = env.helo = env.auth = NULL;
	queue_env_clear(&env);
	free(h);
	buf_free(&out);
	close(fd);
	return rc;
}

/* ---- recipients: milter changes, quarantine ---- */

static void
smtp_filter_target_add(struct smtp_session *s, enum queue_kind kind,
    const char *key, uint64_t quota, const char *orig)
{
	for (size_t j = 0; j < s->ntargets; j++)
		if (strcmp(s->targets[j].key, key) == 0)
			return;
	s->targets = xrealloc(s->targets, (s->ntargets + 1) * sizeof(*s->targets));
	s->targets[s->ntargets++] = (struct smtp_target){ .kind = kind,
	    .key = xstrdup(key), .orig = xstrdup(orig), .quota = quota };
}

/* SMFIR_DELRCPT: every target the address led to or is. */
static void
smtp_filter_targets_delete(struct smtp_session *s, const char *addr)
{
	for (size_t i = 0; i < s->ntargets; ) {
		struct smtp_target *t = &s->targets[i];

		if (strcasecmp(t->key, addr) == 0 || strcasecmp(t->orig, addr) == 0) {
			log_kv(&s->log, LOGL_INFO, "filter_rcpt_deleted", "queue_id",
			    s->queue_id, "rcpt", t->key, NULL);
			free(t->key);
			free(t->orig);
			memmove(t, t + 1, (s->ntargets - i - 1) * sizeof(*t));
			s->ntargets--;
		} else
			i++;
	}
}

struct smtp_filter_route_ctx {
	struct smtp_session	*s;
	const char		*orig;
};

static void
smtp_filter_route_cb(void *arg, enum queue_kind kind, const char *key,
    uint64_t quota)
{
	struct smtp_filter_route_ctx *c = arg;

	smtp_filter_target_add(c->s, kind, key, quota, c->orig);
}

/* The address being routed: the quarantine mailbox, or a milter's. */
static const char *
smtp_filter_route_addr(const struct smtp_session *s)
{
	const struct smtp_filter *f = s->filt;

	if (f->d.verdict == FV_QUARANTINE)
		return f->route_i == 0 ? s->cfg->filters.quarantine : NULL;
	return f->route_i < f->nmods ? f->mods[f->route_i].value : NULL;
}

static void
smtp_filter_routed(struct smtp_session *s, const struct ipc_msg *reply)
{
	struct smtp_filter *f = s->filt;
	const char *addr = smtp_filter_route_addr(s);
	unsigned v = smtp_dir_verdict(reply);
	const struct ipc_field *tf = reply != NULL ?
	    ipc_msg_get(reply, IK_TARGETS) : NULL;
	struct smtp_filter_route_ctx c = { s, addr };

	if (v == IPCV_OK && tf != NULL && route_targets_each((const char *)
	    tf->data, tf->len, SIZE_MAX, smtp_filter_route_cb, &c) > 0)
		;
	else if (v == IPCV_REMOTE)
		smtp_filter_target_add(s, QKIND_REMOTE, addr, 0, addr);
	else if (f->d.verdict == FV_QUARANTINE) {
		smtp_filter_fail(s, "quarantine mailbox not deliverable");
		return;
	} else if (v == IPCV_TEMPFAIL || v == IPCV_OK) {
		/* Not known now (or no target in the answer): a recipient a
		 * milter added must not be lost. */
		smtp_filter_fail(s, "routing a milter's recipient failed");
		return;
	} else
		log_kv(&s->log, LOGL_WARN, "filter_rcpt_refused", "queue_id",
		    s->queue_id, "rcpt", addr, NULL);
	f->route_i++;
	smtp_filter_route_next(s);
}

/* Asks the directory where addr goes, as for a trusted RCPT. -1 when
 * addr is no address. */
static int
smtp_filter_route(struct smtp_session *s, const char *addr)
{
	struct smtp_addr a;
	struct ipc_msg req;

	if (smtp_addr_parse(span_from_cstr(addr), true, &a) != PARSE_OK ||
	    a.null)
		return -1;
	ipc_msg_init(&req, IPCM_RCPT, 0);
	ipc_msg_add_str(&req, IK_LOCAL, a.local);
	ipc_msg_add_str(&req, IK_DOMAIN, a.domain);
	ipc_msg_add_u64(&req, IK_SIZE, 0);
	ipc_msg_add_u64(&req, IK_FLAGS, IPC_RCPT_TRUSTED |
	    (s->auth_user != NULL ? IPC_RCPT_AUTH : 0));
	ipc_msg_add_str(&req, IK_ADDR, s->from_key != NULL ? s->from_key : "");
	ipc_msg_add_str(&req, IK_DOMAIN2, s->from_domain != NULL ?
	    s->from_domain : "");
	smtp_session_dir_call(s, &req, smtp_filter_routed);
	smtp_addr_clear(&a);
	return 0;
}

/* Routes the next address to add; when none is left, rewrites. */
static void
smtp_filter_route_next(struct smtp_session *s)
{
	struct smtp_filter *f = s->filt;
	const char *addr;

	while ((addr = smtp_filter_route_addr(s)) != NULL) {
		if (f->d.verdict != FV_QUARANTINE &&
		    f->mods[f->route_i].kind != MILTER_MOD_ADD_RCPT) {
			f->route_i++;
			continue;
		}
		if (smtp_filter_route(s, addr) == 0)
			return;
		if (f->d.verdict == FV_QUARANTINE) {
			smtp_filter_fail(s, "filters.quarantine is no address");
			return;
		}
		f->route_i++;
	}
	if (s->ntargets == 0) {
		/* A milter removed every recipient: nobody gets it. */
		f->d.verdict = FV_DISCARD;
		f->decider = smtp_filter_add(s, FILTER_MILTER, FV_DISCARD,
		    "no recipient left", "");
		smtp_filter_finish(s);
		return;
	}
	switch (smtp_filter_rewrite(s)) {
	case 0:
		smtp_filter_finish(s);
		return;
	case -2:
		/* Refused, not deferred: a retry would fail the same way. */
		f->d.verdict = FV_REJECT;
		f->d.code = 554;
		snprintf(f->d.esc, sizeof(f->d.esc), "5.6.0");
		snprintf(f->d.text, sizeof(f->d.text), "message refused: header "
		    "section too large for the filters' changes");
		log_kv(&s->log, LOGL_WARN, "filter_error", "queue_id",
		    s->queue_id, "detail", "header section too large", NULL);
		smtp_filter_finish(s);
		return;
	default:
		smtp_filter_fail(s, "rewriting the queue file failed");
		return;
	}
}

/* ---- the decision ---- */

static void
smtp_filter_decide(struct smtp_session *s)
{
	struct smtp_filter *f = s->filt;
	const struct filter_hit *h = smtp_filter_strongest(f);

	f->decider = h;
	memset(&f->d, 0, sizeof(f->d));
	f->d.verdict = h != NULL ? h->verdict : FV_ACCEPT;
	if (f->d.verdict == FV_REJECT || f->d.verdict == FV_TEMPFAIL) {
		smtp_filter_reply(&f->d, h);
		smtp_filter_finish(s);
		return;
	}
	if (f->d.verdict == FV_QUARANTINE) {
		/* Kept for the notices: they tell the original recipients. */
		f->orig_targets = s->targets;
		f->norig_targets = s->ntargets;
		s->targets = NULL;
		s->ntargets = 0;
		f->route_i = 0;
		smtp_filter_route_next(s);
		return;
	}
	if (f->d.verdict == FV_DISCARD || (f->nmods == 0 && f->body_fd == -1)) {
		smtp_filter_finish(s);
		return;
	}
	for (size_t i = 0; i < f->nmods; i++)
		if (f->mods[i].kind == MILTER_MOD_DELETE_RCPT)
			smtp_filter_targets_delete(s, f->mods[i].value);
	f->route_i = 0;
	smtp_filter_route_next(s);
}

/* Runs the next step: stops early once something rejects. */
static void
smtp_filter_step(struct smtp_session *s)
{
	struct smtp_filter *f = s->filt;
	const struct filter_endpoints *e = smtp_filter_eps(s);
	const struct filter_hit *h = smtp_filter_strongest(f);
	uint64_t off, len;
	int fd;

	if (h != NULL && h->verdict >= FV_TEMPFAIL) {
		smtp_filter_decide(s);	/* the others cannot change that */
		return;
	}
	fd = s->qw != NULL ? queue_writer_fd(s->qw, &off, &len) : -1;
	if (fd == -1 && e != NULL && (e->clamd.text[0] != '\0' ||
	    e->nmilters > 0)) {
		smtp_filter_fail(s, "queue file unreadable");
		return;
	}
	if (e != NULL && e->clamd.text[0] != '\0' && !f->clamd_done) {
		f->clamd_done = true;
		if (fd != -1) {
			s->busy = true;
			f->clamd = clamd_scan_start(s->srv->base, &e->clamd, fd,
			    off, len, smtp_filter_clamd_done, s);
			return;
		}
	}
	if (e != NULL && f->milter_i < e->nmilters && fd != -1) {
		smtp_filter_start_milter(s, fd, off, len);
		return;
	}
	smtp_filter_decide(s);
}

void
smtp_filter_end(struct smtp_session *s, smtp_filter_fn done)
{
	struct smtp_filter *f = s->filt;
	struct smtp_filter_decision accept = { .verdict = FV_ACCEPT };

	if (f == NULL) {
		done(s, &accept);
		return;
	}
	f->done = done;
	if (f->scan != NULL) {
		size_t n;
		const struct filter_hit *hits;

		filter_scan_finish(f->scan);
		hits = filter_scan_hits(f->scan, &n);
		for (size_t i = 0; i < n; i++)
			smtp_filter_hit(s, &hits[i]);
		filter_scan_free(&f->scan);
	}
	smtp_filter_step(s);
}

void
smtp_filter_log_tx(const struct smtp_session *s, struct log_line *l)
{
	const struct smtp_filter *f = s->filt;
	const struct filter_hit *h;

	if (f == NULL || (h = f->decider != NULL ? f->decider :
	    smtp_filter_strongest(f)) == NULL)
		return;
	log_line_add(l, "filter", filter_kind_name(h->kind));
	log_line_add(l, "action", filter_verdict_name(f->decider != NULL ?
	    f->d.verdict : h->verdict));
	log_line_add(l, "rule", h->rule);
	log_line_add(l, "part", h->part);
}

void
smtp_filter_reset(struct smtp_session *s)
{
	struct smtp_filter *f = s->filt;

	if (f == NULL)
		return;
	filter_scan_free(&f->scan);
	clamd_scan_cancel(&f->clamd);
	milter_run_cancel(&f->milter);
	for (size_t i = 0; i < f->nmods; i++) {
		free(f->mods[i].name);
		free(f->mods[i].value);
	}
	free(f->mods);
	if (f->body_fd != -1)
		close(f->body_fd);
	for (size_t i = 0; i < f->norig_targets; i++) {
		free(f->orig_targets[i].key);
		free(f->orig_targets[i].orig);
	}
	free(f->orig_targets);
	free(f);
	s->filt = NULL;
}

void
smtp_filter_notify(struct smtp_session *s, enum filter_verdict v)
{
	const struct smtp_filter *f = s->filt;

	if (f == NULL || f->decider == NULL || f->decider->verdict != v)
		return;
	if (f->orig_targets != NULL)
		smtp_notice_send(s, f->decider, v, f->orig_targets,
		    f->norig_targets);
	else
		smtp_notice_send(s, f->decider, v, s->targets, s->ntargets);
}
