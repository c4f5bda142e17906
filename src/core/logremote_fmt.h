/*
 * logremote_fmt: the pure half of the remote log (SPEC section 2,
 * `log.remote`): the target string, and one log line turned into an RFC
 * 5424 message. No I/O; the input of logremote_fmt_datagram() comes from
 * another process and is treated as hostile. core/logremote.h sends.
 */
#ifndef POSTERN_LOGREMOTE_FMT_H
#define POSTERN_LOGREMOTE_FMT_H

#include <sys/types.h>

#include "core/buf.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/parse.h"

#define LOGREMOTE_HOST_MAX	255	/* RFC 1035 2.3.4 name; RFC 5424 HOSTNAME */
#define LOGREMOTE_MSGID_MAX	32	/* RFC 5424 6.2.7 */
#define LOGREMOTE_TS_LEN	24	/* 2026-03-02T09:14:07.221Z, log.c's form */
/* One formatted message: the header (PRI, version, timestamp, hostname,
 * app-name, procid, msgid, structured data; under 360 bytes) and a line. */
#define LOGREMOTE_MSG_MAX	(LOG_LINE_MAX + 512)

enum logremote_proto { LOGREMOTE_UDP, LOGREMOTE_TCP };

struct logremote_target {
	enum logremote_proto	 proto;
	char			 host[LOGREMOTE_HOST_MAX + 1];	/* no brackets */
	char			 port[6];			/* 1..65535 */
};

/*
 * "udp://HOST:PORT" or "tcp://HOST:PORT": HOST an IPv4 address, a DNS name
 * (letters, digits, '-', '_'; labels of 1..63, at most 255 bytes, no
 * trailing dot) or "[IPv6]"; PORT 1..65535 in decimal. PARSE_TOO_LONG past
 * LOGREMOTE_TARGET_MAX bytes, PARSE_INVALID for anything else malformed.
 * *out is written only on PARSE_OK.
 */
enum parse_rc logremote_fmt_parse_target(struct span in,
	    struct logremote_target *out);

/* Who sends: HOSTNAME and PROCID of every message. */
struct logremote_fmt_id {
	char	 hostname[LOGREMOTE_HOST_MAX + 1];	/* PRINTUSASCII or "-" */
	pid_t	 pid;					/* <= 0: "-" */
};

/* Sets id->hostname from s: bytes outside PRINTUSASCII (33..126) become
 * '?', cut at 255 bytes; NULL or "" gives the NILVALUE "-". */
void	logremote_fmt_set_hostname(struct logremote_fmt_id *id, const char *s);

/* RFC 5424 6.2.1: facility mail (2), severity 7/6/4/3 for debug, info,
 * warn, error. */
unsigned logremote_fmt_pri(enum log_level lvl);

/*
 * Appends to out (whose max must be at least LOGREMOTE_MSG_MAX) one RFC
 * 5424 message for a log line (without its newline):
 *   <PRI>1 TIMESTAMP HOSTNAME postern PROCID MSGID - MSG
 * A line that starts with log.c's timestamp gives TIMESTAMP and MSG is the
 * rest of it; otherwise TIMESTAMP is fallback_ts (LOGREMOTE_TS_LEN bytes of
 * the same form) and MSG the whole line. MSGID is the value of the first
 * "event=" at the start of MSG or after a space, when it is 1..32
 * PRINTUSASCII bytes, else "-". In MSG
 * every control byte (0x00-0x1f, 0x7f) becomes '?', and at most
 * LOG_LINE_MAX bytes of the line are used. Returns 0, or -1 when out
 * cannot hold the message (out is then unspecified).
 */
int	logremote_fmt_message(struct buf *out, const struct logremote_fmt_id *id,
	    enum log_level lvl, struct span line, const char *fallback_ts);

/*
 * A datagram from a child (log.h, log_remote_attach()): one byte, the
 * level (LOGL_DEBUG..LOGL_ERROR), then the line. Returns 0 with the
 * message appended to out as logremote_fmt_message() does, or -1 for a
 * datagram that is empty, longer than LOG_LINE_MAX bytes or carries an
 * unknown level (nothing appended).
 */
int	logremote_fmt_datagram(struct buf *out, const struct logremote_fmt_id *id,
	    struct span dgram, const char *fallback_ts);

#endif
