/*
 * popwin: a fixed table of (address, expiry) with hash chains, for
 * SMTP-after-POP. Lookups (every SMTP connect and MAIL) follow one short
 * chain; a login into a full table scans it once for the entry to evict,
 * which costs little next to the password hash the login just paid for.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"
#include "server/popwin.h"

#define POPWIN_NONE	UINT32_MAX

struct popwin_ent {
	uint8_t		 addr[16];	/* IPv4 as ::ffff:a.b.c.d */
	int64_t		 until;
	uint32_t	 next;		/* hash chain */
};

struct popwin {
	struct popwin_ent	*ents;
	uint32_t		*heads;
	size_t			 cap, n, nbuckets;
};

static int
popwin_key(const char *ip, uint8_t out[16])
{
	struct in_addr a4;

	if (inet_pton(AF_INET6, ip, out) == 1)
		return 0;
	if (inet_pton(AF_INET, ip, &a4) != 1)
		return -1;
	memset(out, 0, 10);
	out[10] = out[11] = 0xff;
	memcpy(out + 12, &a4, 4);
	return 0;
}

static size_t
popwin_hash(const struct popwin *w, const uint8_t k[16])
{
	uint32_t h = 2166136261u;	/* FNV-1a */

	for (int i = 0; i < 16; i++)
		h = (h ^ k[i]) * 16777619u;
	return h % w->nbuckets;
}

struct popwin *
popwin_new(size_t cap)
{
	struct popwin *w = xcalloc(1, sizeof(*w));

	if (cap == 0 || cap > POPWIN_MAX)
		cap = POPWIN_MAX;
	w->cap = cap;
	w->nbuckets = cap;
	w->ents = xcalloc(cap, sizeof(*w->ents));
	w->heads = xcalloc(w->nbuckets, sizeof(*w->heads));
	for (size_t i = 0; i < w->nbuckets; i++)
		w->heads[i] = POPWIN_NONE;
	return w;
}

void
popwin_free(struct popwin **wp)
{
	if (*wp == NULL)
		return;
	free((*wp)->ents);
	free((*wp)->heads);
	free(*wp);
	*wp = NULL;
}

size_t
popwin_count(const struct popwin *w)
{
	return w->n;
}

static uint32_t
popwin_find(const struct popwin *w, const uint8_t k[16])
{
	uint32_t i = w->heads[popwin_hash(w, k)];

	for (size_t steps = 0; i != POPWIN_NONE && steps < w->cap; steps++) {
		if (memcmp(w->ents[i].addr, k, 16) == 0)
			return i;
		i = w->ents[i].next;
	}
	return POPWIN_NONE;
}

static void
popwin_unlink(struct popwin *w, uint32_t victim)
{
	uint32_t *pp = &w->heads[popwin_hash(w, w->ents[victim].addr)];

	while (*pp != POPWIN_NONE && *pp != victim)
		pp = &w->ents[*pp].next;
	if (*pp == victim)
		*pp = w->ents[victim].next;
}

/* Full: an expired entry if any (the first found), else the oldest. */
static uint32_t
popwin_victim(const struct popwin *w, int64_t now)
{
	uint32_t best = 0;

	for (uint32_t i = 0; i < w->n; i++) {
		if (w->ents[i].until <= now)
			return i;
		if (w->ents[i].until < w->ents[best].until)
			best = i;
	}
	return best;
}

int
popwin_open(struct popwin *w, const char *ip, int64_t now, unsigned sec)
{
	int64_t until = now + (int64_t)sec;
	uint8_t k[16];
	uint32_t i;
	size_t h;

	if (popwin_key(ip, k) == -1)
		return -1;
	i = popwin_find(w, k);
	if (i != POPWIN_NONE) {
		if (until > w->ents[i].until)
			w->ents[i].until = until;
		return 0;
	}
	if (w->n < w->cap) {
		i = (uint32_t)w->n++;
	} else {
		i = popwin_victim(w, now);
		popwin_unlink(w, i);
	}
	memcpy(w->ents[i].addr, k, 16);
	w->ents[i].until = until;
	h = popwin_hash(w, k);
	w->ents[i].next = w->heads[h];
	w->heads[h] = i;
	return 0;
}

bool
popwin_open_at(const struct popwin *w, const char *ip, int64_t now)
{
	uint8_t k[16];
	uint32_t i;

	if (popwin_key(ip, k) == -1)
		return false;
	i = popwin_find(w, k);
	return i != POPWIN_NONE && w->ents[i].until > now;
}
