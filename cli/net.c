/* SPDX-License-Identifier: MIT */
/*
 * cli/net.c — the only place that turns shoal addresses into sockets.
 *
 * The pure layers speak struct addr (core/addr.h) and never see a
 * sockaddr; this file converts at the edge. Gossip needs UDP and TCP on
 * the same port (peers know one address per member), so the pair is bound
 * together, and with port 0 the TCP port is chosen first and UDP takes the
 * same number (retrying a few times if that UDP port is taken).
 *
 * Socket buffers are raised to 4 MiB where the system allows: a burst of
 * gossip after a partition heals must not overflow the default 208 KiB
 * receive queue, which would drop UDP silently.
 */
#include "cli/net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"

#define NET_SOCKBUF (4 << 20)

socklen_t
net_sockaddr(const struct addr *a, int sock_family, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (sock_family == 0)
		sock_family = a->family == ADDR_V6 ? AF_INET6 : AF_INET;
	if (a->family == ADDR_V4 && sock_family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)ss;

		in->sin_family = AF_INET;
		in->sin_port = htons(a->port);
		memcpy(&in->sin_addr, a->ip, 4);
		return sizeof(*in);
	}
	if (sock_family == AF_INET6 &&
	    (a->family == ADDR_V6 || a->family == ADDR_V4)) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(a->port);
		if (a->family == ADDR_V6) {
			memcpy(&in6->sin6_addr, a->ip, 16);
		} else {
			in6->sin6_addr.s6_addr[10] = 0xff;
			in6->sin6_addr.s6_addr[11] = 0xff;
			memcpy(&in6->sin6_addr.s6_addr[12], a->ip, 4);
		}
		return sizeof(*in6);
	}
	return 0;
}

int
net_addr(const struct sockaddr *sa, socklen_t len, struct addr *a)
{
	memset(a, 0, sizeof(*a));
	if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

		a->family = ADDR_V4;
		a->port = ntohs(in->sin_port);
		memcpy(a->ip, &in->sin_addr, 4);
		return 0;
	}
	if (sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *in6 =
			(const struct sockaddr_in6 *)sa;
		const uint8_t *ip = in6->sin6_addr.s6_addr;
		static const uint8_t mapped[12] = {0, 0, 0, 0, 0,    0,
						   0, 0, 0, 0, 0xff, 0xff};

		a->port = ntohs(in6->sin6_port);
		if (memcmp(ip, mapped, 12) == 0) {
			a->family = ADDR_V4;
			memcpy(a->ip, ip + 12, 4);
		} else {
			a->family = ADDR_V6;
			memcpy(a->ip, ip, 16);
		}
		return 0;
	}
	return ERR_INVAL;
}

static int
make_socket(int family, int type)
{
	return socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
}

static void
tune(int fd, int family, bool any)
{
	int one = 1, zero = 0, sz = NET_SOCKBUF;

	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	if (family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, any ? &zero : &one,
			   sizeof(int));
}

static int
bind_one(int fd, const struct addr *a, char *why, size_t why_cap,
	 const char *what)
{
	struct sockaddr_storage ss;
	socklen_t sl = net_sockaddr(a, 0, &ss);
	char text[ADDR_STR_MAX];

	if (bind(fd, (struct sockaddr *)&ss, sl) == 0)
		return 0;
	addr_format(a, text, sizeof(text));
	snprintf(why, why_cap, "cannot bind %s %s: %s", what, text,
		 strerror(errno));
	return -1;
}

int
net_bind_pair(const struct addr *bind, int *udp_fd, int *tcp_fd,
	      struct addr *bound, char *why, size_t why_cap)
{
	int family = bind->family == ADDR_V6 ? AF_INET6 : AF_INET;
	bool any = addr_is_any(bind);
	struct addr a = *bind;
	int tries = bind->port == 0 ? 16 : 1;

	*udp_fd = *tcp_fd = -1;
	while (tries--) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int u, t;

