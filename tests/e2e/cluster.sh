#!/bin/bash
# SPDX-License-Identifier: MIT
# tests/e2e/cluster.sh — five agents on loopback: join, crash, leave,
# rejoin.
#
#   1. n1..n5 join through one seed (n1); `shoal members` on every agent
#      lists 5 alive; `node ls` and `--format json` (sorted by name too)
#      agree.
#   2. kill -9 n3: every other agent reports it failed; an event handler
#      saw member-failed with the event in its environment; a monitor
#      streamed the same event as JSON.
#   3. `shoal leave` on n4: the command returns 0, n4 exits 0, every other
#      agent reports it left.
#   4. n3 restarts with the same name, data dir and address: every agent
#      sees it alive again (a new incarnation beats the old failure).
#   5. force-leave is refused for an alive member and accepted for a
#      failed one; SIGTERM makes an agent leave and exit 0.
#
# usage: tests/e2e/cluster.sh BUILD_DIR   ($SHOAL_BIN set)
. "$(dirname "$0")/lib.bash"
e2e_init

say "start n1 (seed) and n2..n5 joining through it"
start_loopback n1 --key-file "$KEY" \
	--event-handler "member-failed,member-join=echo \"\$SHOAL_EVENT \$SHOAL_MEMBER_NAME \$SHOAL_SELF_NAME\" >> $WORK/events.n1; cat >> $WORK/stdin.n1"
SEED=${ADDR[n1]}
for i in 2 3 4 5; do
	start_loopback n$i --key-file "$KEY" --join "$SEED" --tag zone=z$i
done
for i in 1 2 3 4 5; do
	wait_for "n$i to see 5 alive" 30 alive_count_is n$i 5
done
sh_on n2 node ls | grep -q '^n5 .* alive .*zone=z5' ||
	fail "node ls on n2 does not show n5 with its tag"
sh_on n5 members --format json | python3 -c '
import json, sys
d = json.load(sys.stdin)
names = [m["name"] for m in d["members"] if m["status"] == "alive"]
assert names == ["n1", "n2", "n3", "n4", "n5"], names  # sorted by name
assert sum(1 for m in d["members"] if m["self"]) == 1
' || fail "members --format json on n5"

say "a monitor on n2 (JSON lines)"
"$SHOAL_BIN" monitor --format json --data-dir "$WORK/n2" >"$WORK/monitor.n2" 2>&1 &
MON=$!
PID[monitor]=$MON
wait_for "the monitor to connect" 10 stat_is n2 agent.monitors -eq 1

say "kill -9 n3"
kill9 n3
for i in 1 2 4 5; do
	wait_for "n$i to report n3 failed" 30 status_is n$i n3 failed
done
wait_for "n1's handler to see member-failed" 10 \
	grep -q "^member-failed n3 n1$" "$WORK/events.n1"
grep -q "^member-join n2 n1$" "$WORK/events.n1" ||
	fail "n1's handler did not see member-join of n2"
grep -qP '^n3\t127\.0\.0\.1:\d+\tfailed\t' "$WORK/stdin.n1" ||
	fail "handler stdin lacks the n3 line"
wait_for "the monitor to stream member-failed" 10 \
	grep -q '"event":"member-failed","name":"n3"' "$WORK/monitor.n2"

say "force-leave: refused while alive"
if sh_on n1 force-leave n2 2>"$WORK/err"; then
	fail "force-leave of an alive member succeeded"
fi
grep -q "not failed" "$WORK/err" || fail "unexpected error: $(cat "$WORK/err")"

say "shoal leave on n4"
sh_on n4 leave || fail "shoal leave returned non-zero"
await_exit n4 10 || fail "n4 exited non-zero after leave"
for i in 1 2 5; do
	wait_for "n$i to report n4 left" 30 status_is n$i n4 left
done

say "restart n3: it rejoins"
start_agent n3 --bind "${ADDR[n3]}" --key-file "$KEY" --join "$SEED"
for i in 1 2 3 5; do
	wait_for "n$i to see n3 alive" 30 status_is n$i n3 alive
done
wait_for "n3 to see 4 alive" 30 alive_count_is n3 4

say "force-leave of a failed member"
kill9 n5
wait_for "n1 to report n5 failed" 30 status_is n1 n5 failed
sh_on n1 force-leave n5 || fail "force-leave of failed n5 refused"
for i in 1 2 3; do
	wait_for "n$i to report n5 left" 30 status_is n$i n5 left
done

say "SIGTERM: graceful leave, exit 0"
stop_agent n2 || fail "n2 exited non-zero on SIGTERM"
wait_for "n1 to report n2 left" 30 status_is n1 n2 left
grep -q 'msg="agent stopped" exit=0' "$WORK/n2.log" || fail "n2 log lacks a clean stop"

kill "$MON" 2>/dev/null
wait "$MON" 2>/dev/null
PID[monitor]=""
say "ok"
