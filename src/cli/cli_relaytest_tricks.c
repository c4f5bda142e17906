/*
 * cli_relaytest_tricks: the battery of `postern relay-test`: the address
 * tricks that have made mail servers relay (RFC 5321 3.6.1 and appendix C
 * source routes, the percent hack and UUCP bang paths, quoted local parts,
 * address literals of 4.1.3, malformed paths), the spoofed senders and the
 * greetings. The same tricks Postern's own tests refuse
 * (tests/integration/test_relay.py), aimed at the target's names.
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_relaytest.h"
#include "core/config.h"
#include "core/limits.h"
#include "core/xalloc.h"

enum relaytest_helo { RT_EHLO, RT_HELO, RT_EHLO_HOST, RT_EHLO_LOCALHOST,
	RT_EHLO_LITERAL };
enum relaytest_from { RT_FROM_FOREIGN, RT_FROM_NULL, RT_FROM_DOMAIN,
	RT_FROM_HOST };

/*
 * rcpt is a template for the bytes after "RCPT TO:". Placeholders: {l} the
 * foreign local part, {f} its domain, {L} {F} the same in upper case, {m}
 * the whole address in mixed case, {g} a second foreign domain (relay-hop
 * in place of its first label), {e} the
 * foreign domain with an empty label, {u} a UTF-8 foreign domain, {d} the
 * target's domain, {D} upper case, {y} a Cyrillic look-alike of it, {h} the
 * target's host name, {i} its address literal, {0} a NUL byte.
 */
