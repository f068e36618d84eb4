#!/bin/bash
# SPDX-License-Identifier: MIT
# tests/e2e/signals.sh — how an agent with a running task stops: two
# SIGTERMs, one SIGTERM, `shoal leave`.
#
#   1. A lone agent (--task-stop-grace 60s) runs a task that traps and
#      ignores SIGTERM. SIGTERM: the agent leaves and starts stopping the
#      task ("stopping tasks"), waiting for the grace. A second SIGTERM:
#      the task is killed and the agent exits 1 well inside the grace,
#      with no task process left.
#   2. The same with a 1 s grace and one signal: the task is killed at the
#      grace, the agent exits 0, and logs "agent stopped" only after
#      "tasks stopped".
#   3. `shoal leave` on a lone agent (its leave is over at once, inside
#      the request) running the same task: the command returns 0 once the
#      task is stopped, and the agent exits 0.
#
# usage: tests/e2e/signals.sh BUILD_DIR   ($SHOAL_BIN set)
. "$(dirname "$0")/lib.bash"
e2e_init
TASKS="python3 $(dirname "$0")/tasks.py"
CL=e2esig$$
kill_tasks() {
	$TASKS procs "$CL" | awk '{print $1}' | xargs -r kill -9 2>/dev/null
}
E2E_EXTRA_CLEANUP=kill_tasks
STUBBORN='trap "" TERM; echo ready; while :; do sleep 0.1; done'

no_tasks() { [ -z "$($TASKS procs "$CL")" ]; }
stub_running() {
	[ "$($TASKS procs "$CL" | awk '$2 == "stub"' | wc -l)" -ge 1 ] &&
		grep -q ready "$WORK/$1/tasks/stub.0.log"
}
stopping_tasks() { grep -q 'msg="stopping tasks" tasks=1' "$WORK/$1.log"; }

# run_stub NAME GRACE: a lone agent running one stubborn task.
run_stub() {
	start_loopback "$1" --key-file "$KEY" --cluster "$CL" \
		--task-stop-grace "$2"
	sh_on "$1" service create --name stub -- sh -c "$STUBBORN" >/dev/null ||
		fail "service create on $1"
	wait_for "the stubborn task to run on $1" 20 stub_running "$1"
}

say "a task that ignores SIGTERM, 60 s grace: SIGTERM, then SIGTERM again"
run_stub s1 60s
kill -TERM "${PID[s1]}"
wait_for "s1 to start stopping its task" 20 stopping_tasks s1
is_running s1 || fail "s1 exited before the grace with the task still up"
T0=$(now_ms)
kill -TERM "${PID[s1]}"
rc=0
await_exit s1 10 || rc=$?
[ "$rc" = 1 ] || fail "s1 exited $rc after the second signal, wanted 1"
say "second SIGTERM -> exit 1 in $(($(now_ms) - T0)) ms"
wait_for "no task process left after s1" 5 no_tasks
grep -q 'msg="second signal: exiting now"' "$WORK/s1.log" ||
	fail "s1 did not log the second signal"

say "the same, 1 s grace and one SIGTERM: killed at the grace, exit 0"
run_stub s2 1s
kill -TERM "${PID[s2]}"
rc=0
await_exit s2 20 || rc=$?
[ "$rc" = 0 ] || fail "s2 exited $rc after a graceful stop, wanted 0"
no_tasks || fail "a task process outlived s2"
grep -q 'msg="task did not stop in time: SIGKILL"' "$WORK/s2.log" ||
	fail "s2 did not SIGKILL its task at the grace"
order=$(grep -o 'msg="\(tasks stopped\|agent stopped\)"' "$WORK/s2.log" | tr '\n' ' ')
[ "$order" = 'msg="tasks stopped" msg="agent stopped" ' ] ||
	fail "s2 logged, in order: $order"

say "shoal leave on a lone agent with the same task, 1 s grace"
run_stub s3 1s
sh_on s3 leave >"$WORK/leave.out" 2>&1 || fail "shoal leave on s3: $(cat "$WORK/leave.out")"
no_tasks || fail "shoal leave returned before s3's task was stopped"
rc=0
await_exit s3 10 || rc=$?
[ "$rc" = 0 ] || fail "s3 exited $rc after shoal leave, wanted 0"
say "ok"
