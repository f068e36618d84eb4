/* SPDX-License-Identifier: MIT */
/*
 * cli/net.h — sockets for the agent: core/addr values <-> sockaddrs, bound
 * UDP and TCP sockets, non-blocking connects, seeds and advertise
 * addresses.
 *
 * Every descriptor made here is non-blocking and close-on-exec (event
 * handlers must not inherit the agent's sockets). An IPv6 socket bound to
 * "::" also serves IPv4 (dual stack); addresses that arrive as IPv4-mapped
 * IPv6 (::ffff:a.b.c.d) are turned back into IPv4 so that a member has one
 * spelling of its address.
 *
 * Errors: -1 with errno, or a negative core/err.h code where stated; a
 * one-line reason goes to `why` where there is one.
 */
#ifndef SHOAL_CLI_NET_H
#define SHOAL_CLI_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "core/addr.h"

/* Fill ss from a. For an IPv4 address going out of an IPv6 socket
 * (sock_family AF_INET6), the IPv4-mapped form. Returns the length, or 0
 * when a cannot be reached from a socket of that family. sock_family 0
 * means "the address's own family". */
socklen_t net_sockaddr(const struct addr *a, int sock_family,
		       struct sockaddr_storage *ss);

/* The address of a sockaddr (IPv4-mapped -> IPv4). 0 or ERR_INVAL. */
int net_addr(const struct sockaddr *sa, socklen_t len, struct addr *a);

/* Bind a UDP and a TCP socket (listening) on the same address and port.
 * Port 0 picks a free port for both; *bound gets the real address.
 * 0 or ERR_IO with why. */
int net_bind_pair(const struct addr *bind, int *udp_fd, int *tcp_fd,
		  struct addr *bound, char *why, size_t why_cap);

/* Start a non-blocking TCP connect. Returns the fd (connect in progress or
 * done), or -1 with errno. */
int net_connect(const struct addr *to);

/* Resolve a seed ("1.2.3.4:7946", "[::1]:7946", "host.example:7946",
 * "host.example") to an address, preferring `family` (ADDR_V4/ADDR_V6/0).
 * Blocking (getaddrinfo); called only at start. 0 or ERR_INVAL/ERR_NOENT
 * with why. */
int net_resolve(const char *text, uint16_t default_port, int family,
		struct addr *out, char *why, size_t why_cap);

/* This host's first non-loopback, non-link-local address of the family
 * (ADDR_V4 or ADDR_V6) that is up, for advertising when bound to "any".
 * 0 or ERR_NOENT. */
int net_pick_advertise(int family, struct addr *out);

#endif
