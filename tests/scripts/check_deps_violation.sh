#!/bin/sh
# Proves that scripts/check-deps fails on each kind of violation: it builds
# small fake layer trees that break one rule each and expects a non-zero exit
# with the right complaint (every symbol and header issue 2 names, the
# libev header under every spelling that reaches it); a tree with many
# violations must have every one listed; then a clean fake tree must pass.
set -u
B=${1:?build dir}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT INT TERM
CC=${CC:-cc}
status=0

# An empty object, compiled once, for the libraries a tree leaves empty.
printf '' | $CC -x c -c -o "$T/e.o" - || exit 1

# mk NAME FILE_CONTENT [HEADER_CONTENT]: a fake tree $T/NAME with core/x.c =
# content, built (an empty FILE_CONTENT: no x.c, an empty core library);
# HEADER_CONTENT goes to core/y.h, which is only read by check-deps (never
# compiled: it may name headers this machine lacks).
mk() {
	d=$T/$1
	mkdir -p "$d/core" "$d/gossip" "$d/sched" "$d/build"
	: >"$d/gossip/swim.h"
	[ $# -ge 3 ] && printf '%s\n' "$3" >"$d/core/y.h"
	if [ -n "$2" ]; then
		printf '%s\n' "$2" >"$d/core/x.c"
		$CC -std=c11 -I"$d" -c -o "$d/build/x.o" "$d/core/x.c" 2>"$d/cc.log" || {
			echo "could not compile fake tree $1:"; cat "$d/cc.log"; exit 1; }
		ar rcs "$d/build/libshoal-core.a" "$d/build/x.o"
	else
		ar rcs "$d/build/libshoal-core.a" "$T/e.o"
	fi
	ar rcs "$d/build/libshoal-gossip.a" "$T/e.o"
	ar rcs "$d/build/libshoal-sched.a" "$T/e.o"
}

# expect_fail NAME PATTERN
expect_fail() {
	if sh scripts/check-deps "$T/$1/build" "$T/$1" >"$T/$1.out" 2>&1; then
		echo "FAIL: check-deps passed tree '$1' but it has a violation"
		cat "$T/$1.out"
		status=1
	elif ! grep -q "$2" "$T/$1.out"; then
		echo "FAIL: tree '$1': expected a complaint matching '$2', got:"
		cat "$T/$1.out"
		status=1
	else
		echo "ok: '$1' refused: $(grep "$2" "$T/$1.out" | head -1)"
	fi
}

mk header '#include <sys/socket.h>
int f(void);
int f(void) { return 0; }'
expect_fail header 'forbidden header'

mk clock '#include <time.h>
long f(void);
long f(void) { return (long)time(0); }'
expect_fail clock "forbidden symbol 'time'"

mk rand 'int rand(void);
int f(void);
int f(void) { return rand(); }'
expect_fail rand "forbidden symbol 'rand'"

mk sockcall 'int socket(int, int, int);
int f(void);
int f(void) { return socket(2, 2, 0); }'
expect_fail sockcall "forbidden symbol 'socket'"

# Each symbol issue 2 names, called from the core library.
for sym in sendto clock_gettime getrandom randombytes_buf randombytes_uniform \
	ev_run ev_now ev_timer_start ev_default_loop; do
	mk "sym_$sym" "int $sym();
int f(void);
int f(void) { return $sym(); }"
	expect_fail "sym_$sym" "forbidden symbol '$sym'"
done

# The libev header in every spelling that still reaches it.
n=0
for inc in '<ev.h>' '"ev.h"' '<libev/ev.h>' '"libev/ev.h"' '<ev++.h>' \
	'"../ev.h"' '<sys/socket.h>' '"sys/socket.h"' \
	'<netinet/in.h>' '"time.h"'; do
	n=$((n + 1))
	mk "inc_$n" '' "#  include $inc"
	expect_fail "inc_$n" "forbidden header"
done

mk layering_angle '#include <gossip/swim.h>
int f(void);
int f(void) { return 0; }'
expect_fail layering_angle 'may not include a higher layer'

# Several violations at once: every one is listed, not just the first of
# each kind.
mk many '#include <stdio.h>
#include <signal.h>
int sendto();
int clock_gettime();
int getrandom();
int counter_a, counter_b;
int f(void);
int f(void) { return sendto() + clock_gettime() + getrandom() + counter_a++ + counter_b++; }' '#include "ev.h"
#include <libev/ev.h>
#include <sys/socket.h>'
sh scripts/check-deps "$T/many/build" "$T/many" >"$T/many.out" 2>&1
for want in 'x.c:1: .*forbidden header' 'x.c:2: .*forbidden header' \
	'y.h:1: .*forbidden header' 'y.h:2: .*forbidden header' \
	'y.h:3: .*forbidden header' \
	"symbol 'sendto'" "symbol 'clock_gettime'" "symbol 'getrandom'" \
	"data 'counter_a'" "data 'counter_b'"; do
	if ! grep -q "$want" "$T/many.out"; then
		echo "FAIL: tree 'many': no complaint matching '$want' in:"
		cat "$T/many.out"
		status=1
	fi
done
[ "$status" = 0 ] && echo "ok: 'many': all $(grep -c '^check-deps: ' "$T/many.out") violations listed"

mk global 'int counter;
int f(void);
int f(void) { return ++counter; }'
expect_fail global "mutable data 'counter'"

mk static_local 'int f(void);
int f(void) { static int n = 3; return ++n; }'
expect_fail static_local "mutable data"

mk unlisted 'int mkstemp(char *);
int f(char *p);
int f(char *p) { return mkstemp(p); }'
expect_fail unlisted "not on the allowlist"

mk layering '#include "gossip/swim.h"
int f(void);
int f(void) { return 0; }'
expect_fail layering 'may not include a higher layer'

# Our own headers pass, even one named like a system header (core/time.h).
mk clean '#include <string.h>
static const char *const names[] = { "a", "b" };
int f(const char *s);
int f(const char *s) { return (int)strlen(s) + (int)strlen(names[0]); }' '#include <stdint.h>
#include "core/err.h"
#include "err.h"
#include "time.h"'
: >"$T/clean/core/err.h"
: >"$T/clean/core/time.h"
if sh scripts/check-deps "$T/clean/build" "$T/clean" >"$T/clean.out" 2>&1; then
	echo "ok: a clean tree passes"
else
	echo "FAIL: a clean tree was refused:"; cat "$T/clean.out"; status=1
fi
exit $status
