/*
 * member_wait.c — wait until no member of a group can still deliver from
 * before a reset (node_int.h has the contract; docs/design/member-lease.md
 * the argument).
 *
 * A member delivers only while its last heartbeat answer is younger than
 * member_lease_ms (its lease, counted from when it sent the heartbeat). So
 * once member_lease_ms has passed since the reset applied here, every
 * answer given before the reset has run out, and any later answer carried
 * the new epoch. Usually it is much quicker: the members got the
 * RESET_NOTICE, moved, and their next heartbeat (sent at once) says they
 * hold the new epoch. That shortcut needs this node to know every member
 * that may hold a lease — those that heartbeated to an earlier leader do
 * not show here until they heartbeat again — so it counts only once this
 * node has led for member_lease_ms plus an election timeout (an old leader
 * may answer until it notices it lost its quorum).
 *
 * Polls every WAIT_POLL_MS; owns itself and frees itself once its timer
 * has closed after the callback.
 */
#include <stdlib.h>
#include <string.h>

#include "members.h"

#define WAIT_POLL_MS 1

struct member_wait {
	struct node *n;
	char group[RSM_NAME_MAX + 1];
	char (*topics)[RSM_NAME_MAX + 1];
	uint64_t *epochs;
	uint32_t nt;
	uint64_t deadline;
	uv_timer_t timer;
	node_members_cb cb;
	void *data;
};

static void on_closed(uv_handle_t *h)
{
	struct member_wait *w = h->data;
	free(w->topics);
	free(w->epochs);
	free(w);
}

/* Online members of the group that do not hold every epoch yet. */
static uint32_t unconfirmed(const struct member_wait *w)
{
	uint32_t count = 0;
	for (size_t i = 0; i < node_member_count(w->n); i++) {
		const struct node_member *m = node_member_at(w->n, i);
		if (strcmp(m->group, w->group) != 0)
			continue;
		bool holds = true;
		for (uint32_t t = 0; t < w->nt && holds; t++)
			holds =
			    node_member_holds(m, w->topics[t], w->epochs[t]);
		count += !holds;
	}
	return count;
}

/* Whether this node knows every member that may hold a lease. */
static bool knows_all(struct node *n, uint64_t now)
{
	return node_is_ready_leader(n) && now >= n->leader_since +
						     n->cfg.member_lease_ms +
						     n->cfg.election_timeout_ms;
}

static void on_timer(uv_timer_t *h)
{
	struct member_wait *w = h->data;
	uint64_t now = uv_now(w->n->loop);
	uint32_t left = unconfirmed(w);
	bool confirmed = left == 0 && knows_all(w->n, now);
	if (!confirmed && now < w->deadline) {
		uv_timer_start(&w->timer, on_timer, WAIT_POLL_MS, 0);
		return;
	}
	w->cb(w->data, confirmed ? 0 : left);
	uv_close((uv_handle_t *)&w->timer, on_closed);
}

int node_members_wait(struct node *n, const char *group,
		      const char *const *topics, const uint64_t *epochs,
		      uint32_t nt, node_members_cb cb, void *data)
{
	struct member_wait *w = calloc(1, sizeof *w);
	if (w != NULL) {
		w->topics = calloc(nt ? nt : 1, sizeof *w->topics);
		w->epochs = calloc(nt ? nt : 1, sizeof *w->epochs);
	}
	if (w == NULL || w->topics == NULL || w->epochs == NULL) {
		if (w != NULL) {
			free(w->topics);
			free(w->epochs);
		}
		free(w);
		return -1;
	}
	w->n = n;
	snprintf(w->group, sizeof w->group, "%s", group);
	for (uint32_t i = 0; i < nt; i++) {
		snprintf(w->topics[i], sizeof w->topics[i], "%s", topics[i]);
		w->epochs[i] = epochs[i];
	}
	w->nt = nt;
	w->deadline = uv_now(n->loop) + n->cfg.member_lease_ms;
	w->cb = cb;
	w->data = data;
	uv_timer_init(n->loop, &w->timer);
	w->timer.data = w;
	/* Never from inside this call: the first check runs on the loop. */
	uv_timer_start(&w->timer, on_timer, 0, 0);
	return 0;
}
