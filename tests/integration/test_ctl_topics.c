/*
 * raftqctl offset reset across several topics and from another group
 * (DESIGN.md §2.1) on a real 3-node cluster: one entry for every topic,
 * refused whole when one topic's broker is down, --all-topics, --to-group
 * with skipped queues, plans of several topics, and undo of them all;
 * topic delete, and a topic of the same name created again.
 */
#include <sys/stat.h>

#include "ctl_fixture.h"

/* Topics a (9 messages: 3 per queue) and b (6: 2 per queue), one queue
 * on each broker, and group g. */
static void two_topics(struct fx *x)
{
	ctl_ok(x, "topic create a --queues 1");
	ctl_ok(x, "topic create b --queues 1");
	ctl_ok(x, "group create g");
	ctl_ok(x, "produce --topic a --count 9");
	ctl_ok(x, "produce --topic b --count 6");
}

/* The Huawei items of one topic whose 3 queues are all at @off, into
 * @buf. */
static char *q3(char *buf, size_t n, int off)
{
	snprintf(buf, n,
		 "[{\"broker_name\":\"broker-1\",\"queue_id\":0,"
		 "\"timestamp_offset\":%d},{\"broker_name\":\"broker-2\","
		 "\"queue_id\":0,\"timestamp_offset\":%d},{\"broker_name\":"
		 "\"broker-3\",\"queue_id\":0,\"timestamp_offset\":%d}]",
		 off, off, off);
	return buf;
}

/* The --json answer of a reset of one topic at @off (all 3 queues). */
static const char *one_json(int off, int id, int epoch, const char *dry)
{
	static char out[1024];
	char q[512];
	snprintf(
	    out, sizeof out,
	    "{\"queues\":%s,\"reset_id\":%d,\"epoch\":%d,\"dry_run\":%s}\n",
	    q3(q, sizeof q, off), id, epoch, dry);
	return out;
}

/* The --json answer of a reset of topics a (at @oa, epoch @ea) and b. */
static const char *two_json(int ea, int oa, int eb, int ob, int id,
			    const char *dry)
{
	static char out[2048];
	char qa[512], qb[512];
	snprintf(out, sizeof out,
		 "{\"topics\":[{\"topic\":\"a\",\"epoch\":%d,\"queues\":%s},"
		 "{\"topic\":\"b\",\"epoch\":%d,\"queues\":%s}],"
		 "\"reset_id\":%d,\"dry_run\":%s}\n",
		 ea, q3(qa, sizeof qa, oa), eb, q3(qb, sizeof qb, ob), id, dry);
	return out;
}

static void test_ctl_two_topics_in_one_reset(void **state)
{
	struct fx *x = *state;
	two_topics(x);
	ctl_out_is(
	    x, "--json offset reset --group g --topic a --topic b --to-latest",
	    two_json(1, 3, 1, 2, 1, "false"));
	/* A comma list is the same; the human answer names both. */
	ctl_out_has(x, "offset reset --group g --topic b,a --to-earliest",
		    "reset 2 of group g, 2 topics applied "
		    "(one entry)\n\ntopic a  epoch 2\n");
	assert_non_null(strstr(x->out, "\ntopic b  epoch 2\n"));
	ctl_out_has(x, "--json group describe g",
		    "{\"topic\":\"b\",\"epoch\":2,");
	/* One topic keeps the Huawei shape. */
	ctl_out_is(x, "--json offset reset --group g --topic b --to-offset 1",
		   one_json(1, 3, 3, "false"));
	/* Undo of the two-topic reset moves both back, in one entry. */
	ctl_out_is(x, "--json offset undo 2", two_json(3, 3, 4, 2, 4, "false"));
	/* Usage: a topic twice, --queues or the guard with several. */
	static const char *const usage[][2] = {
	    {"--topic a,a", "raftqctl: --topic: 'a' named twice\n"},
	    {"--topic a,b --queues broker-1:0",
	     "raftqctl: --queues names queues of one topic; a reset of "
	     "several moves every queue (or use a plan)\n"},
	    {"--topic a,b --expect-epoch 3",
	     "raftqctl: --expect-epoch guards a reset of one topic (a plan "
	     "of several carries an epoch per topic)\n"},
	    {"--topic a --all-topics",
	     "raftqctl: --all-topics and --topic exclude each other\n"},
	    {"--topic a --to-group g",
	     "raftqctl: give exactly one reset target (2 given)\n"},
	};
	for (size_t i = 0; i < sizeof usage / sizeof usage[0]; i++) {
		char args[300];
		snprintf(args, sizeof args,
			 "offset reset --group g %s --to-latest", usage[i][0]);
		assert_int_equal(ctl(x, NULL, args), 2);
		assert_non_null(strstr(x->err, usage[i][1]));
	}
	assert_int_equal(ctl(x, NULL,
			     "offset reset --group g --topic a,nope "
			     "--to-latest"),
			 1);
	assert_string_equal(x->err, "error: UNKNOWN_TOPIC: topic 'nope' does "
				    "not exist\n");
}

