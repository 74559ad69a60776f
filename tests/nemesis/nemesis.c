/*
 * nemesis — raftq under faults, checked (DESIGN.md §8, docs/reliability.md).
 *
 *   nemesis [--rounds N] [--seed S] [--history FILE] [--faults K,...]
 *           [--election-ms MS] [--stop-unrecovered 1]
 *
 * Starts a 3-node cluster (a raftproxy in front of every Raft port, for
 * partitions), runs the workload (workload.h: producers,
 * consumers, an operator resetting, a register of offsets) while the
 * nemesis (faults.h) injects one fault per round, then stops the faults,
 * drains every queue and runs the checker (tests/checker/raftq_check.py)
 * on the history. Prints the seed, rounds, operations, anomalies, faults
 * by kind and recovery times. Exit 0 when the checker found nothing.
 * RAFTQ_NEMESIS_ROUNDS sets the rounds (default 10). --stop-unrecovered 1
 * ends the rounds at the first fault after which the nodes found no common
 * leader within 20 s, checks the history so far and keeps the node
 * directories: for chasing a node that stopped catching up.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "faults.h"
#include "workload.h"

#ifndef RAFTQ_CHECKER
#error "RAFTQ_CHECKER must be defined by the build"
#endif

#define ROUND_MS 2500

struct opts {
	int rounds;
	unsigned seed;
	const char *history;
	unsigned only;		/* --faults: a bit per kind (0: all) */
	int election_ms;	/* --election-ms (0: the test timings) */
	bool stop_unrecovered;	/* --stop-unrecovered 1: at the first fault
				   after which no common leader came */
	int snapshot_threshold; /* --snapshot-threshold (0: the harness's) */
};

static int parse(int argc, char **argv, struct opts *o)
{
	const char *env = getenv("RAFTQ_NEMESIS_ROUNDS");
	o->rounds = env ? atoi(env) : 10;
	o->seed = (unsigned)time(NULL) ^ (unsigned)getpid();
	o->history = NULL;
	o->only = 0;
	o->election_ms = 0;
	o->stop_unrecovered = false;
	o->snapshot_threshold = 0;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--rounds") == 0)
			o->rounds = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--seed") == 0)
			o->seed = (unsigned)strtoul(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--history") == 0)
			o->history = argv[i + 1];
		else if (strcmp(argv[i], "--election-ms") == 0)
			o->election_ms = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--snapshot-threshold") == 0)
			o->snapshot_threshold = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--stop-unrecovered") == 0)
			o->stop_unrecovered = atoi(argv[i + 1]) != 0;
		else if (strcmp(argv[i], "--faults") == 0) {
			if (fault_parse(argv[i + 1], &o->only) != 0)
				return -1;
		} else
			return -1;
	}
	return argc % 2 == 1 && o->rounds > 0 && o->election_ms >= 0 &&
		       o->election_ms <= 60000 &&
		       (o->snapshot_threshold == 0 ||
			(o->snapshot_threshold >= 16 &&
			 o->snapshot_threshold <= 100000000))
		   ? 0
		   : -1;
}

/* A 3-node cluster with topic "w" and groups "wg", "rg": 0 or -1. With
 * @threshold, every node snapshots each @threshold applied entries (and
 * keeps a quarter of that behind, at least 8), so faults fall on snapshots
 * being copied, encoded off the loop and stored. */
static int cluster_up(struct harness *h, int election_ms, int threshold)
{
	if (h_init_proxied(h, 3) != 0) /* raftproxies: partitions */
		return -1;
	unsigned trailing = threshold / 4 < 8 ? 8 : (unsigned)threshold / 4;
	if (threshold > 0 &&
	    h_set_snapshots(h, (unsigned)threshold, trailing) != 0)
		return -1;
	/* Production timings: heartbeat a tenth of the election timeout
	 * (the defaults: 1000 / 100 ms). */
	if (election_ms > 0 &&
	    h_set_timings(h, election_ms, election_ms / 10) != 0)
		return -1;
	h->fiu = h_fiu_available(); /* disk faults */
	for (int i = 0; i < 3; i++)
		if (h_start(h, i) != 0)
			return -1;
	h->leader = h_wait_leader(h, 3, 20000);
	if (h->leader < 0 || h_create_topic(h, WL_TOPIC, WL_QPB) != 0 ||
	    h_create_group(h, "wg", NULL, "earliest") != 0 ||
	    h_create_group(h, "rg", NULL, NULL) != 0 ||
	    h_create_group(h, "fo", NULL, NULL) != 0) /* failover probe */
		return -1;
	return 0;
}

