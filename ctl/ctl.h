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
	char via[64]; /* the address that answered */
};

/*
 * Sends @req to the first reachable address of @bootstrap (comma-
 * separated), following NOT_LEADER to the leader's address (up to 3 hops).
 * @out is always filled; free it with ctl_resp_free.
 */
void ctl_call(const char *bootstrap, uint16_t type, const void *req,
	      uint32_t timeout_ms, struct ctl_resp *out);
/* One call to exactly @address. */
void ctl_call_one(const char *address, uint16_t type, const void *req,
		  uint32_t timeout_ms, struct ctl_resp *out);
void ctl_resp_free(struct ctl_resp *r);

#endif /* RAFTQ_CTL_H */
