/*
 * aio_reaper.c — io_destroy(2) off the event loop.
 *
 * raft_uv (libraft 0.15) gives each open log segment a kernel AIO context
 * (io_setup) and destroys it with io_destroy on the event loop when it
 * closes the segment: at every segment roll and at every snapshot, whose
 * barrier closes the open segment. io_destroy waits for an RCU grace
 * period before it returns: 32 ms a call on the development machine
 * (fsync_bench prints it), during which the node's loop answers nothing —
 * with libraft's tracing on, the leader's loop was seen silent from a
 * snapshot's "put" to its write for 52 ms, and that stall was the p99.9 of
 * commits while snapshots were taken (docs/design/snapshots.md).
 *
 * A context raft_uv destroys has no I/O in flight (it waits for its writes
 * first) and is never used again, so its destruction can wait: libraft
 * calls io_destroy through libc's syscall(), and raftqd defines syscall()
 * itself (the executable's definition is the one the dynamic linker binds
 * libraft to). This one hands SYS_io_destroy to a reaper thread — a queue
 * of REAP_MAX contexts; when it is full the call runs in place, so a flood
 * of closes is slowed, never lost — and passes every other call to libc's.
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "aio_reaper.h"

#define REAP_MAX 64

typedef long (*syscall_fn)(long, ...);

static struct {
	pthread_mutex_t mu;
	pthread_cond_t work; /* a context queued */
	pthread_cond_t idle; /* the queue emptied and none being destroyed */
	unsigned long ctx[REAP_MAX];
	unsigned head, n;
	bool started, busy;
	struct aio_reaper_stats st;
} R = {.mu = PTHREAD_MUTEX_INITIALIZER,
       .work = PTHREAD_COND_INITIALIZER,
       .idle = PTHREAD_COND_INITIALIZER};

static syscall_fn libc_syscall;
static pthread_once_t libc_once = PTHREAD_ONCE_INIT;

static void find_libc_syscall(void)
{
	void *p = dlsym(RTLD_NEXT, "syscall");
	/* POSIX: a function's address from dlsym, copied as bytes. */
	memcpy(&libc_syscall, &p, sizeof p);
	if (p == NULL) {
		fprintf(stderr, "raftq: libc's syscall(): %s\n", dlerror());
		abort();
	}
}

static long real_syscall(long n, long a, long b, long c, long d, long e, long f)
{
	pthread_once(&libc_once, find_libc_syscall);
	return libc_syscall(n, a, b, c, d, e, f);
}

/* Queues @ctx for the reaper; false when it is not started or full. */
static bool defer(unsigned long ctx)
{
	pthread_mutex_lock(&R.mu);
	bool queued = R.started && R.n < REAP_MAX;
	if (queued) {
		R.ctx[(R.head + R.n++) % REAP_MAX] = ctx;
		R.st.deferred++;
		pthread_cond_signal(&R.work);
	} else if (R.started) {
		R.st.in_place++;
	}
	pthread_mutex_unlock(&R.mu);
	return queued;
}

long syscall(long n, ...)
{
	va_list ap;
	va_start(ap, n);
	long a = va_arg(ap, long), b = va_arg(ap, long), c = va_arg(ap, long);
	long d = va_arg(ap, long), e = va_arg(ap, long), f = va_arg(ap, long);
	va_end(ap);
	if (n == SYS_io_destroy && defer((unsigned long)a))
		return 0;
	return real_syscall(n, a, b, c, d, e, f);
}

static void *reap(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&R.mu);
	for (;;) {
		while (R.n == 0) {
			R.busy = false;
			pthread_cond_broadcast(&R.idle);
			pthread_cond_wait(&R.work, &R.mu);
		}
		unsigned long ctx = R.ctx[R.head];
		R.head = (R.head + 1) % REAP_MAX;
		R.n--;
		R.busy = true;
		pthread_mutex_unlock(&R.mu);
		/* EINVAL (not a context) is what the caller would have got
		 * and ignored: raft_uv does not check it either. */
		real_syscall(SYS_io_destroy, (long)ctx, 0, 0, 0, 0, 0);
		pthread_mutex_lock(&R.mu);
		R.st.destroyed++;
	}
	return NULL;
}

int aio_reaper_start(void)
{
	pthread_mutex_lock(&R.mu);
	int rv = 0;
	if (!R.started) {
		sigset_t all, old;
		sigfillset(&all); /* signals stay with the loop */
		pthread_sigmask(SIG_SETMASK, &all, &old);
		pthread_t t;
		rv = -pthread_create(&t, NULL, reap, NULL);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		if (rv == 0) {
			pthread_detach(t);
			R.started = true;
		}
	}
	pthread_mutex_unlock(&R.mu);
	return rv;
}

void aio_reaper_drain(void)
{
	pthread_mutex_lock(&R.mu);
	while (R.started && (R.n > 0 || R.busy))
		pthread_cond_wait(&R.idle, &R.mu);
	pthread_mutex_unlock(&R.mu);
}

void aio_reaper_stats(struct aio_reaper_stats *out)
{
	pthread_mutex_lock(&R.mu);
	*out = R.st;
	pthread_mutex_unlock(&R.mu);
}
