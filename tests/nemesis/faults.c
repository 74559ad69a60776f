/* faults.c — the nemesis thread (faults.h). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "faults.h"

const char *fault_name(enum fault_kind k)
{
	static const char *const names[] = {
	    "kill",    "kill-leader",	 "pause",      "restart",
	    "isolate", "isolate-leader", "stop-leader"};
	return k < F_KINDS ? names[k] : "?";
}

static void record(struct faults *f, enum fault_kind k, int node,
		   const char *type)
{
	hist_event(f->hist, "nemesis", type, fault_name(k), NULL,
		   json_pack("{s:i}", "node", node + 1));
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
		h_cut(h, i);
		usleep((useconds_t)(wait_ms * 2 + 500) * 1000);
		h_heal(h, i);
		return;
	}
	if (k == F_STOP_LEADER && h_stop(h, i, 10000) != 0)
		fprintf(stderr, "nemesis: node %d did not stop cleanly\n",
			i + 1);
	for (int n = 0; n < 3 && k != F_STOP_LEADER; n++)
		if (i < 0 || n == i)
			h_kill(h, n);
	if (k != F_RESTART)
		usleep((useconds_t)wait_ms * 1000);
	for (int n = 0; n < 3; n++)
		if ((i < 0 || n == i) && h_start(h, n) != 0)
			fprintf(stderr, "nemesis: cannot restart node %d\n",
				n + 1);
}

static void one_round(struct faults *f)
{
	enum fault_kind k = (enum fault_kind)(rand_r(&f->seed) % F_KINDS);
	int i = (int)(rand_r(&f->seed) % 3);
	if (k == F_KILL_LEADER || k == F_ISOLATE_LEADER || k == F_STOP_LEADER)
		i = h_wait_leader(f->h, 3, 5000);
	if (k == F_RESTART)
		i = -1;
	if (i < 0 && k != F_RESTART) { /* no leader to find: any node */
		k = F_KILL;
		i = 0;
	}
	record(f, k, i, "invoke");
	inject(f, k, i);
	record(f, k, i, "info");
	int64_t t0 = h_now_ms();
	int leader = h_wait_leader(f->h, 3, 20000);
	int64_t ms = h_now_ms() - t0;
	f->count[k]++;
	if (leader < 0) {
		f->unrecovered++;
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
		while (h_now_ms() < end)
			usleep(50000); /* the quiet part of the round */
	}
	atomic_store(&f->done, true);
	while (!atomic_load(&f->release))
		usleep(50000); /* until the caller is done with the nodes */
	return NULL;
}
