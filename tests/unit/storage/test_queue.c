/* Append, read, reopen, bounds, clamping, locking, argument errors. */
#include "storage_helpers.h"

static int setup(void **state)
{
	return sh_setup(state, 1700000000000);
}

static int teardown(void **state)
{
	return sh_teardown(state);
}

static void test_queue_new_is_empty(void **state)
{
	struct sh_fx *f = *state;
	struct stor_queue *q = sh_open(f->dir, &f->cfg, &f->env.env);
	struct stor_queue_info i;
	stor_queue_info(q, &i);
	assert_int_equal(i.min_offset, 0);
	assert_int_equal(i.max_offset, 0);
	assert_int_equal(i.first_store_time, -1);
	assert_int_equal(i.last_store_time, -1);
	assert_int_equal(i.segments, 1);
	assert_int_equal(i.bytes, 16);
	size_t len = 99;
	uint8_t buf[64];
	assert_int_equal(stor_queue_read(q, 0, buf, sizeof buf, &len), 0);
	assert_int_equal(len, 0);
	assert_int_equal(stor_queue_read(q, 1, buf, sizeof buf, &len),
			 STOR_ERANGE);
	assert_string_equal(stor_queue_errmsg(q),
			    "queue t/0: offset 1 outside [0, 0]");
	sh_close(q);
	/* The files a new queue consists of. */
	char *log = tu_path(f->dir, "00000000000000000000.log");
	char *clean = tu_path(f->dir, "clean");
	assert_int_equal(tu_file_size(log), 16);
	assert_int_equal(tu_file_size(clean), 52);
	free(log);
	free(clean);
}

static void test_queue_round_trip_across_rolls_and_reopen(void **state)
{
	struct sh_fx *f = *state;
	struct stor_queue *q = sh_open(f->dir, &f->cfg, &f->env.env);
	int64_t t = 1700000000000;
	/* ~600 KiB over 64 KiB segments: about ten rolls. */
	for (uint32_t i = 0; i < 400; i++)
		sh_append(q, f->m, 1 + i % 9, 700 + (i * 37) % 2300,
			  t + i * 10);
	struct stor_queue_stats st;
	stor_queue_stats(q, &st);
	assert_true(st.rolls >= 9);
	assert_int_equal(st.appends, 400);
	sh_verify(q, f->m, 8192);
	sh_verify(q, f->m, 3040); /* the largest batch: 40 + 2999 bytes */
	sh_close(q);

	q = sh_open(f->dir, &f->cfg, &f->env.env);
	stor_queue_stats(q, &st);
	assert_int_equal(st.clean_open, 1);
	assert_int_equal(st.tail_truncations, 0);
	sh_verify(q, f->m, 1 << 20);
	/* Every sealed index written by seal is accepted as it is. */
	stor_queue_stats(q, &st);
	assert_int_equal(st.index_rebuilds, 0);
	struct stor_queue_info i;
	stor_queue_info(q, &i);
	assert_int_equal(i.first_store_time, t);
	assert_int_equal(i.last_store_time, t + 399 * 10);
	assert_int_equal(i.segments, sh_expect_segments(f->m, &f->cfg));
	/* Appending after reopen continues the offsets and times. */
	sh_append(q, f->m, 5, 100, t + 5000);
	sh_append(q, f->m, 1, 0, t + 5001);
	sh_verify(q, f->m, 1 << 16);
	sh_close(q);
	q = sh_open(f->dir, &f->cfg, &f->env.env);
	sh_verify(q, f->m, 1 << 16);
	sh_close(q);
}

static void test_queue_read_inside_batch_returns_whole_batch(void **state)
{
	struct sh_fx *f = *state;
	struct stor_queue *q = sh_open(f->dir, &f->cfg, &f->env.env);
	sh_append(q, f->m, 10, 50, 1); /* offsets 0..9 */
	sh_append(q, f->m, 10, 60, 2); /* 10..19 */
	uint8_t buf[4096];
	size_t len, pos = 0;
	struct stor_batch b;
	assert_int_equal(stor_queue_read(q, 15, buf, sizeof buf, &len), 0);
	assert_int_equal(len, STOR_BATCH_HEADER_SIZE + 60);
	assert_int_equal(stor_batch_next(buf, len, &pos, &b), 1);
	assert_int_equal(b.base_offset, 10);
	assert_int_equal(stor_queue_read(q, 9, buf, sizeof buf, &len), 0);
	assert_int_equal(len, 2 * STOR_BATCH_HEADER_SIZE + 110);
	/* A buffer smaller than the first batch: told how much is needed. */
	assert_int_equal(stor_queue_read(q, 9, buf, 60, &len), STOR_EBUFSIZE);
	assert_int_equal(len, STOR_BATCH_HEADER_SIZE + 50);
	/* A buffer that fits one and a half batches gets one. */
	assert_int_equal(stor_queue_read(q, 0, buf, 130, &len), 0);
	assert_int_equal(len, STOR_BATCH_HEADER_SIZE + 50);
	sh_close(q);
}

