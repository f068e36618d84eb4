#!/bin/bash
# SPDX-License-Identifier: MIT
# tests/e2e/security.sh — encryption is on by default, and outsiders stay
# out.
#
#   1. Without a key the agent refuses to start, with a one-line error that
#      says how to make one; a malformed key file is refused too.
#   2. A three-agent cluster forms with the shared key.
#   3. An agent with another key, one with the right key but another
#      cluster name, and one running --insecure-no-encryption all try to
#      join through the seed: none ever appears in any member list, each
#      sees only itself, and the seed's counters show the dropped packets
#      (unknown_key, auth_failed and unencrypted).
#   4. The persisted keyring is mode 0600 in a 0700 data dir, and the key
#      given in SHOAL_KEY is not visible to event handlers.
#
# usage: tests/e2e/security.sh BUILD_DIR   ($SHOAL_BIN set)
. "$(dirname "$0")/lib.bash"
e2e_init

say "no key: refused with a hint"
mkdir -p "$WORK/nokey"
if "$SHOAL_BIN" agent --name nokey --bind 127.0.0.1:0 --data-dir "$WORK/nokey" \
	>"$WORK/nokey.out" 2>&1; then
	fail "an agent started without a key"
fi
[ "$(wc -l <"$WORK/nokey.out")" -eq 1 ] || fail "not one line: $(cat "$WORK/nokey.out")"
grep -q "shoal keygen" "$WORK/nokey.out" || fail "no keygen hint: $(cat "$WORK/nokey.out")"
echo "not-a-key" >"$WORK/bad.key"
if "$SHOAL_BIN" agent --name bad --bind 127.0.0.1:0 --data-dir "$WORK/badkey" \
	--key-file "$WORK/bad.key" >"$WORK/badkey.out" 2>&1; then
	fail "an agent started with a malformed key"
fi
grep -q "line 1" "$WORK/badkey.out" || fail "bad key error: $(cat "$WORK/badkey.out")"

say "a cluster of three with the shared key (n3 via SHOAL_KEY)"
start_loopback n1 --key-file "$KEY" \
	--event-handler "*=env > $WORK/env.n1"
SEED=${ADDR[n1]}
start_loopback n2 --key-file "$KEY" --join "$SEED"
SHOAL_KEY=$(cat "$KEY") start_loopback n3 --join "$SEED" \
	--event-handler "*=env > $WORK/env.n3"
for i in 1 2 3; do
	wait_for "n$i to see 3 alive" 30 alive_count_is n$i 3
done

say "outsiders: another key, another cluster name, no encryption"
"$SHOAL_BIN" keygen >"$WORK/other.key"
start_loopback wrongkey --key-file "$WORK/other.key" --join "$SEED"
start_loopback wrongcluster --key-file "$KEY" --cluster other --join "$SEED"
start_loopback plain --insecure-no-encryption --join "$SEED"
grep -q 'encryption is OFF' "$WORK/plain.log" || fail "no warning for an insecure agent"

# Each outsider keeps retrying its join (push-pull over TCP) and the
# seed's UDP replies never reach it. Wait until the seed has dropped
# something from each kind of outsider, then check nobody let them in.
wait_for "the seed to drop the wrong key" 30 \
	stat_is n1 drops.unknown_key -gt 0
wait_for "the seed to drop the wrong cluster" 30 \
	stat_is n1 drops.auth_failed -gt 0
wait_for "the seed to drop plaintext" 30 \
	stat_is n1 drops.unencrypted -gt 0
sleep 2 # a few more protocol periods for anything to leak
for on in n1 n2 n3; do
	for out in wrongkey wrongcluster plain; do
		[ -z "$(status_of $on $out)" ] || fail "$out appears on $on"
	done
	alive_count_is $on 3 || fail "$on does not see exactly 3 alive"
done
for out in wrongkey wrongcluster plain; do
	[ "$(count_status $out alive)" -eq 1 ] || fail "$out sees others"
	for in in n1 n2 n3; do
		[ -z "$(status_of $out $in)" ] || fail "$out knows $in"
	done
done
say "seed drops: unknown_key=$(stat_of n1 drops.unknown_key)" \
	"auth_failed=$(stat_of n1 drops.auth_failed)" \
	"unencrypted=$(stat_of n1 drops.unencrypted)"

say "files: keyring 0600 in a 0700 dir; the key never reaches handlers"
[ "$(stat -c %a "$WORK/n1/keyring")" = 600 ] || fail "keyring mode $(stat -c %a "$WORK/n1/keyring")"
[ "$(stat -c %a "$WORK/n1")" = 700 ] || fail "data dir mode $(stat -c %a "$WORK/n1")"
[ "$(stat -c %a "$WORK/n1/agent.sock")" = 600 ] || fail "socket mode"
[ -f "$WORK/plain/keyring" ] && fail "an insecure agent wrote a keyring"
wait_for "n3's handler to run" 10 test -s "$WORK/env.n3"
grep -q '^SHOAL_EVENT=' "$WORK/env.n3" || fail "handler env lacks SHOAL_EVENT"
grep -q '^SHOAL_SELF_NAME=n3$' "$WORK/env.n3" || fail "handler env lacks SHOAL_SELF_NAME"
if grep -q "$(cat "$KEY")" "$WORK/env.n3" "$WORK/env.n1"; then
	fail "the cluster key leaked into a handler's environment"
fi
grep -q '^SHOAL_KEY=' "$WORK/env.n3" && fail "SHOAL_KEY reached a handler"
say "ok"
