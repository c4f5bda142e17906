/*
 * smtp_checks: the DNS checks of SPEC section 5 (sender domain, reverse
 * DNS, DNSBL, SPF) for SMTP clients that are neither authenticated nor
 * trusted, and the header fields that report them. See smtp_checks.c.
 */
#ifndef POSTERN_SMTP_CHECKS_H
#define POSTERN_SMTP_CHECKS_H

#include "core/buf.h"

struct smtp_session;

/* The verdict on MAIL: 250 2.1.0, or the refusal to send. */
typedef void (*smtp_checks_fn)(struct smtp_session *s, int code,
	    const char *esc, const char *text);

/* The directory let the client in: start its PTR and DNSBL lookups. */
void	smtp_checks_connect(struct smtp_session *s);
/*
 * The directory accepted MAIL: runs the checks that apply and calls done
 * once, maybe at once; when it has to wait the session is busy meanwhile
 * and is resumed after done.
 */
void	smtp_checks_mail(struct smtp_session *s, smtp_checks_fn done);
/* Authentication-Results:, Received-SPF:, X-DNSBL: (LF-ended lines). */
void	smtp_checks_headers(const struct smtp_session *s, struct buf *out);
/* The forward-confirmed PTR name, or "unknown". */
const char *smtp_checks_ptr(const struct smtp_session *s);
/* The SPF result word of this transaction, or NULL when SPF was not
 * checked. */
const char *smtp_checks_spf_word(const struct smtp_session *s);
void	smtp_checks_reset_tx(struct smtp_session *s);
/* Cancels every lookup of the session. */
void	smtp_checks_free(struct smtp_session *s);

#endif
