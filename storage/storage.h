/*
 * storage.h — a broker's message queues on disk.
 *
 * A queue is a directory of segments. Each segment holds record batches: a
 * batch is what one producer request appended, with a base offset, a record
 * count, one store timestamp and a CRC32C. Storage never looks inside a
 * batch's payload (it may be an lz4 frame the producer made); it assigns
 * offsets and store times, indexes batches by offset and by time, and hands
 * whole batches back to readers, who skip the records before the offset they
 * asked for.
 *
 * Every byte this module writes is described in docs/disk-format.md.
 *
 * Threading: a queue is used by one thread at a time (the node's loop thread
 * or a worker it hands the queue to). All calls are synchronous and may block
 * on disk I/O.
 *
 * Errors: fallible functions return 0 or a negative STOR_E* code. Calls on a
 * queue leave a message with full context in stor_queue_errmsg(), e.g.
 * "queue orders/3: segment 00000000000000004096.log: fsync: No space left on
 * device".
 */
#ifndef RAFTQ_STORAGE_H
#define RAFTQ_STORAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* X(name, value, text): the one table of storage error codes. */
#define STOR_ERRORS(X)                                                     \
	X(STOR_OK, 0, "ok")                                                \
	X(STOR_EINVAL, -1, "invalid argument")                             \
	X(STOR_ENOMEM, -2, "out of memory")                                \
	X(STOR_EIO, -3, "I/O error")                                       \
	X(STOR_ENOSPC, -4, "no space left on device")                      \
	X(STOR_ECORRUPT, -5, "corrupt data")                               \
	X(STOR_ERANGE, -6, "offset out of range")                          \
	X(STOR_EBUFSIZE, -7, "buffer too small")                           \
	X(STOR_EBROKEN, -8, "queue needs reopening after a failed repair") \
	X(STOR_ELOCKED, -9, "queue directory in use by another process")

enum stor_error {
#define STOR_ENUM_(name, value, text) name = (value),
	STOR_ERRORS(STOR_ENUM_)
#undef STOR_ENUM_
};

/* "no space left on device" for STOR_ENOSPC; "unknown error" otherwise. */
const char *stor_strerror(int code);
/* "STOR_ENOSPC" for STOR_ENOSPC; "STOR_UNKNOWN" otherwise. */
const char *stor_errname(int code);

/* When appended data becomes durable (DESIGN.md §5). */
enum stor_flush {
	STOR_FLUSH_SYNC = 0, /* fdatasync before stor_queue_append returns */
	STOR_FLUSH_INTERVAL = 1, /* stor_queue_tick() syncs every interval */
	STOR_FLUSH_OS = 2,	 /* the kernel decides; synced only on close */
};

/* Parses "sync" / "interval" / "os"; returns STOR_EINVAL otherwise. */
int stor_flush_parse(const char *text, enum stor_flush *out);
const char *stor_flush_name(enum stor_flush flush);

/* Batch flag: the payload is an lz4 frame (stored as given). */
#define STOR_BATCH_LZ4 0x01u
/* Batch flag: handed over from a schedule store; the header's reserved
 * bytes hold the entry's id (stor_batch_in.sched_id; docs/disk-format.md). */
#define STOR_BATCH_SCHEDULED 0x02u
/* Batch flag: a retry or dead letter — the payload starts with the
 * envelope of its first failure (rpc.h rpc_envelope), then its one
 * record; set by brokers only. */
#define STOR_BATCH_ENVELOPE 0x04u
#define STOR_BATCH_FLAGS_KNOWN \
	(STOR_BATCH_LZ4 | STOR_BATCH_SCHEDULED | STOR_BATCH_ENVELOPE)
/* Flags a schedule entry's batch may have. */
#define STOR_SCHED_BATCH_FLAGS (STOR_BATCH_LZ4 | STOR_BATCH_ENVELOPE)
/* Largest schedule id a batch header holds (48 bits). */
#define STOR_SCHED_ID_MAX ((UINT64_C(1) << 48) - 1)

/* Bytes a batch takes on disk and in read buffers in front of its payload. */
#define STOR_BATCH_HEADER_SIZE 40u
/* Largest record count of one batch. */
#define STOR_MAX_BATCH_RECORDS (1u << 20)
/* Largest offset a queue can assign (offsets are 0..2^63-1). */
#define STOR_MAX_OFFSET INT64_MAX

