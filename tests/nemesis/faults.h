/*
 * faults.h — the nemesis: one fault per round on the running cluster,
 * chosen by a seeded generator (the seed is printed, so a run can be
 * repeated), each recorded in the history (process "nemesis") and timed:
 *
 *   kill      kill -9 of a random node, restarted 0.5-1 s later
 *   kill-lead kill -9 of the leader, restarted 0.5-1 s later; the time
 *             from the kill to the next commit the cluster accepts
 *             (failover) is measured
 *   pause     SIGSTOP of a random node for 1-1.5 s, then SIGCONT (a
 *             paused leader wakes up after a new one was elected)
 *   restart   every node killed and started again at once
 *   isolate   a random node's Raft traffic cut (raftproxy) for 2-5 s
 *             (longer than a reset waits for a lagging broker), its
 *             client port still reachable
 *   isolate-leader  the same, of the leader (it must step down; the
 *             majority elects another; it catches up after the heal)
 *   stop-leader     SIGTERM of the leader (it hands leadership over
 *             first), started again 0.5-1 s later; client operations
 *             that failed or ended unknown meanwhile are counted
 *   bridge    two nodes cannot reach each other, both reach the third
 *             (Raft traffic, 1.5-2.5 s): the bridge node must lead
 *   deaf-leader     the leader's inbound Raft traffic cut, its outbound
 *             kept (1.5-2.5 s): it hears no acknowledgement, must step
 *             down, and the others must elect a leader although its
 *             heartbeats still reach them
 *   torn      kill -9 of a random node, the tails of its queue segments
 *             and of its Raft log torn (tear.h), restarted 0.5-1 s later
 *   disk      a random node's queue storage writes fail 30% and its
 *             syncs 50% of the time (EIO) for 1.5-2.5 s: raftqd's fault
 *             points raftq/storage/write and raftq/storage/sync
 *             (node/fault_points.c) through fiu-ctrl, the nodes run under
 *             fiu-run; the Raft log, snapshots and metadata never fail.
 *             Only when fiu-utils is installed (said at the start;
 *             kill instead otherwise)
 *
 * Recovery time: from the end of a fault until every running node
 * reports the same leader again.
 */
#ifndef RAFTQ_NEMESIS_FAULTS_H
#define RAFTQ_NEMESIS_FAULTS_H

#include <stdatomic.h>

#include "harness.h"
#include "history.h"

#define FAULTS_MAX_SAMPLES 4096

enum fault_kind {
	F_KILL,
	F_KILL_LEADER,
	F_PAUSE,
	F_RESTART,
	F_ISOLATE,
	F_ISOLATE_LEADER,
	F_STOP_LEADER,
	F_BRIDGE,
	F_DEAF_LEADER,
	F_TORN,
	F_DISK,
	F_KINDS
};

struct faults {
	struct harness *h;
	struct history *hist;
	unsigned seed;
	int rounds;
	int round_ms;	       /* a fault, then quiet, per round */
	bool disk;	       /* F_DISK possible (nodes under fiu-run) */
	unsigned only;	       /* a bit per kind: only these (0: every kind) */
	bool stop_unrecovered; /* end the rounds at the first unrecovered */
	bool stopped;	       /* they were ended so (rounds: those run) */
	atomic_bool done;      /* the rounds are over */
	atomic_bool release;   /* set by the caller: the thread may end */
	/* results */
	int count[F_KINDS];
	int64_t recovery_ms_max[F_KINDS], recovery_ms_sum[F_KINDS];
	int unrecovered; /* no common leader within 20 s of a fault */
	/* client operations completed fail / info (unknown outcome) from a
	 * stop-leader's start until the cluster had a leader again (raw
	 * fetches from the stopped broker aside: its queues have one copy) */
	uint64_t stop_failed, stop_unknown;
	int torn_files; /* segments and Raft logs torn by F_TORN */
	int crashes;	/* nodes that ended on their own (then restarted) */
	/* kill-leader: ms from the kill -9 to the first commit the cluster
	 * accepts again (a probe of group "fo"), one per kill */
	int64_t failover_ms[FAULTS_MAX_SAMPLES];
	int n_failover;
	const char *bootstrap; /* the client addresses, for the probe */
};

const char *fault_name(enum fault_kind k);
/* Prints each running node's Raft role, term, commit and applied index
 * and whether it answers CLUSTER_STATUS (stderr): why no common leader. */
void faults_print_nodes(struct faults *f);
/* Reaps every node that ended without being stopped (a crash): counted,
 * recorded ("crash", with the signal or exit status), restarted. */
void faults_reap_crashes(struct faults *f);
/* Parses "kill,isolate" into a bit per kind: 0, or -1 (unknown name). */
int fault_parse(const char *list, unsigned *out);
/* The nemesis thread: @arg is a struct faults. After its rounds it sets
 * done and waits for release before it returns: the nodes it restarted
 * are its children, killed when it ends (PR_SET_PDEATHSIG, harness.c). */
void *faults_run(void *arg);

#endif
