/*
 * spf_eval: the steps of check_host() (RFC 7208 4, 5, 6; limits of 4.6.4;
 * validated names of 5.5 for ptr and %{p}; exp of 6.2). Each step looks at
 * one term, frame or answer and sets the next state; spf_drive() (spf.c)
 * runs them. Include and redirect are frames on an explicit stack (depth <=
 * SPF_LOOKUPS_MAX: each costs a lookup), never recursion, so a record
 * cannot choose our stack depth. A DNS error in a mechanism is a temperror
 * (5), except for ptr and %{p}, where it means no names (5.5).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cidr.h"
#include "core/limits.h"
#include "core/xalloc.h"
#include "policy/spf.h"
#include "policy/spf_eval.h"
#include "policy/spf_int.h"
/* Ends the check with an error result and a short reason. */
static void __attribute__((format(printf, 3, 4)))
spf_error(struct spf *s, enum spf_result r, const char *fmt, ...)
{
	va_list ap;
	char msg[512];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	s->out.result = r;
	free(s->out.problem);
	s->out.problem = xstrdup(msg);
	s->state = SPF_ST_END;
}

/* Starts a query; 0 (state WAIT) or -1 (nothing in flight). */
static int
spf_query(struct spf *s, enum spf_wait w, enum spf_qtype type,
    const char *name)
{
	const struct sockaddr *sa = type == SPF_Q_PTR ?
	    (const struct sockaddr *)&s->sa : NULL;

	if (s->r.query(s->r.ctx, type, type == SPF_Q_PTR ? NULL : name, sa,
	    spf_eval_on_dns, s) == -1)
		return -1;
	s->wait = w;
	s->state = SPF_ST_WAIT;
	return 0;
}

static enum spf_qtype
spf_addr_qtype(const struct spf *s)
{
	/* 5.3, 5.4: the lookup type that fits the connection. */
	return s->family == AF_INET ? SPF_Q_A : SPF_Q_AAAA;
}

static void
spf_frame_clear(struct spf_frame *f)
{
	free(f->domain);
	free(f->record);
	free(f->terms);
	memset(f, 0, sizeof(*f));
}

static struct spf_frame *
spf_top(struct spf *s)
{
	return &s->frames[s->depth];
}

void
spf_eval_fetch(struct spf *s)
{
	if (spf_query(s, SPF_W_TXT, SPF_Q_TXT, spf_top(s)->domain) == -1)
		spf_error(s, SPF_TEMPERROR, "DNS failure for %s",
		    spf_top(s)->domain);
}

/* 4.6.4: the term about to query counts; the 11th is a permerror. */
static int
spf_count_lookup(struct spf *s)
{
	if (s->out.lookups >= SPF_LOOKUPS_MAX) {
		spf_error(s, SPF_PERMERROR, "more than %d DNS lookups",
		    SPF_LOOKUPS_MAX);
		return -1;
	}
	s->out.lookups++;
	return 0;
}

/* 4.6.4: a term whose lookup found nothing; the 3rd is a permerror. */
static int
spf_count_void(struct spf *s)
{
	if (++s->voids > SPF_VOID_LOOKUPS_MAX) {
		spf_error(s, SPF_PERMERROR, "more than %d void lookups",
		    SPF_VOID_LOOKUPS_MAX);
		return -1;
	}
	return 0;
}

/* Does an A/AAAA answer hold the client within bits? */
static bool
spf_addr_match(const struct spf *s, const struct dns_result *res,
    unsigned bits)
{
	size_t i;

	for (i = 0; i < res->naddr; i++) {
		const struct sockaddr_storage *ss = &res->addr[i];

		if (ss->ss_family == AF_INET && s->family == AF_INET &&
		    cidr_bytes_match((const uint8_t *)&((const struct
		    sockaddr_in *)ss)->sin_addr, s->addr, bits))
			return true;
		if (ss->ss_family == AF_INET6 && s->family == AF_INET6 &&
		    cidr_bytes_match(((const struct sockaddr_in6 *)ss)->
		    sin6_addr.s6_addr, s->addr, bits))
			return true;
	}
	return false;
}

/* The %{p} value for domain (7.3): the name itself if validated, else a
 * validated subdomain of it, else any validated name, else "unknown". */
