#!/usr/bin/env bash
# The harness's "done when" check, one command from a fresh clone:
#   tests/cluster/smoke.sh
# 1. builds the binaries or reuses them (build.sh),
# 2. starts the real control plane + KWOK + CoreDNS (up.sh) and always tears it down,
# 3. applies the tutorial seeds with kubectl against the real API server and checks that
#    pods get Ready with KWOK IPs, EndpointSlices carry hostnames, and CoreDNS answers
#    <pod>.<service>.<ns>.svc.cluster.local with the pod IP (and the PTR back),
# 4. checks that kubia.yaml (deliberately broken) is rejected by the API server.
# Exits non-zero if any check fails. Env: see up.sh / build.sh; ORDINAL_CLUSTER_SKIP_BUILD=1
# skips build.sh (binaries must exist). ORDINAL_SMOKE_KEEP=1 keeps the cluster running
# (prints how to stop it) instead of tearing it down on success.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
. "$HERE/lib.sh"
SEEDS="${ORDINAL_SEEDS:-$(cd "$HERE/../.." && pwd)/../shared/fixtures/seeds}"
[ -d "$SEEDS" ] || SEEDS=/work/shared/fixtures/seeds
[ -f "$SEEDS/web.yaml" ] || die "smoke: seed manifests not found (set ORDINAL_SEEDS; tried $SEEDS)"
command -v dig >/dev/null || die "smoke: dig is required (apt-get install -y dnsutils)"
WAIT="${ORDINAL_SMOKE_TIMEOUT:-180}"

T_START=$(date +%s)
if [ "${ORDINAL_CLUSTER_SKIP_BUILD:-0}" != 1 ]; then
  "$HERE/build.sh"
fi
T_BUILT=$(date +%s)

DIR="$(mktemp -d /tmp/ordinal-cluster.XXXXXX)"
teardown() {
  local rc=$?
  if [ "${ORDINAL_SMOKE_KEEP:-0}" = 1 ] && [ "$rc" = 0 ]; then
    echo "smoke: cluster kept running in $DIR; stop it with: $HERE/down.sh $DIR" >&2
    return
  fi
  "$HERE/down.sh" "$DIR" || true
  [ "$rc" = 0 ] && rm -rf "$DIR"
  [ "$rc" = 0 ] || echo "smoke: FAILED (exit $rc); logs kept in $DIR/logs" >&2
}
trap teardown EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

WATCH=$$
[ "${ORDINAL_SMOKE_KEEP:-0}" = 1 ] && WATCH=""
ORDINAL_CLUSTER_DIR="$DIR" ORDINAL_CLUSTER_WATCH_PID="$WATCH" "$HERE/up.sh" >/dev/null
T_UP=$(date +%s)
# shellcheck disable=SC1091
. "$DIR/env"
kc() { "$KUBECTL" "$@"; }

FAILS=0
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }

# dig_a NAME [TYPE] -> sorted short answer from CoreDNS
dig_short() { dig @127.0.0.1 -p "$COREDNS_PORT" +time=2 +tries=1 +short "$1" "${2:-A}" | sort; }
# eventually SECONDS CMD... : retry CMD until success (CoreDNS learns about changes via watches)
eventually() {
  local until=$(($(date +%s) + $1)); shift
  while ! "$@"; do [ "$(date +%s)" -lt "$until" ] || return 1; sleep 0.5; done
}
dns_is() { [ "$(dig_short "$1" "$2")" = "$3" ]; }

