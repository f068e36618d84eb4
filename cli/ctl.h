/* SPDX-License-Identifier: MIT */
/*
 * cli/ctl.h — the control-socket protocol between `shoal` and its agent.
 *
 * Transport: a unix stream socket (mode 0600 in a 0700 data dir). Each
 * message is a frame (cli/frame.h: u32 big-endian length, then payload)
 * whose payload is one msgpack map with string keys. Several requests may
 * be sent on one connection; each gets exactly one response, in order,
 * except "monitor", after whose response the connection carries a stream of
 * event frames until the client closes it.
 *
 * Request map:
 *
 *   "op"    str   required: members | info | leave | force-leave |
 *                 keys-list | keys-install | keys-use | keys-remove |
 *                 monitor | service-create | service-update |
 *                 service-scale | service-rm | service-ls | service-ps |
 *                 service-inspect | node-update
 *   "seq"   uint  optional, echoed in the response (default 0)
 *   "name"  str   1..64 bytes: the member (force-leave, node-update) or
 *                 the service (service-update/scale/rm/inspect, and
 *                 optionally service-ps)
 *   "key"   str   keys-install/use/remove: base64 key (44 chars)
 *   "logs"  str   monitor: also stream log records up to this level
 *   "replicas"     uint  service-scale: the new count (<= 10000)
 *   "availability" str   node-update: active | pause | drain
 *   "spec"  map   service-create: the spec; service-update: the fields to
 *                 change (cli/svc.h describes the map)
 *
 * Decoding is strict: a request must be a map, keys must be strings from
 * the list above, each at most once, with the right type and only where the
 * op takes it; anything else is refused with an error response naming the
 * problem. Requests larger than CTL_REQ_MAX bytes are refused and the
 * connection is closed (the stream cannot be resynchronised).
 *
 * Response map: "seq" (uint), "ok" (bool), on failure "error" (str, one
 * line) and "code" (int, a core/err.h code); on success op-specific fields
 * documented in docs/AGENT.md. Monitor frames are maps with "seq" and one
 * of "event" (map), "log" (str) or "dropped" (uint: frames lost because the
 * client read too slowly).
 */
#ifndef SHOAL_CLI_CTL_H
#define SHOAL_CLI_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/codec.h"
#include "core/crypto.h"
#include "core/log.h"

/* Largest request payload the agent reads. */
#define CTL_REQ_MAX (64u * 1024)
/* Largest response payload the client reads (a members list of 65536). */
#define CTL_RESP_MAX (64u * 1024 * 1024)
/* Socket file name inside the data dir. */
#define CTL_SOCKET_NAME "agent.sock"
/* Longest one-line error text carried in a response. */
#define CTL_ERROR_MAX 200

enum ctl_op {
	CTL_OP_NONE = 0,
	CTL_OP_MEMBERS,
	CTL_OP_INFO,
	CTL_OP_LEAVE,
	CTL_OP_FORCE_LEAVE,
	CTL_OP_KEYS_LIST,
	CTL_OP_KEYS_INSTALL,
	CTL_OP_KEYS_USE,
	CTL_OP_KEYS_REMOVE,
	CTL_OP_MONITOR,
	CTL_OP_SERVICE_CREATE,
	CTL_OP_SERVICE_UPDATE,
	CTL_OP_SERVICE_SCALE,
	CTL_OP_SERVICE_RM,
	CTL_OP_SERVICE_LS,
	CTL_OP_SERVICE_PS,
	CTL_OP_SERVICE_INSPECT,
	CTL_OP_NODE_UPDATE,
	CTL_OP__N,
};

/* Wire name of an op ("members", "keys-install", ...); NULL if none. */
const char *ctl_op_name(enum ctl_op op);
/* Op for a wire name of n bytes; CTL_OP_NONE if unknown. */
enum ctl_op ctl_op_parse(const char *s, size_t n);

struct ctl_request {
	enum ctl_op op;
	uint64_t seq;
	char name[65];			  /* see above; "" when absent */
	char key[CRYPTO_KEY_B64_LEN + 8]; /* keys-install/use/remove */
	bool has_logs;			  /* monitor */
	enum log_level logs;
	uint32_t replicas;    /* service-scale */
	char availability[8]; /* node-update */
	/* service-create/update: the "spec" map, encoded. Decoding points
	 * into the payload (valid while it is); encoding copies it. */
	const uint8_t *spec;
	size_t spec_len;
};

/* The largest replicas a scale request may carry (= SPEC_REPLICAS_MAX:
 * the node gives the reason for anything above its own limit). */
#define CTL_REPLICAS_MAX 0xffffffffu

/* Does an op take / need a "name"? */
bool ctl_op_takes_name(enum ctl_op op);
bool ctl_op_needs_name(enum ctl_op op);

/* Decode one request payload. 0, or a negative error with a one-line
 * reason in why (for the error response). On error, req->seq holds the seq
 * if one was read before the problem, so the reply can still carry it. */
int ctl_request_decode(struct ctl_request *req, const uint8_t *p, size_t n,
		       char *why, size_t why_cap);

/* Append one framed request to b. 0 or a negative error. */
int ctl_request_encode(const struct ctl_request *req, struct buf *b);

/* ---- responses (agent side) ---- */

/* Start a framed response map with `nfields` fields besides "seq" and
 * "ok", writing those two. Returns the frame offset for ctl_resp_end(). */
size_t ctl_resp_begin(struct codec_writer *w, struct buf *b, uint64_t seq,
		      bool ok, uint32_t nfields);
/* Close the frame. 0, or the writer's error. */
int ctl_resp_end(struct codec_writer *w, struct buf *b, size_t off);

/* Append a framed error response: ok=false, "error", "code". */
int ctl_resp_error(struct buf *b, uint64_t seq, int code, const char *msg);

#endif
