#!/bin/bash
# SPDX-License-Identifier: MIT
# tests/e2e/services.sh — five agents on loopback run a service.
#
#   1. n1..n5 join; one manager, the same on every node.
#   2. `service create --replicas 6 -- sleep 1000`: every replica runs
#      exactly once (real processes, read from /proc, and `service ps` on
#      every node agree); each process has SHOAL_SERVICE/SLOT/NODE. A
#      global service runs once on every node and cannot be scaled.
#   3. kill -9 an agent that runs replicas (not the manager): its
#      processes die with it, its replicas start elsewhere (the time from
#      the kill to all 6 running again is printed); it restarts and
#      rejoins.
#   4. scale up to 8 and down to 3; a rolling update of the environment.
#   5. node update --availability drain moves replicas off a node.
#   6. a task that exits 3 is restarted by policy until the attempts run
#      out; ps shows the restarts, exit 3 and the reason; handlers and a
#      monitor see task-failed.
#   7. refused specs: one line naming the rule, exit 1 (2 for usage).
#   8. service rm stops the processes everywhere.
#   9. kill -9 the manager: every survivor accepts the same new manager
#      with a higher term, and the replicas are placed again.
#  10. SIGTERM on an agent with replicas: it stops its tasks and exits 0;
#      the replicas run elsewhere.
#
# usage: tests/e2e/services.sh BUILD_DIR   ($SHOAL_BIN set)
. "$(dirname "$0")/lib.bash"
e2e_init
TASKS="python3 $(dirname "$0")/tasks.py"
CL=e2esvc$$
# Should a test fail with agents gone, no task of ours outlives it.
kill_tasks() {
	$TASKS procs "$CL" | awk '{print $1}' | xargs -r kill -9 2>/dev/null
}
E2E_EXTRA_CLEANUP=kill_tasks
NODES="n1 n2 n3 n4 n5"

start_node() {
	local n=$1
	shift
	start_loopback "$n" --key-file "$KEY" --cluster "$CL" \
		--task-stop-grace 2s \
		--event-handler "task-failed,task-exit=echo \"\$SHOAL_EVENT \$SHOAL_SERVICE.\$SHOAL_SLOT \$SHOAL_TASK_EXIT\" >> $WORK/events.$n" \
		--event-handler "manager=echo \"manager \$SHOAL_MANAGER \$SHOAL_MANAGER_TERM\" >> $WORK/events.$n" \
		"$@"
}

# socks NAME...: the control sockets of these agents.
socks() {
	local n
	for n in "$@"; do
		printf '%s ' "$WORK/$n/agent.sock"
	done
}

# replicas_ok SERVICE N [--not NODE] ON...: see tasks.py check.
replicas_ok() {
	local svc=$1 n=$2 not=()
	shift 2
	if [ "${1:-}" = --not ]; then
		not=(--not "$2")
		shift 2
	fi
	# shellcheck disable=SC2046
	$TASKS check "$CL" "$svc" "$n" "${not[@]}" $(socks "$@")
}

# wait_replicas DESC SECS SERVICE N [--not NODE] ON...: wait_for, and on
# failure say what differs.
wait_replicas() {
	local desc=$1 secs=$2
	shift 2
	if ! wait_for_quiet "$secs" replicas_ok "$@"; then
		fail "timed out after ${secs}s waiting for: $desc ($(replicas_ok "$@"))"
	fi
}

# wait_for_quiet SECS CMD...: like wait_for, but returns 1 instead of
# failing the test.
wait_for_quiet() {
	local secs=$1 i
	shift
	local deadline=$(($(now_ms) + secs * 1000))
	for ((i = 0; i < secs * 10; i++)); do
		"$@" >/dev/null 2>&1 && return 0
		[ "$(now_ms)" -ge "$deadline" ] && break
		sleep 0.1
	done
	return 1
}

manager_of() {
	sh_on "$1" info --format json 2>/dev/null |
		python3 -c 'import json,sys; m=json.load(sys.stdin)["manager"]; print(m["name"], m["term"])'
}

# same_manager ON...: every ON names the same manager; prints "NAME TERM".
same_manager() {
	local first="" m on
	for on in "$@"; do
		m=$(manager_of "$on")
		case "$m" in "" | " "*) return 1 ;; esac
		[ -z "$first" ] && first=$m
		[ "$m" = "$first" ] || return 1
	done
	echo "$first"
}

