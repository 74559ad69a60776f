/*
 * client.c — the libraftq client: its private libuv loop, connections
 * (one per address), the route table, the leader, and delivery reports.
 *
 * Everything runs on the application's thread inside the calls that run
 * the client (raftq.h). Reports are queued while libuv callbacks run and
 * handed to the application only after uv_run returns, so an application
 * callback never runs inside the library's own I/O handling.
 *
 * Route: ROUTE is asked of the bootstrap addresses and every broker
 * learned so far, in turn, so the client keeps working while any node
 * that can answer is up. NOT_LEADER answers carry the leader's address,
 * taken at once; a lost leader connection forgets the leader and asks
 * for the route again.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../util/list.h"
#include "client_int.h"

static const struct {
	int code;
	const char *name, *text;
} errors[] = {
#define RAFTQ_ROW_(name, value, text) {value, #name, text},
    RAFTQ_ERRORS(RAFTQ_ROW_)
#undef RAFTQ_ROW_
};

const char *raftq_strerror(int err)
{
	for (size_t i = 0; i < sizeof errors / sizeof errors[0]; i++)
		if (errors[i].code == err)
			return errors[i].text;
	return "unknown error";
}

const char *raftq_errname(int err)
{
	for (size_t i = 0; i < sizeof errors / sizeof errors[0]; i++)
		if (errors[i].code == err)
			return errors[i].name;
	return "RAFTQ_E?";
}

int cl_fail(struct raftq_client *c, int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->errmsg, sizeof c->errmsg, fmt, ap);
	va_end(ap);
	return err;
}

const char *raftq_client_errmsg(const struct raftq_client *c)
{
	return c->errmsg;
}

uint64_t cl_now(struct raftq_client *c)
{
	uv_update_time(&c->loop);
	return uv_now(&c->loop);
}

int cl_from_code(uint32_t code)
{
	switch (code) {
	case RPC_OK:
		return 0;
	case RPC_NOT_LEADER:
	case RPC_UNAVAILABLE:
		return RAFTQ_EUNAVAILABLE;
	case RPC_UNKNOWN_TOPIC:
		return RAFTQ_EUNKNOWN_TOPIC;
	case RPC_UNKNOWN_GROUP:
		return RAFTQ_EUNKNOWN_GROUP;
	case RPC_STALE_EPOCH:
	case RPC_OFFSET_MOVED:
		return RAFTQ_ESTALE_EPOCH;
	case RPC_TIMEOUT:
		return RAFTQ_ETIMEDOUT;
	case RPC_FORBIDDEN:
		return RAFTQ_EFORBIDDEN;
	default:
		return RAFTQ_EREFUSED;
	}
}

int cl_from_rpc(int err)
{
	switch (err) {
	case 0:
		return 0;
	case RPC_ETIMEDOUT:
		return RAFTQ_ETIMEDOUT;
	case RPC_ENOMEM:
		return RAFTQ_ENOMEM;
	case RPC_EMALFORMED:
	case RPC_EVERSION:
		return RAFTQ_EMALFORMED;
	case RPC_EINVAL:
	case RPC_ETOOBIG:
		return RAFTQ_EINVAL;
	default: /* ECONNECT, ECLOSED, ECANCELED, EBUSY */
		return RAFTQ_EUNAVAILABLE;
	}
}

int cl_decode(struct rpc_frame *f, uint16_t type, void *out,
	      struct rpc_status *st)
{
	const char *why = NULL;
	int rv = rpc_decode(f, (uint16_t)(type | RPC_RESPONSE), out, st, &why);
	return rv == 0 ? 0 : RAFTQ_EMALFORMED;
}

/* ---- Connections ---- */

static void on_notice(struct rpc_client *rc, struct rpc_frame *f)
{
	struct cl_conn *cn = rc->data;
	struct raftq_client *c = cn->owner;
	c->events++;
	for (uint32_t i = 0; i < c->n_consumers; i++)
		cl_consumer_notice(c->consumers[i], f);
}

