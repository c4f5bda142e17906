/*
 * tls: server contexts and the self-signed fallback certificate.
 * RFC 8996 (no TLS below 1.2 by default), RFC 8314 (implicit TLS ports).
 */
#include <errno.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/tls.h"
#include "core/xalloc.h"

static void
tls_err(char *err, size_t errlen, const char *what)
{
	unsigned long e = ERR_get_error();
	char detail[256] = "";

	if (e != 0)
		ERR_error_string_n(e, detail, sizeof(detail));
	snprintf(err, errlen, "%s%s%s", what, *detail ? ": " : "", detail);
	ERR_clear_error();
}

static X509 *
tls_make_cert(EVP_PKEY *pkey, const char *hostname)
{
	X509 *x = X509_new();
	X509_NAME *name;
	X509V3_CTX v3;
	X509_EXTENSION *ext;
	char *san = xasprintf("DNS:%s", hostname);
	unsigned char serial[16];
	BIGNUM *bn;

	RAND_bytes(serial, sizeof(serial));
	serial[0] &= 0x7f;
	bn = BN_bin2bn(serial, sizeof(serial), NULL);
	BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
	BN_free(bn);
	X509_set_version(x, 2);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 10L * 365 * 24 * 3600);
	X509_set_pubkey(x, pkey);
	name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)hostname, -1, -1, 0);
	X509_set_issuer_name(x, name);
	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, san);
	if (ext != NULL) {
		X509_add_ext(x, ext, -1);
		X509_EXTENSION_free(ext);
	}
	free(san);
	if (X509_sign(x, pkey, EVP_sha256()) == 0) {
		X509_free(x);
		return NULL;
	}
	return x;
}

/* Created at its final mode, so the key is never readable by others. */
static int
tls_write_pem(const char *path, mode_t mode, EVP_PKEY *pkey, X509 *cert,
    uid_t uid, gid_t gid)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	FILE *f;
	int ok;

	if (fd == -1)
		return -1;
	fchmod(fd, mode);
	if (uid != (uid_t)-1 && fchown(fd, uid, gid) == -1) {
		close(fd);
		return -1;
	}
	f = fdopen(fd, "w");
	if (f == NULL) {
		close(fd);
		return -1;
	}
	ok = pkey != NULL ? PEM_write_PrivateKey(f, pkey, NULL, NULL, 0, NULL, NULL)
	    : PEM_write_X509(f, cert);
	if (fflush(f) != 0 || fsync(fileno(f)) != 0)
		ok = 0;
	fclose(f);
	return ok ? 0 : -1;
}

int
tls_selfsigned_ensure(const char *tls_dir, const char *hostname,
    uid_t uid, gid_t gid, char *err, size_t errlen)
{
	char *cert_path = xasprintf("%s/cert.pem", tls_dir);
	char *key_path = xasprintf("%s/key.pem", tls_dir);
	char *tmp_key = xasprintf("%s/key.pem.tmp", tls_dir);
	char *tmp_cert = xasprintf("%s/cert.pem.tmp", tls_dir);
	EVP_PKEY *pkey = NULL;
	X509 *x = NULL;
	int rc = -1;

	if (access(cert_path, F_OK) == 0 && access(key_path, F_OK) == 0) {
		rc = 0;
		goto out;
	}
	if (mkdir(tls_dir, 0700) == -1 && errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", tls_dir, strerror(errno));
		goto out;
	}
	if (uid != (uid_t)-1 && chown(tls_dir, uid, gid) == -1) {
		snprintf(err, errlen, "%s: %s", tls_dir, strerror(errno));
		goto out;
	}
	pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (pkey == NULL || (x = tls_make_cert(pkey, hostname)) == NULL) {
		tls_err(err, errlen, "self-signed certificate");
		goto out;
	}
	/* Key first, cert last: the pair is complete once cert.pem exists. */
	if (tls_write_pem(tmp_key, 0600, pkey, NULL, uid, gid) == -1 ||
	    rename(tmp_key, key_path) == -1 ||
	    tls_write_pem(tmp_cert, 0644, NULL, x, uid, gid) == -1 ||
	    rename(tmp_cert, cert_path) == -1) {
		snprintf(err, errlen, "%s: %s", tls_dir, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	EVP_PKEY_free(pkey);
	X509_free(x);
	free(cert_path);
	free(key_path);
	free(tmp_key);
	free(tmp_cert);
	return rc;
}

SSL_CTX *
tls_server_ctx_new(const struct config *cfg, const char *tls_dir,
    char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	char *cert = NULL, *key = NULL;

	if (ctx == NULL) {
		tls_err(err, errlen, "SSL_CTX_new");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, cfg->tls.min_version);
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_TICKET);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	if (cfg->tls.cert != NULL && *cfg->tls.cert != '\0') {
		cert = xstrdup(cfg->tls.cert);
		key = xstrdup(cfg->tls.key != NULL && *cfg->tls.key ? cfg->tls.key
		    : cfg->tls.cert);
	} else {
		cert = xasprintf("%s/cert.pem", tls_dir);
		key = xasprintf("%s/key.pem", tls_dir);
	}
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		tls_err(err, errlen, cert);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		tls_err(err, errlen, key);
		goto fail;
	}
	free(cert);
	free(key);
	return ctx;
fail:
	free(cert);
	free(key);
	SSL_CTX_free(ctx);
	return NULL;
}

const char *
tls_version_name(const SSL *ssl)
{
	return ssl != NULL ? SSL_get_version(ssl) : "none";
}
