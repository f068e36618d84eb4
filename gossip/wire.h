/* SPDX-License-Identifier: MIT */
/*
 * gossip/wire.h — the membership protocol's messages on the wire.
 *
 * A datagram is one sealed compound (core/crypto.h draws the seal). Inside
 * the seal the plaintext is one msgpack map with small integer keys:
 *
 *   datagram plaintext                       stream frame plaintext
 *   +-----+--------------------------+       +-----+------------------------+
 *   | key | value                    |       | key | value                  |
 *   +-----+--------------------------+       +-----+------------------------+
 *   |  0  | protocol version (1)     |       | 0-4 | same header            |
 *   |  1  | sender name (str)        |       |  6  | kind: 1 req, 2 resp    |
 *   |  2  | sender boot id (uint)    |       |  7  | join (bool)            |
 *   |  3  | sender sequence (uint)   |       |  8  | members: [member...]   |
 *   |  4  | sender clock, ms (uint)  |       |  9  | app state (bin)        |
 *   |  5  | messages: [msg, ...]     |       | 10  | ping seq (uint)        |
 *   +-----+--------------------------+       | 11  | ping target (str)      |
 *                                            | 12  | live digest (uint)     |
 *                                            | 13  | flags (uint): 1 probe  |
 *                                            |     | (a request carrying    |
 *                                            |     | only departed members),|
 *                                            |     | 2 want (a response     |
 *                                            |     | asking for our table)  |
 *                                            +-----+------------------------+
 *   stream kinds: 1 push-pull request, 2 push-pull response, 3 TCP ping
 *   (members empty, 10 and 11 set), 4 its ack (10 set)
 *
 *   msg = map { 0: type, ...fields by type... }
 *
 *   type          fields (key: value)
 *   1 ping        1 seq, 2 target name, 3 source addr (bin), 4 source name
 *   2 ping-req    1 seq, 2 target name, 3 target addr, 4 want nack (bool),
 *                 5 source addr, 6 source name
 *   3 ack         1 seq
 *   4 nack        1 seq
 *   5 alive       1 incarnation, 2 name, 3 addr, 4 meta (bin, <= 512 B)
 *   6 suspect     1 incarnation, 2 name, 3 from
 *   7 dead        1 incarnation, 2 name, 3 from, 4 left (bool)
 *   8 user        1 payload (bin): an application broadcast
 *
 *   member (push-pull) = map { 1 name, 2 addr, 3 meta, 4 incarnation,
 *                              5 state: 0 alive 1 suspect 2 dead 3 left,
 *                              6 accuser (str, optional: who first
 *                                suspected it, for suspect entries) }
 *
 * Addresses are bin of 6 (IPv4 + port) or 18 bytes (IPv6 + port). Unknown
 * keys are skipped and unknown message types ignored, so a newer peer can
 * add fields. The messages array is written with a 5-byte array32 header
 * whose count is patched when the compound is complete.
 *
 * Decoding never allocates: strings and binaries in decoded structs point
 * into the plaintext and live as long as it does.
 */
#ifndef SHOAL_GOSSIP_WIRE_H
#define SHOAL_GOSSIP_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/addr.h"
#include "core/buf.h"
#include "core/codec.h"

#define WIRE_VERSION 1

enum wire_type {
	WIRE_PING = 1,
	WIRE_PING_REQ = 2,
	WIRE_ACK = 3,
	WIRE_NACK = 4,
	WIRE_ALIVE = 5,
	WIRE_SUSPECT = 6,
	WIRE_DEAD = 7,
	WIRE_USER = 8,
};

enum wire_stream_kind {
	WIRE_STREAM_REQ = 1,  /* push-pull request (our table) */
	WIRE_STREAM_RESP = 2, /* push-pull response (their table) */
	WIRE_STREAM_PING = 3, /* TCP fallback ping: 10 seq, 11 target */
	WIRE_STREAM_ACK = 4,  /* its ack: 10 seq */
};

/* Largest encoded header (map, version, 64-byte name, three uint64s, the
 * messages key and array32 header), used for budgeting. */
#define WIRE_HDR_MAX 110

struct wire_hdr {
	uint64_t version;
	const char *sender; /* not NUL-terminated */
	uint32_t sender_len;
	uint64_t boot;
	uint64_t seq;
	uint64_t ts_ms;
};

