/*
 * ids: random and time-ordered identifiers (see ids.h).
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "core/ids.h"
#include "core/xalloc.h"

static const char ids_b32[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

void
ids_random(void *out, size_t n)
{
	uint8_t *p = out;

	while (n > 0) {
		ssize_t r = getrandom(p, n, 0);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			fatal("getrandom: %s", strerror(errno));
		}
		p += r;
		n -= (size_t)r;
	}
}

void
ids_session(char out[SESSION_ID_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	uint8_t r[SESSION_ID_LEN / 2];

	ids_random(r, sizeof(r));
	for (size_t i = 0; i < sizeof(r); i++) {
		out[2 * i] = hex[r[i] >> 4];
		out[2 * i + 1] = hex[r[i] & 15];
	}
	out[SESSION_ID_LEN] = '\0';
}

void
ids_queue(char out[QUEUE_ID_LEN + 1])
{
	struct timespec ts;
	uint32_t rnd;
	uint64_t ms, hi, lo;

	clock_gettime(CLOCK_REALTIME, &ts);
	ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	ids_random(&rnd, sizeof(rnd));
	/* 80 bits: 48 of time, 32 random; 16 base32 digits of 5 bits. */
	hi = ms & 0xffffffffffffULL;
	lo = rnd;
	for (int i = QUEUE_ID_LEN - 1; i >= 0; i--) {
		out[i] = ids_b32[lo & 31];
		lo = (lo >> 5) | ((hi & 31) << 27);
		hi >>= 5;
	}
	out[QUEUE_ID_LEN] = '\0';
}

bool
ids_queue_valid(const char *s)
{
	size_t n = strlen(s);

	if (n != QUEUE_ID_LEN)
		return false;
	/* s[i] is never NUL below strlen(s), so strchr() cannot match the
	 * terminator of ids_b32. */
	for (size_t i = 0; i < n; i++)
		if (strchr(ids_b32, s[i]) == NULL)
			return false;
	return true;
}
