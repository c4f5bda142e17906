/*
 * ipc: the typed messages Postern's processes exchange over socketpairs
 * (AF_UNIX, SOCK_SEQPACKET: one send is one message), with optional file
 * descriptor passing (SCM_RIGHTS). A message is versioned and
 * length-prefixed; its body is a list of (key, length, bytes) fields. The
 * decoder trusts nothing: a peer process may be compromised.
 *
 * Wire format (little-endian):
 *   u32 length   whole message, header included (IPC_HDR_LEN..IPC_MSG_MAX)
 *   u16 version  IPC_VERSION
 *   u16 type     request/reply type (meaning belongs to the caller)
 *   u32 id       request id; a reply carries the id of its request
 *   fields:      u16 key, u32 len, len bytes   (at most IPC_FIELDS_MAX)
 */
#ifndef POSTERN_IPC_H
#define POSTERN_IPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/parse.h"

#define IPC_VERSION	1
#define IPC_HDR_LEN	12
#define IPC_MSG_MAX	65536	/* bytes per message, header included: ours */
#define IPC_FIELDS_MAX	64	/* fields per message: ours */

struct ipc_field {
	uint16_t	 key;
	uint32_t	 len;
	const uint8_t	*data;	/* borrowed: from the caller (encode) or the input (decode) */
};

struct ipc_msg {
	uint16_t	 type;
	uint32_t	 id;
	struct ipc_field f[IPC_FIELDS_MAX];
	size_t		 nf;
	uint8_t		 num[IPC_FIELDS_MAX][8];	/* storage for ipc_msg_add_u64 */
	int		 fd;	/* passed descriptor, -1 = none; the receiver owns it */
};

/* ---- building (the data of add/add_str is borrowed until encode/send) ---- */
void	ipc_msg_init(struct ipc_msg *m, uint16_t type, uint32_t id);
/* 0, or -1 when the message would exceed IPC_FIELDS_MAX or IPC_MSG_MAX. */
int	ipc_msg_add(struct ipc_msg *m, uint16_t key, const void *data, size_t len);
int	ipc_msg_add_str(struct ipc_msg *m, uint16_t key, const char *s);	/* without NUL */
int	ipc_msg_add_u64(struct ipc_msg *m, uint16_t key, uint64_t v);
/* Appends the wire form to out (out->max must allow IPC_MSG_MAX). 0 or -1. */
int	ipc_msg_encode(const struct ipc_msg *m, struct buf *out);

/* ---- reading ---- */
/*
 * Parses one whole message. Fields point into data. PARSE_INVALID: bad
 * version, a length field that disagrees with len, a field running past the
 * end, too many fields, trailing bytes. PARSE_TOO_LONG: len > IPC_MSG_MAX.
 * PARSE_INCOMPLETE: len < IPC_HDR_LEN. out->fd is set to -1.
 */
enum parse_rc ipc_msg_decode(const uint8_t *data, size_t len, struct ipc_msg *out);
/* The first field with key, or NULL. */
const struct ipc_field *ipc_msg_get(const struct ipc_msg *m, uint16_t key);
/* A string field as a new NUL-terminated string; NULL when absent, longer
 * than max, or holding a NUL byte. */
char	*ipc_msg_get_str(const struct ipc_msg *m, uint16_t key, size_t max);
/* An 8-byte field; -1 when absent or of another length. */
int	ipc_msg_get_u64(const struct ipc_msg *m, uint16_t key, uint64_t *out);

/* ---- transport over a SOCK_SEQPACKET socket ---- */
/* Sends m (and m->fd when >= 0) in one message. 0, or -1 with errno
 * (EAGAIN on a non-blocking socket that is full). */
int	ipc_send(int sock, const struct ipc_msg *m);
/*
 * Receives one message into storage (which must allow IPC_MSG_MAX) and
 * decodes it into out; a passed descriptor lands in out->fd (CLOEXEC).
 * Returns 1 for a message, 0 when the peer closed, -1 with errno (EAGAIN
 * when nothing is waiting), or -2 for a malformed message (dropped, any
 * descriptor closed).
 */
int	ipc_recv(int sock, struct buf *storage, struct ipc_msg *out);

/* ---- asynchronous client on an event loop (session processes) ---- */
struct event_base;
struct ipc_client;

/* reply is NULL when the peer is gone (the caller answers 4xx). */
typedef void (*ipc_reply_fn)(void *arg, const struct ipc_msg *reply);

/* Takes ownership of sock (non-blocking SOCK_SEQPACKET). */
struct ipc_client *ipc_client_new(struct event_base *base, int sock);
/* Assigns req->id, sends, and calls fn(arg, reply) on the loop when the
 * reply with that id arrives (or NULL if the peer closes first). Requests
 * that cannot be sent at once wait in a bounded queue; -1 when it is full. */
int	ipc_client_call(struct ipc_client *c, struct ipc_msg *req,
	    ipc_reply_fn fn, void *arg);
size_t	ipc_client_pending(const struct ipc_client *c);
/* Fails every pending call with NULL, then frees. */
void	ipc_client_free(struct ipc_client **cp);

#endif
