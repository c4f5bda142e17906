/*
 * ids: session ids (12 hex digits, random) and queue ids (16 characters of
 * Crockford base32: 48 bits of milliseconds then 32 random bits, so ids sort
 * by arrival and two workers never need to coordinate).
 */
#ifndef POSTERN_IDS_H
#define POSTERN_IDS_H

#include <stdbool.h>
#include <stddef.h>

#define SESSION_ID_LEN	12
#define QUEUE_ID_LEN	16

void	ids_session(char out[SESSION_ID_LEN + 1]);
void	ids_queue(char out[QUEUE_ID_LEN + 1]);
/* Is s a well-formed queue id? (Guards path building from CLI input.) */
bool	ids_queue_valid(const char *s);
/* Fills out with n random bytes (getrandom); fatal() on failure. */
void	ids_random(void *out, size_t n);

#endif
