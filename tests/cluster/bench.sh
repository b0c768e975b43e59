#!/usr/bin/env bash
# DNS benchmark on one real cluster state: CoreDNS (and ordinal, once it can serve a cluster)
# measured in the same run, same box, same query file.
#   tests/cluster/bench.sh [--duration SECONDS] [--rounds R] [--sets N] [--replicas M]
# 1. build-or-reuse, start the cluster (always torn down), apply the tutorial seeds plus N
#    synthetic StatefulSets of M replicas each (namespace bench, headless service each),
# 2. writes a query file from the live state: pod A (40%), service A (20%), SRV (15%),
#    PTR (15%), NXDOMAIN (10%),
# 3. per server: R rounds (servers alternating, default 3) of a dnsperf throughput run
#    (-l SECONDS) -> median qps; dnsperf -v at a fixed 2000 qps for 5 s -> p50/p99 latency;
#    prints the ordinal/CoreDNS ratio of the medians when ordinal runs. The box is shared, so
#    one run of the same binary twice already differs by up to ~30%: compare medians only.
# 4. readiness-lag.py: time from a pod turning Ready (API watch) to each server answering.
# ordinal: set ORDINAL_START_CMD as for smoke.sh (serve DNS on 127.0.0.1:$ORDINAL_DNS_PORT).
# dnsperf and the servers share the same 2 cores; numbers are relative, compare within a run.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
. "$HERE/lib.sh"
DUR=10 SETS=10 REPL=10 ROUNDS=3
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) DUR="$2"; shift ;;
    --sets) SETS="$2"; shift ;;
    --rounds) ROUNDS="$2"; shift ;;
    --replicas) REPL="$2"; shift ;;
    *) die "bench.sh: unknown argument $1" ;;
  esac
  shift
done
command -v dnsperf >/dev/null || die "bench.sh: dnsperf is required (apt-get install -y dnsperf)"
SEEDS="$(seeds_dir bench.sh)" || exit 1

[ "${ORDINAL_CLUSTER_SKIP_BUILD:-0}" = 1 ] || "$HERE/build.sh" >/dev/null
DIR="$(mktemp -d /tmp/ordinal-cluster.XXXXXX)"
# keep the state dir (logs, dnsperf output) only when something failed
trap 'rc=$?; "$HERE/down.sh" "$DIR"; if [ "$rc" = 0 ]; then rm -rf "$DIR"; else echo "bench: failed, logs in $DIR/logs" >&2; fi' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
ORDINAL_CLUSTER_DIR="$DIR" ORDINAL_CLUSTER_WATCH_PID=$$ "$HERE/up.sh" >/dev/null
set -a; . "$DIR/env"; set +a
kc() { "$KUBECTL" "$@"; }

log "applying seeds and $SETS x $REPL synthetic StatefulSets"
"$HERE/v1beta1-to-v1.py" "$SEEDS/web.yaml" | kc apply -f - >/dev/null
for f in mysql zookeeper redis-cluster; do kc apply -f "$SEEDS/$f.yaml" >/dev/null; done
kc create namespace bench >/dev/null
for i in $(seq 1 "$SETS"); do
  cat <<EOF
---
apiVersion: v1
kind: Service
metadata: {name: svc$i, namespace: bench}
spec:
  clusterIP: None
  selector: {app: set$i}
  ports: [{name: http, port: 80}, {name: metrics, port: 9100, protocol: TCP}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: set$i, namespace: bench}
spec:
  serviceName: svc$i
  replicas: $REPL
  podManagementPolicy: Parallel
  selector: {matchLabels: {app: set$i}}
  template:
    metadata: {labels: {app: set$i}}
    spec: {containers: [{name: c, image: example.invalid/none}]}
EOF
done | kc apply -f - >/dev/null
for s in $(kc get sts -A -o jsonpath='{range .items[*]}{.metadata.namespace}/{.metadata.name}{" "}{end}'); do
  kc -n "${s%/*}" rollout status "sts/${s#*/}" --timeout=300s >/dev/null
done
log "all StatefulSets rolled out: $(kc get pods -A --no-headers | wc -l) pods"

Q="$DIR/queries.txt"
python3 - "$Q" <<'EOF'
import json, os, subprocess, sys
kc = [os.environ["KUBECTL"]]
pods = json.loads(subprocess.check_output(kc + ["get", "pods", "-A", "-o", "json"]))["items"]
svcs = json.loads(subprocess.check_output(kc + ["get", "svc", "-A", "-o", "json"]))["items"]
podA, ptr, svcA, srv, nx = [], [], [], [], []
for p in pods:
    ns, ip, sub, host = p["metadata"]["namespace"], p["status"].get("podIP"), p["spec"].get("subdomain"), p["spec"].get("hostname")
    if not ip:
        continue
    ptr.append(".".join(reversed(ip.split("."))) + ".in-addr.arpa PTR")
    if sub and host:
        podA.append(f"{host}.{sub}.{ns}.svc.cluster.local A")
