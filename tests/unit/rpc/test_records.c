/*
 * Records and batch headers (rpc/records.c): exact bytes, exact decoded
 * fields, and every way a peer's bytes can be wrong.
 */
#include "../test_util.h"
#include "rpc.h"

static void test_records_round_trip(void **state)
{
	(void)state;
	uint8_t buf[64];
	assert_int_equal(rpc_record_size(1, true, 2), 4 + 1 + 4 + 2);
	assert_int_equal(rpc_record_size(0, false, 3), 4 + 4 + 3);
	size_t n = rpc_record_put(buf, "k", 1, "hi", 2);
	n += rpc_record_put(buf + n, NULL, 0, "yes", 3);
	assert_int_equal(n, 11 + 11);
	static const uint8_t want[] = {1, 0,   0,   0,	  'k',	2,    0,    0,
				       0, 'h', 'i', 0xff, 0xff, 0xff, 0xff, 3,
				       0, 0,   0,   'y',  'e',	's'};
	assert_memory_equal(buf, want, sizeof want);
	size_t pos = 0;
	struct rpc_record r;
	assert_int_equal(rpc_record_next(buf, n, &pos, &r), 1);
	assert_int_equal(r.key_len, 1);
	assert_memory_equal(r.key, "k", 1);
	assert_int_equal(r.body_len, 2);
	assert_memory_equal(r.body, "hi", 2);
	assert_int_equal(rpc_record_next(buf, n, &pos, &r), 1);
	assert_null(r.key);
	assert_int_equal(r.body_len, 3);
	assert_int_equal(rpc_record_next(buf, n, &pos, &r), 0);
	/* Cut anywhere inside the second record: malformed. */
	for (size_t cut = 12; cut < n; cut++) {
		pos = 11;
		assert_int_equal(rpc_record_next(buf, cut, &pos, &r),
				 RPC_EMALFORMED);
	}
}

/* A batch as docs/disk-format.md lays it out, payload @p of @plen. */
static size_t batch(uint8_t *out, uint8_t flags, uint64_t base, uint32_t count,
		    int64_t t, const void *p, uint32_t plen)
{
	memset(out, 0, RPC_BATCH_HEADER);
	memcpy(out, "RQBT", 4);
	out[8] = 1;
	out[9] = flags;
	for (int i = 0; i < 4; i++) {
		out[12 + i] = (uint8_t)(plen >> (8 * i));
		out[24 + i] = (uint8_t)(count >> (8 * i));
	}
	for (int i = 0; i < 8; i++) {
		out[16 + i] = (uint8_t)(base >> (8 * i));
		out[32 + i] = (uint8_t)((uint64_t)t >> (8 * i));
	}
	memcpy(out + RPC_BATCH_HEADER, p, plen);
	return RPC_BATCH_HEADER + plen;
}

static void test_records_batch_headers(void **state)
{
	(void)state;
	uint8_t buf[256];
	size_t n = batch(buf, 0, 1234567890123ull, 2, 1795330926990, "abcd", 4);
	n += batch(buf + n, RPC_BATCH_LZ4, 7, 1, -5, "z", 1);
	size_t pos = 0;
	struct rpc_batch b;
	assert_int_equal(rpc_batch_next(buf, n, &pos, &b), 1);
	assert_int_equal(b.base_offset, 1234567890123ull);
	assert_int_equal(b.count, 2);
	assert_int_equal(b.store_time, 1795330926990);
	assert_int_equal(b.flags, 0);
	assert_int_equal(b.payload_len, 4);
	assert_ptr_equal(b.payload, buf + RPC_BATCH_HEADER);
	assert_int_equal(pos, 44);
	assert_int_equal(rpc_batch_next(buf, n, &pos, &b), 1);
	assert_int_equal(b.base_offset, 7);
	assert_int_equal(b.store_time, -5);
	assert_int_equal(b.flags, RPC_BATCH_LZ4);
	assert_int_equal(rpc_batch_next(buf, n, &pos, &b), 0);

	/* A payload past the end, a short header, bad magic, unknown flag. */
	for (size_t cut = 1; cut < 44; cut++) {
		pos = 0;
		assert_int_equal(rpc_batch_next(buf, cut, &pos, &b),
				 RPC_EMALFORMED);
		assert_int_equal(pos, 0);
	}
	buf[0] = 'X';
	pos = 0;
	assert_int_equal(rpc_batch_next(buf, n, &pos, &b), RPC_EMALFORMED);
	buf[0] = 'R';
	buf[9] = 8; /* no such flag */
	assert_int_equal(rpc_batch_next(buf, n, &pos, &b), RPC_EMALFORMED);
	buf[9] = RPC_BATCH_SCHEDULED; /* handed over from a schedule store */
	assert_int_equal(rpc_batch_next(buf, n, &pos, &b), 1);
	assert_int_equal(b.flags, RPC_BATCH_SCHEDULED);
	pos = 0;
	buf[9] = RPC_BATCH_ENVELOPE; /* a retry or a dead letter */
	assert_int_equal(rpc_batch_next(buf, n, &pos, &b), 1);
	assert_int_equal(b.flags, RPC_BATCH_ENVELOPE);
}

static void test_envelope_round_trip(void **state)
{
	(void)state;
	struct rpc_envelope e = {"orders",	"broker-2",	 3, 4242, 2,
				 1700000000123, "handler failed"};
	uint8_t buf[512];
	size_t n = rpc_envelope_put(buf, &e);
	/* 4 + 25 fixed, then three u16-prefixed strings. */
	assert_int_equal(n, 4 + 25 + 2 + 6 + 2 + 8 + 2 + 14);
	assert_int_equal(n, rpc_envelope_size(&e));
	assert_int_equal(buf[0], n - 4);
	assert_int_equal(buf[4], 1);
	struct rpc_envelope d;
	size_t used;
	assert_int_equal(rpc_envelope_get(buf, n, &d, &used), 0);
	assert_int_equal(used, n);
	assert_string_equal(d.topic, "orders");
	assert_string_equal(d.broker_name, "broker-2");
	assert_int_equal(d.queue_id, 3);
	assert_int_equal(d.offset, 4242);
	assert_int_equal(d.reconsume_times, 2);
	assert_int_equal(d.first_failure_ms, 1700000000123);
	assert_string_equal(d.reason, "handler failed");
	/* Every cut is refused; so are a bad version and a NUL in a name. */
	for (size_t cut = 0; cut < n; cut++)
		assert_int_equal(rpc_envelope_get(buf, cut, &d, &used),
				 RPC_EMALFORMED);
	buf[4] = 2;
	assert_int_equal(rpc_envelope_get(buf, n, &d, &used), RPC_EMALFORMED);
	buf[4] = 1;
	buf[4 + 25 + 2] = '\0';
	assert_int_equal(rpc_envelope_get(buf, n, &d, &used), RPC_EMALFORMED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_records_round_trip),
	    cmocka_unit_test(test_records_batch_headers),
	    cmocka_unit_test(test_envelope_round_trip),
	};
	return cmocka_run_group_tests_name("rpc/records", tests, NULL, NULL);
}
