/* SPDX-License-Identifier: MIT */
/*
 * sched/node.c — one shoal node: membership, tags, keys (and, as sched/
 * grows, manager election, service state and placement).
 *
 * The node owns a struct swim and everything above it. The runtime talks
 * only to the node; the node forwards packets to the swim, and after every
 * verb moves the swim's membership events into its own event queue, so the
 * layers above see each change in the same call that caused it.
 *
 * Metadata. Each member's metadata (at most SWIM_META_MAX bytes) is a
 * msgpack map:
 *
 *     { 1: { tag-key: tag-value, ... },      tags (role=..., zone=...)
 *       2: [ fingerprint (bin 8), ... ] }    keys held, primary first
 *
 * so any node can list every member's tags and which keys it holds (the
 * "keys list" view) without asking. Unknown keys are ignored.
 *
 * Application messages. Broadcasts between node layers are msgpack maps
 * whose key 0 is a kind; kind 1 is a keyring operation:
 *
 *     { 0: 1, 1: op (1 install, 2 use, 3 remove), 2: key (bin 32) }
 *
 *     { 0: 1, 1: op (1 install, 2 use, 3 remove), 2: key (bin 32),
 *       3: keyring version }
 *
 * They are sealed like every packet, so only holders of a cluster key can
 * rotate keys. A node that applies an operation that changed its keyring
 * re-broadcasts it (an epidemic: every member forwards what was news to
 * it), re-advertises its fingerprints, and emits NODE_EV_KEYRING so the
 * runtime persists the ring. "use" carries the key, so a member that missed
 * the install installs it then. Removing the primary is refused everywhere.
 * An operator repeating an operation that is already in effect here sends
 * it out again (an install still reports "already installed").
 *
 * Anti-entropy. The keyring carries a version, a hybrid logical clock
 * (max(version + 1, now) at each local operation; operations carry it and
 * raise it where they apply). Every push-pull carries our keyring and its
 * version in the application state; a peer whose version is newer than
 * ours has seen operations we missed, and we adopt its ring whole. So a
 * member that was down or cut off during a rotation, or that joins later,
 * catches up at its next push-pull.
 *
 * Application state (push-pull blob), a msgpack map:
 *
 *     { 1: { 1: keyring version, 2: primary index, 3: [key (bin 32)...] } }
 *
 * (sched/ adds its own key.)
 */
#include "sched/node.h"
#include "sched/node_int.h"

#include <stdlib.h>
#include <string.h>

#include "core/codec.h"
#include "core/err.h"
#include "core/hash.h"

#define NODE_EV_MAX 65536

enum node_msg_kind {
	NODE_MSG_KEYS = 1,
	/* 2 is STATE_MSG_KIND (sched/state.h) */
	NODE_MSG_FOLLOW = 3, /* { 0: 3, 1: term }: "you are my manager" */
};

enum keys_op {
	KEYS_INSTALL = 1,
	KEYS_USE = 2,
	KEYS_REMOVE = 3,
};

/* ---- events ---- */

void
node_push_event(struct node *n, const struct node_event *e)
{
	if (n->ev_n == n->ev_cap) {
		uint32_t cap = n->ev_cap ? n->ev_cap * 2 : 16;
		struct node_event *ev = NULL;

		if (cap <= NODE_EV_MAX)
			ev = malloc(cap * sizeof(*ev));
		if (!ev) {
			n->ev_head = (n->ev_head + 1) % n->ev_cap;
			n->ev_n--;
			n->ev_dropped++;
		} else {
			for (uint32_t i = 0; i < n->ev_n; i++)
				ev[i] = n->ev[(n->ev_head + i) % n->ev_cap];
			free(n->ev);
			n->ev = ev;
			n->ev_cap = cap;
			n->ev_head = 0;
		}
	}
	n->ev[(n->ev_head + n->ev_n) % n->ev_cap] = *e;
	n->ev_n++;
}

static int publish_meta(struct node *n, uint64_t now,
			const struct node_tag *tags, unsigned ntags);

/* Move the swim's events into ours; the place where the layers above
 * learn of membership changes. Also publishes metadata changed from
 * inside a swim callback (where calling back into the swim is not
 * allowed). */
