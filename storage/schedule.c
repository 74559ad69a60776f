/*
 * schedule.c — the schedule store (storage.h; docs/design/retry-delay.md):
 * adding entries, handing out the earliest due one, marking entries done.
 * Recovery at open is in sched_open.c.
 *
 * Happy path of an entry: stor_sched_add appends header + target + batch
 * payload to sched-<hour>.log (hour of its due time) and pushes a 32-byte
 * item on a min-heap; stor_sched_peek reads it back when due;
 * stor_sched_done appends its id to sched-<hour>.done and pops it; a
 * bucket with nothing pending is deleted.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sched_int.h"

/* ---- Entry format ---- */

void sched_hdr_encode(uint8_t *out, const struct sched_hdr *h,
		      const char *target, const void *payload)
{
	stor__put_u32(out, SCHED_MAGIC);
	out[8] = SCHED_VERSION;
	out[9] = h->flags;
	out[10] = (uint8_t)(h->target_len & 0xff);
	out[11] = (uint8_t)(h->target_len >> 8);
	stor__put_u32(out + 12, h->payload_len);
	stor__put_u64(out + 16, h->id);
	stor__put_u64(out + 24, (uint64_t)h->due);
	stor__put_u32(out + 32, h->count);
	stor__put_u32(out + 36, 0);
	uint32_t crc = stor_crc32c(0, out + 8, SCHED_HDR - 8);
	crc = stor_crc32c(crc, target, h->target_len);
	stor__put_u32(out + 4, stor_crc32c(crc, payload, h->payload_len));
}

int sched_hdr_decode(const uint8_t *in, uint32_t max_payload,
		     struct sched_hdr *h, const char **why)
{
	h->crc = stor__get_u32(in + 4);
	h->flags = in[9];
	h->target_len = (uint16_t)(in[10] | in[11] << 8);
	h->payload_len = stor__get_u32(in + 12);
	h->id = stor__get_u64(in + 16);
	h->due = (int64_t)stor__get_u64(in + 24);
	h->count = stor__get_u32(in + 32);
	*why = NULL;
	if (stor__get_u32(in) != SCHED_MAGIC || in[8] != SCHED_VERSION)
		*why = "bad entry magic or version";
	else if ((h->flags & ~STOR_SCHED_BATCH_FLAGS) != 0 ||
		 stor__get_u32(in + 36) != 0)
		*why = "reserved entry bits set";
	else if (h->target_len == 0 || h->target_len > STOR_SCHED_TARGET_MAX)
		*why = "bad target length";
	else if (h->payload_len > max_payload)
		*why = "entry payload too large";
	else if (h->count == 0 || h->count > STOR_MAX_BATCH_RECORDS)
		*why = "bad record count";
	else if (h->id == 0 || h->id > STOR_SCHED_ID_MAX || h->due < 0 ||
		 h->due > SCHED_DUE_MAX)
		*why = "bad entry id or due time";
	return *why ? STOR_ECORRUPT : 0;
}

uint32_t sched_entry_crc(const uint8_t *entry, size_t len)
{
	return stor_crc32c(0, entry + 8, len - 8);
}

/* ---- Helpers shared with sched_open.c ---- */

int sched_fail(struct stor_sched *s, int code, const char *fmt, ...)
{
	int n = snprintf(s->err, sizeof s->err, "schedule store %s: ", s->dir);
	if (n < 0 || (size_t)n >= sizeof s->err)
		return code;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(s->err + n, sizeof s->err - (size_t)n, fmt, ap);
	va_end(ap);
	return code;
}

void sched_path(const struct stor_sched *s, int64_t hour, const char *ext,
		struct stor__path *p)
{
	p->s[0] = '\0'; /* written here (cppcheck's ctuuninitvar) */
	snprintf(p->s, sizeof p->s, "%s/sched-%lld.%s", s->dir, (long long)hour,
		 ext);
}

