/*
 * milter_mods: a milter's modification requests at end of body, checked
 * and kept in the result for filter_rewrite to apply: header fields
 * (added, inserted, changed, deleted), recipients (added, deleted), the
 * replacement body (written to a scratch file in LF form) and quarantine.
 * All of it is the milter's word, so hostile: a request that was not
 * negotiated, a field that would break the header section (a bare CR, a
 * line that is not a continuation, an empty line), or one past a limit
 * ends the conversation with MILTER_ERROR.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/limits.h"
#include "core/xalloc.h"
#include "filter/milter_int.h"

static int __attribute__((format(printf, 2, 3)))
milter_mods_fail(struct milter_run *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->res.error, sizeof(r->res.error), fmt, ap);
	va_end(ap);
	return -1;
}

/* Takes name and value (allocated) into a new mod. */
static void
milter_mods_push(struct milter_run *r, enum milter_mod_kind kind,
    /* NOLINTNEXTLINE(readability-non-const-parameter): the mod owns them */
    uint32_t index, char *name, char *value)
{
	if (r->res.nmods == r->mods_cap) {
		r->mods_cap = r->mods_cap == 0 ? 8 : r->mods_cap * 2;
		r->res.mods = xrealloc(r->res.mods,
		    r->mods_cap * sizeof(*r->res.mods));
	}
	r->res.mods[r->res.nmods++] = (struct milter_mod){ kind, index, name,
	    value };
}

void
milter_mods_reject_rcpt(struct milter_run *r, const char *rcpt)
{
	milter_mods_push(r, MILTER_MOD_DELETE_RCPT, 0, NULL, xstrdup(rcpt));
	r->nrejected++;
}

/* Counts n more bytes of requests; -1 past the limits. */
static int
milter_mods_room(struct milter_run *r, size_t n)
{
	if (r->res.nmods - r->nrejected >= MILTER_MODS_MAX)
		return milter_mods_fail(r, "more than %d modification "
		    "requests", MILTER_MODS_MAX);
	if (n > MILTER_MODS_BYTES_MAX - r->mods_bytes)
		return milter_mods_fail(r, "modification requests over %d "
		    "bytes", MILTER_MODS_BYTES_MAX);
	r->mods_bytes += n;
	return 0;
}

static bool
milter_mods_name_ok(struct span s)
{
	if (s.len == 0 || s.len > MILTER_HEADER_NAME_MAX)
		return false;
	for (size_t i = 0; i < s.len; i++)
		if (s.ptr[i] < 33 || s.ptr[i] > 126 || s.ptr[i] == ':')
			return false;
	return true;
}

/*
 * The value as filter_rewrite writes it after "name: ": folded lines
 * joined by LF (a milter may send CR LF or LF), each continuation line
 * starting with a blank and holding more than blanks (a blank line would
 * end the header section early: a milter must not be able to move text
 * from the header into the body). NULL when the value cannot be written.
 */
static char *
milter_mods_value(const struct milter_run *r, struct span v)
{
	struct buf out;
	bool line_has_text = true;

	/* With SMFIP_HDR_LEADSPC the value is all that follows the colon:
	 * its one leading space is ours to write. */
	if ((r->protocol & SMFIP_HDR_LEADSPC) && v.len > 0 && v.ptr[0] == ' ')
		v = (struct span){ v.ptr + 1, v.len - 1 };
	buf_init(&out, v.len);
	for (size_t i = 0; i < v.len; i++) {
		unsigned char c = (unsigned char)v.ptr[i];

		if (c == '\r' && i + 1 < v.len && v.ptr[i + 1] == '\n')
			continue;
		if (c == '\n') {
			if (!line_has_text || i + 1 == v.len ||
			    (v.ptr[i + 1] != ' ' && v.ptr[i + 1] != '\t'))
				goto bad;
			line_has_text = false;
		} else if (c != ' ' && c != '\t') {
			if (c < 0x20 || c == 0x7f)
				goto bad;
			line_has_text = true;
		}
		(void)buf_append(&out, &c, 1);
	}
	if (!line_has_text)
		goto bad;
	if (out.data == NULL)
		return xstrdup("");
	return out.data;	/* the buf's memory, NUL-terminated */
bad:
	buf_free(&out);
	return NULL;
}

