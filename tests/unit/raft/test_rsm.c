/* The replicated state: commands, apply, epochs, resets, snapshots. */
#include "rsm_helpers.h"

#include <msgpack.h>

static int setup(void **state)
{
	*state = rsm_new();
	return *state == NULL;
}

static int teardown(void **state)
{
	rsm_free(*state);
	return 0;
}

static void test_rsm_topic_and_group_creation(void **state)
{
	struct rsm *s = *state;
	rh_standard(s);
	const struct rsm_topic *t = rsm_topic_find(s, "orders");
	assert_non_null(t);
	assert_int_equal(t->queues_per_broker, 2);
	assert_int_equal(t->n_brokers, 3);
	/* Brokers are kept sorted whatever order they were given in. */
	assert_string_equal(t->brokers[0], "broker-1");
	assert_string_equal(t->brokers[2], "broker-3");
	assert_int_equal(rsm_topic_queues(t), 6);
	assert_int_equal(rsm_topic_queue_index(t, "broker-2", 1), 3);
	assert_int_equal(rsm_topic_queue_index(t, "broker-2", 2), -1);
	assert_int_equal(rsm_topic_queue_index(t, "broker-9", 0), -1);
	/* Duplicates and unknown brokers are refused with reasons. */
	const char *b1[] = {"broker-1"};
	assert_int_equal(rh_topic(s, "orders", 1, b1, 1), RSM_EEXISTS);
	assert_string_equal(s ? rsm_group_find(s, "g")->name : "", "g");
	const char *bx[] = {"broker-1", "broker-7"};
	struct raft_buffer buf;
	assert_int_equal(
	    rsm_encode_create_topic(
		&(struct rsm_topic_spec){"other", 1, bx, 2, 0, 0, 5}, &buf,
		NULL, 0),
	    0);
	const struct rsm_result *r = rh_apply(s, buf);
	assert_int_equal(r->code, RSM_EUNKNOWN_BROKER);
	assert_string_equal(r->message, "unknown broker 'broker-7'");
	assert_null(rsm_topic_find(s, "other"));
	const char *bd[] = {"broker-1", "broker-1"};
	assert_int_equal(rh_topic(s, "dup", 1, bd, 2), RSM_EINVAL);
	assert_int_equal(rh_group(s, "g", RSM_BROADCASTING), RSM_EEXISTS);
	assert_int_equal(rsm_group_count(s), 1);
	assert_int_equal(rsm_topic_count(s), 1);
	assert_int_equal(rsm_broker_count(s), 3);
	assert_int_equal(rsm_rejected(s), 0);
}

static void test_rsm_encoders_validate(void **state)
{
	(void)state;
	struct raft_buffer buf;
	char err[256];
	const char *b[] = {"broker-1"};
	assert_int_equal(
	    rsm_encode_create_topic(
		&(struct rsm_topic_spec){"bad name", 1, b, 1, 0, 0, 0}, &buf,
		err, sizeof err),
	    RSM_EINVAL);
	assert_string_equal(err, "bad topic name 'bad name': use 1-127 of "
				 "A-Z a-z 0-9 . _ -");
	assert_int_equal(rsm_encode_create_topic(
			     &(struct rsm_topic_spec){"t", 0, b, 1, 0, 0, 0},
			     &buf, err, sizeof err),
			 RSM_EINVAL);
	assert_string_equal(err, "queues must be 1..16384, not 0");
	assert_int_equal(
	    rsm_encode_create_group("", RSM_CLUSTERING, RSM_INITIAL_LATEST, 0,
				    NULL, NULL, 0, &buf, err, sizeof err),
	    RSM_EINVAL);
	assert_int_equal(rsm_encode_commit(NULL, 0, &buf, err, sizeof err),
			 RSM_EINVAL);
	assert_string_equal(err, "no offsets to commit");
	struct rsm_reset_move m = {"broker-1", 0, RSM_MOVE_ABSOLUTE, 5, 10,
				   2,	       0};
	struct rsm_reset_part pt = {"t", 1, &m, false, 0};
	struct rsm_reset_cmd c = {1, "ops", "g", RSM_TARGET_OFFSET,
				  5, NULL,  1,	 &pt};
	assert_int_equal(rsm_encode_reset(&c, &buf, err, sizeof err),
			 RSM_EINVAL);
	assert_string_equal(err, "reset queue broker-1:0: bad bounds [10, 2]");
	char longname[200];
	memset(longname, 'a', sizeof longname - 1);
	longname[sizeof longname - 1] = '\0';
	assert_false(rsm_name_valid(longname));
	longname[127] = '\0';
	assert_true(rsm_name_valid(longname));
	assert_false(rsm_name_valid("a/b"));
	assert_true(rsm_name_valid("Orders-2024_v1.x"));
}

/* Commits @offset under @epoch to g/orders/broker-1:0: @code, and the
 * offset it then has is @after. */
