/*
 * raftproxy — a TCP proxy in front of one node's Raft port, for partition
 * tests.   raftproxy LISTEN TARGET BLOCKFILE
 *
 * Every connection to a raft_uv_tcp listener opens with a handshake: u64
 * protocol, u64 sender id, u64 address length, address (little-endian).
 * The proxy reads it, and refuses senders listed in BLOCKFILE (one id per
 * line, or "all"; a line "gen N" numbers the version); it re-reads the
 * file every 20 ms, drops live connections of senders that became blocked,
 * and writes N to BLOCKFILE.ack once that version is in force. Cutting node i
 * off means "all" in i's proxy and "i" in everyone else's: no Raft message
 * crosses in either direction. Only loopback; runs until killed.
 *
 * raftproxy LISTEN TARGET BLOCKFILE plain — in front of a client port:
 * no handshake to read, so senders are not told apart; "all" refuses and
 * drops every connection (the node's port is cut off from its peers).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#define HANDSHAKE 24

struct pconn {
	uv_tcp_t in, out;
	uv_connect_t conn;
	uint64_t sender;
	int known; /* handshake read */
	int closing;
	int open_handles;
	char *pend; /* bytes read before the target connection */
	size_t pend_len;
	struct pconn *next;
	char buf_in[65536], buf_out[65536];
};

static struct sockaddr_in target;
static const char *block_file;
static struct pconn *conns;
static int block_all;
static uint64_t blocked[64];
static int nblocked;
static int plain; /* no handshake: only "all" blocks */

static int is_blocked(uint64_t id)
{
	if (block_all)
		return 1;
	for (int i = 0; i < nblocked; i++)
		if (blocked[i] == id)
			return 1;
	return 0;
}

static void on_closed(uv_handle_t *h)
{
	struct pconn *c = h->data;
	if (--c->open_handles > 0)
		return;
	struct pconn **p = &conns;
	while (*p && *p != c)
		p = &(*p)->next;
	if (*p)
		*p = c->next;
	free(c->pend);
	free(c);
}

static void drop(struct pconn *c)
{
	if (c->closing)
		return;
	c->closing = 1;
	uv_close((uv_handle_t *)&c->in, on_closed);
	if (c->open_handles == 2)
		uv_close((uv_handle_t *)&c->out, on_closed);
}

static void alloc_in(uv_handle_t *h, size_t n, uv_buf_t *b)
{
	(void)n;
	struct pconn *c = h->data;
	*b = uv_buf_init(h == (uv_handle_t *)&c->in ? c->buf_in : c->buf_out,
			 sizeof c->buf_in);
}

struct wr {
	uv_write_t req;
	char data[];
};

static void on_written(uv_write_t *w, int status)
{
	(void)status;
	free(w);
}

static void forward(uv_stream_t *to, const char *data, size_t n)
{
	struct wr *w = malloc(sizeof *w + n);
	memcpy(w->data, data, n);
	uv_buf_t b = uv_buf_init(w->data, (unsigned)n);
	if (uv_write(&w->req, to, &b, 1, on_written) != 0)
		free(w);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	struct pconn *c = s->data;
	if (n < 0) {
		drop(c);
		return;
	}
	if (n == 0 || c->closing)
		return;
	uv_stream_t *other = s == (uv_stream_t *)&c->in ? (uv_stream_t *)&c->out
							: (uv_stream_t *)&c->in;
	forward(other, b->base, (size_t)n);
}

static void on_target(uv_connect_t *req, int status)
{
	struct pconn *c = req->data;
	if (status != 0 || c->closing) {
		drop(c);
		return;
	}
	if (c->pend_len > 0)
		forward((uv_stream_t *)&c->out, c->pend, c->pend_len);
	free(c->pend);
	c->pend = NULL;
	uv_read_start((uv_stream_t *)&c->out, alloc_in, on_read);
	uv_read_start((uv_stream_t *)&c->in, alloc_in, on_read);
}

/* Opens @c's connection to the target; traffic flows once it is up. */
static void connect_target(struct pconn *c, uv_loop_t *loop)
{
	uv_tcp_init(loop, &c->out);
	c->out.data = c;
	c->open_handles = 2;
	c->conn.data = c;
	if (uv_tcp_connect(&c->conn, &c->out, (struct sockaddr *)&target,
			   on_target) != 0)
		drop(c);
}

