/*
 * Unit tests for filter/milter_read, the message as the milter gets it:
 * header fields (folded lines, blanks before the colon, NULs, the end of
 * the header section in each of its forms), fields and lines longer than
 * the window and than a packet, body chunks within MILTER_CHUNK with CR
 * LF line ends, a file shorter than its length.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>

#include "filter/milter_fake.h"

/* Every header packet as trace lines, then the body. */
static void
read_all(const char *msg, size_t len, bool leadspc, struct buf *hdrs,
    struct buf *body)
{
	struct milter_reader rd;
	struct buf out;
	struct fake f;
	int fd = scratch_open(NULL), rc;

	assert_int_equal(write(fd, msg, len), (ssize_t)len);
	fake_init(&f);
	buf_init(&out, 2 * MILTER_CHUNK);
	milter_reader_init(&rd, fd, 0, len, leadspc);
	while ((rc = milter_reader_header(&rd, &out)) == 1) {
		assert_true(out.len <= MILTER_CHUNK + 5);
		fake_record(&f, out.data[4], out.data + 5, out.len - 5);
		buf_reset(&out);
	}
	assert_int_equal(rc, 0);
	while ((rc = milter_reader_body(&rd, &out)) == 1) {
		assert_true(out.len <= MILTER_CHUNK + 5);
		(void)buf_append(body, out.data + 5, out.len - 5);
		buf_reset(&out);
	}
	assert_int_equal(rc, 0);
	(void)buf_append(hdrs, f.trace.data, f.trace.len);
	milter_reader_free(&rd);
	buf_free(&out);
	fake_free(&f);
	close(fd);
}

static void
expect_read(const char *msg, const char *hdrs, const char *body)
{
	struct buf h, b;

	buf_init(&h, 1 << 20);
	buf_init(&b, 1 << 20);
	read_all(msg, strlen(msg), false, &h, &b);
	assert_string_equal(buf_cstr(&h), hdrs);
	assert_string_equal(buf_cstr(&b), body);
	buf_free(&h);
	buf_free(&b);
}

static void
test_reader_edges(void **state)
{
	(void)state;
	expect_read("A: 1\nB: 2\n\nbody\n", "L A|1\nL B|2\n", "body\r\n");
	/* Header only, with and without the last LF. */
	expect_read("A: 1\nB: 2\n", "L A|1\nL B|2\n", "");
	expect_read("A: 1\nB:2", "L A|1\nL B|2\n", "");
	/* No header at all; a first line that is not a field. */
	expect_read("\nbody", "", "body");
	expect_read("just text\nmore\n", "", "just text\r\nmore\r\n");
	expect_read(" folded first\n", "", " folded first\r\n");
	/* A line that is not a field ends the header; it starts the body. */
	expect_read("A: 1\nnot a field\nB: 2\n", "L A|1\n",
	    "not a field\r\nB: 2\r\n");
	/* Blanks before the colon (RFC 5322 obs-optional); tab after it. */
	expect_read("Subject \t: x\nX:\ty\n\n", "L Subject|x\nL X|\ty\n", "");
	/* Folding, blank-only continuation. */
	expect_read("A: 1\n 2\n\t3\n \nB: 4\n\nx\n",
	    "L A|1\\n 2\\n\t3\\n \nL B|4\n", "x\r\n");
	expect_read("", "", "");
}

/* A NUL in a value is left out; in the body it goes as it is. */
static void
test_reader_nul(void **state)
{
	static const char m[] = "A: x\0y\n\nb\0dy\n";
	struct buf h, b;

	(void)state;
	buf_init(&h, 1 << 20);
	buf_init(&b, 1 << 20);
	read_all(m, sizeof(m) - 1, true, &h, &b);
	assert_string_equal(buf_cstr(&h), "L A| xy\n");
	assert_int_equal(b.len, 6);
	assert_memory_equal(b.data, "b\0dy\r\n", 6);
	buf_free(&h);
	buf_free(&b);
}

/* Lines and fields longer than the window and than a packet: the value
 * stops at what one packet holds, the header still ends in the right
 * place, and the body comes whole. */
static void
test_reader_long(void **state)
{
	size_t big = 3 * MILTER_CHUNK, n = 0;
	char *m = malloc(2 * big + 1024);
	struct buf h, b;
	size_t vlen;

	(void)state;
	n += (size_t)sprintf(m, "X-Long: ");
	memset(m + n, 'v', big);
	n += big;
	n += (size_t)sprintf(m + n, "\n folded\nB: 2\n\n");
	memset(m + n, 'w', big);
	n += big;
	m[n++] = '\n';
	buf_init(&h, 1 << 20);
	buf_init(&b, 1 << 20);
	read_all(m, n, false, &h, &b);
	/* "L X-Long|" + value + "\n" + "L B|2\n" */
	vlen = MILTER_CHUNK - 2 - strlen("X-Long");
	assert_int_equal(h.len, 9 + vlen + 1 + 6);
	assert_memory_equal(h.data + 9 + vlen, "\nL B|2\n", 7);
	assert_int_equal(b.len, big + 2);
	assert_memory_equal(b.data + big, "\r\n", 2);
	buf_free(&h);
	buf_free(&b);
	/* A body of LFs only: each chunk within MILTER_CHUNK. */
	memset(m, '\n', big);
	buf_init(&h, 1 << 20);
	buf_init(&b, 1 << 20);
	read_all(m, big, false, &h, &b);
	assert_int_equal(b.len, 2 * (big - 1));
	buf_free(&h);
	buf_free(&b);
	free(m);
}

/* A file shorter than the length given: -1 with a reason. */
static void
test_reader_short(void **state)
{
	struct milter_reader rd;
	struct buf out;
	int fd = scratch_open(NULL);

	(void)state;
	assert_int_equal(write(fd, "A: 1\n", 5), 5);
	buf_init(&out, 2 * MILTER_CHUNK);
	milter_reader_init(&rd, fd, 0, 100, false);
	assert_int_equal(milter_reader_header(&rd, &out), -1);
	assert_non_null(strstr(rd.err, "shorter"));
	milter_reader_free(&rd);
	buf_free(&out);
	close(fd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reader_edges),
		cmocka_unit_test(test_reader_nul),
		cmocka_unit_test(test_reader_long),
		cmocka_unit_test(test_reader_short),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
