/*
 * log: one event per line, RFC 3339 UTC timestamp first, then key=value
 * pairs (SPEC section 6). Peer text is quoted and escaped here, so no caller
 * can write a raw CR or LF into the log. Each line is one write(2) to an
 * O_APPEND descriptor, so lines from several processes never interleave.
 */
#ifndef POSTERN_LOG_H
#define POSTERN_LOG_H

#include <stdbool.h>

#include "core/buf.h"

enum log_level { LOGL_DEBUG, LOGL_INFO, LOGL_WARN, LOGL_ERROR };

/* Who is speaking: added to every line. service NULL = omitted. */
struct log_ctx {
	const char	*service;
	char		 session[17];	/* "" = omitted */
};

struct log_line {
	struct buf	 b;
	bool		 active;	/* false when filtered out by level */
	enum log_level	 lvl;
};

/* path NULL or "": stderr. Returns 0 or -1 with *err_out set. */
int	log_open(const char *path, const char **err_out);
void	log_set_level(enum log_level min);
int	log_level_parse(const char *s, enum log_level *out);
const char *log_level_name(enum log_level l);
bool	log_enabled(enum log_level l);

/* Pairs of (const char *key, const char *value), ended by a NULL key; a NULL
 * value is skipped. Values are quoted when needed. */
void	log_kv(const struct log_ctx *ctx, enum log_level lvl, const char *event, ...)
	    __attribute__((sentinel));

void	log_line_begin(struct log_line *l, const struct log_ctx *ctx,
	    enum log_level lvl, const char *event);
void	log_line_add(struct log_line *l, const char *key, const char *value);
void	log_line_add_span(struct log_line *l, const char *key, struct span v);
void	log_line_addf(struct log_line *l, const char *key, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
void	log_line_end(struct log_line *l);

/* Appends v to out, bare when it is safe, else "quoted" with \" \\ and \xNN
 * escapes, truncated after LOG_VALUE_MAX bytes with "...". */
void	log_quote(struct buf *out, struct span v);

/*
 * Remote copies (SPEC section 2, `log.remote`; core/logremote.h). Only the
 * master talks to the log server; every line logged after one of these
 * calls is also handed on, after its local write:
 *
 * log_remote_attach(): in a child, each line goes as one datagram on fd
 * (the master's socketpair, non-blocking): one byte, the level, then the
 * line without its newline. A datagram the socket cannot take at once is
 * dropped, never waited for; the drops are counted and reported locally as
 * `event=log_remote_dropped count=N` (service `service`, which must stay
 * valid): on the first line logged after a drop when the last report is
 * LOG_REMOTE_REPORT_SEC old or more, and at exit(). Thread-safe once
 * attached; fd -1 detaches.
 *
 * log_remote_hook(): in the master, fn(arg, level, line) takes each line
 * (without its newline). fn must neither block nor log. NULL unhooks.
 *
 * Both are to be set while the process has one thread, e.g. after fork().
 */
#define LOG_REMOTE_REPORT_SEC	10

typedef void (*log_remote_fn)(void *arg, enum log_level lvl, struct span line);

void	log_remote_attach(int fd, const char *service);
void	log_remote_hook(log_remote_fn fn, void *arg);

/* Formats now as 2026-03-02T09:14:07.221Z into out (at least 32 bytes). */
void	log_timestamp(char *out, size_t outlen);

#endif
