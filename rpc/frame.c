/*
 * frame.c — the streaming frame reader (DESIGN.md §6): a 4-byte big-endian
 * length, then one msgpack array [version, type, request_id, body].
 *
 * Bytes from the network are checked before msgpack-c sees them: the length
 * against max_frame as soon as the prefix arrives, and the msgpack structure
 * (nesting depth, and no container claiming more elements than bytes remain)
 * so that a few hostile bytes cannot make the unpacker allocate gigabytes.
 */
#include <stdlib.h>
#include <string.h>

#include "rpc.h"
#include "../util/msgpack_check.h"

void rpc_reader_init(struct rpc_reader *r, uint32_t max_frame)
{
	memset(r, 0, sizeof *r);
	r->max_frame = max_frame ? max_frame : RPC_FRAME_MAX_DEFAULT;
}

void rpc_reader_close(struct rpc_reader *r)
{
	free(r->buf);
	memset(r, 0, sizeof *r);
}

void rpc_reader_trim(struct rpc_reader *r)
{
	if (r->start != r->len)
		return;
	r->start = r->len = 0;
	if (r->cap > RPC_READER_KEEP) {
		free(r->buf);
		r->buf = NULL;
		r->cap = 0;
	}
}

int rpc_reader_feed(struct rpc_reader *r, const void *data, size_t n)
{
	if (r->start > 0 && r->start == r->len) {
		r->start = r->len = 0;
	}
	if (r->cap - r->len < n) {
		/* Compact first, grow if that is not enough. */
		if (r->start > 0) {
			memmove(r->buf, r->buf + r->start, r->len - r->start);
			r->len -= r->start;
			r->start = 0;
		}
		if (r->cap - r->len < n) {
			size_t cap = r->cap ? r->cap : 4096;
			while (cap - r->len < n)
				cap *= 2;
			uint8_t *p = realloc(r->buf, cap);
			if (p == NULL)
				return RPC_ENOMEM;
			r->buf = p;
			r->cap = cap;
		}
	}
	memcpy(r->buf + r->len, data, n);
	r->len += n;
	return 0;
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

void rpc_frame_release(struct rpc_frame *f)
{
	if (f->raw != NULL)
		msgpack_unpacked_destroy(&f->unpacked);
	free(f->raw);
	f->raw = NULL;
	f->body = NULL;
}

void rpc_frame_move(struct rpc_frame *dst, struct rpc_frame *src)
{
	*dst = *src;
	/* The top-level object lives inside the unpacked struct itself. */
	if (src->body == &src->unpacked.data)
		dst->body = &dst->unpacked.data;
	memset(src, 0, sizeof *src);
}

int rpc_reader_next(struct rpc_reader *r, struct rpc_frame *f)
{
	memset(f, 0, sizeof *f);
	size_t avail = r->len - r->start;
	if (avail < RPC_FRAME_HEADER)
		return 0;
	uint32_t n = get_be32(r->buf + r->start);
	if (n == 0)
		return RPC_EMALFORMED;
	if (n > r->max_frame)
		return RPC_ETOOBIG;
	if (avail - RPC_FRAME_HEADER < n)
		return 0;
	const uint8_t *p = r->buf + r->start + RPC_FRAME_HEADER;
	r->start += RPC_FRAME_HEADER + n;
	if (mpk_check(p, n, MPK_MAX_DEPTH) != 0)
		return RPC_EMALFORMED;
	f->raw = malloc(n);
	if (f->raw == NULL)
		return RPC_ENOMEM;
	memcpy(f->raw, p, n);
	f->raw_len = n;
	msgpack_unpacked_init(&f->unpacked);
	size_t off = 0;
	int u =
	    msgpack_unpack_next(&f->unpacked, (const char *)f->raw, n, &off);
	const msgpack_object *o = &f->unpacked.data;
	int rv = 0;
	if (u == MSGPACK_UNPACK_NOMEM_ERROR)
		rv = RPC_ENOMEM;
	else if (u != MSGPACK_UNPACK_SUCCESS || off != n ||
		 o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != 4)
		rv = RPC_EMALFORMED;
	if (rv == 0) {
		const msgpack_object *e = o->via.array.ptr;
		if (e[0].type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
		    e[1].type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
		    e[1].via.u64 > 0xffff ||
		    e[2].type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
		    (e[3].type != MSGPACK_OBJECT_MAP &&
		     e[3].type != MSGPACK_OBJECT_NIL)) {
			rv = RPC_EMALFORMED;
		} else {
			f->type = (uint16_t)e[1].via.u64;
			f->request_id = e[2].via.u64;
			f->version =
			    e[0].via.u64 > 255 ? 255 : (uint8_t)e[0].via.u64;
			f->body =
			    e[3].type == MSGPACK_OBJECT_MAP ? &e[3] : NULL;
			if (e[0].via.u64 != RPC_VERSION)
				rv = RPC_EVERSION;
		}
	}
	if (rv != 0) {
		uint16_t type = f->type;
		uint64_t id = f->request_id;
		uint8_t version = f->version;
		rpc_frame_release(f);
		f->type = type;
		f->request_id = id;
		f->version = version;
	}
	return rv == 0 ? 1 : rv;
}
