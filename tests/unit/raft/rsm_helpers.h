/* Helpers for the rsm tests: apply an encoded command and check results. */
#ifndef RAFTQ_RSM_HELPERS_H
#define RAFTQ_RSM_HELPERS_H

#include "../test_util.h"
#include "rsm.h"

/* Applies @buf (consumed) to @s; returns the result. */
static inline const struct rsm_result *rh_apply(struct rsm *s,
						struct raft_buffer buf)
{
	const struct rsm_result *res = NULL;
	int rv = rsm_apply(s, buf.base, buf.len, &res);
	raft_free(buf.base);
	assert_int_equal(rv, 0);
	assert_non_null(res);
	return res;
}

/* @n moves over broker-1..3 with @qpb queues each (broker-major order),
 * all @mv by @value; bounds from @min / @max (NULL: [0, 1000]). */
static inline void rh_moves(struct rsm_reset_move *m, int n, int qpb,
			    enum rsm_move mv, int64_t value,
			    const uint64_t *min, const uint64_t *max,
			    uint64_t unset)
{
	static const char *names[] = {"broker-1", "broker-2", "broker-3"};
	for (int i = 0; i < n; i++)
		m[i] = (struct rsm_reset_move){
		    names[i / qpb],   (uint32_t)(i % qpb), mv,	 value,
		    min ? min[i] : 0, max ? max[i] : 1000, unset};
}

static inline void rh_broker(struct rsm *s, uint64_t id, const char *name)
{
	struct rsm_broker b;
	memset(&b, 0, sizeof b);
	b.id = id;
	snprintf(b.name, sizeof b.name, "%s", name);
	snprintf(b.listen, sizeof b.listen, "127.0.0.1:%d", 9100 + (int)id);
	snprintf(b.raft_address, sizeof b.raft_address, "127.0.0.1:%d",
		 9200 + (int)id);
	struct raft_buffer buf;
	assert_int_equal(rsm_encode_register_broker(&b, &buf, NULL, 0), 0);
	assert_int_equal(rh_apply(s, buf)->code, RSM_OK);
}

static inline int rh_topic(struct rsm *s, const char *name, uint32_t q,
			   const char *const *brokers, uint32_t n)
{
	struct raft_buffer buf;
	assert_int_equal(
	    rsm_encode_create_topic(
		&(struct rsm_topic_spec){name, q, brokers, n, 0, 0, 1000}, &buf,
		NULL, 0),
	    0);
	return rh_apply(s, buf)->code;
}

static inline int rh_group(struct rsm *s, const char *name,
			   enum rsm_group_mode mode)
{
	struct raft_buffer buf;
	assert_int_equal(rsm_encode_create_group(name, mode, RSM_INITIAL_LATEST,
						 2000, NULL, NULL, 0, &buf,
						 NULL, 0),
			 0);
	return rh_apply(s, buf)->code;
}

static inline int rh_commit(struct rsm *s, const char *group, const char *topic,
			    const char *broker, uint32_t q, uint64_t offset,
			    uint64_t epoch)
{
	struct rsm_commit c;
	assert_int_equal(
	    rsm_commit_init(&c, group, topic, broker, q, offset, epoch), 0);
	struct raft_buffer buf;
	assert_int_equal(rsm_encode_commit(&c, 1, &buf, NULL, 0), 0);
	const struct rsm_result *r = rh_apply(s, buf);
	assert_int_equal(r->type, RSM_CMD_COMMIT);
	assert_int_equal(r->n_items, 1);
	return r->item_codes[0];
}

static inline uint64_t rh_offset(const struct rsm *s, const char *group,
				 const char *topic, const char *broker,
				 uint32_t q)
{
	const struct rsm_group *g = rsm_group_find(s, group);
	assert_non_null(g);
	const struct rsm_group_topic *gt = rsm_group_topic(g, topic);
	if (gt == NULL)
		return RSM_OFFSET_NONE;
	const struct rsm_topic *t = rsm_topic_find(s, topic);
	int64_t i = rsm_topic_queue_index(t, broker, q);
	assert_true(i >= 0);
	return gt->offsets[i];
}

static inline uint64_t rh_epoch(const struct rsm *s, const char *group,
				const char *topic)
{
	const struct rsm_group_topic *gt =
	    rsm_group_topic(rsm_group_find(s, group), topic);
	return gt ? gt->epoch : 0;
}

/* Encodes and applies a reset of group "g", topic @topic by "ops" at time
 * @time: the @n moves @m, to @target with @value; the result. */
static inline const struct rsm_result *
rh_reset(struct rsm *s, int64_t time, const char *topic,
	 enum rsm_target_kind target, int64_t value,
	 const struct rsm_reset_move *m, uint32_t n)
{
	struct rsm_reset_part pt = {topic, n, m, false, 0};
	struct rsm_reset_cmd c = {time,	 "ops", "g", target,
				  value, NULL,	1,   &pt};
	struct raft_buffer buf;
	assert_int_equal(rsm_encode_reset(&c, &buf, NULL, 0), 0);
	return rh_apply(s, buf);
}

/* A new state restored from a snapshot of @s (same digest); the caller
 * frees it. */
static inline struct rsm *rh_restored(const struct rsm *s)
{
	void *snap;
	size_t len;
	char err[256];
	assert_int_equal(rsm_snapshot(s, &snap, &len), 0);
	struct rsm *c = rsm_new();
	assert_non_null(c);
	assert_int_equal(rsm_restore(c, snap, len, err, sizeof err), 0);
	assert_int_equal(rsm_digest(c), rsm_digest(s));
	free(snap);
	return c;
}

/* Encodes (with @encode: a delete of a group or topic) and applies the
 * deletion of @name; its code. */
static inline int rh_delete(struct rsm *s,
			    int (*encode)(const char *, struct raft_buffer *,
					  char *, size_t),
			    const char *name)
{
	struct raft_buffer buf;
	assert_int_equal(encode(name, &buf, NULL, 0), 0);
	return rh_apply(s, buf)->code;
}

/* Three brokers b1..b3, topic "orders" with 2 queues each, group "g". */
static inline void rh_standard(struct rsm *s)
{
	rh_broker(s, 1, "broker-1");
	rh_broker(s, 2, "broker-2");
	rh_broker(s, 3, "broker-3");
	const char *b[] = {"broker-3", "broker-1", "broker-2"};
	assert_int_equal(rh_topic(s, "orders", 2, b, 3), RSM_OK);
	assert_int_equal(rh_group(s, "g", RSM_CLUSTERING), RSM_OK);
}

#endif /* RAFTQ_RSM_HELPERS_H */
