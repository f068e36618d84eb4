/* SPDX-License-Identifier: MIT */
/*
 * cli/keyfile.c — key files, the persisted keyring and the data dir.
 *
 * The persisted keyring is the one piece of state the agent keeps on disk,
 * and losing it after a rotation would lock the node out of its cluster (it
 * would restart with a key nobody uses any more). Hence the classic atomic
 * replace: write a temporary file next to it with O_EXCL and mode 0600,
 * fsync it, rename it over the old one, and fsync the directory so the
 * rename itself is durable. Readers therefore see either the old or the new
 * keyring, never a mix.
 *
 * Key bytes pass through stack buffers only; they are wiped with
 * sodium_memzero() before return.
 */
#include "cli/keyfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "core/err.h"

int
keyfile_parse(const char *text, size_t n, struct keyring *kr, char *why,
	      size_t why_cap)
{
	size_t i = 0;
	unsigned lineno = 0;
	uint8_t key[CRYPTO_KEY_LEN];
	int rc = 0;

	keyring_init(kr);
	why[0] = '\0';
	while (i < n) {
		char line[128];
		size_t start = i, len, j = 0;
		const char *p;

		while (i < n && text[i] != '\n')
			i++;
		len = i - start;
		if (i < n)
			i++;
		lineno++;
		p = text + start;
		while (len && (*p == ' ' || *p == '\t' || *p == '\r')) {
			p++;
			len--;
		}
		while (len && (p[len - 1] == ' ' || p[len - 1] == '\t' ||
			       p[len - 1] == '\r'))
			len--;
		if (len == 0 || *p == '#')
			continue;
		if (len >= sizeof(line)) {
			snprintf(why, why_cap, "line %u: not a base64 key",
				 lineno);
			rc = ERR_KEYLEN;
			break;
		}
		for (j = 0; j < len; j++)
			line[j] = p[j];
		line[len] = '\0';
		rc = crypto_key_parse(line, key);
		sodium_memzero(line, sizeof(line));
		if (rc) {
			snprintf(why, why_cap, "line %u: %s", lineno,
				 rc == ERR_KEYLEN
					 ? "key does not decode to 32 bytes"
					 : "not base64");
			break;
		}
		rc = keyring_add(kr, key);
		if (rc) {
			snprintf(why, why_cap, "line %u: %s", lineno,
				 rc == ERR_FULL ? "more than 8 keys"
						: "the same key twice");
			break;
		}
	}
	sodium_memzero(key, sizeof(key));
	if (!rc && kr->n == 0) {
		snprintf(why, why_cap, "no key in it");
		rc = ERR_NOENT;
	}
	if (rc)
		sodium_memzero(kr, sizeof(*kr));
	return rc;
}

int
keyfile_read(const char *path, struct keyring *kr, char *why, size_t why_cap)
{
	char text[KEYFILE_MAX + 1];
	ssize_t got;
	size_t n = 0;
	int fd, rc;

	why[0] = '\0';
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(why, why_cap, "%s", strerror(errno));
		return errno == ENOENT ? ERR_NOENT : ERR_IO;
	}
	while (n < sizeof(text)) {
		got = read(fd, text + n, sizeof(text) - n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			snprintf(why, why_cap, "%s", strerror(errno));
			close(fd);
			sodium_memzero(text, sizeof(text));
			return ERR_IO;
		}
		if (got == 0)
			break;
		n += (size_t)got;
	}
	close(fd);
	if (n > KEYFILE_MAX) {
		snprintf(why, why_cap, "larger than %d bytes", KEYFILE_MAX);
		sodium_memzero(text, sizeof(text));
		return ERR_TOOBIG;
	}
	rc = keyfile_parse(text, n, kr, why, why_cap);
	sodium_memzero(text, sizeof(text));
	return rc;
}

int
keyfile_format(const struct keyring *kr, char *out, size_t cap)
{
	size_t len = 0;
	char b64[CRYPTO_KEY_B64_LEN];

	if (cap == 0)
		return ERR_TOOBIG;
	out[0] = '\0';
	for (unsigned k = 0; k < kr->n; k++) {
		/* Primary first, then the others in keyring order. */
		unsigned idx =
			k == 0 ? kr->primary : (k <= kr->primary ? k - 1 : k);

		crypto_key_format(kr->keys[idx].bytes, b64);
		if (len + CRYPTO_KEY_B64_LEN + 1 > cap) {
			sodium_memzero(b64, sizeof(b64));
			sodium_memzero(out, cap);
			return ERR_TOOBIG;
		}
		memcpy(out + len, b64, CRYPTO_KEY_B64_LEN - 1);
		len += CRYPTO_KEY_B64_LEN - 1;
		out[len++] = '\n';
		out[len] = '\0';
	}
	sodium_memzero(b64, sizeof(b64));
	return (int)len;
}

