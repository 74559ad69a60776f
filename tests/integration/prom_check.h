/*
 * prom_check.h — a strict check of the Prometheus text exposition format
 * 0.0.4 (what `promtool check metrics` would say about structure), for
 * the tests of GET /metrics: every line a HELP, a TYPE or a sample; names
 * and label names valid, label values quoted with only \\ \" \n escapes;
 * values numbers; a family's TYPE before its samples, at most once, and
 * its samples together; histogram buckets non-decreasing with +Inf equal
 * to _count; the text ends with a newline.
 */
#ifndef RAFTQ_TEST_PROM_CHECK_H
#define RAFTQ_TEST_PROM_CHECK_H

#include <stddef.h>

/* 0, or -1 with "line N: what is wrong" in @err. */
int prom_check(const char *text, char *err, size_t errlen);

/* The value of the sample whose name and labels are exactly @series
 * ("name{a=\"x\"}"), or -1 when there is none. */
double prom_value(const char *text, const char *series);

#endif
