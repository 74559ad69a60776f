/*
 * util/key_hash.h — header-only: the hash that maps a message key to a
 * queue (FNV-1a, 32 bit), shared by libraftq's producer and raftqctl
 * produce so both put a key on the same queue. Changing it moves keys.
 */
#ifndef RAFTQ_KEY_HASH_H
#define RAFTQ_KEY_HASH_H

#include <stddef.h>
#include <stdint.h>

static inline uint32_t key_hash(const void *key, size_t n)
{
	const uint8_t *k = key;
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ k[i]) * 16777619u;
	return h;
}

#endif
