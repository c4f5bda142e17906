/*
 * libFuzzer target for smtp/smtp_addr: smtp_addr_parse() over arbitrary
 * paths. Checks that what we write back (smtp_addr_text) parses again to
 * the same directory key: the address is split once and stays split.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/limits.h"
#include "smtp/smtp_addr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_round_trip(const struct smtp_addr *a, bool allow_utf8)
{
	char *key = smtp_addr_key(a), *text = smtp_addr_text(a), *key2;
	struct smtp_addr b;

	assert(strlen(text) <= SMTP_PATH_MAX - 2);
	assert(smtp_addr_parse(span_from_cstr(text), allow_utf8, &b) ==
	    PARSE_OK);
	key2 = smtp_addr_key(&b);
	assert(strcmp(key, key2) == 0);
	assert(b.null == a->null && b.literal == a->literal &&
	    b.utf8 == a->utf8);
	assert(a->null || strcmp(a->local, b.local) == 0);
	assert(a->null || strcmp(a->domain, b.domain) == 0);
	assert(!b.source_route);
	smtp_addr_clear(&b);
	free(key);
	free(key2);
	free(text);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	bool allow_utf8 = false;
	struct smtp_addr a;
	enum parse_rc rc;
	char *path;
	size_t i;

	/* First byte: allow_utf8; the rest, a heap copy of the path. */
	if (size > 0) {
		allow_utf8 = data[0] & 1;
		data++;
		size--;
	}
	path = malloc(size ? size : 1);
	memcpy(path, data, size);
	rc = smtp_addr_parse((struct span){ path, size }, allow_utf8, &a);
	if (rc != PARSE_OK) {
		assert(a.local == NULL && a.domain == NULL);
		free(path);
		return 0;
	}
	assert(size <= SMTP_PATH_MAX - 2);
	if (a.null) {
		assert(size == 0 && a.local == NULL && a.domain == NULL);
	} else {
		assert(a.local != NULL && a.domain != NULL);
		assert(a.local[0] != '\0');
		assert(strlen(a.local) <= SMTP_LOCAL_PART_MAX);
		assert(strlen(a.domain) <= SMTP_DOMAIN_MAX);
		assert(!a.utf8 || allow_utf8);
		for (i = 0; a.domain[i] != '\0'; i++)
			assert(a.domain[i] < 'A' || a.domain[i] > 'Z');
		/* Nothing outside quotes may hide a second '@'. */
		if (!a.quoted)
			assert(strchr(a.local, '@') == NULL);
		assert(strchr(a.domain, '@') == NULL);
	}
	check_round_trip(&a, allow_utf8);
	smtp_addr_clear(&a);
	free(path);
	return 0;
}
