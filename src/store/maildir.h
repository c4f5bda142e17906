/*
 * maildir: mailboxes under data_dir/mail/DOMAIN/LOCALPART/ (SPEC section 3),
 * the Maildir layout every reader knows: write tmp/, fsync, rename into new/,
 * fsync new/. Names carry ",S=<size>" (Maildir++) so a quota is summed from
 * a directory listing without a stat per message.
 */
#ifndef POSTERN_MAILDIR_H
#define POSTERN_MAILDIR_H

#include <stdbool.h>
#include <stdint.h>

#include "core/buf.h"

/* "alice@example.org" -> "mail/example.org/alice" (relative to data_dir);
 * bytes that could escape the tree ('/', a leading '.', controls, '%') are
 * written as %XX. New string, or NULL for a key without '@'. */
char	*maildir_path(const char *mailbox_key);
/* The same without "mail/": "example.org/alice", relative to data_dir/mail
 * (where the mailbox workers are chrooted; store/mbox.c). */
char	*maildir_user_dir(const char *mailbox_key);
/* Creates path with tmp/ new/ cur/, mode 0700. 0 or -1 (errno). */
int	maildir_ensure(const char *path);
/*
 * Writes prefix then len bytes of src_fd at off into tmp/<name>, fsyncs it,
 * renames it into new/<name>. The caller fsyncs new/ (maildir_sync) once for
 * a batch. 0 or -1 (errno).
 */
int	maildir_deliver(const char *path, const char *name, struct span prefix,
	    int src_fd, uint64_t off, uint64_t len);
int	maildir_sync(const char *path);
/* Is a message named `name` in new/, or in cur/ with any flags? */
bool	maildir_has(const char *path, const char *name);
/* Bytes used by new/ and cur/ (from S= in names, else stat). */
uint64_t maildir_usage(const char *path);

#endif
