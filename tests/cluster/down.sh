#!/usr/bin/env bash
# Stop a cluster started by up.sh and remove its etcd data.
# Usage: down.sh [--purge] [STATE_DIR]
#   STATE_DIR defaults to $ORDINAL_CLUSTER_DIR, else /tmp/ordinal-cluster.last.
#   The state dir (logs, kubeconfig, Corefile) is kept so logs survive a failed test; only
#   the etcd data and the pid list are removed. --purge deletes the state dir as well.
#
# Every component was started with setsid, so its pid is also its process-group id; the whole
# group gets SIGTERM, then SIGKILL after a grace period. Each pid is checked against the
# start time recorded with it (/proc/PID/stat), so a reused pid is never hit.
# Safe to call more than once and from traps.
set -uo pipefail

PURGE=0
if [ "${1:-}" = --purge ]; then PURGE=1; shift; fi
DIR="${1:-${ORDINAL_CLUSTER_DIR:-/tmp/ordinal-cluster.last}}"
[ -d "$DIR" ] || { echo "down.sh: no state dir $DIR (nothing to stop)" >&2; exit 0; }
DIR="$(cd "$DIR" && pwd -P)"
BIN=""
[ -f "$DIR/env" ] && BIN="$(sed -n "s/^export ORDINAL_CLUSTER_BIN='\(.*\)'$/\1/p" "$DIR/env")"

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
. "$HERE/lib.sh"

ours() { # pid [starttime] -> true if it is still the process that was registered
  local st
  st="$(proc_start "$1")" || return 1
  if [ -n "${2:-}" ] && [ "${2:-0}" != 0 ]; then [ "$st" = "$2" ]; return; fi
  # no start time recorded: accept only binaries from the harness bin dir
  local exe; exe="$(readlink "/proc/$1/exe" 2>/dev/null)" || return 1
  [ -z "$BIN" ] && return 0
  case "$exe" in "$BIN"/*) return 0 ;; *) return 1 ;; esac
}

if [ -f "$DIR/pids" ]; then
  # reverse start order: CoreDNS, KWOK, scheduler, controller-manager, apiserver, etcd
  mapfile -t entries < <(tac "$DIR/pids")
  pids=() starts=()
  for e in "${entries[@]}"; do
    read -r name pid st <<<"$e"
    [ -n "${pid:-}" ] || continue
    if ours "$pid" "${st:-}"; then
      kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null
      pids+=("$pid"); starts+=("${st:-}")
      echo "down.sh: stopping $name (pid $pid)" >&2
    fi
  done
  deadline=$(($(date +%s) + 15))
  for i in "${!pids[@]}"; do
    pid="${pids[$i]}"; st="${starts[$i]}"
    while ours "$pid" "$st" && [ "$(date +%s)" -lt "$deadline" ]; do sleep 0.2; done
    if ours "$pid" "$st"; then
      echo "down.sh: pid $pid ignored SIGTERM; SIGKILL" >&2
      kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null
    fi
    # anything else left in the group (children)
    kill -KILL -- "-$pid" 2>/dev/null || true
  done
  rm -f "$DIR/pids"
fi

if [ -f "$DIR/watchdog.pid" ]; then
  wpid="$(cat "$DIR/watchdog.pid")"
  # the watchdog exits by itself once pids is gone; make sure, unless it is us
  if [ "$wpid" != "$$" ] && [ "$wpid" != "$PPID" ] && grep -q ordinal-cluster-watchdog "/proc/$wpid/cmdline" 2>/dev/null; then
    kill -TERM "$wpid" 2>/dev/null || true
  fi
  rm -f "$DIR/watchdog.pid"
fi

if [ -f "$DIR/etcd-data-dir" ]; then
  d="$(cat "$DIR/etcd-data-dir")"
  case "$d" in /dev/shm/ordinal-etcd.*|"$DIR"/etcd) rm -rf "$d" ;; esac
  rm -f "$DIR/etcd-data-dir"
fi

if [ "$PURGE" = 1 ]; then
  case "$DIR" in /tmp/ordinal-cluster.*|*/ordinal-cluster*) rm -rf "$DIR" ;; *) echo "down.sh: not purging unexpected dir $DIR" >&2 ;; esac
  [ "$(readlink /tmp/ordinal-cluster.last 2>/dev/null)" = "$DIR" ] && rm -f /tmp/ordinal-cluster.last
fi
echo "down.sh: cluster in $DIR stopped" >&2
exit 0
