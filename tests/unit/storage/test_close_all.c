/* Closing many queues with two filesystem syncs (close_all.c): every
 * queue reopens clean with its data; a failed sync leaves the changed
 * queues without a marker (their next open scans) and loses nothing. */
#include "storage_helpers.h"

static int setup(void **state)
{
	return sh_setup(state, 0);
}

static int teardown(void **state)
{
	return sh_teardown(state);
}

struct three {
	char *dir[3];
	struct sh_model *m[3];
	struct stor_queue *q[3];
};

/* q0 changed, q1 opened clean and left alone, q2 changed and released. */
static void open_three(struct sh_fx *f, struct three *t)
{
	char name[8];
	for (int i = 0; i < 3; i++) {
		snprintf(name, sizeof name, "q%d", i);
		t->dir[i] = tu_path(f->dir, name);
		t->m[i] = sh_model_new();
		t->q[i] = sh_open(t->dir[i], &f->cfg, &f->env.env);
		sh_append(t->q[i], t->m[i], 2, 20, 100);
	}
	for (int i = 0; i < 3; i++)
		sh_close(t->q[i]);
	for (int i = 0; i < 3; i++)
		t->q[i] = sh_open(t->dir[i], &f->cfg, &f->env.env);
	sh_append(t->q[0], t->m[0], 3, 30, 200);
	sh_append(t->q[2], t->m[2], 1, 10, 300);
	assert_int_equal(stor_queue_release(t->q[2]), 0);
}

/* Reopens each queue: whether it found its marker, and its data. */
static void reopen_three(struct sh_fx *f, struct three *t, const int *clean)
{
	for (int i = 0; i < 3; i++) {
		struct stor_queue *q = sh_open(t->dir[i], &f->cfg, &f->env.env);
		struct stor_queue_stats st;
		stor_queue_stats(q, &st);
		assert_int_equal(st.clean_open, clean[i]);
		sh_verify(q, t->m[i], 4096);
		sh_close(q);
		free(t->dir[i]);
		free(t->m[i]);
	}
}

static void test_close_all_marks_every_queue_clean(void **state)
{
	struct sh_fx *f = *state;
	struct three t;
	open_three(f, &t);
	struct stor_queue *qs[4] = {t.q[0], NULL, t.q[1], t.q[2]};
	assert_int_equal(stor_queues_close(qs, 4, NULL, NULL), 0);
	reopen_three(f, &t, (const int[]){1, 1, 1});
}

static void count_reports(void *data, const char *msg)
{
	(void)msg;
	++*(int *)data;
}

static void test_close_all_failed_sync_leaves_no_marker(void **state)
{
	struct sh_fx *f = *state;
	struct three t;
	open_three(f, &t);
	tu_faults_arm(&f->env.f, STOR_OP_FSYNC, EIO, 0, 1, "");
	int reports = 0;
	assert_int_equal(stor_queues_close(t.q, 3, count_reports, &reports), 2);
	assert_int_equal(reports, 2);
	assert_int_equal(f->env.f.fired, 1);
	tu_faults_disarm(&f->env.f);
	/* The unchanged queue kept its marker; the others scan. */
	reopen_three(f, &t, (const int[]){0, 1, 0});
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(test_close_all_marks_every_queue_clean),
	    T(test_close_all_failed_sync_leaves_no_marker),
	};
#undef T
	return cmocka_run_group_tests_name("unit/storage/close_all", tests,
					   NULL, NULL);
}
