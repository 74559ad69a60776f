#!/usr/bin/env bash
# A local 3-node raftq cluster on loopback, for trying raftq out.
#   ./scripts/cluster.sh start|stop|status
# Client ports 9101-9103, Raft ports 9201-9203, HTTP ports 9301-9303; data and logs in
# $RAFTQ_CLUSTER_DIR (default ./tmp/cluster). Stops only the processes it
# started (pid files), with SIGTERM (a clean hand-over).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${RAFTQ_CLUSTER_DIR:-$PWD/tmp/cluster}
bin=${RAFTQ_BIN:-$PWD/build/bin}
export RAFTQ_BOOTSTRAP=127.0.0.1:9101,127.0.0.1:9102,127.0.0.1:9103
initial="1@127.0.0.1:9201,2@127.0.0.1:9202,3@127.0.0.1:9203"
# JOIN and NODE_REMOVE need it (docs/security.md); a new one per cluster.
secret_file=$dir/cluster_secret

alive() { # pid file -> 0 when its raftqd runs
  [ -f "$1" ] || return 1
  local pid
  pid=$(cat "$1")
  [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q raftqd
}

start() {
  [ -x "$bin/raftqd" ] || { echo "cluster.sh: $bin/raftqd not built (run ./scripts/demo.sh or cmake --build build)" >&2; exit 1; }
  mkdir -p "$dir"
  if [ ! -s "$secret_file" ]; then
    (umask 077 && od -An -N24 -tx1 /dev/urandom | tr -d ' \n' >"$secret_file")
  fi
  local secret
  secret=$(cat "$secret_file")
  for i in 1 2 3; do
    if alive "$dir/n$i.pid"; then
      echo "node $i already running (pid $(cat "$dir/n$i.pid"))"
      continue
    fi
    cat >"$dir/n$i.ini" <<INI
[node]
id = $i
name = broker-$i
data_dir = $dir/n$i
listen = 127.0.0.1:910$i
raft_listen = 127.0.0.1:920$i
http_listen = 127.0.0.1:930$i
initial_cluster = $initial

[raft]
election_timeout_ms = 1000
heartbeat_timeout_ms = 100

[storage]
flush = sync

[auth]
cluster_secret = $secret
INI
    "$bin/raftqd" --config "$dir/n$i.ini" >>"$dir/n$i.log" 2>&1 &
    echo $! >"$dir/n$i.pid"
  done
  # Ready: one leader, three voters, and every node answering on its port.
  if "$bin/raftqctl" -b "$RAFTQ_BOOTSTRAP" --timeout 20000 cluster wait --voters 3 --within 20000 >/dev/null; then
    local ok=1
    for i in 1 2 3; do
      "$bin/raftqctl" -b "127.0.0.1:910$i" --timeout 5000 cluster status >/dev/null 2>&1 || ok=0
    done
    if [ $ok -eq 1 ]; then
      echo "cluster up: client ports 127.0.0.1:9101-9103, HTTP http://127.0.0.1:9301/readyz (9301-9303), data and logs in $dir"
      echo "export RAFTQ_BOOTSTRAP=$RAFTQ_BOOTSTRAP   # for raftqctl and libraftq programs"
      return 0
    fi
  fi
  echo "cluster.sh: the cluster did not come up within 20 s; logs in $dir/n*.log" >&2
  tail -n 5 "$dir"/n*.log >&2 || true
  return 1
}

stop() {
  for i in 1 2 3; do
    if alive "$dir/n$i.pid"; then
      kill -TERM "$(cat "$dir/n$i.pid")"
    fi
  done
  for i in 1 2 3; do
    for _ in $(seq 1 100); do alive "$dir/n$i.pid" || break; sleep 0.1; done
    if alive "$dir/n$i.pid"; then
      echo "cluster.sh: node $i did not stop within 10 s; killing it" >&2
      kill -KILL "$(cat "$dir/n$i.pid")"
    fi
    rm -f "$dir/n$i.pid"
  done
  echo "cluster stopped"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) "$bin/raftqctl" cluster status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
