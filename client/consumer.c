/*
 * consumer.c — consumer groups: membership, positions, fetching, commits
 * and reset pickup.
 *
 * Happy path: GROUP_DESCRIBE (the group's mode) -> HEARTBEAT every
 * heartbeat_ms (the answer is this member's assignment) -> positions for
 * new queues (OFFSETS from the leader, or the offset file for
 * broadcasting groups) -> FETCH from each hosting broker, one request in
 * flight per queue, carrying the epoch the position belongs to ->
 * raftq_consume hands out buffered messages -> COMMIT (one request per
 * topic, with the epoch) every auto_commit_ms or on raftq_commit.
 *
 * Resets: a queue "moves" on a RESET_NOTICE naming it, an OFFSET_MOVED
 * fetch answer or a STALE_EPOCH commit answer: its buffered messages are
 * retired (never delivered), a fetch in flight is ignored when it comes
 * back (the queue's generation changed), and fetching resumes at the new
 * offset under the new epoch. raftq_consume always processes pending
 * network input (and so any notice) before handing out messages, so once
 * a reset's answer has reached the operator the notice is either handled
 * or still on its way, and the brokers' fence (OFFSET_MOVED) stops every
 * later fetch under the old epoch.
 *
 * Failure modes: a lost leader or NOT_LEADER refreshes the route and the
 * request is sent again at the next tick; a broker that does not answer
 * a fetch is asked again after FETCH_RETRY_MS; an unknown group or topic
 * stops the consumer with that error (raftq_consume returns it).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../util/lz4_frame.h"
#include "client_int.h"

#define POS_UNKNOWN UINT64_MAX
#define FETCH_RETRY_MS 100
#define IDLE_MAX_MS 20
#define LEADER_RETRY_MS 50

struct kmsg {
	uint64_t offset;
	int64_t store_time;
	const uint8_t *key, *body;
	uint32_t key_len, body_len;
	bool has_key;
};

/* One fetch answer, decoded: its bytes, lz4 payloads and messages. */
struct kbuf {
	struct kbuf *next;
	uint8_t *data;
	uint8_t **plain;
	uint32_t n_plain;
	struct kmsg *m;
	uint32_t n, i; /* messages, next to deliver */
};

struct kfetch;

struct kqueue {
	char topic[CL_NAME_MAX + 1];
	char broker[CL_NAME_MAX + 1];
	uint32_t queue_id;
	uint64_t pos;	    /* next offset to fetch */
	uint64_t deliver;   /* next offset to deliver: what a commit sends */
	uint64_t committed; /* what the group has */
	uint64_t epoch;
	uint64_t gen; /* bumped when the queue moves */
	struct kfetch *fetch;
	struct kbuf *head, *tail;
	uint64_t next_fetch_at;
	uint32_t idle_ms;
	bool assigned;
};

struct kfetch {
	struct rpc_call call;
	struct kqueue *q; /* NULL: the queue is gone */
	struct raftq_consumer *k;
	uint64_t gen;
	uint64_t pos;
};

enum kkind { KC_DESCRIBE, KC_HEARTBEAT, KC_OFFSETS, KC_COMMIT, KC_LEAVE };

struct citem {
	char broker[CL_NAME_MAX + 1];
	uint32_t queue_id;
	uint64_t offset;
	uint64_t epoch;
};

struct kcall {
	struct rpc_call call;
	struct raftq_consumer *k; /* NULL: the consumer is gone */
	struct kcall *prev, *next;
	enum kkind kind;
	char topic[CL_NAME_MAX + 1];
	struct citem *items;
	uint32_t n;
};

struct ksaved {
	char topic[CL_NAME_MAX + 1];
	char broker[CL_NAME_MAX + 1];
	uint32_t queue_id;
	uint64_t offset;
};

enum kmode { MODE_UNKNOWN, MODE_CLUSTERING, MODE_BROADCASTING };

struct raftq_consumer {
	struct raftq_client *c;
	char group[CL_NAME_MAX + 1];
	char member[CL_NAME_MAX + 1];
	char (*topics)[CL_NAME_MAX + 1];
	uint32_t n_topics;
	bool manual_commit;
	uint32_t auto_commit_ms, heartbeat_ms, fetch_bytes;
	char offset_file[4096];
	enum kmode mode;
	int failed; /* a raftq error once the consumer cannot go on */
	char failmsg[512];
	struct kqueue **q;
	uint32_t nq;
	uint32_t rr; /* where raftq_consume starts */
	struct kcall *calls;
	bool describing, heartbeating, leaving, left;
	uint32_t commits; /* COMMIT calls in flight */
	int commit_err;	  /* worst result since the last raftq_commit */
	uint64_t hb_at, commit_at;
	uint64_t generation;
	uint64_t resets;
	struct kbuf *retired; /* handed out; freed at the next consume */
	/* Broadcasting: positions read from the offset file. */
	struct ksaved *saved;
	uint32_t n_saved;
	char (*asked)[CL_NAME_MAX + 1]; /* topics with OFFSETS in flight */
};

/* ---- Buffers ---- */

static void kbuf_free(struct kbuf *b)
{
	for (uint32_t i = 0; i < b->n_plain; i++)
		free(b->plain[i]);
	free(b->plain);
	free(b->data);
	free(b->m);
	free(b);
}

