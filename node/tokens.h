/*
 * tokens.h — the tokens file of [auth] tokens_file (DESIGN.md §6.2) and
 * what each token may do. Pure: no I/O but reading the file, no loop.
 *
 * File: one token per line, `NAME HASH PERM[,PERM...]`; `#` starts a
 * comment; blank lines are skipped. NAME is 1..64 of [A-Za-z0-9._-] and
 * unique; HASH is what `raftqctl auth hash TOKEN` prints (libsodium's
 * crypto_pwhash_str: argon2id, salted); PERM is `admin`, `produce:T`,
 * `consume:G` or `reset:G`, where T / G is a name or a pattern with `*`
 * (any run of characters).
 */
#ifndef RAFTQ_NODE_TOKENS_H
#define RAFTQ_NODE_TOKENS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TOKENS_NAME_MAX 64
#define TOKENS_HASH_MAX 128    /* crypto_pwhash_STRBYTES */
#define TOKENS_PERMS_MAX 256   /* permissions on one line */
#define TOKENS_MAX 4096	       /* lines with a token */
#define TOKENS_PATTERN_MAX 255 /* a resource name or pattern */
#define TOKEN_TEXT_MAX 1024    /* a token itself (AUTH refuses longer) */

enum tokens_action {
	TOKENS_PRODUCE, /* produce:TOPIC */
	TOKENS_CONSUME, /* consume:GROUP */
	TOKENS_RESET,	/* reset:GROUP */
	TOKENS_ADMIN,	/* admin: everything */
};

struct tokens_perm {
	enum tokens_action action;
	char pattern[TOKENS_PATTERN_MAX + 1]; /* "" for admin */
};

struct tokens_entry {
	char name[TOKENS_NAME_MAX + 1];
	char hash[TOKENS_HASH_MAX + 1];
	uint32_t n_perms;
	struct tokens_perm *perms; /* owned */
};

struct tokens {
	uint32_t n;
	struct tokens_entry *v;
};

/*
 * Parses the text of a tokens file (@len bytes, NUL not needed) into @out
 * (free with tokens_free). 0, or -1 with "line N: what is wrong" in @err
 * (the file's name is the caller's to add); @out is then empty.
 */
int tokens_parse(const char *text, size_t len, struct tokens *out, char *err,
		 size_t errlen);
/* Reads and parses @path: 0, or -1 with "PATH: ..." in @err. */
int tokens_load(const char *path, struct tokens *out, char *err, size_t errlen);
void tokens_free(struct tokens *t);

/* Whether @e may do @action on the topic or group @resource (NULL or
 * ignored for TOKENS_ADMIN). admin allows everything. */
bool tokens_allows(const struct tokens_entry *e, enum tokens_action action,
		   const char *resource);
/* "produce", "consume", "reset", "admin". */
const char *tokens_action_name(enum tokens_action action);

#endif /* RAFTQ_NODE_TOKENS_H */
