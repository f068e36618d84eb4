/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/core_log_test.c — core/log: logfmt records through a sink.
 *
 * Covers exact record text, level filtering (a disabled record never reaches
 * the sink), a NULL logger and one without a sink, quoting and escaping of
 * every kind of byte, numbers at their extremes, log_err, level names and
 * parsing, and truncation at LOG_LINE_MAX. A small logfmt parser in this
 * file reads every record back: values must come out as they went in, and a
 * truncated record must still parse (its quotes closed, no half escape).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/err.h"
#include "core/log.h"
#include "core/rng.h"

/* ---- a sink that keeps the last record ---- */

struct capture {
	int calls;
	enum log_level level;
	size_t len;
	char line[LOG_LINE_MAX + 1];
};

static void
capture_sink(void *ctx, enum log_level level, const char *line, size_t len)
{
	struct capture *c = ctx;

	c->calls++;
	c->level = level;
	c->len = len;
	assert_true(len <= LOG_LINE_MAX);
	assert_int_equal(strlen(line), len); /* NUL-terminated, no NULs */
	memcpy(c->line, line, len + 1);
}

static void
logger(struct log *lg, struct capture *c, enum log_level level)
{
	memset(c, 0, sizeof(*c));
	lg->sink = capture_sink;
	lg->ctx = c;
	lg->level = level;
}

/* ---- a minimal logfmt reader ---- */

#define PAIRS_MAX 64

struct pair {
	char key[64];
	char val[LOG_LINE_MAX];
	size_t vlen;
	bool quoted;
};

static int
hexdigit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Parse a whole line into pairs; returns the count, or -1 when the line is
 * not valid logfmt (unterminated quote, bad escape, missing '='). */
static int
parse_logfmt(const char *s, struct pair *out, int max)
{
	int n = 0;

	while (*s) {
		struct pair *p = &out[n];
		size_t k = 0;

		if (n == max)
			return -1;
		while (*s && *s != '=' && *s != ' ' && *s != '"') {
			if (k + 1 >= sizeof(p->key))
				return -1;
			p->key[k++] = *s++;
		}
		p->key[k] = '\0';
		if (k == 0 || *s != '=')
			return -1;
		s++;
		p->vlen = 0;
		p->quoted = *s == '"';
		if (p->quoted) {
			s++;
			for (;;) {
				char c = *s++;

				if (c == '\0')
					return -1;
				if (c == '"')
					break;
				if ((unsigned char)c < ' ')
					return -1; /* raw control byte */
				if (c == '\\') {
					c = *s++;
					if (c == 'n') {
						c = '\n';
					} else if (c == 't') {
						c = '\t';
					} else if (c == 'x') {
						int h = hexdigit(s[0]);
						int l = h < 0 ? -1
							      : hexdigit(s[1]);

						if (l < 0)
							return -1;
						c = (char)(h << 4 | l);
						s += 2;
					} else if (c != '"' && c != '\\') {
						return -1;
					}
				}
				p->val[p->vlen++] = c;
			}
		} else {
			while (*s && *s != ' ') {
				if (*s == '"' || *s == '=')
					return -1;
				p->val[p->vlen++] = *s++;
			}
		}
		p->val[p->vlen] = '\0';
		n++;
		if (*s == ' ')
			s++;
		else if (*s)
			return -1;
	}
	return n;
}

/* ---- tests ---- */

static void
test_basic_record(void **state)
{
	struct capture c;
	struct log lg;
	struct log_rec r;

	(void)state;
	logger(&lg, &c, LOG_INFO);
	assert_true(log_begin(&r, &lg, LOG_INFO, "member failed"));
	log_str(&r, "node", "web-3");
	log_u64(&r, "inc", 17);
	log_end(&r);
	assert_int_equal(c.calls, 1);
	assert_int_equal(c.level, LOG_INFO);
	assert_string_equal(
		c.line, "level=info msg=\"member failed\" node=web-3 inc=17");
	assert_int_equal(c.len, strlen(c.line));
	/* log_end hands the record over once. */
	log_end(&r);
	assert_int_equal(c.calls, 1);
}

