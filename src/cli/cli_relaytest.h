/*
 * cli_relaytest: the open-relay battery of `postern relay-test` (SPEC
 * section 1), shared by cli_relaytest.c (the command: connections, the
 * dialogue, the report) and cli_relaytest_tricks.c (which addresses, senders
 * and greetings to try). Internal to those two files and their unit test.
 */
#ifndef POSTERN_CLI_RELAYTEST_H
#define POSTERN_CLI_RELAYTEST_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"

#define RELAYTEST_LOCAL		"relay-test"
#define RELAYTEST_DOMAIN	"relay-test.example"	/* RFC 2606: never mail */
#define RELAYTEST_ADDR		RELAYTEST_LOCAL "@" RELAYTEST_DOMAIN
#define RELAYTEST_HELO		RELAYTEST_DOMAIN
#define RELAYTEST_TRICKS_MAX	80	/* the table has fewer: ours */

/* What the tricks are made of; every string NUL-terminated, none empty. */
struct relaytest_target {
	const char	*local;		/* the foreign recipient: "relay-test" */
	const char	*foreign;	/* its domain: "relay-test.example" */
	const char	*sender;	/* the foreign sender, "local@domain" */
	const char	*host;		/* the name in the target's greeting, or
					 * its address literal when it gave none */
	const char	*domain;	/* host minus its first label when host
					 * has three labels or more, else host */
	const char	*literal;	/* "[192.0.2.1]", "[IPv6:2001:db8::1]" */
};

/* One transaction to try. Commands are exact bytes without the CRLF. */
struct relaytest_trick {
	const char	*name;
	char		*helo;		/* "EHLO relay-test.example" */
	char		*mail;		/* "MAIL FROM:<...>" */
	struct buf	 rcpt;		/* "RCPT TO:..." (may hold a NUL) */
	bool		 foreign_sender;	/* MAIL FROM is the --sender */
};

/*
 * Builds the battery for t into tricks (RELAYTEST_TRICKS_MAX entries);
 * returns how many. A trick that would repeat an earlier one byte for byte
 * (host == domain), or pass a command line's 512 octets (long names), is
 * left out. Free with relaytest_tricks_free().
 */
size_t	relaytest_tricks(const struct relaytest_target *t,
	    struct relaytest_trick *tricks);
void	relaytest_tricks_free(struct relaytest_trick *tricks, size_t n);

/*
 * From the text of a 220 greeting (smtp_resp text: "mx.example.org ESMTP"),
 * the server's name: the first word when it is a DNS name, lower-cased,
 * into *host_out (a new string), and the domain the tricks aim at into
 * *domain_out (a new string). -1 when the first word is not a name.
 */
int	relaytest_greeting_names(const char *text, char **host_out,
	    char **domain_out);

#endif