# holder SERVICE EXCEPT...: a node running a replica of SERVICE that is
# not one of EXCEPT.
holder() {
	local svc=$1 n
	shift
	$TASKS procs "$CL" | awk -v s="$svc" '$2 == s {print $4}' | sort -u |
		while read -r n; do
			case " $* " in *" $n "*) continue ;; esac
			echo "$n"
			break
		done
}

count_on() {
	$TASKS procs "$CL" | awk -v s="$1" -v n="$2" '$2 == s && $4 == n' | wc -l
}

expect_fail() {
	local want=$1 needle=$2
	shift 2
	"$SHOAL_BIN" "$@" >"$WORK/out" 2>"$WORK/err"
	local rc=$?
	[ $rc = "$want" ] || fail "shoal $*: exit $rc, wanted $want ($(cat "$WORK/err"))"
	[ "$(wc -l <"$WORK/err")" = 1 ] || fail "shoal $*: not one line: $(cat "$WORK/err")"
	grep -qF -- "$needle" "$WORK/err" || fail "shoal $*: $(cat "$WORK/err")"
}

say "five agents, one seed"
start_node n1
SEED=${ADDR[n1]}
for i in 2 3 4 5; do
	start_node n$i --join "$SEED"
done
for n in $NODES; do
	wait_for "$n to see 5 alive" 30 alive_count_is $n 5
done
wait_for "one manager accepted by every node" 20 same_manager $NODES
read -r MGR TERM <<<"$(same_manager $NODES)"
say "manager: $MGR (term $TERM)"
sh_on n3 node ls | grep -q "^$MGR .* leader" || fail "node ls does not mark $MGR as leader"
sh_on n3 info | grep -q "^manager: *$MGR (term $TERM)" || fail "info on n3: $(sh_on n3 info)"

say "service create web --replicas 6 -- sleep 1000"
sh_on n2 service create --name web --replicas 6 -- sleep 1000 >"$WORK/out" ||
	fail "service create: $(cat "$WORK/out")"
[ "$(cat "$WORK/out")" = web ] || fail "service create printed: $(cat "$WORK/out")"
wait_replicas "6 replicas of web, each once" 30 web 6 $NODES
for n in $NODES; do
	sh_on $n service ls | grep -q '^web  *replicated  *6/6  *sleep 1000$' ||
		fail "service ls on $n: $(sh_on $n service ls)"
done
$TASKS procs "$CL" >"$WORK/procs"
while read -r pid svc slot node; do
	tr '\0' '\n' <"/proc/$pid/environ" >"$WORK/env.$pid" 2>/dev/null || continue
	grep -qx "SHOAL_SERVICE=$svc" "$WORK/env.$pid" &&
		grep -qx "SHOAL_SLOT=$slot" "$WORK/env.$pid" &&
		grep -qx "SHOAL_NODE=$node" "$WORK/env.$pid" ||
		fail "environment of $pid ($svc.$slot on $node)"
	[ "$(tr '\0' ' ' <"/proc/$pid/cmdline")" = "sleep 1000 " ] ||
		fail "process $pid runs $(tr '\0' ' ' <"/proc/$pid/cmdline")"
done <"$WORK/procs"
[ "$(wc -l <"$WORK/procs")" = 6 ] || fail "$(wc -l <"$WORK/procs") processes, want 6"
sh_on n4 service inspect web --format json | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["spec"]["args"] == ["sleep", "1000"], d
assert d["spec"]["replicas"] == 6 and d["running"] == 6, d
' || fail "service inspect web"

say "a global service: one replica on every node"
sh_on n1 service create --name every --mode global -- sleep 1000 >/dev/null ||
	fail "create a global service"
one_each() {
	local n
	for n in $NODES; do
		[ "$(count_on every $n)" = 1 ] || return 1
	done
	sh_on n3 service ls | grep -q '^every  *global  *5/5 '
}
wait_for "one replica of the global service on each node" 30 one_each
expect_fail 1 'is global: it cannot be scaled' service scale every=3 --data-dir "$WORK/n2"
sh_on n4 service rm every >/dev/null || fail "rm every"
no_every() { [ -z "$($TASKS procs "$CL" | awk '$2 == "every"')" ]; }
wait_for "the global service's processes to stop" 20 no_every