static void
drain_swim(struct node *n)
{
	struct node_event e;

	if (n->meta_dirty) {
		n->meta_dirty = false;
		publish_meta(n, n->now_ms, n->tags, n->ntags);
	}

	memset(&e, 0, sizeof(e));
	e.kind = NODE_EV_MEMBER;
	while (swim_pop_event(n->sw, &e.member)) {
		e.time_ms = e.member.time_ms;
		nsched_on_member(n, &e.member);
		node_push_event(n, &e);
	}
}

/* After every verb: membership events in, then the scheduling side. */
static void
after(struct node *n, uint64_t now)
{
	drain_swim(n);
	nsched_run(n, now);
	drain_swim(n);
}

const char *
node_event_name(const struct node_event *ev)
{
	switch (ev->kind) {
	case NODE_EV_MEMBER:
		return swim_event_name(ev->member.kind);
	case NODE_EV_KEYRING:
		return "keyring";
	case NODE_EV_MANAGER:
		return "manager";
	case NODE_EV_TASK_START:
		return "task-start";
	case NODE_EV_TASK_STOP:
		return "task-stop";
	case NODE_EV_TASK_RESTART:
		return "task-restart";
	}
	return "unknown";
}

bool
node_pop_event(struct node *n, struct node_event *ev)
{
	drain_swim(n);
	if (!n->ev_n) {
		if (n->ev_cap > 64) {
			free(n->ev);
			n->ev = NULL;
			n->ev_cap = 0;
			n->ev_head = 0;
		}
		return false;
	}
	*ev = n->ev[n->ev_head];
	n->ev_head = (n->ev_head + 1) % n->ev_cap;
	n->ev_n--;
	return true;
}

/* ---- tags ---- */

static bool
tag_key_valid(const char *k, size_t n)
{
	if (n == 0 || n > NODE_TAG_KEY_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = k[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '-'))
			return false;
	}
	return true;
}

static bool
tag_value_valid(const char *v, size_t n)
{
	if (n > NODE_TAG_VALUE_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v[i];

		if (c <= ' ' || c >= 0x7f || c == '=' || c == ',')
			return false;
	}
	return true;
}

int
node_tag_parse(const char *text, struct node_tag *tag)
{
	const char *eq;
	size_t kn, vn;

	if (!text)
		return ERR_INVAL;
	eq = strchr(text, '=');
	if (!eq)
		return ERR_INVAL;
	kn = (size_t)(eq - text);
	vn = strlen(eq + 1);
	if (!tag_key_valid(text, kn) || !tag_value_valid(eq + 1, vn))
		return ERR_INVAL;
	memcpy(tag->key, text, kn);
	tag->key[kn] = '\0';
	memcpy(tag->value, eq + 1, vn);
	tag->value[vn] = '\0';
	return 0;
}

static int
check_tags(const struct node_tag *tags, unsigned ntags)
{
	if (ntags > NODE_TAGS_MAX)
		return ERR_INVAL;
	for (unsigned i = 0; i < ntags; i++) {
		if (!tag_key_valid(tags[i].key,
				   strnlen(tags[i].key, NODE_TAG_KEY_MAX + 1)) ||
		    !tag_value_valid(tags[i].value,
				     strnlen(tags[i].value,
					     NODE_TAG_VALUE_MAX + 1)))
			return ERR_INVAL;
		for (unsigned j = 0; j < i; j++)
			if (strcmp(tags[i].key, tags[j].key) == 0)
				return ERR_INVAL;
	}
	return 0;
}

/* ---- metadata ---- */

static int
encode_meta(const struct node *n, const struct node_tag *tags,
	    unsigned ntags, struct buf *b)
{
	struct codec_writer w;
	const struct keyring *kr = &n->kr;

	codec_writer_init(&w, b);
	codec_write_map(&w, 2);
	codec_write_uint(&w, 1);
	codec_write_map(&w, ntags);
	for (unsigned i = 0; i < ntags; i++) {
		codec_write_cstr(&w, tags[i].key);
		codec_write_cstr(&w, tags[i].value);
	}
	codec_write_uint(&w, 2);
	codec_write_array(&w, kr->n);
	for (unsigned i = 0; i < kr->n; i++) {
		/* Primary first, then the others in ring order. */
		unsigned k = i == 0 ? kr->primary
				    : (i <= kr->primary ? i - 1 : i);
		uint8_t fp[8];
		char hex[CRYPTO_FP_LEN];

		crypto_key_fingerprint(kr->keys[k].bytes, hex);
		for (int j = 0; j < 8; j++) {
			int hi = hex[2 * j] <= '9' ? hex[2 * j] - '0'
						   : hex[2 * j] - 'a' + 10;
			int lo = hex[2 * j + 1] <= '9'
					 ? hex[2 * j + 1] - '0'
					 : hex[2 * j + 1] - 'a' + 10;

			fp[j] = (uint8_t)(hi << 4 | lo);
		}
		codec_write_bin(&w, fp, sizeof(fp));
	}
	return codec_writer_error(&w);
}

