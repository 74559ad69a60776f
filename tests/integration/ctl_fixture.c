/* ctl_fixture.c — raftqctl against a real cluster (ctl_fixture.h). */
#include "ctl_fixture.h"

#ifndef RAFTQCTL_PATH
#error "RAFTQCTL_PATH must be defined by the build"
#endif

int ctl_setup(void **state)
{
	/* raftqctl cluster remove sends it (issue 12). */
	setenv("RAFTQ_CLUSTER_SECRET", H_CLUSTER_SECRET, 1);
	struct fx *x = h_fixture(sizeof *x, 3, false);
	*state = x;
	if (x == NULL)
		return -1;
	/* A follower first: the CLI must find the leader itself. */
	snprintf(x->boot, sizeof x->boot, "127.0.0.1:1,%s,%s",
		 x->h.nodes[0].listen, x->h.nodes[1].listen);
	return 0;
}

/* Runs raftqctl with @args (and @input on stdin); returns the exit code. */
int ctl(struct fx *x, const char *input, const char *args)
{
	char o[700], e[700], cmd[4096];
	snprintf(o, sizeof o, "%s/ctl.out", x->h.root);
	snprintf(e, sizeof e, "%s/ctl.err", x->h.root);
	snprintf(cmd, sizeof cmd, "printf '%s' | %s -b %s %s >%s 2>%s",
		 input ? input : "", RAFTQCTL_PATH, x->boot, args, o, e);
	int st = system(cmd);
	FILE *f = fopen(o, "r");
	size_t n = f ? fread(x->out, 1, sizeof x->out - 1, f) : 0;
	x->out[n] = '\0';
	if (f)
		fclose(f);
	f = fopen(e, "r");
	n = f ? fread(x->err, 1, sizeof x->err - 1, f) : 0;
	x->err[n] = '\0';
	if (f)
		fclose(f);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Starts raftqctl @args in the background; its output goes to
 * ROOT/@tag.out, .err and its exit status to .rc. */
void ctl_bg(struct fx *x, const char *tag, const char *args)
{
	char cmd[4096];
	snprintf(cmd, sizeof cmd,
		 "(%s -b %s %s >%s/%s.out 2>%s/%s.err; echo $? >%s/%s.rc) "
		 "</dev/null >/dev/null 2>&1 &",
		 RAFTQCTL_PATH, x->boot, args, x->h.root, tag, x->h.root, tag,
		 x->h.root, tag);
	assert_int_equal(system(cmd), 0);
}

/* Waits (up to @ms) for the background raftqctl @tag: its exit status,
 * its stderr in x->err and stdout line count; -1 if it did not end. */
int ctl_bg_wait(struct fx *x, const char *tag, int ms, int *lines)
{
	char p[700];
	int64_t end = h_now_ms() + ms;
	int rc = -1;
	snprintf(p, sizeof p, "%s/%s.rc", x->h.root, tag);
	while (h_now_ms() < end) {
		FILE *f = fopen(p, "r");
		if (f != NULL && fscanf(f, "%d", &rc) == 1) {
			fclose(f);
			break;
		}
		if (f != NULL)
			fclose(f);
		usleep(50000); /* bounded by @ms */
	}
	snprintf(p, sizeof p, "%s/%s.err", x->h.root, tag);
	FILE *f = fopen(p, "r");
	size_t n = f ? fread(x->err, 1, sizeof x->err - 1, f) : 0;
	x->err[n] = '\0';
	if (f)
		fclose(f);
	snprintf(p, sizeof p, "%s/%s.out", x->h.root, tag);
	f = fopen(p, "r");
	*lines = 0;
	for (int c; f && (c = fgetc(f)) != EOF;)
		*lines += c == '\n';
	if (f)
		fclose(f);
	return rc;
}

/* Whether every queue of @group's first topic is at @offset with
 * @members online members (group describe --json). */
bool group_at(struct fx *x, const char *group, json_int_t offset,
	      size_t members)
{
	char args[200];
	snprintf(args, sizeof args, "--json group describe %s", group);
	if (ctl(x, NULL, args) != 0)
		return false;
	json_error_t je;
	json_t *d = json_loads(x->out, 0, &je);
	json_t *qs = json_object_get(
	    json_array_get(json_object_get(d, "topics"), 0), "queues");
	bool ok = json_array_size(json_object_get(d, "members")) == members &&
		  json_array_size(qs) > 0;
	for (size_t i = 0; ok && i < json_array_size(qs); i++)
		ok = json_integer_value(json_object_get(
			 json_array_get(qs, i), "consumer_offset")) == offset;
	json_decref(d);
	return ok;
}

/* Writes @text to ROOT/@name; its path in @path. */
void write_file(struct fx *x, const char *name, const char *text, char *path,
		size_t n)
{
	snprintf(path, n, "%s/%s", x->h.root, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

void file_is(const char *path, const char *want)
{
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	char text[4096] = "";
	size_t n = fread(text, 1, sizeof text - 1, f);
	fclose(f);
	text[n] = '\0';
	assert_string_equal(text, want);
}

void ctl_ok(struct fx *x, const char *args)
{
	if (ctl(x, NULL, args) != 0)
		fail_msg("raftqctl %s: %s", args, x->err);
}

void ctl_out_is(struct fx *x, const char *args, const char *want)
{
	ctl_ok(x, args);
	assert_string_equal(x->out, want);
}

void ctl_out_has(struct fx *x, const char *args, const char *part)
{
	ctl_ok(x, args);
	if (strstr(x->out, part) == NULL)
		fail_msg("raftqctl %s: no \"%s\" in:\n%s", args, part, x->out);
}
