/*
 * cmd_consume.c — raftqctl consume: reads a topic for a group from its
 * committed offsets (the initial rule applies to queues it never read),
 * prints each message, and commits what it read under the epoch it read.
 * A reset meanwhile (OFFSET_MOVED) moves the read position to the reset's
 * offset.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../util/lz4_frame.h"
#include "cli.h"

#define POLL_US 100000
#define FETCH_BYTES (1u << 20)

static const char usage[] =
    "consume --group G --topic T [--count N] [--timeout MS]";

struct cursor {
	char broker[128];
	uint32_t q;
	uint64_t at, committed;
};

struct consuming {
	const struct ctl_opts *o;
	const char *group, *topic;
	struct ctl_route ro;
	struct cursor *cur;
	uint32_t nq;
	uint64_t epoch;
	int64_t got, want;
};

/* The group's committed offsets of the topic: where reading starts. */
static int load_offsets(struct consuming *c)
{
	struct rpc_offsets_req oq = {c->group, c->topic};
	struct ctl_resp o;
	ctl_call(c->o->bootstrap, RPC_OFFSETS, &oq, c->o->timeout_ms, &o);
	int rv = ctl_check(c->o, &o);
	if (rv == 0) {
		const struct rpc_offsets_resp *os = o.body;
		const struct rpc_offset_info *oi = os->queues.v;
		c->nq = os->queues.n;
		c->epoch = os->epoch;
		c->cur = calloc(c->nq ? c->nq : 1, sizeof *c->cur);
		for (uint32_t i = 0; c->cur != NULL && i < c->nq; i++) {
			snprintf(c->cur[i].broker, sizeof c->cur[i].broker,
				 "%s", oi[i].broker_name);
			c->cur[i].q = oi[i].queue_id;
			c->cur[i].at = c->cur[i].committed = oi[i].offset;
		}
		if (c->cur == NULL) {
			fprintf(stderr, "error: INTERNAL: out of memory\n");
			rv = 1;
		}
	}
	ctl_resp_free(&o);
	return rv;
}

/* Prints the records of one batch from the cursor on; 0 or 1 (a bad lz4
 * payload). Sets *any when something was printed. */
static int print_batch(struct consuming *c, struct cursor *cu,
		       const struct rpc_batch *bt, bool *any)
{
	const uint8_t *pl = bt->payload;
	size_t plen = bt->payload_len, rp = 0;
	uint8_t *plain = NULL;
	if (bt->flags & RPC_BATCH_LZ4) {
		plain = lzf_decode(pl, plen, &plen);
		if (plain == NULL) {
			fprintf(stderr,
				"error: MALFORMED: %s queue %u: a bad lz4 "
				"batch at offset %llu\n",
				cu->broker, cu->q,
				(unsigned long long)bt->base_offset);
			return 1;
		}
		pl = plain;
	}
	struct rpc_record rec;
	uint64_t off = bt->base_offset;
	while (c->got < c->want && rpc_record_next(pl, plen, &rp, &rec) == 1) {
		if (off >= cu->at) {
			ctl_print_message(c->o, cu->broker, cu->q, off,
					  bt->store_time, &rec);
			c->got++;
			cu->at = off + 1;
			*any = true;
		}
		off++;
	}
	free(plain);
	return 0;
}

