/*
 * raftqctl against a real 3-node cluster: exit codes (0, 1 with "error:
 * CODE: message", 2 for bad usage), the exact JSON shapes, and produce /
 * consume through stdin and stdout.
 */
#include "ctl_fixture.h"

static void test_ctl_exit_codes_and_errors(void **state)
{
	struct fx *x = *state;
	ctl_out_is(x, "topic create t --queues 2",
		   "created topic t with 2 queues per broker on "
		   "broker-1, broker-2, broker-3\n");
	assert_int_equal(ctl(x, NULL, "topic create t --queues 2"), 1);
	assert_string_equal(
	    x->err, "error: ALREADY_EXISTS: topic 't' already exists\n");
	ctl_ok(x, "group create g");
	ctl_ok(x, "group create bc --mode broadcasting");
	/* Bad usage: 2, with the reason. */
	assert_int_equal(ctl(x, NULL, "frobnicate"), 2);
	assert_int_equal(ctl(x, NULL, "topic create t2"), 2);
	assert_int_equal(ctl(x, NULL,
			     "offset reset --group g --topic t --to-time "
			     "\"2026-13-01 00:00:00\""),
			 2);
	assert_non_null(strstr(x->err, "--to-time: month 13 is not 1-12"));
	assert_int_equal(ctl(x, NULL,
			     "offset reset --group g --topic t --to-latest "
			     "--to-earliest"),
			 2);
	assert_non_null(strstr(x->err, "give exactly one reset target"));
	assert_int_equal(ctl(x, NULL, "offset reset --group g --to-latest"), 2);
	assert_int_equal(ctl(x, NULL, "topic list --bogus"), 2);
	/* Errors from the cluster: 1. */
	assert_int_equal(
	    ctl(x, NULL, "offset reset --group nope --topic t --to-latest"), 1);
	assert_non_null(strstr(x->err, "error: UNKNOWN_GROUP: group 'nope' "
				       "does not exist"));
	assert_int_equal(
	    ctl(x, NULL, "offset reset --group g --topic nope --to-latest"), 1);
	assert_string_equal(
	    x->err, "error: UNKNOWN_TOPIC: topic 'nope' does not exist\n");
	assert_int_equal(
	    ctl(x, NULL, "offset reset --group bc --topic t --to-latest"), 1);
	assert_non_null(strstr(x->err, "error: BROADCAST_UNSUPPORTED: group "
				       "'bc' is broadcasting"));
	/* No node reachable. */
	char saved[256];
	snprintf(saved, sizeof saved, "%s", x->boot);
	snprintf(x->boot, sizeof x->boot, "127.0.0.1:1");
	assert_int_equal(ctl(x, NULL, "topic list --timeout 300"), 1);
	assert_string_equal(x->err,
			    "error: UNAVAILABLE: no raftq node could be "
			    "reached within 300 ms (127.0.0.1:1: cannot "
			    "connect); check -b or RAFTQ_BOOTSTRAP and that "
			    "raftqd runs\n");
	snprintf(x->boot, sizeof x->boot, "%s", saved);
}

/* Issue 11 #6: right after kill -9 of the leader, status never names the
 * dead node as leader, and the next command rides through the election
 * instead of failing. */
static void test_ctl_failover_as_the_operator_sees_it(void **state)
{
	struct fx *x = *state;
	ctl_ok(x, "group create g");
	snprintf(x->boot, sizeof x->boot, "%s,%s,%s", x->h.nodes[0].listen,
		 x->h.nodes[1].listen, x->h.nodes[2].listen);
	int dead = x->h.leader;
	h_kill(&x->h, dead);
	ctl_ok(x, "--json cluster status");
	json_error_t je;
	json_t *st = json_loads(x->out, 0, &je);
	assert_non_null(st);
	json_int_t lid = json_integer_value(json_object_get(st, "leader_id"));
	assert_true(lid != dead + 1);
	json_decref(st);
	ctl_out_has(x, "group describe g --timeout 10000",
		    "group g (clustering)");
}

