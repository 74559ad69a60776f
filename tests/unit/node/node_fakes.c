/* node_fakes.c — the layers below the handlers, faked (node_fakes.h). */
#include <stdlib.h>
#include <string.h>

#include "../raft/rsm_helpers.h"
#include "members.h"
#include "node_fakes.h"

static struct fake *of(struct node *n)
{
	return (struct fake *)n; /* struct node is the first member */
}

void fake_init(struct fake *f)
{
	memset(f, 0, sizeof *f);
	f->n.rsm = rsm_new();
	assert_non_null(f->n.rsm);
	f->n.cfg.id = 1;
	snprintf(f->n.cfg.name, sizeof f->n.cfg.name, "broker-1");
	rh_standard(f->n.rsm);
	assert_int_equal(rh_group(f->n.rsm, "bc", RSM_BROADCASTING), RSM_OK);
	f->propose_code = RPC_OK;
	f->now = 1700000000000;
}

void fake_close(struct fake *f)
{
	assert_int_equal(f->ngathering, 0);
	assert_int_equal(f->nprops, 0);
	assert_null(f->sync_cb);
	assert_null(f->members_cb);
	assert_null(f->n.commits);
	rsm_free(f->n.rsm);
	node_resets_free(&f->n); /* what the node counted (reset_counts.c) */
}

int fake_setup(void **state)
{
	struct fake *f = malloc(sizeof *f);
	assert_non_null(f);
	fake_init(f);
	*state = f;
	return 0;
}

int fake_teardown(void **state)
{
	struct fake *f = *state;
	fake_close(f);
	free(f);
	return 0;
}

struct node_req fake_req(struct fake *f, uint16_t type, uint64_t id)
{
	return (struct node_req){&f->n, 7, id, type, 0, 0};
}

/* ---- Answers ---- */

/* A reset's answer: every topic's queues, topic after topic. */
static void copy_reset(struct fake_answer *a, const struct rpc_reset_resp *r)
{
	const struct rpc_reset_topic *t = r->topics.v;
	a->reset_id = r->reset_id;
	a->epoch = r->epoch;
	a->dry_run = r->dry_run;
	a->ntopics = r->topics.n;
	a->nlagging = r->lagging.n;
	snprintf(a->lagging, sizeof a->lagging, "%s",
		 r->lagging.n ? r->lagging.v[0] : "");
	assert_true(a->ntopics >= 1 && a->ntopics <= FAKE_MAX);
	/* One topic: the Huawei shape at the top repeats it. */
	assert_int_equal(r->queues.n, a->ntopics == 1 ? t[0].queues.n : 0);
	for (uint32_t k = 0; k < a->ntopics; k++) {
		const struct rpc_reset_queue *q = t[k].queues.v;
		snprintf(a->topics[k], sizeof a->topics[k], "%s", t[k].topic);
		a->topic_epochs[k] = t[k].epoch;
		for (uint32_t i = 0; i < t[k].queues.n; i++, a->nq++) {
			assert_true(a->nq < FAKE_MAX);
			snprintf(a->brokers[a->nq], sizeof a->brokers[0], "%s",
				 q[i].broker_name);
			a->queue_ids[a->nq] = q[i].queue_id;
			a->offsets[a->nq] = q[i].timestamp_offset;
			a->skipped[a->nq] = q[i].skipped;
		}
	}
}

static void copy_body(struct fake_answer *a, const void *body)
{
	if (a->type == RPC_RESET || a->type == RPC_UNDO) {
		copy_reset(a, body);
	} else if (a->type == RPC_COMMIT) {
		const struct rpc_commit_resp *r = body;
		const struct rpc_offset_info *o = r->offsets.v;
		a->ncodes = r->codes.n;
		a->epoch = r->epoch;
		a->nq = r->offsets.n;
		assert_true(a->ncodes <= FAKE_MAX && a->nq <= FAKE_MAX);
		memcpy(a->codes, r->codes.v, a->ncodes * sizeof a->codes[0]);
		for (uint32_t i = 0; i < a->nq; i++) {
			snprintf(a->brokers[i], sizeof a->brokers[i], "%s",
				 o[i].broker_name);
			a->queue_ids[i] = o[i].queue_id;
			a->offsets[i] = o[i].offset;
		}
	}
}

