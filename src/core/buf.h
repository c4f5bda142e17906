/*
 * buf: the only growable byte string in postern, and span, a borrowed view.
 * Every buf has a hard ceiling fixed at buf_init(); growing past it is the
 * peer's fault, reported as -1 with `overflowed` latched, never a crash.
 */
#ifndef POSTERN_BUF_H
#define POSTERN_BUF_H

#include <stdbool.h>
#include <stddef.h>

struct buf {
	char	*data;		/* always NUL-terminated once allocated */
	size_t	 len, cap;	/* len excludes the NUL */
	size_t	 max;		/* hard ceiling fixed at buf_init() */
	bool	 overflowed;	/* latched when an append would pass max */
};

struct span {
	const char	*ptr;
	size_t		 len;
};

#define SPAN_LIT(s)	((struct span){ (s), sizeof(s) - 1 })

void	buf_init(struct buf *b, size_t max);
int	buf_append(struct buf *b, const void *src, size_t n);	/* 0 or -1 */
int	buf_append_str(struct buf *b, const char *s);
int	buf_append_span(struct buf *b, struct span s);
int	buf_printf(struct buf *b, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	buf_consume(struct buf *b, size_t n);	/* drop n bytes from front */
void	buf_reset(struct buf *b);		/* len = 0, keeps memory */
void	buf_free(struct buf *b);
void	buf_wipe(struct buf *b);		/* explicit_bzero, then free */
const char *buf_cstr(const struct buf *b);	/* "" when never allocated */

struct span span_from_cstr(const char *s);
bool	span_eq_nocase(struct span a, const char *lit);
bool	span_startswith_nocase(struct span a, const char *lit);
struct span span_trim(struct span s);	/* strip SP and HTAB both ends */

#endif