static int
publish_meta(struct node *n, uint64_t now, const struct node_tag *tags,
	     unsigned ntags)
{
	struct buf b;
	int rc;

	buf_init(&b, SWIM_META_MAX);
	rc = encode_meta(n, tags, ntags, &b);
	if (rc == 0)
		rc = swim_set_meta(n->sw, now, b.data, b.len);
	buf_release(&b);
	return rc;
}

/* Walk a member's metadata. Calls tag(k, v) and fp(bytes) as found.
 * Returns 0 or ERR_DECODE. */
static int
walk_meta(const uint8_t *p, size_t len,
	  void (*tag)(void *, const char *, uint32_t, const char *, uint32_t),
	  void (*fp)(void *, const uint8_t *), void *ctx)
{
	struct codec_reader r;
	uint32_t nkeys;

	if (len == 0)
		return 0;
	codec_reader_init(&r, p, len);
	if (codec_read_map(&r, &nkeys))
		return ERR_DECODE;
	while (nkeys--) {
		uint64_t key;
		uint32_t cnt;

		if (codec_read_uint(&r, &key))
			return ERR_DECODE;
		if (key == 1) {
			if (codec_read_map(&r, &cnt))
				return ERR_DECODE;
			while (cnt--) {
				const char *k, *v;
				uint32_t kn, vn;

				if (codec_read_str(&r, &k, &kn) ||
				    codec_read_str(&r, &v, &vn))
					return ERR_DECODE;
				if (tag)
					tag(ctx, k, kn, v, vn);
			}
		} else if (key == 2) {
			if (codec_read_array(&r, &cnt))
				return ERR_DECODE;
			while (cnt--) {
				const uint8_t *b;
				uint32_t bn;

				if (codec_read_bin(&r, &b, &bn) || bn != 8)
					return ERR_DECODE;
				if (fp)
					fp(ctx, b);
			}
		} else if (codec_skip(&r)) {
			return ERR_DECODE;
		}
	}
	return codec_read_end(&r) ? ERR_DECODE : 0;
}

struct tag_sink {
	struct node_tag *tags;
	unsigned cap, n;
};

static void
tag_collect(void *ctx, const char *k, uint32_t kn, const char *v, uint32_t vn)
{
	struct tag_sink *ts = ctx;

	if (ts->n >= ts->cap || kn > NODE_TAG_KEY_MAX ||
	    vn > NODE_TAG_VALUE_MAX)
		return;
	memcpy(ts->tags[ts->n].key, k, kn);
	ts->tags[ts->n].key[kn] = '\0';
	memcpy(ts->tags[ts->n].value, v, vn);
	ts->tags[ts->n].value[vn] = '\0';
	ts->n++;
}

int
node_walk_tags(const uint8_t *meta, size_t len,
	       void (*tag)(void *ctx, const char *k, uint32_t kn,
			   const char *v, uint32_t vn),
	       void *ctx)
{
	return walk_meta(meta, len, tag, NULL, ctx);
}

int
node_member_tags(const struct node *n, const char *name,
		 struct node_tag *tags, unsigned cap)
{
	struct swim_member_info mi;
	struct tag_sink ts = { tags, cap, 0 };

	if (!swim_member_find(n->sw, name, &mi))
		return ERR_NOENT;
	if (walk_meta(mi.meta, mi.meta_len, tag_collect, NULL, &ts))
		return 0; /* unreadable metadata: no tags */
	return (int)ts.n;
}

struct fp_sink {
	char (*fps)[CRYPTO_FP_LEN];
	unsigned cap, n;
};

