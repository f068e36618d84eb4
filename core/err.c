/* SPDX-License-Identifier: MIT */
/*
 * core/err.c — the phrase for each error code.
 *
 * A table indexed by the negated code; kept in the same order as the enum so
 * that a missing entry is caught by the static assertion below rather than by
 * a user reading the wrong message.
 */
#include "core/err.h"

#include <stddef.h>

static const char *const err_names[] = {
	[0] = "success",
	[1] = "out of memory",
	[2] = "invalid argument",
	[3] = "value out of range",
	[4] = "size limit exceeded",
	[5] = "input truncated",
	[6] = "malformed encoding",
	[7] = "authentication failed",
	[8] = "unknown key id",
	[9] = "unsupported protocol version",
	[10] = "table full",
	[11] = "already exists",
	[12] = "not found",
	[13] = "stale",
	[14] = "replayed",
	[15] = "not allowed in this state",
	[16] = "key must decode to 32 bytes",
	[17] = "key has characters outside base64",
	[18] = "I/O error",
	[19] = "timed out",
	[20] = "permission denied",
	[21] = "no majority of managers",
	[22] = "name conflict",
	[23] = "unencrypted packet",
	[24] = "clock skew too large",
};

_Static_assert(sizeof(err_names) / sizeof(err_names[0]) == -ERR__LAST,
	       "err_names must name every error code");

const char *
err_str(int code)
{
	if (code > 0 || code <= ERR__LAST)
		return "unknown error";
	return err_names[-code];
}
