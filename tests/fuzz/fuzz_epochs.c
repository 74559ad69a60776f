/*
 * libFuzzer target: a replica's leader-epoch file as found on disk. The
 * first byte picks the log's end (x 16); the rest is written as
 * <dir>/leader-epochs and opened. Open may refuse; what it accepts must
 * be ascending, end before the log's end, and answer lookups
 * consistently.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "storage.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64];

static void remove_dir(void)
{
	char p[128];
	snprintf(p, sizeof p, "%s/leader-epochs", dir);
	unlink(p);
	rmdir(dir);
}

/* What an opened file must satisfy; aborts otherwise. */
static void check(const struct stor_epochs *e, uint64_t log_end)
{
	for (uint32_t i = 0; i < stor_epochs_count(e); i++) {
		const struct stor_epoch *x = stor_epochs_at(e, i);
		const struct stor_epoch *p = i ? stor_epochs_at(e, i - 1) : x;
		if (x->start >= log_end ||
		    (i && (x->epoch <= p->epoch || x->start < p->start)))
			abort();
		uint64_t found, end;
		if (!stor_epochs_end_for(e, x->epoch, log_end, &found, &end) ||
		    found != x->epoch || end < x->start || end > log_end)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (dir[0] == '\0') {
		snprintf(dir, sizeof dir, "/tmp/raftq-fuzz-ep-%d",
			 (int)getpid());
		atexit(remove_dir);
	}
	mkdir(dir, 0755);
	if (size == 0)
		return 0;
	uint64_t log_end = (uint64_t)data[0] * 16;
	char path[128];
	snprintf(path, sizeof path, "%s/leader-epochs", dir);
	FILE *f = fopen(path, "wb");
	if (f == NULL)
		return 0;
	fwrite(data + 1, 1, size - 1, f);
	fclose(f);
	struct stor_epochs *e;
	char err[256];
	if (stor_epochs_open(dir, NULL, log_end, &e, err, sizeof err) != 0)
		return 0;
	check(e, log_end);
	stor_epochs_close(e);
	return 0;
}
