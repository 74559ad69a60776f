/*
 * cmd_offset.c — raftqctl offset reset | history | undo (DESIGN.md §2, §7).
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
    "offset reset --group G --topic T TARGET [--queues broker-1:0,...]\n"
    "              [--dry-run] [--require-inactive] [--expect-epoch N]\n"
    "              [--export FILE]\n"
    "         TARGET: --to-latest | --to-earliest | --to-offset N | "
    "--shift-by N\n"
    "               | --to-time \"YYYY-MM-DD HH:MM:SS\" [--tz +HH:MM] | "
    "--to-timestamp MS\n"
    "               | --by-duration 90m | --to-current\n"
    "       raftqctl offset reset --group G --from-file FILE [--dry-run] "
    "[--export FILE]\n"
    "       raftqctl offset history --group G --topic T\n"
    "       raftqctl offset undo ID";

enum { NF = 17 };

/* The history's "requester": who typed the command. */
static void requester(char *who, size_t n)
{
	snprintf(who, n, "%s@%s", getenv("USER") ? getenv("USER") : "operator",
		 "raftqctl");
}

static int offset_undo(const struct ctl_opts *o, int argc, char **argv)
{
	static const char *what = "a reset id (from offset history)";
	const char *arg;
	char err[256], who[128];
	int64_t id;
	int rv = ctl_one_arg(argc, argv, usage, what, NULL, 0, &arg);
	if (rv != 0)
		return rv;
	if (ctl_parse_int(arg, "reset id", &id, err, sizeof err) != 0 || id < 1)
		return ctl_usage_error(usage, "offset undo needs %s", what);
	requester(who, sizeof who);
	struct rpc_undo_req in = {(uint64_t)id, who};
	return ctl_request(o, RPC_UNDO, &in, ctl_print_reset);
}

/* One reset target from the flags. */
struct target {
	const char *name; /* the wire's target */
	int64_t value;
	int given;
	struct ctl_plan plan; /* --from-file */
};

/* Reads target flag @flag_name (if given) as target @name; 0 or the usage
 * error's exit status. */
static int target_flag(const struct ctl_flag *f, const char *flag_name,
		       const char *name, struct target *t)
{
	const char *v = ctl_flag(f, NF, flag_name);
	char err[256];
	int rv = 0;
	if (v == NULL)
		return 0;
	t->name = name;
	t->given++;
	if (strcmp(flag_name, "--to-time") == 0 &&
	    ctl_parse_time(v, ctl_flag(f, NF, "--tz"), &t->value, err,
			   sizeof err) != 0)
		rv = ctl_usage_error(usage, "--to-time: %s", err);
	else if (strcmp(flag_name, "--to-timestamp") == 0 &&
		 ctl_flag_int(f, NF, flag_name, 0, INT64_MAX, &t->value) != 0)
		rv = ctl_usage_error(usage, "--to-timestamp takes epoch "
					    "milliseconds");
	else if (strcmp(flag_name, "--to-timestamp") == 0 &&
		 ctl_check_epoch_ms(t->value, err, sizeof err) != 0)
		rv = ctl_usage_error(usage, "--to-timestamp: %s", err);
	else if (strcmp(flag_name, "--to-offset") == 0 &&
		 ctl_flag_int(f, NF, flag_name, 0, INT64_MAX, &t->value) != 0)
		rv = ctl_usage_error(usage, "--to-offset takes an offset >= 0");
	else if (strcmp(flag_name, "--shift-by") == 0 &&
		 ctl_parse_int(v, flag_name, &t->value, err, sizeof err) != 0)
		rv = ctl_usage_error(usage, "%s", err);
	else if (strcmp(flag_name, "--by-duration") == 0 &&
		 ctl_parse_duration(v, &t->value, err, sizeof err) != 0)
		rv = ctl_usage_error(usage, "--by-duration: %s", err);
	else if (strcmp(flag_name, "--from-file") == 0 &&
		 ctl_plan_read(v, &t->plan, err, sizeof err) != 0)
		rv = ctl_usage_error(usage, "--from-file: %s", err);
	return rv;
}

/* Exactly one target; 0 or the usage error's exit status. */
static int parse_target(const struct ctl_flag *f, struct target *t)
{
	static const char *const map[][2] = {
	    {"--to-latest", "latest"},	   {"--to-earliest", "earliest"},
	    {"--to-time", "time"},	   {"--to-timestamp", "time"},
	    {"--to-offset", "offset"},	   {"--shift-by", "shift"},
	    {"--by-duration", "duration"}, {"--to-current", "current"},
	    {"--from-file", "plan"},
	};
	memset(t, 0, sizeof *t);
	if (ctl_flag(f, NF, "--tz") && !ctl_flag(f, NF, "--to-time"))
		return ctl_usage_error(usage, "--tz goes with --to-time");
	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
		int rv = target_flag(f, map[i][0], map[i][1], t);
		if (rv != 0)
			return rv;
	}
	if (t->given != 1) {
		ctl_plan_free(&t->plan);
		return ctl_usage_error(
		    usage, "give exactly one reset target (%d given)",
		    t->given);
	}
	return 0;
}

/* The topic and guard of a reset, checked against a plan's; 0 or the
 * usage error's exit status. */
