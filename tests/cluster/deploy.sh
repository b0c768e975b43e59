#!/usr/bin/env bash
# deploy/ against the real API server:
#   tests/cluster/deploy.sh
# 1. `kubectl apply --dry-run=server` of deploy/cluster-dns (-k), deploy/sidecar and
#    deploy/controller (-k): the API server validates every object (schema, RBAC references).
# 2. The RBAC is enough and least-privilege in practice: the cluster-dns ServiceAccount and
#    ClusterRole, and the sidecar's namespaced Role, are applied for real; ordinal runs with a
#    kubeconfig holding each ServiceAccount's token (`kubectl create token`) and must sync
#    (/ready) and answer, the sidecar scoped with --namespaces default; the sidecar account
#    must NOT be able to list services cluster-wide. The cluster runs without
#    kube-controller-manager's StatefulSet controller: the cluster-dns account with the
#    controller RBAC runs ordinal --manage-statefulsets, which must take the Lease and roll out
#    the sidecar example's StatefulSet (pods, PVCs, revisions, status, events) without a
#    single "forbidden".
# Env: ORDINAL_BIN, ORDINAL_CLUSTER_SKIP_BUILD=1.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
# shellcheck source=lib.sh
. "$HERE/lib.sh"
ORDINAL_BIN="$(ordinal_bin deploy)" || exit 1
[ "${ORDINAL_CLUSTER_SKIP_BUILD:-0}" = 1 ] || "$HERE/build.sh"
DIR="$(mktemp -d /tmp/ordinal-deploy.XXXXXX)"
teardown() {
  local rc=$?
  "$HERE/down.sh" "$DIR" >/dev/null 2>&1 || true
  [ "$rc" = 0 ] && rm -rf "$DIR"
  [ "$rc" = 0 ] || echo "deploy: FAILED (exit $rc); logs kept in $DIR/logs" >&2
}
trap teardown EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
ORDINAL_CLUSTER_DIR="$DIR" ORDINAL_CLUSTER_WATCH_PID=$$ "$HERE/up.sh" --no-coredns --no-statefulset-controller >/dev/null
# shellcheck disable=SC1091
. "$DIR/env"
kc() { "$KUBECTL" "$@"; }
FAILS=0
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
eventually() { local until=$(($(date +%s) + $1)); shift; while ! "$@"; do [ "$(date +%s)" -lt "$until" ] || return 1; sleep 0.3; done; }

for target in "-k $ROOT/deploy/cluster-dns" "-f $ROOT/deploy/sidecar" "-k $ROOT/deploy/controller"; do
  # shellcheck disable=SC2086
  if out="$(kc apply --dry-run=server $target 2>&1)"; then
    pass "kubectl apply --dry-run=server ${target/$ROOT\//}: $(echo "$out" | wc -l) objects"
    echo "$out" | sed 's/^/  /'
  else
    fail "kubectl apply --dry-run=server $target: $out"
  fi
done

# kubeconfig for a ServiceAccount token
sa_kubeconfig() { # NS SA FILE
  local token; token="$(kc -n "$1" create token "$2" --duration=1h)"
  sed -e "s/^    token: .*/    token: $token/" "$KUBECONFIG" >"$3"
}
run_ordinal() { # NAME KUBECONFIG PORT ADMIN ARGS...
  local name="$1" kcfg="$2" port="$3" admin="$4"; shift 4
  setsid "$ORDINAL_BIN" serve --kubeconfig "$kcfg" --listen "127.0.0.1:$port" --admin "127.0.0.1:$admin" "$@" \
    >"$DIR/logs/$name.log" 2>&1 </dev/null &
  register "$name" "$!"
}
kc apply -f "$ROOT/deploy/cluster-dns/rbac.yaml" -f "$ROOT/deploy/sidecar/statefulset.yaml" >/dev/null
kc create namespace other >/dev/null
kc -n other create service clusterip probe --tcp=80:80 >/dev/null
read -r P2 A2 <<<"$SPARE_PORTS"

# Cluster DNS alone: the list/watch-only ClusterRole is enough.
sa_kubeconfig kube-system ordinal-dns "$DIR/dns.kubeconfig"
run_ordinal ordinal-dns "$DIR/dns.kubeconfig" "$ORDINAL_DNS_PORT" "$ORDINAL_ADMIN_PORT"
probe_ip="$(kc -n other get service probe -o jsonpath='{.spec.clusterIP}')"
if eventually 30 curl -fsS --max-time 1 "http://127.0.0.1:$ORDINAL_ADMIN_PORT/ready" >/dev/null 2>&1 \
   && eventually 10 bash -c '[ "$(dig @127.0.0.1 -p "$0" +short probe.other.svc.cluster.local)" = "$1" ]' "$ORDINAL_DNS_PORT" "$probe_ip"; then
  pass "cluster-dns RBAC (ServiceAccount kube-system/ordinal-dns, list/watch only) is enough: synced, probe.other = $probe_ip"
