/*
 * sys.c — every system call and allocation storage makes goes through here,
 * so that tests can make any of them fail (struct stor_env.fault) and the
 * clock can be injected (struct stor_env.now_ms). errno is translated to a
 * negative return value at this boundary.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "storage_int.h"

static int fault(const struct stor__sys *s, enum stor_op op, const char *path)
{
	if (s->env.fault == NULL)
		return 0;
	int e = s->env.fault(s->env.data, op, path);
	return e > 0 ? -e : 0;
}

int stor__open(const struct stor__sys *s, const char *path, int flags,
	       mode_t mode)
{
	int rv = fault(s, STOR_OP_OPEN, path);
	if (rv != 0)
		return rv;
	int fd = open(path, flags | O_CLOEXEC, mode);
	return fd < 0 ? -errno : fd;
}

ssize_t stor__pread(const struct stor__sys *s, const char *path, int fd,
		    void *buf, size_t n, uint64_t off)
{
	int rv = fault(s, STOR_OP_READ, path);
	if (rv != 0)
		return rv;
	size_t done = 0;
	while (done < n) {
		ssize_t r = pread(fd, (char *)buf + done, n - done,
				  (off_t)(off + done));
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			break;
		done += (size_t)r;
	}
	return (ssize_t)done;
}

int stor__pwritev(const struct stor__sys *s, const char *path, int fd,
		  const struct iovec *iov, int iovcnt, uint64_t off)
{
	struct iovec v[8];
	if (iovcnt < 1 || iovcnt > 8)
		return -EINVAL;
	size_t total = 0;
	for (int i = 0; i < iovcnt; i++) {
		v[i] = iov[i];
		total += iov[i].iov_len;
	}
	int rv = fault(s, STOR_OP_WRITE, path);
	if (rv != 0) {
		/* A full disk accepts part of a write before it refuses. */
		size_t half = total / 2, put = 0;
		for (int i = 0; i < iovcnt && put < half; i++) {
			size_t n = v[i].iov_len;
			if (n > half - put)
				n = half - put;
			if (pwrite(fd, v[i].iov_base, n, (off_t)(off + put)) !=
			    (ssize_t)n)
				break;
			put += n;
		}
		return rv;
	}
	int first = 0;
	while (total > 0) {
		ssize_t w = pwritev(fd, v + first, iovcnt - first, (off_t)off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (w == 0)
			return -EIO;
		off += (uint64_t)w;
		total -= (size_t)w;
		size_t left = (size_t)w;
		while (first < iovcnt && left >= v[first].iov_len) {
			left -= v[first].iov_len;
			first++;
		}
		if (first < iovcnt && left > 0) {
			v[first].iov_base = (char *)v[first].iov_base + left;
			v[first].iov_len -= left;
		}
	}
	return 0;
}

int stor__fdatasync(const struct stor__sys *s, const char *path, int fd)
{
	int rv = fault(s, STOR_OP_FSYNC, path);
	if (rv != 0)
		return rv;
	return fdatasync(fd) < 0 ? -errno : 0;
}

int stor__syncfs(const struct stor__sys *s, const char *path, int fd)
{
	int rv = fault(s, STOR_OP_FSYNC, path);
	if (rv != 0)
		return rv;
	return syncfs(fd) < 0 ? -errno : 0;
}

int stor__ftruncate(const struct stor__sys *s, const char *path, int fd,
		    uint64_t size)
{
	int rv = fault(s, STOR_OP_TRUNCATE, path);
	if (rv != 0)
		return rv;
	return ftruncate(fd, (off_t)size) < 0 ? -errno : 0;
}

int stor__unlink(const struct stor__sys *s, const char *path)
{
	int rv = fault(s, STOR_OP_UNLINK, path);
	if (rv != 0)
		return rv;
	return unlink(path) < 0 ? -errno : 0;
}

int stor__rename(const struct stor__sys *s, const char *from, const char *to)
{
	int rv = fault(s, STOR_OP_RENAME, to);
	if (rv != 0)
		return rv;
	return rename(from, to) < 0 ? -errno : 0;
}

int stor__mkdir(const struct stor__sys *s, const char *path)
{
	int rv = fault(s, STOR_OP_MKDIR, path);
	if (rv != 0)
		return rv;
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int stor__mmap(const struct stor__sys *s, const char *path, int fd, size_t len,
	       void **out)
{
	int rv = fault(s, STOR_OP_MMAP, path);
	if (rv != 0)
		return rv;
	void *p = mmap(NULL, len, PROT_READ, MAP_SHARED | MAP_POPULATE, fd, 0);
	if (p == MAP_FAILED)
		return -errno;
	*out = p;
	return 0;
}

void *stor__malloc(const struct stor__sys *s, size_t n)
{
	if (fault(s, STOR_OP_ALLOC, NULL) != 0)
		return NULL;
	return malloc(n == 0 ? 1 : n);
}

void *stor__realloc(const struct stor__sys *s, void *p, size_t n)
{
	if (fault(s, STOR_OP_ALLOC, NULL) != 0)
		return NULL;
	return realloc(p, n == 0 ? 1 : n);
}

int64_t stor__now_ms(const struct stor__sys *s)
{
	if (s->env.now_ms != NULL)
		return s->env.now_ms(s->env.data);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int stor__from_errno(int neg_errno)
{
	switch (-neg_errno) {
	case ENOSPC:
	case EDQUOT:
		return STOR_ENOSPC;
	case ENOMEM:
		return STOR_ENOMEM;
	default:
		return STOR_EIO;
	}
}
