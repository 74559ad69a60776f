/*
 * The tokens file (node/tokens.c): what a good file gives, what each bad
 * line is refused with (line number and reason), and what a token with
 * patterns may do.
 */
#include <sodium.h>
#include <string.h>

#include "../test_util.h"
#include "tokens.h"

/* A real hash (what `raftqctl auth hash` makes), computed once. */
static char hash[crypto_pwhash_STRBYTES];

static int group_setup(void **state)
{
	(void)state;
	if (sodium_init() < 0)
		return -1;
	return crypto_pwhash_str(hash, "t0ken-0123456789", 16, 2, 19u << 20);
}

static int parse(const char *text, struct tokens *t, char *err)
{
	return tokens_parse(text, strlen(text), t, err, 512);
}

/* @fmt with every %s the hash. */
static const char *with_hash(const char *fmt)
{
	static char buf[4096];
	snprintf(buf, sizeof buf, fmt, hash, hash, hash);
	return buf;
}

static void test_tokens_good_file(void **state)
{
	(void)state;
	struct tokens t;
	char err[512] = "";
	const char *text =
	    with_hash("# who may do what\n\n"
		      "ops %s admin\n"
		      "  app\t%s produce:orders,consume:billing-*"
		      "   # the shop\n"
		      "audit %s reset:g1");
	assert_int_equal(parse(text, &t, err), 0);
	assert_int_equal(t.n, 3);
	assert_string_equal(t.v[0].name, "ops");
	assert_string_equal(t.v[0].hash, hash);
	assert_int_equal(t.v[1].n_perms, 2);
	assert_int_equal(t.v[1].perms[0].action, TOKENS_PRODUCE);
	assert_string_equal(t.v[1].perms[0].pattern, "orders");
	assert_int_equal(t.v[1].perms[1].action, TOKENS_CONSUME);
	assert_string_equal(t.v[1].perms[1].pattern, "billing-*");
	/* admin may do everything. */
	assert_true(tokens_allows(&t.v[0], TOKENS_RESET, "any"));
	assert_true(tokens_allows(&t.v[0], TOKENS_ADMIN, NULL));
	/* Exact names and patterns, per action. */
	assert_true(tokens_allows(&t.v[1], TOKENS_PRODUCE, "orders"));
	assert_false(tokens_allows(&t.v[1], TOKENS_PRODUCE, "orders2"));
	assert_true(tokens_allows(&t.v[1], TOKENS_CONSUME, "billing-eu"));
	assert_true(tokens_allows(&t.v[1], TOKENS_CONSUME, "billing-"));
	assert_false(tokens_allows(&t.v[1], TOKENS_CONSUME, "billing"));
	assert_false(tokens_allows(&t.v[1], TOKENS_RESET, "billing-eu"));
	assert_false(tokens_allows(&t.v[1], TOKENS_ADMIN, NULL));
	/* reset does not imply consume. */
	assert_true(tokens_allows(&t.v[2], TOKENS_RESET, "g1"));
	assert_false(tokens_allows(&t.v[2], TOKENS_CONSUME, "g1"));
	tokens_free(&t);
	assert_int_equal(t.n, 0);
}

static void bad(const char *fmt, const char *want)
{
	struct tokens t;
	char err[512] = "";
	assert_int_equal(parse(with_hash(fmt), &t, err), -1);
	assert_string_equal(err, want);
	assert_int_equal(t.n, 0);
	assert_null(t.v);
}

static void test_tokens_bad_lines(void **state)
{
	(void)state;
	bad("ops %s\n", "line 1: 2 fields; want NAME HASH PERM[,PERM...]");
	bad("# c\nops %s admin extra\n",
	    "line 2: 4 fields; want NAME HASH PERM[,PERM...]");
	bad("o/ps %s admin", "line 1: name 'o/ps': 1 to 64 letters, digits, "
			     ". _ -");
	bad("ops %s admin\nops %s admin", "line 2: name 'ops' appears twice");
	bad("ops plaintext-token admin",
	    "line 1: the hash of 'ops' is not what `raftqctl auth hash TOKEN` "
	    "prints ($argon2id$...)");
	bad("ops $argon2id$v=19$m=1,t=1,p=1$short admin",
	    "line 1: the hash of 'ops' is not what `raftqctl auth hash TOKEN` "
	    "prints ($argon2id$...)");
	bad("ops %s root", "line 1: permission 'root' is not admin, "
			   "produce:TOPIC, consume:GROUP or reset:GROUP");
	bad("ops %s read:t", "line 1: permission 'read:t' is not admin, "
			     "produce:TOPIC, consume:GROUP or reset:GROUP");
	bad("ops %s produce:", "line 1: permission 'produce:': '' is not a "
			       "name or a pattern (letters, digits, . _ - "
			       "and *)");
	bad("ops %s consume:g?", "line 1: permission 'consume:g?': 'g?' is "
				 "not a name or a pattern (letters, digits, "
				 ". _ - and *)");
	bad("ops %s admin,,reset:g",
	    "line 1: an empty permission in 'admin,,reset:g'");
}

static void test_tokens_nul_byte_and_missing_file(void **state)
{
	(void)state;
	struct tokens t;
	char err[512];
	assert_int_equal(tokens_parse("a\nb\0c", 5, &t, err, sizeof err), -1);
	assert_string_equal(err, "line 2: a NUL byte: not a text file");
	assert_int_equal(
	    tokens_load("/nonexistent/tokens", &t, err, sizeof err), -1);
	assert_string_equal(err,
			    "/nonexistent/tokens: No such file or directory");
	/* An empty file: no tokens (every client is refused). */
	assert_int_equal(tokens_parse("", 0, &t, err, sizeof err), 0);
	assert_int_equal(t.n, 0);
	tokens_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_tokens_good_file),
	    cmocka_unit_test(test_tokens_bad_lines),
	    cmocka_unit_test(test_tokens_nul_byte_and_missing_file),
	};
	return cmocka_run_group_tests_name("unit/node/tokens", tests,
					   group_setup, NULL);
}
