/*
 * send_back.c — SEND_BACK (DESIGN.md §2.2, docs/design/retry-delay.md): a
 * member of a group failed a message of this broker. The broker reads the
 * message, puts the envelope of its failures in front (origin, times,
 * first failure, reason) and keeps it in the schedule store for the
 * group's retry queue on this broker, due after the ladder's next delay;
 * past max_reconsume_times it goes to the group's dead-letter queue on
 * this broker at once. The original queue's offset moves on as usual (the
 * member commits past the message).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "../util/lz4_frame.h"
#include "handlers.h"
#include "replica.h"

#define READ_CAP (64u << 10)

/* The failed message: its one record and the envelope it came with. */
struct failed {
	uint8_t *buf;	/* the read batches */
	uint8_t *plain; /* the inflated payload, when lz4 */
	struct rpc_record rec;
	struct rpc_envelope env; /* reconsume_times 0: it had none */
};

/* Finds record @offset in batch @b into @f: true, or false (malformed). */
static bool pick_record(struct failed *f, const struct rpc_batch *b,
			uint64_t offset)
{
	const uint8_t *p = b->payload;
	size_t len = b->payload_len, at = 0, used;
	if ((b->flags & RPC_BATCH_LZ4) &&
	    (p = f->plain = lzf_decode(p, len, &len)) == NULL)
		return false;
	if (b->flags & RPC_BATCH_ENVELOPE) {
		if (rpc_envelope_get(p, len, &f->env, &used) != 0)
			return false;
		at = used;
	}
	for (uint64_t o = b->base_offset; o <= offset; o++)
		if (rpc_record_next(p, len, &at, &f->rec) != 1)
			return false;
	return true;
}

/* Reads message @offset of @q into @f: RPC_OK or an RPC code, @msg. */
static uint32_t read_failed(struct stor_queue *q, uint64_t offset,
			    struct failed *f, char *msg, size_t msglen)
{
	size_t len = 0, pos = 0;
	struct rpc_batch b;
	struct stor_queue_info info;
	stor_queue_info(q, &info);
	if (offset < info.min_offset || offset >= info.max_offset) {
		snprintf(msg, msglen,
			 "offset %" PRIu64 " is not in the queue [%" PRIu64
			 ", %" PRIu64 ")",
			 offset, info.min_offset, info.max_offset);
		return RPC_INVALID_ARGUMENT;
	}
	f->buf = malloc(READ_CAP);
	int rv = f->buf == NULL
		     ? STOR_ENOMEM
		     : stor_queue_read(q, offset, f->buf, READ_CAP, &len);
	if (rv == STOR_EBUFSIZE) { /* one batch bigger than READ_CAP */
		uint8_t *big = realloc(f->buf, len);
		if (big != NULL)
			f->buf = big;
		rv = big == NULL ? STOR_ENOMEM
				 : stor_queue_read(q, offset, big, len, &len);
	}
	if (rv != 0) {
		snprintf(msg, msglen, "%s", stor_queue_errmsg(q));
		return node_code_from_stor(rv);
	}
	if (rpc_batch_next(f->buf, len, &pos, &b) != 1 ||
	    b.base_offset > offset || offset - b.base_offset >= b.count ||
	    !pick_record(f, &b, offset)) {
		snprintf(msg, msglen,
			 "the batch holding offset %" PRIu64 " does not decode",
			 offset);
		return RPC_INTERNAL;
	}
	return RPC_OK;
}

/* The envelope after this failure of @f (read from @q's @offset). */
static void next_envelope(struct failed *f, const struct node *n,
			  const struct rpc_send_back_req *p, int64_t now)
{
	struct rpc_envelope *e = &f->env;
	if (e->reconsume_times == 0) { /* its first failure */
		snprintf(e->topic, sizeof e->topic, "%s", p->topic);
		snprintf(e->broker_name, sizeof e->broker_name, "%s",
			 n->cfg.name);
		e->queue_id = p->queue_id;
		e->offset = p->offset;
		e->first_failure_ms = now;
	}
	e->reconsume_times++;
	snprintf(e->reason, sizeof e->reason, "%s", p->reason ? p->reason : "");
}

/* The batch of @f with its envelope, in *out (malloc'ed): its length. */
static size_t envelope_payload(const struct failed *f, uint8_t **out)
{
	size_t env = rpc_envelope_size(&f->env);
	bool key = f->rec.key != NULL;
	size_t rec = rpc_record_size(f->rec.key_len, key, f->rec.body_len);
	*out = malloc(env + rec);
	if (*out == NULL)
		return 0;
	rpc_envelope_put(*out, &f->env);
	rpc_record_put(*out + env, f->rec.key, f->rec.key_len, f->rec.body,
		       f->rec.body_len);
	return env + rec;
}

