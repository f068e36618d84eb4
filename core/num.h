/* SPDX-License-Identifier: MIT */
/*
 * core/num.h — the few logarithms the protocol's formulas need, without
 * libm.
 *
 * memberlist's formulas take logarithms of the cluster size: the
 * retransmit limit RetransmitMult * ceil(log10(N+1)), the suspicion
 * timeout SuspicionMult * log10(N) * interval, the push-pull scale
 * ceil(log2(N) - log2(32)) + 1, and Lifeguard's shrink
 * log(C+1) / log(K+1). Taking them from libm cost the agent a whole
 * shared library (a third of a megabyte of its resident memory, for three
 * functions), and tied the simulator's traces to the libm of the machine.
 * Here the ceilings are exact integer loops, and the real logarithm is a
 * short series in plain IEEE-754 double arithmetic: the same bits on
 * every machine, exact at powers of ten for integer arguments.
 *
 * Pure: no state, no errno; every function is defined for every input.
 */
#ifndef SHOAL_CORE_NUM_H
#define SHOAL_CORE_NUM_H

#include <stdint.h>

/* ceil(log10(n)) for n >= 1, exactly: the smallest k with 10^k >= n.
 * 0 for n <= 1. */
unsigned num_ceil_log10(uint64_t n);

/* ceil(log2(n)) for n >= 1, exactly: the smallest k with 2^k >= n.
 * 0 for n <= 1. */
unsigned num_ceil_log2(uint64_t n);

/* Natural logarithm of x, within a few units in the last place. 0 for
 * x <= 0 and for NaN (callers pass counts >= 1); x itself for +inf. */
double num_ln(double x);

/* log10(n) for an integer n >= 1, exact (an integer) when n is a power of
 * ten, within a few units in the last place otherwise. 0 for n = 0. */
double num_log10_u64(uint64_t n);

#endif
