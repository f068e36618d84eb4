/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/cli_keyfile_test.c — key files, the persisted keyring, keygen,
 * the data dir, and address conversions of cli/net.
 *
 * Covers key-file parsing (comments, blanks, CRLF, the primary first, and
 * each error with its line), formatting back with the primary first, the
 * atomic write (mode 0600, no temporary left behind, read back equal),
 * keygen output, the default data dir rules, agent_mkdir_private (creates
 * parents, tightens a loose mode, refuses a file), and sockaddr <-> addr
 * conversions including IPv4-mapped IPv6.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sodium.h>

#include "cli/keyfile.h"
#include "cli/net.h"
#include "core/err.h"

static char tmpdir[64];

#define K1 "8yy/A8SuTTULSM8mR+zpcLJbs5Rv6Bgw6RqRDpACA9s="
#define K2 "T9Xh3TPnqzQnwVgn0yq7tR8T2B4eZl0hTsTqyk3t0mI="
#define K3 "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="

static void
test_parse(void **state)
{
	struct keyring kr;
	char why[128];
	const char *text = "# cluster key\r\n\n  " K1 "  \r\n" K2 "\n";
	uint8_t k1[CRYPTO_KEY_LEN], k2[CRYPTO_KEY_LEN];

	(void)state;
	assert_int_equal(
		keyfile_parse(text, strlen(text), &kr, why, sizeof(why)), 0);
	assert_int_equal(kr.n, 2);
	crypto_key_parse(K1, k1);
	crypto_key_parse(K2, k2);
	assert_int_equal(keyring_find(&kr, k1), (int)kr.primary);
	assert_true(keyring_find(&kr, k2) >= 0);

	assert_int_equal(keyfile_parse("", 0, &kr, why, sizeof(why)),
			 ERR_NOENT);
	assert_int_equal(keyfile_parse("# only\n", 7, &kr, why, sizeof(why)),
			 ERR_NOENT);
	text = K1 "\nnot*base64\n";
	assert_int_equal(
		keyfile_parse(text, strlen(text), &kr, why, sizeof(why)),
		ERR_KEYCHARS);
	assert_non_null(strstr(why, "line 2"));
	text = "c2hvcnQ=\n";
	assert_int_equal(
		keyfile_parse(text, strlen(text), &kr, why, sizeof(why)),
		ERR_KEYLEN);
	assert_non_null(strstr(why, "line 1"));
	text = K1 "\n" K1 "\n";
	assert_int_equal(
		keyfile_parse(text, strlen(text), &kr, why, sizeof(why)),
		ERR_EXIST);
	assert_non_null(strstr(why, "line 2"));
}

static void
test_format_primary_first(void **state)
{
	struct keyring kr;
	uint8_t k[3][CRYPTO_KEY_LEN];
	char text[512], why[128];
	struct keyring back;

	(void)state;
	crypto_key_parse(K1, k[0]);
	crypto_key_parse(K2, k[1]);
	crypto_key_parse(K3, k[2]);
	keyring_init(&kr);
	for (int i = 0; i < 3; i++)
		assert_int_equal(keyring_add(&kr, k[i]), 0);
	assert_int_equal(keyring_use(&kr, k[2]), 0);
	assert_int_equal(keyfile_format(&kr, text, sizeof(text)), 3 * 45);
	assert_memory_equal(text, K3 "\n" K1 "\n" K2 "\n", 3 * 45);
	assert_int_equal(
		keyfile_parse(text, strlen(text), &back, why, sizeof(why)), 0);
	assert_int_equal(back.n, 3);
	assert_int_equal(keyring_find(&back, k[2]), (int)back.primary);
	assert_int_equal(keyfile_format(&kr, text, 50), ERR_TOOBIG);
}

static void
test_write_atomic(void **state)
{
	struct keyring kr, back;
	uint8_t k[CRYPTO_KEY_LEN];
	char path[128], why[128];
	struct stat st;
	DIR *d;
	struct dirent *e;
	int files = 0;

	(void)state;
	snprintf(path, sizeof(path), "%s/keyring", tmpdir);
	keyring_init(&kr);
	crypto_key_parse(K2, k);
	keyring_add(&kr, k);
	assert_int_equal(keyfile_write(path, &kr), 0);
	crypto_key_parse(K1, k);
	keyring_add(&kr, k);
	keyring_use(&kr, k);
	assert_int_equal(keyfile_write(path, &kr), 0); /* replaces */
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(keyfile_read(path, &back, why, sizeof(why)), 0);
	assert_int_equal(back.n, 2);
	assert_int_equal(keyring_find(&back, k), (int)back.primary);
	d = opendir(tmpdir);
	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			files++;
	closedir(d);
	assert_int_equal(files, 1); /* no temporary left */
	unlink(path);
	assert_int_equal(keyfile_read(path, &back, why, sizeof(why)),
			 ERR_NOENT);
	snprintf(path, sizeof(path), "%s/missing/keyring", tmpdir);
	assert_int_equal(keyfile_write(path, &kr), ERR_IO);
}

static void
test_keygen(void **state)
{
	char a[CRYPTO_KEY_B64_LEN], b[CRYPTO_KEY_B64_LEN];
	uint8_t k[CRYPTO_KEY_LEN];

	(void)state;
	assert_true(sodium_init() >= 0);
	keyfile_keygen(a);
	keyfile_keygen(b);
	assert_int_equal(strlen(a), 44);
	assert_int_equal(crypto_key_parse(a, k), 0);
	assert_string_not_equal(a, b);
}

