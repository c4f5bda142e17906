/*
 * milter: the MTA side of one milter conversation (milter.h). Connects
 * through filter_conn, negotiates (version 6), sends each step the milter
 * did not ask to skip, awaits each reply it did not ask to leave out, and
 * ends in one verdict, handed to done from a deferred event. One loop
 * (milter_run_loop) drives everything from every callback, so nothing
 * recurses however many replies arrive at once. The message's packets are
 * milter_read.c's; modification requests are milter_mods.c's.
 */
#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/xalloc.h"
#include "filter/milter_int.h"

/* What a milter may do: Postfix's set without a new sender, recipients
 * with ESMTP arguments and macro lists, which Postern cannot apply. */
#define MILTER_ACTIONS	(SMFIF_ADDHDRS | SMFIF_CHGBODY | SMFIF_ADDRCPT | \
	SMFIF_DELRCPT | SMFIF_CHGHDRS | SMFIF_QUARANTINE)
/*
 * Every step a milter may skip or leave unanswered, SMFIP_SKIP, and
 * header values as they are (SMFIP_HDR_LEADSPC: a DKIM milter needs the
 * exact bytes). Not SMFIP_RCPT_REJ: a recipient the session refused never
 * reaches the end of DATA, where this conversation happens.
 */
#define MILTER_PROTOCOL	(SMFIP_NOCONNECT | SMFIP_NOHELO | SMFIP_NOMAIL | \
	SMFIP_NORCPT | SMFIP_NOBODY | SMFIP_NOHDRS | SMFIP_NOEOH | \
	SMFIP_NR_HDR | SMFIP_NOUNKNOWN | SMFIP_NODATA | SMFIP_SKIP | \
	SMFIP_NR_CONN | SMFIP_NR_HELO | SMFIP_NR_MAIL | SMFIP_NR_RCPT | \
	SMFIP_NR_DATA | SMFIP_NR_UNKN | SMFIP_NR_EOH | SMFIP_NR_BODY | \
	SMFIP_HDR_LEADSPC)

/* Output waiting for the socket before we stop reading the message: two
 * body packets; we go on once it is down to one. */
#define MILTER_OUT_HIGH	(2 * (MILTER_CHUNK + 5))
#define MILTER_OUT_LOW	(MILTER_CHUNK + 5)
#define MILTER_PKT_MAX	(4 * MILTER_CHUNK)	/* one step's packets */

static const struct {
	const char	*name;
	uint32_t	 skip, noreply;	/* SMFIP_NO*, SMFIP_NR_* */
} milter_steps[] = {
	[MILTER_STEP_CONNECTING] = { "connect", 0, 0 },
	[MILTER_STEP_OPTNEG] = { "option negotiation", 0, 0 },
	[MILTER_STEP_CONNECT] = { "CONNECT", SMFIP_NOCONNECT, SMFIP_NR_CONN },
	[MILTER_STEP_HELO] = { "HELO", SMFIP_NOHELO, SMFIP_NR_HELO },
	[MILTER_STEP_MAIL] = { "MAIL", SMFIP_NOMAIL, SMFIP_NR_MAIL },
	[MILTER_STEP_RCPT] = { "RCPT", SMFIP_NORCPT, SMFIP_NR_RCPT },
	[MILTER_STEP_DATA] = { "DATA", SMFIP_NODATA, SMFIP_NR_DATA },
	[MILTER_STEP_HEADER] = { "header", SMFIP_NOHDRS, SMFIP_NR_HDR },
	[MILTER_STEP_EOH] = { "end of header", SMFIP_NOEOH, SMFIP_NR_EOH },
	[MILTER_STEP_BODY] = { "body", SMFIP_NOBODY, SMFIP_NR_BODY },
	[MILTER_STEP_EOB] = { "end of body", 0, 0 },
	[MILTER_STEP_DONE] = { "quit", 0, 0 },
};