else
  fail "ordinal with the cluster-dns ServiceAccount did not sync:"; tail -n 5 "$DIR/logs/ordinal-dns.log"
fi
if grep -qi 'forbidden' "$DIR/logs/ordinal-dns.log"; then fail "cluster-dns: forbidden in the log"; grep -m2 -i forbidden "$DIR/logs/ordinal-dns.log"; fi
kill "$(awk '$1=="ordinal-dns" {print $2}' "$DIR/pids")"

# Plus the controller RBAC (deploy/controller): --manage-statefulsets takes the Lease and rolls
# out the sidecar example's StatefulSet (kube-controller-manager's controller is off here).
kc apply -f "$ROOT/deploy/controller/rbac.yaml" >/dev/null
sa_kubeconfig kube-system ordinal-dns "$DIR/ctl.kubeconfig"
run_ordinal ordinal-ctl "$DIR/ctl.kubeconfig" "$ORDINAL_DNS_PORT" "$ORDINAL_ADMIN_PORT" --manage-statefulsets --lease-identity ordinal-dns-0
if kc -n default rollout status statefulset/web --timeout=120s >/dev/null 2>&1 \
   && [ "$(kc -n kube-system get lease ordinal-statefulset-controller -o jsonpath='{.spec.holderIdentity}')" = ordinal-dns-0 ] \
   && eventually 10 bash -c '[ -n "$(dig @127.0.0.1 -p "$0" +short web-0.nginx.default.svc.cluster.local)" ]' "$ORDINAL_DNS_PORT"; then
  pass "controller RBAC is enough: the cluster-dns account holds the Lease and rolled out statefulset/web ($(kc -n default get pods -o name | tr '\n' ' ')), web-0.nginx.default = $(dig @127.0.0.1 -p "$ORDINAL_DNS_PORT" +short web-0.nginx.default.svc.cluster.local)"
else
  fail "ordinal --manage-statefulsets with the cluster-dns account did not roll out statefulset/web:"; tail -n 5 "$DIR/logs/ordinal-ctl.log"
fi
if grep -qi 'forbidden' "$DIR/logs/ordinal-ctl.log"; then fail "controller: forbidden in the log"; grep -m2 -i forbidden "$DIR/logs/ordinal-ctl.log"; fi

sa_kubeconfig default ordinal-sidecar "$DIR/sidecar.kubeconfig"
if KUBECONFIG="$DIR/sidecar.kubeconfig" kc get services -A >/dev/null 2>&1; then
  fail "the sidecar ServiceAccount can list services cluster-wide"
else
  pass "the sidecar ServiceAccount cannot list services cluster-wide (namespaced Role only)"
fi
run_ordinal ordinal-sidecar "$DIR/sidecar.kubeconfig" "$P2" "$A2" --namespaces default
if eventually 30 curl -fsS --max-time 1 "http://127.0.0.1:$A2/ready" >/dev/null 2>&1 \
   && eventually 10 bash -c '[ -n "$(dig @127.0.0.1 -p "$0" +short web-1.nginx.default.svc.cluster.local)" ]' "$P2"; then
  pass "sidecar Role with --namespaces default is enough: synced, web-1.nginx.default = $(dig @127.0.0.1 -p "$P2" +short web-1.nginx.default.svc.cluster.local)"
else
  fail "ordinal with the sidecar ServiceAccount did not sync:"; tail -n 5 "$DIR/logs/ordinal-sidecar.log"
fi
st() { dig @127.0.0.1 -p "$1" +noall +comments "$2" | sed -n 's/.*status: \([A-Z]*\).*/\1/p'; }
a="$(st "$ORDINAL_DNS_PORT" probe.other.svc.cluster.local)" b="$(st "$P2" probe.other.svc.cluster.local)"
if [ "$a" = NOERROR ] && [ "$b" = NXDOMAIN ]; then
  pass "sidecar scope: probe.other.svc (another namespace) is NXDOMAIN in the sidecar, NOERROR in cluster DNS"
else
  fail "sidecar scope: probe.other.svc gave $b in the sidecar, $a in cluster DNS (want NXDOMAIN, NOERROR)"
fi
if [ "$FAILS" != 0 ]; then echo "deploy: $FAILS check(s) FAILED"; exit 1; fi
echo "deploy: all checks passed"
