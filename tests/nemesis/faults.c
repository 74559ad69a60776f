/* faults.c — the nemesis thread (faults.h). */
#include <assert.h>
#include <signal.h>
#include <sys/wait.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "faults.h"
#include "tear.h"

int fault_parse(const char *list, unsigned *out)
{
	char buf[256];
	snprintf(buf, sizeof buf, "%s", list);
	*out = 0;
	for (char *save = NULL, *w = strtok_r(buf, ",", &save); w != NULL;
	     w = strtok_r(NULL, ",", &save)) {
		int k = 0;
		while (k < F_KINDS && strcmp(w, fault_name(k)) != 0)
			k++;
		if (k == F_KINDS)
			return -1;
		*out |= 1u << k;
	}
	return *out != 0 ? 0 : -1;
}

const char *fault_name(enum fault_kind k)
{
	static const char *const names[] = {
	    [F_KILL] = "kill",
	    [F_KILL_LEADER] = "kill-leader",
	    [F_PAUSE] = "pause",
	    [F_RESTART] = "restart",
	    [F_ISOLATE] = "isolate",
	    [F_ISOLATE_LEADER] = "isolate-leader",
	    [F_STOP_LEADER] = "stop-leader",
	    [F_BRIDGE] = "bridge",
	    [F_DEAF_LEADER] = "deaf-leader",
	    [F_TORN] = "torn",
	    [F_DISK] = "disk",
	};
	_Static_assert(sizeof names / sizeof names[0] == F_KINDS,
		       "a name for every fault kind");
	return k < F_KINDS ? names[k] : "?";
}

static void record(struct faults *f, enum fault_kind k, int node,
		   const char *type)
{
	hist_event(f->hist, "nemesis", type, fault_name(k), NULL,
		   json_pack("{s:i}", "node", node + 1));
}

/* Queue storage write and sync failures on node @i for @ms: raftqd's own
 * fault points (node/fault_points.c), not libraft's Raft log I/O. */
static void disk_faults(struct faults *f, int i, int ms)
{
	static const char *const on[] = {
	    "enable_random name=raftq/storage/write,probability=0.3",
	    "enable_random name=raftq/storage/sync,probability=0.5"};
	static const char *const off[] = {"disable name=raftq/storage/write",
					  "disable name=raftq/storage/sync"};
	for (int n = 0; n < 2; n++)
		if (h_fiu(f->h, i, on[n]) != 0)
			fprintf(stderr, "nemesis: fiu-ctrl %s failed\n", on[n]);
	usleep((useconds_t)ms * 1000);
	for (int n = 0; n < 2; n++)
		if (h_fiu(f->h, i, off[n]) != 0)
			fprintf(stderr, "nemesis: fiu-ctrl %s failed\n",
				off[n]);
}

/* From a kill of the leader until a commit is accepted again: commits
 * to group "fo" (no one else writes or reads it) every 10 ms, each given
 * 500 ms, for at most 20 s. */
static void measure_failover(struct faults *f, int64_t t0)
{
	struct rpc_commit_item it = {"w", "broker-1", 0, 0, 0};
	struct rpc_commit_req q = {"fo", "failover-probe", {&it, 1}};
	for (uint64_t k = 1; h_now_ms() < t0 + 20000; k++) {
		struct ctl_resp r;
		it.offset = k;
		ctl_call(f->bootstrap, RPC_COMMIT, &q, 500, &r);
		bool ok = r.err == 0 && r.st.code == RPC_OK;
		ctl_resp_free(&r);
		if (ok) {
			if (f->n_failover < FAULTS_MAX_SAMPLES)
				f->failover_ms[f->n_failover++] =
				    h_now_ms() - t0;
			return;
		}
		usleep(10000); /* bounded by the 20 s above */
	}
}

