/*
 * storage/schedule.c and sched_open.c — the schedule store: entries come
 * out in due order only once due, with their target and batch as given;
 * done ones never come back; a reopen brings back exactly the pending
 * ones; a torn tail is cut, damage in the middle refused; an hour's files
 * go when nothing in it is pending. Also the schedule id in queue batch
 * headers and stor_queue_sched_ids, which the hand-over's reconciliation
 * reads.
 */
#include "storage_helpers.h"

#define HOUR 3600000LL
#define T0 (1796083200000LL) /* 2026-12-01 00:00 UTC */

struct fx {
	char *dir;
	struct stor_config cfg;
	struct stor_sched *s;
	char err[512];
};

static int setup(void **state)
{
	struct fx *x = calloc(1, sizeof *x);
	x->dir = tu_mkdtemp();
	sh_small_config(&x->cfg);
	*state = x;
	return 0;
}

static int teardown(void **state)
{
	struct fx *x = *state;
	stor_sched_close(x->s);
	tu_rmrf(x->dir);
	free(x->dir);
	free(x);
	return 0;
}

static void reopen(struct fx *x)
{
	stor_sched_close(x->s);
	x->s = NULL;
	if (stor_sched_open(x->dir, &x->cfg, NULL, &x->s, x->err,
			    sizeof x->err) != 0)
		fail_msg("open: %s", x->err);
}

/* Adds a batch of @count records whose payload is @text, due at @due. */
static uint64_t add(struct fx *x, int64_t due, const char *target,
		    const char *text, uint32_t count)
{
	struct stor_batch_in b = {text, (uint32_t)strlen(text), count, 0, 0, 0};
	uint64_t id = 0;
	if (stor_sched_add(x->s, due, target, &b, &id) != 0)
		fail_msg("add: %s", stor_sched_errmsg(x->s));
	return id;
}

/* Asserts the next due entry at @now is @id for @target with @text. */
static void next_is(struct fx *x, int64_t now, uint64_t id, const char *target,
		    const char *text)
{
	struct stor_sched_entry e;
	assert_int_equal(stor_sched_peek(x->s, now, &e), 1);
	assert_int_equal(e.id, id);
	assert_string_equal(e.target, target);
	assert_int_equal(e.batch.payload_len, strlen(text));
	assert_memory_equal(e.batch.payload, text, strlen(text));
}

static void test_schedule_due_order_and_done(void **state)
{
	struct fx *x = *state;
	reopen(x);
	uint64_t a = add(x, T0 + 5000, "orders/1", "five", 1);
	uint64_t b = add(x, T0 + 1000, "orders/0", "one!", 2);
	uint64_t c = add(x, T0 + 2 * HOUR, "pay/3", "later", 1);
	assert_int_equal(a, 1);
	assert_int_equal(b, 2);
	assert_int_equal(c, 3);
	struct stor_sched_entry e = {0};
	assert_int_equal(stor_sched_peek(x->s, T0 + 999, &e), 0);
	next_is(x, T0 + 1000, b, "orders/0", "one!");
	assert_int_equal(e.batch.count, 0); /* untouched by the miss */
	assert_int_equal(stor_sched_peek(x->s, T0 + 1000, &e), 1);
	assert_int_equal(e.batch.count, 2);
	assert_int_equal(e.due_ms, T0 + 1000);
	/* Still pending until done. */
	next_is(x, T0 + 9000, b, "orders/0", "one!");
	assert_int_equal(stor_sched_done(x->s, b), 0);
	next_is(x, T0 + 9000, a, "orders/1", "five");
	assert_int_equal(stor_sched_done(x->s, a), 0);
	assert_int_equal(stor_sched_peek(x->s, T0 + 9000, &e), 0);
	assert_int_equal(stor_sched_done(x->s, a), STOR_EINVAL);
	assert_non_null(strstr(stor_sched_errmsg(x->s), "schedule store "));
	assert_non_null(
	    strstr(stor_sched_errmsg(x->s), ": entry 1 is not pending"));
	struct stor_sched_info info;
	stor_sched_info(x->s, &info);
	assert_int_equal(info.pending, 1);
	assert_int_equal(info.next_due, T0 + 2 * HOUR);
	assert_int_equal(info.buckets, 1); /* hour 0's files are gone */
	char *gone = tu_path(x->dir, "sched-498912.log");
	assert_false(tu_exists(gone)); /* T0 / HOUR = 498912 */
	free(gone);
}

