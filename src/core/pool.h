/*
 * pool: a small thread pool for the blocking work that must never run on an
 * event loop (password hashing, fsync, SQLite writes). A job runs on a pool
 * thread; its completion runs back on the loop thread that submitted it, so
 * protocol code never touches shared state from another thread.
 */
#ifndef POSTERN_POOL_H
#define POSTERN_POOL_H

#include <stddef.h>

struct event_base;
struct pool;

typedef void (*pool_work_fn)(void *arg);	/* on a pool thread */
typedef void (*pool_done_fn)(void *arg);	/* on the loop thread */

/* nthreads workers; completions are delivered on base. */
struct pool *pool_new(struct event_base *base, unsigned nthreads, const char *name);
/* Queues work; done(arg) runs on the loop once work(arg) has returned. */
void	pool_submit(struct pool *p, pool_work_fn work, pool_done_fn done, void *arg);
/* Jobs queued or running. */
size_t	pool_pending(const struct pool *p);
/* Waits for every queued job, runs their completions, stops the threads. */
void	pool_free(struct pool **pp);

#endif
