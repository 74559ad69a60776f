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
#include "rpc_int.h"

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

static uint64_t get_be(const uint8_t *p, int n)
{
	uint64_t v = 0;
	for (int i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

int rpc__msgpack_check(const uint8_t *p, size_t len, int max_depth)
{
	/* remaining[d]: objects still expected at depth d. */
	uint64_t remaining[RPC__MAX_DEPTH + 1];
	int depth = 0;
	size_t i = 0;
	if (max_depth > RPC__MAX_DEPTH)
		max_depth = RPC__MAX_DEPTH;
	remaining[0] = 1;
	while (depth >= 0) {
		if (remaining[depth] == 0) {
			depth--;
			continue;
		}
		remaining[depth]--;
		if (i >= len)
			return RPC_EMALFORMED;
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
				return RPC_EMALFORMED; /* 0xc1: never used */
			sized:
				if (len - i < (size_t)n)
					return RPC_EMALFORMED;
				skip = get_be(p + i, n);
				i += (size_t)n;
				break;
			ext:
				if (len - i < (size_t)n)
					return RPC_EMALFORMED;
				skip = get_be(p + i, n) + 1;
				i += (size_t)n;
				break;
			array:
				if (len - i < (size_t)n)
					return RPC_EMALFORMED;
				count = get_be(p + i, n);
				i += (size_t)n;
				container = true;
				break;
			map:
				if (len - i < (size_t)n)
					return RPC_EMALFORMED;
				count = 2 * get_be(p + i, n);
				i += (size_t)n;
				container = true;
				break;
			}
		}
		if (skip > len - i)
			return RPC_EMALFORMED;
		i += (size_t)skip;
		if (container && count > 0) {
			/* Each element takes at least one byte. */
			if (count > len - i || depth + 1 > max_depth)
				return RPC_EMALFORMED;
			remaining[++depth] = count;
		}
	}
	return i == len ? 0 : RPC_EMALFORMED;
}

void rpc_frame_release(struct rpc_frame *f)
{
	if (f->raw != NULL)
		msgpack_unpacked_destroy(&f->unpacked);
	free(f->raw);
	f->raw = NULL;
	f->body = NULL;
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
	if (rpc__msgpack_check(p, n, RPC__MAX_DEPTH) != 0)
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
