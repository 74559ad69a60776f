/* A queue's files released while idle and reopened on use (fds.c): no fd
 * left open, every call still right afterwards, the directory's lock given
 * up and taken back, an idle tick not reopening anything. */
#include <dirent.h>

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

/* Open file descriptors of this process. */
static int open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	assert_non_null(d);
	int n = 0;
	while (readdir(d) != NULL)
		n++;
	closedir(d);
	return n - 3; /* ".", ".." and the DIR's own */
}

static uint64_t count(struct stor_queue *q, int which)
{
	struct stor_queue_stats st;
	stor_queue_stats(q, &st);
	return which == 0   ? st.releases
	       : which == 1 ? st.reacquires
			    : st.fsyncs;
}

static void test_release_closes_every_file_and_reopens_on_use(void **state)
{
	struct sh_fx *f = *state;
	int base = open_fds();
	struct stor_queue *q = sh_open(f->dir, &f->cfg, &f->env.env);
	for (int i = 0; i < 60; i++) /* 3 segments of ~21 batches */
		sh_append(q, f->m, 2, 3000, f->env.f.clock.now + i);
	sh_verify(q, f->m, 4096); /* opens the sealed segments' logs too */
	assert_true(open_fds() >= base + 6);
	assert_int_equal(stor_queue_release(q), 0);
	assert_true(stor_queue_released(q));
	assert_int_equal(open_fds(), base);
	assert_int_equal(stor_queue_release(q), 0); /* twice: nothing */
	assert_int_equal(count(q, 0), 1);
	/* What needs no file answers from memory. */
	struct stor_queue_info info;
	stor_queue_info(q, &info);
	assert_int_equal(info.max_offset, 120);
	assert_true(stor_queue_released(q));
	/* A read reopens; so does an append, which goes on from 120. */
	sh_verify(q, f->m, 4096);
	assert_false(stor_queue_released(q));
	assert_int_equal(count(q, 1), 1);
	assert_int_equal(stor_queue_release(q), 0);
	sh_append(q, f->m, 3, 100, f->env.f.clock.now + 100);
	uint64_t at = 0;
	assert_int_equal(
	    stor_queue_offset_for_time(q, f->env.f.clock.now + 100, &at), 0);
	assert_int_equal(at, 120);
	assert_int_equal(stor_queue_release(q), 0);
	sh_close(q); /* a clean close from released */
	assert_int_equal(open_fds(), base);
	q = sh_open(f->dir, &f->cfg, &f->env.env);
	struct stor_queue_stats st;
	stor_queue_stats(q, &st);
	assert_int_equal(st.clean_open, 1);
	sh_verify(q, f->m, 4096);
	sh_close(q);
}

static void test_release_gives_up_the_lock(void **state)
{
	struct sh_fx *f = *state;
	struct stor_queue *q = sh_open(f->dir, &f->cfg, &f->env.env);
	sh_append(q, f->m, 1, 10, f->env.f.clock.now);
	assert_int_equal(stor_queue_release(q), 0);
	struct stor_queue *other = sh_open(f->dir, &f->cfg, &f->env.env);
	uint8_t p[10] = {0};
	struct stor_batch_in in = {p, sizeof p, 1, 0, 1, 0};
	assert_int_equal(stor_queue_append(q, &in, NULL, NULL), STOR_ELOCKED);
	char want[600];
	snprintf(want, sizeof want,
		 "queue t/0: %s is in use by another process", f->dir);
	assert_string_equal(stor_queue_errmsg(q), want);
	assert_true(stor_queue_released(q));
	sh_close(other);
	sh_append(q, f->m, 1, 10, f->env.f.clock.now);
	sh_verify(q, f->m, 4096);
	sh_close(q);
}

static void test_release_idle_tick_keeps_files_closed(void **state)
{
	struct sh_fx *f = *state;
	f->cfg.retention_ms = 72 * HOUR;
	f->cfg.flush = STOR_FLUSH_INTERVAL;
	f->cfg.flush_interval_ms = 1000;
	struct stor_queue *q = sh_open(f->dir, &f->cfg, &f->env.env);
	int64_t t0 = f->env.f.clock.now;
	for (int i = 0; i < 30; i++)
		sh_append(q, f->m, 2, 3000, t0);
	uint64_t syncs = count(q, 2);
	assert_int_equal(stor_queue_release(q), 0); /* dirty: synced */
	assert_int_equal(count(q, 2), syncs + 1);
	unsigned deleted = 99;
	f->env.f.clock.now = t0 + HOUR;
	assert_int_equal(stor_queue_tick(q, &deleted), 0);
	assert_int_equal(deleted, 0);
	assert_true(stor_queue_released(q));
	assert_int_equal(count(q, 1), 0);
	/* Past retention, the tick reopens to delete both segments (21
	 * batches of 3040 bytes fill one): the queue ends empty. */
	f->env.f.clock.now = t0 + 72 * HOUR + 1;
	assert_int_equal(stor_queue_tick(q, &deleted), 0);
	assert_int_equal(deleted, 2);
	assert_int_equal(count(q, 1), 1);
	struct stor_queue_info info;
	stor_queue_info(q, &info);
	assert_int_equal(info.min_offset, 60);
	assert_int_equal(info.max_offset, 60);
	sh_close(q);
}

/* Closing a released queue unchanged since a clean open reopens nothing
 * (every open fails here) and leaves its marker as it was. */
static void test_release_unchanged_closes_without_reopening(void **state)
{
	struct sh_fx *f = *state;
	struct stor_queue *q = sh_open(f->dir, &f->cfg, &f->env.env);
	sh_append(q, f->m, 2, 100, f->env.f.clock.now);
	sh_close(q);
	q = sh_open(f->dir, &f->cfg, &f->env.env);
	assert_int_equal(stor_queue_release(q), 0);
	tu_faults_arm(&f->env.f, STOR_OP_OPEN, EMFILE, 0, 1000, "");
	char err[512] = "";
	assert_int_equal(stor_queue_close(q, err, sizeof err), 0);
	assert_int_equal(f->env.f.fired, 0);
	tu_faults_disarm(&f->env.f);
	q = sh_open(f->dir, &f->cfg, &f->env.env);
	struct stor_queue_stats st;
	stor_queue_stats(q, &st);
	assert_int_equal(st.clean_open, 1);
	sh_verify(q, f->m, 4096);
	sh_close(q);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(test_release_closes_every_file_and_reopens_on_use),
	    T(test_release_gives_up_the_lock),
	    T(test_release_idle_tick_keeps_files_closed),
	    T(test_release_unchanged_closes_without_reopening),
	};
#undef T
	return cmocka_run_group_tests_name("unit/storage/fds", tests, NULL,
					   NULL);
}
