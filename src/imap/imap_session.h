/*
 * imap_session: the IMAP4rev1 protocol (RFC 3501) on top of msess, served
 * by the mailbox workers.
 */
#ifndef POSTERN_IMAP_SESSION_H
#define POSTERN_IMAP_SESSION_H

#include "msess/msess.h"

extern const struct msess_proto imap_proto;

#endif
