/*
 * plan.c — reset plans (DESIGN.md §2.1): CSV files with the header
 * "topic,broker_name,queue_id,offset,epoch" and one line per queue.
 * `offset reset --export F` writes the result of a reset or dry run;
 * `--from-file F` reads one back as the target "plan". The epoch column
 * (empty: none) is the group's epoch on the topic when the plan was made:
 * the plan then applies only while it still is. A plan may hold several
 * topics (one reset moves them all); every line of a topic carries the
 * same epoch.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plan.h"

#define PLAN_HEADER "topic,broker_name,queue_id,offset,epoch"

void ctl_plan_free(struct ctl_plan *p)
{
	for (uint32_t i = 0; i < p->n; i++)
		free(p->queues[i]);
	free(p->queues);
	free(p->offsets);
	free(p->topic_of);
	free(p->topics);
	memset(p, 0, sizeof *p);
}

/* A decimal number in [0, @max] filling all of @s. */
static bool number(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > max)
		return false;
	*out = v;
	return true;
}

/* Splits @line at commas into exactly 5 fields (in place). */
static bool fields(char *line, char *f[5])
{
	int n = 0;
	for (char *s = line; n < 5; n++) {
		f[n] = s;
		char *c = strchr(s, ',');
		if (c == NULL)
			return n == 4;
		*c = '\0';
		s = c + 1;
	}
	return false; /* a sixth field */
}

/* A topic or broker name as the cluster has them: 1-127 bytes of
 * A-Z a-z 0-9 . _ - (raft/rsm.h). */
static bool name_ok(const char *s)
{
	size_t n = strlen(s);
	return n >= 1 && n <= 127 &&
	       strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			 "0123456789._-") == n;
}

/* The index of topic @name with epoch (@has_ep, @ep), added if new;
 * -1 with *why when it cannot be. */
static int64_t topic_index(struct ctl_plan *p, const char *name, bool has_ep,
			   uint64_t ep, const char **why)
{
	for (uint32_t k = 0; k < p->n_topics; k++) {
		const struct ctl_plan_topic *t = &p->topics[k];
		if (strcmp(t->name, name) != 0)
			continue;
		if (t->has_epoch == has_ep && t->epoch == ep)
			return k;
		*why = "every line of a topic must carry the same epoch";
		return -1;
	}
	if (p->n_topics == CTL_PLAN_TOPICS) {
		*why = "more than 256 topics";
		return -1;
	}
	struct ctl_plan_topic *ts =
	    realloc(p->topics, (p->n_topics + 1) * sizeof *ts);
	if (ts == NULL) {
		*why = "out of memory";
		return -1;
	}
	p->topics = ts;
	ts[p->n_topics] = (struct ctl_plan_topic){"", has_ep, ep};
	snprintf(ts[p->n_topics].name, sizeof ts->name, "%s", name);
	return p->n_topics++;
}

/* Appends queue @q at @off of topic @k; NULL, or what went wrong. */
static const char *append(struct ctl_plan *p, const char *q, uint64_t off,
			  uint32_t k)
{
	if (p->n == CTL_PLAN_MAX)
		return "more than 65536 queues";
	char **qs = realloc(p->queues, (p->n + 1) * sizeof *qs);
	if (qs != NULL)
		p->queues = qs;
	uint64_t *os = realloc(p->offsets, (p->n + 1) * sizeof *os);
	if (os != NULL)
		p->offsets = os;
	uint32_t *ks = realloc(p->topic_of, (p->n + 1) * sizeof *ks);
	if (ks != NULL)
		p->topic_of = ks;
	if (qs == NULL || os == NULL || ks == NULL ||
	    (qs[p->n] = strdup(q)) == NULL)
		return "out of memory";
	os[p->n] = off;
	ks[p->n++] = k;
	return NULL;
}

