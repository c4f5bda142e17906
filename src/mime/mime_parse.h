/*
 * mime_parse: a streaming MIME structure parser (RFC 2045, 2046) for
 * messages in LF form, as the queue stores them. Bytes are pushed in
 * pieces of any size; the parser keeps at most one header section
 * (MIME_HEADER_MAX) and one line (MIME_LINE_MAX) per open part, never the
 * message. It reports, through callbacks:
 *   - each part, when its header section is complete, with its type, its
 *     transfer encoding and every file name it carries (Content-Disposition
 *     filename and Content-Type name, RFC 2231 continuations and charsets
 *     and RFC 2047 encoded words decoded);
 *   - each header field of each part, unfolded and RFC 2047-decoded;
 *   - the content of each leaf part, base64 or quoted-printable decoded.
 * message/rfc822 parts (and message/global) are parsed as messages: their
 * own header sections and parts are reported one level deeper.
 * Pure: no I/O. Every limit passed stops the parse with an error code.
 */
#ifndef POSTERN_MIME_PARSE_H
#define POSTERN_MIME_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

#define MIME_HEADER_MAX		(256 * 1024)	/* one part's header section: ours */
#define MIME_LINE_MAX		4096	/* longest line kept whole; longer lines are
					 * content, never a boundary: ours */
#define MIME_PARTS_MAX		1000	/* parts in one message, all depths: ours */
#define MIME_NAMES_MAX		8	/* file names kept per part: ours */
#define MIME_NAME_MAX		1024	/* one decoded file name, bytes: ours */
#define MIME_PARAMS_MAX		64	/* parameters read per field: ours */
#define MIME_PATH_MAX		128	/* "1.2.3..." part number text */
#define MIME_TYPE_MAX		128	/* "type/subtype" kept, lower case */

enum mime_cte {
	MIME_CTE_IDENTITY,	/* 7bit, 8bit, binary, absent, unknown */
	MIME_CTE_BASE64,
	MIME_CTE_QP,
};

enum mime_rc {
	MIME_OK = 0,
	MIME_ERR_DEPTH,		/* multipart/message nesting past MIME_DEPTH_MAX */
	MIME_ERR_HEADER,	/* a header section past MIME_HEADER_MAX */
	MIME_ERR_PARTS,		/* more than MIME_PARTS_MAX parts */
	MIME_ERR_STOPPED,	/* a callback asked to stop */
};

struct mime_part_info {
	/*
	 * The part's number as IMAP counts it (RFC 3501 6.4.5): "" for the
	 * message itself, "1", "1.2", ...; the parts of an attached message
	 * continue its number ("2.1"). A non-multipart message's body is
	 * part "1" too, but is reported once, as "".
	 */
	const char	*path;
	unsigned	 depth;		/* 0 = the message, +1 per multipart or message level */
	const char	*type;		/* "text/plain" (lower case, parameters cut);
					 * the RFC 2045 5.2 / RFC 2046 5.1.5 default
					 * when absent or invalid (a multipart
					 * without a boundary is invalid) */
	enum mime_cte	 cte;
	bool		 multipart;	/* type is multipart/... (has children) */
	bool		 message;	/* message/rfc822 or message/global: its
					 * content is parsed as a message */
	bool		 attachment;	/* Content-Disposition: attachment */
	/* Decoded file names: every filename / filename* parameter of
	 * Content-Disposition and name / name* of Content-Type, in that
	 * order, duplicates kept (clients disagree which one wins). Bytes as
	 * decoded (UTF-8 when the charset was UTF-8, US-ASCII or ISO-8859-1;
	 * other charsets' bytes as they are); may hold NUL. */
	struct span	 names[MIME_NAMES_MAX];
	size_t		 nnames;
};

struct mime_callbacks {
	void	*arg;
	/*
	 * One header field of the part being read (before part() for that
	 * part): name as written, value unfolded (RFC 5322 2.2.3) and
	 * RFC 2047 decoded (an encoded word may decode to any byte, LF
	 * and NUL included), cut at 64 KiB. Optional. Return false to stop
	 * the parse.
	 */
	bool	(*header)(void *arg, const char *path, struct span name,
		    struct span value);
	/* A part's header section is complete. Optional. false = stop. */
	bool	(*part)(void *arg, const struct mime_part_info *pi);
	/*
	 * Decoded content of a leaf part (not multipart, not message), in
	 * pieces; len > 0. The line breaks of the content are LF. The part's
	 * info is the one given to part(). Optional: without it, leaf content
	 * is not decoded at all (containers still are). false = stop.
	 */
	bool	(*body)(void *arg, const struct mime_part_info *pi,
		    const char *data, size_t len);
	/* The part's content ended. Optional. */
	void	(*part_end)(void *arg, const struct mime_part_info *pi);
	/*
	 * Asked once per leaf part after part(): does body() want its
	 * content? false = it is neither decoded nor passed on. Optional
	 * (absent: every leaf's content goes to body()).
	 */
	bool	(*wants_body)(void *arg, const struct mime_part_info *pi);
};

