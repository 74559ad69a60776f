/*
 * ops.c — the raw-RPC clients of a nemesis run (workload.h): the operator
 * (resets), the register process (reads and commits of group "rg") and
 * the final drain. Each call goes through ctl_call (any node; retried
 * through elections while the cluster says nothing was done).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "workload.h"

#define CALL_MS 3000
/* A reset may wait 2 s for a lagging broker and a member lease (1 s in
 * the harness) on top of its gathers: give it room, so fewer end unknown. */
#define RESET_MS 8000

/* ok, fail (the cluster said nothing was done) or info (unknown). */
static const char *outcome(const struct ctl_resp *r)
{
	if (r->err != 0)
		return "info";
	if (r->st.retry)
		return "fail"; /* the cluster said nothing was done */
	switch (r->st.code) {
	case RPC_OK:
		return "ok";
	case RPC_NOT_LEADER:
	case RPC_INVALID_ARGUMENT:
	case RPC_UNKNOWN_GROUP:
	case RPC_UNKNOWN_TOPIC:
	case RPC_STALE_EPOCH:
	case RPC_GROUP_ACTIVE:
		return "fail";
	default:
		return "info";
	}
}

static json_t *error_of(const struct ctl_resp *r)
{
	return json_pack("{s:s}", "error",
			 r->err		 ? rpc_strerror(r->err)
			 : r->st.message ? r->st.message
					 : rpc_code_name(r->st.code));
}

/* ---- Operator ---- */

static json_t *reset_value(const char *group, const struct rpc_reset_resp *x)
{
	json_t *topics = json_array();
	const struct rpc_reset_topic *t = x->topics.v;
	for (uint32_t k = 0; k < x->topics.n; k++) {
		json_t *qs = json_array();
		const struct rpc_reset_queue *q = t[k].queues.v;
		for (uint32_t i = 0; i < t[k].queues.n; i++)
			json_array_append_new(
			    qs,
			    json_pack(
				"{s:s,s:i,s:o}", "broker", q[i].broker_name,
				"queue", (int)q[i].queue_id, "offset",
				q[i].unset
				    ? json_null()
				    : json_integer(
					  (json_int_t)q[i].timestamp_offset)));
		json_array_append_new(
		    topics,
		    json_pack("{s:s,s:I,s:o}", "topic", t[k].topic, "epoch",
			      (json_int_t)t[k].epoch, "queues", qs));
	}
	return json_pack("{s:s,s:o,s:I}", "group", group, "topics", topics,
			 "reset_id", (json_int_t)x->reset_id);
}

/* One reset (or undo of the last one) of @group; recorded. Its
 * requester is "op-@seq", unique: the read-back at the end (wl_readback)
 * finds in the cluster's history whether one of unknown outcome applied. */
static void one_reset(struct wl_thread *t, const char *group,
		      const char *target, int64_t value, uint64_t *last_id,
		      unsigned long seq)
{
	struct workload *w = t->w;
	char tag[32];
	snprintf(tag, sizeof tag, "op-%lu", seq);
	struct rpc_reset_req rq = h_reset_req(group, WL_TOPIC, target, value);
	rq.requester = tag;
	struct rpc_undo_req uq = {*last_id, tag};
	bool undo = strcmp(target, "undo") == 0;
	struct ctl_resp r;
	hist_event(w->h, t->name, "invoke", "reset", NULL,
		   json_pack("{s:s,s:s,s:I,s:s}", "group", group, "target",
			     target, "value", (json_int_t)value, "requester",
			     tag));
	ctl_call(w->bootstrap, undo ? RPC_UNDO : RPC_RESET,
		 undo ? (const void *)&uq : &rq, RESET_MS, &r);
	const char *how = outcome(&r);
	json_t *v =
	    strcmp(how, "ok") == 0 ? reset_value(group, r.body) : error_of(&r);
	if (strcmp(how, "ok") == 0)
		*last_id = ((const struct rpc_reset_resp *)r.body)->reset_id;
	else
		json_object_set_new(v, "group", json_string(group));
	json_object_set_new(v, "requester", json_string(tag));
	hist_event(w->h, t->name, how, "reset", r.via, v);
	ctl_resp_free(&r);
}

