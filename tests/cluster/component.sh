#!/usr/bin/env bash
# Stop and start one component of a running cluster (fault tests).
#   component.sh DIR stop NAME     # SIGTERM its process group (SIGKILL after 15 s); keeps its command line
#   component.sh DIR start NAME    # start it again with the same command line, log appended
#   component.sh DIR restart NAME [DOWN_SECONDS]
# NAME is a name from $DIR/pids (etcd, kube-apiserver, kube-controller-manager, coredns, ...).
# The restarted process replaces the old entry in $DIR/pids, so down.sh still stops it.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
. "$HERE/lib.sh"
[ $# -ge 3 ] || die "usage: component.sh DIR stop|start|restart NAME [DOWN_SECONDS]"
DIR="$(cd "$1" && pwd -P)" ACTION="$2" NAME="$3" DOWN="${4:-0}"
CMD="$DIR/stopped-$NAME.cmdline"

entry() { awk -v n="$NAME" '$1 == n {print $2, $3}' "$DIR/pids" | tail -n 1; }

stop() {
  local pid st
  read -r pid st <<<"$(entry)"
  [ -n "${pid:-}" ] || die "component.sh: no $NAME in $DIR/pids"
  [ "$(proc_start "$pid" || echo gone)" = "$st" ] || die "component.sh: $NAME (pid $pid) is not running"
  tr -d '\n' </proc/"$pid"/cmdline >"$CMD"        # NUL-separated argv
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid"
  local deadline=$(($(date +%s) + 15))
  while [ "$(proc_start "$pid" || echo gone)" = "$st" ] && [ "$(date +%s)" -lt "$deadline" ]; do sleep 0.1; done
  kill -KILL -- "-$pid" 2>/dev/null || true
  # drop the entry (down.sh must not look for it)
  awk -v n="$NAME" '$1 != n' "$DIR/pids" >"$DIR/pids.tmp" && mv "$DIR/pids.tmp" "$DIR/pids"
  log "stopped $NAME (pid $pid)"
}

start() {
  [ -f "$CMD" ] || die "component.sh: $NAME was not stopped by component.sh (no $CMD)"
  local argv=()
  mapfile -d '' -t argv <"$CMD"
  echo "---- restarted by component.sh at $(date -u +%T) ----" >>"$DIR/logs/$NAME.log"
  setsid "${argv[@]}" >>"$DIR/logs/$NAME.log" 2>&1 </dev/null &
  local pid=$!
  register "$NAME" "$pid"
  rm -f "$CMD"
  log "started $NAME again (pid $pid)"
}

case "$ACTION" in
  stop) stop ;;
  start) start ;;
  restart) stop; sleep "$DOWN"; start ;;
  *) die "component.sh: unknown action $ACTION (stop|start|restart)" ;;
esac
