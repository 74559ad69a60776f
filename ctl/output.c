/*
 * output.c — everything raftqctl prints: errors ("error: CODE: message"
 * on stderr), tables for people, and with --json one document in the
 * shapes of DESIGN.md §7 (jansson).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

int ctl_request(const struct ctl_opts *o, uint16_t type, const void *req,
		ctl_print_fn print)
{
	struct ctl_resp r;
	ctl_call(o->bootstrap, type, req, o->timeout_ms, &r);
	int rv = ctl_check(o, &r);
	if (rv == 0 && print != NULL)
		print(o, r.body);
	ctl_resp_free(&r);
	return rv;
}

int ctl_check(const struct ctl_opts *o, const struct ctl_resp *r)
{
	if (r->err == RPC_ECONNECT) {
		fprintf(stderr,
			"error: UNAVAILABLE: no raftq node could be reached "
			"within %u ms (%s); check -b or RAFTQ_BOOTSTRAP and "
			"that raftqd runs\n",
			o->timeout_ms, r->why);
		return 1;
	}
	if (r->err != 0) {
		fprintf(
		    stderr, "error: UNAVAILABLE: %s: %s%s%s\n", r->via,
		    rpc_strerror(r->err),
		    r->err == RPC_ETIMEDOUT || r->err == RPC_ECLOSED
			? " (the request was sent: check its outcome before "
			  "retrying)"
			: "",
		    "");
		return 1;
	}
	if (r->st.code != RPC_OK) {
		const char *name = rpc_code_name(r->st.code);
		fprintf(stderr, "error: %s: %s", name ? name : "UNKNOWN",
			r->st.message ? r->st.message : "(no message)");
		if (r->st.retry || r->st.code == RPC_NOT_LEADER)
			fprintf(stderr, " (gave up within %u ms: %s)",
				o->timeout_ms, r->why);
		fprintf(stderr, "\n");
		return 1;
	}
	return 0;
}

void ctl_json_out(json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (s != NULL) {
		puts(s);
		free(s);
	}
	json_decref(j);
}

void ctl_fmt_time(int64_t ms, char *out, size_t n)
{
	if (ms < 0) {
		snprintf(out, n, "-");
		return;
	}
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	char buf[32];
	strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, n, "%s.%03dZ", buf, (int)(ms % 1000));
}

static const char *str(const char *s)
{
	return s ? s : "";
}

/* A JSON array of @l's elements (each @size bytes) made by @one. */
static json_t *array_of(const struct rpc_list *l, size_t size,
			json_t *(*one)(const void *elem))
{
	json_t *a = json_array();
	for (uint32_t i = 0; i < l->n; i++)
		json_array_append_new(a, one((const char *)l->v + i * size));
	return a;
}

int ctl_print_created(const struct ctl_opts *o, const char *kind,
		      const char *name, const char *detail)
{
	if (o->json)
		ctl_json_out(json_pack("{s:s,s:b}", kind, name, "created", 1));
	else
		printf("created %s %s %s\n", kind, name, detail);
	return 0;
}

void ctl_print_topic_created(const struct ctl_opts *o, const char *name,
			     uint32_t queues,
			     const struct rpc_topic_create_resp *r)
{
	if (o->json) {
		json_t *b = json_array();
		for (uint32_t i = 0; i < r->brokers.n; i++)
			json_array_append_new(b, json_string(r->brokers.v[i]));
		ctl_json_out(json_pack("{s:s,s:b,s:o}", "topic", name,
				       "created", 1, "brokers", b));
		return;
	}
	printf("created topic %s with %u queues per broker on", name, queues);
	for (uint32_t i = 0; i < r->brokers.n; i++)
		printf("%s %s", i ? "," : "", r->brokers.v[i]);
	printf("\n");
}

/* ---- cluster status ---- */

static json_t *node_json(const void *elem)
{
	const struct rpc_node_status *n = elem;
	return json_pack("{s:I,s:s,s:s,s:s,s:s,s:I,s:I,s:I}", "id",
			 (json_int_t)n->id, "name", str(n->name), "listen",
			 str(n->listen), "raft_address", str(n->raft_address),
			 "role", n->role, "term", (json_int_t)n->term,
			 "commit_index", (json_int_t)n->commit_index,
			 "applied_index", (json_int_t)n->applied_index);
}

