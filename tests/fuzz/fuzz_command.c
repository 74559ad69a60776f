/*
 * libFuzzer target: Raft log entries and snapshots. The state has brokers,
 * topics and groups. The first input byte picks the mode:
 *   even: the rest is applied raw as a command, then restored raw as a
 *         snapshot;
 *   odd:  a valid encoded command or snapshot (a reset of two topics, a
 *         copy of another group, a one-topic reset with a guard, an
 *         in-sync set change, a broker fenced, the snapshot after them) is
 * mutated by the rest (byte pairs: where, what to XOR) and applied or restored
 * — so the decoders of every field are reached, not only the first bytes
 * (schema-aware). Apply must never fail on bad bytes (it records them as
 * rejected); restore must refuse them and leave the state unchanged.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lz4frame.h>

#include "../../util/lz4_frame.h"
#include "rsm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void apply(struct rsm *s, struct raft_buffer b)
{
	const struct rsm_result *r;
	rsm_apply(s, b.base, b.len, &r);
	raft_free(b.base);
}

static void setup(struct rsm *s)
{
	struct raft_buffer buf;
	for (uint64_t id = 1; id <= 2; id++) {
		struct rsm_broker b;
		memset(&b, 0, sizeof b);
		b.id = id;
		snprintf(b.name, sizeof b.name, "broker-%d", (int)id);
		if (rsm_encode_register_broker(&b, &buf, NULL, 0) == 0)
			apply(s, buf);
	}
	const char *brokers[] = {"broker-1", "broker-2"};
	const char *topics[] = {"t", "u"};
	const char *groups[] = {"g", "src"};
	for (int i = 0; i < 2; i++) {
		if (rsm_encode_create_topic(
			&(struct rsm_topic_spec){topics[i], 2, brokers, 2,
						 2 - (uint32_t)i, 0, 1},
			&buf, NULL, 0) == 0)
			apply(s, buf);
		if (rsm_encode_create_group(groups[i], RSM_CLUSTERING,
					    RSM_INITIAL_LATEST, 1, NULL, NULL,
					    0, &buf, NULL, 0) == 0)
			apply(s, buf);
	}
}

/* Template @k, encoded (0 when it could not be). */
static int template(int k, struct raft_buffer *out)
{
	static const char *const isr[] = {"broker-2", "broker-1"};
	static const struct rsm_alter_isr alter = {"t", 1,   "broker-2", 1, 1,
						   1,	isr, 2,		 5};
	if (k == 3) /* an in-sync set change of a replicated queue */
		return rsm_encode_alter_isr(&alter, out, NULL, 0) == 0;
	if (k == 4) /* a broker fenced */
		return rsm_encode_fence_broker("broker-1", true, out, NULL,
					       0) == 0;
	static const struct rsm_reset_move mv[4] = {
	    {"broker-1", 0, RSM_MOVE_ABSOLUTE, 3, 0, 9, 0},
	    {"broker-1", 1, RSM_MOVE_SHIFT, -2, 1, 9, 4},
	    {"broker-2", 0, RSM_MOVE_UNSET, 0, 0, 9, 0},
	    {"broker-2", 1, RSM_MOVE_ABSOLUTE, 12, 2, 9, 0}};
	static const struct rsm_reset_move cp[2] = {
	    {"broker-1", 0, RSM_MOVE_COPY, 0, 0, 9, 0},
	    {"broker-2", 1, RSM_MOVE_COPY, 0, 0, 9, 0}};
	struct rsm_reset_part two[2] = {{"t", 4, mv, true, 0},
					{"u", 2, mv + 2, false, 0}};
	struct rsm_reset_part copy = {"t", 2, cp, false, 0};
	struct rsm_reset_cmd cmd = {7, "ops", "g", RSM_TARGET_UNDO,
				    1, NULL,  2,   two};
	if (k == 1) { /* a copy of another group */
		cmd = (struct rsm_reset_cmd){7, "ops", "g", RSM_TARGET_GROUP,
					     0, "src", 1,   &copy};
	} else if (k == 2) { /* one topic with a guard: RSM_CMD_RESET */
		cmd.n_parts = 1;
	}
	return rsm_encode_reset(&cmd, out, NULL, 0) == 0;
}

