/*
 * fault_points.c — named fault points in the queue storage's system calls,
 * for the nemesis's `disk` fault (docs/reliability.md). Built with libfiu
 * (Debian libfiu-dev) the points are
 *
 *   raftq/storage/write   a queue segment or index write fails (EIO)
 *   raftq/storage/sync    an fdatasync of one fails (EIO)
 *   raftq/schedule/crash_before_done
 *                         the node aborts right after handing a delayed
 *                         batch over to its queue, before marking it done
 *                         in the schedule store (the crash the hand-over's
 *                         reconciliation exists for)
 *
 * enabled at run time with fiu-ctrl on a node started under fiu-run
 * (without -x: libraft's own Raft log I/O is left alone, unlike libfiu's
 * POSIX wrappers, which failed both). Off, each is one lookup in libfiu's
 * empty table per storage call. Built without libfiu: no points.
 */
#include "node_int.h"

#ifdef RAFTQ_FAULT_POINTS
#include <errno.h>
#include <fiu.h>

static int storage_fault(void *data, enum stor_op op, const char *path)
{
	(void)data, (void)path;
	if (op == STOR_OP_WRITE && fiu_fail("raftq/storage/write"))
		return EIO;
	if (op == STOR_OP_FSYNC && fiu_fail("raftq/storage/sync"))
		return EIO;
	return 0;
}

static const struct stor_env env = {NULL, NULL, storage_fault};

const struct stor_env *node_storage_env(void)
{
	return &env;
}

bool node_fault_crash(const char *name)
{
	return fiu_fail(name) != 0;
}
#else
bool node_fault_crash(const char *name)
{
	(void)name;
	return false;
}

const struct stor_env *node_storage_env(void)
{
	return NULL;
}
#endif