void node_req_reply(const struct node_req *req, const struct rpc_status *st,
		    const void *body)
{
	struct fake *f = of(req->n);
	if (f->client_gone) {
		f->dropped++;
		return;
	}
	assert_true(f->nanswers < FAKE_MAX);
	struct fake_answer *a = &f->answers[f->nanswers++];
	memset(a, 0, sizeof *a);
	a->type = req->type;
	a->id = req->id;
	a->code = st ? st->code : RPC_OK;
	snprintf(a->message, sizeof a->message, "%s",
		 st && st->message ? st->message : "");
	snprintf(a->leader, sizeof a->leader, "%s",
		 st && st->leader ? st->leader : "");
	a->has_body = body != NULL;
	if (body != NULL)
		copy_body(a, body);
}

/* ---- Gather ---- */

const char *node_req_peer(const struct node_req *req)
{
	return rpc_server_peer(&req->n->rpc, req->conn);
}

int node_gather_start(struct node *n, struct node_gather *g,
		      const struct rsm_topic *t, const bool *want,
		      node_gather_cb done)
{
	struct fake *f = of(n);
	(void)want;
	assert_true(f->ngathering < FAKE_MAX);
	if (f->gather_oom)
		return -1;
	f->gathers++;
	snprintf(g->topic, sizeof g->topic, "%s", t->name);
	g->n_brokers = t->n_brokers;
	g->qpb = t->queues_per_broker;
	g->brokers = calloc(t->n_brokers, sizeof *g->brokers);
	g->q =
	    calloc((size_t)t->n_brokers * t->queues_per_broker, sizeof *g->q);
	assert_non_null(g->brokers);
	assert_non_null(g->q);
	memcpy(g->brokers, t->brokers, t->n_brokers * sizeof *g->brokers);
	g->failed[0] = '\0';
	f->gather[f->ngathering] = g;
	f->gather_cb[f->ngathering++] = done;
	return 0;
}

void node_gather_free(struct node_gather *g)
{
	free(g->brokers);
	free(g->q);
	g->brokers = NULL;
	g->q = NULL;
}

void fake_gather_finish(struct fake *f, uint64_t min, uint64_t max, bool ok)
{
	assert_true(f->ngathering > 0);
	struct node_gather *g = f->gather[0];
	node_gather_cb cb = f->gather_cb[0];
	f->ngathering--;
	memmove(f->gather, f->gather + 1, f->ngathering * sizeof *f->gather);
	memmove(f->gather_cb, f->gather_cb + 1,
		f->ngathering * sizeof *f->gather_cb);
	for (size_t i = 0; i < (size_t)g->n_brokers * g->qpb; i++)
		g->q[i] = (struct node_qstat){true, min, max, min + 1, 1, 2, 0};
	if (!ok)
		snprintf(g->failed, sizeof g->failed,
			 "broker broker-2 did not answer: request timed out");
	cb(g, ok || g->partial);
}

/* ---- Proposals ---- */

uint32_t node_propose(struct node *n, struct node_proposal *p,
		      struct raft_buffer buf, node_proposal_cb cb)
{
	struct fake *f = of(n);
	if (f->propose_code != RPC_OK) {
		raft_free(buf.base);
		return f->propose_code;
	}
	assert_true(f->nprops < FAKE_MAX);
	p->cb = cb;
	f->props[f->nprops] = p;
	f->bufs[f->nprops++] = buf;
	f->proposed++;
	return RPC_OK;
}