struct stor_config {
	/* Roll to a new segment when the next batch would make the segment
	 * larger than this. 64 KiB .. 1 GiB; default 128 MiB. */
	uint64_t segment_bytes;
	/* Bytes of log between two sparse index entries. 512 .. 1 MiB;
	 * default 4096. */
	uint32_t index_interval_bytes;
	enum stor_flush flush; /* default STOR_FLUSH_SYNC */
	/* With STOR_FLUSH_INTERVAL: sync at most this long after a write.
	 * 1 .. 3600000; default 1000. */
	uint32_t flush_interval_ms;
	/* Delete whole segments whose newest message is older than this.
	 * 0 = keep forever; default 72 h. */
	int64_t retention_ms;
	/* Delete oldest segments while the queue is larger than this.
	 * 0 = no size limit (default). Never deletes the active segment. */
	uint64_t retention_bytes;
	/* Largest batch payload accepted. 1 .. segment_bytes/2; default
	 * 16 MiB. */
	uint32_t max_batch_bytes;
};

/* Fills *cfg with the defaults above. */
void stor_config_default(struct stor_config *cfg);
/* Returns 0, or STOR_EINVAL and a message naming the bad field. */
int stor_config_check(const struct stor_config *cfg, char *errmsg,
		      size_t errmsg_len);

/* Operations the fault hook is asked about, one per kind of call. */
enum stor_op {
	STOR_OP_OPEN = 0,
	STOR_OP_READ,
	STOR_OP_WRITE,
	STOR_OP_FSYNC,
	STOR_OP_TRUNCATE,
	STOR_OP_UNLINK,
	STOR_OP_RENAME,
	STOR_OP_MMAP,
	STOR_OP_MKDIR,
	STOR_OP_ALLOC,
	STOR_OP_COUNT_
};

/*
 * What the queue gets from its owner. Both hooks are optional.
 * - now_ms: the clock retention and interval flushing use (ms since the
 *   epoch); NULL means CLOCK_REALTIME.
 * - fault: asked before every system call and allocation storage makes;
 *   returning a positive errno makes that call fail with it (a write first
 *   writes half of its bytes, as a full disk does). Returns 0 normally.
 *   @path is the file concerned (NULL for allocations); borrowed.
 * The struct is copied by stor_queue_open.
 */
struct stor_env {
	void *data;
	int64_t (*now_ms)(void *data);
	int (*fault)(void *data, enum stor_op op, const char *path);
};

/* One batch to append. Every pointer is borrowed for the call. */
struct stor_batch_in {
	const void *payload;
	uint32_t payload_len;  /* 0 .. cfg.max_batch_bytes */
	uint32_t count;	       /* records in the payload: 1 .. 2^20 */
	uint8_t flags;	       /* STOR_BATCH_* */
	int64_t store_time_ms; /* raised to the queue's last store time */
	/* With STOR_BATCH_SCHEDULED: the schedule entry's id, 1 ..
	 * STOR_SCHED_ID_MAX; 0 otherwise. */
	uint64_t sched_id;
};

/* One batch as found in a read buffer; payload points into that buffer. */
struct stor_batch {
	uint64_t base_offset;
	uint32_t count;
	uint8_t flags;
	uint64_t sched_id; /* with STOR_BATCH_SCHEDULED, else 0 */
	int64_t store_time_ms;
	const uint8_t *payload;
	uint32_t payload_len;
};

struct stor_queue_info {
	uint64_t min_offset;	  /* earliest retained message */
	uint64_t max_offset;	  /* one past the latest message */
	int64_t first_store_time; /* of min_offset's batch; -1 if empty */
	int64_t last_store_time;  /* of the latest batch; -1 if empty */
	uint64_t bytes;		  /* on disk, all segments */
	uint32_t segments;
};

struct stor_queue_stats {
	uint64_t appends;
	uint64_t fsyncs;
	uint64_t rolls;
	uint64_t segments_deleted;
	uint64_t index_rebuilds;   /* sealed segment indexes rebuilt */
	uint64_t tail_truncations; /* torn tails cut off at open */
	uint64_t bytes_truncated;
	int clean_open; /* 1 if the last open found a clean shutdown */
	/* Messages the clean-shutdown record or an index had that the logs
	 * no longer hold (a damaged or deleted segment), from missing_from:
	 * found by the last open, to be reported loudly. */
	uint64_t messages_missing;
	uint64_t missing_from;
	uint64_t releases;   /* stor_queue_release closed its files */
	uint64_t reacquires; /* ...and a later call reopened them */
};

struct stor_queue;

