/* SPDX-License-Identifier: MIT */
/*
 * cli/opts.h — the agent's settings, from flags, environment and a file.
 *
 * Every setting has a long flag, an environment variable and a config-file
 * key derived from one name:
 *
 *   flag                       env                         config key
 *   --key-file FILE            SHOAL_KEY_FILE=FILE         key-file = FILE
 *
 * Precedence, lowest first: built-in defaults, the config file (--config
 * or SHOAL_CONFIG), the environment, the command line. A list setting
 * (join, tag, set, event-handler) given in a higher source replaces the
 * whole list of the lower ones. In the environment a list is separated by
 * commas or whitespace (SHOAL_JOIN="10.0.0.1 10.0.0.2"), except
 * SHOAL_EVENT_HANDLER, which holds one handler.
 *
 * The config file has one `key = value` per line; '#' starts a comment
 * line, blank lines are ignored, the value may be double-quoted, list keys
 * repeat, and booleans are true/false/yes/no/1/0.
 *
 * SHOAL_KEY (a base64 key) has no flag on purpose: keys on a command line
 * are visible to every user in ps(1).
 *
 * agent_opts_load() only parses and validates text; the agent runtime does
 * what needs the system (default name from the hostname, default data dir,
 * resolving seeds, reading keys).
 */
#ifndef SHOAL_CLI_OPTS_H
#define SHOAL_CLI_OPTS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/addr.h"
#include "core/crypto.h"
#include "core/log.h"
#include "gossip/profile.h"

#define AGENT_PORT_DEFAULT 7946
#define AGENT_JOIN_MAX	   32
#define AGENT_TAGS_MAX	   16
#define AGENT_SETS_MAX	   64
#define AGENT_HANDLERS_MAX 8
#define AGENT_STR_MAX	   256	/* an address, a seed, a tag, an override */
#define AGENT_CMD_MAX	   1024 /* an event-handler command */
#define AGENT_PATH_MAX	   1024 /* file and directory paths */
#define AGENT_CONFIG_MAX   (64 * 1024) /* config file size */

struct agent_opts {
	char name[65];		       /* "" = hostname */
	char bind[AGENT_STR_MAX];      /* "" = 0.0.0.0:7946 */
	char advertise[AGENT_STR_MAX]; /* "" = derived from bind */
	char join[AGENT_JOIN_MAX][AGENT_STR_MAX];
	unsigned njoin;
	char key_file[AGENT_PATH_MAX];
	char key[CRYPTO_KEY_B64_LEN + 16]; /* SHOAL_KEY */
	bool insecure;			   /* --insecure-no-encryption */
	char cluster[CRYPTO_LABEL_MAX + 1];
	char data_dir[AGENT_PATH_MAX]; /* "" = per-user default */
	char socket[AGENT_PATH_MAX];   /* "" = DATA_DIR/agent.sock */
	char profile_name[16];
	char set[AGENT_SETS_MAX][AGENT_STR_MAX]; /* "key=value" */
	unsigned nset;
	char tag[AGENT_TAGS_MAX][AGENT_STR_MAX]; /* "key=value" */
	unsigned ntag;
	char handler[AGENT_HANDLERS_MAX][AGENT_CMD_MAX];
	unsigned nhandler;
	enum log_level log_level;
	char config[AGENT_PATH_MAX];
	char stop_grace[32];   /* --task-stop-grace DUR */
	char max_tasks[16];    /* --max-tasks N */
	char task_log_max[32]; /* --task-log-max SIZE */
	bool help;

	/* Derived by agent_opts_load() from the above. */
	struct profile prof;
	uint32_t stop_grace_ms; /* default 10 s */
	uint32_t max_tasks_n;	/* default 128 */
	uint64_t log_max_bytes; /* default 1 MiB */
};

/* Fill o from argv (argv[0] is the subcommand or program name and is
 * skipped), the environment (getenv) and the config file named by --config
 * or SHOAL_CONFIG. 0, or a negative error with a one-line message in err.
 * When --help is given, returns 0 with o->help set and nothing validated. */
int agent_opts_load(struct agent_opts *o, int argc, char **argv, char *err,
		    size_t err_cap);

/* Re-read only the log level, from the config file then the environment
 * then the original command line, for SIGHUP. 0 or a negative error. */
int agent_opts_reload_log_level(const struct agent_opts *o, int argc,
				char **argv, enum log_level *level, char *err,
				size_t err_cap);

/* Parse "key=value" into its parts (for tags and overrides): key is
 * 1..key_cap-1 bytes without '=', value may be empty. 0 or ERR_INVAL. */
int agent_kv_split(const char *text, char *key, size_t key_cap, char *value,
		   size_t value_cap);

/* Parse a bind address: like addr_parse() with AGENT_PORT_DEFAULT, but an
 * explicit ":0" (any free port) is allowed. 0 or ERR_INVAL. */
int agent_parse_bind(struct addr *a, const char *text);

/* The text of `shoal agent --help`. */
extern const char agent_opts_usage[];

#endif
