/*
 * daemon.c — one raftqd node's lifecycle: the data-dir lock, canonical raft
 * on raft_uv + raft_uv_tcp, the RPC server (its requests go to dispatch.c),
 * a 50 ms tick that follows leadership (leader.c), keeps this node's broker
 * entry registered (register.c) and drops silent group members, and an
 * orderly stop.
 *
 * Happy path: lock data_dir → raft_init → bootstrap (first start of an
 * initial voter) → raft_start → listen → tick: on becoming leader, barrier
 * (no reads or proposals before it: a new leader's state lags until an entry
 * of its own term commits); register this broker (through the leader).
 * Stop (SIGTERM): a leader first takes no new proposals (refused
 * NOT_LEADER, nothing done: clients retry) until what it has in flight is
 * applied (at most STOP_QUIESCE_MS), then hands over (raft_transfer) while
 * it still serves clients (proposals meanwhile are refused NOT_LEADER and
 * retried at the new leader, so no answer is lost) → close the RPC server,
 * answering waiting fetches first: clients are told GOAWAY, what they still
 * send is answered "retry", they close → wait until every log write is stored
 * (libraft 0.15 double-frees when a busy leader is closed) and the clients
 * are gone (at most STOP_DRAIN_MS) → raft_close → exit 0.
 *
 * Failure modes: a locked data dir, a bad address or a raft start error
 * end start-up with a message naming it; SIGPIPE is ignored (main.c), so a
 * dead peer cannot kill this node (notes/libraft-0.15.md).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "call.h"
#include "../util/errbuf.h"
#include "aio_reaper.h"
#include "auth.h"
#include "handlers.h"
#include "http.h"
#include "replica.h"

#define STOP_QUIESCE_MS 1000
#define STOP_TRANSFER_MS 2000
#define STOP_DRAIN_MS 3000

static uint64_t now_ms(struct node *n)
{
	return uv_now(n->loop);
}

/* ---- Stop ---- */

static void on_handle_closed(uv_handle_t *h)
{
	struct node *n = h->data;
	n->handles_open--;
}

static void on_raft_closed(struct raft *r)
{
	struct node *n = r->data;
	raft_uv_close(&n->io);
	raft_uv_tcp_close(&n->transport);
	node_links_close(n);
	node_http_stop(n); /* already stopping since the drain, if any */
	if (n->rpc_open)
		rpc_server_cut(&n->rpc); /* closing since the drain began */
	n->phase = NODE_STOPPED;
	node_sched_stop(n);   /* no hand-over once the queues close */
	node_syncer_stop(n);  /* its last syncs applied */
	node_queues_close(n); /* syncs and marks each queue cleanly closed */
	uv_timer_stop(&n->tick);
	uv_close((uv_handle_t *)&n->tick, on_handle_closed);
	uv_close((uv_handle_t *)&n->retention, on_handle_closed);
	uv_close((uv_handle_t *)&n->commit_check, on_handle_closed);
	uv_close((uv_handle_t *)&n->sig_term, on_handle_closed);
	uv_close((uv_handle_t *)&n->sig_int, on_handle_closed);
	n->handles_open += 5;
	NODE_LOG(NODE_INFO, "node", "stopped");
}

static void on_rpc_closed(struct rpc_server *s)
{
	struct node *n = s->data;
	n->rpc_open = false;
}

/* Stops serving clients and starts waiting for the log writes: what a
 * stop does once leadership is handed over (or there was none). Until
 * then clients are served — proposals are refused NOT_LEADER by libraft
 * during the transfer and retried at the new leader — so a planned stop
 * closes no connection with an answer still owed (issue 10 #6). */
static void start_draining(struct node *n)
{
	node_fetch_expire(n, true); /* waiting fetches are answered now */
	node_gate_tick(n, true);    /* so are requests waiting to catch up */
	node_replica_wake_all(n, false); /* and followers' fetches */
	node_acks_fail(n, NULL, RPC_UNAVAILABLE,
		       "the broker is stopping: the batch is stored on the "
		       "leader, not confirmed by the replicas");
	node_fetchers_stop(n);
	if (n->rpc_open)
		rpc_server_close(&n->rpc, on_rpc_closed);
	node_http_stop(n);
	n->phase = NODE_DRAINING;
	n->phase_deadline = now_ms(n) + STOP_DRAIN_MS;
}