/*
 * Opens the queue in directory @dir, creating the directory (not its
 * parents) and an empty queue if there is none. @name appears in messages
 * ("orders/3"); both strings are copied. @cfg and @env are copied; @env may
 * be NULL. Takes an exclusive flock on the directory.
 *
 * Recovery: after a clean close only index files are read. Otherwise the
 * active segment is scanned: a torn or corrupt tail is cut off at the last
 * whole batch; a corrupt batch followed by valid ones is an error.
 *
 * Returns 0 and sets *out, or STOR_EINVAL (bad config), STOR_ENOMEM,
 * STOR_EIO, STOR_ENOSPC, STOR_ECORRUPT (names segment and offset),
 * STOR_ELOCKED, with a message in @errmsg (may be NULL).
 */
int stor_queue_open(const char *dir, const char *name,
		    const struct stor_config *cfg, const struct stor_env *env,
		    struct stor_queue **out, char *errmsg, size_t errmsg_len);

/*
 * Writes the remaining index entries, syncs, records a clean shutdown and
 * frees the queue, even when it returns an error (then the next open
 * scans the tail). @q may be NULL. Returns 0, STOR_EIO or STOR_ENOSPC, and
 * then puts a message in @errmsg (may be NULL).
 */
int stor_queue_close(struct stor_queue *q, char *errmsg, size_t errmsg_len);

/*
 * Closes the @n queues of @qs as stor_queue_close would each, but with
 * two filesystem syncs in all (syncfs of the first queue's filesystem:
 * every queue must be on it) instead of several fsyncs a queue: pending
 * index entries written and files closed; one sync; the clean-shutdown
 * marker of every queue changed since its open written; one more sync.
 * Frees every queue (NULL entries skipped), even after errors; returns
 * how many did not close cleanly (the next open of those scans), each
 * message given to @report (may be NULL) with @data.
 */
int stor_queues_close(struct stor_queue **qs, size_t n,
		      void (*report)(void *data, const char *msg), void *data);

/*
 * Appends one batch. On success sets @base_offset (may be NULL) to the
 * offset of its first record and @store_time_ms (may be NULL) to the store
 * time used. With STOR_FLUSH_SYNC the batch is durable when this returns.
 * Returns STOR_EINVAL (bad count, flags, size, or offsets would pass
 * 2^63-1), STOR_EIO, STOR_ENOSPC, STOR_ENOMEM: nothing was appended and the
 * queue stays readable; STOR_EBROKEN: a failed write could not be undone,
 * reads still work, appends need a reopen.
 */
int stor_queue_append(struct stor_queue *q, const struct stor_batch_in *in,
		      uint64_t *base_offset, int64_t *store_time_ms);

/*
 * Replicas (docs/design/replication.md). Appends batches exactly as
 * another replica's stor_queue_read gave them — offsets, store times,
 * flags, schedule ids and CRCs kept: @buf holds whole batches, the first
 * starting at this queue's max offset, each where the one before ends,
 * store times not going back. Each is checked (header, CRC) before it is
 * written; with STOR_FLUSH_SYNC one sync covers them all. Sets *end (may
 * be NULL) to the max offset after the call: batches before a failure
 * stay appended. STOR_ECORRUPT (a damaged batch), STOR_EINVAL (a gap, an
 * earlier store time, offsets past 2^63-1), STOR_EIO, STOR_ENOSPC,
 * STOR_ENOMEM, STOR_EBROKEN.
 */
int stor_queue_append_copy(struct stor_queue *q, const void *buf, size_t len,
			   uint64_t *end);
/*
 * Cuts the queue back so its max offset is @offset, which must be the
 * start of a batch (or the max offset: nothing to do) and not below the
 * min offset. The files are changed (later segments deleted, the one
 * holding @offset cut) and then read again as an open after a crash
 * reads them. STOR_ERANGE, STOR_EINVAL (inside a batch: nothing
 * changed), STOR_EIO, STOR_ENOSPC, STOR_ENOMEM; after a failure that
 * changed files the queue may be broken (STOR_EBROKEN until reopened).
 */
int stor_queue_truncate(struct stor_queue *q, uint64_t offset);
/*
 * Deletes every message and starts the queue over empty at @start (min
 * = max = @start): a replica rebuilt from a leader whose log starts
 * there. Errors as stor_queue_truncate.
 */
int stor_queue_restart(struct stor_queue *q, uint64_t start);

