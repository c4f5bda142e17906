/*
 * pop3_session: the POP3 server protocol (RFC 1939, RFC 2449 CAPA,
 * RFC 2595 STLS, RFC 5034 AUTH, RFC 3206 response codes) on top of the
 * mailbox connection layer (msess/msess.h). docs/pop3.md, "Session".
 */
#ifndef POSTERN_POP3_SESSION_H
#define POSTERN_POP3_SESSION_H

#include "msess/msess.h"

extern const struct msess_proto pop3_proto;

#endif
