/*
 * spf_record: the SPF record parser, RFC 7208 4.5 (version), 4.6 (terms),
 * 5 (mechanisms), 6 (modifiers) and the ABNF of 12. The whole record is
 * checked before any term is evaluated, so a syntax error anywhere is a
 * permerror even after a matching term (4.6). Record text is bytes: a
 * control, a non-ASCII byte or a TAB is a syntax error. Pure; no I/O.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <strings.h>

#include "core/limits.h"
#include "policy/spf.h"
#include "policy/spf_int.h"

bool
spf_record_is_spf(struct span txt)
{
	/* 4.5: "v=spf1" then SP or the end; ABNF strings ignore case. */
	return span_startswith_nocase(txt, "v=spf1") &&
	    (txt.len == 6 || txt.ptr[6] == ' ');
}

static bool
spf_record_is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool
spf_record_is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* toplabel = ( *alphanum ALPHA *alphanum ) /
 *            ( 1*alphanum "-" *( alphanum / "-" ) alphanum ) */
static bool
spf_record_toplabel(struct span l)
{
	bool alpha = false, hyphen = false;
	size_t i;

	if (l.len == 0 || l.ptr[0] == '-' || l.ptr[l.len - 1] == '-')
		return false;
	for (i = 0; i < l.len; i++) {
		if (spf_record_is_alpha(l.ptr[i]))
			alpha = true;
		else if (l.ptr[i] == '-')
			hyphen = true;
		else if (!spf_record_is_digit(l.ptr[i]))
			return false;
	}
	return alpha || hyphen;
}

/* domain-spec = macro-string domain-end;
 * domain-end = ( "." toplabel [ "." ] ) / macro-expand */
static bool
spf_record_domain_spec(struct span d)
{
	bool ends_in_macro;
	size_t end, start;

	if (d.len == 0 || spf_macro_check(d, false, &ends_in_macro) != PARSE_OK)
		return false;
	if (ends_in_macro)
		return true;
	end = d.len;
	if (d.ptr[end - 1] == '.')
		end--;
	for (start = end; start > 0 && d.ptr[start - 1] != '.'; start--)
		;
	if (start == 0)
		return false;		/* no "." before the top label */
	return spf_record_toplabel((struct span){ d.ptr + start, end - start });
}

/* "/" ("0" / %x31-39 0*nDIGIT) with a value up to max; -1 if malformed. */
static int
spf_record_cidr(struct span s, int max)
{
	int v = 0;
	size_t i;

	if (s.len == 0 || s.len > 3 || (s.ptr[0] == '0' && s.len > 1))
		return -1;
	for (i = 0; i < s.len; i++) {
		if (!spf_record_is_digit(s.ptr[i]))
			return -1;
		v = v * 10 + (s.ptr[i] - '0');
	}
	return v <= max ? v : -1;
}

/*
 * Strips a dual-cidr-length from the end of rest (5.6): "/N", "//M" or
 * "/N//M". Trailing digits after a '/' are always taken as a CIDR length
 * (as every implementation does), so "a:x.example/24" is a name and a
 * length, never a name with a slash.
 */
static int
spf_record_dual_cidr(struct span *rest, struct spf_term *t)
{
	size_t i = rest->len;

	while (i > 0 && spf_record_is_digit(rest->ptr[i - 1]))
		i--;
	if (i == rest->len || i == 0 || rest->ptr[i - 1] != '/')
		return 0;
	if (i >= 2 && rest->ptr[i - 2] == '/') {
		t->cidr6 = spf_record_cidr((struct span){ rest->ptr + i,
		    rest->len - i }, 128);
		if (t->cidr6 == -1)
			return -1;
		rest->len = i - 2;
		i = rest->len;
		while (i > 0 && spf_record_is_digit(rest->ptr[i - 1]))
			i--;
		if (i == rest->len || i == 0 || rest->ptr[i - 1] != '/')
			return 0;
	}
	t->cidr4 = spf_record_cidr((struct span){ rest->ptr + i,
	    rest->len - i }, 32);
	if (t->cidr4 == -1)
		return -1;
	rest->len = i - 1;
	return 0;
}

/* ip4-network with qnum octets: no leading zeros, no short forms. */
static bool
spf_record_ip4(struct span s)
{
	size_t i = 0, octets = 0, n;
	int v;

	while (octets < 4) {
		for (n = 0, v = 0; i < s.len && spf_record_is_digit(s.ptr[i]);
		    i++, n++)
			v = v * 10 + (s.ptr[i] - '0');
		if (n == 0 || n > 3 || v > 255 || (n > 1 && s.ptr[i - n] == '0'))
			return false;
		if (++octets < 4) {
			if (i >= s.len || s.ptr[i] != '.')
				return false;
			i++;
		}
	}
	return i == s.len;
}

static bool
spf_record_ip6(struct span s)
{
	char text[INET6_ADDRSTRLEN];
	struct in6_addr a;

	if (s.len == 0 || s.len >= sizeof(text) || memchr(s.ptr, '\0', s.len))
		return false;
	memcpy(text, s.ptr, s.len);
	text[s.len] = '\0';
	return inet_pton(AF_INET6, text, &a) == 1;
}

/* ip4 / ip6: ":" network [ "/" length ]. */
static int
spf_record_ip(struct span rest, struct spf_term *t)
{
	const char *slash;
	bool v4 = t->kind == SPF_T_IP4;
	int len = -1;

	if (rest.len < 2 || rest.ptr[0] != ':')
		return -1;
	rest.ptr++;
	rest.len--;
	if ((slash = memchr(rest.ptr, '/', rest.len)) != NULL) {
		len = spf_record_cidr((struct span){ slash + 1,
		    rest.len - (size_t)(slash - rest.ptr) - 1 }, v4 ? 32 : 128);
		if (len == -1)
			return -1;
		rest.len = (size_t)(slash - rest.ptr);
	}
	if (v4 ? !spf_record_ip4(rest) : !spf_record_ip6(rest))
		return -1;
	t->spec = rest;
	if (v4)
		t->cidr4 = len;
	else
		t->cidr6 = len;
	return 0;
}

