/*
 * cmd_consume.c — raftqctl consume: reads a topic as a real member of the
 * group, through libraftq (docs/client.md): it joins (so it counts for
 * --require-inactive and gets its share of the queues), starts from the
 * group's positions (a first read fixes them), follows resets at once
 * (per-queue epochs: it never commits over a reset), prints each message,
 * commits what it printed and leaves the group.
 *
 * It stops after --count messages, or when no message came for --timeout
 * ms (3000 when not given: the global --timeout otherwise bounds whole
 * commands, and a consumer waits for messages).
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <raftq.h>

#include "cli.h"

#define IDLE_DEFAULT_MS 3000
#define CLOSE_MS 5000

static const char usage[] =
    "consume --group G --topic T [--count N] [--timeout MS] [--nack]";

struct consuming {
	const struct ctl_opts *o;
	struct raftq_client *c;
	struct raftq_consumer *k;
	int64_t got, want, idle_ms;
	bool nack; /* --nack: every message read is sent back for retry */
	char offset_file[512]; /* broadcasting: this run's, removed after */
};

/* "error: CODE: message" for a libraftq error; the exit status 1. */
static int client_error(struct raftq_client *c, int err)
{
	const char *msg = c ? raftq_client_errmsg(c) : "";
	if (strchr(msg, ':') != NULL && strncmp(msg, "UNKNOWN_", 8) == 0)
		fprintf(stderr, "error: %s\n", msg);
	else
		fprintf(stderr, "error: %s: %s\n",
			err == RAFTQ_EUNAVAILABLE ? "UNAVAILABLE"
						  : raftq_errname(err) + 6,
			msg[0] ? msg : raftq_strerror(err));
	return 1;
}

static int open_member(struct consuming *x, const char *group,
		       const char *topic)
{
	char id[128];
	snprintf(id, sizeof id, "raftqctl-%ld", (long)getpid());
	int rv = ctl_client_new(x->o, id, &x->c);
	if (rv != 0)
		return rv;
	const char *topics[] = {topic};
	const char *tmp = getenv("TMPDIR");
	snprintf(x->offset_file, sizeof x->offset_file, "%s/%s.offsets",
		 tmp ? tmp : "/tmp", id);
	struct raftq_consumer_config kc = {.group = group,
					   .topics = topics,
					   .n_topics = 1,
					   .member_id = id,
					   .offset_file = x->offset_file};
	rv = raftq_consumer_new(x->c, &kc, &x->k);
	return rv == 0 ? 0 : client_error(x->c, rv);
}

/* Idle until the end: 0, or 1 when a queue kept refusing to serve
 * meanwhile (the broker's last error printed). */
static int idle_end(struct consuming *x, uint64_t errors_before)
{
	if (raftq_consumer_errors(x->k) == errors_before)
		return 0;
	fprintf(stderr, "error: %s\n", raftq_client_errmsg(x->c));
	return 1;
}

/* --nack: sends @m back for retry (it counts as consumed all the same). */
static int nack(struct consuming *x, const struct raftq_message *m)
{
	bool dead = false;
	int rv =
	    raftq_nack(x->k, m, "raftqctl consume --nack", CLOSE_MS, &dead);
	if (rv != 0)
		return client_error(x->c, rv);
	fflush(stdout); /* the message's line first */
	if (!x->o->json)
		fprintf(stderr, "nacked %s:%u@%llu: %s\n", m->broker_name,
			m->queue_id, (unsigned long long)m->offset,
			dead ? "dead letter" : "will be retried");
	return 0;
}

/* Consumes until --count or --timeout idle: 0, or 1 after an error. */
static int consume_loop(struct consuming *x)
{
	struct raftq_message m[64];
	int64_t idle_until = ctl_now_ms() + x->idle_ms;
	uint64_t errors = raftq_consumer_errors(x->k);
	int rv;
	while (x->got < x->want) {
		int64_t left = idle_until - ctl_now_ms();
		if (left <= 0)
			return idle_end(x, errors);
		size_t max =
		    (size_t)(x->want - x->got < 64 ? x->want - x->got : 64);
		int n = raftq_consume(x->k, m, max, (int)left);
		if (n < 0)
			return client_error(x->c, n);
		for (int i = 0; i < n; i++) {
			ctl_print_message(x->o, &m[i]);
			if (x->nack && (rv = nack(x, &m[i])) != 0)
				return rv;
		}
		x->got += n;
		if (n > 0) {
			idle_until = ctl_now_ms() + x->idle_ms;
			errors = raftq_consumer_errors(x->k);
		}
	}
	return 0;
}

/* Commits, leaves, frees: 0 or 1. A commit refused because a reset moved
 * the group meanwhile is not an error: the reset wins. */
static int close_member(struct consuming *x, int rv)
{
	if (x->k != NULL) {
		int c = raftq_consumer_close(x->k, CLOSE_MS);
		if (rv == 0 && c != 0 && c != RAFTQ_ESTALE_EPOCH)
			rv = client_error(x->c, c);
	}
	if (x->c != NULL)
		raftq_client_free(x->c);
	unlink(x->offset_file);
	return rv;
}

static int run(const struct ctl_opts *o, int argc, char **argv)
{
	struct ctl_flag f[] = {CTL_VALUE("--group"), CTL_VALUE("--topic"),
			       CTL_VALUE("--count"), CTL_SWITCH("--nack")};
	int npos,
	    rv = ctl_parse_flags(argc, argv, 2, f, 4, NULL, 0, &npos, usage);
	if (rv != 0)
		return rv;
	struct consuming x = {.o = o, .want = INT64_MAX};
	const char *group = ctl_flag(f, 4, "--group");
	const char *topic = ctl_flag(f, 4, "--topic");
	x.nack = ctl_flag(f, 4, "--nack") != NULL;
	if (group == NULL || topic == NULL)
		return ctl_usage_error(usage,
				       "--group and --topic are required");
	if (ctl_flag_int(f, 4, "--count", 1, INT64_MAX, &x.want) != 0)
		return ctl_usage_error(usage, "--count must be >= 1");
	x.idle_ms = o->timeout_given ? o->timeout_ms : IDLE_DEFAULT_MS;
	rv = open_member(&x, group, topic);
	if (rv == 0)
		rv = consume_loop(&x);
	rv = close_member(&x, rv);
	if (!o->json && rv == 0) {
		fflush(stdout); /* the messages first */
		fprintf(stderr, "consumed %lld messages\n", (long long)x.got);
	}
	return rv;
}

const struct ctl_noun ctl_consume = {"consume", usage, run};
