#!/usr/bin/env bash
# Build (or reuse) the real control-plane binaries from published Go modules:
#   kube-apiserver kube-controller-manager kube-scheduler kubectl   (./go.mod, k8s.io/kubernetes)
#   etcd                                                            (./go.mod, go.etcd.io/etcd/server/v3)
#   kwok                                                            (./kwok/go.mod)
#   coredns (trimmed plugin set)                                    (./coredns/go.mod)
# into ${ORDINAL_CLUSTER_CACHE:-$HOME/.cache/ordinal-cluster}/<k8s-version>/bin/.
#
# Idempotent: a step is skipped when all of its binaries are already present. Binaries are
# built into a temporary directory and moved into place only on success, so a failed or
# interrupted build never leaves a half-written binary that a later run would reuse.
# Prints each step's wall time and peak RSS (largest single process: compile or link).
#
# Env: ORDINAL_CLUSTER_CACHE (cache root), ORDINAL_CLUSTER_FORCE=1 (rebuild everything),
#      GO (go command, default "go"), ORDINAL_CLUSTER_GO_P (go build -p, default 2),
#      ORDINAL_CLUSTER_DROP_GO_CACHES=1 (after a build, delete Go's build and module caches:
#      ~4 GB and ~1.2 GB that the tests never read again; .ci/run sets it, since CI machines
#      may have little disk).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
. "$HERE/lib.sh"

GO="${GO:-go}"
P="${ORDINAL_CLUSTER_GO_P:-2}"
export GOTOOLCHAIN=local CGO_ENABLED=0
# -trimpath as the harness wants; keep -buildvcs=false (the module is inside a git work tree
# but the version is set by ldflags, not by VCS stamping).
export GOFLAGS="-trimpath -buildvcs=false"

command -v "$GO" >/dev/null || die "build: '$GO' not found; Go 1.26 is required (GOTOOLCHAIN=local)"
GOV="$("$GO" env GOVERSION)"
case "$GOV" in
  go1.2[6-9]*|go1.[3-9]*) ;;
  *) die "build: need Go >= 1.26 (found $GOV); GOTOOLCHAIN=local forbids downloading one" ;;
esac

BIN="$(cluster_bin_dir)"
mkdir -p "$BIN"
TIMES="$BIN/../build-times.txt"
echo "build: Go $GOV, k8s $K8S_VERSION, binaries in $BIN"

K8S_MINOR="$(echo "$K8S_VERSION" | cut -d. -f2)"
K8S_LD="-s -w"
for p in k8s.io/client-go/pkg/version k8s.io/component-base/version; do
  K8S_LD="$K8S_LD -X $p.gitVersion=$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$K8S_MINOR"
  K8S_LD="$K8S_LD -X $p.gitTreeState=clean"
done
COREDNS_VERSION="$(mod_version "$HERE/coredns/go.mod" github.com/coredns/coredns)"
ETCD_VERSION="$(mod_version "$HERE/go.mod" go.etcd.io/etcd/server/v3)"

TIME_V=""
if [ -x /usr/bin/time ] && /usr/bin/time -v true >/dev/null 2>&1; then TIME_V=/usr/bin/time; fi

# step NAME DIR "BINARIES" OUT go-build-args...
#   OUT is "/" (go build -o tmpdir/, one binary per main package) or a file name.
FAILED=""
BUILT=""
step() {
  local name="$1" dir="$2" bins="$3" out="$4"; shift 4
  # The stamp ties the binaries to the inputs: the module files and the build arguments.
  local stamp_file="$BIN/.stamp-$name" stamp
  stamp="$( { cat "$dir/go.mod" "$dir/go.sum" "$dir"/*.go 2>/dev/null; echo "$GOV $*"; } | sha256sum | cut -c1-16)"
  local missing=""
  for b in $bins; do [ -x "$BIN/$b" ] || missing="$missing $b"; done
  if [ -z "$missing" ] && [ "$(cat "$stamp_file" 2>/dev/null)" != "$stamp" ]; then
    missing=" (inputs changed: go.mod/go.sum/flags)"
  fi
  if [ -z "$missing" ] && [ "${ORDINAL_CLUSTER_FORCE:-0}" != 1 ]; then
    echo "build: [$name] reuse ($bins present)"
    return 0
  fi
  local tmp; tmp="$(mktemp -d "$BIN/../tmp-$name.XXXXXX")"
  local o="$tmp/"; [ "$out" = / ] || o="$tmp/$out"
  local log="$BIN/../build-$name.log" tv="$BIN/../build-$name.time"
  BUILT="$BUILT $name"
  echo "build: [$name] building$missing (log: $log)"
  local t0 rc=0; t0=$(date +%s)
  if [ -n "$TIME_V" ]; then
    (cd "$dir" && nice -n 19 "$TIME_V" -v -o "$tv" "$GO" build -p "$P" -o "$o" "$@") >"$log" 2>&1 || rc=$?
  else
    (cd "$dir" && nice -n 19 "$GO" build -p "$P" -o "$o" "$@") >"$log" 2>&1 || rc=$?
  fi
  local t1; t1=$(date +%s)
  if [ "$rc" != 0 ]; then
    echo "build: [$name] FAILED after $((t1 - t0))s (exit $rc): go build $* in $dir" >&2
    echo "------ $log ------" >&2; tail -n 60 "$log" >&2; echo "------" >&2
    rm -rf "$tmp"
    FAILED="$FAILED $name"
    return 0
  fi
  for b in $bins; do
    [ -x "$tmp/$b" ] || { rm -rf "$tmp"; die "build: [$name] go build succeeded but $b was not produced (see $log)"; }
    mv -f "$tmp/$b" "$BIN/$b"
  done
  echo "$stamp" >"$stamp_file"
  rm -rf "$tmp"
  local rss="n/a (no /usr/bin/time -v)"
  if [ -n "$TIME_V" ]; then
    rss="$(awk -F': ' '/Maximum resident set size/ {printf "%.0f MiB", $2/1024}' "$tv")"
  fi
  local line; line="$(date -u +%FT%TZ) $name wall=$((t1 - t0))s peak_rss=$rss (go build -p $P; $GOV)"
  echo "build: [$name] done in $((t1 - t0))s, peak RSS $rss"
  echo "$line" >>"$TIMES"
}

