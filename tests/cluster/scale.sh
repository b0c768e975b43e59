#!/usr/bin/env bash
# Memory at scale, ordinal (cluster mode) vs CoreDNS on one cluster:
#   tests/cluster/scale.sh [SERVICES] [PODS_PER_SERVICE]      (default 1000 x 10)
# Creates SERVICES services in namespace scale (half ClusterIP, half headless with pod
# hostnames), each selecting PODS_PER_SERVICE pods (nodeName preset: KWOK runs them, no
# scheduler), waits until the EndpointSlices hold every pod as ready and both servers answer
# the last pod's name, then prints resident memory (VmRSS; RssAnon is heap and stacks, RssFile
# mostly the binary's code) and peak (VmHWM) of both. Then
# restarts kube-apiserver, so both relist everything, and prints the peaks again (relist peak).
# Env: ORDINAL_BIN, ORDINAL_CLUSTER_SKIP_BUILD=1.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
. "$HERE/lib.sh"
NS_SVC="${1:-1000}" PER="${2:-10}"
ORDINAL_BIN="$(ordinal_bin scale --release)" || exit 1
# How much of the link order (build.rs, scripts/symbol-order.sh) this binary still matches:
# a stale list shows up here as more resident code (RssFile), never as a failure.
python3 "$HERE/../../scripts/symbol-order-check.py" "$ORDINAL_BIN" || true
[ "${ORDINAL_CLUSTER_SKIP_BUILD:-0}" = 1 ] || "$HERE/build.sh"
DIR="$(mktemp -d /tmp/ordinal-scale.XXXXXX)"
teardown() { local rc=$?; "$HERE/down.sh" "$DIR" >/dev/null 2>&1 || true; [ "$rc" = 0 ] && rm -rf "$DIR"; }
trap teardown EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
ORDINAL_CLUSTER_DIR="$DIR" ORDINAL_CLUSTER_WATCH_PID=$$ "$HERE/up.sh" >/dev/null
# shellcheck disable=SC1091
. "$DIR/env"
kc() { "$KUBECTL" "$@"; }
setsid "$ORDINAL_BIN" serve --kubeconfig "$KUBECONFIG" --listen "127.0.0.1:$ORDINAL_DNS_PORT" \
  --admin "127.0.0.1:$ORDINAL_ADMIN_PORT" >"$DIR/logs/ordinal.log" 2>&1 </dev/null &
register ordinal "$!"
OPID=$! CPID="$(awk '$1=="coredns"{print $2}' "$DIR/pids")"
mem() { awk '/^VmRSS|^VmHWM|^RssAnon|^RssFile/ {printf "%s %.1f MiB ", $1, $2/1024}' "/proc/$1/status"; }

T0=$(date +%s)
kc create namespace scale >/dev/null
python3 - "$NS_SVC" "$PER" "$DIR/objs" <<'PY'
import json, os, sys
n, per, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
os.makedirs(out, exist_ok=True)
items = []
for i in range(n):
    headless = i % 2 == 1
    name = f"s{i}"
    spec = {"selector": {"app": name}, "ports": [{"name": "web", "port": 80}]}
    if headless:
        spec["clusterIP"] = "None"
    items.append({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": "scale"}, "spec": spec})
    for j in range(per):
        pod = {"apiVersion": "v1", "kind": "Pod",
               "metadata": {"name": f"{name}-{j}", "namespace": "scale", "labels": {"app": name}},
               "spec": {"nodeName": f"kwok-node-{(i * per + j) % 2}", "containers": [{"name": "c", "image": "nginx"}]}}
        if headless:
            pod["spec"]["hostname"], pod["spec"]["subdomain"] = f"{name}-{j}", name
        items.append(pod)
chunk = 1000
for k in range(0, len(items), chunk):
    with open(f"{out}/{k // chunk:04d}.json", "w") as f:
        json.dump({"apiVersion": "v1", "kind": "List", "items": items[k:k + chunk]}, f)
PY
for f in "$DIR"/objs/*.json; do kc create -f "$f" >/dev/null; done
log "scale: created $NS_SVC services and $((NS_SVC * PER)) pods in $(( $(date +%s) - T0 ))s"
want=$((NS_SVC * PER))
ready_eps() { kc -n scale get endpointslices -o json | python3 -c 'import json,sys; print(sum(1 for s in json.load(sys.stdin)["items"] for e in (s.get("endpoints") or []) if (e.get("conditions") or {}).get("ready")))'; }
until [ "$(ready_eps)" -ge "$want" ]; do
  [ $(( $(date +%s) - T0 )) -lt 900 ] || die "scale: endpoints not all ready after 900s ($(ready_eps)/$want)"
  sleep 5
done
last="s$((NS_SVC - 1))-$((PER - 1)).s$((NS_SVC - 1)).scale.svc.cluster.local"
for p in "$ORDINAL_DNS_PORT" "$COREDNS_PORT"; do
  until [ -n "$(dig @127.0.0.1 -p "$p" +short "$last")" ]; do sleep 1; done
done
log "scale: $want ready endpoints, both servers answer $last after $(( $(date +%s) - T0 ))s"
sleep 5
echo "loaded ($NS_SVC services, $want pods): ordinal $(mem "$OPID"); CoreDNS $(mem "$CPID")"
curl -s "http://127.0.0.1:$ORDINAL_ADMIN_PORT/metrics" | grep -E '^ordinal_cache_(objects|names)' | tr '\n' ' '; echo
"$HERE/component.sh" "$DIR" restart kube-apiserver 2
until curl -fsS --max-time 1 --cacert "$API_CA" -H "Authorization: Bearer $API_TOKEN" "$API_URL/readyz" >/dev/null 2>&1; do sleep 0.5; done
sleep 20
echo "after an API server restart (full relist): ordinal $(mem "$OPID"); CoreDNS $(mem "$CPID")"
grep -c 'relist applied' "$DIR/logs/ordinal.log" | sed 's/^/ordinal relists: /'
