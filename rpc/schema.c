/*
 * schema.c — one field table per message struct; the generic encoder and
 * decoder walk the tables. A body is a msgpack map from field name to
 * value; unknown keys are skipped (newer peers may add fields), a missing
 * required field is malformed, a missing optional one stays zero/NULL.
 */
#include <stdlib.h>
#include <assert.h>
#include <string.h>

#include "rpc.h"

#define F(st, field, kind, req)                                     \
	{                                                           \
#field, kind, offsetof(struct st, field), req, NULL \
	}
#define L(st, field, elem, req)                                      \
	{                                                            \
#field, RPC_K_LIST, offsetof(struct st, field), req, \
		    &elem##_schema                                   \
	}
#define SCHEMA(st, ...)                                              \
	static const struct rpc_field st##_fields[] = {__VA_ARGS__}; \
	static const struct rpc_schema st##_schema = {               \
	    #st, sizeof(struct st),                                  \
	    sizeof st##_fields / sizeof st##_fields[0], st##_fields}

#define REQ true
#define OPT false

static const struct rpc_schema rpc_empty_schema = {
    "rpc_empty", sizeof(struct rpc_empty), 0, NULL};

SCHEMA(rpc_broker_info, F(rpc_broker_info, id, RPC_K_U64, REQ),
       F(rpc_broker_info, name, RPC_K_STR, REQ),
       F(rpc_broker_info, listen, RPC_K_STR, REQ),
       F(rpc_broker_info, raft_address, RPC_K_STR, OPT));
SCHEMA(rpc_topic_info, F(rpc_topic_info, name, RPC_K_STR, REQ),
       F(rpc_topic_info, queues_per_broker, RPC_K_U32, REQ),
       F(rpc_topic_info, brokers, RPC_K_STRS, REQ),
       F(rpc_topic_info, replication_factor, RPC_K_U32, OPT),
       F(rpc_topic_info, leaders, RPC_K_STRS, OPT));
SCHEMA(rpc_route_resp, F(rpc_route_resp, leader_id, RPC_K_U64, OPT),
       F(rpc_route_resp, leader_address, RPC_K_STR, OPT),
       L(rpc_route_resp, brokers, rpc_broker_info, OPT),
       L(rpc_route_resp, topics, rpc_topic_info, OPT));
SCHEMA(rpc_status_req, F(rpc_status_req, local, RPC_K_BOOL, OPT),
       F(rpc_status_req, from, RPC_K_STR, OPT));
SCHEMA(rpc_node_status, F(rpc_node_status, id, RPC_K_U64, REQ),
       F(rpc_node_status, name, RPC_K_STR, OPT),
       F(rpc_node_status, listen, RPC_K_STR, OPT),
       F(rpc_node_status, raft_address, RPC_K_STR, OPT),
       F(rpc_node_status, role, RPC_K_STR, REQ),
       F(rpc_node_status, term, RPC_K_U64, OPT),
       F(rpc_node_status, commit_index, RPC_K_U64, OPT),
       F(rpc_node_status, applied_index, RPC_K_U64, OPT));
SCHEMA(rpc_status_resp, F(rpc_status_resp, leader_id, RPC_K_U64, OPT),
       L(rpc_status_resp, nodes, rpc_node_status, OPT));
SCHEMA(rpc_topic_create_req, F(rpc_topic_create_req, topic, RPC_K_STR, REQ),
       F(rpc_topic_create_req, queues, RPC_K_U32, REQ),
       F(rpc_topic_create_req, brokers, RPC_K_STRS, OPT),
       F(rpc_topic_create_req, replication_factor, RPC_K_U32, OPT),
       F(rpc_topic_create_req, min_insync_replicas, RPC_K_U32, OPT));
SCHEMA(rpc_topic_create_resp,
       F(rpc_topic_create_resp, brokers, RPC_K_STRS, OPT),
       F(rpc_topic_create_resp, replication_factor, RPC_K_U32, OPT),
       F(rpc_topic_create_resp, min_insync_replicas, RPC_K_U32, OPT));
SCHEMA(rpc_names_resp, F(rpc_names_resp, names, RPC_K_STRS, OPT));
SCHEMA(rpc_topic_req, F(rpc_topic_req, topic, RPC_K_STR, REQ));
SCHEMA(rpc_queue_info, F(rpc_queue_info, broker_name, RPC_K_STR, REQ),
       F(rpc_queue_info, queue_id, RPC_K_U32, REQ),
       F(rpc_queue_info, min_offset, RPC_K_U64, REQ),
       F(rpc_queue_info, max_offset, RPC_K_U64, REQ),
       F(rpc_queue_info, first_store_time, RPC_K_I64, OPT),
       F(rpc_queue_info, last_store_time, RPC_K_I64, OPT),
       F(rpc_queue_info, leader_broker, RPC_K_STR, OPT),
       F(rpc_queue_info, replicas, RPC_K_STRS, OPT),
       F(rpc_queue_info, isr, RPC_K_STRS, OPT));
SCHEMA(rpc_topic_describe_resp,
       F(rpc_topic_describe_resp, topic, RPC_K_STR, OPT),
       L(rpc_topic_describe_resp, queues, rpc_queue_info, OPT));