T0=$(date +%s)
step k8s "$HERE" "kube-apiserver kube-controller-manager kube-scheduler kubectl" / \
  -ldflags "$K8S_LD" \
  k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
  k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl
# etcd's module root is package main (server/main.go -> etcdmain.Main); go build would
# name it "server", hence the explicit output name.
step etcd "$HERE" "etcd" etcd \
  -ldflags "-s -w -X go.etcd.io/etcd/api/v3/version.GitSHA=$ETCD_VERSION" \
  go.etcd.io/etcd/server/v3
# kwok's own version string is a constant in its source (pkg/consts), nothing to stamp.
# One patch, applied to a copy of the module source (the module cache stays untouched): KWOK
# deletes a terminating pod by name with no UID precondition and often runs that pod-delete
# stage twice (once per MODIFIED event); when the late duplicate arrives after a StatefulSet
# controller has recreated the pod under the same name, it kills the replacement (seen in
# tests/cluster/sts.sh with both controllers). A real kubelet deletes with a UID precondition;
# the patch makes KWOK do the same. The copy is built as the main module (kwok's own go.mod
# and go.sum, the versions tests/cluster/kwok/go.mod pins).
KWOK_PATCH='s/Delete(ctx, pod.Name, deleteOpt)/Delete(ctx, pod.Name, metav1.DeleteOptions{GracePeriodSeconds: deleteOpt.GracePeriodSeconds, Preconditions: metav1.NewUIDPreconditions(string(pod.UID))})/'
kwok_source() { # -> a patched copy of the pinned kwok module (named after version and patch)
  local version src dir f
  version="$(mod_version "$HERE/kwok/go.mod" sigs.k8s.io/kwok)"
  dir="$BIN/../kwok-src-$version-$(echo "$KWOK_PATCH" | sha256sum | cut -c1-12)"
  f="$dir/pkg/kwok/controllers/pod_controller.go"
  if ! grep -qs 'NewUIDPreconditions(string(pod.UID))' "$f"; then
    src="$(cd "$HERE/kwok" && "$GO" mod download -json "sigs.k8s.io/kwok@$version" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')"
    [ -d "$src" ] || die "build: cannot download sigs.k8s.io/kwok@$version"
    rm -rf "$dir" && cp -r "$src" "$dir" && chmod -R u+w "$dir"
    sed -i "$KWOK_PATCH" "$f"
    grep -q 'NewUIDPreconditions(string(pod.UID))' "$f" || die "build: the KWOK delete patch no longer applies to $f"
  fi
  echo "$dir"
}
KWOK_SRC="$(kwok_source)" || die "build: cannot prepare the patched KWOK source"
step kwok "$KWOK_SRC" "kwok" / \
  -ldflags "-s -w" \
  ./cmd/kwok
step coredns "$HERE/coredns" "coredns" coredns \
  -tags grpcnotrace -ldflags "-s -w -X github.com/coredns/coredns/coremain.GitCommit=$COREDNS_VERSION" \
  .
T1=$(date +%s)
ls -l "$BIN"
if [ "${ORDINAL_CLUSTER_DROP_GO_CACHES:-0}" = 1 ] && [ -n "$BUILT" ]; then
  echo "build: dropping Go's caches (ORDINAL_CLUSTER_DROP_GO_CACHES=1): $(du -sh "$("$GO" env GOCACHE)" "$("$GO" env GOMODCACHE)" 2>/dev/null | awk '{print $2 " " $1}' | paste -sd, -)"
  "$GO" clean -cache -modcache || echo "build: WARNING: go clean -cache -modcache failed" >&2
fi
if [ -n "$FAILED" ]; then
  die "build: FAILED steps:$FAILED (total $((T1 - T0))s); the errors are printed above"
fi
echo "build: all binaries ready in $BIN (total $((T1 - T0))s)"