static void retire_all(struct raftq_consumer *k, struct kqueue *q)
{
	while (q->head != NULL) {
		struct kbuf *b = q->head;
		q->head = b->next;
		b->next = k->retired;
		k->retired = b;
	}
	q->tail = NULL;
}

/*
 * Decodes whole batches (docs/disk-format.md) into messages at or after
 * @from. Takes @data (owned). Returns the buffer, or NULL with *err set
 * (RAFTQ_EMALFORMED: a batch or record does not parse; RAFTQ_ENOMEM).
 */
static struct kbuf *decode(uint8_t *data, size_t len, uint64_t from, int *err)
{
	struct kbuf *b = calloc(1, sizeof *b);
	if (b == NULL) {
		free(data);
		*err = RAFTQ_ENOMEM;
		return NULL;
	}
	b->data = data;
	uint32_t cap = 0;
	size_t at = 0;
	struct rpc_batch bt;
	int more = 0;
	*err = 0;
	while (*err == 0 && (more = rpc_batch_next(data, len, &at, &bt)) == 1) {
		const uint8_t *payload = bt.payload;
		size_t pl = bt.payload_len;
		if (bt.flags & RPC_BATCH_LZ4) {
			uint8_t *z = lzf_decode(payload, pl, &pl);
			uint8_t **v =
			    realloc(b->plain, (b->n_plain + 1) * sizeof *v);
			if (v != NULL)
				b->plain = v;
			if (z == NULL || v == NULL) {
				free(z);
				*err = RAFTQ_EMALFORMED;
				break;
			}
			b->plain[b->n_plain++] = z;
			payload = z;
		}
		size_t rp = 0;
		struct rpc_record rec;
		uint32_t got = 0;
		int rv;
		while ((rv = rpc_record_next(payload, pl, &rp, &rec)) == 1) {
			uint64_t off = bt.base_offset + got++;
			if (off < from)
				continue;
			if (b->n == cap) {
				cap = cap ? cap * 2 : 256;
				struct kmsg *m = realloc(b->m, cap * sizeof *m);
				if (m == NULL) {
					*err = RAFTQ_ENOMEM;
					break;
				}
				b->m = m;
			}
			b->m[b->n++] = (struct kmsg){off,
						     bt.store_time,
						     rec.key,
						     rec.body,
						     rec.key_len,
						     rec.body_len,
						     rec.key != NULL};
		}
		if (*err == 0 && (rv < 0 || got != bt.count))
			*err = RAFTQ_EMALFORMED;
	}
	if (*err == 0 && more < 0)
		*err = RAFTQ_EMALFORMED;
	if (*err != 0) {
		kbuf_free(b);
		return NULL;
	}
	return b;
}

/* ---- Queues ---- */

static struct kqueue *find_queue(struct raftq_consumer *k, const char *topic,
				 const char *broker, uint32_t qid)
{
	for (uint32_t i = 0; i < k->nq; i++)
		if (k->q[i]->queue_id == qid &&
		    strcmp(k->q[i]->broker, broker) == 0 &&
		    strcmp(k->q[i]->topic, topic) == 0)
			return k->q[i];
	return NULL;
}

/* The queue goes to @offset under @epoch: nothing buffered is delivered. */
static void move_queue(struct raftq_consumer *k, struct kqueue *q,
		       uint64_t offset, uint64_t epoch)
{
	retire_all(k, q);
	q->gen++;
	q->pos = q->deliver = q->committed = offset;
	q->epoch = epoch;
	q->next_fetch_at = 0;
	q->idle_ms = 0;
}

static void drop_queue(struct raftq_consumer *k, uint32_t i)
{
	struct kqueue *q = k->q[i];
	retire_all(k, q);
	if (q->fetch != NULL)
		q->fetch->q = NULL;
	free(q);
	k->q[i] = k->q[--k->nq];
}

static int cmp_queue(const void *a, const void *b)
{
	const struct kqueue *x = *(struct kqueue *const *)a;
	const struct kqueue *y = *(struct kqueue *const *)b;
	int c = strcmp(x->topic, y->topic);
	if (c == 0)
		c = strcmp(x->broker, y->broker);
	if (c == 0)
		c = x->queue_id < y->queue_id ? -1 : x->queue_id > y->queue_id;
	return c;
}

/* ---- Leader calls ---- */

static void on_kcall(struct rpc_call *call, int status, struct rpc_frame *f);

static struct kcall *kcall_new(struct raftq_consumer *k, enum kkind kind)
{
	struct kcall *x = calloc(1, sizeof *x);
	if (x == NULL)
		return NULL;
	x->k = k;
	x->kind = kind;
	x->call.data = x;
	return x;
}

static void kcall_link(struct raftq_consumer *k, struct kcall *x)
{
	x->prev = NULL;
	x->next = k->calls;
	if (k->calls)
		k->calls->prev = x;
	k->calls = x;
}

static void kcall_unlink(struct raftq_consumer *k, struct kcall *x)
{
	if (x->prev)
		x->prev->next = x->next;
	else
		k->calls = x->next;
	if (x->next)
		x->next->prev = x->prev;
}

static void kcall_free(struct kcall *x)
{
	free(x->items);
	free(x);
}

