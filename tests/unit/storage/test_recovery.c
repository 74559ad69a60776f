/* Recovery: torn tails, corrupt batches, damaged or missing indexes. */
#include "storage_helpers.h"

static int setup(void **state)
{
	return sh_setup(state, 0);
}

static int teardown(void **state)
{
	return sh_teardown(state);
}

/* File position of model batch @i when all batches share segment 0. */
static uint64_t pos_of(const struct sh_model *m, size_t i)
{
	uint64_t pos = 16;
	for (size_t k = 0; k < i; k++)
		pos += 40 + m->b[k].len;
	return pos;
}

static char *seg_log(const char *dir, uint64_t base)
{
	char name[64];
	snprintf(name, sizeof name, "%020llu.log", (unsigned long long)base);
	return tu_path(dir, name);
}

static void remove_clean(const char *dir)
{
	char *c = tu_path(dir, "clean");
	unlink(c);
	free(c);
}

/* Issue 16 (ten thousand queues): a queue opened after a clean close
 * keeps the marker until its first change, so opening and closing an idle
 * queue writes and syncs nothing; the first append removes it (a crash
 * from there must scan). */
static void test_recovery_marker_kept_until_the_first_change(void **state)
{
	struct sh_fx *f = *state;
	struct stor_queue *q = sh_open(f->dir, &f->cfg, &f->env.env);
	sh_append(q, f->m, 3, 30, 100);
	sh_close(q);
	char *clean = tu_path(f->dir, "clean");
	for (int i = 0; i < 2; i++) {
		q = sh_open(f->dir, &f->cfg, &f->env.env);
		struct stor_queue_stats st;
		stor_queue_stats(q, &st);
		assert_int_equal(st.clean_open, 1);
		assert_true(tu_exists(clean));
		sh_verify(q, f->m, 4096); /* reads change nothing */
		assert_true(tu_exists(clean));
		sh_close(q);
		stor_queue_stats(q = sh_open(f->dir, &f->cfg, &f->env.env),
				 &st);
		assert_int_equal(st.fsyncs, 0);
		sh_close(q);
	}
	q = sh_open(f->dir, &f->cfg, &f->env.env);
	sh_append(q, f->m, 1, 10, 200);
	assert_false(tu_exists(clean)); /* a crash now scans */
	sh_close(q);
	assert_true(tu_exists(clean));
	q = sh_open(f->dir, &f->cfg, &f->env.env);
	sh_verify(q, f->m, 4096);
	sh_close(q);
	free(clean);
}

static void test_recovery_truncated_last_batch_every_byte(void **state)
{
	struct sh_fx *f = *state;
	struct stor_queue *q = sh_open(f->dir, &f->cfg, &f->env.env);
	sh_append(q, f->m, 3, 30, 100);
	sh_append(q, f->m, 2, 25, 200);
	sh_append(q, f->m, 4, 33, 300); /* the batch to tear */
	sh_close(q);
	char *log = seg_log(f->dir, 0);
	char *pristine = tu_path(f->dir, "pristine");
	tu_copy_file(log, pristine);
	uint64_t start = pos_of(f->m, 2), end = pos_of(f->m, 3);
	assert_int_equal(tu_file_size(log), end);
	struct sh_model *keep = sh_model_new();
	memcpy(keep, f->m, sizeof *keep);
	keep->n = 2;
	keep->next = 5;
	keep->last_time = 200;
	for (uint64_t cut = start; cut < end; cut++) {
		tu_copy_file(pristine, log);
		tu_truncate(log, (off_t)cut);
		remove_clean(f->dir); /* as after a crash */
		q = sh_open(f->dir, &f->cfg, &f->env.env);
		struct stor_queue_stats st;
		stor_queue_stats(q, &st);
		assert_int_equal(st.clean_open, 0);
		assert_int_equal(st.tail_truncations, cut > start ? 1 : 0);
		assert_int_equal(st.bytes_truncated, cut - start);
		assert_int_equal(tu_file_size(log), start);
		sh_verify(q, keep, 4096);
		assert_int_equal(
		    stor_queue_offset_for_time(q, 300, &(uint64_t){0}), 0);
		uint64_t off;
		stor_queue_offset_for_time(q, 250, &off);
		assert_int_equal(off, 5);
		/* The queue goes on from the last whole batch. */
		struct sh_model *again = sh_model_new();
		memcpy(again, keep, sizeof *again);
		sh_append(q, again, 1, 7, 400);
		assert_int_equal(again->b[2].base, 5);
		sh_close(q);
		q = sh_open(f->dir, &f->cfg, &f->env.env);
		sh_verify(q, again, 4096);
		sh_close(q);
		free(again);
	}
	free(keep);
	free(log);
	free(pristine);
}

