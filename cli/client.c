/* SPDX-License-Identifier: MIT */
/*
 * cli/client.c — `shoal members`, `keys`, `monitor`, ... over the control
 * socket.
 *
 * A command is a table row: its name, the op it sends, how many positional
 * arguments it takes, how it prints the reply, and its help text. The
 * plumbing (find the socket, connect, send a frame, wait for one frame
 * with a timeout, decode, check "ok") is shared, so each command stays a
 * few lines and all of them fail the same way: one line on stderr,
 * `shoal CMD: what went wrong`, and exit status 1 (2 for usage errors).
 *
 * Blocking I/O is fine here (a client does one thing), but every wait is
 * bounded by --timeout, except `monitor`, which streams until the agent
 * goes away or the user interrupts it.
 */
#include "cli/client.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <sodium.h>

#include "cli/clock.h"
#include "cli/ctl.h"
#include "cli/format.h"
#include "cli/frame.h"
#include "cli/keyfile.h"
#include "cli/mpv.h"
#include "core/err.h"
#include "gossip/profile.h"

#include "cli/client_int.h"

void
client_fail(const struct client *c, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "shoal %s: ", c->cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void
client_die_usage(const struct client *c, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "shoal %s: ", c->cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see shoal %s --help)\n", c->cmd);
	exit(2);
}

const char client_common_help[] =
	"\n"
	"common flags:\n"
	"  --socket PATH     the agent's control socket (or SHOAL_SOCKET)\n"
	"  --data-dir DIR    find the socket in DIR (or SHOAL_DATA_DIR)\n"
	"  --timeout DUR     give up after DUR (default 15s; e.g. 500ms, 1m)\n"
	"  --help            this text\n";

/* ---- argument parsing ---- */

bool
client_common_flag(struct client *c, int argc, char **argv, int *i,
		   bool has_format)
{
	const char *a = argv[*i];
	const char *eq = strchr(a, '=');
	const char *val;
	char flag[32];

	snprintf(flag, sizeof(flag), "%.*s",
		 (int)(eq ? (size_t)(eq - a) : strlen(a)), a);
	if (strcmp(flag, "--socket") != 0 && strcmp(flag, "--data-dir") != 0 &&
	    strcmp(flag, "--timeout") != 0 &&
	    !(has_format && strcmp(flag, "--format") == 0))
		return false;
	if (eq) {
		val = eq + 1;
	} else {
		if (*i + 1 >= argc)
			client_die_usage(c, "%s needs a value", flag);
		val = argv[++*i];
	}
	if (strcmp(flag, "--socket") == 0) {
		c->socket_opt = val;
	} else if (strcmp(flag, "--data-dir") == 0) {
		c->data_dir_opt = val;
	} else if (strcmp(flag, "--timeout") == 0) {
		if (parse_duration_ms(val, &c->timeout_ms) ||
		    c->timeout_ms == 0)
			client_die_usage(c,
					 "--timeout: \"%.40s\" is not a "
					 "duration",
					 val);
	} else {
		if (strcmp(val, "json") == 0)
			c->format = FMT_JSON;
		else if (strcmp(val, "text") == 0)
			c->format = FMT_TEXT;
		else
			client_die_usage(c,
					 "--format: \"%.40s\" is not text "
					 "or json",
					 val);
	}
	return true;
}

void
client_parse_args(struct client *c, int argc, char **argv, int first,
		  bool has_format, bool has_logs, int max_args)
{
	for (int i = first; i < argc; i++) {
		const char *a = argv[i];
		const char *eq;
		char flag[32];

		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			c->help = true;
			continue;
		}
		if (strncmp(a, "--", 2) != 0 || a[2] == '\0') {
			if (c->nargs >= max_args || c->nargs >= CLIENT_ARGS_MAX)
				client_die_usage(
					c, "unexpected argument \"%.60s\"", a);
			c->args[c->nargs++] = a;
			continue;
		}
		if (client_common_flag(c, argc, argv, &i, has_format))
			continue;
		eq = strchr(a, '=');
		snprintf(flag, sizeof(flag), "%.*s",
			 (int)(eq ? (size_t)(eq - a) : strlen(a)), a);
		if (has_logs && strcmp(flag, "--logs") == 0) {
			if (eq)
				c->logs = eq + 1;
			else if (i + 1 < argc)
				c->logs = argv[++i];
			else
				client_die_usage(c, "%s needs a value", flag);
			continue;
		}
		client_die_usage(c, "unknown flag %s", flag);
	}
}

