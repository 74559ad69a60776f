/*
 * consumer_group.c — the consumer as a member of its group: calls to the
 * leader (GROUP_DESCRIBE, HEARTBEAT, OFFSETS, COMMIT, LEAVE), the
 * assignment a heartbeat answers with, commits under each queue's epoch,
 * and the notices the leader pushes (rebalance, reset).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../util/list.h"
#include "consumer_int.h"

/* ---- Leader calls ---- */

static void on_kcall(struct rpc_call *call, int status, struct rpc_frame *f);

struct kcall *kc_kcall_new(struct raftq_consumer *k, enum kkind kind)
{
	struct kcall *x = calloc(1, sizeof *x);
	if (x == NULL)
		return NULL;
	x->k = k;
	x->kind = kind;
	x->call.data = x;
	return x;
}

static void kcall_link(struct raftq_consumer *k, struct kcall *x)
{
	DLIST_PUSH(k->calls, x, prev, next);
}

static void kcall_unlink(struct raftq_consumer *k, struct kcall *x)
{
	DLIST_UNLINK(k->calls, x, prev, next);
}

void kc_kcall_free(struct kcall *x)
{
	free(x->items);
	free(x);
}

/* Sends @body to the leader. Returns true if the call is on its way
 * (on_kcall will run), false (and frees @x) otherwise. */
bool kc_leader_send(struct raftq_consumer *k, struct kcall *x, uint16_t type,
		    const void *body)
{
	struct rpc_client *rc = cl_leader(k->c);
	if (rc == NULL || rpc_client_request(rc, &x->call, type, body,
					     k->c->timeout_ms, on_kcall) != 0) {
		kc_kcall_free(x);
		return false;
	}
	kcall_link(k, x);
	return true;
}

void kc_send_describe(struct raftq_consumer *k)
{
	struct kcall *x = kc_kcall_new(k, KC_DESCRIBE);
	struct rpc_group_req in = {k->group};
	if (x != NULL && kc_leader_send(k, x, RPC_GROUP_DESCRIBE, &in))
		k->describing = true;
}

void kc_send_heartbeat(struct raftq_consumer *k)
{
	struct kcall *x = kc_kcall_new(k, KC_HEARTBEAT);
	const char **t = calloc(k->n_topics, sizeof *t);
	if (x == NULL || t == NULL) {
		free(x);
		free(t);
		return;
	}
	struct rpc_topic_epoch *e = calloc(k->n_topics, sizeof *e);
	if (e == NULL) {
		free(x);
		free(t);
		return;
	}
	for (uint32_t i = 0; i < k->n_topics; i++) {
		t[i] = k->topics[i];
		e[i] =
		    (struct rpc_topic_epoch){k->topics[i], kc_held_epoch(k, i)};
	}
	struct rpc_heartbeat_req in = {k->group,
				       k->member,
				       k->c->client_id,
				       {t, k->n_topics},
				       {e, k->n_topics}};
	k->hb_sent_at = cl_now(k->c);
	k->hb_soon = false;
	if (kc_leader_send(k, x, RPC_HEARTBEAT, &in))
		k->heartbeating = true;
	free(t);
	free(e);
}

/* Confirms a reset to the leader: a heartbeat now, or right after the one
 * in flight (sent before this member moved). */
static void heartbeat_soon(struct raftq_consumer *k)
{
	k->hb_soon = true;
	if (!k->heartbeating)
		k->hb_at = 0;
}

bool kc_asked(struct raftq_consumer *k, const char *topic)
{
	for (uint32_t i = 0; i < k->n_topics; i++)
		if (strcmp(k->asked[i], topic) == 0)
			return true;
	return false;
}

void kc_send_offsets(struct raftq_consumer *k, const char *topic)
{
	struct kcall *x = kc_kcall_new(k, KC_OFFSETS);
	if (x == NULL)
		return;
	snprintf(x->topic, sizeof x->topic, "%s", topic);
	struct rpc_offsets_req in = {k->group, topic};
	if (!kc_leader_send(k, x, RPC_OFFSETS, &in))
		return;
	for (uint32_t i = 0; i < k->n_topics; i++)
		if (k->asked[i][0] == '\0') {
			snprintf(k->asked[i], sizeof k->asked[i], "%s", topic);
			break;
		}
}