static const struct {
	const char		*name;
	enum relaytest_helo	 helo;
	enum relaytest_from	 from;
	const char		*rcpt;
} relaytest_table[] = {
	{ "plain foreign address", RT_EHLO, RT_FROM_FOREIGN, "<{l}@{f}>" },
	{ "upper case", RT_EHLO, RT_FROM_FOREIGN, "<{L}@{F}>" },
	{ "mixed case", RT_EHLO, RT_FROM_FOREIGN, "<{m}>" },
	{ "trailing dot", RT_EHLO, RT_FROM_FOREIGN, "<{l}@{f}.>" },
	{ "no angle brackets", RT_EHLO, RT_FROM_FOREIGN, "{l}@{f}" },
	{ "space before the path", RT_EHLO, RT_FROM_FOREIGN, " <{l}@{f}>" },
	{ "space before the closing bracket", RT_EHLO, RT_FROM_FOREIGN,
	  "<{l}@{f} >" },
	{ "tab inside the path", RT_EHLO, RT_FROM_FOREIGN, "<{l}@{f}\t>" },
	{ "foreign postmaster", RT_EHLO, RT_FROM_FOREIGN, "<postmaster@{f}>" },
	{ "quoted local part", RT_EHLO, RT_FROM_FOREIGN, "<\"{l}\"@{f}>" },
	{ "percent hack", RT_EHLO, RT_FROM_FOREIGN, "<{l}%{f}@{d}>" },
	{ "percent hack via the host name", RT_EHLO, RT_FROM_FOREIGN,
	  "<{l}%{f}@{h}>" },
	{ "percent hack, upper-case domain", RT_EHLO, RT_FROM_FOREIGN,
	  "<{l}%{f}@{D}>" },
	{ "percent hack via the address literal", RT_EHLO, RT_FROM_FOREIGN,
	  "<{l}%{f}@{i}>" },
	{ "double percent hack", RT_EHLO, RT_FROM_FOREIGN,
	  "<{l}%{f}%{g}@{d}>" },
	{ "bang path", RT_EHLO, RT_FROM_FOREIGN, "<{f}!{l}@{d}>" },
	{ "bang path via the host name", RT_EHLO, RT_FROM_FOREIGN,
	  "<{f}!{l}@{h}>" },
	{ "bang path via the address literal", RT_EHLO, RT_FROM_FOREIGN,
	  "<{f}!{l}@{i}>" },
	{ "bang path, two hops", RT_EHLO, RT_FROM_FOREIGN, "<{g}!{f}!{l}@{d}>" },
	{ "bang path without a domain", RT_EHLO, RT_FROM_FOREIGN, "<{f}!{l}>" },
	{ "source route", RT_EHLO, RT_FROM_FOREIGN, "<@{d}:{l}@{f}>" },
	{ "source route via the host name", RT_EHLO, RT_FROM_FOREIGN,
	  "<@{h}:{l}@{f}>" },
	{ "source route via the address literal", RT_EHLO, RT_FROM_FOREIGN,
	  "<@{i}:{l}@{f}>" },
	{ "multi-hop source route", RT_EHLO, RT_FROM_FOREIGN,
	  "<@{d},@{h}:{l}@{f}>" },
	{ "source route then percent hack", RT_EHLO, RT_FROM_FOREIGN,
	  "<@{d}:{l}%{f}@{d}>" },
	{ "double at", RT_EHLO, RT_FROM_FOREIGN, "<{l}@{f}@{d}>" },
	{ "double at via the host name", RT_EHLO, RT_FROM_FOREIGN,
	  "<{l}@{f}@{h}>" },
	{ "double at, local domain first", RT_EHLO, RT_FROM_FOREIGN,
	  "<postmaster@{d}@{f}>" },
	{ "quoted local part with at", RT_EHLO, RT_FROM_FOREIGN,
	  "<\"{l}@{f}\"@{d}>" },
	{ "quoted local part with at via the host name", RT_EHLO,
	  RT_FROM_FOREIGN, "<\"{l}@{f}\"@{h}>" },
	{ "quoted local part with percent", RT_EHLO, RT_FROM_FOREIGN,
	  "<\"{l}%{f}\"@{d}>" },
	{ "quoted escaped at", RT_EHLO, RT_FROM_FOREIGN,
	  "<\"{l}\\@{f}\"@{d}>" },
	{ "quoted whole address", RT_EHLO, RT_FROM_FOREIGN, "<\"{l}@{f}\">" },
	{ "no domain", RT_EHLO, RT_FROM_FOREIGN, "<{l}>" },
	{ "address literal of the target", RT_EHLO, RT_FROM_FOREIGN,
	  "<{l}@{i}>" },
	{ "foreign IPv4 literal", RT_EHLO, RT_FROM_FOREIGN,
	  "<{l}@[192.0.2.1]>" },
	{ "foreign IPv6 literal", RT_EHLO, RT_FROM_FOREIGN,
	  "<{l}@[IPv6:2001:db8::1]>" },
	{ "general address literal", RT_EHLO, RT_FROM_FOREIGN,
	  "<{l}@[x400:{f}]>" },
	{ "decimal IP as the domain", RT_EHLO, RT_FROM_FOREIGN,
	  "<{l}@3221225985>" },
	{ "local domain as a prefix", RT_EHLO, RT_FROM_FOREIGN,
	  "<{l}@{d}.{f}>" },
	{ "subdomain of the local domain", RT_EHLO, RT_FROM_FOREIGN,
	  "<{l}@relay-test.{d}>" },
	{ "UTF-8 domain without SMTPUTF8", RT_EHLO, RT_FROM_FOREIGN,
	  "<{l}@{u}>" },
	{ "look-alike of the local domain", RT_EHLO, RT_FROM_FOREIGN,
	  "<{l}@{y}>" },
	{ "NUL in the path", RT_EHLO, RT_FROM_FOREIGN, "<{l}@{f}{0}@{d}>" },
	{ "control character in the path", RT_EHLO, RT_FROM_FOREIGN,
	  "<{l}@{f}\001@{d}>" },
	{ "DEL in the path", RT_EHLO, RT_FROM_FOREIGN, "<{l}\177@{f}>" },
	{ "second path as a parameter", RT_EHLO, RT_FROM_FOREIGN,
	  "<postmaster@{d}> <{l}@{f}>" },
	{ "list in the path", RT_EHLO, RT_FROM_FOREIGN,
	  "<postmaster@{d},{l}@{f}>" },
	{ "junk after the path", RT_EHLO, RT_FROM_FOREIGN, "<{l}@{f}>@{d}" },
	{ "port in the domain", RT_EHLO, RT_FROM_FOREIGN, "<{l}@{f}:25>" },
	{ "empty label in the domain", RT_EHLO, RT_FROM_FOREIGN, "<{l}@{e}>" },
	{ "null sender", RT_EHLO, RT_FROM_NULL, "<{l}@{f}>" },
	{ "sender in the local domain", RT_EHLO, RT_FROM_DOMAIN, "<{l}@{f}>" },
	{ "sender at the host name", RT_EHLO, RT_FROM_HOST, "<{l}@{f}>" },
	{ "HELO instead of EHLO", RT_HELO, RT_FROM_FOREIGN, "<{l}@{f}>" },
	{ "EHLO with the target's own name", RT_EHLO_HOST, RT_FROM_FOREIGN,
	  "<{l}@{f}>" },
	{ "EHLO localhost", RT_EHLO_LOCALHOST, RT_FROM_FOREIGN, "<{l}@{f}>" },
	{ "EHLO with the target's address literal", RT_EHLO_LITERAL,
	  RT_FROM_FOREIGN, "<{l}@{f}>" },
};

