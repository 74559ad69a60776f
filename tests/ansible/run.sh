#!/usr/bin/env bash
# The ansible deployment test (ctest label "ansible"), on this machine:
# three "hosts" with ansible_connection=local, distinct loopback ports and
# directories, raftq_service_manager=process. It
#   1. checks the playbooks (ansible-playbook --syntax-check, ansible-lint);
#   2. deploys a 3-node cluster and checks it with raftqctl: one leader,
#      three voters, a topic over three brokers, a reset answering the
#      Huawei shape;
#   3. runs deploy.yml again and asserts nothing changed;
#   4. adds a fourth node (add_node.yml) and waits until it is a voter;
#   5. runs rolling_restart.yml while a producer and a consumer group run,
#      and asserts no acknowledged message and no committed offset was lost;
#   6. node 2 loses its data dir and comes back empty (replace_node.yml):
#      same messages, and it leads its queues again with every replica in
#      sync;
#   7. removes the fourth node (remove_node.yml) and tears everything down.
# Usage: tests/ansible/run.sh BUILD_BIN_DIR
set -euo pipefail

BIN=$(cd "${1:?usage: run.sh BUILD_BIN_DIR}" && pwd)
SRC=$(cd "$(dirname "$0")/../.." && pwd)
ROOT=$(mktemp -d /tmp/raftq-ansible.XXXXXX)
LOGS="$ROOT/logs"
mkdir -p "$LOGS"
export ANSIBLE_CONFIG="$SRC/ansible/ansible.cfg"
export ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0
bg_pids=()

say() { printf '[ansible-test] %s\n' "$*"; }
fail() {
  say "FAIL: $*"
  # What each node said last (a CI run keeps nothing else of it).
  for h in 1 2 3 4; do
    [ -f "$ROOT/h$h/log/raftqd.log" ] || continue
    say "the end of h$h's raftqd.log:"
    grep -v ' debug ' "$ROOT/h$h/log/raftqd.log" | tail -n 25 >&2 || true
  done
  exit 1
}

cleanup() {
  for p in "${bg_pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for h in 1 2 3 4; do
    if [ -x "$ROOT/h$h/opt/bin/raftq-service" ]; then
      "$ROOT/h$h/opt/bin/raftq-service" stop >/dev/null 2>&1 || true
    fi
  done
  if [ "${KEEP:-0}" != 1 ]; then rm -rf "$ROOT"; fi
}
trap cleanup EXIT

# Twelve free loopback ports.
read -r -a ports <<<"$(python3 - <<'PY'
import socket
socks = []
for _ in range(12):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
)"

install_pkgs=false
if [ "$(id -u)" -eq 0 ]; then install_pkgs=true; fi

inventory() { # file, number of hosts
  {
    echo "[raftq_initial]"
    for h in 1 2 3; do echo "h$h"; done
    echo
    echo "[raftq]"
    for h in $(seq 1 "$2"); do
      echo "h$h ansible_connection=local raftq_node_id=$h" \
        "raftq_broker_name=broker-$h raftq_address=127.0.0.1" \
        "raftq_client_port=${ports[$((h - 1))]}" \
        "raftq_raft_port=${ports[$((h + 3))]}" \
        "raftq_http_port=${ports[$((h + 7))]}" \
        "raftq_prefix=$ROOT/h$h/opt raftq_conf_dir=$ROOT/h$h/etc" \
        "raftq_data_dir=$ROOT/h$h/data raftq_log_dir=$ROOT/h$h/log"
    done
    echo
    echo "[raftq:vars]"
    echo "ansible_python_interpreter=/usr/bin/python3"
    echo "raftq_build_dir=$BIN"
    echo "raftq_service_manager=process"
    echo "raftq_cluster_secret=ansible-test-cluster-secret"
    echo "raftq_user=$(id -un)"
    echo "raftq_create_user=false"
    echo "raftq_install_packages=$install_pkgs"
    echo "raftq_election_timeout_ms=300"
    echo "raftq_heartbeat_timeout_ms=50"
    echo "raftq_session_timeout_ms=3000"
    echo "raftq_segment_bytes=1048576"
    echo "raftq_max_batch_bytes=262144"
    echo "raftq_wait_retries=60"
  } >"$1"
}
inventory "$ROOT/inv3" 3
inventory "$ROOT/inv4" 4
# Auth is on in the role: an admin token for the playbooks and this test,
# a produce/consume token for the application (group_vars beside the
# inventories are read by ansible).
export RAFTQ_TOKEN="ansible-test-admin-token-0123"
APP_TOKEN="ansible-test-app-token-0123456"
mkdir -p "$ROOT/group_vars"
cat >"$ROOT/group_vars/raftq.yml" <<EOF
raftq_admin_token: $RAFTQ_TOKEN
raftq_tokens:
  - {name: ops, hash: "$("$BIN/raftqctl" auth hash "$RAFTQ_TOKEN")", perms: [admin]}
  - {name: app, hash: "$("$BIN/raftqctl" auth hash "$APP_TOKEN")", perms: ["produce:orders", "consume:*"]}
