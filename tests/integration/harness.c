/*
 * harness.c — see harness.h.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#ifndef RAFTQD_PATH
#error "RAFTQD_PATH must be defined by the build"
#endif

int64_t h_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t h_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/*
 * Claims a port for this process's lifetime against every other test
 * process: an exclusive flock on a file named after it, in a directory all
 * test runs share, held (fd left open) until the process exits. A port
 * stays claimed while its node is stopped, so a test running alongside
 * cannot take it during a kill-and-restart (CI: "raft_listen ... address
 * already in use" under ctest -j2). The kernel drops the lock when the
 * process ends, however it ends. False if another process holds it.
 */
static bool claim_port(int port)
{
	const char *dir = "/tmp/raftq-test-ports";
	if (mkdir(dir, 0777) != 0 && errno != EEXIST)
		return true; /* no shared directory: bind probe only */
	char path[64];
	snprintf(path, sizeof path, "%s/%d", dir, port);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
	if (fd < 0)
		return true;
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		close(fd);
		return false;
	}
	return true; /* fd stays open: the claim lasts as long as we do */
}

/*
 * A loopback port for a node: below the kernel's ephemeral range (32768 and
 * up on Linux), so no outgoing connection of a test running alongside can
 * take it between now and the node's bind, never one this process handed
 * out before (closing the probe socket lets the kernel give the same port
 * twice), and claimed against other test processes (claim_port). Checked
 * bindable; -1 if none is found.
 */
int h_free_port(void)
{
	static uint8_t used[32768];
	static unsigned seed;
	if (seed == 0)
		seed = (unsigned)getpid() * 2654435761u ^ (unsigned)h_now_ms();
	for (int tries = 0; tries < 2000; tries++) {
		seed = seed * 1103515245u + 12345u;
		int port = 20000 + (int)((seed >> 8) % 12000);
		if (used[port])
			continue;
		used[port] = 1; /* claimed or someone else's: never again */
		if (!claim_port(port))
			continue;
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		struct sockaddr_in a = {0};
		a.sin_family = AF_INET;
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		a.sin_port = htons((uint16_t)port);
		bool ok =
		    fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0;
		if (fd >= 0)
			close(fd);
		if (ok)
			return port;
	}
	return -1;
}

static char tokens_file[600]; /* h_auth_tokens_file */

void h_auth_tokens_file(const char *path)
{
	snprintf(tokens_file, sizeof tokens_file, "%s", path ? path : "");
}

static int write_cfg(struct harness *h, struct h_node *x, const char *via)
{
	unsigned long long segment =
	    h->segment_bytes ? h->segment_bytes : 1048576;
	FILE *f = fopen(x->cfg, "w");
	if (f == NULL)
		return -1;
	fprintf(f,
		"[node]\nid = %d\nname = broker-%d\ndata_dir = %s\n"
		"listen = %s\nraft_listen = %s\nhttp_listen = %s\n",
		x->id, x->id, x->dir, x->listen, x->raft, x->http);
	if (x->raft_real[0] != '\0')
		fprintf(f, "raft_bind = %s\n", x->raft_real);
	if (x->listen_real[0] != '\0')
		fprintf(f, "listen_bind = %s\n", x->listen_real);
	if (via != NULL)
		fprintf(f, "join = %s\n%s", via,
			x->replace ? "replace = yes\n" : "");
	else
		fprintf(f, "initial_cluster = %s\n", h->initial_cluster);
	/* Test timings from notes/libraft-0.15.md §5. */
	fprintf(f, "session_timeout_ms = 1500\n");
	fprintf(f, "member_lease_ms = 1000\n");
	fprintf(f,
		"\n[raft]\nelection_timeout_ms = %d\n"
		"heartbeat_timeout_ms = %d\nconnect_retry_ms = 100\n"
		"snapshot_threshold = %u\nsnapshot_trailing = %u\n"
		"raft_segment_bytes = %llu\n\n[storage]\n"
		"flush = %s\nsegment_bytes = %llu\n"
		"max_batch_bytes = 262144\n\n[log]\n"
		"level = info\n\n[auth]\ncluster_secret = %s\n",
		h->election_ms, h->heartbeat_ms,
		h->snapshot_threshold ? h->snapshot_threshold : 4096,
		h->snapshot_trailing ? h->snapshot_trailing : 1024, segment,
		h->flush[0] ? h->flush : "os", segment, H_CLUSTER_SECRET);
	if (tokens_file[0] != '\0')
		fprintf(f, "tokens_file = %s\n", tokens_file);
	if (h->max_open_queues > 0)
		fprintf(f, "\n[storage]\nmax_open_queues = %u\n",
			h->max_open_queues);
	return fclose(f);
}

