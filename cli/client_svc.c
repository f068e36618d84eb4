/* SPDX-License-Identifier: MIT */
/*
 * cli/client_svc.c — `shoal service ...` and `shoal node ...`, Docker's
 * verbs over the control socket.
 *
 * The client parses flags into the control protocol's spec map
 * (cli/svc.h) and leaves every rule to the node: a refused spec comes back
 * as one sentence naming the rule (spec_validate()), printed as
 * `shoal service create: replicas 20000 is above the limit of 10000` with
 * exit status 1. Only what the client cannot send at all (a number that is
 * not a number, a flag that does not exist) is a usage error (status 2).
 *
 * The command starts at the first argument that is not a flag, or after
 * `--`, as in `docker service create IMAGE CMD...`: everything after it
 * belongs to the command, flags included.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/client_int.h"
#include "cli/format.h"
#include "core/codec.h"
#include "core/err.h"
#include "gossip/profile.h"
#include "sched/spec.h"

#define LIST_MAX 128

struct svc_flags {
	const char *name;
	bool has_replicas;
	uint32_t replicas;
	const char *mode;
	const char *env[LIST_MAX]; /* create: env; update: env_add */
	unsigned nenv;
	const char *env_rm[LIST_MAX];
	unsigned nenv_rm;
	const char *cons[LIST_MAX]; /* create: constraints; update: _add */
	unsigned ncons;
	const char *cons_rm[LIST_MAX];
	unsigned ncons_rm;
	bool has_maxpn;
	uint32_t maxpn;
	const char *rcond;
	bool has_rdelay, has_rmax, has_rwin;
	uint32_t rdelay, rmax, rwin;
	bool has_upar, has_udelay;
	uint32_t upar, udelay;
	char **cmd;
	int ncmd;
};

static uint32_t
parse_u32(struct client *c, const char *flag, const char *v)
{
	char *end;
	unsigned long long n;

	errno = 0;
	n = strtoull(v, &end, 10);
	if (!*v || *end || errno || n > UINT32_MAX || v[0] == '-')
		client_die_usage(c, "%s: \"%.40s\" is not a number", flag, v);
	return (uint32_t)n;
}

static uint32_t
parse_dur(struct client *c, const char *flag, const char *v)
{
	uint64_t ms;

	if (parse_duration_ms(v, &ms) || ms > UINT32_MAX)
		client_die_usage(c,
				 "%s: \"%.40s\" is not a duration (5s, "
				 "500ms, 1m, 1h)",
				 flag, v);
	return (uint32_t)ms;
}

static void
push(struct client *c, const char **list, unsigned *n, const char *flag,
     const char *v)
{
	if (*n >= LIST_MAX)
		client_die_usage(c, "too many %s", flag);
	list[(*n)++] = v;
}

/* Flags of create (update false) and update (update true). Returns the
 * positional arguments left (the service name for update) in c->args. */
