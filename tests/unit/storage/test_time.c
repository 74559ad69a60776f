/* Offset-for-time: every edge of DESIGN.md §2, against a brute-force model. */
#include "storage_helpers.h"

static int setup(void **state)
{
	return sh_setup(state, 0);
}

static int teardown(void **state)
{
	return sh_teardown(state);
}

static uint64_t oft(struct stor_queue *q, int64_t t)
{
	uint64_t off = UINT64_MAX;
	int rv = stor_queue_offset_for_time(q, t, &off);
	if (rv != 0)
		fail_msg("offset_for_time(%lld): %s: %s", (long long)t,
			 stor_errname(rv), stor_queue_errmsg(q));
	return off;
}

static void test_time_empty_queue_answers_min_equals_max(void **state)
{
	struct sh_fx *f = *state;
	struct stor_queue *q = sh_open(f->dir, &f->cfg, &f->env.env);
	assert_int_equal(oft(q, INT64_MIN), 0);
	assert_int_equal(oft(q, 0), 0);
	assert_int_equal(oft(q, INT64_MAX), 0);
	sh_close(q);
}

static void test_time_edges(void **state)
{
	struct sh_fx *f = *state;
	struct stor_queue *q = sh_open(f->dir, &f->cfg, &f->env.env);
	sh_append(q, f->m, 4, 10, 1000); /* 0..3 */
	sh_append(q, f->m, 2, 10, 2000); /* 4..5 */
	sh_append(q, f->m, 3, 10, 2000); /* 6..8 same time */
	sh_append(q, f->m, 1, 10, 2000); /* 9 */
	sh_append(q, f->m, 5, 10, 3000); /* 10..14 */
	/* Before everything: MinOffset. */
	assert_int_equal(oft(q, INT64_MIN), 0);
	assert_int_equal(oft(q, 999), 0);
	/* Exactly a store time: the first message with it. */
	assert_int_equal(oft(q, 1000), 0);
	assert_int_equal(oft(q, 2000), 4);
	assert_int_equal(oft(q, 3000), 10);
	/* Between two times: the first message after. */
	assert_int_equal(oft(q, 1001), 4);
	assert_int_equal(oft(q, 2999), 10);
	/* After everything: MaxOffset. */
	assert_int_equal(oft(q, 3001), 15);
	assert_int_equal(oft(q, INT64_MAX), 15);
	sh_close(q);
}

/* The store time of a message: its batch's, across segments; outside
 * [min, max) is STOR_ERANGE. */
static void test_time_store_time_of_an_offset(void **state)
{
	struct sh_fx *f = *state;
	struct stor_queue *q = sh_open(f->dir, &f->cfg, &f->env.env);
	int64_t t = -1;
	assert_int_equal(stor_queue_store_time(q, 0, &t), STOR_ERANGE);
	for (int i = 0; i < 200; i++) /* two 64 KiB segments */
		sh_append(q, f->m, 3, 100, 1000 + i);
	for (uint64_t off = 0; off < 600; off += 37) {
		assert_int_equal(stor_queue_store_time(q, off, &t), 0);
		assert_int_equal(t, 1000 + (int64_t)(off / 3));
	}
	assert_int_equal(stor_queue_store_time(q, 599, &t), 0);
	assert_int_equal(t, 1199);
	assert_int_equal(stor_queue_store_time(q, 600, &t), STOR_ERANGE);
	assert_string_equal(stor_queue_errmsg(q),
			    "queue t/0: offset 600 outside [0, 600)");
	sh_close(q);
}

static void test_time_constant_run_longer_than_index_interval(void **state)
{
	struct sh_fx *f = *state;
	struct stor_queue *q = sh_open(f->dir, &f->cfg, &f->env.env);
	/* 60 batches of ~140 bytes share one time: far past the 512-byte
	 * interval, so lookups must jump to the next index entry. */
	sh_append(q, f->m, 1, 100, 10);
	for (int i = 0; i < 60; i++)
		sh_append(q, f->m, 2, 100, 20);
	sh_append(q, f->m, 1, 100, 30);
	for (int i = 0; i < 60; i++)
		sh_append(q, f->m, 1, 100, 30);
	sh_append(q, f->m, 1, 100, 40);
	assert_int_equal(oft(q, 10), 0);
	assert_int_equal(oft(q, 11), 1);
	assert_int_equal(oft(q, 20), 1);
	assert_int_equal(oft(q, 21), 121);
	assert_int_equal(oft(q, 30), 121);
	/* 1 + 60*2 + 1 + 60 = 182 offsets before the time-40 batch. */
	assert_int_equal(oft(q, 31), 182);
	assert_int_equal(oft(q, 40), 182);
	assert_int_equal(oft(q, 41), 183);
	sh_close(q);
	q = sh_open(f->dir, &f->cfg, &f->env.env);
	assert_int_equal(oft(q, 21), 121);
	assert_int_equal(oft(q, 31), 182);
	sh_close(q);
}

