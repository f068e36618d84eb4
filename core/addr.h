/* SPDX-License-Identifier: MIT */
/*
 * core/addr.h — IPv4/IPv6 host:port values, parsed and formatted.
 *
 * The protocol code treats an address as an opaque value it can compare,
 * copy, hash and put on the wire; only the runtime turns one into a socket
 * address. Parsing is our own (no inet_pton, no resolver) so the pure layers
 * stay free of libc networking. Forms accepted:
 *
 *   1.2.3.4:7946   1.2.3.4        (default port)
 *   [::1]:7946     [::1]   ::1    (default port; brackets needed with a port)
 *   [fe80::1%eth0] is refused: zone ids are not supported.
 *
 * On the wire an address is 6 bytes (IPv4 + port) or 18 bytes (IPv6 +
 * port), all big-endian.
 */
#ifndef SHOAL_CORE_ADDR_H
#define SHOAL_CORE_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum addr_family {
	ADDR_NONE = 0,
	ADDR_V4 = 4,
	ADDR_V6 = 6,
};

struct addr {
	uint8_t family; /* enum addr_family */
	uint8_t pad;
	uint16_t port;	/* host byte order */
	uint8_t ip[16]; /* v4 uses ip[0..3]; the rest is zero */
};

/* Longest formatted address with its NUL: "[" 39 "]:" 5 "\0". */
#define ADDR_STR_MAX 48
/* Longest wire form. */
#define ADDR_WIRE_MAX 18

/* Parse s. A missing port takes default_port; port 0 is allowed only when
 * default_port is 0 too (an "any port" bind). 0 or ERR_INVAL. */
int addr_parse(struct addr *a, const char *s, uint16_t default_port);

/* Format as "1.2.3.4:7946" or "[::1]:7946" (RFC 5952 compressed IPv6).
 * Returns the length written (without NUL) or ERR_TOOBIG if cap is short. */
int addr_format(const struct addr *a, char *out, size_t cap);

/* Format only the host part ("1.2.3.4" or "::1"). */
int addr_format_host(const struct addr *a, char *out, size_t cap);

/* Same family, ip and port. */
bool addr_equal(const struct addr *a, const struct addr *b);

/* 127.0.0.0/8 or ::1. */
bool addr_is_loopback(const struct addr *a);

/* 0.0.0.0 or ::. */
bool addr_is_any(const struct addr *a);

/* Wire form into out (ADDR_WIRE_MAX bytes); returns the length (6 or 18)
 * or ERR_INVAL for an unset address. */
int addr_encode(const struct addr *a, uint8_t *out);

/* From wire form: len must be 6 or 18. 0 or ERR_DECODE. */
int addr_decode(struct addr *a, const uint8_t *p, size_t len);

/* A stable 64-bit hash of the address. */
uint64_t addr_hash(const struct addr *a);

/* Convenience for tests and the simulator: an IPv4 address from four octets
 * and a port. */
void addr_v4(struct addr *a, uint8_t o0, uint8_t o1, uint8_t o2, uint8_t o3,
	     uint16_t port);

#endif
