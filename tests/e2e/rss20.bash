#!/bin/bash
# SPDX-License-Identifier: MIT
# tests/e2e/rss20.bash — measure an agent's idle memory in a 20-node cluster.
#
#   bash tests/e2e/rss20.bash BUILD_DIR [IDLE_SECONDS]
#
# Not part of `make test` (it is a measurement, not a check, and takes a
# minute): starts 20 agents on 127.0.0.1 with the default lan profile and a
# key, waits until every agent sees 20 alive, lets the cluster idle for
# IDLE_SECONDS (default 60: two push-pull periods), then prints each
# agent's Rss, Pss and Private memory (/proc/PID/smaps_rollup) with min,
# median and max.
# The figure goes in docs/AGENT.md.
B=${1:?usage: rss20.bash BUILD_DIR [IDLE_SECONDS]}
IDLE=${2:-60}
export SHOAL_BIN=${SHOAL_BIN:-$B/shoal}
. "$(dirname "$0")/lib.bash"
E2E_SETS=() # the real lan profile
e2e_init

N=20
start_loopback r1 --key-file "$KEY"
for ((i = 2; i <= N; i++)); do
	start_loopback r$i --key-file "$KEY" --join "${ADDR[r1]}"
done
for ((i = 1; i <= N; i++)); do
	wait_for "r$i to see $N alive" 60 alive_count_is r$i $N
done
say "$N agents converged; idling ${IDLE}s"
sleep "$IDLE"
for ((i = 1; i <= N; i++)); do
	alive_count_is r$i $N || fail "r$i lost members while idle"
done
# VmRSS counts shared library pages in full (libc alone is over 1 MB);
# Pss shares them out among the processes mapping them, and Private is
# what this agent alone holds. serf's ~15 MB is mostly private Go heap.
: >"$WORK/mem"
for ((i = 1; i <= N; i++)); do
	p=${PID[r$i]}
	awk -v n=r$i -v p="$p" '
		/^Rss:/ { rss = $2 } /^Pss:/ { pss = $2 }
		/^Private_(Clean|Dirty):/ { priv += $2 }
		END { printf "%-4s pid %-7d Rss %5d kB  Pss %5d kB  Private %5d kB\n",
			n, p, rss, pss, priv }' /proc/$p/smaps_rollup | tee -a "$WORK/mem"
done
for col in Rss Pss Private; do
	awk -v c=$col '{ for (i = 1; i < NF; i++) if ($i == c) print $(i + 1) }' "$WORK/mem" |
		sort -n | awk -v c=$col -v n=$N '{ v[NR] = $1 }
		END { printf "%-8s over %d agents: min %5d kB, median %5d kB, max %5d kB\n",
			c, n, v[1], v[int((NR + 1) / 2)], v[NR] }'
done
say "$(sh_on r1 info | grep -E '^(members|version)')"