struct wire_msg {
	enum wire_type type;
	uint64_t seq; /* ping, ping-req, ack, nack */
	uint64_t inc; /* alive, suspect, dead */
	const char *node; /* target (ping, ping-req) or subject */
	uint32_t node_len;
	const char *from; /* suspect/dead accuser; ping/ping-req source */
	uint32_t from_len;
	struct addr addr; /* alive: member; ping-req: target */
	struct addr src;  /* ping, ping-req: where the ack goes */
	bool has_src;
	bool nack;	  /* ping-req */
	bool left;	  /* dead */
	const uint8_t *data; /* alive meta, user payload */
	uint32_t data_len;
};

struct wire_member {
	const char *name;
	uint32_t name_len;
	const char *from; /* accuser of a suspect entry, or NULL */
	uint32_t from_len;
	struct addr addr;
	const uint8_t *meta;
	uint32_t meta_len;
	uint64_t inc;
	uint8_t state;
};

struct wire_stream {
	struct wire_hdr hdr;
	uint8_t kind;
	bool join;
	struct codec_reader members; /* positioned at the members array */
	uint32_t nmembers;
	const uint8_t *app;
	uint32_t app_len;
	uint64_t seq;	     /* ping and ack */
	const char *target;  /* ping */
	uint32_t target_len;
	bool has_digest;     /* push-pull: the sender's live digest */
	uint64_t digest;
	uint64_t flags;	     /* WIRE_PP_* */
};

/* Push-pull flags (stream key 13). */
#define WIRE_PP_PROBE 1u /* request: only our departed members; answer
			  * in full (with WIRE_PP_WANT) if our live digest
			  * differs from yours */
#define WIRE_PP_WANT 2u	 /* response: views differ, send your table */

/* ---- writing ---- */

/* A compound under construction in b (which is reset). */
struct wire_dgram {
	struct buf *b;
	struct codec_writer w;
	size_t count_off; /* offset of the array32 count */
	uint32_t count;
	size_t budget;	  /* max plaintext bytes */
};

/* Start a datagram: write the header. 0 or an error. */
int wire_dgram_begin(struct wire_dgram *d, struct buf *b, size_t budget,
		     const struct wire_hdr *h);

/* Bytes still available for messages. */
size_t wire_dgram_room(const struct wire_dgram *d);

/* Append one message if it fits the budget; otherwise leave the datagram
 * unchanged and return ERR_TOOBIG. */
int wire_dgram_add(struct wire_dgram *d, const struct wire_msg *m);

/* Patch the message count. Returns the number of messages. */
uint32_t wire_dgram_end(struct wire_dgram *d);

/* An upper bound of the encoded size of m (for cheap fit checks). */
size_t wire_msg_size(const struct wire_msg *m);

/* Encode a stream frame's header and fields up to the members array; then
 * call wire_member_write() nmembers times, then wire_stream_end_members()
 * and wire_stream_app(). Errors stick in w. */
void wire_stream_begin(struct codec_writer *w, const struct wire_hdr *h,
		       uint8_t kind, bool join, uint32_t nmembers);
/* The same with the sender's live digest (key 12) and flags (key 13,
 * written when not 0). */
void wire_stream_begin_digest(struct codec_writer *w, const struct wire_hdr *h,
			      uint8_t kind, bool join, uint64_t digest,
			      uint64_t flags, uint32_t nmembers);
void wire_member_write(struct codec_writer *w, const struct wire_member *m);
void wire_stream_app(struct codec_writer *w, const uint8_t *p, size_t n);

/* A whole TCP ping (target set) or ack (target NULL) frame. */
void wire_stream_ping(struct codec_writer *w, const struct wire_hdr *h,
		      uint8_t kind, uint64_t seq, const char *target,
		      uint32_t target_len);

/* ---- reading ---- */

/* Decode a datagram's header; on success *msgs is a reader over the
 * messages array's elements and *n their count. The caller reads the n
 * messages and then must check codec_read_end(msgs): when the messages are
 * the map's last key (as we write them) the reader runs to the end of the
 * input, and trailing bytes are found there. 0 or ERR_DECODE, ERR_TRUNC,
 * ERR_VERSION. */
int wire_dgram_decode(const uint8_t *p, size_t len, struct wire_hdr *h,
		      struct codec_reader *msgs, uint32_t *n);

/* Decode the next message from r (validating names, addresses, sizes).
 * Unknown message types decode to type 0 and are skipped. */
int wire_msg_decode(struct codec_reader *r, struct wire_msg *m);

/* Decode a stream frame's header and locate its members and app state. */
int wire_stream_decode(const uint8_t *p, size_t len, struct wire_stream *s);

/* Decode the next member record from the members reader. */
int wire_member_decode(struct codec_reader *r, struct wire_member *m);

#endif
