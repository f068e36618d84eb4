/* SPDX-License-Identifier: MIT */
/*
 * cli/svc.h — a service spec as the control protocol carries it.
 *
 * The gossip wire carries specs as maps with small integer keys
 * (sched/spec.h). The control socket is for people's scripts, so there a
 * spec is a map with string keys, which is also what `service inspect
 * --format json` prints (so its output can be edited and sent back):
 *
 *   "name"          str
 *   "mode"          "replicated" | "global"
 *   "replicas"      uint
 *   "args"          [str]        the command
 *   "env"           [str]        "KEY=value"
 *   "constraints"   [str]        "node.KEY==VALUE" / "node.KEY!=VALUE"
 *   "max_per_node"  uint
 *   "restart"       {"condition": "none"|"on-failure"|"any",
 *                    "delay_ms": uint, "max_attempts": uint,
 *                    "window_ms": uint}
 *   "update"        {"parallelism": uint, "delay_ms": uint}
 *
 * In a create every field but name and args may be left out (Docker's
 * defaults; a global service without "replicas" gets 0). In an update
 * the fields present replace the service's; "env_add" / "env_rm" (keys)
 * and "constraints_add" / "constraints_rm" edit the lists instead of
 * replacing them, and the mode and name cannot change.
 *
 * Decoding is strict (unknown or duplicate keys, wrong types are refused
 * by name); the rules themselves (bounds, syntax) are spec_validate()'s,
 * applied by the node, which explains a refusal in one sentence.
 */
#ifndef SHOAL_CLI_SVC_H
#define SHOAL_CLI_SVC_H

#include <stdbool.h>
#include <stddef.h>

#include "core/codec.h"
#include "sched/spec.h"

/* Append s as the string-keyed map. */
void svc_write_spec(struct codec_writer *w, const struct spec *s);

/* Read the map at p[0..n) into s. A create (update false) starts from
 * spec_init() defaults; an update (update true) edits s, which holds the
 * current spec. 0, or a negative error with the reason in why (s is then
 * in an unspecified but valid state: destroy it). */
int svc_read_spec(struct spec *s, const uint8_t *p, size_t n, bool update,
		  char *why, size_t why_cap);

#endif
