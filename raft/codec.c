/*
 * codec.c — msgpack encoding of commands and of the whole state
 * (docs/wire-format.md, "Replicated state").
 *
 * A command is one version byte (RSM__CMD_VERSION) followed by one msgpack
 * array whose first item is the command type. The state is one msgpack
 * array in a canonical order (every list sorted), so equal states encode to
 * equal bytes: the snapshot body and rsm_digest() both use it.
 */
#include <stdarg.h>
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/errbuf.h"
#include "rsm_int.h"

/* ---- Reading ---- */

void rsm__rd_init(struct rsm__rd *r, const msgpack_object *array,
		  const char *what)
{
	r->i = 0;
	r->err = NULL;
	if (array == NULL || array->type != MSGPACK_OBJECT_ARRAY) {
		r->o = NULL;
		r->n = 0;
		r->err = what;
		return;
	}
	r->o = array->via.array.ptr;
	r->n = array->via.array.size;
}

static const msgpack_object *rd_next(struct rsm__rd *r, const char *what)
{
	if (r->err != NULL)
		return NULL;
	if (r->i >= r->n) {
		r->err = what;
		return NULL;
	}
	return &r->o[r->i++];
}

uint64_t rsm__rd_u64(struct rsm__rd *r)
{
	const msgpack_object *o = rd_next(r, "missing integer");
	if (o == NULL)
		return 0;
	if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER) {
		r->err = "expected an unsigned integer";
		return 0;
	}
	return o->via.u64;
}

int64_t rsm__rd_i64(struct rsm__rd *r)
{
	const msgpack_object *o = rd_next(r, "missing integer");
	if (o == NULL)
		return 0;
	if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
		return o->via.i64;
	if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
	    o->via.u64 <= (uint64_t)INT64_MAX)
		return (int64_t)o->via.u64;
	r->err = "expected a signed integer";
	return 0;
}

bool rsm__rd_bool(struct rsm__rd *r)
{
	const msgpack_object *o = rd_next(r, "missing boolean");
	if (o == NULL)
		return false;
	if (o->type != MSGPACK_OBJECT_BOOLEAN) {
		r->err = "expected a boolean";
		return false;
	}
	return o->via.boolean;
}

void rsm__rd_str(struct rsm__rd *r, char *out, size_t max)
{
	out[0] = '\0';
	const msgpack_object *o = rd_next(r, "missing string");
	if (o == NULL)
		return;
	if (o->type != MSGPACK_OBJECT_STR) {
		r->err = "expected a string";
		return;
	}
	size_t n = o->via.str.size;
	if (n > max || memchr(o->via.str.ptr, '\0', n) != NULL) {
		r->err = "string too long or with a NUL byte";
		return;
	}
	memcpy(out, o->via.str.ptr, n);
	out[n] = '\0';
}

void rsm__rd_array(struct rsm__rd *r, struct rsm__rd *sub)
{
	const msgpack_object *o = rd_next(r, "missing array");
	rsm__rd_init(sub, o, "expected an array");
	if (r->err != NULL)
		sub->err = r->err;
	else if (sub->err != NULL)
		r->err = sub->err;
}

bool rsm__rd_done(struct rsm__rd *r)
{
	if (r->err == NULL && r->i != r->n)
		r->err = "unexpected extra items";
	return r->err == NULL;
}

/* ---- Writing ---- */

void rsm__pack_str(msgpack_packer *pk, const char *s)
{
	size_t n = strlen(s);
	msgpack_pack_str(pk, n);
	msgpack_pack_str_body(pk, s, n);
}

/* Starts a command: version byte, then the array header and type. */
static void cmd_begin(msgpack_sbuffer *sb, msgpack_packer *pk,
		      enum rsm_cmd_type type, size_t items)
{
	msgpack_sbuffer_init(sb);
	char v = (char)RSM__CMD_VERSION;
	msgpack_sbuffer_write(sb, &v, 1);
	msgpack_packer_init(pk, sb, msgpack_sbuffer_write);
	msgpack_pack_array(pk, items + 1);
	msgpack_pack_uint8(pk, (uint8_t)type);
}

/*
 * Moves the sbuffer's bytes into a raft_malloc'ed buffer, zero-padded to a
 * multiple of 8 bytes: raft_uv 0.15 writes entry data as given but reads
 * it back assuming 8-byte padding, so an unpadded entry shifts every later
 * entry of its batch when the log is reloaded after a restart.
 */
static int cmd_end(msgpack_sbuffer *sb, struct raft_buffer *out)
{
	size_t len = (sb->size + 7) & ~(size_t)7;
	void *p = sb->data == NULL ? NULL : raft_malloc(len);
	if (p == NULL) {
		msgpack_sbuffer_destroy(sb);
		return RSM_ENOMEM;
	}
	memcpy(p, sb->data, sb->size);
	memset((char *)p + sb->size, 0, len - sb->size);
	out->base = p;
	out->len = len;
	msgpack_sbuffer_destroy(sb);
	return 0;
}

static bool text_valid(const char *s)
{
	return s != NULL && strlen(s) <= RSM_TEXT_MAX;
}

int rsm_encode_register_broker(const struct rsm_broker *b,
			       struct raft_buffer *out, char *errmsg,
			       size_t errmsg_len)
{
	if (b->id == 0)
		return errbuf_set(RSM_EINVAL, errmsg, errmsg_len,
				  "broker id must be > 0");
	if (!rsm_name_user_valid(b->name))
		return errbuf_set(RSM_EINVAL, errmsg, errmsg_len,
				  "bad broker name '%s'", b->name);
	if (!text_valid(b->listen) || !text_valid(b->raft_address))
		return errbuf_set(RSM_EINVAL, errmsg, errmsg_len,
				  "broker address too long");
	msgpack_sbuffer sb;
	msgpack_packer pk;
	cmd_begin(&sb, &pk, RSM_CMD_REGISTER_BROKER, 4);
	msgpack_pack_uint64(&pk, b->id);
	rsm__pack_str(&pk, b->name);
	rsm__pack_str(&pk, b->listen);
	rsm__pack_str(&pk, b->raft_address);
	return cmd_end(&sb, out);
}

