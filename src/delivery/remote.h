/*
 * remote: one delivery attempt of one queued message to one destination
 * (a recipient domain, or the relayhost), asynchronously on the queue
 * manager's event loop: MX resolution (RFC 5321 5.1, implicit MX, null MX
 * RFC 7505), connection to each address in turn, and an SMTP client
 * session (EHLO, STARTTLS, AUTH PLAIN to a relayhost, PIPELINING, SIZE,
 * 8BITMIME, SMTPUTF8) that carries every recipient of that destination.
 *
 * What to do with the outcome (records, retries, bounces, logs) is the
 * scheduler's job (qmgr.c); this module only reports what happened (and
 * logs warnings: event=remote_host_failed, remote_tx_failed,
 * remote_tls_failed). Every function runs on the loop's thread only.
 * docs/architecture.md ("A message to another server") has the choices.
 */
#ifndef POSTERN_REMOTE_H
#define POSTERN_REMOTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/config.h"

struct event_base;
struct dns;
struct remote;

enum remote_status {
	REMOTE_SENT,		/* the peer answered 250 to this recipient's data */
	REMOTE_DEFERRED,	/* temporary: retry later */
	REMOTE_BOUNCED,		/* permanent: report to the sender */
};

struct remote_rcpt_result {
	enum remote_status	 status;
	/*
	 * The peer's reply as one line, "550 5.1.1 <text>" (multiline
	 * replies joined with spaces), or one made up by Postern for a
	 * failure without a reply, always with a code and an enhanced
	 * status code: "451 4.4.1 connect to mx.example.org[192.0.2.1]:25:
	 * Connection refused", "550 5.1.2 example.org: null MX",
	 * "550 5.4.4 example.org: no such domain", "451 4.7.5 peer offers
	 * no STARTTLS (delivery.tls = required)", "552 5.3.4 message size
	 * 123 exceeds the peer's SIZE 100", "451 4.4.2 timeout ...".
	 * NUL-terminated, at most REMOTE_REPLY_MAX - 1 bytes, no CR/LF.
	 */
	char			 reply[512];
};
#define REMOTE_REPLY_MAX	512

struct remote_outcome {
	const struct remote_rcpt_result *rcpts;	/* job.nrcpts, in job order */
	const char	*mx;	/* host name of the last peer talked to, "" none */
	const char	*ip;	/* its address as text, "" none */
	const char	*tls;	/* "TLSv1.3", or "" when in clear / none */
};

struct remote_job {
	const char		*queue_id;	/* for logs */
	/* Destination: the recipients' domain, lowercase, or an address
	 * literal "[192.0.2.1]" / "[IPv6:2001:db8::1]". Ignored when the
	 * configuration names a relayhost. */
	const char		*domain;
	const char		*from;		/* envelope sender, "" = <> */
	const char *const	*rcpts;		/* full addresses, nrcpts >= 1 */
	size_t			 nrcpts;
	/* The message in LF form: pread() from body_fd at body_off, body_len
	 * bytes; sent with CRLF line ends and dot-stuffing. body_fd stays
	 * open and unchanged until done has run. */
	int			 body_fd;
	uint64_t		 body_off, body_len;
};

typedef void (*remote_done_fn)(void *arg, const struct remote_outcome *out);

/*
 * A delivery context for the loop: configuration (hostname, delivery.*),
 * the DNS resolver and a TLS client context; reads the relayhost
 * credentials file when configured (delivery.relayhost_credentials: a
 * regular file that group and others cannot access, one line
 * "user:password"). Call before chroot and privilege drop. cfg and dns
 * are borrowed: both must outlive the remote (remote_free() first, then
 * dns_free()). NULL with err on failure; err never holds the password.
 */
struct remote	*remote_new(struct event_base *base, const struct config *cfg,
		    struct dns *dns, char *err, size_t errlen);

/*
 * Cancels every attempt in progress (their done never runs; their DNS
 * lookups are cancelled with dns_cancel()), closes every connection,
 * idle ones included, and frees. May be called from inside a done.
 */
void		 remote_free(struct remote **rp);

/*
 * Starts one attempt. Everything in job is copied except body_fd. done
 * runs exactly once, later, on the loop (never inside this call), unless
 * remote_free() comes first. Every recipient gets a status and a reply.
 * out and everything it points to live only during done: copy.
 *
 * The attempt tries the destination's addresses in turn (at most 10 MX
 * hosts, 20 addresses) until one holds a transaction; a host that fails
 * before it answers MAIL (refused, timeout, 4xx/5xx greeting or EHLO, TLS
 * trouble, garbage) passes the job to the next address. Once MAIL is
 * answered the outcome is final for this attempt. If every host failed,
 * every recipient is deferred with the most informative reply seen (the
 * last one of a peer that said something, else the last connection or
 * DNS failure). A connection that ends a transaction with 2xx is kept
 * idle 5 s (at most 50 in all) and reused by the next job for the same
 * destination (domain, or the relayhost); if it fails before its MAIL is
 * answered the job starts over on a new connection.
 */
void		 remote_deliver(struct remote *r, const struct remote_job *job,
		    remote_done_fn done, void *arg);

/* Attempts in progress (connections open or being opened). */
size_t		 remote_active(const struct remote *r);

#endif
