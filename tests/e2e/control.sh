#!/bin/bash
# SPDX-License-Identifier: MIT
# tests/e2e/control.sh — the control socket and the client commands.
#
#   1. The data dir is 0700 and the socket 0600. As root, a client running
#      as `nobody` cannot connect; and even through a socket made
#      world-writable, the agent refuses another user (SO_PEERCRED) and
#      counts it.
#   2. Garbage requests (not msgpack, not a map, unknown op, unknown field,
#      empty frame, a frame announcing 1 GiB, random bytes, a half frame,
#      more clients than allowed) each get an error reply or a closed
#      connection, and the agent keeps serving.
#   3. SIGHUP re-reads the log level from the config file; a monitor with
#      --logs streams log records.
#   4. Client commands: --help exits 0, usage errors exit 2, failures exit 1
#      with one line on stderr, keygen prints distinct keys.
#
# usage: tests/e2e/control.sh BUILD_DIR   ($SHOAL_BIN set)
. "$(dirname "$0")/lib.bash"
e2e_init

cat >"$WORK/agent.conf" <<EOF
# test config
log-level = info
tag = role=ctl
EOF
start_loopback n1 --key-file "$KEY" --config "$WORK/agent.conf"
SOCK=$WORK/n1/agent.sock
sh_on n1 members | grep -q '^n1 .* alive  *ctl ' || fail "role from the config file"

say "permissions"
[ "$(stat -c %a "$WORK/n1")" = 700 ] || fail "data dir is $(stat -c %a "$WORK/n1")"
[ "$(stat -c %a "$SOCK")" = 600 ] || fail "socket is $(stat -c %a "$SOCK")"
if [ "$(id -u)" = 0 ]; then
	as_nobody() {
		setpriv --reuid=65534 --regid=65534 --clear-groups "$@"
	}
	if as_nobody "$SHOAL_BIN" members --socket "$SOCK" >"$WORK/out" 2>&1; then
		fail "nobody could use the control socket"
	fi
	grep -q "Permission denied" "$WORK/out" || fail "nobody: $(cat "$WORK/out")"
	# A second agent whose socket sits in a world-writable directory; make
	# the socket itself world-writable: SO_PEERCRED still refuses.
	mkdir -m 1777 "$WORK/pub"
	start_loopback n2 --key-file "$KEY" --socket "$WORK/pub/agent.sock"
	chmod 666 "$WORK/pub/agent.sock"
	if as_nobody "$SHOAL_BIN" info --socket "$WORK/pub/agent.sock" >"$WORK/out" 2>&1; then
		fail "nobody was served through a world-writable socket"
	fi
	[ "$("$SHOAL_BIN" stats --socket "$WORK/pub/agent.sock" |
		awk '$1 == "agent.ctl_refused" {print $2}')" -ge 1 ] ||
		fail "ctl_refused not counted"
	grep -q 'control connection refused: another user' "$WORK/n2.log" ||
		fail "refusal not logged"
	"$SHOAL_BIN" info --socket "$WORK/pub/agent.sock" >/dev/null ||
		fail "n2 stopped serving its own user"
else
	say "not root: cannot run a client as another user; checked modes only"
fi

say "garbage requests"
python3 - "$SOCK" <<'EOF' || fail "garbage test (python) failed"
import os, socket, struct, sys, time

path = sys.argv[1]

def mp_str(s):
    b = s.encode()
    assert len(b) < 32
    return bytes([0xa0 | len(b)]) + b

def mp_map(pairs):
    out = bytes([0x80 | len(pairs)])
    for k, v in pairs:
        out += mp_str(k) + (mp_str(v) if isinstance(v, str) else bytes([v]))
    return out

def frame(payload):
    return struct.pack(">I", len(payload)) + payload

def conn(tries=50):
    for i in range(tries):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(5)
        try:
            s.connect(path)
            return s
        except BlockingIOError:
            # The listen backlog is full (see the flood below); wait.
            s.close()
            if i == tries - 1:
                raise
            time.sleep(0.1)