/* Injects fault @k on node @i (-1: every node) and undoes it. */
static void inject(struct faults *f, enum fault_kind k, int i)
{
	struct harness *h = f->h;
	int wait_ms = 500 + (int)(rand_r(&f->seed) % 500);
	if (k == F_PAUSE) {
		kill(h->nodes[i].pid, SIGSTOP);
		usleep((useconds_t)(wait_ms + 500) * 1000);
		kill(h->nodes[i].pid, SIGCONT);
		return;
	}
	if (k == F_ISOLATE || k == F_ISOLATE_LEADER) {
		/* A follower stays cut 2-5 s: longer than a reset waits for
		 * a hosting broker to apply it (2 s), so resets complete
		 * while it lags. */
		int ms =
		    k == F_ISOLATE ? wait_ms * 6 - 1000 : wait_ms * 2 + 500;
		h_cut(h, i);
		usleep((useconds_t)ms * 1000);
		h_heal(h, i);
		return;
	}
	if (k == F_DISK) {
		disk_faults(f, i, wait_ms * 2 + 500);
		return;
	}
	if (k == F_BRIDGE || k == F_DEAF_LEADER) {
		/* bridge: every link not touching i; deaf: every link
		 * into i. */
		bool cut[H_MAX][H_MAX] = {{false}};
		for (int a = 0; a < 3; a++)
			for (int b = 0; b < 3; b++)
				cut[a][b] = a != b && a != i &&
					    (k == F_DEAF_LEADER) == (b == i);
		h_cut_links(h, cut);
		usleep((useconds_t)(wait_ms * 2 + 500) * 1000);
		h_heal_links(h);
		return;
	}
	if (k == F_STOP_LEADER && h_stop(h, i, 10000) != 0)
		fprintf(stderr, "nemesis: node %d did not stop cleanly\n",
			i + 1);
	for (int n = 0; n < 3 && k != F_STOP_LEADER; n++)
		if (i < 0 || n == i)
			h_kill(h, n);
	if (k == F_KILL_LEADER)
		measure_failover(f, h_now_ms());
	if (k == F_TORN)
		f->torn_files += tear_queues(h->nodes[i].dir, &f->seed) +
				 tear_raft_log(h->nodes[i].dir, &f->seed);
	if (k != F_RESTART)
		usleep((useconds_t)wait_ms * 1000);
	for (int n = 0; n < 3; n++)
		if ((i < 0 || n == i) && h_start(h, n) != 0)
			fprintf(stderr, "nemesis: cannot restart node %d\n",
				n + 1);
}

/* A kind at random among those chosen (every kind by default). */
static enum fault_kind pick_kind(struct faults *f)
{
	unsigned chosen = f->only ? f->only : (1u << F_KINDS) - 1;
	if (!f->disk && chosen != (1u << F_DISK))
		chosen &= ~(1u << F_DISK);
	int n = __builtin_popcount(chosen);
	assert(n > 0);
	int r = (int)(rand_r(&f->seed) % (unsigned)n);
	for (int k = 0; k < F_KINDS; k++)
		if ((chosen & (1u << k)) && r-- == 0)
			return k == F_DISK && !f->disk ? F_KILL
						       : (enum fault_kind)k;
	return F_KILL;
}

void faults_reap_crashes(struct faults *f)
{
	for (int n = 0; n < f->h->n; n++) {
		int st;
		if (!h_reap(f->h, n, &st))
			continue;
		f->crashes++;
		int sig = WIFSIGNALED(st) ? WTERMSIG(st) : 0;
		int code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
		fprintf(stderr,
			"nemesis: node %d crashed (%s %d); restarting\n", n + 1,
			sig ? "signal" : "exit status", sig ? sig : code);
		hist_event(f->hist, "nemesis", "info", "crash", NULL,
			   json_pack("{s:i,s:i,s:i}", "node", n + 1, "signal",
				     sig, "exit", code));
		if (h_start(f->h, n) != 0)
			fprintf(stderr, "nemesis: cannot restart node %d\n",
				n + 1);
	}
}

/* Prints the lines of the metrics page @text that start with @key (the
 * role only where its value is 1). */
