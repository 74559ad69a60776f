/*
 * libFuzzer target: a queue's active segment as found on disk after a
 * crash. The input (after a valid file header) is written as segment 0's
 * log with no clean-shutdown marker; the queue is opened (recovery scan)
 * and, if it opens, read from MinOffset to MaxOffset. Open may refuse with
 * an error; nothing may crash, and what opens must read back whole.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "storage.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64];

/* Removes the files of the queue directory (left by the last input). */
static void empty_dir(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	while (d != NULL && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		char p[400];
		snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
		unlink(p);
	}
	if (d != NULL)
		closedir(d);
}

/* At exit: nothing of the run is left in /tmp. */
static void remove_dir(void)
{
	empty_dir();
	rmdir(dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (dir[0] == '\0') {
		snprintf(dir, sizeof dir, "/tmp/raftq-fuzz-%d", (int)getpid());
		atexit(remove_dir);
	}
	mkdir(dir, 0755);
	empty_dir();
	char path[160];
	snprintf(path, sizeof path, "%s/00000000000000000000.log", dir);
	FILE *f = fopen(path, "wb");
	if (f == NULL)
		return 0;
	const uint8_t header[16] = {'R', 'Q', 'L', 'G', 1, 0, 0, 0};
	fwrite(header, 1, sizeof header, f);
	fwrite(data, 1, size, f);
	fclose(f);
	struct stor_config cfg;
	stor_config_default(&cfg);
	cfg.segment_bytes = 1u << 20;
	cfg.index_interval_bytes = 512;
	cfg.max_batch_bytes = 1u << 16;
	cfg.flush = STOR_FLUSH_OS;
	cfg.retention_ms = 0;
	struct stor_queue *q;
	char err[256];
	if (stor_queue_open(dir, "fuzz/0", &cfg, NULL, &q, err, sizeof err) !=
	    0)
		return 0;
	struct stor_queue_info info;
	stor_queue_info(q, &info);
	static uint8_t buf[1u << 17];
	uint64_t off = info.min_offset;
	while (off < info.max_offset) {
		size_t len = 0;
		if (stor_queue_read(q, off, buf, sizeof buf, &len) != 0 ||
		    len == 0)
			abort(); /* recovered data must read back */
		size_t pos = 0;
		struct stor_batch b;
		while (stor_batch_next(buf, len, &pos, &b) == 1)
			off = b.base_offset + b.count;
	}
	uint64_t o;
	stor_queue_offset_for_time(q, 0, &o);
	stor_queue_close(q, err, sizeof err);
	return 0;
}
