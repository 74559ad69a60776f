/*
 * metrics.c — counting answers and writing the exposition text
 * (metrics.h). The text is written with open_memstream; names and label
 * values follow the Prometheus text format 0.0.4 (topic, group and broker
 * names are [A-Za-z0-9._-], so no label value needs escaping).
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aio_reaper.h"
#include "metrics.h"
#include "node_int.h"
#include "replica.h"
#include "storage.h"

/* Upper bounds of the latency buckets, seconds (then +Inf). */
static const double bounds[NODE_METRICS_BUCKETS] = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
    0.01,   0.025,   0.05,   0.1,   0.5,    1.0};

void node_metrics_answer(struct node_metrics *m, uint16_t type, uint32_t code,
			 uint64_t ns)
{
	if (type >= NODE_METRICS_TYPES || code >= NODE_METRICS_CODES)
		return;
	m->answers[type][code]++;
	double s = (double)ns / 1e9;
	m->sum_s[type] += s;
	int b = 0;
	while (b < NODE_METRICS_BUCKETS && s > bounds[b])
		b++;
	if (b < NODE_METRICS_BUCKETS)
		m->buckets[type][b]++; /* above the last: only in the total */
}

static uint64_t answers_of(const struct node_metrics *m, int type)
{
	uint64_t n = 0;
	for (int c = 0; c < NODE_METRICS_CODES; c++)
		n += m->answers[type][c];
	return n;
}