static void unask(struct raftq_consumer *k, const char *topic)
{
	for (uint32_t i = 0; i < k->n_topics; i++)
		if (strcmp(k->asked[i], topic) == 0)
			k->asked[i][0] = '\0';
}

/* ---- Commits ---- */

/* Commits every queue whose delivered position is ahead of the group's.
 * Clustering: one COMMIT per topic; broadcasting: the offset file. */
void kc_commit_now(struct raftq_consumer *k)
{
	if (k->mode == MODE_BROADCASTING) {
		bool any = false;
		for (uint32_t i = 0; i < k->nq; i++)
			any |= k->q[i]->pos != POS_UNKNOWN &&
			       k->q[i]->deliver != k->q[i]->committed;
		if (any) {
			int rv = kc_save_file(k);
			if (rv != 0 && k->commit_err == 0)
				k->commit_err = rv;
		}
		return;
	}
	if (k->mode != MODE_CLUSTERING)
		return;
	for (uint32_t t = 0; t < k->n_topics; t++) {
		uint32_t n = 0;
		for (uint32_t i = 0; i < k->nq; i++)
			n += strcmp(k->q[i]->topic, k->topics[t]) == 0 &&
			     k->q[i]->pos != POS_UNKNOWN &&
			     k->q[i]->deliver != k->q[i]->committed;
		if (n == 0)
			continue;
		struct kcall *x = kc_kcall_new(k, KC_COMMIT);
		struct rpc_commit_item *wi = calloc(n, sizeof *wi);
		if (x != NULL)
			x->items = calloc(n, sizeof *x->items);
		if (x == NULL || x->items == NULL || wi == NULL) {
			if (x != NULL)
				kc_kcall_free(x);
			free(wi);
			return;
		}
		snprintf(x->topic, sizeof x->topic, "%s", k->topics[t]);
		for (uint32_t i = 0; i < k->nq; i++) {
			struct kqueue *q = k->q[i];
			if (strcmp(q->topic, k->topics[t]) != 0 ||
			    q->pos == POS_UNKNOWN || q->deliver == q->committed)
				continue;
			struct citem *ci = &x->items[x->n];
			snprintf(ci->broker, sizeof ci->broker, "%s",
				 q->broker);
			ci->queue_id = q->queue_id;
			ci->offset = q->deliver;
			ci->epoch = q->epoch;
			wi[x->n++] = (struct rpc_commit_item){
			    x->topic, ci->broker, ci->queue_id, ci->offset,
			    ci->epoch};
		}
		struct rpc_commit_req in = {k->group, k->member, {wi, x->n}};
		if (kc_leader_send(k, x, RPC_COMMIT, &in))
			k->commits++;
		else if (k->commit_err == 0)
			k->commit_err = RAFTQ_EUNAVAILABLE;
		free(wi);
	}
}

/* ---- Answers ---- */

static void apply_assignment(struct raftq_consumer *k,
			     const struct rpc_heartbeat_resp *r)
{
	const struct rpc_assignment *a = r->assignment.v;
	for (uint32_t i = 0; i < k->nq; i++)
		k->q[i]->assigned = false;
	for (uint32_t i = 0; i < r->assignment.n; i++) {
		struct kqueue *q = kc_find_queue(
		    k, a[i].topic, a[i].broker_name, a[i].queue_id);
		if (q != NULL) {
			q->assigned = true;
			continue;
		}
		struct kqueue **v = realloc(k->q, (k->nq + 1) * sizeof *v);
		q = calloc(1, sizeof *q);
		if (v != NULL)
			k->q = v;
		if (v == NULL || q == NULL) {
			free(q);
			return; /* the next heartbeat tries again */
		}
		snprintf(q->topic, sizeof q->topic, "%s", a[i].topic);
		snprintf(q->broker, sizeof q->broker, "%s", a[i].broker_name);
		q->queue_id = a[i].queue_id;
		q->pos = q->deliver = q->committed = POS_UNKNOWN;
		q->assigned = true;
		k->q[k->nq++] = q;
	}
	/* Queues given away: commit where this member stopped first, so the
	 * next owner starts there. */
	bool lost = false;
	for (uint32_t i = 0; i < k->nq; i++)
		lost |= !k->q[i]->assigned;
	if (lost && !k->manual_commit)
		kc_commit_now(k);
	for (uint32_t i = k->nq; i-- > 0;)
		if (!k->q[i]->assigned)
			kc_drop_queue(k, i);
	qsort(k->q, k->nq, sizeof *k->q, kc_cmp_queue);
	k->generation = r->generation;
}