/* Buffers the start of a connection until the handshake shows who sends. */
static void on_handshake(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	struct pconn *c = s->data;
	if (n < 0) {
		drop(c);
		return;
	}
	char *p = realloc(c->pend, c->pend_len + (size_t)n);
	if (p == NULL) {
		drop(c);
		return;
	}
	c->pend = p;
	memcpy(c->pend + c->pend_len, b->base, (size_t)n);
	c->pend_len += (size_t)n;
	if (c->pend_len < HANDSHAKE)
		return;
	uv_read_stop(s);
	uint64_t id = 0;
	for (int i = 7; i >= 0; i--)
		id = id << 8 | (uint8_t)c->pend[8 + i];
	c->sender = id;
	c->known = 1;
	if (is_blocked(id)) {
		drop(c);
		return;
	}
	connect_target(c, s->loop);
}

static void on_accept(uv_stream_t *l, int status)
{
	if (status != 0)
		return;
	struct pconn *c = calloc(1, sizeof *c);
	uv_tcp_init(l->loop, &c->in);
	c->in.data = c;
	c->open_handles = 1;
	if (uv_accept(l, (uv_stream_t *)&c->in) != 0) {
		uv_close((uv_handle_t *)&c->in, on_closed);
		return;
	}
	c->next = conns;
	conns = c;
	if (block_all) {
		drop(c);
		return;
	}
	if (plain)
		connect_target(c, l->loop);
	else
		uv_read_start((uv_stream_t *)&c->in, alloc_in, on_handshake);
}

static void reread(uv_timer_t *t)
{
	(void)t;
	FILE *f = fopen(block_file, "r");
	block_all = 0;
	nblocked = 0;
	char line[64];
	unsigned long long gen = 0;
	while (f && fgets(line, sizeof line, f) && nblocked < 64) {
		if (strncmp(line, "gen ", 4) == 0)
			gen = strtoull(line + 4, NULL, 10);
		else if (strncmp(line, "all", 3) == 0)
			block_all = 1;
		else if (line[0] >= '0' && line[0] <= '9')
			blocked[nblocked++] = strtoull(line, NULL, 10);
	}
	if (f)
		fclose(f);
	for (struct pconn *c = conns; c; c = c->next)
		if (!c->closing &&
		    (block_all || (c->known && is_blocked(c->sender))))
			drop(c);
	/* Tell the harness which generation is in force now. */
	char ack[700];
	snprintf(ack, sizeof ack, "%s.ack", block_file);
	FILE *a = fopen(ack, "w");
	if (a != NULL) {
		fprintf(a, "%llu\n", gen);
		fclose(a);
	}
}

int main(int argc, char **argv)
{
	plain = argc == 5 && strcmp(argv[4], "plain") == 0;
	if (argc != 4 && !plain) {
		fprintf(stderr,
			"usage: raftproxy LISTEN TARGET BLOCKFILE [plain]\n");
		return 2;
	}
	char host[64];
	int lport, tport;
	struct sockaddr_in la;
	if (sscanf(argv[1], "%63[^:]:%d", host, &lport) != 2 ||
	    uv_ip4_addr(host, lport, &la) != 0 ||
	    sscanf(argv[2], "%63[^:]:%d", host, &tport) != 2 ||
	    uv_ip4_addr(host, tport, &target) != 0) {
		fprintf(stderr, "raftproxy: bad address\n");
		return 2;
	}
	block_file = argv[3];
	uv_loop_t *loop = uv_default_loop();
	uv_tcp_t l;
	uv_tcp_init(loop, &l);
	if (uv_tcp_bind(&l, (struct sockaddr *)&la, 0) != 0 ||
	    uv_listen((uv_stream_t *)&l, 64, on_accept) != 0) {
		fprintf(stderr, "raftproxy: cannot listen on %s\n", argv[1]);
		return 1;
	}
	uv_timer_t t;
	uv_timer_init(loop, &t);
	uv_timer_start(&t, reread, 0, 20);
	return uv_run(loop, UV_RUN_DEFAULT);
}
