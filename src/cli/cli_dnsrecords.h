/*
 * cli_dnsrecords: the pure parts of `postern dns-records` (cli_dnsrecords.c),
 * apart so they are unit-tested and fuzzed alone: which TXT record is a
 * DMARC record, and the text of the records to publish.
 */
#ifndef POSTERN_CLI_DNSRECORDS_H
#define POSTERN_CLI_DNSRECORDS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "core/buf.h"

/* What dns-records advises: `mx` covers every address of the MX hosts, so
 * it stays right when the server's addresses change; -all because a
 * domain that sends only through this server can say so (RFC 7208 5.1). */
#define DNSRECORDS_SPF		"v=spf1 mx -all"
#define DNSRECORDS_MX_PREF	10

/*
 * Is this TXT string (strings joined, RFC 7489 6.6.3 step 3) a DMARC
 * record: a "v" tag first, "=" with optional blanks around it, then
 * exactly "DMARC1", then the end, a blank or ';' (RFC 7489 6.4: the tag
 * name is case-insensitive, the value is not)?
 */
bool	dnsrecords_is_dmarc(const char *txt, size_t len);

/* The DMARC record advised for domain: quarantine what fails, aggregate
 * reports to postmaster@domain (which every Postern domain accepts). */
void	dnsrecords_dmarc_text(struct buf *out, const char *domain);

/* Appends a TXT value in zone-file form: quoted, '"' and '\\' escaped,
 * bytes outside printable ASCII as \DDD (RFC 1035 5.1). */
void	dnsrecords_zone_quote(struct buf *out, const char *s, size_t len);

#endif
