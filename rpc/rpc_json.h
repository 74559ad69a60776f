/*
 * rpc_json.h — the JSON shapes of DESIGN.md §7 for answers' bodies
 * (jansson): what `raftqctl --json` prints and what the HTTP API of a node
 * answers are built here, once. A separate library (raftq_rpc_json):
 * libraftq does not depend on jansson.
 *
 * Each returns a new reference (NULL only when out of memory); lists keep
 * the order of the answer (the node sorts them by broker_name, then
 * queue_id).
 */
#ifndef RAFTQ_RPC_JSON_H
#define RAFTQ_RPC_JSON_H

#include <jansson.h>

#include "rpc.h"

/* {"leader_id":1,"nodes":[{id,name,listen,raft_address,role,term,
 * commit_index,applied_index}]} */
json_t *rpc_json_status(const struct rpc_status_resp *s);
/* {@key:["a","b"]} (topic list, group list). */
json_t *rpc_json_names(const char *key, const struct rpc_names_resp *n);
/* {"topic","queues":[{broker_name,queue_id,min_offset,max_offset,
 * first_store_time,last_store_time}]} */
json_t *rpc_json_topic(const struct rpc_topic_describe_resp *t);
/* {"group","mode","topics":[{topic,epoch,queues:[{broker_name,queue_id,
 * consumer_offset,max_offset,lag}]}],"members":[...]}; unknown values are
 * null, never 0. */
json_t *rpc_json_group(const struct rpc_group_describe_resp *d);
/* The Huawei queue list: [{broker_name,queue_id,timestamp_offset}], exactly
 * those keys (DESIGN.md §2). */
json_t *rpc_json_reset_queues(const struct rpc_list *queues);
/* A reset's answer: one topic in the Huawei shape plus reset_id, epoch,
 * dry_run (and skipped, lagging, source_group when there are any);
 * several as {"topics":[...],"reset_id",...} (DESIGN.md §2.1). */
json_t *rpc_json_reset(const struct rpc_reset_resp *x);
/* {"resets":[{reset_id,time,requester,group,topic,target,value,dry_run,
 * queues:[...]}]} */
json_t *rpc_json_history(const struct rpc_history_resp *h);

#endif /* RAFTQ_RPC_JSON_H */
