/* SPDX-License-Identifier: MIT */
/*
 * cli/svc.c — service specs in and out of the control protocol's maps.
 *
 * The reader checks the shape (keys, types, lengths) and leaves the rules
 * to sched/spec: its setters and spec_validate() give the one-sentence
 * reasons users see, so a rule is stated in one place only. Strings from
 * the request are copied with a NUL before they reach a setter, and a
 * string longer than SPEC_STR_MAX is refused before it is copied, so a
 * request can make the agent allocate little more than its own size.
 */
#include "cli/svc.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"

static int why_fmt(char *why, size_t cap, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int
why_fmt(char *why, size_t cap, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, cap, fmt, ap);
	va_end(ap);
	return code;
}

static void
write_strv(struct codec_writer *w, const char *key, char *const *v, uint32_t n)
{
	codec_write_cstr(w, key);
	codec_write_array(w, n);
	for (uint32_t i = 0; i < n; i++)
		codec_write_cstr(w, v[i]);
}

void
svc_write_spec(struct codec_writer *w, const struct spec *s)
{
	char text[SPEC_CONSTRAINT_TEXT_MAX + 1];

	codec_write_map(w, 9);
	codec_write_cstr(w, "name");
	codec_write_cstr(w, s->name);
	codec_write_cstr(w, "mode");
	codec_write_cstr(w, spec_mode_name(s->mode));
	codec_write_cstr(w, "replicas");
	codec_write_uint(w, s->replicas);
	write_strv(w, "args", s->args, s->nargs);
	write_strv(w, "env", s->env, s->nenv);
	codec_write_cstr(w, "constraints");
	codec_write_array(w, s->ncons);
	for (uint32_t i = 0; i < s->ncons; i++) {
		spec_constraint_format(&s->cons[i], text, sizeof(text));
		codec_write_cstr(w, text);
	}
	codec_write_cstr(w, "max_per_node");
	codec_write_uint(w, s->max_per_node);
	codec_write_cstr(w, "restart");
	codec_write_map(w, 4);
	codec_write_cstr(w, "condition");
	codec_write_cstr(w, spec_restart_cond_name(s->restart.cond));
	codec_write_cstr(w, "delay_ms");
	codec_write_uint(w, s->restart.delay_ms);
	codec_write_cstr(w, "max_attempts");
	codec_write_uint(w, s->restart.max_attempts);
	codec_write_cstr(w, "window_ms");
	codec_write_uint(w, s->restart.window_ms);
	codec_write_cstr(w, "update");
	codec_write_map(w, 2);
	codec_write_cstr(w, "parallelism");
	codec_write_uint(w, s->update.parallelism);
	codec_write_cstr(w, "delay_ms");
	codec_write_uint(w, s->update.delay_ms);
}

/* ---- reading ---- */

struct rd {
	struct codec_reader r;
	char *why;
	size_t cap;
};

#define BAD_TYPE(rd, what, type)                                               \
	why_fmt((rd)->why, (rd)->cap, ERR_DECODE, "spec \"%s\" must be %s",    \
		(what), (type))

/* A string value, copied with a NUL into a new allocation. */
static int
read_string(struct rd *rd, const char *what, char **out)
{
	const char *s;
	uint32_t n;

	if (codec_peek(&rd->r) != CODEC_STR || codec_read_str(&rd->r, &s, &n))
		return BAD_TYPE(rd, what, "a string");
	if (n > SPEC_STR_MAX)
		return why_fmt(rd->why, rd->cap, ERR_TOOBIG,
			       "spec \"%s\": a string is longer than %d bytes",
			       what, SPEC_STR_MAX);
	if (memchr(s, 0, n))
		return why_fmt(rd->why, rd->cap, ERR_INVAL,
			       "spec \"%s\": a string contains a NUL byte",
			       what);
	*out = malloc(n + 1);
	if (!*out)
		return ERR_NOMEM;
	memcpy(*out, s, n);
	(*out)[n] = '\0';
	return 0;
}

static int
read_u32(struct rd *rd, const char *what, uint32_t *out)
{
	uint64_t v;

	if (codec_peek(&rd->r) != CODEC_UINT || codec_read_uint(&rd->r, &v))
		return BAD_TYPE(rd, what, "an unsigned integer");
	if (v > UINT32_MAX)
		return why_fmt(rd->why, rd->cap, ERR_RANGE,
			       "spec \"%s\" is too large (%" PRIu64 ")", what,
			       v);
	*out = (uint32_t)v;
	return 0;
}

