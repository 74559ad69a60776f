/*
 * producer.c — batching producer.
 *
 * Happy path: raftq_produce appends the record (rpc record codec) to the
 * open batch of its queue; a batch is sealed when it is full or its linger
 * time is up, compressed (lz4 frame) once if asked, and sent as one
 * PRODUCE to the hosting broker, up to max_in_flight per queue. The answer
 * gives the batch's base offset and store time: one report per message.
 *
 * Failure modes: a broker that cannot be reached, or answers UNAVAILABLE,
 * is marked down for a while (new keyless batches avoid it) and the route
 * is refreshed; the failed batch goes to the next queue of a broker that
 * is not marked down. UNKNOWN_TOPIC refreshes the route and retries too.
 * Any other refusal (INVALID_ARGUMENT: a batch over the broker's
 * max_batch_bytes, ...) fails the batch's messages with RAFTQ_EREFUSED.
 * A batch still unanswered delivery_timeout_ms after its first message
 * was queued fails with RAFTQ_ETIMEDOUT.
 */
#include <lz4frame.h>
#include <stdlib.h>
#include <string.h>

#include "../util/list.h"
#include "../util/key_hash.h"
#include "client_int.h"

#define MAX_RECORD (16u << 20)
#define DOWN_MS 1000

struct pbatch {
	struct rpc_call call;
	struct raftq_producer *p;     /* NULL: the producer was closed */
	struct pbatch *next;	      /* in a queue's ready list */
	struct pbatch *fprev, *fnext; /* in the producer's flight list */
	uint8_t *buf;		      /* records */
	size_t len, cap;
	uint8_t *z; /* lz4 frame of buf (made once) */
	size_t zlen;
	void **opaques;
	uint32_t count, opaque_cap;
	uint64_t created;
	uint32_t qi;	/* queue index in the topic */
	bool scheduled; /* its broker keeps it until its delivery time */
	uint32_t attempts;
};

struct pqueue {
	struct pbatch *open;
	struct pbatch *ready, *ready_tail;
	uint32_t inflight;
};

struct raftq_producer {
	struct raftq_client *c;
	struct raftq_producer_config cfg;
	char topic[CL_NAME_MAX + 1];
	/* Placement, fixed when the topic was created. */
	uint32_t nq, qpb;
	char (*qbroker)[CL_NAME_MAX + 1]; /* per broker of the topic */
	struct pqueue *q;
	struct pbatch *flight; /* sent, not answered */
	uint32_t sticky;       /* keyless messages fill this queue's batch */
	size_t buffered;
	uint64_t pending; /* messages without a report */
	/* Why a broker last did not take a batch: "broker-2 (127.0.0.1:9102):
	 * cannot connect", for the report of messages that time out. */
	char last_error[800];
};

/* The home of queue @qi (the broker in its name). */
static const char *broker_of(const struct raftq_producer *p, uint32_t qi)
{
	return p->qbroker[qi / p->qpb];
}

/* The broker that takes queue @qi's batches: its leader by the route
 * (NULL while the queue is offline). */
static const char *leader_of(const struct raftq_producer *p, uint32_t qi)
{
	return cl_queue_leader(p->c, p->topic, broker_of(p, qi), qi % p->qpb);
}

static void batch_free(struct pbatch *b)
{
	if (b == NULL)
		return;
	free(b->buf);
	free(b->z);
	free(b->opaques);
	free(b);
}

/* Hands the batch's messages to the application (via the report list). */
static void batch_report(struct raftq_producer *p, struct pbatch *b, int err,
			 uint64_t base, int64_t store_time)
{
	struct raftq_client *c = p->c;
	struct cl_report *r = calloc(1, sizeof *r);
	if (r != NULL) {
		r->cb = p->cfg.on_delivery;
		r->arg = p->cfg.arg;
		r->err = err;
		snprintf(r->topic, sizeof r->topic, "%s", p->topic);
		snprintf(r->broker, sizeof r->broker, "%s",
			 broker_of(p, b->qi));
		r->queue_id = b->qi % p->qpb;
		r->base = base;
		r->store_time = store_time;
		r->scheduled = b->scheduled;
		r->count = b->count;
		r->opaques = b->opaques; /* transferred */
		b->opaques = NULL;
		cl_report(c, r);
	}
	/* Without memory for the report the application cannot be told;
	 * the message is still accounted for. */
	p->pending -= b->count;
	p->buffered -= b->len;
	b->count = 0;
	b->len = 0;
}