def read_frame(s):
    hdr = b""
    while len(hdr) < 4:
        c = s.recv(4 - len(hdr))
        if not c:
            return None
        hdr += c
    n = struct.unpack(">I", hdr)[0]
    body = b""
    while len(body) < n:
        c = s.recv(n - len(body))
        if not c:
            raise SystemExit("short frame")
        body += c
    return body

def is_ok(body):
    # Responses start {"seq": n, "ok": bool, ...}: find the "ok" value.
    i = body.find(b"\xa2ok")
    assert i >= 0, body
    return body[i + 3] == 0xc3

def expect_error(payload, needle, then_open=True):
    s = conn()
    s.sendall(frame(payload))
    r = read_frame(s)
    assert r is not None and not is_ok(r), (payload, r)
    assert needle.encode() in r, (needle, r)
    if then_open:
        # The connection is still usable.
        s.sendall(frame(mp_map([("op", "info")])))
        r = read_frame(s)
        assert r is not None and is_ok(r), r
    s.close()

expect_error(b"\xc1\xc1\xc1", "not a msgpack map")
expect_error(b"\x93\x01\x02\x03", "not a msgpack map")
expect_error(mp_map([("op", "reboot")]), "unknown op")
expect_error(mp_map([("op", "info"), ("evil", "x")]), "unknown request field")
expect_error(mp_map([("op", "members"), ("name", "x")]), "takes no")
expect_error(b"\x81\xa2op", "\"op\" must be")

# Empty frame: error, then closed.
s = conn()
s.sendall(struct.pack(">I", 0))
r = read_frame(s)
assert r is not None and not is_ok(r) and b"empty" in r, r
assert read_frame(s) is None
s.close()

# A frame announcing 1 GiB: refused after the header, then closed.
s = conn()
s.sendall(struct.pack(">I", 1 << 30) + b"xxxx")
r = read_frame(s)
assert r is not None and b"too large" in r, r
assert read_frame(s) is None
s.close()

# Random bytes, a half frame, an abrupt close.
for _ in range(20):
    s = conn()
    s.sendall(os.urandom(100))
    s.close()
s = conn()
s.sendall(struct.pack(">I", 50) + b"half")
s.close()

# More clients than the agent allows: the extra ones are closed, and the
# agent serves again once they go.
many = []
for _ in range(80):
    try:
        many.append(conn(1))
    except OSError:
        pass  # the listen backlog is full: also fine
for c in many:
    c.close()

# Several requests in one write, answered in order.
s = conn()
reqs = b"".join(frame(mp_map([("op", "info"), ("seq", 10 + i)])) for i in range(5))
s.sendall(reqs)
for i in range(5):
    r = read_frame(s)
    assert r is not None and is_ok(r), r
    assert b"\xa3seq" + bytes([10 + i]) in r[:12], r
s.close()
EOF
is_running n1 || fail "the agent died on garbage"
sh_on n1 members | grep -q '^n1 ' || fail "members after garbage"
[ "$(stat_of n1 agent.ctl_errors)" -ge 8 ] || fail "ctl_errors = $(stat_of n1 agent.ctl_errors)"

say "SIGHUP reloads the log level; monitor --logs"
"$SHOAL_BIN" monitor --logs debug --data-dir "$WORK/n1" >"$WORK/mon" 2>&1 &
PID[mon]=$!
wait_for "the monitor to connect" 10 stat_is n1 agent.monitors -eq 1
sed -i 's/^log-level = info/log-level = debug/' "$WORK/agent.conf"
kill -HUP "${PID[n1]}"
wait_for "the reload to be logged" 10 grep -q 'msg="reload: log level" level=debug' "$WORK/n1.log"
wait_for "debug records on stderr" 10 grep -q 'level=debug' "$WORK/n1.log"
wait_for "log records on the monitor" 10 grep -q 'msg="reload: log level"' "$WORK/mon"
is_running n1 || fail "n1 died on SIGHUP"
kill "${PID[mon]}"
wait "${PID[mon]}" 2>/dev/null
PID[mon]=""