static void
parse_svc_flags(struct client *c, int argc, char **argv, int first, bool update,
		struct svc_flags *f)
{
	memset(f, 0, sizeof(*f));
	for (int i = first; i < argc; i++) {
		const char *a = argv[i];
		const char *eq, *v;
		char flag[40];

		if (strcmp(a, "--") == 0) {
			f->cmd = argv + i + 1;
			f->ncmd = argc - i - 1;
			return;
		}
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			c->help = true;
			continue;
		}
		if (a[0] != '-' || a[1] == '\0') {
			/* update: the first positional is the service; the
			 * next one (or create's first) starts the command. */
			if (update && c->nargs == 0) {
				c->args[c->nargs++] = a;
				continue;
			}
			f->cmd = argv + i;
			f->ncmd = argc - i;
			return;
		}
		if (client_common_flag(c, argc, argv, &i, true))
			continue;
		eq = strchr(a, '=');
		snprintf(flag, sizeof(flag), "%.*s",
			 (int)(eq ? (size_t)(eq - a) : strlen(a)), a);
		if (strcmp(flag, "-e") == 0)
			snprintf(flag, sizeof(flag), "%s",
				 update ? "--env-add" : "--env");
		if (eq) {
			v = eq + 1;
		} else {
			if (i + 1 >= argc)
				client_die_usage(c, "%s needs a value", flag);
			v = argv[++i];
		}
		if (!update && strcmp(flag, "--name") == 0)
			f->name = v;
		else if (strcmp(flag, "--replicas") == 0) {
			f->has_replicas = true;
			f->replicas = parse_u32(c, flag, v);
		} else if (!update && strcmp(flag, "--mode") == 0)
			f->mode = v;
		else if ((!update && strcmp(flag, "--env") == 0) ||
			 (update && strcmp(flag, "--env-add") == 0))
			push(c, f->env, &f->nenv, flag, v);
		else if (update && strcmp(flag, "--env-rm") == 0)
			push(c, f->env_rm, &f->nenv_rm, flag, v);
		else if ((!update && strcmp(flag, "--constraint") == 0) ||
			 (update && strcmp(flag, "--constraint-add") == 0))
			push(c, f->cons, &f->ncons, flag, v);
		else if (update && strcmp(flag, "--constraint-rm") == 0)
			push(c, f->cons_rm, &f->ncons_rm, flag, v);
		else if (strcmp(flag, "--max-per-node") == 0) {
			f->has_maxpn = true;
			f->maxpn = parse_u32(c, flag, v);
		} else if (strcmp(flag, "--restart-condition") == 0)
			f->rcond = v;
		else if (strcmp(flag, "--restart-delay") == 0) {
			f->has_rdelay = true;
			f->rdelay = parse_dur(c, flag, v);
		} else if (strcmp(flag, "--restart-max-attempts") == 0) {
			f->has_rmax = true;
			f->rmax = parse_u32(c, flag, v);
		} else if (strcmp(flag, "--restart-window") == 0) {
			f->has_rwin = true;
			f->rwin = parse_dur(c, flag, v);
		} else if (strcmp(flag, "--update-parallelism") == 0) {
			f->has_upar = true;
			f->upar = parse_u32(c, flag, v);
		} else if (strcmp(flag, "--update-delay") == 0) {
			f->has_udelay = true;
			f->udelay = parse_dur(c, flag, v);
		} else
			client_die_usage(c, "unknown flag %s", flag);
	}
}

static void
write_list(struct codec_writer *w, const char *key, const char *const *v,
	   unsigned n)
{
	codec_write_cstr(w, key);
	codec_write_array(w, n);
	for (unsigned i = 0; i < n; i++)
		codec_write_cstr(w, v[i]);
}

/* The spec map of the request (cli/svc.h). */
static int
write_spec(const struct svc_flags *f, bool update, struct buf *b)
{
	struct codec_writer w;
	uint32_t n = 0, nr = 0, nu = 0;

	nr = (f->rcond != NULL) + f->has_rdelay + f->has_rmax + f->has_rwin;
	nu = f->has_upar + f->has_udelay;
	n = (f->name != NULL) + (f->mode != NULL) + f->has_replicas +
	    (f->ncmd > 0) + (f->nenv > 0) + (f->ncons > 0) + f->has_maxpn +
	    (nr > 0) + (nu > 0) + (f->nenv_rm > 0) + (f->ncons_rm > 0);
	codec_writer_init(&w, b);
	codec_write_map(&w, n);
	if (f->name) {
		codec_write_cstr(&w, "name");
		codec_write_cstr(&w, f->name);
	}
	if (f->mode) {
		codec_write_cstr(&w, "mode");
		codec_write_cstr(&w, f->mode);
	}
	if (f->has_replicas) {
		codec_write_cstr(&w, "replicas");
		codec_write_uint(&w, f->replicas);
	}
	if (f->ncmd > 0)
		write_list(&w, "args", (const char *const *)f->cmd,
			   (unsigned)f->ncmd);
	/* Removals first, so `--env-rm A --env-add A=1` sets A. */
	if (f->nenv_rm)
		write_list(&w, "env_rm", f->env_rm, f->nenv_rm);
	if (f->nenv)
		write_list(&w, update ? "env_add" : "env", f->env, f->nenv);
	if (f->ncons_rm)
		write_list(&w, "constraints_rm", f->cons_rm, f->ncons_rm);
	if (f->ncons)
		write_list(&w, update ? "constraints_add" : "constraints",
			   f->cons, f->ncons);
	if (f->has_maxpn) {
		codec_write_cstr(&w, "max_per_node");
		codec_write_uint(&w, f->maxpn);
	}
	if (nr) {
		codec_write_cstr(&w, "restart");
		codec_write_map(&w, nr);
		if (f->rcond) {
			codec_write_cstr(&w, "condition");
			codec_write_cstr(&w, f->rcond);
		}
		if (f->has_rdelay) {
			codec_write_cstr(&w, "delay_ms");
			codec_write_uint(&w, f->rdelay);
		}
		if (f->has_rmax) {
			codec_write_cstr(&w, "max_attempts");
			codec_write_uint(&w, f->rmax);
		}
		if (f->has_rwin) {
			codec_write_cstr(&w, "window_ms");
			codec_write_uint(&w, f->rwin);
		}
	}
	if (nu) {
		codec_write_cstr(&w, "update");
		codec_write_map(&w, nu);
		if (f->has_upar) {
			codec_write_cstr(&w, "parallelism");
			codec_write_uint(&w, f->upar);
		}
		if (f->has_udelay) {
			codec_write_cstr(&w, "delay_ms");
			codec_write_uint(&w, f->udelay);
		}
	}
	return codec_writer_error(&w);
}

