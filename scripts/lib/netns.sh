# scripts/lib/netns.sh — N "hosts" on one machine, made of network namespaces.
#
# Sourced by bash scripts (scripts/bench-serf, tests/e2e/*.sh):
#
#   . scripts/lib/netns.sh
#   NETNS_NET=10.213            # optional: the /16 the hosts live in
#   netns_up TAG N              # hosts TAG-0 .. TAG-(N-1), bridge in TAG-br
#   trap 'netns_down TAG' EXIT INT TERM
#   netns_exec TAG 3 build/shoal agent --bind "$(netns_addr 3)" ...
#   netns_down TAG              # kill every process in them, delete them
#
# The shape. Every host is a namespace TAG-I with loopback up and one
# interface, eth0, at NET.(I/250).(I%250+1)/16. Its veth peer vI sits in a
# dedicated bridge namespace TAG-br, enslaved to the bridge br0. Nothing of
# ours lives in the root namespace: no address, no interface, no route, so
# the hosts can reach each other and nothing else, and the machine's own
# firewall (bridge netfilter, iptables) never sees their traffic. Every
# count is bounded by N (at most NETNS_MAX hosts).
#
# Why the pinned neighbours. Each eth0 has a fixed MAC derived from TAG and
# I, every host holds all the others as permanent neighbours, and the
# bridge holds every MAC as a static forwarding entry. Without that, N
# agents starting at once send N*(N-1) ARP requests, broadcast to every
# port; the burst overflows the per-CPU backlog and UDP is dropped silently
# (SndbufErrors in the namespace's /proc/net/snmp), which looks like
# protocol flapping. IPv6 is off in every namespace of ours, so router and
# neighbour solicitations do not show up in the interface counters either.
#
# Functions (all return non-zero on failure and print why on stderr):
#
#   netns_up TAG N           make (or re-make) hosts 0..N-1 of TAG
#   netns_down TAG           SIGKILL every process inside TAG's namespaces,
#                            delete them (and with them the veths and the
#                            bridge); safe to call twice or on nothing
#   netns_list TAG           print TAG's namespace names, one a line
#   netns_name TAG I         print host I's namespace name
#   netns_addr I             print host I's address (NETNS_NET)
#   netns_mac TAG I          print host I's MAC
#   netns_exec TAG I CMD...  run CMD inside host I (exec: same PID)
#   netns_veth I             host I's veth name inside TAG-br (counters:
#                            `ip -n TAG-br -s -j link show`)
#   netns_udp_errors TAG I   print "InErrors RcvbufErrors SndbufErrors" of
#                            host I's UDP (from its /proc/net/snmp)
#
# TAG: 1-8 characters of [a-z0-9] (interface and namespace names are
# built from it). Pick one per script (bench: "sbench"); two scripts
# using different TAGs and NETNS_NETs never touch each other. Needs root
# and iproute2.

NETNS_NET=${NETNS_NET:-10.213}
NETNS_MAX=${NETNS_MAX:-1000}

_netns_check_tag() {
	case "$1" in
	'' | *[!a-z0-9]*)
		echo "netns: bad tag '$1' (1-8 of [a-z0-9])" >&2
		return 1
		;;
	esac
	if [ "${#1}" -gt 8 ]; then
		echo "netns: tag '$1' longer than 8" >&2
		return 1
	fi
}

netns_name() { printf '%s-%s\n' "$1" "$2"; }

netns_addr() {
	printf '%s.%d.%d\n' "$NETNS_NET" $(($1 / 250)) $(($1 % 250 + 1))
}

netns_veth() { printf 'v%s\n' "$1"; }

netns_mac() {
	local h
	h=$(printf '%s' "$1" | cksum | cut -d' ' -f1)
	# 02: locally administered, unicast.
	printf '02:%02x:%02x:00:%02x:%02x\n' $((h % 256)) $((h / 256 % 256)) \
		$(($2 / 256 % 256)) $(($2 % 256))
}

netns_exec() {
	local tag=$1 i=$2
	shift 2
	ip netns exec "$tag-$i" "$@"
}

