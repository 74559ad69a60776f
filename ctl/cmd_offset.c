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
    "         several topics in one reset: --topic A --topic B, --topic "
    "A,B, or --all-topics\n"
    "         TARGET: --to-latest | --to-earliest | --to-offset N | "
    "--shift-by N\n"
    "               | --to-time \"YYYY-MM-DD HH:MM:SS\" [--tz +HH:MM] | "
    "--to-timestamp MS\n"
    "               | --by-duration 90m | --to-current | --to-group "
    "OTHER\n"
    "       raftqctl offset reset --group G --from-file FILE [--dry-run] "
    "[--export FILE]\n"
    "       raftqctl offset history --group G --topic T\n"
    "       raftqctl offset undo ID";

enum { NF = 19 };

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
	const char *source;   /* --to-group */
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
	else if (strcmp(flag_name, "--to-group") == 0)
		t->source = v;
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
	    {"--from-file", "plan"},	   {"--to-group", "group"},
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

/* The topics of a reset — every --topic value (comma lists too) — and
 * the queues --queues names. */
struct topics {
	const char *v[CTL_PLAN_TOPICS + 1];
	uint32_t n;
	uint64_t expect[CTL_PLAN_TOPICS]; /* UINT64_MAX: no guard */
	char buf[8192];
	const char *queues[1024];
	char queue_buf[2048];
};

/* --topic values, each once, at most CTL_PLAN_TOPICS; 0 or the usage
 * error's exit status. */
static int topic_flags(const struct ctl_flag *f, struct topics *ts)
{
	ts->n = ctl_flag_list(f, NF, "--topic", ts->buf, sizeof ts->buf, ts->v,
			      CTL_PLAN_TOPICS + 1);
	if (ts->n > CTL_PLAN_TOPICS)
		return ctl_usage_error(
		    usage, "more than %d topics in one reset", CTL_PLAN_TOPICS);
	for (uint32_t i = 0; i < ts->n; i++)
		for (uint32_t k = 0; k < i; k++)
			if (strcmp(ts->v[i], ts->v[k]) == 0)
				return ctl_usage_error(
				    usage, "--topic: '%s' named twice",
				    ts->v[i]);
	if (ctl_flag(f, NF, "--all-topics") != NULL && ts->n > 0)
		return ctl_usage_error(usage, "--all-topics and --topic "
					      "exclude each other");
	return 0;
}

/* With a plan: its topics (and --topic, if given, must name the same
 * ones) and their epochs; 0 or the usage error's exit status. */
static int plan_topics(const struct ctl_flag *f, const struct ctl_plan *p,
		       struct topics *ts)
{
	if (ctl_flag(f, NF, "--queues") != NULL ||
	    ctl_flag(f, NF, "--all-topics") != NULL)
		return ctl_usage_error(usage, "a plan names its own topics and "
					      "queues");
	bool same = ts->n == 0 || ts->n == p->n_topics;
	for (uint32_t i = 0; same && i < ts->n; i++) {
		bool in = false;
		for (uint32_t k = 0; k < p->n_topics; k++)
			in |= strcmp(ts->v[i], p->topics[k].name) == 0;
		same = in;
	}
	if (!same)
		return ctl_usage_error(usage, "--topic names other topics than "
					      "the plan's");
	ts->n = p->n_topics;
	for (uint32_t k = 0; k < p->n_topics; k++) {
		ts->v[k] = p->topics[k].name;
		ts->expect[k] =
		    p->topics[k].has_epoch ? p->topics[k].epoch : UINT64_MAX;
	}
	return 0;
}

/* --expect-epoch (one topic) against a plan's epoch; 0 or the usage
 * error's exit status. */
static int expect_flag(const struct ctl_flag *f, struct topics *ts)
{
	int64_t e = -1;
	if (ctl_flag_int(f, NF, "--expect-epoch", 0, INT64_MAX, &e) != 0)
		return ctl_usage_error(usage, "--expect-epoch takes an epoch "
					      ">= 0 (group describe shows it)");
	if (e < 0)
		return 0;
	if (ts->n != 1)
		return ctl_usage_error(usage,
				       "--expect-epoch guards a reset of "
				       "one topic (a plan of several "
				       "carries an epoch per topic)");
	if (ts->expect[0] != UINT64_MAX && ts->expect[0] != (uint64_t)e)
		return ctl_usage_error(usage,
				       "--expect-epoch %lld but the "
				       "plan was made at epoch %llu",
				       (long long)e,
				       (unsigned long long)ts->expect[0]);
	ts->expect[0] = (uint64_t)e;
	return 0;
}

/* The topics and guards of a reset; 0 or the usage error's exit
 * status. */