/* RSM_EINVAL naming why @name is no name a user may give a @what. */
static int user_name_error(const char *what, const char *name, char *errmsg,
			   size_t errmsg_len)
{
	if (name != NULL && name[0] == '%')
		return errbuf_set(RSM_EINVAL, errmsg, errmsg_len,
				  "%s name '%s': names starting with %% are "
				  "reserved for retry and dead-letter topics",
				  what, name);
	return errbuf_set(RSM_EINVAL, errmsg, errmsg_len,
			  "bad %s name '%s': use 1-127 of A-Z a-z 0-9 . _ -",
			  what, name ? name : "");
}

/* RSM_OK, or RSM_EINVAL (why in @errmsg) when @spec's replication
 * settings are out of range. */
static int replication_error(const struct rsm_topic_spec *spec, char *errmsg,
			     size_t errmsg_len)
{
	uint32_t rf = spec->replication_factor ? spec->replication_factor : 1;
	if (rf > RSM_REPLICAS_MAX || rf > spec->n_brokers)
		return errbuf_set(RSM_EINVAL, errmsg, errmsg_len,
				  "replication factor %u: it must be 1..%d "
				  "and at most the topic's %u brokers",
				  rf, RSM_REPLICAS_MAX, spec->n_brokers);
	if (spec->min_insync > rf)
		return errbuf_set(RSM_EINVAL, errmsg, errmsg_len,
				  "min in-sync replicas %u: it must be "
				  "1..the replication factor (%u)",
				  spec->min_insync, rf);
	return RSM_OK;
}

static int topic_spec_error(const struct rsm_topic_spec *spec, char *errmsg,
			    size_t errmsg_len)
{
	if (!rsm_name_user_valid(spec->name))
		return user_name_error("topic", spec->name, errmsg, errmsg_len);
	if (spec->queues_per_broker < 1 ||
	    spec->queues_per_broker > RSM_MAX_QUEUES_PER_BROKER)
		return errbuf_set(RSM_EINVAL, errmsg, errmsg_len,
				  "queues must be 1..%d, not %u",
				  RSM_MAX_QUEUES_PER_BROKER,
				  spec->queues_per_broker);
	if (spec->n_brokers < 1 || spec->n_brokers > RSM_MAX_BROKERS)
		return errbuf_set(RSM_EINVAL, errmsg, errmsg_len,
				  "a topic needs 1..%d brokers",
				  RSM_MAX_BROKERS);
	for (uint32_t i = 0; i < spec->n_brokers; i++)
		if (!rsm_name_user_valid(spec->brokers[i]))
			return errbuf_set(RSM_EINVAL, errmsg, errmsg_len,
					  "bad broker name '%s'",
					  spec->brokers[i] ? spec->brokers[i]
							   : "");
	return replication_error(spec, errmsg, errmsg_len);
}

int rsm_encode_create_topic(const struct rsm_topic_spec *spec,
			    struct raft_buffer *out, char *errmsg,
			    size_t errmsg_len)
{
	int rv = topic_spec_error(spec, errmsg, errmsg_len);
	if (rv != RSM_OK)
		return rv;
	uint32_t rf = spec->replication_factor ? spec->replication_factor : 1;
	uint32_t min = spec->min_insync ? spec->min_insync : (rf < 2 ? rf : 2);
	msgpack_sbuffer sb;
	msgpack_packer pk;
	/* Without replication: the 4 items every raftq version reads. */
	cmd_begin(&sb, &pk, RSM_CMD_CREATE_TOPIC, rf > 1 ? 6 : 4);
	rsm__pack_str(&pk, spec->name);
	msgpack_pack_uint32(&pk, spec->queues_per_broker);
	msgpack_pack_int64(&pk, spec->time);
	msgpack_pack_array(&pk, spec->n_brokers);
	for (uint32_t i = 0; i < spec->n_brokers; i++)
		rsm__pack_str(&pk, spec->brokers[i]);
	if (rf > 1) {
		msgpack_pack_uint32(&pk, rf);
		msgpack_pack_uint32(&pk, min);
	}
	return cmd_end(&sb, out);
}

int rsm_encode_alter_isr(const struct rsm_alter_isr *a, struct raft_buffer *out,
			 char *errmsg, size_t errmsg_len)
{
	if (!rsm_name_valid(a->topic) || !rsm_name_valid(a->home))
		return errbuf_set(RSM_EINVAL, errmsg, errmsg_len,
				  "bad topic or broker name");
	if (a->n_isr < 1 || a->n_isr > RSM_REPLICAS_MAX)
		return errbuf_set(RSM_EINVAL, errmsg, errmsg_len,
				  "an in-sync set has 1..%d members",
				  RSM_REPLICAS_MAX);
	for (uint32_t i = 0; i < a->n_isr; i++)
		if (!rsm_name_valid(a->isr[i]))
			return errbuf_set(RSM_EINVAL, errmsg, errmsg_len,
					  "bad broker name in the in-sync set");
	msgpack_sbuffer sb;
	msgpack_packer pk;
	cmd_begin(&sb, &pk, RSM_CMD_ALTER_ISR, 8);
	rsm__pack_str(&pk, a->topic);
	msgpack_pack_int64(&pk, a->created);
	rsm__pack_str(&pk, a->home);
	msgpack_pack_uint32(&pk, a->queue_id);
	msgpack_pack_uint64(&pk, a->leader_epoch);
	msgpack_pack_uint64(&pk, a->version);
	msgpack_pack_array(&pk, a->n_isr);
	for (uint32_t i = 0; i < a->n_isr; i++)
		rsm__pack_str(&pk, a->isr[i]);
	msgpack_pack_uint64(&pk, a->log_start);
	return cmd_end(&sb, out);
}

