/*
 * libFuzzer target: HTTP API request bodies (node/http_body.c). The
 * first byte picks the endpoint (Huawei, ApsaraMQ, native reset), the
 * rest is the body. Any bytes give a reset request or a refusal naming
 * what was wrong, never a crash; a request accepted encodes as a RESET
 * frame (every string and list it points to is valid) and its lists
 * agree with each other.
 */
#include <stdlib.h>
#include <string.h>

#include "http_body.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const struct rpc_reset_req *q)
{
	if (q->group == NULL || strcmp(q->group, "g") != 0 ||
	    q->target == NULL || q->requester != NULL)
		abort();
	if (q->offsets.n != 0 &&
	    (q->offsets.n != q->queues.n || q->queue_topics.n != q->queues.n))
		abort(); /* a plan: one offset and topic per queue */
	if (q->expect_epochs.n > 1 ||
	    (q->expect_epochs.n == 1 && q->topics.n + (q->topic != NULL) != 1))
		abort(); /* the guard goes with one topic */
	msgpack_sbuffer sb;
	msgpack_sbuffer_init(&sb);
	int rv = rpc_encode(&sb, RPC_RESET, 1, NULL, q, UINT32_MAX);
	msgpack_sbuffer_destroy(&sb);
	if (rv != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	const char *body = (const char *)data + 1;
	size_t len = size - 1;
	struct http_reset r;
	char err[512] = "";
	int rv;
	switch (data[0] % 3) {
	case 0:
		rv = http_body_huawei(body, len, "g", &r, err, sizeof err);
		break;
	case 1:
		rv =
		    http_body_alibaba(body, len, "g", "t", &r, err, sizeof err);
		break;
	default:
		rv = http_body_reset(body, len, "g", &r, err, sizeof err);
	}
	if (rv == 0)
		check(&r.req);
	else if (err[0] == '\0')
		abort(); /* every refusal says why */
	http_reset_free(&r);
	return 0;
}
