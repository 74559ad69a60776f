/*
 * consumer.c — libraftq example: joins a consumer group, prints each
 * message (broker, queue, offset, body), and commits every second
 * (auto-commit). Stops after COUNT messages or IDLE_MS without any.
 *
 *   raftq_example_consumer BOOTSTRAP GROUP TOPIC [COUNT] [IDLE_MS]
 *
 * Run two of them with the same group: the queues are shared. Reset the
 * group with raftqctl while they run: they move at once.
 */
#include <raftq.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr,
			"usage: %s BOOTSTRAP GROUP TOPIC [COUNT] [IDLE_MS]\n",
			argv[0]);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0); /* each message as it comes */
	long count = argc > 4 ? strtol(argv[4], NULL, 10) : -1;
	int idle_ms = argc > 5 ? atoi(argv[5]) : 5000;
	char err[256];
	struct raftq_client *c;
	struct raftq_config cfg = {.bootstrap = argv[1],
				   .client_id = "example-consumer"};
	if (raftq_client_new(&cfg, &c, err, sizeof err) != 0) {
		fprintf(stderr, "error: %s\n", err);
		return 2;
	}
	const char *topics[] = {argv[3]};
	struct raftq_consumer_config kc = {
	    .group = argv[2], .topics = topics, .n_topics = 1};
	struct raftq_consumer *k;
	if (raftq_consumer_new(c, &kc, &k) != 0) {
		fprintf(stderr, "error: %s\n", raftq_client_errmsg(c));
		raftq_client_free(c);
		return 2;
	}
	struct raftq_message m[64];
	long got = 0;
	int rv = 0;
	while (count < 0 || got < count) {
		int n = raftq_consume(k, m, 64, idle_ms);
		if (n < 0) {
			fprintf(stderr, "error: %s\n", raftq_client_errmsg(c));
			rv = 1;
			break;
		}
		if (n == 0)
			break; /* idle */
		for (int i = 0; i < n && (count < 0 || got < count); i++, got++)
			printf("%s %u %llu %.*s\n", m[i].broker_name,
			       m[i].queue_id, (unsigned long long)m[i].offset,
			       (int)m[i].body_len, (const char *)m[i].body);
	}
	fprintf(stderr, "consumed %ld messages (%llu resets picked up)\n", got,
		(unsigned long long)raftq_consumer_resets(k));
	raftq_consumer_close(k, 5000);
	raftq_client_free(c);
	return rv;
}