static unsigned milter_timeout_ms = MILTER_TIMEOUT_SEC * 1000;

void
milter_set_timeout_ms(unsigned ms)
{
	milter_timeout_ms = ms == 0 ? MILTER_TIMEOUT_SEC * 1000 : ms;
}

/* Modifications and the replacement body go; the rest stays. */
static void
milter_result_drop_mods(struct milter_result *r)
{
	for (size_t i = 0; i < r->nmods; i++) {
		free(r->mods[i].name);
		free(r->mods[i].value);
	}
	free(r->mods);
	r->mods = NULL;
	r->nmods = 0;
	if (r->body_fd != -1)
		close(r->body_fd);
	r->body_fd = -1;
	r->body_len = 0;
	r->quarantine = false;
	r->quarantine_reason[0] = '\0';
}

void
milter_result_clear(struct milter_result *r)
{
	milter_result_drop_mods(r);
	memset(r, 0, sizeof(*r));
	r->body_fd = -1;
}

static void
milter_arm(struct milter_run *r)
{
	struct timeval tv = { (time_t)(milter_timeout_ms / 1000),
	    (suseconds_t)(milter_timeout_ms % 1000) * 1000 };

	(void)evtimer_add(r->timer, &tv);
}

/* Queues what r->pkt holds. */
static void
milter_flush(struct milter_run *r)
{
	if (r->pkt.len > 0)
		(void)bufferevent_write(r->bev, r->pkt.data, r->pkt.len);
	buf_reset(&r->pkt);
}

/*
 * The end: the verdict is kept, done runs from done_ev on the next loop
 * turn (so never inside milter_run_start() nor under our callers' feet),
 * and the milter is told we are leaving: ABORT first when a message is
 * still open on its side, then QUIT; both best effort, as libmilter takes
 * a closed connection for the same.
 */
static void
milter_finish(struct milter_run *r, enum milter_verdict v)
{
	struct evbuffer *out;

	if (r->finished)
		return;
	if (v == MILTER_ACCEPT && milter_mods_body_finish(r) == -1)
		v = MILTER_ERROR;
	r->res.verdict = v;
	if (v != MILTER_ACCEPT)
		milter_result_drop_mods(&r->res);
	if (v == MILTER_ACCEPT || v == MILTER_DISCARD || v == MILTER_ERROR)
		r->res.reply[0] = '\0';
	if (r->bev != NULL)
		bufferevent_disable(r->bev, EV_READ | EV_WRITE);
	if (r->bev != NULL && v != MILTER_ERROR) {
		buf_reset(&r->pkt);
		if (r->step != MILTER_STEP_EOB)
			(void)milter_put(&r->pkt, SMFIC_ABORT, NULL, 0);
		(void)milter_put(&r->pkt, SMFIC_QUIT, NULL, 0);
		milter_flush(r);
		/* The bufferevent keeps its output frozen for itself; it
		 * is disabled now, so this one write is ours to make. */
		out = bufferevent_get_output(r->bev);
		(void)evbuffer_unfreeze(out, 1);
		(void)evbuffer_write(out, bufferevent_getfd(r->bev));
	}
	(void)evtimer_del(r->timer);
	r->finished = true;
	r->awaiting = false;
	r->step = MILTER_STEP_DONE;
	event_active(r->done_ev, EV_TIMEOUT, 0);
}

static void __attribute__((format(printf, 2, 3)))
milter_fail(struct milter_run *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->res.error, sizeof(r->res.error), fmt, ap);
	va_end(ap);
	milter_finish(r, MILTER_ERROR);
}

/* One macro packet for stage: pairs of name and value, a NULL value
 * left out; nothing when no value is left. */
