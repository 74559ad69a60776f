/*
 * http_body.c — JSON bodies of the HTTP API into request structs
 * (http_body.h). Each body is checked whole before anything is sent: the
 * type of every field, its range, and that no unknown field is present.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_body.h"
#include "timeparse.h"

static int fail(char *err, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, n, fmt, ap);
	va_end(ap);
	return -1;
}

/* The body as a JSON object, or NULL with why. */
static json_t *object_of(const char *body, size_t len, char *err, size_t n)
{
	if (len == 0) {
		fail(err, n, "the request needs a JSON body");
		return NULL;
	}
	json_error_t je;
	json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
	if (root == NULL) {
		fail(err, n, "the body is not JSON: %s (line %d, column %d)",
		     je.text, je.line, je.column);
		return NULL;
	}
	if (!json_is_object(root)) {
		json_decref(root);
		fail(err, n, "the body must be a JSON object");
		return NULL;
	}
	return root;
}

/* 0 when every key of @o is one of the NULL-ended @known. */
static int known_keys(json_t *o, const char *const *known, char *err, size_t n)
{
	const char *key;
	json_t *v;
	json_object_foreach(o, key, v)
	{
		size_t i = 0;
		while (known[i] != NULL && strcmp(known[i], key) != 0)
			i++;
		if (known[i] != NULL)
			continue;
		char list[256] = "";
		for (i = 0; known[i] != NULL; i++)
			snprintf(list + strlen(list),
				 sizeof list - strlen(list), "%s%s",
				 i ? ", " : "", known[i]);
		return fail(err, n, "unknown field '%.64s' (known: %s)", key,
			    list);
	}
	return 0;
}

/* String field @key into *out (NULL when absent and not @required). */
static int string_field(json_t *o, const char *key, bool required,
			const char **out, char *err, size_t n)
{
	json_t *v = json_object_get(o, key);
	*out = NULL;
	if (v == NULL)
		return required ? fail(err, n, "field '%s' is required", key)
				: 0;
	if (!json_is_string(v) || json_string_length(v) == 0 ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return fail(err, n, "field '%s' must be a non-empty string",
			    key);
	*out = json_string_value(v);
	return 0;
}

/* Integer field @key in [min, max] into *out (untouched when absent). */
static int int_field(json_t *o, const char *key, int64_t min, int64_t max,
		     int64_t *out, char *err, size_t n)
{
	json_t *v = json_object_get(o, key);
	if (v == NULL)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < min ||
	    json_integer_value(v) > max)
		return fail(err, n,
			    "field '%s' must be an integer from %lld to %lld",
			    key, (long long)min, (long long)max);
	*out = json_integer_value(v);
	return 0;
}

static int bool_field(json_t *o, const char *key, bool *out, char *err,
		      size_t n)
{
	json_t *v = json_object_get(o, key);
	if (v == NULL)
		return 0;
	if (!json_is_boolean(v))
		return fail(err, n, "field '%s' must be true or false", key);
	*out = json_is_true(v);
	return 0;
}

/* Room for @nstrs strings and @nnums numbers in @r. */
static int reserve(struct http_reset *r, size_t nstrs, size_t nnums,
		   size_t text, char *err, size_t n)
{
	r->strs = calloc(nstrs + 1, sizeof *r->strs);
	r->nums = calloc(nnums + 1, sizeof *r->nums);
	r->queue_text = calloc(text + 1, 1);
	if (r->strs == NULL || r->nums == NULL || r->queue_text == NULL)
		return fail(err, n, "out of memory");
	return 0;
}

void http_reset_free(struct http_reset *r)
{
	json_decref(r->root);
	free(r->strs);
	free(r->nums);
	free(r->queue_text);
	memset(r, 0, sizeof *r);
}

/* ---- Huawei DMS ---- */

/* "timestamp": a number or a string of digits, epoch milliseconds. */
static int huawei_time(json_t *v, int64_t *ms, char *err, size_t n)
{
	const char *what = "field 'timestamp' must be epoch milliseconds: a "
			   "number or a string of digits";
	if (json_is_integer(v)) {
		*ms = json_integer_value(v);
	} else if (json_is_string(v)) {
		const char *s = json_string_value(v);
		size_t len = json_string_length(v);
		if (len == 0 || len > 18 || strspn(s, "0123456789") != len)
			return fail(err, n, "%s", what);
		*ms = strtoll(s, NULL, 10);
	} else {
		return fail(err, n, "%s", what);
	}
	if (*ms < 0)
		return fail(err, n, "%s", what);
	char why[160];
	if (ctl_check_epoch_ms(*ms, why, sizeof why) != 0)
		return fail(err, n, "field 'timestamp': %s", why);
	return 0;
}