static void test_recovery_torn_tail_in_later_segment(void **state)
{
	struct sh_fx *f = *state;
	struct stor_queue *q = sh_open(f->dir, &f->cfg, &f->env.env);
	for (int i = 0; i < 100; i++)
		sh_append(q, f->m, 2, 2000, 1000 + i);
	struct stor_queue_info info;
	stor_queue_info(q, &info);
	assert_true(info.segments >= 3);
	sh_close(q);
	/* Tear the last batch of the active segment in half. */
	struct sh_batch *last = &f->m->b[f->m->n - 1];
	char *log = seg_log(f->dir, info.max_offset - 2 - 0);
	free(log);
	/* Find the active segment: the largest base <= last->base. */
	uint64_t base = 0;
	{
		uint64_t size = 16, b = 0;
		for (size_t i = 0; i < f->m->n; i++) {
			uint64_t total = 40 + f->m->b[i].len;
			if (size > 16 && size + total > f->cfg.segment_bytes) {
				b = f->m->b[i].base;
				size = 16;
			}
			size += total;
		}
		base = b;
	}
	log = seg_log(f->dir, base);
	off_t sz = tu_file_size(log);
	tu_truncate(log, sz - (40 + (off_t)last->len) / 2);
	remove_clean(f->dir);
	f->m->n--;
	f->m->next -= 2;
	f->m->last_time = f->m->b[f->m->n - 1].time;
	q = sh_open(f->dir, &f->cfg, &f->env.env);
	sh_verify(q, f->m, 1 << 16);
	sh_close(q);
	free(log);
}

static void test_recovery_flipped_byte_mid_segment_after_crash(void **state)
{
	struct sh_fx *f = *state;
	struct stor_queue *q = sh_open(f->dir, &f->cfg, &f->env.env);
	for (int i = 0; i < 6; i++)
		sh_append(q, f->m, 5, 100, 10 * i);
	sh_close(q);
	remove_clean(f->dir);
	char *log = seg_log(f->dir, 0);
	/* One payload byte of the third batch (offsets 10..14). */
	uint64_t p = pos_of(f->m, 2);
	tu_flip_byte(log, (off_t)(p + 40 + 17), 0x04);
	struct stor_queue *q2 = NULL;
	char err[1024];
	assert_int_equal(stor_queue_open(f->dir, "t/0", &f->cfg, &f->env.env,
					 &q2, err, sizeof err),
			 STOR_ECORRUPT);
	char want[512];
	snprintf(want, sizeof want,
		 "queue t/0: segment 00000000000000000000.log: batch at offset "
		 "10 (position %llu): crc mismatch, and valid batches follow: "
		 "refusing to drop them",
		 (unsigned long long)p);
	assert_string_equal(err, want);
	/* Nothing was cut: the operator still has every byte. */
	assert_int_equal(tu_file_size(log), pos_of(f->m, 6));
	free(log);
}

static void test_recovery_flipped_header_length_mid_segment(void **state)
{
	struct sh_fx *f = *state;
	struct stor_queue *q = sh_open(f->dir, &f->cfg, &f->env.env);
	for (int i = 0; i < 6; i++)
		sh_append(q, f->m, 1, 64, i);
	sh_close(q);
	remove_clean(f->dir);
	char *log = seg_log(f->dir, 0);
	/* The length field of batch 1: the scan loses its footing, but the
	 * valid batches after it still make this corruption, not a tear. */
	uint64_t p = pos_of(f->m, 1);
	tu_flip_byte(log, (off_t)(p + 12), 0x02);
	struct stor_queue *q2 = NULL;
	char err[1024];
	assert_int_equal(stor_queue_open(f->dir, "t/0", &f->cfg, &f->env.env,
					 &q2, err, sizeof err),
			 STOR_ECORRUPT);
	char want[512];
	snprintf(want, sizeof want,
		 "queue t/0: segment 00000000000000000000.log: batch at offset "
		 "1 (position %llu): crc mismatch, and valid batches follow: "
		 "refusing to drop them",
		 (unsigned long long)p);
	assert_string_equal(err, want);
	free(log);
}

