#!/usr/bin/env bash
# Fault test: kube-apiserver and etcd restarted under ordinal (cluster mode), CoreDNS alongside.
#   tests/cluster/fault.sh
# While probe.py asks both servers for names that exist throughout (ClusterIP services, a
# headless StatefulSet's pods and service) every ~20 ms:
#  A. kube-apiserver stopped for ORDINAL_FAULT_DOWN (10) s; during the outage the Service
#     fault/doomed is deleted behind its back (straight from etcd: nothing else can write);
#     started again. Then: ordinal answered every probe from its last view (0 SERVFAIL/NXDOMAIN),
#     doomed is NXDOMAIN within 5 s of /readyz (its watch relists: the restarted API server's watch
#     cache starts after ordinal's resourceVersion), and a Service created after the restart
#     is answered within 5 s.
#  B. etcd stopped for the same time (the API server stays up) and started again; then a
#     Service is deleted and another created through the API: both seen within 5 s.
#  C. a second ordinal started while kube-apiserver is down: SERVFAIL for would-be NXDOMAIN and
#     /ready 503 before its first sync, NXDOMAIN after --startup-timeout (/ready still 503),
#     synced within 5 s once the API server is back. (The probe keeps asking the first ordinal.)
# Exit 0 when every check passes. Env: ORDINAL_BIN (default: cargo build --bin ordinal),
# ORDINAL_CLUSTER_SKIP_BUILD=1, ORDINAL_FAULT_DOWN, ORDINAL_FAULT_KEEP=1.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
. "$HERE/lib.sh"
DOWN="${ORDINAL_FAULT_DOWN:-10}"
CATCHUP="${ORDINAL_FAULT_CATCHUP:-5}"
ORDINAL_BIN="$(ordinal_bin fault)" || exit 1
[ "${ORDINAL_CLUSTER_SKIP_BUILD:-0}" = 1 ] || "$HERE/build.sh"

DIR="$(mktemp -d /tmp/ordinal-fault.XXXXXX)"
teardown() {
  local rc=$?
  touch "$DIR/probe.stop" 2>/dev/null || true
  if [ "${ORDINAL_FAULT_KEEP:-0}" = 1 ]; then echo "fault: cluster kept in $DIR" >&2; return; fi
  "$HERE/down.sh" "$DIR" >/dev/null 2>&1 || true
  [ "$rc" = 0 ] && rm -rf "$DIR"
  [ "$rc" = 0 ] || echo "fault: FAILED (exit $rc); logs kept in $DIR/logs" >&2
}
trap teardown EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
WATCH=$$; [ "${ORDINAL_FAULT_KEEP:-0}" = 1 ] && WATCH=""
ORDINAL_CLUSTER_DIR="$DIR" ORDINAL_CLUSTER_WATCH_PID="$WATCH" "$HERE/up.sh" >/dev/null
# shellcheck disable=SC1091
. "$DIR/env"
kc() { "$KUBECTL" "$@"; }
FAILS=0
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
eventually() { local until=$(($(date +%s%3N) + $1 * 1000)); shift; while ! "$@"; do [ "$(date +%s%3N)" -lt "$until" ] || return 1; sleep 0.05; done; }
rcode() { dig @127.0.0.1 -p "$1" +time=1 +tries=1 "$2" A | sed -n 's/.*status: \([A-Z]*\).*/\1/p'; }
is_rcode() { [ "$(rcode "$1" "$2")" = "$3" ]; }
now_ms() { date +%s%3N; }
api_ready() { curl -fsS --max-time 1 --cacert "$API_CA" -H "Authorization: Bearer $API_TOKEN" "$API_URL/readyz" >/dev/null 2>&1; }

setsid "$ORDINAL_BIN" serve --kubeconfig "$KUBECONFIG" --listen "127.0.0.1:$ORDINAL_DNS_PORT" \
  --admin "127.0.0.1:$ORDINAL_ADMIN_PORT" >"$DIR/logs/ordinal.log" 2>&1 </dev/null &
register ordinal "$!"