static void test_queue_store_time_never_goes_back(void **state)
{
	struct sh_fx *f = *state;
	struct stor_queue *q = sh_open(f->dir, &f->cfg, &f->env.env);
	sh_append(q, f->m, 1, 10, 5000);
	sh_append(q, f->m, 1, 10, 4000); /* raised to 5000 */
	sh_append(q, f->m, 1, 10, 6000);
	sh_append(q, f->m, 1, 10, 1); /* raised to 6000 */
	assert_int_equal(f->m->b[1].time, 5000);
	assert_int_equal(f->m->b[3].time, 6000);
	sh_close(q);
	/* ... also across a reopen. */
	q = sh_open(f->dir, &f->cfg, &f->env.env);
	sh_append(q, f->m, 1, 10, 10);
	assert_int_equal(f->m->b[4].time, 6000);
	sh_verify(q, f->m, 4096);
	sh_close(q);
}

static void test_queue_clamp(void **state)
{
	struct sh_fx *f = *state;
	struct stor_queue *q = sh_open(f->dir, &f->cfg, &f->env.env);
	assert_int_equal(stor_queue_clamp(q, 0), 0);
	assert_int_equal(stor_queue_clamp(q, 7), 0);
	sh_append(q, f->m, 42, 10, 1);
	assert_int_equal(stor_queue_clamp(q, 0), 0);
	assert_int_equal(stor_queue_clamp(q, 41), 41);
	assert_int_equal(stor_queue_clamp(q, 42), 42);
	assert_int_equal(stor_queue_clamp(q, 43), 42);
	assert_int_equal(stor_queue_clamp(q, UINT64_MAX), 42);
	sh_close(q);
}

static void test_queue_rejects_bad_batches(void **state)
{
	struct sh_fx *f = *state;
	struct stor_queue *q = sh_open(f->dir, &f->cfg, &f->env.env);
	uint8_t big[16 * 1024 + 1] = {0};
	struct stor_batch_in in = {big, 10, 0, 0, 1, 0};
	assert_int_equal(stor_queue_append(q, &in, NULL, NULL), STOR_EINVAL);
	assert_string_equal(
	    stor_queue_errmsg(q),
	    "queue t/0: batch record count 0 not in 1..1048576");
	in.count = STOR_MAX_BATCH_RECORDS + 1;
	assert_int_equal(stor_queue_append(q, &in, NULL, NULL), STOR_EINVAL);
	in.count = 1;
	in.payload_len = sizeof big;
	assert_int_equal(stor_queue_append(q, &in, NULL, NULL), STOR_EINVAL);
	assert_string_equal(stor_queue_errmsg(q),
			    "queue t/0: batch of 16385 bytes exceeds "
			    "max_batch_bytes 16384");
	in.payload_len = 10;
	in.flags = 0x80;
	assert_int_equal(stor_queue_append(q, &in, NULL, NULL), STOR_EINVAL);
	assert_string_equal(stor_queue_errmsg(q),
			    "queue t/0: unknown batch flags 0x80");
	in.flags = 0;
	in.payload = NULL;
	assert_int_equal(stor_queue_append(q, &in, NULL, NULL), STOR_EINVAL);
	struct stor_queue_info i;
	stor_queue_info(q, &i);
	assert_int_equal(i.max_offset, 0);
	assert_int_equal(i.bytes, 16);
	sh_close(q);
}