/* Found by fuzz_schedule: the only entry of an hour handed over — no done
 * file was ever written — failed with "deleting bucket files: No such
 * file or directory". */
static void test_schedule_lone_entry_of_an_hour(void **state)
{
	struct fx *x = *state;
	reopen(x);
	uint64_t id = add(x, T0 + 10, "t/0", "only", 1);
	next_is(x, T0 + 10, id, "t/0", "only");
	assert_int_equal(stor_sched_done(x->s, id), 0);
	char *log = tu_path(x->dir, "sched-498912.log");
	assert_false(tu_exists(log));
	free(log);
	struct stor_sched_info info;
	stor_sched_info(x->s, &info);
	assert_int_equal(info.buckets, 0);
	assert_int_equal(info.bytes, 0);
}

static void test_schedule_reopen_brings_back_pending(void **state)
{
	struct fx *x = *state;
	reopen(x);
	for (int i = 0; i < 10; i++)
		add(x, T0 + 100 * (10 - i), i % 2 ? "t/1" : "t/0", "m", 1);
	struct stor_sched_entry e;
	for (int k = 0; k < 4; k++) { /* ids 10, 9, 8, 7: the earliest */
		assert_int_equal(stor_sched_peek(x->s, T0 + 5000, &e), 1);
		assert_int_equal(e.id, 10 - k);
		assert_int_equal(stor_sched_done(x->s, e.id), 0);
	}
	reopen(x);
	struct stor_sched_info info;
	stor_sched_info(x->s, &info);
	assert_int_equal(info.pending, 6);
	assert_int_equal(info.next_id, 11);
	assert_int_equal(info.next_due, T0 + 500);
	for (uint64_t id = 6; id >= 1; id--) {
		assert_int_equal(stor_sched_peek(x->s, T0 + 5000, &e), 1);
		assert_int_equal(e.id, id);
		assert_int_equal(stor_sched_done(x->s, e.id), 0);
	}
	assert_int_equal(add(x, T0, "t/0", "m", 1), 11); /* ids go on */
}

static void collect(void *data, const char *target, int64_t min_due,
		    uint64_t messages)
{
	char *out = data;
	snprintf(out + strlen(out), 256 - strlen(out), "%s@%lldx%llu ", target,
		 (long long)(min_due - T0), (unsigned long long)messages);
}

static void test_schedule_targets_at_open(void **state)
{
	struct fx *x = *state;
	reopen(x);
	add(x, T0 + 700, "a/0", "m", 1);
	add(x, T0 + 300, "b/2", "m", 1);
	add(x, T0 + 200, "a/0", "m", 3);
	uint64_t gone = add(x, T0 + 100, "c/1", "m", 1);
	assert_int_equal(stor_sched_done(x->s, gone), 0);
	reopen(x);
	char seen[256] = "";
	stor_sched_targets(x->s, collect, seen);
	assert_string_equal(seen, "a/0@200x4 b/2@300x1 ");
}

static void test_schedule_torn_tail_and_damage(void **state)
{
	struct fx *x = *state;
	reopen(x);
	add(x, T0 + 1, "t/0", "first", 1);
	add(x, T0 + 2, "t/0", "second", 1);
	char *log = tu_path(x->dir, "sched-498912.log");
	off_t whole = tu_file_size(log);
	stor_sched_close(x->s);
	x->s = NULL;
	tu_truncate(log, whole - 3); /* the last entry torn */
	reopen(x);
	struct stor_sched_info info;
	stor_sched_info(x->s, &info);
	assert_int_equal(info.pending, 1);
	assert_int_equal(tu_file_size(log), whole - (40 + 3 + 6));
	next_is(x, T0 + 5, 1, "t/0", "first");
	add(x, T0 + 3, "t/0", "third", 1);
	stor_sched_close(x->s);
	x->s = NULL;
	tu_flip_byte(log, 45, 0x01); /* in the first entry's payload */
	assert_int_equal(stor_sched_open(x->dir, &x->cfg, NULL, &x->s, x->err,
					 sizeof x->err),
			 STOR_ECORRUPT);
	assert_non_null(strstr(x->err, "sched-498912.log: entry at 0 fails "
				       "its CRC and more entries follow "
				       "(damaged file)"));
	free(log);
}

