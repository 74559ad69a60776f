/*
 * topics.c — the catalogue: creating topics and groups, deleting topics
 * (leader: one Raft entry each, answered once every reachable node has
 * applied it, so the next request finds the name — or its absence —
 * wherever it goes), listing them (any node),
 * and describing a topic (its queues' bounds gathered in parallel from the
 * hosting brokers; a broker that cannot answer makes it UNAVAILABLE naming
 * the broker).
 */
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "members.h"

/* ---- Creating ---- */

/* The brokers of every voter of the Raft configuration: 0 and their
 * names in @out (a removed node keeps its registration, not its place in
 * new topics); or -1 after refusing (retry) while some voter has not
 * registered its broker yet, naming them. */
static int all_brokers(const struct node_req *req, const char **out,
		       uint32_t *nb)
{
	struct node *n = req->n;
	const struct raft_configuration *cf = &n->raft.configuration;
	char missing[256] = "";
	size_t at = 0;
	*nb = 0;
	for (unsigned k = 0; k < cf->n && *nb < RSM_MAX_BROKERS; k++) {
		const struct rsm_broker *b =
		    rsm_broker_by_id(n->rsm, cf->servers[k].id);
		if (b != NULL && cf->servers[k].role == RAFT_VOTER)
			out[(*nb)++] = b->name;
		else if (b == NULL && at < sizeof missing - 24)
			at += (size_t)snprintf(
			    missing + at, sizeof missing - at, "%s%llu",
			    at ? ", " : "",
			    (unsigned long long)cf->servers[k].id);
	}
	if (at == 0)
		return 0;
	node_req_refuse(req, RPC_UNAVAILABLE,
			"node %s has not registered its broker yet: a topic "
			"on every broker waits for it (or name the brokers "
			"with --brokers)",
			missing);
	return -1;
}

/* The answer to TOPIC_CREATE: the brokers the topic is on. */
static void answer_created(const struct node_req *req, const char *name)
{
	const struct rsm_topic *t = rsm_topic_find(req->n->rsm, name);
	const char *b[RSM_MAX_BROKERS];
	uint32_t nb = 0;
	for (uint32_t i = 0; t != NULL && i < t->n_brokers; i++)
		b[nb++] = t->brokers[i];
	struct rpc_topic_create_resp r = {
	    {b, nb}, t ? t->replication_factor : 1, t ? t->min_insync : 1};
	node_req_ok(req, &r);
}

void node_handle_topic_create(const struct node_req *req, const void *in)
{
	const struct rpc_topic_create_req *q = in;
	const char *all[RSM_MAX_BROKERS];
	const char *const *brokers = q->brokers.v;
	uint32_t nb = q->brokers.n;
	if (nb == 0 && all_brokers(req, all, &nb) != 0)
		return;
	if (q->brokers.n == 0) /* no broker list: every broker */
		brokers = all;
	struct raft_buffer buf;
	char err[256];
	/* After every deleted topic: a name created again is a new
	 * incarnation, told apart by this time (topic_files.c). */
	int64_t created = node_wall_ms();
	if (created <= rsm_topic_clock(req->n->rsm))
		created = rsm_topic_clock(req->n->rsm) + 1;
	/* Default (docs/design/replication.md §2): three copies once the
	 * topic spans three brokers, one on a smaller (dev) cluster. */
	uint32_t rf = q->replication_factor ? q->replication_factor
		      : nb >= 3		    ? 3
					    : 1;
	struct rsm_topic_spec spec = {.name = q->topic,
				      .queues_per_broker = q->queues,
				      .brokers = brokers,
				      .n_brokers = nb,
				      .replication_factor = rf,
				      .min_insync = q->min_insync_replicas,
				      .time = created};
	if (rsm_encode_create_topic(&spec, &buf, err, sizeof err) != 0) {
		node_req_fail(req, RPC_INVALID_ARGUMENT, "%s", err);
		return;
	}
	node_req_propose_answer(req, buf, true, answer_created, q->topic);
}

/* ---- Deleting ---- */

/* True when no online member reads @topic; else answers GROUP_ACTIVE
 * naming them. */
