/*
 * msess: the connection layer shared by the mailbox protocols (POP3 and
 * IMAP4), run in the mailbox worker processes (server/mworker.c).
 *
 * It owns everything that is not the protocol: the connection limits and
 * the ban check at connect (dird IPCM_CONNECT: a banned IP is closed before
 * any greeting), implicit TLS (pop3s, imaps) and the STARTTLS/STLS upgrade
 * (input still buffered is discarded, never executed), the idle timer,
 * output pacing for clients that do not read, logins through dird (the
 * per-IP ban counting of SMTP AUTH, the `event=login` log line, the
 * smtp_after_pop window), and one inotify instance per process that every
 * session's folder watches share.
 *
 * A protocol is a struct msess_proto: msess calls it when the connection
 * is ready (greeting), when input arrives, when output has drained, on
 * idle timeout and at close. Every callback runs on the loop; none may
 * block.
 */
#ifndef POSTERN_MSESS_H
#define POSTERN_MSESS_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/config.h"
#include "core/log.h"
#include "ipc/ipc.h"

struct event_base;
struct evbuffer;
struct msess;
struct msess_watch;

/* Output above this (TLS and socket layers together) stops a producer:
 * it waits for drained(). */
#define MSESS_OUT_HIGH	(256 * 1024)
/* drained() is called once output falls to this. */
#define MSESS_OUT_LOW	(64 * 1024)

enum msess_login_rc {
	MSESS_LOGIN_OK,
	MSESS_LOGIN_FAIL,	/* wrong user or password, or user disabled */
	MSESS_LOGIN_BANNED,	/* this failure banned the IP, or it was banned
				 * already (since the connect check): close */
	MSESS_LOGIN_TEMPFAIL,	/* directory unreachable or no answer in 30 s */
};

/*
 * The result of msess_login(). mailbox is the user's key "local@domain"
 * (lower case, as the directory stores it) with MSESS_LOGIN_OK, else NULL;
 * it lives until the callback returns.
 */
typedef void (*msess_login_fn)(void *arg, enum msess_login_rc rc,
	    const char *mailbox);

/* What the sessions of one mailbox worker share. Filled by mworker.c. */
struct msrv {
	const struct config	*cfg;
	struct event_base	*base;
	SSL_CTX			*tls;
	/* Asks the directory process (ipc_proto.h). fn runs later on the
	 * loop, never inside the call; reply NULL when unreachable. */
	int			(*dir_call)(void *arg, struct ipc_msg *req,
				    ipc_reply_fn fn, void *fn_arg);
	void			*dir_arg;
	/* Connection limits, as struct smtp_server's. */
	int			(*admit)(void *arg, const struct sockaddr *peer);
	void			*admit_arg;
	void			(*closed)(void *arg, const struct sockaddr *peer);
	void			*closed_arg;
	size_t			 nsessions;	/* live connections */
	bool			 draining;	/* SIGTERM: close every session */
	struct msess		*sessions;	/* every live connection */
	/* The process's inotify instance (msess_watch_*); -1 = none. */
	int			 inotify_fd;
	struct event		*inotify_ev;
	struct event		*poll_ev;	/* fallback without inotify */
	struct msess_watch	*watches;
	struct log_ctx		 log;
};

/* A mailbox protocol. p is what open() returned. */
struct msess_proto {
	const char	*name;		/* "pop3", "imap": log service names */
	/*
	 * The connection is ready (admitted, not banned, TLS up for implicit
	 * TLS): send the greeting. Returns the protocol's session state,
	 * never NULL.
	 */
	void	*(*open)(struct msess *c);
	/*
	 * Bytes are waiting in msess_input(c). Consume what can be used; the
	 * rest stays for the next call. Not called while msess_pause_input()
	 * is in force.
	 */
	void	 (*input)(void *p);
	/* Output fell to MSESS_OUT_LOW after msess_out_full() was true. */
	void	 (*drained)(void *p);
	/* No input for the idle time (msess_set_idle()). The protocol says
	 * goodbye its way and calls msess_close(). */
	void	 (*timeout)(void *p);
	/* The server is stopping (SIGTERM): say goodbye and msess_close(). */
	void	 (*shutdown)(void *p);
	/* The connection is gone (closed by either side): free p. After this
	 * no callback comes, and c must not be used. */
	void	 (*close)(void *p);
};