/* Issue 11 #8 and #12: a timestamp in seconds is refused; global flags
 * after the command; a repeated flag is bad usage. */
static void test_ctl_input_strictness(void **state)
{
	struct fx *x = *state;
	ctl_ok(x, "topic create t --queues 1");
	ctl_ok(x, "group create g");
	assert_int_equal(ctl(x, NULL,
			     "offset reset --group g --topic t "
			     "--to-timestamp 1796061637 --dry-run"),
			 2);
	assert_non_null(strstr(x->err, "--to-timestamp: 1796061637 looks like "
				       "seconds; raftq expects milliseconds"));
	assert_int_equal(ctl(x, NULL,
			     "offset reset --group g --topic t --to-time "
			     "1796061637"),
			 2);
	assert_non_null(strstr(x->err, "looks like seconds"));
	assert_int_equal(ctl(x, NULL,
			     "offset reset --group g --group h --topic t "
			     "--to-latest"),
			 2);
	assert_non_null(strstr(x->err, "raftqctl: --group given twice"));
	ctl_out_has(
	    x, "offset reset --group g --topic t --to-latest --dry-run --json",
	    "\"dry_run\":true");
	ctl_out_has(x, "offset --help", "usage: raftqctl offset reset");
	assert_null(strstr(x->out, "topic create"));
}

/* Issue 11 #5: a broker that cannot answer shows its queues' MaxOffset
 * and lag as unknown (null, "?"), never as 0. */
static void test_ctl_lag_of_a_dead_broker_is_unknown(void **state)
{
	struct fx *x = *state;
	ctl_ok(x, "topic create t --queues 1");
	ctl_ok(x, "group create g --initial earliest");
	assert_int_equal(
	    ctl(x, "a\\nb\\nc\\nd\\ne\\nf\\n", "produce --topic t"), 0);
	ctl_ok(x, "consume --group g --topic t --count 6 --timeout 3000");
	int dead = (x->h.leader + 1) % 3;
	snprintf(x->boot, sizeof x->boot, "%s", x->h.nodes[x->h.leader].listen);
	h_kill(&x->h, dead);
	ctl_ok(x, "--json group describe g");
	char want[200];
	snprintf(want, sizeof want,
		 "{\"broker_name\":\"broker-%d\",\"queue_id\":0,"
		 "\"consumer_offset\":2,\"max_offset\":null,\"lag\":null}",
		 dead + 1);
	assert_non_null(strstr(x->out, want));
	ctl_ok(x, "group describe g");
	snprintf(want, sizeof want,
		 "broker-%d           0                2  "
		 "          ?        ?\n",
		 dead + 1);
	assert_non_null(strstr(x->out, want));
}

/* Issue 11 #4: undo of a reset of queues the group never committed
 * returns them to "no committed offset": the answer shows where the group
 * starts (its initial rule), never a sentinel; the history shows "-". */
static void test_ctl_undo_of_never_committed(void **state)
{
	struct fx *x = *state;
	ctl_ok(x, "topic create t --queues 1");
	ctl_ok(x, "group create g");
	assert_int_equal(ctl(x, "a\\nb\\nc\\n", "produce --topic t"), 0);
	ctl_ok(x, "offset reset --group g --topic t --to-earliest");
	ctl_out_is(x, "--json offset undo 1",
		   "{\"queues\":[{\"broker_name\":\"broker-1\",\"queue_id\":0,"
		   "\"timestamp_offset\":1},{\"broker_name\":\"broker-2\","
		   "\"queue_id\":0,\"timestamp_offset\":1},{\"broker_name\":"
		   "\"broker-3\",\"queue_id\":0,\"timestamp_offset\":1}],"
		   "\"reset_id\":2,\"epoch\":2,\"dry_run\":false}\n");
	ctl_out_has(x, "--json offset history --group g --topic t",
		    "\"previous_offset\":0,"
		    "\"timestamp_offset\":null");
	assert_null(strstr(x->out, "18446744073709551615"));
	ctl_out_has(x, "offset history --group g --topic t",
		    "           0 -> -            [0, 1]");
}