int rsm_encode_fence_broker(const char *name, bool fenced,
			    struct raft_buffer *out, char *errmsg,
			    size_t errmsg_len)
{
	if (!rsm_name_user_valid(name))
		return user_name_error("broker", name, errmsg, errmsg_len);
	msgpack_sbuffer sb;
	msgpack_packer pk;
	cmd_begin(&sb, &pk, RSM_CMD_FENCE_BROKER, 2);
	rsm__pack_str(&pk, name);
	if (fenced)
		msgpack_pack_true(&pk);
	else
		msgpack_pack_false(&pk);
	return cmd_end(&sb, out);
}

void rsm__pack_retry(msgpack_packer *pk, const struct rsm_retry *r)
{
	msgpack_pack_uint32(pk, r->max_reconsume_times);
	msgpack_pack_array(pk, r->n_delays);
	for (uint32_t i = 0; i < r->n_delays; i++)
		msgpack_pack_uint32(pk, r->delays_ms[i]);
}

bool rsm__rd_retry(struct rsm__rd *r, struct rsm_retry *out)
{
	struct rsm__rd dl;
	memset(out, 0, sizeof *out);
	uint64_t max = rsm__rd_u64(r);
	rsm__rd_array(r, &dl);
	if (r->err != NULL || dl.n == 0 || dl.n > RSM_RETRY_STEPS_MAX ||
	    max > UINT32_MAX)
		return false;
	out->max_reconsume_times = (uint32_t)max;
	out->n_delays = dl.n;
	for (uint32_t i = 0; i < dl.n; i++) {
		uint64_t d = rsm__rd_u64(&dl);
		out->delays_ms[i] = d > UINT32_MAX ? 0 : (uint32_t)d;
	}
	return rsm__rd_done(&dl);
}

int rsm_encode_create_group(const char *name, enum rsm_group_mode mode,
			    enum rsm_initial initial, int64_t time,
			    const struct rsm_retry *retry,
			    const char *const *brokers, uint32_t n_brokers,
			    struct raft_buffer *out, char *errmsg,
			    size_t errmsg_len)
{
	if (!rsm_name_user_valid(name))
		return user_name_error("group", name, errmsg, errmsg_len);
	if (mode != RSM_CLUSTERING && mode != RSM_BROADCASTING)
		return errbuf_set(RSM_EINVAL, errmsg, errmsg_len,
				  "bad group mode %d", (int)mode);
	if (initial != RSM_INITIAL_LATEST && initial != RSM_INITIAL_EARLIEST)
		return errbuf_set(RSM_EINVAL, errmsg, errmsg_len,
				  "bad initial position %d", (int)initial);
	char why[200];
	bool with_retry = retry != NULL && retry->n_delays > 0;
	if (with_retry && !rsm__retry_valid(retry, mode, name, why, sizeof why))
		return errbuf_set(RSM_EINVAL, errmsg, errmsg_len, "%s", why);
	if (with_retry && (n_brokers < 1 || n_brokers > RSM_MAX_BROKERS))
		return errbuf_set(RSM_EINVAL, errmsg, errmsg_len,
				  "a group with retry needs 1..%d brokers",
				  RSM_MAX_BROKERS);
	for (uint32_t i = 0; with_retry && i < n_brokers; i++)
		if (!rsm_name_user_valid(brokers[i]))
			return errbuf_set(RSM_EINVAL, errmsg, errmsg_len,
					  "bad broker name");
	msgpack_sbuffer sb;
	msgpack_packer pk;
	cmd_begin(&sb, &pk, RSM_CMD_CREATE_GROUP, with_retry ? 7 : 4);
	rsm__pack_str(&pk, name);
	msgpack_pack_uint8(&pk, (uint8_t)mode);
	msgpack_pack_uint8(&pk, (uint8_t)initial);
	msgpack_pack_int64(&pk, time);
	if (with_retry) {
		rsm__pack_retry(&pk, retry);
		msgpack_pack_array(&pk, n_brokers);
		for (uint32_t i = 0; i < n_brokers; i++)
			rsm__pack_str(&pk, brokers[i]);
	}
	return cmd_end(&sb, out);
}

/* A command whose one item is name @name of a @what. */
static int encode_name_cmd(enum rsm_cmd_type type, const char *what,
			   const char *name, struct raft_buffer *out,
			   char *errmsg, size_t errmsg_len)
{
	if (!rsm_name_valid(name))
		return errbuf_set(
		    RSM_EINVAL, errmsg, errmsg_len,
		    "bad %s name '%s': use 1-127 of A-Z a-z 0-9 . _ -", what,
		    name ? name : "");
	msgpack_sbuffer sb;
	msgpack_packer pk;
	cmd_begin(&sb, &pk, type, 1);
	rsm__pack_str(&pk, name);
	return cmd_end(&sb, out);
}

int rsm_encode_delete_group(const char *name, struct raft_buffer *out,
			    char *errmsg, size_t errmsg_len)
{
	return encode_name_cmd(RSM_CMD_DELETE_GROUP, "group", name, out, errmsg,
			       errmsg_len);
}

int rsm_encode_delete_topic(const char *name, struct raft_buffer *out,
			    char *errmsg, size_t errmsg_len)
{
	return encode_name_cmd(RSM_CMD_DELETE_TOPIC, "topic", name, out, errmsg,
			       errmsg_len);
}

/* Copies @name, valid (rsm_name_valid), into @out (RSM_NAME_MAX + 1). */
static void copy_name(char *out, const char *name)
{
	size_t len = strlen(name);
	assert(len <= RSM_NAME_MAX);
	memcpy(out, name, len + 1);
}