		a.port = bind->port;
		t = make_socket(family, SOCK_STREAM);
		u = make_socket(family, SOCK_DGRAM);
		if (t < 0 || u < 0) {
			snprintf(why, why_cap, "socket: %s", strerror(errno));
			goto out_close;
		}
		tune(t, family, any);
		tune(u, family, any);
		if (bind_one(t, &a, why, why_cap, "TCP"))
			goto out_close;
		if (getsockname(t, (struct sockaddr *)&ss, &sl) ||
		    net_addr((struct sockaddr *)&ss, sl, &a)) {
			snprintf(why, why_cap, "getsockname: %s",
				 strerror(errno));
			goto out_close;
		}
		if (bind->family == ADDR_V6 && a.family == ADDR_V4) {
			/* "::" reported back as mapped: keep the v6 form. */
			uint16_t port = a.port;

			a = *bind;
			a.port = port;
		}
		if (bind_one(u, &a, why, why_cap, "UDP")) {
			close(t);
			close(u);
			if (bind->port == 0 && errno == EADDRINUSE)
				continue;
			return ERR_IO;
		}
		if (listen(t, 128)) {
			snprintf(why, why_cap, "listen: %s", strerror(errno));
			goto out_close;
		}
		*udp_fd = u;
		*tcp_fd = t;
		*bound = a;
		return 0;
	out_close:
		if (t >= 0)
			close(t);
		if (u >= 0)
			close(u);
		return ERR_IO;
	}
	snprintf(why, why_cap, "no free port for both UDP and TCP");
	return ERR_IO;
}

int
net_connect(const struct addr *to)
{
	struct sockaddr_storage ss;
	socklen_t sl = net_sockaddr(to, 0, &ss);
	int fd, one = 1;

	if (!sl) {
		errno = EAFNOSUPPORT;
		return -1;
	}
	fd = make_socket(ss.ss_family, SOCK_STREAM);
	if (fd < 0)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&ss, sl) && errno != EINPROGRESS) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

int
net_resolve(const char *text, uint16_t default_port, int family,
	    struct addr *out, char *why, size_t why_cap)
{
	struct addrinfo hints, *res = NULL, *ai;
	char host[256], port[8];
	const char *colon;
	int rc;

	if (addr_parse(out, text, default_port) == 0)
		return 0;
	/* host[:port] with a DNS name. */
	colon = strrchr(text, ':');
	if (colon && strchr(text, ':') != colon)
		colon = NULL; /* an unbracketed IPv6 literal; addr_parse said no
			       */
	if (colon) {
		size_t hn = (size_t)(colon - text);
		char *end;
		unsigned long p = strtoul(colon + 1, &end, 10);

		if (hn == 0 || hn >= sizeof(host) || *end || p == 0 ||
		    p > 65535 || colon[1] == '\0') {
			snprintf(why, why_cap, "\"%.80s\" is not HOST[:PORT]",
				 text);
			return ERR_INVAL;
		}
		memcpy(host, text, hn);
		host[hn] = '\0';
		snprintf(port, sizeof(port), "%lu", p);
	} else {
		if (strlen(text) >= sizeof(host) || !*text) {
			snprintf(why, why_cap, "\"%.80s\" is not HOST[:PORT]",
				 text);
			return ERR_INVAL;
		}
		strcpy(host, text);
		snprintf(port, sizeof(port), "%u", default_port);
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_DGRAM;
	rc = getaddrinfo(host, port, &hints, &res);
	if (rc) {
		snprintf(why, why_cap, "cannot resolve \"%.80s\": %s", host,
			 gai_strerror(rc));
		return ERR_NOENT;
	}
	rc = ERR_NOENT;
	for (int pass = 0; pass < 2 && rc; pass++) {
		for (ai = res; ai; ai = ai->ai_next) {
			struct addr a;

			if (net_addr(ai->ai_addr, ai->ai_addrlen, &a))
				continue;
			if (pass == 0 && family && a.family != family)
				continue;
			*out = a;
			rc = 0;
			break;
		}
	}
	freeaddrinfo(res);
	if (rc)
		snprintf(why, why_cap, "\"%.80s\" has no usable address", host);
	return rc;
}

int
net_pick_advertise(int family, struct addr *out)
{
	struct ifaddrs *ifs, *i;
	int rc = ERR_NOENT;

	if (getifaddrs(&ifs))
		return ERR_NOENT;
	for (i = ifs; i; i = i->ifa_next) {
		struct addr a;

		if (!i->ifa_addr || !(i->ifa_flags & IFF_UP) ||
		    (i->ifa_flags & IFF_LOOPBACK))
			continue;
		if (i->ifa_addr->sa_family == AF_INET)
			net_addr(i->ifa_addr, sizeof(struct sockaddr_in), &a);
		else if (i->ifa_addr->sa_family == AF_INET6)
			net_addr(i->ifa_addr, sizeof(struct sockaddr_in6), &a);
		else
			continue;
		if (a.family != family || addr_is_loopback(&a))
			continue;
		if (a.family == ADDR_V6 && a.ip[0] == 0xfe &&
		    (a.ip[1] & 0xc0) == 0x80)
			continue; /* link-local needs a zone id */
		if (a.family == ADDR_V4 && a.ip[0] == 169 && a.ip[1] == 254)
			continue;
		*out = a;
		rc = 0;
		break;
	}
	freeifaddrs(ifs);
	return rc;
}
