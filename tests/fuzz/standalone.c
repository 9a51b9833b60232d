/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A main() for fuzz targets built without libFuzzer (any compiler):
 * runs LLVMFuzzerTestOneInput once on each file named on the command
 * line, and on each file in each directory named (in name order).
 * `make check` runs the seed corpora and the regression inputs this
 * way, so every build replays them, under valgrind too.
 *
 * Exits 0 when every input ran, 99 if an input cannot be read or none
 * was found; a crash is a crash.
 *
 * Test code only; never installed.
 */
#include <config.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
run_file(const char *path)
{
	struct stat	 st;
	uint8_t		*buf;
	ssize_t		 n;
	size_t		 got = 0;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1 ||
	    fstat(fd, &st) == -1) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	/* Exactly the input's size: a read past its end is caught. */
	if ((buf = malloc(st.st_size ? st.st_size : 1)) == NULL) {
		close(fd);
		return -1;
	}
	while (got < (size_t)st.st_size &&
	    (n = read(fd, buf + got, st.st_size - got)) > 0)
		got += n;
	close(fd);
	if (got != (size_t)st.st_size) {
		fprintf(stderr, "%s: short read\n", path);
		free(buf);
		return -1;
	}
	LLVMFuzzerTestOneInput(buf, got);
	free(buf);
	return 0;
}

static int
only_files(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

int
main(int argc, char **argv)
{
	struct dirent	**ents;
	struct stat	  st;
	unsigned	  ran = 0;
	int		  i, j, n;
	char		  path[4096];

	for (i = 1; i < argc; i++) {
		if (stat(argv[i], &st) == -1) {
			fprintf(stderr, "%s: %s\n", argv[i], strerror(errno));
			return 99;
		}
		if (!S_ISDIR(st.st_mode)) {
			if (run_file(argv[i]) == -1)
				return 99;
			ran++;
			continue;
		}
		n = scandir(argv[i], &ents, only_files, alphasort);
		if (n == -1) {
			fprintf(stderr, "%s: %s\n", argv[i], strerror(errno));
			return 99;
		}
		for (j = 0; j < n; j++) {
			snprintf(path, sizeof(path), "%s/%s", argv[i],
			    ents[j]->d_name);
			if (run_file(path) == -1)
				return 99;
			ran++;
			free(ents[j]);
		}
		free(ents);
	}
	printf("%s: %u inputs ran\n", argv[0], ran);
	return ran > 0 ? 0 : 99;
}