for s in svcs:
    ns, name = s["metadata"]["namespace"], s["metadata"]["name"]
    svcA.append(f"{name}.{ns}.svc.cluster.local A")
    for port in s["spec"].get("ports", []):
        if port.get("name"):
            srv.append(f"_{port['name']}._{port.get('protocol', 'TCP').lower()}.{name}.{ns}.svc.cluster.local SRV")
    nx.append(f"nope-{name}.{ns}.svc.cluster.local A")
def take(lst, n):
    return [lst[i % len(lst)] for i in range(n)] if lst else []
N = 2000
lines = take(podA, N * 40 // 100) + take(svcA, N * 20 // 100) + take(srv, N * 15 // 100) + take(ptr, N * 15 // 100) + take(nx, N * 10 // 100)
import random
random.Random(4).shuffle(lines)
open(sys.argv[1], "w").write("\n".join(lines) + "\n")
print(f"query file: {len(lines)} lines from {len(podA)} pod names, {len(svcA)} services, {len(srv)} SRV names, {len(ptr)} PTRs", file=sys.stderr)
EOF

SERVERS=("coredns 127.0.0.1 $COREDNS_PORT")
if [ -n "${ORDINAL_START_CMD:-}" ]; then
  setsid bash -c "$ORDINAL_START_CMD" >"$DIR/logs/ordinal.log" 2>&1 </dev/null &
  register ordinal "$!"
  for _ in $(seq 1 120); do
    dig @127.0.0.1 -p "$ORDINAL_DNS_PORT" +time=1 +tries=1 kubernetes.default.svc.cluster.local A 2>/dev/null | grep -q 'status: NOERROR' && break
    sleep 0.5
  done
  SERVERS+=("ordinal 127.0.0.1 $ORDINAL_DNS_PORT")
else
  echo "PENDING: ordinal is not benchmarked: its cluster mode has not landed (set ORDINAL_START_CMD, see smoke.sh)"
fi

declare -A QPS RUNS
for r in $(seq 1 "$ROUNDS"); do
  for s in "${SERVERS[@]}"; do
    read -r name host port <<<"$s"
    out="$(dnsperf -s "$host" -p "$port" -d "$Q" -l "$DUR" -c 4 -T 2 -q 500 2>&1)"
    echo "$out" >"$DIR/logs/dnsperf-$name-$r.txt"
    qps="$(echo "$out" | awk '/Queries per second/ {printf "%.0f", $4}')"
    lost="$(echo "$out" | awk '/Queries lost/ {print $3, $4}')"
    echo "dnsperf round $r $name: $qps qps (lost $lost) over ${DUR}s"
    RUNS[$name]="${RUNS[$name]:-} $qps"
  done
done
for s in "${SERVERS[@]}"; do
  read -r name host port <<<"$s"
  QPS[$name]="$(echo ${RUNS[$name]} | tr ' ' '\n' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')"
  lat="$(dnsperf -s "$host" -p "$port" -d "$Q" -l 5 -Q 2000 -v 2>/dev/null | awk '/^> / {print $NF}' | sort -g |
    awk 'function q(f) {i = int(NR * f); if (i < 1) i = 1; return a[i] * 1000}
         {a[NR]=$1} END {if (NR) printf "p50 %.2f ms, p99 %.2f ms, max %.2f ms (%d queries at 2000 qps)", q(0.5), q(0.99), a[NR]*1000, NR}')"
  echo "dnsperf $name: median ${QPS[$name]} qps over $ROUNDS rounds ($(echo ${RUNS[$name]})); latency $lat"
done
if [ -n "${QPS[ordinal]:-}" ] && [ -n "${QPS[coredns]:-}" ]; then
  echo "ratio ordinal/CoreDNS (median qps): $(awk -v a="${QPS[ordinal]}" -v b="${QPS[coredns]}" 'BEGIN {printf "%.2f", a / b}')"
fi
echo "load average during the run: $(cut -d' ' -f1-3 /proc/loadavg) (2 cores; dnsperf shares them)"
lag_servers=()
for s in "${SERVERS[@]}"; do read -r _ host port <<<"$s"; lag_servers+=("$host:$port"); done
"$HERE/readiness-lag.py" --samples 5 "${lag_servers[@]}"
