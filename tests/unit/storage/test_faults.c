/* Injected syscall and allocation failures: reported with context, and the
 * queue stays readable and consistent. */
#include "storage_helpers.h"

static int setup(void **state)
{
	return sh_setup(state, 0);
}

static int teardown(void **state)
{
	return sh_teardown(state);
}

static int try_append(struct stor_queue *q, uint32_t len, uint64_t next)
{
	uint8_t p[4096];
	sh_fill(p, next, len);
	struct stor_batch_in in = {p, len, 1, 0, 1, 0};
	return stor_queue_append(q, &in, NULL, NULL);
}

static void test_fault_enospc_on_write_is_undone(void **state)
{
	struct sh_fx *f = *state;
	struct stor_queue *q = sh_open(f->dir, &f->cfg, &f->env.env);
	sh_append(q, f->m, 5, 100, 1);
	char *log = tu_path(f->dir, "00000000000000000000.log");
	off_t before = tu_file_size(log);
	tu_faults_arm(&f->env.f, STOR_OP_WRITE, ENOSPC, 0, 1, ".log");
	assert_int_equal(try_append(q, 1000, 5), STOR_ENOSPC);
	assert_int_equal(f->env.f.fired, 1);
	assert_string_equal(stor_queue_errmsg(q),
			    "queue t/0: segment 00000000000000000000.log: "
			    "write at offset 5: No space left on device");
	/* Half the batch had reached the file; it was cut off again. */
	assert_int_equal(tu_file_size(log), before);
	struct stor_queue_info info;
	stor_queue_info(q, &info);
	assert_int_equal(info.max_offset, 5);
	assert_int_equal(info.bytes, (uint64_t)before);
	/* Space comes back: the next append gets the same offset. */
	tu_faults_disarm(&f->env.f);
	sh_append(q, f->m, 1, 1000, 2);
	sh_verify(q, f->m, 4096);
	sh_close(q);
	q = sh_open(f->dir, &f->cfg, &f->env.env);
	sh_verify(q, f->m, 4096);
	sh_close(q);
	free(log);
}

static void test_fault_fsync_failure_under_sync_flush(void **state)
{
	struct sh_fx *f = *state;
	f->cfg.flush = STOR_FLUSH_SYNC;
	struct stor_queue *q = sh_open(f->dir, &f->cfg, &f->env.env);
	sh_append(q, f->m, 2, 10, 1);
	tu_faults_arm(&f->env.f, STOR_OP_FSYNC, EIO, 0, 1, ".log");
	assert_int_equal(try_append(q, 10, 2), STOR_EIO);
	assert_string_equal(stor_queue_errmsg(q),
			    "queue t/0: segment 00000000000000000000.log: "
			    "fsync at offset 2: Input/output error");
	struct stor_queue_info info;
	stor_queue_info(q, &info);
	assert_int_equal(info.max_offset, 2);
	tu_faults_disarm(&f->env.f);
	sh_append(q, f->m, 1, 10, 1);
	sh_close(q);
	q = sh_open(f->dir, &f->cfg, &f->env.env);
	sh_verify(q, f->m, 4096);
	sh_close(q);
}

/* A hook that fails every call of two kinds, for double faults. */
struct two_faults {
	int op1, op2, err;
	bool on;
};
static int two_fault_hook(void *data, enum stor_op op, const char *path)
{
	struct two_faults *t = data;
	if (!t->on || path == NULL || strstr(path, ".log") == NULL)
		return 0;
	return ((int)op == t->op1 || (int)op == t->op2) ? t->err : 0;
}

