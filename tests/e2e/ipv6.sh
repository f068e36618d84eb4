#!/bin/bash
# SPDX-License-Identifier: MIT
# tests/e2e/ipv6.sh — agents on IPv6 loopback, and a dual-stack bind.
#
#   1. Three agents bound to [::1] (free ports) join through the first: all
#      see 3 alive, listed with bracketed IPv6 addresses.
#   2. kill -9 one: the others report it failed.
#   3. An agent bound to [::] (dual stack) advertising 127.0.0.1 joins an
#      IPv4 agent: IPv4 traffic reaches an IPv6 socket and addresses come
#      back as IPv4, not as ::ffff:127.0.0.1.
#
# Skips (77) when the host has no IPv6 loopback, unless SHOAL_CI=1.
#
# usage: tests/e2e/ipv6.sh BUILD_DIR   ($SHOAL_BIN set)
. "$(dirname "$0")/lib.bash"

if ! python3 -c 'import socket; s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); s.bind(("::1", 0))' 2>/dev/null; then
	[ "${SHOAL_CI:-0}" = 1 ] && { echo "FAIL: no IPv6 loopback (SHOAL_CI=1)"; exit 1; }
	echo "skip: no IPv6 loopback on this host"
	exit 77
fi
e2e_init

say "three agents on [::1]"
start_agent a1 --bind "[::1]:0" --key-file "$KEY"
for n in a2 a3; do
	start_agent $n --bind "[::1]:0" --key-file "$KEY" --join "${ADDR[a1]}"
done
for n in a1 a2 a3; do
	wait_for "$n to see 3 alive" 30 alive_count_is $n 3
done
sh_on a2 members | grep -q '^a1 *\[::1\]:[0-9]* *alive' || fail "a1's address on a2"

say "kill -9 a3"
kill9 a3
for n in a1 a2; do
	wait_for "$n to report a3 failed" 30 status_is $n a3 failed
done

say "dual stack: [::] bind, IPv4 peers"
start_loopback v4 --key-file "$KEY"
# No port in --advertise: the agent advertises the port it bound.
start_agent ds --bind "[::]:0" --advertise 127.0.0.1 \
	--key-file "$KEY" --join "${ADDR[v4]}"
PORT=${ADDR[ds]##*:}
[ "${ADDR[ds]}" = "127.0.0.1:$PORT" ] || fail "ds advertises ${ADDR[ds]}"
wait_for "v4 to see ds alive" 30 status_is v4 ds alive
wait_for "ds to see v4 alive" 30 status_is ds v4 alive
sh_on v4 members | grep -q "^ds *127\.0\.0\.1:$PORT " || fail "ds's address on v4"
sh_on ds members | grep -q 'ffff' && fail "an IPv4-mapped address leaked into the member list"
say "ok"
