/* SPDX-License-Identifier: MIT */
/*
 * cli/main.c — the `shoal` program: one binary for the agent and its
 * clients, dispatched on the first argument like docker or serf.
 *
 *   shoal agent ...        run an agent (cli/agent.c)
 *   shoal keygen           print a new cluster key
 *   shoal members | node ls | info | stats | monitor | leave |
 *         force-leave NAME | keys ...     talk to the local agent
 *                                         (cli/client.c)
 *
 * Exit status: 0 success, 1 failure, 2 usage error.
 */
#include <stdio.h>
#include <string.h>

#include "cli/agent.h"
#include "cli/client.h"

static const char *const node_ls_usage =
	"usage: shoal node ls [--format text|json]   (same as shoal members)\n";

int main(int argc, char **argv);

int
main(int argc, char **argv)
{
	const char *cmd;

	if (argc < 2) {
		client_usage();
		return 2;
	}
	cmd = argv[1];
	if (strcmp(cmd, "agent") == 0)
		return agent_main(argc - 1, argv + 1);
	if (strcmp(cmd, "keygen") == 0)
		return client_keygen(argc - 1, argv + 1);
	if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
		printf("shoal %s\n", SHOAL_VERSION);
		return 0;
	}
	if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 ||
	    strcmp(cmd, "-h") == 0) {
		client_usage();
		return 0;
	}
	if (strcmp(cmd, "node") == 0) {
		if (argc >= 3 && (strcmp(argv[2], "ls") == 0 ||
				  strcmp(argv[2], "list") == 0)) {
			argv[2] = (char *)"members";
			return client_main(argc - 2, argv + 2);
		}
		if (argc >= 3 && (strcmp(argv[2], "--help") == 0 ||
				  strcmp(argv[2], "-h") == 0)) {
			fputs(node_ls_usage, stdout);
			return 0;
		}
		fputs("shoal node: expected `ls` (see shoal --help)\n", stderr);
		return 2;
	}
	if (client_is_command(cmd))
		return client_main(argc - 1, argv + 1);
	fprintf(stderr, "shoal: unknown command \"%.40s\" (see shoal --help)\n",
		cmd);
	return 2;
}
