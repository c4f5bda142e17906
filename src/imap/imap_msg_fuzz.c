/*
 * libFuzzer target for imap/imap_msg: the input is a message. ENVELOPE,
 * BODY and BODYSTRUCTURE must be well-formed IMAP (strings and literals
 * intact, parentheses balanced); a set of sections read in small and in
 * large pieces must give the same bytes, exactly the announced size; the
 * date and SEARCH helpers run; the first line is also parsed as a
 * section attribute.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imap/imap_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_INPUT_MAX	(256 * 1024)

/* Checks one IMAP response value list: quoted strings, literals, atoms,
 * parentheses balanced and never below zero. */
static void
fuzz_check_imap(const struct buf *b)
{
	const char *p = b->data;
	size_t i = 0, n = b->len, depth = 0;

	assert(n > 0);
	while (i < n) {
		char c = p[i];

		if (c == '(') {
			depth++;
			i++;
		} else if (c == ')') {
			assert(depth > 0);
			depth--;
			i++;
		} else if (c == '"') {
			for (i++; i < n && p[i] != '"'; i++) {
				assert(p[i] != '\r' && p[i] != '\n' && p[i] != 0);
				assert((unsigned char)p[i] < 0x80);
				if (p[i] == '\\') {
					i++;
					assert(i < n && (p[i] == '"' || p[i] == '\\'));
				}
			}
			assert(i < n);
			i++;
		} else if (c == '{') {
			char *end;
			unsigned long long len = strtoull(p + i + 1, &end, 10);

			assert(end[0] == '}' && end[1] == '\r' && end[2] == '\n');
			i = (size_t)(end + 3 - p);
			assert(len <= n - i);
			assert(memchr(p + i, '\0', (size_t)len) == NULL);
			i += (size_t)len;
		} else {
			assert(c == ' ' || c == 'N' || c == 'I' || c == 'L' ||
			    (c >= '0' && c <= '9'));
			i++;
		}
	}
	assert(depth == 0);
}

static void
fuzz_read(struct imap_msg *m, const char *spec)
{
	struct imap_section s;
	struct imap_msg_reader r;
	struct buf a, b;
	char err[128], tmp[4096];
	size_t n;

	assert(imap_section_parse(spec, strlen(spec), &s, err, sizeof(err)) == 0);
	buf_init(&a, (size_t)1 << 30);
	buf_init(&b, (size_t)1 << 30);
	imap_msg_reader_init(&r, m, &s);
	while ((n = imap_msg_reader_read(&r, tmp, sizeof(tmp))) > 0)
		assert(buf_append(&a, tmp, n) == 0);
	assert(a.len == r.size);
	imap_msg_reader_clear(&r);
	imap_msg_reader_init(&r, m, &s);
	while ((n = imap_msg_reader_read(&r, tmp, 1 + b.len % 3)) > 0)
		assert(buf_append(&b, tmp, n) == 0);
	imap_msg_reader_clear(&r);
	assert(a.len == b.len && memcmp(buf_cstr(&a), buf_cstr(&b), a.len) == 0);
	assert(memchr(buf_cstr(&a), '\0', a.len) == NULL);
	imap_section_clear(&s);
	buf_free(&a);
	buf_free(&b);
}

static void
fuzz_section_text(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size < 300 ? size : 300);
	struct imap_section s;
	char err[128];

	if (nl == NULL)
		return;
	if (imap_section_parse((const char *)data, (size_t)(nl - data), &s,
	    err, sizeof(err)) == 0) {
		assert(s.label != NULL && s.nfields <= IMAP_SECTION_FIELDS_MAX);
		assert(s.npart <= IMAP_SECTION_PART_MAX);
		imap_section_clear(&s);
	} else {
		assert(s.label == NULL && err[0] != '\0');
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const specs[] = { "BODY[]", "BODY[HEADER]",
	    "BODY[TEXT]", "BODY[1]", "BODY[1.MIME]", "BODY[2.HEADER]",
	    "BODY[1.2]", "BODY[2.1.TEXT]", "BODY[HEADER.FIELDS (FROM TO)]",
	    "BODY[1.HEADER.FIELDS.NOT (SUBJECT)]", "BODY[]<5.17>",
	    "BODY[3]<1.3>", "BODY[2.2.MIME]", "BODY[1.1.1]" };
	struct imap_msg *m;
	struct buf out;

	if (size > FUZZ_INPUT_MAX)
		return 0;
	fuzz_section_text(data, size);
	m = imap_msg_open_mem((const char *)data, size);
	buf_init(&out, (size_t)1 << 30);
	assert(imap_msg_envelope(m, &out) == 0);
	fuzz_check_imap(&out);
	buf_reset(&out);
	assert(imap_msg_bodystructure(m, false, &out) == 0);
	fuzz_check_imap(&out);
	buf_reset(&out);
	assert(imap_msg_bodystructure(m, true, &out) == 0);
	fuzz_check_imap(&out);
	buf_free(&out);
	assert(imap_msg_vsize(m) >= size);
	for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++)
		fuzz_read(m, specs[i]);
	(void)imap_msg_date(m);
	(void)imap_msg_header_contains(m, "subject", "xyz");
	(void)imap_msg_header_contains(m, "", "a");
	(void)imap_msg_body_contains(m, "needle", true);
	imap_msg_close(&m);
	return 0;
}