/* Issue 11 #2: a group's first read fixes its start, whatever client
 * reads: six messages produced after a consume that read nothing are
 * delivered to the next consume. */
static void test_ctl_first_read_fixes_the_start(void **state)
{
	struct fx *x = *state;
	ctl_ok(x, "topic create t --queues 1");
	ctl_ok(x, "group create billing");
	ctl_ok(x, "consume --group billing --topic t --timeout 500");
	assert_string_equal(x->err, "consumed 0 messages\n");
	assert_int_equal(
	    ctl(x, "a\\nb\\nc\\nd\\ne\\nf\\n", "produce --topic t"), 0);
	ctl_ok(x, "consume --group billing --topic t --count 6 --timeout 3000");
	assert_string_equal(x->err, "consumed 6 messages\n");
	ctl_out_has(x, "--json group describe billing", "\"topic\":\"t\"");
}

/* Issue 11 #1: raftqctl consume is a member of the group: a reset while it
 * runs is followed (everything re-read from the reset point), never
 * undone by its commits, and --require-inactive sees it. */
static void test_ctl_consume_follows_a_reset(void **state)
{
	struct fx *x = *state;
	ctl_ok(x, "topic create live --queues 2");
	ctl_ok(x, "group create g3 --initial earliest");
	ctl_ok(x, "produce --topic live --count 300 --size 8");
	ctl_bg(x, "c",
	       "consume --group g3 --topic live --count 600 "
	       "--timeout 4000");
	/* Wait until it committed all 300 (50 on each of 6 queues). */
	int64_t end = h_now_ms() + 15000;
	while (!group_at(x, "g3", 50, 1) && h_now_ms() < end)
		usleep(100000); /* bounded by the 15 s deadline */
	assert_true(group_at(x, "g3", 50, 1));
	assert_int_equal(ctl(x, NULL,
			     "offset reset --group g3 --topic live "
			     "--to-earliest --require-inactive"),
			 1);
	assert_non_null(strstr(x->err, "error: GROUP_ACTIVE: group 'g3' has "
				       "1 online member (raftqctl-"));
	ctl_ok(x, "offset reset --group g3 --topic live --to-earliest");
	int lines = 0;
	assert_int_equal(ctl_bg_wait(x, "c", 20000, &lines), 0);
	assert_string_equal(x->err, "consumed 600 messages\n");
	assert_int_equal(lines, 600);
	/* Its last commits are the re-read positions, under the reset's
	 * epoch: nothing undid the reset, and it left the group. */
	assert_true(group_at(x, "g3", 50, 0));
	assert_non_null(strstr(x->out, "\"epoch\":1"));
}

/* Issue 11 #10 and #7: raftqctl produce retries what a dead broker cannot
 * take on the others, and when nothing can take a message it says how
 * many were stored, how many failed, and names the broker. */
static void test_ctl_produce_reports_what_it_stored(void **state)
{
	struct fx *x = *state;
	int dead = (x->h.leader + 1) % 3;
	char args[300];
	ctl_ok(x, "topic create t --queues 2");
	snprintf(args, sizeof args,
		 "topic create lonely --queues 1 "
		 "--brokers broker-%d",
		 dead + 1);
	ctl_ok(x, args);
	snprintf(x->boot, sizeof x->boot, "%s", x->h.nodes[x->h.leader].listen);
	h_kill(&x->h, dead);
	ctl_out_is(x, "produce --topic t --count 6000 --size 20",
		   "produced 6000 messages to t\n");
	assert_int_equal(ctl(x, NULL,
			     "produce --topic lonely --count 5 "
			     "--size 4 --timeout 1500"),
			 1);
	snprintf(args, sizeof args,
		 "error: UNAVAILABLE: produced 0 of 5 messages to lonely; 5 "
		 "failed: ");
	assert_non_null(strstr(x->err, args));
	snprintf(args, sizeof args, "broker-%d", dead + 1);
	if (strstr(x->err, args) == NULL)
		fail_msg("%s", x->err);
}

