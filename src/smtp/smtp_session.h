/*
 * smtp_session: one SMTP connection (RFC 5321) on an event loop, for the
 * smtp, submission and submissions services. The read loop frames lines and
 * DATA; command handlers (smtp_cmd_*.c) take one parsed command and queue
 * replies; blocking work (password checks, fsync) goes to the pool and the
 * session waits (busy) without reading further pipelined commands.
 */
#ifndef POSTERN_SMTP_SESSION_H
#define POSTERN_SMTP_SESSION_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/buf.h"
#include "core/config.h"
#include "core/log.h"
#include "ipc/ipc.h"
#include "queue/queue.h"
#include "smtp/smtp_addr.h"
#include "smtp/smtp_data.h"
#include "smtp/smtp_parse.h"

struct bufferevent;
struct event;
struct event_base;
struct queue_committer;
struct queue_writer;
struct dns;
struct smtp_checks;
struct smtp_filter;
struct filter_endpoints;

/* A mailbox or remote address a message goes to, as the directory
 * process decided it (ipc_proto.h IPCM_RCPT). */
struct smtp_target {
	enum queue_kind	 kind;
	char		*key;		/* "local@domain" or the remote address */
	char		*orig;		/* the first RCPT TO that led here, as written */
	uint64_t	 quota;		/* bytes, 0 = none */
};

/* What the sessions of one worker share. */
struct smtp_server {
	const struct config	*cfg;
	struct event_base	*base;
	SSL_CTX			*tls;
	/*
	 * Asks the directory process (ipc_proto.h). fn runs later on the loop,
	 * never inside the call; reply NULL when the directory is unreachable.
	 */
	int			(*dir_call)(void *arg, struct ipc_msg *req,
				    ipc_reply_fn fn, void *fn_arg);
	void			*dir_arg;
	struct queue_committer	*committer;
	struct dns		*dns;		/* the checks' lookups; NULL = none */
	/* clamd and the milters (filters.*), NULL = none */
	const struct filter_endpoints *feps;
	/* Called after a message is durable, to wake the queue manager. */
	void			(*queued)(void *arg, const char *queue_id);
	void			*queued_arg;
	/* Connection limits: 0 admitted, 1 over connections_per_ip, 2 over
	 * connections. An admitted peer is released by closed(). */
	int			(*admit)(void *arg, const struct sockaddr *peer);
	void			*admit_arg;
	/* Called when an admitted session ends. */
	void			(*closed)(void *arg, const struct sockaddr *peer);
	void			*closed_arg;
	struct smtp_session	*sessions;	/* every live session */
	size_t			 nsessions;
	bool			 draining;	/* SIGTERM: finish and close */
};

enum smtp_state {
	SMTP_STATE_CONNECTED,	/* before the banner (TLS handshake, greet delay) */
	SMTP_STATE_GREETED,	/* banner sent, waiting for EHLO/HELO */
	SMTP_STATE_READY,	/* greeted, no transaction open */
	SMTP_STATE_MAIL,	/* MAIL accepted, no RCPT yet */
	SMTP_STATE_RCPT,	/* one or more RCPT accepted */
	SMTP_STATE_DATA,	/* body bytes go to the DATA decoder */
	SMTP_STATE_CLOSING,	/* flush replies, then close */
};

enum smtp_auth_step { SMTP_AUTH_NONE, SMTP_AUTH_PLAIN, SMTP_AUTH_LOGIN_USER,
	SMTP_AUTH_LOGIN_PASS };

struct smtp_session {
	struct smtp_server	*srv;
	const struct config	*cfg;
	const struct cfg_listen	*listen;
	struct bufferevent	*bev;		/* NULL until the connect check passed */
	int			 fd;
	struct event		*timer;		/* idle timeout, greet delay */
	struct log_ctx		 log;
	struct sockaddr_storage	 peer;
	char			 ip[64];
	enum smtp_state		 state;
	bool			 tls;
	bool			 esmtp;
	bool			 trusted;	/* this transaction: trusted network,
						 * access trust or SMTP-after-POP */
	bool			 busy;		/* waiting for the pool/committer */
	bool			 dead;		/* closed while busy: free at completion */
	bool			 free_pending;	/* a free is scheduled or done */
	unsigned		 linger_ticks;
	bool			 skip_line;	/* inside an over-long line */
	bool			 draining_close;
	unsigned		 errors;
	char			*helo;
	char			*auth_user;	/* NULL until AUTH succeeds */
	enum smtp_auth_step	 auth_step;
	char			*auth_login_user;
	const char		*close_reason;