static void on_transfer(struct raft_transfer *req)
{
	struct node *n = req->data;
	uint64_t id = 0;
	node_leader_listen(n, &id);
	NODE_LOG(NODE_INFO, "raft", "leadership handed over (leader now %llu)",
		 (unsigned long long)id);
	if (n->phase == NODE_TRANSFERRING)
		start_draining(n);
}

/* Hands leadership over (or, when that cannot start, drains at once). */
static void start_transfer(struct node *n)
{
	n->transfer.data = n;
	if (raft_state(&n->raft) == RAFT_LEADER &&
	    raft_transfer(&n->raft, &n->transfer, 0, on_transfer) == 0) {
		n->phase = NODE_TRANSFERRING;
		n->phase_deadline = now_ms(n) + STOP_TRANSFER_MS;
		return;
	}
	start_draining(n);
}

void node_stop(struct node *n)
{
	if (n->phase != NODE_RUNNING)
		return;
	NODE_LOG(NODE_INFO, "node", "stopping");
	if (raft_state(&n->raft) == RAFT_LEADER &&
	    n->raft.configuration.n > 1) {
		/* First let what is in flight commit: an entry still in
		 * flight at the transfer would be answered "leadership
		 * lost", an unknown outcome for its client. */
		n->phase = NODE_QUIESCING;
		n->phase_deadline = now_ms(n) + STOP_QUIESCE_MS;
		return;
	}
	start_draining(n);
}

static void advance_stop(struct node *n)
{
	if (n->phase == NODE_QUIESCING &&
	    (raft_last_applied(&n->raft) >= raft_last_index(&n->raft) ||
	     now_ms(n) >= n->phase_deadline))
		start_transfer(n);
	if (n->phase == NODE_TRANSFERRING && now_ms(n) >= n->phase_deadline) {
		NODE_LOG(NODE_WARN, "raft", "leadership transfer timed out");
		start_draining(n);
	}
	if (n->phase != NODE_DRAINING)
		return;
	/* Closing with appends in flight double-frees in libraft 0.15. */
	bool drained = n->raft.last_stored == raft_last_index(&n->raft);
	/* Clients close their connections once told to go away and
	 * answered; what is still open at the deadline is cut. */
	bool clients_gone = !n->rpc_open;
	if ((!drained || !clients_gone) && now_ms(n) < n->phase_deadline)
		return;
	if (!drained)
		NODE_LOG(NODE_WARN, "raft",
			 "log writes still pending at shutdown");
	if (!clients_gone)
		NODE_LOG(NODE_WARN, "node",
			 "client connections still open at shutdown: cut");
	n->phase = NODE_CLOSING;
	n->raft.data = n;
	raft_close(&n->raft, on_raft_closed);
}

static void on_tick(uv_timer_t *t)
{
	struct node *n = t->data;
	if (n->phase == NODE_RUNNING) {
		node_follow_leadership(n);
		node_lease_tick(n);
		node_gate_tick(n, false);
		node_keep_registered(n);
		node_groups_tick(n);
		node_fetch_expire(n, false);
		node_replica_wake_all(n, true); /* followers' timed out */
		node_acks_expire(n);
		node_fetchers_run(n);
		node_isr_tick(n);
		node_replicas_tick(n);
		node_sessions_tick(n);
		if (n->opened_since_trim > 0 ||
		    stor_reacquired_total() != n->reacquired_seen)
			node_queues_trim(n);
	} else if (n->phase < NODE_CLOSING) {
		advance_stop(n);
	}
}

static void on_retention(uv_timer_t *t)
{
	struct node *n = t->data;
	if (n->phase == NODE_RUNNING)
		node_queues_tick(n);
}

static void on_signal(uv_signal_t *s, int signum)
{
	struct node *n = s->data;
	NODE_LOG(NODE_INFO, "node", "signal %d", signum);
	node_stop(n);
}

/* ---- Start ---- */

/* The state changed: a deleted topic's queues and files go first, then
 * the fetches waiting on what changed are answered. */
static void on_applied(void *arg, const struct rsm_result *res)
{
	node_queues_on_applied(arg, res);
	node_fetch_on_applied(arg, res);
	node_replicas_on_applied(arg, res);
}

static int mkdirs(const char *path, char *err, size_t errlen)
{
	char tmp[NODE_PATH];
	snprintf(tmp, sizeof tmp, "%s", path);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0755) != 0 && errno != EEXIST) {
			snprintf(err, errlen, "mkdir %s: %s", tmp,
				 strerror(errno));
			return -1;
		}
		*p = '/';
	}
	if (mkdir(tmp, 0755) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "mkdir %s: %s", tmp, strerror(errno));
		return -1;
	}
	return 0;
}

