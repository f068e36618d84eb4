/* SPDX-License-Identifier: MIT */
/*
 * core/num.c — integer ceilings of logarithms, and a natural logarithm in
 * plain double arithmetic.
 *
 * num_ln() reduces x = m * 2^e with m in [sqrt(1/2), sqrt(2)) by reading
 * the IEEE-754 fields (no frexp: that, too, lives in libm), then sums
 * ln(m) = 2 * (s + s^3/3 + s^5/5 + ...), s = (m - 1) / (m + 1). With
 * |s| <= 0.1716 each term is 34 times smaller than the one before; a fixed
 * 16 terms, summed by Horner's rule from the smallest, leave an error far
 * below the double's precision, and a fixed count (not "until small")
 * keeps the result the same everywhere. ISO C
 * mode (-std=c11) compiles without contracting a*b+c into FMA, so the
 * operations are the ones written.
 */
#include "core/num.h"

#include <string.h>

#define LN2 0.69314718055994530942
#define LN10 2.30258509299404568402
#define SQRT2 1.41421356237309504880

unsigned
num_ceil_log10(uint64_t n)
{
	unsigned k = 0;
	uint64_t p = 1;

	/* 10^19 is the last power of ten below 2^64. */
	while (p < n && k < 20) {
		k++;
		if (p > UINT64_MAX / 10)
			break;
		p *= 10;
	}
	return k;
}

unsigned
num_ceil_log2(uint64_t n)
{
	unsigned k = 0;

	while (k < 64 && ((uint64_t)1 << k) < n)
		k++;
	return k;
}

double
num_ln(double x)
{
	uint64_t b;
	int e;
	double m, s, s2, sum = 0.0;

	if (!(x > 0.0))
		return 0.0; /* also NaN */
	memcpy(&b, &x, sizeof(b));
	e = (int)((b >> 52) & 0x7ff);
	if (e == 0x7ff)
		return x; /* +inf */
	if (e == 0) {
		/* Subnormal: scale up by 2^54 first. */
		x *= 18014398509481984.0;
		memcpy(&b, &x, sizeof(b));
		e = (int)((b >> 52) & 0x7ff) - 54;
	}
	e -= 1023;
	b = (b & 0x000fffffffffffffULL) | 0x3ff0000000000000ULL;
	memcpy(&m, &b, sizeof(m)); /* [1, 2) */
	if (m > SQRT2) {
		m *= 0.5;
		e++;
	}
	s = (m - 1.0) / (m + 1.0);
	s2 = s * s;
	/* Horner, smallest terms first: 1/31 + s2 (1/29 + s2 (... + 1/1)). */
	for (int i = 31; i >= 1; i -= 2)
		sum = sum * s2 + 1.0 / (double)i;
	return 2.0 * s * sum + (double)e * LN2;
}

double
num_log10_u64(uint64_t n)
{
	uint64_t p = 1;

	if (n == 0)
		return 0.0;
	for (unsigned k = 0; k < 20; k++) {
		if (p == n)
			return (double)k;
		if (p > n || p > UINT64_MAX / 10)
			break;
		p *= 10;
	}
	return num_ln((double)n) / LN10;
}
