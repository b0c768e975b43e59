#!/usr/bin/env bash
# Load time and memory of `ordinal serve` on synthetic kubectl-shaped dumps:
# time from process start to `/ready` 200, VmRSS after load (and VmHWM, the peak),
# and resident bytes per object over an empty baseline, for several dump sizes.
#
#   bash benches/load.sh                    # sizes "10:100 100:1000 1000:10000"
#   SIZES="1000:10000" SKIP_BUILD=1 bash benches/load.sh
#   ORDINAL=/path/to/other/ordinal SKIP_BUILD=1 bash benches/load.sh   # compare a build
#
# Objects = services + endpoint slices (one per service) + pods + 10 namespaces.
set -euo pipefail

SIZES=${SIZES:-"10:100 100:1000 1000:10000"}
REPEAT=${REPEAT:-3}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/ordinal-load.XXXXXX)
pid=
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

if [ -z "${SKIP_BUILD:-}" ]; then
    echo "== build (release)"
    (cd "$root" && cargo build --release --quiet --bin ordinal --example synth_dump)
fi
ordinal="$root/target/release/ordinal"
now_ms() { date +%s%3N; }
status_kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }

# CPU time (user + system) a process has used, in ms: steadier than wall time on a busy box.
cpu_ms() { awk -v hz="$(getconf CLK_TCK)" '{print int(($14 + $15) * 1000 / hz)}' "/proc/$1/stat"; }

# The static replay source is what this measures (the embedded cluster would also
# persist every object to a state dir); builds from before --replay existed lack it.
replay=()
if "${ORDINAL:-$ordinal}" serve --help | grep -q -- '--replay'; then replay=(--replay); fi

# One measurement: prints "ms rss_kb hwm_kb cpu_ms".
measure() { # dump
    local base=$((20000 + RANDOM % 20000)) t0 t1
    t0=$(now_ms)
    "${ORDINAL:-$ordinal}" --log warn serve "${replay[@]}" -f "$1" --listen "127.0.0.1:$base" --admin "127.0.0.1:$((base + 1))" --udp-workers 2 &
    pid=$!
    until curl -fsS "http://127.0.0.1:$((base + 1))/ready" >/dev/null 2>&1; do
        kill -0 "$pid" 2>/dev/null || { echo "load.sh: ordinal exited" >&2; exit 1; }
        sleep 0.01
    done
    t1=$(now_ms)
    local cpu; cpu=$(cpu_ms "$pid")
    sleep 1 # let the writer finish its post-load housekeeping
    echo "$((t1 - t0)) $(status_kb "$pid" VmRSS) $(status_kb "$pid" VmHWM) $cpu"
    kill "$pid"; wait "$pid" 2>/dev/null || true; pid=
}

# Empty baseline: a manifest with nothing DNS uses.
printf 'apiVersion: v1\nkind: List\nitems: []\n' > "$work/empty.yaml"
read -r _ base_rss base_hwm _ < <(measure "$work/empty.yaml")
echo "baseline (empty manifest): VmRSS ${base_rss} kB, VmHWM ${base_hwm} kB"
printf '%-14s %8s %10s %8s %10s %10s %12s\n' services:pods objects ready_ms cpu_ms rss_kB peak_kB bytes/object
for size in $SIZES; do
    s=${size%%:*}; p=${size##*:}
    "$root/target/release/examples/synth_dump" "$s" "$p" > "$work/dump.yaml"
    objects=$((s * 2 + p + 10))
    best_ms=; best_cpu=; rss=; hwm=
    for _ in $(seq 1 "$REPEAT"); do
        read -r ms r h c < <(measure "$work/dump.yaml")
        if [ -z "$best_ms" ] || [ "$ms" -lt "$best_ms" ]; then best_ms=$ms; fi
        if [ -z "$best_cpu" ] || [ "$c" -lt "$best_cpu" ]; then best_cpu=$c; fi
        rss=$r; hwm=$h
    done
    per=$(( (rss - base_rss) * 1024 / objects ))
    printf '%-14s %8d %10d %8d %10d %10d %12d\n' "$s:$p" "$objects" "$best_ms" "$best_cpu" "$rss" "$hwm" "$per"
done
echo "(ready_ms: start to /ready 200, best of $REPEAT; cpu_ms: CPU used by then, best of $REPEAT;"
echo " rss/peak: last run; bytes/object = (rss - baseline) / objects)"
