/* Retention by age and by size; interval flushing; the injected clock. */
#include "storage_helpers.h"

#define HOUR (3600 * 1000LL)

static int setup(void **state)
{
	return sh_setup(state, 1000 * HOUR);
}

static int teardown(void **state)
{
	return sh_teardown(state);
}

/* Each batch is 40 + 3000 bytes: 21 fit a 64 KiB segment (16 + 21*3040 =
 * 63856; a 22nd would make 66896). Batch i goes to segment i / 21. */
#define PER_SEG 21

static void fill(struct stor_queue *q, struct sh_model *m, int batches,
		 int64_t t0, int64_t step)
{
	for (int i = 0; i < batches; i++)
		sh_append(q, m, 2, 3000, t0 + i * step);
}

static void test_retention_by_age_deletes_whole_segments(void **state)
{
	struct sh_fx *f = *state;
	f->cfg.retention_ms = 72 * HOUR;
	struct stor_queue *q = sh_open(f->dir, &f->cfg, &f->env.env);
	int64_t t0 = f->env.f.clock.now;
	/* 5 segments of 21 batches, one batch a minute (times t0 .. t0+104m).
	 */
	fill(q, f->m, 5 * PER_SEG, t0, 60000);
	struct stor_queue_info info;
	stor_queue_info(q, &info);
	assert_int_equal(info.segments, 5);
	unsigned deleted = 99;
	assert_int_equal(stor_queue_retain(q, &deleted), 0);
	assert_int_equal(deleted, 0);
	/* Segment 0's newest message is at t0 + 20 min; segment 1's at +41. */
	f->env.f.clock.now = t0 + 72 * HOUR + 20 * 60000; /* not yet past */
	assert_int_equal(stor_queue_retain(q, &deleted), 0);
	assert_int_equal(deleted, 0);
	f->env.f.clock.now = t0 + 72 * HOUR + 20 * 60000 + 1;
	assert_int_equal(stor_queue_retain(q, &deleted), 0);
	assert_int_equal(deleted, 1);
	stor_queue_info(q, &info);
	assert_int_equal(info.min_offset, PER_SEG * 2);
	assert_int_equal(info.first_store_time, t0 + PER_SEG * 60000);
	assert_int_equal(info.segments, 4);
	assert_int_equal(info.bytes, 16 + 4 * (16 + PER_SEG * 3040) - 16);
	char *log0 = tu_path(f->dir, "00000000000000000000.log");
	char *idx0 = tu_path(f->dir, "00000000000000000000.idx");
	assert_false(tu_exists(log0));
	assert_false(tu_exists(idx0));
	free(log0);
	free(idx0);
	sh_model_retain(f->m, PER_SEG * 2);
	sh_verify(q, f->m, 1 << 16);
	/* Offsets below min are out of range now; time lookups clamp. */
	uint8_t buf[64];
	size_t len;
	assert_int_equal(stor_queue_read(q, 0, buf, sizeof buf, &len),
			 STOR_ERANGE);
	uint64_t off;
	assert_int_equal(stor_queue_offset_for_time(q, t0, &off), 0);
	assert_int_equal(off, PER_SEG * 2);
	/* Three more segments expire at once (newest at +83 min). */
	f->env.f.clock.now = t0 + 72 * HOUR + 83 * 60000 + 1;
	assert_int_equal(stor_queue_tick(q, &deleted), 0);
	assert_int_equal(deleted, 3);
	stor_queue_info(q, &info);
	assert_int_equal(info.min_offset, 4 * PER_SEG * 2);
	assert_int_equal(info.segments, 1);
	sh_close(q);
	/* min survives a reopen. */
	q = sh_open(f->dir, &f->cfg, &f->env.env);
	sh_model_retain(f->m, 4 * PER_SEG * 2);
	sh_verify(q, f->m, 1 << 16);
	sh_close(q);
}

static void test_retention_idle_queue_ends_empty(void **state)
{
	struct sh_fx *f = *state;
	f->cfg.retention_ms = 1 * HOUR;
	struct stor_queue *q = sh_open(f->dir, &f->cfg, &f->env.env);
	int64_t t0 = f->env.f.clock.now;
	fill(q, f->m, 10, t0, 1000); /* all in the active segment */
	f->env.f.clock.now = t0 + 1 * HOUR + 9000 + 1;
	unsigned deleted;
	assert_int_equal(stor_queue_retain(q, &deleted), 0);
	assert_int_equal(deleted, 1);
	struct stor_queue_info info;
	stor_queue_info(q, &info);
	/* Empty: min = max, never back to 0. */
	assert_int_equal(info.min_offset, 20);
	assert_int_equal(info.max_offset, 20);
	assert_int_equal(info.first_store_time, -1);
	assert_int_equal(info.last_store_time, -1);
	uint64_t off;
	assert_int_equal(stor_queue_offset_for_time(q, 0, &off), 0);
	assert_int_equal(off, 20);
	sh_close(q);
	q = sh_open(f->dir, &f->cfg, &f->env.env);
	stor_queue_info(q, &info);
	assert_int_equal(info.min_offset, 20);
	assert_int_equal(info.max_offset, 20);
	/* The next message continues the offsets. */
	uint64_t base;
	struct stor_batch_in in = {"x", 1, 1, 0, f->env.f.clock.now, 0};
	assert_int_equal(stor_queue_append(q, &in, &base, NULL), 0);
	assert_int_equal(base, 20);
	sh_close(q);
}

