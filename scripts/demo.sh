#!/usr/bin/env bash
# The main job: a local 3-node raftq cluster and a walk through
# produce -> consume -> reset, with a libraftq consumer online during the
# reset. Installs what is missing, builds, runs, and stops the cluster it
# started. Every command shown can be pasted as it is.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
cmake -S . -B build >/dev/null
# What `cmake --install build` installs, and the example consumer.
cmake --build build -j"$(nproc 2>/dev/null || echo 2)" --target raftqd raftqctl \
  raftq raftq_static raftq_example_consumer >/dev/null

export RAFTQ_CLUSTER_DIR=${RAFTQ_CLUSTER_DIR:-$(mktemp -d /tmp/raftq-demo-XXXXXX)}
export RAFTQ_BOOTSTRAP=127.0.0.1:9101,127.0.0.1:9102,127.0.0.1:9103
consumer_pid=
cleanup() {
  [ -n "$consumer_pid" ] && kill "$consumer_pid" 2>/dev/null || true
  ./scripts/cluster.sh stop >/dev/null
  rm -rf "$RAFTQ_CLUSTER_DIR"
}
trap cleanup EXIT
ctl=build/bin/raftqctl
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { printf '$'; printf ' %q' "$@"; printf '\n'; }
run() { show raftqctl "$@"; "$ctl" "$@"; }

step "Start a 3-node cluster on loopback"
./scripts/cluster.sh start
run cluster status

step "A topic over the 3 brokers (2 queues each), a consumer group"
run topic create orders --queues 2
run group create billing --initial earliest

step "Wave 1: 12 messages"
show seq -f 'wave-1 order %02g' 1 12 '|' raftqctl produce --topic orders
seq -f 'wave-1 order %02g' 1 12 | "$ctl" produce --topic orders
sleep 2
T=$(date -u +'%Y-%m-%d %H:%M:%S')
echo "(the time between the waves: $T UTC)"
sleep 2
step "Wave 2: 12 messages"
seq -f 'wave-2 order %02g' 1 12 | "$ctl" produce --topic orders
run topic describe orders

step "A libraftq consumer joins the group and reads both waves (24 messages)"
log=$RAFTQ_CLUSTER_DIR/consumer.out
show build/bin/raftq_example_consumer "$RAFTQ_BOOTSTRAP" billing orders 36 6000
build/bin/raftq_example_consumer "$RAFTQ_BOOTSTRAP" billing orders 36 6000 >"$log" 2>&1 &
consumer_pid=$!
for _ in $(seq 1 100); do [ "$(wc -l <"$log")" -ge 24 ] && break; sleep 0.1; done
cat "$log"
run group describe billing

step "Reset the group to the time between the waves, the consumer still online"
run --json offset reset --group billing --topic orders --to-time "$T" --tz +00:00
run offset history --group billing --topic orders

step "The online consumer moved at once: it reads wave 2 again from the reset point"
wait "$consumer_pid" || true
consumer_pid=
tail -n +25 "$log"
run group describe billing

step "The same over HTTP on a follower: a dry run (/api/v1), then Huawei DMS's reset endpoint"
ms=$(date -u -d "$T" +%s)000
body='{"topic":"orders","target":"time","value":'$ms',"dry_run":true}'
show curl -s -X POST http://127.0.0.1:9302/api/v1/groups/billing/reset -d "$body"
curl -s -X POST http://127.0.0.1:9302/api/v1/groups/billing/reset -d "$body"
echo
body='{"topic":"orders","timestamp":'$ms'}'
path=/v2/rocketmq/demo/instances/raftq/groups/billing/reset-message-offset
show curl -s -X POST "http://127.0.0.1:9302$path" -d "$body"
curl -s -X POST "http://127.0.0.1:9302$path" -d "$body"
echo

step "Retry and dead letters: a handler that fails every message (consume --nack)"
run topic create payments --queues 1
run group create audit --initial earliest --retry-delays 1s --max-reconsume-times 1
echo '$ echo "refund 42" | raftqctl produce --topic payments'
echo "refund 42" | "$ctl" produce --topic payments
run consume --group audit --topic payments --count 1 --nack
echo "(back from %RETRY%audit after the ladder's 1 s, reconsume_times 1; failed again: a dead letter)"
run consume --group audit --topic payments --count 1 --nack
run dlq list --group audit
run group describe audit
echo
echo "Web console: http://127.0.0.1:9301/ (any node: 9301-9303) — groups, lag,"
echo "the Reset Consumer Offset dialog, history with undo; metrics at /metrics."
if [ -n "${RAFTQ_DEMO_KEEP:-}" ]; then
  echo "RAFTQ_DEMO_KEEP is set: the cluster keeps running; stop it with"
  echo "  RAFTQ_CLUSTER_DIR=$RAFTQ_CLUSTER_DIR ./scripts/cluster.sh stop"
  trap - EXIT
  exit 0
fi

step "Stop the cluster"
