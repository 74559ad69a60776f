/*
 * config.c — raftqd's configuration. One table names every key with its
 * section, type, default, range and help; the INI parser (Debian's libinih),
 * the --flags, --help and docs/CONFIG.md are all driven by it, so they
 * cannot disagree. Errors name the key, and for files the line.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <ini.h>

#include "../util/errbuf.h"
#include "node.h"
#include "rpc.h"
#include "rsm.h"

enum kind { K_U64, K_U32, K_STR, K_ENUM };

struct key {
	const char *section;
	const char *name;
	enum kind kind;
	size_t offset;
	size_t size; /* K_STR, K_ENUM: buffer size */
	const char *def;
	uint64_t min, max;   /* numbers */
	const char *choices; /* K_ENUM: "a|b|c" */
	const char *help;
};

#define OFF(f) offsetof(struct node_config, f)
#define SZ(f) sizeof(((struct node_config *)0)->f)

static const struct key keys[] = {
    {"node", "id", K_U64, OFF(id), 0, "0", 1, UINT32_MAX, NULL,
     "this node's Raft id (required, unique, > 0)"},
    {"node", "name", K_STR, OFF(name), SZ(name), "", 0, 0, NULL,
     "broker name (default broker-<id>); 1-127 of A-Z a-z 0-9 . _ -"},
    {"node", "data_dir", K_STR, OFF(data_dir), SZ(data_dir), "", 0, 0, NULL,
     "directory for the Raft log and the queues (required)"},
    {"node", "listen", K_STR, OFF(listen), SZ(listen), "127.0.0.1:9101", 0, 0,
     NULL, "client/admin RPC address, numeric IP:PORT"},
    {"node", "http_listen", K_STR, OFF(http_listen), SZ(http_listen), "", 0, 0,
     NULL,
     "HTTP address (health, metrics, the seeds' reset APIs, /api/v1, "
     "the console; docs/http-api.md), numeric IP:PORT; empty: no HTTP"},
    {"node", "cluster_name", K_STR, OFF(cluster_name), SZ(cluster_name),
     "raftq", 0, 0, NULL,
     "the cluster's name: the instance id of the HTTP reset APIs "
     "(Huawei instance_id, ApsaraMQ instanceId); same on every node; "
     "1-127 of A-Z a-z 0-9 . _ -"},
    {"node", "raft_listen", K_STR, OFF(raft_listen), SZ(raft_listen),
     "127.0.0.1:9201", 0, 0, NULL,
     "Raft address, numeric IPv4:PORT (libraft resolves no names)"},
    {"node", "listen_bind", K_STR, OFF(listen_bind), SZ(listen_bind), "", 0, 0,
     NULL,
     "address to bind the client port to, when peers and clients reach "
     "listen through a proxy or NAT (default: listen)"},
    {"node", "raft_bind", K_STR, OFF(raft_bind), SZ(raft_bind), "", 0, 0, NULL,
     "address to bind the Raft port to, when peers reach raft_listen "
     "through a proxy or NAT (default: raft_listen)"},
    {"node", "initial_cluster", K_STR, OFF(initial_cluster),
     SZ(initial_cluster), "", 0, 0, NULL,
     "the initial voters, ID@IP:PORT,... (raft addresses); identical on "
     "every initial node"},
    {"node", "join", K_STR, OFF(join), SZ(join), "", 0, 0, NULL,
     "client address of a running node: join its cluster instead of "
     "bootstrapping"},
    {"node", "replace", K_ENUM, OFF(replace), SZ(replace), "no", 0, 0, "no|yes",
     "yes: this node's data dir was lost; started empty with join, it "
     "stays out of Raft until the leader has removed its id from the "
     "configuration, then joins as a new member (never voting with "
     "forgotten state) and rebuilds its replicas from the others "
     "(docs/deploy.md); ignored once it is a member again"},
    {"auth", "cluster_secret", K_STR, OFF(cluster_secret), SZ(cluster_secret),
     "", 0, 0, NULL,
     "shared by every node: JOIN and NODE_REMOVE must carry it; required "
     "for a cluster of several nodes (16 or more characters)"},
    {"auth", "tokens_file", K_STR, OFF(tokens_file), SZ(tokens_file), "", 0, 0,
     NULL,
     "client authentication: a file of NAME HASH PERM[,PERM...] lines "
     "(docs/security.md); every client connection must then AUTH with a "
     "token first. Empty: off, anyone may do anything"},
    {"raft", "election_timeout_ms", K_U32, OFF(election_timeout_ms), 0, "1000",
     50, 60000, NULL, "election timeout (tests: 300)"},
    {"raft", "heartbeat_timeout_ms", K_U32, OFF(heartbeat_timeout_ms), 0, "100",
     10, 10000, NULL,
     "heartbeat interval; must be below election_timeout_ms / 2"},
    {"raft", "snapshot_threshold", K_U32, OFF(snapshot_threshold), 0, "8192",
     16, 100000000, NULL,
     "entries between snapshots (small values stall commits)"},
    {"raft", "snapshot_trailing", K_U32, OFF(snapshot_trailing), 0, "2048", 8,
     100000000, NULL, "entries kept in the log after a snapshot"},
    {"raft", "connect_retry_ms", K_U32, OFF(connect_retry_ms), 0, "200", 10,
     60000, NULL, "delay before reconnecting to a peer"},
    {"node", "session_timeout_ms", K_U32, OFF(session_timeout_ms), 0, "10000",
     100, 600000, NULL, "a consumer-group member silent this long is dropped"},
    {"node", "member_lease_ms", K_U32, OFF(member_lease_ms), 0, "3000", 100,
     600000, NULL,
     "a member delivers only this long after its last heartbeat was "
     "answered; a reset no member confirmed answers after it (at most "
     "session_timeout_ms)"},
    {"raft", "raft_segment_bytes", K_U64, OFF(raft_segment_bytes), 0, "8388608",
     65536, 1073741824, NULL, "Raft log segment size"},
    {"storage", "retention_hours", K_U32, OFF(retention_hours), 0, "72", 0,
     1000000, NULL, "delete segments older than this; 0 keeps forever"},
    {"storage", "retention_bytes", K_U64, OFF(retention_bytes), 0, "0", 0,
     UINT64_MAX, NULL, "per-queue size limit; 0 = none"},
    {"storage", "flush", K_ENUM, OFF(flush), SZ(flush), "sync", 0, 0,
     "sync|interval|os",
     "sync: fsync before acking; interval: every flush_interval_ms; os"},
    {"storage", "flush_interval_ms", K_U32, OFF(flush_interval_ms), 0, "1000",
     1, 3600000, NULL, "with flush=interval"},
    {"storage", "segment_bytes", K_U64, OFF(segment_bytes), 0, "134217728",
     65536, 1073741824, NULL, "queue segment size"},
    {"storage", "index_interval_bytes", K_U32, OFF(index_interval_bytes), 0,
     "4096", 512, 1048576, NULL, "bytes of log between index entries"},
    {"storage", "max_batch_bytes", K_U32, OFF(max_batch_bytes), 0, "16777216",
     1, 536870912, NULL, "largest producer batch accepted"},
    {"storage", "max_open_queues", K_U64, OFF(max_open_queues), 0, "0", 0,
     100000000, NULL,
     "queues that keep their files open (about 5 each); past it the least "
     "recently used idle queue closes its files until its next use; 0: "
     "what the open-file limit allows (raised to its hard limit at start)"},
    {"replication", "replica_lag_max_ms", K_U32, OFF(replica_lag_max_ms), 0,
     "1000", 100, 600000, NULL,
     "a follower that has not reached its leader's log end for this long "
     "leaves the queue's in-sync set (it rejoins once caught up)"},
    {"replication", "broker_session_ms", K_U32, OFF(broker_session_ms), 0,
     "500", 200, 600000, NULL,
     "the Raft leader fences a broker it has not heard from for this long: "
     "its queues get new leaders (the same on every node)"},
    {"replication", "replica_ack_timeout_ms", K_U32,
     OFF(replica_ack_timeout_ms), 0, "5000", 100, 600000, NULL,
     "an acks=all produce not confirmed by the in-sync replicas within "
     "this long is answered TIMEOUT (it may still be stored)"},
    {"rpc", "max_frame_bytes", K_U32, OFF(max_frame_bytes), 0, "16777216", 1024,
     1073741824, NULL, "largest RPC frame accepted"},
    {"rpc", "max_pending_bytes", K_U64, OFF(max_pending_bytes), 0, "67108864",
     65536, UINT64_MAX, NULL,
     "unsent output per connection before reading from it pauses"},
    {"rpc", "max_unsent_bytes", K_U64, OFF(max_unsent_bytes), 0, "100663296",
     1048576, UINT64_MAX, NULL,
     "answers queued for all connections and not yet written; FETCH "
     "answers are cut to what is left (empty when nothing is)"},
    {"rpc", "max_requests_per_sec", K_U32, OFF(max_requests_per_sec), 0,
     "250000", 1, 100000000, NULL,
     "requests one connection may send in a second; the connection that "
     "goes over is closed (logged)"},
    {"rpc", "max_connections", K_U32, OFF(max_connections), 0, "1024", 1,
     1000000, NULL,
     "client connections open at once; one more is closed as it arrives "
     "(logged)"},
    {"rpc", "max_buffered_bytes", K_U64, OFF(max_buffered_bytes), 0,
     "100663296", 1048576, UINT64_MAX, NULL,
     "request bytes all connections may hold (partial frames count); the "
     "connection that goes over is closed (logged); at least "
     "max_frame_bytes"},
    {"log", "level", K_ENUM, OFF(log_level), SZ(log_level), "info", 0, 0,
     "debug|info|warn|error", "lowest level logged"},
};

