/*
 * spf: the interface of spf.h around check_host(): the request and its
 * identity (RFC 7208 2.3, 2.4, 4.3), the real resolver, the loop that runs
 * the steps of spf_eval.c until a query is in flight, delivery and cancel.
 * One query is in flight at a time. Parsing and macros are in spf_record.c
 * and spf_macro.c, headers in spf_header.c.
 */
#include <arpa/inet.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/limits.h"
#include "core/xalloc.h"
#include "policy/spf.h"
#include "policy/spf_eval.h"
#include "policy/spf_int.h"

static const char *const spf_result_names[] = {
	[SPF_NONE] = "none", [SPF_NEUTRAL] = "neutral", [SPF_PASS] = "pass",
	[SPF_FAIL] = "fail", [SPF_SOFTFAIL] = "softfail",
	[SPF_TEMPERROR] = "temperror", [SPF_PERMERROR] = "permerror",
};

const char *
spf_result_name(enum spf_result r)
{
	if ((unsigned)r >= sizeof(spf_result_names) / sizeof(spf_result_names[0]))
		return "permerror";
	return spf_result_names[r];
}

int
spf_result_parse(const char *word, enum spf_result *out)
{
	size_t i;

	for (i = 0; i < sizeof(spf_result_names) / sizeof(spf_result_names[0]);
	    i++)
		if (word != NULL && strcasecmp(word, spf_result_names[i]) == 0) {
			*out = (enum spf_result)i;
			return 0;
		}
	return -1;
}

/* --- the real resolver -------------------------------------------------- */

static int
spf_dns_query(void *ctx, enum spf_qtype type, const char *name,
    const struct sockaddr *sa, dns_cb cb, void *arg)
{
	struct dns *d = ctx;

	switch (type) {
	case SPF_Q_A:
		return dns_query_a(d, name, cb, arg);
	case SPF_Q_AAAA:
		return dns_query_aaaa(d, name, cb, arg);
	case SPF_Q_MX:
		return dns_query_mx(d, name, cb, arg);
	case SPF_Q_TXT:
		return dns_query_txt(d, name, cb, arg);
	case SPF_Q_PTR:
		return dns_query_ptr(d, sa, cb, arg);
	}
	return -1;
}

static void
spf_dns_cancel(void *ctx, const void *arg)
{
	dns_cancel(ctx, arg);
}

void
spf_resolver_dns(struct spf_resolver *r, struct dns *d)
{
	*r = (struct spf_resolver){ .ctx = d, .query = spf_dns_query,
	    .cancel = spf_dns_cancel, .base = dns_base(d) };
}

static void
spf_free(struct spf *s)
{
	spf_eval_clear(s);
	if (s->defer != NULL)
		event_free(s->defer);
	free(s->out.domain);
	free(s->out.sender);
	free(s->out.mechanism);
	free(s->out.explanation);
	free(s->out.problem);
	free(s->helo);
	free(s->receiver);
	free(s);
}

/* Runs the steps until a query is in flight or the result is delivered
 * (after which s is gone). Every step advances a bounded counter (term
 * index, MX or PTR name, frame), so this ends. */
void
spf_drive(struct spf *s)
{
	for (;;) {
		switch (s->state) {
		case SPF_ST_WAIT:
			return;
		case SPF_ST_DELIVER:
			s->cb(s->arg, &s->out);
			spf_free(s);
			return;
		default:
			spf_eval_step(s);
			break;
		}
	}
}

static void
spf_on_defer(evutil_socket_t fd, short what, void *arg)
{
	spf_drive(arg);
}

/* 4.3: a domain we can check: LDH (and '_') labels, two or more, the last
 * not all digits, so an address or an address literal is not one. */
static bool
spf_identity_valid(const char *d, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		char c = d[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'))
			return false;
	}
	return spf_name_valid(d, len, true);
}

/* The identity (2.3, 2.4, 4.3): MAIL FROM, or postmaster@HELO for <>. */
static void
spf_identity(struct spf *s, const struct spf_request *req)
{
	const char *sender = req->sender != NULL ? req->sender : "";
	const char *at = strrchr(sender, '@'), *dom;
	size_t len, i;
	char *lower;

	if (sender[0] == '\0') {
		s->out.identity = "helo";
		s->out.sender = xasprintf("postmaster@%s", s->helo);
		dom = s->helo;
	} else {
		s->out.identity = "mailfrom";
		if (at == NULL || at == sender)
			s->out.sender = xasprintf("postmaster@%s",
			    at == NULL ? sender : at + 1);
		else
			s->out.sender = xstrdup(sender);
		dom = at == NULL ? sender : at + 1;
	}
	len = strlen(dom);
	if (len > 0 && dom[len - 1] == '.')
		len--;
	if (!spf_identity_valid(dom, len)) {
		s->out.result = SPF_NONE;
		s->state = SPF_ST_END;
		return;
	}
	lower = xstrndup(dom, len);
	for (i = 0; i < len; i++)
		if (lower[i] >= 'A' && lower[i] <= 'Z')
			lower[i] = (char)(lower[i] - 'A' + 'a');
	s->out.domain = lower;
	s->frames[0].domain = xstrdup(lower);
	spf_eval_fetch(s);
}

struct spf *
spf_check(const struct spf_resolver *r, const struct spf_request *req,
    int64_t now, spf_cb cb, void *arg)
{
	struct timeval zero = { 0, 0 };
	struct spf *s;
	uint8_t addr[16];
	int family;

	if (r == NULL || req == NULL || r->base == NULL ||
	    spf_ip_parse(req->ip, &family, addr) == -1)
		return NULL;
	s = xcalloc(1, sizeof(*s));
	s->r = *r;
	s->cb = cb;
	s->arg = arg;
	s->now = now;
	s->family = family;
	memcpy(s->addr, addr, sizeof(addr));
	(void)inet_ntop(family, addr, s->ip, sizeof(s->ip));
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&s->sa;

		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, addr, 4);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&s->sa;

		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, addr, 16);
	}
	s->helo = xstrdup(req->helo != NULL ? req->helo : "");
	s->receiver = req->receiver != NULL ? xstrdup(req->receiver) : NULL;
	s->state = SPF_ST_END;		/* until a query is in flight */
	spf_identity(s, req);
	if (s->state != SPF_ST_WAIT) {
		/* Known without DNS: delivered from the loop, not from here. */
		s->defer = evtimer_new(s->r.base, spf_on_defer, s);
		if (s->defer == NULL || evtimer_add(s->defer, &zero) == -1)
			fatal("spf: cannot schedule a result");
	}
	return s;
}

void
spf_cancel(struct spf **sp)
{
	struct spf *s = *sp;

	*sp = NULL;
	if (s == NULL)
		return;
	if (s->wait != SPF_W_NONE)
		s->r.cancel(s->r.ctx, s);
	spf_free(s);
}
