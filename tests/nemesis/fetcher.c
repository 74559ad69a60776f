/*
 * fetcher.c — the raw fetcher of a nemesis run (workload.h): it reads
 * group "wg"'s epoch and offsets (OFFSETS, any node), then FETCHes one of
 * its queues straight from the broker hosting it, under that epoch. No
 * RESET_NOTICE helps it (libraftq members get one, which hides a broker
 * that serves under an old epoch): a broker must refuse with
 * OFFSET_MOVED once a reset to a newer epoch has returned (issue 10 #2).
 * It keeps a queue of every broker and fetches each in turn under what it
 * learned for a while (SPOT_USES_*), as a consumer does until told
 * otherwise, so a reset can complete in between. The checker's "stale-fetch"
 * rule holds the broker to that.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "workload.h"

#define CALL_MS 3000

/* Where the fetcher reads: a queue of "wg" and the epoch it learned. */
struct spot {
	bool valid;
	int uses, max_uses; /* fetches since it was learned, and how many */
	uint64_t epoch, offset;
	uint32_t queue;
	char broker[64];
};

/* Fetches under one epoch before learning again: 50-500 (1.5-15 s), as
 * a consumer that heard of no reset would — longer than a reset takes to
 * return, so a reset can complete while it still fetches. */
#define SPOT_USES_MIN 50
#define SPOT_USES_MAX 500

/* Learns "wg"'s epoch and the offset of one of its queues on broker
 * @s->broker, picked at random (OFFSETS, any node); invalid when not
 * answered. */
static void learn(struct wl_thread *t, struct spot *s)
{
	struct rpc_offsets_req q = {"wg", WL_TOPIC};
	struct ctl_resp r;
	ctl_call(t->w->bootstrap, RPC_OFFSETS, &q, CALL_MS, &r);
	const struct rpc_offsets_resp *x = r.body;
	const struct rpc_offset_info *one = NULL;
	uint32_t seen = 0;
	for (uint32_t i = 0;
	     r.err == 0 && r.st.code == RPC_OK && i < x->queues.n; i++) {
		const struct rpc_offset_info *qi =
		    &((const struct rpc_offset_info *)x->queues.v)[i];
		if (strcmp(qi->broker_name, s->broker) == 0 &&
		    rand_r(&t->seed) % ++seen == 0)
			one = qi; /* one of the broker's queues, uniformly */
	}
	s->valid = one != NULL;
	if (s->valid) {
		s->epoch = x->epoch;
		s->queue = one->queue_id;
		s->offset = one->offset == UINT64_MAX ? 0 : one->offset;
		s->uses = 0;
		s->max_uses =
		    SPOT_USES_MIN + (int)(rand_r(&t->seed) %
					  (SPOT_USES_MAX - SPOT_USES_MIN + 1));
	}
	ctl_resp_free(&r);
}

/* The client address of broker "broker-N" (node N of the harness). */
static const char *broker_address(struct workload *w, const char *broker)
{
	int n = 0;
	if (sscanf(broker, "broker-%d", &n) != 1 || n < 1 || n > w->hx->n)
		return NULL;
	return w->hx->nodes[n - 1].listen;
}

/* One FETCH at @s, recorded; a refusal makes @s learn again. */
static void one_fetch(struct wl_thread *t, struct spot *s)
{
	struct workload *w = t->w;
	const char *addr = broker_address(w, s->broker);
	if (addr == NULL) {
		s->valid = false;
		return;
	}
	json_t *v = json_pack("{s:s,s:s,s:s,s:i,s:I,s:I}", "group", "wg",
			      "topic", WL_TOPIC, "broker", s->broker, "queue",
			      (int)s->queue, "epoch", (json_int_t)s->epoch,
			      "offset", (json_int_t)s->offset);
	hist_event(w->h, t->name, "invoke", "fetch", addr, json_incref(v));
	struct rpc_fetch_req q = {"wg", WL_TOPIC, s->queue, s->offset, s->epoch,
				  4096, 0,	  NULL,	    NULL};
	struct ctl_resp r;
	ctl_call_one(addr, RPC_FETCH, &q, CALL_MS, &r);
	const char *how = "fail"; /* a read: nothing changed either way */
	if (r.err == 0 && r.st.code == RPC_OK) {
		how = "ok";
		const struct rpc_fetch_resp *x = r.body;
		json_object_set_new(v, "bytes",
				    json_integer((json_int_t)x->batches.len));
	} else {
		s->valid = false;
		json_object_set_new(
		    v, "error",
		    json_string(r.err ? rpc_strerror(r.err)
				      : rpc_code_name(r.st.code)));
	}
	hist_event(w->h, t->name, how, "fetch", addr, v);
	ctl_resp_free(&r);
}

void *wl_fetcher(void *arg)
{
	struct wl_thread *t = arg;
	struct spot spots[H_MAX];
	int n = t->w->hx->n;
	for (int i = 0; i < n; i++) {
		spots[i] = (struct spot){.valid = false};
		snprintf(spots[i].broker, sizeof spots[i].broker, "broker-%d",
			 t->w->hx->nodes[i].id);
	}
	/* Every broker in turn, each under what it learned last. */
	for (int k = 0; !atomic_load(&t->w->stop); k = (k + 1) % n) {
		struct spot *s = &spots[k];
		if (!s->valid || ++s->uses > s->max_uses)
			learn(t, s);
		if (s->valid)
			one_fetch(t, s);
		usleep(5000); /* ~100 fetches a second, bounded by stop */
	}
	return NULL;
}