static void test_ctl_json_shapes_and_round_trip(void **state)
{
	struct fx *x = *state;
	ctl_ok(x, "topic create t --queues 2");
	ctl_ok(x, "group create g --initial earliest");
	assert_int_equal(
	    ctl(x, "a\\nb\\nc\\nd\\ne\\nf\\n", "produce --topic t"), 0);
	assert_string_equal(x->out, "produced 6 messages to t\n");
	/* Six lines of JSON, one per message, every key present. */
	ctl_ok(x,
	       "--json consume --group g --topic t --count 6 --timeout 3000");
	int lines = 0;
	char bodies[8] = {0};
	for (char *l = strtok(x->out, "\n"); l; l = strtok(NULL, "\n")) {
		json_error_t je;
		json_t *m = json_loads(l, 0, &je);
		assert_non_null(m);
		assert_int_equal(json_object_size(m), 7);
		const char *body =
		    json_string_value(json_object_get(m, "body"));
		assert_non_null(body);
		assert_int_equal(strlen(body), 1);
		bodies[lines] = body[0];
		assert_true(json_is_integer(json_object_get(m, "offset")));
		assert_true(json_is_integer(json_object_get(m, "store_time")));
		json_decref(m);
		lines++;
	}
	assert_int_equal(lines, 6);
	/* Exactly the six produced bodies, each once. */
	unsigned seen = 0;
	for (int i = 0; i < 6; i++) {
		assert_true(bodies[i] >= 'a' && bodies[i] <= 'f');
		seen |= 1u << (bodies[i] - 'a');
	}
	assert_int_equal(seen, 0x3f);
	/* The reset answer: exactly the Huawei shape per queue, sorted. */
	ctl_ok(x, "--json offset reset --group g --topic t --to-earliest");
	json_error_t je;
	json_t *j = json_loads(x->out, 0, &je);
	assert_non_null(j);
	json_t *qs = json_object_get(j, "queues");
	assert_int_equal(json_array_size(qs), 6);
	const char *want[] = {"broker-1", "broker-1", "broker-2",
			      "broker-2", "broker-3", "broker-3"};
	for (size_t i = 0; i < 6; i++) {
		json_t *q = json_array_get(qs, i);
		assert_int_equal(json_object_size(q), 3);
		assert_string_equal(
		    json_string_value(json_object_get(q, "broker_name")),
		    want[i]);
		assert_int_equal(
		    json_integer_value(json_object_get(q, "queue_id")),
		    (json_int_t)(i % 2));
		assert_int_equal(
		    json_integer_value(json_object_get(q, "timestamp_offset")),
		    0);
	}
	assert_int_equal(json_integer_value(json_object_get(j, "reset_id")), 1);
	assert_int_equal(json_integer_value(json_object_get(j, "epoch")), 1);
	json_decref(j);
	/* After the reset the same 6 messages come again. */
	ctl_ok(x, "consume --group g --topic t --count 6 --timeout 3000");
	assert_string_equal(x->err, "consumed 6 messages\n");
	/* cluster status and group describe in their shapes. */
	ctl_ok(x, "--json cluster status");
	j = json_loads(x->out, 0, &je);
	assert_non_null(j);
	assert_int_equal(json_array_size(json_object_get(j, "nodes")), 3);
	assert_true(json_integer_value(json_object_get(j, "leader_id")) >= 1);
	json_decref(j);
	ctl_ok(x, "--json group describe g");
	j = json_loads(x->out, 0, &je);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "mode")),
			    "clustering");
	json_t *t0 = json_array_get(json_object_get(j, "topics"), 0);
	assert_int_equal(json_array_size(json_object_get(t0, "queues")), 6);
	json_decref(j);
	/* History has the reset with every queue's previous offset. */
	ctl_ok(x, "--json offset history --group g --topic t");
	j = json_loads(x->out, 0, &je);
	assert_non_null(j);
	json_t *r0 = json_array_get(json_object_get(j, "resets"), 0);
	assert_string_equal(json_string_value(json_object_get(r0, "target")),
			    "earliest");
	assert_int_equal(json_array_size(json_object_get(r0, "queues")), 6);
	json_decref(j);
	/* Undo it. */
	ctl_out_has(x, "offset undo 1",
		    "reset 2 of group g, topic t applied: epoch 2");
}

