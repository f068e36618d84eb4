#!/bin/bash
# SPDX-License-Identifier: MIT
# tests/e2e/netns.sh — four "hosts" made of network namespaces on a bridge.
#
#   h1..h4 each get a namespace, a veth into one bridge, a fixed MAC and an
#   address in 198.18.0.0/24 (the benchmarking range; the bridge itself has
#   no address, so no traffic leaves the test's namespaces). Every host
#   pins the others as permanent neighbours: without that, the ARP burst
#   at start-up can overflow the bridge's backlog and UDP is silently lost
#   (SndbufErrors in /proc/net/snmp), which looks like flapping.
#
#   1. Agents on port 7946 of each host join through h1: all see 4 alive.
#   2. kill -9 h4: the others report it failed; h4 restarts and rejoins.
#   3. Partition {h1,h2} | {h3,h4} with nftables (input and output drops in
#      each namespace): each side reports the other side failed and keeps
#      its own side alive.
#   4. Heal (delete the tables): the periodic reconnect to failed members
#      brings everyone back to one cluster of 4 alive.
#   5. `shoal leave` on h3: the command returns 0, h3's agent exits 0 and
#      every other host reports it left; h3 restarts and rejoins.
#
#   A service runs across the hosts throughout: `--replicas 6 -- sleep
#   1000` runs exactly once per replica (processes and `service ps` on
#   every host agree); after the kill -9 of h4 its replicas run on the
#   others; during the partition neither side has a majority, so both
#   report "no manager: no quorum" and nothing is rescheduled (the same
#   processes keep running: a quorum counts alive voters only, and a
#   failed member's slots move only after a one-probe grace; see
#   docs/SCHEDULING.md §4); after the heal one manager and every replica
#   once; h3's replicas move when it leaves and are spread again when it
#   is back; at the end h2 "crashes" (agent killed, link down) and its
#   replicas move to the other hosts (the time it takes is printed).
#
# Needs root (namespaces, nftables). Skips (77) when not root, unless
# SHOAL_CI=1, where it fails instead.
#
# usage: tests/e2e/netns.sh BUILD_DIR   ($SHOAL_BIN set)
. "$(dirname "$0")/lib.bash"

need() {
	if [ "${SHOAL_CI:-0}" = 1 ]; then
		echo "FAIL: $* (SHOAL_CI=1: this test must run)"
		exit 1
	fi
	echo "skip: $*"
	exit 77
}
[ "$(id -u)" = 0 ] || need "needs root for network namespaces"
command -v ip >/dev/null || need "needs ip (iproute2)"
command -v nft >/dev/null || need "needs nft (nftables)"

e2e_init
TAG=$$
TASKS="python3 $(dirname "$0")/tasks.py"
CL=e2ens$TAG
BR=shb$TAG
NS=()
HOSTS="h1 h2 h3 h4"
declare -A IP=() MAC=()

netns_cleanup() {
	local n
	$TASKS procs "$CL" | awk '{print $1}' | xargs -r kill -9 2>/dev/null
	for n in "${NS[@]}"; do
		ip netns del "$n" 2>/dev/null
	done
	ip link del "$BR" 2>/dev/null
}
E2E_EXTRA_CLEANUP=netns_cleanup

say "namespaces, veths, bridge $BR"
ip link add "$BR" type bridge || fail "cannot make a bridge"
ip link set "$BR" type bridge stp_state 0 forward_delay 0 2>/dev/null
ip link set "$BR" up
i=0
for h in $HOSTS; do
	i=$((i + 1))
	ns=shoal$TAG$h
	NS+=("$ns")
	IP[$h]=198.18.0.$i
	MAC[$h]=02:5e:00:00:00:0$i
	ip netns add "$ns" || fail "ip netns add $ns"
	ip link add "sv$TAG$i" type veth peer name "sp$TAG$i" || fail "veth"
	ip link set "sp$TAG$i" netns "$ns"
	ip link set "sv$TAG$i" master "$BR" up
	ip -n "$ns" link set "sp$TAG$i" name eth0
	ip -n "$ns" link set eth0 address "${MAC[$h]}"
	ip -n "$ns" addr add "${IP[$h]}/24" dev eth0
	ip -n "$ns" link set eth0 up
	ip -n "$ns" link set lo up
done
for h in $HOSTS; do
	for o in $HOSTS; do
		[ "$h" = "$o" ] && continue
		ip -n "shoal$TAG$h" neigh replace "${IP[$o]}" lladdr "${MAC[$o]}" \
			dev eth0 nud permanent || fail "neigh $h -> $o"
	done
done

# host_agent HOST: start (or restart) the agent inside HOST's namespace.
host_agent() {
	local h=$1
	mkdir -p "$WORK/$h"
	ip netns exec "shoal$TAG$h" "$SHOAL_BIN" agent --name "$h" \
		--bind "${IP[$h]}:7946" --join "${IP[h1]}:7946" \
		--key-file "$KEY" --data-dir "$WORK/$h" "${E2E_SETS[@]}" \
		--cluster "$CL" --task-stop-grace 2s \
		>>"$WORK/$h.log" 2>&1 &
	PID[$h]=$!
	wait_for "agent $h to answer" 20 agent_up "$h"
}

say "agents on every host"
for h in $HOSTS; do
	host_agent $h
done
for h in $HOSTS; do
	wait_for "$h to see 4 alive" 30 alive_count_is $h 4
