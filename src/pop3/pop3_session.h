/*
 * pop3_session: the POP3 protocol (RFC 1939, RFC 2449 CAPA, RFC 2595 STLS,
 * RFC 5034 SASL) on top of msess, served by the mailbox workers.
 */
#ifndef POSTERN_POP3_SESSION_H
#define POSTERN_POP3_SESSION_H

#include "msess/msess.h"

extern const struct msess_proto pop3_proto;

#endif