static void start(struct wl_thread *t, struct workload *w, const char *name,
		  unsigned seed, void *(*fn)(void *))
{
	t->w = w;
	snprintf(t->name, sizeof t->name, "%s", name);
	t->seed = seed;
	if (pthread_create(&t->tid, NULL, fn, t) != 0) {
		perror("nemesis: pthread_create");
		exit(1);
	}
}

/* The workload under the faults, then quiet; the client threads joined,
 * the nemesis thread (*nem) still holding the nodes it restarted. */
static void run(struct workload *w, struct faults *f, pthread_t *nem)
{
	static const char *const names[] = {"p1", "p2",	 "c1", "c2",
					    "op", "reg", "f1"};
	void *(*const fns[])(void *) = {wl_producer, wl_producer, wl_consumer,
					wl_consumer, wl_operator, wl_register,
					wl_fetcher};
	enum { N = sizeof names / sizeof names[0] };
	struct wl_thread t[N];
	for (int i = 0; i < N; i++)
		start(&t[i], w, names[i], f->seed + (unsigned)i, fns[i]);
	if (pthread_create(nem, NULL, faults_run, f) != 0)
		exit(1);
	while (!atomic_load(&f->done))
		usleep(50000); /* bounded by the rounds */
	sleep(2);	       /* quiet: the last fault's effects settle */
	atomic_store(&w->stop, true);
	for (int i = 0; i < N; i++)
		pthread_join(t[i].tid, NULL);
}

