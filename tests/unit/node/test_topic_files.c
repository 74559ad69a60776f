/*
 * A topic's files per incarnation (node/topic_files.c) on a real loop and
 * a real data directory: which directory is opened, adopted, moved to the
 * trash or left alone, for every case its header lists.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../raft/rsm_helpers.h"
#include "node_int.h"

struct fx {
	uv_loop_t loop;
	struct node n;
	char *dir;
};

static int setup(void **state)
{
	struct fx *x = calloc(1, sizeof *x);
	assert_non_null(x);
	assert_int_equal(uv_loop_init(&x->loop), 0);
	x->dir = tu_mkdtemp();
	x->n.loop = &x->loop;
	snprintf(x->n.cfg.data_dir, sizeof x->n.cfg.data_dir, "%s", x->dir);
	for (int i = 0; i < 2; i++) {
		char *p = tu_path(x->dir, i ? "trash" : "queues");
		assert_int_equal(mkdir(p, 0755), 0);
		free(p);
	}
	x->n.rsm = rsm_new();
	rh_standard(x->n.rsm); /* topic orders, created at 1000 */
	*state = x;
	return 0;
}

/* <dir>/@rel as a path (static buffer). */
static const char *at(struct fx *x, const char *rel)
{
	static char p[1200];
	snprintf(p, sizeof p, "%s/%s", x->dir, rel);
	return p;
}

/* Makes queues/@topic with a message file and, if @marker, the marker. */
static void make_topic_dir(struct fx *x, const char *topic, const char *marker)
{
	char rel[300];
	snprintf(rel, sizeof rel, "queues/%s", topic);
	assert_int_equal(mkdir(at(x, rel), 0755), 0);
	snprintf(rel, sizeof rel, "queues/%s/data", topic);
	FILE *f = fopen(at(x, rel), "w");
	assert_non_null(f);
	fclose(f);
	if (marker == NULL)
		return;
	snprintf(rel, sizeof rel, "queues/%s/INCARNATION", topic);
	f = fopen(at(x, rel), "w");
	assert_non_null(f);
	fputs(marker, f);
	fclose(f);
}

/* The marker of queues/@topic ("" when absent). */
static const char *marker(struct fx *x, const char *topic)
{
	static char text[64];
	char rel[300];
	snprintf(rel, sizeof rel, "queues/%s/INCARNATION", topic);
	FILE *f = fopen(at(x, rel), "r");
	text[0] = '\0';
	if (f != NULL) {
		size_t n = fread(text, 1, sizeof text - 1, f);
		text[n] = '\0';
		fclose(f);
	}
	return text;
}

static bool has_data(struct fx *x, const char *topic)
{
	char rel[300];
	snprintf(rel, sizeof rel, "queues/%s/data", topic);
	return tu_exists(at(x, rel));
}

/* Runs the loop until the trash is emptied; asserts it is. */
static void trash_emptied(struct fx *x)
{
	assert_int_equal(uv_run(&x->loop, UV_RUN_DEFAULT), 0);
	char p[1200];
	snprintf(p, sizeof p, "rmdir '%s/trash' && mkdir '%s/trash'", x->dir,
		 x->dir);
	assert_int_equal(system(p), 0); /* rmdir fails unless empty */
}

static int teardown(void **state)
{
	struct fx *x = *state;
	trash_emptied(x); /* nothing left behind by a test */
	assert_int_equal(uv_loop_close(&x->loop), 0);
	rsm_free(x->n.rsm);
	tu_rmrf(x->dir);
	free(x->dir);
	free(x);
	return 0;
}

static int topic_dir(struct fx *x, const char *name, char *msg)
{
	char dir[1200];
	return node_topic_dir(&x->n, rsm_topic_find(x->n.rsm, name), dir,
			      sizeof dir, msg, 300);
}

