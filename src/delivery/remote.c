/*
 * remote: delivery attempts (see remote.h). Owns the context (TLS client
 * context, relayhost credentials read before chroot) and each attempt's
 * life: the copy of the job, the per-recipient outcome, the most
 * informative temporary reply, and done. Where it goes is
 * remote_route.c's; the SMTP dialogue remote_conn.c's and remote_smtp.c's.
 */
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/xalloc.h"
#include "delivery/remote_int.h"

/* ---- context ---- */

/* "user:password" (one final "\n" or "\r\n" allowed) into the base64 of
 * the PLAIN message. Nothing of text is echoed in *why. */
static int
remote_creds_parse(char *text, size_t len, struct buf *auth, const char **why)
{
	unsigned char raw[REMOTE_CREDS_MAX + 2];
	unsigned char b64[4 * ((REMOTE_CREDS_MAX + 4) / 3) + 1];
	size_t ulen, plen;
	const char *colon;
	int n;

	if (len > 0 && text[len - 1] == '\n')
		len--;
	if (len > 0 && text[len - 1] == '\r')
		len--;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)text[i] < 0x20 || text[i] == 0x7f) {
			*why = "control character or more than one line";
			return -1;
		}
	colon = memchr(text, ':', len);
	if (colon == NULL || colon == text || colon + 1 == text + len) {
		*why = "want one line 'username:password'";
		return -1;
	}
	ulen = (size_t)(colon - text);
	plen = len - ulen - 1;
	if (plen > PASSWORD_MAX) {
		*why = "password too long";
		return -1;
	}
	/* RFC 4616 2: message = [authzid] NUL authcid NUL passwd. */
	raw[0] = '\0';
	memcpy(raw + 1, text, ulen);
	raw[ulen + 1] = '\0';
	memcpy(raw + ulen + 2, colon + 1, plen);
	n = EVP_EncodeBlock(b64, raw, (int)(ulen + plen + 2));
	buf_init(auth, sizeof(b64));
	(void)buf_append(auth, b64, (size_t)n);	/* fits: sized above */
	explicit_bzero(raw, sizeof(raw));
	explicit_bzero(b64, sizeof(b64));
	return 0;
}

/* Reads delivery.relayhost_credentials: a regular file no one but its
 * owner may access (it holds a password in clear). */
static int
remote_creds_load(struct remote *r, const char *path, char *err, size_t errlen)
{
	char text[REMOTE_CREDS_MAX + 1];
	const char *why = NULL;
	struct stat st;
	ssize_t n;
	int fd, rc = -1;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
	if (fd == -1) {
		snprintf(err, errlen, "relayhost_credentials %s: %s", path,
		    strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode))
		why = "not a regular file";
	else if ((st.st_mode & 077) != 0)
		why = "group or others may access it (chmod 600)";
	else if (st.st_size > REMOTE_CREDS_MAX)
		why = "larger than 1024 bytes";
	else if ((n = read(fd, text, sizeof(text) - 1)) < 0)
		why = strerror(errno);
	else if (remote_creds_parse(text, (size_t)n, &r->auth, &why) == 0)
		rc = 0;
	explicit_bzero(text, sizeof(text));
	close(fd);
	if (rc == -1)
		snprintf(err, errlen, "relayhost_credentials %s: %s", path, why);
	return rc;
}

/* delivery.relayhost, already validated by the loader: "[host]:port",
 * "[host]", "host:port" or "host"; brackets also hold an IPv6 address. */
static void
remote_relay_split(struct remote *r, const char *s)
{
	const char *end, *colon;

	r->relay_port = REMOTE_DEFAULT_PORT;
	r->relay_bracketed = s[0] == '[';
	if (r->relay_bracketed) {
		end = strchr(s, ']');
		r->relay_host = xstrndup(s + 1, (size_t)(end - s - 1));
		colon = end[1] == ':' ? end + 1 : NULL;
	} else {
		colon = strrchr(s, ':');
		r->relay_host = xstrndup(s, colon != NULL ?
		    (size_t)(colon - s) : strlen(s));
	}
	if (colon != NULL)
		r->relay_port = (unsigned)strtoul(colon + 1, NULL, 10);
}

struct remote *
remote_new(struct event_base *base, const struct config *cfg,
    struct dns *dns, char *err, size_t errlen)
{
	struct remote *r = xcalloc(1, sizeof(*r));

