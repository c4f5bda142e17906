/*
 * Fuzz target: one IMAP session (imap_session.c and the command files)
 * against the fakes of imap_session_fake.h, fed arbitrary client bytes in
 * pieces, logged in or not, with the output backing up now and then
 * (paced FETCH, paused input) and drained() called between pieces.
 */
#include <stddef.h>
#include <stdint.h>

#include "imap/imap_session_fake.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	void *s;
	size_t off, n;
	uint8_t mode;

	if (size < 1)
		return 0;
	mode = data[0];
	data++;
	size--;
	fake_reset();
	C->tls = (mode & 1) != 0;
	s = imap_proto.open(C);
	for (off = 0; off < size && !C->closed; off += n) {
		n = 1 + (size_t)data[off] % 64;
		if (n > size - off)
			n = size - off;
		evbuffer_add(C->in, data + off, n);
		C->out_high = (mode & 2) ? 64 : 1 << 20;
		if (!C->paused)
			imap_proto.input(s);
		if (C->login_fn != NULL) {
			msess_login_fn fn = C->login_fn;

			C->login_fn = NULL;
			fn(C->login_arg, (mode & 4) ? MSESS_LOGIN_OK :
			    MSESS_LOGIN_FAIL, "bob@example.org");
		}
		/* Another session's expunge; a folder change during IDLE. */
		if ((data[off] & 0xc0) == 0xc0)
			expunge_pending = nmsgs > 1;
		if (C->watches > 0 && (data[off] & 0x20) != 0)
			C->watch_cb(C->watch_arg);
		evbuffer_drain(C->out, evbuffer_get_length(C->out));
		imap_proto.drained(s);
	}
	imap_proto.close(s);
	fake_free();
	return 0;
}
