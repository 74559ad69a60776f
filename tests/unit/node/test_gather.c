/*
 * node_gather (node/gather.c) on a real loop and real local queues: its
 * callback never fires inside node_gather_start (the async contract in
 * STYLE.md), even when every queue is on this broker; it fires once, from
 * the loop, with the queues' bounds.
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
	int calls;
	bool ok;
	struct node_gather g;
};

static int setup(void **state)
{
	struct fx *x = calloc(1, sizeof *x);
	assert_int_equal(uv_loop_init(&x->loop), 0);
	x->dir = tu_mkdtemp();
	x->n.loop = &x->loop;
	x->n.cfg.id = 1;
	snprintf(x->n.cfg.name, sizeof x->n.cfg.name, "broker-1");
	snprintf(x->n.cfg.data_dir, sizeof x->n.cfg.data_dir, "%s", x->dir);
	char *queues = tu_path(x->dir, "queues");
	assert_int_equal(mkdir(queues, 0755), 0);
	free(queues);
	stor_config_default(&x->n.stor);
	x->n.rsm = rsm_new();
	rh_broker(x->n.rsm, 1, "broker-1");
	const char *b[] = {"broker-1"};
	assert_int_equal(rh_topic(x->n.rsm, "local", 3, b, 1), RSM_OK);
	*state = x;
	return 0;
}

static int teardown(void **state)
{
	struct fx *x = *state;
	node_queues_close(&x->n);
	rsm_free(x->n.rsm);
	assert_int_equal(uv_run(&x->loop, UV_RUN_DEFAULT), 0);
	assert_int_equal(uv_loop_close(&x->loop), 0);
	tu_rmrf(x->dir);
	free(x->dir);
	free(x);
	return 0;
}

static void on_done(struct node_gather *g, bool ok)
{
	struct fx *x = g->data;
	x->calls++;
	x->ok = ok;
}

static void test_gather_local_completes_on_the_loop(void **state)
{
	struct fx *x = *state;
	const struct rsm_topic *t = rsm_topic_find(x->n.rsm, "local");
	x->g.data = x;
	assert_int_equal(node_gather_start(&x->n, &x->g, t, NULL, on_done), 0);
	assert_int_equal(x->calls, 0); /* never inside the call */
	assert_int_equal(uv_run(&x->loop, UV_RUN_DEFAULT), 0);
	assert_int_equal(x->calls, 1);
	assert_true(x->ok);
	assert_int_equal(x->g.n_brokers, 1);
	assert_int_equal(x->g.qpb, 3);
	for (int i = 0; i < 3; i++) {
		assert_true(x->g.q[i].known);
		assert_int_equal(x->g.q[i].min, 0);
		assert_int_equal(x->g.q[i].max, 0);
	}
	node_gather_free(&x->g);
}

static void test_gather_nothing_selected_completes_on_the_loop(void **state)
{
	struct fx *x = *state;
	const struct rsm_topic *t = rsm_topic_find(x->n.rsm, "local");
	bool want[3] = {false, false, false};
	x->g.data = x;
	assert_int_equal(node_gather_start(&x->n, &x->g, t, want, on_done), 0);
	assert_int_equal(x->calls, 0);
	assert_int_equal(uv_run(&x->loop, UV_RUN_DEFAULT), 0);
	assert_int_equal(x->calls, 1);
	assert_false(x->g.q[0].known);
	node_gather_free(&x->g);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(test_gather_local_completes_on_the_loop),
	    T(test_gather_nothing_selected_completes_on_the_loop),
	};
#undef T
	return cmocka_run_group_tests_name("node/gather", tests, NULL, NULL);
}