static int
fmt_name(struct buf *out, const struct mpv *resp)
{
	char name[SPEC_NAME_MAX + 2];
	const char *s =
		mpv_cstr(mpv_get(resp, "name"), name, sizeof(name), NULL);

	if (!s)
		return 0;
	if (buf_append(out, s, strlen(s)))
		return ERR_NOMEM;
	return buf_append_byte(out, '\n');
}

/* ---- service create / update ---- */

static const char create_help[] =
	"usage: shoal service create --name NAME [flags] [--] CMD [ARG...]\n"
	"\n"
	"Create a service: REPLICAS copies of CMD placed on the cluster's\n"
	"nodes, restarted by policy, moved when a node fails. Each process\n"
	"gets SHOAL_SERVICE, SHOAL_SLOT and SHOAL_NODE in its environment.\n"
	"\n"
	"  --name NAME                   [a-zA-Z0-9][a-zA-Z0-9_.-]*, <= 63\n"
	"  --replicas N                  copies to run (default 1)\n"
	"  --mode replicated|global      global: one on every eligible node\n"
	"  --env, -e KEY=VALUE           environment (repeatable)\n"
	"  --constraint node.KEY==VALUE  where it may run; also !=, and\n"
	"                                node.name (repeatable)\n"
	"  --max-per-node N              at most N replicas on one node\n"
	"  --restart-condition C         none, on-failure or any (default)\n"
	"  --restart-delay DUR           wait before a restart (default 5s)\n"
	"  --restart-max-attempts N      restarts per window (0: no limit)\n"
	"  --restart-window DUR          window of the attempts (0: forever)\n"
	"  --update-parallelism N        tasks updated at once (default 1)\n"
	"  --update-delay DUR            wait between update batches\n"
	"  --format text|json\n";

static const char update_help[] =
	"usage: shoal service update NAME [flags] [-- CMD [ARG...]]\n"
	"\n"
	"Change a service. A new command or environment is rolled out\n"
	"--update-parallelism tasks at a time; other changes restart nothing.\n"
	"\n"
	"  --replicas N\n"
	"  --env-add, -e KEY=VALUE  --env-rm KEY\n"
	"  --constraint-add C       --constraint-rm C\n"
	"  --max-per-node N\n"
	"  --restart-condition C    --restart-delay DUR\n"
	"  --restart-max-attempts N --restart-window DUR\n"
	"  --update-parallelism N   --update-delay DUR\n"
	"  -- CMD [ARG...]          replace the command\n"
	"  --format text|json\n";

