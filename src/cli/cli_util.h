/*
 * cli_util: what the subcommands share: exit codes, usage lines, the
 * password read from stdin, the "KEY = VALUE" output with its quoting rule
 * (directory commands), and the escaping of peer text in reports.
 */
#ifndef POSTERN_CLI_UTIL_H
#define POSTERN_CLI_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "cli/cli.h"
#include "core/buf.h"

#define CLI_OK		0
#define CLI_FAIL	1	/* one "postern: ..." line on stderr */
#define CLI_USAGE	2	/* one "usage: ..." line on stderr */

/* Prints "usage: postern <usage>" on stderr; returns CLI_USAGE. */
int	cli_usage(const char *usage);

/*
 * Reads the password from ctx->in: everything up to end of file (a
 * terminal: one line, echo off), at most PASSWORD_MAX bytes once one
 * trailing "\n" (or "\r\n") is dropped. Refuses an empty password and a
 * NUL byte. Returns a buffer the caller releases with cli_password_free(),
 * or NULL after printing the error.
 */
char	*cli_password_read(const struct cli_ctx *ctx, size_t *len_out);
void	cli_password_free(char **pwp);

/* Writes s bare when it is non-empty printable ASCII without space, '"'
 * or '\\' (and !always); otherwise "quoted" with \" \\ \n \r \t \xNN
 * escapes. Either way the value stays on one line. */
void	cli_quote(FILE *out, const char *s, bool always);
/* Appends n bytes of s to out for a report line (relay-test, dns-records):
 * printable ASCII as is, every other byte as \xNN, so peer text stays one
 * line of plain text on any terminal. */
void	cli_escape(struct buf *out, const char *s, size_t n);
/* "key = value\n" with value through cli_quote(). */
void	cli_print_kv(FILE *out, const char *key, const char *value);

/* Splits "KEY=VALUE" at the first '=': *key_out is a new string, *value_out
 * points into arg. -1 (nothing allocated) when there is no '=' or no KEY. */
int	cli_split_kv(const char *arg, char **key_out, const char **value_out);

/* Are argv[first..argc) all KEY=VALUE (a non-empty key)? */
bool	cli_kv_args_ok(int argc, char **argv, int first);
/* Sets one KEY=VALUE on the object called name; 0 or -1 with *err_out. */
typedef int (*cli_set_fn)(const struct cli_ctx *ctx, const char *name,
	    const char *key, const char *value, const char **err_out);
/*
 * Applies every KEY=VALUE of argv[first..argc) with set(), in one
 * transaction: all or nothing, so a typo in the third key leaves the
 * first two unchanged. CLI_OK, or CLI_FAIL after one line on stderr.
 */
int	cli_set_all(const struct cli_ctx *ctx, const char *name, int argc,
	    char **argv, int first, cli_set_fn set);

#endif