static void
relaytest_upper(struct buf *out, const char *s, bool mixed)
{
	for (size_t i = 0; s[i] != '\0'; i++) {
		char c = s[i];

		if (!mixed || i % 2 == 0)
			c = (char)toupper((unsigned char)c);
		(void)buf_append(out, &c, 1);
	}
}

/* d with its first a, e or o written in Cyrillic (U+0430, U+0435,
 * U+043E): the look-alike a phisher registers. Prefixed when none. */
static void
relaytest_lookalike(struct buf *out, const char *d)
{
	static const char latin[] = "aeo";
	static const char *const cyr[] = { "\xd0\xb0", "\xd0\xb5", "\xd0\xbe" };
	const char *p = strpbrk(d, latin);

	if (p == NULL) {
		(void)buf_printf(out, "%s%s", cyr[0], d);
		return;
	}
	(void)buf_append(out, d, (size_t)(p - d));
	(void)buf_append_str(out, cyr[strchr(latin, *p) - latin]);
	(void)buf_append_str(out, p + 1);
}

/*
 * Appends one placeholder's text. False only for an unknown letter (a bug
 * in the table); growing past out->max just latches out->overflowed.
 */
static bool
relaytest_fill(struct buf *out, char key, const struct relaytest_target *t)
{
	const char *dot = strchr(t->foreign, '.');

	switch (key) {
	case 'l': (void)buf_append_str(out, t->local); break;
	case 'f': (void)buf_append_str(out, t->foreign); break;
	case 'd': (void)buf_append_str(out, t->domain); break;
	case 'h': (void)buf_append_str(out, t->host); break;
	case 'i': (void)buf_append_str(out, t->literal); break;
	case '0': (void)buf_append(out, "", 1); break;
	case 'u': (void)buf_printf(out, "\xc3\xa4%s", t->foreign); break;
	case 'L': relaytest_upper(out, t->local, false); break;
	case 'F': relaytest_upper(out, t->foreign, false); break;
	case 'D': relaytest_upper(out, t->domain, false); break;
	case 'y': relaytest_lookalike(out, t->domain); break;
	case 'g':
		(void)buf_printf(out, "relay-hop%s", dot != NULL ? dot : "");
		if (dot == NULL)
			(void)buf_printf(out, ".%s", t->foreign);
		break;
	case 'm':
		relaytest_upper(out, t->local, true);
		(void)buf_append(out, "@", 1);
		relaytest_upper(out, t->foreign, true);
		break;
	case 'e':
		if (dot == NULL) {
			(void)buf_printf(out, "%s..", t->foreign);
			break;
		}
		(void)buf_append(out, t->foreign, (size_t)(dot - t->foreign));
		(void)buf_printf(out, ".%s", dot);
		break;
	default:
		return false;
	}
	return true;
}

