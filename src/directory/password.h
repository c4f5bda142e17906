/*
 * password: crypt(3) hashes (yescrypt by default) and their verification.
 * Slow by design: never call these on an event loop thread.
 */
#ifndef POSTERN_PASSWORD_H
#define POSTERN_PASSWORD_H

#include <stdbool.h>
#include <stddef.h>

/* libxcrypt refuses passphrases of CRYPT_MAX_PASSPHRASE_SIZE (512) bytes
 * and more; PASSWORD_MAX in limits.h matches it. Both functions refuse more. */
#define PASSWORD_CRYPT_MAX	511

/* Hashes password with a fresh yescrypt salt; returns a new string or NULL. */
char	*password_hash(const char *password, size_t len);
/* Compares in constant time; false for any error or a malformed hash. */
bool	 password_verify(const char *password, size_t len, const char *hash);

#endif