static void test_fault_write_and_undo_fail_then_reopen_repairs(void **state)
{
	struct sh_fx *f = *state;
	struct two_faults tf = {STOR_OP_WRITE, STOR_OP_TRUNCATE, EIO, false};
	struct stor_env env = {&tf, NULL, two_fault_hook};
	struct stor_queue *q = sh_open(f->dir, &f->cfg, &env);
	sh_append(q, f->m, 3, 64, 1);
	tf.on = true;
	assert_int_equal(try_append(q, 1000, 3), STOR_EIO);
	assert_string_equal(stor_queue_errmsg(q),
			    "queue t/0: segment 00000000000000000000.log: "
			    "write at offset 3: Input/output error; undo "
			    "failed, queue needs a reopen");
	tf.on = false;
	/* Broken: appends refused, reads still served. */
	assert_int_equal(try_append(q, 10, 3), STOR_EBROKEN);
	assert_string_equal(stor_queue_errmsg(q),
			    "queue t/0: a failed write could not be undone; "
			    "reopen the queue to recover");
	sh_verify(q, f->m, 4096);
	char err[512];
	assert_int_equal(stor_queue_close(q, err, sizeof err), STOR_EBROKEN);
	assert_string_equal(err, "queue t/0: closed after a failed write; the "
				 "next open recovers the tail");
	/* The half-written batch is a torn tail to the next open. */
	q = sh_open(f->dir, &f->cfg, &env);
	struct stor_queue_stats st;
	stor_queue_stats(q, &st);
	assert_int_equal(st.clean_open, 0);
	assert_int_equal(st.tail_truncations, 1);
	assert_int_equal(st.bytes_truncated, (40 + 1000) / 2);
	sh_verify(q, f->m, 4096);
	sh_append(q, f->m, 1, 10, 2);
	sh_close(q);
}

static void test_fault_failed_roll_keeps_segment_active(void **state)
{
	struct sh_fx *f = *state;
	struct stor_queue *q = sh_open(f->dir, &f->cfg, &f->env.env);
	for (int i = 0; i < 21; i++)
		sh_append(q, f->m, 1, 3000, i); /* segment 0 is now full */
	/* Creating segment 21's files fails. */
	tu_faults_arm(&f->env.f, STOR_OP_OPEN, EMFILE, 0, 1,
		      "00000000000000000021");
	assert_int_equal(try_append(q, 3000, 21), STOR_EIO);
	assert_string_equal(stor_queue_errmsg(q),
			    "queue t/0: segment 00000000000000000021.log: "
			    "create: Too many open files");
	struct stor_queue_info info;
	stor_queue_info(q, &info);
	assert_int_equal(info.segments, 1);
	assert_int_equal(info.max_offset, 21);
	/* A failure while sealing removes the half-made next segment. */
	tu_faults_arm(&f->env.f, STOR_OP_WRITE, ENOSPC, 0, 1,
		      "00000000000000000000.idx");
	assert_int_equal(try_append(q, 3000, 21), STOR_ENOSPC);
	char *next = tu_path(f->dir, "00000000000000000021.log");
	assert_false(tu_exists(next));
	tu_faults_disarm(&f->env.f);
	sh_append(q, f->m, 1, 3000, 21);
	stor_queue_info(q, &info);
	assert_int_equal(info.segments, 2);
	assert_true(tu_exists(next));
	sh_close(q);
	q = sh_open(f->dir, &f->cfg, &f->env.env);
	sh_verify(q, f->m, 8192);
	sh_close(q);
	free(next);
}

static void test_fault_every_allocation_in_open(void **state)
{
	struct sh_fx *f = *state;
	/* A queue with several segments, opened after a crash (the most
	 * allocating path): each allocation in turn fails. */
	struct stor_queue *q = sh_open(f->dir, &f->cfg, NULL);
	for (int i = 0; i < 60; i++)
		sh_append(q, f->m, 1, 3000, i);
	sh_close(q);
	char *clean = tu_path(f->dir, "clean");
	char *keep = tu_path(f->dir, "clean.keep");
	tu_copy_file(clean, keep);
	int failures = 0;
	for (int n = 0; n < 40; n++) {
		tu_copy_file(keep, clean);
		if (n % 2 == 1)
			unlink(clean); /* odd rounds: the recovery path */
		tu_faults_arm(&f->env.f, STOR_OP_ALLOC, ENOMEM, n, 1, NULL);
		char err[512];
		q = NULL;
		int rv = stor_queue_open(f->dir, "t/0", &f->cfg, &f->env.env,
					 &q, err, sizeof err);
		bool hit = f->env.f.fired > 0;
		tu_faults_disarm(&f->env.f);
		if (rv == 0) {
			assert_non_null(q);
			sh_verify(q, f->m, 8192);
			sh_close(q);
			continue;
		}
		assert_true(hit);
		assert_int_equal(rv, STOR_ENOMEM);
		assert_non_null(strstr(err, "out of memory"));
		assert_null(q);
		failures++;
	}
	assert_true(failures >= 4);
	/* After all that the queue is intact. */
	q = sh_open(f->dir, &f->cfg, NULL);
	sh_verify(q, f->m, 8192);
	sh_close(q);
	free(clean);
	free(keep);
}