static void batch_done(struct raftq_producer *p, struct pbatch *b, int err,
		       uint64_t base, int64_t store_time)
{
	batch_report(p, b, err, base, store_time);
	batch_free(b);
}

static void flight_add(struct raftq_producer *p, struct pbatch *b)
{
	DLIST_PUSH(p->flight, b, fprev, fnext);
}

static void flight_del(struct raftq_producer *p, struct pbatch *b)
{
	DLIST_UNLINK(p->flight, b, fprev, fnext);
}

static void ready_push(struct pqueue *q, struct pbatch *b)
{
	QUEUE_PUSH(q->ready, q->ready_tail, b, next);
}

static struct pbatch *ready_pop(struct pqueue *q)
{
	struct pbatch *b = q->ready;
	if (b != NULL) {
		q->ready = b->next;
		if (q->ready == NULL)
			q->ready_tail = NULL;
	}
	return b;
}

static bool broker_down(const struct raftq_producer *p, uint32_t qi)
{
	struct raftq_client *c = p->c;
	const char *l = leader_of(p, qi);
	int bi = l ? cl_broker_index(c, l) : -1;
	return bi < 0 || c->brokers[bi].down_until > uv_now(&c->loop);
}

/* The next queue after @from on a broker not marked down; @from itself
 * if every broker is down. */
static uint32_t next_live_queue(const struct raftq_producer *p, uint32_t from)
{
	for (uint32_t k = 1; k <= p->nq; k++)
		if (!broker_down(p, (from + k) % p->nq))
			return (from + k) % p->nq;
	return from;
}

static void on_produced(struct rpc_call *call, int status, struct rpc_frame *f);

static void seal(struct raftq_producer *p, uint32_t qi)
{
	struct pqueue *q = &p->q[qi];
	if (q->open != NULL) {
		ready_push(q, q->open);
		q->open = NULL;
	}
}

/* Sends @b to its queue now. Returns 0 or a raftq error (not sent). */
static int send_batch(struct raftq_producer *p, struct pbatch *b)
{
	struct raftq_client *c = p->c;
	const char *leader = leader_of(p, b->qi);
	int bi = leader ? cl_broker_index(c, leader) : -1;
	if (bi < 0 || c->brokers[bi].listen[0] == '\0')
		return RAFTQ_EUNAVAILABLE;
	struct rpc_client *rc = cl_conn(c, c->brokers[bi].listen);
	if (rc == NULL)
		return RAFTQ_ENOMEM;
	const uint8_t *payload = b->buf;
	size_t plen = b->len;
	uint32_t flags = 0;
	if (p->cfg.lz4) {
		if (b->z == NULL) {
			LZ4F_preferences_t prefs;
			memset(&prefs, 0, sizeof prefs);
			prefs.frameInfo.contentSize = b->len;
			size_t bound = LZ4F_compressFrameBound(b->len, &prefs);
			b->z = malloc(bound);
			if (b->z == NULL)
				return RAFTQ_ENOMEM;
			size_t zl = LZ4F_compressFrame(b->z, bound, b->buf,
						       b->len, &prefs);
			if (LZ4F_isError(zl)) {
				free(b->z);
				b->z = NULL;
				return cl_fail(c, RAFTQ_EINVAL, "lz4: %s",
					       LZ4F_getErrorName(zl));
			}
			b->zlen = zl;
		}
		payload = b->z;
		plen = b->zlen;
		flags = 1; /* STOR_BATCH_LZ4 (docs/disk-format.md) */
	}
	struct rpc_produce_req in = {p->topic,
				     b->qi % p->qpb,
				     b->count,
				     flags,
				     {payload, (uint32_t)plen},
				     p->cfg.deliver_at_ms,
				     p->cfg.delay_ms,
				     broker_of(p, b->qi),
				     p->cfg.acks};
	b->call.data = b;
	b->attempts++;
	int rv = rpc_client_request(rc, &b->call, RPC_PRODUCE, &in,
				    c->timeout_ms, on_produced);
	if (rv != 0)
		return cl_from_rpc(rv);
	p->q[b->qi].inflight++;
	flight_add(p, b);
	return 0;
}

/* Says in last_error why queue @qi cannot be written now. */
static void unroutable(struct raftq_producer *p, uint32_t qi)
{
	const char *leader = leader_of(p, qi);
	if (leader == NULL)
		snprintf(p->last_error, sizeof p->last_error,
			 "queue %s/%s/%u is offline: none of its in-sync "
			 "replicas is up",
			 p->topic, broker_of(p, qi), qi % p->qpb);
	else
		snprintf(p->last_error, sizeof p->last_error,
			 "queue %s/%s/%u: its leader %s has no known address",
			 p->topic, broker_of(p, qi), qi % p->qpb, leader);
}

