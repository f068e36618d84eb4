/* SPDX-License-Identifier: MIT */
/*
 * cli/opts.c — one table of settings, three sources.
 *
 * Each setting is described once (name, kind, where it lives in struct
 * agent_opts, its bound) and the three sources are three loops over the
 * same table: config-file lines, SHOAL_* variables, and the command line.
 * That is what keeps a flag, its variable and its config key from drifting
 * apart, and why adding a setting is one line here plus its field.
 *
 * Sources are applied lowest first, so a later assignment simply wins; a
 * list remembers which source filled it, and the first value from a higher
 * source empties it before appending. Every string is copied into a fixed
 * array with a length check: an over-long value is an error that names the
 * setting, never a silent cut.
 */
#include "cli/opts.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/task.h"
#include "core/err.h"

const char agent_opts_usage[] =
	"usage: shoal agent [flags]\n"
	"\n"
	"Run one cluster member: gossip on UDP and TCP, a control socket for\n"
	"the shoal commands, event handlers. SIGTERM or SIGINT leaves the\n"
	"cluster gracefully (a second one exits at once); SIGHUP reloads the\n"
	"keyring file and the log level.\n"
	"\n"
	"Each flag is also SHOAL_<FLAG> in the environment (SHOAL_KEY_FILE)\n"
	"and `flag = value` in the --config file:\n"
	"  --name NAME              member name (default: the hostname)\n"
	"  --bind ADDR[:PORT]       UDP+TCP address (default 0.0.0.0:7946;\n"
	"                           port 0 picks a free port)\n"
	"  --advertise ADDR[:PORT]  address others reach us at (default: the\n"
	"                           bind address, or the first non-loopback\n"
	"                           address when bound to any)\n"
	"  --join ADDR[:PORT]       a member to join through (repeatable)\n"
	"  --key-file FILE          cluster key(s): base64, one per line, the\n"
	"                           first is primary (or SHOAL_KEY=KEY)\n"
	"  --insecure-no-encryption run without encryption (not for real use)\n"
	"  --cluster NAME           cluster name bound into every packet\n"
	"                           (default: shoal)\n"
	"  --data-dir DIR           keyring, control socket (default:\n"
	"                           /var/lib/shoal for root, else\n"
	"                           $XDG_STATE_HOME/shoal or\n"
	"                           ~/.local/state/shoal)\n"
	"  --socket PATH            control socket (DATA_DIR/agent.sock)\n"
	"  --profile lan|wan|local  protocol timings (default: lan)\n"
	"  --set KEY=VALUE          override a profile field, e.g.\n"
	"                           probe_interval=500ms (repeatable)\n"
	"  --tag KEY=VALUE          a label of this member (repeatable)\n"
	"  --event-handler [EVENTS=]CMD\n"
	"                           run CMD (/bin/sh) on events; EVENTS is\n"
	"                           a comma list: member-join,member-failed\n"
	"                           (repeatable)\n"
	"  --log-level LEVEL        error, warn, info (default), debug, trace\n"
	"  --config FILE            read settings from FILE (or SHOAL_CONFIG)\n"
	"  --max-tasks N            run at most N tasks here (default 128)\n"
	"  --task-stop-grace DUR    SIGTERM, then SIGKILL after DUR (10s)\n"
	"  --task-log-max SIZE      rotate a task's log at SIZE (default 1m;\n"
	"                           one old file is kept)\n"
	"  --help                   this text\n"
	"\n"
	"Make a key with `shoal keygen > shoal.key` and give every agent the\n"
	"same file. Details: docs/AGENT.md.\n";

enum kind {
	K_STR,
	K_BOOL,
	K_LIST,
	K_LEVEL,
};

enum source {
	SRC_DEFAULT = 0,
	SRC_CONFIG,
	SRC_ENV,
	SRC_FLAG,
};