void ctl_print_status(const struct ctl_opts *o, const void *body)
{
	const struct rpc_status_resp *s = body;
	if (o->json) {
		ctl_json_out(json_pack(
		    "{s:I,s:o}", "leader_id", (json_int_t)s->leader_id, "nodes",
		    array_of(&s->nodes, sizeof(struct rpc_node_status),
			     node_json)));
		return;
	}
	const struct rpc_node_status *ns = s->nodes.v;
	printf("%-4s %-12s %-22s %-22s %-12s %6s %8s %8s\n", "ID", "NAME",
	       "LISTEN", "RAFT", "ROLE", "TERM", "COMMIT", "APPLIED");
	for (uint32_t i = 0; i < s->nodes.n; i++)
		printf("%-4llu %-12s %-22s %-22s %-12s %6llu %8llu %8llu\n",
		       (unsigned long long)ns[i].id, str(ns[i].name),
		       str(ns[i].listen), str(ns[i].raft_address), ns[i].role,
		       (unsigned long long)ns[i].term,
		       (unsigned long long)ns[i].commit_index,
		       (unsigned long long)ns[i].applied_index);
	printf("leader: %llu\n", (unsigned long long)s->leader_id);
}

/* ---- topics ---- */

void ctl_print_names(const struct ctl_opts *o, const char *key,
		     const struct rpc_names_resp *n)
{
	json_t *a = json_array();
	for (uint32_t i = 0; i < n->names.n; i++) {
		if (o->json)
			json_array_append_new(a, json_string(n->names.v[i]));
		else
			puts(n->names.v[i]);
	}
	if (o->json)
		ctl_json_out(json_pack("{s:o}", key, a));
	else
		json_decref(a);
}

static json_t *queue_json(const void *elem)
{
	const struct rpc_queue_info *q = elem;
	return json_pack("{s:s,s:I,s:I,s:I,s:I,s:I}", "broker_name",
			 q->broker_name, "queue_id", (json_int_t)q->queue_id,
			 "min_offset", (json_int_t)q->min_offset, "max_offset",
			 (json_int_t)q->max_offset, "first_store_time",
			 (json_int_t)q->first_store_time, "last_store_time",
			 (json_int_t)q->last_store_time);
}

void ctl_print_topic(const struct ctl_opts *o, const void *body)
{
	const struct rpc_topic_describe_resp *t = body;
	const struct rpc_queue_info *q = t->queues.v;
	if (o->json) {
		ctl_json_out(
		    json_pack("{s:s,s:o}", "topic", t->topic, "queues",
			      array_of(&t->queues, sizeof *q, queue_json)));
		return;
	}
	printf("%-14s %5s %12s %12s  %-24s  %-24s\n", "BROKER", "QUEUE",
	       "MIN_OFFSET", "MAX_OFFSET", "FIRST_STORE_TIME",
	       "LAST_STORE_TIME");
	for (uint32_t i = 0; i < t->queues.n; i++) {
		char t1[40], t2[40];
		ctl_fmt_time(q[i].first_store_time, t1, sizeof t1);
		ctl_fmt_time(q[i].last_store_time, t2, sizeof t2);
		printf("%-14s %5u %12llu %12llu  %-24s  %-24s\n",
		       q[i].broker_name, q[i].queue_id,
		       (unsigned long long)q[i].min_offset,
		       (unsigned long long)q[i].max_offset, t1, t2);
	}
}

/* ---- groups ---- */

/* An offset, or null when unknown (UINT64_MAX, RSM's "none"). */
static json_t *offset_json(uint64_t v, bool known)
{
	return known && v != UINT64_MAX ? json_integer((json_int_t)v)
					: json_null();
}

/* A committed offset as text: the number, or "-" for none. */
static const char *committed_text(uint64_t v, char *buf, size_t n)
{
	if (v == UINT64_MAX)
		return "-";
	snprintf(buf, n, "%llu", (unsigned long long)v);
	return buf;
}

/* The same as text: the number, or "?". */
static const char *offset_text(uint64_t v, bool known, char *buf, size_t n)
{
	if (!known || v == UINT64_MAX)
		return "?";
	snprintf(buf, n, "%llu", (unsigned long long)v);
	return buf;
}

static json_t *lag_json(const void *elem)
{
	const struct rpc_lag_info *q = elem;
	return json_pack("{s:s,s:I,s:o,s:o,s:o}", "broker_name", q->broker_name,
			 "queue_id", (json_int_t)q->queue_id, "consumer_offset",
			 offset_json(q->consumer_offset, true), "max_offset",
			 offset_json(q->max_offset, !q->unknown), "lag",
			 offset_json(q->lag, !q->unknown));
}

static void lag_text(const struct rpc_lag_info *q)
{
	char a[24], b[24], c[24];
	printf("%-14s %5u %16s %12s %8s\n", q->broker_name, q->queue_id,
	       offset_text(q->consumer_offset, true, a, sizeof a),
	       offset_text(q->max_offset, !q->unknown, b, sizeof b),
	       offset_text(q->lag, !q->unknown, c, sizeof c));
}