static void pump(struct raftq_producer *p)
{
	for (uint32_t qi = 0; qi < p->nq; qi++) {
		struct pqueue *q = &p->q[qi];
		while (q->ready != NULL && q->inflight < p->cfg.max_in_flight) {
			struct pbatch *b = ready_pop(q);
			int rv = send_batch(p, b);
			if (rv == RAFTQ_EUNAVAILABLE) {
				/* Offline or no address: try elsewhere. */
				unroutable(p, qi);
				b->qi = next_live_queue(p, qi);
				ready_push(&p->q[b->qi], b);
				cl_route_refresh(p->c);
				if (b->qi == qi)
					break;
				continue;
			}
			if (rv != 0)
				batch_done(p, b, rv, 0, 0);
		}
	}
}

/* A failed attempt: move the batch to another broker's queue. */
/* Moves the batches queued (not yet sent) on queue @qi, whose broker is
 * marked down, to queues of live brokers. */
static void move_queued(struct raftq_producer *p, uint32_t qi)
{
	struct pqueue *q = &p->q[qi];
	seal(p, qi);
	struct pbatch *b;
	while ((b = ready_pop(q)) != NULL) {
		b->qi = next_live_queue(p, qi);
		if (b->qi == qi) { /* every broker is down: keep it */
			QUEUE_PUSH(q->ready, q->ready_tail, b, next);
			return;
		}
		ready_push(&p->q[b->qi], b);
	}
}

/* @b's broker did not take it (@why): the broker is marked down for a
 * while and @b, with everything queued for that broker, goes to live
 * brokers. */
static void retry_elsewhere(struct raftq_producer *p, struct pbatch *b,
			    const char *why)
{
	struct raftq_client *c = p->c;
	const char *l = leader_of(p, b->qi);
	char down[CL_NAME_MAX + 1];
	snprintf(down, sizeof down, "%s", l ? l : broker_of(p, b->qi));
	int bi = cl_broker_index(c, down);
	/* Cut to the buffer: names and addresses are short. */
	int w = snprintf(p->last_error, sizeof p->last_error,
			 "%.127s (%.63s): ", down,
			 bi >= 0 ? c->brokers[bi].listen : "?");
	snprintf(p->last_error + w, sizeof p->last_error - (size_t)w, "%s",
		 why);
	if (bi >= 0)
		c->brokers[bi].down_until = cl_now(c) + DOWN_MS;
	cl_route_refresh(c);
	for (uint32_t qi = 0; qi < p->nq; qi++) {
		const char *lq = leader_of(p, qi);
		if (lq == NULL || strcmp(lq, down) == 0)
			move_queued(p, qi);
	}
	b->qi = next_live_queue(p, b->qi);
	ready_push(&p->q[b->qi], b);
}

/*
 * Splits a refused batch in two (by records) and queues both halves on
 * its queue, first half first; later batches of this producer are kept
 * at most as big as the halves. Returns 0, or RAFTQ_ENOMEM (then @b is
 * untouched).
 */
static int split(struct raftq_producer *p, struct pbatch *b)
{
	uint32_t half = b->count / 2;
	size_t pos = 0;
	struct rpc_record rec;
	for (uint32_t i = 0; i < half; i++)
		if (rpc_record_next(b->buf, b->len, &pos, &rec) != 1)
			return RAFTQ_EMALFORMED;
	struct pbatch *nb = calloc(1, sizeof *nb);
	if (nb == NULL)
		return RAFTQ_ENOMEM;
	nb->len = nb->cap = b->len - pos;
	nb->buf = malloc(nb->cap);
	nb->opaque_cap = nb->count = b->count - half;
	nb->opaques = malloc(nb->opaque_cap * sizeof *nb->opaques);
	if (nb->buf == NULL || nb->opaques == NULL) {
		batch_free(nb);
		return RAFTQ_ENOMEM;
	}
	memcpy(nb->buf, b->buf + pos, nb->len);
	memcpy(nb->opaques, b->opaques + half, nb->count * sizeof *nb->opaques);
	nb->p = p;
	nb->qi = b->qi;
	nb->created = b->created;
	b->len = pos;
	b->count = half;
	free(b->z); /* compressed again from the half */
	b->z = NULL;
	if (pos < p->cfg.batch_bytes)
		p->cfg.batch_bytes = (uint32_t)(pos > 64 ? pos : 64);
	struct pqueue *q = &p->q[b->qi];
	/* In front of what waits: keeps the order of the queue. */
	nb->next = q->ready;
	q->ready = nb;
	if (q->ready_tail == NULL)
		q->ready_tail = nb;
	b->next = q->ready;
	q->ready = b;
	return 0;
}