static void test_recovery_flipped_byte_found_by_read(void **state)
{
	struct sh_fx *f = *state;
	struct stor_queue *q = sh_open(f->dir, &f->cfg, &f->env.env);
	for (int i = 0; i < 6; i++)
		sh_append(q, f->m, 5, 100, 10 * i);
	sh_close(q);
	char *log = seg_log(f->dir, 0);
	uint64_t p = pos_of(f->m, 3); /* offsets 15..19 */
	tu_flip_byte(log, (off_t)(p + 40 + 99), 0x80);
	/* A clean open trusts the marker; the read checks every CRC. */
	q = sh_open(f->dir, &f->cfg, &f->env.env);
	uint8_t buf[4096];
	size_t len;
	assert_int_equal(stor_queue_read(q, 16, buf, sizeof buf, &len),
			 STOR_ECORRUPT);
	char want[512];
	snprintf(want, sizeof want,
		 "queue t/0: segment 00000000000000000000.log: batch at offset "
		 "15 (position %llu): crc mismatch or damaged header",
		 (unsigned long long)p);
	assert_string_equal(stor_queue_errmsg(q), want);
	/* Reading from before it returns the good batches only. */
	assert_int_equal(stor_queue_read(q, 0, buf, sizeof buf, &len), 0);
	assert_int_equal(len, 3 * 140);
	/* Reads after it are unaffected. */
	assert_int_equal(stor_queue_read(q, 20, buf, sizeof buf, &len), 0);
	assert_int_equal(len, 2 * 140);
	sh_close(q);
	free(log);
}

static void test_recovery_sealed_segment_corruption_on_read(void **state)
{
	struct sh_fx *f = *state;
	struct stor_queue *q = sh_open(f->dir, &f->cfg, &f->env.env);
	for (int i = 0; i < 60; i++)
		sh_append(q, f->m, 1, 3000, i);
	sh_close(q);
	/* Segment 0 holds 21 batches of 3040 bytes (16 + 21*3040 <= 64K). */
	char *log = seg_log(f->dir, 0);
	assert_int_equal(tu_file_size(log), 16 + 21 * 3040);
	tu_flip_byte(log, 16 + 7 * 3040 + 40 + 5, 0x01);
	q = sh_open(f->dir, &f->cfg, &f->env.env);
	uint8_t buf[8192];
	size_t len;
	assert_int_equal(stor_queue_read(q, 7, buf, sizeof buf, &len),
			 STOR_ECORRUPT);
	assert_string_equal(stor_queue_errmsg(q),
			    "queue t/0: segment 00000000000000000000.log: "
			    "batch at offset 7 (position 21296): crc mismatch "
			    "or damaged header");
	assert_int_equal(stor_queue_read(q, 8, buf, sizeof buf, &len), 0);
	sh_close(q);
	free(log);
}

static void test_recovery_missing_or_garbage_index_rebuilt(void **state)
{
	struct sh_fx *f = *state;
	struct stor_queue *q = sh_open(f->dir, &f->cfg, &f->env.env);
	for (int i = 0; i < 300; i++)
		sh_append(q, f->m, 1 + i % 4, 500 + i % 700, 100 * (i / 3));
	sh_close(q);
	char *idx = tu_path(f->dir, "00000000000000000000.idx");
	char *tix = tu_path(f->dir, "00000000000000000000.tix");
	off_t idx_size = tu_file_size(idx), tix_size = tu_file_size(tix);
	assert_true(idx_size > 16 && tix_size > 16);
	unlink(idx);
	/* Overwrite the time index with garbage of the same size. */
	int fd = open(tix, O_WRONLY);
	for (off_t i = 16; i < tix_size; i++)
		assert_int_equal(pwrite(fd, "\x5a", 1, i), 1);
	close(fd);
	q = sh_open(f->dir, &f->cfg, &f->env.env);
	struct stor_queue_stats st;
	stor_queue_stats(q, &st);
	assert_int_equal(st.index_rebuilds, 1);
	sh_verify(q, f->m, 1 << 16);
	for (size_t i = 0; i < f->m->n; i += 7) {
		uint64_t off;
		assert_int_equal(
		    stor_queue_offset_for_time(q, f->m->b[i].time, &off), 0);
		assert_int_equal(off, sh_expect_time(f->m, f->m->b[i].time));
	}
	sh_close(q);
	/* The rebuilt files are the ones that were written originally. */
	assert_int_equal(tu_file_size(idx), idx_size);
	assert_int_equal(tu_file_size(tix), tix_size);
	q = sh_open(f->dir, &f->cfg, &f->env.env);
	stor_queue_stats(q, &st);
	assert_int_equal(st.index_rebuilds, 0);
	sh_close(q);
	free(idx);
	free(tix);
}

