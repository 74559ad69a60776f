/*
 * client.c — the libraftq client that produce and consume use: the same
 * bootstrap list as every other command, requests bounded by --timeout
 * (at most 5 s each, so a retry elsewhere fits in the command's budget).
 */
#include <raftq.h>
#include <stdio.h>

#include "cli.h"

int ctl_client_new(const struct ctl_opts *o, const char *id,
		   struct raftq_client **out)
{
	char err[256];
	uint32_t each = o->timeout_ms < 5000 ? o->timeout_ms : 5000;
	struct raftq_config cfg = {o->bootstrap, id, each, o->token, NULL};
	if (raftq_client_new(&cfg, out, err, sizeof err) != 0) {
		fprintf(stderr, "error: INVALID_ARGUMENT: %s\n", err);
		return 1;
	}
	return 0;
}