static void on_produced(struct rpc_call *call, int status, struct rpc_frame *f)
{
	struct pbatch *b = call->data;
	struct raftq_producer *p = b->p;
	if (p == NULL) { /* closed meanwhile: already reported */
		batch_free(b);
		return;
	}
	struct raftq_client *c = p->c;
	p->q[b->qi].inflight--;
	flight_del(p, b);
	c->events++;
	struct rpc_produce_resp r;
	struct rpc_status st = {RPC_OK, NULL, NULL, false};
	if (status == 0 && cl_decode(f, RPC_PRODUCE, &r, &st) != 0)
		status = RPC_EMALFORMED;
	bool expired = cl_now(c) - b->created >= p->cfg.delivery_timeout_ms;
	if (status == 0 && st.code == RPC_OK && r.scheduled != 0) {
		b->scheduled = true;
		batch_done(p, b, 0, UINT64_MAX, r.deliver_at);
	} else if (status == 0 && st.code == RPC_OK) {
		batch_done(p, b, 0, r.base_offset, r.store_time);
	} else if (status != 0 && status != RPC_EMALFORMED &&
		   status != RPC_ETOOBIG && status != RPC_EINVAL) {
		/* Transport: the broker is down or did not answer. */
		if (expired)
			batch_done(p, b,
				   cl_fail(c, RAFTQ_ETIMEDOUT,
					   "%s: %s (after %u attempts)",
					   broker_of(p, b->qi),
					   rpc_strerror(status), b->attempts),
				   0, 0);
		else
			retry_elsewhere(p, b, rpc_strerror(status));
	} else if (status == 0 &&
		   (st.code == RPC_UNAVAILABLE ||
		    st.code == RPC_UNKNOWN_TOPIC || st.code == RPC_NOT_FOUND ||
		    st.code == RPC_TIMEOUT || st.code == RPC_NOT_LEADER) &&
		   !expired) {
		/* NOT_LEADER: the queue moved to another replica; the route
		 * refresh finds it. */
		retry_elsewhere(
		    p, b, st.message ? st.message : rpc_code_name(st.code));
	} else if (status == 0 && st.code == RPC_INVALID_ARGUMENT &&
		   b->count > 1 && split(p, b) == 0) {
		/* Most likely over the broker's max_batch_bytes: both
		 * halves go again (the batch size in use is halved). */
	} else {
		int err =
		    status != 0 ? cl_from_rpc(status) : cl_from_code(st.code);
		cl_fail(c, err, "%s: %s: %s", broker_of(p, b->qi),
			status ? rpc_strerror(status) : rpc_code_name(st.code),
			st.message ? st.message : "refused");
		batch_done(p, b, err, 0, 0);
	}
	pump(p);
}

void cl_producer_tick(struct raftq_producer *p)
{
	uint64_t now = cl_now(p->c);
	for (uint32_t qi = 0; qi < p->nq; qi++) {
		struct pqueue *q = &p->q[qi];
		if (q->open != NULL &&
		    now - q->open->created >= p->cfg.linger_ms) {
			seal(p, qi);
			/* Keyless messages move on to the next queue with
			 * each batch, however it was closed. */
			if (qi == p->sticky)
				p->sticky = next_live_queue(p, qi);
		}
		/* Batches that could not leave in time fail here. */
		while (q->ready != NULL &&
		       now - q->ready->created >= p->cfg.delivery_timeout_ms) {
			struct pbatch *b = ready_pop(q);
			batch_done(
			    p, b,
			    cl_fail(p->c, RAFTQ_ETIMEDOUT,
				    "topic %s: no broker took the batch "
				    "within %u ms%s%s",
				    p->topic, p->cfg.delivery_timeout_ms,
				    p->last_error[0] ? "; last failure: " : "",
				    p->last_error),
			    0, 0);
		}
	}
	pump(p);
}

