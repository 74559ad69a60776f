/*
 * util/errbuf.h — header-only: a printf-style message into a caller's
 * error buffer (either may be NULL/0: the message is dropped), returning
 * the code the caller passes through. Depends on libc only.
 */
#ifndef RAFTQ_ERRBUF_H
#define RAFTQ_ERRBUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

static inline int errbuf_set(int code, char *buf, size_t n, const char *fmt,
			     ...) __attribute__((format(printf, 4, 5)));
static inline int errbuf_set(int code, char *buf, size_t n, const char *fmt,
			     ...)
{
	if (buf != NULL && n > 0) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(buf, n, fmt, ap);
		va_end(ap);
	}
	return code;
}

#endif
