/* SPDX-License-Identifier: MIT */
/*
 * core/log.h — leveled logfmt records written to a caller's sink.
 *
 * A record is built field by field on the stack and handed, complete, to the
 * sink the runtime installed:
 *
 *     struct log_rec r;
 *     if (log_begin(&r, lg, LOG_INFO, "member failed")) {
 *             log_str(&r, "node", name);
 *             log_u64(&r, "inc", inc);
 *             log_end(&r);
 *     }
 *
 * gives the line `level=info msg="member failed" node=web-3 inc=17`. The
 * sink adds what only a runtime knows (a timestamp, the node's name in the
 * simulator) and writes it somewhere. Values are quoted when they contain a
 * space, a quote, '=' or a control character, with \" \\ \n \t and \xNN
 * escapes, so every record is one line that a logfmt parser can read back.
 * A record longer than LOG_LINE_MAX is cut and ends with `truncated=true`;
 * the cut never splits a key or an escape, and a quoted value keeps its
 * closing quote, so a cut record parses too.
 *
 * core/ keeps no logger of its own: a `struct log` is passed in. A NULL
 * `struct log *`, or one without a sink, logs nothing.
 */
#ifndef SHOAL_CORE_LOG_H
#define SHOAL_CORE_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LOG_LINE_MAX 1024

enum log_level {
	LOG_ERROR = 0,
	LOG_WARN = 1,
	LOG_INFO = 2,
	LOG_DEBUG = 3,
	LOG_TRACE = 4,
};

struct log {
	/* Called with one complete record, without a trailing newline. The
	 * line is only valid during the call. */
	void (*sink)(void *ctx, enum log_level level, const char *line,
		     size_t len);
	void *ctx;
	enum log_level level; /* records above this level are skipped */
};

struct log_rec {
	const struct log *lg;
	enum log_level level;
	size_t len;
	bool on;
	bool truncated;
	char line[LOG_LINE_MAX + 1];
};

/* Would a record at this level be written? */
bool log_enabled(const struct log *lg, enum log_level level);

/* Start a record with level= and msg=. Returns false (and the record is a
 * no-op) when the level is disabled; the field calls are then cheap. */
bool log_begin(struct log_rec *r, const struct log *lg, enum log_level level,
	       const char *msg);
void log_str(struct log_rec *r, const char *key, const char *val);
void log_strn(struct log_rec *r, const char *key, const char *val, size_t n);
void log_u64(struct log_rec *r, const char *key, uint64_t v);
void log_i64(struct log_rec *r, const char *key, int64_t v);
void log_bool(struct log_rec *r, const char *key, bool v);
/* An error code as its number and phrase: err=-7 err_str="auth..." */
void log_err(struct log_rec *r, int err);
/* Hand the record to the sink. */
void log_end(struct log_rec *r);

/* Level names: "error", "warn", "info", "debug", "trace". */
const char *log_level_name(enum log_level level);
/* Parse a level name (case-insensitive; "warning" also accepted).
 * 0 or ERR_INVAL. */
int log_level_parse(const char *s, enum log_level *out);

#endif
