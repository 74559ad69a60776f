/* raftqctl's time and duration input; expected values from Python's
 * calendar.timegm, not from this code. */
#include "../test_util.h"
#include "ctl.h"

static int64_t t(const char *text, const char *tz)
{
	int64_t ms = -1;
	char err[256];
	if (ctl_parse_time(text, tz, &ms, err, sizeof err) != 0)
		fail_msg("%s: %s", text, err);
	return ms;
}

static void bad(const char *text, const char *tz, const char *want)
{
	int64_t ms;
	char err[256];
	assert_int_equal(ctl_parse_time(text, tz, &ms, err, sizeof err), -1);
	assert_string_equal(err, want);
}

static void test_ctl_time_formats(void **state)
{
	(void)state;
	assert_int_equal(t("2026-11-22 06:32:46", "+00:00"), 1795329166000);
	assert_int_equal(t("2026-11-22 06:32:46", "Z"), 1795329166000);
	assert_int_equal(t("2026-11-22 06:32:46", "+08:00"), 1795300366000);
	assert_int_equal(t("2026-11-22 06:32:46", "-05:30"), 1795348966000);
	assert_int_equal(t("2026-11-22T06:32:46Z", NULL), 1795329166000);
	assert_int_equal(t("2026-11-22T06:32:46.123Z", NULL), 1795329166123);
	assert_int_equal(t("2026-11-22T06:32:46.5+00:00", NULL), 1795329166500);
	assert_int_equal(t("2026-11-22T14:32:46+08:00", NULL), 1795329166000);
	assert_int_equal(t("2024-02-29 23:59:59", "+0000"), 1709251199000);
	assert_int_equal(t("1795329166000", NULL), 1795329166000);
	/* Local zone: TZ=UTC for this test. */
	setenv("TZ", "UTC", 1);
	tzset();
	assert_int_equal(t("2026-11-22 06:32:46", NULL), 1795329166000);
}

static void test_ctl_time_errors_name_the_field(void **state)
{
	(void)state;
	bad("2026-13-01 00:00:00", NULL, "month 13 is not 1-12");
	bad("2026-02-29 00:00:00", "Z", "day 29 is not 1-28");
	bad("2026-04-31 00:00:00", "Z", "day 31 is not 1-30");
	bad("2026-01-01 24:00:00", "Z", "hour 24 is not 0-23");
	bad("2026-01-01 10:60:00", "Z", "minute 60 is not 0-59");
	bad("2026-01-01 10:00:61", "Z", "second 61 is not 0-59");
	bad("yesterday", NULL,
	    "time must be \"YYYY-MM-DD HH:MM:SS\", ISO-8601 with a zone, or "
	    "epoch milliseconds");
	bad("2026-01-01 10:00:00", "+25:00",
	    "zone offset '+25:00' is not +HH:MM, -HH:MM or Z");
	bad("2026-01-01T10:00:00Z", "+01:00",
	    "the time carries its own zone 'Z'; drop --tz");
}

static void test_ctl_durations(void **state)
{
	(void)state;
	int64_t ms;
	char err[256];
	const struct {
		const char *text;
		int64_t ms;
	} ok[] = {{"90m", 5400000},	 {"2h", 7200000}, {"1d", 86400000},
		  {"45s", 45000},	 {"500ms", 500},  {"1h30m", 5400000},
		  {"1d2h3m4s", 93784000}};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		assert_int_equal(
		    ctl_parse_duration(ok[i].text, &ms, err, sizeof err), 0);
		assert_int_equal(ms, ok[i].ms);
	}
	const char *no[] = {"", "90", "m", "1w", "-5m", "1.5h", "5 m"};
	for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
		assert_int_equal(
		    ctl_parse_duration(no[i], &ms, err, sizeof err), -1);
	ctl_parse_duration("1w", &ms, err, sizeof err);
	assert_string_equal(
	    err, "duration '1w' is not like 90m, 2h, 1d, 45s, 500ms or 1h30m");
	int64_t v;
	assert_int_equal(ctl_parse_int("-12", "n", &v, err, sizeof err), 0);
	assert_int_equal(v, -12);
	assert_int_equal(
	    ctl_parse_int("12x", "--shift-by", &v, err, sizeof err), -1);
	assert_string_equal(err, "--shift-by '12x' is not a whole number");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ctl_time_formats),
	    cmocka_unit_test(test_ctl_time_errors_name_the_field),
	    cmocka_unit_test(test_ctl_durations),
	};
	return cmocka_run_group_tests_name("ctl/timeparse", tests, NULL, NULL);
}