static void
fp_collect(void *ctx, const uint8_t *b)
{
	static const char hex[] = "0123456789abcdef";
	struct fp_sink *fs = ctx;

	if (fs->n >= fs->cap)
		return;
	for (int i = 0; i < 8; i++) {
		fs->fps[fs->n][2 * i] = hex[b[i] >> 4];
		fs->fps[fs->n][2 * i + 1] = hex[b[i] & 15];
	}
	fs->fps[fs->n][16] = '\0';
	fs->n++;
}

int
node_member_keys(const struct node *n, const char *name,
		 char fps[][CRYPTO_FP_LEN], unsigned cap)
{
	struct swim_member_info mi;
	struct fp_sink fs = { fps, cap, 0 };

	if (!swim_member_find(n->sw, name, &mi))
		return ERR_NOENT;
	if (walk_meta(mi.meta, mi.meta_len, NULL, fp_collect, &fs))
		return 0;
	return (int)fs.n;
}

/* ---- keys ---- */

static void
keyring_changed(struct node *n, uint64_t now)
{
	struct node_event e;

	n->meta_dirty = true; /* published by drain_swim() */
	memset(&e, 0, sizeof(e));
	e.kind = NODE_EV_KEYRING;
	e.time_ms = now;
	node_push_event(n, &e);
}

static void
broadcast_keys(struct node *n, enum keys_op op,
	       const uint8_t key[CRYPTO_KEY_LEN])
{
	uint8_t msg[80];
	struct buf b;
	struct codec_writer w;
	uint64_t dedup;

	buf_init(&b, sizeof(msg));
	codec_writer_init(&w, &b);
	codec_write_map(&w, 4);
	codec_write_uint(&w, 0);
	codec_write_uint(&w, NODE_MSG_KEYS);
	codec_write_uint(&w, 1);
	codec_write_uint(&w, op);
	codec_write_uint(&w, 2);
	codec_write_bin(&w, key, CRYPTO_KEY_LEN);
	codec_write_uint(&w, 3);
	codec_write_uint(&w, n->kr_version);
	if (codec_writer_error(&w) == 0) {
		memcpy(msg, b.data, b.len);
		/* One queued broadcast per key: a later op on the same key
		 * replaces an earlier one still in the queue. */
		dedup = hash64(key, CRYPTO_KEY_LEN, 0x6b657973) | 1;
		swim_broadcast(n->sw, msg, b.len, dedup, 0);
	}
	buf_release(&b);
}

/* Apply an operation; returns 0 if it changed the keyring, 1 if it was
 * already in effect, or a negative error. */
static int
apply_keys(struct node *n, enum keys_op op, const uint8_t key[CRYPTO_KEY_LEN])
{
	int i = keyring_find(&n->kr, key);

	if (!keyring_is_secure(&n->kr))
		return ERR_STATE;
	switch (op) {
	case KEYS_INSTALL:
		if (i >= 0)
			return 1;
		return keyring_add(&n->kr, key);
	case KEYS_USE:
		if (i >= 0 && (unsigned)i == n->kr.primary)
			return 1;
		if (i < 0) {
			int rc = keyring_add(&n->kr, key);

			if (rc)
				return rc;
		}
		return keyring_use(&n->kr, key);
	case KEYS_REMOVE:
		if (i < 0)
			return 1;
		return keyring_remove(&n->kr, key);
	}
	return ERR_INVAL;
}

static int
keys_local(struct node *n, uint64_t now, enum keys_op op,
	   const uint8_t key[CRYPTO_KEY_LEN])
{
	int rc;

	n->now_ms = now;
	drain_swim(n);
	if (!keyring_is_secure(&n->kr))
		return ERR_STATE;
	/* The operator's view of errors: using or removing a key this node
	 * does not hold is refused; installing one it holds is reported, but
	 * the operation still goes out again, so that an operator can push it
	 * to members that missed it. */
	if (op == KEYS_USE && keyring_find(&n->kr, key) < 0)
		return ERR_NOENT;
	if (op == KEYS_REMOVE && keyring_find(&n->kr, key) < 0)
		return ERR_NOENT;
	rc = apply_keys(n, op, key);
	if (rc < 0)
		return rc;
	if (rc == 0) {
		n->kr_version = n->kr_version + 1 > now ? n->kr_version + 1
							: now;
		keyring_changed(n, now);
	}
	broadcast_keys(n, op, key);
	drain_swim(n);
	return op == KEYS_INSTALL && rc == 1 ? ERR_EXIST : 0;
}

