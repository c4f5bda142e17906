/*
 * password: crypt(3) through libxcrypt's reentrant crypt_ra() and
 * crypt_gensalt_ra(), so any thread may hash. New hashes are yescrypt at
 * libxcrypt's default cost; verification accepts any "$id$" method libxcrypt
 * knows (hashes imported from another server) but never 13-byte DES.
 * Every copy of a password or of scratch state is wiped before it is freed.
 */
#include <crypt.h>
#include <stdlib.h>
#include <string.h>

#include "core/limits.h"
#include "core/xalloc.h"
#include "directory/password.h"

_Static_assert(PASSWORD_CRYPT_MAX == CRYPT_MAX_PASSPHRASE_SIZE - 1,
    "PASSWORD_CRYPT_MAX follows libxcrypt");

/* crypt(3) wants a C string: copy, refusing NUL and over-long input (the
 * copy would silently cut at a NUL, and then "a\0b" would log in as "a";
 * libxcrypt would refuse more than PASSWORD_CRYPT_MAX bytes anyway). */
static char *
password_cstr(const char *password, size_t len)
{
	char *s;

	/* NOLINTNEXTLINE(misc-redundant-expression): two limits, equal today */
	if (password == NULL || len > PASSWORD_MAX || len > PASSWORD_CRYPT_MAX ||
	    memchr(password, '\0', len) != NULL)
		return NULL;
	s = xmalloc(len + 1);
	memcpy(s, password, len);
	s[len] = '\0';
	return s;
}

static void
password_cstr_free(char *s, size_t len)
{
	explicit_bzero(s, len + 1);
	free(s);
}

/* crypt_ra() with its scratch area wiped; a new string or NULL. */
static char *
password_crypt(const char *phrase, const char *setting)
{
	void *data = NULL;
	int size = 0;
	const char *h = crypt_ra(phrase, setting, &data, &size);
	char *out = NULL;

	/* libxcrypt may answer a failure token ("*0", "*1") instead of NULL. */
	if (h != NULL && h[0] != '*')
		out = xstrdup(h);
	if (data != NULL) {
		explicit_bzero(data, (size_t)size);
		free(data);
	}
	return out;
}

char *
password_hash(const char *password, size_t len)
{
	char *phrase, *setting, *hash;

	if ((phrase = password_cstr(password, len)) == NULL)
		return NULL;
	/* Count 0: libxcrypt's default cost for yescrypt; salt from the OS. */
	setting = crypt_gensalt_ra("$y$", 0, NULL, 0);
	hash = setting != NULL ? password_crypt(phrase, setting) : NULL;
	free(setting);
	password_cstr_free(phrase, len);
	return hash;
}

/* Compares every byte of the longer string, so the time depends on the
 * lengths only (public: the hash format fixes them), not on the content. */
static bool
password_equal(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), n = la > lb ? la : lb, i;
	unsigned char diff = la != lb;

	for (i = 0; i < n; i++)
		diff |= (unsigned char)((i < la ? a[i] : 0) ^ (i < lb ? b[i] : 0));
	return diff == 0;
}

bool
password_verify(const char *password, size_t len, const char *hash)
{
	char *phrase, *computed;
	bool ok;

	/* "!" or "*" prefixes (locked accounts) and DES fail here. */
	if (hash == NULL || hash[0] != '$' || crypt_checksalt(hash) == CRYPT_SALT_INVALID)
		return false;
	if ((phrase = password_cstr(password, len)) == NULL)
		return false;
	computed = password_crypt(phrase, hash);
	password_cstr_free(phrase, len);
	if (computed == NULL)
		return false;
	ok = password_equal(computed, hash);
	explicit_bzero(computed, strlen(computed));
	free(computed);
	return ok;
}