/* One FETCH of queue @cu; 0, or 1 after printing an error. */
static int fetch_queue(struct consuming *c, struct cursor *cu, bool *any)
{
	const char *addr = ctl_route_addr(&c->ro, cu->broker);
	if (addr == NULL)
		return 0;
	struct rpc_fetch_req fr = {c->group, c->topic, cu->q,
				   cu->at,   c->epoch, FETCH_BYTES};
	struct ctl_resp r;
	ctl_call_one(addr, RPC_FETCH, &fr, c->o->timeout_ms, &r);
	int rv = 0;
	if (r.err == 0 && r.st.code == RPC_OFFSET_MOVED) {
		/* Reset meanwhile: resume where it says. */
		const struct rpc_fetch_resp *x = r.body;
		cu->at = cu->committed = x->offset;
		c->epoch = x->epoch;
	} else if ((rv = ctl_check(c->o, &r)) == 0) {
		const struct rpc_fetch_resp *x = r.body;
		size_t bp = 0;
		struct rpc_batch bt;
		while (rv == 0 && c->got < c->want &&
		       rpc_batch_next(x->batches.ptr, x->batches.len, &bp,
				      &bt) == 1)
			rv = print_batch(c, cu, &bt, any);
	}
	ctl_resp_free(&r);
	return rv;
}

/* Fetches round the queues until --count messages or --timeout idle. */
static int consume_loop(struct consuming *c, int64_t wait_ms)
{
	int64_t deadline = ctl_now_ms() + wait_ms;
	int rv = 0;
	while (c->got < c->want && rv == 0) {
		bool any = false;
		for (uint32_t i = 0; i < c->nq && c->got < c->want && rv == 0;
		     i++)
			rv = fetch_queue(c, &c->cur[i], &any);
		if (any || rv != 0)
			continue;
		if (ctl_now_ms() >= deadline)
			break;
		usleep(POLL_US); /* bounded by --timeout */
	}
	return rv;
}

/* Commits what was consumed, under the epoch read. */
static int commit_read(struct consuming *c)
{
	struct rpc_commit_item *items =
	    calloc(c->nq ? c->nq : 1, sizeof *items);
	uint32_t ni = 0;
	int rv = 0;
	if (items == NULL) {
		fprintf(stderr, "error: INTERNAL: out of memory\n");
		return 1;
	}
	for (uint32_t i = 0; i < c->nq; i++)
		if (c->cur[i].at != c->cur[i].committed)
			items[ni++] = (struct rpc_commit_item){
			    c->topic, c->cur[i].broker, c->cur[i].q,
			    c->cur[i].at, c->epoch};
	if (ni > 0) {
		struct rpc_commit_req in = {c->group, "raftqctl", {items, ni}};
		rv = ctl_request(c->o, RPC_COMMIT, &in, NULL);
	}
	free(items);
	return rv;
}

static int run(const struct ctl_opts *o, int argc, char **argv)
{
	struct ctl_flag f[] = {CTL_VALUE("--group"), CTL_VALUE("--topic"),
			       CTL_VALUE("--count"), CTL_VALUE("--timeout")};
	int npos,
	    rv = ctl_parse_flags(argc, argv, 2, f, 4, NULL, 0, &npos, usage);
	if (rv != 0)
		return rv;
	struct consuming c = {.o = o,
			      .group = ctl_flag(f, 4, "--group"),
			      .topic = ctl_flag(f, 4, "--topic"),
			      .want = INT64_MAX};
	int64_t wait_ms = 3000;
	if (c.group == NULL || c.topic == NULL)
		return ctl_usage_error(usage,
				       "--group and --topic are required");
	if (ctl_flag_int(f, 4, "--count", 1, INT64_MAX, &c.want) != 0)
		return ctl_usage_error(usage, "--count must be >= 1");
	if (ctl_flag_int(f, 4, "--timeout", 0, INT64_MAX, &wait_ms) != 0)
		return ctl_usage_error(usage, "--timeout takes milliseconds");
	rv = ctl_route_load(o, &c.ro, c.topic);
	if (rv == 0)
		rv = load_offsets(&c);
	if (rv == 0)
		rv = consume_loop(&c, wait_ms);
	if (rv == 0)
		rv = commit_read(&c);
	if (!o->json && rv == 0) {
		fflush(stdout); /* the messages first */
		fprintf(stderr, "consumed %lld messages\n", (long long)c.got);
	}
	free(c.cur);
	ctl_route_free(&c.ro);
	return rv;
}

const struct ctl_noun ctl_consume = {"consume", usage, run};
