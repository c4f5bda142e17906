/*
 * spf: Sender Policy Framework, RFC 7208, complete: check_host() over the
 * asynchronous DNS, every mechanism (all, include, a, mx, ptr, ip4, ip6,
 * exists) with dual CIDR lengths, the redirect and exp modifiers, every
 * macro letter with transformers and delimiters, the 10 DNS-querying-term
 * limit and the 2 void-lookup limit (4.6.4), the 10-name limits of mx and
 * ptr, multiple records and syntax errors as permerror, DNS failures as
 * temperror. When MAIL FROM is <> the identity is postmaster@HELO (2.4).
 *
 * The record parser (spf_record_parse) and the macro expander
 * (spf_macro_expand) are pure and fuzzed alone; the evaluator is a state
 * machine driven by DNS callbacks: one lookup in flight per check, terms
 * evaluated left to right, bounded by the limits above.
 *
 * DNS goes through struct spf_resolver so unit tests can answer from a
 * table in memory; spf_resolver_dns() wraps a struct dns (dns.h).
 */
#ifndef POSTERN_SPF_H
#define POSTERN_SPF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/buf.h"
#include "core/parse.h"
#include "dns/dns.h"

enum spf_result {
	SPF_NONE, SPF_NEUTRAL, SPF_PASS, SPF_FAIL, SPF_SOFTFAIL,
	SPF_TEMPERROR, SPF_PERMERROR,
};

/* "none", "neutral", "pass", "fail", "softfail", "temperror", "permerror" */
const char	*spf_result_name(enum spf_result r);
/* The inverse, for the queue file's `spf` line; -1 on an unknown word. */
int		 spf_result_parse(const char *word, enum spf_result *out);

/* --- DNS seam ----------------------------------------------------------- */

enum spf_qtype { SPF_Q_A, SPF_Q_AAAA, SPF_Q_MX, SPF_Q_TXT, SPF_Q_PTR };

/*
 * query: same contract as dns_query_*(): 0 and cb runs once later (never
 * inside the call), or -1 and cb never runs. For SPF_Q_PTR, name is NULL
 * and sa is the address to look up; for the others sa is NULL. name is
 * copied or only read during the call.
 * cancel: no callback started with arg runs any more.
 * base: the loop the answers come on; spf_check() delivers a result found
 * without DNS (none for a malformed domain, temperror when query() fails at
 * once) through a 0-second timer on it, so cb never runs inside spf_check().
 */
struct spf_resolver {
	void			*ctx;
	int			(*query)(void *ctx, enum spf_qtype type,
				    const char *name, const struct sockaddr *sa,
				    dns_cb cb, void *arg);
	void			(*cancel)(void *ctx, const void *arg);
	struct event_base	*base;
};

/* The real one: fills r so that it forwards to d (which must outlive r). */
void	spf_resolver_dns(struct spf_resolver *r, struct dns *d);

/* --- check_host() ------------------------------------------------------- */

struct spf_request {
	const char	*ip;		/* client address, text: "192.0.2.3",
					 * "2001:db8::1" (IPv4-mapped IPv6 is
					 * taken as IPv4, 4.1) */
	const char	*helo;		/* HELO/EHLO argument as given, may be
					 * "" or an address literal */
	const char	*sender;	/* MAIL FROM address without <>, "" for
					 * the null sender */
	const char	*receiver;	/* our hostname, for %{r} and headers */
};

struct spf_outcome {
	enum spf_result	 result;
	const char	*identity;	/* "mailfrom" or "helo" */
	char		*domain;	/* the domain checked (lower case), or
					 * NULL when there was none (result
					 * none: HELO is an address literal,
					 * sender domain malformed...) */
	char		*sender;	/* the sender used for macros: the MAIL
					 * FROM or postmaster@HELO */
	char		*mechanism;	/* the directive that matched, as
					 * written ("-all", "ip4:192.0.2.0/24",
					 * "default" when none matched), or NULL */
	char		*explanation;	/* fail + exp= that applied: the expanded
					 * text (printable ASCII), else NULL */
	char		*problem;	/* permerror/temperror: a short reason
					 * ("2 SPF records for x.example", "more
					 * than 10 DNS lookups", "DNS failure for
					 * x.example"), else NULL */
	unsigned	 lookups;	/* DNS-querying terms evaluated */
};

typedef void (*spf_cb)(void *arg, const struct spf_outcome *o);

struct spf;

/*
 * Starts a check. cb runs exactly once, later, from the loop (never inside
 * this call), with an outcome valid only during the callback (copy what you
 * keep), unless spf_cancel() comes first. now: the time for %{t}.
 * Returns NULL only on a bad request (ip not an address, r->base NULL);
 * cb never runs.
 * The resolver and strings in req are copied or only read during the call.
 */