/* An array of strings: calls fn for each. */
static int
read_strv(struct rd *rd, const char *what, uint32_t max,
	  int (*fn)(struct spec *s, char *str, struct rd *rd), struct spec *s)
{
	uint32_t n;

	if (codec_peek(&rd->r) != CODEC_ARRAY || codec_read_array(&rd->r, &n))
		return BAD_TYPE(rd, what, "an array of strings");
	if (n > max)
		return why_fmt(rd->why, rd->cap, ERR_TOOBIG,
			       "spec \"%s\" has %" PRIu32
			       " entries; the limit is %" PRIu32,
			       what, n, max);
	for (uint32_t i = 0; i < n; i++) {
		char *str;
		int rc = read_string(rd, what, &str);

		if (rc)
			return rc;
		rc = fn(s, str, rd);
		free(str);
		if (rc)
			return rc;
	}
	return 0;
}

static size_t
key_len(const char *kv)
{
	const char *eq = strchr(kv, '=');

	return eq ? (size_t)(eq - kv) : strlen(kv);
}

static void
env_remove_key(struct spec *s, const char *key, size_t kn)
{
	uint32_t k = 0;

	for (uint32_t i = 0; i < s->nenv; i++) {
		if (strncmp(s->env[i], key, kn) == 0 && s->env[i][kn] == '=') {
			free(s->env[i]);
			continue;
		}
		s->env[k++] = s->env[i];
	}
	s->nenv = k;
}

static int
env_add(struct spec *s, char *kv, struct rd *rd)
{
	return spec_add_env(s, kv, rd->why, rd->cap);
}

static int
env_add_replace(struct spec *s, char *kv, struct rd *rd)
{
	env_remove_key(s, kv, key_len(kv));
	return spec_add_env(s, kv, rd->why, rd->cap);
}

static int
env_rm(struct spec *s, char *key, struct rd *rd)
{
	(void)rd;
	env_remove_key(s, key, key_len(key));
	return 0;
}

static bool
cons_equal(const struct spec_constraint *a, const struct spec_constraint *b)
{
	return a->is_name == b->is_name && a->negate == b->negate &&
	       strcmp(a->key, b->key) == 0 && strcmp(a->value, b->value) == 0;
}

static int
cons_add(struct spec *s, char *text, struct rd *rd)
{
	return spec_add_constraint(s, text, rd->why, rd->cap);
}

static int
cons_add_new(struct spec *s, char *text, struct rd *rd)
{
	struct spec_constraint c;
	int rc =
		spec_constraint_parse(&c, text, strlen(text), rd->why, rd->cap);

	if (rc)
		return rc;
	for (uint32_t i = 0; i < s->ncons; i++)
		if (cons_equal(&s->cons[i], &c))
			return 0;
	return spec_add_constraint(s, text, rd->why, rd->cap);
}

static int
cons_rm(struct spec *s, char *text, struct rd *rd)
{
	struct spec_constraint c;
	uint32_t k = 0;
	int rc =
		spec_constraint_parse(&c, text, strlen(text), rd->why, rd->cap);

	if (rc)
		return rc;
	for (uint32_t i = 0; i < s->ncons; i++)
		if (!cons_equal(&s->cons[i], &c))
			s->cons[k++] = s->cons[i];
	s->ncons = k;
	return 0;
}

/* "args": replace the command. */
static int
read_args(struct rd *rd, struct spec *s)
{
	char *argv[SPEC_ARGS_MAX];
	uint32_t n, got = 0;
	int rc = 0;

	if (codec_peek(&rd->r) != CODEC_ARRAY || codec_read_array(&rd->r, &n))
		return BAD_TYPE(rd, "args", "an array of strings");
	if (n > SPEC_ARGS_MAX)
		return why_fmt(rd->why, rd->cap, ERR_TOOBIG,
			       "command has %" PRIu32
			       " arguments; the limit is %d",
			       n, SPEC_ARGS_MAX);
	if (n == 0)
		return why_fmt(rd->why, rd->cap, ERR_INVAL, "command is empty");
	for (; got < n && !rc; got++)
		rc = read_string(rd, "args", &argv[got]);
	if (rc)
		got--; /* the failed one allocated nothing */
	if (!rc)
		rc = spec_set_args(s, (const char *const *)argv, n, rd->why,
				   rd->cap);
	for (uint32_t i = 0; i < got; i++)
		free(argv[i]);
	return rc;
}

