/* Copyright (c) 2026 the quilt authors. SPDX-License-Identifier: ISC */
/*
 * Plain driver for the libFuzzer harnesses: feeds every file of the corpus
 * folders named on the command line to LLVMFuzzerTestOneInput, in one
 * process, and prints TAP (one line per folder), so `make check` replays the
 * corpora without clang.  A crash or a sanitizer report fails the run.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int
replay_file(const char *path)
{
	FILE *f;
	uint8_t *buf;
	long n;

	if ((f = fopen(path, "rb")) == NULL)
		return (-1);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	if (n < 0 || (buf = malloc(n ? n : 1)) == NULL) {
		fclose(f);
		return (-1);
	}
	if (fread(buf, 1, n, f) != (size_t)n) {
		free(buf);
		fclose(f);
		return (-1);
	}
	fclose(f);
	LLVMFuzzerTestOneInput(buf, n);
	free(buf);
	return (0);
}

int
main(int argc, char *argv[])
{
	int i, failed = 0;

	printf("1..%d\n", argc - 1);
	for (i = 1; i < argc; i++) {
		DIR *d = opendir(argv[i]);
		struct dirent *e;
		char path[4096];
		int n = 0, bad = 0;

		if (d == NULL) {
			printf("not ok %d %s: cannot open\n", i, argv[i]);
			failed = 1;
			continue;
		}
		while ((e = readdir(d)) != NULL) {
			if (e->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", argv[i],
			    e->d_name);
			if (replay_file(path) == -1)
				bad++;
			n++;
		}
		closedir(d);
		printf("%sok %d replayed %d inputs from %s\n",
		    bad ? "not " : "", i, n, argv[i]);
		failed |= bad != 0;
	}
	return (failed);
}