# check_sts NS STS SVC REPLICAS : pods Ready with KWOK IPs, slice hostnames, DNS A + PTR
check_sts() {
  local ns="$1" sts="$2" svc="$3" n="$4" i
  if ! kc -n "$ns" rollout status "statefulset/$sts" --timeout="${WAIT}s" >/dev/null 2>"$DIR/logs/rollout-$sts.log"; then
    fail "$ns/$sts: not rolled out within ${WAIT}s: $(tail -n 2 "$DIR/logs/rollout-$sts.log")"
    kc -n "$ns" get sts,pods,pvc -o wide >&2 || true
    kc -n "$ns" describe pod "$sts-0" 2>/dev/null | tail -n 15 >&2 || true
    return
  fi
  for i in $(seq 0 $((n - 1))); do
    local pod="$sts-$i" ip ready fqdn
    ip="$(kc -n "$ns" get pod "$pod" -o jsonpath='{.status.podIP}')"
    ready="$(kc -n "$ns" get pod "$pod" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')"
    case "$ip" in
      10.244.*) ;;
      *) fail "$ns/$pod: podIP '$ip' is not from the KWOK pod CIDR 10.244.0.0/16"; continue ;;
    esac
    [ "$ready" = True ] || { fail "$ns/$pod: Ready=$ready"; continue; }
    if eventually 30 bash -c '[ -n "$("$0" -n "$1" get endpointslices -l "kubernetes.io/service-name=$2" \
        -o jsonpath="{range .items[*].endpoints[?(@.hostname==\"$3\")]}{.addresses[0]}{end}" | grep -Fx "$4")" ]' \
        "$KUBECTL" "$ns" "$svc" "$pod" "$ip"; then
      :
    else
      fail "$ns/$pod: no EndpointSlice endpoint of service $svc with hostname $pod and address $ip"
      kc -n "$ns" get endpointslices -l "kubernetes.io/service-name=$svc" -o yaml >&2 || true
      continue
    fi
    fqdn="$pod.$svc.$ns.svc.cluster.local"
    if eventually 15 dns_is "$fqdn" A "$ip"; then
      pass "$ns/$pod Ready, podIP $ip, slice hostname $pod; dig @127.0.0.1 -p $COREDNS_PORT $fqdn +short = $ip"
    else
      fail "$ns/$pod: dig $fqdn A gave '$(dig_short "$fqdn" A | tr '\n' ' ')', want $ip"
      continue
    fi
    local rev; rev="$(echo "$ip" | awk -F. '{print $4"."$3"."$2"."$1".in-addr.arpa"}')"
    if eventually 10 dns_is "$rev" PTR "$fqdn."; then
      pass "$ns/$pod: PTR $rev = $fqdn."
    else
      fail "$ns/$pod: dig $rev PTR gave '$(dig_short "$rev" PTR | tr '\n' ' ')', want $fqdn."
    fi
  done
  # headless service name: one A per ready pod
  local want sel
  sel="$(kc -n "$ns" get sts "$sts" -o go-template='{{range $k,$v := .spec.selector.matchLabels}}{{$k}}={{$v}},{{end}}')"
  want="$(kc -n "$ns" get pods -l "${sel%,}" -o jsonpath='{range .items[*]}{.status.podIP}{"\n"}{end}' | sort)"
  if eventually 15 dns_is "$svc.$ns.svc.cluster.local" A "$want"; then
    pass "$svc.$ns.svc.cluster.local A = $(echo "$want" | tr '\n' ' ')"
  else
    fail "$svc.$ns.svc.cluster.local A gave '$(dig_short "$svc.$ns.svc.cluster.local" A | tr '\n' ' ')', want '$(echo "$want" | tr '\n' ' ')'"
  fi
}

# check_clusterip NS SVC : A record = spec.clusterIP
check_clusterip() {
  local ns="$1" svc="$2" cip
  cip="$(kc -n "$ns" get svc "$svc" -o jsonpath='{.spec.clusterIP}')"
  if eventually 15 dns_is "$svc.$ns.svc.cluster.local" A "$cip"; then
    pass "$svc.$ns.svc.cluster.local A = ClusterIP $cip"
  else
    fail "$svc.$ns.svc.cluster.local A gave '$(dig_short "$svc.$ns.svc.cluster.local" A | tr '\n' ' ')', want $cip"
  fi
}

apply() { # FILE -> kubectl apply, failing the check (not the script) on error
  local f="$1" out
  if out="$(kc apply -f "$f" 2>&1)"; then
    echo "$out" | sed 's/^/  kubectl: /'
    return 0
  fi
  fail "kubectl apply -f $f: $out"
  return 1
}

