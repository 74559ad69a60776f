/*
 * node_fakes.h — a node without processes, for the in-process tests of the
 * reset coordinator and commit batching. The real handler files (reset.c,
 * commits.c) and the real request layer (request.c, translate.c) are
 * linked against these fakes of the layers below them:
 *   - node_req_reply records every answer (copies of the fields tests read);
 *   - node_gather_start records the gather; the test finishes it with
 *     fake_gather_finish (or leaves it stalled);
 *   - node_propose records the entry; fake_apply plays the apply (the
 *     entry applied to the real rsm, or a libraft failure);
 *   - node_sync_start records the wait; fake_sync_finish ends it, and
 *     then the member wait node_members_wait recorded (topics, epochs);
 *   - leadership, members, notices and the clock are settable fields.
 */
#ifndef RAFTQ_TEST_NODE_FAKES_H
#define RAFTQ_TEST_NODE_FAKES_H

#include "../test_util.h"
#include "request.h"

#define FAKE_MAX 16

struct fake_answer {
	uint16_t type;
	uint64_t id;
	uint32_t code;
	char message[1024];
	char leader[64];
	bool has_body;
	/* RESET / UNDO */
	uint64_t reset_id, epoch;
	bool dry_run;
	uint32_t nq; /* every topic's queues, topic after topic */
	char brokers[FAKE_MAX][RSM_NAME_MAX + 1];
	uint32_t queue_ids[FAKE_MAX];
	uint64_t offsets[FAKE_MAX];
	bool skipped[FAKE_MAX];
	uint32_t ntopics;
	uint32_t nlagging; /* brokers that had not applied a reset */
	char lagging[RSM_NAME_MAX + 1]; /* the first of them */
	char topics[FAKE_MAX][RSM_NAME_MAX + 1];
	uint64_t topic_epochs[FAKE_MAX];
	/* COMMIT */
	uint32_t ncodes;
	uint64_t codes[FAKE_MAX];
};

struct fake {
	struct node n;
	/* answers, in order */
	struct fake_answer answers[FAKE_MAX];
	int nanswers;
	bool client_gone; /* answers are dropped (counted in dropped) */
	int dropped;
	/* the gathers in flight, oldest first */
	struct node_gather *gather[FAKE_MAX];
	node_gather_cb gather_cb[FAKE_MAX];
	int ngathering;
	int gathers;
	bool gather_oom;
	/* proposals in flight, oldest first */
	struct node_proposal *props[FAKE_MAX];
	struct raft_buffer bufs[FAKE_MAX];
	int nprops, proposed;
	uint32_t propose_code; /* RPC_OK: accepted */
	/* the sync in flight */
	node_sync_cb sync_cb;
	void *sync_data;
	uint64_t sync_ids[RSM_MAX_BROKERS];
	uint32_t sync_nids;
	int syncs;
	/* the member wait in flight (ended with the sync) */
	node_members_cb members_cb;
	void *members_data;
	char wait_topics[RSM_RESET_TOPICS_MAX][RSM_NAME_MAX + 1];
	uint64_t wait_epochs[RSM_RESET_TOPICS_MAX];
	uint32_t wait_nt;
	int member_waits;
	/* the rest of the world */
	uint32_t online_members;
	/* online members of group "g" reading topic member_topic ("" none) */
	char member_topic[RSM_NAME_MAX + 1];
	int notices;
	uint64_t leader_id; /* node_leader_listen: 0 = none known */
	int64_t now;
};

/* cmocka fixtures: *state is a struct fake set up by fake_init. */
int fake_setup(void **state);
int fake_teardown(void **state);

/* Sets up @f: an rsm with brokers 1-3, topic "orders" (2 queues on each
 * broker), clustering group "g", broadcasting group "bc"; this node is
 * node 1 and the ready leader. */
void fake_init(struct fake *f);
/* Frees the rsm and anything left in flight; asserts nothing is. */
void fake_close(struct fake *f);

/* Ends the gather in flight: every queue known with [min, max] (offset
 * for the time = min + 1); @ok false fails it naming broker-2. */
void fake_gather_finish(struct fake *f, uint64_t min, uint64_t max, bool ok);
/* Plays the apply of the oldest proposal: @status 0 applies its entry to
 * the real rsm; otherwise the libraft failure @status. */
void fake_apply(struct fake *f, int status);
/* Ends the sync in flight. */
void fake_sync_finish(struct fake *f, bool all);

/* A request of @type to the fake node. */
struct node_req fake_req(struct fake *f, uint16_t type, uint64_t id);

#endif /* RAFTQ_TEST_NODE_FAKES_H */
