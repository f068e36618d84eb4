/* SPDX-License-Identifier: MIT */
/*
 * cli/client_int.h — the plumbing the client commands share
 * (cli/client.c: members, keys, monitor ...; cli/client_svc.c: service
 * and node). Not an API: only the two client files include it.
 *
 * Every command fails the same way: client_fail() prints one line,
 * `shoal CMD: what went wrong`, and the command returns 1;
 * client_die_usage() prints one line with a pointer to --help and exits 2.
 */
#ifndef SHOAL_CLI_CLIENT_INT_H
#define SHOAL_CLI_CLIENT_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/un.h>

#include "cli/ctl.h"
#include "cli/mpv.h"
#include "core/buf.h"

#define CLIENT_ARGS_MAX 64

enum fmt_kind {
	FMT_TEXT,
	FMT_JSON,
};

struct client {
	const char *cmd; /* for messages: "members", "keys install" */
	char socket[sizeof(((struct sockaddr_un *)0)->sun_path)];
	const char *socket_opt;
	const char *data_dir_opt;
	enum fmt_kind format;
	uint64_t timeout_ms;
	const char *logs;
	const char *args[CLIENT_ARGS_MAX];
	int nargs;
	bool help;
	int fd;
};

extern const char client_common_help[];

void client_fail(const struct client *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void client_die_usage(const struct client *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));

/* Parse the common flags (--socket, --data-dir, --timeout, and --format /
 * --logs when allowed) from argv[first..]; other arguments are positional
 * (at most max_args). */
void client_parse_args(struct client *c, int argc, char **argv, int first,
		       bool has_format, bool has_logs, int max_args);

/* Handle one common flag at argv[*i] (with its value, advancing *i).
 * true if it was one. */
bool client_common_flag(struct client *c, int argc, char **argv, int *i,
			bool has_format);

/* Send req and read its reply into doc (over b). 0, or 1 after printing
 * the error. The connection stays open for further calls. */
int client_call(struct client *c, struct ctl_request *req, struct buf *b,
		struct mpv_doc *doc);

int client_print_buf(const struct client *c, struct buf *b);

typedef int (*client_fmt_fn)(struct buf *out, const struct mpv *resp);

/* Request, then print with f (or as JSON with --format json). */
int client_simple(struct client *c, struct ctl_request *req, client_fmt_fn f);

/* `shoal service ...` and `shoal node ...` (cli/client_svc.c). */
int client_service(struct client *c, int argc, char **argv);
int client_node(struct client *c, int argc, char **argv);

#endif