struct optdef {
	const char *name;
	enum kind kind;
	size_t off;	  /* field in struct agent_opts */
	size_t cap;	  /* bytes per string */
	size_t count_off; /* K_LIST: the unsigned count */
	unsigned max;	  /* K_LIST: entries */
	bool env_list;	  /* K_LIST: split the env value on , and spaces */
};

#define STR(nm, f)                                                             \
	{                                                                      \
		nm, K_STR, offsetof(struct agent_opts, f),                     \
			sizeof(((struct agent_opts *)0)->f), 0, 0, false       \
	}
#define LIST(nm, f, cnt, split)                                                \
	{                                                                      \
		nm, K_LIST, offsetof(struct agent_opts, f),                    \
			sizeof(((struct agent_opts *)0)->f[0]),                \
			offsetof(struct agent_opts, cnt),                      \
			sizeof(((struct agent_opts *)0)->f) /                  \
				sizeof(((struct agent_opts *)0)->f[0]),        \
			split                                                  \
	}

static const struct optdef defs[] = {
	STR("name", name),
	STR("bind", bind),
	STR("advertise", advertise),
	LIST("join", join, njoin, true),
	STR("key-file", key_file),
	{"insecure-no-encryption", K_BOOL,
	 offsetof(struct agent_opts, insecure), 0, 0, 0, false},
	STR("cluster", cluster),
	STR("data-dir", data_dir),
	STR("socket", socket),
	STR("profile", profile_name),
	LIST("set", set, nset, true),
	LIST("tag", tag, ntag, true),
	LIST("event-handler", handler, nhandler, false),
	{"log-level", K_LEVEL, offsetof(struct agent_opts, log_level), 0, 0, 0,
	 false},
	STR("config", config),
	STR("max-tasks", max_tasks),
	STR("task-stop-grace", stop_grace),
	STR("task-log-max", task_log_max),
};

#define NDEFS (sizeof(defs) / sizeof(defs[0]))

struct loader {
	struct agent_opts *o;
	enum source list_src[NDEFS];
	char *err;
	size_t err_cap;
};

static const char *const src_names[] = {
	[SRC_DEFAULT] = "default",
	[SRC_CONFIG] = "config file",
	[SRC_ENV] = "environment",
	[SRC_FLAG] = "flag",
};