/* Accepts fd from listener cl (pop3, pop3s, imap or imaps). Takes fd. */
void	msess_start(struct msrv *srv, const struct msess_proto *proto,
	    const struct cfg_listen *cl, int fd, const struct sockaddr *sa,
	    socklen_t salen);
/* SIGTERM: every session's shutdown(), then they close. */
void	msess_server_drain(struct msrv *srv);

/* ---- for the protocol ---- */

struct msrv		*msess_server(struct msess *c);
const struct config	*msess_config(struct msess *c);
const struct cfg_listen	*msess_listener(struct msess *c);
const char		*msess_ip(struct msess *c);	/* "192.0.2.1", "2001:db8::1" */
const char		*msess_id(struct msess *c);	/* session id for logs */
struct log_ctx		*msess_log(struct msess *c);	/* service + session set */
bool			 msess_tls(struct msess *c);	/* TLS is up */
const char		*msess_tls_version(struct msess *c);	/* "TLSv1.3" or "none" */

/* Input: the bytes received and not consumed yet (plaintext after TLS). */
struct evbuffer	*msess_input(struct msess *c);
/* Stop / resume calling input() (e.g. while waiting for a login). Input
 * keeps being read into the buffer up to 256 KiB, then reading stops. */
void	msess_pause_input(struct msess *c, bool paused);

/* Output. Appends bytes; never blocks. */
void	msess_write(struct msess *c, const void *data, size_t len);
void	msess_printf(struct msess *c, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* The output evbuffer itself, for evbuffer_add_* by producers. */
struct evbuffer	*msess_output(struct msess *c);
/* More than MSESS_OUT_HIGH waits to go out: stop producing until
 * drained(). */
bool	msess_out_full(struct msess *c);

/*
 * STARTTLS / STLS: call right after writing the positive reply. Any
 * input already buffered (pipelined in plaintext) is discarded and logged
 * (`event=starttls_injection`); the reply is flushed in plaintext and the
 * handshake starts. -1 when TLS is already up or not configured.
 */
int	msess_starttls(struct msess *c);

/* Idle timer: input() not called for sec seconds -> timeout(). 0 = off.
 * Restarted by every input. */
void	msess_set_idle(struct msess *c, unsigned sec);

/*
 * Closes once the output already written has gone out (at most 10 s
 * more), logging `event=disconnect reason=...`. Afterwards close().
 */
void	msess_close(struct msess *c, const char *reason);

/*
 * Checks user/pass with the directory (IPCM_AUTH, with the IP: failures
 * count toward the per-IP ban exactly as SMTP AUTH's do), logs
 * `event=login ip= user= result=ok|fail|banned|tempfail` (never the
 * password) and, on success with relay.smtp_after_pop > 0, opens the
 * smtp_after_pop window for the IP. fn runs later, on the loop, unless the
 * session closes first; at most 30 s later (then TEMPFAIL, and a late
 * answer of the directory is ignored). The caller should wipe pass after
 * the call (it is copied; msess wipes its copies once sent).
 */
void	msess_login(struct msess *c, const char *user, const char *pass,
	    msess_login_fn fn, void *arg);

/*
 * Change notifications for a directory (a folder's new/ or cur/): cb runs
 * on the loop soon after an entry in dir is created, renamed or removed,
 * by anyone. Watches on one directory share one inotify watch. Without
 * inotify (or past its limits) every cb runs every 2 s instead. dir is
 * relative to the worker's root (data_dir/mail). NULL only on bad input.
 */
struct msess_watch *msess_watch_add(struct msess *c, const char *dir,
	    void (*cb)(void *arg), void *arg);
void	msess_watch_del(struct msess_watch **wp);

#endif
