#!/bin/bash
# SPDX-License-Identifier: MIT
# tests/e2e/late-seed.sh — a node whose seed comes up late does not take
# the manager's office from the cluster it joins.
#
#   1. a1 and a2 form a cluster; a1 (the better-ranked) manages, term 1.
#   2. c1 (ranked above both) starts with --join pointing at a seed that
#      is down. Alone in its view it would be its own quorum; it must make
#      no claim while its join is pending: `info` says it is joining.
#   3. the seed comes up (j1, joining a1), c1's join goes through, and
#      every node still names a1 at term 1. Before the hold, c1 claimed
#      term 1 alone and, once joined, won the tie on rank everywhere.
#
# usage: tests/e2e/late-seed.sh BUILD_DIR   ($SHOAL_BIN set)
. "$(dirname "$0")/lib.bash"
e2e_init

manager_of() {
	sh_on "$1" info --format json 2>/dev/null |
		python3 -c 'import json,sys; m=json.load(sys.stdin)["manager"]; print(m.get("name") or "", m.get("term") or 0)'
}

# names ON WANT: ON names WANT ("NAME TERM") as the manager.
names() {
	[ "$(manager_of "$1")" = "$2" ]
}

say "a1 and a2 form a cluster"
start_loopback a1 --key-file "$KEY"
start_loopback a2 --key-file "$KEY" --join "${ADDR[a1]}"
wait_for "a1 to see 2 alive" 20 alive_count_is a1 2
wait_for "a1 to manage at term 1" 20 names a1 "a1 1"
wait_for "a2 to name a1" 20 names a2 "a1 1"

say "reserve an address for the seed, then stop it: the seed is down"
start_loopback j0 --key-file "$KEY"
SEED=${ADDR[j0]}
kill -9 "${PID[j0]}"
wait "${PID[j0]}" 2>/dev/null
PID[j0]=""

say "c1 joins through the dead seed $SEED: no claim while alone"
start_loopback c1 --key-file "$KEY" --join "$SEED"
# Several claim delays (2 probe intervals, 600 ms here) go by.
sleep 3
sh_on c1 info | grep -q 'joining' ||
	fail "c1's info does not say it is joining: $(sh_on c1 info | grep manager)"
m=$(manager_of c1)
[ "$m" = " 0" ] || fail "c1 claimed while its join was pending: '$m'"

say "the seed comes up at $SEED (j1, joining a1); c1 gets in"
start_agent j1 --bind "$SEED" --key-file "$KEY" --join "${ADDR[a1]}"
for n in a1 a2 j1 c1; do
	wait_for "$n to see 4 alive" 30 alive_count_is "$n" 4
done
for n in a1 a2 j1 c1; do
	wait_for "$n to name a1 at term 1" 20 names "$n" "a1 1"
done
# And it stays so (a late claim would spread within a second here).
sleep 2
for n in a1 a2 j1 c1; do
	names "$n" "a1 1" || fail "$n names $(manager_of "$n"), not a1 at term 1"
done
say "ok"