static int
find_socket(struct client *c)
{
	const char *s = c->socket_opt;
	char dir[4096];
	int n;

	if (!s || !*s)
		s = getenv("SHOAL_SOCKET");
	if (s && *s) {
		if (strlen(s) >= sizeof(c->socket)) {
			client_fail(
				c,
				"socket path too long (%zu bytes, at most %zu)",
				strlen(s), sizeof(c->socket) - 1);
			return -1;
		}
		strcpy(c->socket, s);
		return 0;
	}
	s = c->data_dir_opt;
	if (!s || !*s)
		s = getenv("SHOAL_DATA_DIR");
	if (s && *s) {
		snprintf(dir, sizeof(dir), "%s", s);
	} else if (agent_default_data_dir(dir, sizeof(dir))) {
		client_fail(c, "no data dir: set HOME, or pass --socket");
		return -1;
	}
	n = snprintf(c->socket, sizeof(c->socket), "%s/%s", dir,
		     CTL_SOCKET_NAME);
	if (n < 0 || (size_t)n >= sizeof(c->socket)) {
		client_fail(c, "socket path %s/%s is too long; pass --socket",
			    dir, CTL_SOCKET_NAME);
		return -1;
	}
	return 0;
}

static int
connect_agent(struct client *c)
{
	struct sockaddr_un sa;

	if (find_socket(c))
		return -1;
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		client_fail(c, "socket: %s", strerror(errno));
		return -1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	strcpy(sa.sun_path, c->socket);
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa))) {
		int e = errno;

		if (e == ENOENT || e == ECONNREFUSED)
			client_fail(c,
				    "no agent at %s: %s (is `shoal agent` "
				    "running? see --socket)",
				    c->socket, strerror(e));
		else if (e == EACCES || e == EPERM)
			client_fail(c,
				    "cannot use %s: %s (the control socket "
				    "belongs to the agent's user)",
				    c->socket, strerror(e));
		else
			client_fail(c, "cannot connect to %s: %s", c->socket,
				    strerror(e));
		close(c->fd);
		c->fd = -1;
		return -1;
	}
	return 0;
}

static int
send_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Read exactly n bytes; deadline_ms 0 = no deadline. 0, or -1 with errno
 * (ETIMEDOUT, or 0 for end of stream). */
