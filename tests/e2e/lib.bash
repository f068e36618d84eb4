# SPDX-License-Identifier: MIT
# tests/e2e/lib.bash — helpers shared by the end-to-end tests (sourced, not
# run: the test runner only runs tests/e2e/*.sh).
#
# Every agent runs on loopback with its own data dir under $WORK and binds
# port 0 (the kernel picks a free port), so tests can run concurrently with
# other builds' tests on the same machine. Every wait is bounded (wait_for),
# every agent is killed and $WORK removed on exit (trap), and a failing test
# prints the tail of every agent's log.
#
#   e2e_init                  make $WORK, a key, the trap
#   start_agent NAME [ARGS]   start an agent (fast test timers), wait for its
#                             control socket; sets ADDR[NAME], PID[NAME]
#   sh_on NAME CMD...         run `shoal CMD...` against NAME's agent
#   status_of ON NAME         NAME's status in ON's member list ("" if absent)
#   wait_for DESC SECS CMD... retry CMD every 0.1 s until it succeeds (CMD's
#                             arguments are expanded once: put "$(...)"
#                             inside a function such as stat_is)
#   fail MSG                  print MSG and the logs, exit 1
#
# E2E_KEEP=1 keeps $WORK (logs, data dirs) for a post-mortem.

set -u
set -o pipefail

: "${SHOAL_BIN:?SHOAL_BIN must point to the shoal binary}"

declare -A PID=()
declare -A ADDR=()
declare -A SOCK_OF=()
WORK=""
KEY=""
# Short timers so failures are detected in about a second; tests assert
# what happens, never how fast. retransmit_mult is lan's 4, not local's 2.
# It began as a workaround for a gossip bug that starved one member of
# broadcasts (fixed by 756a32d), and stays for another reason: with 2, a
# 5-member cluster sends each update 2 x ceil(log10 6) = 2 times per node,
# half of lan's, and the scheduler's state visibly spreads slower (not
# looked into further). Measured without it: services.sh took 22-32 s
# instead of 14-16 s and failed 1 run in 8 (a removed service still
# listed on a node checked right after its processes stopped); keys.sh
# 7 s instead of 4.4 s.
E2E_SETS=(--profile local --set retransmit_mult=4
	--set probe_interval=300ms --set probe_timeout=150ms
	--set gossip_interval=50ms --set push_pull_interval=3s
	--set reconnect_interval=1s --set stream_timeout=2s
	--set leave_timeout=2s --set join_backoff_min=100ms
	--set join_backoff_max=1s)

e2e_cleanup() {
	local rc=$?
	local n p
	for n in "${!PID[@]}"; do
		p=${PID[$n]}
		[ -n "$p" ] && kill -9 "$p" 2>/dev/null
	done
	for n in "${!PID[@]}"; do
		p=${PID[$n]}
		[ -n "$p" ] && wait "$p" 2>/dev/null
	done
	[ -n "${E2E_EXTRA_CLEANUP:-}" ] && eval "$E2E_EXTRA_CLEANUP"
	if [ -n "$WORK" ] && [ "${E2E_KEEP:-0}" = 1 ]; then
		echo "# E2E_KEEP=1: kept $WORK"
	elif [ -n "$WORK" ]; then
		rm -rf "$WORK"
	fi
	exit $rc
}

exec 3>&1

e2e_init() {
	WORK=$(mktemp -d /tmp/shoal-e2e.XXXXXX)
	chmod 755 "$WORK"
	trap e2e_cleanup EXIT
	trap 'exit 1' INT TERM
	"$SHOAL_BIN" keygen >"$WORK/key" || fail "keygen failed"
	chmod 600 "$WORK/key"
	KEY="$WORK/key"
}