int rsm_commit_init(struct rsm_commit *c, const char *group, const char *topic,
		    const char *broker, uint32_t queue_id, uint64_t offset,
		    uint64_t epoch)
{
	if (!rsm_name_valid(group) || !rsm_name_valid(topic) ||
	    !rsm_name_valid(broker))
		return RSM_EINVAL;
	/* Valid names fit (RSM_NAME_MAX): copied without snprintf, which was
	 * 6 % of a leader's time at 250k offsets/s (perf, cluster_bench). */
	copy_name(c->group, group);
	copy_name(c->topic, topic);
	copy_name(c->broker, broker);
	c->queue_id = queue_id;
	c->offset = offset;
	c->epoch = epoch;
	return RSM_OK;
}

/* COMMIT and INIT_OFFSETS: a list of [group, topic, broker, queue,
 * offset, epoch]. */
static int encode_items(enum rsm_cmd_type type, const struct rsm_commit *items,
			uint32_t n, struct raft_buffer *out, char *errmsg,
			size_t errmsg_len)
{
	if (n == 0)
		return errbuf_set(RSM_EINVAL, errmsg, errmsg_len,
				  "no offsets to commit");
	for (uint32_t i = 0; i < n; i++) {
		const struct rsm_commit *c = &items[i];
		if (!rsm_name_valid(c->group) || !rsm_name_valid(c->topic) ||
		    !rsm_name_valid(c->broker))
			return errbuf_set(
			    RSM_EINVAL, errmsg, errmsg_len,
			    "commit %u: bad group, topic or broker name", i);
		if (c->offset > (uint64_t)INT64_MAX)
			return errbuf_set(RSM_EINVAL, errmsg, errmsg_len,
					  "commit %u: offset above 2^63-1", i);
	}
	msgpack_sbuffer sb;
	msgpack_packer pk;
	cmd_begin(&sb, &pk, type, 1);
	msgpack_pack_array(&pk, n);
	for (uint32_t i = 0; i < n; i++) {
		const struct rsm_commit *c = &items[i];
		msgpack_pack_array(&pk, 6);
		rsm__pack_str(&pk, c->group);
		rsm__pack_str(&pk, c->topic);
		rsm__pack_str(&pk, c->broker);
		msgpack_pack_uint32(&pk, c->queue_id);
		msgpack_pack_uint64(&pk, c->offset);
		msgpack_pack_uint64(&pk, c->epoch);
	}
	return cmd_end(&sb, out);
}

int rsm_encode_commit(const struct rsm_commit *items, uint32_t n,
		      struct raft_buffer *out, char *errmsg, size_t errmsg_len)
{
	return encode_items(RSM_CMD_COMMIT, items, n, out, errmsg, errmsg_len);
}

int rsm_encode_init_offsets(const struct rsm_commit *items, uint32_t n,
			    struct raft_buffer *out, char *errmsg,
			    size_t errmsg_len)
{
	return encode_items(RSM_CMD_INIT_OFFSETS, items, n, out, errmsg,
			    errmsg_len);
}

/* Validates one part of a reset as apply would; 0 or RSM_EINVAL. */
static int reset_part_valid(const struct rsm_reset_part *p, bool source,
			    char *errmsg, size_t errmsg_len)
{
	if (!rsm_name_valid(p->topic))
		return errbuf_set(RSM_EINVAL, errmsg, errmsg_len,
				  "bad topic name");
	if (p->n == 0)
		return errbuf_set(RSM_EINVAL, errmsg, errmsg_len,
				  "a reset needs queues");
	for (uint32_t i = 0; i < p->n; i++) {
		const struct rsm_reset_move *m = &p->moves[i];
		if (!rsm_name_valid(m->broker))
			return errbuf_set(RSM_EINVAL, errmsg, errmsg_len,
					  "reset queue %u: bad broker name", i);
		if ((unsigned)m->move > RSM_MOVE_COPY ||
		    (m->move == RSM_MOVE_COPY) != source)
			return errbuf_set(RSM_EINVAL, errmsg, errmsg_len,
					  "reset queue %u: bad move", i);
		if (m->min_offset > m->max_offset ||
		    m->max_offset > (uint64_t)INT64_MAX)
			return errbuf_set(
			    RSM_EINVAL, errmsg, errmsg_len,
			    "reset queue %s:%u: bad bounds [%llu, %llu]",
			    m->broker, m->queue_id,
			    (unsigned long long)m->min_offset,
			    (unsigned long long)m->max_offset);
	}
	return 0;
}

static int reset_valid(const struct rsm_reset_cmd *cmd, char *errmsg,
		       size_t errmsg_len)
{
	bool source = cmd->target == RSM_TARGET_GROUP;
	if (!rsm_name_valid(cmd->group) ||
	    (source && (cmd->source == NULL || !rsm_name_valid(cmd->source))))
		return errbuf_set(RSM_EINVAL, errmsg, errmsg_len,
				  "bad group name");
	if (!text_valid(cmd->requester))
		return errbuf_set(RSM_EINVAL, errmsg, errmsg_len,
				  "requester too long");
	if ((unsigned)cmd->target > RSM_TARGET_LAST)
		return errbuf_set(RSM_EINVAL, errmsg, errmsg_len,
				  "bad reset target %d", (int)cmd->target);
	if (cmd->n_parts == 0 || cmd->n_parts > RSM_RESET_TOPICS_MAX)
		return errbuf_set(RSM_EINVAL, errmsg, errmsg_len,
				  "a reset names 1 to %d topics",
				  RSM_RESET_TOPICS_MAX);
	for (uint32_t k = 0; k < cmd->n_parts; k++) {
		int rv = reset_part_valid(&cmd->parts[k], source, errmsg,
					  errmsg_len);
		if (rv == 0 && k > 0 &&
		    strcmp(cmd->parts[k - 1].topic, cmd->parts[k].topic) >= 0)
			rv = errbuf_set(RSM_EINVAL, errmsg, errmsg_len,
					"reset topics not ascending");
		if (rv != 0)
			return rv;
	}
	return 0;
}