/* The leader's word on @topic's epoch (a group deleted and created again
 * starts over at 0). */
static void set_topic_epoch(struct raftq_consumer *k, const char *topic,
			    uint64_t epoch)
{
	for (uint32_t i = 0; i < k->n_topics; i++)
		if (strcmp(k->topics[i], topic) == 0)
			k->topic_epoch[i] = epoch;
}

/* The heartbeat answer's epochs: a queue under an older one missed a
 * reset (its notice went to an earlier leader, or was lost): it drops what
 * it buffered and asks where it is now. Then the lease is renewed. */
static void apply_epochs(struct raftq_consumer *k,
			 const struct rpc_heartbeat_resp *r)
{
	const struct rpc_topic_epoch *e = r->epochs.v;
	for (uint32_t j = 0; j < r->epochs.n; j++) {
		bool moved = false;
		set_topic_epoch(k, e[j].topic, e[j].epoch);
		for (uint32_t i = 0; i < k->nq; i++) {
			struct kqueue *q = k->q[i];
			if (q->pos == POS_UNKNOWN || q->epoch >= e[j].epoch ||
			    strcmp(q->topic, e[j].topic) != 0)
				continue;
			kc_retire_all(k, q);
			q->gen++;
			q->pos = q->deliver = POS_UNKNOWN;
			moved = true;
		}
		if (moved) {
			kc_count_reset(k, e[j].topic, e[j].epoch);
			heartbeat_soon(k);
		}
	}
	k->lease_ms = r->lease_ms;
	/* A leader that grants no lease (older than leases) relies on its
	 * notices alone. A tenth is kept back for clock drift. */
	k->lease_until = r->lease_ms
			     ? k->hb_sent_at + r->lease_ms - r->lease_ms / 10
			     : UINT64_MAX;
}

/* The time from one heartbeat's answer to the next heartbeat. */
static uint64_t heartbeat_period(const struct raftq_consumer *k)
{
	uint32_t third = k->lease_ms / 3;
	return k->hb_soon			      ? 0
	       : third > 0 && third < k->heartbeat_ms ? third
						      : k->heartbeat_ms;
}

static void apply_offsets(struct raftq_consumer *k, const char *topic,
			  const struct rpc_offsets_resp *r)
{
	const struct rpc_offset_info *o = r->queues.v;
	for (uint32_t t = 0; t < k->n_topics; t++)
		if (strcmp(k->topics[t], topic) == 0 &&
		    r->epoch < k->topic_epoch[t]) {
			/* Answered before a reset this member has heard of:
			 * its positions are gone. Ask again. */
			k->offsets_at = cl_now(k->c) + FETCH_RETRY_MS;
			return;
		}
	kc_learn_epoch(k, topic, r->epoch);
	if (r->partial != NULL) { /* said, and asked again a little later */
		k->errors++;
		cl_fail(k->c, RAFTQ_EUNAVAILABLE, "%s", r->partial);
		k->offsets_at = cl_now(k->c) + FETCH_RETRY_MS;
	}
	for (uint32_t i = 0; i < r->queues.n; i++) {
		struct kqueue *q =
		    kc_find_queue(k, topic, o[i].broker_name, o[i].queue_id);
		if (q == NULL)
			continue;
		if (q->pos == POS_UNKNOWN) {
			kc_move_queue(k, q, o[i].offset, r->epoch);
			q->gen = 0;
		}
	}
}

