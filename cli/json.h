/* SPDX-License-Identifier: MIT */
/*
 * cli/json.h — just enough JSON output for `--format json`.
 *
 * The client never parses JSON; it only prints it, mostly by translating
 * the agent's msgpack reply (json_mpv). Output is compact (no spaces), one
 * document per line, and always valid UTF-8: bytes that are not valid UTF-8
 * become U+FFFD, control characters are escaped, binaries become base64
 * strings, and map keys that are not strings are stringified.
 *
 * Errors are sticky like core/codec's writer: check json_error() once at
 * the end.
 */
#ifndef SHOAL_CLI_JSON_H
#define SHOAL_CLI_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cli/mpv.h"
#include "core/buf.h"

struct json {
	struct buf *b; /* borrowed */
	int err;
};

void json_init(struct json *j, struct buf *b);

static inline int
json_error(const struct json *j)
{
	return j->err;
}

/* Raw text (no escaping): punctuation such as "{", ",", ":". */
void json_raw(struct json *j, const char *s);
/* A quoted, escaped string of n bytes. */
void json_str(struct json *j, const char *s, size_t n);
void json_cstr(struct json *j, const char *s);
void json_uint(struct json *j, uint64_t v);
void json_int(struct json *j, int64_t v);
void json_double(struct json *j, double v);
void json_bool(struct json *j, bool v);
/* The whole value as JSON. */
void json_mpv(struct json *j, const struct mpv *v);

#endif