	r->base = base;
	r->cfg = cfg;
	r->dns = dns;
	r->log.service = "qmgr";
	buf_init(&r->auth, 0);
	if ((r->reap = event_new(base, -1, 0, remote_conn_reap_cb, r)) == NULL)
		fatal("remote: event_new failed");
	if (*cfg->delivery.relayhost != '\0')
		remote_relay_split(r, cfg->delivery.relayhost);
	if (*cfg->delivery.relayhost_credentials != '\0' &&
	    remote_creds_load(r, cfg->delivery.relayhost_credentials, err,
	    errlen) == -1)
		goto fail;
	/*
	 * Opportunistic TLS (RFC 7435): no certificate is checked, since
	 * without DANE or MTA-STS nothing says which name to expect; what it
	 * buys is protection from passive eavesdropping.
	 */
	if ((r->tls = SSL_CTX_new(TLS_client_method())) == NULL ||
	    SSL_CTX_set_min_proto_version(r->tls, TLS1_2_VERSION) != 1) {
		snprintf(err, errlen, "remote: cannot make the TLS client context");
		goto fail;
	}
	SSL_CTX_set_verify(r->tls, SSL_VERIFY_NONE, NULL);
	return r;
fail:
	remote_free(&r);
	return NULL;
}

size_t
remote_active(const struct remote *r)
{
	return r->nattempts;
}

/* ---- one attempt: bookkeeping ---- */

void
remote_fmt(char *out, size_t outlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(out, outlen, fmt, ap);
	va_end(ap);
}

void
remote_rcpt_set(struct remote_attempt *a, size_t i, enum remote_status st,
    const char *reply)
{
	a->state[i] = RS_FINAL;
	a->res[i].status = st;
	snprintf(a->res[i].reply, sizeof(a->res[i].reply), "%s", reply);
}

void
remote_attempt_all(struct remote_attempt *a, enum remote_status st,
    const char *reply)
{
	for (size_t i = 0; i < a->nrcpts; i++)
		if (a->state[i] != RS_FINAL)
			remote_rcpt_set(a, i, st, reply);
}

void
remote_attempt_temp(struct remote_attempt *a, enum remote_rank rank,
    const char *reply)
{
	if (rank < a->temp_rank)
		return;
	a->temp_rank = rank;
	snprintf(a->temp, sizeof(a->temp), "%s", reply);
}

void
remote_attempt_allf(struct remote_attempt *a, enum remote_status st,
    const char *fmt, ...)
{
	char reply[REMOTE_REPLY_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reply, sizeof(reply), fmt, ap);
	va_end(ap);
	remote_attempt_all(a, st, reply);
}

int
remote_attempt_scan(struct remote_attempt *a)
{
	if (a->scanned)
		return 0;
	if (remote_body_scan(a->body_fd, a->body_off, a->body_len,
	    &a->wire_len, &a->eightbit) == -1) {
		log_kv(&a->r->log, LOGL_ERROR, "remote_body_error",
		    "queue_id", a->queue_id, "detail", strerror(errno), NULL);
		return -1;
	}
	a->scanned = true;
	return 0;
}

void
remote_attempt_finish(struct remote_attempt *a)
{
	if (a->finished)
		return;
	a->finished = true;
	a->waiting = false;
	remote_attempt_cancel_dns(a);
	if (a->temp_rank == RANK_NONE)
		remote_attempt_temp(a, RANK_DNS, "451 4.4.0 no delivery was "
		    "possible, retrying later");
	remote_attempt_all(a, REMOTE_DEFERRED, a->temp);
	event_active(a->done_ev, EV_TIMEOUT, 0);
}

/* Frees a; touches nothing of a->r (it may be gone: done freed it).
 * Its lookups were cancelled when it finished, or by remote_free(). */
static void
remote_attempt_free(struct remote_attempt *a)
{
	if (a->conn != NULL)
		remote_conn_free(a->conn);
	for (size_t i = 0; i < a->nmx; i++) {
		free(a->mx[i].host);
		free(a->mx[i].addr[0]);
		free(a->mx[i].addr[1]);
	}
	for (size_t i = 0; i < a->nrcpts; i++)
		free(a->rcpts[i]);
	free(a->rcpts);
	free(a->res);
	free(a->state);
	free(a->queue_id);
	free(a->domain);
	free(a->from);
	free(a->key);
	if (a->done_ev != NULL)
		event_free(a->done_ev);
	free(a);
}

static void
remote_attempt_unlink(struct remote_attempt *a)
{
	struct remote *r = a->r;

	if (a->prev != NULL)
		a->prev->next = a->next;
	else
		r->attempts = a->next;
	if (a->next != NULL)
		a->next->prev = a->prev;
	a->prev = a->next = NULL;
	r->nattempts--;
}

