/*
 * libFuzzer target: a schedule store as found on disk after a crash
 * (storage/sched_open.c). Even first byte: it splits the rest into the
 * log and the done file of one hour, written as they are. Odd: the rest
 * drives a real store — entries added, some marked done — whose files
 * are then damaged (a byte changed, a tail cut) where the input says, so
 * valid entries meet corruption. Either way the store is opened and, if it
 * opens, every pending entry is handed out and marked done. Open may
 * refuse with a message; nothing may crash; what opens hands out entries
 * in due order, each with a target and a batch, and ends empty.
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

static void remove_dir(void)
{
	empty_dir();
	rmdir(dir);
}

static void write_file(const char *name, const uint8_t *p, size_t n)
{
	char path[160];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	if (f == NULL)
		abort();
	fwrite(p, 1, n, f);
	fclose(f);
}

/* Hands out and marks done every entry; they come in due order. */
static void drain(struct stor_sched *s)
{
	struct stor_sched_entry e;
	int64_t last = INT64_MIN;
	int rv;
	while ((rv = stor_sched_peek(s, INT64_MAX, &e)) == 1) {
		if (e.due_ms < last || e.target == NULL ||
		    e.target[0] == '\0' || e.batch.count == 0)
			abort();
		last = e.due_ms;
		if (stor_sched_done(s, e.id) != 0) {
			fprintf(stderr, "done: %s\n", stor_sched_errmsg(s));
			abort();
		}
	}
	struct stor_sched_info info;
	stor_sched_info(s, &info);
	if (rv != 0 || info.pending != 0) {
		fprintf(stderr, "peek %d, %llu pending: %s\n", rv,
			(unsigned long long)info.pending, stor_sched_errmsg(s));
		abort();
	}
}

static struct stor_config config(void)
{
	struct stor_config cfg;
	stor_config_default(&cfg);
	cfg.flush = STOR_FLUSH_OS;
	return cfg;
}

/* Builds a store from @p (4 bytes per entry: due, target, size, done)
 * and damages its log as the last 3 bytes say. */
static void build(const uint8_t *p, size_t n)
{
	struct stor_config cfg = config();
	struct stor_sched *s;
	char err[600];
	if (stor_sched_open(dir, &cfg, NULL, &s, err, sizeof err) != 0)
		abort();
	static const char *const targets[] = {"t/0", "orders/12", "x/1"};
	uint8_t payload[256];
	memset(payload, 'p', sizeof payload);
	for (size_t i = 0; i + 4 <= n && i < 4 * 64; i += 4) {
		struct stor_batch_in b = {payload, p[i + 2], 1, 0, 0, 0};
		uint64_t id;
		if (stor_sched_add(s, 1000 * (int64_t)p[i] * 3600,
				   targets[p[i + 1] % 3], &b, &id) != 0)
			abort();
		if (p[i + 3] & 1)
			stor_sched_done(s, id);
	}
	stor_sched_close(s);
	if (n < 3)
		return;
	char path[160];
	snprintf(path, sizeof path, "%s/sched-%d.log", dir, p[0]);
	FILE *f = fopen(path, "r+b");
	if (f == NULL)
		return;
	fseek(f, 0, SEEK_END);
	long len = ftell(f);
	if (len > 0) {
		fseek(f, (long)(p[n - 1] | p[n - 2] << 8) % len, SEEK_SET);
		fputc(p[n - 3], f);
	}
	fclose(f);
	if (len > 0 && (p[n - 3] & 1))
		truncate(path, (long)(p[n - 2] | p[n - 1] << 8) % len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (dir[0] == '\0') {
		snprintf(dir, sizeof dir, "/tmp/raftq-fuzz-sched-%d",
			 (int)getpid());
		atexit(remove_dir);
	}
	if (size == 0)
		return 0;
	mkdir(dir, 0755);
	empty_dir();
	if (data[0] & 1) {
		build(data + 1, size - 1);
	} else {
		size_t split = (size_t)data[0] * (size - 1) / 255;
		write_file("sched-7.log", data + 1, split);
		write_file("sched-7.done", data + 1 + split, size - 1 - split);
	}
	struct stor_config cfg = config();
	struct stor_sched *s;
	char err[600] = "";
	if (stor_sched_open(dir, &cfg, NULL, &s, err, sizeof err) != 0) {
		if (err[0] == '\0')
			abort(); /* every refusal says why */
		return 0;
	}
	drain(s);
	stor_sched_close(s);
	return 0;
}
