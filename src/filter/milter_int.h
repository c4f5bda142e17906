/*
 * milter_int: what the milter client's files share, and nothing else
 * includes (the unit test aside). milter.c runs the conversation,
 * milter_read.c reads the message file into header and body packets,
 * milter_mods.c turns the milter's modification requests into the result.
 */
#ifndef POSTERN_MILTER_INT_H
#define POSTERN_MILTER_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "filter/milter.h"
#include "filter/milter_proto.h"

#define MILTER_READ_WINDOW	(16 * 1024)	/* message bytes held at once: ours */
#define MILTER_MODS_BYTES_MAX	(1024 * 1024)	/* names and values of all mods: ours */
#define MILTER_HEADER_NAME_MAX	998	/* RFC 5322 2.1.1: one line */

/*
 * The message as the milter gets it, read with pread through a window of
 * MILTER_READ_WINDOW bytes: header fields (name, and the value with its
 * folded lines joined by LF, as Sendmail sends them), then the body with
 * each LF made CR LF, in packets of at most MILTER_CHUNK bytes.
 *
 * The header section ends at the empty line, or at the first line that
 * is neither a field nor a continuation line (which then begins the
 * body, as in Postfix's MIME reader), or at the end of the message.
 */
struct milter_reader {
	int		 fd;
	uint64_t	 off, len;	/* the message in fd */
	uint64_t	 pos;		/* next message byte to read into win */
	char		*win;
	size_t		 wstart, wend;	/* unread bytes of win */
	bool		 leadspc;	/* SMFIP_HDR_LEADSPC: value as it is */
	struct buf	 name, value;	/* the field being gathered */
	bool		 have_field;
	bool		 mid_line;	/* the last piece was not a whole line */
	bool		 header_done;
	bool		 body_started;
	uint64_t	 body_pos;	/* where the body begins */
	struct buf	 chunk;		/* one body packet's data */
	const char	*err;		/* why -1 */
};

void	milter_reader_init(struct milter_reader *rd, int fd, uint64_t off,
	    uint64_t len, bool leadspc);
void	milter_reader_free(struct milter_reader *rd);
/* Appends the next SMFIC_HEADER packet to pkt: 1, or 0 at the end of the
 * header section, or -1 (rd->err) when the file cannot be read. */
int	milter_reader_header(struct milter_reader *rd, struct buf *pkt);
/* Appends the next SMFIC_BODY packet: 1, or 0 at the end of the
 * message, or -1 (rd->err). Call once milter_reader_header() said 0. */
int	milter_reader_body(struct milter_reader *rd, struct buf *pkt);

/* The steps of the conversation, in order. */
enum milter_step {
	MILTER_STEP_CONNECTING,
	MILTER_STEP_OPTNEG,
	MILTER_STEP_CONNECT,
	MILTER_STEP_HELO,
	MILTER_STEP_MAIL,
	MILTER_STEP_RCPT,
	MILTER_STEP_DATA,
	MILTER_STEP_HEADER,
	MILTER_STEP_EOH,
	MILTER_STEP_BODY,
	MILTER_STEP_EOB,
	MILTER_STEP_DONE,
};

struct bufferevent;
struct event;

struct milter_run {
	struct event_base	*base;
	struct filter_conn	*conn;
	struct bufferevent	*bev;
	struct event		*timer, *done_ev;
	bool			 is_unix;
	struct milter_msg	 msg;	/* its strings are the caller's */
	milter_done_fn		 done;
	void			*arg;

	enum milter_step	 step;
	size_t			 rcpt;		/* MILTER_STEP_RCPT: which */
	bool			 awaiting;	/* a reply to step is due */
	bool			 blocked;	/* waiting for output to drain */
	bool			 finished;	/* done_ev is on its way */
	bool			 in_done;	/* done is running */
	uint32_t		 actions, protocol;	/* as negotiated */
	struct milter_reader	 rd;
	struct buf		 pkt;		/* packets to send */

	struct milter_result	 res;
	size_t			 nrejected;	/* recipients refused at RCPT:
						 * the first mods */
	size_t			 mods_cap, mods_bytes;
	bool			 body_cr;	/* replacement body: a CR ended
						 * the last chunk */
	struct buf		 conv;		/* one replacement chunk, LF form */
};

/*
 * Takes one modification request (SMFIR_ADDHEADER, INSHEADER,
 * CHGHEADER, ADDRCPT, DELRCPT, REPLBODY, QUARANTINE) at end of body into
 * r->res. 0, or -1 with r->res.error set: a request not negotiated,
 * malformed (a header that would break the message), or past a limit.
 */
int	milter_mods_take(struct milter_run *r, const struct milter_reply *rep);
/* A recipient refused at RCPT: a MILTER_MOD_DELETE_RCPT, never counted
 * against MILTER_MODS_MAX (the session bounds the recipients). */
void	milter_mods_reject_rcpt(struct milter_run *r, const char *rcpt);
/* The replacement body is complete: its last CR, and the offset at 0.
 * 0 or -1 (r->res.error). */
int	milter_mods_body_finish(struct milter_run *r);

#endif