SCHEMA(rpc_queue_stats_req, F(rpc_queue_stats_req, topic, RPC_K_STR, REQ),
       F(rpc_queue_stats_req, broker, RPC_K_STR, OPT),
       F(rpc_queue_stats_req, queue_ids, RPC_K_U64S, OPT),
       F(rpc_queue_stats_req, with_time, RPC_K_BOOL, OPT),
       F(rpc_queue_stats_req, time, RPC_K_I64, OPT));
SCHEMA(rpc_queue_stat, F(rpc_queue_stat, queue_id, RPC_K_U32, REQ),
       F(rpc_queue_stat, min_offset, RPC_K_U64, REQ),
       F(rpc_queue_stat, max_offset, RPC_K_U64, REQ),
       F(rpc_queue_stat, time_offset, RPC_K_U64, OPT),
       F(rpc_queue_stat, first_store_time, RPC_K_I64, OPT),
       F(rpc_queue_stat, last_store_time, RPC_K_I64, OPT),
       F(rpc_queue_stat, scheduled, RPC_K_U64, OPT));
SCHEMA(rpc_queue_stats_resp,
       F(rpc_queue_stats_resp, broker_name, RPC_K_STR, OPT),
       L(rpc_queue_stats_resp, queues, rpc_queue_stat, OPT));
SCHEMA(rpc_produce_req, F(rpc_produce_req, topic, RPC_K_STR, REQ),
       F(rpc_produce_req, queue_id, RPC_K_U32, REQ),
       F(rpc_produce_req, count, RPC_K_U32, REQ),
       F(rpc_produce_req, flags, RPC_K_U32, OPT),
       F(rpc_produce_req, payload, RPC_K_BIN, REQ),
       F(rpc_produce_req, deliver_at, RPC_K_I64, OPT),
       F(rpc_produce_req, delay_ms, RPC_K_U32, OPT),
       F(rpc_produce_req, broker, RPC_K_STR, OPT),
       F(rpc_produce_req, acks, RPC_K_U32, OPT));
SCHEMA(rpc_send_back_req, F(rpc_send_back_req, group, RPC_K_STR, REQ),
       F(rpc_send_back_req, topic, RPC_K_STR, REQ),
       F(rpc_send_back_req, queue_id, RPC_K_U32, REQ),
       F(rpc_send_back_req, offset, RPC_K_U64, REQ),
       F(rpc_send_back_req, reason, RPC_K_STR, OPT),
       F(rpc_send_back_req, broker, RPC_K_STR, OPT));
SCHEMA(rpc_send_back_resp,
       F(rpc_send_back_resp, reconsume_times, RPC_K_U32, REQ),
       F(rpc_send_back_resp, dead_letter, RPC_K_BOOL, OPT),
       F(rpc_send_back_resp, deliver_at, RPC_K_I64, OPT));
SCHEMA(rpc_produce_resp, F(rpc_produce_resp, base_offset, RPC_K_U64, OPT),
       F(rpc_produce_resp, store_time, RPC_K_I64, OPT),
       F(rpc_produce_resp, scheduled, RPC_K_U64, OPT),
       F(rpc_produce_resp, deliver_at, RPC_K_I64, OPT));
SCHEMA(rpc_fetch_req, F(rpc_fetch_req, group, RPC_K_STR, OPT),
       F(rpc_fetch_req, topic, RPC_K_STR, REQ),
       F(rpc_fetch_req, queue_id, RPC_K_U32, REQ),
       F(rpc_fetch_req, offset, RPC_K_U64, REQ),
       F(rpc_fetch_req, epoch, RPC_K_U64, OPT),
       F(rpc_fetch_req, max_bytes, RPC_K_U32, OPT),
       F(rpc_fetch_req, max_wait_ms, RPC_K_U32, OPT),
       F(rpc_fetch_req, as_group, RPC_K_STR, OPT),
       F(rpc_fetch_req, broker, RPC_K_STR, OPT));
SCHEMA(rpc_fetch_resp, F(rpc_fetch_resp, batches, RPC_K_BIN, OPT),
       F(rpc_fetch_resp, min_offset, RPC_K_U64, OPT),
       F(rpc_fetch_resp, max_offset, RPC_K_U64, OPT),
       F(rpc_fetch_resp, offset, RPC_K_U64, OPT),
       F(rpc_fetch_resp, epoch, RPC_K_U64, OPT));
SCHEMA(rpc_replica_item, F(rpc_replica_item, topic, RPC_K_STR, REQ),
       F(rpc_replica_item, created, RPC_K_I64, REQ),
       F(rpc_replica_item, broker, RPC_K_STR, REQ),
       F(rpc_replica_item, queue_id, RPC_K_U32, REQ),
       F(rpc_replica_item, leader_epoch, RPC_K_U64, REQ),
       F(rpc_replica_item, offset, RPC_K_U64, REQ),
       F(rpc_replica_item, last_epoch, RPC_K_U64, OPT));
SCHEMA(rpc_replica_fetch_req, F(rpc_replica_fetch_req, replica, RPC_K_STR, REQ),
       F(rpc_replica_fetch_req, max_wait_ms, RPC_K_U32, OPT),
       F(rpc_replica_fetch_req, max_bytes, RPC_K_U32, OPT),
       L(rpc_replica_fetch_req, items, rpc_replica_item, REQ));