static int
write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int
keyfile_write(const char *path, const struct keyring *kr)
{
	char text[CRYPTO_KEYS_MAX * CRYPTO_KEY_B64_LEN + 64];
	char tmp[4096 + 32];
	char dir[4096];
	const char *slash;
	int fd, len, saved;

	len = keyfile_format(kr, text, sizeof(text));
	if (len < 0)
		return len;
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path,
			     (long)getpid()) >= sizeof(tmp)) {
		sodium_memzero(text, sizeof(text));
		return ERR_TOOBIG;
	}
	unlink(tmp); /* a leftover of a crashed run with our pid */
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		goto out_err;
	if (write_all(fd, text, (size_t)len) || fsync(fd)) {
		saved = errno;
		close(fd);
		unlink(tmp);
		errno = saved;
		goto out_err;
	}
	if (close(fd) || rename(tmp, path)) {
		saved = errno;
		unlink(tmp);
		errno = saved;
		goto out_err;
	}
	sodium_memzero(text, sizeof(text));
	slash = strrchr(path, '/');
	if (slash && (size_t)(slash - path) < sizeof(dir)) {
		size_t dn = slash == path ? 1 : (size_t)(slash - path);

		memcpy(dir, path, dn);
		dir[dn] = '\0';
	} else {
		strcpy(dir, ".");
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	return 0;
out_err:
	sodium_memzero(text, sizeof(text));
	return ERR_IO;
}

void
keyfile_keygen(char out[CRYPTO_KEY_B64_LEN])
{
	uint8_t key[CRYPTO_KEY_LEN];

	randombytes_buf(key, sizeof(key));
	crypto_key_format(key, out);
	sodium_memzero(key, sizeof(key));
}

int
agent_default_data_dir(char *out, size_t cap)
{
	const char *xdg = getenv("XDG_STATE_HOME");
	const char *home = getenv("HOME");
	int n;

	if (geteuid() == 0)
		n = snprintf(out, cap, "/var/lib/shoal");
	else if (xdg && xdg[0] == '/')
		n = snprintf(out, cap, "%s/shoal", xdg);
	else if (home && home[0] == '/')
		n = snprintf(out, cap, "%s/.local/state/shoal", home);
	else
		return ERR_NOENT;
	if (n < 0 || (size_t)n >= cap)
		return ERR_TOOBIG;
	return 0;
}

int
agent_mkdir_private(const char *dir, char *why, size_t why_cap)
{
	char tmp[4096];
	struct stat st;
	size_t n = strlen(dir);

	why[0] = '\0';
	if (n == 0 || n >= sizeof(tmp)) {
		snprintf(why, why_cap, "bad directory name");
		return ERR_INVAL;
	}
	memcpy(tmp, dir, n + 1);
	/* Parents first, like mkdir -p, with 0700 for what we create. */
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0700) && errno != EEXIST) {
			snprintf(why, why_cap, "cannot create %s: %s", tmp,
				 strerror(errno));
			return ERR_IO;
		}
		*p = '/';
	}
	if (mkdir(tmp, 0700) && errno != EEXIST) {
		snprintf(why, why_cap, "cannot create %s: %s", tmp,
			 strerror(errno));
		return ERR_IO;
	}
	if (lstat(dir, &st)) {
		snprintf(why, why_cap, "%s: %s", dir, strerror(errno));
		return ERR_IO;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(why, why_cap, "%s is not a directory", dir);
		return ERR_PERM;
	}
	if (st.st_uid != geteuid()) {
		snprintf(why, why_cap,
			 "%s belongs to uid %ld, not to us (uid %ld)", dir,
			 (long)st.st_uid, (long)geteuid());
		return ERR_PERM;
	}
	if ((st.st_mode & 0777) != 0700 && chmod(dir, 0700)) {
		snprintf(why, why_cap, "cannot chmod 0700 %s: %s", dir,
			 strerror(errno));
		return ERR_IO;
	}
	return 0;
}
