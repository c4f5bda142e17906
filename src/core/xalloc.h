/*
 * xalloc: allocation that never returns NULL. Out of memory is not a peer's
 * fault we can answer, so it ends the process (the master restarts workers).
 * Sizes must be checked against a limit by the caller before allocating.
 */
#ifndef POSTERN_XALLOC_H
#define POSTERN_XALLOC_H

#include <stddef.h>

void	*xmalloc(size_t n);
void	*xcalloc(size_t nmemb, size_t size);
void	*xrealloc(void *p, size_t n);
char	*xstrdup(const char *s);
char	*xstrndup(const char *s, size_t n);
/* Formatted allocation: the returned string belongs to the caller. */
char	*xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Reports a broken invariant or a failed start-up step and exits(1). */
void	 fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
