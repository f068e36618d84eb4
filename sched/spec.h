/* SPDX-License-Identifier: MIT */
/*
 * sched/spec.h — the service spec: what a user asks the cluster to run.
 *
 * A spec is the value of one service record in the replicated state
 * (sched/state.h): a name, the command (argv) and environment of each
 * replica, how many replicas and in which mode, where they may run
 * (constraints on node tags and names, a per-node maximum), and how tasks
 * are restarted and updated. It follows `docker service create`.
 *
 * Bounds (each refusal names the bound it hit):
 *
 *   name           1..SPEC_NAME_MAX bytes, [A-Za-z0-9][A-Za-z0-9_.-]*
 *   args           1..SPEC_ARGS_MAX strings; args[0] non-empty; each at
 *                  most SPEC_STR_MAX bytes; no NUL byte
 *   env            0..SPEC_ENV_MAX "KEY=value" strings, each at most
 *                  SPEC_STR_MAX bytes; KEY is [A-Za-z_][A-Za-z0-9_]*, at
 *                  most SPEC_ENV_KEY_MAX bytes, unique, not SHOAL_*
 *                  (reserved for the variables the runtime sets)
 *   replicas       0..SPEC_REPLICAS_MAX in replicated mode; 0 in global
 *   constraints    0..SPEC_CONSTRAINTS_MAX of `node.KEY==VALUE` or
 *                  `node.KEY!=VALUE`; `node.name` is the node's name, any
 *                  other KEY (1..SPEC_TAG_KEY_MAX of [A-Za-z0-9._-]) is a
 *                  node tag; VALUE is 0..SPEC_TAG_VALUE_MAX printable
 *                  bytes without '=' or ','
 *   max_per_node   0 (no limit) .. SPEC_REPLICAS_MAX
 *   restart        condition none|on-failure|any; delay_ms <=
 *                  SPEC_DELAY_MAX_MS; max_attempts <= SPEC_ATTEMPTS_MAX
 *                  (0 = unlimited); window_ms <= SPEC_WINDOW_MAX_MS
 *                  (0 = attempts are counted forever)
 *   update         parallelism <= SPEC_REPLICAS_MAX (0 = all at once);
 *                  delay_ms <= SPEC_DELAY_MAX_MS
 *   whole spec     at most SPEC_ENCODED_MAX bytes of msgpack
 *
 * Wire form: a msgpack map with small unsigned integer keys, written in
 * key order with every field present (so the encoding of a spec is
 * canonical and its hash can break ties between replicas):
 *
 *   1 name (str)            2 args ([str])          3 env ([str])
 *   4 mode (0 replicated, 1 global)                 5 replicas (uint)
 *   6 constraints ([str], the text form above)      7 max_per_node (uint)
 *   8 restart {1 condition, 2 delay_ms, 3 max_attempts, 4 window_ms}
 *   9 update {1 parallelism, 2 delay_ms}
 *
 * The decoder is strict: wrong types, duplicate keys, trailing bytes,
 * missing name or args, and anything spec_validate() refuses are refused;
 * unknown keys are skipped (a newer shoal may add fields).
 *
 * Ownership: a struct spec owns its args and env strings. spec_init()
 * before first use, spec_destroy() at the end; spec_copy() makes a deep
 * copy. Nothing here keeps a pointer into a decoded buffer.
 */
#ifndef SHOAL_SCHED_SPEC_H
#define SHOAL_SCHED_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/codec.h"

#define SPEC_NAME_MAX	     63
#define SPEC_ARGS_MAX	     64
#define SPEC_ENV_MAX	     64
#define SPEC_STR_MAX	     4096
#define SPEC_ENV_KEY_MAX     128
#define SPEC_CONSTRAINTS_MAX 16
#define SPEC_TAG_KEY_MAX     32 /* = NODE_TAG_KEY_MAX */
#define SPEC_TAG_VALUE_MAX   64 /* = NODE_TAG_VALUE_MAX */
#define SPEC_REPLICAS_MAX    10000
#define SPEC_DELAY_MAX_MS    (3600u * 1000u)  /* 1 h */
#define SPEC_WINDOW_MAX_MS   (86400u * 1000u) /* 24 h */
#define SPEC_ATTEMPTS_MAX    1000000u
#define SPEC_ENCODED_MAX     16384
/* Longest text form of one constraint: "node." KEY "!=" VALUE. */
#define SPEC_CONSTRAINT_TEXT_MAX (5 + SPEC_TAG_KEY_MAX + 2 + SPEC_TAG_VALUE_MAX)

/* Room for any refusal reason. */
#define SPEC_WHY_MAX 160

enum spec_mode {
	SPEC_REPLICATED = 0, /* `replicas` slots placed by the manager */
	SPEC_GLOBAL = 1,     /* one slot on every eligible node */
};

enum spec_restart_cond {
	SPEC_RESTART_NONE = 0,
	SPEC_RESTART_ON_FAILURE = 1, /* non-zero exit or killed by a signal */
	SPEC_RESTART_ANY = 2,	     /* any exit (the default, as Docker) */
};