static int
milter_mods_header(struct milter_run *r, const struct milter_reply *rep)
{
	static const struct {
		char			 cmd;
		uint32_t		 action;
		enum milter_mod_kind	 kind;
	} kinds[] = {
		{ SMFIR_ADDHEADER, SMFIF_ADDHDRS, MILTER_MOD_ADD_HEADER },
		{ SMFIR_INSHEADER, SMFIF_ADDHDRS, MILTER_MOD_INSERT_HEADER },
		{ SMFIR_CHGHEADER, SMFIF_CHGHDRS, MILTER_MOD_CHANGE_HEADER },
	};
	size_t k = 0;
	uint32_t index = rep->index;
	char *value;

	while (kinds[k].cmd != rep->cmd)
		k++;
	if ((r->actions & kinds[k].action) == 0)
		return milter_mods_fail(r, "header change '%c' not negotiated",
		    rep->cmd);
	if (!milter_mods_name_ok(rep->a))
		return milter_mods_fail(r, "bad header name in '%c'", rep->cmd);
	/* An empty value deletes the field (smfi_chgheader with NULL). */
	if (rep->cmd == SMFIR_CHGHEADER && rep->b.len == 0)
		value = xstrdup("");
	else if ((value = milter_mods_value(r, rep->b)) == NULL)
		return milter_mods_fail(r, "bad header value in '%c' for %.*s",
		    rep->cmd, (int)rep->a.len, rep->a.ptr);
	if (milter_mods_room(r, rep->a.len + strlen(value)) == -1) {
		free(value);
		return -1;
	}
	/* Sendmail takes a change of field 0 for field 1 (Postfix too). */
	if (rep->cmd == SMFIR_CHGHEADER && index == 0)
		index = 1;
	milter_mods_push(r, kinds[k].kind, rep->cmd == SMFIR_ADDHEADER ? 0 :
	    index, xstrndup(rep->a.ptr, rep->a.len), value);
	return 0;
}

/* "<addr>" or "addr" as one path of RFC 5321 4.5.3.1.3; NULL if not. */
static char *
milter_mods_addr(struct span a)
{
	if (a.len >= 2 && a.ptr[0] == '<' && a.ptr[a.len - 1] == '>')
		a = (struct span){ a.ptr + 1, a.len - 2 };
	if (a.len == 0 || a.len > SMTP_PATH_MAX - 2)
		return NULL;
	for (size_t i = 0; i < a.len; i++) {
		unsigned char c = (unsigned char)a.ptr[i];

		/* UTF-8 is allowed (RFC 6531); blanks, controls and the
		 * brackets of a path are not. */
		if (c <= 0x20 || c == 0x7f || c == '<' || c == '>')
			return NULL;
	}
	return xstrndup(a.ptr, a.len);
}

static int
milter_mods_rcpt(struct milter_run *r, const struct milter_reply *rep)
{
	bool add = rep->cmd == SMFIR_ADDRCPT;
	char *addr;

	if (rep->cmd == SMFIR_ADDRCPT_PAR)	/* SMFIF_ADDRCPT_PAR: never offered */
		return milter_mods_fail(r, "recipient with ESMTP arguments "
		    "not negotiated");
	if ((r->actions & (add ? SMFIF_ADDRCPT : SMFIF_DELRCPT)) == 0)
		return milter_mods_fail(r, "recipient change '%c' not "
		    "negotiated", rep->cmd);
	if ((addr = milter_mods_addr(rep->a)) == NULL)
		return milter_mods_fail(r, "bad recipient in '%c'", rep->cmd);
	if (milter_mods_room(r, strlen(addr)) == -1) {
		free(addr);
		return -1;
	}
	milter_mods_push(r, add ? MILTER_MOD_ADD_RCPT : MILTER_MOD_DELETE_RCPT,
	    0, NULL, addr);
	return 0;
}

