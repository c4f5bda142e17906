/*
 * clamd: a ClamAV daemon client (clamd(8) INSTREAM). One connection per
 * message: "zINSTREAM\0", then the message in chunks (4-byte network
 * order length, then the bytes), then a zero length; clamd answers one
 * NUL-terminated line, "stream: OK", "stream: <signature> FOUND" or
 * "... ERROR". The message is read from a file (the queue file being
 * written) in CLAMD_CHUNK pieces, each sent when the previous one has
 * left the socket buffer, so memory does not grow with the message.
 */
#ifndef POSTERN_CLAMD_H
#define POSTERN_CLAMD_H

#include <stddef.h>
#include <stdint.h>

#include "filter/filter_conn.h"

struct event_base;

#define CLAMD_CHUNK		(64 * 1024)	/* one INSTREAM chunk: ours */
#define CLAMD_TIMEOUT_SEC	60	/* whole scan after connect: ours */
#define CLAMD_REPLY_MAX		1024	/* clamd's answer line: ours */

enum clamd_result {
	CLAMD_CLEAN,
	CLAMD_FOUND,	/* detail = the signature name */
	CLAMD_ERROR,	/* detail = why: connect failure, timeout, clamd's ERROR */
};

/*
 * Parses clamd's answer line (without its NUL): the verdict, and into
 * detail (detaillen bytes) the signature or the error text, printable
 * ASCII only. Pure; fuzzed.
 */
enum clamd_result clamd_parse_reply(const char *line, size_t len,
	    char *detail, size_t detaillen);

typedef void (*clamd_done_fn)(void *arg, enum clamd_result r,
	    const char *detail);
struct clamd_scan;

/*
 * Scans bytes [off, off + len) of fd (pread; fd stays the caller's and
 * must stay open until done or cancel). done runs once, later, on the
 * loop, never inside the call; the scan is freed before done runs, so
 * the caller forgets its pointer there (and never cancels it after).
 * The whole scan is bounded: FILTER_CONNECT_SEC to connect, then
 * CLAMD_TIMEOUT_SEC. Holds at most about 1.5 CLAMD_CHUNK of the message.
 */
struct clamd_scan *clamd_scan_start(struct event_base *base,
	    const struct filter_endpoint *ep, int fd, uint64_t off,
	    uint64_t len, clamd_done_fn done, void *arg);
/* Stops a scan: done never runs. */
void	clamd_scan_cancel(struct clamd_scan **sp);

#endif
