/*
 * imap_msg: one stored message as IMAP FETCH and SEARCH see it (RFC 3501
 * 6.4.5, 7.4.2): its MIME structure (BODY, BODYSTRUCTURE), its ENVELOPE,
 * header fields, and the bytes of any body section, in CRLF form.
 *
 * The message is a Maildir file in LF form (SPEC 3), mapped read-only;
 * the structure is parsed on first need by a parser of our own over the
 * mapping (offsets, sizes in CRLF bytes, line counts), within fixed
 * limits: MIME_DEPTH_MAX levels and MIME_PARTS_MAX parts; past them the
 * rest is treated as opaque content (never an error for FETCH). Pure
 * apart from the mmap of the fd it is given.
 */
#ifndef POSTERN_IMAP_MSG_H
#define POSTERN_IMAP_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

#define IMAP_SECTION_FIELDS_MAX	64	/* names in HEADER.FIELDS (...): ours */
#define IMAP_SECTION_PART_MAX	32	/* levels in a section's part number: ours */

struct imap_msg;

/* Maps fd (not taken: the caller closes it). NULL with err. A message
 * over 2^31 bytes is refused. */
struct imap_msg *imap_msg_open(int fd, char *err, size_t errlen);
/* Over a buffer the caller keeps (tests, fuzzing). */
struct imap_msg *imap_msg_open_mem(const char *data, size_t len);
void	imap_msg_close(struct imap_msg **mp);

/* Bytes with CRLF line ends (a lone LF counts 2, a CRLF already there 2). */
uint64_t imap_msg_vsize(struct imap_msg *m);

/*
 * FETCH data items, appended to out in IMAP syntax (strings quoted or as
 * literals as needed, NIL where absent):
 *   ENVELOPE       (date subject from sender reply-to to cc bcc
 *                  in-reply-to message-id); sender and reply-to default
 *                  to from (RFC 3501 7.4.2); groups as RFC 3501 describes
 *   BODY           the non-extensible form
 *   BODYSTRUCTURE  with extension data (md5, disposition, language,
 *                  location)
 * Return 0, or -1 when out overflowed.
 */
int	imap_msg_envelope(struct imap_msg *m, struct buf *out);
int	imap_msg_bodystructure(struct imap_msg *m, bool extensible,
	    struct buf *out);

/* The Date: field as seconds since the epoch (SENTBEFORE/SENTON/
 * SENTSINCE), or INT64_MIN when absent or unparseable. */
int64_t	imap_msg_date(struct imap_msg *m);

/*
 * SEARCH: does the header field name (any case; "" = any field) of the
 * top-level header contain needle (ASCII case-insensitive, after
 * unfolding and RFC 2047 decoding)? An empty needle matches every message
 * that has the field.
 */
bool	imap_msg_header_contains(struct imap_msg *m, const char *name,
	    const char *needle);
/* SEARCH BODY (text of the body, decoded per part: base64 and QP parts
 * decoded, others as they are) and TEXT (header and body). */
bool	imap_msg_body_contains(struct imap_msg *m, const char *needle,
	    bool with_header);

/* ---- sections: BODY[...]<...>, BODY.PEEK[...], RFC822* ---- */

enum imap_section_kind {
	IMAP_SEC_ALL,		/* BODY[] / BODY[1.2]: the whole (part) */
	IMAP_SEC_HEADER,	/* [HEADER], [1.2.HEADER] (of an attached message) */
	IMAP_SEC_FIELDS,	/* [HEADER.FIELDS (A B)] */
	IMAP_SEC_FIELDS_NOT,	/* [HEADER.FIELDS.NOT (A B)] */
	IMAP_SEC_TEXT,		/* [TEXT], [1.2.TEXT] */
	IMAP_SEC_MIME,		/* [1.2.MIME]: the part's own header */
};

struct imap_section {
	bool			 peek;		/* BODY.PEEK / RFC822.HEADER: no \Seen */
	uint32_t		 part[IMAP_SECTION_PART_MAX];	/* 1.2 -> {1, 2} */
	size_t			 npart;		/* 0: the message */
	enum imap_section_kind	 kind;
	char			*fields[IMAP_SECTION_FIELDS_MAX];	/* upper case */
	size_t			 nfields;
	bool			 partial;	/* <off.len> given */
	uint64_t		 off, len;
	/*
	 * The item's name for the response, RFC 3501 7.4.2: "BODY[HEADER]",
	 * "BODY[HEADER.FIELDS (FROM SUBJECT)]<0>" (partial: only the
	 * origin), "RFC822", "RFC822.HEADER", "RFC822.TEXT" ("BODY" for
	 * BODY.PEEK).
	 */
	char			*label;
};

/*
 * Parses one FETCH attribute that names a section: "BODY[...]" with an
 * optional "<off.len>", "BODY.PEEK[...]", "RFC822", "RFC822.HEADER",
 * "RFC822.TEXT" (the atom as the parser keeps it, section text verbatim).
 * 0, or -1 with a reason for BAD. Free with imap_section_clear().
 */
int	imap_section_parse(const char *atom, size_t len, struct imap_section *out,
	    char *err, size_t errlen);
void	imap_section_clear(struct imap_section *s);

/*
 * The content of a section, in CRLF form, after the partial range. A
 * part number that does not exist gives an empty section (RFC 3501 does
 * not call it an error; common servers answer ""). Read it in pieces so
 * that one FETCH of a large message never holds it twice:
 *
 *   struct imap_msg_reader r;
 *   imap_msg_reader_init(&r, m, &section);     r.size is the total
 *   while ((n = imap_msg_reader_read(&r, buf, sizeof buf)) > 0) ...
 */
struct imap_msg_reader {
	uint64_t	 size;		/* CRLF bytes the section has, after partial */
	/* internal */
	struct imap_msg	*m;
	const char	*src;		/* LF bytes of the extent (or gen.data) */
	size_t		 srclen, pos;
	uint64_t	 skip;		/* CRLF bytes still to skip (partial) */
	uint64_t	 left;		/* CRLF bytes still to give */
	bool		 cr_pending;	/* a CR given, its LF not yet */
	struct buf	 gen;		/* HEADER.FIELDS output, built once */
};
void	imap_msg_reader_init(struct imap_msg_reader *r, struct imap_msg *m,
	    const struct imap_section *s);
/* Up to max bytes into dst; 0 at the end. */
size_t	imap_msg_reader_read(struct imap_msg_reader *r, char *dst, size_t max);
void	imap_msg_reader_clear(struct imap_msg_reader *r);

#endif
