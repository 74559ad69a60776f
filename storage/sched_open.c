/*
 * sched_open.c — opening a schedule store (storage.h): every bucket's
 * done ids are read, its log scanned entry by entry (CRC checked), the
 * entries not done pushed on the heap, and the targets they go to noted
 * with their earliest due time (what the owner reconciles against its
 * queues). A torn tail — an entry cut short by a crash — is cut off; a
 * whole entry that fails its CRC with more bytes after it is damage, and
 * an error naming file and position.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sched_int.h"

/* The ids in @hour's done file, sorted, into *ids / *n. */
static int read_done(struct stor_sched *s, struct sched_bucket *b,
		     uint64_t **ids, size_t *n)
{
	struct stor__path p;
	sched_path(s, b->hour, "done", &p);
	*ids = NULL;
	*n = 0;
	int fd = stor__open(&s->sys, p.s, O_RDWR, 0);
	if (fd == -ENOENT)
		return 0;
	if (fd < 0)
		return sched_fail(s, stor__from_errno(fd), "open %s: %s", p.s,
				  strerror(-fd));
	struct stat st;
	int rv = fstat(fd, &st) == 0 ? 0 : STOR_EIO;
	size_t whole = rv == 0 ? (size_t)st.st_size / 8 : 0;
	uint8_t *raw = whole ? stor__malloc(&s->sys, whole * 8) : NULL;
	*ids = whole ? stor__malloc(&s->sys, whole * sizeof **ids) : NULL;
	if (whole && (raw == NULL || *ids == NULL))
		rv = STOR_ENOMEM;
	if (rv == 0 && whole &&
	    stor__pread(&s->sys, p.s, fd, raw, whole * 8, 0) !=
		(ssize_t)(whole * 8))
		rv = STOR_EIO;
	if (rv == 0 && (size_t)st.st_size != whole * 8) /* a torn id */
		stor__ftruncate(&s->sys, p.s, fd, whole * 8);
	close(fd);
	for (size_t i = 0; rv == 0 && i < whole; i++)
		(*ids)[i] = stor__get_u64(raw + i * 8);
	free(raw);
	if (rv != 0)
		return sched_fail(s, rv, "reading %s", p.s);
	*n = whole;
	b->done_size = whole * 8;
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Notes that an entry of @count records for @name due at @due is
 * pending. */
static int note_target(struct stor_sched *s, const char *name, size_t len,
		       int64_t due, uint32_t count)
{
	for (uint32_t i = s->ntargets; i-- > 0;) { /* recent ones first */
		struct sched_target *t = &s->targets[i];
		if (strlen(t->name) == len && memcmp(t->name, name, len) == 0) {
			t->min_due = due < t->min_due ? due : t->min_due;
			t->messages += count;
			return 0;
		}
	}
	struct sched_target *t =
	    stor__realloc(&s->sys, s->targets, (s->ntargets + 1) * sizeof *t);
	if (t == NULL)
		return STOR_ENOMEM;
	s->targets = t;
	t = &s->targets[s->ntargets++];
	memcpy(t->name, name, len);
	t->name[len] = '\0';
	t->min_due = due;
	t->messages = count;
	return 0;
}

/* Takes in the entry of @len bytes at @pos (already checked). */
static int take(struct stor_sched *s, struct sched_bucket *b,
		const struct sched_hdr *h, uint64_t pos, uint32_t len,
		const uint64_t *done, size_t ndone)
{
	if (h->id >= s->next_id)
		s->next_id = h->id + 1;
	if (ndone > 0 &&
	    bsearch(&h->id, done, ndone, sizeof *done, cmp_u64) != NULL)
		return 0;
	struct sched_item it = {h->due, h->id, b->hour, (uint32_t)pos, len};
	int rv = sched_push(s, &it);
	if (rv == 0)
		rv = note_target(s, (const char *)s->buf + SCHED_HDR,
				 h->target_len, h->due, h->count);
	if (rv != 0)
		return sched_fail(s, rv, "out of memory");
	b->pending++;
	return 0;
}

/* Reads the entry at @pos of a @size-byte log into s->buf: 1 when whole
 * and valid (header in *h), 0 at a torn tail, or an error. */
static int entry_at(struct stor_sched *s, const char *path, uint64_t pos,
		    uint64_t size, struct sched_hdr *h)
{
	uint8_t hdr[SCHED_HDR];
	const char *why;
	if (size - pos < SCHED_HDR ||
	    stor__pread(&s->sys, path, s->fd, hdr, SCHED_HDR, pos) != SCHED_HDR)
		return 0;
	if (sched_hdr_decode(hdr, s->cfg.max_batch_bytes, h, &why) != 0)
		return 0; /* cannot tell its length: treated as the tail */
	uint64_t len = SCHED_HDR + (uint64_t)h->target_len + h->payload_len;
	if (len > size - pos)
		return 0;
	if (s->bufcap < len) {
		uint8_t *nb = stor__realloc(&s->sys, s->buf, len);
		if (nb == NULL)
			return sched_fail(s, STOR_ENOMEM, "out of memory");
		s->buf = nb;
		s->bufcap = len;
	}
	if (stor__pread(&s->sys, path, s->fd, s->buf, len, pos) != (ssize_t)len)
		return sched_fail(s, STOR_EIO, "read %s at %llu", path,
				  (unsigned long long)pos);
	if (sched_entry_crc(s->buf, len) == h->crc)
		return 1;
	if (pos + len < size)
		return sched_fail(s, STOR_ECORRUPT,
				  "%s: entry at %llu fails its CRC and more "
				  "entries follow (damaged file)",
				  path, (unsigned long long)pos);
	return 0;
}

/* Scans @b's log; entries not in @done become pending. */
static int scan_log(struct stor_sched *s, struct sched_bucket *b,
		    const uint64_t *done, size_t ndone)
{
	struct stor__path p;
	sched_path(s, b->hour, "log", &p);
	int rv = sched_use_log(s, b->hour, false);
	struct stat st;
	if (rv != 0 || fstat(s->fd, &st) != 0)
		return rv ? rv : sched_fail(s, STOR_EIO, "stat %s", p.s);
	uint64_t pos = 0, size = (uint64_t)st.st_size;
	struct sched_hdr h;
	while ((rv = entry_at(s, p.s, pos, size, &h)) == 1) {
		uint32_t len = SCHED_HDR + h.target_len + h.payload_len;
		if ((rv = take(s, b, &h, pos, len, done, ndone)) != 0)
			return rv;
		pos += len;
	}
	if (rv < 0)
		return rv;
	if (pos < size && stor__ftruncate(&s->sys, p.s, s->fd, pos) < 0)
		return sched_fail(s, STOR_EIO, "cutting the torn tail of %s",
				  p.s);
	b->size = pos;
	s->bytes += pos + b->done_size;
	return 0;
}

static int recover_bucket(struct stor_sched *s, int64_t hour)
{
	struct sched_bucket *b = sched_bucket(s, hour, true);
	if (b == NULL)
		return sched_fail(s, STOR_ENOMEM, "out of memory");
	uint64_t *done;
	size_t ndone;
	int rv = read_done(s, b, &done, &ndone);
	if (rv != 0)
		return rv;
	if (ndone > 1)
		qsort(done, ndone, sizeof *done, cmp_u64);
	rv = scan_log(s, b, done, ndone);
	free(done);
	if (rv == 0 && b->pending == 0)
		rv = sched_bucket_delete(s, b);
	return rv;
}

/* The hour of "sched-<hour>.log", or false for another name. */
static bool log_hour(const char *name, int64_t *hour)
{
	char *end;
	if (strncmp(name, "sched-", 6) != 0)
		return false;
	errno = 0;
	long long h = strtoll(name + 6, &end, 10);
	if (errno != 0 || end == name + 6 || strcmp(end, ".log") != 0)
		return false;
	*hour = h;
	return true;
}

int sched_recover(struct stor_sched *s)
{
	DIR *d = opendir(s->dir);
	if (d == NULL)
		return sched_fail(s, STOR_EIO, "opendir: %s", strerror(errno));
	int rv = 0;
	struct dirent *e;
	while (rv == 0 && (e = readdir(d)) != NULL) {
		int64_t hour;
		if (log_hour(e->d_name, &hour))
			rv = recover_bucket(s, hour);
	}
	closedir(d);
	sched_drop_fd(s);
	return rv;
}

int stor_sched_open(const char *dir, const struct stor_config *cfg,
		    const struct stor_env *env, struct stor_sched **out,
		    char *errmsg, size_t errmsg_len)
{
	struct stor_sched *s = calloc(1, sizeof *s);
	int rv = s ? 0 : STOR_ENOMEM;
	if (s != NULL) {
		snprintf(s->dir, sizeof s->dir, "%s", dir);
		s->cfg = *cfg;
		if (env != NULL)
			s->sys.env = *env;
		s->fd = -1;
		s->next_id = 1;
		char why[256];
		int mk = 0;
		if (strlen(dir) >= sizeof s->dir)
			rv = sched_fail(s, STOR_EINVAL,
					"directory name too "
					"long");
		else if ((rv = stor_config_check(cfg, why, sizeof why)) != 0)
			sched_fail(s, rv, "%s", why);
		else if ((mk = stor__mkdir(&s->sys, dir)) < 0)
			rv = sched_fail(s, stor__from_errno(mk), "mkdir: %s",
					strerror(-mk));
		else
			rv = sched_recover(s);
	}
	if (rv != 0) {
		snprintf(errmsg, errmsg_len, "%s",
			 s ? s->err : "schedule store: out of memory");
		stor_sched_close(s);
		return rv;
	}
	*out = s;
	return 0;
}