static const struct {
	const char		*name;
	enum spf_term_kind	 kind;
} spf_record_mechs[] = {
	{ "all", SPF_T_ALL }, { "include", SPF_T_INCLUDE }, { "a", SPF_T_A },
	{ "mx", SPF_T_MX }, { "ptr", SPF_T_PTR }, { "ip4", SPF_T_IP4 },
	{ "ip6", SPF_T_IP6 }, { "exists", SPF_T_EXISTS },
};

/* directive = [ qualifier ] mechanism (5). */
static int
spf_record_directive(struct span w, struct spf_term *t)
{
	struct span name, rest;
	size_t i, n;

	t->qualifier = '+';
	if (w.len > 0 && w.ptr[0] != '\0' && strchr("+-?~", w.ptr[0]) != NULL) {
		t->qualifier = w.ptr[0];
		w.ptr++;
		w.len--;
	}
	for (n = 0; n < w.len && w.ptr[n] != ':' && w.ptr[n] != '/'; n++)
		;
	name = (struct span){ w.ptr, n };
	rest = (struct span){ w.ptr + n, w.len - n };
	for (i = 0; i < sizeof(spf_record_mechs) / sizeof(spf_record_mechs[0]); i++)
		if (span_eq_nocase(name, spf_record_mechs[i].name))
			break;
	if (i == sizeof(spf_record_mechs) / sizeof(spf_record_mechs[0]))
		return -1;			/* unknown mechanism */
	t->kind = spf_record_mechs[i].kind;
	switch (t->kind) {
	case SPF_T_ALL:
		return rest.len == 0 ? 0 : -1;
	case SPF_T_IP4:
	case SPF_T_IP6:
		return spf_record_ip(rest, t);
	case SPF_T_A:
	case SPF_T_MX:
		if (spf_record_dual_cidr(&rest, t) == -1)
			return -1;
		break;
	default:
		break;
	}
	if (rest.len == 0)
		/* include and exists need a domain-spec; a, mx, ptr not. */
		return t->kind == SPF_T_INCLUDE || t->kind == SPF_T_EXISTS ? -1 : 0;
	if (rest.ptr[0] != ':')
		return -1;
	t->spec = (struct span){ rest.ptr + 1, rest.len - 1 };
	return spf_record_domain_spec(t->spec) ? 0 : -1;
}

/* Is w a modifier: name "=" ..., name = ALPHA *( ALPHA / DIGIT / "-" /
 * "_" / "." ) (4.6.1)? Sets *eq to the '=' position. */
static bool
spf_record_is_modifier(struct span w, size_t *eq)
{
	size_t i;

	if (w.len == 0 || !spf_record_is_alpha(w.ptr[0]))
		return false;
	for (i = 1; i < w.len; i++) {
		char c = w.ptr[i];

		if (c == '=') {
			*eq = i;
			return true;
		}
		if (!spf_record_is_alpha(c) && !spf_record_is_digit(c) &&
		    c != '-' && c != '_' && c != '.')
			return false;
	}
	return false;
}

static int
spf_record_modifier(struct span w, size_t eq, struct spf_term *t,
    bool *seen_redirect, bool *seen_exp)
{
	struct span name = { w.ptr, eq };

	t->qualifier = '\0';
	t->spec = (struct span){ w.ptr + eq + 1, w.len - eq - 1 };
	if (span_eq_nocase(name, "redirect") || span_eq_nocase(name, "exp")) {
		bool *seen = span_eq_nocase(name, "exp") ? seen_exp :
		    seen_redirect;

		/* 6: each at most once in a record. */
		if (*seen)
			return -1;
		*seen = true;
		t->kind = seen == seen_exp ? SPF_T_EXP : SPF_T_REDIRECT;
		return spf_record_domain_spec(t->spec) ? 0 : -1;
	}
	/* 6: unknown modifiers are ignored, but must still be well-formed:
	 * unknown-modifier = name "=" macro-string, where every macro-letter
	 * is allowed (SP cannot occur: it ends the term). */
	t->kind = SPF_T_UNKNOWN_MOD;
	return spf_macro_check(t->spec, true, NULL) == PARSE_OK ? 0 : -1;
}

enum parse_rc
spf_record_parse(struct span rec, struct spf_term *terms, size_t max,
    size_t *n_out)
{
	bool seen_redirect = false, seen_exp = false;
	size_t i, start, n = 0, eq;
	struct spf_term *t;
	struct span w;

	*n_out = 0;
	if (!spf_record_is_spf(rec))
		return PARSE_INVALID;
	for (i = 6; i < rec.len;) {
		/* terms = *( 1*SP ( directive / modifier ) ), then *SP. */
		if (rec.ptr[i] == ' ') {
			i++;
			continue;
		}
		for (start = i; i < rec.len && rec.ptr[i] != ' '; i++)
			;
		w = (struct span){ rec.ptr + start, i - start };
		if (n == max)
			return PARSE_INVALID;
		t = &terms[n];
		memset(t, 0, sizeof(*t));
		t->text = w;
		t->cidr4 = t->cidr6 = -1;
		if (spf_record_is_modifier(w, &eq)) {
			if (spf_record_modifier(w, eq, t, &seen_redirect,
			    &seen_exp) == -1)
				return PARSE_INVALID;
		} else if (spf_record_directive(w, t) == -1)
			return PARSE_INVALID;
		n++;
	}
	*n_out = n;
	return PARSE_OK;
}