static int plan_fit(const struct ctl_flag *f, const struct ctl_plan *p,
		    const char **topic, int64_t *expect)
{
	if (ctl_flag_int(f, NF, "--expect-epoch", 0, INT64_MAX, expect) != 0)
		return ctl_usage_error(usage, "--expect-epoch takes an epoch "
					      ">= 0 (group describe shows it)");
	if (p->n == 0)
		return *topic ? 0
			      : ctl_usage_error(usage, "--topic is required");
	if (*topic != NULL && strcmp(*topic, p->topic) != 0)
		return ctl_usage_error(usage,
				       "the plan is for topic '%s', "
				       "not '%s'",
				       p->topic, *topic);
	if (ctl_flag(f, NF, "--queues") != NULL)
		return ctl_usage_error(usage, "a plan names its own queues");
	if (p->has_epoch && *expect >= 0 && (uint64_t)*expect != p->epoch)
		return ctl_usage_error(usage,
				       "--expect-epoch %lld but the "
				       "plan was made at epoch %llu",
				       (long long)*expect,
				       (unsigned long long)p->epoch);
	if (p->has_epoch)
		*expect = (int64_t)p->epoch;
	*topic = p->topic;
	return 0;
}

/* Sends the reset, prints the answer, writes it to --export; the exit
 * status. */
static int reset_call(const struct ctl_opts *o, const struct rpc_reset_req *in,
		      const char *export_path)
{
	struct ctl_resp r;
	ctl_call(o->bootstrap, RPC_RESET, in, o->timeout_ms, &r);
	int rv = ctl_check(o, &r);
	char err[512];
	if (rv == 0)
		ctl_print_reset(o, r.body);
	if (rv == 0 && export_path != NULL &&
	    ctl_plan_write(export_path, r.body, in->topic, err, sizeof err) !=
		0) {
		fprintf(stderr,
			"raftqctl: --export: %s (the reset itself %s)\n", err,
			in->dry_run ? "was a dry run" : "was applied");
		rv = 1;
	}
	ctl_resp_free(&r);
	return rv;
}

static int offset_reset(const struct ctl_opts *o, const struct ctl_flag *f,
			const char *group, const char *topic)
{
	struct target t;
	int rv = parse_target(f, &t);
	int64_t expect = -1;
	if (rv == 0)
		rv = plan_fit(f, &t.plan, &topic, &expect);
	if (rv != 0) {
		ctl_plan_free(&t.plan);
		return rv;
	}
	char buf[2048], who[128];
	const char *qs[1024];
	const char *list = ctl_flag(f, NF, "--queues");
	uint32_t nq = list ? ctl_split(list, buf, sizeof buf, qs, 1024) : 0;
	requester(who, sizeof who);
	struct rpc_reset_req in = {
	    group,
	    topic,
	    t.name,
	    t.value,
	    {t.plan.n ? (const char **)t.plan.queues : qs,
	     t.plan.n ? t.plan.n : nq},
	    ctl_flag(f, NF, "--dry-run") != NULL,
	    ctl_flag(f, NF, "--require-inactive") != NULL,
	    who,
	    expect >= 0,
	    expect >= 0 ? (uint64_t)expect : 0,
	    {t.plan.offsets, t.plan.n}};
	rv = reset_call(o, &in, ctl_flag(f, NF, "--export"));
	ctl_plan_free(&t.plan);
	return rv;
}

static int run(const struct ctl_opts *o, int argc, char **argv)
{
	const char *sub = argc >= 3 ? argv[2] : NULL;
	if (sub == NULL)
		return ctl_usage_error(usage, "missing offset subcommand");
	if (strcmp(sub, "undo") == 0)
		return offset_undo(o, argc, argv);
	struct ctl_flag f[NF] = {
	    CTL_VALUE("--group"),
	    CTL_VALUE("--topic"),
	    CTL_SWITCH("--to-latest"),
	    CTL_SWITCH("--to-earliest"),
	    CTL_VALUE("--to-time"),
	    CTL_VALUE("--tz"),
	    CTL_VALUE("--to-timestamp"),
	    CTL_VALUE("--to-offset"),
	    CTL_VALUE("--shift-by"),
	    CTL_VALUE("--by-duration"),
	    CTL_VALUE("--queues"),
	    CTL_SWITCH("--dry-run"),
	    CTL_SWITCH("--require-inactive"),
	    CTL_VALUE("--expect-epoch"),
	    CTL_SWITCH("--to-current"),
	    CTL_VALUE("--from-file"),
	    CTL_VALUE("--export"),
	};
	int npos;
	int rv = ctl_parse_flags(argc, argv, 3, f, NF, NULL, 0, &npos, usage);
	if (rv != 0)
		return rv;
	const char *group = ctl_flag(f, NF, "--group");
	const char *topic = ctl_flag(f, NF, "--topic");
	if (group == NULL)
		return ctl_usage_error(usage, "--group is required");
	if (strcmp(sub, "history") == 0 && topic == NULL)
		return ctl_usage_error(usage, "--topic is required");
	if (strcmp(sub, "history") == 0) {
		struct rpc_history_req in = {group, topic};
		return ctl_request(o, RPC_HISTORY, &in, ctl_print_history);
	}
	if (strcmp(sub, "reset") == 0)
		return offset_reset(o, f, group, topic);
	return ctl_usage_error(usage, "unknown offset subcommand '%s'", sub);
}

const struct ctl_noun ctl_offset = {"offset", usage, run};
