/*
 * consumer.c — consumer groups: membership, positions, fetching, commits
 * and reset pickup.
 *
 * Happy path: GROUP_DESCRIBE (the group's mode) -> HEARTBEAT every
 * heartbeat_ms (the answer is this member's assignment) -> positions for
 * new queues (OFFSETS from the leader, or the offset file for
 * broadcasting groups) -> FETCH from each hosting broker, one request in
 * flight per queue, carrying the epoch the position belongs to ->
 * raftq_consume hands out buffered messages -> COMMIT (one request per
 * topic, with the epoch) every auto_commit_ms or on raftq_commit.
 *
 * Resets: a queue "moves" on a RESET_NOTICE naming it, an OFFSET_MOVED
 * fetch answer, a STALE_EPOCH commit answer or a heartbeat answer with a
 * newer epoch: its buffered messages are retired (never delivered), a
 * fetch in flight is ignored when it comes back (the queue's generation
 * changed), and fetching resumes at the new offset under the new epoch.
 * A member hands out buffered messages only under a lease (its last
 * heartbeat answer, less than lease_ms old); the leader answers a reset
 * once every member confirmed the new epoch (a heartbeat sent right after
 * moving) or their leases ran out. So once the operator has the answer no
 * member delivers from before the reset, and the brokers' fence
 * (OFFSET_MOVED) stops every later fetch under the old epoch.
 *
 * Failure modes: a lost leader or NOT_LEADER refreshes the route and the
 * request is sent again at the next tick; a broker that does not answer
 * a fetch is asked again after FETCH_RETRY_MS; an unknown group or topic
 * stops the consumer with that error (raftq_consume returns it).
 */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "consumer_int.h"

/* ---- The tick ---- */

void cl_consumer_tick(struct raftq_consumer *k)
{
	struct raftq_client *c = k->c;
	if (k->failed != 0 || k->left || k->leaving)
		return;
	uint64_t now = uv_now(&c->loop);
	if (k->mode == MODE_UNKNOWN) {
		if (!k->describing)
			kc_send_describe(k);
		return;
	}
	if (!k->heartbeating && now >= k->hb_at)
		kc_send_heartbeat(k);
	for (uint32_t i = 0; i < k->nq; i++) {
		struct kqueue *q = k->q[i];
		if (q->pos != POS_UNKNOWN)
			continue;
		if (k->mode == MODE_BROADCASTING) {
			const struct ksaved *s = kc_saved_for(k, q);
			if (s != NULL) {
				kc_move_queue(k, q, s->offset, 0);
				q->gen = 0;
				continue;
			}
		}
		if (!kc_asked(k, q->topic) && now >= k->offsets_at)
			kc_send_offsets(k, q->topic);
	}
	if (!k->manual_commit && now >= k->commit_at && k->commits == 0) {
		kc_commit_now(k);
		k->commit_at = now + k->auto_commit_ms;
	}
	for (uint32_t i = 0; i < k->nq; i++) {
		struct kqueue *q = k->q[i];
		if (q->pos != POS_UNKNOWN && q->fetch == NULL &&
		    now >= q->next_fetch_at && kc_buffered_bufs(q) < 2)
			kc_send_fetch(k, q);
	}
}

/* ---- API ---- */

/* RAFTQ_EINVAL naming what is wrong with @cfg, or 0. */
static int config_check(struct raftq_client *c,
			const struct raftq_consumer_config *cfg)
{
	if (!cl_name_ok(cfg->group))
		return cl_fail(c, RAFTQ_EINVAL,
			       "consumer: a group is required");
	if (cfg->n_topics == 0 || cfg->n_topics > KC_TOPICS_MAX ||
	    cfg->topics == NULL)
		return cl_fail(c, RAFTQ_EINVAL,
			       "consumer: 1 to 64 topics are required");
	for (uint32_t i = 0; i < cfg->n_topics; i++)
		if (!cl_name_ok(cfg->topics[i]))
			return cl_fail(c, RAFTQ_EINVAL,
				       "consumer: topic %u is empty or too "
				       "long",
				       i);
	return 0;
}