static int node_paths(struct harness *h, struct h_node *x, int id)
{
	x->id = id;
	int p1 = h_free_port(), p2 = h_free_port(), p3 = h_free_port();
	if (p1 < 0 || p2 < 0 || p3 < 0 || p1 == p2 || p1 == p3 || p2 == p3)
		return -1;
	snprintf(x->dir, sizeof x->dir, "%s/n%d", h->root, id);
	snprintf(x->cfg, sizeof x->cfg, "%s/n%d.ini", h->root, id);
	snprintf(x->log, sizeof x->log, "%s/n%d.log", h->root, id);
	snprintf(x->listen, sizeof x->listen, "127.0.0.1:%d", p1);
	snprintf(x->raft, sizeof x->raft, "127.0.0.1:%d", p2);
	snprintf(x->http, sizeof x->http, "127.0.0.1:%d", p3);
	return 0;
}

int h_init(struct harness *h, int n)
{
	memset(h, 0, sizeof *h);
	const char *tmp = getenv("TMPDIR");
	snprintf(h->root, sizeof h->root, "%s/raftq-it-XXXXXX",
		 tmp ? tmp : "/tmp");
	if (mkdtemp(h->root) == NULL)
		return -1;
	h->n = n;
	h->election_ms = 300;
	h->heartbeat_ms = 50;
	size_t at = 0;
	for (int i = 0; i < n; i++) {
		if (node_paths(h, &h->nodes[i], i + 1) != 0)
			return -1;
		at += (size_t)snprintf(
		    h->initial_cluster + at, sizeof h->initial_cluster - at,
		    "%s%d@%s", i ? "," : "", i + 1, h->nodes[i].raft);
	}
	for (int i = 0; i < n; i++)
		if (write_cfg(h, &h->nodes[i], NULL) != 0)
			return -1;
	return 0;
}

#ifndef RAFTPROXY_PATH
#error "RAFTPROXY_PATH must be defined by the build"
#endif

/* Waits (bounded by @end) until the proxy of @block acknowledges @gen. */
static void wait_ack(const char *block, unsigned gen, int64_t end)
{
	char ack[700];
	snprintf(ack, sizeof ack, "%s.ack", block);
	unsigned seen = 0;
	while (seen != gen && h_now_ms() < end) {
		FILE *f = fopen(ack, "r");
		if (f == NULL || fscanf(f, "%u", &seen) != 1)
			seen = 0;
		if (f)
			fclose(f);
		if (seen != gen)
			usleep(5000); /* polling the proxy's ack */
	}
}

/* Writes @path atomically: generation @gen, "all" when @all. */
static void write_plain_block(const char *path, unsigned gen, bool all)
{
	char tmp[700];
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	if (f == NULL)
		return;
	fprintf(f, "gen %u\n%s", gen, all ? "all\n" : "");
	fclose(f);
	rename(tmp, path);
}

/* Writes every proxy's block list and waits until each has applied it. */
static void write_blocks(struct harness *h)
{
	static unsigned gen;
	gen++;
	for (int i = 0; i < h->n; i++) {
		if (h->nodes[i].dblock[0] != '\0')
			write_plain_block(h->nodes[i].dblock, gen,
					  h->nodes[i].data_cut);
		char tmp[700];
		snprintf(tmp, sizeof tmp, "%s.tmp", h->nodes[i].block);
		FILE *f = fopen(tmp, "w");
		if (f == NULL)
			continue;
		fprintf(f, "gen %u\n", gen);
		if (h->nodes[i].cut)
			fprintf(f, "all\n");
		for (int j = 0; j < h->n; j++)
			if (j != i && (h->nodes[j].cut || h->link_cut[j][i]))
				fprintf(f, "%d\n", h->nodes[j].id);
		fclose(f);
		rename(tmp, h->nodes[i].block);
	}
	int64_t end = h_now_ms() + 3000;
	for (int i = 0; i < h->n; i++) {
		if (h->nodes[i].proxy_pid > 0)
			wait_ack(h->nodes[i].block, gen, end);
		if (h->nodes[i].dproxy_pid > 0)
			wait_ack(h->nodes[i].dblock, gen, end);
	}
}