static void
relaytest_expand(struct buf *out, const char *tpl,
    const struct relaytest_target *t)
{
	for (const char *p = tpl; *p != '\0'; p++) {
		if (p[0] == '{' && p[1] != '\0' && p[2] == '}') {
			if (!relaytest_fill(out, p[1], t))
				fatal("relay-test: bad template %s", tpl);
			p += 2;
		} else {
			(void)buf_append(out, p, 1);
		}
	}
}

static char *
relaytest_helo_cmd(enum relaytest_helo h, const struct relaytest_target *t)
{
	switch (h) {
	case RT_HELO:
		return xasprintf("HELO %s", RELAYTEST_HELO);
	case RT_EHLO_HOST:
		return xasprintf("EHLO %s", t->host);
	case RT_EHLO_LOCALHOST:
		return xstrdup("EHLO localhost");
	case RT_EHLO_LITERAL:
		return xasprintf("EHLO %s", t->literal);
	default:
		return xasprintf("EHLO %s", RELAYTEST_HELO);
	}
}

static char *
relaytest_mail_cmd(enum relaytest_from f, const struct relaytest_target *t)
{
	switch (f) {
	case RT_FROM_NULL:
		return xstrdup("MAIL FROM:<>");
	case RT_FROM_DOMAIN:
		return xasprintf("MAIL FROM:<postmaster@%s>", t->domain);
	case RT_FROM_HOST:
		return xasprintf("MAIL FROM:<postmaster@%s>", t->host);
	default:
		return xasprintf("MAIL FROM:<%s>", t->sender);
	}
}

static bool
relaytest_same(const struct relaytest_trick *a, const struct relaytest_trick *b)
{
	return strcmp(a->helo, b->helo) == 0 && strcmp(a->mail, b->mail) == 0 &&
	    a->rcpt.len == b->rcpt.len &&
	    memcmp(a->rcpt.data, b->rcpt.data, a->rcpt.len) == 0;
}

size_t
relaytest_tricks(const struct relaytest_target *t,
    struct relaytest_trick *tricks)
{
	size_t n = 0;

	for (size_t i = 0; i < sizeof(relaytest_table) /
	    sizeof(relaytest_table[0]) && n < RELAYTEST_TRICKS_MAX; i++) {
		struct relaytest_trick *k = &tricks[n];
		bool dup = false;

		k->name = relaytest_table[i].name;
		k->helo = relaytest_helo_cmd(relaytest_table[i].helo, t);
		k->mail = relaytest_mail_cmd(relaytest_table[i].from, t);
		k->foreign_sender = relaytest_table[i].from == RT_FROM_FOREIGN;
		/* A command line is at most 512 octets (RFC 5321 4.5.3.1.4). */
		buf_init(&k->rcpt, SMTP_CMD_LINE_MAX - 2);
		(void)buf_append_str(&k->rcpt, "RCPT TO:");
		relaytest_expand(&k->rcpt, relaytest_table[i].rcpt, t);
		for (size_t j = 0; j < n && !dup; j++)
			dup = relaytest_same(k, &tricks[j]);
		if (dup || k->rcpt.overflowed)
			relaytest_tricks_free(k, 1);
		else
			n++;
	}
	return n;
}

void
relaytest_tricks_free(struct relaytest_trick *tricks, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(tricks[i].helo);
		free(tricks[i].mail);
		buf_free(&tricks[i].rcpt);
		tricks[i] = (struct relaytest_trick){ 0 };
	}
}

int
relaytest_greeting_names(const char *text, char **host_out, char **domain_out)
{
	size_t n = strcspn(text, " \n");
	const char *dot;
	char *host;

	*host_out = *domain_out = NULL;
	if (n == 0 || n > SMTP_DOMAIN_MAX)
		return -1;
	host = xstrndup(text, n);
	if (!config_hostname_valid(host) || strchr(host, '.') == NULL) {
		free(host);
		return -1;
	}
	for (char *p = host; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	/* mx.example.org -> example.org; example.org stays itself. */
	dot = strchr(host, '.');
	*domain_out = xstrdup(strchr(dot + 1, '.') != NULL ? dot + 1 : host);
	*host_out = host;
	return 0;
}
