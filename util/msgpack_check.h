/*
 * util/msgpack_check.h — header-only: checks that bytes from a peer, a file
 * or the network are exactly one well-formed msgpack object before
 * msgpack-c unpacks them. msgpack-c allocates every array and map at its
 * declared size up front, so five hostile bytes could ask for gigabytes;
 * here no container may claim more elements than bytes remain (each takes
 * at least one), strings and binaries must fit, and nesting is bounded.
 * Used by rpc/ (frames) and raft/ (log entries, snapshots); it sits below
 * every module and depends on nothing.
 */
#ifndef RAFTQ_MSGPACK_CHECK_H
#define RAFTQ_MSGPACK_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MPK_MAX_DEPTH 16

static inline uint64_t mpk_be(const uint8_t *p, int n)
{
	uint64_t v = 0;
	for (int i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

/* 0 when @p[0..len) is one such object, -1 otherwise. */
static inline int mpk_check(const uint8_t *p, size_t len, int max_depth)
{
	/* remaining[d]: objects still expected at depth d. */
	uint64_t remaining[MPK_MAX_DEPTH + 1];
	int depth = 0;
	size_t i = 0;
	if (max_depth > MPK_MAX_DEPTH)
		max_depth = MPK_MAX_DEPTH;
	remaining[0] = 1;
	while (depth >= 0) {
		if (remaining[depth] == 0) {
			depth--;
			continue;
		}
		remaining[depth]--;
		if (i >= len)
			return -1;
		uint8_t b = p[i++];
		uint64_t skip = 0, count = 0;
		bool container = false;
		if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 ||
		    b == 0xc3) {
			/* fixint, nil, bool */
		} else if (b >= 0x80 && b <= 0x8f) {
			count = 2ull * (b & 0x0f);
			container = true;
		} else if (b >= 0x90 && b <= 0x9f) {
			count = b & 0x0f;
			container = true;
		} else if (b >= 0xa0 && b <= 0xbf) {
			skip = b & 0x1f;
		} else {
			int n;
			switch (b) {
			case 0xcc:
			case 0xd0:
				skip = 1;
				break;
			case 0xcd:
			case 0xd1:
				skip = 2;
				break;
			case 0xca:
			case 0xce:
			case 0xd2:
				skip = 4;
				break;
			case 0xcb:
			case 0xcf:
			case 0xd3:
				skip = 8;
				break;
			case 0xd4:
				skip = 2;
				break;
			case 0xd5:
				skip = 3;
				break;
			case 0xd6:
				skip = 5;
				break;
			case 0xd7:
				skip = 9;
				break;
			case 0xd8:
				skip = 17;
				break;
			case 0xc4:
			case 0xd9:
				n = 1;
				goto sized;
			case 0xc5:
			case 0xda:
				n = 2;
				goto sized;
			case 0xc6:
			case 0xdb:
				n = 4;
				goto sized;
			case 0xc7:
				n = 1;
				goto ext;
			case 0xc8:
				n = 2;
				goto ext;
			case 0xc9:
				n = 4;
				goto ext;
			case 0xdc:
				n = 2;
				goto array;
			case 0xdd:
				n = 4;
				goto array;
			case 0xde:
				n = 2;
				goto map;
			case 0xdf:
				n = 4;
				goto map;
			default:
				return -1; /* 0xc1: never used */
			sized:
				if (len - i < (size_t)n)
					return -1;
				skip = mpk_be(p + i, n);
				i += (size_t)n;
				break;
			ext:
				if (len - i < (size_t)n)
					return -1;
				skip = mpk_be(p + i, n) + 1;
				i += (size_t)n;
				break;
			array:
				if (len - i < (size_t)n)
					return -1;
				count = mpk_be(p + i, n);
				i += (size_t)n;
				container = true;
				break;
			map:
				if (len - i < (size_t)n)
					return -1;
				count = 2 * mpk_be(p + i, n);
				i += (size_t)n;
				container = true;
				break;
			}
		}
		if (skip > len - i)
			return -1;
		i += (size_t)skip;
		if (container && count > 0) {
			/* Each element takes at least one byte. */
			if (count > len - i || depth + 1 > max_depth)
				return -1;
			remaining[++depth] = count;
		}
	}
	return i == len ? 0 : -1;
}

#endif /* RAFTQ_MSGPACK_CHECK_H */
