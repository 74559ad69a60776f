/*
 * error.c — names of module errors, wire status codes and message types.
 */
#include <string.h>

#include "../util/error_table.h"
#include "rpc.h"

ERROR_TABLE_FUNCTIONS(rpc_strerror, rpc_errname, RPC_ERRORS, "RPC_UNKNOWN")

/* Wire names drop the RPC_ prefix: "NOT_LEADER". */
static const char *const code_names[] = {
#define RPC_CNAME_(name, value) [value] = &(#name)[4],
    RPC_CODES(RPC_CNAME_)
#undef RPC_CNAME_
};

const char *rpc_code_name(uint32_t code)
{
	if (code < sizeof code_names / sizeof *code_names)
		return code_names[code];
	return NULL;
}

int rpc_code_parse(const char *name)
{
	for (size_t i = 0; i < sizeof code_names / sizeof *code_names; i++)
		if (code_names[i] != NULL && strcmp(code_names[i], name) == 0)
			return (int)i;
	return -1;
}

const char *rpc_type_name(uint16_t type)
{
	uint16_t base = (uint16_t)(type & ~RPC_RESPONSE);
	switch (base) {
#define RPC_TNAME_(num, NAME, req, resp) \
	case (num):                      \
		return #NAME;
		RPC_MESSAGES(RPC_TNAME_)
#undef RPC_TNAME_
	}
	if (type & RPC_RESPONSE)
		return NULL;
	switch (type) {
#define RPC_NNAME_(num, NAME, body) \
	case (num):                 \
		return #NAME;
		RPC_NOTICES(RPC_NNAME_)
#undef RPC_NNAME_
	}
	return NULL;
}
