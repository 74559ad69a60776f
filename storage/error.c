/*
 * error.c — names and texts of the storage error codes, from the one
 * X-macro table in storage.h.
 */
#include <string.h>

#include "../util/error_table.h"
#include "storage.h"

ERROR_TABLE_FUNCTIONS(stor_strerror, stor_errname, STOR_ERRORS, "STOR_UNKNOWN")

int stor_flush_parse(const char *text, enum stor_flush *out)
{
	if (text == NULL)
		return STOR_EINVAL;
	if (strcmp(text, "sync") == 0)
		*out = STOR_FLUSH_SYNC;
	else if (strcmp(text, "interval") == 0)
		*out = STOR_FLUSH_INTERVAL;
	else if (strcmp(text, "os") == 0)
		*out = STOR_FLUSH_OS;
	else
		return STOR_EINVAL;
	return 0;
}

const char *stor_flush_name(enum stor_flush flush)
{
	switch (flush) {
	case STOR_FLUSH_SYNC:
		return "sync";
	case STOR_FLUSH_INTERVAL:
		return "interval";
	case STOR_FLUSH_OS:
		return "os";
	}
	return "unknown";
}
