# Shared helpers for the cluster harness scripts (sourced, not executed).
# shellcheck shell=bash

die() { echo "ERROR: $*" >&2; exit 1; }
log() { echo "[$(date -u +%T)] $*" >&2; }

CLUSTER_HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

# mod_version GO_MOD MODULE -> the version required in that go.mod
mod_version() {
  awk -v m="$2" '($1 == m && $2 ~ /^v/) {print $2; exit} ($1 == "require" && $2 == m) {print $3; exit}' "$1"
}

K8S_VERSION="$(mod_version "$CLUSTER_HERE/go.mod" k8s.io/kubernetes)"
[ -n "$K8S_VERSION" ] || die "cannot read the k8s.io/kubernetes version from $CLUSTER_HERE/go.mod"

cluster_bin_dir() {
  echo "${ORDINAL_CLUSTER_CACHE:-$HOME/.cache/ordinal-cluster}/$K8S_VERSION/bin"
}

# proc_start PID -> the process start time (clock ticks since boot, /proc/PID/stat field 22);
# stored next to each pid so that down.sh never signals a reused pid. Fails for a missing
# process and for a zombie (already dead, only waiting to be reaped).
proc_start() {
  local s
  s="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
  s="${s##*) }"
  [ "${s%% *}" != Z ] || return 1
  echo "$s" | cut -d' ' -f20
}

# register NAME PID: append to $DIR/pids (caller sets DIR)
register() {
  echo "$1 $2 $(proc_start "$2" || echo 0)" >>"$DIR/pids"
}
