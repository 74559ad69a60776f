/*
 * consumer_file.c — a broadcasting member's offsets, kept by the client in
 * a file written atomically (tmp, fsync, rename): one line per queue,
 * "topic<TAB>broker<TAB>queue<TAB>offset"; a bad line names the file and
 * the line.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "consumer_int.h"

/* ---- Broadcasting: the offset file ---- */

int kc_save_file(struct raftq_consumer *k)
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
		    kc_find_queue(k, sv->topic, sv->broker, sv->queue_id);
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
int kc_load_file(struct raftq_consumer *k)
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

const struct ksaved *kc_saved_for(const struct raftq_consumer *k,
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