/* The committed offset and epoch of g on @topic's queue on @broker. */
static bool g_at(struct fx *x, const char *topic, int broker, json_int_t offset,
		 json_int_t epoch)
{
	char want[300];
	ctl_ok(x, "--json group describe g");
	snprintf(
	    want, sizeof want,
	    "{\"topic\":\"%s\",\"epoch\":%lld,\"queues\":[{\"broker_"
	    "name\":\"broker-%d\",\"queue_id\":0,\"consumer_offset\":%lld,",
	    topic, (long long)epoch, broker, (long long)offset);
	return strstr(x->out, want) != NULL;
}

/* Done-when of issue 11: a two-topic reset with one topic's broker down
 * is refused whole; the other topic does not move either. */
static void test_ctl_two_topics_one_broker_down(void **state)
{
	struct fx *x = *state;
	char args[300];
	int dead = (x->h.leader + 1) % 3, up = (dead + 1) % 3;
	snprintf(args, sizeof args,
		 "topic create a --queues 1 --brokers broker-%d", up + 1);
	ctl_ok(x, args);
	snprintf(args, sizeof args,
		 "topic create b --queues 1 --brokers broker-%d", dead + 1);
	ctl_ok(x, args);
	ctl_ok(x, "group create g");
	ctl_ok(x, "produce --topic a --count 4");
	ctl_ok(x, "produce --topic b --count 4");
	ctl_ok(x, "offset reset --group g --topic a,b --to-offset 1");
	assert_true(g_at(x, "a", up + 1, 1, 1));
	snprintf(x->boot, sizeof x->boot, "%s", x->h.nodes[x->h.leader].listen);
	h_kill(&x->h, dead);
	assert_int_equal(ctl(x, NULL,
			     "offset reset --group g --topic a,b "
			     "--to-latest"),
			 1);
	char want[300];
	snprintf(
	    want, sizeof want,
	    "error: UNAVAILABLE: broker broker-%d did not answer: ", dead + 1);
	assert_non_null(strstr(x->err, want));
	assert_non_null(strstr(x->err,
			       "(topic b); nothing was changed (gave up "
			       "within "));
	assert_true(g_at(x, "a", up + 1, 1, 1)); /* a did not move */
	ctl_out_has(x, "offset history --group g --topic a", "1 reset ");
	/* a alone still resets. */
	ctl_ok(x, "offset reset --group g --topic a --to-latest");
	assert_true(g_at(x, "a", up + 1, 4, 2));
}