static int
svc_create_update(struct client *c, int argc, char **argv, bool update)
{
	struct ctl_request req;
	struct svc_flags f;
	struct buf spec;
	int rc;

	c->cmd = update ? "service update" : "service create";
	parse_svc_flags(c, argc, argv, 2, update, &f);
	if (c->help) {
		fputs(update ? update_help : create_help, stdout);
		fputs(client_common_help, stdout);
		return 0;
	}
	memset(&req, 0, sizeof(req));
	if (update) {
		if (c->nargs != 1)
			client_die_usage(c, "needs the NAME of a service");
		if (strlen(c->args[0]) >= sizeof(req.name))
			client_die_usage(c, "NAME is too long");
		strcpy(req.name, c->args[0]);
		req.op = CTL_OP_SERVICE_UPDATE;
	} else {
		if (!f.name)
			client_die_usage(c, "needs --name");
		if (f.ncmd == 0)
			client_die_usage(c, "needs a command: -- CMD [ARG...]");
		req.op = CTL_OP_SERVICE_CREATE;
	}
	buf_init(&spec, CTL_REQ_MAX);
	rc = write_spec(&f, update, &spec);
	if (rc) {
		client_fail(c, "the spec is too large (at most %u bytes)",
			    CTL_REQ_MAX);
		buf_release(&spec);
		return 1;
	}
	req.spec = spec.data;
	req.spec_len = spec.len;
	rc = client_simple(c, &req, fmt_name);
	buf_release(&spec);
	return rc;
}

/* ---- ls, ps, inspect ---- */

static const char ls_help[] =
	"usage: shoal service ls [--format text|json]\n"
	"\n"
	"List the services: NAME, MODE, REPLICAS (running/desired), COMMAND.\n";

static const char ps_help[] =
	"usage: shoal service ps [NAME] [--format text|json]\n"
	"\n"
	"Where every replica of a service (or of all) is, as its node reports\n"
	"it: TASK (service.slot), NODE, STATE, SINCE, RESTARTS, EXIT, ERROR.\n"
	"Any node answers for the whole cluster. STATE is `pending` for a\n"
	"replica no node can take, `assigned` before its node has reported.\n";

static const char inspect_help[] =
	"usage: shoal service inspect NAME [--format text|json]\n"
	"\n"
	"Show a service's spec and state. The JSON form's \"spec\" is the map\n"
	"`service create` sends (docs/AGENT.md).\n";

static const char scale_help[] =
	"usage: shoal service scale NAME=N [NAME=N...]\n"
	"\n"
	"Set the replica count of replicated services.\n";

static const char rm_help[] =
	"usage: shoal service rm NAME [NAME...]\n"
	"\n"
	"Remove services: their tasks are stopped on every node.\n";

static int
svc_simple(struct client *c, int argc, char **argv, enum ctl_op op,
	   const char *help, int names, client_fmt_fn f)
{
	struct ctl_request req;

	client_parse_args(c, argc, argv, 2, true, false, names);
	if (c->help) {
		fputs(help, stdout);
		fputs(client_common_help, stdout);
		return 0;
	}
	memset(&req, 0, sizeof(req));
	req.op = op;
	if (names == 1 && c->nargs == 1) {
		if (strlen(c->args[0]) >= sizeof(req.name))
			client_die_usage(c, "NAME is too long");
		strcpy(req.name, c->args[0]);
	} else if (ctl_op_needs_name(op)) {
		client_die_usage(c, "needs the NAME of a service");
	}
	return client_simple(c, &req, f);
}