/* cluster remove: a stopped joiner leaves the configuration; the leader
 * and brokers hosting queues are refused with their reason. */
static void test_ctl_cluster_remove(void **state)
{
	struct fx *x = *state;
	int leader = h_wait_leader(&x->h, 3, 15000);
	assert_true(leader >= 0);
	assert_int_equal(h_add_joiner(&x->h, leader), 3);
	assert_int_equal(h_start(&x->h, 3), 0);
	assert_true(h_wait_leader(&x->h, 4, 15000) >= 0);
	ctl_ok(x, "topic create t --queues 1");
	/* Without the cluster secret: refused (issue 12). */
	unsetenv("RAFTQ_CLUSTER_SECRET");
	assert_int_equal(ctl(x, NULL, "cluster remove 4"), 1);
	assert_string_equal(x->err,
			    "error: FORBIDDEN: NODE_REMOVE needs the cluster "
			    "secret ([auth] cluster_secret, the same on every "
			    "node): none was given\n");
	setenv("RAFTQ_CLUSTER_SECRET", H_CLUSTER_SECRET, 1);
	/* broker-4 hosts queues of t now. */
	assert_int_equal(ctl(x, NULL, "cluster remove 4"), 1);
	assert_string_equal(
	    x->err, "error: FORBIDDEN: broker-4 hosts queues of topic 't' (as "
		    "their home or a replica): removing it would lose them or "
		    "leave them a copy short (moving replicas is not built); a "
		    "broker whose disk was lost comes back empty with replace "
		    "(docs/deploy.md)\n");
	char args[64];
	snprintf(args, sizeof args, "cluster remove %d", leader + 1);
	assert_int_equal(ctl(x, NULL, args), 1);
	assert_non_null(strstr(x->err, "is the leader: stop it first"));
	assert_int_equal(ctl(x, NULL, "cluster remove 9"), 1);
	assert_string_equal(x->err, "error: NOT_FOUND: node 9 is not in the "
				    "cluster's configuration\n");
	assert_int_equal(ctl(x, NULL, "cluster remove x"), 2);
}

/* A node that hosts nothing is removed; new topics skip it. */
static void test_ctl_cluster_remove_empty_node(void **state)
{
	struct fx *x = *state;
	int leader = h_wait_leader(&x->h, 3, 15000);
	assert_int_equal(h_add_joiner(&x->h, leader), 3);
	assert_int_equal(h_start(&x->h, 3), 0);
	assert_true(h_wait_leader(&x->h, 4, 15000) >= 0);
	assert_int_equal(h_stop(&x->h, 3, 5000), 0);
	ctl_out_is(x, "cluster remove 4", "removed node 4\n");
	ctl_ok(x, "--json cluster status");
	json_error_t je;
	json_t *j = json_loads(x->out, 0, &je);
	assert_non_null(j);
	assert_int_equal(json_array_size(json_object_get(j, "nodes")), 3);
	json_decref(j);
	ctl_ok(x, "topic create after --queues 1");
	if (ctl(x, NULL, "--json topic describe after") != 0)
		fail_msg("describe: %s", x->err);
	j = json_loads(x->out, 0, &je);
	assert_non_null(j);
	assert_int_equal(json_array_size(json_object_get(j, "queues")), 3);
	json_decref(j);
}

