/* raftqd's configuration: defaults, INI files, flags, checks. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../test_util.h"
#include "node_int.h"

static char *write_ini(const char *text)
{
	char *dir = tu_mkdtemp();
	char *p = tu_path(dir, "raftqd.ini");
	FILE *f = fopen(p, "w");
	fputs(text, f);
	fclose(f);
	free(dir);
	return p;
}

static void test_config_defaults(void **state)
{
	(void)state;
	struct node_config c;
	node_config_defaults(&c);
	assert_int_equal(c.id, 0);
	assert_string_equal(c.listen, "127.0.0.1:9101");
	assert_string_equal(c.raft_listen, "127.0.0.1:9201");
	assert_int_equal(c.election_timeout_ms, 1000);
	assert_int_equal(c.heartbeat_timeout_ms, 100);
	assert_int_equal(c.retention_hours, 72);
	assert_string_equal(c.flush, "sync");
	assert_string_equal(c.log_level, "info");
	assert_int_equal(c.replica_lag_max_ms, 1000);
	assert_int_equal(c.broker_session_ms, 500);
	assert_int_equal(c.replica_ack_timeout_ms, 5000);
	assert_string_equal(c.replace, "no");
	assert_string_equal(c.listen_bind, "");
	struct stor_config s;
	node_config_storage(&c, &s);
	assert_int_equal(s.retention_ms, 72LL * 3600 * 1000);
	assert_int_equal(s.flush, STOR_FLUSH_SYNC);
	assert_int_equal(s.segment_bytes, 128u << 20);
}

static void test_config_file_then_flags(void **state)
{
	(void)state;
	char *p = write_ini("; a comment\n[node]\nid = 2\ndata_dir = /d\n"
			    "raft_listen = 127.0.0.1:9202\n"
			    "initial_cluster = 1@127.0.0.1:9201,"
			    "2@127.0.0.1:9202\n[storage]\nflush = os\n"
			    "retention_hours = 5\n[auth]\n"
			    "cluster_secret = 0123456789abcdef\n");
	struct node_config c;
	node_config_defaults(&c);
	char *argv[] = {"raftqd", "--retention-hours",	    "7", "--config",
			p,	  "--listen=127.0.0.1:9999"};
	bool help, version;
	char err[512];
	assert_int_equal(
	    node_config_args(&c, 6, argv, &help, &version, err, sizeof err), 0);
	assert_false(help);
	assert_int_equal(c.id, 2);
	assert_string_equal(c.flush, "os");
	assert_int_equal(c.retention_hours, 7); /* the flag wins */
	assert_string_equal(c.listen, "127.0.0.1:9999");
	assert_int_equal(node_config_check(&c, err, sizeof err), 0);
	free(p);
}

static void test_config_errors_name_key_and_line(void **state)
{
	(void)state;
	struct node_config c;
	char err[512];
	node_config_defaults(&c);
	char *p = write_ini("[node]\nid = 1\n\n[storage]\nflush = often\n");
	assert_int_equal(node_config_load(&c, p, err, sizeof err), -1);
	char want[700];
	snprintf(want, sizeof want,
		 "%s:5: flush: 'often' is not one of sync|interval|os", p);
	assert_string_equal(err, want);
	free(p);
	p = write_ini("[node]\nretention_hours = 3\n");
	assert_int_equal(node_config_load(&c, p, err, sizeof err), -1);
	snprintf(want, sizeof want,
		 "%s:2: key 'retention_hours' belongs in [storage], not [node]",
		 p);
	assert_string_equal(err, want);
	free(p);
	p = write_ini("[raft]\nelection_timeout_ms = 10\n");
	assert_int_equal(node_config_load(&c, p, err, sizeof err), -1);
	snprintf(want, sizeof want,
		 "%s:2: election_timeout_ms: 10 is out of range 50..60000", p);
	assert_string_equal(err, want);
	free(p);
	assert_int_equal(
	    node_config_load(&c, "/nonexistent.ini", err, sizeof err), -1);
	assert_string_equal(err, "/nonexistent.ini: cannot open: No such file "
				 "or directory");
	assert_int_equal(node_config_set(&c, "nope", "1", err, sizeof err), -1);
	assert_string_equal(err, "unknown key 'nope' (see raftqd --help)");
	assert_int_equal(node_config_set(&c, "id", "-3", err, sizeof err), -1);
	assert_string_equal(err, "id: '-3' is not a number");
	bool help, version;
	char *argv[] = {"raftqd", "--id"};
	assert_int_equal(
	    node_config_args(&c, 2, argv, &help, &version, err, sizeof err),
	    -1);
	assert_string_equal(err, "--id needs a value");
}