struct rpc_client *cl_conn(struct raftq_client *c, const char *address)
{
	for (uint32_t i = 0; i < c->n_conns; i++)
		if (strcmp(c->conns[i]->address, address) == 0)
			return &c->conns[i]->rpc;
	struct cl_conn **v =
	    realloc(c->conns, (c->n_conns + 1) * sizeof *c->conns);
	if (v == NULL)
		return NULL;
	c->conns = v;
	struct cl_conn *cn = calloc(1, sizeof *cn);
	if (cn == NULL)
		return NULL;
	snprintf(cn->address, sizeof cn->address, "%s", address);
	cn->owner = c;
	/* Reconnect quickly: a broker restart should cost little. */
	struct rpc_client_config cfg = {0, 20, 500};
	if (rpc_client_init(&cn->rpc, &c->loop, address, &cfg, on_notice) !=
	    0) {
		free(cn);
		return NULL;
	}
	cn->rpc.data = cn;
	/* Only an out-of-memory encode can fail (the token is at most
	 * CL_TOKEN_MAX bytes); the requests then meet FORBIDDEN
	 * "authentication required", which says what is wrong. */
	struct rpc_auth_req hello = {c->token, NULL};
	if (c->token != NULL)
		(void)rpc_client_hello(&cn->rpc, RPC_AUTH, &hello);
	c->conns[c->n_conns++] = cn;
	return &cn->rpc;
}

/* ---- Route table ---- */

const struct cl_topic *cl_topic(const struct raftq_client *c, const char *name)
{
	for (uint32_t i = 0; i < c->n_topics; i++)
		if (strcmp(c->topics[i].name, name) == 0)
			return &c->topics[i];
	return NULL;
}

int cl_broker_index(const struct raftq_client *c, const char *name)
{
	for (uint32_t i = 0; i < c->n_brokers; i++)
		if (strcmp(c->brokers[i].name, name) == 0)
			return (int)i;
	return -1;
}

const char *cl_queue_leader(const struct raftq_client *c, const char *topic,
			    const char *home, uint32_t qid)
{
	const struct cl_topic *t = cl_topic(c, topic);
	if (t == NULL || t->leaders == NULL || qid >= t->qpb)
		return home;
	for (uint32_t k = 0; k < t->n_brokers; k++) {
		if (strcmp(c->brokers[t->brokers[k]].name, home) != 0)
			continue;
		int32_t l = t->leaders[k * t->qpb + qid];
		return l < 0 ? NULL : c->brokers[l].name;
	}
	return home;
}

static void free_topic(struct cl_topic *t)
{
	free(t->brokers);
	free(t->leaders);
}

static void free_topics(struct raftq_client *c)
{
	for (uint32_t i = 0; i < c->n_topics; i++)
		free_topic(&c->topics[i]);
	free(c->topics);
	c->topics = NULL;
	c->n_topics = 0;
}

/* The queue leaders of @ti into @x (brokers @b, @nb of them): 0, or
 * RAFTQ_ENOMEM. A list of the wrong length is ignored (homes lead). */
static int take_leaders(struct cl_topic *x, const struct rpc_topic_info *ti,
			const struct cl_broker *b, uint32_t nb)
{
	uint32_t nq = x->n_brokers * x->qpb;
	x->leaders = NULL;
	if (ti->leaders.n == 0 || ti->leaders.n != nq)
		return 0;
	x->leaders = calloc(nq, sizeof *x->leaders);
	if (x->leaders == NULL) {
		free(x->brokers);
		return RAFTQ_ENOMEM;
	}
	for (uint32_t q = 0; q < nq; q++) {
		x->leaders[q] = -1;
		for (uint32_t j = 0; j < nb; j++)
			if (strcmp(b[j].name, ti->leaders.v[q]) == 0)
				x->leaders[q] = (int32_t)j;
	}
	return 0;
}

