#!/usr/bin/env bash
# Installs every Debian package raftq's build, tests and demo need.
# Idempotent: does nothing when all are present. Needs root (or sudo).
set -euo pipefail

packages=(
  build-essential cmake pkg-config  # toolchain
  libisal-dev                       # CRC32C for storage batches
  libraft-dev libuv1-dev            # raft/: canonical raft 0.15 + libuv
  libmsgpack-dev liblz4-dev         # rpc/ frames, raft/ snapshots
  libinih-dev                       # node/: INI config parser
  libjansson-dev                    # ctl/: --json output
  libcmocka-dev                     # unit tests
  valgrind                          # tests: memory checks
  cppcheck clang-format python3     # tests: scripts/lint.sh
  clang libclang-rt-14-dev          # tests: libFuzzer targets
  ansible-core ansible-lint         # ansible/ and its deployment test
  fiu-utils libfiu-dev              # node/fault_points.c + tests/nemesis: disk faults
  libsodium-dev                     # [auth]: argon2id token hashes (node/auth.c)
  libh2o-dev                        # node/http.c: HTTP on the node's libuv loop
  chromium chromium-driver python3-selenium  # tests/browser: the console in headless Chromium
  curl                              # scripts/demo.sh: the HTTP API
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    sudo="sudo"
  else
    echo "install-deps: need root to install: ${missing[*]}" >&2
    exit 1
  fi
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