static void commit_b1(struct rsm *s, uint64_t offset, uint64_t epoch, int code,
		      uint64_t after)
{
	assert_int_equal(
	    rh_commit(s, "g", "orders", "broker-1", 0, offset, epoch), code);
	assert_int_equal(rh_offset(s, "g", "orders", "broker-1", 0), after);
}

static void test_rsm_commit_and_epoch_fence(void **state)
{
	struct rsm *s = *state;
	rh_standard(s);
	assert_int_equal(rh_offset(s, "g", "orders", "broker-1", 0),
			 RSM_OFFSET_NONE);
	commit_b1(s, 17, 0, RSM_OK, 17);
	/* Offsets may move back (a consumer may seek). */
	commit_b1(s, 11, 0, RSM_OK, 11);
	/* Unknowns. */
	assert_int_equal(rh_commit(s, "nope", "orders", "broker-1", 0, 1, 0),
			 RSM_EUNKNOWN_GROUP);
	assert_int_equal(rh_commit(s, "g", "nope", "broker-1", 0, 1, 0),
			 RSM_EUNKNOWN_TOPIC);
	assert_int_equal(rh_commit(s, "g", "orders", "broker-1", 2, 1, 0),
			 RSM_EUNKNOWN_QUEUE);
	/* An epoch from the future is a client bug, not a commit. */
	assert_int_equal(rh_commit(s, "g", "orders", "broker-1", 0, 99, 1),
			 RSM_EINVAL);
	assert_int_equal(rh_offset(s, "g", "orders", "broker-1", 0), 11);

	/* A reset moves the epoch; a commit read under the old one is
	 * refused and cannot undo the reset. */
	struct rsm_reset_move m = {"broker-1", 0, RSM_MOVE_ABSOLUTE, 3, 0,
				   50,	       0};
	const struct rsm_result *r =
	    rh_reset(s, 5000, "orders", RSM_TARGET_OFFSET, 3, &m, 1);
	assert_int_equal(r->code, RSM_OK);
	assert_int_equal(r->reset->epoch, 1);
	assert_int_equal(rh_epoch(s, "g", "orders"), 1);
	commit_b1(s, 40, 0, RSM_ESTALE_EPOCH, 3);
	commit_b1(s, 4, 1, RSM_OK, 4);
}

static void test_rsm_commit_batch_reports_each_item(void **state)
{
	struct rsm *s = *state;
	rh_standard(s);
	assert_int_equal(rh_group(s, "bc", RSM_BROADCASTING), RSM_OK);
	struct rsm_commit items[] = {
	    {"g", "orders", "broker-2", 1, 100, 0},
	    {"g", "orders", "broker-9", 0, 100, 0},
	    {"bc", "orders", "broker-1", 0, 5, 0},
	    {"g", "orders", "broker-3", 0, 7, 0},
	};
	struct raft_buffer buf;
	assert_int_equal(rsm_encode_commit(items, 4, &buf, NULL, 0), 0);
	const struct rsm_result *r = rh_apply(s, buf);
	assert_int_equal(r->type, RSM_CMD_COMMIT);
	assert_int_equal(r->code, RSM_EUNKNOWN_QUEUE);
	assert_int_equal(r->n_items, 4);
	assert_int_equal(r->item_codes[0], RSM_OK);
	assert_int_equal(r->item_codes[1], RSM_EUNKNOWN_QUEUE);
	assert_int_equal(r->item_codes[2], RSM_EBROADCAST);
	assert_int_equal(r->item_codes[3], RSM_OK);
	assert_int_equal(rh_offset(s, "g", "orders", "broker-2", 1), 100);
	assert_int_equal(rh_offset(s, "g", "orders", "broker-3", 0), 7);
	/* A broadcasting group keeps nothing on the servers. */
	assert_null(rsm_group_topic(rsm_group_find(s, "bc"), "orders"));
}

/* A reset of every queue of "orders" with the same move... */
/* ...applied only at epoch @expect (-1: no guard). */
static const struct rsm_result *reset_all_at(struct rsm *s, enum rsm_move mv,
					     int64_t value, const uint64_t *min,
					     const uint64_t *max,
					     uint64_t unset, int64_t expect)
{
	struct rsm_reset_move m[6];
	rh_moves(m, 6, 2, mv, value, min, max, unset);
	struct rsm_reset_part pt = {"orders", 6, m, expect >= 0,
				    expect >= 0 ? (uint64_t)expect : 0};
	struct rsm_reset_cmd c = {
	    7000,  "alice",
	    "g",   mv == RSM_MOVE_SHIFT ? RSM_TARGET_SHIFT : RSM_TARGET_OFFSET,
	    value, NULL,
	    1,	   &pt};
	struct raft_buffer buf;
	assert_int_equal(rsm_encode_reset(&c, &buf, NULL, 0), 0);
	return rh_apply(s, buf);
}