/* Issue 11 #12: group delete, refused while a member is online, drops
 * the group's offsets and history; the name can be used again. */
static void test_ctl_group_delete(void **state)
{
	struct fx *x = *state;
	ctl_ok(x, "topic create t --queues 1");
	ctl_ok(x, "group create g");
	ctl_ok(x, "produce --topic t --count 3");
	ctl_ok(x, "offset reset --group g --topic t --to-latest");
	ctl_bg(x, "c", "consume --group g --topic t --timeout 3000");
	int64_t end = h_now_ms() + 10000;
	while (!group_at(x, "g", 1, 1) && h_now_ms() < end)
		usleep(100000); /* bounded by the 10 s deadline */
	assert_int_equal(ctl(x, NULL, "group delete g"), 1);
	assert_non_null(strstr(x->err, "error: GROUP_ACTIVE: group 'g' has 1 "
				       "online member (raftqctl-"));
	assert_non_null(strstr(x->err, "; stop them or wait until they "
				       "leave\n"));
	int lines = 0;
	assert_int_equal(ctl_bg_wait(x, "c", 15000, &lines), 0);
	assert_int_equal(lines, 0);
	ctl_out_is(x, "group delete g",
		   "deleted group g: its offsets and reset history are gone\n");
	ctl_out_is(x, "--json group list", "{\"groups\":[]}\n");
	assert_int_equal(ctl(x, NULL, "--json group delete g"), 1);
	assert_string_equal(x->err, "error: UNKNOWN_GROUP: group 'g' does not "
				    "exist\n");
	assert_int_equal(ctl(x, NULL, "group delete"), 2);
	/* Created again: no history, nothing committed. */
	ctl_ok(x, "group create g --initial earliest");
	ctl_out_is(x, "--json offset history --group g --topic t",
		   "{\"resets\":[]}\n");
	ctl_ok(x, "consume --group g --topic t --count 3 --timeout 3000");
	assert_string_equal(x->err, "consumed 3 messages\n");
}

/* DESIGN 2.1 --expect-epoch: a reset prepared at epoch N applies only
 * while the group is still at N; a dry run checks it too. */
static void test_ctl_expect_epoch(void **state)
{
	struct fx *x = *state;
	ctl_ok(x, "topic create t --queues 1");
	ctl_ok(x, "group create g");
	ctl_ok(x, "produce --topic t --count 6");
	ctl_out_has(x,
		    "--json offset reset --group g --topic t --to-offset 1 "
		    "--expect-epoch 0",
		    "\"epoch\":1,");
	/* Someone else's reset came first: refused, nothing changed. */
	assert_int_equal(ctl(x, NULL,
			     "offset reset --group g --topic t --to-earliest "
			     "--expect-epoch 0"),
			 1);
	assert_string_equal(x->err,
			    "error: STALE_EPOCH: group 'g' is at epoch 1 on "
			    "topic 't', not 0: another reset came first; "
			    "nothing was changed\n");
	assert_int_equal(ctl(x, NULL,
			     "offset reset --group g --topic t --to-earliest "
			     "--expect-epoch 0 --dry-run"),
			 1);
	assert_true(group_at(x, "g", 1, 0));
	ctl_out_has(x,
		    "--json offset reset --group g --topic t --to-earliest "
		    "--expect-epoch 1",
		    "\"epoch\":2,");
	assert_true(group_at(x, "g", 0, 0));
	assert_int_equal(ctl(x, NULL,
			     "offset reset --group g --topic t --to-earliest "
			     "--expect-epoch -1"),
			 2);
	assert_int_equal(ctl(x, NULL,
			     "offset reset --group g --topic t --to-earliest "
			     "--expect-epoch 1 --expect-epoch 2"),
			 2);
}

/* Writes plan @text to ROOT/@name and applies it ([@json]offset reset
 * --group g --from-file); the exit status. */