static void on_stale(struct raftq_consumer *k, const char *topic,
		     const struct rpc_commit_resp *r)
{
	const struct rpc_offset_info *o = r->offsets.v;
	bool moved = false;
	for (uint32_t i = 0; i < r->offsets.n; i++) {
		struct kqueue *q =
		    kc_find_queue(k, topic, o[i].broker_name, o[i].queue_id);
		if (q != NULL && q->pos != POS_UNKNOWN && q->epoch < r->epoch) {
			kc_move_queue(k, q, o[i].offset, r->epoch);
			moved = true;
		}
	}
	if (moved)
		kc_count_reset(k, topic, r->epoch);
}

union kcall_resp {
	struct rpc_group_describe_resp describe;
	struct rpc_heartbeat_resp hb;
	struct rpc_offsets_resp offsets;
	struct rpc_commit_resp commit;
	struct rpc_empty leave;
};

/* Decodes a leader call's answer into @r/@st: 0, or a raftq error after
 * recording it (an unknown group or topic stops the consumer). */
static int kcall_result(struct raftq_consumer *k, struct kcall *x, int status,
			struct rpc_frame *f, union kcall_resp *r,
			struct rpc_status *st)
{
	static const uint16_t types[] = {RPC_GROUP_DESCRIBE, RPC_HEARTBEAT,
					 RPC_OFFSETS, RPC_COMMIT, RPC_LEAVE};
	struct raftq_client *c = k->c;
	int err = cl_from_rpc(status);
	if (status == 0 && cl_decode(f, types[x->kind], r, st) != 0)
		err = RAFTQ_EMALFORMED;
	if (err == 0 && st->code != RPC_OK && st->code != RPC_STALE_EPOCH)
		err = cl_from_code(st->code);
	if (err == 0)
		return 0;
	if (status != 0 || st->code == RPC_NOT_LEADER)
		cl_leader_failed(c, status, status ? NULL : st);
	if (st->code == RPC_UNKNOWN_GROUP || st->code == RPC_UNKNOWN_TOPIC) {
		k->failed = cl_fail(c, err, "%s: %s", rpc_code_name(st->code),
				    st->message ? st->message : "");
		snprintf(k->failmsg, sizeof k->failmsg, "%s", c->errmsg);
	} else if (st->message != NULL) {
		k->errors++;
		cl_fail(c, err, "%s: %s", rpc_code_name(st->code), st->message);
	} else {
		cl_fail(c, err, "%s", rpc_strerror(status));
	}
	return err;
}

/* A group with retry: its members read "%RETRY%group" too (DESIGN.md
 * §2.2), as one more topic of the subscription (room was kept for it). */
static void read_retry_topic(struct raftq_consumer *k)
{
	char topic[CL_NAME_MAX + 1];
	if (strlen(k->group) > CL_NAME_MAX - 7)
		return; /* the cluster refuses such groups retry */
	memcpy(topic, "%RETRY%", 7);
	memcpy(topic + 7, k->group, strlen(k->group) + 1);
	for (uint32_t i = 0; i < k->n_topics; i++)
		if (strcmp(k->topics[i], topic) == 0)
			return; /* subscribed by name */
	memcpy(k->topics[k->n_topics++], topic, sizeof topic);
}

static void on_described(struct raftq_consumer *k,
			 const struct rpc_group_describe_resp *d)
{
	k->mode = strcmp(d->mode, "broadcasting") == 0 ? MODE_BROADCASTING
						       : MODE_CLUSTERING;
	if (k->mode == MODE_CLUSTERING && d->max_reconsume_times > 0)
		read_retry_topic(k);
	if (k->mode != MODE_BROADCASTING)
		return;
	int rv = kc_load_file(k);
	if (rv != 0) {
		k->failed = rv;
		snprintf(k->failmsg, sizeof k->failmsg, "%s", k->c->errmsg);
	}
}