static const struct rsm_result *reset_all(struct rsm *s, enum rsm_move mv,
					  int64_t value, const uint64_t *min,
					  const uint64_t *max, uint64_t unset)
{
	return reset_all_at(s, mv, value, min, max, unset, -1);
}

static void test_rsm_reset_absolute_clamps_and_records(void **state)
{
	struct rsm *s = *state;
	rh_standard(s);
	assert_int_equal(rh_commit(s, "g", "orders", "broker-1", 0, 30, 0), 0);
	uint64_t min[6] = {10, 0, 5, 5, 40, 0};
	uint64_t max[6] = {50, 0, 25, 100, 60, 20};
	const struct rsm_result *r =
	    reset_all(s, RSM_MOVE_ABSOLUTE, 20, min, max, 0);
	assert_int_equal(r->code, RSM_OK);
	const struct rsm_reset *rs = r->reset;
	assert_int_equal(rs->id, 1);
	assert_int_equal(rs->time, 7000);
	assert_string_equal(rs->requester, "alice");
	assert_int_equal(rs->target, RSM_TARGET_OFFSET);
	assert_int_equal(rs->n, 6);
	/* Expected: 20 clamped into each [min, max]. */
	uint64_t want[6] = {20, 0, 20, 20, 40, 20};
	bool clamped[6] = {false, true, false, false, true, false};
	for (int i = 0; i < 6; i++) {
		assert_string_equal(rs->queues[i].broker, i < 2	  ? "broker-1"
							  : i < 4 ? "broker-2"
								  : "broker-3");
		assert_int_equal(rs->queues[i].queue_id, i % 2);
		assert_int_equal(rs->queues[i].offset, want[i]);
		assert_int_equal(rs->queues[i].clamped, clamped[i]);
		assert_int_equal(rs->queues[i].min_offset, min[i]);
		assert_int_equal(rs->queues[i].max_offset, max[i]);
	}
	assert_int_equal(rs->queues[0].previous, 30);
	assert_int_equal(rs->queues[1].previous, RSM_OFFSET_NONE);
	assert_int_equal(rh_offset(s, "g", "orders", "broker-3", 0), 40);
	assert_int_equal(rsm_reset_count(s), 1);
	uint32_t nrec = 0;
	assert_ptr_equal(rsm_reset_find(s, 1, &nrec), rs);
	assert_int_equal(nrec, 1);
	assert_null(rsm_reset_find(s, 2, &nrec));
	assert_int_equal(nrec, 0);
}

static void test_rsm_reset_shift_uses_current_or_base(void **state)
{
	struct rsm *s = *state;
	rh_standard(s);
	assert_int_equal(rh_commit(s, "g", "orders", "broker-1", 0, 30, 0), 0);
	assert_int_equal(rh_commit(s, "g", "orders", "broker-2", 1, 3, 0), 0);
	uint64_t min[6] = {0, 0, 0, 0, 0, 0};
	uint64_t max[6] = {100, 100, 100, 100, 100, 100};
	/* Queues never committed shift from unset_base (here 50). */
	const struct rsm_result *r =
	    reset_all(s, RSM_MOVE_SHIFT, -10, min, max, 50);
	assert_int_equal(r->code, RSM_OK);
	uint64_t want[6] = {20, 40, 40, 0, 40, 40};
	for (int i = 0; i < 6; i++)
		assert_int_equal(r->reset->queues[i].offset, want[i]);
	assert_true(r->reset->queues[3].clamped); /* 3 - 10 < 0 */
	assert_false(r->reset->queues[0].clamped);
	/* And forward, saturating at max. */
	r = reset_all(s, RSM_MOVE_SHIFT, 70, min, max, 0);
	uint64_t want2[6] = {90, 100, 100, 70, 100, 100};
	for (int i = 0; i < 6; i++)
		assert_int_equal(r->reset->queues[i].offset, want2[i]);
	assert_int_equal(r->reset->epoch, 2);
	assert_int_equal(r->reset->id, 2);
	/* INT64_MIN shift does not overflow. */
	r = reset_all(s, RSM_MOVE_SHIFT, INT64_MIN, min, max, 0);
	for (int i = 0; i < 6; i++) {
		assert_int_equal(r->reset->queues[i].offset, 0);
		assert_true(r->reset->queues[i].clamped);
	}
}

