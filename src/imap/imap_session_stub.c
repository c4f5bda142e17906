/*
 * imap_session_stub: a stand-in IMAP protocol so the mailbox worker links
 * and can be tested before imap_session.c exists: greets, then closes on
 * any input. Deleted when the real protocol lands.
 */
#include <event2/buffer.h>

#include "imap/imap_session.h"

static void *
imap_stub_open(struct msess *c)
{
	msess_printf(c, "* OK stub\r\n");
	return c;
}

static void
imap_stub_input(void *p)
{
	struct msess *c = p;

	evbuffer_drain(msess_input(c), evbuffer_get_length(msess_input(c)));
	msess_printf(c, "* BYE stub\r\n");
	msess_close(c, "stub");
}

static void
imap_stub_drained(void *p)
{
	(void)p;
}

static void
imap_stub_timeout(void *p)
{
	msess_close(p, "timeout");
}

static void
imap_stub_shutdown(void *p)
{
	msess_close(p, "shutdown");
}

static void
imap_stub_close(void *p)
{
	(void)p;
}

const struct msess_proto imap_proto = {
	.name = "imap",
	.open = imap_stub_open,
	.input = imap_stub_input,
	.drained = imap_stub_drained,
	.timeout = imap_stub_timeout,
	.shutdown = imap_stub_shutdown,
	.close = imap_stub_close,
};