static int apply_plan(struct fx *x, const char *name, const char *text,
		      const char *json)
{
	char path[600], args[1400];
	write_file(x, name, text, path, sizeof path);
	snprintf(args, sizeof args, "%soffset reset --group g --from-file %s",
		 json, path);
	return ctl(x, NULL, args);
}

/* The committed offset of each of t's 3 queues (broker-1..3, queue 0). */
static void offsets_are(struct fx *x, json_int_t a, json_int_t b, json_int_t c)
{
	ctl_ok(x, "--json group describe g");
	char want[300];
	snprintf(want, sizeof want,
		 "\"queues\":[{\"broker_name\":\"broker-1\",\"queue_id\":0,"
		 "\"consumer_offset\":%lld,",
		 (long long)a);
	assert_non_null(strstr(x->out, want));
	snprintf(want, sizeof want,
		 "{\"broker_name\":\"broker-2\",\"queue_id\":0,"
		 "\"consumer_offset\":%lld,",
		 (long long)b);
	assert_non_null(strstr(x->out, want));
	snprintf(want, sizeof want,
		 "{\"broker_name\":\"broker-3\",\"queue_id\":0,"
		 "\"consumer_offset\":%lld,",
		 (long long)c);
	assert_non_null(strstr(x->out, want));
}

/* DESIGN 2.1 plans: --to-current --export writes today's positions with
 * the epoch; --from-file applies a plan exactly (clamped), and refuses
 * one made before an intervening reset, changing nothing. */
static void test_ctl_plans(void **state)
{
	struct fx *x = *state;
	char p[600], args[1400];
	ctl_ok(x, "topic create t --queues 1");
	ctl_ok(x, "group create g");
	ctl_ok(x, "produce --topic t --count 9");
	ctl_ok(x, "offset reset --group g --topic t --to-offset 2");
	snprintf(p, sizeof p, "%s/plan.csv", x->h.root);
	snprintf(args, sizeof args,
		 "offset reset --group g --topic t --to-current --dry-run "
		 "--export %s",
		 p);
	ctl_ok(x, args);
	file_is(p, "topic,broker_name,queue_id,offset,epoch\n"
		   "t,broker-1,0,2,1\nt,broker-2,0,2,1\n"
		   "t,broker-3,0,2,1\n");
	/* A plan that cannot be written fails the command and says that
	 * the reset (here a dry run) happened anyway. */
	assert_int_equal(ctl(x, NULL,
			     "offset reset --group g --topic t --to-current "
			     "--dry-run --export /nonexistent/p.csv"),
			 1);
	assert_string_equal(x->err,
			    "raftqctl: --export: /nonexistent/p.csv: No "
			    "such file or directory (the reset itself "
			    "was a dry run)\n");
	/* An intervening reset: the plan no longer applies. */
	ctl_ok(x, "offset reset --group g --topic t --to-earliest");
	snprintf(args, sizeof args, "offset reset --group g --from-file %s", p);
	assert_int_equal(ctl(x, NULL, args), 1);
	assert_string_equal(x->err,
			    "error: STALE_EPOCH: group 'g' is at epoch 2 on "
			    "topic 't', not 1: another reset came first; "
			    "nothing was changed\n");
	offsets_are(x, 0, 0, 0);
	/* A plan made at epoch 2: exactly its offsets, 9 clamped to 3. */
	assert_int_equal(
	    apply_plan(x, "q.csv",
		       "topic,broker_name,queue_id,offset,epoch\r\n"
		       "t,broker-2,0,3,2\nt,broker-1,0,1,2\nt,broker-3,0,9,2\n",
		       "--json "),
	    0);
	assert_non_null(strstr(x->out, "\"epoch\":3,"));
	offsets_are(x, 1, 3, 3);
	ctl_out_has(x, "offset history --group g --topic t",
		    "target plan  epoch 3");
	assert_non_null(strstr(x->out, "0 -> 3            [0, 3]"));
	/* No epoch column values: no guard. Applied --to-current keeps
	 * every position. */
	assert_int_equal(apply_plan(x, "r.csv",
				    "topic,broker_name,queue_id,offset,epoch\n"
				    "t,broker-1,0,2,\n",
				    ""),
			 0);
	ctl_ok(x, "offset reset --group g --topic t --to-current");
	offsets_are(x, 2, 3, 3);
	/* A bad file is bad usage, naming file and line (every refusal:
	 * tests/unit/ctl/test_plan.c); a queue named twice, the cluster's
	 * refusal. Neither changes anything. */
	assert_int_equal(
	    apply_plan(x, "bad.csv", "topic,broker,queue,offset\n", ""), 2);
	assert_non_null(strstr(x->err, "bad.csv:1: the first line must be "
				       "topic,broker_name,queue_id,offset,"
				       "epoch"));
	assert_int_equal(apply_plan(x, "dup.csv",
				    "topic,broker_name,queue_id,offset,epoch\n"
				    "t,broker-1,0,1,\nt,broker-1,0,2,\n",
				    ""),
			 1);
	assert_string_equal(x->err, "error: INVALID_ARGUMENT: queue "
				    "'broker-1:0': in the plan twice\n");
	offsets_are(x, 2, 3, 3);
}