#define NKEYS (sizeof keys / sizeof keys[0])

static const struct key *find(const char *section, const char *name)
{
	for (size_t i = 0; i < NKEYS; i++)
		if ((section == NULL ||
		     strcmp(keys[i].section, section) == 0) &&
		    strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

static bool choice_ok(const char *choices, const char *v)
{
	size_t n = strlen(v);
	for (const char *p = choices; *p;) {
		const char *bar = strchr(p, '|');
		size_t len = bar ? (size_t)(bar - p) : strlen(p);
		if (len == n && strncmp(p, v, n) == 0)
			return true;
		p += len + (bar ? 1 : 0);
	}
	return false;
}

static int set(struct node_config *c, const struct key *k, const char *v,
	       char *err, size_t n)
{
	char *p = (char *)c + k->offset;
	switch (k->kind) {
	case K_U64:
	case K_U32: {
		char *end;
		if (*v == '\0' || *v == '-')
			return errbuf_set(
			    -1, err, n, "%s: '%s' is not a number", k->name, v);
		errno = 0;
		unsigned long long x = strtoull(v, &end, 10);
		if (errno != 0 || *end != '\0')
			return errbuf_set(
			    -1, err, n, "%s: '%s' is not a number", k->name, v);
		if (x < k->min || x > k->max)
			return errbuf_set(-1, err, n,
					  "%s: %llu is out of range %" PRIu64
					  "..%" PRIu64,
					  k->name, x, k->min, k->max);
		if (k->kind == K_U64)
			*(uint64_t *)p = x;
		else
			*(uint32_t *)p = (uint32_t)x;
		return 0;
	}
	case K_ENUM:
		if (!choice_ok(k->choices, v))
			return errbuf_set(-1, err, n,
					  "%s: '%s' is not one of %s", k->name,
					  v, k->choices);
		/* fall through */
	case K_STR:
		if (strlen(v) >= k->size)
			return errbuf_set(-1, err, n,
					  "%s: value longer than %zu bytes",
					  k->name, k->size - 1);
		memcpy(p, v, strlen(v) + 1);
		return 0;
	}
	return -1;
}

void node_config_defaults(struct node_config *c)
{
	memset(c, 0, sizeof *c);
	for (size_t i = 0; i < NKEYS; i++) {
		char p[4];
		set(c, &keys[i], keys[i].def, p, 0);
	}
}

int node_config_set(struct node_config *c, const char *key, const char *value,
		    char *err, size_t errlen)
{
	const struct key *k = find(NULL, key);
	if (k == NULL)
		return errbuf_set(-1, err, errlen,
				  "unknown key '%s' (see raftqd --help)", key);
	return set(c, k, value, err, errlen);
}

struct ini_ctx {
	struct node_config *c;
	char err[512];
	bool failed;
};

static int ini_cb(void *user, const char *section, const char *name,
		  const char *value)
{
	struct ini_ctx *x = user;
	const struct key *k = find(section, name);
	char e[400];
	int rv;
	if (k == NULL) {
		rv =
		    find(NULL, name) != NULL
			? errbuf_set(-1, e, sizeof e,
				     "key '%s' belongs in [%s], not [%s]", name,
				     find(NULL, name)->section, section)
			: errbuf_set(-1, e, sizeof e,
				     "unknown key '%s' in [%s]", name, section);
	} else {
		rv = set(x->c, k, value, e, sizeof e);
	}
	if (rv != 0 && !x->failed) {
		x->failed = true;
		snprintf(x->err, sizeof x->err, "%s", e);
	}
	return rv == 0;
}

int node_config_load(struct node_config *c, const char *path, char *err,
		     size_t errlen)
{
	struct ini_ctx x = {c, "", false};
	struct stat st;
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode))
		return errbuf_set(-1, err, errlen,
				  "%s: not a regular file (a directory?)",
				  path);
	int rv = ini_parse(path, ini_cb, &x);
	if (rv == -1)
		return errbuf_set(-1, err, errlen, "%s: cannot open: %s", path,
				  strerror(errno));
	if (rv == -2)
		return errbuf_set(-1, err, errlen, "%s: out of memory", path);
	if (rv > 0)
		return errbuf_set(-1, err, errlen, "%s:%d: %s", path, rv,
				  x.failed ? x.err : "syntax error");
	return 0;
}

