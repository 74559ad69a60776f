/*
 * cmd_group.c — raftqctl group create | list | describe | delete.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "timeparse.h"

static const char usage[] = "group create G [--mode clustering|broadcasting] "
			    "[--initial latest|earliest]\n"
			    "                    [--retry-delays 1s,5s,...] "
			    "[--max-reconsume-times N]\n"
			    "       raftqctl group list\n"
			    "       raftqctl group describe G\n"
			    "       raftqctl group delete G";

/* NULL or one of @a, @b; else prints the usage error. */
static bool one_of(const char *v, const char *flag, const char *a,
		   const char *b)
{
	if (v == NULL || strcmp(v, a) == 0 || strcmp(v, b) == 0)
		return true;
	ctl_usage_error(usage, "%s is %s or %s, not '%s'", flag, a, b, v);
	return false;
}

/* "1s,5s,30s" into @ms (at most RPC_RETRY_STEPS_MAX): the count, or -1
 * after the usage error. */
static int parse_delays(const char *text, uint64_t *ms)
{
	char buf[1024], err[200];
	snprintf(buf, sizeof buf, "%s", text);
	int n = 0;
	char *save = NULL;
	for (char *t = strtok_r(buf, ",", &save); t != NULL;
	     t = strtok_r(NULL, ",", &save)) {
		int64_t v;
		if (n == RPC_RETRY_STEPS_MAX) {
			ctl_usage_error(usage, "--retry-delays: at most %d",
					RPC_RETRY_STEPS_MAX);
			return -1;
		}
		if (ctl_parse_duration(t, &v, err, sizeof err) != 0 || v < 1 ||
		    v > RPC_RETRY_DELAY_MAX_MS) {
			ctl_usage_error(usage,
					"--retry-delays: '%s' is not a delay "
					"of 1 ms to 1 day%s%s",
					t, err[0] ? ": " : "", err);
			return -1;
		}
		ms[n++] = (uint64_t)v;
	}
	if (n == 0)
		ctl_usage_error(usage, "--retry-delays: no delay given");
	return n ? n : -1;
}

/* --max-reconsume-times: 1..RPC_RECONSUME_MAX, or 0 after the error. */
static uint32_t parse_times(const char *text)
{
	char *end;
	unsigned long long v = strtoull(text, &end, 10);
	if (*text >= '0' && *text <= '9' && *end == '\0' && v >= 1 &&
	    v <= RPC_RECONSUME_MAX)
		return (uint32_t)v;
	ctl_usage_error(usage, "--max-reconsume-times: '%s' is not 1-%d", text,
			RPC_RECONSUME_MAX);
	return 0;
}

static int group_create(const struct ctl_opts *o, int argc, char **argv)
{
	struct ctl_flag f[] = {CTL_VALUE("--mode"), CTL_VALUE("--initial"),
			       CTL_VALUE("--retry-delays"),
			       CTL_VALUE("--max-reconsume-times")};
	const char *name;
	int rv = ctl_one_arg(argc, argv, usage, "a name", f, 4, &name);
	if (rv != 0)
		return rv;
	const char *mode = ctl_flag(f, 4, "--mode");
	const char *initial = ctl_flag(f, 4, "--initial");
	const char *delays = ctl_flag(f, 4, "--retry-delays");
	const char *times = ctl_flag(f, 4, "--max-reconsume-times");
	if (!one_of(mode, "--mode", "clustering", "broadcasting") ||
	    !one_of(initial, "--initial", "latest", "earliest"))
		return 2;
	uint64_t ms[RPC_RETRY_STEPS_MAX];
	int n = delays ? parse_delays(delays, ms) : 0;
	uint32_t max = times ? parse_times(times) : 0;
	if (n < 0 || (times && max == 0))
		return 2;
	struct rpc_group_create_req in = {
	    name, mode, initial, {ms, (uint32_t)n}, max};
	char detail[64];
	snprintf(detail, sizeof detail, "(%s)", mode ? mode : "clustering");
	rv = ctl_request(o, RPC_GROUP_CREATE, &in, NULL);
	return rv ? rv : ctl_print_created(o, "group", name, detail);
}

static int run(const struct ctl_opts *o, int argc, char **argv)
{
	static const struct ctl_sub subs[] = {
	    {"create", group_create, 0, NULL, NULL, NULL},
	    /* Refused by the cluster while the group has online members. */
	    {"delete", NULL, RPC_GROUP_DELETE, NULL, NULL,
	     "its offsets and reset history are gone"},
	    {"describe", NULL, RPC_GROUP_DESCRIBE, NULL, ctl_print_group, NULL},
	    {"list", NULL, RPC_GROUP_LIST, "groups", NULL, NULL}};
	return ctl_run_sub(o, argc, argv, usage, subs, 4);
}

const struct ctl_noun ctl_group = {"group", usage, run};
