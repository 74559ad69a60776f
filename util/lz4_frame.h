/*
 * util/lz4_frame.h — header-only: decompresses one whole lz4 frame (a
 * producer's compressed batch payload, a Raft snapshot) with a bound on the
 * output, so a hostile frame cannot make a reader allocate without limit.
 * Used by raft/ (snapshots), client/ (libraftq's consumer) and ctl/
 * (raftqctl consume); they link liblz4. Depends on nothing else.
 */
#ifndef RAFTQ_LZ4_FRAME_H
#define RAFTQ_LZ4_FRAME_H

#include <stdint.h>
#include <stdlib.h>

#include <lz4frame.h>

/* The largest batch payload accepted, whatever the frame claims. */
#define LZF_MAX_OUTPUT (256u << 20)

enum lzf_result {
	LZF_OK = 0,
	LZF_ENOMEM = -1,   /* memory ran out */
	LZF_ECORRUPT = -2, /* not exactly one valid frame, or over @max */
};

/*
 * Decompresses the lz4 frame @src[0..n) into a malloc'ed buffer *@out
 * (the caller frees it) of *@out_len bytes, at most @max. Returns LZF_OK,
 * or LZF_ENOMEM / LZF_ECORRUPT with *@why saying what was wrong (a static
 * string); *@out is then untouched.
 */
static inline int lzf_inflate(const uint8_t *src, size_t n, size_t max,
			      uint8_t **out, size_t *out_len, const char **why)
{
	LZ4F_dctx *d = NULL;
	*why = "out of memory";
	if (LZ4F_isError(LZ4F_createDecompressionContext(&d, LZ4F_VERSION)))
		return LZF_ENOMEM;
	size_t cap = n * 4 + 1024, len = 0, pos = 0, r = 1;
	uint8_t *buf = malloc(cap);
	int rv = buf ? LZF_OK : LZF_ENOMEM;
	while (rv == LZF_OK && pos < n && r != 0) {
		if (len == cap && cap >= max) {
			*why = "output too large";
			rv = LZF_ECORRUPT;
			break;
		}
		if (len == cap) {
			uint8_t *o = (uint8_t *)realloc(buf, cap * 2);
			if (o == NULL) {
				rv = LZF_ENOMEM;
				break;
			}
			buf = o;
			cap *= 2;
		}
		size_t dst = cap - len, srcn = n - pos;
		r = LZ4F_decompress(d, buf + len, &dst, src + pos, &srcn, NULL);
		if (LZ4F_isError(r) || (dst == 0 && srcn == 0 && r != 0)) {
			*why = LZ4F_isError(r) ? LZ4F_getErrorName(r)
					       : "truncated lz4 frame";
			rv = LZF_ECORRUPT;
		}
		len += dst;
		pos += srcn;
	}
	LZ4F_freeDecompressionContext(d);
	if (rv == LZF_OK && (r != 0 || pos != n || len > max)) {
		*why = r != 0	   ? "truncated lz4 frame"
		       : len > max ? "output too large"
				   : "bytes after the lz4 frame";
		rv = LZF_ECORRUPT;
	}
	if (rv != LZF_OK) {
		free(buf);
		return rv;
	}
	*out = buf;
	*out_len = len;
	return LZF_OK;
}

/* lzf_inflate with LZF_MAX_OUTPUT: the buffer, or NULL on any failure. */
static inline uint8_t *lzf_decode(const uint8_t *src, size_t n, size_t *out_len)
{
	uint8_t *out = NULL;
	const char *why;
	if (lzf_inflate(src, n, LZF_MAX_OUTPUT, &out, out_len, &why) != LZF_OK)
		return NULL;
	return out;
}

#endif