struct mime_parser;

/* The callbacks are copied. Never NULL (allocation failure is fatal). */
struct mime_parser *mime_parser_new(const struct mime_callbacks *cb);
/*
 * Pushes the next len bytes of the message. MIME_OK, or the error that
 * stopped the parse (every later call returns it again, ignoring input).
 */
enum mime_rc mime_parser_feed(struct mime_parser *p, const char *data,
	    size_t len);
/* End of the message: closes every open part (a missing close-delimiter
 * is tolerated). MIME_OK or the error that stopped the parse. */
enum mime_rc mime_parser_finish(struct mime_parser *p);
/* Reason text of an error, for a reply: "MIME nesting too deep". */
const char *mime_rc_text(enum mime_rc rc);
void	mime_parser_free(struct mime_parser **pp);

/* ---- the pieces, exposed for tests and for the IMAP server ---- */

/*
 * The value of parameter name (any case) of a Content-Type or
 * Content-Disposition value (unfolded), RFC 2231 decoded: continuations
 * name*0, name*1 ... joined in order (at most MIME_PARAMS_MAX), name*
 * and name*0* percent-decoded and converted per their charset (see
 * mime_part_info.names), quoted strings unquoted, and an RFC 2047 encoded
 * word in a plain value decoded (not standard, but what clients send).
 * Every occurrence is appended to out as one NUL-terminated string;
 * returns how many (0 = none). out->max bounds the total.
 */
size_t	mime_param_get(struct span value, const char *name, struct buf *out);
/* One parameter from mime_param_list(): name and value in its out buffer,
 * each NUL-terminated there. */
struct mime_param_item {
	size_t	 name_off, name_len;
	size_t	 val_off, val_len;
};
/*
 * Every parameter of a Content-Type or Content-Disposition value
 * (unfolded), in order, at most max (and MIME_PARAMS_MAX), as an IMAP
 * BODYSTRUCTURE shows them: names as written, quoted values unquoted, no
 * RFC 2047 decoding. RFC 2231 continuations are joined in section order
 * ("name*0", "name*1" -> "name"); when a section is extended the result
 * is "name*" with one extended value, still percent-encoded after its
 * "charset'language'" (plain sections percent-encoded into it), for the
 * reader to decode. Returns the count; out->max bounds the total.
 */
size_t	mime_param_list(struct span value, struct buf *out,
	    struct mime_param_item *items, size_t max);
/* The "type/subtype" of a Content-Type value, lower case, into out
 * (MIME_TYPE_MAX); false when it is not a valid type (RFC 2045 5.1). */
bool	mime_content_type(struct span value, char *out, size_t outlen);
/* RFC 2047: appends text with every encoded word decoded (B and Q, blanks
 * between adjacent words dropped, 6.2) to out. 0, or -1 when out overflowed. */
int	mime_decode_words(struct span text, struct buf *out);

/* Streaming content decoders: input in pieces of any size. */
struct mime_b64 {
	uint32_t	 acc;
	unsigned	 nbits;
	bool		 done;		/* '=' padding seen */
};
void	mime_b64_init(struct mime_b64 *d);
/* Appends the decoded bytes of in to out, skipping anything outside the
 * alphabet (RFC 2045 6.8). 0, or -1 when out overflowed. */
int	mime_b64_feed(struct mime_b64 *d, const char *in, size_t len,
	    struct buf *out);

struct mime_qp {
	char		 pend[3];	/* '=' and what followed it so far */
	unsigned	 npend;
	char		 blanks[80];	/* blanks held until the line goes on */
	unsigned	 nblanks;
};
void	mime_qp_init(struct mime_qp *d);
/* RFC 2045 6.7: =XX decoded, soft line breaks ("=\n") removed, blanks at
 * line end dropped; a malformed '=' sequence is kept as it is. */
int	mime_qp_feed(struct mime_qp *d, const char *in, size_t len,
	    struct buf *out);
/* End of content: flushes what is pending. */
int	mime_qp_finish(struct mime_qp *d, struct buf *out);

#endif
