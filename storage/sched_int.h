/*
 * sched_int.h — inside the schedule store (schedule.c, sched_open.c):
 * the entry format of docs/disk-format.md ("Schedule store"), buckets,
 * the heap of pending entries.
 */
#ifndef RAFTQ_STORAGE_SCHED_INT_H
#define RAFTQ_STORAGE_SCHED_INT_H

#include "storage_int.h"

#define SCHED_MAGIC 0x45535152u /* "RQSE" little-endian */
#define SCHED_VERSION 1
#define SCHED_HDR 40u
#define SCHED_HOUR_MS 3600000
/* Largest due time: 9999-12-31, so a bucket's name stays short. */
#define SCHED_DUE_MAX 253402300799999LL

struct sched_hdr {
	uint32_t crc;
	uint8_t flags; /* the batch's */
	uint16_t target_len;
	uint32_t payload_len;
	uint64_t id;
	int64_t due;
	uint32_t count;
};

/* One file pair: sched-<hour>.log (entries) and sched-<hour>.done (ids). */
struct sched_bucket {
	int64_t hour;
	uint64_t size;	    /* bytes of its log */
	uint64_t done_size; /* bytes of its done file */
	uint32_t pending;   /* entries not done */
};

/* A pending entry: 32 bytes in memory; the rest stays on disk. */
struct sched_item {
	int64_t due;
	uint64_t id;
	int64_t hour;
	uint32_t pos; /* in its bucket's log (a log stays under 4 GiB) */
	uint32_t len;
};

struct sched_target {
	char name[STOR_SCHED_TARGET_MAX + 1];
	int64_t min_due;
	uint64_t messages; /* records of its pending entries */
};

struct stor_sched {
	char dir[4000]; /* leaves room for "/sched-<hour>.done" in a path */
	struct stor__sys sys;
	struct stor_config cfg;
	struct sched_bucket *b;
	uint32_t nb, capb;
	struct sched_item *heap; /* min-heap by (due, id) */
	size_t n, cap;
	uint64_t next_id;
	uint64_t bytes;
	int fd; /* the log of fd_hour, read and appended */
	int64_t fd_hour;
	int64_t last_sync; /* ms: STOR_FLUSH_INTERVAL */
	uint8_t *buf;	   /* the entry stor_sched_peek read */
	size_t bufcap;
	char target[STOR_SCHED_TARGET_MAX + 1];
	struct sched_target
	    *targets; /* from the open; see stor_sched_targets */
	uint32_t ntargets;
	char err[512];
};

/* Fills the 40 header bytes (CRC over header, @target and @payload). */
void sched_hdr_encode(uint8_t *out, const struct sched_hdr *h,
		      const char *target, const void *payload);
/* Decodes the fixed fields: 0, or STOR_ECORRUPT with why. No CRC. */
int sched_hdr_decode(const uint8_t *in, uint32_t max_payload,
		     struct sched_hdr *h, const char **why);
/* CRC of a whole entry of @len bytes (header first) as stored. */
uint32_t sched_entry_crc(const uint8_t *entry, size_t len);

/* Sets s->err; returns @code. */
int sched_fail(struct stor_sched *s, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* "<dir>/sched-<hour>.<ext>" into @p. */
void sched_path(const struct stor_sched *s, int64_t hour, const char *ext,
		struct stor__path *p);
/* The bucket of @hour (created when @create), NULL if none / no memory. */
struct sched_bucket *sched_bucket(struct stor_sched *s, int64_t hour,
				  bool create);
/* Pushes @it on the heap: 0 or STOR_ENOMEM. */
int sched_push(struct stor_sched *s, const struct sched_item *it);
/* Opens s->fd on @hour's log (O_CREAT when @create): 0 or an error. */
int sched_use_log(struct stor_sched *s, int64_t hour, bool create);
/* Closes s->fd if open. */
void sched_drop_fd(struct stor_sched *s);
/* Deletes @b's files and forgets it (nothing pending in it). */
int sched_bucket_delete(struct stor_sched *s, struct sched_bucket *b);

/* sched_open.c: reads every bucket back (stor_sched_open's recovery). */
int sched_recover(struct stor_sched *s);

#endif /* RAFTQ_STORAGE_SCHED_INT_H */