static void test_config_cross_checks(void **state)
{
	(void)state;
	struct node_config c;
	char err[512];
	node_config_defaults(&c);
	assert_int_equal(node_config_check(&c, err, sizeof err), -1);
	assert_string_equal(err, "id: required (--id or [node] id)");
	c.id = 3;
	snprintf(c.data_dir, sizeof c.data_dir, "/d");
	assert_int_equal(node_config_check(&c, err, sizeof err), -1);
	assert_string_equal(err,
			    "initial_cluster: required unless join is set");
	snprintf(c.initial_cluster, sizeof c.initial_cluster,
		 "1@127.0.0.1:9201,2@127.0.0.1:9202");
	assert_int_equal(node_config_check(&c, err, sizeof err), -1);
	assert_string_equal(err,
			    "initial_cluster does not list this node (id 3)");
	/* Several nodes: the cluster secret is required (issue 12). */
	snprintf(c.initial_cluster, sizeof c.initial_cluster,
		 "3@127.0.0.1:9201,2@127.0.0.1:9202");
	const char *need = "cluster_secret: required for a cluster of several "
			   "nodes ([auth] cluster_secret, the same on every "
			   "node: JOIN and NODE_REMOVE must carry it)";
	assert_int_equal(node_config_check(&c, err, sizeof err), -1);
	assert_string_equal(err, need);
	snprintf(c.cluster_secret, sizeof c.cluster_secret, "short");
	assert_int_equal(node_config_check(&c, err, sizeof err), -1);
	assert_string_equal(err, "cluster_secret: 5 characters; at least 16");
	snprintf(c.cluster_secret, sizeof c.cluster_secret, "0123456789abcdef");
	assert_int_equal(node_config_check(&c, err, sizeof err), 0);
	snprintf(c.join, sizeof c.join, "127.0.0.1:9101");
	c.cluster_secret[0] = '\0';
	assert_int_equal(node_config_check(&c, err, sizeof err), -1);
	assert_string_equal(err, need);
	c.join[0] = '\0';
	snprintf(c.initial_cluster, sizeof c.initial_cluster,
		 "3@127.0.0.1:9301");
	assert_int_equal(node_config_check(&c, err, sizeof err), -1);
	assert_string_equal(err, "initial_cluster gives node 3 the address "
				 "127.0.0.1:9301, but raft_listen is "
				 "127.0.0.1:9201");
	snprintf(c.initial_cluster, sizeof c.initial_cluster,
		 "3@localhost:9201");
	assert_int_equal(node_config_check(&c, err, sizeof err), -1);
	assert_string_equal(err, "initial_cluster: 'localhost:9201' is not a "
				 "numeric IPv4:PORT");
	snprintf(c.initial_cluster, sizeof c.initial_cluster,
		 "3@127.0.0.1:9201");
	c.heartbeat_timeout_ms = 600;
	assert_int_equal(node_config_check(&c, err, sizeof err), -1);
	assert_string_equal(err, "heartbeat_timeout_ms (600) must be below "
				 "election_timeout_ms / 2 (500)");
	c.heartbeat_timeout_ms = 100;
	assert_int_equal(node_config_check(&c, err, sizeof err), 0);
	c.member_lease_ms = 20000;
	assert_int_equal(node_config_check(&c, err, sizeof err), -1);
	assert_string_equal(err, "member_lease_ms (20000) must not exceed "
				 "session_timeout_ms (10000)");
	c.member_lease_ms = 3000;
	c.max_buffered_bytes = 1048576;
	assert_int_equal(node_config_check(&c, err, sizeof err), -1);
	assert_string_equal(err, "max_buffered_bytes (1048576) must be at "
				 "least max_frame_bytes (16777216)");
	c.max_buffered_bytes = 134217728;
	assert_int_equal(node_config_check(&c, err, sizeof err), 0);
	/* replace (a lost disk) only makes sense joining a running cluster. */
	snprintf(c.replace, sizeof c.replace, "yes");
	assert_int_equal(node_config_check(&c, err, sizeof err), -1);
	assert_string_equal(err, "replace: 'yes' needs join (the client "
				 "address of a running node of the cluster)");
	snprintf(c.join, sizeof c.join, "127.0.0.1:9101");
	snprintf(c.cluster_secret, sizeof c.cluster_secret, "0123456789abcdef");
	assert_int_equal(node_config_check(&c, err, sizeof err), 0);
	c.join[0] = '\0';
	snprintf(c.replace, sizeof c.replace, "no");
	c.segment_bytes = 1048576;
	assert_int_equal(node_config_check(&c, err, sizeof err), -1);
	assert_string_equal(err, "max_batch_bytes (16777216) must be at most "
				 "segment_bytes / 2 (524288)");
	struct node_peer peers[4];
	assert_int_equal(node_config_peers("1@127.0.0.1:1,1@127.0.0.1:2", peers,
					   4, err, sizeof err),
			 -1);
	assert_string_equal(err, "initial_cluster: node 1 listed twice");
	assert_int_equal(node_config_peers("1@127.0.0.1:1,2@127.0.0.2:7", peers,
					   4, err, sizeof err),
			 2);
	assert_int_equal(peers[1].id, 2);
	assert_string_equal(peers[1].raft_address, "127.0.0.2:7");
}