static bool topic_unread(const struct node_req *req, const char *topic)
{
	struct node *n = req->n;
	char list[400] = "";
	size_t at = 0;
	uint32_t readers = 0;
	for (size_t i = 0; i < node_member_count(n); i++) {
		const struct node_member *m = node_member_at(n, i);
		bool reads = false;
		for (uint32_t k = 0; k < m->n_topics; k++)
			reads |= strcmp(m->topics[k], topic) == 0;
		if (reads && readers++ < 8 && at < sizeof list - 40)
			at += (size_t)snprintf(list + at, sizeof list - at,
					       "%s%s/%s", at ? ", " : "",
					       m->group, m->id);
	}
	if (readers == 0)
		return true;
	return node_req_failed(req, RPC_GROUP_ACTIVE,
			       "topic '%s' is read by %u online member%s "
			       "(%s%s); stop them first",
			       topic, readers, readers == 1 ? "" : "s", list,
			       readers > 8 ? ", ..." : "");
}

void node_handle_topic_delete(const struct node_req *req, const void *in)
{
	const struct rpc_topic_req *q = in;
	struct raft_buffer buf;
	char err[256];
	if (rsm_topic_find(req->n->rsm, q->topic) == NULL) {
		node_req_fail(req, RPC_UNKNOWN_TOPIC,
			      "topic '%s' does not exist", q->topic);
		return;
	}
	if (!topic_unread(req, q->topic))
		return;
	if (rsm_encode_delete_topic(q->topic, &buf, err, sizeof err) != 0) {
		node_req_fail(req, RPC_INVALID_ARGUMENT, "%s", err);
		return;
	}
	node_req_propose(req, buf, true);
}

/* 0 when @s is NULL or @first, 1 when @second, else -1. */
static int choice(const char *s, const char *first, const char *second)
{
	if (s == NULL || strcmp(s, first) == 0)
		return 0;
	return strcmp(s, second) == 0 ? 1 : -1;
}

_Static_assert(RPC_RETRY_STEPS_MAX == RSM_RETRY_STEPS_MAX &&
		   RPC_RECONSUME_MAX == RSM_RECONSUME_MAX &&
		   RPC_RETRY_DELAY_MAX_MS == RSM_RETRY_DELAY_MAX_MS,
	       "rpc.h and rsm.h retry limits differ");

/* The retry settings of a new group into *r: a clustering group's given
 * or default ones, none for broadcasting; false after answering why
 * they cannot be. */
static bool group_retry(const struct node_req *req,
			const struct rpc_group_create_req *q, bool clustering,
			struct rsm_retry *r)
{
	static const uint32_t ladder[] = {
	    1000,   5000,   10000,   30000,   60000,   120000,
	    180000, 240000, 300000,  360000,  420000,  480000,
	    540000, 600000, 1200000, 1800000, 3600000, 7200000};
	const struct rpc_u64s *d = &q->retry_delays_ms;
	memset(r, 0, sizeof *r);
	if (!clustering)
		return d->n == 0 && q->max_reconsume_times == 0
			   ? true
			   : node_req_failed(req, RPC_INVALID_ARGUMENT,
					     "retry settings are for "
					     "clustering groups only");
	if (d->n > RSM_RETRY_STEPS_MAX)
		return node_req_failed(req, RPC_INVALID_ARGUMENT,
				       "retry_delays_ms: at most %d steps",
				       RSM_RETRY_STEPS_MAX);
	r->n_delays = d->n ? d->n : sizeof ladder / sizeof *ladder;
	for (uint32_t i = 0; i < r->n_delays; i++)
		r->delays_ms[i] =
		    d->n == 0 ? ladder[i]
			      : (d->v[i] > UINT32_MAX ? 0 : (uint32_t)d->v[i]);
	r->max_reconsume_times =
	    q->max_reconsume_times ? q->max_reconsume_times : 16;
	return true;
}

void node_handle_group_create(const struct node_req *req, const void *in)
{
	const struct rpc_group_create_req *q = in;
	/* Absent: the first choice (clustering; latest, RocketMQ 5's rule). */
	int mode = choice(q->mode, "clustering", "broadcasting");
	int initial = choice(q->initial, "latest", "earliest");
	if (mode < 0 || initial < 0) {
		node_req_fail(req, RPC_INVALID_ARGUMENT, "%s",
			      mode < 0
				  ? "mode must be clustering or broadcasting"
				  : "initial must be latest or earliest");
		return;
	}
	struct rsm_retry retry;
	const char *all[RSM_MAX_BROKERS];
	uint32_t nb = 0;
	if (!group_retry(req, q, mode == 0, &retry) ||
	    (retry.n_delays > 0 && all_brokers(req, all, &nb) != 0))
		return;
	struct raft_buffer buf;
	char err[256];
	if (rsm_encode_create_group(
		q->group, mode ? RSM_BROADCASTING : RSM_CLUSTERING,
		initial ? RSM_INITIAL_EARLIEST : RSM_INITIAL_LATEST,
		node_wall_ms(), &retry, all, nb, &buf, err, sizeof err) != 0) {
		node_req_fail(req, RPC_INVALID_ARGUMENT, "%s", err);
		return;
	}
	node_req_propose(req, buf, true);
}

