/*
 * imap_util: the small pieces of IMAP syntax the session's commands share
 * (RFC 3501 9): arguments as C strings, strings out (quoted or literal),
 * flags, date-time, UID sets out, LIST patterns. Pure: no session, no
 * store (unit-tested in imap_util_test.c).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/xalloc.h"
#include "imap/imap_sess_int.h"

static const char *const imap_months[] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	"Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
};

const struct imap_tok *
imap_arg(const struct imap_cmd *cmd, size_t *i)
{
	const struct imap_tok *t;

	if (*i >= cmd->ntoks)
		return NULL;
	t = &cmd->toks[*i];
	*i = t->end;
	return t;
}

char *
imap_arg_cstr(const struct imap_tok *t)
{
	if (t == NULL || !imap_tok_is_string(t) || t->type == IMAP_TOK_NIL ||
	    memchr(t->val.ptr, '\0', t->val.len) != NULL)
		return NULL;
	return xstrndup(t->val.ptr, t->val.len);
}

void
imap_put_string(struct buf *b, const char *s, size_t len)
{
	size_t i;
	bool quotable = len <= 1024;

	for (i = 0; quotable && i < len; i++)
		if (s[i] == '\0' || s[i] == '\r' || s[i] == '\n' ||
		    (unsigned char)s[i] >= 0x80)
			quotable = false;
	if (!quotable) {
		buf_printf(b, "{%zu}\r\n", len);
		buf_append(b, s, len);
		return;
	}
	buf_append(b, "\"", 1);
	for (i = 0; i < len; i++) {
		if (s[i] == '"' || s[i] == '\\')
			buf_append(b, "\\", 1);
		buf_append(b, &s[i], 1);
	}
	buf_append(b, "\"", 1);
}

static const struct {
	const char	*name;
	unsigned	 bit;
} imap_flag_names[] = {
	{ "\\Answered",	MBOX_F_ANSWERED },
	{ "\\Flagged",	MBOX_F_FLAGGED },
	{ "\\Deleted",	MBOX_F_DELETED },
	{ "\\Seen",	MBOX_F_SEEN },
	{ "\\Draft",	MBOX_F_DRAFT },
};

void
imap_put_flags(struct buf *b, unsigned flags, bool recent)
{
	size_t i;
	bool first = true;

	for (i = 0; i < sizeof(imap_flag_names) / sizeof(imap_flag_names[0]);
	    i++) {
		if ((flags & imap_flag_names[i].bit) == 0)
			continue;
		buf_printf(b, "%s%s", first ? "" : " ", imap_flag_names[i].name);
		first = false;
	}
	if (recent)
		buf_printf(b, "%s\\Recent", first ? "" : " ");
}

int
imap_flag_parse(struct span v, unsigned *flags)
{
	size_t i;

	for (i = 0; i < sizeof(imap_flag_names) / sizeof(imap_flag_names[0]);
	    i++)
		if (span_eq_nocase(v, imap_flag_names[i].name)) {
			*flags |= imap_flag_names[i].bit;
			return 0;
		}
	/* \Recent cannot be set (RFC 3501 2.3.2); other \words are not
	 * flags; a keyword (an atom) is accepted and not kept. */
	if (v.len == 0 || (v.ptr[0] == '\\' &&
	    !span_eq_nocase(v, "\\Recent")))
		return -1;
	return 0;
}

void
imap_put_datetime(struct buf *b, int64_t t)
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (gmtime_r(&tt, &tm) == NULL)
		memset(&tm, 0, sizeof(tm));
	buf_printf(b, "\"%02d-%s-%04d %02d:%02d:%02d +0000\"", tm.tm_mday,
	    imap_months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour,
	    tm.tm_min, tm.tm_sec);
}

/* n decimal digits at *p (advances); -1 when they are not there. */
static int
imap_digits(const char **p, const char *end, size_t n, int *out)
{
	int v = 0;

	while (n-- > 0) {
		if (*p >= end || **p < '0' || **p > '9')
			return -1;
		v = v * 10 + (**p - '0');
		(*p)++;
	}
	*out = v;
	return 0;
}

/* RFC 3501 9 date-time: "dd-Mon-yyyy hh:mm:ss +zzzz", day " 1" or "01"
 * (we take "1" too). */