static int
recv_exact(int fd, uint8_t *p, size_t n, uint64_t deadline_ms)
{
	while (n) {
		ssize_t r;

		if (deadline_ms) {
			uint64_t now = agent_mono_ms();
			struct pollfd pfd = {.fd = fd, .events = POLLIN};
			int pr;

			if (now >= deadline_ms) {
				errno = ETIMEDOUT;
				return -1;
			}
			pr = poll(&pfd, 1, (int)(deadline_ms - now));
			if (pr < 0 && errno == EINTR)
				continue;
			if (pr < 0)
				return -1;
			if (pr == 0) {
				errno = ETIMEDOUT;
				return -1;
			}
		}
		r = recv(fd, p, n, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0) {
			errno = 0;
			return -1;
		}
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/* Read one frame into b (reset first). 0, or -1 after printing why. */
static int
read_frame(struct client *c, struct buf *b, uint64_t deadline_ms,
	   bool eof_quiet)
{
	uint8_t hdr[FRAME_HDR_LEN];
	uint32_t len;
	int err = 0;
	uint8_t *p;

	buf_reset(b);
	if (recv_exact(c->fd, hdr, sizeof(hdr), deadline_ms)) {
		if (errno == ETIMEDOUT)
			client_fail(c,
				    "no reply from the agent within %llu ms "
				    "(see --timeout)",
				    (unsigned long long)c->timeout_ms);
		else if (errno == 0 && !eof_quiet)
			client_fail(c, "the agent closed the connection");
		else if (errno)
			client_fail(c, "read: %s", strerror(errno));
		return -1;
	}
	len = frame_get_u32(hdr);
	if (len == 0 || len > CTL_RESP_MAX) {
		client_fail(c, "bad reply from the agent (frame of %u bytes)",
			    len);
		return -1;
	}
	p = buf_extend(b, len, &err);
	if (!p) {
		client_fail(c, "out of memory for a reply of %u bytes", len);
		return -1;
	}
	if (recv_exact(c->fd, p, len, deadline_ms)) {
		if (errno == ETIMEDOUT)
			client_fail(c, "reply timed out (see --timeout)");
		else
			client_fail(
				c, "the agent closed the connection mid-reply");
		return -1;
	}
	return 0;
}

/* Send req and read its reply into doc (over b). 0, or 1 after printing
 * the error (the agent's or ours). */
int
client_call(struct client *c, struct ctl_request *req, struct buf *b,
	    struct mpv_doc *doc)
{
	struct buf out;
	const struct mpv *v;
	uint64_t deadline;
	int rc;

	if (c->fd < 0 && connect_agent(c))
		return 1;
	buf_init(&out, CTL_REQ_MAX + FRAME_HDR_LEN);
	req->seq = 1;
	rc = ctl_request_encode(req, &out);
	if (rc) {
		client_fail(c, "cannot encode the request: %s", err_str(rc));
		buf_release(&out);
		return 1;
	}
	if (send_all(c->fd, out.data, out.len)) {
		client_fail(c, "write to %s: %s", c->socket, strerror(errno));
		buf_release(&out);
		return 1;
	}
	buf_release(&out);
	deadline = agent_mono_ms() + c->timeout_ms;
	if (read_frame(c, b, deadline, false))
		return 1;
	rc = mpv_parse(doc, b->data, b->len);
	if (rc) {
		client_fail(c, "bad reply from the agent: %s", err_str(rc));
		return 1;
	}
	if (!mpv_bool(mpv_get(&doc->root, "ok"), false)) {
		char msg[CTL_ERROR_MAX + 1];

		v = mpv_get(&doc->root, "error");
		client_fail(c, "%s",
			    mpv_cstr(v, msg, sizeof(msg), "request failed"));
		mpv_doc_release(doc);
		return 1;
	}
	return 0;
}

int
client_print_buf(const struct client *c, struct buf *b)
{
	if (b->len && fwrite(b->data, 1, b->len, stdout) != b->len) {
		client_fail(c, "write to stdout: %s", strerror(errno));
		return 1;
	}
	if (fflush(stdout)) {
		client_fail(c, "write to stdout: %s", strerror(errno));
		return 1;
	}
	return 0;
}

/* Request, then print with f (or JSON). */
int
client_simple(struct client *c, struct ctl_request *req, client_fmt_fn f)
{
	struct buf in, out;
	struct mpv_doc doc;
	int rc;

	buf_init(&in, CTL_RESP_MAX);
	rc = client_call(c, req, &in, &doc);
	if (rc) {
		buf_release(&in);
		return rc;
	}
	buf_init(&out, (size_t)CTL_RESP_MAX * 4);
	if (c->format == FMT_JSON)
		rc = fmt_json(&out, &doc.root);
	else if (f)
		rc = f(&out, &doc.root);
	if (rc) {
		client_fail(c, "cannot format the reply: %s", err_str(rc));
		rc = 1;
	} else {
		rc = client_print_buf(c, &out);
	}
	buf_release(&out);
	mpv_doc_release(&doc);
	buf_release(&in);
	return rc;
}

/* ---- commands ---- */

struct command {
	const char *name;
	const char *usage;
	const char *summary;
	int (*run)(struct client *c, int argc, char **argv);
};

static const char members_help[] =
	"usage: shoal members [--format text|json]   (alias: shoal node ls)\n"
	"\n"
	"List the members the local agent knows: NAME, ADDRESS, STATUS\n"
	"(alive, suspect, failed, left), ROLE (the \"role\" tag) and TAGS.\n";

static int
cmd_members(struct client *c, int argc, char **argv)
{
	struct ctl_request req = {.op = CTL_OP_MEMBERS};

	client_parse_args(c, argc, argv, 1, true, false, 0);
	if (c->help) {
		fputs(members_help, stdout);
		fputs(client_common_help, stdout);
		return 0;
	}
	return client_simple(c, &req, fmt_members);
}

static const char info_help[] =
	"usage: shoal info [--format text|json]\n"
	"\n"
	"Show the local agent: name, address, cluster, encryption, members by\n"
	"state, health score, uptime.\n";

static int
cmd_info(struct client *c, int argc, char **argv)
{
	struct ctl_request req = {.op = CTL_OP_INFO};

	client_parse_args(c, argc, argv, 1, true, false, 0);
	if (c->help) {
		fputs(info_help, stdout);
		fputs(client_common_help, stdout);
		return 0;
	}
	return client_simple(c, &req, fmt_info);
}

static const char stats_help[] =
	"usage: shoal stats [--format text|json]\n"
	"\n"
	"Print the local agent's counters, one `group.name value` per line:\n"
	"members by state, gossip packets and bytes in and out, drops by\n"
	"reason, agent counters, and the health score.\n";

static int
cmd_stats(struct client *c, int argc, char **argv)
{
	struct ctl_request req = {.op = CTL_OP_INFO};

	client_parse_args(c, argc, argv, 1, true, false, 0);
	if (c->help) {
		fputs(stats_help, stdout);
		fputs(client_common_help, stdout);
		return 0;
	}
	return client_simple(c, &req, fmt_stats);
}

static const char leave_help[] =
	"usage: shoal leave\n"
	"\n"
	"Make the local agent leave the cluster gracefully and exit. Returns\n"
	"once the leave has been announced (the agent then stops).\n";

static int
cmd_leave(struct client *c, int argc, char **argv)
{
	struct ctl_request req = {.op = CTL_OP_LEAVE};

	if (c->timeout_ms < 30000)
		c->timeout_ms = 30000;
	client_parse_args(c, argc, argv, 1, false, false, 0);
	if (c->help) {
		fputs(leave_help, stdout);
		fputs(client_common_help, stdout);
		return 0;
	}
	return client_simple(c, &req, NULL);
}

static const char force_leave_help[] =
	"usage: shoal force-leave NAME\n"
	"\n"
	"Mark a failed member as left everywhere, so it is no longer\n"
	"reconnected to and is forgotten sooner. Refused for a member that\n"
	"is alive or suspect.\n";

static int
cmd_force_leave(struct client *c, int argc, char **argv)
{
	struct ctl_request req = {.op = CTL_OP_FORCE_LEAVE};

	client_parse_args(c, argc, argv, 1, false, false, 1);
	if (c->help) {
		fputs(force_leave_help, stdout);
		fputs(client_common_help, stdout);
		return 0;
	}
	if (c->nargs != 1)
		client_die_usage(c, "needs the NAME of a failed member");
	if (strlen(c->args[0]) >= sizeof(req.name))
		client_die_usage(c, "NAME is longer than 64 bytes");
	strcpy(req.name, c->args[0]);
	return client_simple(c, &req, NULL);
}

static const char keys_help[] =
	"usage: shoal keys list [--format text|json]\n"
	"       shoal keys install KEY\n"
	"       shoal keys use KEY\n"
	"       shoal keys remove KEY\n"
	"\n"
	"Rotate the cluster key without downtime: install the new key (it\n"
	"spreads to every member), wait until `keys list` shows it on every\n"
	"node, use it (make it primary everywhere), then remove the old one.\n"
	"`list` shows each key's fingerprint, whether it is this node's\n"
	"primary, and which members hold it. Removing the primary key is\n"
	"refused. KEY is base64, as printed by `shoal keygen`.\n";

static int
cmd_keys(struct client *c, int argc, char **argv)
{
	struct ctl_request req = {0};
	const char *sub;

	client_parse_args(c, argc, argv, 1, true, false, 2);
	if (c->help || c->nargs == 0) {
		fputs(keys_help, stdout);
		fputs(client_common_help, stdout);
		return c->help ? 0 : 2;
	}
	sub = c->args[0];
	if (strcmp(sub, "list") == 0) {
		c->cmd = "keys list";
		if (c->nargs != 1)
			client_die_usage(c, "takes no argument");
		req.op = CTL_OP_KEYS_LIST;
		return client_simple(c, &req, fmt_keys);
	}
	if (strcmp(sub, "install") == 0) {
		c->cmd = "keys install";
		req.op = CTL_OP_KEYS_INSTALL;
	} else if (strcmp(sub, "use") == 0) {
		c->cmd = "keys use";
		req.op = CTL_OP_KEYS_USE;
	} else if (strcmp(sub, "remove") == 0) {
		c->cmd = "keys remove";
		req.op = CTL_OP_KEYS_REMOVE;
	} else {
		client_die_usage(c,
				 "unknown subcommand \"%.40s\" (list, install, "
				 "use, remove)",
				 sub);
	}
	if (c->nargs != 2)
		client_die_usage(c, "needs a KEY (base64, from shoal keygen)");
	{
		uint8_t key[CRYPTO_KEY_LEN];
		int rc = crypto_key_parse(c->args[1], key);

		sodium_memzero(key, sizeof(key));
		if (rc)
			client_die_usage(
				c, "KEY is not a valid key: %s",
				rc == ERR_KEYLEN
					? "it does not decode to 32 bytes"
					: "not base64");
		if (strlen(c->args[1]) >= sizeof(req.key))
			client_die_usage(c, "KEY is too long");
	}
	strcpy(req.key, c->args[1]);
	return client_simple(c, &req, NULL);
}

static const char monitor_help[] =
	"usage: shoal monitor [--format text|json] [--logs LEVEL]\n"
	"\n"
	"Stream the local agent's events (member-join, member-failed, ...) as\n"
	"they happen, one per line (JSON lines with --format json). With\n"
	"--logs LEVEL, the agent's log records up to LEVEL are streamed too.\n"
	"Runs until interrupted or until the agent stops.\n";

static int
cmd_monitor(struct client *c, int argc, char **argv)
{
	struct ctl_request req = {.op = CTL_OP_MONITOR};
	struct buf in, out;
	struct mpv_doc doc;
	int rc;

	client_parse_args(c, argc, argv, 1, true, true, 0);
	if (c->help) {
		fputs(monitor_help, stdout);
		fputs(client_common_help, stdout);
		return 0;
	}
	if (c->logs) {
		if (log_level_parse(c->logs, &req.logs))
			client_die_usage(
				c,
				"--logs: \"%.40s\" is not error, warn, "
				"info, debug or trace",
				c->logs);
		req.has_logs = true;
	}
	buf_init(&in, CTL_RESP_MAX);
	rc = client_call(c, &req, &in, &doc);
	if (rc) {
		buf_release(&in);
		return rc;
	}
	mpv_doc_release(&doc);
	buf_init(&out, 1u << 20);
	for (;;) {
		if (read_frame(c, &in, 0, false)) {
			rc = 1;
			break;
		}
		if (mpv_parse(&doc, in.data, in.len)) {
			client_fail(c, "bad frame from the agent");
			rc = 1;
			break;
		}
		buf_reset(&out);
		if (c->format == FMT_JSON)
			rc = fmt_json(&out, &doc.root);
		else
			rc = fmt_monitor(&out, &doc.root);
		mpv_doc_release(&doc);
		if (rc || client_print_buf(c, &out)) {
			rc = 1;
			break;
		}
	}
	buf_release(&out);
	buf_release(&in);
	return rc;
}

static const struct command commands[] = {
	{"members", "members [--format json]", "list the cluster's members",
	 cmd_members},
	{"info", "info [--format json]", "show the local agent", cmd_info},
	{"stats", "stats [--format json]", "print the local agent's counters",
	 cmd_stats},
	{"monitor", "monitor [--format json] [--logs LEVEL]",
	 "stream events as they happen", cmd_monitor},
	{"leave", "leave", "leave the cluster gracefully and stop the agent",
	 cmd_leave},
	{"force-leave", "force-leave NAME",
	 "mark a failed member as left everywhere", cmd_force_leave},
	{"keys", "keys list|install|use|remove [KEY]", "rotate the cluster key",
	 cmd_keys},
	{"service", "service create|ls|ps|inspect|...",
	 "run services: also scale, update, rm", client_service},
	{"node", "node ls|update", "nodes: availability, the manager",
	 client_node},
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

bool
client_is_command(const char *cmd)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i].name, cmd) == 0)
			return true;
	return false;
}