/* Sends @body to the leader. Returns true if the call is on its way
 * (on_kcall will run), false (and frees @x) otherwise. */
static bool leader_send(struct raftq_consumer *k, struct kcall *x,
			uint16_t type, const void *body)
{
	struct rpc_client *rc = cl_leader(k->c);
	if (rc == NULL || rpc_client_request(rc, &x->call, type, body,
					     k->c->timeout_ms, on_kcall) != 0) {
		kcall_free(x);
		return false;
	}
	kcall_link(k, x);
	return true;
}

static void send_describe(struct raftq_consumer *k)
{
	struct kcall *x = kcall_new(k, KC_DESCRIBE);
	struct rpc_group_req in = {k->group};
	if (x != NULL && leader_send(k, x, RPC_GROUP_DESCRIBE, &in))
		k->describing = true;
}

static void send_heartbeat(struct raftq_consumer *k)
{
	struct kcall *x = kcall_new(k, KC_HEARTBEAT);
	const char **t = calloc(k->n_topics, sizeof *t);
	if (x == NULL || t == NULL) {
		free(x);
		free(t);
		return;
	}
	for (uint32_t i = 0; i < k->n_topics; i++)
		t[i] = k->topics[i];
	struct rpc_heartbeat_req in = {
	    k->group, k->member, k->c->client_id, {t, k->n_topics}};
	if (leader_send(k, x, RPC_HEARTBEAT, &in))
		k->heartbeating = true;
	free(t);
}

static bool asked(struct raftq_consumer *k, const char *topic)
{
	for (uint32_t i = 0; i < k->n_topics; i++)
		if (strcmp(k->asked[i], topic) == 0)
			return true;
	return false;
}

static void send_offsets(struct raftq_consumer *k, const char *topic)
{
	struct kcall *x = kcall_new(k, KC_OFFSETS);
	if (x == NULL)
		return;
	snprintf(x->topic, sizeof x->topic, "%s", topic);
	struct rpc_offsets_req in = {k->group, topic};
	if (!leader_send(k, x, RPC_OFFSETS, &in))
		return;
	for (uint32_t i = 0; i < k->n_topics; i++)
		if (k->asked[i][0] == '\0') {
			snprintf(k->asked[i], sizeof k->asked[i], "%s", topic);
			break;
		}
}

static void unask(struct raftq_consumer *k, const char *topic)
{
	for (uint32_t i = 0; i < k->n_topics; i++)
		if (strcmp(k->asked[i], topic) == 0)
			k->asked[i][0] = '\0';
}

/* ---- Broadcasting: the offset file ---- */

static int save_file(struct raftq_consumer *k)
{
	struct raftq_client *c = k->c;
	char tmp[4200];
	snprintf(tmp, sizeof tmp, "%s.tmp", k->offset_file);
	FILE *f = fopen(tmp, "w");
	if (f == NULL)
		return cl_fail(c, RAFTQ_EIO, "offset file %s: %s", tmp,
			       strerror(errno));
	fprintf(f, "# raftq broadcasting offsets v1: group %s member %s\n",
		k->group, k->member);
	bool ok = true;
	/* Lines of queues not read now (a topic dropped from the config)
	 * are kept. */
	for (uint32_t i = 0; i < k->n_saved; i++) {
		const struct ksaved *sv = &k->saved[i];
		struct kqueue *q =
		    find_queue(k, sv->topic, sv->broker, sv->queue_id);
		if (q == NULL || q->pos == POS_UNKNOWN)
			ok &= fprintf(f, "%s\t%s\t%u\t%" PRIu64 "\n", sv->topic,
				      sv->broker, sv->queue_id, sv->offset) > 0;
	}
	for (uint32_t j = 0; j < k->nq; j++) {
		struct kqueue *q = k->q[j];
		if (q->pos == POS_UNKNOWN)
			continue;
		ok &= fprintf(f, "%s\t%s\t%u\t%" PRIu64 "\n", q->topic,
			      q->broker, q->queue_id, q->deliver) > 0;
	}
	ok &= fflush(f) == 0 && fsync(fileno(f)) == 0;
	ok &= fclose(f) == 0;
	if (!ok || rename(tmp, k->offset_file) != 0) {
		int e = errno;
		unlink(tmp);
		return cl_fail(c, RAFTQ_EIO, "offset file %s: %s",
			       k->offset_file, strerror(e));
	}
	for (uint32_t j = 0; j < k->nq; j++)
		if (k->q[j]->pos != POS_UNKNOWN)
			k->q[j]->committed = k->q[j]->deliver;
	return 0;
}