svc() { printf 'apiVersion: v1\nkind: Service\nmetadata: {name: %s, namespace: fault}\nspec: {ports: [{name: http, port: 80}]}\n---\n' "$@"; }
{
  printf 'apiVersion: v1\nkind: Namespace\nmetadata: {name: fault}\n---\n'
  svc keep-1 keep-2 keep-3 doomed doomed-2
  cat <<'YAML'
apiVersion: v1
kind: Service
metadata: {name: nginx, namespace: fault}
spec: {clusterIP: None, selector: {app: nginx}, ports: [{name: web, port: 80}]}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: web, namespace: fault}
spec:
  serviceName: nginx
  replicas: 3
  podManagementPolicy: Parallel
  selector: {matchLabels: {app: nginx}}
  template:
    metadata: {labels: {app: nginx}}
    spec: {containers: [{name: nginx, image: nginx}]}
YAML
} >"$DIR/fault.yaml"
kc apply -f "$DIR/fault.yaml" >/dev/null
kc -n fault rollout status statefulset/web --timeout=120s >/dev/null
Z=fault.svc.cluster.local
NAMES="keep-1.$Z,keep-2.$Z,keep-3.$Z,nginx.$Z,web-0.nginx.$Z,web-1.nginx.$Z,web-2.nginx.$Z,kubernetes.default.svc.cluster.local"
for n in ${NAMES//,/ }; do
  eventually 20 is_rcode "$ORDINAL_DNS_PORT" "$n" NOERROR || fail "ordinal does not answer $n before the faults"
  eventually 20 is_rcode "$COREDNS_PORT" "$n" NOERROR || fail "CoreDNS does not answer $n before the faults"
done
eventually 10 is_rcode "$ORDINAL_DNS_PORT" "doomed.$Z" NOERROR || fail "ordinal does not answer doomed before the faults"

"$HERE/probe.py" --stop "$DIR/probe.stop" --names "$NAMES" "127.0.0.1:$ORDINAL_DNS_PORT" "127.0.0.1:$COREDNS_PORT" >"$DIR/probe.json" 2>"$DIR/logs/probe.log" &
PROBE=$!
sleep 1

echo "== A. kube-apiserver down for ${DOWN}s; fault/doomed deleted from etcd meanwhile"
"$HERE/component.sh" "$DIR" stop kube-apiserver
key=$(printf '/registry/services/specs/fault/doomed' | base64 -w0)
deleted=$(curl -fsS -X POST "$ETCD_URL/v3/kv/deleterange" -d "{\"key\":\"$key\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("deleted","0"))')
[ "$deleted" = 1 ] && pass "fault/doomed deleted in etcd while the API server is down" || fail "etcd deleterange deleted $deleted keys"
sleep "$DOWN"
if is_rcode "$ORDINAL_DNS_PORT" "doomed.$Z" NOERROR; then pass "during the outage ordinal still answers doomed from its last view"; fi
"$HERE/component.sh" "$DIR" start kube-apiserver
eventually 60 api_ready || fail "kube-apiserver not ready again within 60s"
t_ready=$(now_ms)
if eventually "$CATCHUP" is_rcode "$ORDINAL_DNS_PORT" "doomed.$Z" NXDOMAIN; then
  pass "A: doomed (deleted during the outage) NXDOMAIN in ordinal $(( $(now_ms) - t_ready )) ms after /readyz"
else
  fail "A: doomed still answered by ordinal ${CATCHUP}s after the API server returned ($(rcode "$ORDINAL_DNS_PORT" "doomed.$Z"))"
fi
eventually 30 is_rcode "$COREDNS_PORT" "doomed.$Z" NXDOMAIN && echo "  (CoreDNS: doomed NXDOMAIN $(( $(now_ms) - t_ready )) ms after /readyz)" || echo "  (CoreDNS still answers doomed after 30 s)"
t0=$(now_ms); svc after-api | kc apply -f - >/dev/null
if eventually "$CATCHUP" is_rcode "$ORDINAL_DNS_PORT" "after-api.$Z" NOERROR; then
  pass "A: a service created after the restart answered by ordinal in $(( $(now_ms) - t0 )) ms"
else
  fail "A: after-api not answered by ordinal within ${CATCHUP}s"
fi
grep -c 'relist applied' "$DIR/logs/ordinal.log" | sed 's/^/  ordinal relists so far: /'

echo "== B. etcd down for ${DOWN}s (API server up)"
"$HERE/component.sh" "$DIR" stop etcd
sleep "$DOWN"
"$HERE/component.sh" "$DIR" start etcd
eventually 60 curl -fsS --max-time 1 "$ETCD_URL/health" >/dev/null 2>&1 || fail "etcd not healthy again"
eventually 60 api_ready || fail "kube-apiserver not ready after etcd returned"
t_ready=$(now_ms)
kc -n fault delete service doomed-2 --wait=false >/dev/null
if eventually "$CATCHUP" is_rcode "$ORDINAL_DNS_PORT" "doomed-2.$Z" NXDOMAIN; then
  pass "B: doomed-2 deleted after etcd returned: NXDOMAIN in ordinal $(( $(now_ms) - t_ready )) ms after /readyz"
else
  fail "B: doomed-2 still answered by ordinal ${CATCHUP}s after the delete"
fi
t0=$(now_ms); svc after-etcd | kc apply -f - >/dev/null
if eventually "$CATCHUP" is_rcode "$ORDINAL_DNS_PORT" "after-etcd.$Z" NOERROR; then
  pass "B: a service created after etcd returned answered by ordinal in $(( $(now_ms) - t0 )) ms"
else
  fail "B: after-etcd not answered by ordinal within ${CATCHUP}s"
fi

echo "== C. ordinal started while kube-apiserver is down"
read -r P2 A2 <<<"$SPARE_PORTS"
"$HERE/component.sh" "$DIR" stop kube-apiserver
setsid "$ORDINAL_BIN" serve --kubeconfig "$KUBECONFIG" --listen "127.0.0.1:$P2" --admin "127.0.0.1:$A2" \
  --startup-timeout 3 >"$DIR/logs/ordinal-c.log" 2>&1 </dev/null &
register ordinal-c "$!"
sleep 1
ready_code() { curl -s -o /dev/null -w '%{http_code}' --max-time 1 "http://127.0.0.1:$A2/ready"; }
c1="$(rcode "$P2" "nosuch.$Z")" r1="$(ready_code)"
sleep 3
c2="$(rcode "$P2" "nosuch.$Z")" r2="$(ready_code)"
if [ "$c1" = SERVFAIL ] && [ "$r1" = 503 ] && [ "$c2" = NXDOMAIN ] && [ "$r2" = 503 ]; then
  pass "C: before the first sync: SERVFAIL, /ready 503; after --startup-timeout 3: NXDOMAIN, /ready still 503"
else
  fail "C: before sync $c1 /ready $r1, after the startup timeout $c2 /ready $r2 (want SERVFAIL 503, NXDOMAIN 503)"
fi
"$HERE/component.sh" "$DIR" start kube-apiserver
eventually 60 api_ready || fail "kube-apiserver not ready again"
t_ready=$(now_ms)
if eventually "$CATCHUP" bash -c '[ "$(curl -s -o /dev/null -w "%{http_code}" --max-time 1 "$0")" = 200 ]' "http://127.0.0.1:$A2/ready" \
   && eventually 2 is_rcode "$P2" "keep-1.$Z" NOERROR; then
  pass "C: synced $(( $(now_ms) - t_ready )) ms after the API server became ready (/ready 200, keep-1 answered)"
else
  fail "C: not synced ${CATCHUP}s after the API server became ready"
fi
if grep -q panicked "$DIR/logs/ordinal-c.log"; then fail "C: ordinal panicked"; fi

touch "$DIR/probe.stop"; wait "$PROBE" || true
python3 - "$DIR/probe.json" "127.0.0.1:$ORDINAL_DNS_PORT" <<'PY' || FAILS=$((FAILS + 1))
import json, sys
ok = True
for line in open(sys.argv[1]):
    s = json.loads(line)
    who = "ordinal" if s["server"] == sys.argv[2] else "CoreDNS"
    total = sum(s["answers"].values())
    print(f"{'PASS' if s['nbad'] == 0 or who == 'CoreDNS' else 'FAIL'}: probe {who}: {total} questions for names that exist, "
          f"answers {s['answers']}, {s['nbad']} without an address (first: {s['bad'][:5]})")
    if who == "ordinal" and s["nbad"]:
        ok = False
sys.exit(0 if ok else 1)
PY
grep -iE 'watch failed|recovered|relist' "$DIR/logs/ordinal.log" | sed 's/\x1b\[[0-9;]*m//g' | cut -c1-220 | head -n 20 | sed 's/^/  ordinal: /'
if grep -q panicked "$DIR/logs/ordinal.log"; then fail "ordinal panicked"; fi
if [ "$FAILS" != 0 ]; then echo "fault: $FAILS check(s) FAILED"; exit 1; fi
echo "fault: all checks passed"
