/*
 * remote_ehlo: the EHLO keywords our outbound client acts on (see
 * remote_ehlo.h). Keyword matching (whole first word of a line, the first
 * line being the server's name) is smtp_resp_has_ext()'s; this file reads
 * the parameters of SIZE (RFC 1870 4) and AUTH (RFC 4954 3).
 */
#include <string.h>

#include "delivery/remote_ehlo.h"

/* "SIZE 10240000": 1..20 digits, fitting 64 bits; anything else, 0. */
static uint64_t
remote_ehlo_size(struct span p)
{
	uint64_t v = 0;
	unsigned d;

	if (p.len == 0 || p.len > REMOTE_EHLO_SIZE_DIGITS)
		return 0;
	for (size_t i = 0; i < p.len; i++) {
		if (p.ptr[i] < '0' || p.ptr[i] > '9')
			return 0;
		d = (unsigned)(p.ptr[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return 0;	/* 20 digits past 2^64: no usable limit */
		v = v * 10 + d;
	}
	return v;
}

/* "AUTH LOGIN PLAIN CRAM-MD5": is PLAIN one of the words? */
static bool
remote_ehlo_has_plain(struct span p)
{
	size_t i = 0, start;

	while (i < p.len) {
		while (i < p.len && (p.ptr[i] == ' ' || p.ptr[i] == '\t'))
			i++;
		start = i;
		while (i < p.len && p.ptr[i] != ' ' && p.ptr[i] != '\t')
			i++;
		if (span_eq_nocase((struct span){ p.ptr + start, i - start },
		    "PLAIN"))
			return true;
	}
	return false;
}

void
remote_ehlo_parse(const struct smtp_resp *r, struct remote_ehlo *out)
{
	struct span p;

	memset(out, 0, sizeof(*out));
	out->pipelining = smtp_resp_has_ext(r, "PIPELINING", NULL);
	out->eightbitmime = smtp_resp_has_ext(r, "8BITMIME", NULL);
	out->starttls = smtp_resp_has_ext(r, "STARTTLS", NULL);
	out->smtputf8 = smtp_resp_has_ext(r, "SMTPUTF8", NULL);
	if (smtp_resp_has_ext(r, "SIZE", &p)) {
		out->size = true;
		out->size_max = remote_ehlo_size(p);
	}
	if (smtp_resp_has_ext(r, "AUTH", &p))
		out->auth_plain = remote_ehlo_has_plain(p);
}
