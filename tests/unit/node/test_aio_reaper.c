/*
 * node/aio_reaper.c: io_destroy(2) through syscall() runs in place until
 * the reaper starts, then on its thread; every other call passes through.
 * The tests run in order (the reaper starts once per process).
 */
#include "../test_util.h"

#include <linux/aio_abi.h>
#include <sys/syscall.h>

#include "aio_reaper.h"

static aio_context_t setup_ctx(void)
{
	aio_context_t ctx = 0;
	assert_int_equal(syscall(SYS_io_setup, 1, &ctx), 0);
	assert_true(ctx != 0);
	return ctx;
}

/* Whether @ctx is a live AIO context: submitting nothing to it is 0, to a
 * destroyed one EINVAL. */
static bool alive(aio_context_t ctx)
{
	long rv = syscall(SYS_io_submit, ctx, 0L, NULL);
	assert_true(rv == 0 || (rv == -1 && errno == EINVAL));
	return rv == 0;
}

static void test_other_calls_pass_through(void **state)
{
	(void)state;
	assert_int_equal(syscall(SYS_getpid), getpid());
	errno = 0;
	assert_int_equal(syscall(SYS_close, -1), -1);
	assert_int_equal(errno, EBADF);
}

static void test_in_place_before_start(void **state)
{
	(void)state;
	aio_context_t ctx = setup_ctx();
	assert_true(alive(ctx));
	assert_int_equal(syscall(SYS_io_destroy, ctx), 0);
	assert_false(alive(ctx)); /* gone when the call returned */
	errno = 0;
	assert_int_equal(syscall(SYS_io_destroy, ctx), -1);
	assert_int_equal(errno, EINVAL);
	struct aio_reaper_stats st;
	aio_reaper_stats(&st);
	assert_int_equal(st.deferred + st.in_place + st.destroyed, 0);
}

/* 100 contexts destroyed at once: each deferred (answered 0 at once) or,
 * the queue being full, destroyed in place; after the drain, all gone. */
static void test_deferred_after_start(void **state)
{
	(void)state;
#if !defined(__x86_64__)
	assert_int_equal(aio_reaper_start(), -ENOTSUP);
	skip();
#endif
	assert_int_equal(aio_reaper_start(), 0);
	assert_int_equal(aio_reaper_start(), 0); /* once */
	enum { N = 100 };
	aio_context_t ctx[N];
	for (int i = 0; i < N; i++)
		ctx[i] = setup_ctx();
	for (int i = 0; i < N; i++)
		assert_int_equal(syscall(SYS_io_destroy, ctx[i]), 0);
	aio_reaper_drain();
	struct aio_reaper_stats st;
	aio_reaper_stats(&st);
	assert_int_equal(st.deferred + st.in_place, N);
	assert_true(st.deferred >= 1);
	assert_int_equal(st.destroyed, st.deferred);
	for (int i = 0; i < N; i++)
		assert_false(alive(ctx[i]));
	assert_int_equal(syscall(SYS_getpid), getpid());
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_other_calls_pass_through),
	    cmocka_unit_test(test_in_place_before_start),
	    cmocka_unit_test(test_deferred_after_start),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
