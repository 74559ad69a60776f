/*
 * libFuzzer target: tokens files (node/tokens.c, [auth] tokens_file). Any
 * bytes give tokens or an error naming the line, never a crash; every
 * token parsed has a valid name, an argon2id hash and at least one
 * permission, and names are unique.
 */
#include <stdlib.h>
#include <string.h>

#include "tokens.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tokens t;
	char err[600];
	if (tokens_parse((const char *)data, size, &t, err, sizeof err) != 0) {
		if (strncmp(err, "line ", 5) != 0 || t.n != 0)
			abort(); /* every error names the line */
		return 0;
	}
	for (uint32_t i = 0; i < t.n; i++) {
		const struct tokens_entry *e = &t.v[i];
		if (e->name[0] == '\0' || strncmp(e->hash, "$argon2id$", 10) ||
		    e->n_perms == 0 || e->n_perms > TOKENS_PERMS_MAX)
			abort();
		for (uint32_t j = 0; j < i; j++)
			if (strcmp(t.v[j].name, e->name) == 0)
				abort();
		/* Matching any name must not crash. */
		(void)tokens_allows(e, TOKENS_CONSUME, "g");
	}
	tokens_free(&t);
	return 0;
}
