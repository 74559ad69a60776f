#!/usr/bin/env bash
# The readability bar, checked: every C file formatted with the checked-in
# .clang-format, no cppcheck warning, and no function longer than 80 lines
# in node/ raft/ rpc/ client/ ctl/ (scripts/long-functions.py). Exit 1 on
# any finding, with the findings on stderr. Run by ctest (label lint).
set -uo pipefail
cd "$(dirname "$0")/.."
status=0

files=$(git ls-files '*.c' '*.h' 2>/dev/null || find . -name '*.[ch]' -not -path './build*')
if ! clang-format --dry-run -Werror $files; then
  echo "lint: clang-format: the files above are not formatted" >&2
  status=1
fi

if ! cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
  --inline-suppr --std=c11 --suppress=missingIncludeSystem \
  -I node -I rpc -I raft -I storage -I client -I client/include -I ctl -I util \
  node raft rpc client ctl storage util; then
  echo "lint: cppcheck found the problems above" >&2
  status=1
fi

if ! python3 scripts/long-functions.py --max 80 node raft rpc client ctl; then
  echo "lint: the functions above are longer than 80 lines" >&2
  status=1
fi

[ $status -eq 0 ] && echo "lint: clean"
exit $status