static int
svc_scale(struct client *c, int argc, char **argv)
{
	int rc = 0;

	c->cmd = "service scale";
	client_parse_args(c, argc, argv, 2, false, false, CLIENT_ARGS_MAX);
	if (c->help) {
		fputs(scale_help, stdout);
		fputs(client_common_help, stdout);
		return 0;
	}
	if (c->nargs == 0)
		client_die_usage(c, "needs NAME=REPLICAS");
	for (int i = 0; i < c->nargs; i++) {
		const char *eq = strchr(c->args[i], '=');

		if (!eq || eq == c->args[i] ||
		    (size_t)(eq - c->args[i]) > SPEC_NAME_MAX)
			client_die_usage(c, "\"%.60s\" is not NAME=REPLICAS",
					 c->args[i]);
		parse_u32(c, "REPLICAS", eq + 1);
	}
	for (int i = 0; i < c->nargs && !rc; i++) {
		const char *eq = strchr(c->args[i], '=');
		struct ctl_request req;
		struct buf in;
		struct mpv_doc doc;

		memset(&req, 0, sizeof(req));
		req.op = CTL_OP_SERVICE_SCALE;
		snprintf(req.name, sizeof(req.name), "%.*s",
			 (int)(eq - c->args[i]), c->args[i]);
		req.replicas = parse_u32(c, "REPLICAS", eq + 1);
		buf_init(&in, CTL_RESP_MAX);
		rc = client_call(c, &req, &in, &doc);
		if (!rc) {
			printf("%s scaled to %u\n", req.name,
			       (unsigned)req.replicas);
			mpv_doc_release(&doc);
		}
		buf_release(&in);
	}
	return rc;
}

static int
svc_rm(struct client *c, int argc, char **argv)
{
	int rc = 0;

	c->cmd = "service rm";
	client_parse_args(c, argc, argv, 2, false, false, CLIENT_ARGS_MAX);
	if (c->help) {
		fputs(rm_help, stdout);
		fputs(client_common_help, stdout);
		return 0;
	}
	if (c->nargs == 0)
		client_die_usage(c, "needs the NAME of a service");
	for (int i = 0; i < c->nargs; i++) {
		struct ctl_request req;
		struct buf in;
		struct mpv_doc doc;

		memset(&req, 0, sizeof(req));
		req.op = CTL_OP_SERVICE_RM;
		if (strlen(c->args[i]) >= sizeof(req.name))
			client_die_usage(c, "NAME is too long");
		strcpy(req.name, c->args[i]);
		buf_init(&in, CTL_RESP_MAX);
		if (client_call(c, &req, &in, &doc) == 0) {
			printf("%s\n", req.name);
			mpv_doc_release(&doc);
		} else {
			rc = 1; /* the others are still removed */
		}
		buf_release(&in);
	}
	fflush(stdout);
	return rc;
}

static const char service_help[] =
	"usage: shoal service COMMAND\n"
	"\n"
	"  create --name NAME [flags] -- CMD [ARG...]   create a service\n"
	"  ls                                           list services\n"
	"  ps [NAME]                                    where the replicas "
	"run\n"
	"  inspect NAME                                 spec and state\n"
	"  scale NAME=N [NAME=N...]                     set replicas\n"
	"  update NAME [flags] [-- CMD [ARG...]]        change a service\n"
	"  rm NAME [NAME...]                            remove services\n"
	"\n"
	"Each takes --help.\n";

int
client_service(struct client *c, int argc, char **argv)
{
	const char *sub = argc >= 2 ? argv[1] : "";

	if (!strcmp(sub, "create"))
		return svc_create_update(c, argc, argv, false);
	if (!strcmp(sub, "update"))
		return svc_create_update(c, argc, argv, true);
	if (!strcmp(sub, "ls") || !strcmp(sub, "list")) {
		c->cmd = "service ls";
		return svc_simple(c, argc, argv, CTL_OP_SERVICE_LS, ls_help, 0,
				  fmt_service_ls);
	}
	if (!strcmp(sub, "ps")) {
		c->cmd = "service ps";
		return svc_simple(c, argc, argv, CTL_OP_SERVICE_PS, ps_help, 1,
				  fmt_service_ps);
	}
	if (!strcmp(sub, "inspect")) {
		c->cmd = "service inspect";
		return svc_simple(c, argc, argv, CTL_OP_SERVICE_INSPECT,
				  inspect_help, 1, fmt_service_inspect);
	}
	if (!strcmp(sub, "scale"))
		return svc_scale(c, argc, argv);
	if (!strcmp(sub, "rm") || !strcmp(sub, "remove"))
		return svc_rm(c, argc, argv);
	if (!strcmp(sub, "--help") || !strcmp(sub, "-h") || !*sub) {
		fputs(service_help, stdout);
		return *sub ? 0 : 2;
	}
	fprintf(stderr,
		"shoal service: unknown command \"%.40s\" (see shoal service "
		"--help)\n",
		sub);
	return 2;
}