int raftq_consumer_new(struct raftq_client *c,
		       const struct raftq_consumer_config *cfg,
		       struct raftq_consumer **out)
{
	if (cfg == NULL || out == NULL)
		return cl_fail(c, RAFTQ_EINVAL, "consumer: no config");
	int rv = config_check(c, cfg);
	if (rv != 0)
		return rv;
	struct raftq_consumer *k = calloc(1, sizeof *k);
	if (k != NULL) {
		/* One more: the group's retry topic (on_described). */
		k->topics = calloc(cfg->n_topics + 1, sizeof *k->topics);
		k->asked = calloc(cfg->n_topics + 1, sizeof *k->asked);
	}
	if (k == NULL || k->topics == NULL || k->asked == NULL ||
	    cl_attach(c, NULL, k) != 0) {
		if (k != NULL) {
			free(k->topics);
			free(k->asked);
		}
		free(k);
		return cl_fail(c, RAFTQ_ENOMEM, "out of memory");
	}
	k->c = c;
	snprintf(k->group, sizeof k->group, "%s", cfg->group);
	for (uint32_t i = 0; i < cfg->n_topics; i++)
		snprintf(k->topics[i], sizeof k->topics[i], "%s",
			 cfg->topics[i]);
	k->n_topics = cfg->n_topics;
	if (cfg->member_id != NULL)
		snprintf(k->member, sizeof k->member, "%s", cfg->member_id);
	else {
		uint64_t r = cl_now(c) ^ (uint64_t)(uintptr_t)k ^
			     ((uint64_t)getpid() << 32);
		snprintf(k->member, sizeof k->member, "%.200s-%08" PRIx64,
			 c->client_id, r & 0xffffffffu);
	}
	k->manual_commit = cfg->manual_commit;
	k->auto_commit_ms = cfg->auto_commit_ms ? cfg->auto_commit_ms : 1000;
	k->heartbeat_ms = cfg->heartbeat_ms ? cfg->heartbeat_ms : 1000;
	k->fetch_bytes = cfg->fetch_bytes ? cfg->fetch_bytes : 1u << 20;
	k->fetch_wait_ms = cfg->fetch_wait_ms ? cfg->fetch_wait_ms : 1000;
	if (cfg->offset_file != NULL)
		snprintf(k->offset_file, sizeof k->offset_file, "%s",
			 cfg->offset_file);
	else
		snprintf(k->offset_file, sizeof k->offset_file,
			 "raftq-%s-%s.offsets", k->group, k->member);
	k->commit_at = cl_now(c) + k->auto_commit_ms;
	*out = k;
	return 0;
}

static void free_retired(struct raftq_consumer *k)
{
	while (k->retired != NULL) {
		struct kbuf *b = k->retired;
		k->retired = b->next;
		kc_kbuf_free(b);
	}
}

static bool has_messages(void *arg)
{
	struct raftq_consumer *k = arg;
	if (k->failed != 0)
		return true;
	if (!kc_may_deliver(k))
		return false;
	for (uint32_t i = 0; i < k->nq; i++)
		if (k->q[i]->head != NULL)
			return true;
	return false;
}

static struct raftq_message message_of(const struct kqueue *q,
				       const struct kmsg *m)
{
	const struct rpc_envelope *e = m->env;
	return (struct raftq_message){q->topic,
				      q->broker,
				      q->queue_id,
				      m->offset,
				      m->store_time,
				      m->has_key ? m->key : NULL,
				      m->key_len,
				      m->body,
				      m->body_len,
				      q->epoch,
				      e ? e->reconsume_times : 0,
				      e ? e->topic : NULL,
				      e ? e->broker_name : NULL,
				      e ? e->queue_id : 0,
				      e ? e->offset : 0};
}

int raftq_consume(struct raftq_consumer *k, struct raftq_message *out,
		  size_t max, int timeout_ms)
{
	struct raftq_client *c = k->c;
	if (c->in_callback || max == 0 || out == NULL)
		return cl_fail(c, RAFTQ_EINVAL,
			       c->in_callback ? "raftq_consume was called "
						"from a callback"
					      : "raftq_consume: no room for "
						"messages");
	free_retired(k);
	/* Always runs the loop once first: notices already received are
	 * handled before anything buffered is handed out. */
	cl_run_until(c, timeout_ms, has_messages, k);
	if (k->failed != 0)
		return cl_fail(c, k->failed, "%s", k->failmsg);
	size_t n = 0;
	/* Without a current lease a reset may have been answered that this
	 * member has not heard of: nothing buffered goes out until the next
	 * heartbeat answer says the epochs. */
	bool progress = kc_may_deliver(k);
	while (n < max && progress) {
		progress = false;
		for (uint32_t j = 0; j < k->nq && n < max; j++) {
			struct kqueue *q = k->q[(k->rr + j) % k->nq];
			struct kbuf *b = q->head;
			if (b == NULL)
				continue;
			/* Up to 64 from one queue, then the next queue. */
			for (int take = 0; take < 64 && n < max && b->i < b->n;
			     take++) {
				const struct kmsg *m = &b->m[b->i++];
				out[n++] = message_of(q, m);
				q->deliver = m->offset + 1;
			}
			if (b->i == b->n) {
				q->head = b->next;
				if (q->head == NULL)
					q->tail = NULL;
				b->next = k->retired;
				k->retired = b;
			}
			progress = true;
		}
		k->rr++;
	}
	return (int)n;
}