static int cmp_ms(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/* kill-leader failover: kill -9 to the next accepted commit. */
static void report_failover(const struct faults *f)
{
	int n = f->n_failover;
	if (n == 0)
		return;
	int64_t v[FAULTS_MAX_SAMPLES];
	memcpy(v, f->failover_ms, (size_t)n * sizeof v[0]);
	qsort(v, (size_t)n, sizeof v[0], cmp_ms);
	printf("  kill-leader failover (kill -9 to the next accepted "
	       "commit), %d kills: median %lld ms, p90 %lld ms, max %lld "
	       "ms\n",
	       n, (long long)v[n / 2], (long long)v[n * 9 / 10],
	       (long long)v[n - 1]);
}

static void report(const struct faults *f, const struct history *hist)
{
	printf("nemesis: %d rounds, %llu operations (%llu ok, %llu fail, "
	       "%llu info)\n",
	       f->rounds, (unsigned long long)hist->completed,
	       (unsigned long long)hist->by_type[0],
	       (unsigned long long)hist->by_type[1],
	       (unsigned long long)hist->by_type[2]);
	for (int k = 0; k < F_KINDS; k++)
		if (f->count[k] > 0)
			printf("  %-11s x%-3d recovery (a common leader again) "
			       "mean %lld ms, max %lld ms\n",
			       fault_name((enum fault_kind)k), f->count[k],
			       (long long)(f->recovery_ms_sum[k] / f->count[k]),
			       (long long)f->recovery_ms_max[k]);
	report_failover(f);
	if (f->count[F_STOP_LEADER] > 0)
		printf(
		    "  stop-leader: client operations completed failed %llu, "
		    "unknown outcome %llu (from the stop until a leader "
		    "again)\n",
		    (unsigned long long)f->stop_failed,
		    (unsigned long long)f->stop_unknown);
	if (f->count[F_TORN] > 0)
		printf("  torn: %d segment and Raft log tails torn\n",
		       f->torn_files);
	if (f->crashes > 0)
		printf("  CRASHES: %d nodes ended on their own (see stderr and "
		       "the node logs)\n",
		       f->crashes);
	else
		printf("  crashes: 0\n");
	if (f->unrecovered > 0)
		printf("  %d faults after which no common leader came within "
		       "20 s\n",
		       f->unrecovered);
}

/* Runs the checker; its exit status (0: no anomaly). Producer
 * duplicates are allowed: raftq.h says a batch whose answer was lost may
 * be stored twice. */
static int check(const char *path)
{
	char cmd[1400];
	snprintf(cmd, sizeof cmd, "python3 '%s' --allow duplicate '%s'",
		 RAFTQ_CHECKER, path);
	fflush(stdout);
	int st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 2;
}

int main(int argc, char **argv)
{
	struct opts o;
	struct harness h;
	struct history hist;
	char path[700];
	if (parse(argc, argv, &o) != 0) {
		fprintf(stderr, "usage: nemesis [--rounds N] [--seed S] "
				"[--history FILE] [--faults KIND,...] "
				"[--election-ms MS] [--stop-unrecovered 1] "
				"[--snapshot-threshold N]\n"
				"KIND: kill kill-leader pause restart isolate "
				"isolate-leader stop-leader bridge deaf-leader "
				"torn disk\n");
		return 2;
	}
	printf("nemesis: seed %u, %d rounds of %d ms, election timeout %d "
	       "ms, snapshot threshold %d\n",
	       o.seed, o.rounds, ROUND_MS, o.election_ms ? o.election_ms : 300,
	       o.snapshot_threshold ? o.snapshot_threshold : 4096);
	fflush(stdout);
	if (cluster_up(&h, o.election_ms, o.snapshot_threshold) != 0) {
		fprintf(stderr, "nemesis: the cluster did not start\n");
		h_destroy(&h);
		return 1;
	}
	snprintf(path, sizeof path, "%s", o.history ? o.history : h.root);
	if (o.history == NULL)
		strncat(path, "/history.jsonl", sizeof path - strlen(path) - 1);
	if (hist_open(&hist, path) != 0) {
		perror(path);
		h_destroy(&h);
		return 1;
	}
	struct workload w = {.h = &hist, .hx = &h};
	snprintf(w.bootstrap, sizeof w.bootstrap, "%s,%s,%s", h.nodes[0].listen,
		 h.nodes[1].listen, h.nodes[2].listen);
	bool disk_asked = o.only & (1u << F_DISK);
	printf("nemesis: disk faults %s\n",
	       !h.fiu ? "OFF: fiu-run/fiu-ctrl not installed (fiu-utils, "
			"scripts/install-deps.sh): kill instead"
	       : o.only == 0 || disk_asked
		   ? "on (raftqd's storage fault points)"
		   : "off (not among --faults)");
	struct faults f = {.h = &h,
			   .disk = h.fiu,
			   .only = o.only,
			   .bootstrap = w.bootstrap,
			   .hist = &hist,
			   .seed = o.seed,
			   .rounds = o.rounds,
			   .round_ms = ROUND_MS,
			   .stop_unrecovered = o.stop_unrecovered};
	pthread_t nem;
	int rv = wl_register_init(&w);
	if (rv == 0) {
		run(&w, &f, &nem);
		faults_reap_crashes(&f); /* the nemesis thread is idle now */
		rv = h_wait_leader(&h, 3, 20000) < 0;
		if (rv != 0) {
			fprintf(stderr, "nemesis: no leader after the run\n");
			faults_print_nodes(&f);
		} else
			rv = wl_drain(&w) != 0 || wl_readback(&w) != 0;
		faults_reap_crashes(&f);
	}
	hist_close(&hist);
	report(&f, &hist);
	if (rv != 0)
		fprintf(stderr, "nemesis: the run did not complete\n");
	/* Stopped at a wedge: the history so far is still checked (no
	 * drain, so lost writes are not). */
	int checked = rv == 0 || f.stopped ? check(path) : 2;
	if (f.stopped)
		checked = checked == 0 ? 1 : checked;
	printf("nemesis: history %s; seed %u\n", path, o.seed);
	for (int i = 0; i < 3; i++)
		h_kill(&h, i);
	atomic_store(&f.release, true);
	if (rv == 0 || f.done)
		pthread_join(nem, NULL);
	if (checked == 0 && o.history == NULL)
		h_destroy(&h); /* the files stay for a look otherwise */
	return checked == 0 && f.crashes == 0 ? 0 : 1;
}
