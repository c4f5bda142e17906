/*
 * sasl: base64 (RFC 4648 section 4, no whitespace, padding checked)
 * and SASL PLAIN (RFC 4616 section 2) parsing.
 */
#include <string.h>

#include "core/sasl.h"

static int
sasl_b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

enum parse_rc
sasl_b64_decode(struct span in, struct buf *out)
{
	size_t pad = 0;

	buf_reset(out);
	if (in.len == 1 && in.ptr[0] == '=')
		return PARSE_OK;
	if (in.len == 0 || in.len % 4 != 0)
		return PARSE_INVALID;
	if (in.ptr[in.len - 1] == '=')
		pad = in.ptr[in.len - 2] == '=' ? 2 : 1;
	for (size_t i = 0; i < in.len; i += 4) {
		int v[4];
		unsigned char o[3];
		size_t keep = 3;

		for (int k = 0; k < 4; k++) {
			unsigned char c = (unsigned char)in.ptr[i + (size_t)k];

			if (c == '=' && i + 4 == in.len && (size_t)k >= 4 - pad) {
				v[k] = 0;
				continue;
			}
			v[k] = sasl_b64_value(c);
			if (v[k] < 0)
				return PARSE_INVALID;
		}
		o[0] = (unsigned char)(v[0] << 2 | v[1] >> 4);
		o[1] = (unsigned char)((v[1] & 15) << 4 | v[2] >> 2);
		o[2] = (unsigned char)((v[2] & 3) << 6 | v[3]);
		if (i + 4 == in.len) {
			keep = 3 - pad;
			/* RFC 4648 3.5: the bits under the padding must be zero. */
			if ((pad == 1 && (v[2] & 3) != 0) ||
			    (pad == 2 && (v[1] & 15) != 0))
				return PARSE_INVALID;
		}
		if (buf_append(out, o, keep) == -1)
			return PARSE_TOO_LONG;
	}
	return PARSE_OK;
}

void
sasl_b64_encode(const void *data, size_t n, struct buf *out)
{
	static const char tbl[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *p = data;

	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)p[i] << 16;
		char o[4];

		if (i + 1 < n)
			v |= (unsigned)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		o[0] = tbl[v >> 18 & 63];
		o[1] = tbl[v >> 12 & 63];
		o[2] = i + 1 < n ? tbl[v >> 6 & 63] : '=';
		o[3] = i + 2 < n ? tbl[v & 63] : '=';
		buf_append(out, o, 4);
	}
}

enum parse_rc
sasl_plain_split(struct span msg, struct span *user_out, struct span *pass_out)
{
	const char *nul1, *nul2, *end;
	struct span authz;

	/* An empty response may come with ptr NULL (memchr must not see it). */
	if (msg.len == 0)
		return PARSE_INVALID;
	nul1 = memchr(msg.ptr, '\0', msg.len);
	end = msg.ptr + msg.len;
	if (nul1 == NULL)
		return PARSE_INVALID;
	nul2 = memchr(nul1 + 1, '\0', (size_t)(end - nul1 - 1));
	if (nul2 == NULL || memchr(nul2 + 1, '\0', (size_t)(end - nul2 - 1)) != NULL)
		return PARSE_INVALID;
	authz = (struct span){ msg.ptr, (size_t)(nul1 - msg.ptr) };
	*user_out = (struct span){ nul1 + 1, (size_t)(nul2 - nul1 - 1) };
	*pass_out = (struct span){ nul2 + 1, (size_t)(end - nul2 - 1) };
	if (user_out->len == 0 || pass_out->len == 0)
		return PARSE_INVALID;
	if (authz.len > 0 && (authz.len != user_out->len ||
	    memcmp(authz.ptr, user_out->ptr, authz.len) != 0))
		return PARSE_INVALID;
	return PARSE_OK;
}
