/*
 * fatal.c — a last log line when raftqd dies of a fatal signal, so the
 * operator sees why instead of a silent end (issue 10 #2: libraft 0.15
 * crashes with SIGSEGV on some disk write errors of a leader).
 *
 * The handler only uses async-signal-safe calls (write, signal, raise):
 * it writes one line to stderr (the node's log), then restores the
 * default action and raises the signal again, so the exit status and any
 * core dump are those of the signal. Not installed under AddressSanitizer,
 * whose own handler reports more.
 */
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "node_int.h"

#if !defined(__SANITIZE_ADDRESS__)
static const char *const fatal_names[] = {
    [SIGSEGV] = "SIGSEGV", [SIGBUS] = "SIGBUS", [SIGABRT] = "SIGABRT",
    [SIGFPE] = "SIGFPE",   [SIGILL] = "SIGILL",
};

static void put(const char *s)
{
	ssize_t rv = write(STDERR_FILENO, s, strlen(s));
	(void)rv; /* nothing else can be done in a dying process */
}

static void on_fatal(int sig)
{
	put("raftqd: fatal signal ");
	put(fatal_names[sig] ? fatal_names[sig] : "?");
	put(": the node stops now. A crash inside libraft.so after storage "
	    "or Raft write errors is a known libraft 0.15 bug "
	    "(docs/reliability.md): check the disk, then restart the node; "
	    "acknowledged data is on disk or on the other nodes\n");
	signal(sig, SIG_DFL);
	raise(sig);
}

#endif

void node_fatal_signals(void)
{
#if !defined(__SANITIZE_ADDRESS__)
	static const int sigs[] = {SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL};
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		signal(sigs[i], on_fatal);
#endif
}
