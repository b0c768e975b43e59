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
SEEDS="$(seeds_dir smoke)" || exit 1
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
    ip="$(kc -n "$ns" get pod "$pod" -o jsonpath='{.status.podIP}' || true)"
    ready="$(kc -n "$ns" get pod "$pod" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' || true)"
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
    # Every service whose EndpointSlices hold the pod contributes a PTR (a ClusterIP service
    # selecting the same pods gives <dashed-ip>.<svc>...), so the hostname must be one of them.
    if eventually 10 bash -c 'dig @127.0.0.1 -p "$0" +time=2 +tries=1 +short "$1" PTR | grep -Fxq "$2"' "$COREDNS_PORT" "$rev" "$fqdn."; then
      pass "$ns/$pod: PTR $rev includes $fqdn. ($(dig_short "$rev" PTR | tr '\n' ' '))"
    else
      fail "$ns/$pod: dig $rev PTR gave '$(dig_short "$rev" PTR | tr '\n' ' ')', want it to include $fqdn."
    fi
  done
  # headless service name: one A per ready pod
  local want sel
  sel="$(kc -n "$ns" get sts "$sts" -o go-template='{{range $k,$v := .spec.selector.matchLabels}}{{$k}}={{$v}},{{end}}' || true)"
  want="$(kc -n "$ns" get pods -l "${sel%,}" -o jsonpath='{range .items[*]}{.status.podIP}{"\n"}{end}' | sort || true)"
  if eventually 15 dns_is "$svc.$ns.svc.cluster.local" A "$want"; then
    pass "$svc.$ns.svc.cluster.local A = $(echo "$want" | tr '\n' ' ')"
  else
    fail "$svc.$ns.svc.cluster.local A gave '$(dig_short "$svc.$ns.svc.cluster.local" A | tr '\n' ' ')', want '$(echo "$want" | tr '\n' ' ')'"
  fi
}

