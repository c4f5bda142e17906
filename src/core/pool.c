/*
 * pool: worker threads plus an eventfd that wakes the loop for completions.
 * Jobs are a FIFO; completions are a second FIFO drained on the loop.
 */
#include <errno.h>
#include <event2/event.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/pool.h"
#include "core/xalloc.h"

struct pool_job {
	pool_work_fn	 work;
	pool_done_fn	 done;
	void		*arg;
	struct pool_job	*next;
};

struct pool {
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	struct pool_job	*head, *tail;		/* waiting to run */
	struct pool_job	*done_head, *done_tail;	/* waiting for the loop */
	size_t		 pending;
	bool		 stopping;
	int		 efd;
	struct event	*ev;
	pthread_t	*threads;
	unsigned	 nthreads;
};

static void *
pool_thread(void *arg)
{
	struct pool *p = arg;
	struct pool_job *j;
	uint64_t one = 1;

	for (;;) {
		pthread_mutex_lock(&p->mu);
		while (p->head == NULL && !p->stopping)
			pthread_cond_wait(&p->cv, &p->mu);
		if (p->head == NULL) {
			pthread_mutex_unlock(&p->mu);
			return NULL;
		}
		j = p->head;
		p->head = j->next;
		if (p->head == NULL)
			p->tail = NULL;
		pthread_mutex_unlock(&p->mu);

		j->work(j->arg);

		pthread_mutex_lock(&p->mu);
		j->next = NULL;
		if (p->done_tail != NULL)
			p->done_tail->next = j;
		else
			p->done_head = j;
		p->done_tail = j;
		pthread_mutex_unlock(&p->mu);
		while (write(p->efd, &one, sizeof(one)) == -1 && errno == EINTR)
			;
	}
}

static void
pool_drain(struct pool *p)
{
	struct pool_job *j, *next;

	pthread_mutex_lock(&p->mu);
	j = p->done_head;
	p->done_head = p->done_tail = NULL;
	pthread_mutex_unlock(&p->mu);
	for (; j != NULL; j = next) {
		next = j->next;
		pthread_mutex_lock(&p->mu);
		p->pending--;
		pthread_mutex_unlock(&p->mu);
		if (j->done != NULL)
			j->done(j->arg);
		free(j);
	}
}

static void
pool_wake(evutil_socket_t fd, short what, void *arg)
{
	uint64_t n;

	(void)what;
	while (read(fd, &n, sizeof(n)) == -1 && errno == EINTR)
		;
	pool_drain(arg);
}

struct pool *
pool_new(struct event_base *base, unsigned nthreads, const char *name)
{
	struct pool *p = xcalloc(1, sizeof(*p));

	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	p->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (p->efd == -1)
		fatal("eventfd: %s", strerror(errno));
	p->ev = event_new(base, p->efd, EV_READ | EV_PERSIST, pool_wake, p);
	event_add(p->ev, NULL);
	p->nthreads = nthreads ? nthreads : 1;
	p->threads = xcalloc(p->nthreads, sizeof(*p->threads));
	for (unsigned i = 0; i < p->nthreads; i++) {
		int rc = pthread_create(&p->threads[i], NULL, pool_thread, p);

		if (rc != 0)
			fatal("pthread_create: %s", strerror(rc));
		if (name != NULL)
			pthread_setname_np(p->threads[i], name);
	}
	return p;
}

void
pool_submit(struct pool *p, pool_work_fn work, pool_done_fn done, void *arg)
{
	struct pool_job *j = xcalloc(1, sizeof(*j));

	*j = (struct pool_job){ .work = work, .done = done, .arg = arg };
	pthread_mutex_lock(&p->mu);
	if (p->tail != NULL)
		p->tail->next = j;
	else
		p->head = j;
	p->tail = j;
	p->pending++;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

size_t
pool_pending(const struct pool *p)
{
	return p->pending;
}

void
pool_free(struct pool **pp)
{
	struct pool *p = *pp;

	if (p == NULL)
		return;
	pthread_mutex_lock(&p->mu);
	p->stopping = true;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	for (unsigned i = 0; i < p->nthreads; i++)
		pthread_join(p->threads[i], NULL);
	pool_drain(p);
	event_free(p->ev);
	close(p->efd);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	free(p->threads);
	free(p);
	*pp = NULL;
}