/* --all-topics: every topic the group has offsets for. */
static void test_ctl_all_topics(void **state)
{
	struct fx *x = *state;
	two_topics(x);
	assert_int_equal(
	    ctl(x, NULL, "offset reset --group g --all-topics --to-latest"), 1);
	assert_string_equal(x->err, "error: INVALID_ARGUMENT: group 'g' has no "
				    "offsets and no online member on any "
				    "topic; name the topics with --topic\n");
	ctl_ok(x, "offset reset --group g --topic b --to-offset 1");
	ctl_out_is(x,
		   "--json offset reset --group g --all-topics --to-earliest",
		   one_json(0, 2, 2, "false"));
	ctl_ok(x, "offset reset --group g --topic a --to-offset 2");
	ctl_out_is(
	    x,
	    "--json offset reset --group g --all-topics --to-current --dry-run",
	    two_json(1, 2, 2, 0, 0, "true"));
}

/* --to-group: OTHER's offsets; queues OTHER never committed keep theirs
 * and are listed as skipped. */
static void test_ctl_to_group(void **state)
{
	struct fx *x = *state;
	two_topics(x);
	ctl_ok(x, "group create src");
	ctl_ok(x, "offset reset --group src --topic a --queues broker-1:0 "
		  "--to-offset 2");
	ctl_out_is(
	    x,
	    "--json offset reset --group g --topic a "
	    "--to-group src",
	    "{\"queues\":[{\"broker_name\":\"broker-1\",\"queue_id\":0,"
	    "\"timestamp_offset\":2},{\"broker_name\":\"broker-2\","
	    "\"queue_id\":0,\"timestamp_offset\":3},{\"broker_name\":"
	    "\"broker-3\",\"queue_id\":0,\"timestamp_offset\":3}],"
	    "\"reset_id\":2,\"epoch\":1,\"skipped\":[{\"broker_name\":"
	    "\"broker-2\",\"queue_id\":0},{\"broker_name\":\"broker-3\","
	    "\"queue_id\":0}],\"dry_run\":false,\"source_group\":\"src\"}\n");
	ctl_out_has(x,
		    "offset reset --group g --topic a --to-group src --dry-run",
		    "copied from group src\n");
	assert_non_null(strstr(x->out, "skipped (src never committed it)"));
	ctl_out_has(x, "--json offset history --group g --topic a",
		    "\"target\":\"group\"");
	assert_non_null(strstr(x->out, "\"source_group\":\"src\""));
	assert_non_null(strstr(x->out, "\"clamped\":false,\"skipped\":true}"));
	ctl_out_has(x, "offset history --group g --topic a",
		    "target group src  epoch 1");
	assert_int_equal(
	    ctl(x, NULL, "offset reset --group g --topic a --to-group nope"),
	    1);
	assert_string_equal(x->err, "error: UNKNOWN_GROUP: group 'nope' does "
				    "not exist (the group to copy)\n");
	assert_int_equal(
	    ctl(x, NULL, "offset reset --group g --topic a --to-group g"), 1);
	assert_string_equal(x->err, "error: INVALID_ARGUMENT: --to-group names "
				    "the group being reset ('g')\n");
}

/* Plans of several topics: exported together, guarded per topic (one
 * stale topic refuses the whole plan), applied in one entry. */