/*
 * Copies whole batches into @buf, starting with the batch that holds
 * @offset, as many as fit in @cap (stopping at a segment's end). Sets *len
 * to the bytes copied; 0 when @offset is the max offset. Walk the buffer
 * with stor_batch_next(). Every batch's CRC is checked.
 * Returns STOR_ERANGE (offset below min or above max), STOR_EBUFSIZE (the
 * first batch needs *len bytes), STOR_ECORRUPT (names segment and offset),
 * STOR_EIO, STOR_ENOMEM.
 */
int stor_queue_read(struct stor_queue *q, uint64_t offset, void *buf,
		    size_t cap, size_t *len);

/*
 * Offset of the first message whose store time is >= @t: the max offset if
 * none is, the min offset if @t precedes every retained message; equal
 * store times land on the first of them; an empty queue answers its min
 * (= max) offset. O(log n): segment list, then the segment's time index.
 * Returns STOR_ECORRUPT, STOR_EIO, STOR_ENOMEM.
 */
int stor_queue_offset_for_time(struct stor_queue *q, int64_t t,
			       uint64_t *offset);

/*
 * The store time of the message at @offset (its batch's, read from the
 * batch header the offset index points at; O(log n), no payload read).
 * STOR_ERANGE unless min offset <= @offset < max offset; STOR_ECORRUPT,
 * STOR_EIO.
 */
int stor_queue_store_time(struct stor_queue *q, uint64_t offset, int64_t *t);

/* Called with each schedule id stor_queue_sched_ids finds. */
typedef void (*stor_sched_id_fn)(void *data, uint64_t id);
/*
 * Calls @cb with the schedule id of every batch flagged
 * STOR_BATCH_SCHEDULED whose store time is >= @since_ms, in offset order
 * (the time index finds the start; whole batches are read from there).
 * Returns 0, STOR_ECORRUPT, STOR_EIO, STOR_ENOMEM.
 */
int stor_queue_sched_ids(struct stor_queue *q, int64_t since_ms,
			 stor_sched_id_fn cb, void *data);

/* Min/max offsets, first/last store times, size. Never fails. */
void stor_queue_info(struct stor_queue *q, struct stor_queue_info *info);
void stor_queue_stats(struct stor_queue *q, struct stor_queue_stats *stats);

/* @offset clamped to [min offset, max offset] (DESIGN.md §1). */
uint64_t stor_queue_clamp(struct stor_queue *q, uint64_t offset);

/* Makes everything appended so far durable. STOR_EIO, STOR_ENOSPC. */
int stor_queue_flush(struct stor_queue *q);

/*
 * Group commit off the owner's thread (docs/design/storage.md). With
 * STOR_FLUSH_SYNC an owner may append without waiting for the disk and
 * have the appended tail synced elsewhere:
 *
 *   stor_queue_append_unsynced   (owner's thread: written, not synced)
 *   stor_queue_sync_take         (owner's thread: what to sync)
 *   stor_sync_run                (any thread: the fdatasync)
 *   stor_queue_sync_done         (owner's thread: the synced end moves)
 *
 * Batches appended while a sync runs are covered by the next one: one
 * fdatasync for all of them. Readers of the queue see the max offset as
 * always; the owner serves and acknowledges up to
 * stor_queue_synced_end() only. Rolling to a new segment syncs the
 * sealed one on the owner's thread (once per segment).
 */
/* As stor_queue_append, never syncing (whatever the flush policy). */
int stor_queue_append_unsynced(struct stor_queue *q,
			       const struct stor_batch_in *in,
			       uint64_t *base_offset, int64_t *store_time_ms);
/* With STOR_FLUSH_SYNC, one past the last offset known synced; with the
 * other policies the max offset (durability is the policy's). */
uint64_t stor_queue_synced_end(const struct stor_queue *q);

/*
 * Closes every file @q holds (the directory's flock included) after
 * writing pending index entries and, unless flush is os, syncing; the
 * queue stays usable: the next call that needs a file reopens what it
 * needs (relocking the directory: STOR_ELOCKED if another process has
 * it). For an owner keeping many queues, most of them idle, under a
 * bound of open files. 0, or STOR_EIO, STOR_ENOSPC, STOR_EBROKEN.
 */
int stor_queue_release(struct stor_queue *q);
/* Whether @q's files are closed by stor_queue_release. */
bool stor_queue_released(const struct stor_queue *q);
/* How many times a released queue of this process reopened its files
 * (any thread); an owner bounding open files trims when it grows. */
uint64_t stor_reacquired_total(void);

