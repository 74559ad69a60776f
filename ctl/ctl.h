/*
 * ctl.h — raftqctl's pieces, for raftqctl and its tests.
 */
#ifndef RAFTQ_CTL_H
#define RAFTQ_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rpc.h"

#include "timeparse.h"

/* A finished call: the response frame (owned) and its decoded body. */
struct ctl_resp {
	int err; /* 0, or an RPC_E* transport error */
	struct rpc_frame f;
	struct rpc_status st;
	void *body;
	char via[64];  /* the address of the last try */
	char why[512]; /* what each address said that did not do */
};

/*
 * Sends @req to the addresses of @bootstrap (comma-separated) in turn,
 * following NOT_LEADER to the leader, until an answer that is not a
 * "nothing was done, try again" refusal (NOT_LEADER, or a status with
 * "retry": no leader yet, a leader catching up) or a connection refused;
 * such refusals are retried round the list every 100 ms until @timeout_ms
 * passes. A request sent without an answer (timed out, connection lost)
 * is not sent again: its outcome is unknown. @out is always filled (the
 * last answer or transport error; out->why lists what each address said);
 * free it with ctl_resp_free.
 */
void ctl_call(const char *bootstrap, uint16_t type, const void *req,
	      uint32_t timeout_ms, struct ctl_resp *out);
/* One call to exactly @address. */
void ctl_call_one(const char *address, uint16_t type, const void *req,
		  uint32_t timeout_ms, struct ctl_resp *out);
void ctl_resp_free(struct ctl_resp *r);
/* The token every later call of this process sends first (AUTH) to a
 * node with [auth] (borrowed: keep it alive); NULL: none. */
void ctl_set_token(const char *token);

#endif /* RAFTQ_CTL_H */
