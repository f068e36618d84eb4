/* SPDX-License-Identifier: MIT */
/*
 * cli/ctl.c — encoding and strict decoding of control requests.
 *
 * The control socket is reachable only by the agent's own user, but it is
 * still an input from another process, and a confused script or a fuzzer
 * should get an error line back, never a crash or a half-applied command.
 * So the decoder is a whitelist: it knows every key, its type, its bound
 * and which ops take it, and refuses everything else by name. Keys are
 * strings (not the small integers of the gossip wire) because this protocol
 * is meant to be spoken by people's scripts in any language, as serf's RPC
 * is.
 */
#include "cli/ctl.h"

#include <stdio.h>
#include <string.h>

#include "cli/frame.h"
#include "core/err.h"

static const char *const op_names[CTL_OP__N] = {
	[CTL_OP_MEMBERS] = "members",
	[CTL_OP_INFO] = "info",
	[CTL_OP_LEAVE] = "leave",
	[CTL_OP_FORCE_LEAVE] = "force-leave",
	[CTL_OP_KEYS_LIST] = "keys-list",
	[CTL_OP_KEYS_INSTALL] = "keys-install",
	[CTL_OP_KEYS_USE] = "keys-use",
	[CTL_OP_KEYS_REMOVE] = "keys-remove",
	[CTL_OP_MONITOR] = "monitor",
	[CTL_OP_SERVICE_CREATE] = "service-create",
	[CTL_OP_SERVICE_UPDATE] = "service-update",
	[CTL_OP_SERVICE_SCALE] = "service-scale",
	[CTL_OP_SERVICE_RM] = "service-rm",
	[CTL_OP_SERVICE_LS] = "service-ls",
	[CTL_OP_SERVICE_PS] = "service-ps",
	[CTL_OP_SERVICE_INSPECT] = "service-inspect",
	[CTL_OP_NODE_UPDATE] = "node-update",
};

const char *
ctl_op_name(enum ctl_op op)
{
	if ((unsigned)op >= CTL_OP__N)
		return NULL;
	return op_names[op];
}

enum ctl_op
ctl_op_parse(const char *s, size_t n)
{
	for (int i = 1; i < CTL_OP__N; i++)
		if (strlen(op_names[i]) == n && memcmp(op_names[i], s, n) == 0)
			return (enum ctl_op)i;
	return CTL_OP_NONE;
}

static bool
op_takes_key(enum ctl_op op)
{
	return op == CTL_OP_KEYS_INSTALL || op == CTL_OP_KEYS_USE ||
	       op == CTL_OP_KEYS_REMOVE;
}

bool
ctl_op_takes_name(enum ctl_op op)
{
	switch (op) {
	case CTL_OP_FORCE_LEAVE:
	case CTL_OP_SERVICE_UPDATE:
	case CTL_OP_SERVICE_SCALE:
	case CTL_OP_SERVICE_RM:
	case CTL_OP_SERVICE_PS:
	case CTL_OP_SERVICE_INSPECT:
	case CTL_OP_NODE_UPDATE:
		return true;
	default:
		return false;
	}
}

bool
ctl_op_needs_name(enum ctl_op op)
{
	return ctl_op_takes_name(op) && op != CTL_OP_SERVICE_PS;
}

static bool
op_takes_spec(enum ctl_op op)
{
	return op == CTL_OP_SERVICE_CREATE || op == CTL_OP_SERVICE_UPDATE;
}

enum field {
	F_OP = 1 << 0,
	F_SEQ = 1 << 1,
	F_NAME = 1 << 2,
	F_KEY = 1 << 3,
	F_LOGS = 1 << 4,
	F_REPLICAS = 1 << 5,
	F_AVAIL = 1 << 6,
	F_SPEC = 1 << 7,
};

#define FAIL(code, ...)                                                        \
	do {                                                                   \
		snprintf(why, why_cap, __VA_ARGS__);                           \
		return (code);                                                 \
	} while (0)