	/* The transaction. */
	char			*from;		/* as text, "" for <> */
	char			*from_key;	/* lower case, for checks */
	char			*from_domain;
	bool			 smtputf8;
	uint64_t		 declared_size;
	struct smtp_target	*targets;	/* deduplicated mailboxes */
	size_t			 ntargets;
	char			**rcpt_text;	/* accepted RCPT addresses */
	char			*rcpt_pending;	/* the RCPT the directory is asked about */
	size_t			 nrcpt;
	struct buf		 rcpt_log;	/* " rcpt=a:250 rcpt=b:550" pieces */
	struct queue_writer	*qw;
	char			 queue_id[20];
	struct smtp_data_dec	 dec;
	struct buf		 dout;		/* decoder output, per feed */
	struct buf		 hdr;		/* header section until it ends */
	bool			 hdr_done;
	bool			 too_big;
	bool			 write_failed;
	uint64_t		 max_size;
	char			*msgid;
	char			*auth_try_user;	/* during an AUTH exchange */
	struct smtp_checks	*checks;	/* DNS checks, NULL until needed */
	struct smtp_filter	*filt;		/* content filters, NULL = none */

	struct smtp_session	*next, *prev;	/* srv->sessions */
};

/* Takes ownership of fd (accepted, non-blocking). */
void	smtp_session_start(struct smtp_server *srv, const struct cfg_listen *l,
	    int fd, const struct sockaddr *peer, socklen_t peerlen);
/* SIGTERM: idle sessions get 421 now, busy ones after their reply. */
void	smtp_server_drain(struct smtp_server *srv);

/* For the command handlers. */
void	smtp_reply(struct smtp_session *s, int code, const char *esc,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void	smtp_reply_raw(struct smtp_session *s, const char *text);
void	smtp_session_set_state(struct smtp_session *s, enum smtp_state st);
void	smtp_session_close(struct smtp_session *s, const char *reason);
void	smtp_session_reset_tx(struct smtp_session *s, const char *why);
void	smtp_session_resume(struct smtp_session *s);
bool	smtp_session_may_auth(const struct smtp_session *s);
bool	smtp_session_is_submission(const struct smtp_session *s);
/* Trusted networks, `access trust` entries, and SMTP-after-POP, as decided
 * by the directory process at the MAIL of the current transaction. */
bool	smtp_session_trusted_now(struct smtp_session *s);
/*
 * Sends req to the directory process and waits (busy): the session reads
 * no further command until fn(s, reply) has run. reply NULL = the directory
 * is unreachable (answer 451 4.3.0). If fn starts no other wait, the
 * session then goes on with pipelined input.
 */
typedef void (*smtp_dir_fn)(struct smtp_session *s, const struct ipc_msg *reply);
void	smtp_session_dir_call(struct smtp_session *s, struct ipc_msg *req,
	    smtp_dir_fn fn);
/* The verdict of a directory reply (IPCV_TEMPFAIL when reply is NULL). */
unsigned smtp_dir_verdict(const struct ipc_msg *reply);
void	smtp_tempfail(struct smtp_session *s);
/* Logs the transaction summary line (SPEC section 6). */
void	smtp_session_log_tx(struct smtp_session *s, const char *reply);
void	smtp_tx_log_rcpt(struct smtp_session *s, const char *addr, int code);

void	smtp_cmd_helo(struct smtp_session *s, const struct smtp_cmd *cmd);
void	smtp_cmd_ehlo(struct smtp_session *s, const struct smtp_cmd *cmd);
void	smtp_cmd_starttls(struct smtp_session *s, const struct smtp_cmd *cmd);
void	smtp_cmd_rset(struct smtp_session *s, const struct smtp_cmd *cmd);
void	smtp_cmd_noop(struct smtp_session *s, const struct smtp_cmd *cmd);
void	smtp_cmd_quit(struct smtp_session *s, const struct smtp_cmd *cmd);
void	smtp_cmd_vrfy(struct smtp_session *s, const struct smtp_cmd *cmd);
void	smtp_cmd_expn(struct smtp_session *s, const struct smtp_cmd *cmd);
void	smtp_cmd_help(struct smtp_session *s, const struct smtp_cmd *cmd);
void	smtp_cmd_auth(struct smtp_session *s, const struct smtp_cmd *cmd);
void	smtp_auth_line(struct smtp_session *s, struct span line);
void	smtp_auth_line_login_user(struct smtp_session *s, struct span b64);
void	smtp_cmd_mail(struct smtp_session *s, const struct smtp_cmd *cmd);
void	smtp_cmd_rcpt(struct smtp_session *s, const struct smtp_cmd *cmd);
void	smtp_cmd_data(struct smtp_session *s, const struct smtp_cmd *cmd);
/* The queue envelope of the transaction (a fresh id; strings borrowed
 * from the session: clear only rcpts). */
void	smtp_data_make_env(struct smtp_session *s, struct queue_env *env);
/* Feeds buffered DATA bytes; returns false when it must stop reading. */
bool	smtp_data_consume(struct smtp_session *s);

#endif
