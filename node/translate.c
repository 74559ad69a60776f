/*
 * translate.c — module error codes become wire codes here, and only here.
 */
#include "node_int.h"

uint32_t node_code_from_rsm(int code)
{
	switch (code) {
	case RSM_OK:
		return RPC_OK;
	case RSM_EINVAL:
	case RSM_EUNKNOWN_BROKER:
	case RSM_EUNKNOWN_QUEUE:
		return RPC_INVALID_ARGUMENT;
	case RSM_EEXISTS:
		return RPC_ALREADY_EXISTS;
	case RSM_EUNKNOWN_TOPIC:
		return RPC_UNKNOWN_TOPIC;
	case RSM_EUNKNOWN_GROUP:
		return RPC_UNKNOWN_GROUP;
	case RSM_ESTALE_REPLICAS:
	case RSM_ESTALE_EPOCH:
		return RPC_STALE_EPOCH;
	case RSM_EBROADCAST:
		return RPC_BROADCAST_UNSUPPORTED;
	case RSM_EUNKNOWN_RESET:
		return RPC_NOT_FOUND;
	case RSM_EVERSION:
		return RPC_UNSUPPORTED_VERSION;
	default: /* ENOMEM, EBADCMD, ECORRUPT: our fault, not the caller's */
		return RPC_INTERNAL;
	}
}

uint32_t node_code_from_stor(int code)
{
	switch (code) {
	case STOR_OK:
		return RPC_OK;
	case STOR_EINVAL:
	case STOR_ERANGE:
		return RPC_INVALID_ARGUMENT;
	case STOR_ENOSPC:
	case STOR_EIO:
	case STOR_EBROKEN:
	case STOR_ELOCKED:
		return RPC_UNAVAILABLE; /* this broker cannot store now */
	default:
		return RPC_INTERNAL;
	}
}

const char *node_role_name(int raft_state)
{
	switch (raft_state) {
	case RAFT_LEADER:
		return "leader";
	case RAFT_FOLLOWER:
		return "follower";
	case RAFT_CANDIDATE:
		return "candidate";
	default:
		return "unavailable";
	}
}

uint32_t node_code_from_raft(int code)
{
	switch (code) {
	case 0:
		return RPC_OK;
	case RAFT_NOTLEADER: /* refused at once: nothing was proposed */
		return RPC_NOT_LEADER;
	case RAFT_LEADERSHIPLOST: /* lost in flight: the outcome is unknown */
		return RPC_UNAVAILABLE;
	case RAFT_NOTFOUND:
		return RPC_NOT_FOUND;
	default: /* CANTCHANGE (a change under way), IO, ... : try later */
		return RPC_UNAVAILABLE;
	}
}
