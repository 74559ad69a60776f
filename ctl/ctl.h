/*
 * ctl.h — raftqctl's pieces, for raftqctl and its tests.
 */
#ifndef RAFTQ_CTL_H
#define RAFTQ_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rpc.h"

/*
 * Times an operator types, to epoch milliseconds:
 *   "YYYY-MM-DD HH:MM:SS" in the local zone, or in @tz ("+08:00", "-05:30",
 *   "Z") when @tz is not NULL;
 *   ISO-8601 "YYYY-MM-DDTHH:MM:SS[.mmm](Z|±HH:MM)";
 *   epoch milliseconds (digits only).
 * Returns 0, or -1 with a message naming the bad field in @err.
 */
int ctl_parse_time(const char *text, const char *tz, int64_t *ms, char *err,
		   size_t errlen);
/* Epoch milliseconds below this look like seconds (DESIGN §2.1). */
#define CTL_EPOCH_MS_MIN 100000000000LL
/* 0 when @ms can be epoch milliseconds (0 allowed: the beginning), or -1
 * with "N looks like seconds; raftq expects milliseconds (N000)". */
int ctl_check_epoch_ms(int64_t ms, char *err, size_t errlen);
/* "90m", "2h", "1d", "45s", "500ms", "1h30m" -> milliseconds. */
int ctl_parse_duration(const char *text, int64_t *ms, char *err, size_t errlen);
/* A signed integer ("-12", "+5", "7"); -1 with a message otherwise. */
int ctl_parse_int(const char *text, const char *what, int64_t *out, char *err,
		  size_t errlen);

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