echo "== web.yaml (apps/v1beta1 converted to apps/v1 on the fly: v1beta1 is no longer served,"
echo "   and apps/v1 requires spec.selector, which v1beta1 defaulted from the template labels)"
"$HERE/v1beta1-to-v1.py" "$SEEDS/web.yaml" >"$DIR/web.v1.yaml"
if apply "$DIR/web.v1.yaml"; then
  check_sts default web nginx 2
  # the issue's "done when" line, verbatim
  ip="$(kc get pod web-0 -o jsonpath='{.status.podIP}')"
  ans="$(dig @127.0.0.1 -p "$COREDNS_PORT" web-0.nginx.default.svc.cluster.local +short)"
  echo "  kubectl get pod web-0 -o jsonpath={.status.podIP}          -> $ip"
  echo "  dig @127.0.0.1 -p $COREDNS_PORT web-0.nginx.default.svc.cluster.local +short -> $ans"
  if [ -n "$ip" ] && [ "$ans" = "$ip" ]; then pass "done-when: web-0 answers with its KWOK pod IP"; else fail "done-when: '$ans' != '$ip'"; fi
fi

echo "== mysql.yaml (namespace p1-dev, OrderedReady, headless + ClusterIP service)"
if apply "$SEEDS/mysql.yaml"; then
  check_sts p1-dev mysql mysqlservice 3
  check_clusterip p1-dev mysql-read
fi

echo "== zookeeper.yaml (headless zookeeper-server + ClusterIP zookeeper)"
if apply "$SEEDS/zookeeper.yaml"; then
  check_sts default zookeeper zookeeper-server 3
  check_clusterip default zookeeper
  srv="$(dig_short _client._tcp.zookeeper.default.svc.cluster.local SRV)"
  if [ "$srv" = "0 100 2181 zookeeper.default.svc.cluster.local." ]; then
    pass "_client._tcp.zookeeper.default.svc.cluster.local SRV = $srv"
  else
    fail "_client._tcp.zookeeper.default.svc.cluster.local SRV gave '$srv'"
  fi
fi

echo "== redis-cluster.yaml (ConfigMap + 4 replicas, service applied after the StatefulSet)"
if apply "$SEEDS/redis-cluster.yaml"; then
  check_sts default redis-cluster redis-cluster 4
fi

echo "== kubia.yaml (deliberately broken: must be rejected by the API server)"
if out="$(kc apply -f "$SEEDS/kubia.yaml" 2>&1)"; then
  fail "kubia.yaml was accepted: $out"
else
  echo "$out" | sed 's/^/  kubectl: /'
  if echo "$out" | grep -q 'unknown field "spec.template.spec.volumeMounts"'; then
    pass "kubia.yaml rejected (strict field validation): unknown field spec.template.spec.volumeMounts"
  else
    fail "kubia.yaml rejected, but not for the misplaced volumeMounts: $out"
  fi
fi
# Without client/strict validation the API server itself must still refuse it (no selector).
if out="$(kc apply --validate=false -f "$SEEDS/kubia.yaml" 2>&1)"; then
  fail "kubia.yaml accepted with --validate=false: $out"
else
  echo "$out" | sed 's/^/  kubectl --validate=false: /'
  if echo "$out" | grep -q 'spec.selector: Required value'; then
    pass "kubia.yaml rejected by the API server: spec.selector: Required value"
  else
    fail "kubia.yaml rejected with --validate=false, but not for the missing selector: $out"
  fi
fi
if kc get statefulset kubia >/dev/null 2>&1; then fail "statefulset kubia exists"; else pass "no statefulset kubia was created"; fi

T_END=$(date +%s)
echo "== timings: build-or-reuse $((T_BUILT - T_START))s, cluster up $((T_UP - T_BUILT))s, scenarios $((T_END - T_UP))s, total $((T_END - T_START))s"
if [ "$FAILS" != 0 ]; then
  echo "smoke: $FAILS check(s) FAILED"
  exit 1
fi
echo "smoke: all checks passed"