static int
key_is(const char *k, uint32_t kn, const char *want)
{
	return strlen(want) == kn && memcmp(k, want, kn) == 0;
}

/* A nested map of uint fields ("restart", "update"). */
static int
read_policy(struct rd *rd, struct spec *s, bool restart)
{
	const char *what = restart ? "restart" : "update";
	unsigned seen = 0;
	uint32_t n;

	if (codec_peek(&rd->r) != CODEC_MAP || codec_read_map(&rd->r, &n))
		return BAD_TYPE(rd, what, "a map");
	for (uint32_t i = 0; i < n; i++) {
		const char *k;
		uint32_t kn;
		unsigned bit;
		int rc = 0;

		if (codec_peek(&rd->r) != CODEC_STR ||
		    codec_read_str(&rd->r, &k, &kn))
			return why_fmt(rd->why, rd->cap, ERR_DECODE,
				       "spec \"%s\": keys must be strings",
				       what);
		if (restart && key_is(k, kn, "condition")) {
			char *c;

			bit = 1;
			rc = read_string(rd, "restart.condition", &c);
			if (!rc) {
				if (spec_restart_cond_parse(c,
							    &s->restart.cond))
					rc = why_fmt(rd->why, rd->cap,
						     ERR_INVAL,
						     "restart condition "
						     "\"%.40s\" is not none, "
						     "on-failure or any",
						     c);
				free(c);
			}
		} else if (restart && key_is(k, kn, "delay_ms")) {
			bit = 2;
			rc = read_u32(rd, "restart.delay_ms",
				      &s->restart.delay_ms);
		} else if (restart && key_is(k, kn, "max_attempts")) {
			bit = 4;
			rc = read_u32(rd, "restart.max_attempts",
				      &s->restart.max_attempts);
		} else if (restart && key_is(k, kn, "window_ms")) {
			bit = 8;
			rc = read_u32(rd, "restart.window_ms",
				      &s->restart.window_ms);
		} else if (!restart && key_is(k, kn, "parallelism")) {
			bit = 1;
			rc = read_u32(rd, "update.parallelism",
				      &s->update.parallelism);
		} else if (!restart && key_is(k, kn, "delay_ms")) {
			bit = 2;
			rc = read_u32(rd, "update.delay_ms",
				      &s->update.delay_ms);
		} else {
			return why_fmt(rd->why, rd->cap, ERR_INVAL,
				       "unknown field \"%.*s\" in spec "
				       "\"%s\"",
				       (int)(kn > 40 ? 40 : kn), k, what);
		}
		if (seen & bit)
			return why_fmt(rd->why, rd->cap, ERR_INVAL,
				       "duplicate field \"%.*s\" in spec "
				       "\"%s\"",
				       (int)(kn > 40 ? 40 : kn), k, what);
		seen |= bit;
		if (rc)
			return rc;
	}
	return 0;
}

enum {
	K_NAME = 1 << 0,
	K_MODE = 1 << 1,
	K_REPLICAS = 1 << 2,
	K_ARGS = 1 << 3,
	K_ENV = 1 << 4,
	K_CONS = 1 << 5,
	K_MAXPN = 1 << 6,
	K_RESTART = 1 << 7,
	K_UPDATE = 1 << 8,
	K_ENV_ADD = 1 << 9,
	K_ENV_RM = 1 << 10,
	K_CONS_ADD = 1 << 11,
	K_CONS_RM = 1 << 12,
};

static const struct {
	const char *name;
	unsigned bit;
	bool update_only;
} keys[] = {
	{"name", K_NAME, false},
	{"mode", K_MODE, false},
	{"replicas", K_REPLICAS, false},
	{"args", K_ARGS, false},
	{"env", K_ENV, false},
	{"constraints", K_CONS, false},
	{"max_per_node", K_MAXPN, false},
	{"restart", K_RESTART, false},
	{"update", K_UPDATE, false},
	{"env_add", K_ENV_ADD, true},
	{"env_rm", K_ENV_RM, true},
	{"constraints_add", K_CONS_ADD, true},
	{"constraints_rm", K_CONS_RM, true},
};