static void pack_moves(msgpack_packer *pk, const struct rsm_reset_part *p)
{
	msgpack_pack_array(pk, p->n);
	for (uint32_t i = 0; i < p->n; i++) {
		const struct rsm_reset_move *m = &p->moves[i];
		msgpack_pack_array(pk, 7);
		rsm__pack_str(pk, m->broker);
		msgpack_pack_uint32(pk, m->queue_id);
		msgpack_pack_uint8(pk, (uint8_t)m->move);
		msgpack_pack_int64(pk, m->value);
		msgpack_pack_uint64(pk, m->min_offset);
		msgpack_pack_uint64(pk, m->max_offset);
		msgpack_pack_uint64(pk, m->unset_base);
	}
}

/* RSM_CMD_RESET: [time, requester, group, topic, target, value, moves]
 * and the guard's epoch as an 8th item when there is one. */
static void pack_reset_one(msgpack_sbuffer *sb, msgpack_packer *pk,
			   const struct rsm_reset_cmd *cmd)
{
	const struct rsm_reset_part *p = &cmd->parts[0];
	cmd_begin(sb, pk, RSM_CMD_RESET, p->expect ? 8 : 7);
	msgpack_pack_int64(pk, cmd->time);
	rsm__pack_str(pk, cmd->requester);
	rsm__pack_str(pk, cmd->group);
	rsm__pack_str(pk, p->topic);
	msgpack_pack_uint8(pk, (uint8_t)cmd->target);
	msgpack_pack_int64(pk, cmd->target_value);
	pack_moves(pk, p);
	if (p->expect)
		msgpack_pack_uint64(pk, p->expect_epoch);
}

/* RSM_CMD_RESET_TOPICS: [time, requester, group, target, value, source,
 * parts], each part [topic, moves] or [topic, moves, guard epoch]. */
static void pack_reset_topics(msgpack_sbuffer *sb, msgpack_packer *pk,
			      const struct rsm_reset_cmd *cmd)
{
	cmd_begin(sb, pk, RSM_CMD_RESET_TOPICS, 7);
	msgpack_pack_int64(pk, cmd->time);
	rsm__pack_str(pk, cmd->requester);
	rsm__pack_str(pk, cmd->group);
	msgpack_pack_uint8(pk, (uint8_t)cmd->target);
	msgpack_pack_int64(pk, cmd->target_value);
	rsm__pack_str(pk, cmd->source ? cmd->source : "");
	msgpack_pack_array(pk, cmd->n_parts);
	for (uint32_t k = 0; k < cmd->n_parts; k++) {
		const struct rsm_reset_part *p = &cmd->parts[k];
		msgpack_pack_array(pk, p->expect ? 3 : 2);
		rsm__pack_str(pk, p->topic);
		pack_moves(pk, p);
		if (p->expect)
			msgpack_pack_uint64(pk, p->expect_epoch);
	}
}

int rsm_encode_reset(const struct rsm_reset_cmd *cmd, struct raft_buffer *out,
		     char *errmsg, size_t errmsg_len)
{
	int rv = reset_valid(cmd, errmsg, errmsg_len);
	if (rv != 0)
		return rv;
	msgpack_sbuffer sb;
	msgpack_packer pk;
	if (cmd->n_parts == 1 && cmd->target != RSM_TARGET_GROUP)
		pack_reset_one(&sb, &pk, cmd);
	else
		pack_reset_topics(&sb, &pk, cmd);
	return cmd_end(&sb, out);
}

/* ---- The whole state ---- */

/* The history: 9 items per record (10 with a copy's source group), 7 per
 * queue (8 when skipped), so a state without either packs as before. */
static void pack_resets(msgpack_packer *pk, const struct rsm *s)
{
	msgpack_pack_array(pk, s->n_resets);
	for (uint32_t i = 0; i < s->n_resets; i++) {
		const struct rsm_reset *r = &s->resets[i];
		/* A 10th item, the copied group, only when there is one. */
		msgpack_pack_array(pk, r->source[0] ? 10 : 9);
		msgpack_pack_uint64(pk, r->id);
		msgpack_pack_int64(pk, r->time);
		rsm__pack_str(pk, r->requester);
		rsm__pack_str(pk, r->group);
		rsm__pack_str(pk, r->topic);
		msgpack_pack_uint8(pk, (uint8_t)r->target);
		msgpack_pack_int64(pk, r->target_value);
		msgpack_pack_uint64(pk, r->epoch);
		msgpack_pack_array(pk, r->n);
		for (uint32_t q = 0; q < r->n; q++) {
			const struct rsm_reset_queue *e = &r->queues[q];
			msgpack_pack_array(pk, e->skipped ? 8 : 7);
			rsm__pack_str(pk, e->broker);
			msgpack_pack_uint32(pk, e->queue_id);
			msgpack_pack_uint64(pk, e->previous);
			msgpack_pack_uint64(pk, e->offset);
			msgpack_pack_uint64(pk, e->min_offset);
			msgpack_pack_uint64(pk, e->max_offset);
			if (e->clamped)
				msgpack_pack_true(pk);
			else
				msgpack_pack_false(pk);
			if (e->skipped)
				msgpack_pack_true(pk);
		}
		if (r->source[0])
			rsm__pack_str(pk, r->source);
	}
}

/* A topic: [name, queues per broker, created, [brokers]], then — only
 * when it is not the unreplicated default — replication factor, min in
 * sync and one [leader epoch, version, log start, leader, isr mask,
 * [replica broker indexes]] per queue. */