int
node_keys_install(struct node *n, uint64_t now,
		  const uint8_t key[CRYPTO_KEY_LEN])
{
	return keys_local(n, now, KEYS_INSTALL, key);
}

int
node_keys_use(struct node *n, uint64_t now, const uint8_t key[CRYPTO_KEY_LEN])
{
	return keys_local(n, now, KEYS_USE, key);
}

int
node_keys_remove(struct node *n, uint64_t now,
		 const uint8_t key[CRYPTO_KEY_LEN])
{
	return keys_local(n, now, KEYS_REMOVE, key);
}

const struct keyring *
node_keyring(const struct node *n)
{
	return &n->kr;
}

int
node_set_keyring(struct node *n, uint64_t now, const struct keyring *kr)
{
	if (keyring_is_secure(kr) != keyring_is_secure(&n->kr))
		return ERR_INVAL;
	n->kr = *kr;
	n->now_ms = now;
	n->meta_dirty = true;
	drain_swim(n);
	return 0;
}

/* ---- application messages ---- */

static void
on_keys_msg(struct node *n, uint64_t now, struct codec_reader *r,
	    uint32_t nkeys)
{
	uint64_t op = 0, version = 0;
	const uint8_t *key = NULL;
	uint32_t klen = 0;

	while (nkeys--) {
		uint64_t k;

		if (codec_read_uint(r, &k))
			return;
		if (k == 1)
			codec_read_uint_max(r, KEYS_REMOVE, &op);
		else if (k == 2)
			codec_read_bin(r, &key, &klen);
		else if (k == 3)
			codec_read_uint(r, &version);
		else
			codec_skip(r);
		if (r->err)
			return;
	}
	if (codec_read_end(r) || !key || klen != CRYPTO_KEY_LEN || op < 1)
		return;
	if (apply_keys(n, (enum keys_op)op, key) == 0) {
		if (version > n->kr_version)
			n->kr_version = version;
		keyring_changed(n, now);
		broadcast_keys(n, (enum keys_op)op, key);
	}
}

static void
on_app_message(void *ctx, uint64_t now, const char *from, const uint8_t *p,
	       size_t len)
{
	struct node *n = ctx;
	struct codec_reader r;
	uint32_t nkeys;
	uint64_t k0, kind;

	(void)from;
	codec_reader_init(&r, p, len);
	if (codec_read_map(&r, &nkeys) || nkeys == 0 ||
	    codec_read_uint(&r, &k0) || k0 != 0 ||
	    codec_read_uint(&r, &kind))
		return;
	switch (kind) {
	case NODE_MSG_KEYS:
		on_keys_msg(n, now, &r, nkeys - 1);
		return;
	case STATE_MSG_KIND:
		nsched_on_delta(n, now, p, len);
		return;
	case NODE_MSG_FOLLOW: {
		uint64_t k, term = 0;

		if (nkeys == 2 && codec_read_uint(&r, &k) == 0 && k == 1 &&
		    codec_read_uint(&r, &term) == 0 &&
		    codec_read_end(&r) == 0)
			nsched_on_follow(n, now, from, term);
		return;
	}
	default:
		return; /* a newer peer's message kind */
	}
}

/* ---- application state (push-pull) ---- */

static int
local_state(void *ctx, struct buf *b, bool join)
{
	struct node *n = ctx;
	struct codec_writer w;

	(void)join;
	codec_writer_init(&w, b);
	if (!keyring_is_secure(&n->kr)) {
		codec_write_map(&w, 1);
		goto sched;
	}
	codec_write_map(&w, 2);
	codec_write_uint(&w, 1);
	codec_write_map(&w, 3);
	codec_write_uint(&w, 1);
	codec_write_uint(&w, n->kr_version);
	codec_write_uint(&w, 2);
	codec_write_uint(&w, n->kr.primary);
	codec_write_uint(&w, 3);
	codec_write_array(&w, n->kr.n);
	for (unsigned i = 0; i < n->kr.n; i++)
		codec_write_bin(&w, n->kr.keys[i].bytes, CRYPTO_KEY_LEN);
sched:
	/* Key 2: the replicated state (sched/state.h), one msgpack value. */
	codec_write_uint(&w, 2);
	if (codec_writer_error(&w))
		return codec_writer_error(&w);
	return nsched_encode_full(n, b);
}

