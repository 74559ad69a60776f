/* history.c — JSON-lines history of client operations (history.h). */
#include <string.h>
#include <time.h>

#include "history.h"

int hist_open(struct history *h, const char *path)
{
	memset(h, 0, sizeof *h);
	h->f = fopen(path, "w");
	if (h->f == NULL)
		return -1;
	pthread_mutex_init(&h->lock, NULL);
	return 0;
}

int hist_close(struct history *h)
{
	int rv = fclose(h->f);
	pthread_mutex_destroy(&h->lock);
	return rv == 0 ? 0 : -1;
}

int64_t hist_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int type_index(const char *type)
{
	static const char *const kinds[] = {"ok", "fail", "info"};
	for (int i = 0; i < 3; i++)
		if (strcmp(type, kinds[i]) == 0)
			return i;
	return -1;
}

void hist_event(struct history *h, const char *proc, const char *type,
		const char *f, const char *node, json_t *value)
{
	json_t *e = json_pack("{s:s,s:s,s:s,s:I,s:o}", "process", proc, "type",
			      type, "f", f, "time", (json_int_t)hist_now_ns(),
			      "value", value ? value : json_object());
	if (node != NULL)
		json_object_set_new(e, "node", json_string(node));
	char *line = json_dumps(e, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(e);
	pthread_mutex_lock(&h->lock);
	if (line != NULL)
		fprintf(h->f, "%s\n", line);
	h->events++;
	int k = type_index(type);
	if (k >= 0) {
		h->completed++;
		h->by_type[k]++;
		if (strcmp(f, "fetch") == 0)
			h->fetch_by_type[k]++;
	}
	pthread_mutex_unlock(&h->lock);
	free(line);
}

void hist_counts(struct history *h, bool no_fetch, uint64_t out[3])
{
	pthread_mutex_lock(&h->lock);
	for (int k = 0; k < 3; k++)
		out[k] = h->by_type[k] - (no_fetch ? h->fetch_by_type[k] : 0);
	pthread_mutex_unlock(&h->lock);
}