done
sh_on h3 members | grep -q "^h1 *198\.18\.0\.1:7946 *alive" ||
	fail "h3 does not list h1 at its namespace address"

# replicas_ok N [--not HOST] ON...: see tasks.py check.
replicas_ok() {
	local n=$1 on
	local -a not=() socks=()
	shift
	if [ "${1:-}" = --not ]; then
		not=(--not "$2")
		shift 2
	fi
	for on in "$@"; do
		socks+=("$WORK/$on/agent.sock")
	done
	$TASKS check "$CL" web "$n" "${not[@]}" "${socks[@]}"
}
wait_replicas() {
	local desc=$1 i
	shift
	for ((i = 0; i < 300; i++)); do
		replicas_ok "$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	fail "timed out waiting for: $desc ($(replicas_ok "$@"))"
}
pids_of_web() {
	$TASKS procs "$CL" | awk '$2 == "web" {print $3, $1}' | sort -n | tr '\n' ' '
}

say "a service across the hosts: 6 replicas, each once"
sh_on h2 service create --name web --replicas 6 -- sleep 1000 >/dev/null ||
	fail "service create"
wait_replicas "6 replicas of web across the hosts" 6 $HOSTS

say "kill -9 h4, then restart it"
kill9 h4
for h in h1 h2 h3; do
	wait_for "$h to report h4 failed" 30 status_is $h h4 failed
done
wait_replicas "web running without h4" 6 --not h4 h1 h2 h3
host_agent h4
for h in $HOSTS; do
	wait_for "$h to see 4 alive again" 30 alive_count_is $h 4
done
wait_replicas "6 replicas after h4 rejoined" 6 $HOSTS
BEFORE=$(pids_of_web)

# partition HOST OTHER_IPS: in HOST's namespace, drop everything to and
# from OTHER_IPS.
partition() {
	ip netns exec "shoal$TAG$1" nft -f - <<EOF || fail "nft in $1"
table inet shoaltest {
	chain in { type filter hook input priority 0; ip saddr { $2 } drop; }
	chain out { type filter hook output priority 0; ip daddr { $2 } drop; }
}
EOF
}

say "partition {h1,h2} | {h3,h4}"
partition h1 "${IP[h3]}, ${IP[h4]}"
partition h2 "${IP[h3]}, ${IP[h4]}"
partition h3 "${IP[h1]}, ${IP[h2]}"
partition h4 "${IP[h1]}, ${IP[h2]}"
for h in h1 h2; do
	for o in h3 h4; do
		wait_for "$h to report $o failed" 30 status_is $h $o failed
		wait_for "$o to report $h failed" 30 status_is $o $h failed
	done
done
status_is h1 h2 alive && status_is h3 h4 alive ||
	fail "a side of the partition lost its own members"
no_quorum() {
	sh_on "$1" info | grep -q "^manager: *none (no manager: .*no quorum: sees 2 of 4"
}
for h in $HOSTS; do
	wait_for "$h to report no manager for want of a quorum" 30 no_quorum $h
done
sleep 1 # a few manager rounds, were anyone to act
AFTER=$(pids_of_web)
if [ "$AFTER" = "$BEFORE" ]; then
	say "partitioned: no manager on either side, the same 6 processes run"
else
	fail "a minority rescheduled: (slot pid) $BEFORE -> $AFTER"
fi

say "heal"
for h in $HOSTS; do
	ip netns exec "shoal$TAG$h" nft delete table inet shoaltest ||
		fail "nft delete in $h"
done
for h in $HOSTS; do
	wait_for "$h to see 4 alive after healing" 60 alive_count_is $h 4
done
wait_replicas "6 replicas, each once, after the heal" 6 $HOSTS
sh_on h3 info | grep -q "^manager: *h[1-4] (term" || fail "no manager after the heal"

say "shoal leave on h3: it exits 0, every host reports it left, its replicas move"
LEAVE_OUT=$(sh_on h3 leave 2>&1) || fail "shoal leave on h3: $LEAVE_OUT"
rc=0
await_exit h3 20 || rc=$?
[ "$rc" = 0 ] || fail "h3 exited $rc after shoal leave"
for h in h1 h2 h4; do
	wait_for "$h to report h3 left" 30 status_is $h h3 left
done
wait_replicas "web running without h3" 6 --not h3 h1 h2 h4
say "h3 restarts and rejoins"
host_agent h3
for h in $HOSTS; do
	wait_for "$h to see 4 alive after h3 came back" 30 alive_count_is $h 4
done
wait_replicas "6 replicas, each once, after h3 rejoined" 6 $HOSTS

say "h2 crashes (agent killed, link down): its replicas move"
kill9 h2
ip -n "shoal${TAG}h2" link set eth0 down
T0=$(now_ms)
wait_replicas "web running without h2" 6 --not h2 h1 h3 h4
say "h2 crash -> all 6 replicas running on the other hosts: $(($(now_ms) - T0)) ms"
for h in $HOSTS; do
	# For the record: UDP errors inside each namespace.
	say "$h $(ip netns exec "shoal$TAG$h" awk '/^Udp:/ {
		if (!hdr) { for (i = 2; i <= NF; i++) k[i] = $i; hdr = 1; next }
		printf "%s=%s %s=%s %s=%s", k[3], $3, k[6], $6, k[7], $7; exit }' /proc/net/snmp)"
done
say "ok"
