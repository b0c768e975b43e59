#!/usr/bin/env bash
# Regenerates link/symbol-order.txt: the functions ordinal actually runs, hottest first,
# which build.rs hands to the linker so they sit together at the start of .text.
#
# Why: the kernel maps a binary's code around every page touched (64 KB at a time), so
# resident code follows how widely the executed functions are spread, not how much of
# it runs. Without an order, the ~2.6 MB that cluster mode runs is spread over 13 MB of
# text and ~9 MiB of it ends up resident; packed together, ~3 MiB does
# (benches/README.md, "Cluster mode", says how this was measured).
#
# How: runs the release binary under valgrind's callgrind (every executed function, not
# a sample) through each way it is used, and writes the functions of each run that an
# earlier run did not execute after those, each run's own sorted by instructions spent:
#   1. cluster mode on the real control plane (tests/cluster/up.sh, no StatefulSet
#      controller): list with pagination, UDP/TCP queries of every type, malformed
#      packets, /metrics, watch events, an API-server restart (relist), SIGTERM;
#   2. the same with --manage-statefulsets: a StatefulSet created, scaled, updated;
#   3. the embedded cluster (`serve -f examples/web.yaml`, the README's command) with
#      `ordinal ctl`, and forwarding to a loopback upstream;
#   4. replay mode (`serve --replay -f examples/web-dump.yaml`).
# A stale list costs nothing but memory: symbols the binary no longer has are skipped
# (build.rs passes --no-warn-symbol-ordering), and the rest of .text follows in the
# compiler's order. tests/cluster/scale.sh prints how much of the list still matches, and
# scripts/quickstart.sh (in scripts/test.sh) fails when the order no longer holds.
#
# Usage: scripts/symbol-order.sh        (needs valgrind, dig, python3, the control plane
#        binaries from tests/cluster/build.sh; ~10 minutes)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CL="$ROOT/tests/cluster"
# shellcheck source=../tests/cluster/lib.sh
. "$CL/lib.sh"
command -v valgrind >/dev/null || die "symbol-order: valgrind is not installed (apt-get install -y valgrind)"
(cd "$ROOT" && cargo build --release --quiet --bin ordinal) || die "symbol-order: cargo build failed"
BIN="$ROOT/target/release/ordinal"
OUT="$ROOT/link/symbol-order.txt"
WORK="$(mktemp -d /tmp/ordinal-symbol-order.XXXXXX)"
DIR="$WORK/cluster"
mkdir -p "$DIR"
teardown() { "$CL/down.sh" "$DIR" >/dev/null 2>&1 || true; pkill -f "callgrind-out-file=$WORK" 2>/dev/null || true; }
trap teardown EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# grind NAME ARGS...: starts ordinal under callgrind in the background (pid in $GPID).
grind() {
  local name="$1"
  shift
  setsid valgrind --tool=callgrind --demangle=no --dump-instr=no --callgrind-out-file="$WORK/$name.cg" \
    "$BIN" "$@" >"$WORK/$name.log" 2>&1 </dev/null &
  GPID=$!
}
# stop: SIGTERM (a graceful shutdown, so callgrind writes its profile) and wait.
stop() { kill -TERM "$GPID"; wait "$GPID" || true; }
wait_ready() {
  local t0=$SECONDS
  until curl -fs "http://127.0.0.1:$1/ready" >/dev/null 2>&1; do
    [ $((SECONDS - t0)) -lt 600 ] || die "symbol-order: not ready after 600s (see $WORK)"
    kill -0 "$GPID" 2>/dev/null || die "symbol-order: ordinal exited (see $WORK)"
    sleep 1
  done
}
# queries PORT NAME...: every record type over UDP and TCP, EDNS and not, plus junk.
queries() {
  local port="$1" n
  shift
  for n in "$@"; do
    for t in A AAAA SRV TXT SOA NS PTR CNAME ANY MX; do
      dig @127.0.0.1 -p "$port" +tries=1 +time=20 "$n" "$t" >/dev/null || true
      dig @127.0.0.1 -p "$port" +tries=1 +time=20 +tcp +noedns "$n" "$t" >/dev/null || true
    done
  done
  dig @127.0.0.1 -p "$port" +tries=1 +time=20 -x 10.96.0.10 >/dev/null || true
  dig @127.0.0.1 -p "$port" +tries=1 +time=20 +nsid +dnssec +bufsize=512 "$1" >/dev/null || true
  python3 - "$port" <<'PY'
import socket, sys
port = int(sys.argv[1])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(20)
for junk in (b"\x00", b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x05hello", b"\xff" * 40,
             b"\x12\x34\x01\x00\x00\x02\x00\x00\x00\x00\x00\x00\x01a\x00\x00\x01\x00\x01\x01b\x00\x00\x01\x00\x01"):
    s.sendto(junk, ("127.0.0.1", port))
    try:
        s.recv(4096)
    except OSError:
        pass
PY
}

