/* SPDX-License-Identifier: MIT */
/*
 * sched/spec.c — validation and the msgpack form of a service spec.
 *
 * A spec arrives from two directions: from a user through the control
 * socket, and from other nodes through gossip. Both go through the same
 * door, spec_validate(), so a spec that one node accepted is accepted by
 * every node, and a refusal always comes with a sentence that names the
 * rule and, for a bound, the bound. The decoder builds a complete spec on
 * the side and swaps it in only when it is whole and valid: bad input never
 * leaves a half-written spec behind.
 *
 * The encoding is canonical (fields in key order, all present, shortest
 * integer forms from msgpack-c), so two nodes holding equal specs hold
 * equal bytes. spec_encoded_size() computes the exact size without
 * encoding, which is how validation enforces SPEC_ENCODED_MAX without
 * allocating.
 *
 * Strings are owned: each arg and env entry is its own allocation. A spec
 * is small and changes rarely; simplicity wins over packing here.
 */
#include "sched/spec.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "core/fmt.h"
#include "core/err.h"
#include "core/hash.h"

/* Encoding keys. */
enum {
	K_NAME = 1,
	K_ARGS = 2,
	K_ENV = 3,
	K_MODE = 4,
	K_REPLICAS = 5,
	K_CONS = 6,
	K_MAXPER = 7,
	K_RESTART = 8,
	K_UPDATE = 9,
	K__N = 10,
};

enum { KR_COND = 1, KR_DELAY = 2, KR_ATTEMPTS = 3, KR_WINDOW = 4 };
enum { KU_PAR = 1, KU_DELAY = 2 };

