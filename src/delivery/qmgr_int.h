/*
 * qmgr_int: what qmgr.c (the schedule and the delivery chain) and
 * qmgr_notice.c (DSNs and auto-replies) share. Everything here runs on the
 * queue manager's loop unless it says otherwise.
 */
#ifndef POSTERN_QMGR_INT_H
#define POSTERN_QMGR_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/config.h"
#include "core/ids.h"
#include "core/log.h"
#include "delivery/local.h"
#include "queue/queue.h"

struct event;
struct event_base;
struct pool;
struct dns;
struct remote;
struct dirconn;

#define QMGR_THREADS		8
#define QMGR_SCAN_SEC		30
#define QMGR_MSGS_MAX		200000	/* messages known at once */
#define QMGR_ACTIVE_MAX		1000	/* messages being worked at once */
#define QMGR_CONN_MAX		100	/* outbound attempts at once */
#define QMGR_DEST_MAX		20	/* ... to one destination */
#define QMGR_BUSY_RETRY_SEC	5	/* another process holds the lock */
#define QMGR_STOP_GRACE_SEC	10	/* then attempts in progress are cut */
#define QMGR_HASH		65536
#define QMGR_HEADERS_MAX	(64 * 1024)
#define QMGR_AUTOREPLY_MAX	256	/* auto-reply chains at once */

struct qmgr;
struct qmsg;

/* One attempt: the due recipients of one message for one destination. */
struct qjob {
	struct qmsg	*m;
	char		*dest;		/* domain, or "" for the relayhost */
	size_t		*idx;		/* recipient indexes */
	size_t		 n;
	bool		 started, done;
};

/* A DSN being prepared for some of a message's recipients. */
struct qdsn {
	struct qmsg	*m;
	char		*to;		/* the address it goes to */
	size_t		*idx;		/* the bounced recipients it reports */
	size_t		 n;
	char		**targets;	/* "L\tkey" / "R\taddress" from the route */
	size_t		 ntargets;
};

struct qmsg {
	struct qmsg	*hnext;
	size_t		 pos;		/* in q->msgs */
	char		 id[QUEUE_ID_LEN + 1];
	int64_t		 due;		/* unix seconds; 0 = now */
	bool		 busy;
	bool		 ready;		/* in q->ready */
	bool		 recovering;	/* may have been worked on before */
	bool		 retired;

	/* while busy */
	struct qmgr	*q;
	enum local_rc	 lrc;
	struct queue_env env;
	int		 fd;
	int64_t		 now;
	bool		*dirty;
	bool		*was_final;	/* final before this round */
	bool		*autoreply;	/* copy made: ask for an auto-reply */
	char		*headers;	/* the original's header section, when
					 * RFC 3834 allows a reply to it */
	size_t		 headers_len;
	struct qjob	*jobs;
	size_t		 njobs, jobs_left;
	struct qdsn	 dsn[2];	/* to the sender, to the quarantine */
	size_t		 asks_left;	/* directory questions outstanding */
	int		*policy;	/* per recipient: 1 send, 2 quarantine, 0 drop */
	char		 dsn_ids[2][QUEUE_ID_LEN + 1];
};

struct qdest {
	char		*name;
	unsigned	 active;
};

struct qmgr {
	const struct config	*cfg;
	struct event_base	*base;
	struct pool		*pool;
	struct dns		*dns;
	struct remote		*remote;
	struct dirconn		*dirc;
	struct qmsg		*hash[QMGR_HASH];
	struct qmsg		**msgs;
	size_t			 nmsgs, capmsgs;
	struct qmsg		**ready;	/* due, waiting for their turn */
	size_t			 nready, capready;
	size_t			 nactive;	/* busy messages */
	size_t			 nreplies;	/* auto-reply chains */
	struct qjob		**waiting;	/* attempts waiting for a slot */
	size_t			 nwaiting, capwaiting;
	struct qdest		*dests;
	size_t			 ndests;
	size_t			 nconns;
	bool			 stopping;
	int64_t			 stop_at;
	int64_t			 last_scan;
	struct log_ctx		 log;
	struct event		*tick;
	struct event		*ev_notify;
};

int64_t	qmgr_now(void);
/* A message just queued (by a worker, or here): due now, fresh. */
void	qmgr_announce(struct qmgr *q, const char *id);
/* Starts ready messages and waiting attempts within the limits. */
void	qmgr_pump(struct qmgr *q);
/* Queues the DSNs planned, records the round, retires a finished file. */
void	qmgr_finish_now(struct qmsg *m);
const char *qmgr_domain_of(const char *addr);
int64_t	qmgr_deadline(const struct qmsg *m);
/* A copy that may call for an auto-reply. */
bool	qmgr_may_reply(const struct queue_rcpt *r);

/* qmgr_notice.c */
/* Every attempt of m has reported: decide its DSNs, then finish. */
void	qmgr_finish(struct qmsg *m);
void	qmgr_autoreply_start(struct qmsg *m, size_t i);
typedef void (*qmgr_route_fn)(void *arg, char **targets, size_t n);
/* Where mail to addr goes, as the directory says for a trusted sender;
 * fn gets n == 0 when nowhere. */
void	qmgr_route(struct qmgr *q, const char *addr, qmgr_route_fn fn, void *arg);
/* On a pool thread: a new message from <> for targets into the queue. */
int	qmgr_inject(struct qmgr *q, char *const *targets, size_t n,
	    const char *orig, const struct buf *msg, char id_out[QUEUE_ID_LEN + 1]);

#endif
