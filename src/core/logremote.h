/*
 * logremote: the relay that copies log lines to a log server (SPEC
 * section 2 `log.remote`, section 6): RFC 5424 messages (formatted by
 * core/logremote_fmt.h) over UDP, one datagram each (RFC 5426), or over TCP
 * with octet-counting framing (RFC 6587 3.4.1). It runs on the master's
 * loop and never blocks it: messages wait in one bounded buffer, whatever
 * does not fit is dropped and counted, and a lost TCP connection is retried
 * with back-off. Children send their lines as datagrams (log.h,
 * log_remote_attach()); a logremote_source reads them. docs/logging.md.
 */
#ifndef POSTERN_LOGREMOTE_H
#define POSTERN_LOGREMOTE_H

#include <event2/event.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/buf.h"
#include "core/log.h"

#define LOGREMOTE_BACKOFF_FIRST_MSEC	1000	/* first retry after a failure */
#define LOGREMOTE_BACKOFF_MAX_MSEC	30000	/* doubling up to this */
#define LOGREMOTE_CONNECT_SEC		10	/* a TCP connect that hangs */

struct logremote;
struct logremote_source;

/*
 * A relay on base. Its own events (connection up or down, drops) are logged
 * with log, which must outlive it. Starts without a target: messages are
 * discarded until logremote_configure() gives one.
 */
struct logremote *logremote_new(struct event_base *base, const struct log_ctx *log);

/*
 * target: "" (off: whatever waits is discarded) or a log.remote string;
 * hostname: the HOSTNAME of the messages formatted from now on. The same
 * target as before keeps the connection and the buffer; another one closes
 * the connection and sends what waits to the new one. A name is resolved
 * here with getaddrinfo() (blocking: the master does it at start and at
 * reload only); the first address is used. Returns 0, or -1 with err set
 * when the target is malformed or does not resolve: the relay then keeps
 * no target, and counts every message as dropped until the next call.
 */
int	logremote_configure(struct logremote *r, const char *target,
	    const char *hostname, char *err, size_t errlen);

/*
 * Formats one line from process pid (<= 0: none) and appends it to the
 * buffer, or counts it dropped when the buffer is full (the newest is
 * dropped: what waits keeps its order). Does no I/O and logs nothing, so it
 * may run inside log_line_end(): sending happens on the loop.
 */
void	logremote_enqueue(struct logremote *r, enum log_level lvl, pid_t pid,
	    struct span line);

/* A log_remote_fn for log_remote_hook(): enqueues as this process. Like
 * every function here, on the loop's thread only (the master has no other). */
void	logremote_log_hook(void *arg, enum log_level lvl, struct span line);

/*
 * Reads a child's datagrams from fd (the master's end of its socketpair;
 * ownership passes here) and enqueues them as process pid. Datagrams are
 * checked (logremote_fmt_datagram()); bad ones are discarded and counted.
 */
struct logremote_source *logremote_source_new(struct logremote *r, int fd,
	    pid_t pid);
/* Enqueues what is still in the socket (a child that just exited has said
 * its last), then closes fd and frees; *sp = NULL. */
void	logremote_source_free(struct logremote_source **sp);

/*
 * At stop: runs base until the buffer is sent or timeout_msec passes
 * (connecting once more if the connection is down). Other events of base
 * run meanwhile.
 */
void	logremote_flush(struct logremote *r, unsigned timeout_msec);

/* In a child just forked from the process that owns r: closes r's
 * descriptors (the log server connection, every source) without touching
 * any event or memory. r must never be used in that child again. */
void	logremote_close_after_fork(struct logremote *r);

/* Logs the drops not yet reported, then frees r, its sources and whatever
 * waits; *rp = NULL. Unhook it first. */
void	logremote_free(struct logremote **rp);

struct logremote_stats {
	uint64_t	 enqueued;	/* messages accepted into the buffer */
	uint64_t	 sent;		/* written whole to the socket */
	uint64_t	 dropped;	/* buffer full, no target, UDP errors */
	uint64_t	 invalid;	/* bad datagrams from sources */
	uint64_t	 connects;	/* connections made (UDP: sockets) */
	size_t		 pending_msgs, pending_bytes;
	bool		 connected;
};

void	logremote_get_stats(const struct logremote *r, struct logremote_stats *out);

/* Tests: back-off in milliseconds, and the period of the drop reports
 * (LOG_REMOTE_REPORT_SEC seconds by default). */
void	logremote_set_timing(struct logremote *r, unsigned backoff_first_msec,
	    unsigned backoff_max_msec, unsigned report_msec);

#endif