say "kill -9 an agent that runs replicas (not the manager)"
VICTIM=$(holder web "$MGR" n1)
[ -n "$VICTIM" ] || fail "no replica outside $MGR and n1"
LOST=$(count_on web "$VICTIM")
SURV=$(for n in $NODES; do [ $n != "$VICTIM" ] && printf '%s ' $n; done)
T0=$(now_ms)
kill9 "$VICTIM"
# shellcheck disable=SC2086
wait_replicas "web running again without $VICTIM" 30 web 6 --not "$VICTIM" $SURV
T1=$(now_ms)
say "kill -9 $VICTIM ($LOST replicas) -> all 6 running elsewhere: $((T1 - T0)) ms"
echo "$((T1 - T0))" >"$WORK/kill_to_running_ms"
for n in $SURV; do
	status_is $n "$VICTIM" failed || fail "$n does not report $VICTIM failed"
done

say "$VICTIM restarts and rejoins; still one process per replica"
start_node "$VICTIM" --bind "${ADDR[$VICTIM]}" --join "$SEED"
for n in $NODES; do
	wait_for "$n to see 5 alive again" 30 alive_count_is $n 5
done
wait_replicas "6 replicas after the rejoin" 30 web 6 $NODES

say "scale web=8, then web=3"
sh_on n5 service scale web=8 | grep -q "web scaled to 8" || fail "scale to 8"
wait_replicas "8 replicas" 30 web 8 $NODES
sh_on n1 service scale web=3 >/dev/null || fail "scale to 3"
wait_replicas "3 replicas" 30 web 3 $NODES

say "rolling update: --env-add COLOUR=blue"
sh_on n3 service update web --env-add COLOUR=blue >/dev/null || fail "update"
wait_for "every web process to have COLOUR=blue" 30 $TASKS env "$CL" web COLOUR=blue
wait_replicas "3 current replicas after the update" 30 web 3 $NODES

say "drain a node that runs replicas"
DRAIN=$(holder web)
sh_on n1 node update --availability drain "$DRAIN" >/dev/null || fail "drain"
# shellcheck disable=SC2086
wait_replicas "web off $DRAIN" 30 web 3 --not "$DRAIN" $NODES
sh_on n2 node ls | grep -q "^$DRAIN .* drain " || fail "node ls does not show $DRAIN drained"
sh_on n1 node update --availability active "$DRAIN" >/dev/null || fail "activate"
expect_fail 1 'no member named "ghost"' node update --availability drain ghost --data-dir "$WORK/n1"
expect_fail 2 'is not active, pause or drain' node update --availability off n1 --data-dir "$WORK/n1"

say "a task that exits 3: restarted by policy, then given up"
"$SHOAL_BIN" monitor --format json --data-dir "$WORK/n1" >"$WORK/monitor.n1" 2>&1 &
PID[monitor]=$!
wait_for "the monitor to connect" 10 stat_is n1 agent.monitors -eq 1
sh_on n4 service create --name flaky --replicas 5 --restart-condition on-failure \
	--restart-delay 100ms --restart-max-attempts 2 -- sh -c 'echo "out of $SHOAL_SLOT"; exit 3' >/dev/null ||
	fail "create flaky"
flaky_done() {
	sh_on n2 service ps flaky | awk 'NR > 1 && !($3 == "failed" && $5 == 2 && $6 == 3) {bad = 1} NR > 1 {n++} END {exit bad || n != 5}'
}
wait_for "every flaky replica failed after 2 restarts" 30 flaky_done
sh_on n2 service ps flaky | grep -q "restart limit reached" || fail "ps lacks the reason"
wait_for "a task-failed handler run" 10 grep -q "^task-failed flaky\.[0-4] 3" $(for n in $NODES; do printf '%s ' "$WORK/events.$n"; done) /dev/null
FL=$(sh_on n2 service ps flaky --format json | python3 -c 'import json,sys; print(" ".join(t["node"] for t in json.load(sys.stdin)["tasks"]))')
case " $FL " in
*" n1 "*) wait_for "the monitor to stream task-failed" 10 grep -q '"event":"task-failed","service":"flaky"' "$WORK/monitor.n1" ;;
esac
for n in $FL; do
	grep -q "out of" "$WORK/$n/tasks/"flaky.*.log || fail "no output in $n's flaky logs"
