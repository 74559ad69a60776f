/*
 * ctl_fixture.h — raftqctl against a real 3-node cluster, for the
 * integration tests of the CLI (test_ctl.c, test_ctl_topics.c).
 */
#ifndef RAFTQ_TEST_CTL_FIXTURE_H
#define RAFTQ_TEST_CTL_FIXTURE_H

#include "../unit/test_util.h"
#include "harness.h"

#include <jansson.h>

struct fx {
	struct harness h;
	char boot[256];
	char out[65536], err[4096];
};

/* cmocka setup: a started 3-node cluster; -b lists a dead address and a
 * follower first, so the CLI must find the leader itself. */
int ctl_setup(void **state);
/* Runs raftqctl with @args (and @input on stdin); returns the exit code,
 * stdout in x->out, stderr in x->err. */
int ctl(struct fx *x, const char *input, const char *args);
/* Runs raftqctl @args; asserts exit 0 (failing with its stderr). */
void ctl_ok(struct fx *x, const char *args);
/* Runs raftqctl @args; asserts exit 0 and that stdout is exactly @want. */
void ctl_out_is(struct fx *x, const char *args, const char *want);
/* Runs raftqctl @args; asserts exit 0 and that stdout contains @part. */
void ctl_out_has(struct fx *x, const char *args, const char *part);
/* Starts raftqctl @args in the background; its output goes to
 * ROOT/@tag.out, .err and its exit status to .rc. */
void ctl_bg(struct fx *x, const char *tag, const char *args);
/* Waits (up to @ms) for the background raftqctl @tag: its exit status,
 * its stderr in x->err and stdout line count; -1 if it did not end. */
int ctl_bg_wait(struct fx *x, const char *tag, int ms, int *lines);
/* Whether every queue of @group's first topic is at @offset with
 * @members online members (group describe --json). */
bool group_at(struct fx *x, const char *group, json_int_t offset,
	      size_t members);
/* Asserts that file @path holds exactly @want. */
void file_is(const char *path, const char *want);
/* Writes @text to ROOT/@name; its path in @path. */
void write_file(struct fx *x, const char *name, const char *text, char *path,
		size_t n);

#endif