int http_body_huawei(const char *body, size_t len, const char *group,
		     struct http_reset *out, char *err, size_t errlen)
{
	static const char *const known[] = {"topic", "timestamp", NULL};
	memset(out, 0, sizeof *out);
	out->root = object_of(body, len, err, errlen);
	if (out->root == NULL)
		return -1;
	const char *topic;
	json_t *ts = json_object_get(out->root, "timestamp");
	int64_t ms = 0;
	if (known_keys(out->root, known, err, errlen) != 0 ||
	    string_field(out->root, "topic", true, &topic, err, errlen) != 0)
		return -1;
	if (ts == NULL)
		return fail(err, errlen, "field 'timestamp' is required");
	if (huawei_time(ts, &ms, err, errlen) != 0)
		return -1;
	out->req = (struct rpc_reset_req){
	    .group = group, .topic = topic, .target = "time", .value = ms};
	return 0;
}

/* ---- ApsaraMQ ---- */

int http_body_alibaba(const char *body, size_t len, const char *group,
		      const char *topic, struct http_reset *out, char *err,
		      size_t errlen)
{
	static const char *const known[] = {"resetType", "resetTime",
					    "timeZone", NULL};
	memset(out, 0, sizeof *out);
	out->root = object_of(body, len, err, errlen);
	if (out->root == NULL)
		return -1;
	const char *type, *when, *tz;
	json_t *o = out->root;
	if (known_keys(o, known, err, errlen) != 0 ||
	    string_field(o, "resetType", true, &type, err, errlen) != 0 ||
	    string_field(o, "resetTime", false, &when, err, errlen) != 0 ||
	    string_field(o, "timeZone", false, &tz, err, errlen) != 0)
		return -1;
	out->req = (struct rpc_reset_req){
	    .group = group, .topic = topic, .target = "latest"};
	if (strcmp(type, "LATEST_OFFSET") == 0) {
		if (when != NULL || tz != NULL)
			return fail(err, errlen,
				    "resetTime goes with SPECIFIED_TIME, not "
				    "LATEST_OFFSET");
		return 0;
	}
	if (strcmp(type, "SPECIFIED_TIME") != 0)
		return fail(err, errlen,
			    "field 'resetType' must be LATEST_OFFSET or "
			    "SPECIFIED_TIME");
	if (when == NULL)
		return fail(err, errlen,
			    "field 'resetTime' (\"YYYY-MM-DD HH:MM:SS\") is "
			    "required with SPECIFIED_TIME");
	char why[160];
	out->req.target = "time";
	if (ctl_parse_time(when, tz, &out->req.value, why, sizeof why) != 0)
		return fail(err, errlen, "field 'resetTime': %s", why);
	return 0;
}

/* ---- Native /api/v1 ---- */

/* Where a native reset's lists go inside its struct http_reset. */
struct lists {
	const char **topics, **queues, **qtopics;
	char *text; /* next free byte for a plan row's "broker:queue" */
};

/* Bytes of "broker:queue" text one plan row may take: a name of up to
 * 127 bytes (longer ones are cut, and refused by the node as unknown),
 * ':', a queue id of up to 10 digits, NUL. */
#define ROW_TEXT 140

/* String array @a (field @key) into @out; its count in *count. */
static int strings_of(json_t *a, const char *key, const char **out,
		      uint32_t *count, char *err, size_t n)
{
	size_t i;
	json_t *v;
	json_array_foreach(a, i, v)
	{
		if (!json_is_string(v) || json_string_length(v) == 0)
			return fail(err, n,
				    "%s[%zu] must be a non-empty string", key,
				    i);
		out[i] = json_string_value(v);
	}
	*count = (uint32_t)json_array_size(a);
	return 0;
}

/* The array field @key with 1 to @max elements, NULL when absent. */
static int array_field(json_t *o, const char *key, size_t max, json_t **out,
		       char *err, size_t n)
{
	*out = json_object_get(o, key);
	if (*out != NULL &&
	    (!json_is_array(*out) || json_array_size(*out) == 0 ||
	     json_array_size(*out) > max))
		return fail(err, n,
			    "field '%s' must be an array of 1 to %zu "
			    "elements",
			    key, max);
	return 0;
}