/* Reads the offset file (missing: nothing saved yet). */
static int load_file(struct raftq_consumer *k)
{
	struct raftq_client *c = k->c;
	FILE *f = fopen(k->offset_file, "r");
	if (f == NULL)
		return errno == ENOENT
			   ? 0
			   : cl_fail(c, RAFTQ_EIO, "offset file %s: %s",
				     k->offset_file, strerror(errno));
	char line[1024];
	int rv = 0;
	for (unsigned no = 1; fgets(line, sizeof line, f) != NULL; no++) {
		if (line[0] == '#' || line[0] == '\n')
			continue;
		char topic[CL_NAME_MAX + 1], broker[CL_NAME_MAX + 1];
		unsigned qid;
		uint64_t off;
		if (sscanf(line, "%255[^\t]\t%255[^\t]\t%u\t%" SCNu64, topic,
			   broker, &qid, &off) != 4) {
			rv = cl_fail(c, RAFTQ_EIO,
				     "offset file %s line %u: expected "
				     "'topic<TAB>broker<TAB>queue<TAB>offset'",
				     k->offset_file, no);
			break;
		}
		struct ksaved *v =
		    realloc(k->saved, (k->n_saved + 1) * sizeof *v);
		if (v == NULL) {
			rv = cl_fail(c, RAFTQ_ENOMEM, "out of memory");
			break;
		}
		k->saved = v;
		struct ksaved *sv = &v[k->n_saved++];
		snprintf(sv->topic, sizeof sv->topic, "%s", topic);
		snprintf(sv->broker, sizeof sv->broker, "%s", broker);
		sv->queue_id = qid;
		sv->offset = off;
	}
	fclose(f);
	return rv;
}

static const struct ksaved *saved_for(const struct raftq_consumer *k,
				      const struct kqueue *q)
{
	for (uint32_t i = 0; i < k->n_saved; i++) {
		const struct ksaved *sv = &k->saved[i];
		if (sv->queue_id == q->queue_id &&
		    strcmp(sv->broker, q->broker) == 0 &&
		    strcmp(sv->topic, q->topic) == 0)
			return sv;
	}
	return NULL;
}

/* ---- Commits ---- */

/* Commits every queue whose delivered position is ahead of the group's.
 * Clustering: one COMMIT per topic; broadcasting: the offset file. */
static void commit_now(struct raftq_consumer *k)
{
	if (k->mode == MODE_BROADCASTING) {
		bool any = false;
		for (uint32_t i = 0; i < k->nq; i++)
			any |= k->q[i]->pos != POS_UNKNOWN &&
			       k->q[i]->deliver != k->q[i]->committed;
		if (any) {
			int rv = save_file(k);
			if (rv != 0 && k->commit_err == 0)
				k->commit_err = rv;
		}
		return;
	}
	if (k->mode != MODE_CLUSTERING)
		return;
	for (uint32_t t = 0; t < k->n_topics; t++) {
		uint32_t n = 0;
		for (uint32_t i = 0; i < k->nq; i++)
			n += strcmp(k->q[i]->topic, k->topics[t]) == 0 &&
			     k->q[i]->pos != POS_UNKNOWN &&
			     k->q[i]->deliver != k->q[i]->committed;
		if (n == 0)
			continue;
		struct kcall *x = kcall_new(k, KC_COMMIT);
		struct rpc_commit_item *wi = calloc(n, sizeof *wi);
		if (x != NULL)
			x->items = calloc(n, sizeof *x->items);
		if (x == NULL || x->items == NULL || wi == NULL) {
			if (x != NULL)
				kcall_free(x);
			free(wi);
			return;
		}
		snprintf(x->topic, sizeof x->topic, "%s", k->topics[t]);
		for (uint32_t i = 0; i < k->nq; i++) {
			struct kqueue *q = k->q[i];
			if (strcmp(q->topic, k->topics[t]) != 0 ||
			    q->pos == POS_UNKNOWN || q->deliver == q->committed)
				continue;
			struct citem *ci = &x->items[x->n];
			snprintf(ci->broker, sizeof ci->broker, "%s",
				 q->broker);
			ci->queue_id = q->queue_id;
			ci->offset = q->deliver;
			ci->epoch = q->epoch;
			wi[x->n++] = (struct rpc_commit_item){
			    x->topic, ci->broker, ci->queue_id, ci->offset,
			    ci->epoch};
		}
		struct rpc_commit_req in = {k->group, k->member, {wi, x->n}};
		if (leader_send(k, x, RPC_COMMIT, &in))
			k->commits++;
		else if (k->commit_err == 0)
			k->commit_err = RAFTQ_EUNAVAILABLE;
		free(wi);
	}
}

/* ---- Answers ---- */

static void apply_assignment(struct raftq_consumer *k,
			     const struct rpc_heartbeat_resp *r)
{
	const struct rpc_assignment *a = r->assignment.v;
	for (uint32_t i = 0; i < k->nq; i++)
		k->q[i]->assigned = false;
	for (uint32_t i = 0; i < r->assignment.n; i++) {
		struct kqueue *q =
		    find_queue(k, a[i].topic, a[i].broker_name, a[i].queue_id);
		if (q != NULL) {
			q->assigned = true;
			continue;
		}
		struct kqueue **v = realloc(k->q, (k->nq + 1) * sizeof *v);
		q = calloc(1, sizeof *q);
		if (v != NULL)
			k->q = v;
		if (v == NULL || q == NULL) {
			free(q);
			return; /* the next heartbeat tries again */
		}
		snprintf(q->topic, sizeof q->topic, "%s", a[i].topic);
		snprintf(q->broker, sizeof q->broker, "%s", a[i].broker_name);
		q->queue_id = a[i].queue_id;
		q->pos = q->deliver = q->committed = POS_UNKNOWN;
		q->assigned = true;
		k->q[k->nq++] = q;
	}
	/* Queues given away: commit where this member stopped first, so the
	 * next owner starts there. */
	bool lost = false;
	for (uint32_t i = 0; i < k->nq; i++)
		lost |= !k->q[i]->assigned;
	if (lost && !k->manual_commit)
		commit_now(k);
	for (uint32_t i = k->nq; i-- > 0;)
		if (!k->q[i]->assigned)
			drop_queue(k, i);
	qsort(k->q, k->nq, sizeof *k->q, cmp_queue);
	k->generation = r->generation;
}