SCHEMA(rpc_replica_part, F(rpc_replica_part, status, RPC_K_U32, REQ),
       F(rpc_replica_part, epoch, RPC_K_U64, OPT),
       F(rpc_replica_part, batches, RPC_K_BIN, OPT),
       F(rpc_replica_part, hw, RPC_K_U64, OPT),
       F(rpc_replica_part, log_start, RPC_K_U64, OPT),
       F(rpc_replica_part, move_to, RPC_K_U64, OPT));
SCHEMA(rpc_replica_fetch_resp,
       L(rpc_replica_fetch_resp, parts, rpc_replica_part, OPT));
SCHEMA(rpc_alter_isr_req, F(rpc_alter_isr_req, topic, RPC_K_STR, REQ),
       F(rpc_alter_isr_req, created, RPC_K_I64, REQ),
       F(rpc_alter_isr_req, broker, RPC_K_STR, REQ),
       F(rpc_alter_isr_req, queue_id, RPC_K_U32, REQ),
       F(rpc_alter_isr_req, leader_epoch, RPC_K_U64, REQ),
       F(rpc_alter_isr_req, version, RPC_K_U64, REQ),
       F(rpc_alter_isr_req, isr, RPC_K_STRS, REQ),
       F(rpc_alter_isr_req, log_start, RPC_K_U64, OPT));
SCHEMA(rpc_commit_item, F(rpc_commit_item, topic, RPC_K_STR, REQ),
       F(rpc_commit_item, broker_name, RPC_K_STR, REQ),
       F(rpc_commit_item, queue_id, RPC_K_U32, REQ),
       F(rpc_commit_item, offset, RPC_K_U64, REQ),
       F(rpc_commit_item, epoch, RPC_K_U64, REQ));
SCHEMA(rpc_commit_req, F(rpc_commit_req, group, RPC_K_STR, REQ),
       F(rpc_commit_req, member_id, RPC_K_STR, OPT),
       L(rpc_commit_req, items, rpc_commit_item, REQ));
SCHEMA(rpc_offset_info, F(rpc_offset_info, broker_name, RPC_K_STR, REQ),
       F(rpc_offset_info, queue_id, RPC_K_U32, REQ),
       F(rpc_offset_info, offset, RPC_K_U64, REQ));
SCHEMA(rpc_commit_resp, F(rpc_commit_resp, codes, RPC_K_U64S, OPT),
       L(rpc_commit_resp, offsets, rpc_offset_info, OPT),
       F(rpc_commit_resp, epoch, RPC_K_U64, OPT));
SCHEMA(rpc_offsets_req, F(rpc_offsets_req, group, RPC_K_STR, REQ),
       F(rpc_offsets_req, topic, RPC_K_STR, REQ));
SCHEMA(rpc_offsets_resp, F(rpc_offsets_resp, epoch, RPC_K_U64, OPT),
       L(rpc_offsets_resp, queues, rpc_offset_info, OPT),
       F(rpc_offsets_resp, partial, RPC_K_STR, OPT));
SCHEMA(rpc_group_create_req, F(rpc_group_create_req, group, RPC_K_STR, REQ),
       F(rpc_group_create_req, mode, RPC_K_STR, OPT),
       F(rpc_group_create_req, initial, RPC_K_STR, OPT),
       F(rpc_group_create_req, retry_delays_ms, RPC_K_U64S, OPT),
       F(rpc_group_create_req, max_reconsume_times, RPC_K_U32, OPT));
SCHEMA(rpc_group_req, F(rpc_group_req, group, RPC_K_STR, REQ));
SCHEMA(rpc_lag_info, F(rpc_lag_info, broker_name, RPC_K_STR, REQ),
       F(rpc_lag_info, queue_id, RPC_K_U32, REQ),
       F(rpc_lag_info, consumer_offset, RPC_K_U64, REQ),
       F(rpc_lag_info, max_offset, RPC_K_U64, REQ),
       F(rpc_lag_info, lag, RPC_K_U64, REQ),
       F(rpc_lag_info, unknown, RPC_K_BOOL, OPT));
SCHEMA(rpc_group_topic_info, F(rpc_group_topic_info, topic, RPC_K_STR, REQ),
       F(rpc_group_topic_info, epoch, RPC_K_U64, REQ),
       L(rpc_group_topic_info, queues, rpc_lag_info, OPT));
SCHEMA(rpc_member_info, F(rpc_member_info, member_id, RPC_K_STR, REQ),
       F(rpc_member_info, client, RPC_K_STR, OPT),
       F(rpc_member_info, queues, RPC_K_STRS, OPT));
SCHEMA(rpc_group_describe_resp,
       F(rpc_group_describe_resp, group, RPC_K_STR, OPT),
       F(rpc_group_describe_resp, mode, RPC_K_STR, OPT),
       L(rpc_group_describe_resp, topics, rpc_group_topic_info, OPT),
       L(rpc_group_describe_resp, members, rpc_member_info, OPT),
       F(rpc_group_describe_resp, max_reconsume_times, RPC_K_U32, OPT),
       F(rpc_group_describe_resp, retry_delays_ms, RPC_K_U64S, OPT),
       F(rpc_group_describe_resp, retry_pending, RPC_K_U64, OPT),
       F(rpc_group_describe_resp, dlq, RPC_K_U64, OPT));
