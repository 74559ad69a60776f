/*
 * route.c — a topic's placement (brokers, queues per broker, addresses)
 * from the cluster's ROUTE answer, for raftqctl produce and consume.
 */
#include <string.h>

#include "cli.h"

const char *ctl_route_addr(const struct ctl_route *ro, const char *name)
{
	const struct rpc_broker_info *b = ro->rt->brokers.v;
	for (uint32_t i = 0; i < ro->rt->brokers.n; i++)
		if (strcmp(b[i].name, name) == 0)
			return b[i].listen;
	return NULL;
}

int ctl_route_load(const struct ctl_opts *o, struct ctl_route *ro,
		   const char *topic)
{
	memset(ro, 0, sizeof *ro);
	ctl_call(o->bootstrap, RPC_ROUTE, NULL, o->timeout_ms, &ro->r);
	int rv = ctl_check(o, &ro->r);
	if (rv != 0)
		return rv;
	ro->rt = ro->r.body;
	const struct rpc_topic_info *t = ro->rt->topics.v;
	for (uint32_t i = 0; i < ro->rt->topics.n; i++)
		if (strcmp(t[i].name, topic) == 0)
			ro->topic = &t[i];
	if (ro->topic == NULL) {
		fprintf(stderr,
			"error: UNKNOWN_TOPIC: topic '%s' does not "
			"exist\n",
			topic);
		return 1;
	}
	return 0;
}

void ctl_route_free(struct ctl_route *ro)
{
	ctl_resp_free(&ro->r);
}
