/*
 * members.h — the leader's table of online consumer-group members
 * (members.c), for groups.c's handlers. Soft state: a new leader starts
 * empty and members re-register with their next heartbeat.
 */
#ifndef RAFTQ_NODE_MEMBERS_H
#define RAFTQ_NODE_MEMBERS_H

#include "node_int.h"

/* 64 subscribed topics, and the group's retry topic. */
#define NODE_MEMBER_TOPICS_MAX 65

struct node_member {
	char group[RSM_NAME_MAX + 1];
	char id[RSM_TEXT_MAX + 1];
	char client[RSM_TEXT_MAX + 1];
	char topics[NODE_MEMBER_TOPICS_MAX][RSM_NAME_MAX + 1];
	/* The lowest reset epoch the member holds a position under, per
	 * topic (by index into @topics): what its last heartbeat said. */
	uint64_t epochs[NODE_MEMBER_TOPICS_MAX];
	uint32_t n_topics;
	uint64_t conn; /* where notices go */
	uint64_t last_seen;
};

/* What a heartbeat says about its member. */
struct node_member_hb {
	const char *group, *id, *client; /* borrowed */
	const char *const *topics;
	uint32_t n_topics;
	const struct rpc_topic_epoch *epochs; /* borrowed; 0 where absent */
	uint32_t n_epochs;
	uint64_t conn;
};

/*
 * Records a heartbeat: adds the member or refreshes it (topics, client,
 * connection, time); a new member or changed topics bump the group's
 * generation and push REBALANCE_NOTICE. Returns the member (valid until
 * the next membership change) or NULL when out of memory.
 */
const struct node_member *node_member_beat(struct node *n,
					   const struct node_member_hb *hb);
/* Whether @m cannot deliver anything of @topic from before @epoch: it
 * does not read @topic, or its last heartbeat said it holds every
 * position of @topic under @epoch or later. */
bool node_member_holds(const struct node_member *m, const char *topic,
		       uint64_t epoch);
/* Drops member @id of @group if present (LEAVE). */
void node_member_leave(struct node *n, const char *group, const char *id);
/* The group's generation (0 before its first member). */
uint64_t node_group_generation(struct node *n, const char *group);

/* Online members, sorted by group then id: the count, and each one. */
size_t node_member_count(struct node *n);
const struct node_member *node_member_at(struct node *n, size_t i);

typedef void (*node_assign_fn)(void *arg, const char *topic, const char *broker,
			       uint32_t queue_id);
/*
 * The queues of @m: for each topic it reads, queue k (in broker, id order)
 * goes to the (k mod r)-th of the r members reading that topic (members
 * sorted by id); broadcasting members get all. Calls @emit per queue;
 * returns the count.
 */
uint32_t node_member_assignment(struct node *n, const struct node_member *m,
				node_assign_fn emit, void *arg);

#endif /* RAFTQ_NODE_MEMBERS_H */