/* Starts @path with @argv (output appended to @log unless NULL): its pid,
 * or -1. If the test dies (a ctest timeout), the child dies too. */
static pid_t spawn(const char *path, char *const argv[], const char *log)
{
	fflush(NULL);
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	int fd = log ? open(log, O_WRONLY | O_CREAT | O_APPEND, 0644) : -1;
	if (fd >= 0) {
		dup2(fd, 1);
		dup2(fd, 2);
		close(fd);
	}
	execv(path, argv);
	_exit(127);
}

int h_init_proxied(struct harness *h, int n)
{
	if (h_init(h, n) != 0)
		return -1;
	h->proxied = true;
	size_t at = 0;
	for (int i = 0; i < n; i++) {
		struct h_node *x = &h->nodes[i];
		/* The raft address peers use becomes the proxy's. */
		memcpy(x->raft_real, x->raft, sizeof x->raft_real);
		int p = h_free_port();
		if (p < 0)
			return -1;
		snprintf(x->raft, sizeof x->raft, "127.0.0.1:%d", p);
		snprintf(x->block, sizeof x->block, "%s/n%d.block", h->root,
			 x->id);
		/* So does the client port everyone is told of. */
		memcpy(x->listen_real, x->listen, sizeof x->listen_real);
		if ((p = h_free_port()) < 0)
			return -1;
		snprintf(x->listen, sizeof x->listen, "127.0.0.1:%d", p);
		snprintf(x->dblock, sizeof x->dblock, "%s/n%d.dblock", h->root,
			 x->id);
		at += (size_t)snprintf(h->initial_cluster + at,
				       sizeof h->initial_cluster - at,
				       "%s%d@%s", i ? "," : "", x->id, x->raft);
	}
	write_blocks(h);
	for (int i = 0; i < n; i++) {
		struct h_node *x = &h->nodes[i];
		if (write_cfg(h, x, NULL) != 0)
			return -1;
		char *const argv[] = {"raftproxy", x->raft, x->raft_real,
				      x->block, NULL};
		x->proxy_pid = spawn(RAFTPROXY_PATH, argv, NULL);
		char *const dargv[] = {"raftproxy", x->listen, x->listen_real,
				       x->dblock,   "plain",   NULL};
		x->dproxy_pid = spawn(RAFTPROXY_PATH, dargv, NULL);
		if (x->proxy_pid <= 0 || x->dproxy_pid <= 0)
			return -1;
	}
	return 0;
}

/* Writes the initial voters' configs again after a setting changed. */
static int rewrite_cfgs(struct harness *h)
{
	for (int i = 0; i < h->n; i++)
		if (write_cfg(h, &h->nodes[i], NULL) != 0)
			return -1;
	return 0;
}

int h_set_timings(struct harness *h, int election_ms, int heartbeat_ms)
{
	h->election_ms = election_ms;
	h->heartbeat_ms = heartbeat_ms;
	return rewrite_cfgs(h);
}

int h_set_flush(struct harness *h, const char *flush)
{
	snprintf(h->flush, sizeof h->flush, "%s", flush);
	return rewrite_cfgs(h);
}

int h_set_max_open_queues(struct harness *h, unsigned n)
{
	h->max_open_queues = n;
	return rewrite_cfgs(h);
}

int h_set_snapshots(struct harness *h, unsigned threshold, unsigned trailing)
{
	h->snapshot_threshold = threshold;
	h->snapshot_trailing = trailing;
	return rewrite_cfgs(h);
}

int h_set_segment_bytes(struct harness *h, uint64_t bytes)
{
	h->segment_bytes = bytes;
	return rewrite_cfgs(h);
}

void h_cut(struct harness *h, int i)
{
	h->nodes[i].cut = true;
	write_blocks(h);
}

void h_cut_data(struct harness *h, int i, bool cut)
{
	h->nodes[i].data_cut = cut;
	write_blocks(h);
}

void h_heal(struct harness *h, int i)
{
	h->nodes[i].cut = false;
	write_blocks(h);
}

void h_cut_link(struct harness *h, int from, int to)
{
	h->link_cut[from][to] = true;
	write_blocks(h);
}

void h_cut_links(struct harness *h, bool cut[H_MAX][H_MAX])
{
	for (int a = 0; a < H_MAX; a++)
		for (int b = 0; b < H_MAX; b++)
			h->link_cut[a][b] |= cut[a][b];
	write_blocks(h);
}

