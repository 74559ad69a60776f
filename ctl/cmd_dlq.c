/*
 * cmd_dlq.c — raftqctl dlq list | resend | purge (DESIGN.md §2.2): a
 * group's dead letters, in its topic %DLQ%G (one queue per broker). The
 * group's offsets on that topic mark what was handled: `list` shows the
 * messages from there on; `resend` produces them back to the queue they
 * came from and then moves the group past them (one reset of %DLQ%G,
 * guarded by the epoch it read); `purge` moves the group to the end.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define FETCH_BYTES (1u << 20)
#define MAX_QUEUES 255
#define NAME_BUF 128

static const char usage[] = "dlq list --group G\n"
			    "       raftqctl dlq resend --group G [--id "
			    "BROKER:OFFSET]\n"
			    "       raftqctl dlq purge --group G";

/* One dead letter: its place in %DLQ%G, when it went there, its
 * envelope, its record (copied). */
struct dead {
	char broker[NAME_BUF];
	uint64_t offset;
	int64_t time;
	struct rpc_envelope env;
	uint8_t *key; /* NULL: none */
	uint32_t key_len;
	uint8_t *body;
	uint32_t body_len;
};

struct dlq {
	const struct ctl_opts *o;
	const char *group;
	char topic[NAME_BUF + 8];
	struct ctl_resp route;
	uint64_t epoch;
	uint32_t nq;
	char brokers[MAX_QUEUES][NAME_BUF];
	uint64_t end[MAX_QUEUES]; /* each queue's max offset when read */
	struct dead *v;
	size_t n;
};

static void dlq_free(struct dlq *x)
{
	for (size_t i = 0; i < x->n; i++) {
		free(x->v[i].key);
		free(x->v[i].body);
	}
	free(x->v);
	ctl_resp_free(&x->route);
}

/* The client address of broker @name (from ROUTE), or NULL. */
static const char *address_of(const struct dlq *x, const char *name)
{
	const struct rpc_route_resp *r = x->route.body;
	const struct rpc_broker_info *b = r->brokers.v;
	for (uint32_t i = 0; i < r->brokers.n; i++)
		if (strcmp(b[i].name, name) == 0)
			return b[i].listen;
	return NULL;
}

/* The broker leading queue (@topic, @home, @qid) by the route (its home
 * when the route names no leaders), or NULL when it is offline. */
static const char *leader_of(const struct dlq *x, const char *topic,
			     const char *home, uint32_t qid)
{
	const struct rpc_route_resp *r = x->route.body;
	const struct rpc_topic_info *t = r->topics.v;
	for (uint32_t i = 0; i < r->topics.n; i++) {
		if (strcmp(t[i].name, topic) != 0 || t[i].leaders.n == 0)
			continue;
		for (uint32_t b = 0; b < t[i].brokers.n; b++) {
			uint32_t qi = b * t[i].queues_per_broker + qid;
			if (strcmp(t[i].brokers.v[b], home) == 0 &&
			    qid < t[i].queues_per_broker && qi < t[i].leaders.n)
				return t[i].leaders.v[qi][0]
					   ? t[i].leaders.v[qi]
					   : NULL;
		}
	}
	return home;
}

static uint8_t *dup_bytes(const void *p, size_t n)
{
	uint8_t *d = malloc(n ? n : 1);
	if (d != NULL)
		memcpy(d, p, n);
	return d;
}

/* Adds the dead letter of batch @b (one record after its envelope) read
 * from @broker: 0, or 1 after printing why it cannot be read. */
