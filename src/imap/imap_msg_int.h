/*
 * imap_msg_int: what the imap_msg files share (imap_msg.c: the mapping
 * and the structure; imap_msg_fetch.c: ENVELOPE and BODYSTRUCTURE;
 * imap_msg_section.c: sections and the reader; imap_msg_search.c: dates
 * and SEARCH). No other module includes it.
 */
#ifndef POSTERN_IMAP_MSG_INT_H
#define POSTERN_IMAP_MSG_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "imap/imap_msg.h"

/* A mapped message: ours. */
#define IMAP_MSG_SIZE_MAX	((size_t)1 << 31)
#define IMAP_MSG_QUOTED_MAX	1024	/* longer: a literal (ours) */

enum imap_ent_kind {
	IMAP_ENT_LEAF,		/* content as it is */
	IMAP_ENT_MULTI,		/* multipart: children are its parts */
	IMAP_ENT_MESSAGE,	/* message/rfc822: one child, the message */
};

/*
 * One entity: the message, a part of a multipart, or the message a
 * message/rfc822 part carries. Offsets are into the mapping; sizes of
 * the body in CRLF bytes. Children of one entity are contiguous in
 * imap_msg.ents: [child, child + nchild).
 */
struct imap_ent {
	size_t		 hdr_off, hdr_len;	/* empty line included */
	size_t		 body_off, body_len;
	size_t		 ct_off, ct_len;	/* raw Content-Type value */
	uint64_t	 body_vsize;	/* body in CRLF bytes */
	uint64_t	 lines;		/* body lines (the last may lack LF) */
	uint32_t	 child, nchild;
	uint8_t		 depth;		/* 0 = the message */
	uint8_t		 kind;		/* enum imap_ent_kind */
	bool		 has_ct;	/* a valid Content-Type, else default */
	bool		 text;		/* text/... */
	bool		 opaque;	/* limits: application/octet-stream */
	bool		 digest;	/* in a digest: message/rfc822 default */
	bool		 is_digest;	/* multipart/digest itself */
	bool		 is_msg;	/* a message: the top or an attached one */
};

struct imap_msg {
	const char	*data;
	size_t		 len;
	void		*map;		/* NULL: not mapped by us */
	size_t		 maplen;
	struct imap_ent	*ents;
	size_t		 nents;
	bool		 parsed;
	bool		 have_vsize;
	uint64_t	 vsize;
};

/* The structure, parsed on first call. Never fails (limits: opaque). */
void	imap_msg_parse(struct imap_msg *m);
/* CRLF size of p[0..n) (a lone LF counts 2); lines if not NULL. */
uint64_t imap_msg_crlf_size(const char *p, size_t n, uint64_t *lines_out);
/*
 * The entity a section's part number names (RFC 3501 6.4.5), or NULL
 * when there is none. The part's number only: HEADER and TEXT then go
 * into a message/rfc822 part's message (the caller's business).
 */
const struct imap_ent *imap_msg_find(struct imap_msg *m, const uint32_t *part,
	    size_t npart);

/* Header section end in p[0..n): after its empty line, else n. */
size_t	imap_msg_header_end(const char *p, size_t n);
/* The first field named name of a header section: its raw value. */
bool	imap_msg_field(const char *hdr, size_t len, const char *name,
	    struct span *raw_out);
/*
 * Unfolds raw into tmp (reset first): line breaks (LF, CR LF) removed,
 * every other byte kept, blanks at both ends trimmed, cut at tmp->max.
 */
struct span imap_msg_unfold(struct buf *tmp, struct span raw);

/* IMAP string: quoted when short and plain, else a literal. NUL goes as
 * 0x80 (no NUL in an IMAP4rev1 literal). */
void	imap_msg_str(struct buf *out, const char *p, size_t n);
/* The same, or NIL when p is NULL or (empty_nil) n is 0. */
void	imap_msg_nstr(struct buf *out, const char *p, size_t n, bool empty_nil);
/* IMAP string of p upper-cased (ASCII). */
void	imap_msg_str_upper(struct buf *out, const char *p, size_t n);

/* ENVELOPE of the message whose header is hdr[0..len). */
void	imap_msg_envelope_of(const char *hdr, size_t len, struct buf *out);

#endif