static void
test_levels_filter(void **state)
{
	struct capture c;
	struct log lg;
	struct log_rec r;

	(void)state;
	logger(&lg, &c, LOG_WARN);
	assert_true(log_enabled(&lg, LOG_ERROR));
	assert_true(log_enabled(&lg, LOG_WARN));
	assert_false(log_enabled(&lg, LOG_INFO));
	assert_false(log_enabled(&lg, LOG_TRACE));

	assert_false(log_begin(&r, &lg, LOG_DEBUG, "quiet"));
	log_str(&r, "k", "v");
	log_u64(&r, "n", 1);
	log_i64(&r, "i", -1);
	log_bool(&r, "b", true);
	log_err(&r, ERR_AUTH);
	log_end(&r);
	assert_int_equal(c.calls, 0);

	assert_true(log_begin(&r, &lg, LOG_ERROR, "loud"));
	log_end(&r);
	assert_int_equal(c.calls, 1);
	assert_int_equal(c.level, LOG_ERROR);
	assert_string_equal(c.line, "level=error msg=loud");

	lg.level = LOG_TRACE;
	assert_true(log_begin(&r, &lg, LOG_TRACE, "all"));
	log_end(&r);
	assert_string_equal(c.line, "level=trace msg=all");

	/* No logger, or no sink: nothing, and no crash. */
	assert_false(log_enabled(NULL, LOG_ERROR));
	assert_false(log_begin(&r, NULL, LOG_ERROR, "x"));
	log_str(&r, "k", "v");
	log_end(&r);
	lg.sink = NULL;
	assert_false(log_begin(&r, &lg, LOG_ERROR, "x"));
	log_end(&r);
	assert_int_equal(c.calls, 2);
}