static void test_rsm_reset_is_all_or_nothing(void **state)
{
	struct rsm *s = *state;
	rh_standard(s);
	assert_int_equal(rh_commit(s, "g", "orders", "broker-1", 0, 30, 0), 0);
	uint64_t before = rsm_digest(s);
	struct rsm_reset_move m[2] = {
	    {"broker-1", 0, RSM_MOVE_ABSOLUTE, 1, 0, 10, 0},
	    {"broker-1", 5, RSM_MOVE_ABSOLUTE, 1, 0, 10, 0},
	};
	struct rsm_reset_part pt = {"orders", 2, m, false, 0};
	struct rsm_reset_cmd c = {1, "ops", "g", RSM_TARGET_OFFSET,
				  1, NULL,  1,	 &pt};
	struct raft_buffer buf;
	assert_int_equal(rsm_encode_reset(&c, &buf, NULL, 0), 0);
	const struct rsm_result *r = rh_apply(s, buf);
	assert_int_equal(r->code, RSM_EUNKNOWN_QUEUE);
	assert_string_equal(r->message,
			    "topic 'orders' has no queue broker-1:5");
	assert_null(r->reset);
	/* Nothing moved; only the applied counter changed. */
	assert_int_equal(rh_offset(s, "g", "orders", "broker-1", 0), 30);
	assert_int_equal(rh_epoch(s, "g", "orders"), 0);
	assert_int_equal(rsm_reset_count(s), 0);
	assert_true(rsm_digest(s) != before);
	/* Same queue twice. */
	m[1].queue_id = 0;
	assert_int_equal(rsm_encode_reset(&c, &buf, NULL, 0), 0);
	assert_int_equal(rh_apply(s, buf)->code, RSM_EINVAL);
	/* Unknown group, unknown topic, broadcasting group. */
	pt.n = 1;
	c.group = "typo";
	assert_int_equal(rsm_encode_reset(&c, &buf, NULL, 0), 0);
	r = rh_apply(s, buf);
	assert_int_equal(r->code, RSM_EUNKNOWN_GROUP);
	assert_string_equal(r->message, "group 'typo' does not exist");
	assert_null(rsm_group_find(s, "typo")); /* a typo creates nothing */
	c.group = "g";
	pt.topic = "ordrs";
	assert_int_equal(rsm_encode_reset(&c, &buf, NULL, 0), 0);
	assert_int_equal(rh_apply(s, buf)->code, RSM_EUNKNOWN_TOPIC);
	assert_int_equal(rh_group(s, "bc", RSM_BROADCASTING), RSM_OK);
	c.group = "bc";
	pt.topic = "orders";
	assert_int_equal(rsm_encode_reset(&c, &buf, NULL, 0), 0);
	r = rh_apply(s, buf);
	assert_int_equal(r->code, RSM_EBROADCAST);
	assert_string_equal(r->message,
			    "group 'bc' is broadcasting: its offsets live on "
			    "the clients, so the cluster cannot reset them");
	assert_int_equal(rsm_reset_count(s), 0);
}

static void test_rsm_bad_bytes_are_rejected_not_fatal(void **state)
{
	struct rsm *s = *state;
	rh_standard(s);
	uint64_t applied = rsm_applied(s);
	const struct rsm_result *r;
	const uint8_t cases[][8] = {
	    {0},			 /* version 0 */
	    {1, 0xc1},			 /* never-used msgpack byte */
	    {1, 0x92, 0x09, 0x01},	 /* unknown command type 9 */
	    {1, 0x91, 0x04},		 /* commit without items */
	    {1, 0x93, 0x01, 0x01, 0x01}, /* register: wrong types */
	    {1, 0x92, 0x01},		 /* truncated array */
	    {7, 0x90},			 /* future version */
	};
	const size_t lens[] = {1, 2, 4, 3, 5, 3, 2};
	const int codes[] = {RSM_EVERSION, RSM_EBADCMD, RSM_EBADCMD,
			     RSM_EBADCMD,  RSM_EBADCMD, RSM_EBADCMD,
			     RSM_EVERSION};
	for (size_t i = 0; i < sizeof lens / sizeof *lens; i++) {
		assert_int_equal(rsm_apply(s, cases[i], lens[i], &r), 0);
		assert_int_equal(r->type, 0);
		assert_int_equal(r->code, codes[i]);
	}
	assert_int_equal(rsm_apply(s, "", 0, &r), 0);
	assert_int_equal(r->code, RSM_EBADCMD);
	assert_string_equal(r->message, "empty entry");
	assert_int_equal(rsm_rejected(s), 8);
	assert_int_equal(rsm_applied(s), applied + 8);
	/* The log moves on: a good command right after works. */
	assert_int_equal(rh_commit(s, "g", "orders", "broker-1", 0, 5, 0),
			 RSM_OK);
	/* Every truncation of a valid command is rejected cleanly. */
	struct rsm_commit c = {"g", "orders", "broker-1", 1, 9, 0};
	struct raft_buffer buf;
	assert_int_equal(rsm_encode_commit(&c, 1, &buf, NULL, 0), 0);
	/* The command without its padding: version byte + msgpack. */
	msgpack_unpacked mu;
	msgpack_unpacked_init(&mu);
	size_t mlen = 0;
	assert_int_equal(msgpack_unpack_next(&mu, (const char *)buf.base + 1,
					     buf.len - 1, &mlen),
			 MSGPACK_UNPACK_SUCCESS);
	msgpack_unpacked_destroy(&mu);
	size_t body = 1 + mlen;
	assert_int_equal(buf.len, (body + 7) & ~(size_t)7);
	for (size_t cut = 0; cut < body; cut++) {
		assert_int_equal(rsm_apply(s, buf.base, cut, &r), 0);
		assert_int_equal(r->type, 0);
	}
	/* Encoded commands are padded to 8 bytes (raft_uv reads entries
	 * back as if they were); up to 7 zero bytes are accepted, anything
	 * else after the command is rejected. */
	assert_int_equal(buf.len % 8, 0);
	uint8_t *more = calloc(1, buf.len + 8);
	memcpy(more, buf.base, buf.len);
	assert_int_equal(rsm_apply(s, more, buf.len + 8, &r), 0);
	assert_int_equal(r->code, RSM_EBADCMD); /* 8 more: too many */
	size_t used = body;			/* the first padding byte */
	more[used] = 0x07; /* a non-zero byte in the padding */
	assert_int_equal(rsm_apply(s, more, buf.len, &r), 0);
	assert_int_equal(r->code, RSM_EBADCMD);
	more[used] = 0x00;
	assert_int_equal(rsm_apply(s, more, buf.len, &r), 0);
	assert_int_equal(r->type, RSM_CMD_COMMIT);
	assert_int_equal(r->code, RSM_OK);
	free(more);
	raft_free(buf.base);
	assert_int_equal(rh_offset(s, "g", "orders", "broker-1", 1), 9);
}

