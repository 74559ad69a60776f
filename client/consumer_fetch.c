/*
 * consumer_fetch.c — the consumer's data path: one FETCH in flight per
 * queue, carrying the epoch its position belongs to; answers decoded into
 * buffers of messages; a queue that moves (a reset) retires its buffers
 * and ignores the fetch in flight (its generation changed).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../util/lz4_frame.h"
#include "consumer_int.h"

/* ---- Buffers ---- */

void kc_kbuf_free(struct kbuf *b)
{
	for (uint32_t i = 0; i < b->n_plain; i++)
		free(b->plain[i]);
	free(b->plain);
	for (uint32_t i = 0; i < b->n_env; i++)
		free(b->env[i]);
	free(b->env);
	free(b->data);
	free(b->m);
	free(b);
}

void kc_retire_all(struct raftq_consumer *k, struct kqueue *q)
{
	while (q->head != NULL) {
		struct kbuf *b = q->head;
		q->head = b->next;
		b->next = k->retired;
		k->retired = b;
	}
	q->tail = NULL;
}

/* Room for one more message in @b: 0 or RAFTQ_ENOMEM. */
static int kbuf_grow(struct kbuf *b)
{
	if (b->n < b->cap)
		return 0;
	uint32_t cap = b->cap ? b->cap * 2 : 256;
	struct kmsg *m = realloc(b->m, cap * sizeof *m);
	if (m == NULL)
		return RAFTQ_ENOMEM;
	b->m = m;
	b->cap = cap;
	return 0;
}

/* The plain records of batch @bt (lz4 frames inflated and kept in @b):
 * 0, RAFTQ_EMALFORMED, RAFTQ_ENOMEM. */
static int batch_plain(struct kbuf *b, const struct rpc_batch *bt,
		       const uint8_t **payload, size_t *len)
{
	*payload = bt->payload;
	*len = bt->payload_len;
	if (!(bt->flags & RPC_BATCH_LZ4))
		return 0;
	uint8_t **v = realloc(b->plain, (b->n_plain + 1) * sizeof *v);
	if (v == NULL)
		return RAFTQ_ENOMEM;
	b->plain = v;
	uint8_t *z = lzf_decode(bt->payload, bt->payload_len, len);
	if (z == NULL)
		return RAFTQ_EMALFORMED;
	b->plain[b->n_plain++] = z;
	*payload = z;
	return 0;
}

/* The envelope in front of a retried message's record (batch flag
 * RPC_BATCH_ENVELOPE), kept in @b: 0 and *env, *used (its bytes), or
 * RAFTQ_EMALFORMED, RAFTQ_ENOMEM. */
static int batch_envelope(struct kbuf *b, const uint8_t *payload, size_t len,
			  const struct rpc_envelope **env, size_t *used)
{
	struct rpc_envelope **v = realloc(b->env, (b->n_env + 1) * sizeof *v);
	if (v == NULL)
		return RAFTQ_ENOMEM;
	b->env = v;
	struct rpc_envelope *e = malloc(sizeof *e);
	if (e == NULL)
		return RAFTQ_ENOMEM;
	if (rpc_envelope_get(payload, len, e, used) != 0) {
		free(e);
		return RAFTQ_EMALFORMED;
	}
	b->env[b->n_env++] = e;
	*env = e;
	return 0;
}

/* Adds the messages of batch @bt at or after @from to @b: 0,
 * RAFTQ_EMALFORMED (its records do not parse or are not bt->count; none
 * of them is kept), RAFTQ_ENOMEM. */
static int batch_decode(struct kbuf *b, const struct rpc_batch *bt,
			uint64_t from)
{
	const uint8_t *payload;
	size_t pl, rp = 0;
	const struct rpc_envelope *env = NULL;
	int rv = batch_plain(b, bt, &payload, &pl);
	if (rv == 0 && (bt->flags & RPC_BATCH_ENVELOPE))
		rv = batch_envelope(b, payload, pl, &env, &rp);
	uint32_t got = 0, before = b->n;
	struct rpc_record rec;
	while (rv == 0 && (rv = rpc_record_next(payload, pl, &rp, &rec)) == 1) {
		uint64_t off = bt->base_offset + got++;
		rv = off < from ? 0 : kbuf_grow(b);
		if (off >= from && rv == 0)
			b->m[b->n++] = (struct kmsg){off,
						     bt->store_time,
						     rec.key,
						     rec.body,
						     rec.key_len,
						     rec.body_len,
						     rec.key != NULL,
						     env};
	}
	if (rv < 0 && rv != RAFTQ_ENOMEM)
		rv = RAFTQ_EMALFORMED;
	if (rv == 0 && got != bt->count)
		rv = RAFTQ_EMALFORMED;
	if (rv != 0)
		b->n = before;
	return rv;
}

/*
 * Decodes whole batches (docs/disk-format.md) into messages at or after
 * @from. Takes @data (owned). A batch whose records do not parse is
 * skipped and counted (b->skipped, b->bad_first..bad_last): one bad
 * batch must not stop a queue forever. Returns the buffer, or NULL with
 * *err set (RAFTQ_EMALFORMED: the batch framing itself is broken, so
 * nothing after it can be trusted; RAFTQ_ENOMEM).
 */
