/*
 * tls: the server's SSL_CTX (OpenSSL 3). Certificate and key come from the
 * configuration, or from a self-signed pair for hostname made once in
 * data_dir/tls/ (key mode 0600). Protocol code only sees the SSL_CTX.
 */
#ifndef POSTERN_TLS_H
#define POSTERN_TLS_H

#include <openssl/ssl.h>
#include <stddef.h>
#include <sys/types.h>

#include "core/config.h"

/*
 * Makes tls_dir/cert.pem and tls_dir/key.pem for hostname when they do not
 * exist yet, owned by uid:gid (-1: unchanged). Returns 0 or -1 with err.
 */
int	tls_selfsigned_ensure(const char *tls_dir, const char *hostname,
	    uid_t uid, gid_t gid, char *err, size_t errlen);
/*
 * A server context from cfg->tls (or the self-signed pair under tls_dir when
 * cfg->tls.cert is ""). NULL with err on failure.
 */
SSL_CTX	*tls_server_ctx_new(const struct config *cfg, const char *tls_dir,
	    char *err, size_t errlen);
/* "TLSv1.3" for a live connection. */
const char *tls_version_name(const SSL *ssl);

#endif
