/* SPDX-License-Identifier: MIT */
/*
 * cli/mpv.h — a msgpack document as a small tree, for the client side.
 *
 * The agent encodes its replies with core/codec's writer; the client needs
 * to look fields up by name, print tables and re-emit the whole reply as
 * JSON, which is easiest over a tree. mpv_parse() builds one with the strict
 * core/codec reader underneath: nesting is bounded (CODEC_DEPTH_MAX), every
 * count is backed by the bytes present, and the node count can never exceed
 * the input length, so a hostile reply cannot make the client allocate more
 * than a small multiple of its size.
 *
 * Ownership: a struct mpv_doc owns every node; strings and binaries point
 * into the input buffer, which must outlive the document. mpv_doc_release()
 * frees the nodes (not the input).
 */
#ifndef SHOAL_CLI_MPV_H
#define SHOAL_CLI_MPV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum mpv_type {
	MPV_NIL = 0,
	MPV_BOOL,
	MPV_UINT,
	MPV_INT, /* negative */
	MPV_FLOAT,
	MPV_STR,
	MPV_BIN,
	MPV_ARRAY,
	MPV_MAP,
};

struct mpv {
	enum mpv_type type;
	uint32_t n; /* bytes for STR/BIN, elements for ARRAY, pairs for MAP */
	union {
		bool b;
		uint64_t u;
		int64_t i;
		double d;
		const char *s;	    /* STR (not NUL-terminated) */
		const uint8_t *bin; /* BIN */
		struct mpv *items;  /* ARRAY: n; MAP: 2n (key, value, ...) */
	} v;
};

struct mpv_doc {
	struct mpv root;
	struct mpv *nodes; /* one allocation for every child node */
	size_t nnodes;
};

/* Parse exactly one value filling p[0..n) (trailing bytes are an error).
 * 0, or ERR_DECODE / ERR_TRUNC / ERR_RANGE / ERR_NOMEM. On error the doc
 * is empty and needs no release. */
int mpv_parse(struct mpv_doc *doc, const uint8_t *p, size_t n);
void mpv_doc_release(struct mpv_doc *doc);

/* Value of a string key in a map, or NULL (also when m is not a map). */
const struct mpv *mpv_get(const struct mpv *m, const char *key);

/* Typed accessors that tolerate NULL and wrong types: they return the
 * fallback instead. */
uint64_t mpv_uint(const struct mpv *v, uint64_t fallback);
int64_t mpv_int(const struct mpv *v, int64_t fallback);
bool mpv_bool(const struct mpv *v, bool fallback);
double mpv_double(const struct mpv *v, double fallback);
/* Copy a string value into out with a NUL (cut to cap - 1 bytes); returns
 * out, or fallback (which may be NULL) when v is not a string. */
const char *mpv_cstr(const struct mpv *v, char *out, size_t cap,
		     const char *fallback);
/* True if v is a string equal to s. */
bool mpv_str_eq(const struct mpv *v, const char *s);

/* Element i of an array (NULL past the end), and key/value i of a map. */
const struct mpv *mpv_at(const struct mpv *a, size_t i);
const struct mpv *mpv_key_at(const struct mpv *m, size_t i);
const struct mpv *mpv_val_at(const struct mpv *m, size_t i);

/* Elements of an array or pairs of a map; 0 for anything else. */
size_t mpv_len(const struct mpv *v);

#endif
