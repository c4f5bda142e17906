/*
 * conntrack: open-addressing tables of (address, count) per worker slot,
 * guarded by one robust process-shared mutex: a worker that dies holding
 * it does not wedge the others (EOWNERDEAD is recovered).
 */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include "core/xalloc.h"
#include "server/conntrack.h"

#define CT_ENTRIES	8192	/* per slot; a power of two */

struct ct_entry {
	uint8_t		 addr[16];
	uint32_t	 count;
	uint8_t		 used;	/* key ever set (count may be 0) */
};

struct ct_slot {
	uint32_t	 total;
	struct ct_entry	 e[CT_ENTRIES];
};

struct conntrack {
	pthread_mutex_t	 mu;
	unsigned	 nslots;
	struct ct_slot	 slot[];
};

static void
ct_key(const struct sockaddr *sa, uint8_t key[16])
{
	memset(key, 0, 16);
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

		key[10] = key[11] = 0xff;
		memcpy(key + 12, &in->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		memcpy(key, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
	}
}

static uint32_t
ct_hash(const uint8_t key[16])
{
	uint32_t h = 2166136261u;

	for (int i = 0; i < 16; i++)
		h = (h ^ key[i]) * 16777619u;
	return h;
}

struct conntrack *
conntrack_new(unsigned nslots)
{
	size_t size = sizeof(struct conntrack) + nslots * sizeof(struct ct_slot);
	struct conntrack *ct;
	pthread_mutexattr_t a;

	ct = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
	    -1, 0);
	if (ct == MAP_FAILED)
		fatal("mmap: %s", strerror(errno));
	pthread_mutexattr_init(&a);
	pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
	pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
	pthread_mutex_init(&ct->mu, &a);
	pthread_mutexattr_destroy(&a);
	ct->nslots = nslots;
	return ct;
}

unsigned
conntrack_slots(const struct conntrack *ct)
{
	return ct->nslots;
}

static void
ct_lock(struct conntrack *ct)
{
	if (pthread_mutex_lock(&ct->mu) == EOWNERDEAD)
		pthread_mutex_consistent(&ct->mu);
}

/* The entry for key in slot s, or where it would go (NULL: table full). */
static struct ct_entry *
ct_find(struct ct_slot *s, const uint8_t key[16], bool insert)
{
	uint32_t h = ct_hash(key);
	struct ct_entry *free_e = NULL;

	for (uint32_t i = 0; i < CT_ENTRIES; i++) {
		struct ct_entry *e = &s->e[(h + i) & (CT_ENTRIES - 1)];

		if (!e->used)
			return insert ? (free_e != NULL ? free_e : e) : NULL;
		if (memcmp(e->addr, key, 16) == 0)
			return e;
		if (e->count == 0 && free_e == NULL)
			free_e = e;
	}
	return insert ? free_e : NULL;
}

int
conntrack_acquire(struct conntrack *ct, unsigned slot, const struct sockaddr *sa,
    unsigned max_total, unsigned max_per_ip)
{
	uint8_t key[16];
	uint64_t total = 0, per_ip = 0;
	struct ct_entry *e;
	int rc = 0;

	ct_key(sa, key);
	ct_lock(ct);
	for (unsigned i = 0; i < ct->nslots; i++) {
		total += ct->slot[i].total;
		if ((e = ct_find(&ct->slot[i], key, false)) != NULL)
			per_ip += e->count;
	}
	/* "More than N": the (N+1)th connection is the one refused. */
	if (per_ip >= max_per_ip)
		rc = 1;
	else if (total >= max_total)
		rc = 2;
	else if ((e = ct_find(&ct->slot[slot], key, true)) != NULL) {
		memcpy(e->addr, key, 16);
		e->used = 1;
		e->count++;
		ct->slot[slot].total++;
	} else {
		ct->slot[slot].total++;	/* table full: counted in total only */
	}
	pthread_mutex_unlock(&ct->mu);
	return rc;
}

void
conntrack_release(struct conntrack *ct, unsigned slot, const struct sockaddr *sa)
{
	uint8_t key[16];
	struct ct_entry *e;

	ct_key(sa, key);
	ct_lock(ct);
	if ((e = ct_find(&ct->slot[slot], key, false)) != NULL && e->count > 0)
		e->count--;
	if (ct->slot[slot].total > 0)
		ct->slot[slot].total--;
	pthread_mutex_unlock(&ct->mu);
}

void
conntrack_reset_slot(struct conntrack *ct, unsigned slot)
{
	ct_lock(ct);
	memset(&ct->slot[slot], 0, sizeof(ct->slot[slot]));
	pthread_mutex_unlock(&ct->mu);
}