static int why_set(char *why, size_t cap, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int
why_set(char *why, size_t cap, int err, const char *fmt, ...)
{
	va_list ap;

	if (why && cap) {
		va_start(ap, fmt);
		fmt_vstr(why, cap, fmt, ap);
		va_end(ap);
	}
	return err;
}

const char *
spec_mode_name(enum spec_mode m)
{
	return m == SPEC_GLOBAL ? "global" : "replicated";
}

const char *
spec_restart_cond_name(enum spec_restart_cond c)
{
	switch (c) {
	case SPEC_RESTART_NONE:
		return "none";
	case SPEC_RESTART_ON_FAILURE:
		return "on-failure";
	case SPEC_RESTART_ANY:
		return "any";
	}
	return "?";
}

int
spec_mode_parse(const char *text, enum spec_mode *m)
{
	if (!strcmp(text, "replicated"))
		*m = SPEC_REPLICATED;
	else if (!strcmp(text, "global"))
		*m = SPEC_GLOBAL;
	else
		return ERR_INVAL;
	return 0;
}

int
spec_restart_cond_parse(const char *text, enum spec_restart_cond *c)
{
	if (!strcmp(text, "none"))
		*c = SPEC_RESTART_NONE;
	else if (!strcmp(text, "on-failure"))
		*c = SPEC_RESTART_ON_FAILURE;
	else if (!strcmp(text, "any"))
		*c = SPEC_RESTART_ANY;
	else
		return ERR_INVAL;
	return 0;
}

void
spec_init(struct spec *s)
{
	memset(s, 0, sizeof(*s));
	s->mode = SPEC_REPLICATED;
	s->replicas = 1;
	s->restart.cond = SPEC_RESTART_ANY;
	s->restart.delay_ms = 5000;
	s->update.parallelism = 1;
}

static void
strv_free(char **v, uint32_t n)
{
	if (!v)
		return;
	for (uint32_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void
spec_destroy(struct spec *s)
{
	strv_free(s->args, s->nargs);
	strv_free(s->env, s->nenv);
	spec_init(s);
}

static char *
dup_n(const char *p, size_t n)
{
	char *d = malloc(n + 1);

	if (!d)
		return NULL;
	memcpy(d, p, n);
	d[n] = 0;
	return d;
}

/* A copy of n strings (lengths from strlen), or NULL and *ok false. */
static char **
strv_dup(char *const *v, uint32_t n, bool *ok)
{
	char **d;

	*ok = true;
	if (!n)
		return NULL;
	d = calloc(n, sizeof(*d));
	if (!d)
		goto out_fail;
	for (uint32_t i = 0; i < n; i++) {
		d[i] = dup_n(v[i], strlen(v[i]));
		if (!d[i]) {
			strv_free(d, i);
			goto out_fail;
		}
	}
	return d;
out_fail:
	*ok = false;
	return NULL;
}

int
spec_copy(struct spec *dst, const struct spec *src)
{
	struct spec t = *src;
	bool ok1, ok2;

	t.args = strv_dup(src->args, src->nargs, &ok1);
	t.env = strv_dup(src->env, src->nenv, &ok2);
	if (!ok1 || !ok2) {
		strv_free(t.args, ok1 ? t.nargs : 0);
		strv_free(t.env, ok2 ? t.nenv : 0);
		return ERR_NOMEM;
	}
	spec_destroy(dst);
	*dst = t;
	return 0;
}

bool
spec_name_valid(const char *name, size_t len)
{
	if (len == 0 || len > SPEC_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			     (c >= '0' && c <= '9');

		if (alnum)
			continue;
		if (i == 0 || (c != '_' && c != '.' && c != '-'))
			return false;
	}
	return true;
}

static int
check_name(const char *name, size_t len, char *why, size_t cap)
{
	if (len == 0)
		return why_set(why, cap, ERR_INVAL, "service name is empty");
	if (len > SPEC_NAME_MAX)
		return why_set(why, cap, ERR_TOOBIG,
			       "service name is %zu bytes; the limit is %d",
			       len, SPEC_NAME_MAX);
	if (!spec_name_valid(name, len))
		return why_set(why, cap, ERR_INVAL,
			       "service name \"%.*s\" must match "
			       "[a-zA-Z0-9][a-zA-Z0-9_.-]*",
			       (int)len, name);
	return 0;
}

int
spec_set_name(struct spec *s, const char *name, char *why, size_t cap)
{
	size_t len = strnlen(name, SPEC_NAME_MAX + 1);
	int rc = check_name(name, len, why, cap);

	if (rc)
		return rc;
	memcpy(s->name, name, len);
	s->name[len] = 0;
	return 0;
}

int
spec_set_args(struct spec *s, const char *const *argv, size_t n, char *why,
	      size_t cap)
{
	char **v;

	if (n == 0)
		return why_set(why, cap, ERR_INVAL, "command is empty");
	if (n > SPEC_ARGS_MAX)
		return why_set(why, cap, ERR_TOOBIG,
			       "command has %zu arguments; the limit is %d", n,
			       SPEC_ARGS_MAX);
	for (size_t i = 0; i < n; i++) {
		size_t len = strnlen(argv[i], SPEC_STR_MAX + 1);

		if (len > SPEC_STR_MAX)
			return why_set(why, cap, ERR_TOOBIG,
				       "argument %zu is longer than %d bytes",
				       i, SPEC_STR_MAX);
	}
	if (argv[0][0] == 0)
		return why_set(why, cap, ERR_INVAL,
			       "command name (argument 0) is empty");
	v = calloc(n, sizeof(*v));
	if (!v)
		return ERR_NOMEM;
	for (size_t i = 0; i < n; i++) {
		v[i] = dup_n(argv[i], strlen(argv[i]));
		if (!v[i]) {
			strv_free(v, (uint32_t)i);
			return ERR_NOMEM;
		}
	}
	strv_free(s->args, s->nargs);
	s->args = v;
	s->nargs = (uint32_t)n;
	return 0;
}

/* Length of KEY in "KEY=value" or 0 when there is no '='. */
static size_t
env_key_len(const char *kv, size_t len)
{
	const char *eq = memchr(kv, '=', len);

	return eq ? (size_t)(eq - kv) : 0;
}

static int
check_env(const char *kv, size_t len, char *why, size_t cap)
{
	size_t k;

	if (len > SPEC_STR_MAX)
		return why_set(why, cap, ERR_TOOBIG,
			       "environment entry is longer than %d bytes",
			       SPEC_STR_MAX);
	if (memchr(kv, 0, len))
		return why_set(why, cap, ERR_INVAL,
			       "environment entry contains a NUL byte");
	k = env_key_len(kv, len);
	if (k == 0)
		return why_set(why, cap, ERR_INVAL,
			       "environment entry \"%.40s\" is not KEY=value",
			       kv);
	if (k > SPEC_ENV_KEY_MAX)
		return why_set(why, cap, ERR_TOOBIG,
			       "environment key is %zu bytes; the limit is %d",
			       k, SPEC_ENV_KEY_MAX);
	for (size_t i = 0; i < k; i++) {
		char c = kv[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  c == '_' || (i > 0 && c >= '0' && c <= '9');

		if (!ok)
			return why_set(why, cap, ERR_INVAL,
				       "environment key \"%.*s\" must match "
				       "[A-Za-z_][A-Za-z0-9_]*",
				       (int)k, kv);
	}
	if (k >= 6 && !memcmp(kv, "SHOAL_", 6))
		return why_set(why, cap, ERR_INVAL,
			       "environment key \"%.*s\": SHOAL_* is reserved "
			       "for the runtime",
			       (int)k, kv);
	return 0;
}

int
spec_add_env(struct spec *s, const char *kv, char *why, size_t cap)
{
	size_t len = strnlen(kv, SPEC_STR_MAX + 1);
	size_t k;
	char **v, *d;
	int rc;

	if (s->nenv >= SPEC_ENV_MAX)
		return why_set(why, cap, ERR_FULL,
			       "more than %d environment entries",
			       SPEC_ENV_MAX);
	rc = check_env(kv, len, why, cap);
	if (rc)
		return rc;
	k = env_key_len(kv, len);
	for (uint32_t i = 0; i < s->nenv; i++)
		if (!strncmp(s->env[i], kv, k) && s->env[i][k] == '=')
			return why_set(why, cap, ERR_EXIST,
				       "environment key \"%.*s\" is set twice",
				       (int)k, kv);
	d = dup_n(kv, len);
	if (!d)
		return ERR_NOMEM;
	v = realloc(s->env, (s->nenv + 1) * sizeof(*v));
	if (!v) {
		free(d);
		return ERR_NOMEM;
	}
	v[s->nenv++] = d;
	s->env = v;
	return 0;
}

static bool
tag_key_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

static bool
tag_value_char(char c)
{
	return (unsigned char)c >= 0x20 && (unsigned char)c < 0x7f &&
	       c != '=' && c != ',';
}

static void
trim(const char **p, size_t *n)
{
	while (*n && (**p == ' ' || **p == '\t')) {
		(*p)++;
		(*n)--;
	}
	while (*n && ((*p)[*n - 1] == ' ' || (*p)[*n - 1] == '\t'))
		(*n)--;
}

int
spec_constraint_parse(struct spec_constraint *c, const char *text, size_t len,
		      char *why, size_t cap)
{
	const char *op = NULL, *k, *v;
	size_t klen, vlen;
	bool neg = false;

	if (memchr(text, 0, len))
		return why_set(why, cap, ERR_INVAL,
			       "constraint contains a NUL byte");
	for (size_t i = 0; i + 1 < len; i++) {
		if (text[i + 1] != '=')
			continue;
		if (text[i] == '=' || text[i] == '!') {
			op = text + i;
			neg = text[i] == '!';
			break;
		}
	}
	if (!op)
		return why_set(why, cap, ERR_INVAL,
			       "constraint \"%.*s\" has no == or !=",
			       (int)(len > 80 ? 80 : len), text);
	k = text;
	klen = (size_t)(op - text);
	v = op + 2;
	vlen = len - klen - 2;
	trim(&k, &klen);
	trim(&v, &vlen);
	if (klen < 6 || memcmp(k, "node.", 5))
		return why_set(why, cap, ERR_INVAL,
			       "constraint \"%.*s\": the left side must be "
			       "node.name or node.TAG",
			       (int)(len > 80 ? 80 : len), text);
	k += 5;
	klen -= 5;
	if (klen > SPEC_TAG_KEY_MAX)
		return why_set(why, cap, ERR_TOOBIG,
			       "constraint tag key is %zu bytes; the limit is "
			       "%d",
			       klen, SPEC_TAG_KEY_MAX);
	for (size_t i = 0; i < klen; i++)
		if (!tag_key_char(k[i]))
			return why_set(why, cap, ERR_INVAL,
				       "constraint tag key \"%.*s\" must be "
				       "[A-Za-z0-9._-]",
				       (int)klen, k);
	if (vlen > SPEC_TAG_VALUE_MAX)
		return why_set(why, cap, ERR_TOOBIG,
			       "constraint value is %zu bytes; the limit is %d",
			       vlen, SPEC_TAG_VALUE_MAX);
	for (size_t i = 0; i < vlen; i++)
		if (!tag_value_char(v[i]))
			return why_set(why, cap, ERR_INVAL,
				       "constraint value \"%.*s\" must be "
				       "printable, without '=' or ','",
				       (int)vlen, v);
	memset(c, 0, sizeof(*c));
	c->negate = neg;
	c->is_name = klen == 4 && !memcmp(k, "name", 4);
	memcpy(c->key, k, klen);
	memcpy(c->value, v, vlen);
	return 0;
}

size_t
spec_constraint_format(const struct spec_constraint *c, char *out, size_t cap)
{
	int n = fmt_str(out, cap, "node.%s%s%s", c->key,
			 c->negate ? "!=" : "==", c->value);

	return n < 0 ? 0 : (size_t)n;
}

int
spec_add_constraint(struct spec *s, const char *text, char *why, size_t cap)
{
	struct spec_constraint c;
	int rc;

	if (s->ncons >= SPEC_CONSTRAINTS_MAX)
		return why_set(why, cap, ERR_FULL, "more than %d constraints",
			       SPEC_CONSTRAINTS_MAX);
	rc = spec_constraint_parse(&c, text, strlen(text), why, cap);
	if (rc)
		return rc;
	s->cons[s->ncons++] = c;
	return 0;
}

bool
spec_constraint_match(const struct spec_constraint *c, const char *node,
		      const struct spec_tag *tags, size_t ntags)
{
	const char *have = NULL;

	if (c->is_name) {
		have = node;
	} else {
		for (size_t i = 0; i < ntags; i++)
			if (!strcmp(tags[i].key, c->key)) {
				have = tags[i].value;
				break;
			}
	}
	if (!have)
		return c->negate;
	return (strcmp(have, c->value) == 0) != c->negate;
}

bool
spec_match(const struct spec *s, const char *node, const struct spec_tag *tags,
	   size_t ntags)
{
	for (uint32_t i = 0; i < s->ncons; i++)
		if (!spec_constraint_match(&s->cons[i], node, tags, ntags))
			return false;
	return true;
}

/* ---- sizes of msgpack forms (as msgpack-c writes them) ---- */

static size_t
mp_uint(uint64_t v)
{
	if (v < 128)
		return 1;
	if (v <= 0xff)
		return 2;
	if (v <= 0xffff)
		return 3;
	if (v <= 0xffffffffu)
		return 5;
	return 9;
}

static size_t
mp_str(size_t n)
{
	if (n < 32)
		return 1 + n;
	if (n <= 0xff)
		return 2 + n;
	if (n <= 0xffff)
		return 3 + n;
	return 5 + n;
}

static size_t
mp_cont(size_t n)
{
	if (n < 16)
		return 1;
	if (n <= 0xffff)
		return 3;
	return 5;
}

size_t
spec_encoded_size(const struct spec *s)
{
	char text[SPEC_CONSTRAINT_TEXT_MAX + 1];
	size_t n = mp_cont(K__N - 1);

	n += 1 + mp_str(strlen(s->name));
	n += 1 + mp_cont(s->nargs);
	for (uint32_t i = 0; i < s->nargs; i++)
		n += mp_str(strlen(s->args[i]));
	n += 1 + mp_cont(s->nenv);
	for (uint32_t i = 0; i < s->nenv; i++)
		n += mp_str(strlen(s->env[i]));
	n += 1 + mp_uint(s->mode);
	n += 1 + mp_uint(s->replicas);
	n += 1 + mp_cont(s->ncons);
	for (uint32_t i = 0; i < s->ncons; i++)
		n += mp_str(spec_constraint_format(&s->cons[i], text,
						   sizeof(text)));
	n += 1 + mp_uint(s->max_per_node);
	n += 1 + mp_cont(4) + 4 + mp_uint(s->restart.cond) +
	     mp_uint(s->restart.delay_ms) + mp_uint(s->restart.max_attempts) +
	     mp_uint(s->restart.window_ms);
	n += 1 + mp_cont(2) + 2 + mp_uint(s->update.parallelism) +
	     mp_uint(s->update.delay_ms);
	return n;
}

int
spec_validate(const struct spec *s, char *why, size_t cap)
{
	size_t len = strnlen(s->name, sizeof(s->name));
	size_t size;
	int rc;

	rc = check_name(s->name, len, why, cap);
	if (rc)
		return rc;
	if (s->nargs == 0 || !s->args)
		return why_set(why, cap, ERR_INVAL, "command is empty");
	if (s->nargs > SPEC_ARGS_MAX)
		return why_set(why, cap, ERR_TOOBIG,
			       "command has %u arguments; the limit is %d",
			       s->nargs, SPEC_ARGS_MAX);
	for (uint32_t i = 0; i < s->nargs; i++)
		if (strnlen(s->args[i], SPEC_STR_MAX + 1) > SPEC_STR_MAX)
			return why_set(why, cap, ERR_TOOBIG,
				       "argument %u is longer than %d bytes", i,
				       SPEC_STR_MAX);
	if (s->args[0][0] == 0)
		return why_set(why, cap, ERR_INVAL,
			       "command name (argument 0) is empty");
	if (s->nenv > SPEC_ENV_MAX)
		return why_set(why, cap, ERR_TOOBIG,
			       "%u environment entries; the limit is %d",
			       s->nenv, SPEC_ENV_MAX);
	for (uint32_t i = 0; i < s->nenv; i++) {
		const char *kv = s->env[i];
		size_t k;

		rc = check_env(kv, strnlen(kv, SPEC_STR_MAX + 1), why, cap);
		if (rc)
			return rc;
		k = env_key_len(kv, strlen(kv));
		for (uint32_t j = 0; j < i; j++)
			if (!strncmp(s->env[j], kv, k) && s->env[j][k] == '=')
				return why_set(why, cap, ERR_INVAL,
					       "environment key \"%.*s\" is "
					       "set twice",
					       (int)k, kv);
	}
	if (s->mode != SPEC_REPLICATED && s->mode != SPEC_GLOBAL)
		return why_set(why, cap, ERR_INVAL, "unknown mode %d",
			       (int)s->mode);
	if (s->mode == SPEC_GLOBAL && s->replicas != 0)
		return why_set(why, cap, ERR_INVAL,
			       "replicas cannot be set in global mode (one "
			       "replica runs on every eligible node)");
	if (s->replicas > SPEC_REPLICAS_MAX)
		return why_set(why, cap, ERR_RANGE,
			       "replicas %u is above the limit of %d",
			       s->replicas, SPEC_REPLICAS_MAX);
	if (s->max_per_node > SPEC_REPLICAS_MAX)
		return why_set(why, cap, ERR_RANGE,
			       "max replicas per node %u is above the limit "
			       "of %d",
			       s->max_per_node, SPEC_REPLICAS_MAX);
	if (s->ncons > SPEC_CONSTRAINTS_MAX)
		return why_set(why, cap, ERR_TOOBIG,
			       "%u constraints; the limit is %d", s->ncons,
			       SPEC_CONSTRAINTS_MAX);
	for (uint32_t i = 0; i < s->ncons; i++) {
		char text[SPEC_CONSTRAINT_TEXT_MAX + 1];
		struct spec_constraint c;
		size_t n =
			spec_constraint_format(&s->cons[i], text, sizeof(text));

		if (n >= sizeof(text))
			return why_set(why, cap, ERR_TOOBIG,
				       "constraint %u is too long", i);
		rc = spec_constraint_parse(&c, text, n, why, cap);
		if (rc)
			return rc;
		if (memcmp(&c, &s->cons[i], sizeof(c)))
			return why_set(why, cap, ERR_INVAL,
				       "constraint %u is not in canonical "
				       "form",
				       i);
	}
	if (s->restart.cond > SPEC_RESTART_ANY)
		return why_set(why, cap, ERR_INVAL,
			       "unknown restart condition %d",
			       (int)s->restart.cond);
	if (s->restart.delay_ms > SPEC_DELAY_MAX_MS)
		return why_set(why, cap, ERR_RANGE,
			       "restart delay %u ms is above the limit of %u "
			       "ms (1 h)",
			       s->restart.delay_ms, SPEC_DELAY_MAX_MS);
	if (s->restart.max_attempts > SPEC_ATTEMPTS_MAX)
		return why_set(why, cap, ERR_RANGE,
			       "restart max attempts %u is above the limit "
			       "of %u",
			       s->restart.max_attempts, SPEC_ATTEMPTS_MAX);
	if (s->restart.window_ms > SPEC_WINDOW_MAX_MS)
		return why_set(why, cap, ERR_RANGE,
			       "restart window %u ms is above the limit of %u "
			       "ms (24 h)",
			       s->restart.window_ms, SPEC_WINDOW_MAX_MS);
	if (s->update.parallelism > SPEC_REPLICAS_MAX)
		return why_set(why, cap, ERR_RANGE,
			       "update parallelism %u is above the limit of "
			       "%d",
			       s->update.parallelism, SPEC_REPLICAS_MAX);
	if (s->update.delay_ms > SPEC_DELAY_MAX_MS)
		return why_set(why, cap, ERR_RANGE,
			       "update delay %u ms is above the limit of %u "
			       "ms (1 h)",
			       s->update.delay_ms, SPEC_DELAY_MAX_MS);
	size = spec_encoded_size(s);
	if (size > SPEC_ENCODED_MAX)
		return why_set(why, cap, ERR_TOOBIG,
			       "spec encodes to %zu bytes; the limit is %d",
			       size, SPEC_ENCODED_MAX);
	return 0;
}

/* ---- writing ---- */

void
spec_write(const struct spec *s, struct codec_writer *w)
{
	char text[SPEC_CONSTRAINT_TEXT_MAX + 1];

	codec_write_map(w, K__N - 1);
	codec_write_uint(w, K_NAME);
	codec_write_cstr(w, s->name);
	codec_write_uint(w, K_ARGS);
	codec_write_array(w, s->nargs);
	for (uint32_t i = 0; i < s->nargs; i++)
		codec_write_cstr(w, s->args[i]);
	codec_write_uint(w, K_ENV);
	codec_write_array(w, s->nenv);
	for (uint32_t i = 0; i < s->nenv; i++)
		codec_write_cstr(w, s->env[i]);
	codec_write_uint(w, K_MODE);
	codec_write_uint(w, s->mode);
	codec_write_uint(w, K_REPLICAS);
	codec_write_uint(w, s->replicas);
	codec_write_uint(w, K_CONS);
	codec_write_array(w, s->ncons);
	for (uint32_t i = 0; i < s->ncons; i++) {
		size_t n =
			spec_constraint_format(&s->cons[i], text, sizeof(text));

		codec_write_str(w, text, n < sizeof(text) ? n : 0);
	}
	codec_write_uint(w, K_MAXPER);
	codec_write_uint(w, s->max_per_node);
	codec_write_uint(w, K_RESTART);
	codec_write_map(w, 4);
	codec_write_uint(w, KR_COND);
	codec_write_uint(w, s->restart.cond);
	codec_write_uint(w, KR_DELAY);
	codec_write_uint(w, s->restart.delay_ms);
	codec_write_uint(w, KR_ATTEMPTS);
	codec_write_uint(w, s->restart.max_attempts);
	codec_write_uint(w, KR_WINDOW);
	codec_write_uint(w, s->restart.window_ms);
	codec_write_uint(w, K_UPDATE);
	codec_write_map(w, 2);
	codec_write_uint(w, KU_PAR);
	codec_write_uint(w, s->update.parallelism);
	codec_write_uint(w, KU_DELAY);
	codec_write_uint(w, s->update.delay_ms);
}

int
spec_encode(const struct spec *s, struct buf *b)
{
	struct codec_writer w;

	codec_writer_init(&w, b);
	spec_write(s, &w);
	return codec_writer_error(&w);
}

/* ---- reading ---- */

/* Read a string array into a new vector of owned strings. Every string is
 * checked for length and NUL bytes before anything is kept. */
static int
read_strv(struct codec_reader *r, uint32_t max, const char *what, char ***out,
	  uint32_t *nout, char *why, size_t cap)
{
	uint32_t n;
	char **v;

	if (codec_read_array(r, &n))
		return why_set(why, cap, r->err, "%s is not an array", what);
	if (n > max)
		return why_set(why, cap, codec_fail(r, ERR_TOOBIG),
			       "%u %s; the limit is %u", n, what, max);
	v = n ? calloc(n, sizeof(*v)) : NULL;
	if (n && !v)
		return codec_fail(r, ERR_NOMEM);
	for (uint32_t i = 0; i < n; i++) {
		const char *p;
		uint32_t len;

		if (codec_read_str(r, &p, &len)) {
			strv_free(v, i);
			return why_set(why, cap, r->err,
				       "%s entry %u is not a string", what, i);
		}
		if (len > SPEC_STR_MAX || memchr(p, 0, len)) {
			strv_free(v, i);
			return why_set(why, cap, codec_fail(r, ERR_INVAL),
				       "%s entry %u is longer than %d bytes or "
				       "holds a NUL",
				       what, i, SPEC_STR_MAX);
		}
		v[i] = dup_n(p, len);
		if (!v[i]) {
			strv_free(v, i);
			return codec_fail(r, ERR_NOMEM);
		}
	}
	*out = v;
	*nout = n;
	return 0;
}

static int
read_u32(struct codec_reader *r, uint32_t *v)
{
	uint64_t x;

	if (codec_read_uint_max(r, UINT32_MAX, &x))
		return r->err;
	*v = (uint32_t)x;
	return 0;
}

static int
read_submap(struct codec_reader *r, uint32_t *vals, unsigned nkeys,
	    const char *what, char *why, size_t cap)
{
	uint32_t n, seen = 0;

	if (codec_read_map(r, &n))
		return why_set(why, cap, r->err, "%s is not a map", what);
	for (uint32_t i = 0; i < n; i++) {
		uint64_t k;

		if (codec_read_uint(r, &k))
			return why_set(why, cap, r->err, "%s: bad key", what);
		if (k >= 1 && k <= nkeys) {
			if (seen & (1u << k))
				return why_set(
					why, cap, codec_fail(r, ERR_DECODE),
					"%s: key %u twice", what, (unsigned)k);
			seen |= 1u << k;
			if (read_u32(r, &vals[k - 1]))
				return why_set(why, cap, r->err,
					       "%s: field %u is not a 32-bit "
					       "unsigned integer",
					       what, (unsigned)k);
		} else if (codec_skip(r)) {
			return why_set(why, cap, r->err, "%s: bad value", what);
		}
	}
	return 0;
}

int
spec_read(struct spec *s, struct codec_reader *r, char *why, size_t cap)
{
	struct spec t;
	uint32_t n, seen = 0;
	int rc = 0;

	if (r->err)
		return r->err;
	spec_init(&t);
	if (codec_read_map(r, &n)) {
		rc = why_set(why, cap, r->err, "spec is not a map");
		goto out_t;
	}
	for (uint32_t i = 0; i < n && !rc; i++) {
		uint64_t k;

		if (codec_read_uint(r, &k)) {
			rc = why_set(why, cap, r->err, "spec: bad key");
			break;
		}
		if (k > 0 && k < K__N) {
			if (seen & (1u << k)) {
				rc = why_set(why, cap,
					     codec_fail(r, ERR_DECODE),
					     "spec: key %u twice", (unsigned)k);
				break;
			}
			seen |= 1u << k;
		}
		switch (k) {
		case K_NAME: {
			const char *p;
			uint32_t len;

			if (codec_read_str(r, &p, &len)) {
				rc = why_set(why, cap, r->err,
					     "spec: name is not a string");
				break;
			}
			rc = check_name(p, len, why, cap);
			if (rc) {
				codec_fail(r, rc);
				break;
			}
			memcpy(t.name, p, len);
			t.name[len] = 0;
			break;
		}
		case K_ARGS:
			rc = read_strv(r, SPEC_ARGS_MAX, "arguments", &t.args,
				       &t.nargs, why, cap);
			break;
		case K_ENV:
			rc = read_strv(r, SPEC_ENV_MAX, "environment entries",
				       &t.env, &t.nenv, why, cap);
			break;
		case K_MODE: {
			uint64_t m;

			if (codec_read_uint_max(r, SPEC_GLOBAL, &m))
				rc = why_set(why, cap, r->err,
					     "spec: unknown mode");
			else
				t.mode = (enum spec_mode)m;
			break;
		}
		case K_REPLICAS:
			if (read_u32(r, &t.replicas))
				rc = why_set(why, cap, r->err,
					     "spec: bad replicas");
			break;
		case K_CONS: {
			uint32_t nc;

			if (codec_read_array(r, &nc)) {
				rc = why_set(why, cap, r->err,
					     "spec: constraints is not an "
					     "array");
				break;
			}
			if (nc > SPEC_CONSTRAINTS_MAX) {
				rc = why_set(why, cap,
					     codec_fail(r, ERR_TOOBIG),
					     "%u constraints; the limit is %d",
					     nc, SPEC_CONSTRAINTS_MAX);
				break;
			}
			for (uint32_t j = 0; j < nc && !rc; j++) {
				const char *p;
				uint32_t len;

				if (codec_read_str(r, &p, &len)) {
					rc = why_set(why, cap, r->err,
						     "spec: constraint is not "
						     "a string");
					break;
				}
				if (len > SPEC_CONSTRAINT_TEXT_MAX + 16) {
					rc = why_set(why, cap,
						     codec_fail(r, ERR_TOOBIG),
						     "constraint %u is too "
						     "long",
						     j);
					break;
				}
				rc = spec_constraint_parse(&t.cons[j], p, len,
							   why, cap);
				if (rc)
					codec_fail(r, rc);
			}
			if (!rc)
				t.ncons = nc;
			break;
		}
		case K_MAXPER:
			if (read_u32(r, &t.max_per_node))
				rc = why_set(why, cap, r->err,
					     "spec: bad max per node");
			break;
		case K_RESTART: {
			uint32_t v[4] = {t.restart.cond, t.restart.delay_ms,
					 t.restart.max_attempts,
					 t.restart.window_ms};

			rc = read_submap(r, v, 4, "restart policy", why, cap);
			if (rc)
				break;
			if (v[0] > SPEC_RESTART_ANY) {
				rc = why_set(why, cap, codec_fail(r, ERR_INVAL),
					     "unknown restart condition %u",
					     v[0]);
				break;
			}
			t.restart.cond = (enum spec_restart_cond)v[0];
			t.restart.delay_ms = v[1];
			t.restart.max_attempts = v[2];
			t.restart.window_ms = v[3];
			break;
		}
		case K_UPDATE: {
			uint32_t v[2] = {t.update.parallelism,
					 t.update.delay_ms};

			rc = read_submap(r, v, 2, "update policy", why, cap);
			if (!rc) {
				t.update.parallelism = v[0];
				t.update.delay_ms = v[1];
			}
			break;
		}
		default:
			if (codec_skip(r))
				rc = why_set(why, cap, r->err,
					     "spec: bad value for key %llu",
					     (unsigned long long)k);
			break;
		}
	}
	if (rc)
		goto out_t;
	if (!(seen & (1u << K_NAME))) {
		rc = why_set(why, cap, codec_fail(r, ERR_DECODE),
			     "spec has no name");
		goto out_t;
	}
	if (!(seen & (1u << K_ARGS))) {
		rc = why_set(why, cap, codec_fail(r, ERR_DECODE),
			     "spec has no command");
		goto out_t;
	}
	if (!(seen & (1u << K_REPLICAS)) && t.mode == SPEC_GLOBAL)
		t.replicas = 0;
	rc = spec_validate(&t, why, cap);
	if (rc) {
		codec_fail(r, rc);
		goto out_t;
	}
	spec_destroy(s);
	*s = t;
	return 0;
out_t:
	if (!r->err)
		codec_fail(r, rc);
	spec_destroy(&t);
	return rc;
}

int
spec_decode(struct spec *s, const uint8_t *p, size_t n, char *why, size_t cap)
{
	struct codec_reader r;
	struct spec t;
	int rc;

	spec_init(&t);
	codec_reader_init(&r, p, n);
	rc = spec_read(&t, &r, why, cap);
	if (!rc && codec_read_end(&r))
		rc = why_set(why, cap, r.err, "trailing bytes after the spec");
	if (rc) {
		spec_destroy(&t);
		return rc;
	}
	spec_destroy(s);
	*s = t;
	return 0;
}

/* ---- identity ---- */

#define DIGEST_SEED 0x73706563ULL /* "spec" */

static uint64_t
mix_str(uint64_t h, const char *s)
{
	return hash_combine(h, hash64(s, strlen(s), DIGEST_SEED));
}

uint64_t
spec_digest(const struct spec *s)
{
	char text[SPEC_CONSTRAINT_TEXT_MAX + 1];
	uint64_t h = DIGEST_SEED;

	h = mix_str(h, s->name);
	h = hash_combine(h, s->nargs);
	for (uint32_t i = 0; i < s->nargs; i++)
		h = mix_str(h, s->args[i]);
	h = hash_combine(h, s->nenv);
	for (uint32_t i = 0; i < s->nenv; i++)
		h = mix_str(h, s->env[i]);
	h = hash_combine(h, s->mode);
	h = hash_combine(h, s->replicas);
	h = hash_combine(h, s->ncons);
	for (uint32_t i = 0; i < s->ncons; i++) {
		spec_constraint_format(&s->cons[i], text, sizeof(text));
		h = mix_str(h, text);
	}
	h = hash_combine(h, s->max_per_node);
	h = hash_combine(h, s->restart.cond);
	h = hash_combine(h, s->restart.delay_ms);
	h = hash_combine(h, s->restart.max_attempts);
	h = hash_combine(h, s->restart.window_ms);
	h = hash_combine(h, s->update.parallelism);
	h = hash_combine(h, s->update.delay_ms);
	return h;
}

uint64_t
spec_task_digest(const struct spec *s)
{
	uint64_t h = DIGEST_SEED ^ 0x7461736bULL; /* "task" */

	h = hash_combine(h, s->nargs);
	for (uint32_t i = 0; i < s->nargs; i++)
		h = mix_str(h, s->args[i]);
	h = hash_combine(h, s->nenv);
	for (uint32_t i = 0; i < s->nenv; i++)
		h = mix_str(h, s->env[i]);
	return h ? h : 1;
}

bool
spec_equal(const struct spec *a, const struct spec *b)
{
	if (strcmp(a->name, b->name) || a->mode != b->mode ||
	    a->replicas != b->replicas || a->max_per_node != b->max_per_node ||
	    a->nargs != b->nargs || a->nenv != b->nenv ||
	    a->ncons != b->ncons ||
	    memcmp(&a->restart, &b->restart, sizeof(a->restart)) ||
	    memcmp(&a->update, &b->update, sizeof(a->update)))
		return false;
	for (uint32_t i = 0; i < a->nargs; i++)
		if (strcmp(a->args[i], b->args[i]))
			return false;
	for (uint32_t i = 0; i < a->nenv; i++)
		if (strcmp(a->env[i], b->env[i]))
			return false;
	for (uint32_t i = 0; i < a->ncons; i++)
		if (memcmp(&a->cons[i], &b->cons[i], sizeof(a->cons[i])))
			return false;
	return true;
}