static void pack_topic(msgpack_packer *pk, const struct rsm_topic *t)
{
	bool reps = !rsm__replicas_default(t);
	msgpack_pack_array(pk, reps ? 7 : 4);
	rsm__pack_str(pk, t->name);
	msgpack_pack_uint32(pk, t->queues_per_broker);
	msgpack_pack_int64(pk, t->created);
	msgpack_pack_array(pk, t->n_brokers);
	for (uint32_t k = 0; k < t->n_brokers; k++)
		rsm__pack_str(pk, t->brokers[k]);
	if (!reps)
		return;
	msgpack_pack_uint8(pk, t->replication_factor);
	msgpack_pack_uint8(pk, t->min_insync);
	msgpack_pack_array(pk, rsm_topic_queues(t));
	for (uint32_t qi = 0; qi < rsm_topic_queues(t); qi++) {
		const struct rsm_replicas *r = &t->reps[qi];
		msgpack_pack_array(pk, 6);
		msgpack_pack_uint64(pk, r->leader_epoch);
		msgpack_pack_uint64(pk, r->version);
		msgpack_pack_uint64(pk, r->log_start);
		msgpack_pack_int8(pk, r->leader);
		msgpack_pack_uint8(pk, r->isr);
		msgpack_pack_array(pk, r->n);
		for (uint32_t i = 0; i < r->n; i++)
			msgpack_pack_uint8(pk, r->replica[i]);
	}
}

int rsm__pack_state(const struct rsm *s, msgpack_sbuffer *sb)
{
	msgpack_packer pk;
	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	/* A 10th item, the topic clock, only once a topic was deleted. */
	msgpack_pack_array(&pk, s->topic_clock != 0 ? 10 : 9);
	rsm__pack_str(&pk, RSM__STATE_MAGIC);
	msgpack_pack_uint64(&pk, s->applied);
	msgpack_pack_uint64(&pk, s->rejected);
	msgpack_pack_uint64(&pk, s->next_reset_id);
	msgpack_pack_uint8(&pk, 0); /* reserved for future sections */

	msgpack_pack_array(&pk, s->n_brokers);
	for (uint32_t i = 0; i < s->n_brokers; i++) {
		const struct rsm_broker *b = &s->brokers[i];
		/* A 5th item only for a fenced broker. */
		msgpack_pack_array(&pk, b->fenced ? 5 : 4);
		msgpack_pack_uint64(&pk, b->id);
		rsm__pack_str(&pk, b->name);
		rsm__pack_str(&pk, b->listen);
		rsm__pack_str(&pk, b->raft_address);
		if (b->fenced)
			msgpack_pack_true(&pk);
	}
	msgpack_pack_array(&pk, s->n_topics);
	for (uint32_t i = 0; i < s->n_topics; i++)
		pack_topic(&pk, &s->topics[i]);
	msgpack_pack_array(&pk, s->n_groups);
	for (uint32_t i = 0; i < s->n_groups; i++) {
		const struct rsm_group *g = &s->groups[i];
		/* Items 6-7, the retry settings, only when it has them. */
		msgpack_pack_array(&pk, g->retry.n_delays > 0 ? 7 : 5);
		rsm__pack_str(&pk, g->name);
		msgpack_pack_uint8(&pk, (uint8_t)g->mode);
		msgpack_pack_uint8(&pk, (uint8_t)g->initial);
		msgpack_pack_int64(&pk, g->created);
		msgpack_pack_array(&pk, g->n_topics);
		for (uint32_t k = 0; k < g->n_topics; k++) {
			const struct rsm_group_topic *gt = &g->topics[k];
			msgpack_pack_array(&pk, 3);
			rsm__pack_str(&pk, gt->topic);
			msgpack_pack_uint64(&pk, gt->epoch);
			msgpack_pack_array(&pk, gt->n);
			for (uint32_t q = 0; q < gt->n; q++)
				msgpack_pack_uint64(&pk, gt->offsets[q]);
		}
		if (g->retry.n_delays > 0)
			rsm__pack_retry(&pk, &g->retry);
	}
	pack_resets(&pk, s);
	if (s->topic_clock != 0)
		msgpack_pack_int64(&pk, s->topic_clock);
	return 0;
}

/* One queue's replica state (pack_topic); false for bad bytes. */
static bool unpack_rep(struct rsm__rd *q, const struct rsm_topic *t,
		       struct rsm_replicas *r)
{
	struct rsm__rd e, il;
	rsm__rd_array(q, &e);
	r->leader_epoch = rsm__rd_u64(&e);
	r->version = rsm__rd_u64(&e);
	r->log_start = rsm__rd_u64(&e);
	int64_t leader = rsm__rd_i64(&e);
	uint64_t isr = rsm__rd_u64(&e);
	rsm__rd_array(&e, &il);
	if (e.err != NULL || il.n < 1 || il.n > RSM_REPLICAS_MAX ||
	    leader < -1 || leader >= (int64_t)il.n || isr > 0xff)
		return false;
	r->n = (uint8_t)il.n;
	r->leader = (int8_t)leader;
	r->isr = (uint8_t)isr;
	for (uint32_t i = 0; i < il.n; i++) {
		uint64_t b = rsm__rd_u64(&il);
		r->replica[i] = b < t->n_brokers ? (uint8_t)b : 0xff;
	}
	return rsm__rd_done(&il) && rsm__rd_done(&e) &&
	       rsm__replicas_valid(t, r);
}

/* Items 5-7 of a topic (pack_topic) over the default placement in @t:
 * 0 or RSM_ECORRUPT. */
static int unpack_replicas(struct rsm__rd *tr, struct rsm_topic *t)
{
	struct rsm__rd q;
	uint64_t rf = rsm__rd_u64(tr), min = rsm__rd_u64(tr);
	rsm__rd_array(tr, &q);
	if (tr->err != NULL || rf < 1 || rf > RSM_REPLICAS_MAX ||
	    rf > t->n_brokers || min < 1 || min > rf ||
	    q.n != rsm_topic_queues(t))
		return RSM_ECORRUPT;
	t->replication_factor = (uint8_t)rf;
	t->min_insync = (uint8_t)min;
	for (uint32_t qi = 0; qi < q.n; qi++)
		if (!unpack_rep(&q, t, &t->reps[qi]))
			return RSM_ECORRUPT;
	return rsm__rd_done(&q) ? 0 : RSM_ECORRUPT;
}