static void test_rsm_hostile_container_counts(void **state)
{
	struct rsm *s = *state;
	/* Found by fuzz_command: a map claiming 0xf83d0000 entries made
	 * msgpack-c ask for 256 GiB. Now refused before unpacking. */
	const uint8_t bomb[] = {0x01, 0x97, 0x01, 0xff, 0xff, 0xff, 0xff, 0xdf,
				0xf8, 0x3d, 0x00, 0x00, 0x3a, 0x00, 0x00, 0x00,
				0x00, 0x00, 0xfa, 0x01, 0x30, 0x02};
	const struct rsm_result *r;
	assert_int_equal(rsm_apply(s, bomb, sizeof bomb, &r), 0);
	assert_int_equal(r->code, RSM_EBADCMD);
	assert_string_equal(r->message, "entry is not one msgpack object");
	assert_int_equal(rsm_rejected(s), 1);
	/* The same as a snapshot body: refused, state unchanged. */
	uint64_t d = rsm_digest(s);
	char err[256];
	assert_int_not_equal(rsm_restore(s, bomb, sizeof bomb, err, sizeof err),
			     0);
	assert_int_equal(rsm_digest(s), d);
}

static void test_rsm_snapshot_round_trip(void **state)
{
	struct rsm *s = *state;
	rh_standard(s);
	assert_int_equal(rh_group(s, "bc", RSM_BROADCASTING), 0);
	assert_int_equal(rh_commit(s, "g", "orders", "broker-2", 1, 77, 0), 0);
	uint64_t min[6] = {0}, max[6] = {9, 9, 9, 9, 9, 9};
	reset_all(s, RSM_MOVE_ABSOLUTE, 4, min, max, 0);
	void *snap;
	size_t len;
	assert_int_equal(rsm_snapshot(s, &snap, &len), 0);
	struct rsm *t = rsm_new();
	char err[256];
	assert_int_equal(rsm_restore(t, snap, len, err, sizeof err), 0);
	assert_int_equal(rsm_digest(t), rsm_digest(s));
	assert_int_equal(rsm_applied(t), rsm_applied(s));
	assert_int_equal(rh_offset(t, "g", "orders", "broker-2", 1), 4);
	assert_int_equal(rh_epoch(t, "g", "orders"), 1);
	assert_int_equal(rsm_reset_count(t), 1);
	assert_int_equal(rsm_reset_at(t, 0)->queues[3].previous, 77);
	/* Broker names are kept once per state, not once per queue. */
	const struct rsm_reset_queue *rq = rsm_reset_at(t, 0)->queues;
	assert_string_equal(rq[0].broker, "broker-1");
	assert_ptr_equal(rq[0].broker, rq[1].broker);
	assert_ptr_not_equal(rq[1].broker, rq[2].broker);
	assert_int_equal(rsm_group_find(t, "bc")->mode, RSM_BROADCASTING);
	assert_string_equal(rsm_broker_by_id(t, 2)->listen, "127.0.0.1:9102");
	/* The next reset id continues after a restore. */
	const struct rsm_result *r =
	    reset_all(t, RSM_MOVE_ABSOLUTE, 1, min, max, 0);
	assert_int_equal(r->reset->id, 2);
	assert_ptr_equal(r->reset->queues[0].broker, rq[0].broker);

	/* Damaged snapshots leave the state as it was. */
	uint64_t d = rsm_digest(t);
	uint8_t *bad = malloc(len);
	for (size_t i = 0; i < len; i += 3) {
		memcpy(bad, snap, len);
		bad[i] ^= 0x20;
		int rv = rsm_restore(t, bad, len, err, sizeof err);
		assert_true(rv == RSM_ECORRUPT || rv == RSM_EVERSION);
		assert_int_equal(rsm_digest(t), d);
	}
	for (size_t cut = 0; cut < len; cut += 5)
		assert_int_not_equal(rsm_restore(t, snap, cut, err, sizeof err),
				     0);
	assert_int_equal(rsm_restore(t, snap, 0, err, sizeof err),
			 RSM_ECORRUPT);
	assert_string_equal(err, "restore: empty snapshot");
	free(bad);
	free(snap);
	rsm_free(t);
}