static const char *
spf_ptr_pick(const struct spf *s, const char *domain)
{
	size_t i;

	for (i = 0; i < s->nptr; i++)
		if (s->ptr_ok[i] && spf_name_eq(s->ptr[i], domain))
			return s->ptr[i];
	for (i = 0; i < s->nptr; i++)
		if (s->ptr_ok[i] && spf_name_under(s->ptr[i], domain))
			return s->ptr[i];
	for (i = 0; i < s->nptr; i++)
		if (s->ptr_ok[i])
			return s->ptr[i];
	return "unknown";
}

/*
 * Expands a domain-spec (or the frame's domain when spec is empty) into a
 * new string without a trailing dot. NULL with a permerror on a macro
 * error; the result may still be an invalid name (the caller decides).
 */
static char *
spf_expand_target(struct spf *s, struct span spec)
{
	const char *domain = spf_top(s)->domain;
	struct spf_macro_env env = {
		.sender = s->out.sender, .domain = domain, .ip = s->ip,
		.ptr = spf_ptr_pick(s, domain), .helo = s->helo,
		.receiver = s->receiver, .now = s->now, .exp = false,
	};
	struct buf b;
	char *name;

	if (spec.len == 0)
		return xstrdup(domain);
	buf_init(&b, SPF_EXPAND_MAX);
	if (spf_macro_expand(spec, &env, &b) != PARSE_OK) {
		buf_free(&b);
		spf_error(s, SPF_PERMERROR, "cannot expand %.*s",
		    (int)(spec.len > 100 ? 100 : spec.len), spec.ptr);
		return NULL;
	}
	if (b.len > 0 && b.data[b.len - 1] == '.')
		b.len--;
	name = xstrndup(buf_cstr(&b), b.len);
	buf_free(&b);
	return name;
}

/* Starts finding the validated names (5.5) if not done, then resumes at
 * `resume`. true when the caller must stop and wait for that. */
static bool
spf_rdns_needed(struct spf *s, bool needed, enum spf_state resume)
{
	if (!needed || s->rdns == SPF_RDNS_DONE)
		return false;
	s->rdns = SPF_RDNS_RUNNING;
	s->rdns_resume = resume;
	if (spf_query(s, SPF_W_PTR, SPF_Q_PTR, NULL) == -1) {
		s->rdns = SPF_RDNS_DONE;	/* 5.5: a DNS error: no names */
		s->state = resume;
	}
	return true;
}

/* A term of the top frame matched: the frame's result is its qualifier
 * (4.6.2); at the top level it is the mechanism reported. */
static void
spf_matched(struct spf *s, const struct spf_term *t)
{
	switch (t->qualifier) {
	case '-':
		s->fres = SPF_FAIL;
		break;
	case '~':
		s->fres = SPF_SOFTFAIL;
		break;
	case '?':
		s->fres = SPF_NEUTRAL;
		break;
	default:
		s->fres = SPF_PASS;
		break;
	}
	if (s->depth == 0) {
		free(s->out.mechanism);
		s->out.mechanism = xstrndup(t->text.ptr, t->text.len);
	}
	s->state = SPF_ST_RESULT;
}

static void
spf_no_match(struct spf *s)
{
	spf_top(s)->cur++;
	s->state = SPF_ST_EVAL;
}

/* ip4 / ip6 (5.6): an IPv4 client never matches ip6, nor IPv6 ip4. */
static bool
spf_ip_term_match(const struct spf *s, const struct spf_term *t)
{
	char text[INET6_ADDRSTRLEN];
	uint8_t net[16];
	bool v4 = t->kind == SPF_T_IP4;
	int len = v4 ? t->cidr4 : t->cidr6;

	if (s->family != (v4 ? AF_INET : AF_INET6) || t->spec.len >= sizeof(text))
		return false;
	memcpy(text, t->spec.ptr, t->spec.len);
	text[t->spec.len] = '\0';
	if (inet_pton(v4 ? AF_INET : AF_INET6, text, net) != 1)
		return false;
	return cidr_bytes_match(net, s->addr,
	    len >= 0 ? (unsigned)len : v4 ? 32 : 128);
}

/* ptr (5.5): a validated name equal to or under the target. */
static bool
spf_ptr_match(const struct spf *s, const char *target)
{
	size_t i;

	for (i = 0; i < s->nptr; i++)
		if (s->ptr_ok[i] && spf_name_under(s->ptr[i], target))
			return true;
	return false;
}

