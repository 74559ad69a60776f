/*
 * libFuzzer target: the batches a FETCH answer carries, as a consumer
 * reads them — batch headers (rpc_batch_next), a retried message's
 * envelope (rpc_envelope_get), the records (rpc_record_next). Whatever
 * decodes must re-encode to the same bytes (envelopes), and nothing may
 * crash or read out of bounds.
 */
#include <stdlib.h>
#include <string.h>

#include "rpc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void records(const uint8_t *p, size_t len)
{
	size_t at = 0;
	struct rpc_record rec;
	while (rpc_record_next(p, len, &at, &rec) == 1)
		;
}

static void envelope(const uint8_t *p, size_t len)
{
	struct rpc_envelope e;
	size_t used;
	if (rpc_envelope_get(p, len, &e, &used) != 0)
		return;
	uint8_t *again = malloc(rpc_envelope_size(&e));
	if (again == NULL)
		abort();
	if (rpc_envelope_put(again, &e) != used || memcmp(again, p, used) != 0)
		abort();
	free(again);
	records(p + used, len - used);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t at = 0;
	struct rpc_batch b;
	while (rpc_batch_next(data, size, &at, &b) == 1) {
		if (b.flags & RPC_BATCH_ENVELOPE)
			envelope(b.payload, b.payload_len);
		else
			records(b.payload, b.payload_len);
	}
	envelope(data, size); /* the envelope on its own, too */
	return 0;
}