struct spec_restart {
	enum spec_restart_cond cond;
	uint32_t delay_ms;     /* before each restart (default 5 s) */
	uint32_t max_attempts; /* 0 = unlimited */
	uint32_t window_ms;    /* attempts count within this window; 0 = ever */
};

struct spec_update {
	uint32_t parallelism; /* tasks updated at once (default 1; 0 = all) */
	uint32_t delay_ms;    /* between batches (default 0) */
};

struct spec_constraint {
	bool is_name; /* node.name rather than a tag */
	bool negate;  /* != rather than == */
	char key[SPEC_TAG_KEY_MAX + 1];
	char value[SPEC_TAG_VALUE_MAX + 1];
};

struct spec {
	char name[SPEC_NAME_MAX + 1];
	enum spec_mode mode;
	uint32_t replicas;
	uint32_t max_per_node; /* 0 = no limit */
	uint32_t nargs;
	uint32_t nenv;
	uint32_t ncons;
	char **args; /* nargs owned strings (NULL when nargs == 0) */
	char **env;  /* nenv owned "KEY=value" strings */
	struct spec_constraint cons[SPEC_CONSTRAINTS_MAX];
	struct spec_restart restart;
	struct spec_update update;
};

/* A node tag as constraints see it (borrowed strings). */
struct spec_tag {
	const char *key;
	const char *value;
};

/* Names for the enums ("replicated", "global"; "none", "on-failure",
 * "any"), and their parsers (0 or ERR_INVAL). */
const char *spec_mode_name(enum spec_mode m);
const char *spec_restart_cond_name(enum spec_restart_cond c);
int spec_mode_parse(const char *text, enum spec_mode *m);
int spec_restart_cond_parse(const char *text, enum spec_restart_cond *c);

/* An empty spec with Docker's defaults: replicated, 1 replica, restart
 * any / 5 s / unlimited, update parallelism 1. No name, no args. */
void spec_init(struct spec *s);

/* Free the strings; the spec is as after spec_init(). */
void spec_destroy(struct spec *s);

/* Deep copy of src into dst (dst initialised; its old contents are
 * freed). 0 or ERR_NOMEM (dst then unchanged). */
int spec_copy(struct spec *dst, const struct spec *src);

/* Setters (they check only what a setter can; spec_validate() checks the
 * whole). 0, ERR_INVAL / ERR_TOOBIG / ERR_FULL with a reason, or
 * ERR_NOMEM. */
int spec_set_name(struct spec *s, const char *name, char *why, size_t cap);
int spec_set_args(struct spec *s, const char *const *argv, size_t n, char *why,
		  size_t cap);
int spec_add_env(struct spec *s, const char *kv, char *why, size_t cap);
/* Parse and add a constraint in text form ("node.zone==east"). */
int spec_add_constraint(struct spec *s, const char *text, char *why,
			size_t cap);

/* Parse one constraint. 0 or ERR_INVAL with a reason. */
int spec_constraint_parse(struct spec_constraint *c, const char *text,
			  size_t len, char *why, size_t cap);
/* Text form into out (always NUL-terminated); returns the length. */
size_t spec_constraint_format(const struct spec_constraint *c, char *out,
			      size_t cap);

/* Whether a node (name and tags) satisfies one constraint / all of them.
 * A missing tag satisfies != and fails ==. */
bool spec_constraint_match(const struct spec_constraint *c, const char *node,
			   const struct spec_tag *tags, size_t ntags);
bool spec_match(const struct spec *s, const char *node,
		const struct spec_tag *tags, size_t ntags);

/* Check every rule and bound listed at the top. 0, or ERR_INVAL /
 * ERR_RANGE / ERR_TOOBIG with a one-line reason in why (e.g. "replicas
 * 20000 is above the limit of 10000"). */
int spec_validate(const struct spec *s, char *why, size_t cap);

/* Exact size of the encoding in bytes. */
size_t spec_encoded_size(const struct spec *s);

/* Append the canonical encoding. Errors stick in the writer. */
void spec_write(const struct spec *s, struct codec_writer *w);

/* Read one encoded spec at r into s (s initialised; replaced only on
 * success). On failure r->err is set (ERR_DECODE / ERR_TRUNC for the
 * encoding, ERR_INVAL / ERR_RANGE / ERR_TOOBIG for a rule) and why says
 * which; s is unchanged. */
int spec_read(struct spec *s, struct codec_reader *r, char *why, size_t cap);

/* A whole buffer holding exactly one spec. */
int spec_decode(struct spec *s, const uint8_t *p, size_t n, char *why,
		size_t cap);

/* Encode into b (appended). 0 or the writer's error. */
int spec_encode(const struct spec *s, struct buf *b);

/* XXH3 of the canonical encoding: equal specs have equal digests. */
uint64_t spec_digest(const struct spec *s);

/* XXH3 of what a running task is made of (args and environment): two
 * specs with equal task digests run the same process, so changing
 * anything else (replicas, constraints, policies) restarts nothing. Never
 * 0. */
uint64_t spec_task_digest(const struct spec *s);

/* Deep equality. */
bool spec_equal(const struct spec *a, const struct spec *b);

/* Valid service name (the name rule above). */
bool spec_name_valid(const char *name, size_t len);

#endif