/* Applies the rest of @data as (where, what) XOR pairs to @b. */
static void mutate(uint8_t *b, size_t len, const uint8_t *data, size_t size)
{
	for (size_t i = 0; i + 1 < size && len > 0; i += 2)
		b[data[i] % len] ^= data[i + 1];
}

/* Every entry counts, good or bad; a refused snapshot changes nothing. */
static void check(struct rsm *s, const uint8_t *cmd, size_t clen,
		  const uint8_t *snap, size_t slen)
{
	uint64_t applied = rsm_applied(s);
	const struct rsm_result *r;
	if (rsm_apply(s, cmd, clen, &r) == 0 && rsm_applied(s) != applied + 1)
		abort();
	uint64_t before = rsm_digest(s);
	if (rsm_restore(s, snap, slen, NULL, 0) != 0 && rsm_digest(s) != before)
		abort();
}

/* A snapshot of the state after templates 0..4, its msgpack body
 * mutated by @data and compressed again (with a correct checksum, so the
 * state decoder sees the mutation): malloc'ed into *out, or NULL. */
static void *mutated_snapshot(const uint8_t *data, size_t size, size_t *len)
{
	struct rsm *t = rsm_new();
	void *snap = NULL, *out = NULL;
	uint8_t *raw = NULL;
	size_t slen = 0, rlen = 0;
	const char *why;
	struct raft_buffer b;
	if (t == NULL)
		return NULL;
	setup(t);
	for (int k = 0; k < 5; k++)
		if (template(k, &b))
			apply(t, b);
	if (rsm_snapshot(t, &snap, &slen) == 0 &&
	    lzf_inflate((const uint8_t *)snap + 1, slen - 1, 1u << 24, &raw,
			&rlen, &why) == LZF_OK) {
		mutate(raw, rlen, data, size);
		size_t bound = LZ4F_compressFrameBound(rlen, NULL) + 64;
		LZ4F_preferences_t prefs = {0};
		prefs.frameInfo.contentChecksumFlag =
		    LZ4F_contentChecksumEnabled;
		uint8_t *o = malloc(1 + bound);
		size_t n =
		    o ? LZ4F_compressFrame(o + 1, bound, raw, rlen, &prefs) : 0;
		if (o != NULL && !LZ4F_isError(n)) {
			o[0] = ((const uint8_t *)snap)[0];
			*len = 1 + n;
			out = o;
		} else {
			free(o);
		}
	}
	free(raw);
	free(snap);
	rsm_free(t);
	return out;
}

/* The odd mode: templates 0..4 are commands, 5 is a snapshot. */
static void templated(struct rsm *s, const uint8_t *data, size_t size)
{
	int k = size > 1 ? data[1] % 6 : 0;
	const uint8_t *rest = data + (size > 2 ? 2 : size);
	size_t nrest = size > 2 ? size - 2 : 0;
	struct raft_buffer b;
	if (k < 5 && template(k, &b)) {
		mutate(b.base, b.len, rest, nrest);
		check(s, b.base, b.len, b.base, b.len);
		raft_free(b.base);
	} else if (k == 5) {
		size_t len = 0;
		void *snap = mutated_snapshot(rest, nrest, &len);
		if (snap != NULL)
			check(s, snap, len, snap, len);
		free(snap);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rsm *s = rsm_new();
	if (s == NULL)
		return 0;
	setup(s);
	if (size == 0 || (data[0] & 1) == 0)
		check(s, data + (size > 0), size - (size > 0), data, size);
	else
		templated(s, data, size);
	rsm_free(s);
	return 0;
}
