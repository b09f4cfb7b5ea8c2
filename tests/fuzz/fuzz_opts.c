/*
 * fuzz_opts.c: libFuzzer harness for the command line and endpoint
 * parsers: NUL-separated arguments, of which those that start with
 * "TRANSITD_" go to the environment instead; checks that errors are one
 * line.
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
	char		*copy, *argv[FUZZ_ARGS + 2], *envp[FUZZ_ARGS + 2];
	char		 err[512];
	int		 argc = 1, envc = 0;
	size_t		 i;

	if ((copy = malloc(len + 1)) == NULL)
		return (0);
	memcpy(copy, data, len);
	copy[len] = '\0';
	argv[0] = "transitd";
	argv[argc++] = copy;
	for (i = 0; i < len && argc + envc < FUZZ_ARGS + 1; i++) {
		if (copy[i] != '\0')
			continue;
		if (strncmp(copy + i + 1, "TRANSITD_", 9) == 0)
			envp[envc++] = copy + i + 1;
		else
			argv[argc++] = copy + i + 1;
	}
	argv[argc] = NULL;
	envp[envc] = NULL;
	err[0] = '\0';
	if (opts_parse_env(argc, argv, envp, &o, err, sizeof err) == -1 &&
	    (err[0] == '\0' || strchr(err, '\n') != NULL))
		abort();
	free(copy);
	return (0);
}