static int
milter_mods_write(struct milter_run *r, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(r->res.body_fd, p, n);

		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0)
			return milter_mods_fail(r, "writing the replacement "
			    "body: %s", w == 0 ? "no space" : strerror(errno));
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/*
 * One SMFIR_REPLBODY chunk: the milter's CR LF become LF (a CR at the
 * end of a chunk waits for the next one's first byte), appended to the
 * scratch file, which is made at the first chunk.
 */
static int
milter_mods_body(struct milter_run *r, struct span chunk)
{
	struct buf *c = &r->conv;

	if ((r->actions & SMFIF_CHGBODY) == 0)
		return milter_mods_fail(r, "body replacement not negotiated");
	if (r->res.body_fd == -1) {
		r->res.body_fd = r->msg.scratch != NULL ?
		    r->msg.scratch(r->msg.scratch_arg) : -1;
		if (r->res.body_fd == -1)
			return milter_mods_fail(r, "no scratch file for the "
			    "replacement body");
	}
	buf_reset(c);
	for (size_t i = 0; i < chunk.len; i++) {
		char ch = chunk.ptr[i];

		if (r->body_cr && ch != '\n')
			(void)buf_append(c, "\r", 1);
		r->body_cr = ch == '\r';
		if (!r->body_cr)
			(void)buf_append(c, &ch, 1);
	}
	/* body_len never passes body_max: no wrap here. */
	if (c->len > r->msg.body_max - r->res.body_len)
		return milter_mods_fail(r, "replacement body over %llu bytes",
		    (unsigned long long)r->msg.body_max);
	r->res.body_len += c->len;
	return milter_mods_write(r, c->data, c->len);
}

int
milter_mods_body_finish(struct milter_run *r)
{
	if (r->res.body_fd == -1)
		return 0;
	if (r->body_cr) {
		r->body_cr = false;
		if (r->res.body_len >= r->msg.body_max)
			return milter_mods_fail(r, "replacement body over %llu "
			    "bytes", (unsigned long long)r->msg.body_max);
		r->res.body_len++;
		if (milter_mods_write(r, "\r", 1) == -1)
			return -1;
	}
	if (lseek(r->res.body_fd, 0, SEEK_SET) == -1)
		return milter_mods_fail(r, "replacement body: %s",
		    strerror(errno));
	return 0;
}

static int
milter_mods_quarantine(struct milter_run *r, struct span reason)
{
	size_t i, n = sizeof(r->res.quarantine_reason) - 1;

	if ((r->actions & SMFIF_QUARANTINE) == 0)
		return milter_mods_fail(r, "quarantine not negotiated");
	/* The reason may end up in a log or a header: printable only. */
	for (i = 0; i < reason.len && i < n; i++) {
		char c = reason.ptr[i];

		if ((unsigned char)c < 0x20 || c == 0x7f)
			c = '?';
		r->res.quarantine_reason[i] = c;
	}
	r->res.quarantine_reason[i] = '\0';
	r->res.quarantine = true;
	return 0;
}

int
milter_mods_take(struct milter_run *r, const struct milter_reply *rep)
{
	switch (rep->cmd) {
	case SMFIR_ADDHEADER:
	case SMFIR_INSHEADER:
	case SMFIR_CHGHEADER:
		return milter_mods_header(r, rep);
	case SMFIR_ADDRCPT:
	case SMFIR_ADDRCPT_PAR:
	case SMFIR_DELRCPT:
		return milter_mods_rcpt(r, rep);
	case SMFIR_REPLBODY:
		return milter_mods_body(r, rep->a);
	case SMFIR_QUARANTINE:
		return milter_mods_quarantine(r, rep->a);
	default:
		return milter_mods_fail(r, "unexpected reply '%c'", rep->cmd);
	}
}
