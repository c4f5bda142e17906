/*
 * remote_int: what the files of the remote module share, and nothing
 * else includes: remote.c (the context, attempts and their outcome),
 * remote_route.c (MX and address lookups, the walk over addresses),
 * remote_conn.c (one connection: I/O, timeouts, failures, reuse) and
 * remote_smtp.c (the client dialogue). remote_ehlo.c and remote_body.c
 * are pure helpers with their own headers.
 */
#ifndef POSTERN_REMOTE_INT_H
#define POSTERN_REMOTE_INT_H

#include <arpa/inet.h>
#include <event2/util.h>
#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/buf.h"
#include "core/limits.h"
#include "core/log.h"
#include "delivery/remote.h"
#include "delivery/remote_body.h"
#include "delivery/remote_ehlo.h"
#include "smtp/smtp_reply.h"

#define REMOTE_MX_MAX		10	/* MX hosts per attempt: ours */
#define REMOTE_ADDRS_MAX	20	/* addresses tried per attempt: ours */
#define REMOTE_IDLE_MAX		50	/* idle connections kept: ours */
#define REMOTE_IN_MAX		(64 * 1024)	/* read high-watermark: ours;
						 * above SMTP_REPLY_MAX */
#define REMOTE_OUT_HIGH		(256 * 1024)	/* body bytes queued: ours */
#define REMOTE_OUT_LOW		(64 * 1024)	/* refilled below this */
#define REMOTE_CREDS_MAX	1024	/* the credentials file: ours */
#define REMOTE_DEFAULT_PORT	25	/* relayhost without a port */

struct event;
struct event_base;
struct bufferevent;
struct remote_conn;
struct remote_attempt;

/*
 * How informative a temporary failure is: the outcome keeps the last reply
 * of the highest rank seen (SPEC: the reply the sender would want to read).
 */
enum remote_rank {
	RANK_NONE,
	RANK_DNS,	/* a lookup failed */
	RANK_CONNECT,	/* refused, unreachable, connect timeout */
	RANK_PROTOCOL,	/* garbage, lost connection, TLS, timeouts */
	RANK_PEER,	/* the peer said why */
};

enum remote_rcpt_state {
	RS_PENDING,	/* not yet offered, or offered and refused for now */
	RS_ACCEPTED,	/* 2xx to RCPT in the transaction in progress */
	RS_FINAL,	/* has its status and reply for the outcome */
};

/* One MX host; the dns arg of its A and AAAA lookups (dns_cancel()). */
struct remote_mx {
	struct remote_attempt	*a;
	char			*host;	/* name (SNI, logs), or the literal */
	unsigned		 pref;
	struct sockaddr_storage	*addr[2];	/* [0] A, [1] AAAA; port 0 */
	size_t			 naddr[2];
	int			 pending;	/* lookups not answered yet */
	bool			 tempfail;	/* one of them failed for now */
};

struct remote {
	struct event_base	*base;
	const struct config	*cfg;
	struct dns		*dns;
	SSL_CTX			*tls;
	struct buf		 auth;		/* base64 of "\0user\0pass", or empty */
	/* delivery.relayhost, split; relay_host NULL when MX delivery. */
	char			*relay_host;
	unsigned		 relay_port;
	bool			 relay_bracketed;
	struct log_ctx		 log;
	struct remote_attempt	*attempts;	/* in progress */
	size_t			 nattempts;
	struct remote_conn	*idle;		/* kept for the next job */
	size_t			 nidle;
	struct remote_conn	*quitting;	/* QUIT sent, reply awaited */
	/* Closed connections wait here for `reap`: one may be closed inside
	 * its own callbacks, which then must still find it. */
	struct remote_conn	*dead;
	struct event		*reap;
};

struct remote_attempt {
	struct remote		*r;
	char			*queue_id, *domain, *from;
	char			**rcpts;
	size_t			 nrcpts;
	struct remote_rcpt_result *res;
	enum remote_rcpt_state	*state;
	int			 body_fd;
	uint64_t		 body_off, body_len;
	bool			 scanned;	/* wire_len, eightbit known */
	uint64_t		 wire_len;
	bool			 eightbit;
	bool			 utf8;		/* an address is not ASCII */
	remote_done_fn		 done;
	void			*arg;