static struct kbuf *decode_batches(uint8_t *data, size_t len, uint64_t from,
				   int *err)
{
	struct kbuf *b = calloc(1, sizeof *b);
	if (b == NULL) {
		free(data);
		*err = RAFTQ_ENOMEM;
		return NULL;
	}
	b->data = data;
	size_t at = 0;
	struct rpc_batch bt;
	int more;
	*err = 0;
	while (*err == 0 && (more = rpc_batch_next(data, len, &at, &bt)) == 1) {
		int rv = batch_decode(b, &bt, from);
		uint64_t end = bt.base_offset + bt.count;
		if (rv == RAFTQ_EMALFORMED && end > from) {
			if (b->skipped == 0)
				b->bad_first = bt.base_offset,
				b->bad_last = end - 1;
			b->skipped +=
			    end -
			    (bt.base_offset > from ? bt.base_offset : from);
		}
		*err = rv == RAFTQ_ENOMEM ? rv : 0;
		b->end = end;
	}
	if (*err == 0 && more < 0)
		*err = RAFTQ_EMALFORMED;
	if (*err != 0) {
		kc_kbuf_free(b);
		return NULL;
	}
	return b;
}

/* ---- Queues ---- */

struct kqueue *kc_find_queue(struct raftq_consumer *k, const char *topic,
			     const char *broker, uint32_t qid)
{
	for (uint32_t i = 0; i < k->nq; i++)
		if (k->q[i]->queue_id == qid &&
		    strcmp(k->q[i]->broker, broker) == 0 &&
		    strcmp(k->q[i]->topic, topic) == 0)
			return k->q[i];
	return NULL;
}

/* The queue goes to @offset under @epoch: nothing buffered is delivered. */
void kc_move_queue(struct raftq_consumer *k, struct kqueue *q, uint64_t offset,
		   uint64_t epoch)
{
	kc_retire_all(k, q);
	q->gen++;
	q->pos = q->deliver = q->committed = offset;
	q->epoch = epoch;
	q->next_fetch_at = 0;
	q->idle_ms = 0;
}

void kc_drop_queue(struct raftq_consumer *k, uint32_t i)
{
	struct kqueue *q = k->q[i];
	kc_retire_all(k, q);
	if (q->fetch != NULL)
		q->fetch->q = NULL;
	free(q);
	k->q[i] = k->q[--k->nq];
}

int kc_cmp_queue(const void *a, const void *b)
{
	const struct kqueue *x = *(struct kqueue *const *)a;
	const struct kqueue *y = *(struct kqueue *const *)b;
	int c = strcmp(x->topic, y->topic);
	if (c == 0)
		c = strcmp(x->broker, y->broker);
	if (c == 0)
		c = x->queue_id < y->queue_id ? -1 : x->queue_id > y->queue_id;
	return c;
}

/* A fetch answered an error (or none): when to ask again, or the move a
 * reset made. */
static void fetch_failed(struct raftq_consumer *k, struct kqueue *q, int status,
			 const struct rpc_status *st,
			 const struct rpc_fetch_resp *r, uint64_t now)
{
	struct raftq_client *c = k->c;
	q->next_fetch_at = now + FETCH_RETRY_MS;
	if (status != 0) {
		if (status != RPC_ETIMEDOUT)
			cl_route_refresh(c);
	} else if (st->code == RPC_OFFSET_MOVED) {
		if (r->epoch > q->epoch) {
			kc_move_queue(k, q, r->offset, r->epoch);
			kc_count_reset(k, q->topic, r->epoch);
		}
	} else {
		/* A broker's word is not final: it may not have applied a
		 * new topic or group yet (the leader's answers are). */
		k->errors++;
		cl_fail(c, cl_from_code(st->code), "%s: %s: %s", q->broker,
			rpc_code_name(st->code),
			st->message ? st->message : "");
		if (st->code == RPC_UNKNOWN_TOPIC ||
		    st->code == RPC_NOT_FOUND || st->code == RPC_NOT_LEADER ||
		    st->code == RPC_UNAVAILABLE)
			cl_route_refresh(c); /* the queue may have moved */
	}
}

/* A malformed batch was skipped: counted, and said through the client's
 * error message (never silently). */
static void report_skipped(struct raftq_consumer *k, const struct kqueue *q,
			   const struct kbuf *b)
{
	k->skipped += b->skipped;
	cl_fail(k->c, RAFTQ_EMALFORMED,
		"%s queue %u of %s: malformed batch at offsets %" PRIu64
		"..%" PRIu64 " skipped (%" PRIu64 " records)",
		q->broker, q->queue_id, q->topic, b->bad_first, b->bad_last,
		b->skipped);
}