int node_config_args(struct node_config *c, int argc, char **argv, bool *help,
		     bool *version, char *err, size_t errlen)
{
	*help = *version = false;
	/* The file first, so flags override it. */
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *file = NULL;
		if (strcmp(a, "--config") == 0) {
			if (i + 1 >= argc)
				return errbuf_set(-1, err, errlen,
						  "--config needs a file");
			file = argv[++i];
		} else if (strncmp(a, "--config=", 9) == 0) {
			file = a + 9;
		}
		if (file != NULL && node_config_load(c, file, err, errlen) != 0)
			return -1;
	}
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			*help = true;
			continue;
		}
		if (strcmp(a, "--version") == 0) {
			*version = true;
			continue;
		}
		if (strncmp(a, "--", 2) != 0)
			return errbuf_set(-1, err, errlen,
					  "unexpected argument '%s'", a);
		char key[64];
		const char *value;
		const char *eq = strchr(a + 2, '=');
		size_t klen = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
		if (klen == 0 || klen >= sizeof key)
			return errbuf_set(-1, err, errlen, "bad flag '%s'", a);
		memcpy(key, a + 2, klen);
		key[klen] = '\0';
		for (char *p = key; *p; p++)
			if (*p == '-')
				*p = '_';
		if (eq != NULL) {
			value = eq + 1;
		} else {
			if (i + 1 >= argc)
				return errbuf_set(-1, err, errlen,
						  "--%s needs a value", key);
			value = argv[++i];
		}
		if (strcmp(key, "config") == 0)
			continue;
		if (node_config_set(c, key, value, err, errlen) != 0)
			return -1;
	}
	return 0;
}

