/*
 * clients.c — the libraftq clients of a nemesis run (workload.h):
 * producers and consumer-group members, each on its own client.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "raftq.h"
#include "workload.h"

static struct raftq_client *client_of(struct wl_thread *t)
{
	struct raftq_config cfg = {.bootstrap = t->w->bootstrap,
				   .client_id = t->name,
				   .request_timeout_ms = 3000};
	struct raftq_client *c = NULL;
	char err[256];
	if (raftq_client_new(&cfg, &c, err, sizeof err) != 0)
		fprintf(stderr, "nemesis: %s: %s\n", t->name, err);
	return c;
}

/* ---- Producers ---- */

/* The delivery report: stored (ok, where), or an error — whose outcome
 * is unknown (info): a batch may be stored and its answer lost. */
static void on_delivery(void *arg, const struct raftq_delivery *d)
{
	struct wl_thread *t = arg;
	char id[32], proc[48];
	snprintf(id, sizeof id, "%s-%lu", t->name, (unsigned long)d->opaque);
	snprintf(proc, sizeof proc, "%s", id);
	if (d->err == 0)
		hist_event(t->w->h, proc, "ok", "produce", d->broker_name,
			   json_pack("{s:s,s:s,s:s,s:s,s:i,s:I}", "id", id,
				     "producer", t->name, "topic", d->topic,
				     "broker", d->broker_name, "queue",
				     (int)d->queue_id, "offset",
				     (json_int_t)d->offset));
	else
		hist_event(t->w->h, proc, "info", "produce", NULL,
			   json_pack("{s:s,s:s,s:s}", "id", id, "producer",
				     t->name, "error", raftq_strerror(d->err)));
}

void *wl_producer(void *arg)
{
	struct wl_thread *t = arg;
	struct raftq_client *c = client_of(t);
	struct raftq_producer *p = NULL;
	struct raftq_producer_config pc = {.topic = WL_TOPIC,
					   .linger_ms = 2,
					   .on_delivery = on_delivery,
					   .arg = t};
	if (c == NULL || raftq_producer_new(c, &pc, &p) != 0) {
		fprintf(stderr, "nemesis: %s: no producer\n", t->name);
		raftq_client_free(c);
		return NULL;
	}
	for (unsigned long n = 1; !atomic_load(&t->w->stop); n++) {
		char id[32], proc[48];
		snprintf(id, sizeof id, "%s-%lu", t->name, n);
		snprintf(proc, sizeof proc, "%s", id);
		hist_event(
		    t->w->h, proc, "invoke", "produce", NULL,
		    json_pack("{s:s,s:s}", "id", id, "producer", t->name));
		if (raftq_produce(p, NULL, 0, id, strlen(id),
				  (void *)(uintptr_t)n) != 0)
			hist_event(t->w->h, proc, "fail", "produce", NULL,
				   json_pack("{s:s}", "id", id));
		raftq_poll(c, 5);
	}
	raftq_producer_close(p, 10000);
	raftq_client_free(c);
	return NULL;
}

/* ---- Consumers ---- */

static json_t *deliveries(const struct raftq_message *m, int n)
{
	json_t *a = json_array();
	for (int i = 0; i < n; i++)
		json_array_append_new(
		    a, json_pack("{s:s,s:s,s:i,s:I,s:I,s:s#}", "topic",
				 m[i].topic, "broker", m[i].broker_name,
				 "queue", (int)m[i].queue_id, "offset",
				 (json_int_t)m[i].offset, "epoch",
				 (json_int_t)m[i].epoch, "id",
				 (const char *)m[i].body, (int)m[i].body_len));
	return a;
}

/* The member's queues as JSON when they differ from @prev ("" before the
 * first; updated), else NULL: the checker forgets a member's position on
 * a queue that left it (a rebalance may deliver again from the commit). */
static json_t *assignment_change(struct raftq_consumer *k, char *prev,
				 size_t len)
{
	struct raftq_queue q[64];
	size_t n = raftq_consumer_assignment(k, q, 64);
	char now[2048] = "";
	size_t at = 0;
	for (size_t i = 0; i < n && i < 64 && at < sizeof now; i++)
		at += (size_t)snprintf(now + at, sizeof now - at, "%s/%s/%u ",
				       q[i].topic, q[i].broker_name,
				       q[i].queue_id);
	if (prev[0] != '\0' && strcmp(now, prev) == 0)
		return NULL;
	snprintf(prev, len, "%s", now[0] ? now : " ");
	json_t *a = json_array();
	for (size_t i = 0; i < n && i < 64; i++)
		json_array_append_new(a, json_pack("{s:s,s:s,s:i}", "topic",
						   q[i].topic, "broker",
						   q[i].broker_name, "queue",
						   (int)q[i].queue_id));
	return a;
}

/* Consumes until stopped or the member fails (a new session then). */
static void member_session(struct wl_thread *t, struct raftq_client *c,
			   int session)
{
	const char *topics[] = {WL_TOPIC};
	struct raftq_consumer_config kc = {.group = "wg",
					   .topics = topics,
					   .n_topics = 1,
					   .member_id = t->name};
	struct raftq_consumer *k = NULL;
	if (raftq_consumer_new(c, &kc, &k) != 0) {
		usleep(200000); /* retried by the caller, bounded by stop */
		return;
	}
	struct raftq_message m[64];
	char owned[2048] = "";
	int n = 0;
	while (n >= 0 && !atomic_load(&t->w->stop)) {
		json_t *who = json_pack("{s:s,s:s,s:i}", "group", "wg",
					"member", t->name, "session", session);
		hist_event(t->w->h, t->name, "invoke", "consume", NULL,
			   json_incref(who));
		n = raftq_consume(k, m, 64, 200);
		if (n >= 0) {
			json_t *a = assignment_change(k, owned, sizeof owned);
			json_object_set_new(who, "deliveries",
					    deliveries(m, n));
			if (a != NULL)
				json_object_set_new(who, "assigned", a);
		}
		hist_event(t->w->h, t->name, n >= 0 ? "ok" : "fail", "consume",
			   NULL, who);
	}
	raftq_consumer_close(k, 3000);
}

void *wl_consumer(void *arg)
{
	struct wl_thread *t = arg;
	struct raftq_client *c = client_of(t);
	for (int s = 1; c != NULL && !atomic_load(&t->w->stop); s++)
		member_session(t, c, s);
	raftq_client_free(c);
	return NULL;
}