void
client_usage(void)
{
	printf("usage: shoal COMMAND [flags]\n\ncommands:\n");
	printf("  %-38s %s\n", "agent [flags]",
	       "run the agent (see shoal agent --help)");
	printf("  %-38s %s\n", "keygen", "print a new cluster key");
	for (size_t i = 0; i < NCOMMANDS; i++)
		printf("  %-38s %s\n", commands[i].usage, commands[i].summary);
	printf("  %-38s %s\n", "version", "print the version");
	printf("\nEvery command takes --help. Client commands find the agent "
	       "through\n--socket, SHOAL_SOCKET, --data-dir, SHOAL_DATA_DIR "
	       "or the default data dir.\n");
}

int
client_main(int argc, char **argv)
{
	struct client c;

	memset(&c, 0, sizeof(c));
	c.fd = -1;
	c.timeout_ms = 15000;
	c.cmd = argv[0];
	signal(SIGPIPE, SIG_IGN);
	for (size_t i = 0; i < NCOMMANDS; i++) {
		if (strcmp(commands[i].name, argv[0]) == 0) {
			int rc = commands[i].run(&c, argc, argv);

			if (c.fd >= 0)
				close(c.fd);
			return rc;
		}
	}
	fprintf(stderr, "shoal: unknown command \"%.40s\" (see shoal --help)\n",
		argv[0]);
	return 2;
}

int
client_keygen(int argc, char **argv)
{
	char key[CRYPTO_KEY_B64_LEN];

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0) {
			printf("usage: shoal keygen\n\nPrint a new random "
			       "cluster key (32 bytes, base64). Save it to a "
			       "file\nreadable only by the agent's user and "
			       "pass it with --key-file:\n\n"
			       "  (umask 077; shoal keygen > shoal.key)\n"
			       "  shoal agent --key-file shoal.key ...\n");
			return 0;
		}
		fprintf(stderr,
			"shoal keygen: unexpected argument \"%.40s\" "
			"(see shoal keygen --help)\n",
			argv[i]);
		return 2;
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "shoal keygen: libsodium failed to start\n");
		return 1;
	}
	keyfile_keygen(key);
	printf("%s\n", key);
	sodium_memzero(key, sizeof(key));
	if (fflush(stdout)) {
		fprintf(stderr, "shoal keygen: write: %s\n", strerror(errno));
		return 1;
	}
	return 0;
}
