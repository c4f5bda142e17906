/*
 * spf_name: the domain-name and client-address checks SPF needs (RFC 7208
 * 4.3 malformed domains, 4.1 IPv4-mapped clients, 5.5 subdomain match).
 * Names are bytes with a length, never trusted to be NUL-free or short.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <strings.h>

#include "core/limits.h"
#include "policy/spf_int.h"

bool
spf_name_valid(const char *name, size_t len, bool multi)
{
	size_t i, label = 0, labels = 1, last = 0;
	bool digits = true;

	if (len == 0 || len > SPF_DOMAIN_MAX)
		return false;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c == '.') {
			if (label == 0)
				return false;	/* empty label */
			label = 0;
			labels++;
			last = i + 1;
			continue;
		}
		if (c < 0x21 || c > 0x7e || c == '\\')
			return false;
		if (++label > SMTP_LABEL_MAX)
			return false;
	}
	if (label == 0)
		return false;			/* trailing dot or empty label */
	if (!multi)
		return true;
	for (i = last; i < len; i++)
		if (name[i] < '0' || name[i] > '9')
			digits = false;
	return labels >= 2 && !digits;
}

bool
spf_name_eq(const char *a, const char *b)
{
	return strcasecmp(a, b) == 0;
}

bool
spf_name_under(const char *name, const char *target)
{
	size_t n = strlen(name), t = strlen(target);

	if (n == t)
		return strcasecmp(name, target) == 0;
	return n > t && name[n - t - 1] == '.' &&
	    strcasecmp(name + n - t, target) == 0;
}

int
spf_ip_parse(const char *text, int *family_out, uint8_t addr_out[16])
{
	static const uint8_t mapped[12] = {
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
	};
	uint8_t b[16];

	if (text == NULL)
		return -1;
	if (inet_pton(AF_INET, text, b) == 1) {
		memcpy(addr_out, b, 4);
		*family_out = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, text, b) != 1)
		return -1;
	/* RFC 7208 4.1 (and 5): an IPv4-mapped client is the IPv4 client. */
	if (memcmp(b, mapped, sizeof(mapped)) == 0) {
		memcpy(addr_out, b + 12, 4);
		*family_out = AF_INET;
		return 0;
	}
	memcpy(addr_out, b, 16);
	*family_out = AF_INET6;
	return 0;
}
