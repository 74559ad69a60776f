/*
 * tear.h — torn tails, as a crash in the middle of a write leaves them: a
 * partial batch after the last whole one, in a stopped node's files.
 *
 * Only what was never acknowledged is torn: the bytes go after the last
 * complete batch (a write that was under way when the node died), never
 * over one, so a node that starts again must drop them and lose nothing
 * it acknowledged (the checker checks that).
 *
 *   queues    the active segment (.log) of every queue under
 *             <data_dir>/queues/<topic>/<queue_id>/ gets 1-300 bytes
 *             appended, half the time starting with a batch magic
 *   raft log  the newest open segment under <data_dir>/raft/ gets, after
 *             its last batch (libraft's segment format: u32 header and
 *             data checksums, u64 entry count, 16-byte entry headers,
 *             data padded to 8 bytes), a batch of one entry cut short,
 *             its checksums wrong
 */
#ifndef RAFTQ_NEMESIS_TEAR_H
#define RAFTQ_NEMESIS_TEAR_H

/* Tears the tails of @data_dir's queue segments; the number torn. */
int tear_queues(const char *data_dir, unsigned *seed);
/* Tears the tail of @data_dir's Raft log: 1 when torn, 0 when there was
 * no room after the last batch (or no open segment with entries). */
int tear_raft_log(const char *data_dir, unsigned *seed);

#endif