/* A peer's keyring: adopt it whole when its version is newer. The ring is
 * checked completely before it replaces ours. */
static void
merge_keyring(struct node *n, uint64_t now, struct codec_reader *r)
{
	struct keyring kr;
	uint64_t version = 0, primary = 0;
	uint32_t nkeys, cnt = 0;
	bool have_keys = false;

	keyring_init(&kr);
	if (codec_read_map(r, &nkeys))
		return;
	while (nkeys--) {
		uint64_t k;

		if (codec_read_uint(r, &k))
			return;
		if (k == 1) {
			codec_read_uint(r, &version);
		} else if (k == 2) {
			codec_read_uint_max(r, CRYPTO_KEYS_MAX - 1, &primary);
		} else if (k == 3) {
			if (codec_read_array(r, &cnt) || cnt == 0 ||
			    cnt > CRYPTO_KEYS_MAX)
				return;
			for (uint32_t i = 0; i < cnt; i++) {
				const uint8_t *key;
				uint32_t klen;

				if (codec_read_bin(r, &key, &klen) ||
				    klen != CRYPTO_KEY_LEN ||
				    keyring_add(&kr, key))
					return;
			}
			have_keys = true;
		} else {
			codec_skip(r);
		}
		if (r->err)
			return;
	}
	if (!have_keys || primary >= kr.n || version <= n->kr_version ||
	    !keyring_is_secure(&n->kr))
		return;
	kr.primary = (unsigned)primary;
	n->kr = kr;
	n->kr_version = version;
	keyring_changed(n, now);
}

static void
merge_state(void *ctx, uint64_t now, const uint8_t *p, size_t len, bool join)
{
	struct node *n = ctx;
	struct codec_reader r;
	uint32_t nkeys;

	(void)join;
	codec_reader_init(&r, p, len);
	if (codec_read_map(&r, &nkeys))
		return;
	while (nkeys--) {
		uint64_t k;

		if (codec_read_uint(&r, &k))
			return;
		if (k == 1) {
			merge_keyring(n, now, &r);
		} else if (k == 2) {
			const uint8_t *start = r.p;

			if (codec_skip(&r))
				return;
			nsched_merge_full(n, now, start,
					  (size_t)(r.p - start));
		} else if (codec_skip(&r)) {
			return;
		}
		if (r.err)
			return;
	}
}

/* ---- life cycle ---- */

struct node *
node_new(const struct node_config *cfg, const struct keyring *kr,
	 const struct node_env *env, int *err)
{
	struct swim_env senv;
	struct swim_app app;
	struct node *n;
	int rc;

	*err = 0;
	if (!cfg || !kr || !env || !env->pool ||
	    check_tags(cfg->tags, cfg->ntags)) {
		*err = ERR_INVAL;
		return NULL;
	}
	n = calloc(1, sizeof(*n));
	if (!n) {
		*err = ERR_NOMEM;
		return NULL;
	}
	n->kr = *kr;
	n->env = *env;
	memcpy(n->tags, cfg->tags, sizeof(n->tags));
	n->ntags = cfg->ntags;

	memset(&senv, 0, sizeof(senv));
	senv.pool = env->pool;
	senv.log = env->log;
	senv.keyring = &n->kr;
	senv.nonce = env->nonce;
	senv.nonce_ctx = env->nonce_ctx;
	memset(&app, 0, sizeof(app));
	app.ctx = n;
	app.on_message = on_app_message;
	app.local_state = local_state;
	app.merge_state = merge_state;

	n->sw = swim_new(&cfg->swim, &senv, &app, err);
	if (!n->sw) {
		free(n);
		return NULL;
	}
	rc = nsched_init(n, cfg);
	if (rc) {
		*err = rc;
		node_delete(n);
		return NULL;
	}
	rc = publish_meta(n, cfg->swim.start_ms, n->tags, n->ntags);
	if (rc) {
		*err = rc == ERR_TOOBIG ? ERR_INVAL : rc;
		node_delete(n);
		return NULL;
	}
	/* Our own metadata update is not news to the runtime. */
	while (swim_pop_event(n->sw, &(struct swim_event){ 0 }))
		;
	return n;
}