static void test_schedule_refuses_bad_entries(void **state)
{
	struct fx *x = *state;
	reopen(x);
	struct stor_batch_in b = {"m", 1, 1, 0, 0, 0};
	uint64_t id;
	assert_int_equal(stor_sched_add(x->s, T0, "", &b, &id), STOR_EINVAL);
	b.flags = STOR_BATCH_SCHEDULED;
	assert_int_equal(stor_sched_add(x->s, T0, "t/0", &b, &id), STOR_EINVAL);
	b.flags = 0;
	b.count = 0;
	assert_int_equal(stor_sched_add(x->s, T0, "t/0", &b, &id), STOR_EINVAL);
	b.count = 1;
	assert_int_equal(stor_sched_add(x->s, -1, "t/0", &b, &id), STOR_EINVAL);
	struct stor_sched_info info;
	stor_sched_info(x->s, &info);
	assert_int_equal(info.pending, 0);
	assert_int_equal(info.buckets, 0);
}

static void sched_ids_of(void *data, uint64_t id)
{
	uint64_t *v = data;
	v[++v[0]] = id;
}

/* Queue batches carry a schedule id; stor_queue_sched_ids finds those
 * stored at or after a time. */
static void test_schedule_ids_in_queue_batches(void **state)
{
	struct fx *x = *state;
	struct stor_queue *q;
	assert_int_equal(stor_queue_open(x->dir, "t/0", &x->cfg, NULL, &q,
					 x->err, sizeof x->err),
			 0);
	struct stor_batch_in in = {"m", 1, 1, 0, T0, 0};
	in.sched_id = 7; /* without the flag */
	assert_int_equal(stor_queue_append(q, &in, NULL, NULL), STOR_EINVAL);
	in.sched_id = 0;
	in.flags = STOR_BATCH_SCHEDULED; /* without an id */
	assert_int_equal(stor_queue_append(q, &in, NULL, NULL), STOR_EINVAL);
	const uint64_t ids[] = {0, 5, STOR_SCHED_ID_MAX, 0, 9};
	for (int i = 0; i < 5; i++) {
		in.sched_id = ids[i];
		in.flags = ids[i] ? STOR_BATCH_SCHEDULED : 0;
		in.store_time_ms = T0 + i * 1000;
		assert_int_equal(stor_queue_append(q, &in, NULL, NULL), 0);
	}
	uint64_t got[8] = {0};
	assert_int_equal(stor_queue_sched_ids(q, T0 + 1000, sched_ids_of, got),
			 0);
	assert_int_equal(got[0], 3);
	assert_int_equal(got[1], 5);
	assert_int_equal(got[2], STOR_SCHED_ID_MAX);
	assert_int_equal(got[3], 9);
	memset(got, 0, sizeof got);
	assert_int_equal(stor_queue_sched_ids(q, T0 + 2500, sched_ids_of, got),
			 0);
	assert_int_equal(got[0], 1);
	assert_int_equal(got[1], 9);
	/* The ids survive a close and a scan of the log. */
	assert_int_equal(stor_queue_close(q, x->err, sizeof x->err), 0);
	assert_int_equal(stor_queue_open(x->dir, "t/0", &x->cfg, NULL, &q,
					 x->err, sizeof x->err),
			 0);
	memset(got, 0, sizeof got);
	assert_int_equal(stor_queue_sched_ids(q, 0, sched_ids_of, got), 0);
	assert_int_equal(got[0], 3);
	stor_queue_close(q, NULL, 0);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(test_schedule_due_order_and_done),
	    T(test_schedule_lone_entry_of_an_hour),
	    T(test_schedule_reopen_brings_back_pending),
	    T(test_schedule_targets_at_open),
	    T(test_schedule_torn_tail_and_damage),
	    T(test_schedule_refuses_bad_entries),
	    T(test_schedule_ids_in_queue_batches),
	};
#undef T
	return cmocka_run_group_tests_name("unit/storage/schedule", tests, NULL,
					   NULL);
}
