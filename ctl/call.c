/*
 * call.c — one request, synchronously, the way an operator's command
 * needs it: a private libuv loop; the bootstrap addresses tried in turn;
 * NOT_LEADER followed to the leader; and through a leader election (no
 * leader yet, a node that refuses connections, a leader still catching
 * up) the request is sent again until the command's timeout, but only
 * when the answer said nothing was done ("retry"), so a change whose
 * outcome is unknown is never sent twice.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"

#define CALL_TRY_MAX_MS 3000 /* one attempt, within the command's budget */
#define CALL_PAUSE_MS 100    /* between rounds of the bootstrap list */
#define CALL_ADDRS_MAX 16

struct sync {
	struct rpc_call call;
	bool done;
	int status;
	struct rpc_frame f; /* the answer, moved out of the callback */
};

static void on_done(struct rpc_call *call, int status, struct rpc_frame *f)
{
	struct sync *s = call->data;
	s->done = true;
	s->status = status;
	if (status == 0)
		rpc_frame_move(&s->f, f);
}

static void on_closed(struct rpc_client *c)
{
	*(bool *)c->data = true;
}

static const char *call_token; /* ctl_set_token */

void ctl_set_token(const char *token)
{
	call_token = token;
}

/* Runs one request on a private loop: the transport status, and the
 * answer frame in @f when it is 0. */
static int call_raw(const char *address, uint16_t type, const void *req,
		    uint32_t timeout_ms, struct rpc_frame *f)
{
	uv_loop_t loop;
	uv_loop_init(&loop);
	struct rpc_client c;
	bool closed = false;
	c.data = &closed;
	struct rpc_client_config cfg = {0, 20, 100};
	struct sync s;
	memset(&s, 0, sizeof s);
	s.call.data = &s;
	int err = rpc_client_init(&c, &loop, address, &cfg, NULL);
	struct rpc_auth_req hello = {call_token, NULL};
	if (err == 0) {
		if (call_token != NULL)
			err = rpc_client_hello(&c, RPC_AUTH, &hello);
		if (err == 0)
			err = rpc_client_request(&c, &s.call, type, req,
						 timeout_ms, on_done);
		while (err == 0 && !s.done)
			uv_run(&loop, UV_RUN_ONCE);
		if (err == 0)
			err = s.status;
		rpc_client_close(&c, on_closed);
		while (!closed)
			uv_run(&loop, UV_RUN_ONCE);
	}
	uv_loop_close(&loop);
	if (err == 0)
		rpc_frame_move(f, &s.f);
	return err;
}

