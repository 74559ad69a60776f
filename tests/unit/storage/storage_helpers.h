/*
 * storage_helpers.h — an environment with a manual clock and a fault plan,
 * and a model of a queue kept by the test itself: every expected offset,
 * store time and byte is computed from the model, never from the code
 * under test.
 */
#ifndef RAFTQ_STORAGE_HELPERS_H
#define RAFTQ_STORAGE_HELPERS_H

#include "../test_util.h"
#include "storage.h"

struct sh_env {
	struct tu_faults f;
	struct stor_env env;
};

static int sh_fault(void *data, enum stor_op op, const char *path)
{
	return tu_fault_hook(data, (int)op, path);
}

static int64_t sh_now(void *data)
{
	return ((struct tu_faults *)data)->clock.now;
}

static inline void sh_env_init(struct sh_env *e, int64_t now)
{
	memset(e, 0, sizeof *e);
	e->f.op = -1;
	e->f.clock.now = now;
	e->env.data = &e->f;
	e->env.now_ms = sh_now;
	e->env.fault = sh_fault;
}

/* Small segments and a fine index so tests cross many boundaries. */
static inline void sh_small_config(struct stor_config *c)
{
	stor_config_default(c);
	c->segment_bytes = 64u << 10;
	c->index_interval_bytes = 512;
	c->flush = STOR_FLUSH_OS;
	c->max_batch_bytes = 16u << 10;
	c->retention_ms = 0;
}

#define SH_MAX_BATCHES 20000

struct sh_batch {
	uint64_t base;
	uint32_t count;
	uint32_t len;
	int64_t time; /* store time the queue must have given it */
};

struct sh_model {
	uint64_t min;  /* first retained offset */
	uint64_t next; /* max offset */
	size_t first;  /* index of the first retained batch */
	size_t n;
	int64_t last_time;
	struct sh_batch b[SH_MAX_BATCHES];
};

static inline struct sh_model *sh_model_new(void)
{
	struct sh_model *m = calloc(1, sizeof *m);
	assert_non_null(m);
	m->last_time = INT64_MIN;
	return m;
}

/* The payload byte @i of the batch at @base with @len bytes. */
static inline uint8_t sh_byte(uint64_t base, uint32_t len, uint32_t i)
{
	return (uint8_t)(base * 31u + len * 13u + i * 7u);
}

static inline void sh_fill(uint8_t *p, uint64_t base, uint32_t len)
{
	for (uint32_t i = 0; i < len; i++)
		p[i] = sh_byte(base, len, i);
}

/* Appends a batch and checks the offset and time the queue assigned. */
static inline void sh_append(struct stor_queue *q, struct sh_model *m,
			     uint32_t count, uint32_t len, int64_t t)
{
	assert_true(m->n < SH_MAX_BATCHES);
	uint8_t *p = malloc(len ? len : 1);
	assert_non_null(p);
	sh_fill(p, m->next, len);
	struct stor_batch_in in = {.payload = p,
				   .payload_len = len,
				   .count = count,
				   .flags = 0,
				   .store_time_ms = t};
	uint64_t base = UINT64_MAX;
	int64_t got_t = 0;
	int rv = stor_queue_append(q, &in, &base, &got_t);
	if (rv != 0)
		fail_msg("append: %s: %s", stor_errname(rv),
			 stor_queue_errmsg(q));
	free(p);
	int64_t want_t = t < m->last_time ? m->last_time : t;
	assert_int_equal(base, m->next);
	assert_int_equal(got_t, want_t);
	m->b[m->n++] = (struct sh_batch){m->next, count, len, want_t};
	m->next += count;
	m->last_time = want_t;
}

/* Offset of the first retained message with time >= t (brute force). */
static inline uint64_t sh_expect_time(const struct sh_model *m, int64_t t)
{
	for (size_t i = m->first; i < m->n; i++)
		if (m->b[i].time >= t)
			return m->b[i].base;
	return m->next;
}