/* ---- Listing ---- */

static void answer_names(const struct node_req *req, bool topics)
{
	struct rsm *rsm = req->n->rsm;
	uint32_t cnt = topics ? rsm_topic_count(rsm) : rsm_group_count(rsm);
	const char **v = calloc(cnt ? cnt : 1, sizeof *v);
	if (v == NULL) {
		node_req_oom(req);
		return;
	}
	for (uint32_t i = 0; i < cnt; i++)
		v[i] = topics ? rsm_topic_at(rsm, i)->name
			      : rsm_group_at(rsm, i)->name;
	struct rpc_names_resp r = {{v, cnt}};
	node_req_ok(req, &r);
	free(v);
}

void node_handle_topic_list(const struct node_req *req, const void *in)
{
	(void)in;
	answer_names(req, true);
}

void node_handle_group_list(const struct node_req *req, const void *in)
{
	(void)in;
	answer_names(req, false);
}

/* ---- Describing ---- */

struct describe_op {
	struct node_req req; /* first: node_req_op */
	struct node_gather g;
};

/* Replica names of one queue, borrowed from the state for one answer. */
struct describe_names {
	const char *replicas[RSM_REPLICAS_MAX];
	const char *isr[RSM_REPLICAS_MAX];
};

/* Queue @qi of @t as described: bounds from @s, replicas from @t. */
static struct rpc_queue_info describe_queue(const struct rsm_topic *t,
					    uint32_t qi,
					    const struct node_qstat *s,
					    struct describe_names *nm)
{
	const struct rsm_replicas *r = rsm_queue_replicas(t, qi);
	uint32_t n_isr = 0;
	for (uint32_t i = 0; i < r->n; i++) {
		nm->replicas[i] = rsm_replica_broker(t, r, i);
		if (r->isr & (1u << i))
			nm->isr[n_isr++] = nm->replicas[i];
	}
	return (struct rpc_queue_info){
	    .broker_name = t->brokers[qi / t->queues_per_broker],
	    .queue_id = qi % t->queues_per_broker,
	    .min_offset = s->min,
	    .max_offset = s->max,
	    .first_store_time = s->first_time,
	    .last_store_time = s->last_time,
	    .leader_broker = rsm_queue_leader(t, qi),
	    .replicas = {nm->replicas, r->n},
	    .isr = {nm->isr, n_isr}};
}

static void on_described(struct node_gather *g, bool ok)
{
	struct describe_op *op = g->data;
	size_t nq = (size_t)g->n_brokers * g->qpb;
	/* The topic as the state has it now (the same incarnation). */
	const struct rsm_topic *t = rsm_topic_find(op->req.n->rsm, g->topic);
	struct rpc_queue_info *q = ok ? calloc(nq ? nq : 1, sizeof *q) : NULL;
	struct describe_names *nm = ok ? calloc(nq ? nq : 1, sizeof *nm) : NULL;
	if (!ok) {
		node_req_fail(&op->req, RPC_UNAVAILABLE, "%s", g->failed);
	} else if (t == NULL || rsm_topic_queues(t) != nq) {
		node_req_fail(&op->req, RPC_UNKNOWN_TOPIC,
			      "topic '%s' was deleted", g->topic);
	} else if (q == NULL || nm == NULL) {
		node_req_oom(&op->req);
	} else {
		for (size_t i = 0; i < nq; i++)
			q[i] = describe_queue(t, (uint32_t)i, &g->q[i], &nm[i]);
		struct rpc_topic_describe_resp r = {g->topic,
						    {q, (uint32_t)nq}};
		node_req_ok(&op->req, &r);
	}
	free(q);
	free(nm);
	node_gather_free(g);
	free(op);
}

void node_handle_topic_describe(const struct node_req *req, const void *in)
{
	const struct rpc_topic_req *q = in;
	const struct rsm_topic *t = node_req_topic(req, q->topic);
	struct describe_op *op = t ? node_req_op(req, sizeof *op) : NULL;
	if (op != NULL)
		node_req_gather(op, &op->g, t, NULL, on_described);
}