static void print_metric(const char *text, const char *key)
{
	size_t klen = strlen(key);
	for (const char *at = text; (at = strstr(at, key)) != NULL;
	     at += klen) {
		size_t len = strcspn(at, "\n");
		bool line_start = at == text || at[-1] == '\n';
		bool role = key[klen - 1] == '{';
		if (line_start && (!role || (len > 2 && at[len - 1] == '1' &&
					     at[len - 2] == ' ')))
			fprintf(stderr, " %.*s", (int)len, at);
	}
}

/* What each running node says when no common leader came: its Raft role,
 * term, commit and applied index (GET /metrics: the HTTP server runs on
 * the node's loop, so an answer also shows the loop is alive) and
 * whether it answers CLUSTER_STATUS on its client port. */
void faults_print_nodes(struct faults *f)
{
	static const char *const keys[] = {
	    "raftq_raft_role{", "raftq_raft_term ", "raftq_raft_commit_index ",
	    "raftq_raft_applied_index "};
	static char text[1 << 18];
	for (int i = 0; i < f->h->n; i++) {
		if (f->h->nodes[i].pid <= 0)
			continue;
		fprintf(stderr, "nemesis: node %d:", i + 1);
		int code = h_http(f->h->nodes[i].http, "GET", "/metrics", NULL,
				  0, text, sizeof text);
		for (size_t k = 0; code == 200 && k < 4; k++)
			print_metric(text, keys[k]);
		if (code != 200)
			fprintf(stderr, " GET /metrics: %d", code);
		struct rpc_status_req q = {false, NULL};
		struct ctl_resp r;
		h_call(f->h->nodes[i].listen, RPC_CLUSTER_STATUS, &q, 1500, &r);
		fprintf(stderr, "; CLUSTER_STATUS: %s\n",
			r.err		      ? r.why
			: r.st.code == RPC_OK ? "ok"
			: r.st.message	      ? r.st.message
					      : "refused");
		ctl_resp_free(&r);
	}
}

static void one_round(struct faults *f)
{
	faults_reap_crashes(f);
	enum fault_kind k = pick_kind(f);
	int i = (int)(rand_r(&f->seed) % 3);
	if (k == F_KILL_LEADER || k == F_ISOLATE_LEADER || k == F_STOP_LEADER ||
	    k == F_DEAF_LEADER)
		i = h_wait_leader(f->h, 3, 5000);
	if (k == F_RESTART)
		i = -1;
	if (i < 0 && k != F_RESTART) { /* no leader to find: any node */
		k = F_KILL;
		i = 0;
	}
	uint64_t before[3], after[3];
	hist_counts(f->hist, true, before);
	record(f, k, i, "invoke");
	inject(f, k, i);
	record(f, k, i, "info");
	int64_t t0 = h_now_ms();
	int leader = h_wait_leader(f->h, 3, 20000);
	int64_t ms = h_now_ms() - t0;
	f->count[k]++;
	if (k == F_STOP_LEADER) {
		hist_counts(f->hist, true, after);
		f->stop_failed += after[1] - before[1];
		f->stop_unknown += after[2] - before[2] - 1; /* ours */
	}
	if (leader < 0) {
		f->unrecovered++;
		fprintf(stderr,
			"nemesis: no common leader 20 s after %s of node %d\n",
			fault_name(k), i + 1);
		faults_print_nodes(f);
		return;
	}
	f->recovery_ms_sum[k] += ms;
	if (ms > f->recovery_ms_max[k])
		f->recovery_ms_max[k] = ms;
}

void *faults_run(void *arg)
{
	struct faults *f = arg;
	for (int r = 0; r < f->rounds; r++) {
		int64_t end = h_now_ms() + f->round_ms;
		one_round(f);
		if (f->stop_unrecovered && f->unrecovered > 0) {
			f->stopped = true;
			f->rounds = r + 1;
			printf("nemesis: stopped after round %d: no common "
			       "leader within 20 s (the node directories "
			       "stay)\n",
			       r + 1);
			fflush(stdout);
			break;
		}
		while (h_now_ms() < end)
			usleep(50000); /* the quiet part of the round */
	}
	atomic_store(&f->done, true);
	while (!atomic_load(&f->release))
		usleep(50000); /* until the caller is done with the nodes */
	return NULL;
}
