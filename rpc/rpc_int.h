/* rpc_int.h — shared inside rpc/ only. */
#ifndef RAFTQ_RPC_INT_H
#define RAFTQ_RPC_INT_H

#include <stddef.h>
#include <stdint.h>

/* Deepest msgpack nesting accepted from the network. */
#define RPC__MAX_DEPTH 16

/* 0 when @p[0..len) is exactly one well-formed msgpack object no deeper
 * than @max_depth whose containers never claim more elements than bytes
 * remain; RPC_EMALFORMED otherwise. */
int rpc__msgpack_check(const uint8_t *p, size_t len, int max_depth);

#endif /* RAFTQ_RPC_INT_H */