/* One sync of a queue's unsynced tail, taken on the owner's thread. */
struct stor_sync {
	int fd;		     /* a duplicate of the active log's fd */
	uint64_t end;	     /* the max offset when taken: what it covers */
	uint64_t gen;	     /* the queue's reload count when taken */
	int rv;		     /* stor_sync_run: 0 or a negative errno */
	struct stor_env env; /* the queue's fault hook */
	char path[4096];     /* the log file, for the hook and messages */
};
/* 1 with @s filled when [synced end, max offset) needs a sync, 0 when
 * nothing does, STOR_EIO (no fd to spare) or STOR_EBROKEN. After 1, @s
 * owns a file descriptor: the caller must pass @s to stor_sync_run (which
 * closes it) and then to stor_queue_sync_done. */
int stor_queue_sync_take(struct stor_queue *q, struct stor_sync *s);
/* fdatasync of @s's fd, then closes it; any thread, no queue touched. */
void stor_sync_run(struct stor_sync *s);
/*
 * The sync @s ran: on success the synced end moves to s->end (a sync
 * taken before a truncate or restart counts for nothing). On failure the
 * unsynced tail is cut back to the synced end, so nothing unsynced is
 * ever served, and STOR_EIO or STOR_ENOSPC is returned with the message
 * (the queue is broken if the cut fails too).
 */
int stor_queue_sync_done(struct stor_queue *q, const struct stor_sync *s);

/*
 * Periodic work, called by the owner on a timer: flushes when the interval
 * policy says so, then applies retention. Sets *deleted (may be NULL) to the
 * number of segments deleted. Returns STOR_EIO, STOR_ENOSPC, STOR_EBROKEN.
 */
int stor_queue_tick(struct stor_queue *q, unsigned *deleted);

/*
 * Applies retention now: deletes sealed segments whose newest message is
 * older than retention_ms or that push the queue past retention_bytes; a
 * non-empty active segment past retention_ms is rolled first, so an idle
 * queue ends empty with min = max. Sets *deleted (may be NULL).
 */
int stor_queue_retain(struct stor_queue *q, unsigned *deleted);

/* The message of the last failed call on @q; owned by @q. */
const char *stor_queue_errmsg(const struct stor_queue *q);

/*
 * Walks a buffer filled by stor_queue_read: decodes the batch at *pos into
 * @out (whose payload points into @buf) and advances *pos. Returns 1 when a
 * batch was decoded, 0 at the end of the buffer, STOR_ECORRUPT when the
 * bytes at *pos are not a whole valid batch (CRC included).
 */
int stor_batch_next(const void *buf, size_t len, size_t *pos,
		    struct stor_batch *out);

/* ---- The schedule store: batches to append to a queue later ----
 *
 * One per broker (docs/design/retry-delay.md): an entry is one batch, the
 * name of the queue it goes to and its due time. Entries live in files by
 * hour of due time until the owner hands them over (appends the batch to
 * its queue with STOR_BATCH_SCHEDULED and the entry's id) and marks them
 * done. Single-threaded, like a queue.
 */
#define STOR_SCHED_TARGET_MAX 255 /* bytes of a target queue's name */

struct stor_sched;

/* A due entry as stor_sched_peek hands it out; borrowed until the next
 * call on the store. */
struct stor_sched_entry {
	uint64_t id;
	int64_t due_ms;
	const char *target;
	struct stor_batch_in batch; /* sched_id and store_time unset */
};

struct stor_sched_info {
	uint64_t pending; /* entries not handed over */
	uint64_t bytes;	  /* on disk */
	int64_t next_due; /* of the earliest pending entry; INT64_MAX: none */
	uint32_t buckets; /* files of entries */
	uint64_t next_id; /* the id the next entry gets */
};

/*
 * Opens (creating) the store in directory @dir with @cfg's flush policy
 * and max_batch_bytes; @env may be NULL. Recovery: each bucket's log is
 * scanned, a torn tail cut at the last whole entry, its done file read;
 * entries not done are pending again. Returns 0 and *out, or STOR_EINVAL,
 * STOR_ENOMEM, STOR_EIO, STOR_ECORRUPT (a bad entry followed by more
 * bytes: names file and position) with a message in @errmsg.
 */
int stor_sched_open(const char *dir, const struct stor_config *cfg,
		    const struct stor_env *env, struct stor_sched **out,
		    char *errmsg, size_t errmsg_len);
