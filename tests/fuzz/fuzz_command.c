/*
 * libFuzzer target: Raft log entries and snapshots. The input is applied
 * as a command to a state with brokers, a topic and groups, then restored
 * as a snapshot. Apply must never fail on bad bytes (it records them as
 * rejected); restore must refuse them and leave the state unchanged.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rsm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void apply(struct rsm *s, struct raft_buffer b)
{
	const struct rsm_result *r;
	rsm_apply(s, b.base, b.len, &r);
	raft_free(b.base);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rsm *s = rsm_new();
	if (s == NULL)
		return 0;
	for (uint64_t id = 1; id <= 2; id++) {
		struct rsm_broker b;
		memset(&b, 0, sizeof b);
		b.id = id;
		snprintf(b.name, sizeof b.name, "broker-%d", (int)id);
		struct raft_buffer buf;
		if (rsm_encode_register_broker(&b, &buf, NULL, 0) == 0)
			apply(s, buf);
	}
	const char *brokers[] = {"broker-1", "broker-2"};
	struct raft_buffer buf;
	if (rsm_encode_create_topic("t", 2, brokers, 2, 1, &buf, NULL, 0) == 0)
		apply(s, buf);
	if (rsm_encode_create_group("g", RSM_CLUSTERING, RSM_INITIAL_LATEST, 1,
				    &buf, NULL, 0) == 0)
		apply(s, buf);
	uint64_t applied = rsm_applied(s);
	const struct rsm_result *r;
	if (rsm_apply(s, data, size, &r) == 0 && rsm_applied(s) != applied + 1)
		abort(); /* every entry counts, good or bad */
	uint64_t before = rsm_digest(s);
	if (rsm_restore(s, data, size, NULL, 0) != 0 && rsm_digest(s) != before)
		abort(); /* a refused snapshot changes nothing */
	rsm_free(s);
	return 0;
}