static void apply_offsets(struct raftq_consumer *k, const char *topic,
			  const struct rpc_offsets_resp *r)
{
	const struct rpc_offset_info *o = r->queues.v;
	for (uint32_t i = 0; i < r->queues.n; i++) {
		struct kqueue *q =
		    find_queue(k, topic, o[i].broker_name, o[i].queue_id);
		if (q == NULL)
			continue;
		if (q->pos == POS_UNKNOWN) {
			move_queue(k, q, o[i].offset, r->epoch);
			q->gen = 0;
		}
	}
}

static void on_stale(struct raftq_consumer *k, const char *topic,
		     const struct rpc_commit_resp *r)
{
	const struct rpc_offset_info *o = r->offsets.v;
	bool moved = false;
	for (uint32_t i = 0; i < r->offsets.n; i++) {
		struct kqueue *q =
		    find_queue(k, topic, o[i].broker_name, o[i].queue_id);
		if (q != NULL && q->pos != POS_UNKNOWN && q->epoch < r->epoch) {
			move_queue(k, q, o[i].offset, r->epoch);
			moved = true;
		}
	}
	if (moved)
		k->resets++;
}

static void on_kcall(struct rpc_call *call, int status, struct rpc_frame *f)
{
	struct kcall *x = call->data;
	struct raftq_consumer *k = x->k;
	if (k == NULL) {
		kcall_free(x);
		return;
	}
	kcall_unlink(k, x);
	struct raftq_client *c = k->c;
	c->events++;
	uint64_t now = cl_now(c);
	union {
		struct rpc_group_describe_resp describe;
		struct rpc_heartbeat_resp hb;
		struct rpc_offsets_resp offsets;
		struct rpc_commit_resp commit;
		struct rpc_empty leave;
	} r;
	static const uint16_t types[] = {RPC_GROUP_DESCRIBE, RPC_HEARTBEAT,
					 RPC_OFFSETS, RPC_COMMIT, RPC_LEAVE};
	struct rpc_status st = {RPC_OK, NULL, NULL};
	int err = cl_from_rpc(status);
	if (status == 0 && cl_decode(f, types[x->kind], &r, &st) != 0)
		err = RAFTQ_EMALFORMED;
	if (err == 0 && st.code != RPC_OK && st.code != RPC_STALE_EPOCH)
		err = cl_from_code(st.code);
	if (err != 0) {
		if (status != 0 || st.code == RPC_NOT_LEADER)
			cl_leader_failed(c, status, status ? NULL : &st);
		if (st.code == RPC_UNKNOWN_GROUP ||
		    st.code == RPC_UNKNOWN_TOPIC) {
			k->failed =
			    cl_fail(c, err, "%s: %s", rpc_code_name(st.code),
				    st.message ? st.message : "");
			snprintf(k->failmsg, sizeof k->failmsg, "%s",
				 c->errmsg);
		} else if (st.message != NULL) {
			cl_fail(c, err, "%s: %s", rpc_code_name(st.code),
				st.message);
		} else {
			cl_fail(c, err, "%s", rpc_strerror(status));
		}
	}
	switch (x->kind) {
	case KC_DESCRIBE:
		k->describing = false;
		if (err == 0) {
			k->mode = strcmp(r.describe.mode, "broadcasting") == 0
				      ? MODE_BROADCASTING
				      : MODE_CLUSTERING;
			if (k->mode == MODE_BROADCASTING) {
				int rv = load_file(k);
				if (rv != 0) {
					k->failed = rv;
					snprintf(k->failmsg, sizeof k->failmsg,
						 "%s", c->errmsg);
				}
			}
		}
		break;
	case KC_HEARTBEAT:
		k->heartbeating = false;
		if (err == 0) {
			apply_assignment(k, &r.hb);
			k->hb_at = now + k->heartbeat_ms;
		} else {
			k->hb_at = now + LEADER_RETRY_MS;
		}
		break;
	case KC_OFFSETS:
		unask(k, x->topic);
		if (err == 0)
			apply_offsets(k, x->topic, &r.offsets);
		break;
	case KC_COMMIT:
		k->commits--;
		if (err != 0) {
			if (k->commit_err == 0)
				k->commit_err = err;
			break;
		}
		for (uint32_t i = 0; i < x->n && i < r.commit.codes.n; i++) {
			struct kqueue *q =
			    find_queue(k, x->topic, x->items[i].broker,
				       x->items[i].queue_id);
			if (r.commit.codes.v[i] == RPC_OK && q != NULL &&
			    q->epoch == x->items[i].epoch)
				q->committed = x->items[i].offset;
		}
		if (st.code == RPC_STALE_EPOCH) {
			on_stale(k, x->topic, &r.commit);
			k->commit_err = RAFTQ_ESTALE_EPOCH;
		}
		break;
	case KC_LEAVE:
		k->leaving = false;
		k->left = true; /* failed or not: the session times out */
		break;
	}
	kcall_free(x);
}