static int add_dead(struct dlq *x, const char *broker,
		    const struct rpc_batch *b)
{
	struct dead d = {.offset = b->base_offset, .time = b->store_time};
	struct rpc_record rec;
	size_t used, at;
	if (!(b->flags & RPC_BATCH_ENVELOPE) || (b->flags & RPC_BATCH_LZ4) ||
	    b->count != 1 ||
	    rpc_envelope_get(b->payload, b->payload_len, &d.env, &used) != 0 ||
	    (at = used,
	     rpc_record_next(b->payload, b->payload_len, &at, &rec)) != 1) {
		fprintf(stderr,
			"error: %s: %s:%llu is not a dead letter raftq wrote\n",
			x->topic, broker, (unsigned long long)b->base_offset);
		return 1;
	}
	snprintf(d.broker, sizeof d.broker, "%s", broker);
	d.key = rec.key ? dup_bytes(rec.key, rec.key_len) : NULL;
	d.key_len = rec.key_len;
	d.body = dup_bytes(rec.body, rec.body_len);
	d.body_len = rec.body_len;
	struct dead *v = realloc(x->v, (x->n + 1) * sizeof *v);
	if (v == NULL || d.body == NULL || (rec.key && d.key == NULL)) {
		free(d.key);
		free(d.body);
		if (v != NULL)
			x->v = v;
		fprintf(stderr, "error: out of memory\n");
		return 1;
	}
	x->v = v;
	x->v[x->n++] = d;
	return 0;
}

/* Reads queue @i of %DLQ%G on its broker from @from to its end: 0 or 1. */
static int read_queue(struct dlq *x, uint32_t i, uint64_t from)
{
	const char *addr = address_of(x, x->brokers[i]);
	if (addr == NULL) {
		fprintf(stderr, "error: broker %s has no known address\n",
			x->brokers[i]);
		return 1;
	}
	for (uint64_t at = from;;) {
		struct rpc_fetch_req in = {x->group, x->topic, 0,
					   at,	     x->epoch, FETCH_BYTES,
					   0,	     NULL,     x->brokers[i]};
		struct ctl_resp r;
		ctl_call_one(addr, RPC_FETCH, &in, x->o->timeout_ms, &r);
		int rv = ctl_check(x->o, &r);
		const struct rpc_fetch_resp *f = r.body;
		size_t pos = 0;
		struct rpc_batch b;
		uint64_t next = at;
		while (rv == 0 && rpc_batch_next(f->batches.ptr, f->batches.len,
						 &pos, &b) == 1)
			if (b.base_offset >= at &&
			    (rv = add_dead(x, x->brokers[i], &b)) == 0)
				next = b.base_offset + b.count;
		x->end[i] = rv == 0 ? f->max_offset : 0;
		ctl_resp_free(&r);
		if (rv != 0 || next >= x->end[i] || next == at)
			return rv;
		at = next;
	}
}

/* Route, the group's positions on %DLQ%G, then every queue: 0 or 1. */
static int dlq_read(struct dlq *x)
{
	snprintf(x->topic, sizeof x->topic, "%%DLQ%%%s", x->group);
	ctl_call(x->o->bootstrap, RPC_ROUTE, NULL, x->o->timeout_ms, &x->route);
	if (ctl_check(x->o, &x->route) != 0)
		return 1;
	struct rpc_offsets_req q = {x->group, x->topic};
	struct ctl_resp r;
	ctl_call(x->o->bootstrap, RPC_OFFSETS, &q, x->o->timeout_ms, &r);
	int rv = ctl_check(x->o, &r);
	const struct rpc_offsets_resp *p = r.body;
	const struct rpc_offset_info *qi = rv == 0 ? p->queues.v : NULL;
	x->epoch = rv == 0 ? p->epoch : 0;
	x->nq = rv == 0 && p->queues.n <= MAX_QUEUES ? p->queues.n : 0;
	for (uint32_t i = 0; rv == 0 && i < x->nq; i++) {
		snprintf(x->brokers[i], sizeof x->brokers[i], "%s",
			 qi[i].broker_name);
		rv = read_queue(x, i, qi[i].offset);
	}
	ctl_resp_free(&r);
	return rv;
}

static json_t *text_or_binary(const uint8_t *p, size_t n)
{
	json_t *v = json_stringn((const char *)p, n);
	return v ? v : json_string("(binary)");
}