int
imap_datetime_parse(struct span v, int64_t *out)
{
	const char *p = v.ptr, *end = v.ptr + v.len;
	struct tm tm;
	int day, year, hh, mm, ss, zh, zm, mon, sign;

	memset(&tm, 0, sizeof(tm));
	if (p < end && *p == ' ')
		p++;
	if (imap_digits(&p, end, 1, &day) < 0)
		return -1;
	if (p < end && *p >= '0' && *p <= '9')
		day = day * 10 + (*p++ - '0');
	if (end - p < 5 || *p != '-' || p[4] != '-')
		return -1;
	for (mon = 0; mon < 12; mon++)
		if (strncasecmp(p + 1, imap_months[mon], 3) == 0)
			break;
	if (mon == 12)
		return -1;
	p += 5;
	if (imap_digits(&p, end, 4, &year) < 0 || p >= end || *p++ != ' ' ||
	    imap_digits(&p, end, 2, &hh) < 0 || p >= end || *p++ != ':' ||
	    imap_digits(&p, end, 2, &mm) < 0 || p >= end || *p++ != ':' ||
	    imap_digits(&p, end, 2, &ss) < 0 || p >= end || *p++ != ' ' ||
	    p >= end || (*p != '+' && *p != '-'))
		return -1;
	sign = *p++ == '-' ? -1 : 1;
	if (imap_digits(&p, end, 2, &zh) < 0 ||
	    imap_digits(&p, end, 2, &zm) < 0 || p != end)
		return -1;
	if (day < 1 || day > 31 || year < 1970 || year > 9999 || hh > 23 ||
	    mm > 59 || ss > 60 || zm > 59)
		return -1;
	tm.tm_mday = day;
	tm.tm_mon = mon;
	tm.tm_year = year - 1900;
	tm.tm_hour = hh;
	tm.tm_min = mm;
	tm.tm_sec = ss;
	*out = (int64_t)timegm(&tm) - sign * (zh * 3600 + zm * 60);
	return 0;
}

void
imap_put_uidset(struct buf *b, const uint32_t *uids, size_t n)
{
	size_t i, j;

	for (i = 0; i < n; i = j) {
		for (j = i + 1; j < n && uids[j] == uids[j - 1] + 1; j++)
			;
		if (i > 0)
			buf_append(b, ",", 1);
		if (j - i == 1)
			buf_printf(b, "%u", uids[i]);
		else
			buf_printf(b, "%u:%u", uids[i], uids[j - 1]);
	}
}

/*
 * Pattern p against name n by dynamic programming over suffixes (two rows
 * of at most MBOX_FOLDER_NAME_MAX + 2 cells): linear in pattern times
 * name, whatever the wildcards. Runs of wildcards are folded first, so a
 * pattern that could match has at most 2 * MBOX_FOLDER_NAME_MAX + 1
 * characters (ours: longer ones match nothing).
 */
static bool
imap_list_match_dp(const char *pat, const char *n)
{
	char p[2 * MBOX_FOLDER_NAME_MAX + 2];
	bool rows[2][MBOX_FOLDER_NAME_MAX + 2], *cur, *next;
	size_t plen = 0, nlen = strlen(n), i, j;

	if (nlen > MBOX_FOLDER_NAME_MAX)
		return false;
	for (; *pat != '\0'; pat++) {
		bool wild = *pat == '*' || *pat == '%';

		if (wild && plen > 0 && (p[plen - 1] == '*' || p[plen - 1] == '%')) {
			if (*pat == '*')
				p[plen - 1] = '*';
			continue;
		}
		if (plen == sizeof(p) - 1)
			return false;
		p[plen++] = *pat;
	}
	next = rows[0];
	cur = rows[1];
	for (j = 0; j <= nlen; j++)
		next[j] = j == nlen;
	for (i = plen; i-- > 0;) {
		for (j = nlen + 1; j-- > 0;) {
			if (p[i] == '*')
				cur[j] = next[j] || (j < nlen && cur[j + 1]);
			else if (p[i] == '%')
				cur[j] = next[j] || (j < nlen && n[j] != '/' &&
				    cur[j + 1]);
			else
				cur[j] = j < nlen && p[i] == n[j] && next[j + 1];
		}
		next = cur;
		cur = next == rows[0] ? rows[1] : rows[0];
	}
	return next[0];
}

bool
imap_list_match(const char *pat, const char *name)
{
	/* INBOX is case-insensitive (RFC 3501 5.1). */
	if (strcmp(name, "INBOX") == 0 && strcasecmp(pat, "INBOX") == 0)
		return true;
	return imap_list_match_dp(pat, name);
}