static void on_fetched(struct rpc_call *call, int status, struct rpc_frame *f)
{
	struct kfetch *x = call->data;
	struct kqueue *q = x->q;
	struct raftq_consumer *k = x->k;
	if (q == NULL) {
		free(x);
		return;
	}
	q->fetch = NULL;
	struct raftq_client *c = k->c;
	c->events++;
	uint64_t now = cl_now(c);
	if (x->gen != q->gen) { /* the queue moved meanwhile */
		free(x);
		return;
	}
	free(x);
	struct rpc_fetch_resp r;
	struct rpc_status st = {RPC_OK, NULL, NULL};
	if (status == 0 && cl_decode(f, RPC_FETCH, &r, &st) != 0)
		status = RPC_EMALFORMED;
	if (status != 0) {
		q->next_fetch_at = now + FETCH_RETRY_MS;
		if (status != RPC_ETIMEDOUT)
			cl_route_refresh(c);
		return;
	}
	if (st.code == RPC_OFFSET_MOVED) {
		if (r.epoch > q->epoch) {
			move_queue(k, q, r.offset, r.epoch);
			k->resets++;
		} else {
			q->next_fetch_at = now + FETCH_RETRY_MS;
		}
		return;
	}
	if (st.code != RPC_OK) {
		/* A broker's word is not final: it may not have applied a
		 * new topic or group yet (the leader's answers are). */
		cl_fail(c, cl_from_code(st.code), "%s: %s: %s", q->broker,
			rpc_code_name(st.code), st.message ? st.message : "");
		if (st.code == RPC_UNKNOWN_TOPIC || st.code == RPC_NOT_FOUND)
			cl_route_refresh(c);
		q->next_fetch_at = now + FETCH_RETRY_MS;
		return;
	}
	/* Retention went past the position: continue where data starts. */
	uint64_t from = r.offset > q->pos ? r.offset : q->pos;
	uint8_t *data = malloc(r.batches.len ? r.batches.len : 1);
	if (data == NULL) {
		q->next_fetch_at = now + FETCH_RETRY_MS;
		return;
	}
	memcpy(data, r.batches.ptr, r.batches.len);
	int err;
	struct kbuf *b = decode(data, r.batches.len, from, &err);
	if (b == NULL) {
		cl_fail(c, err, "%s queue %u of %s: %s at offset %" PRIu64,
			q->broker, q->queue_id, q->topic,
			err == RAFTQ_ENOMEM ? "out of memory"
					    : "malformed batch",
			from);
		q->next_fetch_at = now + FETCH_RETRY_MS;
		return;
	}
	if (b->n == 0) {
		kbuf_free(b);
		if (from > q->pos && q->deliver == q->pos)
			q->deliver = from;
		q->pos = from;
		q->idle_ms = q->idle_ms ? q->idle_ms * 2 : 1;
		if (q->idle_ms > IDLE_MAX_MS)
			q->idle_ms = IDLE_MAX_MS;
		q->next_fetch_at = now + q->idle_ms;
		return;
	}
	q->idle_ms = 0;
	q->pos = b->m[b->n - 1].offset + 1;
	if (q->tail)
		q->tail->next = b;
	else
		q->head = b;
	q->tail = b;
}

static uint32_t buffered_bufs(const struct kqueue *q)
{
	uint32_t n = 0;
	for (const struct kbuf *b = q->head; b != NULL; b = b->next)
		n++;
	return n;
}

static void send_fetch(struct raftq_consumer *k, struct kqueue *q)
{
	struct raftq_client *c = k->c;
	int bi = cl_broker_index(c, q->broker);
	if (bi < 0 || c->brokers[bi].listen[0] == '\0') {
		cl_route_refresh(c);
		q->next_fetch_at = cl_now(c) + FETCH_RETRY_MS;
		return;
	}
	struct rpc_client *rc = cl_conn(c, c->brokers[bi].listen);
	struct kfetch *x = calloc(1, sizeof *x);
	if (rc == NULL || x == NULL) {
		free(x);
		return;
	}
	x->q = q;
	x->k = k;
	x->gen = q->gen;
	x->pos = q->pos;
	x->call.data = x;
	struct rpc_fetch_req in = {k->mode == MODE_CLUSTERING ? k->group : NULL,
				   q->topic,
				   q->queue_id,
				   q->pos,
				   q->epoch,
				   k->fetch_bytes};
	if (rpc_client_request(rc, &x->call, RPC_FETCH, &in, c->timeout_ms,
			       on_fetched) != 0) {
		free(x);
		q->next_fetch_at = cl_now(c) + FETCH_RETRY_MS;
		return;
	}
	q->fetch = x;
}

/* ---- Notices ---- */