done
kill "${PID[monitor]}" 2>/dev/null
wait "${PID[monitor]}" 2>/dev/null
PID[monitor]=""

say "refused specs: one line, the rule, non-zero"
expect_fail 1 "replicas 20000 is above the limit of 10000" \
	service create --name big --replicas 20000 --data-dir "$WORK/n1" -- sleep 1
expect_fail 1 'service name "bad/name" must match' \
	service create --name bad/name --data-dir "$WORK/n1" -- sleep 1
expect_fail 1 'service "web" already exists' \
	service create --name web --data-dir "$WORK/n2" -- sleep 1
expect_fail 1 'SHOAL_* is reserved' \
	service create --name envy -e SHOAL_SLOT=1 --data-dir "$WORK/n2" -- sleep 1
expect_fail 1 'restart condition "sometimes"' \
	service create --name rc --restart-condition sometimes --data-dir "$WORK/n2" -- sleep 1
expect_fail 1 'no service "ghost"' service scale ghost=2 --data-dir "$WORK/n2"
expect_fail 2 "needs a command" service create --name nocmd --data-dir "$WORK/n2"
expect_fail 2 'is not a number' service create --name x --replicas many --data-dir "$WORK/n2" -- sleep 1
sh_on n1 service ls | grep -Eq '^(big|bad|envy|rc) ' && fail "a refused service was created"

say "service rm web flaky: processes stop everywhere"
sh_on n5 service rm web flaky >/dev/null || fail "service rm"
no_web() { ! $TASKS procs "$CL" | grep -q .; }
wait_for "no task process left" 20 no_web
expect_fail 1 'no service "web"' service ps web --data-dir "$WORK/n3"
[ -z "$(sh_on n2 service ls | tail -n +2)" ] || fail "service ls not empty"

say "kill -9 the manager: a new one, accepted everywhere; replicas placed again"
read -r MGR TERM <<<"$(same_manager $NODES)"
sh_on n2 service create --name api --replicas 5 -- sleep 1000 >/dev/null || fail "create api"
wait_replicas "5 replicas of api" 30 api 5 $NODES
SURV=$(for n in $NODES; do [ $n != "$MGR" ] && printf '%s ' $n; done)
T0=$(now_ms)
kill9 "$MGR"
# new_manager OLD ON...: every ON accepts the same manager, not OLD.
new_manager() {
	local old=$1 m
	shift
	m=$(same_manager "$@") || return 1
	[ "${m%% *}" != "$old" ] || return 1
	echo "$m" >"$WORK/new_manager"
}
# shellcheck disable=SC2086
wait_for "a new manager on every survivor" 30 new_manager "$MGR" $SURV
read -r MGR2 TERM2 <"$WORK/new_manager"
[ "$TERM2" -gt "$TERM" ] ||
	fail "manager after the kill: $MGR2 term $TERM2 (was $MGR term $TERM)"
# shellcheck disable=SC2086
wait_replicas "api placed again without $MGR" 30 api 5 --not "$MGR" $SURV
T1=$(now_ms)
say "kill -9 manager $MGR -> $MGR2 (term $TERM2) and api running: $((T1 - T0)) ms"
grep -hq "^manager  *$MGR2" "$WORK"/events.* || fail "no manager event naming $MGR2"

say "SIGTERM on an agent with replicas: tasks stop with it"
# shellcheck disable=SC2086
LEAVER=$(holder api "$MGR2")
[ -n "$LEAVER" ] || fail "no api replica outside $MGR2"
stop_agent "$LEAVER" || fail "$LEAVER exited non-zero"
[ "$(count_on api "$LEAVER")" = 0 ] || fail "$LEAVER's tasks outlived it"
REST=$(for n in $SURV; do [ $n != "$LEAVER" ] && printf '%s ' $n; done)
# shellcheck disable=SC2086
wait_replicas "api without $LEAVER" 30 api 5 --not "$LEAVER" $REST
say "ok"