void fake_apply(struct fake *f, int status)
{
	assert_true(f->nprops > 0);
	struct node_proposal *p = f->props[0];
	struct raft_buffer buf = f->bufs[0];
	f->nprops--;
	memmove(f->props, f->props + 1, (size_t)f->nprops * sizeof *f->props);
	memmove(f->bufs, f->bufs + 1, (size_t)f->nprops * sizeof *f->bufs);
	const struct rsm_result *r = NULL;
	if (status == 0)
		assert_int_equal(rsm_apply(f->n.rsm, buf.base, buf.len, &r), 0);
	raft_free(buf.base);
	node_proposal_applied(p, status, r);
}

/* ---- Sync ---- */

int node_sync_start(struct node *n, uint64_t index, const uint64_t *ids,
		    uint32_t nids, bool skip_unreachable, node_sync_cb cb,
		    void *data)
{
	struct fake *f = of(n);
	(void)index, (void)skip_unreachable;
	assert_null(f->sync_cb);
	f->syncs++;
	f->sync_cb = cb;
	f->sync_data = data;
	f->sync_nids = nids;
	memcpy(f->sync_ids, ids, nids * sizeof *ids);
	return 0;
}

void fake_sync_finish(struct fake *f, bool all)
{
	node_sync_cb cb = f->sync_cb;
	assert_non_null(cb);
	f->sync_cb = NULL;
	/* Not all: the first target lags. */
	cb(f->sync_data, f->sync_ids, all ? 0 : 1);
	node_members_cb mcb = f->members_cb;
	f->members_cb = NULL;
	if (mcb != NULL)
		mcb(f->members_data, 0);
}

int node_members_wait(struct node *n, const char *group,
		      const char *const *topics, const uint64_t *epochs,
		      uint32_t nt, node_members_cb cb, void *data)
{
	struct fake *f = of(n);
	(void)group;
	assert_null(f->members_cb);
	assert_true(nt <= RSM_RESET_TOPICS_MAX);
	f->member_waits++;
	f->members_cb = cb;
	f->members_data = data;
	f->wait_nt = nt;
	for (uint32_t i = 0; i < nt; i++) {
		snprintf(f->wait_topics[i], sizeof f->wait_topics[i], "%s",
			 topics[i]);
		f->wait_epochs[i] = epochs[i];
	}
	return 0;
}

/* ---- The rest of the world ---- */

uint64_t node_applied_index(struct node *n)
{
	(void)n;
	return 42;
}

bool node_is_ready_leader(struct node *n)
{
	(void)n;
	return true;
}

const char *node_leader_listen(struct node *n, uint64_t *leader_id)
{
	struct fake *f = of(n);
	if (leader_id != NULL)
		*leader_id = f->leader_id;
	return f->leader_id ? "127.0.0.1:9102" : NULL;
}

uint32_t node_group_members(struct node *n, const char *group,
			    const char **names, uint32_t max)
{
	struct fake *f = of(n);
	(void)group;
	for (uint32_t i = 0; names != NULL && i < f->online_members && i < max;
	     i++)
		names[i] = i == 0 ? "m-a" : "m-b";
	return f->online_members;
}

/* One online member "m-a" of group "g" reading member_topic, if set. */
size_t node_member_count(struct node *n)
{
	return of(n)->member_topic[0] != '\0';
}

const struct node_member *node_member_at(struct node *n, size_t i)
{
	static struct node_member m;
	assert_int_equal(i, 0);
	memset(&m, 0, sizeof m);
	snprintf(m.group, sizeof m.group, "g");
	snprintf(m.id, sizeof m.id, "m-a");
	snprintf(m.topics[0], sizeof m.topics[0], "%s", of(n)->member_topic);
	m.n_topics = 1;
	return &m;
}

void node_groups_notify_reset(struct node *n, const struct rsm_reset *r)
{
	(void)r;
	of(n)->notices++;
}

int64_t node_wall_ms(void)
{
	return 1700000000000;
}
