/*
 * reset_int.h — the reset coordinator's op, shared by reset.c (the state
 * machine) and reset_request.c (turning a RESET or UNDO request into a
 * checked op). Nothing else uses it.
 */
#ifndef RAFTQ_NODE_RESET_INT_H
#define RAFTQ_NODE_RESET_INT_H

#include "handlers.h"

enum reset_state {
	RESET_NEW,
	RESET_GATHERING,
	RESET_PROPOSING,
	RESET_SYNCING,
	RESET_CONFIRMING,
	RESET_DONE,
};

struct reset_op;

/* One topic of a reset. */
struct reset_part {
	struct reset_op *op;
	struct node_gather g; /* results valid from GATHERING's end */
	char topic[RSM_NAME_MAX + 1];
	bool *want;	 /* by queue index (broker * qpb + id) */
	uint64_t *given; /* by queue index: UNDO the record's previous
			    offsets, PLAN the plan's */
	bool expect;	 /* the guard, checked again on apply */
	uint64_t expect_epoch;
};

struct reset_op {
	struct node_req req; /* first: node_req_op */
	enum reset_state state;
	char group[RSM_NAME_MAX + 1];
	char source[RSM_NAME_MAX + 1]; /* target GROUP: the group copied */
	char requester[RSM_TEXT_MAX + 1];
	enum rsm_target_kind target;
	int64_t value;
	int64_t now;
	bool dry_run;
	uint32_t n_parts, cap_parts;
	struct reset_part *parts; /* topics ascending */
	uint32_t gathering;	  /* gathers not yet done */
	char failed[800];	  /* the first gather's failure */
	uint32_t failed_code;
	struct node_proposal p;
	uint64_t reset_id; /* once applied */
	/* Hosting brokers that had not applied it (SYNCING's result). */
	uint64_t lagging[RSM_MAX_BROKERS];
	uint32_t n_lagging;
	/* What the reset leaves alone (DESIGN.md §2.2): the group's
	 * messages awaiting retry (gathered with the parts, in backlog) and
	 * the messages scheduled for the moved queues. */
	struct node_gather backlog;
	uint64_t retry_pending, scheduled_pending;
};

/* A new op for a reset of @group with room for @n_topics parts (NULL
 * after answering "out of memory"). */
struct reset_op *node_reset_new(const struct node_req *req, const char *group,
				const char *requester, uint32_t n_topics);
/* Adds the part for topic @t (after the last; topics ascending); NULL
 * when out of memory (nothing answered). */
struct reset_part *node_reset_add(struct reset_op *op,
				  const struct rsm_topic *t);
/* The one exit: answers @code (unless OK: already answered) and frees. */
void node_reset_done(struct reset_op *op, uint32_t code, const char *msg);
/* NEW → GATHERING: asks every part's hosting brokers. */
void node_reset_start(struct reset_op *op);

/* reset_request.c: the checked op of a request, parts and queues set;
 * NULL when refused or failed (answered). */
struct reset_op *node_reset_of_request(const struct node_req *req,
				       const struct rpc_reset_req *q);
struct reset_op *node_reset_of_undo(const struct node_req *req,
				    const struct rpc_undo_req *q);

#endif