/* Appends @b to this broker's queue of %DLQ%group. */
static uint32_t to_dead_letters(struct node *n, const char *group,
				const struct stor_batch_in *b, char *msg,
				size_t msglen)
{
	char topic[RSM_NAME_MAX + 1];
	uint32_t code;
	uint64_t base;
	int64_t t;
	rsm_dlq_topic(topic, group);
	const char *leader;
	struct node_queue *e =
	    node_led_queue(n, topic, NULL, 0, &code, msg, msglen, &leader);
	if (e == NULL)
		return code;
	struct stor_queue *q = e->q;
	int rv = stor_queue_append(q, b, &base, &t);
	if (rv != 0) {
		snprintf(msg, msglen, "%s", stor_queue_errmsg(q));
		return node_code_from_stor(rv);
	}
	node_replica_appended(n, e, base + 1);
	return RPC_OK;
}

/* Keeps @b for this broker's queue of %RETRY%group, due at @due. */
static uint32_t to_retry(struct node *n, const char *group, int64_t due,
			 const struct stor_batch_in *b, char *msg,
			 size_t msglen)
{
	char topic[RSM_NAME_MAX + 1];
	uint64_t id;
	rsm_retry_topic(topic, group);
	const struct rsm_topic *t = rsm_topic_find(n->rsm, topic);
	if (t == NULL || rsm_topic_queue_index(t, n->cfg.name, 0) < 0) {
		snprintf(msg, msglen,
			 "%s has no queue on %s (the broker joined after the "
			 "group was created)",
			 topic, n->cfg.name);
		return RPC_UNAVAILABLE;
	}
	return node_sched_add(n, t, 0, due, b, &id, msg, msglen);
}

/* The group of @p if it has retry; else NULL after answering. */
static const struct rsm_group *retry_group(const struct node_req *req,
					   const struct rpc_send_back_req *p)
{
	const struct rsm_group *g = node_req_group(req, p->group);
	if (g != NULL && g->retry.n_delays == 0) {
		node_req_fail(req, RPC_INVALID_ARGUMENT,
			      "group '%s' has no retry queues (broadcasting, "
			      "or created before raftq had retry)",
			      p->group);
		return NULL;
	}
	if (g != NULL && p->reason && strlen(p->reason) > RPC_REASON_MAX) {
		node_req_fail(req, RPC_INVALID_ARGUMENT,
			      "reason: at most %d bytes", RPC_REASON_MAX);
		return NULL;
	}
	return g;
}

void node_handle_send_back(const struct node_req *req, const void *in)
{
	const struct rpc_send_back_req *p = in;
	struct node *n = req->n;
	const struct rsm_group *g = retry_group(req, p);
	char msg[600];
	uint32_t code;
	struct stor_queue *q =
	    g ? node_led_stor(n, p->topic, p->broker, p->queue_id, &code, msg,
			      sizeof msg)
	      : NULL;
	if (g != NULL && q == NULL)
		node_req_fail(req, code, "%s", msg);
	if (q == NULL)
		return;
	struct failed f;
	memset(&f, 0, sizeof f);
	int64_t now = node_wall_ms();
	uint8_t *payload = NULL;
	size_t len = 0;
	code = read_failed(q, p->offset, &f, msg, sizeof msg);
	if (code == RPC_OK) {
		next_envelope(&f, n, p, now);
		len = envelope_payload(&f, &payload);
		code = len ? RPC_OK : RPC_INTERNAL;
		snprintf(msg, sizeof msg, "out of memory");
	}
	struct rpc_send_back_resp r = {f.env.reconsume_times, false, 0};
	struct stor_batch_in b = {
	    payload, (uint32_t)len, 1, STOR_BATCH_ENVELOPE, now, 0};
	if (code == RPC_OK) {
		r.dead_letter =
		    f.env.reconsume_times > g->retry.max_reconsume_times;
		r.deliver_at =
		    r.dead_letter
			? 0
			: now +
			      rsm_retry_delay(&g->retry, f.env.reconsume_times);
		code = r.dead_letter
			   ? to_dead_letters(n, p->group, &b, msg, sizeof msg)
			   : to_retry(n, p->group, r.deliver_at, &b, msg,
				      sizeof msg);
	}
	if (code == RPC_OK)
		node_req_ok(req, &r);
	else
		node_req_fail(req, code, "%s", msg);
	free(payload);
	free(f.plain);
	free(f.buf);
}
