/* SPDX-License-Identifier: MIT */
/*
 * tests/fuzz/fuzz_spec.c — the service spec decoder on arbitrary bytes.
 *
 * Whatever the input, spec_decode() must return without reading outside
 * it, leaking, or leaving a half-built spec. When it accepts, the spec must
 * pass spec_validate(), its canonical encoding must be exactly
 * spec_encoded_size() bytes and decode back to an equal spec with the
 * same digest, and matching its constraints must work.
 *
 * Seeds (corpus/fuzz_spec/) are encodings written with spec_encode(): a
 * minimal spec, a full one (env, constraints, both policies), a global
 * one; inputs that once broke the decoder are added as regress-NAME.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "sched/spec.h"
#include "tests/fuzz/fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct spec s, t;
	struct buf b;
	char why[SPEC_WHY_MAX];
	struct spec_tag tags[] = {{"zone", "east"}, {"role", "manager"}};

	spec_init(&s);
	spec_init(&t);
	why[0] = 0;
	if (spec_decode(&s, data, size, why, sizeof(why)) != 0) {
		/* A refusal leaves the spec untouched and says why. */
		FUZZ_CHECK(s.nargs == 0 && s.name[0] == 0);
		FUZZ_CHECK(why[0] != 0);
		return 0;
	}
	FUZZ_CHECK(spec_validate(&s, why, sizeof(why)) == 0);
	buf_init(&b, SPEC_ENCODED_MAX);
	FUZZ_CHECK(spec_encode(&s, &b) == 0);
	FUZZ_CHECK(b.len == spec_encoded_size(&s));
	FUZZ_CHECK(spec_decode(&t, b.data, b.len, why, sizeof(why)) == 0);
	FUZZ_CHECK(spec_equal(&s, &t));
	FUZZ_CHECK(spec_digest(&s) == spec_digest(&t));
	(void)spec_match(&s, "node-1", tags, 2);
	(void)spec_match(&s, "node-1", NULL, 0);
	buf_release(&b);
	spec_destroy(&s);
	spec_destroy(&t);
	return 0;
}
