/*
 * imap_session: the IMAP4rev1 server session (RFC 3501 with IDLE, UIDPLUS,
 * MOVE, NAMESPACE, ID, ENABLE, LITERAL+, SASL-IR, SPECIAL-USE, CHILDREN,
 * UNSELECT), a protocol of the mailbox connection layer (msess.h). See
 * docs/imap.md, "Session".
 */
#ifndef POSTERN_IMAP_SESSION_H
#define POSTERN_IMAP_SESSION_H

#include "msess/msess.h"

extern const struct msess_proto imap_proto;

#endif
