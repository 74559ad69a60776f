/*
 * client_int.h — libraftq's internals, shared by client.c, producer.c and
 * consumer.c. Nothing outside client/ includes it.
 */
#ifndef RAFTQ_CLIENT_INT_H
#define RAFTQ_CLIENT_INT_H

#include <stdarg.h>

#include "raftq.h"
#include "rpc.h"

#define CL_NAME_MAX 255
#define CL_ADDR_MAX 64
#define CL_TICK_MS 2

/* One connection per address, kept for the client's life. */
struct cl_conn {
	struct rpc_client rpc;
	struct raftq_client *owner;
	char address[CL_ADDR_MAX];
};

struct cl_broker {
	char name[CL_NAME_MAX + 1];
	char listen[CL_ADDR_MAX];
	uint64_t down_until; /* ms (loop time): skip for new batches */
};

struct cl_topic {
	char name[CL_NAME_MAX + 1];
	uint32_t qpb;	    /* queues per broker */
	uint32_t n_brokers; /* brokers[] are indexes into client->brokers */
	uint32_t *brokers;
	/* Replication: the broker leading each queue (index order; an
	 * index into client->brokers, -1 while offline); NULL when every
	 * queue is led by its home. */
	int32_t *leaders;
};

/* The delivery reports of one batch, waiting to be handed to the
 * application: message i got offset base + i. */
struct cl_report {
	struct cl_report *next;
	raftq_delivery_cb cb;
	void *arg;
	int err;
	char topic[CL_NAME_MAX + 1];
	char broker[CL_NAME_MAX + 1];
	uint32_t queue_id;
	uint64_t base;
	int64_t store_time;
	bool scheduled; /* in the broker's schedule store until store_time */
	uint32_t count;
	void **opaques; /* owned; one per message */
};

struct raftq_client {
	uv_loop_t loop;
	char **bootstrap;
	uint32_t n_bootstrap;
	char client_id[CL_NAME_MAX + 1];
	char *token; /* [auth]: sent first on each connection; NULL: none */
	uint32_t timeout_ms;
	struct cl_conn **conns;
	uint32_t n_conns;
	/* Route table (ROUTE). */
	struct cl_broker *brokers;
	uint32_t n_brokers;
	struct cl_topic *topics;
	uint32_t n_topics;
	char leader[CL_ADDR_MAX]; /* "" while unknown */
	uint64_t route_version;	  /* bumped by every refresh */
	struct rpc_call route_call;
	bool route_inflight;
	uint32_t route_next; /* which address to ask next */
	uint64_t route_asked_at;
	char route_asked[CL_ADDR_MAX]; /* where the last ROUTE went */
	bool route_from_leader;	       /* the last answer was the leader's */
	bool route_want_leader;	       /* ask the leader next */
	/* Delivery reports, fired after the loop returns. */
	struct cl_report *reports, *reports_tail;
	uint32_t n_reports;
	struct raftq_producer **producers;
	uint32_t n_producers;
	struct raftq_consumer **consumers;
	uint32_t n_consumers;
	uv_timer_t tick;
	bool in_callback;
	bool closing;
	uint64_t events; /* bumped by anything raftq_poll(-1) waits for */
	char errmsg[512];
};

/* ---- client.c ---- */

/* Sets @c->errmsg and returns @err. */
int cl_fail(struct raftq_client *c, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The connection to @address (made on first use), or NULL (ENOMEM). */
struct rpc_client *cl_conn(struct raftq_client *c, const char *address);
/* The leader's connection, or NULL while unknown (a route refresh is
 * then under way). */
struct rpc_client *cl_leader(struct raftq_client *c);
/* Asks for the route table again (at most one request at a time, and not
 * more often than every 50 ms). */
void cl_route_refresh(struct raftq_client *c);
/* A leader call failed: forget the leader (or take NOT_LEADER's hint). */
void cl_leader_failed(struct raftq_client *c, int err,
		      const struct rpc_status *st);
const struct cl_topic *cl_topic(const struct raftq_client *c, const char *name);
/* Index of broker @name in the route, or -1. */
int cl_broker_index(const struct raftq_client *c, const char *name);
/* The broker serving queue (@topic, @home, @qid) — its leader by the
 * route — or NULL while the queue is offline; @home when the route says
 * nothing of leaders (or does not know the queue). */
const char *cl_queue_leader(const struct raftq_client *c, const char *topic,
			    const char *home, uint32_t qid);
/* Maps a wire status code to a raftq error (0 for OK). */
int cl_from_code(uint32_t code);

#define CL_TOKEN_MAX 1024 /* bytes of a token (the broker's limit) */
/* The token of @cfg (token, else token_file's first line, else
 * $RAFTQ_TOKEN) into *@out (malloc'ed; NULL: none): 0, or RAFTQ_EINVAL /
 * RAFTQ_EIO / RAFTQ_ENOMEM with why in @errmsg (token.c). */
int cl_token_read(const struct raftq_config *cfg, char **out, char *errmsg,
		  size_t errlen);
/* A group or topic name the client can hold: 1..CL_NAME_MAX bytes. */
bool cl_name_ok(const char *name);
/* Maps an RPC_E* transport error to a raftq error. */
int cl_from_rpc(int err);
/* Decodes @f's response body of @type into @out (zeroed), with @st. */
int cl_decode(struct rpc_frame *f, uint16_t type, void *out,
	      struct rpc_status *st);
void cl_report(struct raftq_client *c, struct cl_report *r);
/* Runs the loop until @done(arg) or @timeout_ms (-1: no limit); fires
 * reports. Returns 0, RAFTQ_ETIMEDOUT or RAFTQ_EINVAL (in a callback). */
int cl_run_until(struct raftq_client *c, int timeout_ms,
		 bool (*done)(void *arg), void *arg);
uint64_t cl_now(struct raftq_client *c);

/* Producers and consumers register to be ticked; 0 or RAFTQ_ENOMEM. */
int cl_attach(struct raftq_client *c, struct raftq_producer *p,
	      struct raftq_consumer *k);
void cl_detach(struct raftq_client *c, struct raftq_producer *p,
	       struct raftq_consumer *k);

/* ---- producer.c / consumer.c: driven by the client's tick ---- */
void cl_producer_tick(struct raftq_producer *p);
void cl_consumer_tick(struct raftq_consumer *k);
void cl_consumer_notice(struct raftq_consumer *k, struct rpc_frame *f);

#endif