# 1 and 2: cluster mode.
ORDINAL_CLUSTER_DIR="$DIR" ORDINAL_CLUSTER_WATCH_PID=$$ "$CL/up.sh" --no-statefulset-controller --no-coredns >/dev/null
# shellcheck disable=SC1091
. "$DIR/env"
kc() { "$KUBECTL" "$@"; }
kc create namespace grind >/dev/null
python3 - "$WORK/objs.json" <<'PY'
import json, sys
items = []
for i in range(150):  # 600 pods: more than one 500-object list page
    name, headless = f"g{i}", i % 2 == 1
    spec = {"selector": {"app": name}, "ports": [{"name": "web", "port": 80}]}
    if headless:
        spec["clusterIP"] = "None"
    items.append({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": "grind"}, "spec": spec})
    for j in range(4):
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"{name}-{j}", "namespace": "grind", "labels": {"app": name}},
               "spec": {"nodeName": f"kwok-node-{j % 2}", "containers": [{"name": "c", "image": "nginx"}]}}
        if headless:
            pod["spec"]["hostname"], pod["spec"]["subdomain"] = f"{name}-{j}", name
        items.append(pod)
items.append({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "ext", "namespace": "grind"},
              "spec": {"type": "ExternalName", "externalName": "g0.grind.svc.cluster.local"}})
json.dump({"apiVersion": "v1", "kind": "List", "items": items}, open(sys.argv[1], "w"))
PY
kc create -f "$WORK/objs.json" >/dev/null
sleep 10
for run in dns sts; do
  flags=()
  [ "$run" = sts ] && flags=(--manage-statefulsets --lease-identity grind)
  log "symbol-order: cluster mode ($run) under callgrind"
  grind "$run" serve --kubeconfig "$KUBECONFIG" --listen "127.0.0.1:$ORDINAL_DNS_PORT" \
    --admin "127.0.0.1:$ORDINAL_ADMIN_PORT" "${flags[@]}"
  wait_ready "$ORDINAL_ADMIN_PORT"
  queries "$ORDINAL_DNS_PORT" g0.grind.svc.cluster.local g1.grind.svc.cluster.local g1-2.g1.grind.svc.cluster.local \
    _web._tcp.g1.grind.svc.cluster.local ext.grind.svc.cluster.local 10-244-0-5.grind.pod.cluster.local \
    cluster.local missing.grind.svc.cluster.local
  curl -fs "http://127.0.0.1:$ORDINAL_ADMIN_PORT/metrics" >/dev/null
  curl -fs "http://127.0.0.1:$ORDINAL_ADMIN_PORT/health" >/dev/null
  kc -n grind label pod g3-1 touched=yes --overwrite >/dev/null
  kc -n grind create service clusterip "extra-$run" --tcp=80:80 >/dev/null
  if [ "$run" = dns ]; then kc -n grind delete pod g5-2 --wait=false >/dev/null; else kc -n grind delete pod g7-2 --wait=false >/dev/null; fi
  if [ "$run" = sts ]; then
    "$CL/v1beta1-to-v1.py" "$(seeds_dir symbol-order)/web.yaml" | kc apply -f - >/dev/null
    sleep 20
    kc scale statefulset web --replicas=3 >/dev/null
    sleep 20
    kc patch statefulset web --type=json -p '[{"op":"replace","path":"/spec/template/spec/containers/0/image","value":"nginx:2"}]' >/dev/null
    sleep 30
  fi
  sleep 5
  "$CL/component.sh" "$DIR" restart kube-apiserver 2 >/dev/null
  sleep 15
  kc -n grind delete service "extra-$run" >/dev/null
  sleep 5
  queries "$ORDINAL_DNS_PORT" g1-2.g1.grind.svc.cluster.local web-0.nginx.default.svc.cluster.local
  stop
done
"$CL/down.sh" "$DIR" >/dev/null 2>&1 || true

