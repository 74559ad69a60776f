/*
 * consumer_nack.c — raftq_nack: a SEND_BACK (DESIGN.md §2.2) to the
 * broker that holds the message, waited for. The call's state is on the
 * heap: a nack that times out leaves it to the answer (or the request
 * timeout) to free.
 */
#include <stdlib.h>
#include <string.h>

#include "consumer_int.h"

struct nack {
	struct rpc_call call;
	struct raftq_client *c;
	bool done, abandoned, dead_letter;
	int err;
};

static void on_nacked(struct rpc_call *call, int status, struct rpc_frame *f)
{
	struct nack *x = call->data;
	struct rpc_send_back_resp r;
	struct rpc_status st = {RPC_OK, NULL, NULL, false};
	x->err = cl_from_rpc(status);
	if (status == 0 && cl_decode(f, RPC_SEND_BACK, &r, &st) != 0)
		x->err = RAFTQ_EMALFORMED;
	else if (status == 0 && st.code != RPC_OK)
		x->err = cl_fail(x->c, cl_from_code(st.code), "nack: %s: %s",
				 rpc_code_name(st.code),
				 st.message ? st.message : "");
	else if (status == 0)
		x->dead_letter = r.dead_letter;
	x->done = true;
	if (x->abandoned)
		free(x);
}

static bool nack_done(void *arg)
{
	return ((const struct nack *)arg)->done;
}

/* Sends the SEND_BACK of @m; 0 or an error (reported). */
static int nack_send(struct raftq_consumer *k, const struct raftq_message *m,
		     const char *reason, struct nack *x)
{
	struct raftq_client *c = k->c;
	const char *leader =
	    cl_queue_leader(c, m->topic, m->broker_name, m->queue_id);
	int bi = leader ? cl_broker_index(c, leader) : -1;
	if (bi < 0 || c->brokers[bi].listen[0] == '\0')
		return cl_fail(c, RAFTQ_EUNAVAILABLE,
			       "nack: broker %s has no known address",
			       m->broker_name);
	struct rpc_client *rc = cl_conn(c, c->brokers[bi].listen);
	struct rpc_send_back_req in = {k->group,  m->topic, m->queue_id,
				       m->offset, reason,   m->broker_name};
	x->call.data = x;
	x->c = c;
	if (rc == NULL || rpc_client_request(rc, &x->call, RPC_SEND_BACK, &in,
					     c->timeout_ms, on_nacked) != 0)
		return cl_fail(c, RAFTQ_EUNAVAILABLE, "nack: cannot send to %s",
			       m->broker_name);
	return 0;
}

int raftq_nack(struct raftq_consumer *k, const struct raftq_message *m,
	       const char *reason, int timeout_ms, bool *dead_letter)
{
	struct raftq_client *c = k->c;
	if (c->in_callback || m == NULL)
		return cl_fail(c, RAFTQ_EINVAL,
			       m ? "raftq_nack was called from a callback"
				 : "raftq_nack: no message");
	if (k->mode == MODE_BROADCASTING)
		return cl_fail(c, RAFTQ_EINVAL,
			       "nack: broadcasting groups have no retry");
	if (reason != NULL && strlen(reason) > RPC_REASON_MAX)
		return cl_fail(c, RAFTQ_EINVAL, "nack: reason over %d bytes",
			       RPC_REASON_MAX);
	struct nack *x = calloc(1, sizeof *x);
	if (x == NULL)
		return cl_fail(c, RAFTQ_ENOMEM, "out of memory");
	int rv = nack_send(k, m, reason, x);
	if (rv != 0) {
		free(x);
		return rv;
	}
	cl_run_until(c, timeout_ms, nack_done, x);
	if (!x->done) {
		x->abandoned = true;
		return cl_fail(c, RAFTQ_ETIMEDOUT, "nack: no answer from %s",
			       m->broker_name);
	}
	rv = x->err;
	if (rv == 0 && dead_letter != NULL)
		*dead_letter = x->dead_letter;
	free(x);
	return rv;
}