static json_t *group_topic_json(const void *elem)
{
	const struct rpc_group_topic_info *t = elem;
	return json_pack(
	    "{s:s,s:I,s:o}", "topic", t->topic, "epoch", (json_int_t)t->epoch,
	    "queues",
	    array_of(&t->queues, sizeof(struct rpc_lag_info), lag_json));
}

static json_t *string_json(const void *elem)
{
	return json_string(*(const char *const *)elem);
}

static json_t *member_json(const void *elem)
{
	const struct rpc_member_info *m = elem;
	const struct rpc_list qs = {m->queues.v, m->queues.n};
	return json_pack("{s:s,s:s,s:o}", "member_id", m->member_id, "client",
			 str(m->client), "queues",
			 array_of(&qs, sizeof(char *), string_json));
}

static void group_json(const struct rpc_group_describe_resp *d)
{
	ctl_json_out(json_pack(
	    "{s:s,s:s,s:o,s:o}", "group", d->group, "mode", d->mode, "topics",
	    array_of(&d->topics, sizeof(struct rpc_group_topic_info),
		     group_topic_json),
	    "members",
	    array_of(&d->members, sizeof(struct rpc_member_info),
		     member_json)));
}

void ctl_print_group(const struct ctl_opts *o, const void *body)
{
	const struct rpc_group_describe_resp *d = body;
	const struct rpc_group_topic_info *t = d->topics.v;
	const struct rpc_member_info *m = d->members.v;
	if (o->json) {
		group_json(d);
		return;
	}
	printf("group %s (%s)\n", d->group, d->mode);
	for (uint32_t i = 0; i < d->topics.n; i++) {
		printf("\ntopic %s  epoch %llu\n", t[i].topic,
		       (unsigned long long)t[i].epoch);
		printf("%-14s %5s %16s %12s %8s\n", "BROKER", "QUEUE",
		       "CONSUMER_OFFSET", "MAX_OFFSET", "LAG");
		const struct rpc_lag_info *q = t[i].queues.v;
		for (uint32_t k = 0; k < t[i].queues.n; k++)
			lag_text(&q[k]);
	}
	printf("\nonline members: %u\n", d->members.n);
	for (uint32_t i = 0; i < d->members.n; i++)
		printf("  %s (%s): %u queues\n", m[i].member_id,
		       str(m[i].client), m[i].queues.n);
}

/* ---- offsets ---- */

/* One queue in the Huawei shape: exactly these three keys (DESIGN §2). */
static json_t *reset_queue_json(const void *elem)
{
	const struct rpc_reset_queue *q = elem;
	return json_pack("{s:s,s:I,s:I}", "broker_name", q->broker_name,
			 "queue_id", (json_int_t)q->queue_id,
			 "timestamp_offset", (json_int_t)q->timestamp_offset);
}

static json_t *skipped_json(const struct rpc_list *queues)
{
	const struct rpc_reset_queue *q = queues->v;
	json_t *a = json_array();
	for (uint32_t i = 0; i < queues->n; i++)
		if (q[i].skipped)
			json_array_append_new(
			    a, json_pack("{s:s,s:I}", "broker_name",
					 q[i].broker_name, "queue_id",
					 (json_int_t)q[i].queue_id));
	return a;
}

/* Adds "skipped" (a copy's queues the source never committed) to @o when
 * there are any. */
static void add_skipped(json_t *o, const struct rpc_list *queues)
{
	json_t *a = skipped_json(queues);
	if (json_array_size(a) > 0)
		json_object_set_new(o, "skipped", a);
	else
		json_decref(a);
}

static json_t *reset_topic_json(const void *elem)
{
	const struct rpc_reset_topic *t = elem;
	json_t *o =
	    json_pack("{s:s,s:I,s:o}", "topic", t->topic, "epoch",
		      (json_int_t)t->epoch, "queues",
		      array_of(&t->queues, sizeof(struct rpc_reset_queue),
			       reset_queue_json));
	add_skipped(o, &t->queues);
	return o;
}