static void
milter_macros(struct milter_run *r, char stage, const char *const *kv,
    size_t npairs)
{
	struct buf d;

	buf_init(&d, MILTER_CHUNK);
	(void)buf_append(&d, &stage, 1);
	for (size_t i = 0; i < npairs; i++)
		if (kv[2 * i + 1] != NULL) {
			(void)buf_append(&d, kv[2 * i], strlen(kv[2 * i]) + 1);
			(void)buf_append(&d, kv[2 * i + 1],
			    strlen(kv[2 * i + 1]) + 1);
		}
	if (d.len > 1 && !d.overflowed)
		(void)milter_put(&r->pkt, SMFIC_MACRO, d.data, d.len);
	buf_free(&d);
}

#define MILTER_MACROS(r, stage, ...) do {				\
	const char *const kv_[] = { __VA_ARGS__ };			\
	milter_macros((r), (stage), kv_, sizeof(kv_) / sizeof(kv_[0]) / 2); \
} while (0)

/*
 * CONNECT: the client's name, or "[ip]" without a verified one (as
 * Sendmail and Postfix say it), the family, port 0 (a milter has no use
 * for the client's port), the address. An IPv4-mapped address is IPv4.
 */
static void
milter_send_connect(struct milter_run *r, bool skip)
{
	const struct milter_msg *m = &r->msg;
	const char *ip = m->client_ip != NULL ? m->client_ip : "";
	const char *ptr = m->client_ptr;
	char family = strchr(ip, ':') != NULL ? '6' : '4';
	uint16_t port = 0;
	struct buf host, under, d;

	if (strncasecmp(ip, "::ffff:", 7) == 0 && strchr(ip + 7, '.') != NULL) {
		ip += 7;
		family = '4';
	}
	if (ptr != NULL && (*ptr == '\0' || strcmp(ptr, "unknown") == 0))
		ptr = NULL;
	buf_init(&host, 1024);
	buf_init(&under, 1024);
	buf_init(&d, 2048);
	(void)buf_printf(&host, ptr != NULL ? "%s" : "[%s]",
	    ptr != NULL ? ptr : ip);
	(void)buf_printf(&under, "%s%s[%s]", ptr != NULL ? ptr : "",
	    ptr != NULL ? " " : "", ip);
	MILTER_MACROS(r, SMFIC_CONNECT, "j", m->hostname, "{daemon_name}",
	    "postern", "_", buf_cstr(&under), "{client_addr}", ip,
	    "{client_name}", ptr != NULL ? ptr : "unknown");
	(void)buf_append(&d, buf_cstr(&host), host.len + 1);
	if (*ip == '\0') {
		(void)buf_append(&d, "U", 1);	/* SMFIA_UNKNOWN: no more */
	} else {
		(void)buf_append(&d, &family, 1);
		(void)buf_append(&d, &port, sizeof(port));
		(void)buf_append(&d, ip, strlen(ip) + 1);
	}
	if (!skip)
		(void)milter_put(&r->pkt, SMFIC_CONNECT, d.data, d.len);
	buf_free(&host);
	buf_free(&under);
	buf_free(&d);
}

/* "<addr>" for MAIL and RCPT. */
static void
milter_send_path(struct milter_run *r, char cmd, const char *addr)
{
	struct buf p;

	buf_init(&p, 1024);
	(void)buf_printf(&p, "<%s>", addr != NULL ? addr : "");
	(void)milter_put_strs(&r->pkt, cmd, buf_cstr(&p), (const char *)NULL);
	buf_free(&p);
}

/* The step's command is answered (or needs no answer): the next one. */
static void
milter_step_done(struct milter_run *r)
{
	switch (r->step) {
	case MILTER_STEP_CONNECT:
	case MILTER_STEP_HELO:
	case MILTER_STEP_MAIL:
		r->step++;
		r->rcpt = 0;
		break;
	case MILTER_STEP_RCPT:
		if (++r->rcpt < r->msg.nrcpts)
			break;
		/* Each recipient refused: the message is, with the last
		 * refusal's text. */
		if (r->nrejected > 0 && r->nrejected == r->msg.nrcpts)
			milter_finish(r, MILTER_REJECT);
		else
			r->step = MILTER_STEP_DATA;
		break;
	case MILTER_STEP_DATA:
		r->step = MILTER_STEP_HEADER;
		break;
	case MILTER_STEP_EOH:
		r->step = MILTER_STEP_BODY;
		break;
	default:	/* HEADER and BODY go on until the message ends */
		break;
	}
}