# check_clusterip NS SVC : A record = spec.clusterIP
check_clusterip() {
  local ns="$1" svc="$2" cip
  cip="$(kc -n "$ns" get svc "$svc" -o jsonpath='{.spec.clusterIP}' || true)"
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
  ip="$(kc get pod web-0 -o jsonpath='{.status.podIP}' || true)"
  ans="$(dig @127.0.0.1 -p "$COREDNS_PORT" web-0.nginx.default.svc.cluster.local +short || true)"
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

echo "== compare.py self-test (CoreDNS vs CoreDNS)"
# start_peer NAME PORT KUBERNETES-OPTIONS... : a second CoreDNS on the same cluster
start_peer() {
  local name="$1" port="$2"; shift 2
  {
    echo ".:$port {"; echo "    bind 127.0.0.1"; echo "    errors"
    echo "    kubernetes cluster.local in-addr.arpa ip6.arpa {"
    echo "        kubeconfig $KUBECONFIG ordinal"
    local o; for o in "$@"; do echo "        $o"; done
    echo "    }"; echo "}"
  } >"$DIR/Corefile.$name"
  setsid "$ORDINAL_CLUSTER_BIN/coredns" -conf "$DIR/Corefile.$name" >"$DIR/logs/$name.log" 2>&1 </dev/null &
  register "$name" "$!"
  # no ready plugin here: wait until the kubernetes plugin has synced (SERVFAIL before)
  if ! eventually 30 bash -c 'dig @127.0.0.1 -p "$0" +time=1 +tries=1 kubernetes.default.svc.cluster.local A | grep -q "status: NOERROR"' "$port"; then
    fail "$name (CoreDNS on 127.0.0.1:$port) did not start; log $DIR/logs/$name.log:"; tail -n 20 "$DIR/logs/$name.log"
    return 1
  fi
}
read -r PEER_B PEER_C <<<"$SPARE_PORTS"
dyn=()
for p in web-0 web-1; do
  ip="$(kc get pod "$p" -o jsonpath='{.status.podIP}' 2>/dev/null || true)"
  [ -n "$ip" ] || continue
  dyn+=("$(echo "$ip" | awk -F. '{print $4"."$3"."$2"."$1".in-addr.arpa"}')" PTR "${ip//./-}.default.pod.cluster.local" A)
done
Q="$HERE/dns/queries-seeds.txt"
CMP="$HERE/compare.py"
if start_peer coredns-b "$PEER_B" "pods insecure" "ttl 5" && start_peer coredns-c "$PEER_C" "pods disabled" "ttl 30"; then
  if "$CMP" -q "127.0.0.1:$COREDNS_PORT" "127.0.0.1:$PEER_B" --queries "$Q" "${dyn[@]}" >"$DIR/logs/compare-same.txt" 2>&1; then
    pass "compare.py: CoreDNS vs an identically configured CoreDNS: $(tail -n 1 "$DIR/logs/compare-same.txt")"
  else
    fail "compare.py: identical CoreDNS instances differ:"; cat "$DIR/logs/compare-same.txt"
  fi
  if "$CMP" -q "127.0.0.1:$COREDNS_PORT" "127.0.0.1:$PEER_B" --tcp --queries "$Q" >"$DIR/logs/compare-tcp.txt" 2>&1; then
    pass "compare.py over TCP: $(tail -n 1 "$DIR/logs/compare-tcp.txt")"
  else
    fail "compare.py over TCP:"; cat "$DIR/logs/compare-tcp.txt"
  fi
  # ttl 5 vs ttl 30: equal unless --ttl
  if "$CMP" -q "127.0.0.1:$COREDNS_PORT" "127.0.0.1:$PEER_C" web-0.nginx.default.svc.cluster.local A >/dev/null 2>&1 \
     && ! "$CMP" -q --ttl "127.0.0.1:$COREDNS_PORT" "127.0.0.1:$PEER_C" web-0.nginx.default.svc.cluster.local A >/dev/null 2>&1; then
    pass "compare.py ignores TTLs by default and reports them with --ttl"
  else
    fail "compare.py TTL handling"
  fi
  # pods insecure vs pods disabled: a real difference, then the same difference allow-listed
  rc=0 rc2=0 rc3=0
  podq=(10-244-0-1.default.pod.cluster.local A)
  [ "${#dyn[@]}" -ge 4 ] && podq=("${dyn[2]}" A)
  "$CMP" "127.0.0.1:$COREDNS_PORT" "127.0.0.1:$PEER_C" "${podq[@]}" >"$DIR/logs/compare-diff.txt" 2>&1 || rc=$?
  printf '# B runs with "pods disabled": pod-IP names are NXDOMAIN there on purpose (self-test)\n*.pod.cluster.local A rcode\n*.pod.cluster.local A answer\n*.pod.cluster.local A authority\n' >"$DIR/allow-selftest.txt"
  "$CMP" --allow "$DIR/allow-selftest.txt" "127.0.0.1:$COREDNS_PORT" "127.0.0.1:$PEER_C" "${podq[@]}" >"$DIR/logs/compare-allowed.txt" 2>&1 || rc2=$?
  printf '*.pod.cluster.local A rcode\n' >"$DIR/allow-unjustified.txt"
  "$CMP" --allow "$DIR/allow-unjustified.txt" "127.0.0.1:$COREDNS_PORT" "127.0.0.1:$PEER_C" "${podq[@]}" >"$DIR/logs/compare-unjustified.txt" 2>&1 || rc3=$?
  if [ "$rc" = 1 ] && [ "$rc2" = 0 ] && [ "$rc3" = 2 ]; then
    pass "compare.py: reports a real difference (exit 1), honours a justified allow-list entry (exit 0), rejects an unjustified one (exit 2)"
    sed 's/^/  /' "$DIR/logs/compare-diff.txt" "$DIR/logs/compare-allowed.txt"
  else
    fail "compare.py difference/allow-list self-test: exits $rc/$rc2/$rc3, want 1/0/2"
    cat "$DIR/logs/compare-diff.txt" "$DIR/logs/compare-allowed.txt" "$DIR/logs/compare-unjustified.txt"
  fi
fi
# The differential test against ordinal. ORDINAL_START_CMD is a shell command that starts
# ordinal in cluster mode against this cluster; it runs with the cluster env exported
# (KUBECONFIG, ORDINAL_DNS_PORT, ORDINAL_ADMIN_PORT, ...), must serve DNS on
# 127.0.0.1:$ORDINAL_DNS_PORT, and is stopped with the cluster. Example, once cluster mode exists:
#   ORDINAL_START_CMD='exec target/debug/ordinal serve --kubeconfig "$KUBECONFIG" --listen 127.0.0.1:$ORDINAL_DNS_PORT --admin 127.0.0.1:$ORDINAL_ADMIN_PORT'
# (tests/cluster/diff.sh runs the full differential test with ordinal; see README.md)
CHURN_OTHERS=()
if [ -n "${ORDINAL_START_CMD:-}" ]; then
  echo "== ordinal (127.0.0.1:$ORDINAL_DNS_PORT) vs CoreDNS (127.0.0.1:$COREDNS_PORT)"
  set -a; . "$DIR/env"; set +a
  setsid bash -c "$ORDINAL_START_CMD" >"$DIR/logs/ordinal.log" 2>&1 </dev/null &
  register ordinal "$!"
  if ! eventually 60 bash -c 'dig @127.0.0.1 -p "$0" +time=1 +tries=1 kubernetes.default.svc.cluster.local A | grep -q "status: NOERROR"' "$ORDINAL_DNS_PORT"; then
    fail "ordinal did not answer on 127.0.0.1:$ORDINAL_DNS_PORT within 60s; log $DIR/logs/ordinal.log:"; tail -n 30 "$DIR/logs/ordinal.log"
  else
    CHURN_OTHERS+=("127.0.0.1:$ORDINAL_DNS_PORT")
    if "$CMP" --allow "$HERE/dns/allow-ordinal-vs-coredns.txt" "127.0.0.1:$ORDINAL_DNS_PORT" "127.0.0.1:$COREDNS_PORT" --queries "$Q" "${dyn[@]}"; then
      pass "ordinal vs CoreDNS: no unexplained differences"
    else
      fail "ordinal vs CoreDNS: unexplained differences (above)"
    fi
  fi
else
  echo "PENDING: ordinal vs CoreDNS differential test: ordinal's cluster mode has not landed (set ORDINAL_START_CMD to run it; see smoke.sh)"
fi

# Randomized churn (reproducible from the seed): after every step CoreDNS must match the API
# state, and every other server must answer exactly like CoreDNS (ordinal when it runs; the
# identically configured coredns-b otherwise, which proves the driver).
SEED="${ORDINAL_CHURN_SEED:-4}" STEPS="${ORDINAL_CHURN_STEPS:-20}"
echo "== churn: $STEPS random create/scale/delete steps, seed $SEED (ORDINAL_CHURN_SEED/STEPS)"
if "$HERE/churn.py" --seed "$SEED" --steps "$STEPS" --allow "$HERE/dns/allow-ordinal-vs-coredns.txt" \
    "127.0.0.1:$COREDNS_PORT" "127.0.0.1:$PEER_B" "${CHURN_OTHERS[@]}" >"$DIR/logs/churn.txt" 2>&1; then
  pass "churn: $(tail -n 1 "$DIR/logs/churn.txt")"
else
  fail "churn (seed $SEED):"; tail -n 25 "$DIR/logs/churn.txt"
fi

echo "== resident memory of the running components: $(while read -r n p _; do
  r="$(awk '/^VmRSS/ {printf "%d", $2/1024}' "/proc/$p/status" 2>/dev/null)"; [ -n "$r" ] && printf '%s %s MiB, ' "$n" "$r"; done <"$DIR/pids" | sed 's/, $//')"
T_END=$(date +%s)
echo "== timings: build-or-reuse $((T_BUILT - T_START))s, cluster up $((T_UP - T_BUILT))s, scenarios $((T_END - T_UP))s, total $((T_END - T_START))s"
if [ "$FAILS" != 0 ]; then
  echo "smoke: $FAILS check(s) FAILED"
  exit 1
fi
echo "smoke: all checks passed"
