/*
 * raftqctl — raftq's admin CLI (DESIGN.md §7).
 *
 *   raftqctl [-b HOST:PORT,...] [--json] [--timeout MS] COMMAND ...
 *
 * Exit status: 0 success; 1 the cluster answered an error (stderr
 * "error: CODE: message"); 2 bad usage (bad flag, time, number).
 * --json prints one JSON document (jansson) in the shapes of DESIGN.md §7;
 * `consume --json` prints one object per message and line. Each command
 * noun lives in its own cmd_*.c; everything printed is in output.c.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void usage_all(FILE *out)
{
	fprintf(out,
		"usage: raftqctl [-b HOST:PORT,...] [--json] [--timeout MS] "
		"COMMAND\n\n"
		"  cluster status | cluster remove ID\n"
		"  cluster wait [--node ID] [--voters N] [--within MS]\n"
		"  topic create T --queues N [--brokers b1,b2] | topic list | "
		"topic describe T\n"
		"  group create G [--mode clustering|broadcasting] [--initial "
		"latest|earliest]\n"
		"  group list | group describe G\n"
		"  offset reset --group G --topic T (--to-latest | "
		"--to-earliest |\n"
		"      --to-time \"YYYY-MM-DD HH:MM:SS\" [--tz +HH:MM] | "
		"--to-timestamp MS |\n"
		"      --to-offset N | --shift-by N | --by-duration 90m)\n"
		"      [--queues broker-1:0,broker-2:1] [--dry-run] "
		"[--require-inactive]\n"
		"  offset history --group G --topic T | offset undo ID\n"
		"  produce --topic T [--key K] [--count N --size B]   (stdin "
		"lines otherwise)\n"
		"  consume --group G --topic T [--count N] [--timeout MS]\n\n"
		"-b defaults to $RAFTQ_BOOTSTRAP, then 127.0.0.1:9101. Exit "
		"status: 0 ok, 1 error\nfrom the cluster (\"error: CODE: "
		"message\" on stderr), 2 bad usage.\n");
}

/* The global flags before the command: the index of the command, or -1
 * after --help (exit 0), or -2 on a bad value (exit 2). */
static int global_flags(int argc, char **argv, struct ctl_opts *o)
{
	int i = 1;
	for (; i < argc; i++) {
		if (strcmp(argv[i], "-b") == 0 && i + 1 < argc) {
			o->bootstrap = argv[++i];
		} else if (strncmp(argv[i], "--bootstrap=", 12) == 0) {
			o->bootstrap = argv[i] + 12;
		} else if (strcmp(argv[i], "--json") == 0) {
			o->json = true;
		} else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) {
			char *end;
			long v = strtol(argv[++i], &end, 10);
			if (*end != '\0' || v <= 0 || v > UINT32_MAX) {
				fprintf(stderr, "raftqctl: --timeout takes "
						"milliseconds > 0\n");
				return -2;
			}
			o->timeout_ms = (uint32_t)v;
		} else if (strcmp(argv[i], "--help") == 0 ||
			   strcmp(argv[i], "-h") == 0) {
			usage_all(stdout);
			return -1;
		} else {
			break;
		}
	}
	return i;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *noun;
		int (*run)(const struct ctl_opts *o, int argc, char **argv);
	} nouns[] = {
	    {"cluster", ctl_cmd_cluster}, {"topic", ctl_cmd_topic},
	    {"group", ctl_cmd_group},	  {"offset", ctl_cmd_offset},
	    {"produce", ctl_cmd_produce}, {"consume", ctl_cmd_consume},
	};
	struct ctl_opts o = {"127.0.0.1:9101", false, 10000};
	if (getenv("RAFTQ_BOOTSTRAP") && *getenv("RAFTQ_BOOTSTRAP"))
		o.bootstrap = getenv("RAFTQ_BOOTSTRAP");
	int i = global_flags(argc, argv, &o);
	if (i < 0)
		return i == -1 ? 0 : 2;
	if (i >= argc) {
		usage_all(stderr);
		return 2;
	}
	/* Shift so that argv[1] is the command. */
	argc -= i - 1;
	argv += i - 1;
	for (int k = 2; k < argc; k++)
		if (strcmp(argv[k], "--help") == 0) {
			usage_all(stdout);
			return 0;
		}
	for (size_t k = 0; k < sizeof nouns / sizeof nouns[0]; k++)
		if (strcmp(argv[1], nouns[k].noun) == 0)
			return nouns[k].run(&o, argc, argv);
	fprintf(stderr, "raftqctl: unknown command '%s'\n", argv[1]);
	usage_all(stderr);
	return 2;
}