/* The step's packets are queued: await the reply, or go on. */
static void
milter_sent(struct milter_run *r, bool skip)
{
	milter_flush(r);
	if (!skip && (r->protocol & milter_steps[r->step].noreply) == 0) {
		r->awaiting = true;
		milter_arm(r);
	} else {
		milter_step_done(r);
	}
}

static void
milter_send_message(struct milter_run *r, bool skip)
{
	int rc;

	if (r->step == MILTER_STEP_HEADER) {
		/* Nothing to read when neither header nor body is sent. */
		if (skip && (r->protocol & SMFIP_NOBODY))
			rc = 0;
		else
			rc = milter_reader_header(&r->rd, &r->pkt);
		if (rc == 0)
			r->step = MILTER_STEP_EOH;
	} else {
		rc = skip ? 0 : milter_reader_body(&r->rd, &r->pkt);
		if (rc == 0)
			r->step = MILTER_STEP_EOB;
	}
	if (rc == -1) {
		milter_fail(r, "reading the message: %s", r->rd.err);
		return;
	}
	if (rc == 1) {
		if (skip)
			buf_reset(&r->pkt);
		milter_sent(r, skip);
	}
}

/* Sends the current step (macros first, even for a step the milter
 * skips, as Postfix does: a later step may want them). */
static void
milter_send_step(struct milter_run *r)
{
	const struct milter_msg *m = &r->msg;
	bool skip = (r->protocol & milter_steps[r->step].skip) != 0;

	switch (r->step) {
	case MILTER_STEP_CONNECT:
		milter_send_connect(r, skip);
		break;
	case MILTER_STEP_HELO:
		MILTER_MACROS(r, SMFIC_HELO, "{tls_version}", m->tls_version);
		if (!skip)
			(void)milter_put_strs(&r->pkt, SMFIC_HELO,
			    m->helo != NULL ? m->helo : "", (const char *)NULL);
		break;
	case MILTER_STEP_MAIL:
		MILTER_MACROS(r, SMFIC_MAIL, "{mail_addr}", m->from,
		    "{auth_authen}", m->auth_user, "{tls_version}",
		    m->tls_version);
		if (!skip)
			milter_send_path(r, SMFIC_MAIL, m->from);
		break;
	case MILTER_STEP_RCPT:
		if (m->nrcpts == 0) {
			milter_step_done(r);
			return;
		}
		MILTER_MACROS(r, SMFIC_RCPT, "{rcpt_addr}", m->rcpts[r->rcpt]);
		if (!skip)
			milter_send_path(r, SMFIC_RCPT, m->rcpts[r->rcpt]);
		break;
	case MILTER_STEP_DATA:
		MILTER_MACROS(r, SMFIC_DATA, "i", m->queue_id);
		if (!skip)
			(void)milter_put(&r->pkt, SMFIC_DATA, NULL, 0);
		break;
	case MILTER_STEP_HEADER:
	case MILTER_STEP_BODY:
		milter_send_message(r, skip);
		return;
	case MILTER_STEP_EOH:
		if (!skip)
			(void)milter_put(&r->pkt, SMFIC_EOH, NULL, 0);
		break;
	case MILTER_STEP_EOB:
		MILTER_MACROS(r, SMFIC_BODYEOB, "i", m->queue_id);
		(void)milter_put(&r->pkt, SMFIC_BODYEOB, NULL, 0);
		break;
	default:
		fatal("milter: no step to send in step %d", (int)r->step);
	}
	milter_sent(r, skip);
}