void ctl_call_one(const char *address, uint16_t type, const void *req,
		  uint32_t timeout_ms, struct ctl_resp *out)
{
	memset(out, 0, sizeof *out);
	snprintf(out->via, sizeof out->via, "%s", address);
	out->err = call_raw(address, type, req, timeout_ms, &out->f);
	if (out->err != 0)
		return;
	uint16_t rt = (uint16_t)(type | RPC_RESPONSE);
	const struct rpc_schema *sc = rpc_schema_of(rt);
	out->body = calloc(1, sc && sc->size ? sc->size : 1);
	if (out->body == NULL ||
	    rpc_decode(&out->f, rt, out->body, &out->st, NULL) != 0)
		out->err = RPC_EMALFORMED;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Notes why @addr did not do: "127.0.0.1:9101: cannot connect". */

/* A refusal that says nothing was done, so the request may go again. */
static bool may_retry(const struct ctl_resp *r)
{
	return r->err == RPC_ECONNECT ||
	       (r->err == 0 && (r->st.retry || r->st.code == RPC_NOT_LEADER));
}

/* What each address said, last round: out->why at the end. */
struct reasons {
	char addr[CALL_ADDRS_MAX + 1][64];
	char what[CALL_ADDRS_MAX + 1][160];
	uint32_t n;
};

static void note(struct reasons *rs, const char *addr, const char *what)
{
	uint32_t i = 0;
	while (i < rs->n && strcmp(rs->addr[i], addr) != 0)
		i++;
	if (i == rs->n && rs->n == CALL_ADDRS_MAX + 1)
		return;
	rs->n += i == rs->n;
	snprintf(rs->addr[i], sizeof rs->addr[i], "%s", addr);
	snprintf(rs->what[i], sizeof rs->what[i], "%.150s", what);
}

static void explain(const struct reasons *rs, struct ctl_resp *out)
{
	size_t at = 0;
	for (uint32_t i = 0; i < rs->n && at < sizeof out->why; i++)
		at += (size_t)snprintf(out->why + at, sizeof out->why - at,
				       "%s%s: %s", i ? "; " : "", rs->addr[i],
				       rs->what[i]);
}

/* One try at @addr: true when @out is the final answer. */
static bool try_one(const char *addr, uint16_t type, const void *req,
		    int64_t left, struct ctl_resp *out, char *leader,
		    struct reasons *rs)
{
	ctl_resp_free(out);
	ctl_call_one(
	    addr, type, req,
	    (uint32_t)(left < CALL_TRY_MAX_MS ? left : CALL_TRY_MAX_MS), out);
	if (!may_retry(out))
		return true;
	char what[160];
	if (out->err != 0)
		snprintf(what, sizeof what, "%s", rpc_strerror(out->err));
	else
		snprintf(what, sizeof what, "%s: %s",
			 rpc_code_name(out->st.code),
			 out->st.message ? out->st.message : "");
	note(rs, addr, what);
	if (out->err == 0 && out->st.leader != NULL)
		snprintf(leader, 64, "%s", out->st.leader);
	return false;
}

/* Whether to stop with @last as the answer, @left ms before the deadline.
 * After a refusal that said "retry" (nothing done) and took @took ms, a
 * new try is started only with room for one as slow (twice that): one cut
 * short would turn a clear refusal into a timeout, whose outcome is
 * unknown. A redirect to the leader is always followed. */
static bool out_of_time(const struct ctl_resp *last, int64_t left, int64_t took)
{
	if (left <= 0)
		return true;
	return last->err == 0 && last->st.retry &&
	       last->st.code != RPC_NOT_LEADER && left < 2 * took;
}

void ctl_call(const char *bootstrap, uint16_t type, const void *req,
	      uint32_t timeout_ms, struct ctl_resp *out)
{
	char list[1024], leader[64] = "";
	const char *addrs[CALL_ADDRS_MAX] = {NULL};
	uint32_t n = 0;
	snprintf(list, sizeof list, "%s", bootstrap);
	for (char *save = NULL, *a = strtok_r(list, ",", &save);
	     a != NULL && n < CALL_ADDRS_MAX; a = strtok_r(NULL, ",", &save))
		addrs[n++] = a;
	struct reasons rs;
	rs.n = 0;
	memset(out, 0, sizeof *out);
	out->err = RPC_ECONNECT;
	int64_t deadline = now_ms() + timeout_ms, took = 0;
	for (;;) {
		/* Addresses that refused this round without naming a leader
		 * (a stopping or new leader): a follower pointing back at
		 * one of them is not followed again before the pause, or the
		 * call would spin on new connections to a stopping node. */
		char busy[CALL_ADDRS_MAX + 1][64];
		uint32_t nbusy = 0;
		for (uint32_t i = 0; i <= n; i++) {
			/* The leader we were pointed at goes first. */
			char to[64];
			snprintf(to, sizeof to, "%s",
				 i == 0 ? leader : addrs[i - 1]);
			leader[0] = '\0';
			if (to[0] == '\0')
				continue;
			int64_t t0 = now_ms(), left = deadline - t0;
			if (out_of_time(out, left, took) ||
			    try_one(to, type, req, left, out, leader, &rs)) {
				explain(&rs, out);
				return;
			}
			took = now_ms() - t0;
			if (leader[0] == '\0' && nbusy <= CALL_ADDRS_MAX)
				snprintf(busy[nbusy++], sizeof busy[0], "%s",
					 to);
			for (uint32_t b = 0; b < nbusy && leader[0]; b++)
				if (strcmp(busy[b], leader) == 0)
					leader[0] = '\0';
			if (leader[0] != '\0')
				i = (uint32_t)-1; /* to the leader at once */
		}
		int64_t left = deadline - now_ms();
		if (out_of_time(out, left - CALL_PAUSE_MS, took)) {
			explain(&rs, out);
			return;
		}
		usleep(
		    (useconds_t)(left < CALL_PAUSE_MS ? left : CALL_PAUSE_MS) *
		    1000); /* bounded by the command's timeout */
	}
}

void ctl_resp_free(struct ctl_resp *r)
{
	if (r->f.raw != NULL)
		rpc_frame_release(&r->f);
	free(r->body);
	r->body = NULL;
	memset(&r->st, 0, sizeof r->st);
}
