/*
 * fuzz_opts.c: libFuzzer harness for the command line and endpoint
 * parsers: NUL-separated arguments; checks that errors are one line.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "opts.h"

#define FUZZ_ARGS	16

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct opts	 o;
	char		*copy, *argv[FUZZ_ARGS + 2], err[512];
	int		 argc = 1;
	size_t		 i;

	if ((copy = malloc(len + 1)) == NULL)
		return (0);
	memcpy(copy, data, len);
	copy[len] = '\0';
	argv[0] = "transitd";
	argv[argc++] = copy;
	for (i = 0; i < len && argc < FUZZ_ARGS + 1; i++)
		if (copy[i] == '\0')
			argv[argc++] = copy + i + 1;
	argv[argc] = NULL;
	err[0] = '\0';
	if (opts_parse(argc, argv, &o, err, sizeof err) == -1 &&
	    (err[0] == '\0' || strchr(err, '\n') != NULL))
		abort();
	free(copy);
	return (0);
}
