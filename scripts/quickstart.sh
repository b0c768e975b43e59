#!/usr/bin/env bash
# The README's first command, checked: builds the release binary, runs
# `ordinal serve -f examples/web.yaml` (the embedded cluster with the StatefulSet
# tutorial) and waits until DNS answers web-0 and web-1 with their pod IPs. Loopback
# ports are picked free instead of the defaults (5353, 8080), and the state dir is a
# fresh temporary one.
#
# It also checks the release build's code layout (build.rs) with
# scripts/symbol-order-check.py: the functions listed in link/symbol-order.txt must be in
# the binary and laid out together at the start of .text.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked --quiet --bin ordinal
BIN=target/release/ordinal

echo "== code layout (link/symbol-order.txt)"
python3 scripts/symbol-order-check.py "$BIN"

echo "== quick start: ordinal serve -f examples/web.yaml"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
DNS="$(free_port)" ADMIN="$(free_port)" STATE="$(mktemp -d /tmp/ordinal-quickstart.XXXXXX)"
"$BIN" serve -f examples/web.yaml --state-dir "$STATE" --listen "127.0.0.1:$DNS" --admin "127.0.0.1:$ADMIN" \
  >"$STATE.log" 2>&1 &
PID=$!
trap 'kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; rm -rf "$STATE" "$STATE.log"' EXIT
answer() { dig @127.0.0.1 -p "$DNS" +short +tries=1 +time=2 "$1.nginx.default.svc.cluster.local"; }
for _ in $(seq 60); do
  [ "$(answer web-0)" = 10.244.0.1 ] && [ "$(answer web-1)" = 10.244.0.2 ] && break
  kill -0 "$PID" 2>/dev/null || { cat "$STATE.log" >&2; echo "ERROR: ordinal exited" >&2; exit 1; }
  sleep 1
done
[ "$(answer web-0)" = 10.244.0.1 ] || { tail -20 "$STATE.log" >&2; echo "ERROR: web-0 is '$(answer web-0)', want 10.244.0.1" >&2; exit 1; }
[ "$(answer web-1)" = 10.244.0.2 ] || { tail -20 "$STATE.log" >&2; echo "ERROR: web-1 is '$(answer web-1)', want 10.244.0.2" >&2; exit 1; }
echo "web-0 -> 10.244.0.1, web-1 -> 10.244.0.2; $(awk '/^VmRSS/ {printf "VmRSS %.1f MiB", $2/1024}' /proc/$PID/status)"