static void
milter_on_optneg(struct milter_run *r, char cmd, const char *data,
    size_t dlen)
{
	struct milter_optneg o;

	if (cmd != SMFIC_OPTNEG || milter_parse_optneg(data, dlen, &o) == -1) {
		milter_fail(r, "bad option negotiation reply");
		return;
	}
	/* Version 2 is the oldest with this negotiation (Postfix's floor). */
	if (o.version < 2 || o.version > MILTER_VERSION) {
		milter_fail(r, "milter protocol version %u not supported",
		    (unsigned)o.version);
		return;
	}
	if ((o.actions & ~(uint32_t)MILTER_ACTIONS) != 0) {
		milter_fail(r, "milter asks for actions 0x%x, we allow 0x%x",
		    (unsigned)o.actions, (unsigned)MILTER_ACTIONS);
		return;
	}
	r->actions = o.actions;
	/* Steps we did not offer to leave out are sent all the same. */
	r->protocol = o.protocol & MILTER_PROTOCOL;
	milter_reader_init(&r->rd, r->msg.fd, r->msg.off, r->msg.len,
	    (r->protocol & SMFIP_HDR_LEADSPC) != 0);
	r->awaiting = false;
	r->step = MILTER_STEP_CONNECT;
}

/* A refusal (SMFIR_REJECT, or a 5xx SMFIR_REPLYCODE): at RCPT it is the
 * recipient's alone, which is then taken out of the message. */
static void
milter_refuse(struct milter_run *r)
{
	if (r->step != MILTER_STEP_RCPT) {
		milter_finish(r, MILTER_REJECT);
		return;
	}
	milter_mods_reject_rcpt(r, r->msg.rcpts[r->rcpt]);
	r->awaiting = false;
	milter_step_done(r);
}

/*
 * SMFIR_REPLYCODE: 4xx is a temporary failure of the whole message, even
 * at RCPT (one recipient deferred cannot be said after DATA; the client
 * retries them all), 5xx a refusal. The text is kept when it is one
 * clean line; otherwise the session's own text goes.
 */
static void
milter_on_replycode(struct milter_run *r, struct span text)
{
	if (text.len == 0 || (text.ptr[0] != '4' && text.ptr[0] != '5')) {
		milter_fail(r, "reply code not 4xx or 5xx");
		return;
	}
	if (milter_reply_text_valid(text) && text.len < MILTER_REPLY_TEXT_MAX)
		snprintf(r->res.reply, sizeof(r->res.reply), "%.*s",
		    (int)text.len, text.ptr);
	else
		r->res.reply[0] = '\0';
	if (text.ptr[0] == '4')
		milter_finish(r, MILTER_TEMPFAIL);
	else
		milter_refuse(r);
}

static char
milter_printable(char c)
{
	if (c > 0x20 && c < 0x7f)
		return c;
	return '?';
}

