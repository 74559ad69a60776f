/*
 * test_util.h — helpers shared by the unit tests: temporary directories,
 * an injectable clock, a fault plan for storage's syscall hook, and a real
 * crash (a forked child that exits without closing anything).
 */
#ifndef RAFTQ_TEST_UTIL_H
#define RAFTQ_TEST_UTIL_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static int tu_rm_cb(const char *path, const struct stat *st, int flag,
		    struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* Removes a directory tree. */
static inline void tu_rmrf(const char *path)
{
	nftw(path, tu_rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

/* Makes a fresh directory under $TMPDIR (or /tmp); caller frees. */
static inline char *tu_mkdtemp(void)
{
	const char *base = getenv("TMPDIR");
	char *p = NULL;
	if (asprintf(&p, "%s/raftq-test-XXXXXX", base ? base : "/tmp") < 0)
		abort();
	if (mkdtemp(p) == NULL)
		abort();
	return p;
}

/* "<dir>/<name>"; caller frees. */
static inline char *tu_path(const char *dir, const char *name)
{
	char *p = NULL;
	if (asprintf(&p, "%s/%s", dir, name) < 0)
		abort();
	return p;
}

static inline off_t tu_file_size(const char *path)
{
	struct stat st;
	if (stat(path, &st) != 0)
		return -1;
	return st.st_size;
}

static inline bool tu_exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

/* XORs one byte of a file with @mask. */
static inline void tu_flip_byte(const char *path, off_t at, uint8_t mask)
{
	int fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	uint8_t b;
	assert_int_equal(pread(fd, &b, 1, at), 1);
	b ^= mask;
	assert_int_equal(pwrite(fd, &b, 1, at), 1);
	close(fd);
}

static inline void tu_truncate(const char *path, off_t size)
{
	assert_int_equal(truncate(path, size), 0);
}

/* Copies a file byte for byte. */
static inline void tu_copy_file(const char *from, const char *to)
{
	int in = open(from, O_RDONLY), out;
	assert_true(in >= 0);
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(out >= 0);
	char buf[65536];
	ssize_t n;
	while ((n = read(in, buf, sizeof buf)) > 0)
		assert_int_equal(write(out, buf, (size_t)n), n);
	close(in);
	close(out);
}

/* Runs @fn(@arg) in a child process that then _exit()s at once, as if
 * killed: nothing is closed or flushed by the child. Returns its exit
 * status (fn's return value). */
static inline int tu_crash_after(int (*fn)(void *), void *arg)
{
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(fn(arg));
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

/* A manual clock for struct stor_env.now_ms. */
struct tu_clock {
	int64_t now;
};
static inline int64_t tu_clock_now(void *data)
{
	return ((struct tu_clock *)data)->now;
}

/*
 * A fault plan for struct stor_env.fault: the @skip+1-th call of kind @op
 * whose path contains @path_part (any path when NULL) fails with @err,
 * and so do the following @repeat-1 such calls (@repeat 0 = forever).
 */
struct tu_faults {
	struct tu_clock clock;
	int op;
	int err;
	int skip;
	int repeat;
	const char *path_part;
	int seen;  /* matching calls so far */
	int fired; /* failures injected */
};

static inline void tu_faults_arm(struct tu_faults *f, int op, int err, int skip,
				 int repeat, const char *path_part)
{
	f->op = op;
	f->err = err;
	f->skip = skip;
	f->repeat = repeat;
	f->path_part = path_part;
	f->seen = 0;
	f->fired = 0;
}

static inline void tu_faults_disarm(struct tu_faults *f)
{
	f->op = -1;
}

static inline int tu_fault_hook(void *data, int op, const char *path)
{
	struct tu_faults *f = data;
	if (op != f->op)
		return 0;
	if (f->path_part != NULL &&
	    (path == NULL || strstr(path, f->path_part) == NULL))
		return 0;
	if (f->seen++ < f->skip)
		return 0;
	if (f->repeat != 0 && f->fired >= f->repeat)
		return 0;
	f->fired++;
	return f->err;
}

#endif /* RAFTQ_TEST_UTIL_H */