void h_heal_links(struct harness *h)
{
	memset(h->link_cut, 0, sizeof h->link_cut);
	write_blocks(h);
}

int h_add_joiner(struct harness *h, int via)
{
	if (h->n >= H_MAX)
		return -1;
	struct h_node *x = &h->nodes[h->n];
	if (node_paths(h, x, h->n + 1) != 0)
		return -1;
	x->join = true;
	if (write_cfg(h, x, h->nodes[via].listen) != 0)
		return -1;
	return h->n++;
}

int h_replace(struct harness *h, int i, int via)
{
	struct h_node *x = &h->nodes[i];
	if (x->pid > 0)
		return -1;
	char cmd[700];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", x->dir);
	if (system(cmd) != 0)
		return -1;
	x->join = true;
	x->replace = true;
	if (write_cfg(h, x, h->nodes[via].listen) != 0)
		return -1;
	return h_start(h, i);
}

#define FIU_RUN "/usr/bin/fiu-run"
#define FIU_CTRL "/usr/bin/fiu-ctrl"

bool h_fiu_available(void)
{
	return access(FIU_RUN, X_OK) == 0 && access(FIU_CTRL, X_OK) == 0;
}

static void fiu_prefix(struct harness *h, char *out, size_t len)
{
	snprintf(out, len, "%s/fiu-ctrl", h->root);
}

int h_start(struct harness *h, int i)
{
	struct h_node *x = &h->nodes[i];
	char prefix[300];
	fiu_prefix(h, prefix, sizeof prefix);
	char *const argv[] = {"raftqd", "--config", x->cfg, NULL};
	/* fiu-run execs raftqd: the pid is raftqd's. No -x: only raftqd's
	 * own fault points (node/fault_points.c), not libfiu's POSIX
	 * wrappers, which also failed libraft's Raft log I/O. */
	char *const fiu_argv[] = {"fiu-run",  "-f",   prefix, RAFTQD_PATH,
				  "--config", x->cfg, NULL};
	x->pid = h->fiu ? spawn(FIU_RUN, fiu_argv, x->log)
			: spawn(RAFTQD_PATH, argv, x->log);
	return x->pid > 0 ? 0 : -1;
}