/* One topic: the Huawei shape; several: {"topics": [...]} (DESIGN §2.1). */
static void reset_json(const struct rpc_reset_resp *x)
{
	const struct rpc_reset_topic *t = x->topics.v;
	json_t *o;
	if (x->topics.n == 1) {
		o = json_pack("{s:o,s:I,s:I}", "queues",
			      array_of(&t[0].queues,
				       sizeof(struct rpc_reset_queue),
				       reset_queue_json),
			      "reset_id", (json_int_t)x->reset_id, "epoch",
			      (json_int_t)t[0].epoch);
		add_skipped(o, &t[0].queues);
	} else {
		o = json_pack("{s:o,s:I}", "topics",
			      array_of(&x->topics, sizeof *t, reset_topic_json),
			      "reset_id", (json_int_t)x->reset_id);
	}
	json_object_set_new(o, "dry_run", json_boolean(x->dry_run));
	if (x->lagging.n > 0) {
		json_t *a = json_array();
		for (uint32_t i = 0; i < x->lagging.n; i++)
			json_array_append_new(a, json_string(x->lagging.v[i]));
		json_object_set_new(o, "lagging", a);
	}
	if (x->source_group != NULL)
		json_object_set_new(o, "source_group",
				    json_string(x->source_group));
	ctl_json_out(o);
}

/* One topic's queues: previous -> new, clamping and skips marked. */
static void reset_queues_text(const struct rpc_reset_topic *t,
			      const char *source)
{
	const struct rpc_reset_queue *q = t->queues.v;
	printf("%-14s %5s %16s    %-16s\n", "BROKER", "QUEUE", "PREVIOUS",
	       "OFFSET");
	for (uint32_t i = 0; i < t->queues.n; i++) {
		char prev[24];
		printf("%-14s %5u %16s -> %-16llu%s%s%s%s%s\n",
		       q[i].broker_name, q[i].queue_id,
		       committed_text(q[i].previous_offset, prev, sizeof prev),
		       (unsigned long long)q[i].timestamp_offset,
		       q[i].clamped ? " clamped" : "",
		       q[i].unset ? " (no committed offset: initial rule)" : "",
		       q[i].skipped ? " skipped (" : "",
		       q[i].skipped ? source : "",
		       q[i].skipped ? " never committed it)" : "");
	}
}

/* The first line: what was reset (or dry-run) and, for one topic, its
 * epoch. */
static void reset_head_text(const struct rpc_reset_resp *x)
{
	const struct rpc_reset_topic *t = x->topics.v;
	const char *g = str(x->group);
	unsigned long long id = x->reset_id, epoch = t[0].epoch;
	if (x->topics.n == 1 && x->dry_run)
		printf("dry run for group %s, topic %s: nothing was changed "
		       "(epoch stays %llu)\n",
		       g, t[0].topic, epoch);
	else if (x->topics.n == 1)
		printf("reset %llu of group %s, topic %s applied: epoch %llu\n",
		       id, g, t[0].topic, epoch);
	else if (x->dry_run)
		printf("dry run for group %s, %u topics: nothing was changed\n",
		       g, x->topics.n);
	else
		printf("reset %llu of group %s, %u topics applied (one "
		       "entry)\n",
		       id, g, x->topics.n);
	if (x->source_group != NULL)
		printf("copied from group %s\n", x->source_group);
}

void ctl_print_reset(const struct ctl_opts *o, const void *body)
{
	const struct rpc_reset_resp *x = body;
	const struct rpc_reset_topic *t = x->topics.v;
	if (x->topics.n == 0) {
		fprintf(stderr, "raftqctl: the answer lists no topic\n");
		return;
	}
	if (o->json) {
		reset_json(x);
		return;
	}
	reset_head_text(x);
	for (uint32_t k = 0; k < x->topics.n; k++) {
		if (x->topics.n > 1)
			printf("\ntopic %s  epoch %llu%s\n", t[k].topic,
			       (unsigned long long)t[k].epoch,
			       x->dry_run ? " (unchanged)" : "");
		reset_queues_text(&t[k], str(x->source_group));
	}
	for (uint32_t i = 0; i < x->lagging.n; i++)
		printf("warning: broker %s had not applied the reset when it "
		       "was answered; it serves no fetch until it has\n",
		       x->lagging.v[i]);
}

static json_t *history_queue_json(const void *elem)
{
	const struct rpc_history_queue *q = elem;
	json_t *o = json_pack(
	    "{s:s,s:I,s:o,s:o,s:I,s:I,s:b}", "broker_name", q->broker_name,
	    "queue_id", (json_int_t)q->queue_id, "previous_offset",
	    offset_json(q->previous_offset, true), "timestamp_offset",
	    offset_json(q->timestamp_offset, true), "min_offset",
	    (json_int_t)q->min_offset, "max_offset", (json_int_t)q->max_offset,
	    "clamped", q->clamped);
	if (q->skipped)
		json_object_set_new(o, "skipped", json_true());
	return o;
}