void cl_consumer_notice(struct raftq_consumer *k, struct rpc_frame *f)
{
	if (f->type == RPC_REBALANCE_NOTICE) {
		struct rpc_rebalance_notice n;
		if (rpc_decode(f, RPC_REBALANCE_NOTICE, &n, NULL, NULL) == 0 &&
		    strcmp(n.group, k->group) == 0)
			k->hb_at = 0; /* ask for the new assignment now */
		return;
	}
	if (f->type != RPC_RESET_NOTICE)
		return;
	struct rpc_reset_notice n;
	if (rpc_decode(f, RPC_RESET_NOTICE, &n, NULL, NULL) != 0 ||
	    strcmp(n.group, k->group) != 0)
		return;
	const struct rpc_offset_info *o = n.queues.v;
	bool moved = false;
	for (uint32_t i = 0; i < k->nq; i++) {
		struct kqueue *q = k->q[i];
		if (strcmp(q->topic, n.topic) != 0 || q->pos == POS_UNKNOWN ||
		    q->epoch >= n.epoch)
			continue;
		const struct rpc_offset_info *hit = NULL;
		for (uint32_t j = 0; j < n.queues.n && hit == NULL; j++)
			if (o[j].queue_id == q->queue_id &&
			    strcmp(o[j].broker_name, q->broker) == 0)
				hit = &o[j];
		if (hit != NULL) {
			move_queue(k, q, hit->offset, n.epoch);
			moved = true;
		} else {
			/* Not part of this reset: the position stands,
			 * under the new epoch. */
			q->epoch = n.epoch;
			q->gen++;
			if (q->fetch == NULL)
				q->next_fetch_at = 0;
		}
	}
	if (moved)
		k->resets++;
}

/* ---- The tick ---- */

void cl_consumer_tick(struct raftq_consumer *k)
{
	struct raftq_client *c = k->c;
	if (k->failed != 0 || k->left || k->leaving)
		return;
	uint64_t now = uv_now(&c->loop);
	if (k->mode == MODE_UNKNOWN) {
		if (!k->describing)
			send_describe(k);
		return;
	}
	if (!k->heartbeating && now >= k->hb_at)
		send_heartbeat(k);
	for (uint32_t i = 0; i < k->nq; i++) {
		struct kqueue *q = k->q[i];
		if (q->pos != POS_UNKNOWN)
			continue;
		if (k->mode == MODE_BROADCASTING) {
			const struct ksaved *s = saved_for(k, q);
			if (s != NULL) {
				move_queue(k, q, s->offset, 0);
				q->gen = 0;
				continue;
			}
		}
		if (!asked(k, q->topic))
			send_offsets(k, q->topic);
	}
	if (!k->manual_commit && now >= k->commit_at && k->commits == 0) {
		commit_now(k);
		k->commit_at = now + k->auto_commit_ms;
	}
	for (uint32_t i = 0; i < k->nq; i++) {
		struct kqueue *q = k->q[i];
		if (q->pos != POS_UNKNOWN && q->fetch == NULL &&
		    now >= q->next_fetch_at && buffered_bufs(q) < 2)
			send_fetch(k, q);
	}
}

/* ---- API ---- */

int raftq_consumer_new(struct raftq_client *c,
		       const struct raftq_consumer_config *cfg,
		       struct raftq_consumer **out)
{
	if (cfg == NULL || out == NULL || cfg->group == NULL ||
	    cfg->group[0] == '\0' || strlen(cfg->group) > CL_NAME_MAX)
		return cl_fail(c, RAFTQ_EINVAL,
			       "consumer: a group is required");
	if (cfg->n_topics == 0 || cfg->n_topics > 64 || cfg->topics == NULL)
		return cl_fail(c, RAFTQ_EINVAL,
			       "consumer: 1 to 64 topics are required");
	for (uint32_t i = 0; i < cfg->n_topics; i++)
		if (cfg->topics[i] == NULL || cfg->topics[i][0] == '\0' ||
		    strlen(cfg->topics[i]) > CL_NAME_MAX)
			return cl_fail(c, RAFTQ_EINVAL,
				       "consumer: topic %u is empty or too "
				       "long",
				       i);
	struct raftq_consumer *k = calloc(1, sizeof *k);
	if (k != NULL) {
		k->topics = calloc(cfg->n_topics, sizeof *k->topics);
		k->asked = calloc(cfg->n_topics, sizeof *k->asked);
	}
	if (k == NULL || k->topics == NULL || k->asked == NULL ||
	    cl_attach(c, NULL, k) != 0) {
		if (k != NULL) {
			free(k->topics);
			free(k->asked);
		}
		free(k);
		return cl_fail(c, RAFTQ_ENOMEM, "out of memory");
	}
	k->c = c;
	snprintf(k->group, sizeof k->group, "%s", cfg->group);
	for (uint32_t i = 0; i < cfg->n_topics; i++)
		snprintf(k->topics[i], sizeof k->topics[i], "%s",
			 cfg->topics[i]);
	k->n_topics = cfg->n_topics;
	if (cfg->member_id != NULL)
		snprintf(k->member, sizeof k->member, "%s", cfg->member_id);
	else {
		uint64_t r = cl_now(c) ^ (uint64_t)(uintptr_t)k ^
			     ((uint64_t)getpid() << 32);
		snprintf(k->member, sizeof k->member, "%.200s-%08" PRIx64,
			 c->client_id, r & 0xffffffffu);
	}
	k->manual_commit = cfg->manual_commit;
	k->auto_commit_ms = cfg->auto_commit_ms ? cfg->auto_commit_ms : 1000;
	k->heartbeat_ms = cfg->heartbeat_ms ? cfg->heartbeat_ms : 1000;
	k->fetch_bytes = cfg->fetch_bytes ? cfg->fetch_bytes : 1u << 20;
	if (cfg->offset_file != NULL)
		snprintf(k->offset_file, sizeof k->offset_file, "%s",
			 cfg->offset_file);
	else
		snprintf(k->offset_file, sizeof k->offset_file,
			 "raftq-%s-%s.offsets", k->group, k->member);
	k->commit_at = cl_now(c) + k->auto_commit_ms;
	*out = k;
	return 0;
}