static int unpack_topic(struct rsm *s, struct rsm__rd *r, const char **why)
{
	struct rsm__rd t, bl;
	struct rsm_topic topic;
	memset(&topic, 0, sizeof topic);
	rsm__rd_array(r, &t);
	rsm__rd_str(&t, topic.name, RSM_NAME_MAX);
	topic.queues_per_broker = (uint32_t)rsm__rd_u64(&t);
	topic.created = rsm__rd_i64(&t);
	rsm__rd_array(&t, &bl);
	if (bl.err == NULL && (bl.n == 0 || bl.n > RSM_MAX_BROKERS))
		bl.err = "bad broker count";
	if (bl.err == NULL) {
		topic.brokers = calloc(bl.n, sizeof *topic.brokers);
		if (topic.brokers == NULL)
			return RSM_ENOMEM;
		topic.n_brokers = bl.n;
		for (uint32_t k = 0; k < bl.n; k++) {
			rsm__rd_str(&bl, topic.brokers[k], RSM_NAME_MAX);
			if (k > 0 && bl.err == NULL &&
			    strcmp(topic.brokers[k - 1], topic.brokers[k]) >= 0)
				bl.err = "topic brokers not sorted";
		}
	}
	bool ok = rsm__rd_done(&bl) && topic.queues_per_broker >= 1 &&
		  topic.queues_per_broker <= RSM_MAX_QUEUES_PER_BROKER &&
		  rsm_name_valid(topic.name);
	int rv = ok ? rsm__topic_place(&topic, 1, 1) : RSM_ECORRUPT;
	if (rv == 0 && t.i < t.n)
		rv = unpack_replicas(&t, &topic);
	if (rv == 0 && !rsm__rd_done(&t))
		rv = RSM_ECORRUPT;
	if (rv != 0) {
		*why = rv == RSM_ENOMEM ? "out of memory"
		       : bl.err		? bl.err
		       : t.err		? t.err
					: "bad topic";
		rsm__topic_free(&topic);
		return rv;
	}
	rv = rsm__topic_insert(s, &topic);
	if (rv != 0) {
		*why = rv == RSM_EEXISTS ? "duplicate topic" : "out of memory";
		rsm__topic_free(&topic);
		return rv == RSM_EEXISTS ? RSM_ECORRUPT : rv;
	}
	return 0;
}

static int unpack_group(struct rsm *s, struct rsm__rd *r, const char **why)
{
	struct rsm__rd g, tl;
	struct rsm_group grp;
	memset(&grp, 0, sizeof grp);
	rsm__rd_array(r, &g);
	rsm__rd_str(&g, grp.name, RSM_NAME_MAX);
	uint64_t mode = rsm__rd_u64(&g), initial = rsm__rd_u64(&g);
	grp.created = rsm__rd_i64(&g);
	rsm__rd_array(&g, &tl);
	grp.mode = (enum rsm_group_mode)mode;
	char rwhy[200];
	if (g.err == NULL && g.i < g.n &&
	    (!rsm__rd_retry(&g, &grp.retry) ||
	     !rsm__retry_valid(&grp.retry, grp.mode, grp.name, rwhy,
			       sizeof rwhy)))
		g.err = g.err ? g.err : "bad group retry settings";
	if (g.err != NULL || mode > RSM_BROADCASTING ||
	    initial > RSM_INITIAL_EARLIEST || !rsm_name_user_valid(grp.name)) {
		*why = g.err ? g.err : "bad group";
		return RSM_ECORRUPT;
	}
	grp.initial = (enum rsm_initial)initial;
	int rv = rsm__group_insert(s, &grp);
	if (rv != 0) {
		*why = rv == RSM_EEXISTS ? "duplicate group" : "out of memory";
		return rv == RSM_EEXISTS ? RSM_ECORRUPT : rv;
	}
	struct rsm_group *gp = rsm__group_find_mut(s, grp.name);
	for (uint32_t k = 0; k < tl.n && tl.err == NULL; k++) {
		struct rsm__rd e, ol;
		char topic[RSM_NAME_MAX + 1];
		rsm__rd_array(&tl, &e);
		rsm__rd_str(&e, topic, RSM_NAME_MAX);
		uint64_t epoch = rsm__rd_u64(&e);
		rsm__rd_array(&e, &ol);
		const struct rsm_topic *t =
		    e.err == NULL ? rsm_topic_find(s, topic) : NULL;
		if (e.err != NULL || t == NULL || ol.n != rsm_topic_queues(t) ||
		    (k > 0 &&
		     strcmp(gp->topics[gp->n_topics - 1].topic, topic) >= 0)) {
			*why = e.err ? e.err : "bad group topic";
			return RSM_ECORRUPT;
		}
		struct rsm_group_topic *gt = rsm__group_topic_get(gp, t);
		if (gt == NULL) {
			*why = "out of memory";
			return RSM_ENOMEM;
		}
		gt->epoch = epoch;
		for (uint32_t q = 0; q < ol.n; q++)
			gt->offsets[q] = rsm__rd_u64(&ol);
		if (!rsm__rd_done(&ol) || !rsm__rd_done(&e)) {
			*why = ol.err ? ol.err : e.err;
			return RSM_ECORRUPT;
		}
	}
	if (!rsm__rd_done(&tl) || !rsm__rd_done(&g)) {
		*why = tl.err ? tl.err : g.err;
		return RSM_ECORRUPT;
	}
	return 0;
}

/* Whether record @rs may follow the history's last: ids ascend, and the
 * records of one reset (same id) are of one group, topics ascending. */
static bool reset_follows(const struct rsm *s, const struct rsm_reset *rs)
{
	if (s->n_resets == 0)
		return true;
	const struct rsm_reset *last = &s->resets[s->n_resets - 1];
	if (last->id != rs->id)
		return last->id < rs->id;
	return strcmp(last->group, rs->group) == 0 &&
	       strcmp(last->topic, rs->topic) < 0;
}

