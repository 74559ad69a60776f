/*
 * libFuzzer target: reset plan files (ctl/plan.c). Any bytes must give a
 * plan or an error naming the line, never a crash; a parsed plan has one
 * "broker:queue" and one offset per queue, all of one topic.
 */
#include <stdlib.h>
#include <string.h>

#include "plan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ctl_plan p;
	char err[512];
	if (ctl_plan_parse((const char *)data, size, "fuzz", &p, err,
			   sizeof err) != 0) {
		if (strncmp(err, "fuzz:", 5) != 0)
			abort(); /* every error names the file */
		return 0;
	}
	if (p.n == 0 || p.n > CTL_PLAN_MAX || p.topic[0] == '\0')
		abort();
	for (uint32_t i = 0; i < p.n; i++)
		if (strchr(p.queues[i], ':') == NULL ||
		    p.offsets[i] > (uint64_t)INT64_MAX)
			abort();
	ctl_plan_free(&p);
	return 0;
}