int node_config_peers(const char *list, struct node_peer *peers, int max,
		      char *err, size_t errlen)
{
	int n = 0;
	const char *p = list;
	while (*p) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		char item[NODE_TEXT + 32];
		if (len == 0 || len >= sizeof item)
			return errbuf_set(
			    -1, err, errlen,
			    "initial_cluster: empty or too long item");
		memcpy(item, p, len);
		item[len] = '\0';
		char *at = strchr(item, '@');
		char *end;
		if (at == NULL)
			return errbuf_set(
			    -1, err, errlen,
			    "initial_cluster: '%s' is not ID@IP:PORT", item);
		*at = '\0';
		errno = 0;
		unsigned long long id = strtoull(item, &end, 10);
		if (errno != 0 || *end != '\0' || id == 0 || id > UINT32_MAX)
			return errbuf_set(-1, err, errlen,
					  "initial_cluster: bad node id '%s'",
					  item);
		struct sockaddr_storage ss;
		if (rpc_addr_parse(at + 1, &ss) != 0 || ss.ss_family != AF_INET)
			return errbuf_set(
			    -1, err, errlen,
			    "initial_cluster: '%s' is not a numeric "
			    "IPv4:PORT",
			    at + 1);
		if (n >= max)
			return errbuf_set(-1, err, errlen,
					  "initial_cluster: more than %d nodes",
					  max);
		for (int i = 0; i < n; i++)
			if (peers[i].id == id)
				return errbuf_set(
				    -1, err, errlen,
				    "initial_cluster: node %llu listed "
				    "twice",
				    id);
		peers[n].id = id;
		snprintf(peers[n].raft_address, sizeof peers[n].raft_address,
			 "%s", at + 1);
		n++;
		p += len + (comma ? 1 : 0);
	}
	return n;
}

static int secret_required(char *err, size_t errlen)
{
	return errbuf_set(-1, err, errlen,
			  "cluster_secret: required for a cluster of several "
			  "nodes ([auth] cluster_secret, the same on every "
			  "node: JOIN and NODE_REMOVE must carry it)");
}