/* Installs a ROUTE answer; the old tables stay on failure. */
static int take_route(struct raftq_client *c, const struct rpc_route_resp *r)
{
	const struct rpc_broker_info *bi = r->brokers.v;
	const struct rpc_topic_info *ti = r->topics.v;
	struct cl_broker *b =
	    calloc(r->brokers.n ? r->brokers.n : 1, sizeof *b);
	struct cl_topic *t = calloc(r->topics.n ? r->topics.n : 1, sizeof *t);
	if (b == NULL || t == NULL) {
		free(b);
		free(t);
		return RAFTQ_ENOMEM;
	}
	for (uint32_t i = 0; i < r->brokers.n; i++) {
		snprintf(b[i].name, sizeof b[i].name, "%s", bi[i].name);
		snprintf(b[i].listen, sizeof b[i].listen, "%s",
			 bi[i].listen ? bi[i].listen : "");
		/* A broker marked down stays so until its time is up. */
		int old = cl_broker_index(c, b[i].name);
		if (old >= 0)
			b[i].down_until = c->brokers[old].down_until;
	}
	uint32_t nt = 0;
	int rv = 0;
	for (uint32_t i = 0; i < r->topics.n && rv == 0; i++) {
		struct cl_topic *x = &t[nt];
		snprintf(x->name, sizeof x->name, "%s", ti[i].name);
		x->qpb = ti[i].queues_per_broker;
		x->brokers = calloc(ti[i].brokers.n ? ti[i].brokers.n : 1,
				    sizeof *x->brokers);
		if (x->brokers == NULL) {
			rv = RAFTQ_ENOMEM;
			break;
		}
		x->n_brokers = 0;
		for (uint32_t k = 0; k < ti[i].brokers.n; k++) {
			int bi_ = -1;
			for (uint32_t j = 0; j < r->brokers.n; j++)
				if (strcmp(b[j].name, ti[i].brokers.v[k]) == 0)
					bi_ = (int)j;
			if (bi_ < 0) /* placement names an unknown broker */
				break;
			x->brokers[x->n_brokers++] = (uint32_t)bi_;
		}
		if (x->n_brokers != ti[i].brokers.n || x->qpb == 0) {
			free(x->brokers); /* skip an inconsistent topic */
			continue;
		}
		rv = take_leaders(x, &ti[i], b, r->brokers.n);
		nt += rv == 0;
	}
	if (rv != 0) {
		for (uint32_t i = 0; i < nt; i++)
			free_topic(&t[i]);
		free(t);
		free(b);
		return rv;
	}
	free_topics(c);
	free(c->brokers);
	c->brokers = b;
	c->n_brokers = r->brokers.n;
	c->topics = t;
	c->n_topics = nt;
	if (r->leader_id != 0 && r->leader_address != NULL &&
	    r->leader_address[0] != '\0')
		snprintf(c->leader, sizeof c->leader, "%s", r->leader_address);
	c->route_version++;
	c->events++;
	return 0;
}

static void on_route(struct rpc_call *call, int status, struct rpc_frame *f)
{
	struct raftq_client *c = call->data;
	c->route_inflight = false;
	if (status != 0) {
		/* The next refresh asks the next address. */
		c->route_asked_at = 0;
		return;
	}
	struct rpc_route_resp r;
	struct rpc_status st;
	if (cl_decode(f, RPC_ROUTE, &r, &st) != 0 || st.code != RPC_OK) {
		c->route_asked_at = 0;
		return;
	}
	c->route_from_leader = r.leader_address != NULL &&
			       strcmp(r.leader_address, c->route_asked) == 0;
	take_route(c, &r);
}

