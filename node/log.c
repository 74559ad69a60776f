/*
 * log.c — log lines "2026-11-22T05:40:01.123Z info node=1 raft: message".
 * Only node/ (and ctl/) own output; the level is checked before the
 * message is formatted (NODE_LOG).
 */
#include <stdarg.h>
#include <string.h>
#include <time.h>

#include "node.h"

static FILE *log_out;
static uint64_t log_node;
static enum node_log_level log_min = NODE_INFO;

static const char *const names[] = {"debug", "info", "warn", "error"};

void node_log_init(FILE *out, uint64_t node_id, enum node_log_level min)
{
	log_out = out;
	log_node = node_id;
	log_min = min;
}

int node_log_parse_level(const char *text, enum node_log_level *out)
{
	for (int i = 0; i < 4; i++) {
		if (strcmp(text, names[i]) == 0) {
			*out = (enum node_log_level)i;
			return 0;
		}
	}
	return -1;
}

bool node_log_enabled(enum node_log_level level)
{
	return level >= log_min;
}

void node_log_write(enum node_log_level level, const char *module,
		    const char *fmt, ...)
{
	FILE *out = log_out ? log_out : stderr;
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	char when[32];
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
	char line[2048];
	int n = snprintf(line, sizeof line, "%s.%03ldZ %s node=%llu %s: ", when,
			 ts.tv_nsec / 1000000, names[level],
			 (unsigned long long)log_node, module);
	if (n < 0 || (size_t)n >= sizeof line)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
	va_end(ap);
	/* One write per line, so lines from a crash are whole. */
	fprintf(out, "%s\n", line);
	fflush(out);
}
