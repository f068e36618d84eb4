/* SPDX-License-Identifier: MIT */
/*
 * cli/client.h — the `shoal` commands that talk to a local agent.
 *
 * Each command opens the agent's control socket, sends one request
 * (cli/ctl.h), prints the reply (cli/format.h) and exits: 0 on success, 1
 * when the agent refused or could not be reached (one line on stderr
 * saying why), 2 on a usage error. The socket is found through --socket,
 * then SHOAL_SOCKET, then --data-dir / SHOAL_DATA_DIR, then the default
 * data dir (cli/keyfile.h), with CTL_SOCKET_NAME inside it.
 */
#ifndef SHOAL_CLI_CLIENT_H
#define SHOAL_CLI_CLIENT_H

#include <stdbool.h>

/* Run a client command. argv[0] is the command ("members", "keys", ...).
 * Returns the process exit status. */
int client_main(int argc, char **argv);

/* True if cmd is a client command client_main() knows. */
bool client_is_command(const char *cmd);

/* `shoal keygen`: print a new key. Needs no agent. */
int client_keygen(int argc, char **argv);

/* Print the list of commands (for `shoal --help`). */
void client_usage(void);

#endif