int h_fiu(struct harness *h, int i, const char *cmd)
{
	struct h_node *x = &h->nodes[i];
	int st;
	siginfo_t info = {.si_pid = 0};
	/* fiu-ctrl opens the node's control FIFO, which blocks for good
	 * once nothing reads it: never for a node that has ended (looked at,
	 * not reaped: h_reap reports it), and never for more than 5 s. */
	if (!h->fiu || x->pid <= 0 ||
	    waitid(P_PID, (id_t)x->pid, &info, WEXITED | WNOHANG | WNOWAIT) !=
		0 ||
	    info.si_pid != 0)
		return -1;
	char prefix[300], pid[16];
	fiu_prefix(h, prefix, sizeof prefix);
	snprintf(pid, sizeof pid, "%d", (int)x->pid);
	char *const argv[] = {"timeout", "5",	      FIU_CTRL, "-f", prefix,
			      "-c",	 (char *)cmd, pid,	NULL};
	pid_t p = spawn("/usr/bin/timeout", argv, NULL);
	if (p <= 0 || waitpid(p, &st, 0) != p)
		return -1;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

void h_kill(struct harness *h, int i)
{
	struct h_node *x = &h->nodes[i];
	if (x->pid <= 0)
		return;
	kill(x->pid, SIGKILL);
	waitpid(x->pid, NULL, 0);
	x->pid = 0;
}

bool h_reap(struct harness *h, int i, int *status)
{
	struct h_node *x = &h->nodes[i];
	if (x->pid <= 0 || waitpid(x->pid, status, WNOHANG) != x->pid)
		return false;
	x->pid = 0;
	return true;
}

int h_stop(struct harness *h, int i, int ms)
{
	struct h_node *x = &h->nodes[i];
	if (x->pid <= 0)
		return -1;
	kill(x->pid, SIGTERM);
	int64_t end = h_now_ms() + ms;
	int status;
	while (h_now_ms() < end) {
		pid_t r = waitpid(x->pid, &status, WNOHANG);
		if (r == x->pid) {
			x->pid = 0;
			return WIFEXITED(status) ? WEXITSTATUS(status)
						 : 128 + WTERMSIG(status);
		}
		usleep(10000); /* polling a child's exit: bounded by @ms */
	}
	h_kill(h, i);
	return -1;
}

void h_destroy(struct harness *h)
{
	for (int i = 0; i < h->n; i++) {
		h_kill(h, i);
		pid_t *proxies[] = {&h->nodes[i].proxy_pid,
				    &h->nodes[i].dproxy_pid};
		for (int k = 0; k < 2; k++)
			if (*proxies[k] > 0) {
				kill(*proxies[k], SIGKILL);
				waitpid(*proxies[k], NULL, 0);
				*proxies[k] = 0;
			}
	}
	char cmd[400];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", h->root);
	if (getenv("RAFTQ_KEEP_TEST_DIRS") == NULL && system(cmd) != 0)
		fprintf(stderr, "harness: could not remove %s\n", h->root);
}

int h_log_count(struct harness *h, int i, const char *text)
{
	FILE *f = fopen(h->nodes[i].log, "r");
	char line[1024];
	int found = 0;
	while (f != NULL && fgets(line, sizeof line, f) != NULL)
		found += strstr(line, text) != NULL;
	if (f != NULL)
		fclose(f);
	return found;
}

bool h_log_has(struct harness *h, int i, const char *text)
{
	return h_log_count(h, i, text) > 0;
}

void h_dump_log(struct harness *h, int i)
{
	char cmd[700];
	snprintf(cmd, sizeof cmd, "tail -n 30 '%s' >&2", h->nodes[i].log);
	if (system(cmd) != 0)
		fprintf(stderr, "harness: no log for node %d\n", i + 1);
}

void *h_fixture(size_t size, int n, bool proxied)
{
	struct harness *h = calloc(1, size);
	if (h == NULL || (proxied ? h_init_proxied(h, n) : h_init(h, n)) != 0) {
		fprintf(stderr, "fixture: cannot set up %d nodes\n", n);
		free(h);
		return NULL;
	}
	if (h_start_all(h) == 0)
		return h;
	h_destroy(h);
	free(h);
	return NULL;
}

int h_start_all(struct harness *h)
{
	for (int i = 0; i < h->n; i++)
		if (h_start(h, i) != 0)
			return -1;
	h->leader = h_wait_leader(h, h->n, 15000);
	if (h->leader >= 0)
		return 0;
	fprintf(stderr, "harness: no leader within 15 s\n");
	for (int i = 0; i < h->n; i++)
		h_dump_log(h, i);
	return -1;
}

/* A request to the leader that must answer OK; 0 or -1 (printed). */
static int leader_ok(struct harness *h, uint16_t type, const void *req)
{
	struct ctl_resp r;
	h_call(h->nodes[h->leader].listen, type, req, 5000, &r);
	int rv = r.err == 0 && r.st.code == RPC_OK ? 0 : -1;
	if (rv != 0)
		fprintf(stderr, "harness: %s: %s %s\n", rpc_type_name(type),
			r.err ? rpc_strerror(r.err) : rpc_code_name(r.st.code),
			r.st.message ? r.st.message : "");
	ctl_resp_free(&r);
	return rv;
}

int h_create_topic(struct harness *h, const char *name, uint32_t qpb)
{
	return h_create_topic_rf(h, name, qpb, 0);
}

/* True when a describe of @topic via node @i says every queue is led by
 * its home; @why says otherwise. */
static bool homes_lead(struct harness *h, int i, const char *topic, char *why,
		       size_t len)
{
	struct rpc_topic_req d = {topic};
	struct ctl_resp r;
	h_call(h->nodes[i].listen, RPC_TOPIC_DESCRIBE, &d, 3000, &r);
	bool ok = r.err == 0 && r.st.code == RPC_OK;
	if (!ok)
		snprintf(why, len, "node %d's describe: %s", i + 1,
			 r.st.message ? r.st.message : "no answer");
	for (uint32_t k = 0;
	     ok && k < ((struct rpc_topic_describe_resp *)r.body)->queues.n;
	     k++) {
		const struct rpc_queue_info *q =
		    &((const struct rpc_queue_info
			   *)((struct rpc_topic_describe_resp *)r.body)
			  ->queues.v)[k];
		/* One copy: no leader field, the home serves it. */
		ok = q->replicas.n == 0 ||
		     (q->leader_broker != NULL &&
		      strcmp(q->leader_broker, q->broker_name) == 0);
		if (!ok)
			snprintf(why, len, "node %d: queue %s/%u led by %s",
				 i + 1, q->broker_name, q->queue_id,
				 q->leader_broker ? q->leader_broker
						  : "nobody (offline)");
	}
	ctl_resp_free(&r);
	return ok;
}

/* The leader of queue @index of @topic in route @rt, or NULL. */
static const char *route_leader(const struct rpc_route_resp *rt,
				const char *topic, uint32_t index)
{
	for (uint32_t t = 0; t < rt->topics.n; t++) {
		const struct rpc_topic_info *ti =
		    &((const struct rpc_topic_info *)rt->topics.v)[t];
		if (strcmp(ti->name, topic) != 0 || ti->queues_per_broker == 0)
			continue;
		if (ti->leaders.n > index) /* "" while offline */
			return ti->leaders.v[index][0] ? ti->leaders.v[index]
						       : NULL;
		uint32_t b = index / ti->queues_per_broker;
		return b < ti->brokers.n ? ti->brokers.v[b] : NULL;
	}
	return NULL;
}

bool h_queue_leader_addr(struct harness *h, const char *topic, uint32_t index,
			 char *out, size_t len)
{
	for (int i = 0; i < h->n; i++) {
		if (h->nodes[i].pid <= 0)
			continue;
		struct ctl_resp r;
		h_call(h->nodes[i].listen, RPC_ROUTE, NULL, 1000, &r);
		const struct rpc_route_resp *rt = r.body;
		const char *name = r.err == 0 && r.st.code == RPC_OK
				       ? route_leader(rt, topic, index)
				       : NULL;
		bool found = false;
		for (uint32_t k = 0; name != NULL && k < rt->brokers.n; k++) {
			const struct rpc_broker_info *b =
			    &((const struct rpc_broker_info *)rt->brokers.v)[k];
			if (strcmp(b->name, name) == 0) {
				snprintf(out, len, "%s", b->listen);
				found = true;
			}
		}
		ctl_resp_free(&r);
		if (found)
			return true;
	}
	return false;
}

int h_wait_homes_lead(struct harness *h, const char *topic, int ms)
{
	char why[300] = "no node is up";
	for (int64_t end = h_now_ms() + ms; h_now_ms() < end;) {
		bool all = false;
		for (int i = 0; i < h->n; i++) {
			if (h->nodes[i].pid <= 0)
				continue;
			all = homes_lead(h, i, topic, why, sizeof why);
			if (!all)
				break;
		}
		if (all)
			return 0;
		usleep(50 * 1000); /* bounded by @ms */
	}
	fprintf(stderr, "harness: %s: homes do not lead within %d ms: %s\n",
		topic, ms, why);
	return -1;
}

int h_create_topic_rf(struct harness *h, const char *name, uint32_t qpb,
		      uint32_t rf)
{
	struct rpc_topic_create_req t = {name, qpb, {NULL, 0}, rf, 0};
	if (leader_ok(h, RPC_TOPIC_CREATE, &t) != 0)
		return -1;
	struct rpc_queue_stats_req q = {name, NULL, {NULL, 0}, false, 0};
	for (int i = 0; i < h->n; i++) {
		int64_t end = h_now_ms() + 5000;
		while (h->nodes[i].pid != 0 &&
		       h_call_code(h->nodes[i].listen, RPC_QUEUE_STATS, &q,
				   1000) != RPC_OK) {
			if (h_now_ms() >= end) {
				fprintf(stderr,
					"harness: node %d never served "
					"topic %s\n",
					i + 1, name);
				h_dump_log(h, i);
				return -1;
			}
			usleep(20000); /* bounded by the 5 s deadline */
		}
	}
	return 0;
}

int h_create_group(struct harness *h, const char *name, const char *mode,
		   const char *initial)
{
	struct rpc_group_create_req g = {name, mode, initial, {NULL, 0}, 0};
	return leader_ok(h, RPC_GROUP_CREATE, &g);
}

bool h_lists_topic(struct harness *h, int i, const char *topic, int ms)
{
	int64_t end = h_now_ms() + ms;
	for (;;) {
		struct ctl_resp r;
		bool found = false;
		h_call(h->nodes[i].listen, RPC_TOPIC_LIST, NULL, 2000, &r);
		if (r.err == 0 && r.st.code == RPC_OK) {
			const struct rpc_names_resp *n = r.body;
			for (uint32_t k = 0; k < n->names.n; k++)
				found |= strcmp(n->names.v[k], topic) == 0;
		}
		ctl_resp_free(&r);
		if (found || h_now_ms() >= end)
			return found;
		usleep(20000); /* bounded by @ms */
	}
}

int h_teardown(void **state)
{
	struct harness *h = *state;
	h_destroy(h);
	free(h);
	return 0;
}

int h_open_files(struct harness *h, int i, int *queues)
{
	char dir[64], link[600], target[1024], prefix[600];
	snprintf(dir, sizeof dir, "/proc/%d/fd", (int)h->nodes[i].pid);
	snprintf(prefix, sizeof prefix, "%s/queues/", h->nodes[i].dir);
	DIR *d = opendir(dir);
	if (d == NULL)
		return -1;
	int n = 0, q = 0;
	for (struct dirent *e; (e = readdir(d)) != NULL;) {
		if (e->d_name[0] == '.')
			continue;
		n++;
		snprintf(link, sizeof link, "%s/%s", dir, e->d_name);
		ssize_t len = readlink(link, target, sizeof target - 1);
		if (len <= 0)
			continue;
		target[len] = '\0';
		q += strncmp(target, prefix, strlen(prefix)) == 0;
	}
	closedir(d);
	if (queues != NULL)
		*queues = q;
	return n;
}

/* Node @i's role in @via's CLUSTER_STATUS, into @role ("" if unlisted). */
static void role_of(struct harness *h, int i, int via, char *role, size_t len)
{
	struct ctl_resp c;
	struct rpc_status_req q = {false, NULL};
	role[0] = '\0';
	h_call(h->nodes[via].listen, RPC_CLUSTER_STATUS, &q, 2000, &c);
	const struct rpc_status_resp *s = c.body;
	for (uint32_t k = 0;
	     c.err == 0 && c.st.code == RPC_OK && k < s->nodes.n; k++) {
		const struct rpc_node_status *ns = s->nodes.v;
		if (ns[k].id == (uint64_t)i + 1)
			snprintf(role, len, "%s", ns[k].role);
	}
	ctl_resp_free(&c);
}

int h_wait_member(struct harness *h, int i, int via, int ms)
{
	char role[32] = "";
	for (int64_t end = h_now_ms() + ms; h_now_ms() < end;) {
		role_of(h, i, via, role, sizeof role);
		if (strcmp(role, "follower") == 0 ||
		    strcmp(role, "leader") == 0)
			return 0;
		usleep(100 * 1000); /* bounded by @ms */
	}
	fprintf(stderr, "harness: node %d not a member within %d ms (%s)\n",
		i + 1, ms, role[0] ? role : "not listed");
	h_dump_log(h, i);
	return -1;
}

int h_wait_leader(struct harness *h, int want, int ms)
{
	int64_t end = h_now_ms() + ms;
	while (h_now_ms() < end) {
		int leader = -1;
		bool agree = true;
		for (int i = 0; i < h->n && agree; i++) {
			if (h->nodes[i].pid <= 0)
				continue;
			struct ctl_resp r;
			struct rpc_status_req q = {false, NULL};
			h_call(h->nodes[i].listen, RPC_CLUSTER_STATUS, &q, 1500,
			       &r);
			if (r.err != 0 || r.st.code != RPC_OK) {
				agree = false;
				ctl_resp_free(&r);
				break;
			}
			const struct rpc_status_resp *s = r.body;
			int leaders = 0, named = 0, lead = -1;
			const struct rpc_node_status *ns = s->nodes.v;
			for (uint32_t k = 0; k < s->nodes.n; k++) {
				if (strcmp(ns[k].role, "leader") == 0) {
					leaders++;
					lead = (int)ns[k].id - 1;
				}
				if (ns[k].name && ns[k].name[0])
					named++;
			}
			if (leaders != 1 || named < want ||
			    (int)s->nodes.n < want ||
			    (leader >= 0 && lead != leader))
				agree = false;
			leader = lead;
			ctl_resp_free(&r);
		}
		/* And every running node has applied the registrations, so
		 * it can name the leader's client address. */
		for (int i = 0; i < h->n && agree && leader >= 0; i++) {
			if (h->nodes[i].pid <= 0)
				continue;
			struct ctl_resp r;
			h_call(h->nodes[i].listen, RPC_ROUTE, NULL, 1500, &r);
			const struct rpc_route_resp *rt = r.body;
			agree = r.err == 0 && r.st.code == RPC_OK &&
				rt->leader_address != NULL &&
				strcmp(rt->leader_address,
				       h->nodes[leader].listen) == 0 &&
				(int)rt->brokers.n >= want;
			ctl_resp_free(&r);
		}
		if (agree && leader >= 0)
			return leader;
		usleep(50000); /* poll interval, bounded by @ms */
	}
	return -1;
}

/* ---- HTTP ---- */

/* Reads @fd until the peer closes (at most 5 s) into @out. */
static size_t read_all(int fd, char *out, size_t cap)
{
	size_t n = 0;
	int64_t until = h_now_ms() + 5000;
	while (n + 1 < cap && h_now_ms() < until) {
		struct pollfd p = {fd, POLLIN, 0};
		if (poll(&p, 1, 10) <= 0)
			continue;
		ssize_t r = recv(fd, out + n, cap - 1 - n, 0);
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	out[n] = '\0';
	return n;
}

/* Sends @len zero bytes (a body), as far as the peer takes them. */
static void send_zeros(int fd, size_t len)
{
	static const char zeros[65536];
	for (size_t sent = 0; sent < len;) {
		size_t m =
		    len - sent < sizeof zeros ? len - sent : sizeof zeros;
		ssize_t w = send(fd, zeros, m, MSG_NOSIGNAL);
		if (w <= 0)
			break; /* the server answered and closed */
		sent += (size_t)w;
	}
}

int h_connect(const char *addr)
{
	struct sockaddr_storage ss;
	if (rpc_addr_parse(addr, &ss) != 0 || ss.ss_family != AF_INET)
		return -1;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&ss,
			       sizeof(struct sockaddr_in)) != 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

int h_dial(const char *addr)
{
	int fd = h_connect(addr);
	if (fd < 0) {
		fprintf(stderr, "harness: cannot connect to %s: %s\n", addr,
			strerror(errno));
		abort();
	}
	return fd;
}

/* One request; a body of @len bytes of @data, or of zeros when NULL. */
static int http_request(const char *addr, const char *method, const char *path,
			const char *headers, const char *data, size_t len,
			char *body, size_t cap)
{
	int fd = h_connect(addr);
	if (fd < 0)
		return -1;
	char head[2048];
	int k = snprintf(head, sizeof head,
			 "%s %s HTTP/1.1\r\nHost: raftq\r\nConnection: "
			 "close\r\n%sContent-Length: %zu\r\n\r\n",
			 method, path, headers ? headers : "", len);
	if (send(fd, head, (size_t)k, MSG_NOSIGNAL) != k ||
	    (data != NULL &&
	     send(fd, data, len, MSG_NOSIGNAL) != (ssize_t)len)) {
		close(fd);
		return -1;
	}
	if (data == NULL)
		send_zeros(fd, len);
	/* The body may fill @cap: room for the head besides. */
	char *resp = malloc(cap + 4096);
	if (resp == NULL) {
		close(fd);
		return -1;
	}
	read_all(fd, resp, cap + 4096);
	close(fd);
	int status = -1;
	const char *b = strstr(resp, "\r\n\r\n");
	if (sscanf(resp, "HTTP/1.1 %d", &status) == 1)
		snprintf(body, cap, "%s", b ? b + 4 : "");
	free(resp);
	return status;
}

double h_metric(struct harness *h, int i, const char *series)
{
	static char text[1 << 18];
	if (h_http(h->nodes[i].http, "GET", "/metrics", NULL, 0, text,
		   sizeof text) != 200)
		return NAN;
	char key[256];
	snprintf(key, sizeof key, "\n%s ", series);
	const char *at = strstr(text, key);
	return at == NULL ? NAN : strtod(at + strlen(key), NULL);
}

double h_snapshot_settled(struct harness *h, int i)
{
	double was = h_metric(h, i, "raftq_raft_snapshot_index");
	for (int k = 0; k < 33 && !isnan(was); k++) {
		usleep(300000); /* bounded: 33 rounds */
		double now = h_metric(h, i, "raftq_raft_snapshot_index");
		if (now == was)
			return now;
		was = now;
	}
	return NAN;
}

int h_http(const char *addr, const char *method, const char *path,
	   const char *headers, size_t body_len, char *body, size_t cap)
{
	return http_request(addr, method, path, headers, NULL, body_len, body,
			    cap);
}

int h_http_json(const char *addr, const char *method, const char *path,
		const char *headers, const char *json, char *body, size_t cap)
{
	return http_request(addr, method, path, headers, json, strlen(json),
			    body, cap);
}
