/* Replica storage (docs/design/replication.md §4-5): verbatim copies,
 * truncation to a batch start, restarting empty at an offset, and the
 * leader-epoch file. */
#include <errno.h>
#include <stdio.h>

#include "storage_helpers.h"

static int setup(void **state)
{
	return sh_setup(state, 1000000);
}

static int teardown(void **state)
{
	return sh_teardown(state);
}

/* @n batches of 1..4 records and 100..1100 bytes, times 1 ms apart. */
static void fill(struct stor_queue *q, struct sh_model *m, int n)
{
	for (int i = 0; i < n; i++)
		sh_append(q, m, 1 + (uint32_t)i % 4,
			  100 + (uint32_t)(i * 37) % 1000, 1000000 + i);
}

/* Copies everything from @from (offset @at on) into @to in reads of
 * @cap bytes. */
static void copy_all(struct stor_queue *from, struct stor_queue *to,
		     uint64_t at, size_t cap)
{
	uint8_t *buf = malloc(cap);
	assert_non_null(buf);
	struct stor_queue_info info;
	stor_queue_info(from, &info);
	while (at < info.max_offset) {
		size_t len = 0;
		assert_int_equal(stor_queue_read(from, at, buf, cap, &len), 0);
		uint64_t end = 0;
		int rv = stor_queue_append_copy(to, buf, len, &end);
		if (rv != 0)
			fail_msg("copy: %s", stor_queue_errmsg(to));
		assert_true(end > at);
		at = end;
	}
	free(buf);
}

/* The model without its batches from @offset on (a batch start). */
static void model_cut(struct sh_model *m, uint64_t offset)
{
	while (m->n > m->first && m->b[m->n - 1].base >= offset)
		m->n--;
	assert_int_equal(m->n == m->first
			     ? m->min
			     : m->b[m->n - 1].base + m->b[m->n - 1].count,
			 offset);
	m->next = offset;
	m->last_time = m->n > 0 ? m->b[m->n - 1].time : INT64_MIN;
}

static void test_copies_are_verbatim(void **state)
{
	struct sh_fx *f = *state;
	char *ld = tu_path(f->dir, "leader"), *fd = tu_path(f->dir, "follower");
	struct stor_queue *l = sh_open(ld, &f->cfg, &f->env.env);
	struct stor_queue *r = sh_open(fd, &f->cfg, &f->env.env);
	fill(l, f->m, 400); /* ~240 KiB: several 64 KiB segments */
	copy_all(l, r, 0, 3000);
	sh_verify(r, f->m, 4096);
	struct stor_queue_info a, b;
	stor_queue_info(l, &a);
	stor_queue_info(r, &b);
	assert_int_equal(b.segments, a.segments);
	assert_int_equal(b.bytes, a.bytes);
	sh_close(r);
	r = sh_open(fd, &f->cfg, &f->env.env);
	sh_verify(r, f->m, 4096);
	sh_close(r);
	sh_close(l);
	free(ld);
	free(fd);
}

static void test_copy_refuses_gaps_and_damage(void **state)
{
	struct sh_fx *f = *state;
	char *ld = tu_path(f->dir, "leader"), *fd = tu_path(f->dir, "follower");
	struct stor_queue *l = sh_open(ld, &f->cfg, &f->env.env);
	struct stor_queue *r = sh_open(fd, &f->cfg, &f->env.env);
	fill(l, f->m, 10);
	uint8_t buf[8192];
	size_t len = 0;
	/* From offset 3 (the third batch): the follower ends at 0. */
	assert_int_equal(stor_queue_read(l, 3, buf, sizeof buf, &len), 0);
	uint64_t end = 99;
	assert_int_equal(stor_queue_append_copy(r, buf, len, &end),
			 STOR_EINVAL);
	assert_string_equal(stor_queue_errmsg(r),
			    "queue t/0: copied batch starts at 3, the queue "
			    "ends at 0");
	assert_int_equal(end, 0);
	assert_int_equal(stor_queue_read(l, 0, buf, sizeof buf, &len), 0);
	buf[len - 1] ^= 0x40; /* the last batch's payload */
	assert_int_equal(stor_queue_append_copy(r, buf, len, &end),
			 STOR_ECORRUPT);
	/* The batches before the damaged one were whole: they stay. */
	assert_int_equal(end, f->m->b[9].base);
	sh_close(r);
	sh_close(l);
	free(ld);
	free(fd);
}

static void test_truncate_to_a_batch_start(void **state)
{
	struct sh_fx *f = *state;
	struct stor_queue *q = sh_open(f->dir, &f->cfg, &f->env.env);
	fill(q, f->m, 400);
	struct stor_queue_info info;
	stor_queue_info(q, &info);
	assert_true(info.segments >= 3);
	/* Inside a batch: refused, nothing changes. */
	uint64_t cut = f->m->b[150].base;
	assert_int_equal(f->m->b[149].count > 1, true);
	assert_int_equal(stor_queue_truncate(q, cut - 1), STOR_EINVAL);
	sh_verify(q, f->m, 4096);
	assert_int_equal(stor_queue_truncate(q, cut), 0);
	model_cut(f->m, cut);
	sh_verify(q, f->m, 4096);
	/* Appends go on from the cut, with times not before the last. */
	fill(q, f->m, 5);
	sh_close(q);
	q = sh_open(f->dir, &f->cfg, &f->env.env);
	sh_verify(q, f->m, 4096);
	struct stor_queue_stats st;
	stor_queue_stats(q, &st);
	assert_int_equal(st.messages_missing, 0);
	/* Down to the first offset: empty, still starting there. */
	int trv = stor_queue_truncate(q, 0);
	if (trv != 0)
		fail_msg("truncate: %s", stor_queue_errmsg(q));
	model_cut(f->m, 0);
	sh_verify(q, f->m, 4096);
	assert_int_equal(stor_queue_truncate(q, 1), STOR_ERANGE);
	sh_close(q);
}