struct sched_bucket *sched_bucket(struct stor_sched *s, int64_t hour,
				  bool create)
{
	for (uint32_t i = 0; i < s->nb; i++)
		if (s->b[i].hour == hour)
			return &s->b[i];
	if (!create)
		return NULL;
	if (s->nb == s->capb) {
		uint32_t cap = s->capb ? s->capb * 2 : 16;
		struct sched_bucket *b =
		    stor__realloc(&s->sys, s->b, cap * sizeof *b);
		if (b == NULL)
			return NULL;
		s->b = b;
		s->capb = cap;
	}
	s->b[s->nb] = (struct sched_bucket){.hour = hour};
	return &s->b[s->nb++];
}

void sched_drop_fd(struct stor_sched *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}

int sched_use_log(struct stor_sched *s, int64_t hour, bool create)
{
	if (s->fd >= 0 && s->fd_hour == hour)
		return 0;
	sched_drop_fd(s);
	struct stor__path p;
	sched_path(s, hour, "log", &p);
	int fd =
	    stor__open(&s->sys, p.s, O_RDWR | (create ? O_CREAT : 0), 0644);
	if (fd < 0)
		return sched_fail(s, stor__from_errno(fd), "open %s: %s", p.s,
				  strerror(-fd));
	s->fd = fd;
	s->fd_hour = hour;
	return 0;
}

int sched_bucket_delete(struct stor_sched *s, struct sched_bucket *b)
{
	assert(b->pending == 0);
	if (s->fd_hour == b->hour)
		sched_drop_fd(s);
	struct stor__path p;
	sched_path(s, b->hour, "log", &p);
	int rv = stor__unlink(&s->sys, p.s);
	sched_path(s, b->hour, "done", &p);
	int rv2 = stor__unlink(&s->sys, p.s);
	rv2 = rv2 == -ENOENT ? 0 : rv2; /* an hour's only entry: no done
					   file was ever needed */
	s->bytes -= b->size + b->done_size;
	*b = s->b[--s->nb];
	if (rv < 0 || rv2 < 0)
		return sched_fail(s, STOR_EIO, "deleting bucket files: %s",
				  strerror(rv < 0 ? -rv : -rv2));
	return 0;
}

/* ---- The heap ---- */

static bool before(const struct sched_item *a, const struct sched_item *b)
{
	return a->due < b->due || (a->due == b->due && a->id < b->id);
}

static void swap(struct sched_item *a, struct sched_item *b)
{
	struct sched_item t = *a;
	*a = *b;
	*b = t;
}

static void sift_up(struct stor_sched *s, size_t i)
{
	while (i > 0 && before(&s->heap[i], &s->heap[(i - 1) / 2])) {
		swap(&s->heap[i], &s->heap[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
}

static void sift_down(struct stor_sched *s, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < s->n && before(&s->heap[l], &s->heap[m]))
			m = l;
		if (r < s->n && before(&s->heap[r], &s->heap[m]))
			m = r;
		if (m == i)
			return;
		swap(&s->heap[i], &s->heap[m]);
		i = m;
	}
}

int sched_push(struct stor_sched *s, const struct sched_item *it)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 256;
		struct sched_item *h =
		    stor__realloc(&s->sys, s->heap, cap * sizeof *h);
		if (h == NULL)
			return STOR_ENOMEM;
		s->heap = h;
		s->cap = cap;
	}
	s->heap[s->n++] = *it;
	sift_up(s, s->n - 1);
	return 0;
}

static void remove_at(struct stor_sched *s, size_t i)
{
	assert(i < s->n);
	s->heap[i] = s->heap[--s->n];
	if (i < s->n) {
		sift_up(s, i);
		sift_down(s, i);
	}
}

/* ---- Adding ---- */

static int check_add(struct stor_sched *s, int64_t due, const char *target,
		     const struct stor_batch_in *b)
{
	size_t tl = target ? strlen(target) : 0;
	if (tl == 0 || tl > STOR_SCHED_TARGET_MAX)
		return sched_fail(s, STOR_EINVAL,
				  "target name of %zu bytes "
				  "(1..255)",
				  tl);
	if (due < 0 || due > SCHED_DUE_MAX)
		return sched_fail(s, STOR_EINVAL, "due time %lld out of range",
				  (long long)due);
	if (b->count == 0 || b->count > STOR_MAX_BATCH_RECORDS ||
	    b->payload_len > s->cfg.max_batch_bytes ||
	    (b->flags & ~STOR_SCHED_BATCH_FLAGS) != 0 || b->sched_id != 0 ||
	    (b->payload == NULL && b->payload_len > 0))
		return sched_fail(s, STOR_EINVAL,
				  "bad batch: %u records, %u bytes, flags 0x%x",
				  b->count, b->payload_len, b->flags);
	if (s->next_id > STOR_SCHED_ID_MAX)
		return sched_fail(s, STOR_EINVAL, "schedule ids used up");
	return 0;
}