static void test_ctl_plan_of_two_topics(void **state)
{
	struct fx *x = *state;
	char p[600], args[1400];
	two_topics(x);
	ctl_ok(x, "offset reset --group g --topic a,b --to-offset 1");
	snprintf(p, sizeof p, "%s/both.csv", x->h.root);
	snprintf(args, sizeof args,
		 "offset reset --group g --all-topics --to-current "
		 "--dry-run --export %s",
		 p);
	ctl_ok(x, args);
	file_is(p, "topic,broker_name,queue_id,offset,epoch\n"
		   "a,broker-1,0,1,1\na,broker-2,0,1,1\n"
		   "a,broker-3,0,1,1\nb,broker-1,0,1,1\n"
		   "b,broker-2,0,1,1\nb,broker-3,0,1,1\n");
	/* b was reset since: the plan is refused, a unmoved too. */
	ctl_ok(x, "offset reset --group g --topic b --to-latest");
	ctl_ok(x, "offset reset --group g --topic a --to-latest");
	snprintf(args, sizeof args, "offset reset --group g --from-file %s", p);
	assert_int_equal(ctl(x, NULL, args), 1);
	assert_string_equal(x->err, "error: STALE_EPOCH: group 'g' is at epoch "
				    "2 on topic 'a', not 1: another reset "
				    "came first; nothing was changed\n");
	assert_true(g_at(x, "a", 1, 3, 2));
	assert_true(g_at(x, "b", 1, 2, 2));
	/* A fresh plan of both, without epochs: exactly its offsets. */
	write_file(x, "fresh.csv",
		   "topic,broker_name,queue_id,offset,epoch\n"
		   "b,broker-1,0,1,\na,broker-1,0,2,\n",
		   p, sizeof p);
	snprintf(args, sizeof args,
		 "--json offset reset --group g --from-file %s", p);
	ctl_ok(x, args);
	assert_string_equal(
	    x->out,
	    "{\"topics\":[{\"topic\":\"a\",\"epoch\":3,\"queues\":[{\"broker_"
	    "name\":\"broker-1\",\"queue_id\":0,\"timestamp_offset\":2}]},"
	    "{\"topic\":\"b\",\"epoch\":3,\"queues\":[{\"broker_name\":"
	    "\"broker-1\",\"queue_id\":0,\"timestamp_offset\":1}]}],"
	    "\"reset_id\":4,\"dry_run\":false}\n");
	assert_true(g_at(x, "a", 1, 2, 3));
	/* --topic with a plan must name the plan's topics. */
	snprintf(args, sizeof args,
		 "offset reset --group g --topic a --from-file %s", p);
	assert_int_equal(ctl(x, NULL, args), 2);
	assert_non_null(
	    strstr(x->err, "--topic names other topics than the plan's"));
}

/* Whether node @i still has a directory for topic @topic. */
static bool has_files(struct fx *x, int i, const char *topic)
{
	char p[700];
	struct stat st;
	snprintf(p, sizeof p, "%s/queues/%s", x->h.nodes[i].dir, topic);
	return stat(p, &st) == 0;
}

/* Whether, within @ms, no node has a directory for @topic: the delete is
 * answered once every node the leader reaches applied it, and a node
 * removes the files as it applies (moved aside at once, removed off its
 * loop thread). */
static bool files_gone(struct fx *x, const char *topic, int ms)
{
	int64_t end = h_now_ms() + ms;
	bool any = true;
	while (any && h_now_ms() < end) {
		any = has_files(x, 0, topic) || has_files(x, 1, topic) ||
		      has_files(x, 2, topic);
		if (any)
			usleep(20000); /* bounded by @ms */
	}
	return !any;
}

/* topic delete: messages, offsets and history of the topic go, on every
 * node; the name created again starts empty — nothing of the old
 * incarnation is ever served. */