static bool commits_done(void *arg)
{
	struct raftq_consumer *k = arg;
	return k->commits == 0;
}

int raftq_commit(struct raftq_consumer *k, int timeout_ms)
{
	struct raftq_client *c = k->c;
	if (c->in_callback)
		return cl_fail(c, RAFTQ_EINVAL,
			       "raftq_commit was called from a callback");
	k->commit_err = 0;
	/* Learn of resets first: a commit under a stale epoch is refused
	 * anyway. */
	uv_run(&c->loop, UV_RUN_NOWAIT);
	kc_commit_now(k);
	int rv = cl_run_until(c, timeout_ms, commits_done, k);
	if (rv != 0)
		return cl_fail(c, rv, "commit: no answer within %d ms",
			       timeout_ms);
	return k->commit_err;
}

size_t raftq_consumer_assignment(const struct raftq_consumer *k,
				 struct raftq_queue *out, size_t max)
{
	for (uint32_t i = 0; i < k->nq && i < max; i++)
		out[i] = (struct raftq_queue){k->q[i]->topic, k->q[i]->broker,
					      k->q[i]->queue_id,
					      k->q[i]->deliver, k->q[i]->epoch};
	return k->nq;
}

uint64_t raftq_consumer_resets(const struct raftq_consumer *k)
{
	return k->resets;
}

uint64_t raftq_consumer_fetches(const struct raftq_consumer *k)
{
	return k->fetches;
}

uint64_t raftq_consumer_skipped(const struct raftq_consumer *k)
{
	return k->skipped;
}

uint64_t raftq_consumer_errors(const struct raftq_consumer *k)
{
	return k->errors;
}

void kc_count_reset(struct raftq_consumer *k, const char *topic, uint64_t epoch)
{
	kc_learn_epoch(k, topic, epoch);
	for (uint32_t i = 0; i < k->n_topics; i++) {
		if (strcmp(k->topics[i], topic) != 0)
			continue;
		if (epoch > k->reset_epoch[i]) {
			k->reset_epoch[i] = epoch;
			k->resets++;
		}
		return;
	}
}

void kc_learn_epoch(struct raftq_consumer *k, const char *topic, uint64_t epoch)
{
	for (uint32_t i = 0; i < k->n_topics; i++)
		if (strcmp(k->topics[i], topic) == 0 &&
		    epoch > k->topic_epoch[i])
			k->topic_epoch[i] = epoch;
}

uint64_t kc_held_epoch(const struct raftq_consumer *k, uint32_t t)
{
	assert(t < k->n_topics);
	uint64_t low = UINT64_MAX;
	for (uint32_t i = 0; i < k->nq; i++)
		if (k->q[i]->pos != POS_UNKNOWN && k->q[i]->epoch < low &&
		    strcmp(k->q[i]->topic, k->topics[t]) == 0)
			low = k->q[i]->epoch;
	return low != UINT64_MAX ? low : k->topic_epoch[t];
}

bool kc_may_deliver(const struct raftq_consumer *k)
{
	return k->mode != MODE_CLUSTERING || cl_now(k->c) < k->lease_until;
}

static bool left(void *arg)
{
	struct raftq_consumer *k = arg;
	return k->left;
}

int raftq_consumer_close(struct raftq_consumer *k, int timeout_ms)
{
	struct raftq_client *c = k->c;
	if (c->in_callback)
		return cl_fail(c, RAFTQ_EINVAL,
			       "raftq_consumer_close was called from a "
			       "callback");
	int rv = 0;
	if (!k->manual_commit && k->failed == 0)
		rv = raftq_commit(k, timeout_ms);
	if (k->mode != MODE_UNKNOWN && k->failed == 0) {
		struct kcall *x = kc_kcall_new(k, KC_LEAVE);
		struct rpc_leave_req in = {k->group, k->member};
		if (x != NULL && kc_leader_send(k, x, RPC_LEAVE, &in)) {
			k->leaving = true;
			cl_run_until(c, timeout_ms, left, k);
		}
	}
	for (struct kcall *x = k->calls; x != NULL; x = x->next)
		x->k = NULL; /* freed when their answers come */
	while (k->nq > 0)
		kc_drop_queue(k, k->nq - 1);
	free_retired(k);
	cl_detach(c, NULL, k);
	free(k->saved);
	free(k->q);
	free(k->topics);
	free(k->asked);
	free(k);
	return rv;
}