/* Syncs s->fd as the flush policy says (after an append). */
static int sync_policy(struct stor_sched *s)
{
	int64_t now = stor__now_ms(&s->sys);
	if (s->cfg.flush == STOR_FLUSH_OS ||
	    (s->cfg.flush == STOR_FLUSH_INTERVAL &&
	     now - s->last_sync < (int64_t)s->cfg.flush_interval_ms))
		return 0;
	s->last_sync = now;
	struct stor__path p;
	sched_path(s, s->fd_hour, "log", &p);
	int rv = stor__fdatasync(&s->sys, p.s, s->fd);
	return rv < 0 ? sched_fail(s, stor__from_errno(rv), "fdatasync %s: %s",
				   p.s, strerror(-rv))
		      : 0;
}

int stor_sched_add(struct stor_sched *s, int64_t due_ms, const char *target,
		   const struct stor_batch_in *b, uint64_t *id)
{
	int rv = check_add(s, due_ms, target, b);
	if (rv != 0)
		return rv;
	int64_t hour = due_ms / SCHED_HOUR_MS;
	struct sched_bucket *bk = sched_bucket(s, hour, true);
	if (bk == NULL)
		return sched_fail(s, STOR_ENOMEM, "out of memory");
	struct sched_hdr h = {0,
			      b->flags,
			      (uint16_t)strlen(target),
			      b->payload_len,
			      s->next_id,
			      due_ms,
			      b->count};
	uint32_t len = SCHED_HDR + h.target_len + h.payload_len;
	struct sched_item it = {due_ms, h.id, hour, (uint32_t)bk->size, len};
	if (bk->size + len > UINT32_MAX)
		return sched_fail(s, STOR_EINVAL, "bucket %lld is full",
				  (long long)hour);
	uint8_t hdr[SCHED_HDR];
	sched_hdr_encode(hdr, &h, target, b->payload);
	struct iovec v[3] = {{hdr, SCHED_HDR},
			     {(void *)(uintptr_t)target, h.target_len},
			     {(void *)(uintptr_t)b->payload, h.payload_len}};
	struct stor__path p;
	sched_path(s, hour, "log", &p);
	if ((rv = sched_use_log(s, hour, true)) != 0)
		return rv;
	rv = stor__pwritev(&s->sys, p.s, s->fd, v, h.payload_len ? 3 : 2,
			   bk->size);
	if (rv == 0)
		rv = sync_policy(s);
	else
		rv = sched_fail(s, stor__from_errno(rv), "write %s: %s", p.s,
				strerror(-rv));
	if (rv == 0 && (rv = sched_push(s, &it)) != 0)
		sched_fail(s, rv, "out of memory");
	if (rv != 0) { /* the entry must not come back at the next open */
		stor__ftruncate(&s->sys, p.s, s->fd, bk->size);
		return rv;
	}
	bk->size += len;
	bk->pending++;
	s->bytes += len;
	*id = s->next_id++;
	return 0;
}

/* ---- Handing over ---- */

/* Reads item @it's entry into s->buf and checks it. */
static int read_entry(struct stor_sched *s, const struct sched_item *it)
{
	if (s->bufcap < it->len) {
		uint8_t *b = stor__realloc(&s->sys, s->buf, it->len);
		if (b == NULL)
			return sched_fail(s, STOR_ENOMEM, "out of memory");
		s->buf = b;
		s->bufcap = it->len;
	}
	int rv = sched_use_log(s, it->hour, false);
	if (rv != 0)
		return rv;
	struct stor__path p;
	sched_path(s, it->hour, "log", &p);
	ssize_t n = stor__pread(&s->sys, p.s, s->fd, s->buf, it->len, it->pos);
	if (n != (ssize_t)it->len)
		return sched_fail(s,
				  n < 0 ? stor__from_errno((int)n) : STOR_EIO,
				  "read %s at %u: %s", p.s, it->pos,
				  n < 0 ? strerror((int)-n) : "short read");
	struct sched_hdr h;
	const char *why;
	if (sched_hdr_decode(s->buf, s->cfg.max_batch_bytes, &h, &why) != 0 ||
	    h.id != it->id || sched_entry_crc(s->buf, it->len) != h.crc)
		return sched_fail(s, STOR_ECORRUPT, "%s at %u: %s", p.s,
				  it->pos, why ? why : "entry changed on disk");
	return 0;
}