/* Adds one row; NULL, or what is wrong with it. */
static const char *add_row(struct ctl_plan *p, char *line)
{
	char *f[5];
	uint64_t qid, off, ep = 0;
	const char *why = NULL;
	if (!fields(line, f))
		return "expected 5 comma-separated fields";
	if (!name_ok(f[0]) || !name_ok(f[1]))
		return "topic and broker_name must be 1-127 of A-Z a-z 0-9 . _ "
		       "-";
	if (!number(f[2], UINT32_MAX, &qid) || !number(f[3], INT64_MAX, &off))
		return "queue_id and offset must be numbers >= 0";
	bool has_ep = f[4][0] != '\0';
	if (has_ep && !number(f[4], INT64_MAX, &ep))
		return "epoch must be empty or a number >= 0";
	int64_t k = topic_index(p, f[0], has_ep, ep, &why);
	if (k < 0)
		return why;
	char q[300];
	snprintf(q, sizeof q, "%s:%" PRIu64, f[1], qid);
	return append(p, q, off, (uint32_t)k);
}

/* What is wrong with line @no (@line, its end of line cut), or NULL. */
static const char *one_line(struct ctl_plan *p, unsigned no, char *line)
{
	if (no == 1) /* the header, first and exact */
		return strcmp(line, PLAN_HEADER) == 0
			   ? NULL
			   : "the first line must be " PLAN_HEADER;
	return line[0] == '\0' ? NULL : add_row(p, line);
}

int ctl_plan_parse(const char *text, size_t len, const char *name,
		   struct ctl_plan *p, char *err, size_t errlen)
{
	memset(p, 0, sizeof *p);
	const char *why = NULL;
	unsigned no = 0;
	for (size_t at = 0; at < len && why == NULL;) {
		const char *nl = memchr(text + at, '\n', len - at);
		size_t n = nl ? (size_t)(nl - (text + at)) : len - at;
		char line[1024];
		no++;
		if (n >= sizeof line || memchr(text + at, '\0', n) != NULL) {
			why = n >= sizeof line ? "line too long" : "a NUL byte";
			break;
		}
		memcpy(line, text + at, n);
		line[n] = '\0';
		if (n > 0 && line[n - 1] == '\r')
			line[n - 1] = '\0';
		why = one_line(p, no, line);
		at += n + 1;
	}
	if (why == NULL && p->n == 0) {
		snprintf(err, errlen, "%s: no queue in the plan", name);
		return -1; /* @p is still empty */
	}
	if (why != NULL) {
		snprintf(err, errlen, "%s:%u: %s", name, no, why);
		ctl_plan_free(p);
		return -1;
	}
	return 0;
}

int ctl_plan_read(const char *path, struct ctl_plan *p, char *err,
		  size_t errlen)
{
	memset(p, 0, sizeof *p);
	FILE *fp = fopen(path, "r");
	int open_errno = errno;
	char *buf = fp ? malloc(CTL_PLAN_BYTES + 1) : NULL;
	size_t len = buf ? fread(buf, 1, CTL_PLAN_BYTES + 1, fp) : 0;
	int rv = -1;
	if (fp == NULL)
		snprintf(err, errlen, "%s: %s", path, strerror(open_errno));
	else if (buf == NULL || ferror(fp))
		snprintf(err, errlen, "%s: %s", path,
			 buf ? "read error" : "out of memory");
	else if (len > CTL_PLAN_BYTES)
		snprintf(err, errlen, "%s: larger than %u bytes", path,
			 CTL_PLAN_BYTES);
	else
		rv = ctl_plan_parse(buf, len, path, p, err, errlen);
	if (fp != NULL)
		fclose(fp);
	free(buf);
	return rv;
}

int ctl_plan_write(const char *path, const struct rpc_reset_resp *r, char *err,
		   size_t errlen)
{
	FILE *fp = fopen(path, "w");
	if (fp == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	fprintf(fp, "%s\n", PLAN_HEADER);
	const struct rpc_reset_topic *t = r->topics.v;
	for (uint32_t k = 0; k < r->topics.n; k++) { /* sorted by the node */
		const struct rpc_reset_queue *q = t[k].queues.v;
		for (uint32_t i = 0; i < t[k].queues.n; i++)
			fprintf(fp, "%s,%s,%u,%" PRIu64 ",%" PRIu64 "\n",
				t[k].topic, q[i].broker_name, q[i].queue_id,
				q[i].timestamp_offset, t[k].epoch);
	}
	if (fclose(fp) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}