/* A printable rendering of a (possibly hostile) key for error text. */
static void
safe_key(char *out, size_t cap, const char *s, uint32_t n)
{
	size_t j = 0;

	for (uint32_t i = 0; i < n && j + 1 < cap; i++) {
		char c = s[i];

		out[j++] = (c >= 0x21 && c < 0x7f && c != '"') ? c : '?';
	}
	out[j] = '\0';
}

int
ctl_request_decode(struct ctl_request *req, const uint8_t *p, size_t n,
		   char *why, size_t why_cap)
{
	struct codec_reader r;
	unsigned seen = 0;
	uint32_t nfields;
	const char *s;
	uint32_t slen;
	char tmp[40];

	memset(req, 0, sizeof(*req));
	why[0] = '\0';
	codec_reader_init(&r, p, n);
	if (codec_peek(&r) != CODEC_MAP)
		FAIL(ERR_DECODE, "request is not a msgpack map");
	if (codec_read_map(&r, &nfields))
		FAIL(r.err, "malformed msgpack: %s", err_str(r.err));
	if (nfields > 8)
		FAIL(ERR_DECODE, "request has too many fields (%u)", nfields);
	for (uint32_t i = 0; i < nfields; i++) {
		unsigned f;

		if (codec_peek(&r) != CODEC_STR)
			FAIL(ERR_DECODE, "request keys must be strings");
		if (codec_read_str(&r, &s, &slen))
			FAIL(r.err, "malformed msgpack: %s", err_str(r.err));
		if (slen == 2 && memcmp(s, "op", 2) == 0)
			f = F_OP;
		else if (slen == 3 && memcmp(s, "seq", 3) == 0)
			f = F_SEQ;
		else if (slen == 4 && memcmp(s, "name", 4) == 0)
			f = F_NAME;
		else if (slen == 3 && memcmp(s, "key", 3) == 0)
			f = F_KEY;
		else if (slen == 4 && memcmp(s, "logs", 4) == 0)
			f = F_LOGS;
		else if (slen == 8 && memcmp(s, "replicas", 8) == 0)
			f = F_REPLICAS;
		else if (slen == 12 && memcmp(s, "availability", 12) == 0)
			f = F_AVAIL;
		else if (slen == 4 && memcmp(s, "spec", 4) == 0)
			f = F_SPEC;
		else {
			safe_key(tmp, sizeof(tmp), s, slen);
			FAIL(ERR_INVAL, "unknown request field \"%s\"", tmp);
		}
		if (seen & f) {
			safe_key(tmp, sizeof(tmp), s, slen);
			FAIL(ERR_INVAL, "duplicate request field \"%s\"", tmp);
		}
		seen |= f;
		switch (f) {
		case F_OP:
			if (codec_peek(&r) != CODEC_STR ||
			    codec_read_str(&r, &s, &slen))
				FAIL(ERR_DECODE, "\"op\" must be a string");
			req->op = ctl_op_parse(s, slen);
			if (req->op == CTL_OP_NONE) {
				safe_key(tmp, sizeof(tmp), s, slen);
				FAIL(ERR_INVAL, "unknown op \"%s\"", tmp);
			}
			break;
		case F_SEQ:
			if (codec_peek(&r) != CODEC_UINT ||
			    codec_read_uint(&r, &req->seq))
				FAIL(ERR_DECODE,
				     "\"seq\" must be an unsigned integer");
			break;
		case F_NAME:
			if (codec_peek(&r) != CODEC_STR ||
			    codec_read_str(&r, &s, &slen))
				FAIL(ERR_DECODE, "\"name\" must be a string");
			if (slen == 0 || slen >= sizeof(req->name) ||
			    memchr(s, '\0', slen))
				FAIL(ERR_INVAL, "\"name\" must be 1..%zu bytes",
				     sizeof(req->name) - 1);
			memcpy(req->name, s, slen);
			req->name[slen] = '\0';
			break;
		case F_KEY:
			if (codec_peek(&r) != CODEC_STR ||
			    codec_read_str(&r, &s, &slen))
				FAIL(ERR_DECODE, "\"key\" must be a string");
			if (slen == 0 || slen >= sizeof(req->key) ||
			    memchr(s, '\0', slen))
				FAIL(ERR_KEYLEN,
				     "\"key\" must be a base64 key of 44 "
				     "characters");
			memcpy(req->key, s, slen);
			req->key[slen] = '\0';
			break;
		case F_LOGS:
			if (codec_peek(&r) != CODEC_STR ||
			    codec_read_str(&r, &s, &slen))
				FAIL(ERR_DECODE, "\"logs\" must be a string");
			if (slen >= sizeof(tmp))
				FAIL(ERR_INVAL, "\"logs\" is not a log level");
			memcpy(tmp, s, slen);
			tmp[slen] = '\0';
			if (log_level_parse(tmp, &req->logs))
				FAIL(ERR_INVAL, "\"logs\" is not a log level "
						"(error, warn, info, debug, "
						"trace)");
			req->has_logs = true;
			break;
		case F_REPLICAS: {
			uint64_t v;

			if (codec_peek(&r) != CODEC_UINT ||
			    codec_read_uint(&r, &v))
				FAIL(ERR_DECODE, "\"replicas\" must be an "
						 "unsigned integer");
			if (v > CTL_REPLICAS_MAX)
				FAIL(ERR_RANGE, "\"replicas\" is too large");
			req->replicas = (uint32_t)v;
			break;
		}
		case F_AVAIL:
			if (codec_peek(&r) != CODEC_STR ||
			    codec_read_str(&r, &s, &slen))
				FAIL(ERR_DECODE,
				     "\"availability\" must be a string");
			if (!((slen == 6 && memcmp(s, "active", 6) == 0) ||
			      (slen == 5 && memcmp(s, "pause", 5) == 0) ||
			      (slen == 5 && memcmp(s, "drain", 5) == 0)))
				FAIL(ERR_INVAL, "\"availability\" must be "
						"active, pause or drain");
			memcpy(req->availability, s, slen);
			req->availability[slen] = '\0';
			break;
		case F_SPEC: {
			const uint8_t *start = r.p;

			if (codec_peek(&r) != CODEC_MAP)
				FAIL(ERR_DECODE, "\"spec\" must be a map");
			if (codec_skip(&r))
				FAIL(r.err, "malformed \"spec\": %s",
				     err_str(r.err));
			req->spec = start;
			req->spec_len = (size_t)(r.p - start);
			break;
		}
		}
	}
	if (codec_read_end(&r))
		FAIL(ERR_DECODE, "trailing bytes after the request map");
	if (!(seen & F_OP))
		FAIL(ERR_INVAL, "request has no \"op\"");
	if ((seen & F_NAME) && !ctl_op_takes_name(req->op))
		FAIL(ERR_INVAL, "op \"%s\" takes no \"name\"",
		     ctl_op_name(req->op));
	if ((seen & F_REPLICAS) && req->op != CTL_OP_SERVICE_SCALE)
		FAIL(ERR_INVAL, "op \"%s\" takes no \"replicas\"",
		     ctl_op_name(req->op));
	if ((seen & F_AVAIL) && req->op != CTL_OP_NODE_UPDATE)
		FAIL(ERR_INVAL, "op \"%s\" takes no \"availability\"",
		     ctl_op_name(req->op));
	if ((seen & F_SPEC) && !op_takes_spec(req->op))
		FAIL(ERR_INVAL, "op \"%s\" takes no \"spec\"",
		     ctl_op_name(req->op));
	if ((seen & F_KEY) && !op_takes_key(req->op))
		FAIL(ERR_INVAL, "op \"%s\" takes no \"key\"",
		     ctl_op_name(req->op));
	if ((seen & F_LOGS) && req->op != CTL_OP_MONITOR)
		FAIL(ERR_INVAL, "op \"%s\" takes no \"logs\"",
		     ctl_op_name(req->op));
	if (ctl_op_needs_name(req->op) && !(seen & F_NAME))
		FAIL(ERR_INVAL, "%s needs \"name\"", ctl_op_name(req->op));
	if (req->op == CTL_OP_SERVICE_SCALE && !(seen & F_REPLICAS))
		FAIL(ERR_INVAL, "service-scale needs \"replicas\"");
	if (req->op == CTL_OP_NODE_UPDATE && !(seen & F_AVAIL))
		FAIL(ERR_INVAL, "node-update needs \"availability\"");
	if (op_takes_spec(req->op) && !(seen & F_SPEC))
		FAIL(ERR_INVAL, "%s needs \"spec\"", ctl_op_name(req->op));
	if (op_takes_key(req->op) && !(seen & F_KEY))
		FAIL(ERR_INVAL, "%s needs \"key\"", ctl_op_name(req->op));
	return 0;
}

