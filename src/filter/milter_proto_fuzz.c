/*
 * libFuzzer target for filter/milter_proto: the input is what a milter
 * sends, a stream of packets (hostile by contract). Each whole packet is
 * decoded as a reply (or an option negotiation), and what the header
 * promises is checked: spans inside the packet, strings ending in a NUL,
 * a text judged valid only in the one-line "4xx"/"5xx" form.
 */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "filter/milter_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
milter_proto_fuzz_inside(struct span s, const char *d, size_t dlen, bool nul)
{
	if (s.ptr == NULL)
		return;
	assert(s.ptr >= d && s.len <= dlen && (size_t)(s.ptr - d) <= dlen - s.len);
	if (nul) {
		assert((size_t)(s.ptr - d) + s.len < dlen);
		assert(s.ptr[s.len] == '\0' && memchr(s.ptr, '\0', s.len) == NULL);
	}
}

static void
milter_proto_fuzz_packet(char cmd, const char *d, size_t dlen)
{
	struct milter_optneg o;
	struct milter_reply r;

	if (cmd == SMFIC_OPTNEG) {
		assert((milter_parse_optneg(d, dlen, &o) == 0) == (dlen >= 12));
		return;
	}
	if (milter_parse_reply(cmd, d, dlen, &r) == -1)
		return;
	assert(r.cmd == cmd);
	milter_proto_fuzz_inside(r.a, d, dlen, cmd != SMFIR_REPLBODY);
	milter_proto_fuzz_inside(r.b, d, dlen, true);
	if (cmd == SMFIR_REPLYCODE && milter_reply_text_valid(r.a)) {
		assert(r.a.len >= 3 && (r.a.ptr[0] == '4' || r.a.ptr[0] == '5'));
		assert(memchr(r.a.ptr, '\r', r.a.len) == NULL);
		assert(memchr(r.a.ptr, '\n', r.a.len) == NULL);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data, *d;
	size_t left = size, dlen, used;
	char cmd;
	int rc;
	struct buf b;

	while ((rc = milter_get(in, left, &cmd, &d, &dlen, &used)) == 1) {
		assert(used == dlen + 5 && used <= left);
		assert(used <= MILTER_PACKET_MAX + 4);
		milter_proto_fuzz_packet(cmd, d, dlen);
		/* Framed again, the packet is the same bytes. */
		buf_init(&b, MILTER_PACKET_MAX + 4);
		assert(milter_put(&b, cmd, d, dlen) == 0);
		assert(b.len == used && memcmp(b.data, in, used) == 0);
		buf_free(&b);
		in += used;
		left -= used;
	}
	assert(rc == 0 || left >= 4);
	return 0;
}
