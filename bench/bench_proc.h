/*
 * bench_proc.h — what bench programs read of a process from /proc.
 */
#ifndef RAFTQ_BENCH_PROC_H
#define RAFTQ_BENCH_PROC_H

#include <stdio.h>
#include <sys/types.h>

/* The resident set (VmRSS) of process @pid (0: this one) in KiB, or 0
 * when /proc does not say. */
static inline long bench_rss_kib(pid_t pid)
{
	char path[64], line[256];
	if (pid == 0)
		snprintf(path, sizeof path, "/proc/self/status");
	else
		snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	long kib = 0;
	while (f != NULL && fgets(line, sizeof line, f) != NULL)
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	if (f != NULL)
		fclose(f);
	return kib;
}

#endif
