#!/usr/bin/env bash
# Differential test: ordinal in cluster mode vs CoreDNS, both watching the same real control plane.
#   tests/cluster/diff.sh
# 1. starts a cluster (up.sh; always torn down), and ordinal with
#    `serve --kubeconfig $KUBECONFIG --listen 127.0.0.1:$ORDINAL_DNS_PORT --admin 127.0.0.1:$ORDINAL_ADMIN_PORT`,
# 2. applies the seeds (web converted to apps/v1 as smoke.sh does, mysql, zookeeper, redis-cluster)
#    and dns/checklist.yaml (the conformance checklist of reference/k8s-dns.md §1.5: headless with
#    publishNotReadyAddresses, ExternalName, two ports, a not-ready StatefulSet pod, dual-stack
#    and multi-address hand-written slices, ...), then makes db-2 not ready (status patch),
# 3. waits until both servers agree, then compares every question of dns/queries-seeds.txt,
#    dns/queries-checklist.txt and the run-time questions of dns/dynamic-queries.py (PTRs,
#    dashed-IP names) over UDP and TCP with dns/allow-ordinal-vs-coredns.txt,
# 4. runs churn.py with ordinal as a peer of CoreDNS, then readiness-lag.py (scale-up and
#    Ready-flip) against both, printing min/median/p99/max per server.
# Exit 0 = no unexplained difference. Env: ORDINAL_BIN (default: cargo build --bin ordinal, debug),
# ORDINAL_CLUSTER_SKIP_BUILD=1 (control-plane binaries must exist), ORDINAL_CHURN_SEED/STEPS,
# ORDINAL_DIFF_KEEP=1 (leave the cluster and ordinal running).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
. "$HERE/lib.sh"
SEEDS="$(seeds_dir diff)" || exit 1
command -v dig >/dev/null || die "diff: dig is required (apt-get install -y dnsutils)"
WAIT="${ORDINAL_DIFF_TIMEOUT:-180}"
T0=$(date +%s)

[ -n "${ORDINAL_BIN:-}" ] || log "diff: cargo build --bin ordinal"
ORDINAL_BIN="$(ordinal_bin diff)" || exit 1
[ -x "$ORDINAL_BIN" ] || die "diff: $ORDINAL_BIN is not executable"
[ "${ORDINAL_CLUSTER_SKIP_BUILD:-0}" = 1 ] || "$HERE/build.sh"

DIR="$(mktemp -d /tmp/ordinal-diff.XXXXXX)"
teardown() {
  local rc=$?
  if [ "${ORDINAL_DIFF_KEEP:-0}" = 1 ]; then echo "diff: cluster kept in $DIR; stop it with: $HERE/down.sh $DIR" >&2; return; fi
  "$HERE/down.sh" "$DIR" >/dev/null 2>&1 || true
  [ "$rc" = 0 ] && rm -rf "$DIR"
  [ "$rc" = 0 ] || echo "diff: FAILED (exit $rc); logs kept in $DIR/logs" >&2
}
trap teardown EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
WATCH=$$; [ "${ORDINAL_DIFF_KEEP:-0}" = 1 ] && WATCH=""
ORDINAL_CLUSTER_DIR="$DIR" ORDINAL_CLUSTER_WATCH_PID="$WATCH" "$HERE/up.sh" >/dev/null
# shellcheck disable=SC1091
. "$DIR/env"
kc() { "$KUBECTL" "$@"; }
T_UP=$(date +%s)

FAILS=0
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
eventually() { local until=$(($(date +%s) + $1)); shift; while ! "$@"; do [ "$(date +%s)" -lt "$until" ] || return 1; sleep 0.5; done; }

# ordinal first, so it watches every object arrive (the seeds are applied while it runs)
setsid "$ORDINAL_BIN" serve --kubeconfig "$KUBECONFIG" --listen "127.0.0.1:$ORDINAL_DNS_PORT" \
  --admin "127.0.0.1:$ORDINAL_ADMIN_PORT" --log info,ordinal=debug >"$DIR/logs/ordinal.log" 2>&1 </dev/null &
register ordinal "$!"
if eventually 30 curl -fsS --max-time 1 "http://127.0.0.1:$ORDINAL_ADMIN_PORT/ready" >/dev/null 2>&1; then
  pass "ordinal ready (/ready 200) after $(grep -o 'elapsed_ms[^ ]*' "$DIR/logs/ordinal.log" | head -n 1 | sed 's/\x1b\[[0-9;]*m//g')"
else
  fail "ordinal not ready within 30s"; tail -n 30 "$DIR/logs/ordinal.log"; exit 1
fi

"$HERE/v1beta1-to-v1.py" "$SEEDS/web.yaml" >"$DIR/web.v1.yaml"
for f in "$DIR/web.v1.yaml" "$SEEDS/mysql.yaml" "$SEEDS/zookeeper.yaml" "$SEEDS/redis-cluster.yaml" "$HERE/dns/checklist.yaml"; do
  kc apply -f "$f" >"$DIR/logs/apply.log" 2>&1 || { fail "kubectl apply -f $f: $(cat "$DIR/logs/apply.log")"; exit 1; }
done
for s in default/web default/zookeeper default/redis-cluster p1-dev/mysql prod/db; do
  kc -n "${s%/*}" rollout status "statefulset/${s#*/}" --timeout="${WAIT}s" >/dev/null || fail "$s not rolled out"