EOF
BOOT="127.0.0.1:${ports[0]},127.0.0.1:${ports[1]},127.0.0.1:${ports[2]}"
ctl() { "$BIN/raftqctl" -b "$BOOT" --timeout 5000 "$@"; }
play() { # name, inventory, extra args...
  local pb=$1 inv=$2
  shift 2
  ansible-playbook -i "$inv" "$SRC/ansible/$pb" "$@" >"$LOGS/$pb.$$.$RANDOM.log" 2>&1 ||
    { tail -n 40 "$LOGS"/"$pb".*.log >&2; fail "$pb failed"; }
}
json() { python3 -c "import json,sys; d=json.load(sys.stdin); $1"; }

# 1. Static checks.
for pb in deploy.yml add_node.yml rolling_restart.yml replace_node.yml remove_node.yml; do
  ansible-playbook -i "$ROOT/inv4" --syntax-check "$SRC/ansible/$pb" >/dev/null ||
    fail "syntax check of $pb"
done
say "syntax check: 5 playbooks ok"
# Everything ansible/ ships: playbooks, role, group_vars, inventory.
(cd "$SRC/ansible" && ansible-lint -q >"$LOGS/lint.log" 2>&1) ||
  { cat "$LOGS/lint.log" >&2; fail "ansible-lint"; }
say "ansible-lint: clean (the whole ansible/ tree)"

# 2. Deploy three nodes.
t0=$(date +%s)
play deploy.yml "$ROOT/inv3"
say "deploy.yml: 3 nodes in $(($(date +%s) - t0)) s"
RAFTQ_TOKEN="" ctl topic list 2>"$ROOT/anon.err" && fail "a client without a token was served"
grep -q "error: FORBIDDEN: authentication required" "$ROOT/anon.err" || fail "no token: $(cat "$ROOT/anon.err")"
RAFTQ_TOKEN=$APP_TOKEN ctl topic create x --queues 1 2>"$ROOT/app.err" && fail "the app token created a topic"
grep -q "permission admin needed: token 'app'" "$ROOT/app.err" || fail "app token: $(cat "$ROOT/app.err")"
say "auth: no token and the app token refused, FORBIDDEN naming what is missing"
ctl --json cluster status >"$ROOT/status.json"
python3 -c 'import json, sys, urllib.request as u; d = json.load(u.urlopen(sys.argv[1], timeout=5)); assert d == {"status": "ready", "node_id": 1}, d' \
  "http://127.0.0.1:${ports[8]}/readyz" || fail "node 1's HTTP /readyz"
say "http: node 1 answers /readyz ready (http_listen from the role)"
json 'n=d["nodes"]; assert d["leader_id"] in (1,2,3), d; roles=sorted(x["role"] for x in n); assert roles==["follower","follower","leader"], roles; print("cluster: leader", d["leader_id"], "and", len(n), "voters")' <"$ROOT/status.json"
ctl topic create orders --queues 2 >/dev/null
ctl --json topic describe orders |
  json 'b=sorted({q["broker_name"] for q in d["queues"]}); assert b==["broker-1","broker-2","broker-3"], b; assert len(d["queues"])==6'
ctl group create g --initial earliest >/dev/null
ctl produce --topic orders --count 60 --size 50 >/dev/null
ctl --json offset reset --group g --topic orders --to-earliest |
  json 'q=d["queues"]; assert all(sorted(x.keys())==["broker_name","queue_id","timestamp_offset"] for x in q), q; assert [(x["broker_name"],x["queue_id"]) for x in q]==sorted((x["broker_name"],x["queue_id"]) for x in q); assert len(q)==6 and all(x["timestamp_offset"]==0 for x in q), q; print("reset: Huawei shape,", len(q), "queues")'

# 3. Idempotent.
ansible-playbook -i "$ROOT/inv3" "$SRC/ansible/deploy.yml" >"$LOGS/deploy-again.log" 2>&1 ||
  fail "second deploy.yml"
changed=$(grep -E '^h[0-9]+ +: ' "$LOGS/deploy-again.log" | sed -E 's/.*changed=([0-9]+).*/\1/' | awk '{s+=$1} END {print s+0}')
[ "$changed" = 0 ] || { grep -E '^h[0-9]+ +: ' "$LOGS/deploy-again.log"; fail "second deploy changed $changed tasks"; }
say "deploy.yml again: changed=0 on every host"

# 4. A fourth node joins.
play add_node.yml "$ROOT/inv4" -l h4
ctl --json cluster status |
  json 'n=d["nodes"]; assert len(n)==4 and sorted(x["role"] for x in n).count("follower")==3, n; print("add_node: node 4 is a voter;", len(n), "nodes")'

