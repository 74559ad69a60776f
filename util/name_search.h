/*
 * util/name_search.h — header-only: binary search of an array of structs
 * sorted by a name that is each struct's first member (the state's topics
 * and groups, a broker's schedule targets). Depends on libc only.
 */
#ifndef RAFTQ_NAME_SEARCH_H
#define RAFTQ_NAME_SEARCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Index of @name among the @n @size-byte structs at @base; *found tells
 * whether it is there (else: where it would be inserted). */
static inline uint32_t name_search(const void *base, uint32_t n, size_t size,
				   const char *name, bool *found)
{
	uint32_t lo = 0, hi = n;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		int c = strcmp((const char *)base + (size_t)mid * size, name);
		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

#endif /* RAFTQ_NAME_SEARCH_H */
