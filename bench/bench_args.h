/*
 * bench_args.h — the command line every bench program takes: nothing (the
 * full run) or one of the flags it names. Anything else prints the usage
 * and exits 2, so a mistyped flag never starts a long run.
 */
#ifndef RAFTQ_BENCH_ARGS_H
#define RAFTQ_BENCH_ARGS_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Returns the flag given (one of the NULL-terminated @flags), or NULL for
 * none. Exits 2 with "usage: @prog [flag | ...]" for --help, an unknown
 * flag, or more than one argument.
 */
static inline const char *bench_flag(int argc, char **argv, const char *prog,
				     const char *const *flags)
{
	if (argc == 1)
		return NULL;
	for (size_t i = 0; argc == 2 && flags[i] != NULL; i++)
		if (strcmp(argv[1], flags[i]) == 0)
			return flags[i];
	fprintf(stderr, "usage: %s", prog);
	for (size_t i = 0; flags[i] != NULL; i++)
		fprintf(stderr, "%s%s", i == 0 ? " [" : " | ", flags[i]);
	fprintf(stderr, "]\n");
	exit(2);
}

/* bench_flag for programs whose only flag is --quick. */
static inline bool bench_quick(int argc, char **argv, const char *prog)
{
	static const char *const flags[] = {"--quick", NULL};
	return bench_flag(argc, argv, prog, flags) != NULL;
}

#endif
