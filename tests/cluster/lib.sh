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

# seeds_dir WHO -> the tutorial seed manifests: $ORDINAL_SEEDS, else shared/ beside the
# repository, else /work/shared. Dies (naming WHO) when web.yaml is not there.
# Call as SEEDS="$(seeds_dir NAME)" || exit 1 (die inside $(...) leaves only the subshell).
seeds_dir() {
  local d="${ORDINAL_SEEDS:-$(cd "$CLUSTER_HERE/../.." && pwd)/../shared/fixtures/seeds}"
  [ -d "$d" ] || d=/work/shared/fixtures/seeds
  [ -f "$d/web.yaml" ] || die "$1: seed manifests not found (set ORDINAL_SEEDS; tried $d)"
  echo "$d"
}

# ordinal_bin WHO [--release] -> $ORDINAL_BIN if set, else the binary `cargo build` makes
# (debug unless --release). Call as ORDINAL_BIN="$(ordinal_bin NAME)" || exit 1.
ordinal_bin() {
  if [ -n "${ORDINAL_BIN:-}" ]; then echo "$ORDINAL_BIN"; return; fi
  local root profile=debug flags=()
  root="$(cd "$CLUSTER_HERE/../.." && pwd)"
  if [ "${2:-}" = --release ]; then profile=release flags=(--release); fi
  (cd "$root" && nice -n 15 cargo build --quiet "${flags[@]}" --bin ordinal) >&2 || die "$1: cargo build failed"
  echo "$root/target/$profile/ordinal"
}