/* Segments the model's batches fill (all retained): a batch that would
 * push a non-empty segment past segment_bytes starts a new one. */
static inline uint32_t sh_expect_segments(const struct sh_model *m,
					  const struct stor_config *c)
{
	uint32_t segs = 1;
	uint64_t size = 16;
	for (size_t i = m->first; i < m->n; i++) {
		uint64_t total = 40 + m->b[i].len;
		if (size > 16 && size + total > c->segment_bytes) {
			segs++;
			size = 16;
		}
		size += total;
	}
	return segs;
}

/* Forgets batches below @min (retention). */
static inline void sh_model_retain(struct sh_model *m, uint64_t min)
{
	while (m->first < m->n && m->b[m->first].base < min)
		m->first++;
	m->min = min;
}

/* Reads every retained offset back in chunks of @cap bytes and checks
 * each batch's header fields and payload against the model. */
static inline void sh_verify(struct stor_queue *q, const struct sh_model *m,
			     size_t cap)
{
	struct stor_queue_info info;
	stor_queue_info(q, &info);
	assert_int_equal(info.min_offset, m->min);
	assert_int_equal(info.max_offset, m->next);
	uint8_t *buf = malloc(cap);
	assert_non_null(buf);
	size_t i = m->first;
	uint64_t off = m->min;
	while (off < m->next) {
		size_t len = 0;
		int rv = stor_queue_read(q, off, buf, cap, &len);
		if (rv != 0)
			fail_msg("read %llu: %s: %s", (unsigned long long)off,
				 stor_errname(rv), stor_queue_errmsg(q));
		assert_true(len > 0);
		size_t pos = 0;
		struct stor_batch b;
		while ((rv = stor_batch_next(buf, len, &pos, &b)) == 1) {
			assert_true(i < m->n);
			const struct sh_batch *e = &m->b[i++];
			assert_int_equal(b.base_offset, e->base);
			assert_int_equal(b.count, e->count);
			assert_int_equal(b.payload_len, e->len);
			assert_int_equal(b.store_time_ms, e->time);
			for (uint32_t k = 0; k < e->len; k++)
				if (b.payload[k] != sh_byte(e->base, e->len, k))
					fail_msg("offset %llu byte %u differs",
						 (unsigned long long)e->base,
						 k);
			off = e->base + e->count;
		}
		assert_int_equal(rv, 0);
	}
	assert_int_equal(i, m->n);
	free(buf);
}

/* Opens @dir or fails the test with the message. */
static inline struct stor_queue *sh_open(const char *dir,
					 const struct stor_config *cfg,
					 const struct stor_env *env)
{
	struct stor_queue *q = NULL;
	char err[1024];
	int rv = stor_queue_open(dir, "t/0", cfg, env, &q, err, sizeof err);
	if (rv != 0)
		fail_msg("open: %s: %s", stor_errname(rv), err);
	return q;
}

static inline void sh_close(struct stor_queue *q)
{
	char err[1024];
	int rv = stor_queue_close(q, err, sizeof err);
	if (rv != 0)
		fail_msg("close: %s: %s", stor_errname(rv), err);
}

/* The fixture every storage test file uses: a fresh directory, the small
 * config, an environment whose clock starts at @now, and an empty model. */
struct sh_fx {
	char *dir;
	struct stor_config cfg;
	struct sh_env env;
	struct sh_model *m;
};

static inline int sh_setup(void **state, int64_t now)
{
	struct sh_fx *f = calloc(1, sizeof *f);
	if (f == NULL)
		return -1;
	f->dir = tu_mkdtemp();
	sh_small_config(&f->cfg);
	sh_env_init(&f->env, now);
	f->m = sh_model_new();
	*state = f;
	return 0;
}

static inline int sh_teardown(void **state)
{
	struct sh_fx *f = *state;
	tu_rmrf(f->dir);
	free(f->dir);
	free(f->m);
	free(f);
	return 0;
}

#endif /* RAFTQ_STORAGE_HELPERS_H */