static void test_retention_by_size_keeps_active(void **state)
{
	struct sh_fx *f = *state;
	f->cfg.retention_ms = 0; /* forever by age */
	f->cfg.retention_bytes = 150000;
	struct stor_queue *q = sh_open(f->dir, &f->cfg, &f->env.env);
	fill(q, f->m, 5 * PER_SEG + 3, 1, 1);
	struct stor_queue_info info;
	stor_queue_info(q, &info);
	uint64_t seg = 16 + PER_SEG * 3040; /* 63856 bytes */
	assert_int_equal(info.bytes, 5 * seg + 16 + 3 * 3040);
	unsigned deleted;
	assert_int_equal(stor_queue_retain(q, &deleted), 0);
	/* 5*63856 + 9136 = 328416; dropping 3 segments gives 136848. */
	assert_int_equal(deleted, 3);
	stor_queue_info(q, &info);
	assert_int_equal(info.bytes, 2 * seg + 16 + 3 * 3040);
	assert_int_equal(info.min_offset, 3 * PER_SEG * 2);
	/* Even a tiny limit never deletes the active segment. */
	f->cfg.retention_bytes = 1;
	sh_close(q);
	q = sh_open(f->dir, &f->cfg, &f->env.env);
	assert_int_equal(stor_queue_retain(q, &deleted), 0);
	assert_int_equal(deleted, 2);
	stor_queue_info(q, &info);
	assert_int_equal(info.segments, 1);
	assert_int_equal(info.min_offset, 5 * PER_SEG * 2);
	assert_int_equal(info.max_offset, (5 * PER_SEG + 3) * 2);
	sh_model_retain(f->m, 5 * PER_SEG * 2);
	sh_verify(q, f->m, 1 << 16);
	sh_close(q);
}

static void test_retention_zero_keeps_forever(void **state)
{
	struct sh_fx *f = *state;
	f->cfg.retention_ms = 0;
	struct stor_queue *q = sh_open(f->dir, &f->cfg, &f->env.env);
	fill(q, f->m, 3 * PER_SEG, 0, 1);
	f->env.f.clock.now = INT64_MAX / 2;
	unsigned deleted;
	assert_int_equal(stor_queue_retain(q, &deleted), 0);
	assert_int_equal(deleted, 0);
	sh_close(q);
}

static void test_tick_interval_flush_follows_clock(void **state)
{
	struct sh_fx *f = *state;
	f->cfg.flush = STOR_FLUSH_INTERVAL;
	f->cfg.flush_interval_ms = 500;
	f->cfg.retention_ms = 0;
	struct stor_queue *q = sh_open(f->dir, &f->cfg, &f->env.env);
	struct stor_queue_stats st;
	fill(q, f->m, 3, 0, 1);
	stor_queue_stats(q, &st);
	assert_int_equal(st.fsyncs, 0); /* nothing synced on append */
	f->env.f.clock.now += 499;
	assert_int_equal(stor_queue_tick(q, NULL), 0);
	stor_queue_stats(q, &st);
	assert_int_equal(st.fsyncs, 0);
	f->env.f.clock.now += 1;
	assert_int_equal(stor_queue_tick(q, NULL), 0);
	stor_queue_stats(q, &st);
	assert_int_equal(st.fsyncs, 1);
	/* Nothing new written: no sync at the next interval. */
	f->env.f.clock.now += 1000;
	assert_int_equal(stor_queue_tick(q, NULL), 0);
	stor_queue_stats(q, &st);
	assert_int_equal(st.fsyncs, 1);
	sh_close(q);

	/* flush=sync syncs every append; flush=os never before close. */
	tu_rmrf(f->dir);
	f->cfg.flush = STOR_FLUSH_SYNC;
	q = sh_open(f->dir, &f->cfg, &f->env.env);
	struct sh_model *m2 = sh_model_new();
	fill(q, m2, 4, 0, 1);
	stor_queue_stats(q, &st);
	assert_int_equal(st.fsyncs, 4);
	sh_close(q);
	tu_rmrf(f->dir);
	f->cfg.flush = STOR_FLUSH_OS;
	q = sh_open(f->dir, &f->cfg, &f->env.env);
	memset(m2, 0, sizeof *m2);
	m2->last_time = INT64_MIN;
	fill(q, m2, 4, 0, 1);
	f->env.f.clock.now += 10 * HOUR;
	assert_int_equal(stor_queue_tick(q, NULL), 0);
	stor_queue_stats(q, &st);
	assert_int_equal(st.fsyncs, 0);
	sh_close(q);
	free(m2);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(test_retention_by_age_deletes_whole_segments),
	    T(test_retention_idle_queue_ends_empty),
	    T(test_retention_by_size_keeps_active),
	    T(test_retention_zero_keeps_forever),
	    T(test_tick_interval_flush_follows_clock),
	};
#undef T
	return cmocka_run_group_tests_name("storage/retention", tests, NULL,
					   NULL);
}