/* Plan row @i ({"topic","broker_name","queue_id","offset"}) into @r. */
static int plan_row(json_t *row, size_t i, struct http_reset *r,
		    struct lists *l, char *err, size_t n)
{
	static const char *const known[] = {"topic", "broker_name", "queue_id",
					    "offset", NULL};
	const char *topic, *broker;
	int64_t q = -1, off = -1;
	char why[200];
	if (!json_is_object(row))
		return fail(err, n, "plan[%zu] must be an object", i);
	if (known_keys(row, known, why, sizeof why) != 0 ||
	    string_field(row, "topic", false, &topic, why, sizeof why) != 0 ||
	    string_field(row, "broker_name", true, &broker, why, sizeof why) !=
		0 ||
	    int_field(row, "queue_id", 0, UINT32_MAX, &q, why, sizeof why) !=
		0 ||
	    int_field(row, "offset", 0, INT64_MAX, &off, why, sizeof why) != 0)
		return fail(err, n, "plan[%zu]: %s", i, why);
	if (q < 0 || off < 0)
		return fail(err, n,
			    "plan[%zu]: queue_id and offset are required", i);
	if (topic == NULL && r->req.topics.n != 1)
		return fail(err, n,
			    "plan[%zu]: 'topic' is required unless the "
			    "reset names one topic",
			    i);
	int len =
	    snprintf(l->text, ROW_TEXT, "%.127s:%lld", broker, (long long)q);
	l->queues[i] = l->text;
	l->text += len + 1;
	l->qtopics[i] = topic ? topic : r->req.topics.v[0];
	r->nums[i] = (uint64_t)off;
	return 0;
}

static int plan_rows(json_t *plan, struct http_reset *r, struct lists *l,
		     char *err, size_t n)
{
	size_t i;
	json_t *row;
	json_array_foreach(plan, i, row)
	{
		if (plan_row(row, i, r, l, err, n) != 0)
			return -1;
	}
	uint32_t rows = (uint32_t)json_array_size(plan);
	r->req.queues = (struct rpc_strs){l->queues, rows};
	r->req.queue_topics = (struct rpc_strs){l->qtopics, rows};
	r->req.offsets = (struct rpc_u64s){r->nums, rows};
	return 0;
}

/* The target and its value: which targets take "value", "plan",
 * "source_group" (the same rules as raftqctl's flags). */
static int target_fields(json_t *o, struct http_reset *r, bool has_plan,
			 char *err, size_t n)
{
	struct rpc_reset_req *q = &r->req;
	static const char *const with_value[] = {"time", "offset", "shift",
						 "duration", NULL};
	static const char *const targets[] = {"latest", "earliest", "current",
					      "group",	"plan",	    NULL};
	bool valued = false, known = false;
	for (size_t i = 0; with_value[i]; i++)
		valued |= strcmp(q->target, with_value[i]) == 0;
	for (size_t i = 0; targets[i]; i++)
		known |= strcmp(q->target, targets[i]) == 0;
	if (!valued && !known)
		return fail(err, n,
			    "field 'target' must be one of latest, "
			    "earliest, time, offset, shift, duration, "
			    "current, group, plan");
	json_t *v = json_object_get(o, "value");
	if (valued != (v != NULL))
		return fail(err, n,
			    valued ? "target %s needs field 'value'"
				   : "target %s takes no 'value'",
			    q->target);
	if (has_plan != (strcmp(q->target, "plan") == 0))
		return fail(err, n,
			    "field 'plan' goes with target plan, and "
			    "target plan needs it");
	if ((q->source_group != NULL) != (strcmp(q->target, "group") == 0))
		return fail(err, n,
			    "field 'source_group' goes with target "
			    "group, and target group needs it");
	bool any = strcmp(q->target, "shift") == 0;
	if (valued && int_field(o, "value", any ? INT64_MIN : 0, INT64_MAX,
				&q->value, err, n) != 0)
		return -1;
	char why[160];
	if (strcmp(q->target, "time") == 0 &&
	    ctl_check_epoch_ms(q->value, why, sizeof why) != 0)
		return fail(err, n, "field 'value': %s", why);
	return 0;
}