static void test_fault_clean_marker_write_fails(void **state)
{
	struct sh_fx *f = *state;
	struct stor_queue *q = sh_open(f->dir, &f->cfg, &f->env.env);
	sh_append(q, f->m, 2, 10, 1);
	tu_faults_arm(&f->env.f, STOR_OP_RENAME, EIO, 0, 1, "clean");
	char err[512];
	assert_int_equal(stor_queue_close(q, err, sizeof err), STOR_EIO);
	assert_string_equal(err, "queue t/0: write clean: Input/output error");
	tu_faults_disarm(&f->env.f);
	char *tmp = tu_path(f->dir, "clean.tmp");
	assert_false(tu_exists(tmp));
	free(tmp);
	q = sh_open(f->dir, &f->cfg, &f->env.env);
	struct stor_queue_stats st;
	stor_queue_stats(q, &st);
	assert_int_equal(st.clean_open, 0); /* a scan, not a guess */
	sh_verify(q, f->m, 4096);
	sh_close(q);
}

static void test_fault_read_error_reported(void **state)
{
	struct sh_fx *f = *state;
	struct stor_queue *q = sh_open(f->dir, &f->cfg, &f->env.env);
	sh_append(q, f->m, 2, 10, 1);
	tu_faults_arm(&f->env.f, STOR_OP_READ, EIO, 0, 1, ".log");
	uint8_t buf[256];
	size_t len;
	assert_int_equal(stor_queue_read(q, 0, buf, sizeof buf, &len),
			 STOR_EIO);
	assert_string_equal(stor_queue_errmsg(q),
			    "queue t/0: segment 00000000000000000000.log: "
			    "read: Input/output error");
	tu_faults_disarm(&f->env.f);
	assert_int_equal(stor_queue_read(q, 0, buf, sizeof buf, &len), 0);
	assert_int_equal(len, 50);
	sh_close(q);
}

static void test_fault_retention_unlink_fails(void **state)
{
	struct sh_fx *f = *state;
	f->cfg.retention_bytes = 1;
	struct stor_queue *q = sh_open(f->dir, &f->cfg, &f->env.env);
	for (int i = 0; i < 30; i++)
		sh_append(q, f->m, 1, 3000, i);
	tu_faults_arm(&f->env.f, STOR_OP_UNLINK, EACCES, 0, 1, ".log");
	unsigned deleted = 9;
	assert_int_equal(stor_queue_retain(q, &deleted), STOR_EIO);
	assert_int_equal(deleted, 0);
	assert_string_equal(stor_queue_errmsg(q),
			    "queue t/0: segment 00000000000000000000.log: "
			    "delete: Permission denied");
	struct stor_queue_info info;
	stor_queue_info(q, &info);
	assert_int_equal(info.min_offset, 0);
	sh_verify(q, f->m, 8192);
	tu_faults_disarm(&f->env.f);
	assert_int_equal(stor_queue_retain(q, &deleted), 0);
	assert_int_equal(deleted, 1);
	stor_queue_info(q, &info);
	assert_int_equal(info.min_offset, 21);
	sh_close(q);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(test_fault_enospc_on_write_is_undone),
	    T(test_fault_fsync_failure_under_sync_flush),
	    T(test_fault_write_and_undo_fail_then_reopen_repairs),
	    T(test_fault_failed_roll_keeps_segment_active),
	    T(test_fault_every_allocation_in_open),
	    T(test_fault_clean_marker_write_fails),
	    T(test_fault_read_error_reported),
	    T(test_fault_retention_unlink_fails),
	};
#undef T
	return cmocka_run_group_tests_name("storage/faults", tests, NULL, NULL);
}
