/*
 * cli.h — inside raftqctl only: the global options, flag parsing, the
 * output module and one entry point per command noun. Each command returns
 * the exit status: 0 ok, 1 an error from the cluster (printed as
 * "error: CODE: message"), 2 bad usage.
 */
#ifndef RAFTQ_CTL_CLI_H
#define RAFTQ_CTL_CLI_H

#include <jansson.h>
#include <stdio.h>

#include "ctl.h"
#include "plan.h"

/* The global flags (-b, --json, --timeout), anywhere on the line. */
struct ctl_opts {
	const char *bootstrap; /* checked: numeric IP:PORT,... */
	bool json;
	uint32_t timeout_ms; /* a command's whole budget, retries included */
	bool timeout_given;  /* --timeout was on the command line */
	const char *token;   /* [auth]: --token, $RAFTQ_TOKEN, token_file */
};

/* ---- flags.c ---- */

/* Prints an answer's body (the response struct of the request's type). */
typedef void (*ctl_print_fn)(const struct ctl_opts *o, const void *body);

#define CTL_FLAG_VALUES 16

struct ctl_flag {
	const char *name; /* "--topic" */
	bool has_value;
	bool repeatable; /* may be given more than once (values kept) */
	bool given;
	const char *value; /* the first value given */
	const char *values[CTL_FLAG_VALUES];
	int n_values;
};

/* A flag that takes a value, one that may be repeated, one without. */
#define CTL_VALUE(name)                                     \
	{                                                   \
		(name), true, false, false, NULL, {NULL}, 0 \
	}
#define CTL_REPEAT(name)                                   \
	{                                                  \
		(name), true, true, false, NULL, {NULL}, 0 \
	}
#define CTL_SWITCH(name)                                     \
	{                                                    \
		(name), false, false, false, NULL, {NULL}, 0 \
	}

/* Prints "raftqctl: MESSAGE" and the usage line on stderr; returns 2. */
int ctl_usage_error(const char *usage, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Parses argv[from..] into @flags and at most @npos positionals (their
 * count in *got); 0, or 2 after printing the usage error (an unknown flag,
 * a missing value, a flag given twice that is not repeatable). */
int ctl_parse_flags(int argc, char **argv, int from, struct ctl_flag *flags,
		    int nflags, const char **pos, int npos, int *got,
		    const char *usage);
/* The value of flag @name ("" for a flag without value), NULL if absent. */
const char *ctl_flag(const struct ctl_flag *flags, int n, const char *name);
/* Flag @name as an integer in [min, max] into *out (untouched when the
 * flag is absent): 0, or -1 when it is given but not such a number. */
int ctl_flag_int(const struct ctl_flag *flags, int n, const char *name,
		 int64_t min, int64_t max, int64_t *out);
/* Every value of repeatable flag @name, each split at commas ("--topic
 * a,b --topic c": a, b, c), into @out (pointing into @buf); the count. */
uint32_t ctl_flag_list(const struct ctl_flag *flags, int n, const char *name,
		       char *buf, size_t bufsize, const char **out,
		       uint32_t max);
/* Splits "a,b,c" into @out (pointing into a copy kept in @buf). */
uint32_t ctl_split(const char *list, char *buf, size_t bufsize,
		   const char **out, uint32_t max);
/* The flags @f and the one positional argument after "NOUN SUB": 0, or
 * the usage error's exit status ("NOUN SUB needs WHAT"). */
int ctl_one_arg(int argc, char **argv, const char *usage, const char *what,
		struct ctl_flag *f, int nf, const char **arg);

/* A subcommand: "create" and its function; or, with run NULL, request
 * @type: with @print, for the one NAME given ("describe NAME": a request
 * struct holding just that name), else a list of names under @key. */
/* A subcommand: its own @run; or request @type for one name, printed by
 * @print ("describe"); or, with @gone, a deletion of one name ("delete",
 * @gone says what went); or a list of names under JSON @key ("list"). */
struct ctl_sub {
	const char *name;
	int (*run)(const struct ctl_opts *o, int argc, char **argv);
	uint16_t type;
	const char *key;
	ctl_print_fn print;
	const char *gone;
};
/* Runs subcommand argv[2] of @noun from @subs (usage errors named). */
int ctl_run_sub(const struct ctl_opts *o, int argc, char **argv,
		const char *usage, const struct ctl_sub *subs, size_t n);

/* Monotonic milliseconds (waits and deadlines). */
int64_t ctl_now_ms(void);

/* ---- client.c ---- */

struct raftq_client;
/* The libraftq client of produce and consume, named @id: 0, or 1 after
 * printing why there is none. */
int ctl_client_new(const struct ctl_opts *o, const char *id,
		   struct raftq_client **out);

/* ---- output.c: every line and JSON document raftqctl prints ---- */

/* 0 when the call succeeded; otherwise prints the error and returns 1. */
int ctl_check(const struct ctl_opts *o, const struct ctl_resp *r);
/* Prints @j (stolen) as one compact line. */
void ctl_json_out(json_t *j);
/* ms since the epoch as "YYYY-MM-DDTHH:MM:SS.mmmZ" ("-" when < 0). */
void ctl_fmt_time(int64_t ms, char *out, size_t n);
/* One request through the bootstrap list: prints the answer with @print
 * (NULL: nothing) or the error; the exit status. */
int ctl_request(const struct ctl_opts *o, uint16_t type, const void *req,
		ctl_print_fn print);
/* "created KIND NAME DETAIL", or {"KIND": NAME, "created": true}; 0. */
int ctl_print_created(const struct ctl_opts *o, const char *kind,
		      const char *name, const char *detail);
/* "created topic T with Q queues per broker on b1, b2", or {"topic":T,
 * "created":true,"brokers":[...]}. */
void ctl_print_topic_created(const struct ctl_opts *o, const char *name,
			     uint32_t queues,
			     const struct rpc_topic_create_resp *r);
void ctl_print_status(const struct ctl_opts *o, const void *body);
void ctl_print_names(const struct ctl_opts *o, const char *key,
		     const struct rpc_names_resp *n);
void ctl_print_topic(const struct ctl_opts *o, const void *body);
void ctl_print_group(const struct ctl_opts *o, const void *body);
void ctl_print_reset(const struct ctl_opts *o, const void *body);
void ctl_print_history(const struct ctl_opts *o, const void *body);
struct raftq_message;
/* One consumed message: a line, or with --json one object (DESIGN.md §7;
 * a retried one also has "topic" and "origin"). */
void ctl_print_message(const struct ctl_opts *o, const struct raftq_message *m);

/* ---- the commands: argv[1] is the noun ---- */

struct ctl_noun {
	const char *name;
	const char *usage; /* "NOUN SUB ...", lines joined by "\n" */
	int (*run)(const struct ctl_opts *o, int argc, char **argv);
};
extern const struct ctl_noun ctl_cluster, ctl_topic, ctl_group, ctl_offset,
    ctl_produce, ctl_consume, ctl_auth, ctl_dlq;

#endif /* RAFTQ_CTL_CLI_H */
