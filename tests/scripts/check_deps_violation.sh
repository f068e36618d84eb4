#!/bin/sh
# Proves that scripts/check-deps fails on each kind of violation: it builds
# small fake layer trees that break one rule each and expects a non-zero exit
# with the right complaint; then a clean fake tree must pass.
set -u
B=${1:?build dir}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT INT TERM
CC=${CC:-cc}
status=0

# mk NAME FILE_CONTENT: a fake tree $T/NAME with core/x.c = content, built.
mk() {
	d=$T/$1
	mkdir -p "$d/core" "$d/gossip" "$d/sched" "$d/build"
	printf '%s\n' "$2" >"$d/core/x.c"
	: >"$d/gossip/swim.h"
	$CC -std=c11 -I"$d" -c -o "$d/build/x.o" "$d/core/x.c" 2>"$d/cc.log" || {
		echo "could not compile fake tree $1:"; cat "$d/cc.log"; exit 1; }
	ar rcs "$d/build/libshoal-core.a" "$d/build/x.o"
	printf '' | $CC -x c -c -o "$d/build/e.o" -
	ar rcs "$d/build/libshoal-gossip.a" "$d/build/e.o"
	ar rcs "$d/build/libshoal-sched.a" "$d/build/e.o"
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

mk clean '#include <string.h>
static const char *const names[] = { "a", "b" };
int f(const char *s);
int f(const char *s) { return (int)strlen(s) + (int)strlen(names[0]); }'
if sh scripts/check-deps "$T/clean/build" "$T/clean" >"$T/clean.out" 2>&1; then
	echo "ok: a clean tree passes"
else
	echo "FAIL: a clean tree was refused:"; cat "$T/clean.out"; status=1
fi
exit $status
