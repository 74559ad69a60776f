/*
 * libFuzzer target: well-formed frames with hostile field values (issue
 * 10 #1: valid msgpack slips past the frame checks). The input picks a
 * message type with a schema, then for every field of it one of: absent,
 * nil, a value of the wrong kind, empty, huge, or a valid one (lists of
 * structs recursively, two levels deep). The frame is encoded, read back
 * and decoded as a server would. When the decode succeeds the struct must
 * keep the schema's promises — every required string, and every string
 * of a string list, is a real string, never NULL — so no handler is ever
 * handed a NULL it does not expect.
 */
#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

#include "rpc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct src {
	const uint8_t *p;
	size_t n, at;
};

static uint8_t next(struct src *s)
{
	return s->at < s->n ? s->p[s->at++] : 0;
}

static void pack_value(msgpack_packer *pk, const struct rpc_field *fd,
		       struct src *s, int depth);

/* A struct of @sc: a map of its fields, each maybe left out. */
static void pack_struct(msgpack_packer *pk, const struct rpc_schema *sc,
			struct src *s, int depth)
{
	uint8_t keep[64];
	uint32_t n = 0;
	for (uint32_t i = 0; i < sc->n && i < 64; i++)
		n += (keep[i] = next(s) % 8 != 0); /* 1 in 8: absent */
	msgpack_pack_map(pk, n);
	for (uint32_t i = 0; i < sc->n && i < 64; i++) {
		if (!keep[i])
			continue;
		const char *name = sc->fields[i].name;
		msgpack_pack_str_with_body(pk, name, strlen(name));
		pack_value(pk, &sc->fields[i], s, depth);
	}
}

static void pack_huge_string(msgpack_packer *pk)
{
	static char big[70000];
	memset(big, 'a', sizeof big);
	msgpack_pack_str_with_body(pk, big, sizeof big);
}

/* A valid value of @fd's kind. */
static void pack_valid(msgpack_packer *pk, const struct rpc_field *fd,
		       struct src *s, int depth)
{
	switch (fd->kind) {
	case RPC_K_STR:
		msgpack_pack_str_with_body(pk, "orders", 6);
		break;
	case RPC_K_BIN:
		msgpack_pack_bin_with_body(pk, "\x01\x02", 2);
		break;
	case RPC_K_BOOL:
		msgpack_pack_true(pk);
		break;
	case RPC_K_STRS:
		msgpack_pack_array(pk, 2);
		msgpack_pack_str_with_body(pk, "a", 1);
		msgpack_pack_str_with_body(pk, "broker-1:0", 10);
		break;
	case RPC_K_U64S:
		msgpack_pack_array(pk, 1);
		msgpack_pack_uint64(pk, next(s));
		break;
	case RPC_K_LIST:
		msgpack_pack_array(pk, depth < 2 ? 1 : 0);
		if (depth < 2)
			pack_struct(pk, fd->elem, s, depth + 1);
		break;
	default: /* numbers */
		msgpack_pack_uint64(pk, next(s));
	}
}

static void pack_value(msgpack_packer *pk, const struct rpc_field *fd,
		       struct src *s, int depth)
{
	switch (next(s) % 6) {
	case 0: /* nil */
		msgpack_pack_nil(pk);
		break;
	case 1: /* the wrong kind */
		if (fd->kind == RPC_K_STR || fd->kind == RPC_K_BIN)
			msgpack_pack_int64(pk, -1);
		else
			msgpack_pack_str_with_body(pk, "x", 1);
		break;
	case 2: /* empty */
		if (fd->kind == RPC_K_STR)
			msgpack_pack_str(pk, 0);
		else
			msgpack_pack_array(pk, 0);
		break;
	case 3: /* huge */
		if (fd->kind == RPC_K_STR)
			pack_huge_string(pk);
		else if (fd->kind == RPC_K_STRS || fd->kind == RPC_K_U64S)
			msgpack_pack_array(pk, 100000); /* items missing */
		else
			msgpack_pack_uint64(pk, UINT64_MAX);
		break;
	default:
		pack_valid(pk, fd, s, depth);
	}
}

/* The decoded struct at @p keeps @sc's promises (see the header). */
static void check_struct(const struct rpc_schema *sc, const uint8_t *p)
{
	for (uint32_t i = 0; i < sc->n; i++) {
		const struct rpc_field *fd = &sc->fields[i];
		const void *at = p + fd->offset;
		if (fd->kind == RPC_K_STR && fd->required &&
		    *(const char *const *)at == NULL)
			abort();
		if (fd->kind == RPC_K_STRS) {
			const struct rpc_strs *v = at;
			for (uint32_t k = 0; k < v->n; k++)
				if (v->v[k] == NULL)
					abort();
		}
		if (fd->kind == RPC_K_LIST) {
			const struct rpc_list *v = at;
			for (uint32_t k = 0; k < v->n; k++)
				check_struct(fd->elem, (const uint8_t *)v->v +
							   k * fd->elem->size);
		}
	}
}

/* Frames @sb (length prefix), reads and decodes it as @type. */
static void decode(const msgpack_sbuffer *sb, uint16_t type,
		   const struct rpc_schema *sc)
{
	struct rpc_reader r;
	struct rpc_frame f;
	uint32_t n = (uint32_t)sb->size;
	uint8_t h[4] = {(uint8_t)(n >> 24), (uint8_t)(n >> 16),
			(uint8_t)(n >> 8), (uint8_t)n};
	rpc_reader_init(&r, 1u << 24);
	if (rpc_reader_feed(&r, h, 4) == 0 &&
	    rpc_reader_feed(&r, sb->data, sb->size) == 0 &&
	    rpc_reader_next(&r, &f) == 1) {
		void *out = calloc(1, sc->size ? sc->size : 1);
		struct rpc_status st;
		if (out != NULL && rpc_decode(&f, type, out, &st, NULL) == 0)
			check_struct(sc, out);
		free(out);
		rpc_frame_release(&f);
	}
	rpc_reader_close(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct src s = {data, size, 0};
	uint16_t type = (uint16_t)(1 + next(&s) % 32);
	if (next(&s) % 2)
		type |= RPC_RESPONSE;
	const struct rpc_schema *sc = rpc_schema_of(type);
	if (sc == NULL)
		return 0;
	msgpack_sbuffer sb;
	msgpack_packer pk;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, 4);
	msgpack_pack_uint8(&pk, 1);
	msgpack_pack_uint16(&pk, type);
	msgpack_pack_uint8(&pk, 1);
	pack_struct(&pk, sc, &s, 0);
	decode(&sb, type, sc);
	msgpack_sbuffer_destroy(&sb);
	return 0;
}