/* A reset target for "wg" and its value: mostly near the end (latest, a
 * shift of ±20, 1-3 s back), sometimes an undo, rarely earliest — each
 * earliest re-delivers every queue whole, which a long run cannot
 * afford often. */
static const char *wg_target(unsigned *seed, int64_t *value, bool can_undo)
{
	int k = rand_r(seed) % 20;
	*value = 0;
	if (k < 5)
		return "latest";
	if (k < 11) {
		*value = rand_r(seed) % 41 - 20;
		return "shift";
	}
	if (k < 16) {
		*value = 1000 + rand_r(seed) % 2000;
		return "duration";
	}
	if (k < 19 && can_undo)
		return "undo";
	return "earliest";
}

void *wl_operator(void *arg)
{
	struct wl_thread *t = arg;
	uint64_t last_wg = 0, last_rg = 0;
	for (unsigned long seq = 1; !atomic_load(&t->w->stop); seq++) {
		usleep(500000 + (useconds_t)(rand_r(&t->seed) % 500) * 1000);
		int64_t v;
		if (rand_r(&t->seed) % 3 == 0) {
			one_reset(t, "rg", "offset", rand_r(&t->seed) % 30,
				  &last_rg, seq);
			continue;
		}
		const char *target = wg_target(&t->seed, &v, last_wg != 0);
		one_reset(t, "wg", target, v, &last_wg, seq);
	}
	return NULL;
}

/* ---- Register: reads and commits of group "rg" ---- */

/* Reads "rg" on the topic: recorded; its epoch in *epoch (or unchanged
 * when the read did not succeed). */
static void register_read(struct wl_thread *t, uint64_t *epoch)
{
	struct workload *w = t->w;
	struct rpc_group_req q = {"rg"};
	struct ctl_resp r;
	hist_event(w->h, t->name, "invoke", "read", NULL,
		   json_pack("{s:s,s:s}", "group", "rg", "topic", WL_TOPIC));
	ctl_call(w->bootstrap, RPC_GROUP_DESCRIBE, &q, CALL_MS, &r);
	const char *how = outcome(&r);
	const struct rpc_group_describe_resp *d = r.body;
	const struct rpc_group_topic_info *ti = NULL;
	for (uint32_t i = 0; strcmp(how, "ok") == 0 && i < d->topics.n; i++)
		if (strcmp(((const struct rpc_group_topic_info *)d->topics.v)[i]
			       .topic,
			   WL_TOPIC) == 0)
			ti = &((const struct rpc_group_topic_info *)
				   d->topics.v)[i];
	json_t *offs = json_array();
	for (uint32_t i = 0; ti != NULL && i < ti->queues.n; i++) {
		const struct rpc_lag_info *l =
		    &((const struct rpc_lag_info *)ti->queues.v)[i];
		json_array_append_new(
		    offs, json_pack("{s:s,s:i,s:o}", "broker", l->broker_name,
				    "queue", (int)l->queue_id, "offset",
				    l->consumer_offset == UINT64_MAX
					? json_null()
					: json_integer(
					      (json_int_t)l->consumer_offset)));
	}
	if (ti != NULL)
		*epoch = ti->epoch;
	json_t *v = json_pack("{s:s,s:s,s:o}", "group", "rg", "topic", WL_TOPIC,
			      "offsets", offs);
	if (strcmp(how, "ok") != 0) {
		json_t *e = error_of(&r);
		json_object_update(v, e);
		json_decref(e);
	}
	hist_event(w->h, t->name, ti != NULL ? "ok" : "info", "read", r.via, v);
	ctl_resp_free(&r);
}