static void test_open_new_adopt_and_older(void **state)
{
	struct fx *x = *state;
	char msg[300];
	/* New: made, marked. */
	assert_int_equal(topic_dir(x, "orders", msg), 0);
	assert_string_equal(marker(x, "orders"), "1000\n");
	/* No marker (a raftq from before deletion): adopted, data kept. */
	const char *b[] = {"broker-1"};
	assert_int_equal(rh_topic(x->n.rsm, "pay", 1, b, 1), RSM_OK);
	make_topic_dir(x, "pay", NULL);
	assert_int_equal(topic_dir(x, "pay", msg), 0);
	assert_true(has_data(x, "pay"));
	assert_string_equal(marker(x, "pay"), "1000\n");
	/* An older incarnation's files: moved away, never opened. */
	tu_rmrf(at(x, "queues/pay"));
	make_topic_dir(x, "pay", "999\n");
	assert_int_equal(topic_dir(x, "pay", msg), 0);
	assert_false(has_data(x, "pay"));
	assert_string_equal(marker(x, "pay"), "1000\n");
	trash_emptied(x);
}

/* Files of a later incarnation than the state knows: left alone. */
static void test_state_behind_its_files(void **state)
{
	struct fx *x = *state;
	char msg[300];
	make_topic_dir(x, "orders", "2000\n");
	assert_int_equal(topic_dir(x, "orders", msg), -1);
	assert_string_equal(msg, "topic 'orders': this node's state is behind "
				 "its files (a later incarnation); retry "
				 "once it caught up");
	assert_true(has_data(x, "orders"));
	tu_rmrf(at(x, "queues/orders"));
	make_topic_dir(x, "orders", "not a number\n");
	assert_int_equal(topic_dir(x, "orders", msg), -1);
	assert_non_null(strstr(msg, "/queues/orders/INCARNATION: unreadable"));
	assert_true(has_data(x, "orders"));
}

static void test_deleted_removes_only_that_incarnation(void **state)
{
	struct fx *x = *state;
	make_topic_dir(x, "orders", "1000\n");
	node_topic_files_deleted(&x->n, "orders", 1000);
	assert_false(tu_exists(at(x, "queues/orders")));
	make_topic_dir(x, "a", NULL); /* no marker: the one incarnation */
	node_topic_files_deleted(&x->n, "a", 1000);
	assert_false(tu_exists(at(x, "queues/a")));
	make_topic_dir(x, "b", "3000\n"); /* created again since */
	node_topic_files_deleted(&x->n, "b", 1000);
	assert_true(has_data(x, "b"));
	node_topic_files_deleted(&x->n, "none", 1000); /* nothing there */
	trash_emptied(x);
}

/* After a restore: a topic missing from the state is removed only when
 * the state has seen a deletion since its files were made. */
static void test_reconcile_after_restore(void **state)
{
	struct fx *x = *state;
	make_topic_dir(x, "gone", "900\n");
	make_topic_dir(x, "legacy", NULL);
	make_topic_dir(x, "orders", NULL);
	/* No deletion known (clock 0): a missing topic may come back from
	 * the log; nothing goes, orders is adopted. */
	node_topic_files_reconcile(&x->n);
	assert_true(has_data(x, "gone") && has_data(x, "legacy"));
	assert_string_equal(marker(x, "orders"), "1000\n");
	/* orders deleted: the clock is 1000. */
	struct raft_buffer buf;
	assert_int_equal(rsm_encode_delete_topic("orders", &buf, NULL, 0), 0);
	assert_int_equal(rh_apply(x->n.rsm, buf)->code, RSM_OK);
	make_topic_dir(x, "later", "5000\n");
	node_topic_files_reconcile(&x->n);
	assert_false(tu_exists(at(x, "queues/gone")));
	assert_false(tu_exists(at(x, "queues/legacy")));
	assert_false(tu_exists(at(x, "queues/orders")));
	assert_true(has_data(x, "later")); /* may be created by the log */
	trash_emptied(x);
}

static void test_purge_at_start(void **state)
{
	struct fx *x = *state;
	assert_int_equal(mkdir(at(x, "trash/7"), 0755), 0);
	FILE *f = fopen(at(x, "trash/7/seg"), "w");
	assert_non_null(f);
	fclose(f);
	node_trash_purge(&x->n);
	assert_int_equal(x->n.trash_seq, 7); /* new names come after */
	trash_emptied(x);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(test_open_new_adopt_and_older),
	    T(test_state_behind_its_files),
	    T(test_deleted_removes_only_that_incarnation),
	    T(test_reconcile_after_restore),
	    T(test_purge_at_start),
	};
#undef T
	return cmocka_run_group_tests_name("node/topic_files", tests, NULL,
					   NULL);
}