static json_t *dead_json(const struct dead *d)
{
	char id[NAME_BUF + 24];
	snprintf(id, sizeof id, "%s:%llu", d->broker,
		 (unsigned long long)d->offset);
	const struct rpc_envelope *e = &d->env;
	return json_pack("{s:s,s:{s:s,s:s,s:I,s:I},s:I,s:s,s:I,s:I,s:o,s:o}",
			 "id", id, "origin", "topic", e->topic, "broker_name",
			 e->broker_name, "queue_id", (json_int_t)e->queue_id,
			 "offset", (json_int_t)e->offset, "reconsume_times",
			 (json_int_t)e->reconsume_times, "reason", e->reason,
			 "time", (json_int_t)d->time, "first_failure",
			 (json_int_t)e->first_failure_ms, "key",
			 d->key ? text_or_binary(d->key, d->key_len)
				: json_null(),
			 "body", text_or_binary(d->body, d->body_len));
}

static void print_list(const struct dlq *x)
{
	if (x->o->json) {
		json_t *a = json_array();
		for (size_t i = 0; i < x->n; i++)
			json_array_append_new(a, dead_json(&x->v[i]));
		ctl_json_out(
		    json_pack("{s:s,s:o}", "group", x->group, "messages", a));
		return;
	}
	printf("%-20s %-28s %5s %-24s %-20s %s\n", "ID", "ORIGIN", "TIMES",
	       "TIME", "REASON", "BODY");
	for (size_t i = 0; i < x->n; i++) {
		const struct dead *d = &x->v[i];
		char id[NAME_BUF + 24], origin[300], when[40];
		snprintf(id, sizeof id, "%s:%llu", d->broker,
			 (unsigned long long)d->offset);
		snprintf(origin, sizeof origin, "%s/%s:%u@%llu", d->env.topic,
			 d->env.broker_name, d->env.queue_id,
			 (unsigned long long)d->env.offset);
		ctl_fmt_time(d->time, when, sizeof when);
		printf("%-20s %-28s %5u %-24s %-20s %.*s\n", id, origin,
		       d->env.reconsume_times, when, d->env.reason,
		       (int)d->body_len, (const char *)d->body);
	}
	fflush(stdout); /* the table first */
	fprintf(stderr, "%zu dead letters of group %s\n", x->n, x->group);
}

/* Produces @d to the queue it came from: 0 or 1. */
static int resend_one(const struct dlq *x, const struct dead *d)
{
	const char *leader =
	    leader_of(x, d->env.topic, d->env.broker_name, d->env.queue_id);
	const char *addr = leader ? address_of(x, leader) : NULL;
	size_t len = rpc_record_size(d->key_len, d->key != NULL, d->body_len);
	uint8_t *payload = malloc(len);
	if (addr == NULL || payload == NULL) {
		free(payload);
		fprintf(stderr,
			"error: broker %s of %s:%llu is not reachable\n",
			d->env.broker_name, d->broker,
			(unsigned long long)d->offset);
		return 1;
	}
	rpc_record_put(payload, d->key, d->key_len, d->body, d->body_len);
	struct rpc_produce_req in = {d->env.topic,
				     d->env.queue_id,
				     1,
				     0,
				     {payload, (uint32_t)len},
				     0,
				     0,
				     d->env.broker_name,
				     RPC_ACKS_ALL};
	struct ctl_resp r;
	ctl_call_one(addr, RPC_PRODUCE, &in, x->o->timeout_ms, &r);
	int rv = ctl_check(x->o, &r);
	ctl_resp_free(&r);
	free(payload);
	return rv;
}

/* Moves the group's position on %DLQ%G to what was read (@purge: to the
 * end), one reset guarded by the epoch read: 0 or 1. */
static int mark_handled(const struct dlq *x, bool purge)
{
	const char *names[MAX_QUEUES];
	char buf[MAX_QUEUES][NAME_BUF + 4];
	uint64_t ends[MAX_QUEUES];
	for (uint32_t i = 0; i < x->nq; i++) {
		snprintf(buf[i], sizeof buf[i], "%s:0", x->brokers[i]);
		names[i] = buf[i];
		ends[i] = x->end[i];
	}
	struct rpc_reset_req in = {
	    .group = x->group,
	    .topic = x->topic,
	    .target = purge ? "latest" : "plan",
	    .queues = {purge ? NULL : names, purge ? 0 : x->nq},
	    .requester = purge ? "raftqctl dlq purge" : "raftqctl dlq resend",
	    .expect = true,
	    .expect_epoch = x->epoch,
	    .offsets = {purge ? NULL : ends, purge ? 0 : x->nq}};
	struct ctl_resp r;
	ctl_call(x->o->bootstrap, RPC_RESET, &in, x->o->timeout_ms, &r);
	int rv = ctl_check(x->o, &r);
	ctl_resp_free(&r);
	return rv;
}

