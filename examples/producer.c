/*
 * producer.c — libraftq example: sends COUNT messages (or stdin lines) to a
 * topic and prints how many were stored and where the last one went.
 *
 *   raftq_example_producer BOOTSTRAP TOPIC [COUNT] [--lz4] [--key KEY]
 *
 * Build: cc producer.c $(pkg-config --cflags --libs raftq)
 */
#include <raftq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct tally {
	unsigned long ok, failed;
	struct raftq_delivery last;
	char broker[256];
};

/* Runs inside raftq_poll / raftq_producer_flush, on this thread. */
static void on_delivery(void *arg, const struct raftq_delivery *d)
{
	struct tally *t = arg;
	if (d->err != 0) {
		t->failed++;
		fprintf(stderr, "message %lu failed: %s\n",
			(unsigned long)(uintptr_t)d->opaque,
			raftq_strerror(d->err));
		return;
	}
	t->ok++;
	t->last = *d;
	snprintf(t->broker, sizeof t->broker, "%s", d->broker_name);
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr,
			"usage: %s BOOTSTRAP TOPIC [COUNT] [--lz4] "
			"[--key KEY]\n",
			argv[0]);
		return 2;
	}
	long count = -1;
	bool lz4 = false;
	const char *key = NULL;
	for (int i = 3; i < argc; i++) {
		if (strcmp(argv[i], "--lz4") == 0)
			lz4 = true;
		else if (strcmp(argv[i], "--key") == 0 && i + 1 < argc)
			key = argv[++i];
		else
			count = strtol(argv[i], NULL, 10);
	}
	char err[256];
	struct raftq_client *c;
	struct raftq_config cfg = {.bootstrap = argv[1],
				   .client_id = "example-producer"};
	if (raftq_client_new(&cfg, &c, err, sizeof err) != 0) {
		fprintf(stderr, "error: %s\n", err);
		return 2;
	}
	struct tally t = {0};
	struct raftq_producer_config pc = {.topic = argv[2],
					   .lz4 = lz4,
					   .on_delivery = on_delivery,
					   .arg = &t};
	struct raftq_producer *p;
	int rv = raftq_producer_new(c, &pc, &p);
	if (rv != 0) {
		fprintf(stderr, "error: %s\n", raftq_client_errmsg(c));
		raftq_client_free(c);
		return 1;
	}
	char *line = NULL;
	size_t cap = 0;
	for (long n = 0; count < 0 || n < count; n++) {
		char body[64];
		const char *b = body;
		size_t len;
		if (count < 0) {
			ssize_t got = getline(&line, &cap, stdin);
			if (got < 0)
				break;
			len = (size_t)got - (got > 0 && line[got - 1] == '\n');
			b = line;
		} else {
			len = (size_t)snprintf(body, sizeof body, "message %ld",
					       n);
		}
		while ((rv = raftq_produce(p, key, key ? strlen(key) : 0, b,
					   len, (void *)(uintptr_t)n)) ==
		       RAFTQ_EFULL)
			raftq_poll(c, 10); /* let batches leave */
		if (rv != 0) {
			fprintf(stderr, "error: %s\n", raftq_client_errmsg(c));
			break;
		}
		raftq_poll(c, 0); /* reports, without waiting */
	}
	free(line);
	if (raftq_producer_close(p, 30000) != 0)
		fprintf(stderr, "warning: some messages were not delivered\n");
	printf("stored %lu messages, %lu failed", t.ok, t.failed);
	if (t.ok > 0)
		printf("; last: %s queue %u offset %llu", t.broker,
		       t.last.queue_id, (unsigned long long)t.last.offset);
	printf("\n");
	raftq_client_free(c);
	return t.failed == 0 && rv == 0 ? 0 : 1;
}
