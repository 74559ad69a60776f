/*
 * util/grow.h — header-only: makes room in a growable array, doubling its
 * capacity (the one growth rule every module uses). Depends on libc only.
 */
#ifndef RAFTQ_GROW_H
#define RAFTQ_GROW_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

/*
 * Ensures *@v (an array of @esize-byte elements with room for *@cap) has
 * room for @need elements: 0, or -1 when out of memory or @need * @esize
 * overflows (then *@v and *@cap are unchanged).
 */
static inline int grow(void **v, size_t *cap, size_t need, size_t esize)
{
	if (need <= *cap)
		return 0;
	size_t n = *cap ? *cap : 8;
	while (n < need)
		n *= 2;
	if (n > SIZE_MAX / esize)
		return -1;
	void *p = realloc(*v, n * esize);
	if (p == NULL)
		return -1;
	*v = p;
	*cap = n;
	return 0;
}

#endif
