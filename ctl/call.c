/*
 * call.c — one request, synchronously: a private libuv loop, the first
 * bootstrap address that answers, and NOT_LEADER followed to the leader.
 */
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

struct sync {
	struct rpc_call call;
	bool done;
	int status;
	uint8_t *raw;
	size_t len;
};

static void on_done(struct rpc_call *call, int status, struct rpc_frame *f)
{
	struct sync *s = call->data;
	s->done = true;
	s->status = status;
	if (status == 0) {
		s->len = f->raw_len;
		s->raw = malloc(s->len);
		if (s->raw != NULL)
			memcpy(s->raw, f->raw, s->len);
		else
			s->status = RPC_ENOMEM;
	}
}

static void on_closed(struct rpc_client *c)
{
	*(bool *)c->data = true;
}

void ctl_call_one(const char *address, uint16_t type, const void *req,
		  uint32_t timeout_ms, struct ctl_resp *out)
{
	memset(out, 0, sizeof *out);
	snprintf(out->via, sizeof out->via, "%s", address);
	uv_loop_t loop;
	uv_loop_init(&loop);
	struct rpc_client c;
	bool closed = false;
	c.data = &closed;
	struct rpc_client_config cfg = {0, 20, 100};
	struct sync s;
	memset(&s, 0, sizeof s);
	s.call.data = &s;
	out->err = rpc_client_init(&c, &loop, address, &cfg, NULL);
	if (out->err == 0) {
		out->err = rpc_client_request(&c, &s.call, type, req,
					      timeout_ms, on_done);
		while (out->err == 0 && !s.done)
			uv_run(&loop, UV_RUN_ONCE);
		if (out->err == 0)
			out->err = s.status;
		rpc_client_close(&c, on_closed);
		while (!closed)
			uv_run(&loop, UV_RUN_ONCE);
	}
	uv_loop_close(&loop);
	if (out->err != 0 || s.raw == NULL) {
		free(s.raw);
		return;
	}
	struct rpc_reader rd;
	rpc_reader_init(&rd, 0);
	uint8_t h[4] = {(uint8_t)(s.len >> 24), (uint8_t)(s.len >> 16),
			(uint8_t)(s.len >> 8), (uint8_t)s.len};
	if (rpc_reader_feed(&rd, h, 4) != 0 ||
	    rpc_reader_feed(&rd, s.raw, s.len) != 0 ||
	    rpc_reader_next(&rd, &out->f) != 1)
		out->err = RPC_EMALFORMED;
	rpc_reader_close(&rd);
	free(s.raw);
	if (out->err != 0)
		return;
	uint16_t rt = (uint16_t)(type | RPC_RESPONSE);
	const struct rpc_schema *sc = rpc_schema_of(rt);
	out->body = calloc(1, sc && sc->size ? sc->size : 1);
	if (out->body == NULL ||
	    rpc_decode(&out->f, rt, out->body, &out->st, NULL) != 0)
		out->err = RPC_EMALFORMED;
}

void ctl_call(const char *bootstrap, uint16_t type, const void *req,
	      uint32_t timeout_ms, struct ctl_resp *out)
{
	char list[1024];
	snprintf(list, sizeof list, "%s", bootstrap);
	char *save = NULL;
	memset(out, 0, sizeof *out);
	out->err = RPC_ECONNECT;
	for (char *a = strtok_r(list, ",", &save); a != NULL;
	     a = strtok_r(NULL, ",", &save)) {
		ctl_call_one(a, type, req, timeout_ms, out);
		for (int hop = 0;
		     hop < 3 && out->err == 0 &&
		     out->st.code == RPC_NOT_LEADER && out->st.leader != NULL;
		     hop++) {
			char leader[64];
			snprintf(leader, sizeof leader, "%s", out->st.leader);
			ctl_resp_free(out);
			ctl_call_one(leader, type, req, timeout_ms, out);
		}
		if (out->err == 0)
			return;
		ctl_resp_free(out);
		out->err = RPC_ECONNECT;
		snprintf(out->via, sizeof out->via, "%s", a);
	}
}

void ctl_resp_free(struct ctl_resp *r)
{
	if (r->f.raw != NULL)
		rpc_frame_release(&r->f);
	free(r->body);
	int err = r->err;
	char via[64];
	memcpy(via, r->via, sizeof via);
	memset(r, 0, sizeof *r);
	r->err = err;
	memcpy(r->via, via, sizeof via);
}