SCHEMA(rpc_topic_epoch, F(rpc_topic_epoch, topic, RPC_K_STR, REQ),
       F(rpc_topic_epoch, epoch, RPC_K_U64, REQ));
SCHEMA(rpc_heartbeat_req, F(rpc_heartbeat_req, group, RPC_K_STR, REQ),
       F(rpc_heartbeat_req, member_id, RPC_K_STR, REQ),
       F(rpc_heartbeat_req, client, RPC_K_STR, OPT),
       F(rpc_heartbeat_req, topics, RPC_K_STRS, OPT),
       L(rpc_heartbeat_req, epochs, rpc_topic_epoch, OPT));
SCHEMA(rpc_assignment, F(rpc_assignment, topic, RPC_K_STR, REQ),
       F(rpc_assignment, broker_name, RPC_K_STR, REQ),
       F(rpc_assignment, queue_id, RPC_K_U32, REQ));
SCHEMA(rpc_heartbeat_resp, F(rpc_heartbeat_resp, generation, RPC_K_U64, OPT),
       L(rpc_heartbeat_resp, assignment, rpc_assignment, OPT),
       L(rpc_heartbeat_resp, epochs, rpc_topic_epoch, OPT),
       F(rpc_heartbeat_resp, lease_ms, RPC_K_U32, OPT));
SCHEMA(rpc_reset_req, F(rpc_reset_req, group, RPC_K_STR, REQ),
       F(rpc_reset_req, topic, RPC_K_STR, OPT),
       F(rpc_reset_req, target, RPC_K_STR, REQ),
       F(rpc_reset_req, value, RPC_K_I64, OPT),
       F(rpc_reset_req, queues, RPC_K_STRS, OPT),
       F(rpc_reset_req, dry_run, RPC_K_BOOL, OPT),
       F(rpc_reset_req, require_inactive, RPC_K_BOOL, OPT),
       F(rpc_reset_req, requester, RPC_K_STR, OPT),
       F(rpc_reset_req, expect, RPC_K_BOOL, OPT),
       F(rpc_reset_req, expect_epoch, RPC_K_U64, OPT),
       F(rpc_reset_req, offsets, RPC_K_U64S, OPT),
       F(rpc_reset_req, topics, RPC_K_STRS, OPT),
       F(rpc_reset_req, all_topics, RPC_K_BOOL, OPT),
       F(rpc_reset_req, queue_topics, RPC_K_STRS, OPT),
       F(rpc_reset_req, expect_epochs, RPC_K_U64S, OPT),
       F(rpc_reset_req, source_group, RPC_K_STR, OPT));
SCHEMA(rpc_reset_queue, F(rpc_reset_queue, broker_name, RPC_K_STR, REQ),
       F(rpc_reset_queue, queue_id, RPC_K_U32, REQ),
       F(rpc_reset_queue, timestamp_offset, RPC_K_U64, REQ),
       F(rpc_reset_queue, previous_offset, RPC_K_U64, OPT),
       F(rpc_reset_queue, clamped, RPC_K_BOOL, OPT),
       F(rpc_reset_queue, unset, RPC_K_BOOL, OPT),
       F(rpc_reset_queue, skipped, RPC_K_BOOL, OPT));
SCHEMA(rpc_reset_topic, F(rpc_reset_topic, topic, RPC_K_STR, REQ),
       F(rpc_reset_topic, epoch, RPC_K_U64, OPT),
       L(rpc_reset_topic, queues, rpc_reset_queue, OPT));
SCHEMA(rpc_reset_resp, F(rpc_reset_resp, reset_id, RPC_K_U64, OPT),
       F(rpc_reset_resp, epoch, RPC_K_U64, OPT),
       F(rpc_reset_resp, dry_run, RPC_K_BOOL, OPT),
       L(rpc_reset_resp, queues, rpc_reset_queue, OPT),
       F(rpc_reset_resp, group, RPC_K_STR, OPT),
       F(rpc_reset_resp, topic, RPC_K_STR, OPT),
       L(rpc_reset_resp, topics, rpc_reset_topic, OPT),
       F(rpc_reset_resp, source_group, RPC_K_STR, OPT),
       F(rpc_reset_resp, lagging, RPC_K_STRS, OPT),
       F(rpc_reset_resp, retry_pending, RPC_K_U64, OPT),
       F(rpc_reset_resp, scheduled_pending, RPC_K_U64, OPT));
SCHEMA(rpc_history_req, F(rpc_history_req, group, RPC_K_STR, REQ),
       F(rpc_history_req, topic, RPC_K_STR, REQ));
SCHEMA(rpc_history_queue, F(rpc_history_queue, broker_name, RPC_K_STR, REQ),
       F(rpc_history_queue, queue_id, RPC_K_U32, REQ),
       F(rpc_history_queue, previous_offset, RPC_K_U64, REQ),
       F(rpc_history_queue, timestamp_offset, RPC_K_U64, REQ),
       F(rpc_history_queue, min_offset, RPC_K_U64, OPT),
       F(rpc_history_queue, max_offset, RPC_K_U64, OPT),
       F(rpc_history_queue, clamped, RPC_K_BOOL, OPT),
       F(rpc_history_queue, skipped, RPC_K_BOOL, OPT));
