#!/usr/bin/env bash
# StatefulSet controller speed on the real control plane: upstream's vs ordinal --manage-statefulsets.
#
#   tests/cluster/sts-bench.sh [PARALLEL_REPLICAS] [ORDERED_REPLICAS]     (default 300 and 30)
#
# For each controller, on a fresh cluster (KWOK plays the kubelets, so a pod is Ready moments
# after it is bound): the seconds from `kubectl apply` of a Parallel StatefulSet with
# PARALLEL_REPLICAS pods to status.readyReplicas == PARALLEL_REPLICAS, then from a scale to 0 to
# no pods left, and from `kubectl apply` of an OrderedReady set with ORDERED_REPLICAS pods to all
# Ready (one pod at a time: the controller's reaction time dominates). Both runs use the same
# scheduler, KWOK and API server settings; only the controller differs. Prints a table.
# Env: ORDINAL_BIN (default: cargo build --release), ORDINAL_CLUSTER_SKIP_BUILD=1.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
. "$HERE/lib.sh"
PAR="${1:-300}" ORD="${2:-30}"
ORDINAL_BIN="$(ordinal_bin sts-bench --release)" || exit 1
[ "${ORDINAL_CLUSTER_SKIP_BUILD:-0}" = 1 ] || "$HERE/build.sh"
DIR=""
teardown() { [ -z "$DIR" ] || "$HERE/down.sh" "$DIR" >/dev/null 2>&1 || true; }
trap teardown EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

set_manifest() { # NAME REPLICAS POLICY
  cat <<EOF
{"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "$1", "namespace": "default"},
 "spec": {"serviceName": "$1", "replicas": $2, "podManagementPolicy": "$3",
  "selector": {"matchLabels": {"bench": "$1"}},
  "template": {"metadata": {"labels": {"bench": "$1"}},
               "spec": {"containers": [{"name": "c", "image": "example.invalid/none"}]}}}}
EOF
}
now() { date +%s.%N; }
wait_until() { # SECONDS CMD...
  local until=$(($(date +%s) + $1)); shift
  until "$@"; do [ "$(date +%s)" -lt "$until" ] || die "sts-bench: timed out: $*"; sleep 0.05; done
}
ready_is() { [ "$("$KUBECTL" get sts "$1" -o jsonpath='{.status.readyReplicas}')" = "$2" ]; }
no_pods() { [ -z "$("$KUBECTL" get pods -l "bench=$1" -o name)" ]; }

declare -A RESULT
run() { # MODE
  local mode=$1 t0
  DIR="$(mktemp -d /tmp/ordinal-sts-bench-$mode.XXXXXX)"
  local flag=""; [ "$mode" = ordinal ] && flag=--no-statefulset-controller
  # shellcheck disable=SC2086
  ORDINAL_CLUSTER_DIR="$DIR" ORDINAL_CLUSTER_WATCH_PID=$$ "$HERE/up.sh" --no-coredns $flag >/dev/null
  # shellcheck disable=SC1091
  . "$DIR/env"
  if [ "$mode" = ordinal ]; then
    setsid "$ORDINAL_BIN" serve --kubeconfig "$KUBECONFIG" --listen "127.0.0.1:$ORDINAL_DNS_PORT" \
      --admin "127.0.0.1:$ORDINAL_ADMIN_PORT" --manage-statefulsets >"$DIR/logs/ordinal.log" 2>&1 </dev/null &
    register ordinal "$!"
    wait_until 30 grep -q "controller caches synced" "$DIR/logs/ordinal.log"
  fi
  t0=$(now); set_manifest par "$PAR" Parallel | "$KUBECTL" apply -f - >/dev/null
  wait_until 300 ready_is par "$PAR"
  RESULT[$mode,par]=$(echo "$(now) - $t0" | bc)
  t0=$(now); "$KUBECTL" scale sts par --replicas 0 >/dev/null
  wait_until 300 no_pods par
  RESULT[$mode,down]=$(echo "$(now) - $t0" | bc)
  t0=$(now); set_manifest ord "$ORD" OrderedReady | "$KUBECTL" apply -f - >/dev/null
  wait_until 300 ready_is ord "$ORD"
  RESULT[$mode,ord]=$(echo "$(now) - $t0" | bc)
  "$HERE/down.sh" "$DIR" >/dev/null 2>&1 || true
  DIR=""
  log "sts-bench: $mode: Parallel x$PAR ready ${RESULT[$mode,par]}s, scale to 0 ${RESULT[$mode,down]}s, OrderedReady x$ORD ready ${RESULT[$mode,ord]}s"
}

command -v bc >/dev/null || die "sts-bench: bc is required (apt-get install -y bc)"
run upstream
run ordinal
printf '| %-38s | %10s | %10s |\n' "seconds (lower is better)" upstream ordinal
printf '| %-38s | %10.2f | %10.2f |\n' "Parallel x$PAR: apply -> all Ready" "${RESULT[upstream,par]}" "${RESULT[ordinal,par]}"
printf '| %-38s | %10.2f | %10.2f |\n' "Parallel x$PAR: scale 0 -> no pods" "${RESULT[upstream,down]}" "${RESULT[ordinal,down]}"
printf '| %-38s | %10.2f | %10.2f |\n' "OrderedReady x$ORD: apply -> all Ready" "${RESULT[upstream,ord]}" "${RESULT[ordinal,ord]}"
