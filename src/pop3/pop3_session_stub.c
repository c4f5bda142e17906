/*
 * pop3_session_stub: a stand-in POP3 protocol so the mailbox worker links
 * and can be tested before pop3_session.c exists: greets, then closes on
 * any input. Deleted when the real protocol lands.
 */
#include <event2/buffer.h>

#include "pop3/pop3_session.h"

static void *
pop3_stub_open(struct msess *c)
{
	msess_printf(c, "+OK stub\r\n");
	return c;
}

static void
pop3_stub_input(void *p)
{
	struct msess *c = p;

	evbuffer_drain(msess_input(c), evbuffer_get_length(msess_input(c)));
	msess_printf(c, "-ERR stub\r\n");
	msess_close(c, "stub");
}

static void
pop3_stub_drained(void *p)
{
	(void)p;
}

static void
pop3_stub_timeout(void *p)
{
	msess_close(p, "timeout");
}

static void
pop3_stub_shutdown(void *p)
{
	msess_close(p, "shutdown");
}

static void
pop3_stub_close(void *p)
{
	(void)p;
}

const struct msess_proto pop3_proto = {
	.name = "pop3",
	.open = pop3_stub_open,
	.input = pop3_stub_input,
	.drained = pop3_stub_drained,
	.timeout = pop3_stub_timeout,
	.shutdown = pop3_stub_shutdown,
	.close = pop3_stub_close,
};
