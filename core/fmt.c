/* SPDX-License-Identifier: MIT */
/*
 * core/fmt.c — the one place in the pure layers that includes <stdio.h>,
 * for vsnprintf: formatting text into memory, never reading or writing a
 * stream. See core/fmt.h for why this file exists.
 */
#include "core/fmt.h"

#include <stdio.h>

int
fmt_vstr(char *out, size_t cap, const char *fmt, va_list ap)
{
	return vsnprintf(out, cap, fmt, ap);
}

int
fmt_str(char *out, size_t cap, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(out, cap, fmt, ap);
	va_end(ap);
	return n;
}