SCHEMA(rpc_history_entry, F(rpc_history_entry, reset_id, RPC_K_U64, REQ),
       F(rpc_history_entry, time, RPC_K_I64, REQ),
       F(rpc_history_entry, requester, RPC_K_STR, OPT),
       F(rpc_history_entry, group, RPC_K_STR, REQ),
       F(rpc_history_entry, topic, RPC_K_STR, REQ),
       F(rpc_history_entry, target, RPC_K_STR, REQ),
       F(rpc_history_entry, value, RPC_K_I64, OPT),
       F(rpc_history_entry, epoch, RPC_K_U64, OPT),
       L(rpc_history_entry, queues, rpc_history_queue, OPT),
       F(rpc_history_entry, source_group, RPC_K_STR, OPT));
SCHEMA(rpc_history_resp, L(rpc_history_resp, resets, rpc_history_entry, OPT));
SCHEMA(rpc_undo_req, F(rpc_undo_req, reset_id, RPC_K_U64, REQ),
       F(rpc_undo_req, requester, RPC_K_STR, OPT));
SCHEMA(rpc_join_req, F(rpc_join_req, id, RPC_K_U64, REQ),
       F(rpc_join_req, name, RPC_K_STR, REQ),
       F(rpc_join_req, listen, RPC_K_STR, REQ),
       F(rpc_join_req, raft_address, RPC_K_STR, REQ),
       F(rpc_join_req, secret, RPC_K_STR, OPT),
       F(rpc_join_req, replace, RPC_K_BOOL, OPT));
SCHEMA(rpc_node_remove_req, F(rpc_node_remove_req, id, RPC_K_U64, REQ),
       F(rpc_node_remove_req, secret, RPC_K_STR, OPT));
SCHEMA(rpc_leave_req, F(rpc_leave_req, group, RPC_K_STR, REQ),
       F(rpc_leave_req, member_id, RPC_K_STR, REQ));
SCHEMA(rpc_auth_req, F(rpc_auth_req, token, RPC_K_STR, OPT),
       F(rpc_auth_req, secret, RPC_K_STR, OPT));
SCHEMA(rpc_auth_resp, F(rpc_auth_resp, principal, RPC_K_STR, OPT));
SCHEMA(rpc_reset_notice, F(rpc_reset_notice, group, RPC_K_STR, REQ),
       F(rpc_reset_notice, topic, RPC_K_STR, REQ),
       F(rpc_reset_notice, epoch, RPC_K_U64, REQ),
       L(rpc_reset_notice, queues, rpc_offset_info, OPT));
SCHEMA(rpc_rebalance_notice, F(rpc_rebalance_notice, group, RPC_K_STR, REQ),
       F(rpc_rebalance_notice, generation, RPC_K_U64, REQ));
SCHEMA(rpc_goaway_notice, F(rpc_goaway_notice, reason, RPC_K_STR, OPT));

const struct rpc_schema *rpc_schema_of(uint16_t type)
{
	if (type & RPC_RESPONSE) {
		switch ((uint16_t)(type & ~RPC_RESPONSE)) {
#define RPC_RESP_(num, NAME, req, resp) \
	case (num):                     \
		return &resp##_schema;
			RPC_MESSAGES(RPC_RESP_)
#undef RPC_RESP_
		}
		return NULL;
	}
	switch (type) {
#define RPC_REQ_(num, NAME, req, resp) \
	case (num):                    \
		return &req##_schema;
		RPC_MESSAGES(RPC_REQ_)
#undef RPC_REQ_
#define RPC_NOT_(num, NAME, body) \
	case (num):               \
		return &body##_schema;
		RPC_NOTICES(RPC_NOT_)
#undef RPC_NOT_
	}
	return NULL;
}

/* ---- Encoding ---- */

static void pack_str(msgpack_packer *pk, const char *s)
{
	size_t n = strlen(s);
	msgpack_pack_str(pk, n);
	msgpack_pack_str_body(pk, s, n);
}

static int pack_struct(msgpack_packer *pk, const struct rpc_schema *sc,
		       const void *body, const struct rpc_status *status);

static bool present(const struct rpc_field *f, const void *body)
{
	const char *p = (const char *)body + f->offset;
	return f->kind != RPC_K_STR || *(const char *const *)p != NULL;
}