/* include, a, mx, ptr, exists: the terms that query (5.2 - 5.7). */
static void
spf_eval_dns(struct spf *s, const struct spf_term *t)
{
	enum spf_qtype at = spf_addr_qtype(s);
	int len = s->family == AF_INET ? t->cidr4 : t->cidr6;
	bool multi = t->kind == SPF_T_INCLUDE;

	if (spf_rdns_needed(s, t->kind == SPF_T_PTR ||
	    spf_macro_uses_p(t->spec), SPF_ST_EVAL))
		return;
	if (spf_count_lookup(s) == -1)
		return;
	free(s->target);
	if ((s->target = spf_expand_target(s, t->spec)) == NULL)
		return;
	s->cidr = len >= 0 ? (unsigned)len : s->family == AF_INET ? 32 : 128;
	if (!spf_name_valid(s->target, strlen(s->target), multi)) {
		/* A malformed name is no name: it matches nothing (ours),
		 * but an include must find a record (5.2): permerror. */
		if (multi)
			spf_error(s, SPF_PERMERROR, "invalid include target");
		else
			spf_no_match(s);
		return;
	}
	switch (t->kind) {
	case SPF_T_INCLUDE:
		/* Every include spent a lookup: depth <= SPF_LOOKUPS_MAX. */
		if (s->depth >= SPF_LOOKUPS_MAX)
			fatal("spf: include depth past the lookup limit");
		s->depth++;
		spf_top(s)->domain = xstrdup(s->target);
		spf_eval_fetch(s);
		return;
	case SPF_T_PTR:
		if (s->rdns_void && spf_count_void(s) == -1)
			return;
		if (spf_ptr_match(s, s->target))
			spf_matched(s, t);
		else
			spf_no_match(s);
		return;
	default:
		break;
	}
	if (spf_query(s, t->kind == SPF_T_A ? SPF_W_ADDR : t->kind == SPF_T_MX ?
	    SPF_W_MX : SPF_W_EXISTS, t->kind == SPF_T_A ? at : t->kind ==
	    SPF_T_MX ? SPF_Q_MX : SPF_Q_A, s->target) == -1)
		spf_error(s, SPF_TEMPERROR, "DNS failure for %s", s->target);
}

/* SPF_ST_EVAL: the current term of the top frame (4.6.2, left to right). */
static void
spf_eval(struct spf *s)
{
	struct spf_frame *f = spf_top(s);
	const struct spf_term *t;

	if (f->cur >= f->nterms) {
		s->state = SPF_ST_FRAME_END;
		return;
	}
	t = &f->terms[f->cur];
	switch (t->kind) {
	case SPF_T_ALL:
		spf_matched(s, t);
		return;
	case SPF_T_IP4:
	case SPF_T_IP6:
		if (spf_ip_term_match(s, t))
			spf_matched(s, t);
		else
			f->cur++;
		return;
	case SPF_T_REDIRECT:
	case SPF_T_EXP:
	case SPF_T_UNKNOWN_MOD:
		f->cur++;	/* modifiers act after the mechanisms */
		return;
	default:
		spf_eval_dns(s, t);
		return;
	}
}

/* SPF_ST_FRAME_END: nothing matched. 6.1: redirect= applies only when the
 * record has no "all"; else the result is neutral (4.7). */
static void
spf_frame_end(struct spf *s)
{
	struct spf_frame *f = spf_top(s);
	const struct spf_term *redirect = NULL;
	char *target;
	size_t i;

	for (i = 0; i < f->nterms; i++) {
		if (f->terms[i].kind == SPF_T_ALL) {
			redirect = NULL;
			break;
		}
		if (f->terms[i].kind == SPF_T_REDIRECT)
			redirect = &f->terms[i];
	}
	if (redirect == NULL) {
		s->fres = SPF_NEUTRAL;
		s->state = SPF_ST_RESULT;
		return;
	}
	if (spf_rdns_needed(s, spf_macro_uses_p(redirect->spec),
	    SPF_ST_FRAME_END))
		return;
	if (spf_count_lookup(s) == -1 ||
	    (target = spf_expand_target(s, redirect->spec)) == NULL)
		return;
	if (!spf_name_valid(target, strlen(target), true)) {
		free(target);
		spf_error(s, SPF_PERMERROR, "invalid redirect target");
		return;
	}
	/* 6.1: the target's result is this frame's; its exp= replaces ours. */
	spf_frame_clear(f);
	f->domain = target;
	f->redirected = true;
	spf_eval_fetch(s);
}

/* SPF_ST_RESULT: the top frame ended with s->fres (pass, fail, softfail or
 * neutral). 5.2: an include matches on pass only. */
