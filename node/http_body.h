/*
 * http_body.h — JSON request bodies of the HTTP API into request structs
 * (node/ only; DESIGN.md §6.1, docs/http-api.md). Pure: no node, no I/O,
 * so the libFuzzer target (tests/fuzz/fuzz_http_body.c) drives it whole.
 *
 * Every refusal is a message naming what was wrong ("field 'timestamp'
 * must be epoch milliseconds: a number or a string of digits"), which
 * the HTTP layer answers as 400 INVALID_ARGUMENT. Unknown fields are
 * refused too: a misspelt "timestmap" must not reset to some default.
 */
#ifndef RAFTQ_NODE_HTTP_BODY_H
#define RAFTQ_NODE_HTTP_BODY_H

#include <jansson.h>
#include <stddef.h>

#include "rpc.h"

/* Rows of a plan given as JSON ("plan": [...]) and topics in one reset. */
#define HTTP_BODY_PLAN_MAX 65536
#define HTTP_BODY_TOPICS_MAX 256

/* A parsed reset: the request and what its pointers point into. */
struct http_reset {
	struct rpc_reset_req req;
	/* private */
	json_t *root;
	const char **strs; /* topics, queues, queue topics */
	uint64_t *nums;	   /* offsets, the guard */
	char *queue_text;  /* "broker:queue" of plan rows */
};

/*
 * Huawei DMS: {"topic":"T","timestamp":MS} (MS a number or a string of
 * digits, epoch milliseconds) → a reset of @group to time MS. 0, or -1
 * with the reason in @err.
 */
int http_body_huawei(const char *body, size_t len, const char *group,
		     struct http_reset *out, char *err, size_t errlen);

/*
 * ApsaraMQ: {"resetType":"LATEST_OFFSET"} or {"resetType":"SPECIFIED_TIME",
 * "resetTime":"YYYY-MM-DD HH:MM:SS"} (in the node's local time zone, or
 * with "timeZone":"+08:00") → a reset of @group on @topic.
 */
int http_body_alibaba(const char *body, size_t len, const char *group,
		      const char *topic, struct http_reset *out, char *err,
		      size_t errlen);

/*
 * Native (/api/v1/groups/G/reset): {"topic":"T" | "topics":[...] |
 * "all_topics":true, "target":"latest|earliest|time|offset|shift|
 * duration|current|group|plan", "value":N, "queues":["broker-1:0"],
 * "plan":[{"topic","broker_name","queue_id","offset"}], "source_group",
 * "dry_run", "require_inactive", "expect_epoch"} — the fields of
 * `raftqctl offset reset` (DESIGN.md §2, §2.1).
 */
int http_body_reset(const char *body, size_t len, const char *group,
		    struct http_reset *out, char *err, size_t errlen);

/* Frees what @r holds (safe on a zeroed or failed one). */
void http_reset_free(struct http_reset *r);

#endif /* RAFTQ_NODE_HTTP_BODY_H */