static int reset_topics(const struct ctl_flag *f, const struct ctl_plan *p,
			struct topics *ts)
{
	for (uint32_t k = 0; k < CTL_PLAN_TOPICS; k++)
		ts->expect[k] = UINT64_MAX;
	int rv = topic_flags(f, ts);
	if (rv == 0 && p->n > 0)
		rv = plan_topics(f, p, ts);
	if (rv == 0 && ts->n == 0 && ctl_flag(f, NF, "--all-topics") == NULL)
		rv = ctl_usage_error(usage, "--topic is required (or "
					    "--all-topics)");
	if (rv == 0 && ts->n > 1 && ctl_flag(f, NF, "--queues") != NULL)
		rv = ctl_usage_error(usage, "--queues names queues of one "
					    "topic; a reset of several moves "
					    "every queue (or use a plan)");
	return rv != 0 ? rv : expect_flag(f, ts);
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
	    ctl_plan_write(export_path, r.body, err, sizeof err) != 0) {
		fprintf(stderr,
			"raftqctl: --export: %s (the reset itself %s)\n", err,
			in->dry_run ? "was a dry run" : "was applied");
		rv = 1;
	}
	ctl_resp_free(&r);
	return rv;
}

/* The request for target @t of topics @ts (its queues split into @ts);
 * @qtopics has room for a plan's rows. */
static struct rpc_reset_req reset_req(const struct ctl_flag *f,
				      const char *group, const struct target *t,
				      struct topics *ts, const char **qtopics,
				      const char *who)
{
	const struct ctl_plan *p = &t->plan;
	const char *list = ctl_flag(f, NF, "--queues");
	const char **qs = ts->queues;
	uint32_t nq = list ? ctl_split(list, ts->queue_buf,
				       sizeof ts->queue_buf, qs, 1024)
			   : 0;
	bool guard = false;
	for (uint32_t k = 0; k < ts->n; k++)
		guard |= ts->expect[k] != UINT64_MAX;
	for (uint32_t i = 0; i < p->n; i++)
		qtopics[i] = p->topics[p->topic_of[i]].name;
	return (struct rpc_reset_req){
	    .group = group,
	    .target = t->name,
	    .value = t->value,
	    .queues = {p->n ? (const char **)p->queues : qs, p->n ? p->n : nq},
	    .dry_run = ctl_flag(f, NF, "--dry-run") != NULL,
	    .require_inactive = ctl_flag(f, NF, "--require-inactive") != NULL,
	    .requester = who,
	    .offsets = {p->offsets, p->n},
	    .topics = {ts->v, ts->n},
	    .all_topics = ctl_flag(f, NF, "--all-topics") != NULL,
	    .queue_topics = {qtopics, p->n},
	    .expect_epochs = {ts->expect, guard ? ts->n : 0},
	    .source_group = t->source};
}

static int offset_reset(const struct ctl_opts *o, const struct ctl_flag *f,
			const char *group)
{
	struct target t;
	struct topics ts;
	int rv = parse_target(f, &t);
	if (rv == 0)
		rv = reset_topics(f, &t.plan, &ts);
	const char **qtopics =
	    rv == 0 ? calloc(t.plan.n + 1, sizeof *qtopics) : NULL;
	if (rv == 0 && qtopics == NULL) {
		fprintf(stderr, "raftqctl: out of memory\n");
		rv = 1;
	}
	if (rv == 0) {
		char who[128];
		requester(who, sizeof who);
		struct rpc_reset_req in =
		    reset_req(f, group, &t, &ts, qtopics, who);
		rv = reset_call(o, &in, ctl_flag(f, NF, "--export"));
	}
	free(qtopics);
	ctl_plan_free(&t.plan);
	return rv;
}

/* History of one topic (--topic once, one name). */
static int offset_history(const struct ctl_opts *o, const struct ctl_flag *f,
			  const char *group)
{
	struct topics ts;
	if (topic_flags(f, &ts) != 0 || ts.n != 1)
		return ctl_usage_error(usage,
				       "offset history needs --topic and "
				       "one topic");
	struct rpc_history_req in = {group, ts.v[0]};
	return ctl_request(o, RPC_HISTORY, &in, ctl_print_history);
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
	    CTL_REPEAT("--topic"),
	    CTL_SWITCH("--all-topics"),
	    CTL_VALUE("--to-group"),
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
	if (group == NULL)
		return ctl_usage_error(usage, "--group is required");
	if (strcmp(sub, "history") == 0)
		return offset_history(o, f, group);
	if (strcmp(sub, "reset") == 0)
		return offset_reset(o, f, group);
	return ctl_usage_error(usage, "unknown offset subcommand '%s'", sub);
}

const struct ctl_noun ctl_offset = {"offset", usage, run};