/* Issue 10 #5: when a queue cannot be opened, raftqctl consume printed
 * nothing and exited 0. Now it exits 1 naming the broker, queue and why
 * (it still prints what the other queues gave). */
static void test_regress_consume_reports_a_queue_that_cannot_open(void **state)
{
	struct fx *x = *state;
	int dead = (x->h.leader + 1) % 3;
	char path[700], want[64];
	snprintf(x->boot, sizeof x->boot, "%s", x->h.nodes[x->h.leader].listen);
	ctl_ok(x, "topic create t --queues 1");
	ctl_ok(x, "group create g --initial earliest");
	ctl_ok(x, "produce --topic t --count 3");
	assert_int_equal(h_stop(&x->h, dead, 10000), 0);
	/* A segment that does not follow the one before it. */
	snprintf(path, sizeof path, "%s/queues/t/0/00000000000000001000.log",
		 x->h.nodes[dead].dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fclose(f);
	assert_int_equal(h_start(&x->h, dead), 0);
	assert_true(h_wait_leader(&x->h, 3, 15000) >= 0);
	assert_int_equal(
	    ctl(x, NULL,
		"consume --group g --topic t --count 3 --timeout 3000"),
	    1);
	snprintf(want, sizeof want, "error: broker broker-%d: ", dead + 1);
	assert_non_null(strstr(x->err, want));
	assert_non_null(strstr(x->err, "but the next segment starts at 1000"));
	int lines = 0;
	for (const char *c = x->out; *c; c++)
		lines += *c == '\n';
	assert_int_equal(lines, 2); /* the two healthy queues */
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, ctl_setup, h_teardown)
	const struct CMUnitTest tests[] = {
	    T(test_ctl_exit_codes_and_errors),
	    T(test_ctl_json_shapes_and_round_trip),
	    T(test_ctl_cluster_remove),
	    T(test_ctl_cluster_remove_empty_node),
	    T(test_ctl_failover_as_the_operator_sees_it),
	    T(test_ctl_input_strictness),
	    T(test_ctl_lag_of_a_dead_broker_is_unknown),
	    T(test_ctl_undo_of_never_committed),
	    T(test_ctl_first_read_fixes_the_start),
	    T(test_ctl_consume_follows_a_reset),
	    T(test_ctl_produce_reports_what_it_stored),
	    T(test_ctl_group_delete),
	    T(test_ctl_expect_epoch),
	    T(test_ctl_plans),
	    T(test_regress_consume_reports_a_queue_that_cannot_open),
	};
#undef T
	return cmocka_run_group_tests_name("integration/ctl", tests, NULL,
					   NULL);
}
