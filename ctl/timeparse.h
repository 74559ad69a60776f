/*
 * timeparse.h — times, durations and numbers an operator types, for
 * raftqctl and for the HTTP API of a node (the ApsaraMQ "resetTime"):
 * its own library, raftq_timeparse, with no other dependency.
 */
#ifndef RAFTQ_CTL_TIMEPARSE_H
#define RAFTQ_CTL_TIMEPARSE_H

#include <stddef.h>
#include <stdint.h>

/*
 * Times an operator types, to epoch milliseconds:
 *   "YYYY-MM-DD HH:MM:SS" in the local zone, or in @tz ("+08:00", "-05:30",
 *   "Z") when @tz is not NULL;
 *   ISO-8601 "YYYY-MM-DDTHH:MM:SS[.mmm](Z|±HH:MM)";
 *   epoch milliseconds (digits only).
 * Returns 0, or -1 with a message naming the bad field in @err.
 */
int ctl_parse_time(const char *text, const char *tz, int64_t *ms, char *err,
		   size_t errlen);
/* Epoch milliseconds below this look like seconds (DESIGN §2.1). */
#define CTL_EPOCH_MS_MIN 100000000000LL
/* 0 when @ms can be epoch milliseconds (0 allowed: the beginning), or -1
 * with "N looks like seconds; raftq expects milliseconds (N000)". */
int ctl_check_epoch_ms(int64_t ms, char *err, size_t errlen);
/* "90m", "2h", "1d", "45s", "500ms", "1h30m" -> milliseconds. */
int ctl_parse_duration(const char *text, int64_t *ms, char *err, size_t errlen);
/* A signed integer ("-12", "+5", "7"); -1 with a message otherwise. */
int ctl_parse_int(const char *text, const char *what, int64_t *out, char *err,
		  size_t errlen);

#endif /* RAFTQ_CTL_TIMEPARSE_H */