static void
milter_on_reply(struct milter_run *r, char cmd, const char *data, size_t dlen)
{
	struct milter_reply rep;

	if (r->step == MILTER_STEP_OPTNEG) {
		milter_on_optneg(r, cmd, data, dlen);
		return;
	}
	if (milter_parse_reply(cmd, data, dlen, &rep) == -1) {
		milter_fail(r, "bad reply '%c' to %s", milter_printable(cmd),
		    milter_steps[r->step].name);
		return;
	}
	switch (rep.cmd) {
	case SMFIR_PROGRESS:	/* still working: a new timeout */
		milter_arm(r);
		break;
	case SMFIR_CONTINUE:
		if (r->step == MILTER_STEP_EOB) {
			milter_finish(r, MILTER_ACCEPT);
			break;
		}
		r->awaiting = false;
		milter_step_done(r);
		break;
	case SMFIR_ACCEPT:	/* at any step: no more filtering */
		milter_finish(r, MILTER_ACCEPT);
		break;
	case SMFIR_DISCARD:
		milter_finish(r, MILTER_DISCARD);
		break;
	case SMFIR_TEMPFAIL:
		r->res.reply[0] = '\0';	/* not a recipient's earlier 5xx */
		milter_finish(r, MILTER_TEMPFAIL);
		break;
	case SMFIR_REJECT:
		r->res.reply[0] = '\0';
		milter_refuse(r);
		break;
	case SMFIR_REPLYCODE:
		milter_on_replycode(r, rep.a);
		break;
	case SMFIR_SKIP:	/* the rest of the body is not wanted */
		if (r->step != MILTER_STEP_BODY ||
		    (r->protocol & SMFIP_SKIP) == 0) {
			milter_fail(r, "skip in %s", milter_steps[r->step].name);
			break;
		}
		r->awaiting = false;
		r->step = MILTER_STEP_EOB;
		break;
	default:	/* a modification: only at end of body */
		if (r->step != MILTER_STEP_EOB)
			milter_fail(r, "modification '%c' in %s", rep.cmd,
			    milter_steps[r->step].name);
		else if (milter_mods_take(r, &rep) == -1)
			milter_finish(r, MILTER_ERROR);
		else if (rep.cmd == SMFIR_REPLBODY)
			milter_arm(r);	/* a long body is progress */
		break;
	}
}

/* Handles one whole reply packet waiting in the input: 1, or 0 when
 * there is none yet. */
static int
milter_take_reply(struct milter_run *r)
{
	struct evbuffer *in = bufferevent_get_input(r->bev);
	size_t avail = evbuffer_get_length(in), dlen, used;
	const char *p, *data;
	uint32_t n;
	char cmd;

	if (avail < 4)
		return 0;
	memcpy(&n, evbuffer_pullup(in, 4), sizeof(n));
	n = ntohl(n);
	if (n == 0 || n > MILTER_PACKET_MAX) {
		milter_fail(r, "bad packet length %u in reply to %s",
		    (unsigned)n, milter_steps[r->step].name);
		return 1;
	}
	if (avail - 4 < n)
		return 0;
	p = (const char *)evbuffer_pullup(in, (ev_ssize_t)n + 4);
	if (p == NULL || milter_get(p, (size_t)n + 4, &cmd, &data, &dlen,
	    &used) != 1) {
		milter_fail(r, "cannot read a reply");
		return 1;
	}
	milter_on_reply(r, cmd, data, dlen);
	(void)evbuffer_drain(in, used);
	return 1;
}

/*
 * The driver: replies while one is due (Postfix's rule: what a milter
 * sends while none is due waits, and answers the next step that awaits
 * one), else the next step, until a reply is missing or the output is
 * full.
 */
static void
milter_run_loop(struct milter_run *r)
{
	while (!r->finished) {
		if (r->awaiting) {
			if (milter_take_reply(r) == 0)
				return;
			continue;
		}
		if (evbuffer_get_length(bufferevent_get_output(r->bev)) >=
		    MILTER_OUT_HIGH) {
			r->blocked = true;
			milter_arm(r);	/* a milter that stops reading */
			return;
		}
		milter_send_step(r);
	}
}

static void
milter_read_cb(struct bufferevent *bev, void *arg)
{
	struct milter_run *r = arg;

	(void)bev;
	if (!r->finished && r->awaiting)
		milter_run_loop(r);
}

static void
milter_write_cb(struct bufferevent *bev, void *arg)
{
	struct milter_run *r = arg;

	(void)bev;
	if (!r->finished && r->blocked) {
		r->blocked = false;
		milter_run_loop(r);
	}
}

static void
milter_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct milter_run *r = arg;
	int err = EVUTIL_SOCKET_ERROR();

	(void)bev;
	if (r->finished)
		return;
	if (what & BEV_EVENT_EOF)
		milter_fail(r, "connection closed by the milter in %s",
		    milter_steps[r->step].name);
	else
		milter_fail(r, "%s in %s", err != 0 ?
		    evutil_socket_error_to_string(err) : "connection error",
		    milter_steps[r->step].name);
}