/* ---- node ---- */

static const char node_ls_help[] =
	"usage: shoal node ls [--format text|json]\n"
	"\n"
	"List the members with their scheduling state: NAME, ADDRESS, STATUS,\n"
	"AVAILABILITY (active, pause, drain), MANAGER (leader: the manager in\n"
	"office; eligible: may become manager; -: a role=... tag opts it "
	"out),\n"
	"ROLE and TAGS.\n";

static const char node_update_help[] =
	"usage: shoal node update --availability active|pause|drain NAME\n"
	"\n"
	"active: takes tasks. pause: keeps its tasks, takes no new ones.\n"
	"drain: its tasks move to other nodes.\n";

static const char node_help[] =
	"usage: shoal node ls | update --availability active|pause|drain "
	"NAME\n";

static int
node_update(struct client *c, int argc, char **argv)
{
	struct ctl_request req;
	const char *avail = NULL;

	c->cmd = "node update";
	memset(&req, 0, sizeof(req));
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			c->help = true;
		} else if (!strncmp(a, "--availability=", 15)) {
			avail = a + 15;
		} else if (!strcmp(a, "--availability")) {
			if (i + 1 >= argc)
				client_die_usage(
					c, "--availability needs a value");
			avail = argv[++i];
		} else if (a[0] == '-' && a[1]) {
			if (!client_common_flag(c, argc, argv, &i, false))
				client_die_usage(c, "unknown flag %.40s", a);
		} else if (c->nargs == 0) {
			c->args[c->nargs++] = a;
		} else {
			client_die_usage(c, "unexpected argument \"%.60s\"", a);
		}
	}
	if (c->help) {
		fputs(node_update_help, stdout);
		fputs(client_common_help, stdout);
		return 0;
	}
	if (!avail)
		client_die_usage(c, "needs --availability active|pause|drain");
	if (strcmp(avail, "active") && strcmp(avail, "pause") &&
	    strcmp(avail, "drain"))
		client_die_usage(c,
				 "--availability: \"%.40s\" is not active, "
				 "pause or drain",
				 avail);
	if (c->nargs != 1)
		client_die_usage(c, "needs the NAME of a member");
	if (strlen(c->args[0]) >= sizeof(req.name))
		client_die_usage(c, "NAME is longer than 64 bytes");
	req.op = CTL_OP_NODE_UPDATE;
	strcpy(req.name, c->args[0]);
	strcpy(req.availability, avail);
	{
		struct buf in;
		struct mpv_doc doc;
		int rc;

		buf_init(&in, CTL_RESP_MAX);
		rc = client_call(c, &req, &in, &doc);
		if (!rc) {
			printf("%s\n", req.name);
			fflush(stdout);
			mpv_doc_release(&doc);
		}
		buf_release(&in);
		return rc;
	}
}

int
client_node(struct client *c, int argc, char **argv)
{
	const char *sub = argc >= 2 ? argv[1] : "";

	if (!strcmp(sub, "ls") || !strcmp(sub, "list")) {
		struct ctl_request req;

		c->cmd = "node ls";
		client_parse_args(c, argc, argv, 2, true, false, 0);
		if (c->help) {
			fputs(node_ls_help, stdout);
			fputs(client_common_help, stdout);
			return 0;
		}
		memset(&req, 0, sizeof(req));
		req.op = CTL_OP_MEMBERS;
		return client_simple(c, &req, fmt_node_ls);
	}
	if (!strcmp(sub, "update"))
		return node_update(c, argc, argv);
	if (!strcmp(sub, "--help") || !strcmp(sub, "-h") || !*sub) {
		fputs(node_help, stdout);
		return *sub ? 0 : 2;
	}
	fprintf(stderr,
		"shoal node: unknown command \"%.40s\" (ls, update; see shoal "
		"node --help)\n",
		sub);
	return 2;
}
