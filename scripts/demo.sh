#!/usr/bin/env bash
# The main job: a local 3-node raftq cluster and a walk through
# produce -> consume -> reset. Installs what is missing, builds, runs, and
# stops the cluster it started.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
cmake -S . -B build >/dev/null
cmake --build build -j"$(nproc 2>/dev/null || echo 2)" --target raftqd raftqctl >/dev/null

export RAFTQ_CLUSTER_DIR=${RAFTQ_CLUSTER_DIR:-$(mktemp -d /tmp/raftq-demo-XXXXXX)}
export RAFTQ_BOOTSTRAP=127.0.0.1:9101,127.0.0.1:9102,127.0.0.1:9103
trap './scripts/cluster.sh stop >/dev/null; rm -rf "$RAFTQ_CLUSTER_DIR"' EXIT
ctl=build/bin/raftqctl
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ raftqctl %s\n' "$*"; "$ctl" "$@"; }

step "Start a 3-node cluster on loopback"
./scripts/cluster.sh start
run cluster status

step "A topic over the 3 brokers (2 queues each), a consumer group"
run topic create orders --queues 2
run group create billing --initial earliest

step "Wave 1: 12 messages"
seq -f 'wave-1 order %02g' 1 12 | "$ctl" produce --topic orders
sleep 2
T=$(date -u +'%Y-%m-%d %H:%M:%S')
echo "(the time between the waves: $T UTC)"
sleep 2
step "Wave 2: 12 messages"
seq -f 'wave-2 order %02g' 1 12 | "$ctl" produce --topic orders
run topic describe orders

step "The group consumes 18 messages and commits"
run consume --group billing --topic orders --count 18 --timeout 3000
run group describe billing

step "Reset the group to the time between the waves (consumers may stay online)"
run --json offset reset --group billing --topic orders --to-time "$T" --tz +00:00
run group describe billing
run offset history --group billing --topic orders

step "Consuming again starts at wave 2"
run consume --group billing --topic orders --count 12 --timeout 3000

step "Stop the cluster"