static void test_recovery_leftovers_removed(void **state)
{
	struct sh_fx *f = *state;
	struct stor_queue *q = sh_open(f->dir, &f->cfg, &f->env.env);
	sh_append(q, f->m, 1, 10, 1);
	sh_close(q);
	const char *junk[] = {"00000000000000000777.idx",
			      "00000000000000000777.tix", "clean.tmp",
			      "00000000000000000000.idx.tmp"};
	for (int i = 0; i < 4; i++) {
		char *p = tu_path(f->dir, junk[i]);
		int fd = open(p, O_WRONLY | O_CREAT, 0644);
		assert_int_equal(write(fd, "junk", 4), 4);
		close(fd);
		free(p);
	}
	char *other = tu_path(f->dir, "README");
	int fd = open(other, O_WRONLY | O_CREAT, 0644);
	close(fd);
	q = sh_open(f->dir, &f->cfg, &f->env.env);
	for (int i = 0; i < 4; i++) {
		char *p = tu_path(f->dir, junk[i]);
		assert_false(tu_exists(p));
		free(p);
	}
	assert_true(tu_exists(other)); /* not ours: left alone */
	sh_verify(q, f->m, 4096);
	sh_close(q);
	free(other);
}

static void test_recovery_stale_clean_marker_ignored(void **state)
{
	struct sh_fx *f = *state;
	struct stor_queue *q = sh_open(f->dir, &f->cfg, &f->env.env);
	sh_append(q, f->m, 1, 10, 1);
	sh_append(q, f->m, 1, 10, 2);
	sh_close(q);
	/* The log no longer matches what the marker recorded. */
	char *log = seg_log(f->dir, 0);
	tu_truncate(log, tu_file_size(log) - 3);
	f->m->n = 1;
	f->m->next = 1;
	q = sh_open(f->dir, &f->cfg, &f->env.env);
	struct stor_queue_stats st;
	stor_queue_stats(q, &st);
	assert_int_equal(st.clean_open, 0);
	assert_int_equal(st.tail_truncations, 1);
	assert_int_equal(st.bytes_truncated, 50 - 3);
	assert_int_equal(st.messages_missing, 1); /* the marker said 2 */
	sh_verify(q, f->m, 4096);
	sh_close(q);
	free(log);
}

/* Issue 10 #5: truncating the active segment at a batch boundary, or
 * deleting its log, dropped acknowledged messages without a word. The
 * clean-shutdown record and the index say what was there: recovery
 * reports the messages missing (the node logs them as an error). */
static void test_regress_damaged_segment_reports_missing(void **state)
{
	struct sh_fx *f = *state;
	struct stor_queue *q = sh_open(f->dir, &f->cfg, &f->env.env);
	sh_append(q, f->m, 3, 10, 1);
	sh_append(q, f->m, 2, 10, 2);
	sh_close(q);
	char *log = seg_log(f->dir, 0);
	/* Cut to its file header after a clean stop: all 5 missing. */
	tu_truncate(log, 16);
	q = sh_open(f->dir, &f->cfg, &f->env.env);
	struct stor_queue_stats st;
	stor_queue_stats(q, &st);
	assert_int_equal(st.messages_missing, 5);
	assert_int_equal(st.missing_from, 0);
	f->m->n = 0; /* the queue is empty again: offsets 0..3 anew */
	f->m->next = 0;
	sh_append(q, f->m, 4, 10, 3);
	sh_close(q);
	/* After a crash (no clean record) the index still has them. */
	remove_clean(f->dir);
	tu_truncate(log, 16);
	q = sh_open(f->dir, &f->cfg, &f->env.env);
	stor_queue_stats(q, &st);
	assert_true(st.messages_missing >= 1);
	assert_int_equal(st.missing_from, 0);
	sh_close(q);
	/* An intact queue reports nothing. */
	q = sh_open(f->dir, &f->cfg, &f->env.env);
	stor_queue_stats(q, &st);
	assert_int_equal(st.messages_missing, 0);
	sh_close(q);
	free(log);
}

