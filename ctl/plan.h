/*
 * plan.h — reset plans (DESIGN.md §2.1): the CSV files of `offset reset
 * --export` and `--from-file` (ctl/plan.c).
 */
#ifndef RAFTQ_CTL_PLAN_H
#define RAFTQ_CTL_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rpc.h"

#define CTL_PLAN_MAX 65536	   /* queues in one plan */
#define CTL_PLAN_BYTES (16u << 20) /* a plan file's size */
/* One topic's plan: "broker:queue_id" and the offset of each. */
struct ctl_plan {
	char topic[128];
	char **queues;
	uint64_t *offsets;
	uint32_t n;
	bool has_epoch; /* the file carries the group's epoch */
	uint64_t epoch;
};
/* Parses the @len bytes of @text (from @name): 0, or -1 with "NAME:LINE:
 * what" in @err and @p empty. */
int ctl_plan_parse(const char *text, size_t len, const char *name,
		   struct ctl_plan *p, char *err, size_t errlen);
/* Reads and parses file @path (at most CTL_PLAN_BYTES), as above. */
int ctl_plan_read(const char *path, struct ctl_plan *p, char *err,
		  size_t errlen);
void ctl_plan_free(struct ctl_plan *p);
/* Writes reset answer @r (of @topic) as a plan: 0, or -1 with @err. */
int ctl_plan_write(const char *path, const struct rpc_reset_resp *r,
		   const char *topic, char *err, size_t errlen);

#endif