void cl_route_refresh(struct raftq_client *c)
{
	uint64_t now = cl_now(c);
	if (c->route_inflight || c->closing ||
	    (c->route_asked_at != 0 && now - c->route_asked_at < 50))
		return;
	uint32_t n = c->n_bootstrap + c->n_brokers;
	const char *addr = NULL;
	if (c->route_want_leader && c->leader[0] != '\0') {
		/* Followers apply a little later than the leader: only the
		 * leader's word that a topic does not exist counts. */
		addr = c->leader;
		c->route_want_leader = false;
	}
	for (uint32_t tries = 0; tries < n && addr == NULL; tries++) {
		uint32_t i = c->route_next++ % n;
		addr = i < c->n_bootstrap
			   ? c->bootstrap[i]
			   : c->brokers[i - c->n_bootstrap].listen;
		if (addr[0] == '\0')
			addr = NULL;
	}
	if (addr == NULL)
		return;
	struct rpc_client *rc = cl_conn(c, addr);
	if (rc == NULL)
		return;
	c->route_call.data = c;
	uint32_t t = c->timeout_ms < 1000 ? c->timeout_ms : 1000;
	snprintf(c->route_asked, sizeof c->route_asked, "%s", addr);
	if (rpc_client_request(rc, &c->route_call, RPC_ROUTE,
			       &(struct rpc_empty){0}, t, on_route) == 0) {
		c->route_inflight = true;
		c->route_asked_at = now;
	}
}

struct rpc_client *cl_leader(struct raftq_client *c)
{
	if (c->leader[0] == '\0') {
		cl_route_refresh(c);
		return NULL;
	}
	return cl_conn(c, c->leader);
}

void cl_leader_failed(struct raftq_client *c, int err,
		      const struct rpc_status *st)
{
	(void)err;
	if (st != NULL && st->code == RPC_NOT_LEADER && st->leader != NULL &&
	    st->leader[0] != '\0' && strcmp(st->leader, c->leader) != 0) {
		snprintf(c->leader, sizeof c->leader, "%s", st->leader);
		return;
	}
	c->leader[0] = '\0';
	c->route_asked_at = 0;
	cl_route_refresh(c);
}

/* ---- Reports and running ---- */

void cl_report(struct raftq_client *c, struct cl_report *r)
{
	QUEUE_PUSH(c->reports, c->reports_tail, r, next);
	c->n_reports++;
}

static int fire_reports(struct raftq_client *c)
{
	int fired = 0;
	c->in_callback = true;
	while (c->reports != NULL) {
		struct cl_report *r = c->reports;
		c->reports = r->next;
		if (c->reports == NULL)
			c->reports_tail = NULL;
		c->n_reports--;
		struct raftq_delivery d = {r->err,	r->topic, r->broker,
					   r->queue_id, 0,	  r->store_time,
					   NULL,	false};
		for (uint32_t i = 0; r->cb != NULL && i < r->count; i++) {
			d.offset = r->err != 0	  ? 0
				   : r->scheduled ? UINT64_MAX
						  : r->base + i;
			d.scheduled = r->scheduled;
			d.opaque = r->opaques ? r->opaques[i] : NULL;
			r->cb(r->arg, &d);
		}
		fired += (int)r->count;
		free(r->opaques);
		free(r);
	}
	c->in_callback = false;
	return fired;
}

static void on_tick(uv_timer_t *t)
{
	struct raftq_client *c = t->data;
	for (uint32_t i = 0; i < c->n_producers; i++)
		cl_producer_tick(c->producers[i]);
	for (uint32_t i = 0; i < c->n_consumers; i++)
		cl_consumer_tick(c->consumers[i]);
}