static void
spf_result(struct spf *s)
{
	struct spf_frame *f;

	if (s->depth == 0) {
		s->out.result = s->fres;
		s->state = SPF_ST_END;
		return;
	}
	spf_frame_clear(spf_top(s));
	s->depth--;
	f = spf_top(s);
	if (s->fres == SPF_PASS)
		spf_matched(s, &f->terms[f->cur]);
	else
		spf_no_match(s);
}

/* SPF_W_TXT: the record of the top frame (4.5). */
static void
spf_on_txt(struct spf *s, const struct dns_result *res)
{
	struct spf_frame *f = spf_top(s);
	size_t i, n = 0, max;
	const char *rec = NULL;

	if (res->rc == DNS_TEMPFAIL) {
		spf_error(s, SPF_TEMPERROR, "DNS failure for %s", f->domain);
		return;
	}
	for (i = 0; res->rc == DNS_OK && i < res->ntxt; i++)
		if (spf_record_is_spf(span_from_cstr(res->txt[i]))) {
			rec = res->txt[i];
			n++;
		}
	if (n == 0) {
		/* 4.5: none at the top; 5.2, 6.1: permerror for an include
		 * or a redirect target. */
		if (s->depth == 0 && !f->redirected) {
			s->out.result = SPF_NONE;
			s->state = SPF_ST_END;
		} else
			spf_error(s, SPF_PERMERROR, "no SPF record for %s",
			    f->domain);
		return;
	}
	if (n > 1) {
		spf_error(s, SPF_PERMERROR, "%zu SPF records for %s", n,
		    f->domain);
		return;
	}
	f->record = xstrdup(rec);
	/* Each term takes at least 2 bytes (SP and a letter). */
	max = strlen(rec) / 2 + 1;
	if (max > SPF_TERMS_MAX)
		max = SPF_TERMS_MAX;
	f->terms = xcalloc(max, sizeof(*f->terms));
	if (spf_record_parse(span_from_cstr(f->record), f->terms, max,
	    &f->nterms) != PARSE_OK) {
		spf_error(s, SPF_PERMERROR, "invalid SPF record for %s",
		    f->domain);
		return;
	}
	f->cur = 0;
	s->state = SPF_ST_EVAL;
}

/* SPF_W_ADDR (a) and SPF_W_EXISTS: 5.3, 5.7. */
static void
spf_on_addr(struct spf *s, const struct dns_result *res, bool exists)
{
	const struct spf_term *t = &spf_top(s)->terms[spf_top(s)->cur];

	if (res->rc == DNS_TEMPFAIL)
		spf_error(s, SPF_TEMPERROR, "DNS failure for %s", s->target);
	else if (res->rc != DNS_OK) {
		if (spf_count_void(s) == 0)
			spf_no_match(s);
	} else if (exists || spf_addr_match(s, res, s->cidr))
		spf_matched(s, t);
	else
		spf_no_match(s);
}

static void
spf_mx_clear(struct spf *s)
{
	size_t i;

	for (i = 0; i < s->nmx; i++)
		free(s->mx[i]);
	s->nmx = s->mx_next = 0;
}

/* Queries the next MX host, or ends the mx mechanism without a match. */
static void
spf_mx_next(struct spf *s)
{
	while (s->mx_next < s->nmx) {
		const char *host = s->mx[s->mx_next++];

		if (spf_query(s, SPF_W_MX_ADDR, spf_addr_qtype(s), host) == 0)
			return;
		spf_error(s, SPF_TEMPERROR, "DNS failure for %s", host);
		spf_mx_clear(s);
		return;
	}
	spf_mx_clear(s);
	spf_no_match(s);
}

/* SPF_W_MX: 5.4; more than 10 MX names is a permerror (4.6.4). */
static void
spf_on_mx(struct spf *s, const struct dns_result *res)
{
	size_t i;

	if (res->rc == DNS_TEMPFAIL) {
		spf_error(s, SPF_TEMPERROR, "DNS failure for %s", s->target);
		return;
	}
	if (res->rc != DNS_OK) {
		if (spf_count_void(s) == 0)
			spf_no_match(s);
		return;
	}
	if (res->nmx > SPF_MX_NAMES_MAX) {
		spf_error(s, SPF_PERMERROR, "more than %d MX names for %s",
		    SPF_MX_NAMES_MAX, s->target);
		return;
	}
	spf_mx_clear(s);
	for (i = 0; i < res->nmx; i++)
		if (res->mx[i].host[0] != '\0')	/* a null MX has no host */
			s->mx[s->nmx++] = xstrdup(res->mx[i].host);
	spf_mx_next(s);
}