static void on_committed(struct raftq_consumer *k, const struct kcall *x,
			 const struct rpc_commit_resp *r, uint32_t code)
{
	for (uint32_t i = 0; i < x->n && i < r->codes.n; i++) {
		struct kqueue *q = kc_find_queue(
		    k, x->topic, x->items[i].broker, x->items[i].queue_id);
		if (r->codes.v[i] == RPC_OK && q != NULL &&
		    q->epoch == x->items[i].epoch)
			q->committed = x->items[i].offset;
	}
	if (code == RPC_STALE_EPOCH) {
		on_stale(k, x->topic, r);
		k->commit_err = RAFTQ_ESTALE_EPOCH;
	}
}

static void on_kcall(struct rpc_call *call, int status, struct rpc_frame *f)
{
	struct kcall *x = call->data;
	struct raftq_consumer *k = x->k;
	union kcall_resp r;
	struct rpc_status st = {RPC_OK, NULL, NULL, false};
	if (k == NULL) { /* the consumer is gone */
		kc_kcall_free(x);
		return;
	}
	kcall_unlink(k, x);
	k->c->events++;
	uint64_t now = cl_now(k->c);
	int err = kcall_result(k, x, status, f, &r, &st);
	switch (x->kind) {
	case KC_DESCRIBE:
		k->describing = false;
		if (err == 0)
			on_described(k, &r.describe);
		break;
	case KC_HEARTBEAT:
		k->heartbeating = false;
		if (err == 0) {
			apply_assignment(k, &r.hb);
			apply_epochs(k, &r.hb);
		}
		k->hb_at =
		    now + (err == 0 ? heartbeat_period(k) : LEADER_RETRY_MS);
		break;
	case KC_OFFSETS:
		unask(k, x->topic);
		if (err == 0)
			apply_offsets(k, x->topic, &r.offsets);
		break;
	case KC_COMMIT:
		k->commits--;
		if (err == 0)
			on_committed(k, x, &r.commit, st.code);
		else if (k->commit_err == 0)
			k->commit_err = err;
		break;
	case KC_LEAVE:
		k->leaving = false;
		k->left = true; /* failed or not: the session times out */
		break;
	}
	kc_kcall_free(x);
}

/* ---- Notices ---- */

void cl_consumer_notice(struct raftq_consumer *k, struct rpc_frame *f)
{
	if (f->type == RPC_REBALANCE_NOTICE) {
		struct rpc_rebalance_notice n;
		if (rpc_decode(f, RPC_REBALANCE_NOTICE, &n, NULL, NULL) == 0 &&
		    strcmp(n.group, k->group) == 0)
			k->hb_at = 0; /* ask for the new assignment now */
		return;
	}
	if (f->type != RPC_RESET_NOTICE)
		return;
	struct rpc_reset_notice n;
	if (rpc_decode(f, RPC_RESET_NOTICE, &n, NULL, NULL) != 0 ||
	    strcmp(n.group, k->group) != 0)
		return;
	const struct rpc_offset_info *o = n.queues.v;
	bool moved = false;
	kc_learn_epoch(k, n.topic, n.epoch);
	heartbeat_soon(k); /* the leader waits for this member to confirm */
	for (uint32_t i = 0; i < k->nq; i++) {
		struct kqueue *q = k->q[i];
		if (strcmp(q->topic, n.topic) != 0 || q->pos == POS_UNKNOWN ||
		    q->epoch >= n.epoch)
			continue;
		const struct rpc_offset_info *hit = NULL;
		for (uint32_t j = 0; j < n.queues.n && hit == NULL; j++)
			if (o[j].queue_id == q->queue_id &&
			    strcmp(o[j].broker_name, q->broker) == 0)
				hit = &o[j];
		if (hit != NULL) {
			kc_move_queue(k, q, hit->offset, n.epoch);
			moved = true;
		} else {
			/* Not part of this reset: the position stands,
			 * under the new epoch. */
			q->epoch = n.epoch;
			q->gen++;
			if (q->fetch == NULL)
				q->next_fetch_at = 0;
		}
	}
	if (moved)
		kc_count_reset(k, n.topic, n.epoch);
}