int cl_run_until(struct raftq_client *c, int timeout_ms,
		 bool (*done)(void *arg), void *arg)
{
	if (c->in_callback)
		return cl_fail(c, RAFTQ_EINVAL,
			       "libraftq was called from one of its callbacks");
	uint64_t start = cl_now(c);
	for (;;) {
		/* Work first, so a 0 timeout still sends what is due. */
		on_tick(&c->tick);
		uv_run(&c->loop, UV_RUN_NOWAIT);
		fire_reports(c);
		if (done != NULL && done(arg))
			return 0;
		uint64_t now = cl_now(c);
		if (timeout_ms >= 0 && now - start >= (uint64_t)timeout_ms)
			return RAFTQ_ETIMEDOUT;
		/* Blocks until an event or the next tick (CL_TICK_MS). */
		uv_run(&c->loop, UV_RUN_ONCE);
	}
}

int raftq_poll(struct raftq_client *c, int timeout_ms)
{
	if (c->in_callback)
		return cl_fail(c, RAFTQ_EINVAL,
			       "raftq_poll was called from a callback");
	uint64_t start = cl_now(c);
	int fired = 0;
	for (;;) {
		on_tick(&c->tick);
		uv_run(&c->loop, UV_RUN_NOWAIT);
		fired += fire_reports(c);
		uint64_t now = cl_now(c);
		if (fired > 0 || timeout_ms == 0 ||
		    (timeout_ms > 0 && now - start >= (uint64_t)timeout_ms))
			return fired;
		uv_run(&c->loop, UV_RUN_ONCE);
	}
}

/* Appends @x to the array *@v of *@n pointers: 0 or RAFTQ_ENOMEM. */
static int append(void ***v, uint32_t *n, void *x)
{
	void **p = realloc(*v, (*n + 1) * sizeof *p);
	if (p == NULL)
		return RAFTQ_ENOMEM;
	p[(*n)++] = x;
	*v = p;
	return 0;
}

bool cl_name_ok(const char *name)
{
	return name != NULL && name[0] != '\0' && strlen(name) <= CL_NAME_MAX;
}

int cl_attach(struct raftq_client *c, struct raftq_producer *p,
	      struct raftq_consumer *k)
{
	if (p != NULL &&
	    append((void ***)&c->producers, &c->n_producers, p) != 0)
		return RAFTQ_ENOMEM;
	if (k != NULL &&
	    append((void ***)&c->consumers, &c->n_consumers, k) != 0)
		return RAFTQ_ENOMEM;
	return 0;
}

void cl_detach(struct raftq_client *c, struct raftq_producer *p,
	       struct raftq_consumer *k)
{
	for (uint32_t i = 0; p != NULL && i < c->n_producers; i++)
		if (c->producers[i] == p) {
			c->producers[i] = c->producers[--c->n_producers];
			break;
		}
	for (uint32_t i = 0; k != NULL && i < c->n_consumers; i++)
		if (c->consumers[i] == k) {
			c->consumers[i] = c->consumers[--c->n_consumers];
			break;
		}
}

/* ---- Life cycle ---- */

/* The addresses of @list (comma-separated, modified) into c->bootstrap:
 * 0, or RAFTQ_EINVAL / RAFTQ_ENOMEM with why in @errmsg. */
static int take_bootstrap(struct raftq_client *c, char *list, char *errmsg,
			  size_t errlen)
{
	int rv = 0;
	char *save = NULL;
	for (char *a = strtok_r(list, ",", &save); a != NULL && rv == 0;
	     a = strtok_r(NULL, ",", &save)) {
		struct sockaddr_storage ss;
		if (strlen(a) >= CL_ADDR_MAX || rpc_addr_parse(a, &ss) != 0) {
			snprintf(errmsg, errlen,
				 "bootstrap: '%s' is not a numeric host:port",
				 a);
			rv = RAFTQ_EINVAL;
			break;
		}
		char **v =
		    realloc(c->bootstrap, (c->n_bootstrap + 1) * sizeof *v);
		char *copy = strdup(a);
		if (v != NULL)
			c->bootstrap = v;
		if (v == NULL || copy == NULL) {
			free(copy);
			snprintf(errmsg, errlen, "out of memory");
			rv = RAFTQ_ENOMEM;
			break;
		}
		c->bootstrap[c->n_bootstrap++] = copy;
	}
	return rv;
}

