/*
 * main.c — raftqd: one raftq broker node.
 *   raftqd --config FILE [--KEY VALUE]...      (see --help, docs/CONFIG.md)
 * Exit status: 0 after a clean stop (SIGTERM/SIGINT), 1 when it cannot
 * start (the reason on stderr), 2 for bad usage or configuration.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "node_int.h"

int main(int argc, char **argv)
{
	/* A dead peer must not kill this node (notes/libraft-0.15.md). */
	signal(SIGPIPE, SIG_IGN);
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help-markdown") == 0) {
			node_config_markdown(stdout);
			return 0;
		}
	}
	struct node_config cfg;
	node_config_defaults(&cfg);
	char err[1024];
	bool help, version;
	if (node_config_args(&cfg, argc, argv, &help, &version, err,
			     sizeof err) != 0) {
		fprintf(stderr, "raftqd: %s\n", err);
		return 2;
	}
	if (help) {
		node_config_usage(stdout);
		return 0;
	}
	if (version) {
		printf("raftqd 0.1.0 (libraft %s, libuv %s)\n", "0.15",
		       uv_version_string());
		return 0;
	}
	if (node_config_check(&cfg, err, sizeof err) != 0) {
		fprintf(stderr, "raftqd: %s\n", err);
		return 2;
	}
	enum node_log_level level;
	node_log_parse_level(cfg.log_level, &level);
	node_log_init(stderr, cfg.id, level);
	node_fatal_signals();

	uv_loop_t loop;
	uv_loop_init(&loop);
	struct node *n = calloc(1, sizeof *n);
	if (n == NULL || node_start(n, &loop, &cfg, err, sizeof err) != 0) {
		fprintf(stderr, "raftqd: %s\n", n ? err : "out of memory");
		return 1;
	}
	uv_run(&loop, UV_RUN_DEFAULT);
	int rv = uv_loop_close(&loop);
	if (rv != 0)
		NODE_LOG(NODE_WARN, "node", "loop closed with handles open");
	node_free(n);
	free(n);
	return 0;
}
