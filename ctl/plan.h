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
#define CTL_PLAN_TOPICS 256	   /* topics in one plan (one reset) */
#define CTL_PLAN_BYTES (16u << 20) /* a plan file's size */

/* One topic of a plan. */
struct ctl_plan_topic {
	char name[128];
	bool has_epoch; /* the file carries the group's epoch */
	uint64_t epoch;
};

/* A plan: topics in the order they first appear; per row (queue) its
 * "broker:queue_id", offset and topic (an index into @topics). */
struct ctl_plan {
	struct ctl_plan_topic *topics;
	uint32_t n_topics;
	char **queues;
	uint64_t *offsets;
	uint32_t *topic_of;
	uint32_t n;
};
/* Parses the @len bytes of @text (from @name): 0, or -1 with "NAME:LINE:
 * what" in @err and @p empty. */
int ctl_plan_parse(const char *text, size_t len, const char *name,
		   struct ctl_plan *p, char *err, size_t errlen);
/* Reads and parses file @path (at most CTL_PLAN_BYTES), as above. */
int ctl_plan_read(const char *path, struct ctl_plan *p, char *err,
		  size_t errlen);
void ctl_plan_free(struct ctl_plan *p);
/* Writes reset answer @r (every topic of it) as a plan: 0, or -1 with
 * @err. */
int ctl_plan_write(const char *path, const struct rpc_reset_resp *r, char *err,
		   size_t errlen);

#endif