/* The active segment's log deleted: its index (left behind) and the
 * clean record say how much is gone. */
static void test_regress_deleted_segment_reports_missing(void **state)
{
	struct sh_fx *f = *state;
	f->cfg.segment_bytes = 65536;
	struct stor_queue *q = sh_open(f->dir, &f->cfg, &f->env.env);
	for (int i = 0; i < 300; i++)
		sh_append(q, f->m, 5, 500, 10 + i); /* 3 segments */
	struct stor_queue_info info;
	stor_queue_info(q, &info);
	assert_int_equal(info.max_offset, 1500);
	sh_close(q);
	uint64_t last = 0;
	for (uint64_t b = 0; b < 1500; b++) {
		char *p = seg_log(f->dir, b);
		if (tu_exists(p))
			last = b;
		free(p);
	}
	assert_true(last > 0);
	char *log = seg_log(f->dir, last);
	unlink(log);
	q = sh_open(f->dir, &f->cfg, &f->env.env);
	struct stor_queue_stats st;
	stor_queue_stats(q, &st);
	stor_queue_info(q, &info);
	assert_int_equal(info.max_offset, last);
	assert_int_equal(st.messages_missing, 1500 - last);
	assert_int_equal(st.missing_from, last);
	sh_close(q);
	free(log);
}

static void test_recovery_log_torn_at_creation(void **state)
{
	struct sh_fx *f = *state;
	struct stor_queue *q = sh_open(f->dir, &f->cfg, &f->env.env);
	sh_close(q);
	char *log = seg_log(f->dir, 0);
	tu_truncate(log, 5);
	remove_clean(f->dir);
	q = sh_open(f->dir, &f->cfg, &f->env.env);
	sh_append(q, f->m, 2, 10, 1);
	sh_close(q);
	assert_int_equal(tu_file_size(log), 16 + 50);
	q = sh_open(f->dir, &f->cfg, &f->env.env);
	sh_verify(q, f->m, 4096);
	sh_close(q);
	free(log);
}

static void test_recovery_bad_file_header_is_an_error(void **state)
{
	struct sh_fx *f = *state;
	struct stor_queue *q = sh_open(f->dir, &f->cfg, &f->env.env);
	sh_append(q, f->m, 2, 10, 1);
	sh_close(q);
	char *log = seg_log(f->dir, 0);
	tu_flip_byte(log, 1, 0xff);
	char err[512];
	struct stor_queue *q2 = NULL;
	assert_int_equal(
	    stor_queue_open(f->dir, "t/0", &f->cfg, NULL, &q2, err, sizeof err),
	    STOR_ECORRUPT);
	assert_string_equal(err, "queue t/0: segment "
				 "00000000000000000000.log: bad file header");
	free(log);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(test_recovery_truncated_last_batch_every_byte),
	    T(test_recovery_torn_tail_in_later_segment),
	    T(test_recovery_flipped_byte_mid_segment_after_crash),
	    T(test_recovery_marker_kept_until_the_first_change),
	    T(test_recovery_flipped_header_length_mid_segment),
	    T(test_recovery_flipped_byte_found_by_read),
	    T(test_recovery_sealed_segment_corruption_on_read),
	    T(test_recovery_missing_or_garbage_index_rebuilt),
	    T(test_recovery_leftovers_removed),
	    T(test_recovery_stale_clean_marker_ignored),
	    T(test_recovery_log_torn_at_creation),
	    T(test_regress_damaged_segment_reports_missing),
	    T(test_regress_deleted_segment_reports_missing),
	    T(test_recovery_bad_file_header_is_an_error),
	};
#undef T
	return cmocka_run_group_tests_name("storage/recovery", tests, NULL,
					   NULL);
}