struct spf	*spf_check(const struct spf_resolver *r,
		    const struct spf_request *req, int64_t now, spf_cb cb,
		    void *arg);
/* Before cb has run: cancels (cb never runs), frees, *sp = NULL. After
 * cb the check has freed itself: never cancel from or after the callback. */
void		 spf_cancel(struct spf **sp);

/* --- headers ------------------------------------------------------------ */

/*
 * "Received-SPF: pass (HOST: domain of S designates IP as permitted
 * sender) client-ip=IP; envelope-from=S; helo=H; receiver=HOST;
 * identity=mailfrom; mechanism=M; problem=P\r\n" (RFC 7208 9.1; S is
 * o->sender, postmaster@HELO for the null sender; values that are not
 * dot-atoms are quoted, so "joe@example.org" and IPv6 addresses are; CR,
 * LF, controls and non-ASCII bytes become '?'; each value is cut at
 * SPF_HEADER_VALUE_MAX; folded with CRLF SP between words so no line
 * passes 78 characters where it can be helped, 998 always; receiver=,
 * mechanism= and problem= only when known). Appended to out; 0 or -1.
 */
int	spf_header_received(struct buf *out, const struct spf_request *req,
	    const struct spf_outcome *o);

/*
 * The resinfo for Authentication-Results (RFC 8601 2.7.2, RFC 7208 9.2):
 * "spf=pass smtp.mailfrom=user@example.org" or "spf=none smtp.helo=host",
 * without leading "; ". The value is quoted unless it is a token or a
 * dot-atom local part "@" a domain name. Appended to out; 0 or -1.
 */
int	spf_header_authres(struct buf *out, const struct spf_outcome *o);

/* --- pure parts, fuzzed ------------------------------------------------- */

enum spf_term_kind {
	SPF_T_ALL, SPF_T_INCLUDE, SPF_T_A, SPF_T_MX, SPF_T_PTR, SPF_T_IP4,
	SPF_T_IP6, SPF_T_EXISTS, SPF_T_REDIRECT, SPF_T_EXP,
	SPF_T_UNKNOWN_MOD,	/* name=value of an unknown modifier: ignored */
};

struct spf_term {
	enum spf_term_kind kind;
	char		 qualifier;	/* '+', '-', '~', '?' (mechanisms) */
	struct span	 spec;		/* domain-spec or IP text, unexpanded,
					 * borrowed from the record; len 0 when
					 * absent */
	int		 cidr4, cidr6;	/* -1 when absent */
	struct span	 text;		/* the whole term as written */
};

/*
 * Parses a record that starts with "v=spf1" (4.5) into at most max terms.
 * PARSE_INVALID on any syntax error (unknown mechanism, bad CIDR, bad
 * macro-string, redirect or exp twice, more than max terms): permerror.
 * Terms borrow from rec, which must stay alive.
 */
enum parse_rc	spf_record_parse(struct span rec, struct spf_term *terms,
		    size_t max, size_t *n_out);

/* Is this TXT string an SPF record ("v=spf1" then end or SP)? (4.5) */
bool		spf_record_is_spf(struct span txt);

/* What the macro letters expand to. l and o come from sender (l is
 * "postmaster" when it has no local part); a NULL ptr, helo or receiver
 * expands to "unknown"; an ip that is not an address is PARSE_INVALID. */
struct spf_macro_env {
	const char	*sender;	/* s */
	const char	*domain;	/* d: the current domain */
	const char	*ip;		/* i, c, v taken from it */
	const char	*ptr;		/* p: validated name, or "unknown" */
	const char	*helo;		/* h */
	const char	*receiver;	/* r (exp only) */
	int64_t		 now;		/* t (exp only) */
	bool		 exp;		/* c, r, t allowed (exp text) */
};

/*
 * Expands a macro-string (7.1, 7.3, 7.4) into out, which is reset first;
 * at most out->max bytes (PARSE_TOO_LONG past it, out left empty). For a
 * domain-spec (exp false) the result is truncated from the left to 253
 * octets by whole labels (7.3); with exp true SP is a literal and c, r, t
 * are allowed. PARSE_INVALID on a bad macro (unknown letter, "%" not
 * followed by "{", "%", "_" or "-", digits 0 or over 128, a byte that is
 * not printable ASCII ...): permerror. The input is bytes (may hold NUL).
 */
enum parse_rc	spf_macro_expand(struct span in, const struct spf_macro_env *env,
		    struct buf *out);

#endif