done
kc -n prod wait --for=condition=Ready pod/web-a pod/anon-pod --timeout="${WAIT}s" >/dev/null || fail "prod pods not Ready"
# db-2 not ready: KWOK marks every pod Ready (readiness gates included) but leaves a status patch alone
kc -n prod patch pod db-2 --subresource=status -p '{"status":{"conditions":[{"type":"Ready","status":"False"}]}}' >/dev/null
db2="$(kc -n prod get pod db-2 -o jsonpath='{.status.podIP}')"
if eventually 30 bash -c '[ "$("$0" -n prod get endpointslices -l kubernetes.io/service-name=db -o jsonpath="{range .items[*].endpoints[?(@.addresses[0]==\"$1\")]}{.conditions.ready}{end}")" = false ]' "$KUBECTL" "$db2"; then
  pass "prod/db-2 ($db2) not ready in the db EndpointSlice"
else
  fail "prod/db-2 still ready in the db EndpointSlice"
fi
T_APPLIED=$(date +%s)

kc get pods,services,endpointslices -A -o json | "$HERE/dns/dynamic-queries.py" >"$DIR/queries-dynamic.txt"
cat "$HERE/dns/queries-seeds.txt" "$HERE/dns/queries-checklist.txt" "$DIR/queries-dynamic.txt" | grep -v '^#' | grep -v '^$' >"$DIR/queries.txt"
NQ=$(wc -l <"$DIR/queries.txt")
ALLOW="$HERE/dns/allow-ordinal-vs-coredns.txt"
CMP=("$HERE/compare.py" --allow "$ALLOW" "127.0.0.1:$ORDINAL_DNS_PORT" "127.0.0.1:$COREDNS_PORT" --queries "$DIR/queries.txt")
# both servers learn the final state through their watches: wait until they agree (or 30 s)
agree_start=$(date +%s)
eventually 30 bash -c '"$@" -q >/dev/null 2>&1' _ "${CMP[@]}" || true
log "diff: servers settled after $(( $(date +%s) - agree_start ))s"
if "${CMP[@]}" >"$DIR/logs/compare-udp.txt" 2>&1; then
  pass "ordinal vs CoreDNS over UDP, $NQ questions: $(tail -n 1 "$DIR/logs/compare-udp.txt")"
else
  fail "ordinal vs CoreDNS over UDP:"; grep -v '^SAME' "$DIR/logs/compare-udp.txt"
fi
grep -E '^(ALLOWED|DIFF)' "$DIR/logs/compare-udp.txt" | sed 's/^/  /' || true
if "${CMP[@]}" --tcp >"$DIR/logs/compare-tcp.txt" 2>&1; then
  pass "ordinal vs CoreDNS over TCP, $NQ questions: $(tail -n 1 "$DIR/logs/compare-tcp.txt")"
else
  fail "ordinal vs CoreDNS over TCP:"; grep -v '^SAME' "$DIR/logs/compare-tcp.txt"
fi

SEED="${ORDINAL_CHURN_SEED:-4}" STEPS="${ORDINAL_CHURN_STEPS:-20}"
T_CHURN=$(date +%s)
if "$HERE/churn.py" --seed "$SEED" --steps "$STEPS" --allow "$ALLOW" \
    "127.0.0.1:$COREDNS_PORT" "127.0.0.1:$ORDINAL_DNS_PORT" >"$DIR/logs/churn.txt" 2>&1; then
  pass "churn (seed $SEED, $STEPS steps) CoreDNS vs ordinal: $(tail -n 1 "$DIR/logs/churn.txt") ($(( $(date +%s) - T_CHURN ))s)"
else
  fail "churn (seed $SEED):"; tail -n 25 "$DIR/logs/churn.txt"
fi
# readiness -> DNS lag, CoreDNS vs ordinal (numbers for people; a pod never answered fails):
# scale-up (new pod Ready with its IP) and flip (an existing endpoint's pod Ready False -> True)
LAGN="${ORDINAL_LAG_SAMPLES:-30}"
for mode in scale flip; do
  flag=(); [ "$mode" = flip ] && flag=(--flip)
  if "$HERE/readiness-lag.py" --namespace default --statefulset web --service nginx --samples "$LAGN" "${flag[@]}" \
      "127.0.0.1:$COREDNS_PORT" "127.0.0.1:$ORDINAL_DNS_PORT" >"$DIR/logs/lag-$mode.txt" 2>&1; then
    pass "readiness->DNS lag ($mode, $LAGN samples): $(grep '^readiness->DNS lag' "$DIR/logs/lag-$mode.txt" | sed "s/127.0.0.1:$COREDNS_PORT/CoreDNS/; s/127.0.0.1:$ORDINAL_DNS_PORT/ordinal/" | sed 's/^readiness->DNS lag //' | paste -sd ';' | sed 's/;/; /')"
  else
    fail "readiness-lag ($mode):"; tail -n 5 "$DIR/logs/lag-$mode.txt"
  fi
done
if grep -q 'panicked' "$DIR/logs/ordinal.log"; then fail "ordinal log has a panic"; grep -m3 panicked "$DIR/logs/ordinal.log"; fi

rss() { awk '/^VmRSS/ {printf "%d", $2/1024}' "/proc/$1/status" 2>/dev/null; }
echo "== resident memory: ordinal $(rss "$(awk '$1=="ordinal"{print $2}' "$DIR/pids")") MiB, CoreDNS $(rss "$(awk '$1=="coredns"{print $2}' "$DIR/pids")") MiB"
echo "== timings: cluster up $((T_UP - T0))s, seeds+checklist $((T_APPLIED - T_UP))s, total $(( $(date +%s) - T0 ))s"
if [ "$FAILS" != 0 ]; then echo "diff: $FAILS check(s) FAILED"; exit 1; fi
echo "diff: all checks passed"