/* "--key-file (flag): ..." in messages, with the source it came from. */
static int fail(struct loader *l, int code, enum source src, const char *name,
		const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int
fail(struct loader *l, int code, enum source src, const char *name,
     const char *fmt, ...)
{
	char what[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (name)
		snprintf(l->err, l->err_cap, "--%s (%s): %s", name,
			 src_names[src], what);
	else
		snprintf(l->err, l->err_cap, "%s", what);
	return code;
}

static const struct optdef *
find_def(const char *name, size_t n)
{
	for (size_t i = 0; i < NDEFS; i++)
		if (strlen(defs[i].name) == n &&
		    memcmp(defs[i].name, name, n) == 0)
			return &defs[i];
	return NULL;
}

/* Config keys may use '_' for '-'. */
static const struct optdef *
find_def_loose(const char *name, size_t n)
{
	char tmp[64];

	if (n >= sizeof(tmp))
		return NULL;
	for (size_t i = 0; i < n; i++)
		tmp[i] = name[i] == '_' ? '-' : name[i];
	return find_def(tmp, n);
}

static int
parse_bool(const char *v, bool *out)
{
	static const char *const yes[] = {"1", "true", "yes", "on"};
	static const char *const no[] = {"0", "false", "no", "off"};

	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return ERR_INVAL;
}

static int
set_one(struct loader *l, const struct optdef *d, enum source src,
	const char *v)
{
	char *base = (char *)l->o;
	size_t n = strlen(v);

	switch (d->kind) {
	case K_STR:
		if (n >= d->cap)
			return fail(l, ERR_TOOBIG, src, d->name,
				    "value too long");
		memcpy(base + d->off, v, n + 1);
		return 0;
	case K_BOOL:
		if (parse_bool(v, (bool *)(void *)(base + d->off)))
			return fail(l, ERR_INVAL, src, d->name,
				    "\"%s\" is not true or false", v);
		return 0;
	case K_LEVEL:
		if (log_level_parse(v,
				    (enum log_level *)(void *)(base + d->off)))
			return fail(l, ERR_INVAL, src, d->name,
				    "\"%s\" is not one of error, warn, info, "
				    "debug, trace",
				    v);
		return 0;
	case K_LIST: {
		unsigned *cnt = (unsigned *)(void *)(base + d->count_off);
		size_t idx = (size_t)(d - defs);

		if (l->list_src[idx] < src) {
			*cnt = 0;
			l->list_src[idx] = src;
		}
		if (n == 0)
			return fail(l, ERR_INVAL, src, d->name, "empty value");
		if (n >= d->cap)
			return fail(l, ERR_TOOBIG, src, d->name,
				    "value too long");
		if (*cnt >= d->max)
			return fail(l, ERR_FULL, src, d->name,
				    "too many values");
		memcpy(base + d->off + *cnt * d->cap, v, n + 1);
		(*cnt)++;
		return 0;
	}
	}
	return ERR_INVAL;
}

static char *
trim(char *s)
{
	char *e;

	while (*s && isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

static int
load_config(struct loader *l, const char *path)
{
	char *text = NULL;
	FILE *f;
	size_t n;
	int rc = 0;
	unsigned lineno = 0;
	char *line, *save = NULL;

	f = fopen(path, "r");
	if (!f)
		return fail(l, ERR_IO, SRC_CONFIG, "config", "cannot open: %s",
			    strerror(errno));
	text = malloc(AGENT_CONFIG_MAX + 1);
	if (!text) {
		fclose(f);
		return ERR_NOMEM;
	}
	n = fread(text, 1, AGENT_CONFIG_MAX + 1, f);
	if (ferror(f))
		rc = fail(l, ERR_IO, SRC_CONFIG, "config", "read error");
	else if (n > AGENT_CONFIG_MAX)
		rc = fail(l, ERR_TOOBIG, SRC_CONFIG, "config",
			  "larger than 64 KiB");
	fclose(f);
	if (rc)
		goto out;
	text[n] = '\0';
	if (memchr(text, '\0', n)) {
		rc = fail(l, ERR_INVAL, SRC_CONFIG, "config",
			  "contains a NUL byte");
		goto out;
	}
	/* strtok_r would merge blank lines and lose line numbers. */
	for (line = text; line && !rc; line = save) {
		char *nl = strchr(line, '\n');
		char *eq, *key, *val;
		const struct optdef *d;
		char where[AGENT_PATH_MAX + 32];

		save = nl ? nl + 1 : NULL;
		if (nl)
			*nl = '\0';
		lineno++;
		key = trim(line);
		if (*key == '\0' || *key == '#')
			continue;
		snprintf(where, sizeof(where), "%s:%u", path, lineno);
		eq = strchr(key, '=');
		if (!eq) {
			rc = fail(l, ERR_INVAL, SRC_CONFIG, NULL,
				  "%.300s: expected `key = value`", where);
			break;
		}
		*eq = '\0';
		key = trim(key);
		val = trim(eq + 1);
		n = strlen(val);
		if (n >= 2 && val[0] == '"' && val[n - 1] == '"') {
			val[n - 1] = '\0';
			val++;
		}
		d = find_def_loose(key, strlen(key));
		if (!d || strcmp(d->name, "config") == 0) {
			rc = fail(l, ERR_INVAL, SRC_CONFIG, NULL,
				  "%.300s: unknown key \"%.40s\"", where, key);
			break;
		}
		rc = set_one(l, d, SRC_CONFIG, val);
		if (rc) {
			char msg[512];

			snprintf(msg, sizeof(msg), "%.200s: %.300s", where,
				 l->err);
			snprintf(l->err, l->err_cap, "%s", msg);
		}
	}
out:
	free(text);
	return rc;
}

static void
env_name(const struct optdef *d, char *out, size_t cap)
{
	size_t j = snprintf(out, cap, "SHOAL_");

	for (const char *p = d->name; *p && j + 1 < cap; p++)
		out[j++] = *p == '-' ? '_' : (char)toupper((unsigned char)*p);
	out[j] = '\0';
}

static int
load_env(struct loader *l)
{
	for (size_t i = 0; i < NDEFS; i++) {
		const struct optdef *d = &defs[i];
		char name[64];
		const char *v;
		int rc;

		if (strcmp(d->name, "config") == 0)
			continue;
		env_name(d, name, sizeof(name));
		v = getenv(name);
		if (!v || !*v)
			continue;
		if (d->kind == K_LIST && d->env_list) {
			char tmp[4096];
			char *tok, *save = NULL;

			if (strlen(v) >= sizeof(tmp))
				return fail(l, ERR_TOOBIG, SRC_ENV, d->name,
					    "value too long");
			strcpy(tmp, v);
			for (tok = strtok_r(tmp, ", \t\n", &save); tok;
			     tok = strtok_r(NULL, ", \t\n", &save)) {
				rc = set_one(l, d, SRC_ENV, tok);
				if (rc)
					return rc;
			}
			continue;
		}
		rc = set_one(l, d, SRC_ENV, v);
		if (rc)
			return rc;
	}
	/* SHOAL_KEY: key material itself, no flag. */
	{
		const char *k = getenv("SHOAL_KEY");

		if (k && *k) {
			if (strlen(k) >= sizeof(l->o->key))
				return fail(l, ERR_KEYLEN, SRC_ENV, NULL,
					    "SHOAL_KEY is not a base64 key "
					    "(make one with `shoal keygen`)");
			strcpy(l->o->key, k);
		}
	}
	return 0;
}

static int
load_flags(struct loader *l, int argc, char **argv, bool config_only)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *eq, *val;
		const struct optdef *d;
		size_t n;
		int rc;

		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			l->o->help = true;
			continue;
		}
		if (strncmp(a, "--", 2) != 0 || a[2] == '\0')
			return fail(l, ERR_INVAL, SRC_FLAG, NULL,
				    "unexpected argument \"%s\" (flags start "
				    "with --; see shoal agent --help)",
				    a);
		a += 2;
		eq = strchr(a, '=');
		n = eq ? (size_t)(eq - a) : strlen(a);
		d = find_def(a, n);
		if (!d) {
			char tmp[80];

			snprintf(tmp, sizeof(tmp), "%.*s",
				 (int)(n < 60 ? n : 60), a);
			return fail(
				l, ERR_INVAL, SRC_FLAG, NULL,
				"unknown flag --%s (see shoal agent --help)",
				tmp);
		}
		if (d->kind == K_BOOL && !eq) {
			val = "true";
		} else if (eq) {
			val = eq + 1;
		} else {
			if (i + 1 >= argc)
				return fail(l, ERR_INVAL, SRC_FLAG, d->name,
					    "needs a value");
			val = argv[++i];
		}
		if (config_only != (strcmp(d->name, "config") == 0))
			continue;
		rc = set_one(l, d, SRC_FLAG, val);
		if (rc)
			return rc;
	}
	return 0;
}

static bool
token_ok(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n == 0 || n > max)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '.' && *s != '_' &&
		    *s != '-')
			return false;
	return true;
}

