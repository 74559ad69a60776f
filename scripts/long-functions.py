#!/usr/bin/env python3
"""Lists C functions longer than a limit (default 80 lines, body braces
included), for the readability bar in ../shared/STYLE.md. Top-level
functions only: a line ending in ')' or starting a K&R-style signature,
followed by a '{' in column 0, up to the matching '}' in column 0.

  scripts/long-functions.py [--max N] DIR_OR_FILE...
Exit status 1 when any function is longer than the limit."""
import os
import re
import sys


def functions(path):
    lines = open(path, encoding="utf-8", errors="replace").read().split("\n")
    start = None
    name = None
    for i, line in enumerate(lines):
        if line.startswith("{") and start is None:
            # The signature: the nearest earlier line with an identifier(
            j = i - 1
            while j >= 0 and "(" not in lines[j]:
                j -= 1
            m = re.search(r"([A-Za-z_][A-Za-z0-9_]*)\s*\(", lines[j] if j >= 0 else "")
            name = m.group(1) if m else "?"
            start = i
        elif line.startswith("}") and start is not None:
            yield name, start + 1, i - start + 1
            start = None


def main(argv):
    limit = 80
    if len(argv) > 1 and argv[0] == "--max":
        limit = int(argv[1])
        argv = argv[2:]
    bad = 0
    for root in argv:
        paths = [root] if os.path.isfile(root) else [
            os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs]
        for p in sorted(paths):
            if not p.endswith(".c"):
                continue
            for name, line, n in functions(p):
                if n > limit:
                    print(f"{p}:{line}: {name}: {n} lines")
                    bad += 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