# 3: the embedded cluster, with a loopback upstream (a plain ordinal serving another zone).
log "symbol-order: embedded cluster under callgrind"
UP_DNS=$((ORDINAL_DNS_PORT + 100)) UP_ADMIN=$((ORDINAL_ADMIN_PORT + 100))
"$BIN" serve --replay -f "$ROOT/examples/web-dump.yaml" --zone upstream.test --listen "127.0.0.1:$UP_DNS" \
  --admin "127.0.0.1:$UP_ADMIN" >"$WORK/upstream.log" 2>&1 &
UPSTREAM=$!
grind embedded serve -f "$ROOT/examples/web.yaml" --state-dir "$WORK/state" --listen "127.0.0.1:$ORDINAL_DNS_PORT" \
  --admin "127.0.0.1:$ORDINAL_ADMIN_PORT" --upstream "127.0.0.1:$UP_DNS"
wait_ready "$ORDINAL_ADMIN_PORT"
sleep 10
queries "$ORDINAL_DNS_PORT" web-0.nginx.default.svc.cluster.local nginx.default.svc.cluster.local \
  web-1.nginx.default.svc.upstream.test
ctl() { "$BIN" ctl -s "http://127.0.0.1:$ORDINAL_ADMIN_PORT" "$@" >/dev/null 2>&1 || true; }
ctl get all
ctl describe sts web
ctl scale statefulset web --replicas 3
ctl rollout status statefulset web --timeout 60s
ctl set image statefulset/web nginx=nginx:2
ctl rollout status statefulset web --timeout 60s
ctl delete pod web-0
ctl wait --for=condition=Ready pod web-0 --timeout 60s
curl -fs "http://127.0.0.1:$ORDINAL_ADMIN_PORT/metrics" >/dev/null
stop
kill "$UPSTREAM" 2>/dev/null || true

# 4: replay mode.
log "symbol-order: replay mode under callgrind"
grind replay serve --replay -f "$ROOT/examples/web-dump.yaml" --listen "127.0.0.1:$ORDINAL_DNS_PORT" \
  --admin "127.0.0.1:$ORDINAL_ADMIN_PORT"
wait_ready "$ORDINAL_ADMIN_PORT"
queries "$ORDINAL_DNS_PORT" web-0.nginx.default.svc.cluster.local
stop

mkdir -p "$(dirname "$OUT")"
python3 - "$BIN" "$OUT" "$WORK"/{dns,sts,embedded,replay}.cg <<'PY'
import collections, os, re, sys
binary, out, runs = os.path.realpath(sys.argv[1]), sys.argv[2], sys.argv[3:]

def functions(path):
    """Self cost (instructions) of each function of `binary` in one callgrind profile."""
    names, objects, cost, owner = {}, {}, collections.Counter(), {}
    fn = ob = None
    after_calls = False
    def name(table, s):
        m = re.match(r"\((\d+)\)(?: (.*))?$", s)
        if not m:
            return s
        if m.group(2):
            table[m.group(1)] = m.group(2)
        return table.get(m.group(1))
    for line in open(path):
        line = line.rstrip("\n")
        if line.startswith("ob="):
            ob = name(objects, line[3:])
        elif line.startswith("fn="):
            fn = name(names, line[3:])
            owner[fn] = ob
        elif line.startswith("cfn="):
            name(names, line[4:])
        elif line.startswith("cob="):
            name(objects, line[4:])
        elif line.startswith("calls="):
            after_calls = True  # the next cost line is the call's inclusive cost
        elif line[:1].isdigit() or line[:1] in "+-*":
            if after_calls:
                after_calls = False
            elif fn is not None:
                parts = line.split()
                cost[fn] += int(parts[1]) if len(parts) > 1 else 0
    return sorted((f for f, o in owner.items() if o and os.path.realpath(o) == binary), key=lambda f: -cost[f])

seen, order = set(), []
for run in runs:
    new = [f for f in functions(run) if f not in seen]
    seen.update(new)
    order.extend(new)
    print(f"{run}: {len(new)} functions not run before", file=sys.stderr)
with open(out, "w") as f:
    f.write("".join(s + "\n" for s in order))
print(f"wrote {len(order)} symbols to {out}", file=sys.stderr)
PY
rustc -V >"$ROOT/link/symbol-order.rustc" # symbol hashes are only stable for one rustc (scripts/symbol-order-check.py)
rm -rf "$WORK"