netns_list() {
	ip netns list 2>/dev/null | awk '{print $1}' |
		grep -E "^$1-([0-9]+|br)\$" || true
}

# _netns_sysctl_off NS: IPv6 off for every interface the namespace has or
# will get (new interfaces copy "default").
_netns_sysctl_off() {
	ip netns exec "$1" sh -c '
		for f in /proc/sys/net/ipv6/conf/default/disable_ipv6 \
			/proc/sys/net/ipv6/conf/all/disable_ipv6; do
			[ -w "$f" ] && echo 1 >"$f"
		done
		true'
}

netns_up() {
	local tag=$1 n=$2 i j br mac addr
	_netns_check_tag "$tag" || return 1
	case "$n" in '' | *[!0-9]*) echo "netns: bad count '$n'" >&2; return 1 ;; esac
	if [ "$n" -lt 1 ] || [ "$n" -gt "$NETNS_MAX" ]; then
		echo "netns: count $n out of 1..$NETNS_MAX" >&2
		return 1
	fi
	if [ "$(id -u)" != 0 ]; then
		echo "netns: needs root" >&2
		return 1
	fi
	command -v ip >/dev/null 2>&1 || { echo "netns: needs iproute2 (ip)" >&2; return 1; }
	netns_down "$tag" || return 1
	br="$tag-br"
	ip netns add "$br" || return 1
	_netns_sysctl_off "$br"
	{
		echo "link set lo up"
		echo "link add br0 type bridge"
		echo "link set br0 up"
	} | ip -n "$br" -batch - || return 1
	for ((i = 0; i < n; i++)); do
		ip netns add "$tag-$i" || return 1
		_netns_sysctl_off "$tag-$i"
		ip -n "$br" link add "v$i" type veth peer name eth0 \
			netns "$tag-$i" || return 1
	done
	# The bridge side: every port up, every MAC static.
	for ((i = 0; i < n; i++)); do
		echo "link set v$i master br0 up"
	done | ip -n "$br" -batch - || return 1
	for ((i = 0; i < n; i++)); do
		echo "fdb replace $(netns_mac "$tag" "$i") dev v$i master static"
	done | bridge -n "$br" -batch - || return 1
	# The host side: MAC, address, links up, every other host pinned.
	local macs=() addrs=()
	for ((i = 0; i < n; i++)); do
		macs[i]=$(netns_mac "$tag" "$i")
		addrs[i]=$(netns_addr "$i")
	done
	for ((i = 0; i < n; i++)); do
		{
			echo "link set lo up"
			echo "link set eth0 address ${macs[i]}"
			echo "addr add ${addrs[i]}/16 dev eth0"
			echo "link set eth0 up"
			for ((j = 0; j < n; j++)); do
				[ "$j" = "$i" ] && continue
				echo "neigh replace ${addrs[j]} lladdr ${macs[j]} nud permanent dev eth0"
			done
		} | ip -n "$tag-$i" -batch - || return 1
	done
}

netns_down() {
	local tag=$1 ns pids k
	_netns_check_tag "$tag" || return 1
	for ns in $(netns_list "$tag"); do
		# Bounded: a process that survives SIGKILL three times (stuck in
		# the kernel) is left to the namespace deletion.
		for k in 1 2 3; do
			pids=$(ip netns pids "$ns" 2>/dev/null)
			[ -z "$pids" ] && break
			kill -9 $pids 2>/dev/null
			sleep 0.1
		done
	done
	for ns in $(netns_list "$tag"); do
		ip netns del "$ns" 2>/dev/null ||
			echo "netns: could not delete namespace $ns" >&2
	done
	[ -z "$(netns_list "$tag")" ]
}

netns_udp_errors() {
	ip netns exec "$1-$2" awk '
		$1 == "Udp:" && !h { for (k = 2; k <= NF; k++) col[$k] = k; h = 1; next }
		$1 == "Udp:" && h { print $col["InErrors"], $col["RcvbufErrors"], $col["SndbufErrors"] }
	' /proc/net/snmp
}
