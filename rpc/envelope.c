/*
 * envelope.c — the envelope in front of a retried or dead-lettered
 * message's record (rpc.h struct rpc_envelope; docs/wire-format.md).
 * Brokers write it (SEND_BACK), consumers read it; storage never looks.
 */
#include <assert.h>
#include <string.h>

#include "rpc.h"

#define ENVELOPE_VERSION 1
#define FIXED 25u /* version, times, first failure, offset, queue */

static void put_le(uint8_t *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, int n)
{
	uint64_t v = 0;
	for (int i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

size_t rpc_envelope_size(const struct rpc_envelope *e)
{
	return 4 + FIXED + 6 + strlen(e->topic) + strlen(e->broker_name) +
	       strlen(e->reason);
}

static size_t put_str(uint8_t *p, const char *s)
{
	size_t n = strlen(s);
	put_le(p, n, 2);
	memcpy(p + 2, s, n);
	return 2 + n;
}

size_t rpc_envelope_put(uint8_t *out, const struct rpc_envelope *e)
{
	size_t size = rpc_envelope_size(e);
	put_le(out, size - 4, 4);
	out[4] = ENVELOPE_VERSION;
	put_le(out + 5, e->reconsume_times, 4);
	put_le(out + 9, (uint64_t)e->first_failure_ms, 8);
	put_le(out + 17, e->offset, 8);
	put_le(out + 25, e->queue_id, 4);
	size_t at = 4 + FIXED;
	at += put_str(out + at, e->topic);
	at += put_str(out + at, e->broker_name);
	at += put_str(out + at, e->reason);
	assert(at == size);
	return at;
}

/* A u16-length string at *at of @p (@end bytes) into @out (@max + 1). */
static bool get_str(const uint8_t *p, size_t end, size_t *at, char *out,
		    size_t max)
{
	if (end - *at < 2)
		return false;
	size_t n = (size_t)get_le(p + *at, 2);
	*at += 2;
	if (n > max || end - *at < n || memchr(p + *at, '\0', n) != NULL)
		return false;
	memcpy(out, p + *at, n);
	out[n] = '\0';
	*at += n;
	return true;
}

int rpc_envelope_get(const uint8_t *p, size_t len, struct rpc_envelope *e,
		     size_t *used)
{
	if (len < 4 + FIXED)
		return RPC_EMALFORMED;
	uint64_t body = get_le(p, 4);
	if (body > len - 4 || body < FIXED || p[4] != ENVELOPE_VERSION)
		return RPC_EMALFORMED;
	size_t end = 4 + (size_t)body, at = 4 + FIXED;
	e->reconsume_times = (uint32_t)get_le(p + 5, 4);
	e->first_failure_ms = (int64_t)get_le(p + 9, 8);
	e->offset = get_le(p + 17, 8);
	e->queue_id = (uint32_t)get_le(p + 25, 4);
	if (!get_str(p, end, &at, e->topic, sizeof e->topic - 1) ||
	    !get_str(p, end, &at, e->broker_name, sizeof e->broker_name - 1) ||
	    !get_str(p, end, &at, e->reason, RPC_REASON_MAX) || at != end)
		return RPC_EMALFORMED;
	*used = end;
	return 0;
}