/* A record's queues: 7 items, and an 8th (skipped) only when true. */
static int unpack_reset_queues(struct rsm *s, struct rsm__rd *ql,
			       struct rsm_reset *rs, const char **why)
{
	rs->queues = calloc(ql->n, sizeof *rs->queues);
	if (rs->queues == NULL)
		return RSM_ENOMEM;
	rs->n = ql->n;
	for (uint32_t q = 0; q < ql->n; q++) {
		struct rsm__rd x;
		struct rsm_reset_queue *rq = &rs->queues[q];
		rsm__rd_array(ql, &x);
		char broker[RSM_NAME_MAX + 1];
		rsm__rd_str(&x, broker, RSM_NAME_MAX);
		rq->broker = x.err ? "" : rsm__intern(s, broker);
		if (rq->broker == NULL)
			return RSM_ENOMEM;
		rq->queue_id = (uint32_t)rsm__rd_u64(&x);
		rq->previous = rsm__rd_u64(&x);
		rq->offset = rsm__rd_u64(&x);
		rq->min_offset = rsm__rd_u64(&x);
		rq->max_offset = rsm__rd_u64(&x);
		rq->clamped = rsm__rd_bool(&x);
		if (x.err == NULL && x.i < x.n)
			rq->skipped = rsm__rd_bool(&x);
		if (!rsm__rd_done(&x)) {
			*why = x.err ? x.err : "bad reset queue";
			return RSM_ECORRUPT;
		}
	}
	if (!rsm__rd_done(ql)) {
		*why = ql->err;
		return RSM_ECORRUPT;
	}
	return 0;
}

static int unpack_reset(struct rsm *s, struct rsm__rd *r, const char **why)
{
	struct rsm__rd e, ql;
	struct rsm_reset rs;
	memset(&rs, 0, sizeof rs);
	rsm__rd_array(r, &e);
	rs.id = rsm__rd_u64(&e);
	rs.time = rsm__rd_i64(&e);
	rsm__rd_str(&e, rs.requester, RSM_TEXT_MAX);
	rsm__rd_str(&e, rs.group, RSM_NAME_MAX);
	rsm__rd_str(&e, rs.topic, RSM_NAME_MAX);
	uint64_t target = rsm__rd_u64(&e);
	rs.target_value = rsm__rd_i64(&e);
	rs.epoch = rsm__rd_u64(&e);
	rsm__rd_array(&e, &ql);
	if (e.err == NULL && e.i < e.n)
		rsm__rd_str(&e, rs.source, RSM_NAME_MAX);
	if (!rsm__rd_done(&e) || target > RSM_TARGET_LAST || ql.n == 0 ||
	    !reset_follows(s, &rs) || s->n_resets >= RSM_HISTORY_MAX) {
		*why = e.err ? e.err : "bad reset record";
		return RSM_ECORRUPT;
	}
	rs.target = (enum rsm_target_kind)target;
	int rv = unpack_reset_queues(s, &ql, &rs, why);
	if (rv == 0)
		rv = rsm__reset_room(s, 1, rs.n, rs.id);
	if (rv != 0) {
		free(rs.queues);
		if (*why == NULL)
			*why = "out of memory";
		return rv;
	}
	rsm__reset_push(s, &rs);
	return 0;
}

int rsm__unpack_state(struct rsm *s, const msgpack_object *root,
		      const char **why)
{
	struct rsm__rd r, list;
	char magic[32];
	*why = NULL;
	rsm__rd_init(&r, root, "state is not an array");
	rsm__rd_str(&r, magic, sizeof magic - 1);
	if (r.err == NULL && strcmp(magic, RSM__STATE_MAGIC) != 0)
		r.err = "not a raftq state";
	s->applied = rsm__rd_u64(&r);
	s->rejected = rsm__rd_u64(&r);
	s->next_reset_id = rsm__rd_u64(&r);
	(void)rsm__rd_u64(&r); /* reserved */
	rsm__rd_array(&r, &list);
	if (r.err != NULL) {
		*why = r.err;
		return RSM_ECORRUPT;
	}
	for (uint32_t i = 0; i < list.n; i++) {
		struct rsm__rd b;
		struct rsm_broker br;
		memset(&br, 0, sizeof br);
		rsm__rd_array(&list, &b);
		br.id = rsm__rd_u64(&b);
		rsm__rd_str(&b, br.name, RSM_NAME_MAX);
		rsm__rd_str(&b, br.listen, RSM_TEXT_MAX);
		rsm__rd_str(&b, br.raft_address, RSM_TEXT_MAX);
		if (b.i < b.n)
			br.fenced = rsm__rd_bool(&b);
		if (!rsm__rd_done(&b) || br.id == 0 ||
		    !rsm_name_user_valid(br.name) ||
		    rsm_broker_by_id(s, br.id) != NULL ||
		    rsm_broker_by_name(s, br.name) != NULL) {
			*why = b.err ? b.err : "bad or duplicate broker";
			return RSM_ECORRUPT;
		}
		if (rsm__broker_put(s, &br) != 0) {
			*why = "out of memory";
			return RSM_ENOMEM;
		}
	}
	int rv;
	rsm__rd_array(&r, &list);
	for (uint32_t i = 0; i < list.n && list.err == NULL; i++)
		if ((rv = unpack_topic(s, &list, why)) != 0)
			return rv;
	rsm__rd_array(&r, &list);
	for (uint32_t i = 0; i < list.n && list.err == NULL; i++)
		if ((rv = unpack_group(s, &list, why)) != 0)
			return rv;
	rsm__rd_array(&r, &list);
	for (uint32_t i = 0; i < list.n && list.err == NULL; i++)
		if ((rv = unpack_reset(s, &list, why)) != 0)
			return rv;
	if (r.err == NULL && r.i < r.n)
		s->topic_clock = rsm__rd_i64(&r);
	if (!rsm__rd_done(&r) || list.err != NULL) {
		*why = r.err ? r.err : list.err;
		return RSM_ECORRUPT;
	}
	if (s->n_resets > 0 &&
	    s->next_reset_id <= s->resets[s->n_resets - 1].id) {
		*why = "next reset id behind the history";
		return RSM_ECORRUPT;
	}
	return 0;
}
