#!/bin/bash
# bench/run-all.sh — issue 16's figures in one run: each bench program
# that measures one of its targets, then the peers (NATS JetStream and
# etcd, from ../shared/peers) on the same machine right after, every line
# in one output with the time each step began.
#
#   bench/run-all.sh [BUILD_DIR [PEERS_DIR]] | tee run-all.log
#
# BUILD_DIR: a release build (cmake -S . -B build; default build).
# PEERS_DIR: the peers' scripts (default ../shared/peers); when absent the
# peers are left out and the output says so. About 10 minutes.
set -euo pipefail

build=${1:-build}
peers=${2:-../shared/peers}
bin=$build/bin

step() {
	echo
	echo "=== $(date -u +%H:%M:%S) $*"
}

for b in fsync_bench cluster_bench durable_bench offsets_bench \
	snapshot_bench queues_bench; do
	if [ ! -x "$bin/$b" ]; then
		echo "run-all: $bin/$b missing: cmake --build $build first" >&2
		exit 2
	fi
done

echo "run-all: $(uname -n), $(nproc) cores, commit" \
	"$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
for b in fsync_bench cluster_bench durable_bench offsets_bench \
	snapshot_bench queues_bench; do
	step "$b"
	"$bin/$b"
done

if [ ! -d "$peers" ]; then
	step "peers: $peers not found, left out"
	exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$peers"/. "$work"/
for p in run-nats.sh run-etcd.sh; do
	step "peer: REPS=1 bash $p"
	(cd "$work" && REPS=1 bash "$p")
done
step "done"
