/* Batch codec, CRC32C, error names, config checks. */
#include "storage_helpers.h"

static void test_crc32c_known_vectors(void **state)
{
	(void)state;
	/* RFC 3720 B.4 and the common "123456789" check value. */
	assert_int_equal(stor_crc32c(0, "123456789", 9), 0xE3069283u);
	uint8_t zeros[32] = {0}, ones[32];
	memset(ones, 0xff, sizeof ones);
	assert_int_equal(stor_crc32c(0, zeros, 32), 0x8A9136AAu);
	assert_int_equal(stor_crc32c(0, ones, 32), 0x62A8AB43u);
	uint8_t inc[32];
	for (int i = 0; i < 32; i++)
		inc[i] = (uint8_t)i;
	assert_int_equal(stor_crc32c(0, inc, 32), 0x46DD794Eu);
	assert_int_equal(stor_crc32c(0, "", 0), 0u);
}

static void test_crc32c_chained_equals_whole(void **state)
{
	(void)state;
	uint8_t buf[1000];
	for (int i = 0; i < 1000; i++)
		buf[i] = (uint8_t)(i * 17 + 3);
	uint32_t whole = stor_crc32c(0, buf, sizeof buf);
	for (size_t cut = 0; cut <= sizeof buf; cut += 37) {
		uint32_t c = stor_crc32c(0, buf, cut);
		assert_int_equal(stor_crc32c(c, buf + cut, sizeof buf - cut),
				 whole);
	}
}

static void test_batch_next_walks_read_buffer(void **state)
{
	(void)state;
	char *dir = tu_mkdtemp();
	struct stor_config cfg;
	sh_small_config(&cfg);
	struct stor_queue *q = sh_open(dir, &cfg, NULL);
	const char *bodies[] = {"alpha", "", "gamma-gamma"};
	uint32_t counts[] = {3, 1, 7};
	for (int i = 0; i < 3; i++) {
		struct stor_batch_in in = {
		    bodies[i], (uint32_t)strlen(bodies[i]),
		    counts[i], i == 2 ? STOR_BATCH_LZ4 : 0,
		    1000 + i,  0};
		assert_int_equal(stor_queue_append(q, &in, NULL, NULL), 0);
	}
	uint8_t buf[4096];
	size_t len;
	assert_int_equal(stor_queue_read(q, 0, buf, sizeof buf, &len), 0);
	assert_int_equal(len, 3 * STOR_BATCH_HEADER_SIZE + 5 + 0 + 11);
	size_t pos = 0;
	struct stor_batch b;
	uint64_t want_base[] = {0, 3, 4};
	for (int i = 0; i < 3; i++) {
		assert_int_equal(stor_batch_next(buf, len, &pos, &b), 1);
		assert_int_equal(b.base_offset, want_base[i]);
		assert_int_equal(b.count, counts[i]);
		assert_int_equal(b.flags, i == 2 ? STOR_BATCH_LZ4 : 0);
		assert_int_equal(b.store_time_ms, 1000 + i);
		assert_int_equal(b.payload_len, strlen(bodies[i]));
		assert_memory_equal(b.payload, bodies[i], b.payload_len);
	}
	assert_int_equal(stor_batch_next(buf, len, &pos, &b), 0);

	/* Every single-bit flip anywhere in the first batch is caught. */
	size_t first = STOR_BATCH_HEADER_SIZE + 5;
	for (size_t at = 0; at < first; at++) {
		for (int bit = 0; bit < 8; bit++) {
			buf[at] ^= (uint8_t)(1u << bit);
			pos = 0;
			assert_int_equal(stor_batch_next(buf, len, &pos, &b),
					 STOR_ECORRUPT);
			assert_int_equal(pos, 0);
			buf[at] ^= (uint8_t)(1u << bit);
		}
	}
	/* A buffer cut inside a batch is corrupt, not a short success. */
	pos = 0;
	assert_int_equal(stor_batch_next(buf, first - 1, &pos, &b),
			 STOR_ECORRUPT);
	pos = 0;
	assert_int_equal(stor_batch_next(buf, 10, &pos, &b), STOR_ECORRUPT);
	sh_close(q);
	tu_rmrf(dir);
	free(dir);
}

