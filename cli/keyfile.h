/* SPDX-License-Identifier: MIT */
/*
 * cli/keyfile.h — cluster keys on disk, and the agent's state directory.
 *
 * A key file is text: one base64 key (44 characters, `shoal keygen`) per
 * line, the first being the primary (the one packets are sealed with);
 * blank lines and lines starting with '#' are ignored; at most
 * CRYPTO_KEYS_MAX keys. The same format serves the --key-file an operator
 * writes and the keyring the agent persists in its data dir
 * (DATA_DIR/keyring, mode 0600), which it rewrites atomically (temporary
 * file, fsync, rename, fsync of the directory) whenever a rotation changes
 * the keyring, so that rotated keys survive a restart and a crash never
 * leaves a half-written keyring behind.
 */
#ifndef SHOAL_CLI_KEYFILE_H
#define SHOAL_CLI_KEYFILE_H

#include <stddef.h>

#include "core/crypto.h"

/* File name of the persisted keyring inside the data dir. */
#define KEYFILE_KEYRING_NAME "keyring"
/* Largest key file read. */
#define KEYFILE_MAX 4096

/* Parse key-file text into kr (which is reset first). 0, or ERR_KEYCHARS /
 * ERR_KEYLEN (a bad line), ERR_FULL (too many keys), ERR_EXIST (a key
 * twice), ERR_NOENT (no key at all); why names the line. */
int keyfile_parse(const char *text, size_t n, struct keyring *kr, char *why,
		  size_t why_cap);

/* Read and parse a file. ERR_NOENT when it does not exist; ERR_IO with the
 * system error in why; ERR_TOOBIG over KEYFILE_MAX; or keyfile_parse()'s
 * errors. */
int keyfile_read(const char *path, struct keyring *kr, char *why,
		 size_t why_cap);

/* Format kr (primary first) as key-file text into out. Returns the length
 * or ERR_TOOBIG. */
int keyfile_format(const struct keyring *kr, char *out, size_t cap);

/* Write kr to path atomically with mode 0600. 0 or ERR_IO (errno kept). */
int keyfile_write(const char *path, const struct keyring *kr);

/* A fresh random key as base64 (libsodium randombytes; sodium_init() must
 * have been called). */
void keyfile_keygen(char out[CRYPTO_KEY_B64_LEN]);

/* ---- the state directory ---- */

/* The default data dir: /var/lib/shoal for root, else
 * $XDG_STATE_HOME/shoal (when absolute), else $HOME/.local/state/shoal.
 * 0, ERR_NOENT (no HOME) or ERR_TOOBIG. */
int agent_default_data_dir(char *out, size_t cap);

/* Create dir (and missing parents, 0700) and make sure it is a directory
 * owned by us with mode 0700 (tightening it if it is looser). 0, ERR_PERM
 * (owned by someone else, or not a directory) or ERR_IO; why says which. */
int agent_mkdir_private(const char *dir, char *why, size_t why_cap);

#endif