static void test_queue_lz4_payload_stored_as_given(void **state)
{
	struct sh_fx *f = *state;
	struct stor_queue *q = sh_open(f->dir, &f->cfg, &f->env.env);
	/* Storage does not decode: any bytes flagged lz4 come back as is. */
	const uint8_t frame[] = {0x04, 0x22, 0x4d, 0x18, 0x64, 0x40, 0xa7,
				 0x05, 0x00, 0x00, 0x80, 'h',  'e',  'l',
				 'l',  'o',  0x00, 0x00, 0x00, 0x00};
	struct stor_batch_in in = {frame, sizeof frame, 3, STOR_BATCH_LZ4, 9,
				   0};
	uint64_t base;
	assert_int_equal(stor_queue_append(q, &in, &base, NULL), 0);
	assert_int_equal(base, 0);
	sh_close(q);
	q = sh_open(f->dir, &f->cfg, &f->env.env);
	uint8_t buf[256];
	size_t len, pos = 0;
	struct stor_batch b;
	assert_int_equal(stor_queue_read(q, 2, buf, sizeof buf, &len), 0);
	assert_int_equal(stor_batch_next(buf, len, &pos, &b), 1);
	assert_int_equal(b.flags, STOR_BATCH_LZ4);
	assert_int_equal(b.count, 3);
	assert_int_equal(b.payload_len, sizeof frame);
	assert_memory_equal(b.payload, frame, sizeof frame);
	sh_close(q);
}

static void test_queue_directory_lock(void **state)
{
	struct sh_fx *f = *state;
	struct stor_queue *q = sh_open(f->dir, &f->cfg, &f->env.env);
	struct stor_queue *q2 = NULL;
	char err[512];
	/* flock is per open file description: a second open in this process
	 * conflicts just as another process would. */
	assert_int_equal(
	    stor_queue_open(f->dir, "t/0", &f->cfg, NULL, &q2, err, sizeof err),
	    STOR_ELOCKED);
	assert_null(q2);
	char want[600];
	snprintf(want, sizeof want,
		 "queue t/0: %s is in use by another process", f->dir);
	assert_string_equal(err, want);
	sh_close(q);
	q2 = sh_open(f->dir, &f->cfg, NULL);
	sh_close(q2);
}

static void test_queue_open_missing_parent(void **state)
{
	struct sh_fx *f = *state;
	char *dir = tu_path(f->dir, "no/such/parent");
	struct stor_queue *q = NULL;
	char err[512];
	assert_int_equal(
	    stor_queue_open(dir, "t/0", &f->cfg, NULL, &q, err, sizeof err),
	    STOR_EIO);
	char want[600];
	snprintf(want, sizeof want,
		 "queue t/0: mkdir %s: No such file or directory", dir);
	assert_string_equal(err, want);
	free(dir);
}

static void test_queue_offset_limit(void **state)
{
	struct sh_fx *f = *state;
	struct stor_queue *q = sh_open(f->dir, &f->cfg, &f->env.env);
	/* Records per batch are capped, so test the arithmetic edge via a
	 * queue that starts near the top: a segment named at 2^63-5. */
	sh_close(q);
	tu_rmrf(f->dir);
	assert_int_equal(mkdir(f->dir, 0755), 0);
	char *log = tu_path(f->dir, "09223372036854775802.log");
	int fd = open(log, O_WRONLY | O_CREAT, 0644);
	uint8_t h[16] = {'R', 'Q', 'L', 'G', 1, 0, 0, 0};
	uint64_t base = 9223372036854775802ull;
	for (int i = 0; i < 8; i++)
		h[8 + i] = (uint8_t)(base >> (8 * i));
	assert_int_equal(write(fd, h, 16), 16);
	close(fd);
	free(log);
	q = sh_open(f->dir, &f->cfg, &f->env.env);
	struct stor_batch_in in = {"x", 1, 5, 0, 1, 0};
	uint64_t got;
	assert_int_equal(stor_queue_append(q, &in, &got, NULL), 0);
	assert_int_equal(got, 9223372036854775802ull);
	in.count = 1;
	assert_int_equal(stor_queue_append(q, &in, NULL, NULL), STOR_EINVAL);
	assert_string_equal(stor_queue_errmsg(q),
			    "queue t/0: offsets would pass 2^63-1");
	sh_close(q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_queue_new_is_empty, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(
		test_queue_round_trip_across_rolls_and_reopen, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_queue_read_inside_batch_returns_whole_batch, setup,
		teardown),
	    cmocka_unit_test_setup_teardown(
		test_queue_store_time_never_goes_back, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_queue_clamp, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_queue_rejects_bad_batches,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_queue_lz4_payload_stored_as_given, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_queue_directory_lock, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_queue_open_missing_parent,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_queue_offset_limit, setup,
					    teardown),
	};
	return cmocka_run_group_tests_name("storage/queue", tests, NULL, NULL);
}
