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
 * of closes is slowed, never lost — and makes every other call itself.
 *
 * syscall() takes up to six arguments after the number and its callers pass
 * as many as the call has; C cannot forward a variable argument list
 * without reading arguments that were never passed (ASan rightly calls that
 * a stack underflow), so the entry is x86-64 assembly doing what glibc's
 * does: registers shifted into the kernel's order, the sixth argument from
 * the stack, -errno turned into errno and -1. On other machines nothing is
 * interposed and aio_reaper_start answers -ENOTSUP.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/syscall.h>

#include "aio_reaper.h"

#define REAP_MAX 64
#define RAFTQ_STR2(x) #x
#define RAFTQ_STR(x) RAFTQ_STR2(x)

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

#if defined(__x86_64__)
#define REAPER_INTERPOSES 1

/* The raw system call, as glibc's syscall(): the entry below past its
 * io_destroy test. */
long aio_reaper__raw_syscall(long n, ...);
/* Where syscall() sends io_destroy (a tail call: the hook's return is the
 * caller's). */
long aio_reaper__io_destroy(long n, unsigned long ctx);

__asm__(".text\n"
	".globl syscall\n"
	".type syscall, @function\n"
	"syscall:\n"
	"	cmpq $" RAFTQ_STR(
	    SYS_io_destroy) ", %rdi\n"
			    "	je aio_reaper__io_destroy\n"
			    ".globl aio_reaper__raw_syscall\n"
			    ".type aio_reaper__raw_syscall, @function\n"
			    "aio_reaper__raw_syscall:\n"
			    "	movq %rdi, %rax\n"
			    "	movq %rsi, %rdi\n"
			    "	movq %rdx, %rsi\n"
			    "	movq %rcx, %rdx\n"
			    "	movq %r8, %r10\n"
			    "	movq %r9, %r8\n"
			    "	movq 8(%rsp), %r9\n"
			    "	syscall\n"
			    "	cmpq $-4095, %rax\n"
			    "	jae 1f\n"
			    "	ret\n"
			    "1:	negq %rax\n"
			    "	pushq %rax\n" /* keeps -rax, aligns the stack
						 for the call */
			    "	call __errno_location@PLT\n"
			    "	popq %rcx\n"
			    "	movl %ecx, (%rax)\n"
			    "	movq $-1, %rax\n"
			    "	ret\n"
			    ".size syscall, .-syscall\n");
#else
#define REAPER_INTERPOSES 0
#endif

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

#if REAPER_INTERPOSES
long aio_reaper__io_destroy(long n, unsigned long ctx)
{
	if (defer(ctx))
		return 0;
	return aio_reaper__raw_syscall(n, ctx);
}
#endif

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
		aio_reaper__raw_syscall(SYS_io_destroy, ctx);
		pthread_mutex_lock(&R.mu);
		R.st.destroyed++;
	}
	return NULL;
}

int aio_reaper_start(void)
{
	if (!REAPER_INTERPOSES)
		return -ENOTSUP;
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
