/*
 * names.c — what a name may be (rsm.h "Names"), and the names and ladder
 * of a group's retry and dead-letter topics (DESIGN.md §2.2).
 */
#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "rsm_int.h"

/* 1..@max characters of rsm_name_char. */
static bool plain_name(const char *s, size_t max)
{
	size_t n = 0;
	for (; s[n] != '\0'; n++)
		if (!rsm_name_char(s[n]) || n >= max)
			return false;
	return n > 0;
}

const char *rsm_internal_group(const char *topic)
{
	static const char *const prefixes[] = {RSM_RETRY_PREFIX,
					       RSM_DLQ_PREFIX};
	if (topic == NULL || topic[0] != '%')
		return NULL;
	for (size_t i = 0; i < 2; i++) {
		size_t n = strlen(prefixes[i]);
		if (strncmp(topic, prefixes[i], n) == 0 &&
		    plain_name(topic + n, RSM_NAME_MAX - n))
			return topic + n;
	}
	return NULL;
}

bool rsm_name_valid(const char *s)
{
	return s != NULL &&
	       (plain_name(s, RSM_NAME_MAX) || rsm_internal_group(s) != NULL);
}

bool rsm_name_user_valid(const char *s)
{
	return s != NULL && plain_name(s, RSM_NAME_MAX);
}

void rsm_retry_topic(char *out, const char *group)
{
	assert(strlen(group) <= RSM_RETRY_GROUP_MAX);
	snprintf(out, RSM_NAME_MAX + 1, "%s%s", RSM_RETRY_PREFIX, group);
}

void rsm_dlq_topic(char *out, const char *group)
{
	assert(strlen(group) <= RSM_RETRY_GROUP_MAX);
	snprintf(out, RSM_NAME_MAX + 1, "%s%s", RSM_DLQ_PREFIX, group);
}

bool rsm_starts_earliest(const struct rsm_group *g, const char *topic)
{
	const char *owner = rsm_internal_group(topic);
	return g->initial == RSM_INITIAL_EARLIEST ||
	       (owner != NULL && strcmp(owner, g->name) == 0);
}

uint32_t rsm_retry_delay(const struct rsm_retry *r, uint32_t times)
{
	assert(r->n_delays > 0 && r->n_delays <= RSM_RETRY_STEPS_MAX);
	uint32_t step = times == 0 ? 0 : times - 1;
	return r->delays_ms[step < r->n_delays ? step : r->n_delays - 1];
}

bool rsm__retry_valid(const struct rsm_retry *r, enum rsm_group_mode mode,
		      const char *group, char *why, size_t why_len)
{
	if (r->n_delays == 0)
		return true;
	if (mode != RSM_CLUSTERING) {
		snprintf(why, why_len,
			 "retry settings are for clustering groups only");
		return false;
	}
	if (strlen(group) > RSM_RETRY_GROUP_MAX) {
		snprintf(why, why_len,
			 "group name of %zu characters: at most %d for a "
			 "group with retry (its topic %%RETRY%%G)",
			 strlen(group), RSM_RETRY_GROUP_MAX);
		return false;
	}
	if (r->n_delays > RSM_RETRY_STEPS_MAX || r->max_reconsume_times < 1 ||
	    r->max_reconsume_times > RSM_RECONSUME_MAX) {
		snprintf(why, why_len,
			 "retry: 1-%d delays and max_reconsume_times 1-%d "
			 "(got %u, %u)",
			 RSM_RETRY_STEPS_MAX, RSM_RECONSUME_MAX, r->n_delays,
			 r->max_reconsume_times);
		return false;
	}
	for (uint32_t i = 0; i < r->n_delays; i++)
		if (r->delays_ms[i] < 1 ||
		    r->delays_ms[i] > RSM_RETRY_DELAY_MAX_MS) {
			snprintf(why, why_len,
				 "retry delay %u of %u ms: each 1 ms to a day",
				 i + 1, r->delays_ms[i]);
			return false;
		}
	return true;
}