static int lock_data_dir(struct node *n, char *err, size_t errlen)
{
	char path[NODE_PATH + 8];
	snprintf(path, sizeof path, "%s/LOCK", n->cfg.data_dir);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) {
		snprintf(err, errlen, "open %s: %s", path, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		char pid[32] = "";
		ssize_t r = pread(fd, pid, sizeof pid - 1, 0);
		if (r > 0)
			pid[r] = '\0';
		pid[strcspn(pid, "\n")] = '\0';
		snprintf(
		    err, errlen, "data_dir %s is in use by another raftqd%s%s",
		    n->cfg.data_dir, pid[0] ? " (pid " : "", pid[0] ? pid : "");
		if (pid[0])
			strncat(err, ")", errlen - strlen(err) - 1);
		close(fd);
		return -1;
	}
	char pid[32];
	int len = snprintf(pid, sizeof pid, "%d\n", (int)getpid());
	if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)len, 0) != len) {
		snprintf(err, errlen, "write %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	n->lock_fd = fd;
	return 0;
}

static int start_raft(struct node *n, char *err, size_t errlen)
{
	/* raft_uv's io_destroy of each closed segment's AIO context, off the
	 * loop (aio_reaper.c); without the thread it stays on the loop. */
	int rv = aio_reaper_start();
	if (rv != 0)
		NODE_LOG(NODE_WARN, "raft",
			 "io_destroy reaper thread: %s; closing a log segment "
			 "will block the loop",
			 strerror(-rv));
	rv = raft_uv_tcp_init(&n->transport, n->loop);
	if (rv == 0 && n->cfg.raft_bind[0] != '\0')
		rv = raft_uv_tcp_set_bind_address(&n->transport,
						  n->cfg.raft_bind);
	if (rv == 0)
		rv = raft_uv_init(&n->io, n->loop, n->raft_dir, &n->transport);
	if (rv != 0) {
		snprintf(err, errlen, "raft io init: %s (%d)",
			 raft_strerror(rv), rv);
		return -1;
	}
	raft_uv_set_segment_size(&n->io, (size_t)n->cfg.raft_segment_bytes);
	raft_uv_set_connect_retry_delay(&n->io, n->cfg.connect_retry_ms);
	/* raft_uv implements async_work (version 2) but says version 1, and
	 * the FSM's snapshots need it (rsm_fsm_init). */
	assert(n->io.async_work != NULL);
	n->io.version = 2;
	/* The FSM's snapshots are lz4 frames already (raft/fsm.c): raft_uv's
	 * own lz4 pass over them would only spend a pool thread's time.
	 * Snapshot files it compressed earlier still load (it checks). */
	raft_uv_set_snapshot_compression(&n->io, false);
	rsm_fsm_init(&n->fsm, n->rsm);
	rsm_on_applied(n->rsm, on_applied, n);
	rv =
	    raft_init(&n->raft, &n->io, &n->fsm, n->cfg.id, n->cfg.raft_listen);
	if (rv != 0) {
		snprintf(err, errlen, "raft init: %s (%d): %s",
			 raft_strerror(rv), rv, raft_errmsg(&n->raft));
		return -1;
	}
	n->raft_inited = true;
	if (n->cfg.join[0] == '\0') {
		struct node_peer peers[NODE_MAX_PEERS];
		int np = node_config_peers(n->cfg.initial_cluster, peers,
					   NODE_MAX_PEERS, err, errlen);
		if (np < 0)
			return -1;
		struct raft_configuration conf;
		raft_configuration_init(&conf);
		for (int i = 0; i < np && rv == 0; i++)
			rv = raft_configuration_add(&conf, peers[i].id,
						    peers[i].raft_address,
						    RAFT_VOTER);
		if (rv == 0)
			rv = raft_bootstrap(&n->raft, &conf);
		raft_configuration_close(&conf);
		if (rv == 0)
			NODE_LOG(NODE_INFO, "raft",
				 "bootstrapped a new cluster of %d voters", np);
		else if (rv == RAFT_CANTBOOTSTRAP)
			rv = 0; /* not the first start: the log has it */
		if (rv != 0) {
			snprintf(err, errlen, "raft bootstrap: %s (%d)",
				 raft_strerror(rv), rv);
			return -1;
		}
	}
	raft_set_election_timeout(&n->raft, n->cfg.election_timeout_ms);
	raft_set_heartbeat_timeout(&n->raft, n->cfg.heartbeat_timeout_ms);
	raft_set_pre_vote(&n->raft, true);
	raft_set_snapshot_threshold(&n->raft, n->cfg.snapshot_threshold);
	raft_set_snapshot_trailing(&n->raft, n->cfg.snapshot_trailing);
	raft_set_install_snapshot_timeout(&n->raft, 5000);
	if (n->replacing)
		return 0; /* node_replace_done starts it */
	return node_raft_begin(n, err, errlen);
}

int node_raft_begin(struct node *n, char *err, size_t errlen)
{
	int rv = raft_start(&n->raft);
	if (rv != 0) {
		/* libraft leaves errmsg empty for a bound port. */
		snprintf(err, errlen, "raft start on %s: %s (%d)%s%s",
			 n->cfg.raft_listen, raft_strerror(rv), rv,
			 raft_errmsg(&n->raft)[0] ? ": " : "",
			 raft_errmsg(&n->raft));
		if (rv == RAFT_IOERR)
			strncat(err, " (is the raft port already in use?)",
				errlen - strlen(err) - 1);
		return -1;
	}
	return 0;
}

/* Whether @addr can be listened on (as libuv binds: SO_REUSEADDR);
 * else -1 naming @what, the address and why. */
static int port_free(const char *what, const char *addr, char *err,
		     size_t errlen)
{
	struct sockaddr_storage ss;
	int one = 1, rv = -1, e = 0;
	if (rpc_addr_parse(addr, &ss) != 0)
		return errbuf_set(-1, err, errlen, "%s: bad address '%s'", what,
				  addr);
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 &&
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == 0)
		rv =
		    bind(fd, (struct sockaddr *)&ss,
			 ss.ss_family == AF_INET ? sizeof(struct sockaddr_in)
						 : sizeof(struct sockaddr_in6));
	e = errno;
	if (fd >= 0)
		close(fd);
	if (rv == 0)
		return 0;
	return errbuf_set(-1, err, errlen, "%s on %s: %s", what, addr,
			  e == EADDRINUSE
			      ? "address already in use (another raftqd?)"
			      : strerror(e));
}