static void test_rsm_history_keeps_the_newest(void **state)
{
	struct rsm *s = *state;
	rh_standard(s);
	uint64_t min[6] = {0}, max[6] = {9, 9, 9, 9, 9, 9};
	for (int i = 0; i < RSM_HISTORY_MAX + 5; i++)
		reset_all(s, RSM_MOVE_ABSOLUTE, i % 10, min, max, 0);
	assert_int_equal(rsm_reset_count(s), RSM_HISTORY_MAX);
	assert_int_equal(rsm_reset_at(s, 0)->id, 6);
	assert_int_equal(rsm_reset_at(s, RSM_HISTORY_MAX - 1)->id,
			 RSM_HISTORY_MAX + 5);
	assert_null(rsm_reset_find(s, 5, NULL));
	assert_non_null(rsm_reset_find(s, 6, NULL));
	assert_int_equal(rh_epoch(s, "g", "orders"), RSM_HISTORY_MAX + 5);
}

/* Resets of a topic of 3 x 16,384 queues: the history keeps the newest
 * that fit RSM_HISTORY_QUEUES_MAX queue records (21 x 49,152), and a
 * restore keeps exactly those. */
static void test_rsm_history_bounded_by_queue_records(void **state)
{
	struct rsm *s = *state;
	rh_standard(s);
	const uint32_t qpb = RSM_MAX_QUEUES_PER_BROKER, n = 3 * qpb;
	const char *b[] = {"broker-1", "broker-2", "broker-3"};
	assert_int_equal(rh_topic(s, "wide", qpb, b, 3), RSM_OK);
	struct rsm_reset_move *m = calloc(n, sizeof *m);
	assert_non_null(m);
	rh_moves(m, (int)n, (int)qpb, RSM_MOVE_ABSOLUTE, 0, NULL, NULL, 0);
	const uint32_t fit = RSM_HISTORY_QUEUES_MAX / n;
	assert_int_equal(fit, 21);
	for (uint32_t i = 0; i < fit + 3; i++) {
		struct rsm_reset_part pt = {"wide", n, m, false, 0};
		struct rsm_reset_cmd c = {7000, "alice", "g", RSM_TARGET_OFFSET,
					  0,	NULL,	 1,   &pt};
		struct raft_buffer buf;
		assert_int_equal(rsm_encode_reset(&c, &buf, NULL, 0), 0);
		assert_int_equal(rh_apply(s, buf)->code, RSM_OK);
	}
	free(m);
	assert_int_equal(rsm_reset_count(s), fit);
	assert_int_equal(rsm_reset_at(s, 0)->id, 4);
	assert_int_equal(rsm_reset_at(s, fit - 1)->id, fit + 3);
	struct rsm *t = rh_restored(s);
	assert_int_equal(rsm_reset_count(t), fit);
	assert_int_equal(rsm_digest(t), rsm_digest(s));
	rsm_free(t);
}

/* One reset over 22 topics of 3 x 16,384 queues, above
 * RSM_HISTORY_QUEUES_MAX on its own: kept whole (the older one goes), and
 * a snapshot restores it whole — record by record, the restore used to
 * forget its first records to make room for its last, so the restored
 * state differed from the leader's. */
static void test_rsm_history_oversize_reset_restores_whole(void **state)
{
	struct rsm *s = *state;
	rh_standard(s);
	uint64_t min[6] = {0}, max[6] = {9, 9, 9, 9, 9, 9};
	reset_all(s, RSM_MOVE_ABSOLUTE, 1, min, max, 0);
	enum { TOPICS = 22 };
	const uint32_t qpb = RSM_MAX_QUEUES_PER_BROKER, n = 3 * qpb;
	assert_true((uint64_t)TOPICS * n > RSM_HISTORY_QUEUES_MAX);
	const char *b[] = {"broker-1", "broker-2", "broker-3"};
	char names[TOPICS][8];
	struct rsm_reset_part pt[TOPICS];
	struct rsm_reset_move *m = calloc(n, sizeof *m);
	assert_non_null(m);
	rh_moves(m, (int)n, (int)qpb, RSM_MOVE_ABSOLUTE, 0, NULL, NULL, 0);
	for (int i = 0; i < TOPICS; i++) {
		snprintf(names[i], sizeof names[i], "w%02d", i);
		assert_int_equal(rh_topic(s, names[i], qpb, b, 3), RSM_OK);
		pt[i] = (struct rsm_reset_part){names[i], n, m, false, 0};
	}
	struct rsm_reset_cmd c = {7000, "alice", "g",	 RSM_TARGET_OFFSET,
				  0,	NULL,	 TOPICS, pt};
	struct raft_buffer buf;
	assert_int_equal(rsm_encode_reset(&c, &buf, NULL, 0), 0);
	assert_int_equal(rh_apply(s, buf)->code, RSM_OK);
	free(m);
	assert_int_equal(rsm_reset_count(s), TOPICS);
	assert_int_equal(rsm_reset_at(s, 0)->id, 2);
	struct rsm *t = rh_restored(s); /* digests equal */
	assert_int_equal(rsm_reset_count(t), TOPICS);
	assert_string_equal(rsm_reset_at(t, 0)->topic, "w00");
	rsm_free(t);
}

