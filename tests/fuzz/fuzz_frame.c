/*
 * libFuzzer target: bytes from the network. The input is fed to the frame
 * reader in chunks whose sizes come from the input itself; every frame
 * that comes out is decoded against its own type's schema (as a server
 * dispatching it would). Nothing may crash, leak or read out of bounds.
 */
#include <stdlib.h>
#include <string.h>

#include "rpc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rpc_reader r;
	rpc_reader_init(&r, 1u << 20);
	size_t at = 0;
	while (at < size) {
		size_t chunk = 1 + (data[at] % 64);
		if (chunk > size - at)
			chunk = size - at;
		if (rpc_reader_feed(&r, data + at, chunk) != 0)
			break;
		at += chunk;
		struct rpc_frame f;
		int rv;
		while ((rv = rpc_reader_next(&r, &f)) == 1) {
			const struct rpc_schema *sc = rpc_schema_of(f.type);
			if (sc != NULL) {
				void *out = calloc(1, sc->size ? sc->size : 1);
				struct rpc_status st;
				rpc_decode(&f, f.type, out, &st, NULL);
				free(out);
			}
			rpc_frame_release(&f);
		}
		if (rv < 0)
			break; /* the connection would be closed */
	}
	rpc_reader_close(&r);
	return 0;
}
