/*
 * cli_util: helpers of the subcommands: the one-line error and usage
 * messages, the password read from stdin (SPEC section 1: it loses one
 * trailing newline), the quoting of values in `show` output, and the
 * escaping of peer text in the reports of relay-test and dns-records.
 * The subcommands themselves are in cli_domain.c, cli_user.c, ...
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli/cli_util.h"
#include "core/limits.h"
#include "core/xalloc.h"
#include "directory/password.h"

/* The password, an optional "\r\n", and one byte more to see that the
 * input is over-long without reading an unbounded stdin. */
#define CLI_PASSWORD_CAP	(PASSWORD_MAX + 3)
/* The lower of our ceiling and libxcrypt's (see password.h). */
#if PASSWORD_CRYPT_MAX < PASSWORD_MAX
#define CLI_PASSWORD_MAX_LIT	PASSWORD_CRYPT_MAX
#else
#define CLI_PASSWORD_MAX_LIT	PASSWORD_MAX
#endif
#define CLI_PASSWORD_MAX	CLI_PASSWORD_MAX_LIT
#define CLI_STR2(x)		#x
#define CLI_STR(x)		CLI_STR2(x)

void
cli_error(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("postern: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int
cli_usage(const char *usage)
{
	fprintf(stderr, "usage: postern %s\n", usage);
	return CLI_USAGE;
}

/* A terminal gets a prompt, no echo, and the first line only: there is no
 * end of file to wait for. */
static size_t
cli_password_read_tty(FILE *in, char *pw)
{
	struct termios old, quiet;
	bool restore = false;
	size_t len = 0;
	int c;

	if (tcgetattr(fileno(in), &old) == 0) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		restore = tcsetattr(fileno(in), TCSAFLUSH, &quiet) == 0;
	}
	fputs("Password: ", stderr);
	while (len < CLI_PASSWORD_CAP && (c = getc(in)) != EOF) {
		pw[len++] = (char)c;
		if (c == '\n')
			break;
	}
	if (restore)
		(void)tcsetattr(fileno(in), TCSAFLUSH, &old);
	fputc('\n', stderr);
	return len;
}

char *
cli_password_read(const struct cli_ctx *ctx, size_t *len_out)
{
	char *pw = xmalloc(CLI_PASSWORD_CAP);
	size_t len = 0, n;
	const char *why = NULL;

	/* Unbuffered: no copy of the password left in stdio's buffer. */
	setvbuf(ctx->in, NULL, _IONBF, 0);
	if (isatty(fileno(ctx->in)))
		len = cli_password_read_tty(ctx->in, pw);
	else
		while (len < CLI_PASSWORD_CAP &&
		    (n = fread(pw + len, 1, CLI_PASSWORD_CAP - len, ctx->in)) > 0)
			len += n;
	if (len > 0 && pw[len - 1] == '\n') {
		len--;
		if (len > 0 && pw[len - 1] == '\r')
			len--;
	}
	if (ferror(ctx->in))
		why = "cannot read the password from stdin";
	else if (len > CLI_PASSWORD_MAX)
		why = "password is longer than " CLI_STR(CLI_PASSWORD_MAX_LIT) " bytes";
	else if (len == 0)
		why = "empty password (it is read from stdin)";
	else if (memchr(pw, '\0', len) != NULL)
		why = "password contains a NUL byte";
	if (why != NULL) {
		cli_error("%s", why);
		cli_password_free(&pw);
		return NULL;
	}
	pw[len] = '\0';
	*len_out = len;
	return pw;
}

void
cli_password_free(char **pwp)
{
	if (*pwp == NULL)
		return;
	explicit_bzero(*pwp, CLI_PASSWORD_CAP);
	free(*pwp);
	*pwp = NULL;
}

static bool
cli_is_bare(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	if (*p == '\0')
		return false;
	for (; *p != '\0'; p++)
		if (*p <= ' ' || *p >= 0x7f || *p == '"' || *p == '\\')
			return false;
	return true;
}

void
cli_quote(FILE *out, const char *s, bool always)
{
	if (!always && cli_is_bare(s)) {
		fputs(s, out);
		return;
	}
	fputc('"', out);
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", out);
		else if (c == '\r')
			fputs("\\r", out);
		else if (c == '\t')
			fputs("\\t", out);
		else if (c < 0x20 || c == 0x7f)
			fprintf(out, "\\x%02x", c);
		else
			fputc(c, out);	/* UTF-8 passes through */
	}
	fputc('"', out);
}

void
cli_escape(struct buf *out, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c < 0x7f)
			(void)buf_append(out, &s[i], 1);
		else
			(void)buf_printf(out, "\\x%02x", c);
	}
}

void
cli_print_kv(FILE *out, const char *key, const char *value)
{
	fprintf(out, "%s = ", key);
	cli_quote(out, value, false);
	fputc('\n', out);
}

int
cli_split_kv(const char *arg, char **key_out, const char **value_out)
{
	const char *eq = strchr(arg, '=');

	if (eq == NULL || eq == arg)
		return -1;
	*key_out = xstrndup(arg, (size_t)(eq - arg));
	*value_out = eq + 1;
	return 0;
}

bool
cli_kv_args_ok(int argc, char **argv, int first)
{
	for (int i = first; i < argc; i++)
		if (strchr(argv[i], '=') == NULL || argv[i][0] == '=')
			return false;
	return true;
}

int
cli_set_all(const struct cli_ctx *ctx, const char *name, int argc, char **argv,
    int first, cli_set_fn set)
{
	const char *err, *value;
	char *key;

	if (directory_begin(ctx->dir, &err) == -1)
		goto fail;
	for (int i = first; i < argc; i++) {
		if (cli_split_kv(argv[i], &key, &value) == -1)
			fatal("cli_set_all: KEY=VALUE not checked");
		if (set(ctx, name, key, value, &err) == -1) {
			free(key);
			directory_rollback(ctx->dir);
			goto fail;
		}
		free(key);
	}
	if (directory_commit(ctx->dir, &err) == 0)
		return CLI_OK;
fail:
	cli_error("%s", err);
	return CLI_FAIL;
}
