#!/usr/bin/env python3
"""Does a release binary hold build.rs's link order?  scripts/symbol-order-check.py BIN

Prints one line: how many functions of link/symbol-order.txt are in BIN and how much of
.text they are laid out in. Exits 1 when the order does not hold (fewer than half of the
listed functions found, or found ones spread over more than 1.25x their size from the
start of .text), unless the rustc on PATH is not the one link/symbol-order.rustc names:
symbol hashes differ between compilers, so then it only warns.
Used by scripts/quickstart.sh (in CI) and tests/cluster/scale.sh (information only).
"""
import os
import subprocess
import sys

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
binary = sys.argv[1]
sizes, addr = {}, {}
nm = subprocess.run(["nm", "-S", "--defined-only", binary], capture_output=True, text=True, check=True)
for line in nm.stdout.splitlines():
    p = line.split()
    if len(p) == 4 and p[2] in "tT":
        addr[p[3]], sizes[p[3]] = int(p[0], 16), int(p[1], 16)
wanted = [s.strip() for s in open(os.path.join(root, "link/symbol-order.txt")) if s.strip()]
found = [s for s in wanted if s in addr]
text_start = min(addr.values())
packed = sum(sizes[s] for s in found)
span = max((addr[s] + sizes[s] for s in found), default=text_start) - text_start
print(f"symbol order: {len(found)} of {len(wanted)} listed functions are in {binary}; {packed / 1e6:.1f} MB of "
      f"code, laid out within the first {span / 1e6:.1f} MB of {(max(addr.values()) - text_start) / 1e6:.1f} MB of .text")
if len(found) >= len(wanted) / 2 and span <= packed * 1.25 + 65536:
    sys.exit(0)
made_with = open(os.path.join(root, "link/symbol-order.rustc")).read().strip()
rustc = subprocess.run(["rustc", "-V"], capture_output=True, text=True).stdout.strip()
msg = ("the link order does not hold: rerun scripts/symbol-order.sh (a stale list costs resident "
       "memory, see benches/README.md, 'Cluster mode')")
if made_with == rustc:
    sys.exit("ERROR: " + msg)
print(f"warning: {msg}; the list was made with {made_with}, this is {rustc}")