static void
milter_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct milter_run *r = arg;

	(void)fd;
	(void)what;
	milter_fail(r, "timeout (%u ms) in %s", milter_timeout_ms,
	    milter_steps[r->step].name);
}

static void
milter_connected(void *arg, int fd, const char *err)
{
	struct milter_run *r = arg;
	uint32_t words[3] = { htonl(MILTER_VERSION), htonl(MILTER_ACTIONS),
	    htonl(MILTER_PROTOCOL) };
	int one = 1;

	r->conn = NULL;		/* filter_conn freed itself */
	if (fd == -1) {
		milter_fail(r, "connect: %s", err != NULL ? err : "failed");
		return;
	}
	/* One small packet per step, each awaited: no Nagle delay. */
	if (!r->is_unix)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	r->bev = bufferevent_socket_new(r->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (r->bev == NULL) {
		close(fd);
		milter_fail(r, "no memory for the connection");
		return;
	}
	bufferevent_setcb(r->bev, milter_read_cb, milter_write_cb,
	    milter_event_cb, r);
	/* Bounded input: one largest packet and its length. */
	bufferevent_setwatermark(r->bev, EV_READ, 0, MILTER_PACKET_MAX + 4);
	bufferevent_setwatermark(r->bev, EV_WRITE, MILTER_OUT_LOW, 0);
	(void)bufferevent_enable(r->bev, EV_READ | EV_WRITE);
	(void)milter_put(&r->pkt, SMFIC_OPTNEG, words, sizeof(words));
	r->step = MILTER_STEP_OPTNEG;
	milter_flush(r);
	r->awaiting = true;
	milter_arm(r);
	milter_run_loop(r);
}

static void
milter_run_free(struct milter_run *r)
{
	filter_connect_cancel(&r->conn);
	if (r->bev != NULL)
		bufferevent_free(r->bev);
	event_free(r->timer);
	event_free(r->done_ev);
	milter_reader_free(&r->rd);
	buf_free(&r->pkt);
	buf_free(&r->conv);
	milter_result_clear(&r->res);
	free(r);
}

static void
milter_done_cb(evutil_socket_t fd, short what, void *arg)
{
	struct milter_run *r = arg;

	(void)fd;
	(void)what;
	/* Closed before done runs: the caller may start the next one. */
	if (r->bev != NULL)
		bufferevent_free(r->bev);
	r->bev = NULL;
	r->in_done = true;
	r->done(r->arg, &r->res);
	milter_run_free(r);
}

struct milter_run *
milter_run_start(struct event_base *base, const struct filter_endpoint *ep,
    const struct milter_msg *msg, milter_done_fn done, void *arg)
{
	struct milter_run *r = xcalloc(1, sizeof(*r));

	r->base = base;
	r->msg = *msg;
	r->done = done;
	r->arg = arg;
	r->is_unix = ep->is_unix;
	r->res.body_fd = -1;
	r->rd.fd = -1;
	buf_init(&r->pkt, MILTER_PKT_MAX);
	/* A replacement chunk only shrinks on the way to LF form. */
	buf_init(&r->conv, MILTER_PACKET_MAX);
	r->timer = evtimer_new(base, milter_timer_cb, r);
	r->done_ev = event_new(base, -1, 0, milter_done_cb, r);
	if (r->timer == NULL || r->done_ev == NULL)
		fatal("milter: out of memory for events");
	r->step = MILTER_STEP_CONNECTING;
	r->conn = filter_connect(base, ep, milter_connected, r);
	return r;
}

void
milter_run_cancel(struct milter_run **rp)
{
	struct milter_run *r = *rp;

	*rp = NULL;
	/* From inside done: milter_done_cb frees it when done returns. */
	if (r == NULL || r->in_done)
		return;
	milter_run_free(r);
}
