/*
 * libFuzzer target for dns/dns_wire: the first byte picks the decoder
 * (name, MX, PTR, TXT, A/AAAA), the rest is RDATA; checks the contracts.
 */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "dns/dns_wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char name[DNS_NAME_BUF];
	struct sockaddr_storage ss;
	struct buf b;
	unsigned pref;
	size_t used;

	if (size == 0)
		return 0;
	switch (data[0] % 5) {
	case 0:
		if (dns_wire_name(data + 1, size - 1, name, &used) == 0)
			assert(used <= size - 1 && used <= DNS_NAME_WIRE_MAX &&
			    strlen(name) <= DNS_NAME_TEXT_MAX);
		break;
	case 1:
		if (dns_wire_mx(data + 1, size - 1, &pref, name) == 0)
			assert(pref <= 65535 && strlen(name) <= DNS_NAME_TEXT_MAX);
		break;
	case 2:
		if (dns_wire_ptr(data + 1, size - 1, name) == 0)
			assert(strlen(name) <= DNS_NAME_TEXT_MAX);
		break;
	case 3:
		buf_init(&b, DNS_TXT_MAX);
		if (dns_wire_txt(data + 1, size - 1, &b) == 0)
			assert(b.len <= DNS_TXT_MAX &&
			    strlen(buf_cstr(&b)) == b.len);
		buf_free(&b);
		break;
	default:
		(void)dns_wire_addr(data + 1, size - 1,
		    size - 1 == 4 ? AF_INET : AF_INET6, &ss);
		break;
	}
	return 0;
}
