/*
 * records.c — the records inside a batch payload (docs/wire-format.md,
 * "Records"): for each record a u32 key length (0xffffffff: no key), the
 * key, a u32 body length, the body; little-endian. Producers encode,
 * brokers check (rpc_records_check: a batch is stored only if it is what
 * its count says), consumers decode; storage never looks inside.
 */
#include <stdio.h>
#include <string.h>

#include "rpc.h"

#define NO_KEY 0xffffffffu

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

size_t rpc_record_size(size_t key_len, bool has_key, size_t body_len)
{
	return 8 + (has_key ? key_len : 0) + body_len;
}

size_t rpc_record_put(uint8_t *out, const void *key, size_t key_len,
		      const void *body, size_t body_len)
{
	size_t at = 0;
	put32(out, key ? (uint32_t)key_len : NO_KEY);
	at += 4;
	if (key != NULL) {
		memcpy(out + at, key, key_len);
		at += key_len;
	}
	put32(out + at, (uint32_t)body_len);
	at += 4;
	memcpy(out + at, body, body_len);
	return at + body_len;
}

int rpc_record_next(const uint8_t *p, size_t len, size_t *pos,
		    struct rpc_record *out)
{
	if (*pos == len)
		return 0;
	if (*pos > len || len - *pos < 4)
		return RPC_EMALFORMED;
	uint32_t klen = get32(p + *pos);
	size_t at = *pos + 4;
	out->key = NULL;
	out->key_len = 0;
	if (klen != NO_KEY) {
		if (len - at < klen)
			return RPC_EMALFORMED;
		out->key = p + at;
		out->key_len = klen;
		at += klen;
	}
	if (len - at < 4)
		return RPC_EMALFORMED;
	uint32_t blen = get32(p + at);
	at += 4;
	if (len - at < blen)
		return RPC_EMALFORMED;
	out->body = p + at;
	out->body_len = blen;
	*pos = at + blen;
	return 1;
}

int rpc_records_check(const uint8_t *payload, size_t len, uint32_t count,
		      char *why, size_t whylen)
{
	size_t pos = 0;
	uint32_t n = 0;
	struct rpc_record rec;
	int rv;
	while ((rv = rpc_record_next(payload, len, &pos, &rec)) == 1)
		n++;
	if (rv < 0) {
		snprintf(why, whylen, "record %u runs past the payload", n + 1);
		return -1;
	}
	if (n != count) {
		snprintf(why, whylen,
			 "%u record%s in the payload, its count "
			 "says %u",
			 n, n == 1 ? "" : "s", count);
		return -1;
	}
	return 0;
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

int rpc_batch_next(const uint8_t *p, size_t len, size_t *pos,
		   struct rpc_batch *out)
{
	if (*pos == len)
		return 0;
	if (*pos > len || len - *pos < RPC_BATCH_HEADER)
		return RPC_EMALFORMED;
	const uint8_t *h = p + *pos;
	uint32_t plen = get32(h + 12);
	if (memcmp(h, "RQBT", 4) != 0 ||
	    (h[9] & ~(unsigned)RPC_BATCH_FLAGS_KNOWN) != 0 ||
	    len - *pos - RPC_BATCH_HEADER < plen)
		return RPC_EMALFORMED;
	out->flags = h[9];
	out->base_offset = get64(h + 16);
	out->count = get32(h + 24);
	out->store_time = (int64_t)get64(h + 32);
	out->payload = h + RPC_BATCH_HEADER;
	out->payload_len = plen;
	*pos += RPC_BATCH_HEADER + plen;
	return 1;
}