int
ctl_request_encode(const struct ctl_request *req, struct buf *b)
{
	struct codec_writer w;
	uint32_t n = 2;
	size_t start = b->len;
	size_t off;
	int err = 0;
	bool with_name;
	int rc;

	if (!ctl_op_name(req->op) || req->op == CTL_OP_NONE)
		return ERR_INVAL;
	with_name = ctl_op_takes_name(req->op) &&
		    (req->name[0] || ctl_op_needs_name(req->op));
	if (with_name)
		n++;
	if (op_takes_key(req->op))
		n++;
	if (req->op == CTL_OP_MONITOR && req->has_logs)
		n++;
	if (req->op == CTL_OP_SERVICE_SCALE)
		n++;
	if (req->op == CTL_OP_NODE_UPDATE)
		n++;
	if (op_takes_spec(req->op)) {
		if (!req->spec || !req->spec_len)
			return ERR_INVAL;
		n++;
	}
	off = frame_begin(b, &err);
	if (err)
		return err;
	codec_writer_init(&w, b);
	codec_write_map(&w, n);
	codec_write_cstr(&w, "op");
	codec_write_cstr(&w, ctl_op_name(req->op));
	codec_write_cstr(&w, "seq");
	codec_write_uint(&w, req->seq);
	if (with_name) {
		codec_write_cstr(&w, "name");
		codec_write_cstr(&w, req->name);
	}
	if (op_takes_key(req->op)) {
		codec_write_cstr(&w, "key");
		codec_write_cstr(&w, req->key);
	}
	if (req->op == CTL_OP_MONITOR && req->has_logs) {
		codec_write_cstr(&w, "logs");
		codec_write_cstr(&w, log_level_name(req->logs));
	}
	if (req->op == CTL_OP_SERVICE_SCALE) {
		codec_write_cstr(&w, "replicas");
		codec_write_uint(&w, req->replicas);
	}
	if (req->op == CTL_OP_NODE_UPDATE) {
		codec_write_cstr(&w, "availability");
		codec_write_cstr(&w, req->availability);
	}
	if (op_takes_spec(req->op)) {
		codec_write_cstr(&w, "spec");
		codec_write_raw(&w, req->spec, req->spec_len);
	}
	rc = codec_writer_error(&w);
	if (!rc)
		rc = frame_finish(b, off);
	if (rc)
		buf_truncate(b, start);
	return rc;
}