/* Closes the files and frees @s (NULL: nothing). */
void stor_sched_close(struct stor_sched *s);
/*
 * Stores @b for @target (1..STOR_SCHED_TARGET_MAX bytes), due at @due_ms;
 * its id in *id. With STOR_FLUSH_SYNC it is durable when this returns.
 * STOR_EINVAL (target, count, flags, size), STOR_EIO, STOR_ENOSPC,
 * STOR_ENOMEM: nothing stored.
 */
int stor_sched_add(struct stor_sched *s, int64_t due_ms, const char *target,
		   const struct stor_batch_in *b, uint64_t *id);
/*
 * The earliest pending entry when it is due at @now_ms: 1 and *e filled
 * (its payload read into the store's buffer), 0 when none is due; or
 * STOR_EIO, STOR_ECORRUPT, STOR_ENOMEM. The entry stays pending until
 * stor_sched_done.
 */
int stor_sched_peek(struct stor_sched *s, int64_t now_ms,
		    struct stor_sched_entry *e);
/* Marks entry @id handed over (any pending entry; the reconciliation at
 * open marks those its queue already holds). A bucket with nothing
 * pending is deleted. 0, STOR_EINVAL (not pending), STOR_EIO. */
int stor_sched_done(struct stor_sched *s, uint64_t id);
/* Calls @cb once per target with entries pending at open, with the
 * earliest due time among them (what the owner reconciles) and their
 * records. */
void stor_sched_targets(struct stor_sched *s,
			void (*cb)(void *data, const char *target,
				   int64_t min_due, uint64_t messages),
			void *data);
void stor_sched_info(const struct stor_sched *s, struct stor_sched_info *out);
/* The message of the last failed call on @s; owned by @s. */
const char *stor_sched_errmsg(const struct stor_sched *s);

/* ---- A replica's leader epochs (docs/design/replication.md §5) ----
 *
 * "<queue dir>/leader-epochs": (epoch, start offset) pairs, epochs and
 * starts ascending — which leader epoch wrote the offsets from start up
 * to the next entry's start (the last: up to the log's end). Every
 * change is durable when the call returns. Single-threaded, like the
 * queue whose directory it shares.
 */
struct stor_epoch {
	uint64_t epoch;
	uint64_t start;
};
struct stor_epochs;

/* Reads (or starts empty) the file in @dir; entries starting at or past
 * @log_end (the queue's max offset) are dropped. 0 and *out, or
 * STOR_ECORRUPT, STOR_EIO, STOR_ENOMEM with a message in @errmsg. */
int stor_epochs_open(const char *dir, const struct stor_env *env,
		     uint64_t log_end, struct stor_epochs **out, char *errmsg,
		     size_t errmsg_len);
void stor_epochs_close(struct stor_epochs *e); /* NULL: nothing */
uint32_t stor_epochs_count(const struct stor_epochs *e);
const struct stor_epoch *stor_epochs_at(const struct stor_epochs *e,
					uint32_t i);
/* The last entry's epoch; 0 when there is none. */
uint64_t stor_epochs_last(const struct stor_epochs *e);
/* Records that @epoch writes from @start on; nothing when it is already
 * the last epoch. STOR_EINVAL when the epoch (or start) is below the
 * last's; STOR_EIO, STOR_ENOSPC, STOR_ENOMEM (nothing recorded). */
int stor_epochs_add(struct stor_epochs *e, uint64_t epoch, uint64_t start);
/* The largest recorded epoch <= @epoch (*found) and where it ends (*end:
 * the next entry's start, or @log_end); false when there is none. */
bool stor_epochs_end_for(const struct stor_epochs *e, uint64_t epoch,
			 uint64_t log_end, uint64_t *found, uint64_t *end);
/* The epoch that wrote @offset and where it ends; false before the
 * first entry. */
bool stor_epochs_covering(const struct stor_epochs *e, uint64_t offset,
			  uint64_t log_end, uint64_t *epoch, uint64_t *end);
/* Drops entries starting at or past @log_end (after a truncation). */
int stor_epochs_truncate(struct stor_epochs *e, uint64_t log_end);
/* Drops entries of epochs above @epoch. */
int stor_epochs_keep_through(struct stor_epochs *e, uint64_t epoch);
/* Drops every entry (a restarted replica). */
int stor_epochs_clear(struct stor_epochs *e);
const char *stor_epochs_errmsg(const struct stor_epochs *e);

/* CRC32C (Castagnoli) of @len bytes, continuing from @crc (0 to start). */
uint32_t stor_crc32c(uint32_t crc, const void *data, size_t len);

#endif /* RAFTQ_STORAGE_H */