int
agent_kv_split(const char *text, char *key, size_t key_cap, char *value,
	       size_t value_cap)
{
	const char *eq = strchr(text, '=');
	size_t kn, vn;

	if (!eq || eq == text)
		return ERR_INVAL;
	kn = (size_t)(eq - text);
	vn = strlen(eq + 1);
	if (kn >= key_cap || vn >= value_cap)
		return ERR_INVAL;
	memcpy(key, text, kn);
	key[kn] = '\0';
	memcpy(value, eq + 1, vn + 1);
	return 0;
}

int
agent_parse_bind(struct addr *a, const char *text)
{
	if (addr_parse(a, text, AGENT_PORT_DEFAULT) == 0)
		return 0;
	/* Without a port the first parse succeeds, so a port-0 success
	 * here means the text said ":0". */
	if (addr_parse(a, text, 0) == 0 && a->port == 0)
		return 0;
	return ERR_INVAL;
}

static int
validate(struct loader *l)
{
	struct agent_opts *o = l->o;
	struct addr a;
	char why[160];
	int rc;

	if (o->name[0] && !token_ok(o->name, 64))
		return fail(l, ERR_INVAL, SRC_FLAG, "name",
			    "\"%s\" must be 1..64 characters of "
			    "[A-Za-z0-9._-]",
			    o->name);
	if (!o->bind[0])
		snprintf(o->bind, sizeof(o->bind), "0.0.0.0:%d",
			 AGENT_PORT_DEFAULT);
	if (agent_parse_bind(&a, o->bind))
		return fail(l, ERR_INVAL, SRC_FLAG, "bind",
			    "\"%s\" is not ADDR[:PORT] (IPv6 as [::1]:7946)",
			    o->bind);
	if (o->advertise[0]) {
		if (addr_parse(&a, o->advertise, 0) || addr_is_any(&a))
			return fail(l, ERR_INVAL, SRC_FLAG, "advertise",
				    "\"%s\" is not a unicast ADDR[:PORT]",
				    o->advertise);
	}
	if (!o->cluster[0])
		strcpy(o->cluster, "shoal");
	if (!token_ok(o->cluster, CRYPTO_LABEL_MAX))
		return fail(l, ERR_INVAL, SRC_FLAG, "cluster",
			    "\"%s\" must be 1..64 characters of "
			    "[A-Za-z0-9._-]",
			    o->cluster);
	if (!o->profile_name[0])
		strcpy(o->profile_name, "lan");
	if (profile_by_name(&o->prof, o->profile_name))
		return fail(l, ERR_INVAL, SRC_FLAG, "profile",
			    "\"%s\" is not lan, wan or local", o->profile_name);
	for (unsigned i = 0; i < o->nset; i++) {
		char k[64], v[AGENT_STR_MAX];

		if (agent_kv_split(o->set[i], k, sizeof(k), v, sizeof(v)))
			return fail(l, ERR_INVAL, SRC_FLAG, "set",
				    "\"%s\" is not KEY=VALUE", o->set[i]);
		rc = profile_set(&o->prof, k, v);
		if (rc == ERR_NOENT)
			return fail(l, rc, SRC_FLAG, "set",
				    "no profile field \"%s\" (see "
				    "gossip/profile.h)",
				    k);
		if (rc)
			return fail(l, rc, SRC_FLAG, "set",
				    "bad value in \"%s\"", o->set[i]);
	}
	if (o->nset)
		snprintf(o->prof.name, sizeof(o->prof.name), "%.9s+set",
			 o->profile_name);
	if (profile_check(&o->prof, why, sizeof(why)))
		return fail(l, ERR_INVAL, SRC_FLAG, "set", "%s", why);
	for (unsigned i = 0; i < o->ntag; i++) {
		char k[64], v[AGENT_STR_MAX];

		if (agent_kv_split(o->tag[i], k, sizeof(k), v, sizeof(v)) ||
		    !token_ok(k, 32))
			return fail(l, ERR_INVAL, SRC_FLAG, "tag",
				    "\"%s\" is not KEY=VALUE with a key of "
				    "[A-Za-z0-9._-]",
				    o->tag[i]);
		for (unsigned j = 0; j < i; j++)
			if (strncmp(o->tag[j], o->tag[i], strlen(k) + 1) == 0)
				return fail(l, ERR_EXIST, SRC_FLAG, "tag",
					    "key \"%s\" given twice", k);
	}
	o->stop_grace_ms = TASK_STOP_GRACE_DEFAULT_MS;
	if (o->stop_grace[0]) {
		uint64_t ms;

		if (parse_duration_ms(o->stop_grace, &ms) ||
		    ms > TASK_STOP_GRACE_MAX_MS)
			return fail(l, ERR_INVAL, SRC_FLAG, "task-stop-grace",
				    "\"%s\" is not a duration of at most 1h "
				    "(e.g. 10s, 500ms)",
				    o->stop_grace);
		o->stop_grace_ms = ms ? (uint32_t)ms : 1;
	}
	o->max_tasks_n = TASK_MAX_DEFAULT;
	if (o->max_tasks[0]) {
		char *end;
		unsigned long v = strtoul(o->max_tasks, &end, 10);

		if (*end || !isdigit((unsigned char)o->max_tasks[0]) ||
		    v == 0 || v > TASK_MAX_LIMIT)
			return fail(l, ERR_INVAL, SRC_FLAG, "max-tasks",
				    "\"%s\" is not a number from 1 to %d",
				    o->max_tasks, TASK_MAX_LIMIT);
		o->max_tasks_n = (uint32_t)v;
	}
	o->log_max_bytes = TASK_LOG_MAX_DEFAULT;
	if (o->task_log_max[0]) {
		uint64_t b;

		if (parse_size(o->task_log_max, &b) || b < 4096 ||
		    b > TASK_LOG_MAX_LIMIT)
			return fail(l, ERR_INVAL, SRC_FLAG, "task-log-max",
				    "\"%s\" is not a size from 4k to 4g "
				    "(e.g. 512k, 10m)",
				    o->task_log_max);
		o->log_max_bytes = b;
	}
	if (o->insecure && (o->key_file[0] || o->key[0]))
		return fail(l, ERR_INVAL, SRC_FLAG, NULL,
			    "--insecure-no-encryption conflicts with "
			    "--key-file / SHOAL_KEY");
	if (o->key_file[0] && o->key[0])
		return fail(l, ERR_INVAL, SRC_FLAG, NULL,
			    "give either --key-file or SHOAL_KEY, not both");
	return 0;
}

