/*
 * util/lz4_frame.h — header-only: decompresses one whole lz4 frame (a
 * producer's compressed batch payload) with a bound on the output, so a
 * hostile frame cannot make a reader allocate without limit. Used by
 * client/ (libraftq's consumer) and ctl/ (raftqctl consume); they link
 * liblz4. Depends on nothing else.
 */
#ifndef RAFTQ_LZ4_FRAME_H
#define RAFTQ_LZ4_FRAME_H

#include <stdint.h>
#include <stdlib.h>

#include <lz4frame.h>

/* The largest output accepted, whatever the frame claims. */
#define LZF_MAX_OUTPUT (256u << 20)

/*
 * Decompresses the lz4 frame @src[0..n) into a malloc'ed buffer (the
 * caller frees it) and its length in *out_len. Returns NULL when the
 * bytes are not exactly one valid frame, the output would pass
 * LZF_MAX_OUTPUT, or memory runs out.
 */
static inline uint8_t *lzf_decode(const uint8_t *src, size_t n, size_t *out_len)
{
	LZ4F_dctx *d = NULL;
	if (LZ4F_isError(LZ4F_createDecompressionContext(&d, LZ4F_VERSION)))
		return NULL;
	size_t cap = n * 4 + 1024, len = 0, pos = 0, r = 1;
	uint8_t *out = malloc(cap);
	while (out != NULL && pos < n && r != 0) {
		if (len == cap) {
			uint8_t *o = cap < LZF_MAX_OUTPUT
					 ? (uint8_t *)realloc(out, cap * 2)
					 : NULL;
			if (o == NULL)
				break;
			out = o;
			cap *= 2;
		}
		size_t dst = cap - len, srcn = n - pos;
		r = LZ4F_decompress(d, out + len, &dst, src + pos, &srcn, NULL);
		if (LZ4F_isError(r) || (dst == 0 && srcn == 0 && r != 0))
			break;
		len += dst;
		pos += srcn;
	}
	LZ4F_freeDecompressionContext(d);
	if (out != NULL && (r != 0 || pos != n)) {
		free(out);
		return NULL;
	}
	*out_len = len;
	return out;
}

#endif