# 5. Rolling restart under load.
before=$(ctl --json topic describe orders | json 'print(sum(q["max_offset"] for q in d["queues"]))')
ctl group create load --initial earliest >/dev/null
( # producer: rounds of 200 messages; each round prints "stored N messages, M failed"
  for round in $(seq 1 3000); do # bounded; stops at the stop file
    "$BIN/raftq_example_producer" "$BOOT" orders 200 || true
    [ -f "$ROOT/stop" ] && break
  done
) >"$LOGS/producer.log" 2>&1 &
bg_pids+=($!)
( # one consumer of group "load", committing every second
  "$BIN/raftq_example_consumer" "$BOOT" load orders -1 20000
) >"$LOGS/consumer.out" 2>"$LOGS/consumer.log" &
consumer=$!
bg_pids+=($consumer)
sleep 2
ctl --json group describe load >"$ROOT/committed-before.json"
leader=$(ctl --json cluster status | json 'print(d["leader_id"])')
t0=$(date +%s)
play rolling_restart.yml "$ROOT/inv4"
order=$(grep -ho 'Restart and wait until caught up, node [0-9]*' "$LOGS"/rolling_restart.yml.*.log |
  awk '{print $NF}' | paste -sd' ')
[ "${order##* }" = "$leader" ] || fail "restart order $order: the leader ($leader) was not last"
[ "$(echo "$order" | wc -w)" = 4 ] || fail "restart order $order: not 4 restarts"
say "rolling_restart.yml: 4 nodes in $(($(date +%s) - t0)) s, one at a time, in the order $order (leader $leader last)"
sleep 1
touch "$ROOT/stop"
wait "${bg_pids[0]}" || true
ctl --json group describe load >"$ROOT/committed-during.json"
acked=$(grep -Eo 'stored [0-9]+' "$LOGS/producer.log" | awk '{s+=$2} END {print s+0}')
failed=$(grep -Eo '[0-9]+ failed' "$LOGS/producer.log" | awk '{s+=$1} END {print s+0}')
after=$(ctl --json topic describe orders | json 'print(sum(q["max_offset"] for q in d["queues"]))')
stored=$((after - before))
say "producer: $acked acknowledged, $failed failed, $stored stored"
[ "$acked" -gt 0 ] || fail "the producer stored nothing"
[ "$stored" -ge "$acked" ] || fail "acknowledged $acked but only $stored are stored"
# The consumer drains the topic, commits on close; committed offsets only
# ever grew, and end at MaxOffset.
for _ in $(seq 1 60); do
  done_=$(ctl --json group describe load | json 'print(int(all(q["lag"]==0 for t in d["topics"] for q in t["queues"])))')
  [ "$done_" = 1 ] && break
  sleep 1
done
kill -INT "$consumer" 2>/dev/null || true
wait "$consumer" 2>/dev/null || true
ctl --json group describe load >"$ROOT/committed-after.json"
python3 - "$ROOT/committed-before.json" "$ROOT/committed-during.json" "$ROOT/committed-after.json" <<'PY'
import json, sys
def offs(p):
    d = json.load(open(p))
    return {(q["broker_name"], q["queue_id"]): (q["consumer_offset"], q["max_offset"])
            for t in d["topics"] for q in t["queues"]}
b, m, a = (offs(p) for p in sys.argv[1:4])
for k, (o, _) in b.items():
    assert m.get(k, (0, 0))[0] >= o and a[k][0] >= m.get(k, (0, 0))[0], (k, o, m.get(k), a[k])
assert all(o == mx for o, mx in a.values()), a
print("[ansible-test] committed offsets: never went back;", sum(o for o, _ in a.values()),
      "consumed and committed of", sum(mx for _, mx in a.values()))
PY
grep -q "error" "$LOGS/consumer.log" && { cat "$LOGS/consumer.log" >&2; fail "consumer error"; }

# 6. Node 2 loses its disk (three copies of every queue of orders).
queues_of() { ctl --json topic describe orders | json 'print(sorted((q["broker_name"], q["queue_id"], q["max_offset"]) for q in d["queues"]))'; }
before=$(queues_of)
"$ROOT/h2/opt/bin/raftq-service" stop >/dev/null
rm -rf "$ROOT/h2/data"
t0=$(date +%s)
play replace_node.yml "$ROOT/inv4" -e raftq_replace=h2
grep -q "^replace = yes" "$ROOT/h2/etc/raftqd.ini" || fail "replace_node.yml did not set replace = yes"
for _ in $(seq 1 60); do
  back=$(ctl --json topic describe orders | json 'print(int(all(q["leader"] == q["broker_name"] and len(q["isr"]) == 3 for q in d["queues"])))' || echo 0)
  [ "$back" = 1 ] && break
  sleep 1
done
[ "$back" = 1 ] || { ctl topic describe orders >&2; fail "broker-2 does not lead its queues in sync after replace"; }
[ "$(queues_of)" = "$before" ] || fail "queues changed across the replace: $before -> $(queues_of)"
ctl --json cluster status | json 'n=d["nodes"]; assert len(n)==4 and sum(x["role"] in ("leader","follower") for x in n)==4, n'
say "replace_node.yml: node 2 back from an empty data dir in $(($(date +%s) - t0)) s, its queues rebuilt ($(echo "$before" | grep -o "'broker-2'" | wc -l) led by it again, every replica in sync)"

# 7. Remove node 4 (it hosts no queues: the topic predates it).
play remove_node.yml "$ROOT/inv4" -e raftq_remove=h4
ctl --json cluster status | json 'n=d["nodes"]; assert len(n)==3, n; print("remove_node: 3 nodes left")'
say "passed"