static void test_rsm_broker_reregistration(void **state)
{
	struct rsm *s = *state;
	rh_broker(s, 1, "broker-1");
	/* Same id and name with a new address: an update. */
	struct rsm_broker b = {1, "broker-1", "127.0.0.1:7777",
			       "127.0.0.1:8888", false};
	struct raft_buffer buf;
	assert_int_equal(rsm_encode_register_broker(&b, &buf, NULL, 0), 0);
	assert_int_equal(rh_apply(s, buf)->code, RSM_OK);
	assert_string_equal(rsm_broker_by_id(s, 1)->listen, "127.0.0.1:7777");
	/* Another node claiming the name is refused. */
	b.id = 2;
	assert_int_equal(rsm_encode_register_broker(&b, &buf, NULL, 0), 0);
	const struct rsm_result *r = rh_apply(s, buf);
	assert_int_equal(r->code, RSM_EEXISTS);
	assert_string_equal(r->message,
			    "broker name 'broker-1' belongs to node 1");
	assert_int_equal(rsm_broker_count(s), 1);
}

static uint32_t init_offset(struct rsm *s, const char *group,
			    const char *broker, uint32_t q, uint64_t offset,
			    uint64_t epoch)
{
	struct rsm_commit c;
	assert_int_equal(
	    rsm_commit_init(&c, group, "orders", broker, q, offset, epoch), 0);
	struct raft_buffer buf;
	assert_int_equal(rsm_encode_init_offsets(&c, 1, &buf, NULL, 0), 0);
	const struct rsm_result *r = rh_apply(s, buf);
	assert_int_equal(r->type, RSM_CMD_INIT_OFFSETS);
	return (uint32_t)r->code;
}

/* A first read fixes the position of a never-committed queue, and only
 * that: a commit or a reset that got there first wins. */
static void test_rsm_init_offsets_fix_first_positions_only(void **state)
{
	struct rsm *s = *state;
	rh_standard(s);
	assert_int_equal(rh_group(s, "bc", RSM_BROADCASTING), RSM_OK);
	assert_int_equal(init_offset(s, "g", "broker-1", 0, 6, 0), RSM_OK);
	assert_int_equal(rh_offset(s, "g", "orders", "broker-1", 0), 6);
	/* Already set: a second first read changes nothing. */
	assert_int_equal(init_offset(s, "g", "broker-1", 0, 9, 0), RSM_OK);
	assert_int_equal(rh_offset(s, "g", "orders", "broker-1", 0), 6);
	/* A commit wins over a later init. */
	assert_int_equal(rh_commit(s, "g", "orders", "broker-2", 1, 3, 0),
			 RSM_OK);
	assert_int_equal(init_offset(s, "g", "broker-2", 1, 8, 0), RSM_OK);
	assert_int_equal(rh_offset(s, "g", "orders", "broker-2", 1), 3);
	/* An init read before a reset (old epoch) is dropped. */
	assert_int_equal(init_offset(s, "g", "broker-3", 0, 4, 7), RSM_OK);
	assert_int_equal(rh_offset(s, "g", "orders", "broker-3", 0),
			 RSM_OFFSET_NONE);
	/* Broadcasting groups keep their offsets on the clients. */
	assert_int_equal(init_offset(s, "bc", "broker-1", 0, 2, 0), RSM_OK);
	assert_null(rsm_group_topic(rsm_group_find(s, "bc"), "orders"));
	/* Unknown names are skipped, not fatal. */
	assert_int_equal(init_offset(s, "nosuch", "broker-1", 0, 2, 0), RSM_OK);
}

/* Deleting a group drops its offsets, epochs and history, nothing else;
 * a group created again under the name starts from scratch. */
