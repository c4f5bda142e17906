/*
 * libFuzzer target for ipc: ipc_msg_decode() over arbitrary bytes. Whatever
 * decodes must re-encode to the identical bytes (the format has one wire
 * form per message), and the typed getters must be safe on every field.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ipc/ipc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ipc_msg m;
	struct buf b;
	uint64_t v;

	if (ipc_msg_decode(data, size, &m) != PARSE_OK)
		return 0;
	if (m.fd != -1 || m.nf > IPC_FIELDS_MAX)
		abort();
	buf_init(&b, IPC_MSG_MAX);
	if (ipc_msg_encode(&m, &b) == -1 || b.len != size ||
	    memcmp(b.data, data, size) != 0)
		abort();
	buf_free(&b);
	for (size_t i = 0; i < m.nf; i++) {
		const struct ipc_field *f = ipc_msg_get(&m, m.f[i].key);
		char *s = ipc_msg_get_str(&m, m.f[i].key, 256);

		if (f == NULL || (ipc_msg_get_u64(&m, m.f[i].key, &v) == 0) !=
		    (f->len == 8))
			abort();
		if (s != NULL && strlen(s) != f->len)
			abort();
		free(s);
	}
	return 0;
}
