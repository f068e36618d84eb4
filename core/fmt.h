/* SPDX-License-Identifier: MIT */
/*
 * core/fmt.h — printf-style formatting into a caller's buffer.
 *
 * The pure layers explain refusals in one sentence ("replicas 20001 is
 * above the limit of 10000") and need to format numbers into text. That is
 * not I/O, but the C library keeps snprintf in <stdio.h>, which check-deps
 * forbids in the pure layers; so this file is the one sanctioned door:
 * fmt.c includes <stdio.h> for vsnprintf and nothing else, and
 * scripts/check-deps allows that header there only (the symbol check still
 * forbids every function that does I/O).
 */
#ifndef SHOAL_CORE_FMT_H
#define SHOAL_CORE_FMT_H

#include <stdarg.h>
#include <stddef.h>

/* Format into out (cap bytes, always NUL-terminated when cap > 0; cut to
 * fit). Returns the length the full text would have had, like snprintf. */
int fmt_str(char *out, size_t cap, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int fmt_vstr(char *out, size_t cap, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

#endif