dump_logs() {
	local f
	for f in "$WORK"/*.log; do
		[ -f "$f" ] || continue
		echo "---- $(basename "$f") (last 25 lines)"
		grep -v 'level=debug' "$f" | tail -25
	done
}

# Writes to fd 3 (the test's stdout) so it shows even when called from a
# command whose output wait_for discards.
fail() {
	{
		echo "FAIL: $*"
		dump_logs
	} >&3
	exit 1
}

say() {
	echo "# $*"
}

now_ms() {
	local t=${EPOCHREALTIME/./}
	echo $((t / 1000))
}

# wait_for DESC SECONDS CMD...: run CMD until it succeeds, at most SECONDS
# and at most 10 tries a second.
wait_for() {
	local desc=$1 secs=$2
	shift 2
	local deadline=$(($(now_ms) + secs * 1000)) i
	for ((i = 0; i < secs * 10; i++)); do
		if "$@" >/dev/null 2>&1; then
			return 0
		fi
		[ "$(now_ms)" -ge "$deadline" ] && break
		sleep 0.1
	done
	fail "timed out after ${secs}s waiting for: $desc"
}

# (The flags go before a `--`: what follows it is a service's command.)
sh_on() {
	local n=$1 a
	local -a pre=() post=() flags
	shift
	if [ -n "${SOCK_OF[$n]:-}" ]; then
		flags=(--socket "${SOCK_OF[$n]}" --timeout 5s)
	else
		flags=(--data-dir "$WORK/$n" --timeout 5s)
	fi
	for a in "$@"; do
		if [ ${#post[@]} -gt 0 ] || [ "$a" = -- ]; then
			post+=("$a")
		else
			pre+=("$a")
		fi
	done
	"$SHOAL_BIN" "${pre[@]}" "${flags[@]}" "${post[@]}"
}

# start_agent NAME [extra agent args...]
start_agent() {
	local n=$1 a prev=""
	shift
	for a in "$@"; do
		[ "$prev" = --socket ] && SOCK_OF[$n]=$a
		prev=$a
	done
	mkdir -p "$WORK/$n"
	"$SHOAL_BIN" agent --name "$n" --data-dir "$WORK/$n" \
		"${E2E_SETS[@]}" "$@" >>"$WORK/$n.log" 2>&1 &
	PID[$n]=$!
	wait_for "agent $n to answer" 20 agent_up "$n"
	ADDR[$n]=$(sh_on "$n" info | awk '/^address:/ {print $2}')
	[ -n "${ADDR[$n]}" ] || fail "no address for $n"
}

# agent_up NAME: answers on its socket; fails the test if it died.
agent_up() {
	if ! kill -0 "${PID[$1]}" 2>/dev/null; then
		fail "agent $1 exited during start-up"
	fi
	sh_on "$1" info
}

# start_loopback NAME [args]: bind 127.0.0.1 on a free port.
start_loopback() {
	local n=$1
	shift
	start_agent "$n" --bind 127.0.0.1:0 "$@"
}

is_running() {
	kill -0 "${PID[$1]}" 2>/dev/null
}

# status_of ON NAME
status_of() {
	sh_on "$1" members 2>/dev/null | awk -v n="$2" '$1 == n {print $3}'
}

# count_status ON STATUS
count_status() {
	sh_on "$1" members 2>/dev/null | awk -v s="$2" 'NR > 1 && $3 == s' | wc -l
}

# status_is ON NAME STATUS
status_is() {
	[ "$(status_of "$1" "$2")" = "$3" ]
}

# all_see STATUS NAME ON...: every ON lists NAME with STATUS.
all_see() {
	local st=$1 name=$2 on
	shift 2
	for on in "$@"; do
		status_is "$on" "$name" "$st" || return 1
	done
}

# alive_count_is ON N
alive_count_is() {
	[ "$(count_status "$1" alive)" -eq "$2" ]
}

# stat_of ON KEY: a counter from `shoal stats`.
stat_of() {
	sh_on "$1" stats | awk -v k="$2" '$1 == k {print $2}'
}

# stat_is ON KEY OP N: the counter compared with test(1)'s OP (-gt, -eq, ...).
# Use this, not `test "$(stat_of ...)"`, inside wait_for: a command
# substitution in wait_for's arguments is expanded only once.
stat_is() {
	local v
	v=$(stat_of "$1" "$2")
	[ -n "$v" ] && [ "$v" "$3" "$4" ]
}

# stop_agent NAME: SIGTERM and wait (bounded) for a clean exit; returns the
# agent's exit status.
stop_agent() {
	local n=$1 p=${PID[$1]} i rc
	kill -TERM "$p" 2>/dev/null
	for ((i = 0; i < 100; i++)); do
		kill -0 "$p" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$p" 2>/dev/null; then
		kill -9 "$p"
		wait "$p" 2>/dev/null
		PID[$n]=""
		fail "agent $n did not exit within 10s of SIGTERM"
	fi
	wait "$p"
	rc=$?
	PID[$n]=""
	return $rc
}

# kill9 NAME
kill9() {
	kill -9 "${PID[$1]}" 2>/dev/null
	wait "${PID[$1]}" 2>/dev/null
	PID[$1]=""
}

# await_exit NAME SECS: the agent exits by itself; returns its status.
await_exit() {
	local n=$1 p=${PID[$1]} i
	for ((i = 0; i < $2 * 10; i++)); do
		kill -0 "$p" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$p" 2>/dev/null && fail "agent $n still running after $2s"
	wait "$p"
	local rc=$?
	PID[$n]=""
	return $rc
}