static void head(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void write_requests(FILE *f, const struct node_metrics *m)
{
	head(f, "raftq_requests_total", "counter",
	     "Requests this node answered, by type and answer code.");
	for (int t = 0; t < NODE_METRICS_TYPES; t++)
		for (int c = 0; c < NODE_METRICS_CODES; c++)
			if (m->answers[t][c] > 0)
				fprintf(f,
					"raftq_requests_total{type=\"%s\","
					"code=\"%s\"} %llu\n",
					rpc_type_name((uint16_t)t),
					rpc_code_name((uint32_t)c),
					(unsigned long long)m->answers[t][c]);
	head(f, "raftq_request_duration_seconds", "histogram",
	     "From a request's arrival to its answer, by type.");
	for (int t = 0; t < NODE_METRICS_TYPES; t++) {
		uint64_t n = answers_of(m, t);
		const char *name = rpc_type_name((uint16_t)t);
		if (n == 0)
			continue;
		uint64_t below = 0; /* Prometheus buckets are cumulative */
		for (int b = 0; b < NODE_METRICS_BUCKETS; b++) {
			below += m->buckets[t][b];
			fprintf(f,
				"raftq_request_duration_seconds_bucket{type="
				"\"%s\",le=\"%g\"} %llu\n",
				name, bounds[b], (unsigned long long)below);
		}
		fprintf(f,
			"raftq_request_duration_seconds_bucket{type=\"%s\","
			"le=\"+Inf\"} %llu\n"
			"raftq_request_duration_seconds_sum{type=\"%s\"} %.9f\n"
			"raftq_request_duration_seconds_count{type=\"%s\"} "
			"%llu\n",
			name, (unsigned long long)n, name, m->sum_s[t], name,
			(unsigned long long)n);
	}
}

/* Snapshots and restores of the replicated state (rsm_fsm_stats). */
static void write_raft_snapshots(FILE *f, struct node *n)
{
	const struct rsm_fsm_stats *st = rsm_fsm_stats(n->rsm);
	head(f, "raftq_raft_snapshot_index", "gauge",
	     "The last log index this node's latest snapshot covers.");
	fprintf(f, "raftq_raft_snapshot_index %llu\n",
		(unsigned long long)n->raft.log.snapshot.last_index);
	head(f, "raftq_raft_snapshots_total", "counter",
	     "Snapshots of the replicated state this node took.");
	fprintf(f, "raftq_raft_snapshots_total %llu\n",
		(unsigned long long)st->snapshots);
	head(f, "raftq_raft_snapshot_seconds_total", "counter",
	     "Time the event loop spent on those snapshots (copying the "
	     "state).");
	fprintf(f, "raftq_raft_snapshot_seconds_total %.6f\n",
		(double)st->snapshot_us / 1e6);
	head(f, "raftq_raft_snapshot_encode_seconds_total", "counter",
	     "Time spent encoding those snapshots, off the event loop.");
	fprintf(f, "raftq_raft_snapshot_encode_seconds_total %.6f\n",
		(double)st->encode_us / 1e6);
	head(f, "raftq_raft_snapshot_bytes", "gauge",
	     "Size of the last snapshot taken (compressed).");
	fprintf(f, "raftq_raft_snapshot_bytes %llu\n",
		(unsigned long long)st->last_snapshot_bytes);
	struct aio_reaper_stats ar;
	aio_reaper_stats(&ar);
	head(f, "raftq_raft_aio_destroys_deferred_total", "counter",
	     "Closed log segments' AIO contexts destroyed off the event "
	     "loop.");
	fprintf(f, "raftq_raft_aio_destroys_deferred_total %llu\n",
		(unsigned long long)ar.deferred);
	head(f, "raftq_raft_aio_destroys_in_place_total", "counter",
	     "Those destroyed on the event loop: the reaper's queue full.");
	fprintf(f, "raftq_raft_aio_destroys_in_place_total %llu\n",
		(unsigned long long)ar.in_place);
	head(f, "raftq_raft_restores_total", "counter",
	     "Snapshots loaded into the state (at start or installed).");
	fprintf(f, "raftq_raft_restores_total %llu\n",
		(unsigned long long)st->restores);
	head(f, "raftq_raft_restore_seconds_total", "counter",
	     "Time the event loop spent loading those snapshots.");
	fprintf(f, "raftq_raft_restore_seconds_total %.6f\n",
		(double)st->restore_us / 1e6);
}

static void write_raft(FILE *f, struct node *n)
{
	static const char *const roles[] = {"follower", "candidate", "leader",
					    "unavailable"};
	int st = raft_state(&n->raft);
	const char *role = st == RAFT_LEADER	  ? "leader"
			   : st == RAFT_CANDIDATE ? "candidate"
			   : st == RAFT_FOLLOWER  ? "follower"
						  : "unavailable";
	head(f, "raftq_raft_term", "gauge", "This node's Raft term.");
	fprintf(f, "raftq_raft_term %llu\n",
		(unsigned long long)n->raft.current_term);
	head(f, "raftq_raft_commit_index", "gauge",
	     "The highest log index this node knows is committed.");
	fprintf(f, "raftq_raft_commit_index %llu\n",
		(unsigned long long)n->raft.commit_index);
	head(f, "raftq_raft_applied_index", "gauge",
	     "The last log index this node applied to its state.");
	fprintf(f, "raftq_raft_applied_index %llu\n",
		(unsigned long long)node_applied_index(n));
	write_raft_snapshots(f, n);
	head(f, "raftq_raft_role", "gauge",
	     "1 for this node's Raft role, 0 for the others.");
	for (size_t i = 0; i < 4; i++)
		fprintf(f, "raftq_raft_role{role=\"%s\"} %d\n", roles[i],
			strcmp(roles[i], role) == 0);
}

/* A queue this broker leads: its topic, index, home and id. */
struct led {
	const struct rsm_topic *t;
	uint32_t qi;
	const char *home;
	uint32_t q;
};

/* Whether this broker leads queue @qi of @t (into @x). */
static bool leads(const struct node *n, const struct rsm_topic *t, uint32_t qi,
		  struct led *x)
{
	const char *l = rsm_queue_leader(t, qi);
	*x = (struct led){t, qi, t->brokers[qi / t->queues_per_broker],
			  qi % t->queues_per_broker};
	return l != NULL && strcmp(l, n->cfg.name) == 0;
}

/* The bounds of led queue @x into @st: false if unreadable. */
static bool local_stat(struct node *n, const struct led *x,
		       struct node_qstat *st)
{
	uint32_t code;
	char msg[256];
	return node_queue_stat(n, x->t->name, x->home, x->q, false, 0, st,
			       &code, msg, sizeof msg) == 0;
}

enum local_kind {
	LOCAL_MAX,
	LOCAL_MIN,
	LOCAL_LAG,
	LOCAL_LAG_SECONDS,
	LOCAL_REPLICAS,
	LOCAL_IN_SYNC
};

static void write_bound(FILE *f, const struct led *x,
			const struct node_qstat *st, enum local_kind k)
{
	const struct rsm_replicas *r = rsm_queue_replicas(x->t, x->qi);
	uint64_t v = k == LOCAL_MAX   ? st->max
		     : k == LOCAL_MIN ? st->min
		     : k == LOCAL_REPLICAS
			 ? r->n
			 : (uint64_t)__builtin_popcount(r->isr);
	const char *name = k == LOCAL_MAX	 ? "max_offset"
			   : k == LOCAL_MIN	 ? "min_offset"
			   : k == LOCAL_REPLICAS ? "replicas"
						 : "in_sync_replicas";
	fprintf(f,
		"raftq_queue_%s{topic=\"%s\",broker=\"%s\",queue=\"%u\"} "
		"%llu\n",
		name, x->t->name, x->home, x->q, (unsigned long long)v);
}

/* How long the first message @at (of led queue @x) has waited: 0 when
 * nothing waits; -1 when its store time cannot be read. */
static double wait_seconds(struct node *n, const struct led *x, uint64_t at,
			   const struct node_qstat *st)
{
	if (at >= st->max)
		return 0;
	uint32_t code;
	char msg[256];
	int64_t stored;
	struct stor_queue *sq =
	    node_led_stor(n, x->t->name, x->home, x->q, &code, msg, sizeof msg);
	if (sq == NULL || stor_queue_store_time(sq, at < st->min ? st->min : at,
						&stored) != 0)
		return -1;
	int64_t now = node_wall_ms();
	return now > stored ? (double)(now - stored) / 1000 : 0;
}

/* A led queue of a topic and its bounds (write_topic_lags). */
struct led_stat {
	struct led x;
	struct node_qstat st;
};

/* Appends @s to @p: the end. */
static char *put_str(char *p, const char *s)
{
	size_t len = strlen(s);
	memcpy(p, s, len);
	return p + len;
}

/* Appends @v in decimal to @p: the end. */
static char *put_u64(char *p, uint64_t v)
{
	char tmp[20];
	int k = 0;
	do
		tmp[k++] = (char)('0' + v % 10);
	while ((v /= 10) > 0);
	while (k > 0)
		*p++ = tmp[--k];
	return p;
}

/* Group @g's sample of family @k on led queue @ls, if it has one: its lag
 * in messages (as group describe: a never-committed queue counts from
 * where a first read would start) or the age of its first unconsumed
 * message. One line built by hand: a scrape writes one per group and
 * queue (10^6 with 10^6 offsets), so no printf per line. */
static void write_lag(FILE *f, struct node *n, const struct rsm_group *g,
		      const struct rsm_group_topic *gt, bool earliest,
		      const struct led_stat *ls, enum local_kind k)
{
	uint64_t at = gt->offsets[ls->x.qi];
	if (at == RSM_OFFSET_NONE)
		at = earliest ? ls->st.min : ls->st.max;
	char line[3 * RSM_NAME_MAX + 160];
	char *p = put_str(
	    line, k == LOCAL_LAG ? "raftq_consumer_group_lag{group=\""
				 : "raftq_consumer_group_lag_seconds{group=\"");
	p = put_str(p, g->name);
	p = put_str(p, "\",topic=\"");
	p = put_str(p, ls->x.t->name);
	p = put_str(p, "\",broker=\"");
	p = put_str(p, ls->x.home);
	p = put_str(p, "\",queue=\"");
	p = put_u64(p, ls->x.q);
	p = put_str(p, "\"} ");
	if (k == LOCAL_LAG) {
		p = put_u64(p, ls->st.max > at ? ls->st.max - at : 0);
	} else {
		double v = wait_seconds(n, &ls->x, at, &ls->st);
		if (v < 0)
			return; /* its store time cannot be read */
		if (v == 0)
			*p++ = '0';
		else
			p += snprintf(p, 32, "%.15g", v);
	}
	*p++ = '\n';
	assert((size_t)(p - line) <= sizeof line);
	fwrite(line, 1, (size_t)(p - line), f);
}

/* Family @k (LOCAL_LAG or LOCAL_LAG_SECONDS) for every group on the
 * queues of @t this broker leads, @ls (@n_ls of them, bounds read). */
static void write_topic_lags(FILE *f, struct node *n, const struct rsm_topic *t,
			     const struct led_stat *ls, uint32_t n_ls,
			     enum local_kind k)
{
	for (uint32_t i = 0; i < rsm_group_count(n->rsm); i++) {
		const struct rsm_group *g = rsm_group_at(n->rsm, i);
		const struct rsm_group_topic *gt = rsm_group_topic(g, t->name);
		if (gt == NULL)
			continue;
		bool earliest = rsm_starts_earliest(g, t->name);
		for (uint32_t j = 0; j < n_ls; j++)
			if (ls[j].x.qi < gt->n)
				write_lag(f, n, g, gt, earliest, &ls[j], k);
	}
}

/* One pass over the queues this broker leads, writing one family (the
 * samples of a family must be together). */
static void write_local(FILE *f, struct node *n, enum local_kind k)
{
	bool lags = k == LOCAL_LAG || k == LOCAL_LAG_SECONDS;
	for (uint32_t i = 0; i < rsm_topic_count(n->rsm); i++) {
		const struct rsm_topic *t = rsm_topic_at(n->rsm, i);
		struct led_stat *ls =
		    lags ? malloc(rsm_topic_queues(t) * sizeof *ls) : NULL;
		uint32_t n_ls = 0;
		for (uint32_t qi = 0; qi < rsm_topic_queues(t); qi++) {
			struct led_stat one;
			if (!leads(n, t, qi, &one.x) ||
			    !local_stat(n, &one.x, &one.st))
				continue;
			if (ls != NULL)
				ls[n_ls++] = one;
			else if (!lags)
				write_bound(f, &one.x, &one.st, k);
		}
		if (ls != NULL)
			write_topic_lags(f, n, t, ls, n_ls, k);
		free(ls); /* out of memory: this topic's lags left out */
	}
}

static void write_resets(FILE *f, const struct node *n)
{
	head(f, "raftq_resets_total", "counter",
	     "Resets this node carried out as the leader, by group, topic "
	     "and result (applied, dry_run, or the code of a failure after "
	     "it began; refusals of the request itself are in "
	     "raftq_requests_total{type=\"RESET\"}).");
	for (uint32_t i = 0; i < n->n_reset_counts; i++) {
		const struct node_reset_count *c = &n->reset_counts[i];
		fprintf(f,
			"raftq_resets_total{group=\"%s\",topic=\"%s\","
			"result=\"%s\"} %llu\n",
			c->group, c->topic, c->result,
			(unsigned long long)c->n);
	}
}

/* What waits for group @g on this broker in its topic @name (queue 0):
 * past the group's position (or the start), plus with @scheduled what
 * the schedule store holds for it; -1 when not hosted here. */
static int64_t local_backlog(struct node *n, const struct rsm_group *g,
			     const char *name, bool scheduled)
{
	const struct rsm_topic *t = rsm_topic_find(n->rsm, name);
	int64_t idx = t ? rsm_topic_queue_index(t, n->cfg.name, 0) : -1;
	struct led x;
	struct node_qstat st;
	if (idx < 0 || !leads(n, t, (uint32_t)idx, &x) ||
	    !local_stat(n, &x, &st))
		return -1;
	const struct rsm_group_topic *gt = rsm_group_topic(g, name);
	uint64_t at = gt && idx >= 0 && (uint64_t)idx < gt->n ? gt->offsets[idx]
							      : RSM_OFFSET_NONE;
	at = at == RSM_OFFSET_NONE || at < st.min ? st.min : at;
	return (int64_t)((st.max > at ? st.max - at : 0) +
			 (scheduled ? st.scheduled : 0));
}

/* raftq_retry_pending and raftq_dlq_messages of every group with retry,
 * on this broker (DESIGN.md §2.2; group describe adds the brokers up). */
static void write_backlogs(FILE *f, struct node *n, bool dlq)
{
	head(f, dlq ? "raftq_dlq_messages" : "raftq_retry_pending", "gauge",
	     dlq ? "Dead letters of each group on this broker not yet "
		   "handled (raftqctl dlq)."
		 : "Messages of each group on this broker waiting for a "
		   "retry: in the schedule store or not yet read from "
		   "%RETRY%group.");
	for (uint32_t i = 0; i < rsm_group_count(n->rsm); i++) {
		const struct rsm_group *g = rsm_group_at(n->rsm, i);
		char name[RSM_NAME_MAX + 1];
		if (g->retry.n_delays == 0)
			continue;
		if (dlq)
			rsm_dlq_topic(name, g->name);
		else
			rsm_retry_topic(name, g->name);
		int64_t v = local_backlog(n, g, name, !dlq);
		if (v >= 0)
			fprintf(f, "%s{group=\"%s\",broker=\"%s\"} %lld\n",
				dlq ? "raftq_dlq_messages"
				    : "raftq_retry_pending",
				g->name, n->cfg.name, (long long)v);
	}
}

/* This broker's schedule store (delayed messages). */
static void write_schedule(FILE *f, struct node *n)
{
	struct stor_sched_info info;
	uint64_t handed, dropped;
	node_sched_info(n, &info, &handed, &dropped);
	head(f, "raftq_scheduled_pending", "gauge",
	     "Delayed batches this broker keeps until they are due.");
	fprintf(f, "raftq_scheduled_pending %llu\n",
		(unsigned long long)info.pending);
	head(f, "raftq_scheduled_bytes", "gauge",
	     "Bytes of this broker's schedule store on disk.");
	fprintf(f, "raftq_scheduled_bytes %llu\n",
		(unsigned long long)info.bytes);
	head(f, "raftq_scheduled_handed_over_total", "counter",
	     "Delayed batches appended to their queues since the start.");
	fprintf(f, "raftq_scheduled_handed_over_total %llu\n",
		(unsigned long long)handed);
	head(f, "raftq_scheduled_dropped_total", "counter",
	     "Delayed batches dropped since the start (their topic was "
	     "deleted).");
	fprintf(f, "raftq_scheduled_dropped_total %llu\n",
		(unsigned long long)dropped);
}

/* Group commit (syncer.c): syncs run off the loop, appends they covered. */
static void write_syncs(FILE *f, const struct node *n)
{
	head(f, "raftq_storage_group_syncs_total", "counter",
	     "Syncs of a queue's appended tail run on the I/O thread (flush "
	     "= sync), each covering every batch appended before it began.");
	fprintf(f, "raftq_storage_group_syncs_total %llu\n",
		(unsigned long long)n->queue_syncs);
	head(f, "raftq_storage_group_appends_total", "counter",
	     "Produced batches appended for the I/O thread to sync.");
	fprintf(f, "raftq_storage_group_appends_total %llu\n",
		(unsigned long long)n->queue_sync_appends);
}

char *node_metrics_render(struct node *n, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);
	if (f == NULL)
		return NULL;
	write_requests(f, &n->metrics);
	write_raft(f, n);
	write_resets(f, n);
	write_schedule(f, n);
	write_syncs(f, n);
	write_backlogs(f, n, false);
	write_backlogs(f, n, true);
	head(f, "raftq_queue_max_offset", "gauge",
	     "MaxOffset (the high watermark) of each queue this broker leads.");
	write_local(f, n, LOCAL_MAX);
	head(f, "raftq_queue_min_offset", "gauge",
	     "MinOffset of each queue this broker leads.");
	write_local(f, n, LOCAL_MIN);
	head(f, "raftq_consumer_group_lag", "gauge",
	     "Messages a group has yet to consume on each queue this broker "
	     "hosts.");
	write_local(f, n, LOCAL_LAG);
	head(f, "raftq_consumer_group_lag_seconds", "gauge",
	     "How long the first message a group has yet to consume on each "
	     "queue this broker hosts has waited (0: none waits).");
	write_local(f, n, LOCAL_LAG_SECONDS);
	head(f, "raftq_queue_replicas", "gauge",
	     "Replicas of each queue this broker leads.");
	write_local(f, n, LOCAL_REPLICAS);
	head(f, "raftq_queue_in_sync_replicas", "gauge",
	     "In-sync replicas of each queue this broker leads (fewer than "
	     "raftq_queue_replicas: under-replicated).");
	write_local(f, n, LOCAL_IN_SYNC);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}