	char			*key;		/* destination, for reuse */
	bool			 routed;	/* lookups or literals set up */
	bool			 implicit;	/* mx[0] is the domain (RFC 5321 5.1) */
	unsigned		 port;
	struct remote_mx	 mx[REMOTE_MX_MAX];
	size_t			 nmx;
	size_t			 cur_mx, cur_addr, ntried;
	bool			 waiting;	/* for the current MX's lookups */
	struct sockaddr_storage	 last_sa;	/* for the retry in clear */
	bool			 cleared;	/* that retry was made */
	struct remote_conn	*conn;

	char			 temp[REMOTE_REPLY_MAX];	/* best 4xx so far */
	enum remote_rank	 temp_rank;
	char			 peer_mx[SMTP_DOMAIN_MAX + 1];
	char			 peer_ip[INET6_ADDRSTRLEN];
	char			 peer_tls[16];
	struct event		*done_ev;
	bool			 finished;
	struct remote_attempt	*prev, *next;
};

/* ---- remote.c ---- */

/* snprintf() that truncates quietly: replies are cut at REMOTE_REPLY_MAX
 * by design (remote.h). */
void	remote_fmt(char *out, size_t outlen, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

/* Records a 4xx reply of rank; kept when at least as informative. */
void	remote_attempt_temp(struct remote_attempt *a, enum remote_rank rank,
	    const char *reply);
/* Gives every recipient not yet final status and reply. */
void	remote_attempt_all(struct remote_attempt *a, enum remote_status st,
	    const char *reply);
void	remote_rcpt_set(struct remote_attempt *a, size_t i,
	    enum remote_status st, const char *reply);
/* remote_attempt_all() with a made-up reply. */
void	remote_attempt_allf(struct remote_attempt *a, enum remote_status st,
	    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Ends the attempt: done runs from the loop, soon. */
void	remote_attempt_finish(struct remote_attempt *a);
/* Reads the body once for SIZE= and 8BITMIME; -1 on a local I/O error. */
int	remote_attempt_scan(struct remote_attempt *a);

/* ---- remote_route.c ---- */

/* Sets up where a goes and connects to its first address (or ends it). */
void	remote_attempt_route(struct remote_attempt *a);
/*
 * The connection failed before the peer answered MAIL (it is already
 * detached and closed): try the next address; retry_clear asks for the
 * same address again without STARTTLS (opportunistic TLS, once). An
 * attempt that was not routed yet (it had an idle connection) is now.
 */
void	remote_attempt_host_failed(struct remote_attempt *a, bool retry_clear);
/* The attempt's lookups still pending never call back (dns_cancel()). */
void	remote_attempt_cancel_dns(struct remote_attempt *a);
/* The destination's name in replies and the reuse key: the relayhost's
 * host, or the domain. */
const char *remote_dest(const struct remote_attempt *a);

/* ---- one connection: remote_conn.c and remote_smtp.c ---- */

enum remote_conn_state {
	RC_CONNECTING,
	RC_GREETING,	/* waiting for the 220 */
	RC_EHLO,
	RC_HELO,	/* EHLO got a 5xx (RFC 5321 4.1.4) */
	RC_STARTTLS,	/* waiting for its 220 */
	RC_HANDSHAKE,
	RC_AUTH,
	RC_TX,		/* MAIL, RCPT..., DATA: replies in order */
	RC_BODY,	/* 354 seen, the message going out */
	RC_DOT,		/* ".", waiting for the final reply */
	RC_IDLE,	/* transaction done, kept for the next job */
	RC_QUIT,	/* QUIT sent; freed on its reply, EOF or timeout */
};

#define REMOTE_DATA_INIT_SEC	120	/* RFC 5321 4.5.3.2.4: the 354 */

enum remote_cmd_kind { CMD_MAIL, CMD_RCPT, CMD_DATA };

struct remote_cmd {
	enum remote_cmd_kind	 kind;
	size_t			 rcpt;	/* CMD_RCPT: index in the job */
};

struct remote_conn {
	struct remote		*r;
	struct remote_attempt	*a;	/* NULL when idle or quitting */
	enum remote_conn_state	 state;
	struct bufferevent	*bev;
	struct event		*timer;
	struct smtp_resp	 resp;
	struct remote_ehlo	 ehlo;
	bool			 tls, authed, no_starttls;
	bool			 reused;	/* taken from r->idle once */
	char			 host[SMTP_DOMAIN_MAX + 1];
	char			 ip[INET6_ADDRSTRLEN];
	char			 tls_version[16];
	char			*key;	/* destination, while idle */

	/* The transaction in progress. */
	struct remote_cmd	*cmds;
	size_t			 ncmds, nsent, nanswered;
	bool			 mail_answered, mail_ok;
	size_t			 naccepted;
	struct remote_body_enc	 enc;
	uint64_t		 body_pos;
	char			*chunk;

	struct remote_conn	*prev, *next;	/* r->idle, r->quitting, r->dead */
	struct remote_conn	**list;		/* which one, or NULL */
	bool			 dead;		/* closed, waiting for the reap */
};

/* remote_conn.c */

/*
 * Connects a to sa (port set) for mx host; a->conn is set. -1 when the
 * connection cannot even start (reason recorded with remote_attempt_temp).
 */
int	remote_conn_open(struct remote_attempt *a, const struct sockaddr *sa,
	    const char *host, bool no_starttls);
/* A reply came where none was expected while an attempt uses c: the host
 * fails (before MAIL was answered) or the transaction ends, as on EOF. */
void	remote_conn_fail_unexpected(struct remote_conn *c);
/* An idle connection to key, taken out of r->idle, or NULL. */
struct remote_conn *remote_conn_take_idle(struct remote *r, const char *key);
/* Starts a's transaction on an idle connection taken for it. */
void	remote_conn_reuse(struct remote_conn *c, struct remote_attempt *a);
/* Closes at once, whatever it is doing: the socket, timer and buffers
 * go now, the struct at the next reap (c->dead is then true). */
void	remote_conn_free(struct remote_conn *c);
/* The reap event: frees the closed connections (also from remote_free). */
void	remote_conn_reap_cb(evutil_socket_t fd, short what, void *arg);

/* "NNN X.Y.Z text" for a parsed reply, the enhanced code made up from the
 * class when the peer sent none; one line of at most outlen - 1 bytes. */
void	remote_conn_reply_format(const struct smtp_resp *resp, char *out,
	    size_t outlen);
/* The timeout of the reply awaited in state st (RFC 5321 4.5.3.2). */
unsigned remote_conn_timeout_sec(enum remote_conn_state st);
void	remote_conn_arm_sec(struct remote_conn *c, unsigned sec);
/* Enters st and arms its timeout. */
void	remote_conn_set_state(struct remote_conn *c, enum remote_conn_state st);
void	remote_conn_send(struct remote_conn *c, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* A reply that stops this host, made a 4xx (remote_conn.c says how). */
void	remote_conn_temp_reply(struct remote_conn *c,
	    const struct smtp_resp *resp, const char *what, char *out,
	    size_t outlen);
/* A warning: event "remote_host_failed" or "remote_tx_failed". */
void	remote_conn_log_fail(struct remote_conn *c, const char *event,
	    const char *reply);
/* This host fails before MAIL was answered: the attempt moves on. */
void	remote_conn_host_fail(struct remote_conn *c, enum remote_rank rank,
	    const char *reply, bool polite, bool retry_clear);
void	remote_conn_host_failf(struct remote_conn *c, enum remote_rank rank,
	    bool polite, bool retry_clear, const char *fmt, ...)
	    __attribute__((format(printf, 5, 6)));
/* The transaction ends with reply for every recipient not final; c is
 * kept idle (keep), closed (abort) or quits. */
void	remote_conn_tx_end(struct remote_conn *c, const char *reply, bool keep,
	    bool abort);
void	remote_conn_read_cb(struct bufferevent *bev, void *arg);
void	remote_conn_write_cb(struct bufferevent *bev, void *arg);
void	remote_conn_event_cb(struct bufferevent *bev, short what, void *arg);

/* remote_smtp.c */
void	remote_smtp_on_reply(struct remote_conn *c, const struct smtp_resp *resp);
/* Queues body up to REMOTE_OUT_HIGH (write callback, state RC_BODY). */
void	remote_smtp_fill(struct remote_conn *c);
void	remote_smtp_send_ehlo(struct remote_conn *c);
/* Do delivery.tls or the relayhost's AUTH demand TLS of this peer? */
bool	remote_smtp_tls_needed(const struct remote_conn *c);
/* MAIL, RCPT..., DATA for c->a's recipients still open. */
void	remote_smtp_begin_tx(struct remote_conn *c);

#endif
