/* SPDX-License-Identifier: MIT */
/*
 * tests/fuzz/replay.c — run a libFuzzer target over saved inputs, without
 * libFuzzer.
 *
 * Linked with one fuzz_NAME.c, this main() feeds every file named on the
 * command line, and every regular file in every directory named, to
 * LLVMFuzzerTestOneInput, one at a time and in name order. That is how
 * `make test` replays the regression inputs in tests/fuzz/corpus/ with gcc
 * and no fuzzing runtime, and how `make asan` replays them under the
 * sanitizers. A crash or a failed assertion in the target ends the process;
 * otherwise the exit status is 0, or 2 when an argument cannot be read.
 *
 * Each input is copied into a heap block of exactly its size, so a target
 * that reads past the end is caught by ASan or valgrind here as it would be
 * under libFuzzer.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Inputs larger than this are refused rather than read. */
#define REPLAY_INPUT_MAX (64u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
extern int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static unsigned long inputs;

static int
run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *data;
	long n;

	if (!f) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0) {
		fprintf(stderr, "replay: %s: cannot size\n", path);
		fclose(f);
		return -1;
	}
	if ((unsigned long)n > REPLAY_INPUT_MAX) {
		fprintf(stderr, "replay: %s: %ld bytes is too large\n", path,
			n);
		fclose(f);
		return -1;
	}
	/* malloc(0) may return NULL; keep a real (1-byte) block then. */
	data = malloc(n ? (size_t)n : 1);
	if (!data) {
		fprintf(stderr, "replay: %s: out of memory\n", path);
		fclose(f);
		return -1;
	}
	if (n && fread(data, 1, (size_t)n, f) != (size_t)n) {
		fprintf(stderr, "replay: %s: short read\n", path);
		free(data);
		fclose(f);
		return -1;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(data, (size_t)n);
	free(data);
	inputs++;
	return 0;
}

static int
not_hidden(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

static int
run_dir(const char *dir)
{
	struct dirent **names;
	int n, rc = 0;

	n = scandir(dir, &names, not_hidden, alphasort);
	if (n < 0) {
		fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	for (int i = 0; i < n; i++) {
		size_t len = strlen(dir) + strlen(names[i]->d_name) + 2;
		char *path = malloc(len);
		struct stat st;

		if (!path) {
			rc = -1;
		} else {
			snprintf(path, len, "%s/%s", dir, names[i]->d_name);
			if (stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
			    run_file(path) != 0)
				rc = -1;
			free(path);
		}
		free(names[i]);
	}
	free(names);
	return rc;
}

int
main(int argc, char **argv)
{
	int rc = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
		return 2;
	}
	if (LLVMFuzzerInitialize)
		LLVMFuzzerInitialize(&argc, &argv);
	for (int i = 1; i < argc; i++) {
		struct stat st;

		if (stat(argv[i], &st) != 0) {
			fprintf(stderr, "replay: %s: %s\n", argv[i],
				strerror(errno));
			rc = 2;
		} else if (S_ISDIR(st.st_mode)) {
			if (run_dir(argv[i]) != 0)
				rc = 2;
		} else if (run_file(argv[i]) != 0) {
			rc = 2;
		}
	}
	printf("replay: %lu inputs, no crash\n", inputs);
	return rc;
}