static void
test_default_data_dir(void **state)
{
	char out[256];
	char *home = getenv("HOME") ? strdup(getenv("HOME")) : NULL;
	char *xdg = getenv("XDG_STATE_HOME") ? strdup(getenv("XDG_STATE_HOME"))
					     : NULL;

	(void)state;
	setenv("HOME", "/home/u", 1);
	setenv("XDG_STATE_HOME", "/state", 1);
	assert_int_equal(agent_default_data_dir(out, sizeof(out)), 0);
	if (geteuid() == 0) {
		assert_string_equal(out, "/var/lib/shoal");
	} else {
		assert_string_equal(out, "/state/shoal");
		setenv("XDG_STATE_HOME", "relative", 1);
		assert_int_equal(agent_default_data_dir(out, sizeof(out)), 0);
		assert_string_equal(out, "/home/u/.local/state/shoal");
		unsetenv("XDG_STATE_HOME");
		unsetenv("HOME");
		assert_int_equal(agent_default_data_dir(out, sizeof(out)),
				 ERR_NOENT);
	}
	assert_int_equal(agent_default_data_dir(out, 4),
			 geteuid() == 0 ? ERR_TOOBIG : ERR_NOENT);
	if (home)
		setenv("HOME", home, 1);
	else
		unsetenv("HOME");
	if (xdg)
		setenv("XDG_STATE_HOME", xdg, 1);
	else
		unsetenv("XDG_STATE_HOME");
	free(home);
	free(xdg);
}

static void
test_mkdir_private(void **state)
{
	char dir[128], file[160], why[256];
	struct stat st;
	FILE *f;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/a/b/c", tmpdir);
	assert_int_equal(agent_mkdir_private(dir, why, sizeof(why)), 0);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	chmod(dir, 0755);
	assert_int_equal(agent_mkdir_private(dir, why, sizeof(why)), 0);
	stat(dir, &st);
	assert_int_equal(st.st_mode & 0777, 0700);
	snprintf(file, sizeof(file), "%s/file", dir);
	f = fopen(file, "w");
	assert_non_null(f);
	fclose(f);
	assert_int_equal(agent_mkdir_private(file, why, sizeof(why)), ERR_PERM);
	assert_non_null(strstr(why, "not a directory"));
	unlink(file);
	rmdir(dir);
	snprintf(dir, sizeof(dir), "%s/a/b", tmpdir);
	rmdir(dir);
	snprintf(dir, sizeof(dir), "%s/a", tmpdir);
	rmdir(dir);
}

static void
test_net_addr(void **state)
{
	struct addr a, back;
	struct sockaddr_storage ss;
	socklen_t sl;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;

	(void)state;
	assert_int_equal(addr_parse(&a, "10.1.2.3:7946", 0), 0);
	sl = net_sockaddr(&a, 0, &ss);
	assert_int_equal(sl, sizeof(struct sockaddr_in));
	assert_int_equal(net_addr((struct sockaddr *)&ss, sl, &back), 0);
	assert_true(addr_equal(&a, &back));
	/* IPv4 out of an IPv6 socket: mapped, and mapped back. */
	sl = net_sockaddr(&a, AF_INET6, &ss);
	assert_int_equal(sl, sizeof(struct sockaddr_in6));
	assert_true(IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr));
	assert_int_equal(ntohs(in6->sin6_port), 7946);
	assert_int_equal(net_addr((struct sockaddr *)&ss, sl, &back), 0);
	assert_int_equal(back.family, ADDR_V4);
	assert_true(addr_equal(&a, &back));
	/* IPv6 cannot go out of an IPv4 socket. */
	assert_int_equal(addr_parse(&a, "[2001:db8::1]:7000", 0), 0);
	assert_int_equal(net_sockaddr(&a, AF_INET, &ss), 0);
	sl = net_sockaddr(&a, 0, &ss);
	assert_int_equal(net_addr((struct sockaddr *)&ss, sl, &back), 0);
	assert_true(addr_equal(&a, &back));
	assert_int_equal(net_addr((struct sockaddr *)&ss, 4, &back), ERR_INVAL);
}

static void
test_net_resolve(void **state)
{
	struct addr a;
	char why[128];

	(void)state;
	assert_int_equal(
		net_resolve("127.0.0.1:1234", 7946, 0, &a, why, sizeof(why)),
		0);
	assert_int_equal(a.port, 1234);
	assert_int_equal(net_resolve("[::1]", 7946, 0, &a, why, sizeof(why)),
			 0);
	assert_int_equal(a.family, ADDR_V6);
	assert_int_equal(a.port, 7946);
	assert_int_equal(net_resolve("localhost:77", 7946, ADDR_V4, &a, why,
				     sizeof(why)),
			 0);
	assert_int_equal(a.family, ADDR_V4);
	assert_int_equal(a.port, 77);
	assert_int_not_equal(
		net_resolve("host:notaport", 7946, 0, &a, why, sizeof(why)), 0);
	assert_int_not_equal(net_resolve("", 7946, 0, &a, why, sizeof(why)), 0);
}

static int
group_setup(void **state)
{
	(void)state;
	strcpy(tmpdir, "/tmp/shoal-keyfile-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int
group_teardown(void **state)
{
	(void)state;
	rmdir(tmpdir);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_format_primary_first),
		cmocka_unit_test(test_write_atomic),
		cmocka_unit_test(test_keygen),
		cmocka_unit_test(test_default_data_dir),
		cmocka_unit_test(test_mkdir_private),
		cmocka_unit_test(test_net_addr),
		cmocka_unit_test(test_net_resolve),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
