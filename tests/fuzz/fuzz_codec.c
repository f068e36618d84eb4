/* SPDX-License-Identifier: MIT */
/*
 * tests/fuzz/fuzz_codec.c — the strict msgpack reader on arbitrary bytes.
 *
 * Every input goes through fuzz_check_msgpack(): skip and typed reads must
 * agree value by value, re-encoding must be canonical, and reads of any
 * type in any order must keep the sticky-error contract. Under ASan this
 * also proves the reader never reads outside the input, whatever lengths
 * and counts the input declares.
 */
#include <stddef.h>
#include <stdint.h>

#include "tests/fuzz/fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_check_msgpack(data, size);
	return 0;
}