/* "BROKER:OFFSET" of --id into @broker and *offset: false if it is not. */
static bool parse_id(const char *id, char *broker, uint64_t *offset)
{
	const char *c = strrchr(id, ':');
	char *end;
	if (c == NULL || c == id || (size_t)(c - id) >= NAME_BUF ||
	    c[1] < '0' || c[1] > '9')
		return false;
	*offset = strtoull(c + 1, &end, 10);
	memcpy(broker, id, (size_t)(c - id));
	broker[c - id] = '\0';
	return *end == '\0';
}

/* Resends every message read, then marks them handled; with @id only
 * that one (@broker, @offset), and the position stays. */
static int dlq_resend(struct dlq *x, const char *id, const char *broker,
		      uint64_t offset)
{
	size_t sent = 0;
	int rv = 0;
	for (size_t i = 0; rv == 0 && i < x->n; i++) {
		const struct dead *d = &x->v[i];
		if (id != NULL &&
		    (strcmp(d->broker, broker) != 0 || d->offset != offset))
			continue;
		rv = resend_one(x, d);
		sent += rv == 0;
	}
	if (rv == 0 && id != NULL && sent == 0) {
		fprintf(stderr,
			"error: NOT_FOUND: %s is not a dead letter of group "
			"%s waiting (raftqctl dlq list --group %s)\n",
			id, x->group, x->group);
		return 1;
	}
	if (rv == 0 && id == NULL)
		rv = mark_handled(x, false);
	if (rv == 0 && x->o->json)
		ctl_json_out(json_pack("{s:s,s:I}", "group", x->group, "resent",
				       (json_int_t)sent));
	else if (rv == 0)
		printf("resent %zu dead letters of group %s\n", sent, x->group);
	return rv;
}

static int run(const struct ctl_opts *o, int argc, char **argv)
{
	struct ctl_flag f[] = {CTL_VALUE("--group"), CTL_VALUE("--id")};
	int npos;
	if (argc < 3)
		return ctl_usage_error(usage, "list, resend or purge?");
	const char *sub = argv[2];
	int rv = ctl_parse_flags(argc, argv, 3, f, 2, NULL, 0, &npos, usage);
	if (rv != 0)
		return rv;
	bool list = strcmp(sub, "list") == 0;
	bool resend = strcmp(sub, "resend") == 0;
	bool purge = strcmp(sub, "purge") == 0;
	const char *id = ctl_flag(f, 2, "--id");
	char broker[NAME_BUF] = "";
	uint64_t offset = 0;
	if (!list && !resend && !purge)
		return ctl_usage_error(usage, "unknown dlq command '%s'", sub);
	if (ctl_flag(f, 2, "--group") == NULL)
		return ctl_usage_error(usage, "--group is required");
	if (id != NULL && (!resend || !parse_id(id, broker, &offset)))
		return ctl_usage_error(usage,
				       resend
					   ? "--id is BROKER:OFFSET, not '%s'"
					   : "--id is for resend ('%s')",
				       id);
	struct dlq *x = calloc(1, sizeof *x);
	if (x == NULL)
		return 1;
	x->o = o;
	x->group = ctl_flag(f, 2, "--group");
	rv = dlq_read(x);
	if (rv == 0 && list)
		print_list(x);
	else if (rv == 0 && resend)
		rv = dlq_resend(x, id, broker, offset);
	else if (rv == 0 && (rv = mark_handled(x, true)) == 0 && o->json)
		ctl_json_out(json_pack("{s:s,s:I}", "group", x->group, "purged",
				       (json_int_t)x->n));
	else if (rv == 0)
		printf("purged %zu dead letters of group %s\n", x->n, x->group);
	dlq_free(x);
	free(x);
	return rv;
}

const struct ctl_noun ctl_dlq = {"dlq", usage, run};