static void
test_quoting(void **state)
{
	static const struct {
		const char *val;
		size_t n;
		const char *text;
	} cases[] = {
		{"plain", 5, "plain"},
		{"", 0, "\"\""},
		{"two words", 9, "\"two words\""},
		{"a\"b", 3, "\"a\\\"b\""},
		{"back\\slash", 10, "\"back\\\\slash\""},
		{"k=v", 3, "\"k=v\""},
		{"line\nbreak", 10, "\"line\\nbreak\""},
		{"tab\there", 8, "\"tab\\there\""},
		{"cr\r", 3, "\"cr\\x0d\""},
		{"\x01\x1f", 2, "\"\\x01\\x1f\""},
		{"del\x7f", 4, "\"del\\x7f\""},
		{"nul\0byte", 8, "\"nul\\x00byte\""},
		{"h\xc3\xa9llo", 6, "h\xc3\xa9llo"}, /* UTF-8 stays bare */
		{"1.2.3.4:7946", 12, "1.2.3.4:7946"},
		{"[::1]:7946", 10, "[::1]:7946"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char want[256];
		struct capture c;
		struct log lg;
		struct log_rec r;
		struct pair pairs[4];

		logger(&lg, &c, LOG_INFO);
		assert_true(log_begin(&r, &lg, LOG_INFO, "m"));
		log_strn(&r, "v", cases[i].val, cases[i].n);
		log_end(&r);
		strcpy(want, "level=info msg=m v=");
		strcat(want, cases[i].text);
		if (strcmp(c.line, want) != 0)
			fail_msg("case %zu: got [%s], want [%s]", i, c.line,
				 want);
		assert_int_equal(parse_logfmt(c.line, pairs, 4), 3);
		assert_int_equal(pairs[2].vlen, cases[i].n);
		assert_memory_equal(pairs[2].val, cases[i].val, cases[i].n);
	}
}

static void
test_numbers_and_err(void **state)
{
	struct capture c;
	struct log lg;
	struct log_rec r;

	(void)state;
	logger(&lg, &c, LOG_DEBUG);
	assert_true(log_begin(&r, &lg, LOG_DEBUG, "n"));
	log_u64(&r, "z", 0);
	log_u64(&r, "max", UINT64_MAX);
	log_i64(&r, "neg", -1);
	log_i64(&r, "min", INT64_MIN);
	log_i64(&r, "imax", INT64_MAX);
	log_i64(&r, "zero", 0);
	log_bool(&r, "t", true);
	log_bool(&r, "f", false);
	log_str(&r, "null", NULL);
	log_err(&r, ERR_AUTH);
	log_end(&r);
	assert_string_equal(
		c.line, "level=debug msg=n z=0 max=18446744073709551615 "
			"neg=-1 min=-9223372036854775808 "
			"imax=9223372036854775807 zero=0 t=true f=false "
			"null=\"\" err=-7 err_str=\"authentication failed\"");
}

static void
test_truncation(void **state)
{
	static char big[3 * LOG_LINE_MAX];
	struct capture c;
	struct log lg;
	struct log_rec r;
	struct pair pairs[PAIRS_MAX];
	int n;

	(void)state;
	/* A bare value cut short. */
	memset(big, 'a', sizeof(big) - 1);
	logger(&lg, &c, LOG_INFO);
	assert_true(log_begin(&r, &lg, LOG_INFO, "big"));
	log_str(&r, "v", big);
	log_str(&r, "after", "lost");
	log_end(&r);
	assert_int_equal(c.len, LOG_LINE_MAX);
	assert_string_equal(c.line + c.len - 15, " truncated=true");
	assert_null(strstr(c.line, "after"));
	n = parse_logfmt(c.line, pairs, PAIRS_MAX);
	assert_int_equal(n, 4);
	assert_string_equal(pairs[3].key, "truncated");

	/* A quoted value cut short keeps its closing quote, and no escape
	 * is cut in half, whatever the offset of the cut. */
	for (int shift = 0; shift < 8; shift++) {
		for (int kind = 0; kind < 3; kind++) {
			char fill = kind == 0 ? ' ' : kind == 1 ? '"' : '\x01';

			memset(big, fill, sizeof(big) - 1);
			logger(&lg, &c, LOG_INFO);
			assert_true(log_begin(&r, &lg, LOG_INFO, "q"));
			log_strn(&r, "pad", "xxxxxxxx", (size_t)shift);
			log_str(&r, "v", big);
			log_end(&r);
			assert_true(c.len <= LOG_LINE_MAX);
			n = parse_logfmt(c.line, pairs, PAIRS_MAX);
			if (n != 5 || strcmp(pairs[4].key, "truncated") != 0)
				fail_msg("shift %d kind %d: unparsable [%s]",
					 shift, kind, c.line);
			assert_true(pairs[3].quoted);
			for (size_t i = 0; i < pairs[3].vlen; i++)
				assert_int_equal(pairs[3].val[i], fill);
			assert_true(pairs[3].vlen > 200);
		}
	}

	/* Many fields: the cut falls between fields, never in a key. */
	logger(&lg, &c, LOG_INFO);
	assert_true(log_begin(&r, &lg, LOG_INFO, "many"));
	for (int i = 0; i < 300; i++)
		log_u64(&r, "some_key", (uint64_t)i);
	log_end(&r);
	assert_true(c.len <= LOG_LINE_MAX);
	{
		static struct pair many[200];

		n = parse_logfmt(c.line, many, 200);
		assert_true(n > 10);
		assert_string_equal(many[n - 1].key, "truncated");
		for (int i = 2; i < n - 1; i++) {
			assert_string_equal(many[i].key, "some_key");
			assert_true(many[i].vlen > 0);
		}
	}

	/* Exactly at the limit: no truncation mark. */
	{
		size_t head = strlen("level=info msg=x v=");
		size_t room = LOG_LINE_MAX - 15 - head;

		memset(big, 'b', room);
		big[room] = '\0';
		logger(&lg, &c, LOG_INFO);
		assert_true(log_begin(&r, &lg, LOG_INFO, "x"));
		log_str(&r, "v", big);
		log_end(&r);
		assert_int_equal(c.len, head + room);
		assert_null(strstr(c.line, "truncated"));
	}
}

static void
test_random_values_round_trip(void **state)
{
	const uint64_t seed = 4242;
	struct rng rg;

	(void)state;
	rng_seed(&rg, seed);
	for (int round = 0; round < 2000; round++) {
		char vals[4][40];
		size_t lens[4];
		struct capture c;
		struct log lg;
		struct log_rec r;
		struct pair pairs[8];
		int n;

		logger(&lg, &c, LOG_INFO);
		assert_true(log_begin(&r, &lg, LOG_INFO, "rt"));
		for (int f = 0; f < 4; f++) {
			lens[f] = (size_t)rng_below(&rg, sizeof(vals[f]));
			for (size_t i = 0; i < lens[f]; i++)
				vals[f][i] = (char)rng_below(&rg, 256);
			log_strn(&r, "f", vals[f], lens[f]);
		}
		log_end(&r);
		n = parse_logfmt(c.line, pairs, 8);
		if (n != 6)
			fail_msg("seed %llu round %d: [%s] parsed as %d",
				 (unsigned long long)seed, round, c.line, n);
		for (int f = 0; f < 4; f++) {
			assert_int_equal(pairs[2 + f].vlen, lens[f]);
			assert_memory_equal(pairs[2 + f].val, vals[f], lens[f]);
		}
	}
}

static void
test_level_names(void **state)
{
	static const struct {
		const char *s;
		int rc;
		enum log_level lv;
	} cases[] = {
		{"error", 0, LOG_ERROR},  {"warn", 0, LOG_WARN},
		{"info", 0, LOG_INFO},	  {"debug", 0, LOG_DEBUG},
		{"trace", 0, LOG_TRACE},  {"ERROR", 0, LOG_ERROR},
		{"Warn", 0, LOG_WARN},	  {"warning", 0, LOG_WARN},
		{"WARNING", 0, LOG_WARN}, {"InFo", 0, LOG_INFO},
		{"", ERR_INVAL, 0},	  {"inf", ERR_INVAL, 0},
		{"infos", ERR_INVAL, 0},  {"warnings", ERR_INVAL, 0},
		{" info", ERR_INVAL, 0},  {"info ", ERR_INVAL, 0},
		{"fatal", ERR_INVAL, 0},  {"2", ERR_INVAL, 0},
	};

	(void)state;
	assert_string_equal(log_level_name(LOG_ERROR), "error");
	assert_string_equal(log_level_name(LOG_WARN), "warn");
	assert_string_equal(log_level_name(LOG_INFO), "info");
	assert_string_equal(log_level_name(LOG_DEBUG), "debug");
	assert_string_equal(log_level_name(LOG_TRACE), "trace");
	assert_string_equal(log_level_name((enum log_level)5), "unknown");
	assert_string_equal(log_level_name((enum log_level) - 1), "unknown");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum log_level lv = (enum log_level)77;
		int rc = log_level_parse(cases[i].s, &lv);

		if (rc != cases[i].rc)
			fail_msg("\"%s\": got %d", cases[i].s, rc);
		if (rc == 0)
			assert_int_equal(lv, cases[i].lv);
		else
			assert_int_equal(lv, 77);
	}
	assert_int_equal(log_level_parse(NULL, &(enum log_level){0}),
			 ERR_INVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic_record),
		cmocka_unit_test(test_levels_filter),
		cmocka_unit_test(test_quoting),
		cmocka_unit_test(test_numbers_and_err),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_random_values_round_trip),
		cmocka_unit_test(test_level_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