/* Issue 10 #7: a bad name is bad configuration (exit 2, checked before
 * anything starts), and --config of a directory says so instead of
 * "id: required". */
static void test_regress_config_name_and_dir(void **state)
{
	(void)state;
	struct node_config c;
	char err[512];
	node_config_defaults(&c);
	c.id = 1;
	snprintf(c.data_dir, sizeof c.data_dir, "/d");
	snprintf(c.initial_cluster, sizeof c.initial_cluster,
		 "1@127.0.0.1:9201");
	snprintf(c.name, sizeof c.name, "broker one");
	assert_int_equal(node_config_check(&c, err, sizeof err), -1);
	assert_string_equal(err, "name: 'broker one' must be 1-127 of A-Z a-z "
				 "0-9 . _ -");
	snprintf(c.name, sizeof c.name, "broker-1");
	assert_int_equal(node_config_check(&c, err, sizeof err), 0);
	char *dir = tu_mkdtemp();
	assert_int_equal(node_config_load(&c, dir, err, sizeof err), -1);
	char want[600];
	snprintf(want, sizeof want, "%s: not a regular file (a directory?)",
		 dir);
	assert_string_equal(err, want);
	tu_rmrf(dir);
	free(dir);
}

/* Issue 10 #7: a client port in use fails the start before the data
 * directory is touched (no cluster bootstrapped into it), naming the
 * address and the reason. */
static void test_regress_port_in_use_touches_nothing(void **state)
{
	(void)state;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t len = sizeof a;
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(listen(fd, 1), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	struct node_config c;
	char err[512], want[600], *dir = tu_mkdtemp();
	node_config_defaults(&c);
	c.id = 1;
	snprintf(c.data_dir, sizeof c.data_dir, "%s/data", dir);
	snprintf(c.listen, sizeof c.listen, "127.0.0.1:%d", ntohs(a.sin_port));
	snprintf(c.initial_cluster, sizeof c.initial_cluster, "1@%s",
		 c.raft_listen);
	assert_int_equal(node_config_check(&c, err, sizeof err), 0);
	uv_loop_t loop;
	assert_int_equal(uv_loop_init(&loop), 0);
	struct node *n = calloc(1, sizeof *n);
	assert_int_equal(node_start(n, &loop, &c, err, sizeof err), -1);
	snprintf(want, sizeof want,
		 "listen on %s: address already in use (another raftqd?)",
		 c.listen);
	assert_string_equal(err, want);
	assert_false(tu_exists(c.data_dir));
	free(n);
	assert_int_equal(uv_loop_close(&loop), 0);
	close(fd);
	tu_rmrf(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_config_defaults),
	    cmocka_unit_test(test_config_file_then_flags),
	    cmocka_unit_test(test_config_errors_name_key_and_line),
	    cmocka_unit_test(test_config_cross_checks),
	    cmocka_unit_test(test_regress_config_name_and_dir),
	    cmocka_unit_test(test_regress_port_in_use_touches_nothing),
	};
	return cmocka_run_group_tests_name("node/config", tests, NULL, NULL);
}