static int pack_field(msgpack_packer *pk, const struct rpc_field *f,
		      const void *body)
{
	const char *p = (const char *)body + f->offset;
	switch (f->kind) {
	case RPC_K_U64:
		return msgpack_pack_uint64(pk, *(const uint64_t *)p);
	case RPC_K_U32:
		return msgpack_pack_uint32(pk, *(const uint32_t *)p);
	case RPC_K_I64:
		return msgpack_pack_int64(pk, *(const int64_t *)p);
	case RPC_K_BOOL:
		return *(const bool *)p ? msgpack_pack_true(pk)
					: msgpack_pack_false(pk);
	case RPC_K_STR:
		pack_str(pk, *(const char *const *)p);
		return 0;
	case RPC_K_BIN: {
		const struct rpc_bin *b = (const void *)p;
		msgpack_pack_bin(pk, b->len);
		return msgpack_pack_bin_body(pk, b->ptr, b->len);
	}
	case RPC_K_STRS: {
		const struct rpc_strs *s = (const void *)p;
		msgpack_pack_array(pk, s->n);
		for (uint32_t i = 0; i < s->n; i++) {
			if (s->v[i] == NULL)
				return RPC_EINVAL;
			pack_str(pk, s->v[i]);
		}
		return 0;
	}
	case RPC_K_U64S: {
		const struct rpc_u64s *s = (const void *)p;
		msgpack_pack_array(pk, s->n);
		for (uint32_t i = 0; i < s->n; i++)
			msgpack_pack_uint64(pk, s->v[i]);
		return 0;
	}
	case RPC_K_LIST: {
		const struct rpc_list *l = (const void *)p;
		msgpack_pack_array(pk, l->n);
		for (uint32_t i = 0; i < l->n; i++) {
			int rv = pack_struct(pk, f->elem,
					     (const char *)l->v +
						 (size_t)i * f->elem->size,
					     NULL);
			if (rv != 0)
				return rv;
		}
		return 0;
	}
	}
	return RPC_EINVAL;
}

static int pack_struct(msgpack_packer *pk, const struct rpc_schema *sc,
		       const void *body, const struct rpc_status *status)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < sc->n; i++) {
		if (present(&sc->fields[i], body))
			n++;
		else if (sc->fields[i].required)
			return RPC_EINVAL;
	}
	if (status != NULL)
		n += 1 + (status->message != NULL) + (status->leader != NULL) +
		     status->retry;
	msgpack_pack_map(pk, n);
	if (status != NULL) {
		pack_str(pk, "code");
		msgpack_pack_uint32(pk, status->code);
		if (status->message != NULL) {
			pack_str(pk, "message");
			pack_str(pk, status->message);
		}
		if (status->leader != NULL) {
			pack_str(pk, "leader");
			pack_str(pk, status->leader);
		}
		if (status->retry) {
			pack_str(pk, "retry");
			msgpack_pack_true(pk);
		}
	}
	for (uint32_t i = 0; i < sc->n; i++) {
		if (!present(&sc->fields[i], body))
			continue;
		pack_str(pk, sc->fields[i].name);
		int rv = pack_field(pk, &sc->fields[i], body);
		if (rv != 0)
			return rv;
	}
	return 0;
}

/* sbuffer writes that remember a failure (out of memory), so a frame is
 * never sent with bytes missing. */
struct sink {
	msgpack_sbuffer *sb;
	bool failed;
};

static int sink_write(void *data, const char *buf, size_t len)
{
	struct sink *k = data;
	if (msgpack_sbuffer_write(k->sb, buf, len) != 0)
		k->failed = true;
	return 0;
}

int rpc_encode(msgpack_sbuffer *sb, uint16_t type, uint64_t request_id,
	       const struct rpc_status *status, const void *body,
	       uint32_t max_frame)
{
	const struct rpc_schema *sc = rpc_schema_of(type);
	/* An error answer without a body is its status alone (OFFSET_MOVED
	 * and STALE_EPOCH answers do carry one). */
	bool error_answer = (type & RPC_RESPONSE) && status != NULL &&
			    status->code != RPC_OK && body == NULL;
	if (sc == NULL || (body == NULL && sc->n > 0 && !error_answer))
		return RPC_EINVAL;
	static const struct rpc_empty none;
	if (body == NULL)
		body = &none;
	size_t start = sb->size;
	char hdr[RPC_FRAME_HEADER] = {0};
	struct sink k = {sb, false};
	sink_write(&k, hdr, sizeof hdr);
	msgpack_packer pk;
	msgpack_packer_init(&pk, &k, sink_write);
	msgpack_pack_array(&pk, 4);
	msgpack_pack_uint8(&pk, RPC_VERSION);
	msgpack_pack_uint16(&pk, type);
	msgpack_pack_uint64(&pk, request_id);
	const struct rpc_status ok = {RPC_OK, NULL, NULL, false};
	if ((type & RPC_RESPONSE) && status == NULL)
		status = &ok;
	/* An error answer is its status alone. */
	static const struct rpc_schema status_only = {"rpc_status", 0, 0, NULL};
	int rv = pack_struct(&pk, error_answer ? &status_only : sc, body,
			     (type & RPC_RESPONSE) ? status : NULL);
	if (rv == 0 && (k.failed || sb->data == NULL))
		rv = RPC_ENOMEM;
	size_t n = sb->size - start - RPC_FRAME_HEADER;
	if (rv == 0 && n > (max_frame ? max_frame : RPC_FRAME_MAX_DEFAULT))
		rv = RPC_ETOOBIG;
	if (rv != 0) {
		sb->size = start; /* drop the partial frame */
		return rv;
	}
	uint8_t *h = (uint8_t *)sb->data + start;
	h[0] = (uint8_t)(n >> 24);
	h[1] = (uint8_t)(n >> 16);
	h[2] = (uint8_t)(n >> 8);
	h[3] = (uint8_t)n;
	return 0;
}

/* ---- Decoding ---- */

struct dec {
	msgpack_zone *zone;
	const char *why;
};

static int dec_struct(struct dec *d, const struct rpc_schema *sc,
		      const msgpack_object *map, void *out,
		      struct rpc_status *status);