/* The keys that limit one another. */
static int check_relations(const struct node_config *c, char *err,
			   size_t errlen)
{
	if (c->max_batch_bytes > c->segment_bytes / 2)
		return errbuf_set(
		    -1, err, errlen,
		    "max_batch_bytes (%u) must be at most segment_bytes "
		    "/ 2 (%" PRIu64 ")",
		    c->max_batch_bytes, c->segment_bytes / 2);
	if (c->heartbeat_timeout_ms * 2 > c->election_timeout_ms)
		return errbuf_set(-1, err, errlen,
				  "heartbeat_timeout_ms (%u) must be below "
				  "election_timeout_ms / 2 (%u)",
				  c->heartbeat_timeout_ms,
				  c->election_timeout_ms / 2);
	if (c->max_buffered_bytes < c->max_frame_bytes)
		return errbuf_set(-1, err, errlen,
				  "max_buffered_bytes (%" PRIu64
				  ") must be at least max_frame_bytes (%u)",
				  c->max_buffered_bytes, c->max_frame_bytes);
	if (c->member_lease_ms > c->session_timeout_ms)
		return errbuf_set(-1, err, errlen,
				  "member_lease_ms (%u) must not exceed "
				  "session_timeout_ms (%u)",
				  c->member_lease_ms, c->session_timeout_ms);
	return 0;
}

/* The node's own addresses: numeric, the Raft ones IPv4 (libraft). */
static int check_addresses(const struct node_config *c, char *err,
			   size_t errlen)
{
	struct sockaddr_storage ss;
	if (rpc_addr_parse(c->listen, &ss) != 0)
		return errbuf_set(-1, err, errlen,
				  "listen: '%s' is not a numeric IP:PORT",
				  c->listen);
	if (rpc_addr_parse(c->raft_listen, &ss) != 0 || ss.ss_family != AF_INET)
		return errbuf_set(
		    -1, err, errlen,
		    "raft_listen: '%s' is not a numeric IPv4:PORT",
		    c->raft_listen);
	if (c->listen_bind[0] != '\0' &&
	    rpc_addr_parse(c->listen_bind, &ss) != 0)
		return errbuf_set(-1, err, errlen,
				  "listen_bind: '%s' is not a numeric IP:PORT",
				  c->listen_bind);
	if (c->raft_bind[0] != '\0' &&
	    (rpc_addr_parse(c->raft_bind, &ss) != 0 || ss.ss_family != AF_INET))
		return errbuf_set(-1, err, errlen,
				  "raft_bind: '%s' is not a numeric IPv4:PORT",
				  c->raft_bind);
	if (c->http_listen[0] != '\0' &&
	    (rpc_addr_parse(c->http_listen, &ss) != 0 ||
	     rpc_addr_port(&ss) == 0))
		return errbuf_set(-1, err, errlen,
				  "http_listen: '%s' is not a numeric IP:PORT",
				  c->http_listen);
	return 0;
}

int node_config_check(const struct node_config *c, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	if (c->id == 0)
		return errbuf_set(-1, err, errlen,
				  "id: required (--id or [node] id)");
	if (c->data_dir[0] == '\0')
		return errbuf_set(-1, err, errlen, "data_dir: required");
	if (!rsm_name_user_valid(c->cluster_name))
		return errbuf_set(-1, err, errlen,
				  "cluster_name: '%s' must be 1-127 of A-Z a-z "
				  "0-9 . _ -",
				  c->cluster_name);
	if (c->name[0] != '\0' && !rsm_name_user_valid(c->name))
		return errbuf_set(
		    -1, err, errlen,
		    "name: '%s' must be 1-127 of A-Z a-z 0-9 . _ -", c->name);
	if (check_addresses(c, err, errlen) != 0)
		return -1;
	if (strcmp(c->replace, "yes") == 0 && c->join[0] == '\0')
		return errbuf_set(-1, err, errlen,
				  "replace: 'yes' needs join (the client "
				  "address of a running node of the cluster)");
	if (check_relations(c, err, errlen) != 0)
		return -1;
	size_t slen = strlen(c->cluster_secret);
	if (slen > 0 && slen < NODE_SECRET_MIN)
		return errbuf_set(-1, err, errlen,
				  "cluster_secret: %zu characters; at least %d",
				  slen, NODE_SECRET_MIN);
	if (c->join[0] != '\0') {
		if (rpc_addr_parse(c->join, &ss) != 0)
			return errbuf_set(-1, err, errlen,
					  "join: '%s' is not a numeric IP:PORT",
					  c->join);
		return slen > 0 ? 0 : secret_required(err, errlen);
	}
	if (c->initial_cluster[0] == '\0')
		return errbuf_set(
		    -1, err, errlen,
		    "initial_cluster: required unless join is set");
	struct node_peer peers[64];
	int n = node_config_peers(c->initial_cluster, peers, 64, err, errlen);
	if (n < 0)
		return -1;
	int self = 0;
	while (self < n && peers[self].id != c->id)
		self++;
	if (self == n)
		return errbuf_set(-1, err, errlen,
				  "initial_cluster does not list this node (id "
				  "%" PRIu64 ")",
				  c->id);
	if (strcmp(peers[self].raft_address, c->raft_listen) != 0)
		return errbuf_set(-1, err, errlen,
				  "initial_cluster gives node %" PRIu64
				  " the address %s, but raft_listen is %s",
				  c->id, peers[self].raft_address,
				  c->raft_listen);
	return n > 1 && slen == 0 ? secret_required(err, errlen) : 0;
}