static void free_retired(struct raftq_consumer *k)
{
	while (k->retired != NULL) {
		struct kbuf *b = k->retired;
		k->retired = b->next;
		kbuf_free(b);
	}
}

static bool has_messages(void *arg)
{
	struct raftq_consumer *k = arg;
	if (k->failed != 0)
		return true;
	for (uint32_t i = 0; i < k->nq; i++)
		if (k->q[i]->head != NULL)
			return true;
	return false;
}

int raftq_consume(struct raftq_consumer *k, struct raftq_message *out,
		  size_t max, int timeout_ms)
{
	struct raftq_client *c = k->c;
	if (c->in_callback || max == 0 || out == NULL)
		return cl_fail(c, RAFTQ_EINVAL,
			       c->in_callback ? "raftq_consume was called "
						"from a callback"
					      : "raftq_consume: no room for "
						"messages");
	free_retired(k);
	/* Always runs the loop once first: notices already received are
	 * handled before anything buffered is handed out. */
	cl_run_until(c, timeout_ms, has_messages, k);
	if (k->failed != 0)
		return cl_fail(c, k->failed, "%s", k->failmsg);
	size_t n = 0;
	bool progress = true;
	while (n < max && progress) {
		progress = false;
		for (uint32_t j = 0; j < k->nq && n < max; j++) {
			struct kqueue *q = k->q[(k->rr + j) % k->nq];
			struct kbuf *b = q->head;
			if (b == NULL)
				continue;
			/* Up to 64 from one queue, then the next queue. */
			for (int take = 0; take < 64 && n < max && b->i < b->n;
			     take++) {
				const struct kmsg *m = &b->m[b->i++];
				out[n++] = (struct raftq_message){
				    q->topic,	   q->broker,
				    q->queue_id,   m->offset,
				    m->store_time, m->has_key ? m->key : NULL,
				    m->key_len,	   m->body,
				    m->body_len};
				q->deliver = m->offset + 1;
			}
			if (b->i == b->n) {
				q->head = b->next;
				if (q->head == NULL)
					q->tail = NULL;
				b->next = k->retired;
				k->retired = b;
			}
			progress = true;
		}
		k->rr++;
	}
	return (int)n;
}

static bool commits_done(void *arg)
{
	struct raftq_consumer *k = arg;
	return k->commits == 0;
}

int raftq_commit(struct raftq_consumer *k, int timeout_ms)
{
	struct raftq_client *c = k->c;
	if (c->in_callback)
		return cl_fail(c, RAFTQ_EINVAL,
			       "raftq_commit was called from a callback");
	k->commit_err = 0;
	/* Learn of resets first: a commit under a stale epoch is refused
	 * anyway. */
	uv_run(&c->loop, UV_RUN_NOWAIT);
	commit_now(k);
	int rv = cl_run_until(c, timeout_ms, commits_done, k);
	if (rv != 0)
		return cl_fail(c, rv, "commit: no answer within %d ms",
			       timeout_ms);
	return k->commit_err;
}

size_t raftq_consumer_assignment(const struct raftq_consumer *k,
				 struct raftq_queue *out, size_t max)
{
	for (uint32_t i = 0; i < k->nq && i < max; i++)
		out[i] = (struct raftq_queue){k->q[i]->topic, k->q[i]->broker,
					      k->q[i]->queue_id,
					      k->q[i]->deliver, k->q[i]->epoch};
	return k->nq;
}

uint64_t raftq_consumer_resets(const struct raftq_consumer *k)
{
	return k->resets;
}

static bool left(void *arg)
{
	struct raftq_consumer *k = arg;
	return k->left;
}

int raftq_consumer_close(struct raftq_consumer *k, int timeout_ms)
{
	struct raftq_client *c = k->c;
	if (c->in_callback)
		return cl_fail(c, RAFTQ_EINVAL,
			       "raftq_consumer_close was called from a "
			       "callback");
	int rv = 0;
	if (!k->manual_commit && k->failed == 0)
		rv = raftq_commit(k, timeout_ms);
	if (k->mode != MODE_UNKNOWN && k->failed == 0) {
		struct kcall *x = kcall_new(k, KC_LEAVE);
		struct rpc_leave_req in = {k->group, k->member};
		if (x != NULL && leader_send(k, x, RPC_LEAVE, &in)) {
			k->leaving = true;
			cl_run_until(c, timeout_ms, left, k);
		}
	}
	for (struct kcall *x = k->calls; x != NULL; x = x->next)
		x->k = NULL; /* freed when their answers come */
	while (k->nq > 0)
		drop_queue(k, k->nq - 1);
	free_retired(k);
	cl_detach(c, NULL, k);
	free(k->saved);
	free(k->q);
	free(k->topics);
	free(k->asked);
	free(k);
	return rv;
}
