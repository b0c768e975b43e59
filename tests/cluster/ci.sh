#!/usr/bin/env bash
# What .ci/run calls for the real-control-plane harness:
#   bash tests/cluster/ci.sh
# Installs the Debian tools it needs (openssl, dnsutils, curl) if missing, builds the
# control-plane binaries or reuses them from ${ORDINAL_CLUSTER_CACHE:-~/.cache/ordinal-cluster},
# then runs smoke.sh, diff.sh (ordinal vs CoreDNS), fault.sh (API server/etcd restarts),
# deploy.sh (deploy/ manifests and RBAC) and sts.sh (StatefulSet controller vs upstream),
# each of which always tears its cluster down. Prints timings; exits non-zero
# when anything fails.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
T0=$(date +%s)

need=()
command -v openssl >/dev/null || need+=(openssl)
command -v dig >/dev/null || need+=(dnsutils)
command -v curl >/dev/null || need+=(curl)
command -v python3 >/dev/null || need+=(python3)
command -v setsid >/dev/null || need+=(util-linux)
[ -x /usr/bin/time ] || need+=(time)
if [ "${#need[@]}" -gt 0 ]; then
  echo "ci: installing ${need[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  if ! $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${need[@]}"; then
    $SUDO apt-get update
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${need[@]}"
  fi
fi
command -v go >/dev/null || { echo "ci: ERROR: go (1.26) is not on PATH" >&2; exit 1; }

echo "ci: build-or-reuse"
"$HERE/build.sh"
T1=$(date +%s)
echo "ci: smoke"
ORDINAL_CLUSTER_SKIP_BUILD=1 "$HERE/smoke.sh"
T2=$(date +%s)
echo "ci: ordinal (cluster mode) vs CoreDNS: checklist + seeds + churn"
ORDINAL_CLUSTER_SKIP_BUILD=1 "$HERE/diff.sh"
T3=$(date +%s)
echo "ci: fault test: kube-apiserver and etcd restarted under ordinal"
ORDINAL_CLUSTER_SKIP_BUILD=1 "$HERE/fault.sh"
T4=$(date +%s)
echo "ci: deploy/ manifests against the API server (dry-run + RBAC in practice)"
ORDINAL_CLUSTER_SKIP_BUILD=1 "$HERE/deploy.sh"
T5=$(date +%s)
echo "ci: StatefulSet controller: upstream vs ordinal --manage-statefulsets, same tutorial scenarios"
ORDINAL_CLUSTER_SKIP_BUILD=1 "$HERE/sts.sh"
T6=$(date +%s)
echo "ci: cluster harness passed: build-or-reuse $((T1 - T0))s, smoke $((T2 - T1))s, diff $((T3 - T2))s, fault $((T4 - T3))s, deploy $((T5 - T4))s, sts $((T6 - T5))s, total $((T6 - T0))s"