int stor_sched_peek(struct stor_sched *s, int64_t now_ms,
		    struct stor_sched_entry *e)
{
	if (s->n == 0 || s->heap[0].due > now_ms)
		return 0;
	const struct sched_item *it = &s->heap[0];
	int rv = read_entry(s, it);
	if (rv != 0)
		return rv;
	struct sched_hdr h;
	const char *why;
	sched_hdr_decode(s->buf, s->cfg.max_batch_bytes, &h, &why);
	memcpy(s->target, s->buf + SCHED_HDR, h.target_len);
	s->target[h.target_len] = '\0';
	e->id = it->id;
	e->due_ms = it->due;
	e->target = s->target;
	e->batch = (struct stor_batch_in){s->buf + SCHED_HDR + h.target_len,
					  h.payload_len,
					  h.count,
					  h.flags,
					  0,
					  0};
	return 1;
}

/* Appends @id to the done file of @b. */
static int append_done(struct stor_sched *s, struct sched_bucket *b,
		       uint64_t id)
{
	struct stor__path p;
	sched_path(s, b->hour, "done", &p);
	int fd = stor__open(&s->sys, p.s, O_WRONLY | O_CREAT, 0644);
	if (fd < 0)
		return sched_fail(s, stor__from_errno(fd), "open %s: %s", p.s,
				  strerror(-fd));
	uint8_t rec[8];
	stor__put_u64(rec, id);
	struct iovec v = {rec, sizeof rec};
	int rv = stor__pwritev(&s->sys, p.s, fd, &v, 1, b->done_size);
	close(fd);
	if (rv != 0)
		return sched_fail(s, stor__from_errno(rv), "write %s: %s", p.s,
				  strerror(-rv));
	b->done_size += sizeof rec;
	s->bytes += sizeof rec;
	return 0;
}

int stor_sched_done(struct stor_sched *s, uint64_t id)
{
	size_t i = 0;
	while (i < s->n && s->heap[i].id != id)
		i++; /* the top almost always: O(1); the open's reconciling:
			a linear search per id */
	if (i == s->n)
		return sched_fail(s, STOR_EINVAL, "entry %llu is not pending",
				  (unsigned long long)id);
	struct sched_bucket *b = sched_bucket(s, s->heap[i].hour, false);
	assert(b != NULL && b->pending > 0);
	if (b->pending > 1) {
		int rv = append_done(s, b, id);
		if (rv != 0)
			return rv;
	}
	remove_at(s, i);
	if (--b->pending == 0) /* its last: the files go */
		return sched_bucket_delete(s, b);
	return 0;
}

void stor_sched_targets(struct stor_sched *s,
			void (*cb)(void *data, const char *target,
				   int64_t min_due, uint64_t messages),
			void *data)
{
	for (uint32_t i = 0; i < s->ntargets; i++)
		cb(data, s->targets[i].name, s->targets[i].min_due,
		   s->targets[i].messages);
}

void stor_sched_info(const struct stor_sched *s, struct stor_sched_info *out)
{
	out->pending = s->n;
	out->bytes = s->bytes;
	out->next_due = s->n ? s->heap[0].due : INT64_MAX;
	out->buckets = s->nb;
	out->next_id = s->next_id;
}

const char *stor_sched_errmsg(const struct stor_sched *s)
{
	return s->err;
}

void stor_sched_close(struct stor_sched *s)
{
	if (s == NULL)
		return;
	sched_drop_fd(s);
	free(s->b);
	free(s->heap);
	free(s->buf);
	free(s->targets);
	free(s);
}
