/*
 * io: small helpers over file descriptors shared by the queue and the
 * Maildir store.
 */
#ifndef POSTERN_IO_H
#define POSTERN_IO_H

#include <stddef.h>

/* Writes all n bytes, retrying short writes and EINTR. 0 or -1 (errno). */
int	io_write_all(int fd, const void *data, size_t n);

#endif
