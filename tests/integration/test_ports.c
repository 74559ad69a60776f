/*
 * test_ports.c — the harness's port claims hold across processes: two test
 * binaries running side by side (ctest -j2) never get the same port, even
 * when one of them has stopped the node that bound it (CI failure: "raft_listen
 * on 127.0.0.1:24091: address already in use").
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

#define N_PORTS 500 /* each side; 12000 candidates, ~21 shared if unclaimed */

/* Takes N_PORTS ports (none bound afterwards, like a stopped node's) and
 * marks them in seen[]; 0 when all were found. */
static int take_ports(uint8_t *seen)
{
	for (int i = 0; i < N_PORTS; i++) {
		int p = h_free_port();
		if (p < 0)
			return -1;
		seen[p] = 1;
	}
	return 0;
}

static void test_ports_two_processes_never_share_a_port(void **state)
{
	(void)state;
	int to_parent[2], to_child[2];
	assert_int_equal(pipe(to_parent), 0);
	assert_int_equal(pipe(to_child), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		static uint8_t mine[65536];
		int rc = take_ports(mine);
		ssize_t w = write(to_parent[1], mine, sizeof mine);
		char c;
		/* Stay alive (claims held) until the parent has taken its own.
		 */
		ssize_t r = read(to_child[0], &c, 1);
		_exit(rc == 0 && w == (ssize_t)sizeof mine && r == 1 ? 0 : 1);
	}
	static uint8_t theirs[65536], mine[65536];
	size_t got = 0;
	while (got < sizeof theirs) {
		ssize_t r =
		    read(to_parent[0], theirs + got, sizeof theirs - got);
		assert_true(r > 0);
		got += (size_t)r;
	}
	assert_int_equal(take_ports(mine), 0);
	int shared = 0, n_theirs = 0;
	for (int p = 0; p < 65536; p++) {
		n_theirs += theirs[p];
		shared += theirs[p] && mine[p];
	}
	assert_int_equal(write(to_child[1], "x", 1), 1);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(n_theirs, N_PORTS);
	assert_int_equal(shared, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ports_two_processes_never_share_a_port),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