void
node_delete(struct node *n)
{
	if (!n)
		return;
	nsched_destroy(n);
	swim_delete(n->sw);
	free(n->ev);
	free(n);
}

/* ---- the verbs ---- */

void
node_recv(struct node *n, uint64_t now, const struct addr *from,
	  const uint8_t *p, size_t len)
{
	n->now_ms = now;
	swim_recv(n->sw, now, from, p, len);
	after(n, now);
}

void
node_recv_stream(struct node *n, uint64_t now, uint32_t conn_id,
		 const struct addr *from, const uint8_t *p, size_t len)
{
	n->now_ms = now;
	swim_recv_stream(n->sw, now, conn_id, from, p, len);
	after(n, now);
}

void
node_stream_reply(struct node *n, uint64_t now, uint32_t stream_id,
		  const uint8_t *p, size_t len)
{
	n->now_ms = now;
	swim_stream_reply(n->sw, now, stream_id, p, len);
	after(n, now);
}

void
node_stream_failed(struct node *n, uint64_t now, uint32_t stream_id)
{
	n->now_ms = now;
	swim_stream_failed(n->sw, now, stream_id);
	after(n, now);
}

void
node_tick(struct node *n, uint64_t now)
{
	n->now_ms = now;
	swim_tick(n->sw, now);
	after(n, now);
}

uint64_t
node_next_deadline(const struct node *n)
{
	uint64_t a = swim_next_deadline(n->sw), b;

	if (swim_is_stopped(n->sw))
		return UINT64_MAX;
	b = nsched_next_deadline(n);
	return a < b ? a : b;
}

bool
node_pop_out(struct node *n, struct swim_out *out)
{
	return swim_pop_out(n->sw, out);
}

/* ---- membership control ---- */

int
node_join(struct node *n, uint64_t now, const struct addr *seeds,
	  size_t nseeds)
{
	int rc = swim_join(n->sw, now, seeds, nseeds);

	after(n, now);
	return rc;
}

int
node_leave(struct node *n, uint64_t now)
{
	int rc = swim_leave(n->sw, now);

	nsched_self_changed(n);
	after(n, now);
	return rc;
}

bool
node_is_stopped(const struct node *n)
{
	return swim_is_stopped(n->sw);
}

int
node_force_leave(struct node *n, uint64_t now, const char *name)
{
	int rc = swim_force_leave(n->sw, now, name);

	rc = nsched_force_leave(n, now, name, rc);
	after(n, now);
	return rc;
}

int
node_set_tags(struct node *n, uint64_t now, const struct node_tag *tags,
	      unsigned ntags)
{
	int rc;

	if (check_tags(tags, ntags))
		return ERR_INVAL;
	rc = publish_meta(n, now, tags, ntags);
	if (rc)
		return rc == ERR_TOOBIG ? ERR_INVAL : rc;
	memcpy(n->tags, tags, ntags * sizeof(*tags));
	n->ntags = ntags;
	nsched_self_changed(n);
	after(n, now);
	return 0;
}

size_t
node_preload(struct node *n, uint64_t now, const struct swim_member_info *m,
	     size_t count)
{
	size_t added = swim_preload(n->sw, now, m, count);

	after(n, now);
	return added;
}

size_t
node_preload_view(struct node *n, uint64_t now, struct swim_view *v)
{
	size_t added = swim_preload_view(n->sw, now, v);

	after(n, now);
	return added;
}

size_t
node_memory(const struct node *n)
{
	return sizeof(*n) + (size_t)n->ev_cap * sizeof(struct node_event) +
	       swim_memory(n->sw) + state_memory(n->st) + n->scratch.cap +
	       n->ntasks * sizeof(struct node_assigned) +
	       n->pm_cap * sizeof(struct plan_member) +
	       n->ptags_cap * sizeof(struct spec_tag) +
	       n->pt_cap * sizeof(struct plan_task);
}

const struct swim *
node_swim(const struct node *n)
{
	return n->sw;
}