static char *zone_str(struct dec *d, const msgpack_object *o)
{
	if (memchr(o->via.str.ptr, '\0', o->via.str.size) != NULL) {
		d->why = "string with a NUL byte";
		return NULL;
	}
	char *s = msgpack_zone_malloc(d->zone, (size_t)o->via.str.size + 1);
	if (s == NULL) {
		d->why = "out of memory";
		return NULL;
	}
	memcpy(s, o->via.str.ptr, o->via.str.size);
	s[o->via.str.size] = '\0';
	return s;
}

/* A scalar field (U64, U32, I64, BOOL, STR, BIN) into @p: 0, or
 * RPC_EMALFORMED with d->why set. */
static int dec_scalar(struct dec *d, const struct rpc_field *f,
		      const msgpack_object *o, char *p)
{
	bool pos = o->type == MSGPACK_OBJECT_POSITIVE_INTEGER;
	switch (f->kind) {
	case RPC_K_U64:
		if (pos)
			*(uint64_t *)p = o->via.u64;
		return pos ? 0 : RPC_EMALFORMED;
	case RPC_K_U32:
		if (!pos || o->via.u64 > UINT32_MAX)
			return RPC_EMALFORMED;
		*(uint32_t *)p = (uint32_t)o->via.u64;
		return 0;
	case RPC_K_I64:
		if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
			*(int64_t *)p = o->via.i64;
		else if (pos && o->via.u64 <= (uint64_t)INT64_MAX)
			*(int64_t *)p = (int64_t)o->via.u64;
		else
			return RPC_EMALFORMED;
		return 0;
	case RPC_K_BOOL:
		if (o->type != MSGPACK_OBJECT_BOOLEAN)
			return RPC_EMALFORMED;
		*(bool *)p = o->via.boolean;
		return 0;
	case RPC_K_STR: /* nil: absent, never for a required field */
		if (o->type == MSGPACK_OBJECT_NIL && !f->required)
			*(const char **)p = NULL;
		else if (o->type != MSGPACK_OBJECT_STR ||
			 (*(const char **)p = zone_str(d, o)) == NULL)
			return RPC_EMALFORMED;
		return 0;
	case RPC_K_BIN:
		if (o->type != MSGPACK_OBJECT_BIN)
			return RPC_EMALFORMED;
		((struct rpc_bin *)(void *)p)->ptr =
		    (const uint8_t *)o->via.bin.ptr;
		((struct rpc_bin *)(void *)p)->len = o->via.bin.size;
		return 0;
	default:
		return RPC_EMALFORMED;
	}
}

_Static_assert(offsetof(struct rpc_strs, n) == offsetof(struct rpc_list, n) &&
		   offsetof(struct rpc_u64s, n) ==
		       offsetof(struct rpc_list, n) &&
		   sizeof(struct rpc_strs) == sizeof(struct rpc_list) &&
		   sizeof(struct rpc_u64s) == sizeof(struct rpc_list),
	       "array fields share the {v, n} layout");