/* SPF_W_MX_ADDR: 5 says a DNS error in a mechanism is a temperror; a name
 * without addresses just does not match. */
static void
spf_on_mx_addr(struct spf *s, const struct dns_result *res)
{
	const struct spf_term *t = &spf_top(s)->terms[spf_top(s)->cur];

	if (res->rc == DNS_TEMPFAIL) {
		spf_error(s, SPF_TEMPERROR, "DNS failure for %s",
		    s->mx[s->mx_next - 1]);
		spf_mx_clear(s);
	} else if (res->rc == DNS_OK && spf_addr_match(s, res, s->cidr)) {
		spf_mx_clear(s);
		spf_matched(s, t);
	} else
		spf_mx_next(s);
}

/* SPF_W_PTR: the client's names, the first 10 only (4.6.4). A DNS error
 * means no names (5.5): ptr does not match, %{p} is "unknown". */
static void
spf_on_ptr(struct spf *s, const struct dns_result *res)
{
	size_t i;

	if (res->rc == DNS_NXDOMAIN || res->rc == DNS_NODATA)
		s->rdns_void = true;
	for (i = 0; res->rc == DNS_OK && i < res->nnames &&
	    s->nptr < SPF_PTR_NAMES_MAX; i++)
		if (res->names[i][0] != '\0')
			s->ptr[s->nptr++] = xstrdup(res->names[i]);
	s->ptr_next = 0;
	s->state = SPF_ST_RDNS_NEXT;
}

/* SPF_ST_RDNS_NEXT: forward-confirm the next name (5.5). A name whose
 * lookup fails is skipped. */
static void
spf_rdns_next(struct spf *s)
{
	while (s->ptr_next < s->nptr) {
		if (spf_query(s, SPF_W_PTR_ADDR, spf_addr_qtype(s),
		    s->ptr[s->ptr_next]) == 0)
			return;
		s->ptr_next++;
	}
	s->rdns = SPF_RDNS_DONE;
	s->state = s->rdns_resume;
}

static void
spf_on_ptr_addr(struct spf *s, const struct dns_result *res)
{
	if (res->rc == DNS_OK && spf_addr_match(s, res, s->family == AF_INET ?
	    32 : 128))
		s->ptr_ok[s->ptr_next] = true;
	s->ptr_next++;
	s->state = SPF_ST_RDNS_NEXT;
}

static const struct spf_term *
spf_exp_term(const struct spf *s)
{
	const struct spf_frame *f = &s->frames[0];
	size_t i;

	for (i = 0; i < f->nterms; i++)
		if (f->terms[i].kind == SPF_T_EXP)
			return &f->terms[i];
	return NULL;
}

/* SPF_ST_END: 6.2: exp= applies to a fail of the top level only (an
 * include's never; a redirect's replaced ours with its frame). */
static void
spf_end(struct spf *s)
{
	enum spf_result r = s->out.result;

	if (s->out.mechanism == NULL && (r == SPF_PASS || r == SPF_FAIL ||
	    r == SPF_SOFTFAIL || r == SPF_NEUTRAL))
		s->out.mechanism = xstrdup("default");
	if (r == SPF_FAIL && !s->exp_tried && s->depth == 0 &&
	    spf_exp_term(s) != NULL) {
		s->exp_tried = true;
		s->state = SPF_ST_EXP_NAME;
		return;
	}
	s->state = SPF_ST_DELIVER;
}

/* SPF_ST_EXP_NAME. Whatever fails here only loses the explanation. */
static void
spf_exp_name(struct spf *s)
{
	const struct spf_term *t = spf_exp_term(s);
	struct spf_macro_env env = {
		.sender = s->out.sender, .domain = s->frames[0].domain,
		.ip = s->ip, .helo = s->helo, .receiver = s->receiver,
		.now = s->now, .exp = false,
	};
	struct buf b;

	if (spf_rdns_needed(s, spf_macro_uses_p(t->spec), SPF_ST_EXP_NAME))
		return;
	env.ptr = spf_ptr_pick(s, env.domain);
	s->state = SPF_ST_DELIVER;
	buf_init(&b, SPF_EXPAND_MAX);
	if (spf_macro_expand(t->spec, &env, &b) == PARSE_OK) {
		if (b.len > 0 && b.data[b.len - 1] == '.')
			b.data[--b.len] = '\0';
		if (spf_name_valid(buf_cstr(&b), b.len, false))
			(void)spf_query(s, SPF_W_EXP, SPF_Q_TXT, buf_cstr(&b));
	}
	buf_free(&b);
}

