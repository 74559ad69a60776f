/* Group commit off the owner's thread (storage.h, sync.c): appends without
 * a sync, one sync covering every batch written before it was taken, the
 * synced end never covering what no sync covered, a failed sync cutting the
 * unsynced tail, a stale sync after a truncate counting for nothing. */
#include "storage_helpers.h"

static int setup(void **state)
{
	return sh_setup(state, 0);
}

static int teardown(void **state)
{
	return sh_teardown(state);
}

/* Appends one unsynced batch of @count records (payload as the model's). */
static void put(struct stor_queue *q, struct sh_model *m, uint32_t count,
		uint32_t len)
{
	uint8_t p[4096];
	assert_true(len <= sizeof p);
	sh_fill(p, m->next, len);
	struct stor_batch_in in = {p, len, count, 0, 1, 0};
	uint64_t base = UINT64_MAX;
	assert_int_equal(stor_queue_append_unsynced(q, &in, &base, NULL), 0);
	assert_int_equal(base, m->next);
	m->b[m->n++] = (struct sh_batch){m->next, count, len, 1};
	m->next += count;
	m->last_time = 1;
}

static uint64_t fsyncs(struct stor_queue *q)
{
	struct stor_queue_stats st;
	stor_queue_stats(q, &st);
	return st.fsyncs;
}

static void test_sync_covers_what_was_written_before_it(void **state)
{
	struct sh_fx *f = *state;
	f->cfg.flush = STOR_FLUSH_SYNC;
	struct stor_queue *q = sh_open(f->dir, &f->cfg, &f->env.env);
	struct stor_sync s;
	assert_int_equal(stor_queue_sync_take(q, &s), 0); /* nothing yet */
	put(q, f->m, 3, 100);
	put(q, f->m, 2, 100);
	assert_int_equal(stor_queue_synced_end(q), 0);
	assert_int_equal(stor_queue_sync_take(q, &s), 1);
	assert_int_equal(s.end, 5);
	put(q, f->m, 4, 100); /* written while the sync runs */
	uint64_t before = fsyncs(q);
	stor_sync_run(&s);
	assert_int_equal(s.rv, 0);
	assert_int_equal(s.fd, -1);
	assert_int_equal(stor_queue_sync_done(q, &s), 0);
	assert_int_equal(stor_queue_synced_end(q), 5); /* not the third */
	assert_int_equal(stor_queue_sync_take(q, &s), 1);
	assert_int_equal(s.end, 9);
	stor_sync_run(&s);
	assert_int_equal(stor_queue_sync_done(q, &s), 0);
	assert_int_equal(stor_queue_synced_end(q), 9);
	assert_int_equal(fsyncs(q), before + 2);
	assert_int_equal(stor_queue_sync_take(q, &s), 0);
	/* Synced to its end: releasing it syncs nothing more. */
	assert_int_equal(stor_queue_release(q), 0);
	assert_int_equal(fsyncs(q), before + 2);
	/* A synced append moves the synced end itself. */
	sh_append(q, f->m, 1, 10, 1);
	assert_int_equal(stor_queue_synced_end(q), 10);
	sh_verify(q, f->m, 4096);
	sh_close(q);
	q = sh_open(f->dir, &f->cfg, &f->env.env);
	sh_verify(q, f->m, 4096);
	assert_int_equal(stor_queue_synced_end(q), 10);
	sh_close(q);
}

static void test_sync_rolling_syncs_the_sealed_segment(void **state)
{
	struct sh_fx *f = *state;
	f->cfg.flush = STOR_FLUSH_SYNC;
	f->cfg.segment_bytes = 64u << 10; /* 16 batches of 4000 B each */
	struct stor_queue *q = sh_open(f->dir, &f->cfg, &f->env.env);
	for (int i = 0; i < 40; i++)
		put(q, f->m, 1, 4000);
	struct stor_queue_info info;
	stor_queue_info(q, &info);
	assert_int_equal(info.segments, 3);
	/* Sealed on roll: everything before the active segment is synced
	 * (two full segments of 16 batches of 4040 bytes); the active one's
	 * 8 batches are not. */
	assert_int_equal(stor_queue_synced_end(q), 32);
	struct stor_sync s;
	assert_int_equal(stor_queue_sync_take(q, &s), 1);
	assert_int_equal(s.end, 40);
	stor_sync_run(&s);
	assert_int_equal(stor_queue_sync_done(q, &s), 0);
	assert_int_equal(stor_queue_synced_end(q), 40);
	sh_verify(q, f->m, 4096);
	sh_close(q);
}

