/*
 * milter_proto: the wire form of the milter protocol, version 6 (the
 * protocol libmilter 8.14+ speaks; documented in Sendmail's
 * include/libmilter/mfdef.h and the milter-protocol notes). A packet is a
 * 4-byte network order length (command byte included), a command byte,
 * then data. Pure; the reply decoder is fuzzed.
 */
#ifndef POSTERN_MILTER_PROTO_H
#define POSTERN_MILTER_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

#define MILTER_VERSION		6
#define MILTER_CHUNK		65535	/* MILTER_CHUNK_SIZE: one body packet */
#define MILTER_PACKET_MAX	(MILTER_CHUNK + 64 * 1024)	/* a reply we accept: ours */

/* Commands (MTA -> milter). */
#define SMFIC_ABORT	'A'
#define SMFIC_BODY	'B'
#define SMFIC_CONNECT	'C'
#define SMFIC_MACRO	'D'
#define SMFIC_BODYEOB	'E'
#define SMFIC_HELO	'H'
#define SMFIC_QUIT_NC	'K'
#define SMFIC_HEADER	'L'
#define SMFIC_MAIL	'M'
#define SMFIC_EOH	'N'
#define SMFIC_OPTNEG	'O'
#define SMFIC_QUIT	'Q'
#define SMFIC_RCPT	'R'
#define SMFIC_DATA	'T'
#define SMFIC_UNKNOWN	'U'

/* Replies (milter -> MTA). */
#define SMFIR_ADDRCPT	'+'
#define SMFIR_DELRCPT	'-'
#define SMFIR_ADDRCPT_PAR '2'
#define SMFIR_SHUTDOWN	'4'
#define SMFIR_ACCEPT	'a'
#define SMFIR_REPLBODY	'b'
#define SMFIR_CONTINUE	'c'
#define SMFIR_DISCARD	'd'
#define SMFIR_CHGFROM	'e'
#define SMFIR_CONN_FAIL	'f'
#define SMFIR_ADDHEADER	'h'
#define SMFIR_INSHEADER	'i'
#define SMFIR_SETSYMLIST 'l'
#define SMFIR_CHGHEADER	'm'
#define SMFIR_PROGRESS	'p'
#define SMFIR_QUARANTINE 'q'
#define SMFIR_REJECT	'r'
#define SMFIR_SKIP	's'
#define SMFIR_TEMPFAIL	't'
#define SMFIR_REPLYCODE	'y'

/* Actions the MTA allows (SMFIF_*). */
#define SMFIF_ADDHDRS	0x001
#define SMFIF_CHGBODY	0x002
#define SMFIF_ADDRCPT	0x004
#define SMFIF_DELRCPT	0x008
#define SMFIF_CHGHDRS	0x010
#define SMFIF_QUARANTINE 0x020
#define SMFIF_CHGFROM	0x040
#define SMFIF_ADDRCPT_PAR 0x080
#define SMFIF_SETSYMLIST 0x100

/* Protocol steps the milter may skip or not answer (SMFIP_*). */
#define SMFIP_NOCONNECT	0x000001
#define SMFIP_NOHELO	0x000002
#define SMFIP_NOMAIL	0x000004
#define SMFIP_NORCPT	0x000008
#define SMFIP_NOBODY	0x000010
#define SMFIP_NOHDRS	0x000020
#define SMFIP_NOEOH	0x000040
#define SMFIP_NR_HDR	0x000080
#define SMFIP_NOUNKNOWN	0x000100
#define SMFIP_NODATA	0x000200
#define SMFIP_SKIP	0x000400
#define SMFIP_RCPT_REJ	0x000800
#define SMFIP_NR_CONN	0x001000
#define SMFIP_NR_HELO	0x002000
#define SMFIP_NR_MAIL	0x004000
#define SMFIP_NR_RCPT	0x008000
#define SMFIP_NR_DATA	0x010000
#define SMFIP_NR_UNKN	0x020000
#define SMFIP_NR_EOH	0x040000
#define SMFIP_NR_BODY	0x080000
#define SMFIP_HDR_LEADSPC 0x100000

/* Appends one packet: cmd and len bytes of data. 0 or -1 (out overflowed). */
int	milter_put(struct buf *out, char cmd, const void *data, size_t len);
/* Appends one packet whose data is the NUL-terminated strings given
 * (terminated by NULL), each with its NUL. 0 or -1. cmd is an int: a
 * char before "..." would be promoted, and va_start on it is undefined. */
int	milter_put_strs(struct buf *out, int cmd, ...);

/*
 * Takes one whole packet off the front of in[0..len): 1 with *cmd,
 * *data, *dlen (pointing into in) and *used (bytes of the packet), 0 when
 * more input is needed, -1 when the length is 0 or past MILTER_PACKET_MAX.
 */
int	milter_get(const char *in, size_t len, char *cmd, const char **data,
	    size_t *dlen, size_t *used);

/* The option negotiation reply: version, actions, protocol flags. */
struct milter_optneg {
	uint32_t	version, actions, protocol;
};
/* Parses an SMFIC_OPTNEG reply's data. 0 or -1. */
int	milter_parse_optneg(const char *data, size_t dlen,
	    struct milter_optneg *out);

/*
 * A decoded reply packet. Strings point into the packet's data (which is
 * checked to hold them NUL-terminated); they are not copied.
 */
struct milter_reply {
	char		 cmd;		/* SMFIR_* */
	uint32_t	 index;		/* INSHEADER, CHGHEADER */
	struct span	 a, b;		/* header name/value; rcpt (a); reply text
					 * (a); quarantine reason (a); body chunk (a) */
};
/* 0, or -1 when the data does not fit the command's form (or the
 * command is unknown). */
int	milter_parse_reply(char cmd, const char *data, size_t dlen,
	    struct milter_reply *out);
/* Is a SMFIR_REPLYCODE text acceptable: "4xx" or "5xx" alone, or followed
 * by a space and printable ASCII, on one line (a multi-line "5xx-" reply
 * is not: it is not relayed), and an enhanced code, if any, of the same
 * class? Its first digit is then 4 or 5. */
bool	milter_reply_text_valid(struct span text);

#endif
