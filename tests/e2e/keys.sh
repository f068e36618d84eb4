#!/bin/bash
# SPDX-License-Identifier: MIT
# tests/e2e/keys.sh — cluster-wide key rotation without downtime.
#
#   1. Four agents share key K1; a monitor records every event on each.
#   2. `keys install K2` on n1: every node comes to hold K2 (keys list on
#      each shows K2 on 4/4). Installing it again is refused.
#   3. `keys use K2` on n2: K2 becomes every node's primary.
#   4. `keys remove K1` on n3: no node holds K1 any more; removing the
#      primary (K2) is refused with a one-line error.
#   5. No monitor ever saw member-failed, and all four are alive.
#   6. The rotation survives a restart: n4 restarts with --key-file K1 and
#      rejoins, because its persisted keyring holds K2 (and it warns that
#      the persisted keyring wins). A new agent with only K1 cannot join.
#   7. SIGHUP reloads the persisted keyring: a key added to n1's keyring
#      file shows up in n1's key list.
#
# usage: tests/e2e/keys.sh BUILD_DIR   ($SHOAL_BIN set)
. "$(dirname "$0")/lib.bash"
# This test asserts that nobody is ever marked failed, so give suspicion
# room on a loaded machine (detection speed is not what it tests).
E2E_SETS+=(--set suspicion_mult=6)
e2e_init

NODES="n1 n2 n3 n4"
K1=$(cat "$KEY")
K2=$("$SHOAL_BIN" keygen)
K3=$("$SHOAL_BIN" keygen)

# keys_json ON: `keys list --format json`
keys_json() {
	sh_on "$1" keys list --format json
}

# holders ON FP: how many members ON says hold FP
holders() {
	keys_json "$1" | python3 -c '
import json, sys
d = json.load(sys.stdin)
fp = sys.argv[1]
print(sum(len(k["nodes"]) for k in d["keys"] if k["fp"] == fp))' "$2"
}

holders_is() {
	[ "$(holders "$1" "$2")" = "$3" ]
}

local_keys_is() {
	[ "$(keys_json "$1" | python3 -c 'import json,sys; print(sum(1 for k in json.load(sys.stdin)["keys"] if k["local"]))')" = "$2" ]
}

primary_is() {
	[ "$(keys_json "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["primary"])')" = "$2" ]
}

say "four agents with K1, a monitor on each"
start_loopback n1 --key-file "$KEY"
SEED=${ADDR[n1]}
for n in n2 n3 n4; do
	start_loopback $n --key-file "$KEY" --join "$SEED"
done
for n in $NODES; do
	wait_for "$n to see 4 alive" 30 alive_count_is $n 4
done
for n in $NODES; do
	"$SHOAL_BIN" monitor --format json --data-dir "$WORK/$n" >"$WORK/mon.$n" 2>&1 &
	PID[mon$n]=$!
done

FP1=$(sh_on n1 keys list --format json | python3 -c 'import json,sys; print(json.load(sys.stdin)["primary"])')
say "install K2 on n1"
FP2=$(sh_on n1 keys install "$K2" --format json | python3 -c 'import json,sys; print(json.load(sys.stdin)["fp"])') ||
	fail "keys install failed"
[ -n "$FP2" ] && [ "$FP2" != "$FP1" ] || fail "bad fingerprints $FP1 $FP2"
for n in $NODES; do
	wait_for "$n to list K2 on all 4 nodes" 30 holders_is $n "$FP2" 4
done
if sh_on n3 keys install "$K2" 2>"$WORK/err"; then
	fail "installing K2 twice succeeded"
fi
grep -q "already installed" "$WORK/err" || fail "unexpected: $(cat "$WORK/err")"

say "use K2 on n2"
sh_on n2 keys use "$K2" || fail "keys use failed"
for n in $NODES; do
	wait_for "$n to have K2 as primary" 30 primary_is $n "$FP2"
done

say "remove K1 on n3"
sh_on n3 keys remove "$K1" || fail "keys remove failed"
for n in $NODES; do
	wait_for "$n to list nobody holding K1" 30 holders_is $n "$FP1" 0
done
if sh_on n4 keys remove "$K2" 2>"$WORK/err"; then
	fail "removing the primary key succeeded"
fi
[ "$(wc -l <"$WORK/err")" -eq 1 ] && grep -q "primary" "$WORK/err" ||
	fail "unexpected error for removing the primary: $(cat "$WORK/err")"
sh_on n1 keys list | grep -q "^$FP2  yes  *4/4" || fail "keys list text on n1"

say "nobody was ever marked failed"
for n in $NODES; do
	alive_count_is $n 4 || fail "$n does not see 4 alive"
	if grep -q '"member-failed"' "$WORK/mon.$n"; then
		fail "a member was marked failed during the rotation (seen by $n)"
	fi
	grep -q '^{"event"' "$WORK/mon.$n" || true
done

say "restart n4 with the old key file: the persisted keyring wins"
stop_agent n4 || fail "n4 did not stop cleanly"
wait_for "n1 to see n4 left" 30 status_is n1 n4 left
grep -q "^$K2\$" "$WORK/n4/keyring" || fail "n4's keyring file lacks K2"
start_agent n4 --bind "${ADDR[n4]}" --key-file "$KEY" --join "$SEED"
grep -q "persisted keyring wins" "$WORK/n4.log" || fail "no warning about the persisted keyring"
for n in $NODES; do
	wait_for "$n to see n4 alive again" 30 status_is $n n4 alive
done

say "an agent with only K1 cannot join any more"
start_loopback stale --key-file "$KEY" --join "$SEED"
wait_for "the seed to drop stale's packets" 30 \
	stat_is n1 drops.unknown_key -gt 0
sleep 1
[ -z "$(status_of n1 stale)" ] || fail "an agent with the removed key joined"
kill9 stale

say "SIGHUP reloads n1's keyring file"
printf '%s\n%s\n' "$K2" "$K3" >"$WORK/n1/keyring.new"
mv "$WORK/n1/keyring.new" "$WORK/n1/keyring"
kill -HUP "${PID[n1]}"
wait_for "n1 to log the keyring reload" 10 grep -q 'msg="reload: keyring"' "$WORK/n1.log"
wait_for "n1 to hold 2 keys" 10 local_keys_is n1 2
is_running n1 || fail "n1 died on SIGHUP"

for n in $NODES; do
	kill "${PID[mon$n]}" 2>/dev/null
	wait "${PID[mon$n]}" 2>/dev/null
	PID[mon$n]=""
done
say "ok"
