/*
 * dns: asynchronous MX, A, AAAA, TXT and PTR lookups on the libevent loop,
 * through libunbound. Answers are decoded defensively (dns_wire.h) into
 * plain structs; what to do with them (sorting MX, falling back to A, SPF)
 * is the caller's job. Rcode classification per RFC 1035 4.1.1 / RFC 2308.
 *
 * Threads: libunbound resolves in one background thread per struct dns
 * (ub_ctx_async(ctx, 1); it starts with the first query). Callbacks are
 * delivered on the loop's thread only: the event on ub_fd() calls
 * ub_process(). So seccomp filters must allow clone/futex and UDP/TCP
 * sockets, and dns_new() must run before chroot (it reads resolv.conf).
 *
 * DNSSEC: no trust anchor is loaded, so nothing is validated and `secure`
 * is always false today. To validate, add an anchor in dns_new()
 * (ub_ctx_add_ta_file / ub_ctx_add_ta_autr); a bogus answer already maps to
 * DNS_TEMPFAIL and a validated one sets `secure`, which DANE would need.
 */
#ifndef POSTERN_DNS_H
#define POSTERN_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "core/config.h"

struct event_base;
struct dns;

enum dns_rc {
	DNS_OK,		/* at least one well-formed record below */
	DNS_NXDOMAIN,	/* the name does not exist: a permanent answer */
	DNS_NODATA,	/* the name exists, without records of this type */
	DNS_TEMPFAIL,	/* SERVFAIL, REFUSED, timeout, DNSSEC bogus, or an
			 * answer whose every record was malformed */
};

struct dns_mx {
	char		*host;	/* no trailing dot; "" for the root (null MX) */
	unsigned	 pref;
};

/*
 * Valid only during the callback: copy what you keep. Only the arrays of
 * the queried type are filled; the others are NULL/0. Records keep the
 * order of the answer (MX is NOT sorted by preference: the caller sorts,
 * RFC 5321 5.1, and shuffles equal preferences). At most DNS_ANSWERS_MAX
 * records are kept; malformed ones are skipped.
 *
 * Null MX (RFC 7505): nmx == 1 and mx[0].host[0] == '\0'. A "." host among
 * other MX records is passed on as "" too; the caller decides.
 */
struct dns_result {
	enum dns_rc		 rc;
	bool			 secure;	/* DNSSEC-validated (never, yet) */
	struct dns_mx		*mx;
	size_t			 nmx;
	struct sockaddr_storage	*addr;		/* A: sockaddr_in, AAAA: _in6; port 0 */
	size_t			 naddr;
	char			**txt;		/* each record's strings joined,
						 * RFC 7208 3.3; <= DNS_TXT_MAX */
	size_t			 ntxt;
	char			**names;	/* PTR targets, no trailing dot */
	size_t			 nnames;
};

typedef void (*dns_cb)(void *arg, const struct dns_result *res);

/*
 * servers: "IP", "IP:port" or "[IPv6]:port" (config dns.servers); all
 * queries are forwarded to them, recursion desired. With servers->n == 0
 * the nameservers of /etc/resolv.conf are used. Each lookup gives up after
 * DNS_QUERY_TIMEOUT_SEC (retries included) with DNS_TEMPFAIL. Returns NULL
 * with a message in err on a bad server address or a libunbound failure.
 */
struct dns	*dns_new(struct event_base *base,
		    const struct cfg_strlist *servers, char *err, size_t errlen);

/* The loop d delivers its callbacks on (callers that must defer a
 * result of their own, such as spf_check(), schedule it there). */
struct event_base *dns_base(const struct dns *d);

/*
 * Cancels every pending lookup (their callbacks never run) and frees.
 * May be called from inside a dns_cb: the free then happens when the
 * callback batch ends, and no further callback of this dns runs.
 */
void		 dns_free(struct dns **dp);

/*
 * Cancels every pending lookup started with this arg: their callbacks
 * never run. For a caller whose arg dies before the answers come (an
 * outbound delivery that ends early). May be called from inside a dns_cb.
 */
void		 dns_cancel(struct dns *d, const void *arg);

/*
 * Start a lookup. 0: cb runs exactly once, later, from the loop (never
 * inside this call), unless dns_free() comes first. -1: a bad name (empty,
 * longer than 253) or a libunbound failure; cb never runs. A callback may
 * start new lookups. name is copied.
 */
int	dns_query_mx(struct dns *d, const char *name, dns_cb cb, void *arg);
int	dns_query_a(struct dns *d, const char *name, dns_cb cb, void *arg);
int	dns_query_aaaa(struct dns *d, const char *name, dns_cb cb, void *arg);
int	dns_query_txt(struct dns *d, const char *name, dns_cb cb, void *arg);
/* PTR for sa's address (AF_INET or AF_INET6): in-addr.arpa / ip6.arpa. */
int	dns_query_ptr(struct dns *d, const struct sockaddr *sa, dns_cb cb,
	    void *arg);

#endif