static void test_sync_failure_cuts_the_unsynced_tail(void **state)
{
	struct sh_fx *f = *state;
	f->cfg.flush = STOR_FLUSH_SYNC;
	struct stor_queue *q = sh_open(f->dir, &f->cfg, &f->env.env);
	sh_append(q, f->m, 2, 10, 1); /* synced */
	struct sh_model *m = f->m;
	put(q, m, 3, 10);
	struct stor_sync s;
	assert_int_equal(stor_queue_sync_take(q, &s), 1);
	tu_faults_arm(&f->env.f, STOR_OP_FSYNC, EIO, 0, 1, ".log");
	stor_sync_run(&s);
	assert_int_equal(s.rv, -EIO);
	assert_int_equal(stor_queue_sync_done(q, &s), STOR_EIO);
	tu_faults_disarm(&f->env.f);
	char want[4400];
	snprintf(want, sizeof want,
		 "queue t/0: %s/00000000000000000000.log: fsync: Input/output "
		 "error; the unsynced batches were cut",
		 f->dir);
	assert_string_equal(stor_queue_errmsg(q), want);
	struct stor_queue_info info;
	stor_queue_info(q, &info);
	assert_int_equal(info.max_offset, 2);
	assert_int_equal(stor_queue_synced_end(q), 2);
	m->n = 1; /* the model forgets the cut batch */
	m->next = 2;
	put(q, m, 1, 10); /* the next append gets offset 2 again */
	sh_verify(q, m, 4096);
	sh_close(q);
}

static void test_sync_taken_before_a_truncate_counts_for_nothing(void **state)
{
	struct sh_fx *f = *state;
	f->cfg.flush = STOR_FLUSH_SYNC;
	struct stor_queue *q = sh_open(f->dir, &f->cfg, &f->env.env);
	sh_append(q, f->m, 2, 10, 1);
	put(q, f->m, 3, 10);
	struct stor_sync s;
	assert_int_equal(stor_queue_sync_take(q, &s), 1);
	assert_int_equal(stor_queue_truncate(q, 2), 0);
	assert_int_equal(stor_queue_synced_end(q), 2);
	f->m->n = 1;
	f->m->next = 2;
	put(q, f->m, 5, 10); /* offsets 2..6 again, other bytes */
	stor_sync_run(&s);
	assert_int_equal(stor_queue_sync_done(q, &s), 0);
	assert_int_equal(stor_queue_synced_end(q), 2); /* stale: ignored */
	assert_int_equal(stor_queue_sync_take(q, &s), 1);
	assert_int_equal(s.end, 7);
	stor_sync_run(&s);
	assert_int_equal(stor_queue_sync_done(q, &s), 0);
	assert_int_equal(stor_queue_synced_end(q), 7);
	sh_close(q);
}

static void test_sync_other_policies_answer_the_max_offset(void **state)
{
	struct sh_fx *f = *state;
	f->cfg.flush = STOR_FLUSH_OS;
	struct stor_queue *q = sh_open(f->dir, &f->cfg, &f->env.env);
	put(q, f->m, 3, 10);
	assert_int_equal(stor_queue_synced_end(q), 3);
	sh_close(q);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(test_sync_covers_what_was_written_before_it),
	    T(test_sync_rolling_syncs_the_sealed_segment),
	    T(test_sync_failure_cuts_the_unsynced_tail),
	    T(test_sync_taken_before_a_truncate_counts_for_nothing),
	    T(test_sync_other_policies_answer_the_max_offset),
	};
#undef T
	return cmocka_run_group_tests_name("unit/storage/sync", tests, NULL,
					   NULL);
}