static json_t *history_entry_json(const void *elem)
{
	const struct rpc_history_entry *e = elem;
	json_t *o = json_pack(
	    "{s:I,s:I,s:s,s:s,s:s,s:s,s:I,s:b,s:o}", "reset_id",
	    (json_int_t)e->reset_id, "time", (json_int_t)e->time, "requester",
	    str(e->requester), "group", e->group, "topic", e->topic, "target",
	    e->target, "value", (json_int_t)e->value, "dry_run", 0, "queues",
	    array_of(&e->queues, sizeof(struct rpc_history_queue),
		     history_queue_json));
	if (e->source_group != NULL)
		json_object_set_new(o, "source_group",
				    json_string(e->source_group));
	return o;
}

/* The target's value as people read it, after a space ("" if none). */
static void target_value(const struct rpc_history_entry *e, char *val, size_t n)
{
	char t[40];
	if (strcmp(e->target, "time") == 0) {
		ctl_fmt_time(e->value, t, sizeof t);
		snprintf(val, n, " %s", t);
	} else if (strcmp(e->target, "duration") == 0) {
		snprintf(val, n, " %llds back", (long long)e->value / 1000);
	} else if (strcmp(e->target, "offset") == 0 ||
		   strcmp(e->target, "shift") == 0 ||
		   strcmp(e->target, "undo") == 0) {
		snprintf(val, n, " %lld", (long long)e->value);
	} else if (strcmp(e->target, "group") == 0) {
		snprintf(val, n, " %s", str(e->source_group));
	} else {
		val[0] = '\0'; /* latest, earliest, current, plan */
	}
}

static void history_entry_text(const struct rpc_history_entry *e)
{
	const struct rpc_history_queue *q = e->queues.v;
	char when[40], val[48];
	ctl_fmt_time(e->time, when, sizeof when);
	target_value(e, val, sizeof val);
	printf("\nreset %llu  %s  by %s  target %s%s  epoch %llu\n",
	       (unsigned long long)e->reset_id, when, str(e->requester),
	       e->target, val, (unsigned long long)e->epoch);
	printf("  %-14s %5s %12s    %-12s %s\n", "BROKER", "QUEUE", "PREVIOUS",
	       "OFFSET", "[MIN, MAX]");
	for (uint32_t k = 0; k < e->queues.n; k++) {
		char prev[24], now[24];
		printf("  %-14s %5u %12s -> %-12s [%llu, %llu]%s%s\n",
		       q[k].broker_name, q[k].queue_id,
		       committed_text(q[k].previous_offset, prev, sizeof prev),
		       committed_text(q[k].timestamp_offset, now, sizeof now),
		       (unsigned long long)q[k].min_offset,
		       (unsigned long long)q[k].max_offset,
		       q[k].clamped ? " clamped" : "",
		       q[k].skipped ? " skipped" : "");
	}
}

void ctl_print_history(const struct ctl_opts *o, const void *body)
{
	const struct rpc_history_resp *h = body;
	const struct rpc_history_entry *e = h->resets.v;
	if (!o->json) {
		printf("%u reset%s (times in UTC; \"-\": no committed "
		       "offset)\n",
		       h->resets.n, h->resets.n == 1 ? "" : "s");
		for (uint32_t i = 0; i < h->resets.n; i++)
			history_entry_text(&e[i]);
		return;
	}
	ctl_json_out(
	    json_pack("{s:o}", "resets",
		      array_of(&h->resets, sizeof *e, history_entry_json)));
}

/* ---- consume ---- */

void ctl_print_message(const struct ctl_opts *o, const char *broker, uint32_t q,
		       uint64_t off, int64_t t, const struct rpc_record *rec)
{
	char when[40];
	ctl_fmt_time(t, when, sizeof when);
	if (!o->json) {
		printf("%-10s %3u %8llu  %s  %.*s\n", broker, q,
		       (unsigned long long)off, when, (int)rec->body_len,
		       (const char *)rec->body);
		return;
	}
	json_t *key = rec->key
			  ? json_stringn((const char *)rec->key, rec->key_len)
			  : json_null();
	json_t *body = json_stringn((const char *)rec->body, rec->body_len);
	if (body == NULL)
		body = json_string("(binary)");
	if (key == NULL)
		key = json_string("(binary)");
	ctl_json_out(json_pack("{s:s,s:I,s:I,s:I,s:o,s:o,s:I}", "broker_name",
			       broker, "queue_id", (json_int_t)q, "offset",
			       (json_int_t)off, "store_time", (json_int_t)t,
			       "key", key, "body", body, "reconsume_times",
			       (json_int_t)0));
}
