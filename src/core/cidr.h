/*
 * cidr: IPv4 and IPv6 networks ("10.0.0.0/8", "::1/128", a bare address =
 * a host route) and membership tests. IPv4-mapped IPv6 client addresses
 * (::ffff:a.b.c.d) match IPv4 networks. Pure; no I/O.
 */
#ifndef POSTERN_CIDR_H
#define POSTERN_CIDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct cidr {
	int	 family;	/* AF_INET or AF_INET6 */
	uint8_t	 addr[16];	/* network bytes, host bits zeroed */
	unsigned prefix;	/* 0..32 or 0..128 */
};

struct cidr_list {
	struct cidr	*v;
	size_t		 n;
};

/* Parses "addr" or "addr/prefix"; host bits must be zero unless lenient is
 * true (then they are cleared). Returns 0 or -1. */
int	cidr_parse(const char *s, bool lenient, struct cidr *out);
/* Canonical text "192.0.2.0/24" into out (at least 64 bytes). */
void	cidr_format(const struct cidr *c, char *out, size_t outlen);
bool	cidr_match(const struct cidr *c, const struct sockaddr *sa);
bool	cidr_list_match(const struct cidr_list *l, const struct sockaddr *sa);
void	cidr_list_free(struct cidr_list *l);

/* Do the first prefix bits of net and addr agree? */
bool	cidr_bytes_match(const uint8_t *net, const uint8_t *addr, unsigned prefix);
/* The same address (family and bytes; ports ignored)? AF_INET/AF_INET6. */
bool	sockaddr_ip_equal(const struct sockaddr_storage *a,
	    const struct sockaddr_storage *b);

/* Numeric text of a client address, IPv4-mapped shown as IPv4 ("192.0.2.7"),
 * into out (at least 64 bytes). */
void	sockaddr_ip_text(const struct sockaddr *sa, char *out, size_t outlen);

#endif
