/* SPDX-License-Identifier: MIT */
/*
 * cli/main.c — the `shoal` program: one binary for the agent and its
 * clients, dispatched on the first argument like docker or serf.
 *
 *   shoal agent ...        run an agent (cli/agent.c)
 *   shoal keygen           print a new cluster key
 *   shoal members | info | stats | monitor | leave |
 *         force-leave NAME | keys ... | service ... | node ...
 *                                         talk to the local agent
 *                                         (cli/client.c, client_svc.c)
 *
 * Exit status: 0 success, 1 failure, 2 usage error.
 */
#include <stdio.h>
#include <string.h>

#include "cli/agent.h"
#include "cli/client.h"

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
	if (client_is_command(cmd))
		return client_main(argc - 1, argv + 1);
	fprintf(stderr, "shoal: unknown command \"%.40s\" (see shoal --help)\n",
		cmd);
	return 2;
}
