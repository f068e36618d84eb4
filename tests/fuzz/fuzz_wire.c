/* SPDX-License-Identifier: MIT */
/*
 * tests/fuzz/fuzz_wire.c — the gossip wire decoders on arbitrary plaintext.
 *
 * Decodes the input as a datagram (header, then every message) and as a
 * stream frame (header, every member record). Any input may fail; none may
 * crash, read out of bounds or allocate from a declared count. When a
 * datagram decodes, its messages are written again with the encoder and
 * must decode to the same types (the encoder accepts what the decoder
 * produces).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/buf.h"
#include "core/codec.h"
#include "gossip/wire.h"
#include "tests/fuzz/fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
datagram(const uint8_t *data, size_t size)
{
	struct wire_hdr h;
	struct codec_reader r;
	struct wire_msg m[64];
	uint32_t n, got = 0;
	struct wire_dgram d;
	struct buf b;

	if (wire_dgram_decode(data, size, &h, &r, &n))
		return;
	for (uint32_t i = 0; i < n; i++) {
		struct wire_msg t;

		if (wire_msg_decode(&r, &t))
			return;
		if (got < 64 && t.type)
			m[got++] = t;
	}
	if (codec_read_end(&r))
		return;
	/* Re-encode what decoded; it must decode again, type for type. */
	buf_init(&b, 1 << 20);
	FUZZ_CHECK(wire_dgram_begin(&d, &b, 1 << 20, &h) == 0);
	for (uint32_t i = 0; i < got; i++)
		FUZZ_CHECK(wire_dgram_add(&d, &m[i]) == 0);
	FUZZ_CHECK(wire_dgram_end(&d) == got);
	FUZZ_CHECK(wire_dgram_decode(b.data, b.len, &h, &r, &n) == 0);
	FUZZ_CHECK(n == got);
	for (uint32_t i = 0; i < got; i++) {
		struct wire_msg t;

		FUZZ_CHECK(wire_msg_decode(&r, &t) == 0);
		FUZZ_CHECK(t.type == m[i].type);
	}
	FUZZ_CHECK(codec_read_end(&r) == 0);
	buf_release(&b);
}

static void
stream(const uint8_t *data, size_t size)
{
	struct wire_stream ws;
	struct wire_member wm;

	if (wire_stream_decode(data, size, &ws))
		return;
	for (uint32_t i = 0; i < ws.nmembers; i++)
		if (wire_member_decode(&ws.members, &wm))
			return;
	(void)codec_read_end(&ws.members);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	datagram(data, size);
	stream(data, size);
	return 0;
}