static int
load(struct agent_opts *o, int argc, char **argv, char *err, size_t err_cap,
     bool check)
{
	struct loader l;
	const char *cfg;
	int rc;

	memset(o, 0, sizeof(*o));
	memset(&l, 0, sizeof(l));
	o->log_level = LOG_INFO;
	l.o = o;
	l.err = err;
	l.err_cap = err_cap;
	err[0] = '\0';

	/* --config first, since it decides what the lowest source is. */
	rc = load_flags(&l, argc, argv, true);
	if (rc)
		return rc;
	if (o->help)
		return 0;
	cfg = o->config[0] ? o->config : getenv("SHOAL_CONFIG");
	if (cfg && *cfg) {
		if (strlen(cfg) >= sizeof(o->config))
			return fail(&l, ERR_TOOBIG, SRC_ENV, "config",
				    "path too long");
		if (cfg != o->config)
			snprintf(o->config, sizeof(o->config), "%s", cfg);
		rc = load_config(&l, o->config);
		if (rc)
			return rc;
	}
	rc = load_env(&l);
	if (!rc)
		rc = load_flags(&l, argc, argv, false);
	if (!rc && check)
		rc = validate(&l);
	return rc;
}

int
agent_opts_load(struct agent_opts *o, int argc, char **argv, char *err,
		size_t err_cap)
{
	return load(o, argc, argv, err, err_cap, true);
}

int
agent_opts_reload_log_level(const struct agent_opts *o, int argc, char **argv,
			    enum log_level *level, char *err, size_t err_cap)
{
	struct agent_opts *tmp = malloc(sizeof(*tmp));
	int rc;

	(void)o;
	if (!tmp)
		return ERR_NOMEM;
	rc = load(tmp, argc, argv, err, err_cap, false);
	if (!rc)
		*level = tmp->log_level;
	free(tmp);
	return rc;
}