static void
remote_attempt_done_cb(evutil_socket_t fd, short what, void *arg)
{
	struct remote_attempt *a = arg;
	struct remote_outcome out = {
		.rcpts = a->res, .mx = a->peer_mx, .ip = a->peer_ip,
		.tls = a->peer_tls,
	};

	(void)fd;
	(void)what;
	remote_attempt_unlink(a);
	a->done(a->arg, &out);	/* may call remote_free() or remote_deliver() */
	remote_attempt_free(a);
}

void
remote_free(struct remote **rp)
{
	struct remote *r = *rp;
	struct remote_attempt *a;

	*rp = NULL;
	if (r == NULL)
		return;
	while ((a = r->attempts) != NULL) {
		remote_attempt_unlink(a);
		remote_attempt_cancel_dns(a);
		remote_attempt_free(a);
	}
	while (r->idle != NULL)
		remote_conn_free(r->idle);
	while (r->quitting != NULL)
		remote_conn_free(r->quitting);
	remote_conn_reap_cb(-1, 0, r);
	event_free(r->reap);
	buf_wipe(&r->auth);
	if (r->tls != NULL)
		SSL_CTX_free(r->tls);
	free(r->relay_host);
	free(r);
}

/* Nothing that could end the command line or the path early; sets *utf8
 * for a byte of RFC 6531 (non-ASCII) addresses. */
static bool
remote_addr_ok(const char *s, bool *utf8)
{
	size_t n = strlen(s);

	if (n + 2 > SMTP_PATH_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f || c == '<' || c == '>')
			return false;
		if (c >= 0x80)
			*utf8 = true;
	}
	return true;
}

static void
remote_attempt_copy(struct remote_attempt *a, const struct remote_job *job)
{
	a->queue_id = xstrdup(job->queue_id != NULL ? job->queue_id : "");
	a->domain = xstrdup(job->domain != NULL ? job->domain : "");
	a->from = xstrdup(job->from != NULL ? job->from : "");
	a->nrcpts = job->nrcpts;
	a->rcpts = xcalloc(a->nrcpts + 1, sizeof(*a->rcpts));
	a->res = xcalloc(a->nrcpts + 1, sizeof(*a->res));
	a->state = xcalloc(a->nrcpts + 1, sizeof(*a->state));
	for (size_t i = 0; i < a->nrcpts; i++)
		a->rcpts[i] = xstrdup(job->rcpts[i]);
	a->body_fd = job->body_fd;
	a->body_off = job->body_off;
	a->body_len = job->body_len;
}

/* Refuses what cannot be sent at all; true when something is left. */
static bool
remote_attempt_check(struct remote_attempt *a)
{
	size_t left = 0, dlen = strlen(a->domain);

	if (!remote_addr_ok(a->from, &a->utf8)) {
		remote_attempt_all(a, REMOTE_BOUNCED, "553 5.1.7 bad sender "
		    "address");
		return false;
	}
	for (size_t i = 0; i < a->nrcpts; i++) {
		if (a->rcpts[i][0] == '\0' || !remote_addr_ok(a->rcpts[i],
		    &a->utf8))
			remote_rcpt_set(a, i, REMOTE_BOUNCED, "553 5.1.3 bad "
			    "recipient address");
		else
			left++;
	}
	/* The domain may reach replies made up here: no blank or control
	 * byte (a name or a literal has none). */
	for (size_t i = 0; i < dlen; i++)
		if ((unsigned char)a->domain[i] <= 0x20 || a->domain[i] == 0x7f)
			dlen = 0;
	if (left > 0 && a->r->relay_host == NULL &&
	    (dlen == 0 || dlen > SMTP_DOMAIN_MAX - 2)) {
		remote_attempt_all(a, REMOTE_BOUNCED, "550 5.1.2 bad "
		    "destination domain");
		return false;
	}
	return left > 0;
}

void
remote_deliver(struct remote *r, const struct remote_job *job,
    remote_done_fn done, void *arg)
{
	struct remote_attempt *a = xcalloc(1, sizeof(*a));
	struct remote_conn *c;

	a->r = r;
	a->done = done;
	a->arg = arg;
	remote_attempt_copy(a, job);
	if ((a->done_ev = event_new(r->base, -1, 0, remote_attempt_done_cb,
	    a)) == NULL)
		fatal("remote: event_new failed");
	a->next = r->attempts;
	if (a->next != NULL)
		a->next->prev = a;
	r->attempts = a;
	r->nattempts++;
	a->key = xstrdup(remote_dest(a));
	if (!remote_attempt_check(a)) {
		remote_attempt_finish(a);
		return;
	}
	if ((c = remote_conn_take_idle(r, a->key)) != NULL) {
		remote_conn_reuse(c, a);
		return;
	}
	remote_attempt_route(a);
}