static void test_rsm_delete_group(void **state)
{
	struct rsm *s = *state;
	rh_standard(s);
	assert_int_equal(rh_group(s, "h", RSM_CLUSTERING), RSM_OK);
	assert_int_equal(rh_commit(s, "h", "orders", "broker-1", 0, 4, 0), 0);
	assert_int_equal(rh_commit(s, "g", "orders", "broker-1", 0, 9, 0), 0);
	uint64_t lo[6] = {0}, hi[6] = {50, 50, 50, 50, 50, 50};
	assert_int_equal(reset_all(s, RSM_MOVE_ABSOLUTE, 2, lo, hi, 0)->code,
			 RSM_OK);
	assert_int_equal(rsm_reset_count(s), 1);
	uint64_t digest = rsm_digest(s);

	assert_int_equal(rh_delete(s, rsm_encode_delete_group, "g"), RSM_OK);
	assert_null(rsm_group_find(s, "g"));
	assert_int_equal(rsm_group_count(s), 1);
	assert_int_equal(rsm_reset_count(s), 0);
	assert_int_equal(rh_offset(s, "h", "orders", "broker-1", 0), 4);
	assert_true(rsm_digest(s) != digest);

	struct raft_buffer buf;
	assert_int_equal(rsm_encode_delete_group("g", &buf, NULL, 0), 0);
	const struct rsm_result *r = rh_apply(s, buf);
	assert_int_equal(r->code, RSM_EUNKNOWN_GROUP);
	assert_string_equal(r->message, "group 'g' does not exist");
	char err[256];
	assert_int_equal(
	    rsm_encode_delete_group("bad name", &buf, err, sizeof err),
	    RSM_EINVAL);
	assert_string_equal(
	    err, "bad group name 'bad name': use 1-127 of A-Z a-z 0-9 . _ -");

	/* Created again: nothing committed, epoch 0; reset ids go on. */
	assert_int_equal(rh_group(s, "g", RSM_CLUSTERING), RSM_OK);
	assert_null(rsm_group_topic(rsm_group_find(s, "g"), "orders"));
	assert_int_equal(reset_all(s, RSM_MOVE_ABSOLUTE, 1, lo, hi, 0)->code,
			 RSM_OK);
	assert_int_equal(rh_epoch(s, "g", "orders"), 1);
	assert_int_equal(rsm_reset_at(s, 0)->id, 2);
}

/* --expect-epoch: a reset applies only while the group is still at the
 * epoch its operator saw; otherwise nothing changes. */
static void test_rsm_reset_guard(void **state)
{
	struct rsm *s = *state;
	rh_standard(s);
	uint64_t lo[6] = {0}, hi[6] = {50, 50, 50, 50, 50, 50};
	const struct rsm_result *r =
	    reset_all_at(s, RSM_MOVE_ABSOLUTE, 7, lo, hi, 0, 0);
	assert_int_equal(r->code, RSM_OK);
	assert_int_equal(rh_epoch(s, "g", "orders"), 1);
	r = reset_all_at(s, RSM_MOVE_ABSOLUTE, 9, lo, hi, 0, 0);
	assert_int_equal(r->code, RSM_ESTALE_EPOCH);
	assert_string_equal(r->message,
			    "group 'g' is at epoch 1 on topic 'orders', not 0: "
			    "another reset came first; nothing was changed");
	assert_int_equal(rsm_reset_count(s), 1);
	assert_int_equal(rh_epoch(s, "g", "orders"), 1);
	for (uint32_t q = 0; q < 6; q++)
		assert_int_equal(rh_offset(s, "g", "orders",
					   q < 2   ? "broker-1"
					   : q < 4 ? "broker-2"
						   : "broker-3",
					   q % 2),
				 7);
	r = reset_all_at(s, RSM_MOVE_ABSOLUTE, 9, lo, hi, 0, 1);
	assert_int_equal(r->code, RSM_OK);
	assert_int_equal(rh_epoch(s, "g", "orders"), 2);
	assert_int_equal(rh_offset(s, "g", "orders", "broker-2", 1), 9);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(test_rsm_topic_and_group_creation),
	    T(test_rsm_encoders_validate),
	    T(test_rsm_commit_and_epoch_fence),
	    T(test_rsm_commit_batch_reports_each_item),
	    T(test_rsm_reset_absolute_clamps_and_records),
	    T(test_rsm_reset_shift_uses_current_or_base),
	    T(test_rsm_reset_is_all_or_nothing),
	    T(test_rsm_bad_bytes_are_rejected_not_fatal),
	    T(test_rsm_hostile_container_counts),
	    T(test_rsm_snapshot_round_trip),
	    T(test_rsm_history_keeps_the_newest),
	    T(test_rsm_history_bounded_by_queue_records),
	    T(test_rsm_history_oversize_reset_restores_whole),
	    T(test_rsm_broker_reregistration),
	    T(test_rsm_init_offsets_fix_first_positions_only),
	    T(test_rsm_delete_group),
	    T(test_rsm_reset_guard),
	};
#undef T
	return cmocka_run_group_tests_name("raft/rsm", tests, NULL, NULL);
}