static void test_ctl_topic_delete(void **state)
{
	struct fx *x = *state;
	static const char *const before[] = {
	    "topic create t --queues 1", "group create g --initial earliest",
	    "produce --topic t --count 6",
	    "consume --group g --topic t --count 6 --timeout 5000",
	    "offset reset --group g --topic t --to-offset 1"};
	for (size_t i = 0; i < sizeof before / sizeof before[0]; i++)
		ctl_ok(x, before[i]);
	for (int i = 0; i < 3; i++)
		assert_true(has_files(x, i, "t"));
	ctl_out_is(x, "topic delete t",
		   "deleted topic t: its messages, and every group's offsets "
		   "and reset history on it, are gone\n");
	assert_true(files_gone(x, "t", 5000));
	assert_int_equal(ctl(x, NULL, "topic describe t"), 1);
	assert_string_equal(x->err,
			    "error: UNKNOWN_TOPIC: topic 't' does not exist\n");
	assert_int_equal(ctl(x, NULL, "topic delete t"), 1);
	ctl_out_is(x, "--json group describe g",
		   "{\"group\":\"g\",\"mode\":\"clustering\",\"topics\":[],"
		   "\"members\":[],\"retry_pending\":0,\"dlq\":0}\n");
	/* The same name again: empty, and g starts over (earliest). */
	ctl_ok(x, "topic create t --queues 1");
	ctl_ok(x, "produce --topic t --count 3");
	ctl_ok(x, "consume --group g --topic t --count 10 --timeout 1500");
	assert_string_equal(x->err, "consumed 3 messages\n");
	ctl_out_has(x, "--json topic describe t", "\"max_offset\":1,");
	assert_null(strstr(x->out, "\"max_offset\":2,"));
	assert_int_equal(ctl(x, NULL, "offset history --group g --topic t"), 0);
	assert_string_equal(x->out,
			    "0 resets (times in UTC; \"-\": no committed "
			    "offset)\n");
	assert_int_equal(ctl(x, NULL, "topic delete"), 2);
}

/* A node down while its topic is deleted and created again catches up
 * without serving a message of the old incarnation. Online readers stop
 * a delete. */
static void test_ctl_topic_delete_node_down(void **state)
{
	struct fx *x = *state;
	int dead = (x->h.leader + 1) % 3;
	char want[200];
	snprintf(x->boot, sizeof x->boot, "%s", x->h.nodes[x->h.leader].listen);
	ctl_ok(x, "topic create t --queues 1");
	ctl_ok(x, "produce --topic t --count 9"); /* 3 on each broker */
	h_kill(&x->h, dead);
	ctl_ok(x, "topic delete t");
	ctl_ok(x, "topic create t --queues 1");
	assert_int_equal(h_start(&x->h, dead), 0);
	/* Once it caught up: its queue is the new, empty one. */
	snprintf(want, sizeof want,
		 "{\"broker_name\":\"broker-%d\",\"queue_id\":0,"
		 "\"min_offset\":0,\"max_offset\":0,",
		 dead + 1);
	int64_t end = h_now_ms() + 15000;
	while (h_now_ms() < end &&
	       (ctl(x, NULL, "--json topic describe t") != 0 ||
		strstr(x->out, want) == NULL))
		usleep(100000); /* bounded by the 15 s deadline */
	assert_non_null(strstr(x->out, want));
	assert_null(strstr(x->out, "\"max_offset\":3,"));
	/* A reader online: refused, nothing deleted. */
	ctl_ok(x, "group create g");
	ctl_bg(x, "c", "consume --group g --topic t --timeout 4000");
	end = h_now_ms() + 10000;
	while (h_now_ms() < end &&
	       (ctl(x, NULL, "--json group describe g") != 0 ||
		strstr(x->out, "\"member_id\"") == NULL))
		usleep(50000); /* bounded: until the consumer is a member */
	assert_int_equal(ctl(x, NULL, "topic delete t"), 1);
	assert_non_null(strstr(x->err, "error: GROUP_ACTIVE: topic 't' is read "
				       "by 1 online member (g/"));
	assert_non_null(strstr(x->err, "); stop them first\n"));
	int lines;
	assert_int_equal(ctl_bg_wait(x, "c", 10000, &lines), 0);
	ctl_ok(x, "topic describe t");
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, ctl_setup, h_teardown)
	const struct CMUnitTest tests[] = {
	    T(test_ctl_two_topics_in_one_reset),
	    T(test_ctl_two_topics_one_broker_down),
	    T(test_ctl_all_topics),
	    T(test_ctl_to_group),
	    T(test_ctl_plan_of_two_topics),
	    T(test_ctl_topic_delete),
	    T(test_ctl_topic_delete_node_down),
	};
#undef T
	return cmocka_run_group_tests_name("integration/ctl_topics", tests,
					   NULL, NULL);
}