/* Commits a random queue of "rg" to a random offset under @epoch. */
static void register_commit(struct wl_thread *t, uint64_t epoch)
{
	struct workload *w = t->w;
	char broker[32];
	snprintf(broker, sizeof broker, "broker-%d", rand_r(&t->seed) % 3 + 1);
	uint32_t queue = (uint32_t)(rand_r(&t->seed) % WL_QPB);
	uint64_t off = (uint64_t)(rand_r(&t->seed) % 30);
	struct rpc_commit_item it = {WL_TOPIC, broker, queue, off, epoch};
	struct rpc_commit_req q = {"rg", "register", {&it, 1}};
	json_t *v =
	    json_pack("{s:s,s:s,s:I,s:[{s:s,s:i,s:I}]}", "group", "rg", "topic",
		      WL_TOPIC, "epoch", (json_int_t)epoch, "offsets", "broker",
		      broker, "queue", (int)queue, "offset", (json_int_t)off);
	struct ctl_resp r;
	hist_event(w->h, t->name, "invoke", "commit", NULL, json_incref(v));
	ctl_call(w->bootstrap, RPC_COMMIT, &q, CALL_MS, &r);
	const char *how = outcome(&r);
	const struct rpc_commit_resp *c = r.body;
	if (strcmp(how, "ok") == 0 && c->codes.n == 1 &&
	    c->codes.v[0] != RPC_OK)
		how = c->codes.v[0] == RPC_STALE_EPOCH ? "fail" : "info";
	hist_event(w->h, t->name, how, "commit", r.via, v);
	ctl_resp_free(&r);
}

void *wl_register(void *arg)
{
	struct wl_thread *t = arg;
	uint64_t epoch = 0;
	while (!atomic_load(&t->w->stop)) {
		register_read(t, &epoch);
		register_commit(t, epoch);
		usleep(20000); /* ~25 pairs a second, bounded by stop */
	}
	return NULL;
}

int wl_register_init(struct workload *w)
{
	struct rpc_reset_req rq = h_reset_req("rg", WL_TOPIC, "offset", 0);
	struct ctl_resp r;
	ctl_call(w->bootstrap, RPC_RESET, &rq, 10000, &r);
	int rv = r.err == 0 && r.st.code == RPC_OK ? 0 : -1;
	if (rv == 0)
		hist_event(w->h, "setup", "ok", "reset", r.via,
			   reset_value("rg", r.body));
	ctl_resp_free(&r);
	return rv;
}

/* ---- Drain ---- */

/* Adds the messages of fetched batches @b[0..len) at or after @from to
 * @msgs; the offset after the last: where to fetch next. */
static uint64_t add_batches(const uint8_t *b, size_t len, uint64_t from,
			    json_t *msgs)
{
	size_t at = 0;
	struct rpc_batch bt;
	uint64_t next = from;
	while (rpc_batch_next(b, len, &at, &bt) == 1) {
		size_t pos = 0;
		struct rpc_record rec;
		for (uint64_t o = bt.base_offset;
		     rpc_record_next(bt.payload, bt.payload_len, &pos, &rec) ==
		     1;
		     o++)
			if (o >= from)
				json_array_append_new(
				    msgs, json_pack("[I,s#]", (json_int_t)o,
						    (const char *)rec.body,
						    (int)rec.body_len));
		next = bt.base_offset + bt.count;
	}
	return next;
}

/* FETCH @fq from broker @b (0-based) into @r, asking again for up to
 * 30 s while it refuses (after the faults a home may still be catching
 * up before it takes its queue back, NOT_LEADER or UNAVAILABLE till
 * then); the last refusal is printed. */
static void drain_fetch(struct workload *w, int b,
			const struct rpc_fetch_req *fq, struct ctl_resp *r)
{
	for (int64_t until = h_now_ms() + 30000;; usleep(100000)) {
		h_call(w->hx->nodes[b].listen, RPC_FETCH, fq, 10000, r);
		if (r->err == 0 && r->st.code == RPC_OK)
			return;
		if (h_now_ms() > until) {
			fprintf(stderr,
				"nemesis: drain fetch at broker-%d: %s\n",
				b + 1,
				r->err		? r->why
				: r->st.message ? r->st.message
						: "refused");
			return;
		}
		ctl_resp_free(r);
	}
}