size_t
ctl_resp_begin(struct codec_writer *w, struct buf *b, uint64_t seq, bool ok,
	       uint32_t nfields)
{
	int err = 0;
	size_t off = frame_begin(b, &err);

	codec_writer_init(w, b);
	if (err) {
		w->err = err;
		return off;
	}
	codec_write_map(w, nfields + 2);
	codec_write_cstr(w, "seq");
	codec_write_uint(w, seq);
	codec_write_cstr(w, "ok");
	codec_write_bool(w, ok);
	return off;
}

int
ctl_resp_end(struct codec_writer *w, struct buf *b, size_t off)
{
	int rc = codec_writer_error(w);

	if (!rc)
		rc = frame_finish(b, off);
	if (rc && off != (size_t)-1 && off <= b->len)
		buf_truncate(b, off);
	return rc;
}

int
ctl_resp_error(struct buf *b, uint64_t seq, int code, const char *msg)
{
	struct codec_writer w;
	size_t off = ctl_resp_begin(&w, b, seq, false, 2);

	codec_write_cstr(&w, "error");
	codec_write_str(&w, msg, strnlen(msg, CTL_ERROR_MAX));
	codec_write_cstr(&w, "code");
	codec_write_int(&w, code);
	return ctl_resp_end(&w, b, off);
}
