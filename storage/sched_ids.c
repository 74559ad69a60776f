/*
 * sched_ids.c — the schedule ids of a queue's recent batches (storage.h,
 * stor_queue_sched_ids): what a schedule store's owner reconciles against
 * at open, so that no entry is handed over twice (docs/design/
 * retry-delay.md, "Hand-over, exactly once").
 */
#include <stdlib.h>

#include "storage.h"

#define SCAN_BUF (1u << 20)

/* Reads from @off to the queue's end, calling @cb for scheduled batches. */
static int scan(struct stor_queue *q, uint64_t off, uint8_t **buf, size_t *cap,
		stor_sched_id_fn cb, void *data)
{
	struct stor_queue_info info;
	stor_queue_info(q, &info);
	while (off < info.max_offset) {
		size_t len = 0, pos = 0;
		int rv = stor_queue_read(q, off, *buf, *cap, &len);
		if (rv == STOR_EBUFSIZE) {
			uint8_t *b = realloc(*buf, len);
			if (b == NULL)
				return STOR_ENOMEM;
			*buf = b;
			*cap = len;
			continue;
		}
		if (rv != 0)
			return rv;
		struct stor_batch b;
		while ((rv = stor_batch_next(*buf, len, &pos, &b)) == 1) {
			if (b.flags & STOR_BATCH_SCHEDULED)
				cb(data, b.sched_id);
			off = b.base_offset + b.count;
		}
		if (rv != 0)
			return rv;
	}
	return 0;
}

int stor_queue_sched_ids(struct stor_queue *q, int64_t since_ms,
			 stor_sched_id_fn cb, void *data)
{
	uint64_t off;
	int rv = stor_queue_offset_for_time(q, since_ms, &off);
	if (rv != 0)
		return rv;
	size_t cap = SCAN_BUF;
	uint8_t *buf = malloc(cap);
	if (buf == NULL)
		return STOR_ENOMEM;
	rv = scan(q, off, &buf, &cap, cb, data);
	free(buf);
	return rv;
}