/* Reads queue @q of broker @b (0-based) to its end; recorded. */
static int drain_queue(struct workload *w, int b, uint32_t q)
{
	char broker[32];
	snprintf(broker, sizeof broker, "broker-%d", b + 1);
	json_t *msgs = json_array();
	uint64_t at = 0, min = 0, max = 1;
	while (at < max) {
		struct rpc_fetch_req fq = {NULL,     WL_TOPIC, q,    at,  0,
					   1u << 20, 0,	       NULL, NULL};
		struct ctl_resp r;
		drain_fetch(w, b, &fq, &r);
		bool ok = r.err == 0 && r.st.code == RPC_OK;
		const struct rpc_fetch_resp *x = r.body;
		uint64_t before = at;
		if (ok) {
			min = x->min_offset;
			max = x->max_offset;
			at = add_batches(x->batches.ptr, x->batches.len,
					 at < min ? min : at, msgs);
			at = at < min ? min : at;
			ok =
			    at > before || at >= max; /* progress, or the end */
		}
		ctl_resp_free(&r);
		if (!ok) {
			json_decref(msgs);
			return -1;
		}
	}
	hist_event(w->h, "drain", "ok", "drain", broker,
		   json_pack("{s:s,s:s,s:i,s:I,s:o}", "topic", WL_TOPIC,
			     "broker", broker, "queue", (int)q, "min_offset",
			     (json_int_t)min, "messages", msgs));
	return 0;
}

int wl_drain(struct workload *w)
{
	for (int b = 0; b < 3; b++)
		for (uint32_t q = 0; q < WL_QPB; q++)
			if (drain_queue(w, b, q) != 0) {
				fprintf(stderr,
					"nemesis: drain of broker-%d queue "
					"%u failed\n",
					b + 1, q);
				return -1;
			}
	return 0;
}

/* ---- Read-back: the cluster's reset history at the end ---- */

/* The records of @x made by this run's operator ("op-N"), as the
 * checker reads them: requester, epoch, the queues' new offsets. */
static json_t *readback_value(const char *group,
			      const struct rpc_history_resp *x)
{
	json_t *rs = json_array();
	const struct rpc_history_entry *e = x->resets.v;
	for (uint32_t k = 0; k < x->resets.n; k++) {
		if (e[k].requester == NULL ||
		    strncmp(e[k].requester, "op-", 3) != 0)
			continue;
		json_t *qs = json_array();
		const struct rpc_history_queue *q = e[k].queues.v;
		for (uint32_t i = 0; i < e[k].queues.n; i++)
			json_array_append_new(
			    qs, json_pack("{s:s,s:i,s:I}", "broker",
					  q[i].broker_name, "queue",
					  (int)q[i].queue_id, "offset",
					  (json_int_t)q[i].timestamp_offset));
		json_array_append_new(
		    rs, json_pack("{s:s,s:s,s:I,s:o}", "requester",
				  e[k].requester, "topic", e[k].topic, "epoch",
				  (json_int_t)e[k].epoch, "queues", qs));
	}
	return json_pack("{s:s,s:s,s:o}", "group", group, "topic", WL_TOPIC,
			 "resets", rs);
}

int wl_readback(struct workload *w)
{
	static const char *const groups[] = {"wg", "rg"};
	for (int g = 0; g < 2; g++) {
		struct rpc_history_req q = {groups[g], WL_TOPIC};
		struct ctl_resp r;
		ctl_call(w->bootstrap, RPC_HISTORY, &q, 10000, &r);
		if (r.err != 0 || r.st.code != RPC_OK) {
			fprintf(stderr, "nemesis: history of %s: %s\n",
				groups[g],
				r.err ? rpc_strerror(r.err)
				      : rpc_code_name(r.st.code));
			ctl_resp_free(&r);
			return -1;
		}
		hist_event(w->h, "readback", "ok", "history", r.via,
			   readback_value(groups[g], r.body));
		ctl_resp_free(&r);
	}
	return 0;
}
