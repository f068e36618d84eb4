#!/bin/bash
# SPDX-License-Identifier: MIT
# tests/e2e/security.sh — encryption is on by default, and outsiders stay
# out.
#
#   1. Without a key the agent refuses to start, with a one-line error that
#      says how to make one; a malformed key file is refused too; neither
#      refused start creates its data dir or anything in it.
#   2. A three-agent cluster forms with the shared key.
#   3. An agent with another key, one with the right key but another
#      cluster name, and one running --insecure-no-encryption all try to
#      join through the seed: none ever appears in any member list, each
#      sees only itself, and the seed's counters show the dropped packets
#      (unknown_key, auth_failed and unencrypted); each outsider logs a
#      warning that no seed answered (check the key and the cluster name).
#   4. Garbage datagrams and TCP streams (random bytes, a 1 GiB length, an
#      empty frame, a frame that does not open, a half header, a flood of
#      connections) are dropped and counted; the seed keeps its members.
#   5. The persisted keyring is mode 0600 in a 0700 data dir, and the key
#      given in SHOAL_KEY is not visible to event handlers.
#
# usage: tests/e2e/security.sh BUILD_DIR   ($SHOAL_BIN set)
. "$(dirname "$0")/lib.bash"
e2e_init

say "no key: refused with a hint, nothing created"
if "$SHOAL_BIN" agent --name nokey --bind 127.0.0.1:0 --data-dir "$WORK/nokey" \
	>"$WORK/nokey.out" 2>&1; then
	fail "an agent started without a key"
fi
[ "$(wc -l <"$WORK/nokey.out")" -eq 1 ] || fail "not one line: $(cat "$WORK/nokey.out")"
grep -q "shoal keygen" "$WORK/nokey.out" || fail "no keygen hint: $(cat "$WORK/nokey.out")"
[ ! -e "$WORK/nokey" ] || fail "a refused start left $(ls -A "$WORK/nokey" | tr '\n' ' ')in its data dir"
mkdir -p "$WORK/nokey2"
"$SHOAL_BIN" agent --name nokey --bind 127.0.0.1:0 --data-dir "$WORK/nokey2" \
	>/dev/null 2>&1 && fail "an agent started without a key"
[ -z "$(ls -A "$WORK/nokey2")" ] || fail "a refused start left $(ls -A "$WORK/nokey2" | tr '\n' ' ')behind"
echo "not-a-key" >"$WORK/bad.key"
if "$SHOAL_BIN" agent --name bad --bind 127.0.0.1:0 --data-dir "$WORK/badkey" \
	--key-file "$WORK/bad.key" >"$WORK/badkey.out" 2>&1; then
	fail "an agent started with a malformed key"
fi
grep -q "line 1" "$WORK/badkey.out" || fail "bad key error: $(cat "$WORK/badkey.out")"
[ ! -e "$WORK/badkey" ] || fail "a refused start (bad key) made its data dir"

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
# An outsider is told why it is alone, once a few join rounds went
# unanswered; a member that joined never is.
for out in wrongkey wrongcluster plain; do
	wait_for "$out to warn that no seed answered" 20 grep -q \
		'level=warn msg="no seed answered: check the key and the cluster name" attempts=3 ' \
		"$WORK/$out.log"
done
grep -q 'no seed answered' "$WORK/n2.log" && fail "n2 joined, yet warned that no seed answered"
say "seed drops: unknown_key=$(stat_of n1 drops.unknown_key)" \
	"auth_failed=$(stat_of n1 drops.auth_failed)" \
	"unencrypted=$(stat_of n1 drops.unencrypted)"

say "garbage on the gossip port (UDP and TCP)"
python3 - "${ADDR[n1]}" <<'EOF' || fail "gossip garbage (python) failed"
import os, socket, struct, sys, time
host, port = sys.argv[1].rsplit(":", 1)
port = int(port)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for n in (0, 1, 5, 29, 30, 46, 100, 1400, 9000):
    u.sendto(os.urandom(n), (host, port))
u.sendto(b"\x01\x00" + os.urandom(60), (host, port))   # version 1, garbage
def tcp(payload, read=True):
    s = socket.create_connection((host, port), timeout=5)
    s.sendall(payload)
    if read:
        try:
            assert s.recv(1) == b""   # closed without an answer
        except ConnectionResetError:
            pass
    s.close()
tcp(struct.pack(">I", 1 << 30) + b"x" * 100)    # over stream_max
tcp(struct.pack(">I", 0))                        # empty frame
tcp(struct.pack(">I", 50) + os.urandom(50))      # a frame that does not open
tcp(os.urandom(3), read=False)                   # a half header
conns = []
for _ in range(100):                             # more than the agent takes
    try:
        conns.append(socket.create_connection((host, port), timeout=2))
    except OSError:
        pass
for c in conns:
    c.close()
EOF
is_running n1 || fail "the seed died on garbage"
wait_for "n2 and n3 to stay alive on n1" 10 alive_count_is n1 3
[ "$(stat_of n1 drops.total)" -gt 0 ] || fail "garbage datagrams not counted"

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