/* SPF_W_EXP: 6.2: exactly one TXT record, else as if no exp= was given. */
static void
spf_on_exp(struct spf *s, const struct dns_result *res)
{
	s->state = SPF_ST_DELIVER;
	if (res->rc == DNS_OK && res->ntxt == 1) {
		s->exp_text = xstrdup(res->txt[0]);
		s->state = SPF_ST_EXP_TEXT;
	}
}

/* SPF_ST_EXP_TEXT: explain-string = *( macro-string / SP ) (6.2), expanded
 * with c, r and t; what a sender's name brings in that is not printable
 * ASCII becomes '?', and the text is cut at SPF_EXP_MAX. */
static void
spf_exp_text(struct spf *s)
{
	struct spf_macro_env env = {
		.sender = s->out.sender, .domain = s->frames[0].domain,
		.ip = s->ip, .helo = s->helo, .receiver = s->receiver,
		.now = s->now, .exp = true,
	};
	struct buf b;
	size_t i;

	if (spf_rdns_needed(s, spf_macro_uses_p(span_from_cstr(s->exp_text)),
	    SPF_ST_EXP_TEXT))
		return;
	env.ptr = spf_ptr_pick(s, env.domain);
	s->state = SPF_ST_DELIVER;
	buf_init(&b, SPF_EXPAND_MAX);
	if (spf_macro_expand(span_from_cstr(s->exp_text), &env, &b) ==
	    PARSE_OK) {
		for (i = 0; i < b.len; i++)
			if ((unsigned char)b.data[i] < 0x20 ||
			    (unsigned char)b.data[i] > 0x7e)
				b.data[i] = '?';
		s->out.explanation = xstrndup(buf_cstr(&b),
		    b.len > SPF_EXP_MAX ? SPF_EXP_MAX : b.len);
	}
	buf_free(&b);
}

void
spf_eval_step(struct spf *s)
{
	switch (s->state) {
	case SPF_ST_EVAL:
		spf_eval(s);
		break;
	case SPF_ST_FRAME_END:
		spf_frame_end(s);
		break;
	case SPF_ST_RESULT:
		spf_result(s);
		break;
	case SPF_ST_RDNS_NEXT:
		spf_rdns_next(s);
		break;
	case SPF_ST_END:
		spf_end(s);
		break;
	case SPF_ST_EXP_NAME:
		spf_exp_name(s);
		break;
	case SPF_ST_EXP_TEXT:
		spf_exp_text(s);
		break;
	case SPF_ST_WAIT:
	case SPF_ST_DELIVER:
		fatal("spf: no step for state %d", (int)s->state);
	}
}

void
spf_eval_on_dns(void *arg, const struct dns_result *res)
{
	struct spf *s = arg;
	enum spf_wait w = s->wait;

	s->wait = SPF_W_NONE;
	switch (w) {
	case SPF_W_TXT:
		spf_on_txt(s, res);
		break;
	case SPF_W_ADDR:
	case SPF_W_EXISTS:
		spf_on_addr(s, res, w == SPF_W_EXISTS);
		break;
	case SPF_W_MX:
		spf_on_mx(s, res);
		break;
	case SPF_W_MX_ADDR:
		spf_on_mx_addr(s, res);
		break;
	case SPF_W_PTR:
		spf_on_ptr(s, res);
		break;
	case SPF_W_PTR_ADDR:
		spf_on_ptr_addr(s, res);
		break;
	case SPF_W_EXP:
		spf_on_exp(s, res);
		break;
	case SPF_W_NONE:
		fatal("spf: an answer with no query in flight");
	}
	spf_drive(s);
}

void
spf_eval_clear(struct spf *s)
{
	size_t i;

	for (i = 0; i <= SPF_LOOKUPS_MAX; i++)
		spf_frame_clear(&s->frames[i]);
	spf_mx_clear(s);
	for (i = 0; i < s->nptr; i++)
		free(s->ptr[i]);
	s->nptr = 0;
	free(s->target);
	free(s->exp_text);
	s->target = s->exp_text = NULL;
}
