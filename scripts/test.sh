#!/usr/bin/env bash
# Runs every raftq test: installs missing packages, builds with -Werror,
# runs ctest (all labels), then the unit and fsm tests again built with
# AddressSanitizer + UndefinedBehaviorSanitizer, then the libFuzzer targets
# (clang) for RAFTQ_FUZZ_SECONDS each, then the unit tests under valgrind.
#
#   ./scripts/test.sh            everything
#   RAFTQ_TEST_QUICK=1 ./scripts/test.sh   the -Werror build's ctest only
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
jobs=$(nproc 2>/dev/null || echo 2)

./scripts/install-deps.sh

passed=0
failed=0
run_ctest() { # dir, label-args...
  local dir=$1
  shift
  local log
  log=$(mktemp)
  if (cd "$dir" && ctest --output-on-failure -j"$jobs" "$@" 2>&1 | tee "$log"); then
    :
  fi
  local line
  line=$(grep -E 'tests passed, [0-9]+ tests failed out of [0-9]+' "$log" | tail -n1 || true)
  if [ -z "$line" ]; then
    echo "test.sh: ctest in $dir printed no summary" >&2
    failed=$((failed + 1))
  else
    local total bad
    total=$(sed -E 's/.* out of ([0-9]+).*/\1/' <<<"$line")
    bad=$(sed -E 's/.* ([0-9]+) tests failed.*/\1/' <<<"$line")
    passed=$((passed + total - bad))
    failed=$((failed + bad))
  fi
  rm -f "$log"
}

echo "== build (release, -Werror) =="
cmake -S . -B build -DRAFTQ_WERROR=ON >/dev/null
cmake --build build -j"$jobs"
echo "== ctest (build/) =="
run_ctest build

if [ -z "${RAFTQ_TEST_QUICK:-}" ]; then
  echo "== build (ASan + UBSan, unit tests) =="
  cmake -S . -B build-asan -DRAFTQ_WERROR=ON -DRAFTQ_BENCH=OFF \
    -DCMAKE_BUILD_TYPE=Debug -DRAFTQ_SANITIZE=address,undefined >/dev/null
  cmake --build build-asan -j"$jobs"
  echo "== ctest -L 'unit|fsm' (build-asan/) =="
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    run_ctest build-asan -L 'unit|fsm'

  echo "== build (clang, libFuzzer + ASan + UBSan) =="
  CC=clang cmake -S . -B build-fuzz -DRAFTQ_WERROR=ON -DRAFTQ_BENCH=OFF \
    -DCMAKE_BUILD_TYPE=Debug -DRAFTQ_FUZZ=ON \
    -DRAFTQ_FUZZ_SECONDS="${RAFTQ_FUZZ_SECONDS:-15}" >/dev/null
  cmake --build build-fuzz -j"$jobs" --target fuzz_frame fuzz_schema fuzz_command fuzz_recovery fuzz_plan fuzz_tokens fuzz_http_body fuzz_schedule fuzz_batches fuzz_epochs
  echo "== ctest -L fuzz (build-fuzz/) =="
  run_ctest build-fuzz -L fuzz

  echo "== valgrind (unit and fsm tests, release build) =="
  for t in "$root"/build/bin/test_*; do
    name=$(basename "$t")
    # Valgrind covers the in-process unit and fsm tests; integration
    # tests drive real raftqd processes.
    case "$name" in
      test_storage_* | test_raft_* | test_rpc_* | test_node_*) ;;
      *) continue ;;
    esac
    if valgrind -q --error-exitcode=99 --leak-check=full \
      --errors-for-leak-kinds=definite,indirect "$t" >/dev/null 2>"build/$name.valgrind.log"; then
      echo "valgrind: $name clean"
      passed=$((passed + 1))
    else
      echo "valgrind: $name FAILED" >&2
      cat "build/$name.valgrind.log" >&2
      failed=$((failed + 1))
    fi
  done
fi

echo "raftq: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
