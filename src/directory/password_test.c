/*
 * Unit tests for directory/password: yescrypt hashes, verification, and
 * the refusals (wrong password, malformed hash, NUL, over PASSWORD_MAX).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "core/limits.h"
#include "directory/password.h"

static void
test_hash_and_verify(void **state)
{
	char *h = password_hash("correct horse", 13), *h2;

	(void)state;
	assert_non_null(h);
	assert_memory_equal(h, "$y$", 3);
	assert_true(password_verify("correct horse", 13, h));
	assert_false(password_verify("correct horsE", 13, h));
	assert_false(password_verify("correct hors", 12, h));
	assert_false(password_verify("", 0, h));
	/* a fresh salt each time */
	h2 = password_hash("correct horse", 13);
	assert_non_null(h2);
	assert_string_not_equal(h, h2);
	assert_true(password_verify("correct horse", 13, h2));
	free(h);
	free(h2);
}

/* Only len bytes count, not the C string: a password may be a prefix. */
static void
test_length_is_explicit(void **state)
{
	char *h = password_hash("secret-and-more", 6);

	(void)state;
	assert_non_null(h);
	assert_true(password_verify("secret", 6, h));
	assert_true(password_verify("secretXYZ", 6, h));
	assert_false(password_verify("secretXYZ", 9, h));
	free(h);
}

static void
test_malformed_hash(void **state)
{
	char *h = password_hash("pw", 2);
	char *cut;

	(void)state;
	assert_false(password_verify("pw", 2, NULL));
	assert_false(password_verify("pw", 2, ""));
	assert_false(password_verify("pw", 2, "*"));
	assert_false(password_verify("pw", 2, "!"));
	assert_false(password_verify("pw", 2, "$y$"));
	assert_false(password_verify("pw", 2, "$nope$abc$def"));
	assert_false(password_verify("pw", 2, "garbage"));
	/* 13-byte DES: crypt(3) knows it, we refuse it */
	assert_false(password_verify("pw", 2, "abJnggxhB/yWI"));
	/* a locked account: "!" in front of a good hash */
	cut = malloc(strlen(h) + 2);
	cut[0] = '!';
	memcpy(cut + 1, h, strlen(h) + 1);
	assert_false(password_verify("pw", 2, cut));
	/* a truncated hash */
	memcpy(cut, h, strlen(h) + 1);
	cut[strlen(cut) - 5] = '\0';
	assert_false(password_verify("pw", 2, cut));
	free(cut);
	free(h);
}

static void
test_limits(void **state)
{
	char *pw = malloc(PASSWORD_MAX + 1), *h;

	(void)state;
	memset(pw, 'p', PASSWORD_MAX + 1);
	h = password_hash(pw, PASSWORD_CRYPT_MAX);		/* at max */
	assert_non_null(h);
	assert_true(password_verify(pw, PASSWORD_CRYPT_MAX, h));
	assert_false(password_verify(pw, PASSWORD_CRYPT_MAX + 1, h));	/* max + 1 */
	free(h);
	assert_null(password_hash(pw, PASSWORD_CRYPT_MAX + 1));
	assert_null(password_hash(pw, PASSWORD_MAX + 1));
	free(pw);

	/* an embedded NUL would cut the password short in crypt(3) */
	assert_null(password_hash("a\0b", 3));
	h = password_hash("a", 1);
	assert_non_null(h);
	assert_false(password_verify("a\0b", 3, h));
	free(h);
	assert_null(password_hash(NULL, 0));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hash_and_verify),
		cmocka_unit_test(test_length_is_explicit),
		cmocka_unit_test(test_malformed_hash),
		cmocka_unit_test(test_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