/* An array field (STRS, U64S, LIST) into @p, its elements in the zone. */
static int dec_array(struct dec *d, const struct rpc_field *f,
		     const msgpack_object *o, char *p)
{
	uint32_t n = o->via.array.size;
	size_t sz = f->kind == RPC_K_STRS   ? sizeof(const char *)
		    : f->kind == RPC_K_U64S ? sizeof(uint64_t)
					    : f->elem->size;
	char *v = msgpack_zone_malloc(d->zone, (n ? n : 1) * sz);
	if (v == NULL)
		return RPC_ENOMEM;
	memset(v, 0, (n ? n : 1) * sz);
	for (uint32_t i = 0; i < n; i++) {
		const msgpack_object *e = &o->via.array.ptr[i];
		char *at = v + (size_t)i * sz;
		int rv = 0;
		if (f->kind == RPC_K_LIST)
			rv = dec_struct(d, f->elem, e, at, NULL);
		else if (f->kind == RPC_K_U64S &&
			 e->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
			*(uint64_t *)(void *)at = e->via.u64;
		else if (f->kind == RPC_K_U64S ||
			 e->type != MSGPACK_OBJECT_STR ||
			 (*(char **)(void *)at = zone_str(d, e)) == NULL)
			rv = RPC_EMALFORMED;
		if (rv == RPC_EMALFORMED && f->kind != RPC_K_LIST)
			d->why = f->name;
		if (rv != 0)
			return rv;
	}
	/* rpc_strs, rpc_u64s and rpc_list share one layout: {v, n}. */
	((struct rpc_list *)(void *)p)->v = v;
	((struct rpc_list *)(void *)p)->n = n;
	return 0;
}

static int dec_field(struct dec *d, const struct rpc_field *f,
		     const msgpack_object *o, void *out)
{
	char *p = (char *)out + f->offset;
	bool array = f->kind == RPC_K_STRS || f->kind == RPC_K_U64S ||
		     f->kind == RPC_K_LIST;
	int rv;
	if (!array)
		rv = dec_scalar(d, f, o, p);
	else if (o->type != MSGPACK_OBJECT_ARRAY)
		rv = RPC_EMALFORMED;
	else
		return dec_array(d, f, o, p);
	if (rv == RPC_EMALFORMED && d->why == NULL)
		d->why = f->name;
	return rv;
}

static bool key_is(const msgpack_object_kv *kv, const char *name)
{
	size_t n = strlen(name);
	return kv->key.via.str.size == n &&
	       memcmp(kv->key.via.str.ptr, name, n) == 0;
}

/* One of the status keys (code, message, leader, retry) into @status: 2
 * for "code", 1 for another, 0 when @kv is not one, RPC_EMALFORMED. */
static int dec_status_key(struct dec *d, const msgpack_object_kv *kv,
			  struct rpc_status *status)
{
	const msgpack_object *v = &kv->val;
	if (key_is(kv, "code")) {
		if (v->type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
		    v->via.u64 > UINT32_MAX) {
			d->why = "code";
			return RPC_EMALFORMED;
		}
		status->code = (uint32_t)v->via.u64;
		return 2;
	}
	if (key_is(kv, "retry")) {
		if (v->type != MSGPACK_OBJECT_BOOLEAN) {
			d->why = "retry";
			return RPC_EMALFORMED;
		}
		status->retry = v->via.boolean;
		return 1;
	}
	bool msg = key_is(kv, "message");
	if (!msg && !key_is(kv, "leader"))
		return 0;
	const char *s = v->type == MSGPACK_OBJECT_STR ? zone_str(d, v) : NULL;
	if (s == NULL) {
		d->why = d->why ? d->why : msg ? "message" : "leader";
		return RPC_EMALFORMED;
	}
	if (msg)
		status->message = s;
	else
		status->leader = s;
	return 1;
}

/* The index of @sc's field named @key (@klen bytes, not NUL-ended), or
 * sc->n: looked for from field @from on, then from the first — encoders
 * write the fields in schema order, so the next key is usually the next
 * field (a 10^4-queue answer spent 4% of its decoding in strlen here). */
static uint32_t field_index(const struct rpc_schema *sc, const char *key,
			    uint32_t klen, uint32_t from)
{
	assert(from <= sc->n);
	for (uint32_t j = 0; j < sc->n; j++) {
		uint32_t i = (from + j) % sc->n;
		const char *name = sc->fields[i].name;
		if (strnlen(name, (size_t)klen + 1) == klen &&
		    memcmp(name, key, klen) == 0)
			return i;
	}
	return sc->n;
}

static int dec_struct(struct dec *d, const struct rpc_schema *sc,
		      const msgpack_object *map, void *out,
		      struct rpc_status *status)
{
	if (map == NULL || map->type != MSGPACK_OBJECT_MAP) {
		d->why = sc->name;
		return RPC_EMALFORMED;
	}
	uint64_t seen = 0; /* bit i: field i present (tables are short) */
	uint32_t next = 0; /* the field after the last one found */
	for (uint32_t k = 0; k < map->via.map.size; k++) {
		const msgpack_object_kv *kv = &map->via.map.ptr[k];
		if (kv->key.type != MSGPACK_OBJECT_STR) {
			d->why = "map key is not a string";
			return RPC_EMALFORMED;
		}
		const char *key = kv->key.via.str.ptr;
		uint32_t klen = kv->key.via.str.size;
		int st = status ? dec_status_key(d, kv, status) : 0;
		if (st < 0)
			return st;
		if (st > 0) {
			seen |= st == 2 ? 1ull << 63 : 0;
			continue;
		}
		uint32_t i = field_index(sc, key, klen, next);
		if (i == sc->n)
			continue; /* unknown: a newer peer may send more */
		int rv = dec_field(d, &sc->fields[i], &kv->val, out);
		if (rv != 0)
			return rv;
		seen |= 1ull << i;
		next = i + 1 < sc->n ? i + 1 : 0;
	}
	/* An error answer has no body fields to require. */
	bool error_answer = status != NULL && status->code != RPC_OK;
	for (uint32_t i = 0; i < sc->n && !error_answer; i++) {
		if (sc->fields[i].required && !(seen & (1ull << i))) {
			d->why = sc->fields[i].name;
			return RPC_EMALFORMED;
		}
	}
	if (status != NULL && !(seen & (1ull << 63))) {
		d->why = "code";
		return RPC_EMALFORMED;
	}
	return 0;
}

int rpc_decode(struct rpc_frame *f, uint16_t type, void *out,
	       struct rpc_status *status, const char **why)
{
	const struct rpc_schema *sc = rpc_schema_of(type);
	if (why != NULL)
		*why = NULL;
	if (sc == NULL || f->type != type) {
		if (why != NULL)
			*why = sc == NULL ? "unknown message type"
					  : "unexpected message type";
		return RPC_EINVAL;
	}
	_Static_assert(sizeof(uint64_t) * 8 == 64, "seen bitmap");
	memset(out, 0, sc->size);
	bool resp = (f->type & RPC_RESPONSE) != 0;
	if (status != NULL)
		memset(status, 0, sizeof *status);
	struct rpc_status scratch;
	struct dec d = {f->unpacked.zone, NULL};
	static const msgpack_object empty_map = {.type = MSGPACK_OBJECT_MAP,
						 .via.map = {0, NULL}};
	const msgpack_object *body = f->body ? f->body : &empty_map;
	int rv = dec_struct(&d, sc, body, out,
			    resp ? (status ? status : &scratch) : NULL);
	if (rv != 0 && why != NULL)
		*why = d.why;
	return rv;
}
