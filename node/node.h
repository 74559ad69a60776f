/*
 * node.h — the raftqd daemon's pieces, for raftqd itself and its tests:
 * configuration (one table drives the INI parser, the --flags, --help and
 * docs/CONFIG.md), logging, and the node's lifecycle.
 */
#ifndef RAFTQ_NODE_H
#define RAFTQ_NODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "storage.h"

#define NODE_TEXT 256
#define NODE_SECRET_MIN 16 /* characters of [auth] cluster_secret */
#define NODE_PATH 1024

struct node_config {
	/* [node] */
	uint64_t id;
	char name[128];
	char data_dir[NODE_PATH];
	char listen[NODE_TEXT];
	char listen_bind[NODE_TEXT];  /* "": bind listen itself */
	char http_listen[NODE_TEXT];  /* "": no HTTP (http.c) */
	char cluster_name[NODE_TEXT]; /* the HTTP APIs' instance id */
	char raft_listen[NODE_TEXT];
	char raft_bind[NODE_TEXT];
	char initial_cluster[4096];
	char join[NODE_TEXT];
	char replace[4]; /* "yes": take over this id's place (lost disk) */
	char cluster_secret[NODE_TEXT]; /* [auth]: JOIN, NODE_REMOVE */
	char tokens_file[NODE_PATH];	/* [auth]: clients' tokens; "": off */
	/* [raft] */
	uint32_t election_timeout_ms;
	uint32_t heartbeat_timeout_ms;
	uint32_t snapshot_threshold;
	uint32_t snapshot_trailing;
	uint32_t connect_retry_ms;
	uint32_t session_timeout_ms;
	uint32_t member_lease_ms;
	uint64_t raft_segment_bytes;
	/* [storage] */
	uint32_t retention_hours;
	uint64_t retention_bytes;
	char flush[16];
	uint32_t flush_interval_ms;
	uint64_t segment_bytes;
	uint32_t index_interval_bytes;
	uint32_t max_batch_bytes;
	uint64_t max_open_queues; /* 0: from the open-file limit */
	/* [replication] */
	uint32_t replica_lag_max_ms;
	uint32_t broker_session_ms;
	uint32_t replica_ack_timeout_ms;
	/* [rpc] */
	uint32_t max_frame_bytes;
	uint64_t max_pending_bytes;
	uint32_t max_connections;
	uint64_t max_buffered_bytes;
	uint64_t max_unsent_bytes;
	uint32_t max_requests_per_sec;
	/* [log] */
	char log_level[16];
};

/* One member of initial_cluster: "ID@IP:PORT". */
struct node_peer {
	uint64_t id;
	char raft_address[NODE_TEXT];
};

/* Fills @c with every key's default. */
void node_config_defaults(struct node_config *c);
/* Reads an INI file over @c. Returns 0, or -1 with "FILE:LINE: ..." (or
 * "FILE: ...") in @err. Unknown sections or keys are errors. */
int node_config_load(struct node_config *c, const char *path, char *err,
		     size_t errlen);
/* Sets one key by its flag name ("retention_hours"); -1 with a message
 * naming the key when unknown or out of range. */
int node_config_set(struct node_config *c, const char *key, const char *value,
		    char *err, size_t errlen);
/*
 * Applies argv: --config FILE first (wherever it appears), then every
 * --key=value / --key value in order, so flags override the file. Sets
 * *help or *version when asked. Returns 0 or -1 with a message.
 */
int node_config_args(struct node_config *c, int argc, char **argv, bool *help,
		     bool *version, char *err, size_t errlen);
/* Cross-key checks (required keys, heartbeat < election, addresses,
 * initial_cluster syntax and that it names this node). */
int node_config_check(const struct node_config *c, char *err, size_t errlen);
/* Parses initial_cluster into @peers (at most @max); returns the count,
 * or -1 with a message. */
int node_config_peers(const char *initial_cluster, struct node_peer *peers,
		      int max, char *err, size_t errlen);
/* The storage settings the config describes. */
void node_config_storage(const struct node_config *c, struct stor_config *s);
/* --help text; and docs/CONFIG.md (the same table, as markdown). */
void node_config_usage(FILE *out);
void node_config_markdown(FILE *out);

/* ---- Logging: "time level node=ID module: message" ---- */

enum node_log_level { NODE_DEBUG, NODE_INFO, NODE_WARN, NODE_ERROR };

void node_log_init(FILE *out, uint64_t node_id, enum node_log_level min);
/* Logs one line to stderr before raftqd dies of SIGSEGV, SIGBUS, SIGABRT,
 * SIGFPE or SIGILL, then dies of it (fatal.c). */
void node_fatal_signals(void);
int node_log_parse_level(const char *text, enum node_log_level *out);
bool node_log_enabled(enum node_log_level level);
void node_log_write(enum node_log_level level, const char *module,
		    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* The level is checked before the arguments are formatted. */
#define NODE_LOG(level, module, ...)                                \
	do {                                                        \
		if (node_log_enabled(level))                        \
			node_log_write(level, module, __VA_ARGS__); \
	} while (0)

#endif /* RAFTQ_NODE_H */