int raftq_client_new(const struct raftq_config *cfg, struct raftq_client **out,
		     char *errmsg, size_t errlen)
{
	char dummy[8];
	if (errmsg == NULL) {
		errmsg = dummy;
		errlen = sizeof dummy;
	}
	if (cfg == NULL || out == NULL || cfg->bootstrap == NULL ||
	    cfg->bootstrap[0] == '\0') {
		snprintf(errmsg, errlen,
			 "bootstrap: a list of host:port is "
			 "required");
		return RAFTQ_EINVAL;
	}
	struct raftq_client *c = calloc(1, sizeof *c);
	char *list = strdup(cfg->bootstrap);
	if (c == NULL || list == NULL) {
		free(c);
		free(list);
		snprintf(errmsg, errlen, "out of memory");
		return RAFTQ_ENOMEM;
	}
	int rv = take_bootstrap(c, list, errmsg, errlen);
	free(list);
	if (rv == 0 && c->n_bootstrap == 0) {
		snprintf(errmsg, errlen, "bootstrap: no address given");
		rv = RAFTQ_EINVAL;
	}
	if (rv == 0) /* before the loop: nothing to close if it fails */
		rv = cl_token_read(cfg, &c->token, errmsg, errlen);
	if (rv == 0 && uv_loop_init(&c->loop) != 0) {
		snprintf(errmsg, errlen, "cannot create an event loop");
		rv = RAFTQ_ENOMEM;
	}
	if (rv != 0) {
		for (uint32_t i = 0; i < c->n_bootstrap; i++)
			free(c->bootstrap[i]);
		free(c->bootstrap);
		free(c->token);
		free(c);
		return rv;
	}
	if (cfg->client_id != NULL)
		snprintf(c->client_id, sizeof c->client_id, "%s",
			 cfg->client_id);
	else {
		char host[128] = "localhost";
		gethostname(host, sizeof host - 1);
		snprintf(c->client_id, sizeof c->client_id, "raftq-%ld@%s",
			 (long)getpid(), host);
	}
	c->timeout_ms =
	    cfg->request_timeout_ms ? cfg->request_timeout_ms : 5000;
	uv_timer_init(&c->loop, &c->tick);
	c->tick.data = c;
	uv_timer_start(&c->tick, on_tick, CL_TICK_MS, CL_TICK_MS);
	*out = c;
	return 0;
}

static void on_conn_closed(struct rpc_client *rc)
{
	struct cl_conn *cn = rc->data;
	cn->address[0] = '\0'; /* marks it closed */
}

static void on_tick_closed(uv_handle_t *h)
{
	(void)h;
}

void raftq_client_free(struct raftq_client *c)
{
	if (c == NULL)
		return;
	c->closing = true;
	for (uint32_t i = 0; i < c->n_conns; i++)
		rpc_client_close(&c->conns[i]->rpc, on_conn_closed);
	uv_close((uv_handle_t *)&c->tick, on_tick_closed);
	uv_run(&c->loop, UV_RUN_DEFAULT);
	uv_loop_close(&c->loop);
	/* Reports of the canceled calls are dropped: their producers are
	 * gone. */
	while (c->reports != NULL) {
		struct cl_report *r = c->reports;
		c->reports = r->next;
		free(r->opaques);
		free(r);
	}
	for (uint32_t i = 0; i < c->n_conns; i++)
		free(c->conns[i]);
	free(c->conns);
	for (uint32_t i = 0; i < c->n_bootstrap; i++)
		free(c->bootstrap[i]);
	free(c->bootstrap);
	free_topics(c);
	free(c->brokers);
	free(c->producers);
	free(c->consumers);
	if (c->token != NULL)
		explicit_bzero(c->token, strlen(c->token));
	free(c->token);
	free(c);
}