/* Buffers the batches of a fetch answer read from position @from. */
static void fetch_store(struct raftq_consumer *k, struct kqueue *q,
			const struct rpc_bin *batches, uint64_t from,
			uint64_t now, bool waited)
{
	uint8_t *data = malloc(batches->len ? batches->len : 1);
	int err = RAFTQ_ENOMEM;
	struct kbuf *b = NULL;
	if (data != NULL) {
		memcpy(data, batches->ptr, batches->len);
		b = decode_batches(data, batches->len, from, &err);
	}
	if (b == NULL) {
		cl_fail(k->c, err, "%s queue %u of %s: %s at offset %" PRIu64,
			q->broker, q->queue_id, q->topic,
			err == RAFTQ_ENOMEM ? "out of memory"
					    : "malformed batch",
			from);
		q->next_fetch_at = now + FETCH_RETRY_MS;
		return;
	}
	if (b->skipped > 0)
		report_skipped(k, q, b);
	if (b->end > from && b->skipped > 0)
		from = b->end; /* past the skipped batches */
	if (b->n == 0) {
		kc_kbuf_free(b);
		if (from > q->pos && q->deliver == q->pos)
			q->deliver = from;
		q->pos = from;
		/* The broker waited for data: ask again at once. One that
		 * answers at once (older, or busy) gets a growing pause. */
		q->idle_ms = waited ? 0 : q->idle_ms ? q->idle_ms * 2 : 1;
		if (q->idle_ms > IDLE_MAX_MS)
			q->idle_ms = IDLE_MAX_MS;
		q->next_fetch_at = now + q->idle_ms;
		return;
	}
	q->idle_ms = 0;
	q->pos = b->m[b->n - 1].offset + 1;
	if (from > q->pos)
		q->pos = from;
	if (q->tail)
		q->tail->next = b;
	else
		q->head = b;
	q->tail = b;
}

static void on_fetched(struct rpc_call *call, int status, struct rpc_frame *f)
{
	struct kfetch *x = call->data;
	struct kqueue *q = x->q;
	struct raftq_consumer *k = x->k;
	bool moved = q != NULL && x->gen != q->gen;
	uint64_t sent_at = x->sent_at, wait_ms = x->wait_ms;
	free(x);
	if (q == NULL)
		return; /* the queue is gone */
	q->fetch = NULL;
	k->c->events++;
	if (moved)
		return; /* the queue moved meanwhile: ignore the answer */
	uint64_t now = cl_now(k->c);
	struct rpc_fetch_resp r;
	struct rpc_status st = {RPC_OK, NULL, NULL, false};
	if (status == 0 && cl_decode(f, RPC_FETCH, &r, &st) != 0)
		status = RPC_EMALFORMED;
	if (status != 0 || st.code != RPC_OK) {
		fetch_failed(k, q, status, &st, &r, now);
		return;
	}
	/* Retention went past the position: continue where data starts. */
	bool waited = wait_ms > 0 && now - sent_at >= wait_ms / 2;
	fetch_store(k, q, &r.batches, r.offset > q->pos ? r.offset : q->pos,
		    now, waited);
}

uint32_t kc_buffered_bufs(const struct kqueue *q)
{
	uint32_t n = 0;
	for (const struct kbuf *b = q->head; b != NULL; b = b->next)
		n++;
	return n;
}

void kc_send_fetch(struct raftq_consumer *k, struct kqueue *q)
{
	struct raftq_client *c = k->c;
	/* The queue's leader serves it (its home unless that failed). */
	const char *leader =
	    cl_queue_leader(c, q->topic, q->broker, q->queue_id);
	int bi = leader ? cl_broker_index(c, leader) : -1;
	if (bi < 0 || c->brokers[bi].listen[0] == '\0') {
		cl_route_refresh(c);
		q->next_fetch_at = cl_now(c) + FETCH_RETRY_MS;
		return;
	}
	struct rpc_client *rc = cl_conn(c, c->brokers[bi].listen);
	struct kfetch *x = calloc(1, sizeof *x);
	if (rc == NULL || x == NULL) {
		free(x);
		return;
	}
	x->q = q;
	x->k = k;
	x->gen = q->gen;
	x->pos = q->pos;
	x->call.data = x;
	x->sent_at = cl_now(c);
	x->wait_ms = k->fetch_wait_ms;
	if (x->wait_ms + 1000 > c->timeout_ms) /* the answer must beat it */
		x->wait_ms = c->timeout_ms > 1000 ? c->timeout_ms - 1000 : 0;
	struct rpc_fetch_req in = {
	    k->mode == MODE_CLUSTERING ? k->group : NULL, q->topic, q->queue_id,
	    q->pos, q->epoch, k->fetch_bytes, x->wait_ms,
	    /* a broadcasting member reads for its group */
	    k->mode == MODE_CLUSTERING ? NULL : k->group, q->broker};
	if (rpc_client_request(rc, &x->call, RPC_FETCH, &in, c->timeout_ms,
			       on_fetched) != 0) {
		free(x);
		q->next_fetch_at = cl_now(c) + FETCH_RETRY_MS;
		return;
	}
	q->fetch = x;
	k->fetches++;
}
