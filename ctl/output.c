/*
 * output.c — everything raftqctl prints: errors ("error: CODE: message"
 * on stderr), tables for people, and with --json one document in the
 * shapes of DESIGN.md §7 (jansson).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <raftq.h>

#include "cli.h"
#include "rpc_json.h"

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
		ctl_json_out(json_pack(
		    "{s:s,s:b,s:o,s:I,s:I}", "topic", name, "created", 1,
		    "brokers", b, "replication_factor",
		    (json_int_t)(r->replication_factor ? r->replication_factor
						       : 1),
		    "min_insync_replicas",
		    (json_int_t)(r->min_insync_replicas ? r->min_insync_replicas
							: 1)));
		return;
	}
	printf("created topic %s with %u queues per broker on", name, queues);
	for (uint32_t i = 0; i < r->brokers.n; i++)
		printf("%s %s", i ? "," : "", r->brokers.v[i]);
	printf("\n");
}

/* ---- cluster status ---- */

void ctl_print_status(const struct ctl_opts *o, const void *body)
{
	const struct rpc_status_resp *s = body;
	if (o->json) {
		ctl_json_out(rpc_json_status(s));
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
	if (o->json) {
		ctl_json_out(rpc_json_names(key, n));
		return;
	}
	for (uint32_t i = 0; i < n->names.n; i++)
		puts(n->names.v[i]);
}

/* "  LEADER  r1,r2,r3 / r1,r2" (no leader: "-", offline). */
static void print_replicas(const struct rpc_queue_info *q)
{
	printf("  %-12s  ", q->leader_broker ? q->leader_broker : "-");
	for (uint32_t k = 0; k < q->replicas.n; k++)
		printf("%s%s", k ? "," : "", q->replicas.v[k]);
	printf(" /");
	for (uint32_t k = 0; k < q->isr.n; k++)
		printf("%s%s", k ? "," : " ", q->isr.v[k]);
}

void ctl_print_topic(const struct ctl_opts *o, const void *body)
{
	const struct rpc_topic_describe_resp *t = body;
	const struct rpc_queue_info *q = t->queues.v;
	if (o->json) {
		ctl_json_out(rpc_json_topic(t));
		return;
	}
	bool reps = false;
	for (uint32_t i = 0; i < t->queues.n; i++)
		reps = reps || q[i].replicas.n > 1;
	printf("%-14s %5s %12s %12s  %-24s  %-24s%s\n", "BROKER", "QUEUE",
	       "MIN_OFFSET", "MAX_OFFSET", "FIRST_STORE_TIME",
	       "LAST_STORE_TIME",
	       reps ? "  LEADER        REPLICAS / IN SYNC" : "");
	for (uint32_t i = 0; i < t->queues.n; i++) {
		char t1[40], t2[40];
		ctl_fmt_time(q[i].first_store_time, t1, sizeof t1);
		ctl_fmt_time(q[i].last_store_time, t2, sizeof t2);
		printf("%-14s %5u %12llu %12llu  %-24s  %-24s",
		       q[i].broker_name, q[i].queue_id,
		       (unsigned long long)q[i].min_offset,
		       (unsigned long long)q[i].max_offset, t1, t2);
		if (reps)
			print_replicas(&q[i]);
		printf("\n");
	}
}

/* ---- groups ---- */

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

static void lag_text(const struct rpc_lag_info *q)
{
	char a[24], b[24], c[24];
	printf("%-14s %5u %16s %12s %8s\n", q->broker_name, q->queue_id,
	       offset_text(q->consumer_offset, true, a, sizeof a),
	       offset_text(q->max_offset, !q->unknown, b, sizeof b),
	       offset_text(q->lag, !q->unknown, c, sizeof c));
}

void ctl_print_group(const struct ctl_opts *o, const void *body)
{
	const struct rpc_group_describe_resp *d = body;
	const struct rpc_group_topic_info *t = d->topics.v;
	const struct rpc_member_info *m = d->members.v;
	if (o->json) {
		ctl_json_out(rpc_json_group(d));
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
	if (d->max_reconsume_times > 0)
		printf(
		    "\nretry pending: %llu, dead letters: %llu (raftqctl dlq "
		    "list --group %s)\n",
		    (unsigned long long)d->retry_pending,
		    (unsigned long long)d->dlq, d->group);
	printf("\nonline members: %u\n", d->members.n);
	for (uint32_t i = 0; i < d->members.n; i++)
		printf("  %s (%s): %u queues\n", m[i].member_id,
		       str(m[i].client), m[i].queues.n);
}

/* ---- offsets ---- */

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
		ctl_json_out(rpc_json_reset(x));
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
	if (x->retry_pending > 0 || x->scheduled_pending > 0)
		printf("left alone: %llu messages awaiting retry, %llu "
		       "scheduled for these queues (delivered when due)\n",
		       (unsigned long long)x->retry_pending,
		       (unsigned long long)x->scheduled_pending);
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
	ctl_json_out(rpc_json_history(h));
}

/* ---- consume ---- */

/* The JSON of @m's key or body: text, or "(binary)". */
static json_t *json_bytes(const void *p, size_t len)
{
	json_t *v = json_stringn((const char *)p, len);
	return v ? v : json_string("(binary)");
}

void ctl_print_message(const struct ctl_opts *o, const struct raftq_message *m)
{
	char when[40];
	ctl_fmt_time(m->store_time, when, sizeof when);
	if (!o->json) {
		printf("%-10s %3u %8llu  %s  %.*s", m->broker_name, m->queue_id,
		       (unsigned long long)m->offset, when, (int)m->body_len,
		       (const char *)m->body);
		if (m->origin_topic != NULL)
			printf("  (retry %u of %s/%s:%u@%llu)",
			       m->reconsume_times, m->origin_topic,
			       m->origin_broker_name, m->origin_queue_id,
			       (unsigned long long)m->origin_offset);
		printf("\n");
		return;
	}
	json_t *out = json_pack(
	    "{s:s,s:I,s:I,s:I,s:o,s:o,s:I}", "broker_name", m->broker_name,
	    "queue_id", (json_int_t)m->queue_id, "offset",
	    (json_int_t)m->offset, "store_time", (json_int_t)m->store_time,
	    "key", m->key ? json_bytes(m->key, m->key_len) : json_null(),
	    "body", json_bytes(m->body, m->body_len), "reconsume_times",
	    (json_int_t)m->reconsume_times);
	if (out != NULL && m->origin_topic != NULL) {
		json_object_set_new(out, "topic", json_string(m->topic));
		json_object_set_new(
		    out, "origin",
		    json_pack("{s:s,s:s,s:I,s:I}", "topic", m->origin_topic,
			      "broker_name", m->origin_broker_name, "queue_id",
			      (json_int_t)m->origin_queue_id, "offset",
			      (json_int_t)m->origin_offset));
	}
	ctl_json_out(out);
}
