/*
 * ct.h — comparing a secret with what a client gave, in time that does not
 * depend on the secret's bytes (only on the length of what was given,
 * which the client knows anyway), so timing cannot reveal it byte by byte.
 */
#ifndef RAFTQ_UTIL_CT_H
#define RAFTQ_UTIL_CT_H

#include <stdbool.h>
#include <string.h>

/* Whether @given equals the non-empty @secret. */
static inline bool ct_str_equal(const char *secret, const char *given)
{
	size_t ls = strlen(secret), lg = strlen(given);
	unsigned char d = (unsigned char)(ls != lg || ls == 0);
	for (size_t i = 0; i < lg && ls > 0; i++)
		d |= (unsigned char)(given[i] ^ secret[i % ls]);
	return d == 0;
}

#endif