void node_config_storage(const struct node_config *c, struct stor_config *s)
{
	stor_config_default(s);
	s->segment_bytes = c->segment_bytes;
	s->index_interval_bytes = c->index_interval_bytes;
	stor_flush_parse(c->flush, &s->flush);
	s->flush_interval_ms = c->flush_interval_ms;
	s->retention_ms = (int64_t)c->retention_hours * 3600 * 1000;
	s->retention_bytes = c->retention_bytes;
	s->max_batch_bytes = c->max_batch_bytes;
}

void node_config_usage(FILE *out)
{
	fprintf(out,
		"usage: raftqd [--config FILE] [--KEY VALUE | --KEY=VALUE]...\n"
		"\nStarts one raftq broker node. Every key can be set in the "
		"INI file\n(under its [section]) or as a flag; flags override "
		"the file.\n");
	const char *sec = "";
	for (size_t i = 0; i < NKEYS; i++) {
		const struct key *k = &keys[i];
		if (strcmp(sec, k->section) != 0) {
			sec = k->section;
			fprintf(out, "\n[%s]\n", sec);
		}
		fprintf(out, "  --%-22s %s", k->name, k->help);
		if (k->kind == K_ENUM)
			fprintf(out, " (%s; default %s)\n", k->choices, k->def);
		else if (k->def[0] != '\0' && strcmp(k->def, "0") != 0)
			fprintf(out, " (default %s)\n", k->def);
		else
			fprintf(out, "\n");
	}
	fprintf(out, "\nOther flags: --config FILE, --help, --version\n");
}

/* Markdown table cells: a '|' would end the cell. */
static void md(FILE *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '|')
			fputc('\\', out);
		fputc(*s, out);
	}
}

void node_config_markdown(FILE *out)
{
	fprintf(out,
		"# raftqd configuration\n\n"
		"Generated from the key table in `node/config.c` by "
		"`raftqd --help-markdown`;\na test checks that this file "
		"matches it. Every key can be set in the INI file\nunder its "
		"section, or as `--key value` / `--key=value` (flags override "
		"the\nfile). Errors name the key, and for files the line.\n\n"
		"| section | key | default | range / values | meaning |\n"
		"|---|---|---|---|---|\n");
	for (size_t i = 0; i < NKEYS; i++) {
		const struct key *k = &keys[i];
		char range[64] = "";
		if (k->kind == K_ENUM)
			snprintf(range, sizeof range, "%s", k->choices);
		else if (k->kind != K_STR)
			snprintf(range, sizeof range, "%" PRIu64 "..%" PRIu64,
				 k->min, k->max);
		fprintf(out, "| %s | `%s` | %s | ", k->section, k->name,
			k->def[0] ? k->def : "—");
		md(out, range);
		fprintf(out, " | ");
		md(out, k->help);
		fprintf(out, " |\n");
	}
	fprintf(out, "\nExample (`scripts/` and the tests write files like "
		     "this):\n\n```ini\n[node]\nid = 1\nname = broker-1\n"
		     "data_dir = /var/lib/raftq\nlisten = 127.0.0.1:9101\n"
		     "raft_listen = 127.0.0.1:9201\ninitial_cluster = "
		     "1@127.0.0.1:9201,2@127.0.0.1:9202,3@127.0.0.1:9203\n\n"
		     "[raft]\nelection_timeout_ms = 1000\n"
		     "heartbeat_timeout_ms = 100\n\n[storage]\n"
		     "retention_hours = 72\nflush = sync\n```\n");
}