/* Before the disk: a node that cannot listen must not bootstrap into its
 * data_dir. An existing data_dir's lock is taken first: "in use by
 * another raftqd" says more than "address in use" when it is the same
 * node. 0, or -1 with @err (the lock released). */
/* Where the client port binds: listen, unless peers reach it through a
 * proxy (listen_bind). */
static const char *node_listen_bind(const struct node *n)
{
	return n->cfg.listen_bind[0] ? n->cfg.listen_bind : n->cfg.listen;
}

static int check_before_disk(struct node *n, char *err, size_t errlen)
{
	struct stat st;
	if (stat(n->cfg.data_dir, &st) == 0 &&
	    lock_data_dir(n, err, errlen) != 0)
		return -1;
	if (port_free("listen", node_listen_bind(n), err, errlen) == 0 &&
	    port_free("raft_listen",
		      n->cfg.raft_bind[0] ? n->cfg.raft_bind
					  : n->cfg.raft_listen,
		      err, errlen) == 0)
		return 0;
	if (n->lock_fd >= 0)
		close(n->lock_fd);
	n->lock_fd = -1;
	return -1;
}

/* The data dir (locked) and its raft/, queues/ and trash/; 0 or -1. */
static int make_data_dir(struct node *n, char *err, size_t errlen)
{
	snprintf(n->raft_dir, sizeof n->raft_dir, "%s/raft", n->cfg.data_dir);
	char queues[NODE_PATH + 16], trash[NODE_PATH + 16];
	snprintf(queues, sizeof queues, "%s/queues", n->cfg.data_dir);
	snprintf(trash, sizeof trash, "%s/trash", n->cfg.data_dir);
	if (mkdirs(n->cfg.data_dir, err, errlen) != 0 ||
	    (n->lock_fd < 0 && lock_data_dir(n, err, errlen) != 0) ||
	    mkdirs(n->raft_dir, err, errlen) != 0 ||
	    mkdirs(queues, err, errlen) != 0 || mkdirs(trash, err, errlen) != 0)
		return -1;
	return 0;
}

