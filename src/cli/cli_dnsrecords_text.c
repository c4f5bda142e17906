/*
 * cli_dnsrecords_text: the pure parts of `postern dns-records`: the DMARC
 * record test of RFC 7489 6.4 / 6.6.3 and the zone-file text of the
 * records it advises (RFC 1035 5.1 quoting). No I/O.
 */
#include <string.h>

#include "cli/cli_dnsrecords.h"

static bool
dnsrecords_blank(char c)
{
	return c == ' ' || c == '\t';
}

bool
dnsrecords_is_dmarc(const char *txt, size_t len)
{
	static const char version[] = "DMARC1";
	size_t i = 0;

	/* dmarc-version = "v" *WSP "=" *WSP %x44.4d.41.52.43.31 */
	if (len == 0 || (txt[0] != 'v' && txt[0] != 'V'))
		return false;
	for (i = 1; i < len && dnsrecords_blank(txt[i]); i++)
		;
	if (i == len || txt[i++] != '=')
		return false;
	while (i < len && dnsrecords_blank(txt[i]))
		i++;
	if (len - i < sizeof(version) - 1 ||
	    memcmp(txt + i, version, sizeof(version) - 1) != 0)
		return false;
	i += sizeof(version) - 1;
	return i == len || dnsrecords_blank(txt[i]) || txt[i] == ';';
}

void
dnsrecords_dmarc_text(struct buf *out, const char *domain)
{
	(void)buf_printf(out, "v=DMARC1; p=quarantine; rua=mailto:postmaster@%s",
	    domain);
}

void
dnsrecords_zone_quote(struct buf *out, const char *s, size_t len)
{
	(void)buf_append(out, "\"", 1);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\')
			(void)buf_printf(out, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			(void)buf_printf(out, "\\%03u", c);
		else
			(void)buf_append(out, &s[i], 1);
	}
	(void)buf_append(out, "\"", 1);
}