say "client commands: help, usage errors, failures"
for c in members info stats monitor leave force-leave keys keygen agent; do
	"$SHOAL_BIN" $c --help >"$WORK/out" 2>&1 || fail "shoal $c --help exited non-zero"
	grep -q "usage: shoal" "$WORK/out" || fail "shoal $c --help: $(head -2 "$WORK/out")"
done
for c in "service" "service create" "service ls" "service ps" \
	"service inspect" "service scale" "service update" "service rm" \
	"node" "node ls" "node update"; do
	# shellcheck disable=SC2086
	"$SHOAL_BIN" $c --help >"$WORK/out" 2>&1 || fail "shoal $c --help exited non-zero"
	grep -q "usage: shoal" "$WORK/out" || fail "shoal $c --help: $(head -2 "$WORK/out")"
done
"$SHOAL_BIN" --help >/dev/null || fail "shoal --help"
expect_exit() {
	local want=$1
	shift
	"$SHOAL_BIN" "$@" >"$WORK/out" 2>"$WORK/err"
	local rc=$?
	[ $rc = "$want" ] || fail "shoal $*: exit $rc, wanted $want ($(cat "$WORK/err"))"
	if [ "$want" != 0 ]; then
		[ "$(wc -l <"$WORK/err")" = 1 ] || fail "shoal $*: not one line: $(cat "$WORK/err")"
	fi
}
expect_exit 2 frobnicate
expect_exit 2 members --bogus
expect_exit 2 members extra-arg
expect_exit 2 members --format yaml
expect_exit 2 force-leave
expect_exit 2 keys install not-a-key
expect_exit 2 keys rotate
expect_exit 2 agent --name
expect_exit 2 service frobnicate
expect_exit 2 service create -- sleep 1
expect_exit 2 service create --name x
expect_exit 2 service create --name x --bogus 1 -- sleep 1
expect_exit 2 service scale web
expect_exit 2 service scale web=lots
expect_exit 2 service inspect
expect_exit 2 node update n1
expect_exit 2 node frob
expect_exit 1 members --socket "$WORK/nonexistent.sock"
grep -q "no agent at" "$WORK/err" || fail "missing socket message: $(cat "$WORK/err")"
expect_exit 1 force-leave ghost --data-dir "$WORK/n1"
grep -q 'no member named "ghost"' "$WORK/err" || fail "force-leave ghost: $(cat "$WORK/err")"
expect_exit 0 members --data-dir "$WORK/n1"
expect_exit 1 service inspect ghost --data-dir "$WORK/n1"
grep -q 'no service "ghost"' "$WORK/err" || fail "inspect ghost: $(cat "$WORK/err")"
expect_exit 0 service ls --data-dir "$WORK/n1"
expect_exit 0 node ls --format json --data-dir "$WORK/n1"
SHOAL_SOCKET=$SOCK "$SHOAL_BIN" info >/dev/null || fail "SHOAL_SOCKET not honoured"
SHOAL_DATA_DIR=$WORK/n1 "$SHOAL_BIN" info >/dev/null || fail "SHOAL_DATA_DIR not honoured"
k1=$("$SHOAL_BIN" keygen)
k2=$("$SHOAL_BIN" keygen)
[ ${#k1} = 44 ] && [ "$k1" != "$k2" ] || fail "keygen: $k1 $k2"

say "a second agent on the same data dir is refused"
if "$SHOAL_BIN" agent --name dup --bind 127.0.0.1:0 --key-file "$KEY" \
	--data-dir "$WORK/n1" >"$WORK/out" 2>&1; then
	fail "two agents shared a data dir"
fi
grep -q "another agent is running" "$WORK/out" || fail "dup: $(cat "$WORK/out")"
is_running n1 || fail "n1 died"
say "ok"