/* The client port: the request layer's RPC server, listening. */
static int start_rpc(struct node *n, uv_loop_t *loop, char *err, size_t errlen)
{
	struct rpc_server_config rc = {
	    n->cfg.max_frame_bytes,
	    (size_t)n->cfg.max_pending_bytes,
	    n->cfg.max_connections,
	    (size_t)n->cfg.max_buffered_bytes,
	    (size_t)n->cfg.max_unsent_bytes,
	    n->cfg.max_requests_per_sec,
	    0 /* max_turn_bytes: the default, 256 KiB */};
	n->rpc.data = n;
	int rv = rpc_server_init(&n->rpc, loop, &rc, node_on_request,
				 node_on_rpc_event);
	if (rv == 0)
		rv = rpc_server_listen(&n->rpc, node_listen_bind(n));
	if (rv != 0) {
		snprintf(err, errlen, "listen on %s: %s", node_listen_bind(n),
			 rpc_strerror(rv));
		return -1;
	}
	n->rpc_open = true;
	return 0;
}

int node_start(struct node *n, uv_loop_t *loop, const struct node_config *cfg,
	       char *err, size_t errlen)
{
	memset(n, 0, sizeof *n);
	n->cfg = *cfg;
	n->loop = loop;
	n->lock_fd = -1;
	if (n->cfg.name[0] == '\0')
		snprintf(n->cfg.name, sizeof n->cfg.name, "broker-%" PRIu64,
			 n->cfg.id);
	if (!rsm_name_user_valid(n->cfg.name)) {
		snprintf(err, errlen,
			 "name: '%s' must be 1-127 of A-Z a-z 0-9 . _ -",
			 n->cfg.name);
		return -1;
	}
	if (node_auth_start(n, err, errlen) != 0 ||
	    check_before_disk(n, err, errlen) != 0)
		return -1;
	if (make_data_dir(n, err, errlen) != 0)
		return -1;
	n->rsm = rsm_new();
	if (n->rsm == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	node_config_storage(&n->cfg, &n->stor);
	node_queue_budget(n);
	if (stor_config_check(&n->stor, err, errlen) != 0)
		return -1;
	node_trash_purge(n); /* a deleted topic's files, left by a crash */
	if (node_sched_start(n, err, errlen) != 0 ||
	    (n->stor.flush == STOR_FLUSH_SYNC &&
	     node_syncer_start(n, err, errlen) != 0))
		return -1;
	n->state = RAFT_UNAVAILABLE;
	snprintf(n->join_target, sizeof n->join_target, "%s", n->cfg.join);
	if (node_replace_decide(n, err, errlen) != 0 ||
	    start_raft(n, err, errlen) != 0)
		return -1;
	if (start_rpc(n, loop, err, errlen) != 0)
		return -1;
	if (node_http_start(n, err, errlen) != 0)
		return -1;
	uv_timer_init(loop, &n->tick);
	n->tick.data = n;
	uv_timer_start(&n->tick, on_tick, NODE_TICK_MS, NODE_TICK_MS);
	/* Retention and interval flushes: each tick syncs queues whose
	 * flush_interval_ms has passed, so tick at least that often. */
	uint64_t every =
	    n->cfg.flush_interval_ms < 10000 ? n->cfg.flush_interval_ms : 10000;
	node_commits_init(n);
	uv_timer_init(loop, &n->retention);
	n->retention.data = n;
	uv_timer_start(&n->retention, on_retention, every, every);
	uv_signal_init(loop, &n->sig_term);
	uv_signal_init(loop, &n->sig_int);
	n->sig_term.data = n->sig_int.data = n;
	uv_signal_start(&n->sig_term, on_signal, SIGTERM);
	uv_signal_start(&n->sig_int, on_signal, SIGINT);
	NODE_LOG(NODE_INFO, "node",
		 "%s listening on %s (raft %s, data %s, flush=%s)", n->cfg.name,
		 n->cfg.listen, n->cfg.raft_listen, n->cfg.data_dir,
		 n->cfg.flush);
	return 0;
}

void node_free(struct node *n)
{
	node_calls_cancel(n); /* none left, unless the loop ended early */
	node_sched_free(n);
	node_auth_free(n);
	node_http_free(n);
	node_resets_free(n);
	node_groups_free(n);
	node_fetch_waiters_free(n);
	node_fetchers_free(n);
	node_sessions_free(n);
	rsm_free(n->rsm);
	n->rsm = NULL;
	if (n->lock_fd >= 0)
		close(n->lock_fd);
	n->lock_fd = -1;
}