static void test_error_names(void **state)
{
	(void)state;
	assert_string_equal(stor_errname(STOR_ENOSPC), "STOR_ENOSPC");
	assert_string_equal(stor_strerror(STOR_ENOSPC),
			    "no space left on device");
	assert_string_equal(stor_errname(STOR_ECORRUPT), "STOR_ECORRUPT");
	assert_string_equal(stor_errname(12345), "STOR_UNKNOWN");
	assert_string_equal(stor_strerror(-999), "unknown error");
	assert_string_equal(stor_strerror(0), "ok");
}

static void test_flush_parse(void **state)
{
	(void)state;
	enum stor_flush f;
	assert_int_equal(stor_flush_parse("sync", &f), 0);
	assert_int_equal(f, STOR_FLUSH_SYNC);
	assert_int_equal(stor_flush_parse("interval", &f), 0);
	assert_int_equal(f, STOR_FLUSH_INTERVAL);
	assert_int_equal(stor_flush_parse("os", &f), 0);
	assert_int_equal(f, STOR_FLUSH_OS);
	assert_int_equal(stor_flush_parse("Sync", &f), STOR_EINVAL);
	assert_int_equal(stor_flush_parse("", &f), STOR_EINVAL);
	assert_int_equal(stor_flush_parse(NULL, &f), STOR_EINVAL);
	assert_string_equal(stor_flush_name(STOR_FLUSH_INTERVAL), "interval");
}

static void test_config_check_names_field(void **state)
{
	(void)state;
	struct stor_config c;
	char err[256];
	stor_config_default(&c);
	assert_int_equal(stor_config_check(&c, err, sizeof err), 0);
	assert_int_equal(c.segment_bytes, 128u << 20);
	assert_int_equal(c.index_interval_bytes, 4096);
	assert_int_equal(c.flush, STOR_FLUSH_SYNC);
	assert_int_equal(c.retention_ms, 72LL * 3600 * 1000);

	c.segment_bytes = 1000;
	assert_int_equal(stor_config_check(&c, err, sizeof err), STOR_EINVAL);
	assert_string_equal(
	    err, "storage config: segment_bytes must be 64 KiB .. 1 GiB");
	stor_config_default(&c);
	c.max_batch_bytes = (uint32_t)(c.segment_bytes / 2 + 1);
	assert_int_equal(stor_config_check(&c, err, sizeof err), STOR_EINVAL);
	assert_string_equal(
	    err,
	    "storage config: max_batch_bytes must be 1 .. segment_bytes/2");
	stor_config_default(&c);
	c.index_interval_bytes = 100;
	assert_int_equal(stor_config_check(&c, err, sizeof err), STOR_EINVAL);
	stor_config_default(&c);
	c.retention_ms = -1;
	assert_int_equal(stor_config_check(&c, err, sizeof err), STOR_EINVAL);
	assert_string_equal(err, "storage config: retention_ms must be >= 0");

	/* open refuses a bad config with the same message. */
	stor_config_default(&c);
	c.flush_interval_ms = 0;
	struct stor_queue *q = NULL;
	assert_int_equal(stor_queue_open("/nonexistent/x", "t/0", &c, NULL, &q,
					 err, sizeof err),
			 STOR_EINVAL);
	assert_null(q);
	assert_string_equal(
	    err, "storage config: flush_interval_ms must be 1 .. 3600000");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_crc32c_known_vectors),
	    cmocka_unit_test(test_crc32c_chained_equals_whole),
	    cmocka_unit_test(test_batch_next_walks_read_buffer),
	    cmocka_unit_test(test_error_names),
	    cmocka_unit_test(test_flush_parse),
	    cmocka_unit_test(test_config_check_names_field),
	};
	return cmocka_run_group_tests_name("storage/batch", tests, NULL, NULL);
}