/* A failed cut leaves a prefix of the log that still holds the cut
 * point; the cut then succeeds when tried again. */
static void test_failed_truncate_keeps_a_prefix(void **state)
{
	struct sh_fx *f = *state;
	struct stor_queue *q = sh_open(f->dir, &f->cfg, &f->env.env);
	fill(q, f->m, 400);
	uint64_t cut = f->m->b[100].base;
	tu_faults_arm(&f->env.f, STOR_OP_TRUNCATE, EIO, 0, 1, NULL);
	assert_int_equal(stor_queue_truncate(q, cut), STOR_EIO);
	tu_faults_disarm(&f->env.f);
	struct stor_queue_info info;
	stor_queue_info(q, &info);
	assert_true(info.max_offset > cut);
	assert_true(info.max_offset < f->m->next);
	model_cut(f->m, info.max_offset);
	sh_verify(q, f->m, 4096);
	assert_int_equal(stor_queue_truncate(q, cut), 0);
	model_cut(f->m, cut);
	sh_verify(q, f->m, 4096);
	sh_close(q);
}

static void test_restart_empty_at_an_offset(void **state)
{
	struct sh_fx *f = *state;
	struct stor_queue *q = sh_open(f->dir, &f->cfg, &f->env.env);
	fill(q, f->m, 200);
	assert_int_equal(stor_queue_restart(q, 5000), 0);
	struct stor_queue_info info;
	stor_queue_info(q, &info);
	assert_int_equal(info.min_offset, 5000);
	assert_int_equal(info.max_offset, 5000);
	assert_int_equal(info.segments, 1);
	struct sh_model *m = sh_model_new();
	m->min = m->next = 5000;
	sh_append(q, m, 3, 50, 7);
	sh_close(q);
	q = sh_open(f->dir, &f->cfg, &f->env.env);
	sh_verify(q, m, 4096);
	sh_close(q);
	free(m);
}

static void test_leader_epochs(void **state)
{
	struct sh_fx *f = *state;
	struct stor_epochs *e = NULL;
	char err[512];
	assert_int_equal(
	    stor_epochs_open(f->dir, NULL, 300, &e, err, sizeof err), 0);
	assert_int_equal(stor_epochs_last(e), 0);
	assert_int_equal(stor_epochs_add(e, 1, 0), 0);
	assert_int_equal(stor_epochs_add(e, 3, 100), 0);
	assert_int_equal(stor_epochs_add(e, 3, 120), 0); /* already last */
	assert_int_equal(stor_epochs_add(e, 4, 250), 0);
	assert_int_equal(stor_epochs_add(e, 2, 260), STOR_EINVAL);
	uint64_t ep = 0, end = 0;
	assert_true(stor_epochs_end_for(e, 2, 300, &ep, &end));
	assert_int_equal(ep, 1);
	assert_int_equal(end, 100);
	assert_true(stor_epochs_end_for(e, 9, 300, &ep, &end));
	assert_int_equal(ep, 4);
	assert_int_equal(end, 300);
	assert_false(stor_epochs_end_for(e, 0, 300, &ep, &end));
	assert_true(stor_epochs_covering(e, 120, 300, &ep, &end));
	assert_int_equal(ep, 3);
	assert_int_equal(end, 250);
	stor_epochs_close(e);
	char *path = tu_path(f->dir, "leader-epochs");
	FILE *fp = fopen(path, "r");
	char text[256] = "";
	assert_non_null(fp);
	size_t got = fread(text, 1, sizeof text - 1, fp);
	fclose(fp);
	text[got] = '\0';
	assert_string_equal(text, "raftq-leader-epochs 1\n1 0\n3 100\n4 250\n");
	/* The log ends at 200 now: epoch 4's entry was cut with it. */
	assert_int_equal(
	    stor_epochs_open(f->dir, NULL, 200, &e, err, sizeof err), 0);
	assert_int_equal(stor_epochs_count(e), 2);
	assert_int_equal(stor_epochs_last(e), 3);
	assert_int_equal(stor_epochs_keep_through(e, 2), 0);
	assert_int_equal(stor_epochs_count(e), 1);
	assert_int_equal(stor_epochs_at(e, 0)->start, 0);
	assert_int_equal(stor_epochs_clear(e), 0);
	assert_int_equal(stor_epochs_count(e), 0);
	stor_epochs_close(e);
	fp = fopen(path, "w");
	fputs("raftq-leader-epochs 1\n5 10\n4 20\n", fp);
	fclose(fp);
	assert_int_equal(
	    stor_epochs_open(f->dir, NULL, 300, &e, err, sizeof err),
	    STOR_ECORRUPT);
	char want[600];
	snprintf(want, sizeof want, "%s/leader-epochs: entries not ascending",
		 f->dir);
	assert_string_equal(err, want);
	free(path);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(test_copies_are_verbatim),
	    T(test_copy_refuses_gaps_and_damage),
	    T(test_truncate_to_a_batch_start),
	    T(test_failed_truncate_keeps_a_prefix),
	    T(test_restart_empty_at_an_offset),
	    T(test_leader_epochs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
