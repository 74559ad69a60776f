/*
 * libFuzzer target: reset plan files (ctl/plan.c). Any bytes must give a
 * plan or an error naming the line, never a crash; a parsed plan has one
 * "broker:queue", one offset and one known topic per queue, and every
 * topic at least one queue.
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
	if (p.n == 0 || p.n > CTL_PLAN_MAX || p.n_topics == 0 ||
	    p.n_topics > CTL_PLAN_TOPICS)
		abort();
	uint32_t used[CTL_PLAN_TOPICS] = {0};
	for (uint32_t i = 0; i < p.n; i++) {
		if (strchr(p.queues[i], ':') == NULL ||
		    p.offsets[i] > (uint64_t)INT64_MAX ||
		    p.topic_of[i] >= p.n_topics)
			abort();
		used[p.topic_of[i]]++;
	}
	for (uint32_t k = 0; k < p.n_topics; k++)
		if (used[k] == 0 || p.topics[k].name[0] == '\0')
			abort();
	ctl_plan_free(&p);
	return 0;
}