/* Checks every distinct time, its neighbours, and the extremes. */
static void check_all_times(struct stor_queue *q, const struct sh_model *m)
{
	assert_int_equal(oft(q, INT64_MIN), m->min);
	assert_int_equal(oft(q, INT64_MAX), m->next);
	for (size_t i = m->first; i < m->n; i++) {
		int64_t t = m->b[i].time;
		for (int64_t d = -1; d <= 1; d++)
			if (oft(q, t + d) != sh_expect_time(m, t + d))
				fail_msg("time %lld: got %llu want %llu",
					 (long long)(t + d),
					 (unsigned long long)oft(q, t + d),
					 (unsigned long long)sh_expect_time(
					     m, t + d));
	}
}

static int append_random(void *arg)
{
	struct sh_fx *f = arg;
	struct stor_queue *q = sh_open(f->dir, &f->cfg, &f->env.env);
	for (size_t i = 0; i < f->m->n; i++) {
		const struct sh_batch *b = &f->m->b[i];
		uint8_t *p = malloc(b->len + 1);
		sh_fill(p, b->base, b->len);
		struct stor_batch_in in = {p, b->len, b->count, 0, b->time, 0};
		if (stor_queue_append(q, &in, NULL, NULL) != 0)
			return 1;
		free(p);
	}
	return 0; /* exits without closing: a crash */
}

static void test_time_random_against_model(void **state)
{
	struct sh_fx *f = *state;
	struct stor_queue *q = sh_open(f->dir, &f->cfg, &f->env.env);
	uint32_t seed = 12345;
	int64_t t = 1600000000000;
	for (int i = 0; i < 3000; i++) {
		seed = seed * 1103515245u + 12345u;
		uint32_t r = seed >> 8;
		/* Runs of equal times, small steps, occasional jumps back
		 * (which the queue raises) and big gaps. */
		if (r % 5 == 0)
			t += 0;
		else if (r % 5 == 1)
			t -= (int64_t)(r % 50);
		else if (r % 5 == 2)
			t += 100000;
		else
			t += 1 + (int64_t)(r % 7);
		sh_append(q, f->m, 1 + r % 20, 16 + (r >> 4) % 400, t);
	}
	check_all_times(q, f->m);
	sh_close(q);
	/* Sealed segments now come from mapped index files. */
	q = sh_open(f->dir, &f->cfg, &f->env.env);
	check_all_times(q, f->m);
	sh_close(q);
}

static void test_time_after_crash_recovery(void **state)
{
	struct sh_fx *f = *state;
	/* Plan the batches in the model, write them in a child that dies. */
	uint64_t next = 0;
	int64_t t = 500;
	for (int i = 0; i < 700; i++) {
		uint32_t count = 1 + (uint32_t)(i % 3);
		t += (i % 4 == 0) ? 0 : 3;
		f->m->b[f->m->n++] = (struct sh_batch){
		    next, count, (uint32_t)(200 + i % 300), t};
		next += count;
	}
	f->m->next = next;
	assert_int_equal(tu_crash_after(append_random, f), 0);
	struct stor_queue *q = sh_open(f->dir, &f->cfg, &f->env.env);
	struct stor_queue_stats st;
	stor_queue_stats(q, &st);
	assert_int_equal(st.clean_open, 0);
	sh_verify(q, f->m, 1 << 16);
	check_all_times(q, f->m);
	sh_close(q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(
		test_time_empty_queue_answers_min_equals_max, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_time_edges, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_time_store_time_of_an_offset,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_time_constant_run_longer_than_index_interval, setup,
		teardown),
	    cmocka_unit_test_setup_teardown(test_time_random_against_model,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_time_after_crash_recovery,
					    setup, teardown),
	};
	return cmocka_run_group_tests_name("storage/time", tests, NULL, NULL);
}
