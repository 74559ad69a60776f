/*
 * batch.c — the record-batch header (docs/disk-format.md, "Batch") and the
 * CRC32C that guards it. Storage never parses a batch's payload.
 *
 * CRC32C comes from Intel ISA-L (Debian libisal-dev), which picks the
 * SSE4.2/PCLMUL code path at run time.
 */
#include <limits.h>
#include <string.h>

#include <isa-l/crc.h>

#include "storage_int.h"

_Static_assert(STOR_BATCH_HEADER_SIZE == 40, "batch header is 40 bytes");

uint32_t stor_crc32c(uint32_t crc, const void *data, size_t len)
{
	/* ISA-L works on the inverted register and takes an int length. */
	unsigned int reg = ~crc;
	unsigned char *p = (unsigned char *)(uintptr_t)data;
	while (len > 0) {
		int n = len > (size_t)INT_MAX ? INT_MAX : (int)len;
		reg = crc32_iscsi(p, n, reg);
		p += n;
		len -= (size_t)n;
	}
	return ~reg;
}

uint32_t stor__bhdr_crc(const uint8_t *hdr, const void *payload,
			size_t payload_len)
{
	uint32_t crc = stor_crc32c(0, hdr + 8, STOR_BATCH_HEADER_SIZE - 8);
	return stor_crc32c(crc, payload, payload_len);
}

void stor__bhdr_encode(uint8_t *out, const struct stor__bhdr *h,
		       const void *payload)
{
	stor__put_u32(out + 0, STOR__BATCH_MAGIC);
	out[8] = STOR__BATCH_VERSION;
	out[9] = h->flags;
	stor__put_u16(out + 10, (uint16_t)(h->sched_id >> 32));
	stor__put_u32(out + 12, h->payload_len);
	stor__put_u64(out + 16, h->base_offset);
	stor__put_u32(out + 24, h->count);
	stor__put_u32(out + 28, (uint32_t)h->sched_id);
	stor__put_u64(out + 32, (uint64_t)h->store_time);
	stor__put_u32(out + 4, stor__bhdr_crc(out, payload, h->payload_len));
}

int stor__bhdr_decode(const uint8_t *in, uint32_t max_payload,
		      struct stor__bhdr *h, const char **why)
{
	if (stor__get_u32(in) != STOR__BATCH_MAGIC) {
		*why = "bad batch magic";
		return STOR_ECORRUPT;
	}
	h->crc = stor__get_u32(in + 4);
	h->version = in[8];
	h->flags = in[9];
	h->payload_len = stor__get_u32(in + 12);
	h->base_offset = stor__get_u64(in + 16);
	h->count = stor__get_u32(in + 24);
	h->store_time = (int64_t)stor__get_u64(in + 32);
	h->sched_id =
	    (uint64_t)stor__get_u16(in + 10) << 32 | stor__get_u32(in + 28);
	if (h->version != STOR__BATCH_VERSION) {
		*why = "unknown batch version";
		return STOR_ECORRUPT;
	}
	if ((h->flags & ~STOR_BATCH_FLAGS_KNOWN) != 0 ||
	    (h->sched_id != 0) != ((h->flags & STOR_BATCH_SCHEDULED) != 0)) {
		*why = "reserved batch bits set";
		return STOR_ECORRUPT;
	}
	if (h->count == 0 || h->count > STOR_MAX_BATCH_RECORDS) {
		*why = "bad record count";
		return STOR_ECORRUPT;
	}
	if (h->payload_len > max_payload) {
		*why = "batch length too large";
		return STOR_ECORRUPT;
	}
	if (h->base_offset > (uint64_t)STOR_MAX_OFFSET - h->count) {
		*why = "bad base offset";
		return STOR_ECORRUPT;
	}
	return 0;
}

int stor_batch_next(const void *buf, size_t len, size_t *pos,
		    struct stor_batch *out)
{
	const uint8_t *p = (const uint8_t *)buf;
	if (*pos == len)
		return 0;
	if (*pos > len || len - *pos < STOR_BATCH_HEADER_SIZE)
		return STOR_ECORRUPT;
	struct stor__bhdr h;
	const char *why;
	if (stor__bhdr_decode(p + *pos, UINT32_MAX, &h, &why) != 0)
		return STOR_ECORRUPT;
	if (len - *pos - STOR_BATCH_HEADER_SIZE < h.payload_len)
		return STOR_ECORRUPT;
	const uint8_t *payload = p + *pos + STOR_BATCH_HEADER_SIZE;
	if (stor__bhdr_crc(p + *pos, payload, h.payload_len) != h.crc)
		return STOR_ECORRUPT;
	out->base_offset = h.base_offset;
	out->count = h.count;
	out->flags = h.flags;
	out->sched_id = h.sched_id;
	out->store_time_ms = h.store_time;
	out->payload = payload;
	out->payload_len = h.payload_len;
	*pos += STOR_BATCH_HEADER_SIZE + h.payload_len;
	return 1;
}