/* The guard: "expect_epoch" of a one-topic reset. */
static int guard_field(json_t *o, struct http_reset *r, char *err, size_t n)
{
	int64_t e = -1;
	if (int_field(o, "expect_epoch", 0, INT64_MAX, &e, err, n) != 0)
		return -1;
	if (e < 0)
		return 0;
	if (r->req.topics.n != 1)
		return fail(err, n,
			    "field 'expect_epoch' guards a one-topic "
			    "reset");
	uint64_t *slot = r->nums + r->req.offsets.n; /* after the plan's */
	*slot = (uint64_t)e;
	r->req.expect_epochs = (struct rpc_u64s){slot, 1};
	return 0;
}

/* "topic" / "topics" / "all_topics" into @r's topics. */
static int topic_fields(json_t *o, json_t *topics, struct http_reset *r,
			struct lists *l, char *err, size_t n)
{
	const char *one;
	if (string_field(o, "topic", false, &one, err, n) != 0 ||
	    bool_field(o, "all_topics", &r->req.all_topics, err, n) != 0)
		return -1;
	int given = (one != NULL) + (topics != NULL) + r->req.all_topics;
	if (given != 1)
		return fail(err, n,
			    "give exactly one of 'topic', 'topics', "
			    "'all_topics'");
	if (one != NULL) {
		l->topics[0] = one;
		r->req.topics = (struct rpc_strs){l->topics, 1};
	} else if (topics != NULL) {
		uint32_t k;
		if (strings_of(topics, "topics", l->topics, &k, err, n) != 0)
			return -1;
		r->req.topics = (struct rpc_strs){l->topics, k};
	}
	return 0;
}

/* The lists of @o: sizes checked, room reserved, filled in. */
static int list_fields(json_t *o, struct http_reset *r, char *err, size_t n)
{
	json_t *topics, *queues, *plan;
	if (array_field(o, "topics", HTTP_BODY_TOPICS_MAX, &topics, err, n) !=
		0 ||
	    array_field(o, "queues", HTTP_BODY_PLAN_MAX, &queues, err, n) !=
		0 ||
	    array_field(o, "plan", HTTP_BODY_PLAN_MAX, &plan, err, n) != 0)
		return -1;
	size_t nt = topics ? json_array_size(topics) : 1;
	size_t nq = json_array_size(queues) + json_array_size(plan);
	if (reserve(r, nt + 2 * nq, nq + 1, nq * ROW_TEXT, err, n) != 0)
		return -1;
	struct lists l = {r->strs, r->strs + nt, r->strs + nt + nq,
			  r->queue_text};
	if (topic_fields(o, topics, r, &l, err, n) != 0)
		return -1;
	if (queues != NULL && plan != NULL)
		return fail(err, n,
			    "'queues' and 'plan' do not go together "
			    "(a plan names its queues)");
	if (plan != NULL)
		return plan_rows(plan, r, &l, err, n);
	r->req.queues.v = l.queues;
	return queues ? strings_of(queues, "queues", l.queues, &r->req.queues.n,
				   err, n)
		      : 0;
}

int http_body_reset(const char *body, size_t len, const char *group,
		    struct http_reset *out, char *err, size_t errlen)
{
	static const char *const known[] = {
	    "topic",   "topics",	   "all_topics",   "target",
	    "value",   "queues",	   "plan",	   "source_group",
	    "dry_run", "require_inactive", "expect_epoch", NULL};
	memset(out, 0, sizeof *out);
	out->root = object_of(body, len, err, errlen);
	if (out->root == NULL)
		return -1;
	json_t *o = out->root;
	struct rpc_reset_req *q = &out->req;
	q->group = group;
	if (known_keys(o, known, err, errlen) != 0 ||
	    string_field(o, "target", true, &q->target, err, errlen) != 0 ||
	    string_field(o, "source_group", false, &q->source_group, err,
			 errlen) != 0 ||
	    bool_field(o, "dry_run", &q->dry_run, err, errlen) != 0 ||
	    bool_field(o, "require_inactive", &q->require_inactive, err,
		       errlen) != 0 ||
	    list_fields(o, out, err, errlen) != 0 ||
	    target_fields(o, out, json_object_get(o, "plan") != NULL, err,
			  errlen) != 0)
		return -1;
	return guard_field(o, out, err, errlen);
}