int raftq_produce(struct raftq_producer *p, const void *key, size_t key_len,
		  const void *body, size_t body_len, void *opaque)
{
	struct raftq_client *c = p->c;
	if (key_len > MAX_RECORD || body_len > MAX_RECORD ||
	    (body == NULL && body_len > 0))
		return cl_fail(c, RAFTQ_EINVAL,
			       "key and body must be at most 16 MiB");
	size_t need = rpc_record_size(key_len, key != NULL, body_len);
	if (p->buffered + need > p->cfg.buffer_bytes)
		return cl_fail(c, RAFTQ_EFULL,
			       "%zu bytes buffered (buffer_bytes %zu): run "
			       "raftq_poll",
			       p->buffered, p->cfg.buffer_bytes);
	uint32_t qi;
	if (key != NULL) {
		qi = key_hash(key, key_len) % p->nq;
	} else {
		qi = p->sticky;
		/* Checked when a batch starts, not per message. */
		if (p->q[qi].open == NULL && broker_down(p, qi))
			qi = p->sticky = next_live_queue(p, qi);
	}
	struct pqueue *q = &p->q[qi];
	struct pbatch *b = q->open;
	if (b != NULL && (b->count >= p->cfg.batch_messages ||
			  b->len + need > p->cfg.batch_bytes)) {
		seal(p, qi);
		b = NULL;
		if (key == NULL) { /* the next queue gets the next batch */
			qi = p->sticky = next_live_queue(p, qi);
			q = &p->q[qi];
			b = q->open;
		}
	}
	if (b == NULL) {
		b = calloc(1, sizeof *b);
		if (b == NULL)
			return cl_fail(c, RAFTQ_ENOMEM, "out of memory");
		b->p = p;
		b->qi = qi;
		b->created = uv_now(&c->loop);
		q->open = b;
	}
	if (b->len + need > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->len + need)
			cap *= 2;
		if (cap > p->cfg.batch_bytes &&
		    b->len + need <= p->cfg.batch_bytes)
			cap = p->cfg.batch_bytes;
		uint8_t *nb = realloc(b->buf, cap);
		if (nb == NULL)
			return cl_fail(c, RAFTQ_ENOMEM, "out of memory");
		b->buf = nb;
		b->cap = cap;
	}
	if (b->count == b->opaque_cap) {
		uint32_t cap = b->opaque_cap ? b->opaque_cap * 2 : 64;
		void **no = realloc(b->opaques, cap * sizeof *no);
		if (no == NULL)
			return cl_fail(c, RAFTQ_ENOMEM, "out of memory");
		b->opaques = no;
		b->opaque_cap = cap;
	}
	b->len += rpc_record_put(b->buf + b->len, key, key_len, body, body_len);
	b->opaques[b->count++] = opaque;
	p->buffered += need;
	p->pending++;
	if (b->count >= p->cfg.batch_messages || b->len >= p->cfg.batch_bytes) {
		seal(p, qi);
		if (key == NULL) /* the next queue gets the next batch */
			p->sticky = next_live_queue(p, qi);
	}
	return 0;
}

size_t raftq_producer_pending(const struct raftq_producer *p)
{
	return (size_t)p->pending;
}

static bool all_reported(void *arg)
{
	struct raftq_producer *p = arg;
	return p->pending == 0;
}

int raftq_producer_flush(struct raftq_producer *p, int timeout_ms)
{
	for (uint32_t qi = 0; qi < p->nq; qi++)
		seal(p, qi);
	return cl_run_until(p->c, timeout_ms, all_reported, p);
}

/* Waits for the route to list the topic. */
struct route_wait {
	struct raftq_client *c;
	const char *topic;
	uint64_t version;
};

static bool route_has_topic(void *arg)
{
	struct route_wait *w = arg;
	if (cl_topic(w->c, w->topic) != NULL)
		return true;
	/* The leader's fresh route without it: the topic does not exist. */
	if (w->c->route_version != w->version && w->c->route_from_leader)
		return true;
	if (w->c->route_version != w->version) {
		w->version = w->c->route_version;
		w->c->route_want_leader = true;
	}
	cl_route_refresh(w->c);
	return false;
}

/* 0 in a setting means its default (raftq.h). */
#define DEFAULT(field, value) ((field) = (field) ? (field) : (value))

static void defaults(struct raftq_producer_config *c)
{
	DEFAULT(c->linger_ms, 5);
	DEFAULT(c->batch_messages, 10000);
	DEFAULT(c->batch_bytes, 1u << 20);
	DEFAULT(c->max_in_flight, 4);
	DEFAULT(c->delivery_timeout_ms, 30000);
	DEFAULT(c->buffer_bytes, 64u << 20);
}

