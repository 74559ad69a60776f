/*
 * fsm.c — snapshots (one version byte + an lz4 frame of the canonical
 * state), the state digest, and the struct raft_fsm that plugs the state
 * into libraft 0.15 (version 3 FSM: snapshots taken off the loop,
 * snapshot_async.c; restore frees the buffer it is given on success).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lz4frame.h>

#include "../util/lz4_frame.h"

#include "../util/msgpack_check.h"
#include "rsm_int.h"

int rsm_snapshot(const struct rsm *s, void **out, size_t *len)
{
	msgpack_sbuffer sb;
	msgpack_sbuffer_init(&sb);
	rsm__pack_state(s, &sb);
	if (sb.data == NULL)
		return RSM_ENOMEM;
	LZ4F_preferences_t prefs;
	memset(&prefs, 0, sizeof prefs);
	prefs.frameInfo.contentChecksumFlag = LZ4F_contentChecksumEnabled;
	prefs.frameInfo.contentSize = sb.size;
	size_t bound = LZ4F_compressFrameBound(sb.size, &prefs);
	uint8_t *buf = malloc(1 + bound);
	if (buf == NULL) {
		msgpack_sbuffer_destroy(&sb);
		return RSM_ENOMEM;
	}
	buf[0] = (uint8_t)RSM__SNAPSHOT_VERSION;
	size_t n = LZ4F_compressFrame(buf + 1, bound, sb.data, sb.size, &prefs);
	msgpack_sbuffer_destroy(&sb);
	if (LZ4F_isError(n)) {
		free(buf);
		return RSM_ENOMEM;
	}
	*out = buf;
	*len = 1 + n;
	return 0;
}

/* The largest decompressed snapshot accepted. */
#define SNAPSHOT_MAX ((size_t)1 << 35)

int rsm_restore(struct rsm *s, const void *buf, size_t len, char *errmsg,
		size_t errmsg_len)
{
	const uint8_t *p = buf;
	const char *why = NULL;
	int rv;
	if (len < 1 || p[0] != RSM__SNAPSHOT_VERSION) {
		rv = len < 1 ? RSM_ECORRUPT : RSM_EVERSION;
		why = len < 1 ? "empty snapshot"
			      : "snapshot format version not supported";
		goto out;
	}
	uint8_t *raw = NULL;
	size_t raw_len = 0;
	rv = lzf_inflate(p + 1, len - 1, SNAPSHOT_MAX, &raw, &raw_len, &why);
	if (rv != LZF_OK) {
		rv = rv == LZF_ENOMEM ? RSM_ENOMEM : RSM_ECORRUPT;
		goto out;
	}
	msgpack_unpacked u;
	msgpack_unpacked_init(&u);
	size_t off = 0;
	struct rsm *fresh = rsm_new();
	if (fresh == NULL) {
		rv = RSM_ENOMEM;
	} else if (mpk_check(raw, raw_len, MPK_MAX_DEPTH) != 0) {
		rv = RSM_ECORRUPT;
		why = "state is not one well-formed msgpack object";
	} else if (msgpack_unpack_next(&u, (const char *)raw, raw_len, &off) !=
		       MSGPACK_UNPACK_SUCCESS ||
		   off != raw_len) {
		rv = RSM_ECORRUPT;
		why = "state does not decode";
	} else {
		rv = rsm__unpack_state(fresh, &u.data, &why);
	}
	msgpack_unpacked_destroy(&u);
	free(raw);
	if (rv == 0) {
		/* Swap in the new state; keep the result buffer. */
		struct rsm_result keep = s->result;
		rsm_applied_fn hook_fn = s->applied_fn;
		void *hook_arg = s->applied_arg;
		struct rsm_fsm_stats keep_stats = s->fsm_stats;
		uint32_t keep_cap = s->item_cap;
		s->result.item_codes = NULL;
		rsm__clear(s);
		*s = *fresh;
		s->result = keep;
		s->result.reset = NULL;
		s->result.n_reset = 0;
		s->item_cap = keep_cap;
		s->applied_fn = hook_fn;
		s->applied_arg = hook_arg;
		s->fsm_stats = keep_stats;
		free(fresh);
		return 0;
	}
	rsm_free(fresh);
out:
	if (errmsg != NULL && errmsg_len > 0)
		snprintf(errmsg, errmsg_len, "restore: %s",
			 why ? why : rsm_strerror(rv));
	return rv;
}

uint64_t rsm_digest(const struct rsm *s)
{
	msgpack_sbuffer sb;
	msgpack_sbuffer_init(&sb);
	rsm__pack_state(s, &sb);
	if (sb.data == NULL)
		return 0;
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < sb.size; i++) {
		h ^= (uint8_t)sb.data[i];
		h *= 0x100000001b3ull;
	}
	msgpack_sbuffer_destroy(&sb);
	return h;
}

/* ---- libraft glue ---- */

static int fsm_apply(struct raft_fsm *fsm, const struct raft_buffer *buf,
		     void **result)
{
	struct rsm *s = fsm->data;
	const struct rsm_result *res;
	/* libraft hands the leader's callback an uninitialised pointer
	 * unless apply sets it (notes/libraft-0.15.md). */
	*result = NULL;
	int rv = rsm_apply(s, buf->base, buf->len, &res);
	if (rv != 0)
		return RAFT_NOMEM;
	*result = (void *)res;
	if (s->applied_fn != NULL)
		s->applied_fn(s->applied_arg, res);
	return 0;
}

static uint64_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000;
}

static int fsm_restore(struct raft_fsm *fsm, struct raft_buffer *buf)
{
	struct rsm *s = fsm->data;
	if (s->snap != NULL)
		return RAFT_BUSY; /* never: libraft installs none meanwhile */
	uint64_t t0 = mono_us();
	int rv = rsm_restore(s, buf->base, buf->len, NULL, 0);
	if (rv != 0)
		return rv == RSM_ENOMEM ? RAFT_NOMEM : RAFT_MALFORMED;
	raft_free(buf->base); /* ours on success */
	s->fsm_stats.restores++;
	s->fsm_stats.restore_us += mono_us() - t0;
	if (s->applied_fn != NULL)
		s->applied_fn(s->applied_arg, NULL);
	return 0;
}

void rsm_on_applied(struct rsm *s, rsm_applied_fn fn, void *arg)
{
	s->applied_fn = fn;
	s->applied_arg = arg;
}

const struct rsm_fsm_stats *rsm_fsm_stats(const struct rsm *s)
{
	return &s->fsm_stats;
}

void rsm_fsm_init(struct raft_fsm *fsm, struct rsm *s)
{
	memset(fsm, 0, sizeof *fsm);
	fsm->data = s;
	fsm->apply = fsm_apply;
	fsm->restore = fsm_restore;
	rsm__fsm_snapshot_init(fsm);
}
