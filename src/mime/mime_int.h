/*
 * mime_int: what the mime_parse files share and tests may reach, but no
 * other module should: charsets, hex digits, and parameter values as
 * spans (a decoded value may hold NUL, which mime_param_get's
 * NUL-terminated strings cannot show).
 */
#ifndef POSTERN_MIME_INT_H
#define POSTERN_MIME_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"
#include "core/limits.h"
#include "mime/mime_parse.h"

#define MIME_VALUE_MAX		(64 * 1024)	/* one header value unfolded or
						 * decoded, kept: ours */
/*
 * The longest boundary whose close delimiter still fits a held line with
 * CR LF ("--" b "--" CR): longer ones could never be recognized, so the
 * parser refuses them (see mime_parse.c).
 */
#define MIME_BOUNDARY_HARD_MAX	(MIME_LINE_MAX - 5)

/* What we do with a charset's bytes: keep them, or read them as latin-1. */
enum mime_charset {
	MIME_CS_ASIS,		/* UTF-8, US-ASCII, unknown: bytes as they are */
	MIME_CS_LATIN1,		/* ISO-8859-1 and windows-1252: to UTF-8 */
};

/* The charset named (any case; an RFC 2231 "*lang" suffix ignored). */
enum mime_charset mime_charset_of(struct span name);
/* Appends p[0..n) converted to UTF-8 per cs. 0 or -1 (out overflowed). */
int	mime_charset_append(enum mime_charset cs, const char *p, size_t n,
	    struct buf *out);

/* The value of a hexadecimal digit (either case), or -1. */
int	mime_hexval(unsigned char c);

/* One decoded parameter value: out->data[off .. off + len). */
struct mime_pval {
	size_t	 off, len;
};

/*
 * mime_param_get() with the values' places: each occurrence of parameter
 * name is appended to out (NUL-terminated) and described in vals (at most
 * max, the count returned). words: decode RFC 2047 words in plain values
 * (names), or not (a boundary is taken as written).
 */
size_t	mime_param_collect(struct span value, const char *name, bool words,
	    struct buf *out, struct mime_pval *vals, size_t max);

/* ---- the parser's state, shared by mime_parse.c and mime_part.c ---- */

#define MIME_DEC_SLICE		8192	/* encoded bytes decoded at a time */
#define MIME_DEC_MAX		(2 * MIME_DEC_SLICE)	/* their output */

enum mime_ent_state {
	MIME_ENT_HEADER,	/* reading its header section */
	MIME_ENT_LEAF,		/* content goes to body() */
	MIME_ENT_PREAMBLE,	/* multipart, before its first delimiter */
	MIME_ENT_CHILD,		/* multipart or message: a child is open */
	MIME_ENT_EPILOGUE,	/* multipart, after its close delimiter */
};

/*
 * An open part. Its header section comes from layer hl; its content
 * lines, children or attached message from layer sl: hl too, or hl + 1
 * for a "container", a multipart or message with a base64 or QP
 * encoding, whose content lines in hl are decoded into layer hl + 1.
 */
struct mime_ent {
	struct mime_part_info pi;
	char		 path[MIME_PATH_MAX];
	char		 type[MIME_TYPE_MAX];
	struct buf	 names;		/* pi.names point here */
	struct buf	 bnd;		/* multipart boundary */
	struct buf	 dec;		/* decoded bytes on their way */
	struct mime_b64	 b64;
	struct mime_qp	 qp;
	enum mime_ent_state st;
	unsigned	 hl, sl;
	unsigned	 nchild;	/* children opened so far */
	bool		 container;
	bool		 want_body;	/* a leaf whose content body() reads */
	bool		 in_digest;	/* child of multipart/digest (RFC 2046 5.1.5) */
};

enum mime_ls {
	MIME_LS_START,		/* at the start of a line */
	MIME_LS_MID,		/* in a content line, streamed as it comes */
	MIME_LS_HOLD,		/* a line that may be a delimiter, in win */
	MIME_LS_BLANKS,		/* a full win that is a delimiter so far, and
				 * tail blanks after it (transport padding) */
};

/*
 * A stream of lines: the message (layer 0), or the decoded content of a
 * container. Lines are looked at where they lie in the input; only a
 * line that may be a delimiter and is split between pieces is copied.
 */
struct mime_layer {
	struct buf	 win;		/* at most MIME_LINE_MAX */
	enum mime_ls	 ls;
	unsigned	 nl;		/* held line break: 0, 1 (LF), 2 (CR LF);
					 * a delimiter that follows takes it */
	bool		 cr;		/* a piece of a line ended in CR */
	size_t		 tail;		/* MIME_LS_BLANKS: blanks past win */
};

struct mime_parser {
	struct mime_callbacks cb;
	enum mime_rc	 rc;
	bool		 finished;
	struct mime_ent	 ents[MIME_DEPTH_MAX + 1];	/* index = depth */
	size_t		 nents;
	struct mime_layer layers[MIME_DEPTH_MAX + 2];
	unsigned	 nlayers;
	unsigned	 nparts;	/* parts opened so far */
	struct buf	 hdr;		/* the header section being read */
	size_t		 line_off;	/* where its last line starts */
	struct buf	 val;		/* a value unfolded */
	struct buf	 words;		/* the same, RFC 2047 decoded */
	struct buf	 ctv;		/* the Content-Type value */
	struct buf	 scratch;	/* parameter values */
};

void	mime_fail(struct mime_parser *p, enum mime_rc rc);
/* The open part that reads layer j's lines now (never NULL while open). */
struct mime_ent *mime_consumer(struct mime_parser *p, unsigned j);
/* Lines of layer j (the parser's, in mime_parse.c). */
void	mime_layer_input(struct mime_parser *p, unsigned j, const char *data,
	    size_t len);

/* mime_part.c: opening, reading the header of, feeding and closing parts. */
void	mime_ent_push(struct mime_parser *p, const char *path, bool in_digest,
	    unsigned hl);
void	mime_ent_child(struct mime_parser *p, struct mime_ent *parent,
	    unsigned hl);
void	mime_ent_header_done(struct mime_parser *p, struct mime_ent *e,
	    struct span hdr);
void	mime_ent_body_start(struct mime_parser *p, struct mime_ent *e);
void	mime_ent_content(struct mime_parser *p, struct mime_ent *e, unsigned j,
	    const char *data, size_t len);
void	mime_ent_dec_finish(struct mime_parser *p, struct mime_ent *e);
void	mime_ent_close(struct mime_parser *p);

#endif
