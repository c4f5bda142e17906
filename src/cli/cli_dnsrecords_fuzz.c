/*
 * libFuzzer target for cli/cli_dnsrecords_text: a TXT record as the DNS
 * hands it to dns-records (any bytes, no NUL: dns_wire_txt refuses those),
 * tested for DMARC and quoted for the zone file: no read past the length,
 * and the quoted text is one printable line.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_dnsrecords.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A heap copy of exactly size bytes, so ASan sees any overread. */
	char *in = malloc(size ? size : 1);
	struct buf b;
	bool dmarc;

	memcpy(in, data, size);
	dmarc = dnsrecords_is_dmarc(in, size);
	assert(!dmarc || (size >= 8 && (in[0] == 'v' || in[0] == 'V')));
	buf_init(&b, 4 * size + 3);
	dnsrecords_zone_quote(&b, in, size);
	assert(!b.overflowed && b.len >= 2);
	for (size_t i = 0; i < b.len; i++)
		assert(b.data[i] >= 0x20 && b.data[i] < 0x7f);
	buf_free(&b);
	free(in);
	return 0;
}
