/* SPDX-License-Identifier: MIT */
/*
 * cli/format.h — how the shoal commands print the agent's replies.
 *
 * Every function takes a reply already decoded into a tree (cli/mpv.h) and
 * appends text to a buffer; the client writes the buffer to stdout. Keeping
 * the formatting pure makes it testable without an agent. The text formats
 * are for people and simple scripts (fixed columns, one record per line,
 * `key value` pairs for counters); `--format json` is the stable interface
 * for programs and is produced by fmt_json() from the reply as is.
 */
#ifndef SHOAL_CLI_FORMAT_H
#define SHOAL_CLI_FORMAT_H

#include "cli/mpv.h"
#include "core/buf.h"

/* NAME ADDRESS STATUS ROLE TAGS, sorted by name. ROLE is the member's
 * "role" tag ("-" without one); TAGS lists the others as k=v,k=v. */
int fmt_members(struct buf *out, const struct mpv *resp);

/* NAME ADDRESS STATUS AVAILABILITY MANAGER ROLE TAGS (docker node ls),
 * sorted by name; MANAGER is "leader" for the manager in office,
 * "eligible" for a member that may become one, "-" otherwise. */
int fmt_node_ls(struct buf *out, const struct mpv *resp);

/* NAME MODE REPLICAS (running/desired) COMMAND. */
int fmt_service_ls(struct buf *out, const struct mpv *resp);

/* TASK (service.slot) NODE STATE SINCE RESTARTS EXIT ERROR. */
int fmt_service_ps(struct buf *out, const struct mpv *resp);

/* A service's spec and state, one `key: value` per line. */
int fmt_service_inspect(struct buf *out, const struct mpv *resp);

/* Identity and a summary: name, address, cluster, encryption, members by
 * state, health, manager, tasks. */
int fmt_info(struct buf *out, const struct mpv *resp);

/* Every counter as `group.name value`, one per line (members.alive,
 * gossip.dgrams_in, drops.auth, agent.ctl_requests, health, ...). */
int fmt_stats(struct buf *out, const struct mpv *resp);

/* FINGERPRINT PRIMARY INSTALLED NODES. */
int fmt_keys(struct buf *out, const struct mpv *resp);

/* One monitor frame ({"event": ...}, {"log": ...} or {"dropped": n}) as a
 * line of text. */
int fmt_monitor(struct buf *out, const struct mpv *frame);

/* The reply without "seq" and "ok", as one line of JSON. */
int fmt_json(struct buf *out, const struct mpv *resp);

#endif
