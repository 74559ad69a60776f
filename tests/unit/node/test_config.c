/* raftqd's configuration: defaults, INI files, flags, checks. */
#include "../test_util.h"
#include "node.h"

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
			    "retention_hours = 5\n");
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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_config_defaults),
	    cmocka_unit_test(test_config_file_then_flags),
	    cmocka_unit_test(test_config_errors_name_key_and_line),
	    cmocka_unit_test(test_config_cross_checks),
	};
	return cmocka_run_group_tests_name("node/config", tests, NULL, NULL);
}