int
svc_read_spec(struct spec *s, const uint8_t *p, size_t n, bool update,
	      char *why, size_t why_cap)
{
	struct rd rd;
	unsigned seen = 0;
	uint32_t nkeys;
	int rc = 0;

	why[0] = '\0';
	rd.why = why;
	rd.cap = why_cap;
	codec_reader_init(&rd.r, p, n);
	if (codec_peek(&rd.r) != CODEC_MAP || codec_read_map(&rd.r, &nkeys))
		return why_fmt(why, why_cap, ERR_DECODE,
			       "\"spec\" must be a map");
	for (uint32_t i = 0; i < nkeys && !rc; i++) {
		const char *k;
		uint32_t kn;
		unsigned bit = 0;

		if (codec_peek(&rd.r) != CODEC_STR ||
		    codec_read_str(&rd.r, &k, &kn))
			return why_fmt(why, why_cap, ERR_DECODE,
				       "spec keys must be strings");
		for (size_t j = 0; j < sizeof(keys) / sizeof(keys[0]); j++)
			if (key_is(k, kn, keys[j].name) &&
			    (update || !keys[j].update_only))
				bit = keys[j].bit;
		if (!bit)
			return why_fmt(why, why_cap, ERR_INVAL,
				       "unknown spec field \"%.*s\"",
				       (int)(kn > 40 ? 40 : kn), k);
		if (seen & bit)
			return why_fmt(why, why_cap, ERR_INVAL,
				       "duplicate spec field \"%.*s\"",
				       (int)(kn > 40 ? 40 : kn), k);
		seen |= bit;
		switch (bit) {
		case K_NAME: {
			char *name;

			rc = read_string(&rd, "name", &name);
			if (rc)
				break;
			if (update && strcmp(name, s->name) != 0)
				rc = why_fmt(why, why_cap, ERR_INVAL,
					     "a service cannot be renamed");
			else
				rc = spec_set_name(s, name, why, why_cap);
			free(name);
			break;
		}
		case K_MODE: {
			char *m;
			enum spec_mode mode;

			rc = read_string(&rd, "mode", &m);
			if (rc)
				break;
			if (spec_mode_parse(m, &mode))
				rc = why_fmt(why, why_cap, ERR_INVAL,
					     "mode \"%.40s\" is not "
					     "replicated or global",
					     m);
			else if (update && mode != s->mode)
				rc = why_fmt(why, why_cap, ERR_INVAL,
					     "the mode of a service cannot "
					     "change; remove it and create "
					     "it again");
			else
				s->mode = mode;
			free(m);
			break;
		}
		case K_REPLICAS:
			rc = read_u32(&rd, "replicas", &s->replicas);
			break;
		case K_ARGS:
			rc = read_args(&rd, s);
			break;
		case K_ENV:
			env_remove_key(s, "", 0); /* keeps nothing with '=' */
			for (uint32_t e = 0; e < s->nenv; e++)
				free(s->env[e]);
			s->nenv = 0;
			rc = read_strv(&rd, "env", SPEC_ENV_MAX, env_add, s);
			break;
		case K_ENV_ADD:
			rc = read_strv(&rd, "env_add", SPEC_ENV_MAX,
				       env_add_replace, s);
			break;
		case K_ENV_RM:
			rc = read_strv(&rd, "env_rm", SPEC_ENV_MAX, env_rm, s);
			break;
		case K_CONS:
			s->ncons = 0;
			rc = read_strv(&rd, "constraints", SPEC_CONSTRAINTS_MAX,
				       cons_add, s);
			break;
		case K_CONS_ADD:
			rc = read_strv(&rd, "constraints_add",
				       SPEC_CONSTRAINTS_MAX, cons_add_new, s);
			break;
		case K_CONS_RM:
			rc = read_strv(&rd, "constraints_rm",
				       SPEC_CONSTRAINTS_MAX, cons_rm, s);
			break;
		case K_MAXPN:
			rc = read_u32(&rd, "max_per_node", &s->max_per_node);
			break;
		case K_RESTART:
			rc = read_policy(&rd, s, true);
			break;
		case K_UPDATE:
			rc = read_policy(&rd, s, false);
			break;
		}
	}
	if (rc)
		return rc;
	if (codec_read_end(&rd.r))
		return why_fmt(why, why_cap, ERR_DECODE,
			       "trailing bytes after the spec");
	if (!update) {
		if (!(seen & K_NAME))
			return why_fmt(why, why_cap, ERR_INVAL,
				       "the service needs a name");
		if (!(seen & K_ARGS))
			return why_fmt(why, why_cap, ERR_INVAL,
				       "the service needs a command");
		if (s->mode == SPEC_GLOBAL && !(seen & K_REPLICAS))
			s->replicas = 0;
	}
	return 0;
}