int raftq_producer_new(struct raftq_client *c,
		       const struct raftq_producer_config *cfg,
		       struct raftq_producer **out)
{
	if (cfg == NULL || out == NULL || !cl_name_ok(cfg->topic))
		return cl_fail(c, RAFTQ_EINVAL,
			       "producer: a topic is required");
	if (cfg->batch_messages > (1u << 20))
		return cl_fail(c, RAFTQ_EINVAL,
			       "producer: batch_messages must be at most "
			       "1048576");
	if (cfg->deliver_at_ms != 0 && cfg->delay_ms != 0)
		return cl_fail(c, RAFTQ_EINVAL,
			       "producer: give deliver_at_ms or delay_ms, not "
			       "both");
	if (cfg->deliver_at_ms < 0)
		return cl_fail(c, RAFTQ_EINVAL,
			       "producer: deliver_at_ms is ms since the epoch");
	if ((unsigned)cfg->acks > RAFTQ_ACKS_NONE)
		return cl_fail(c, RAFTQ_EINVAL,
			       "producer: acks must be RAFTQ_ACKS_ALL, _LEADER "
			       "or _NONE");
	struct route_wait w = {c, cfg->topic, c->route_version};
	c->route_asked_at = 0;
	cl_route_refresh(c);
	int rv = cl_run_until(c, (int)c->timeout_ms, route_has_topic, &w);
	const struct cl_topic *t = cl_topic(c, cfg->topic);
	if (t == NULL)
		return rv == RAFTQ_ETIMEDOUT
			   ? cl_fail(c, RAFTQ_EUNAVAILABLE,
				     "no node of %s answered within %u ms",
				     c->bootstrap[0], c->timeout_ms)
			   : cl_fail(c, RAFTQ_EUNKNOWN_TOPIC,
				     "UNKNOWN_TOPIC: topic '%s' does not "
				     "exist",
				     cfg->topic);
	struct raftq_producer *p = calloc(1, sizeof *p);
	if (p == NULL)
		return cl_fail(c, RAFTQ_ENOMEM, "out of memory");
	p->c = c;
	p->cfg = *cfg;
	snprintf(p->topic, sizeof p->topic, "%s", cfg->topic);
	p->cfg.topic = p->topic;
	defaults(&p->cfg);
	p->qpb = t->qpb;
	p->nq = t->qpb * t->n_brokers;
	p->qbroker = calloc(t->n_brokers, sizeof *p->qbroker);
	p->q = calloc(p->nq, sizeof *p->q);
	if (p->qbroker == NULL || p->q == NULL || cl_attach(c, p, NULL) != 0) {
		free(p->qbroker);
		free(p->q);
		free(p);
		return cl_fail(c, RAFTQ_ENOMEM, "out of memory");
	}
	for (uint32_t i = 0; i < t->n_brokers; i++)
		snprintf(p->qbroker[i], sizeof p->qbroker[i], "%s",
			 c->brokers[t->brokers[i]].name);
	/* Spread keyless producers over the queues. */
	p->sticky = (uint32_t)(uintptr_t)p % p->nq;
	*out = p;
	return 0;
}

int raftq_producer_close(struct raftq_producer *p, int timeout_ms)
{
	struct raftq_client *c = p->c;
	int rv = raftq_producer_flush(p, timeout_ms);
	if (rv == RAFTQ_EINVAL)
		return rv;
	/* Whatever is left fails now; in-flight batches are orphaned and
	 * freed when their answer (or timeout) comes. */
	if (p->pending > 0)
		cl_fail(c, RAFTQ_ETIMEDOUT,
			"topic %s: closed with messages not stored%s%s",
			p->topic, p->last_error[0] ? "; last failure: " : "",
			p->last_error);
	for (uint32_t qi = 0; qi < p->nq; qi++) {
		struct pbatch *b;
		seal(p, qi);
		while ((b = ready_pop(&p->q[qi])) != NULL)
			batch_done(p, b, RAFTQ_ETIMEDOUT, 0, 0);
	}
	while (p->flight != NULL) {
		struct pbatch *b = p->flight;
		flight_del(p, b);
		batch_report(p, b, RAFTQ_ETIMEDOUT, 0, 0);
		b->p = NULL;
	}
	cl_detach(c, p, NULL);
	free(p->qbroker);
	free(p->q);
	free(p);
	cl_run_until(c, 0, NULL, NULL); /* fires the last reports */
	return rv;
}
