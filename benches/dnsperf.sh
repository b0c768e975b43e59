#!/usr/bin/env bash
# ordinal vs Knot DNS on the same box, same zone, same number of UDP workers, one after
# the other in the same run: qps, latency and the ratio ordinal/knot, for N=1 and N=2.
#
#   bash benches/dnsperf.sh                 # 1,000 services / 10,000 pods, 15 s per run
#   SKIP_BUILD=1 (use target/release as is)
#   SERVICES=100 PODS=1000 SECONDS_PER_RUN=5 WORKERS="1" ROUNDS=1 bash benches/dnsperf.sh
#
# Needs: dnsperf, knotd, dig (Debian: apt-get install -y dnsperf knot dnsutils).
# Loopback only. Everything started here is killed on exit.
set -euo pipefail

SERVICES=${SERVICES:-1000}
PODS=${PODS:-10000}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-15}
WORKERS=${WORKERS:-"1 2"}
ROUNDS=${ROUNDS:-2}
QUERIES=${QUERIES:-100000}
# Ports: random in 20000-39999 unless given (other servers may share the box).
base=$((20000 + RANDOM % 20000))
ORD_PORT=${ORD_PORT:-$base}
ADMIN_PORT=${ADMIN_PORT:-$((base + 1))}
KNOT_PORT=${KNOT_PORT:-$((base + 2))}

root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/ordinal-dnsperf.XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

for tool in dnsperf knotd dig; do
    command -v "$tool" >/dev/null || { echo "dnsperf.sh: $tool not found (apt-get install -y dnsperf knot dnsutils)" >&2; exit 2; }
done

if [ -z "${SKIP_BUILD:-}" ]; then
    echo "== build (release)"
    (cd "$root" && cargo build --release --quiet --bin ordinal --example synth_dump)
fi
ordinal="$root/target/release/ordinal"

echo "== dump: $SERVICES services, $PODS pods"
"$root/target/release/examples/synth_dump" "$SERVICES" "$PODS" > "$work/dump.yaml"
replay=()
if "$ordinal" serve --help | grep -q -- '--replay'; then replay=(--replay); fi

echo "== export for Knot"
mkdir -p "$work/zones" "$work/knot"
"$ordinal" --log warn export -o "$work/zones" -f "$work/dump.yaml"
ls "$work/zones"

# Query mix: 50% per-pod A, 15% service A, 15% SRV, 10% PTR, 5% AAAA NODATA, 5% NXDOMAIN.
# Per-pod names exist for headless services (odd index); PTRs are ClusterIPs (even) and
# endpoint addresses of headless services (odd), as CoreDNS answers them.
echo "== queries ($QUERIES)"
awk -v n="$QUERIES" -v S="$SERVICES" -v P="$PODS" 'BEGIN {
    srand(42); per = int(P / S); z = "svc.cluster.local";
    for (i = 0; i < n; i++) {
        r = rand() * 100; s = int(rand() * S); ns = "ns-" (s % 10);
        if (r < 50) {
            if (s % 2 == 0) s = (s + 1) % S; if (s % 2 == 0) s = 1; ns = "ns-" (s % 10);
            p = int(rand() * per);
            printf "svc-%d-%d.svc-%d.%s.%s A\n", s, p, s, ns, z;
        } else if (r < 65) printf "svc-%d.%s.%s A\n", s, ns, z;
        else if (r < 80) printf "_http._tcp.svc-%d.%s.%s SRV\n", s, ns, z;
        else if (r < 90) {
            if (s % 2 == 0) printf "%d.%d.96.10.in-addr.arpa PTR\n", s % 250 + 1, int(s / 250);
            else { k = s * per + int(rand() * per) + 1;
                   printf "%d.%d.%d.10.in-addr.arpa PTR\n", k % 256, int(k / 256) % 256, 128 + int(k / 65536); }
        }
        else if (r < 95) printf "svc-%d.%s.%s AAAA\n", s, ns, z;
        else printf "nope-%d.%s.%s A\n", i, ns, z;
    }
}' > "$work/queries"
head -3 "$work/queries"

wait_ready() { # url pid
    for _ in $(seq 1 600); do
        if curl -fsS "$1" >/dev/null 2>&1; then return 0; fi
        kill -0 "$2" 2>/dev/null || { echo "dnsperf.sh: the server exited" >&2; exit 1; }
        sleep 0.05
    done
    echo "dnsperf.sh: $1 never became ready" >&2; exit 1
}
wait_dns() { # port pid
    for _ in $(seq 1 600); do
        kill -0 "$2" 2>/dev/null || { echo "dnsperf.sh: the server exited" >&2; exit 1; }
        if dig +short +time=1 +tries=1 @127.0.0.1 -p "$1" cluster.local SOA | grep -q .; then return 0; fi
        sleep 0.05
    done
    echo "dnsperf.sh: DNS on port $1 never answered" >&2; exit 1
}

start_ordinal() { # workers
    "$ordinal" --log warn serve "${replay[@]}" -f "$work/dump.yaml" --listen "127.0.0.1:$ORD_PORT" \
        --admin "127.0.0.1:$ADMIN_PORT" --udp-workers "$1" &
    ord_pid=$!; pids+=("$ord_pid")
    wait_ready "http://127.0.0.1:$ADMIN_PORT/ready" "$ord_pid"
}

start_knot() { # workers
    rm -rf "$work/knot" && mkdir -p "$work/knot"
    cat > "$work/knot.conf" <<CONF
server:
    rundir: "$work/knot"
    listen: 127.0.0.1@$KNOT_PORT
    udp-workers: $1
    tcp-workers: 1
    background-workers: 1
database:
    storage: "$work/knot"
log:
  - target: stderr
    any: warning
template:
  - id: default
    storage: "$work/zones"
    journal-content: none
    semantic-checks: off
    zonefile-sync: -1
zone:
  - domain: cluster.local
    file: cluster.local.zone
  - domain: in-addr.arpa
    file: in-addr.arpa.zone
CONF
    if [ -f "$work/zones/ip6.arpa.zone" ]; then
        printf '  - domain: ip6.arpa\n    file: ip6.arpa.zone\n' >> "$work/knot.conf"
    fi
    knotd -c "$work/knot.conf" &
    knot_pid=$!; pids+=("$knot_pid")
    wait_dns "$KNOT_PORT" "$knot_pid"
}

stop() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

verify() {
    echo "== verify: a sample answered identically (dig +short, sorted)"
    local diffs=0 total=0
    while read -r name type; do
        total=$((total + 1))
        a=$(dig +short @127.0.0.1 -p "$ORD_PORT" "$name" "$type" | sort)
        b=$(dig +short @127.0.0.1 -p "$KNOT_PORT" "$name" "$type" | sort)
        ra=$(dig @127.0.0.1 -p "$ORD_PORT" "$name" "$type" | sed -n 's/.*status: \([A-Z]*\).*/\1/p')
        rb=$(dig @127.0.0.1 -p "$KNOT_PORT" "$name" "$type" | sed -n 's/.*status: \([A-Z]*\).*/\1/p')
        if [ "$a" != "$b" ] || [ "$ra" != "$rb" ]; then
            diffs=$((diffs + 1))
            echo "DIFF $name $type: ordinal $ra [$a] knot $rb [$b]"
        fi
    done < <(awk 'NR % 997 == 1' "$work/queries" | head -60)
    echo "$total sampled, $diffs different"
    [ "$diffs" -eq 0 ] || { echo "dnsperf.sh: the servers disagree" >&2; exit 1; }
}

run_dnsperf() { # label port
    dnsperf -s 127.0.0.1 -p "$2" -d "$work/queries" -l "$SECONDS_PER_RUN" -c 8 -T 1 > "$work/$1.out" 2>&1
    qps=$(awk '/Queries per second/ {print $4}' "$work/$1.out")
    lat=$(awk '/Average Latency/ {print $4 * 1e6}' "$work/$1.out")
    lost=$(awk '/Queries lost/ {print $3}' "$work/$1.out")
    codes=$(awk '/Response codes/ {sub(/.*codes: */, ""); print}' "$work/$1.out")
    printf '  %-8s %10.0f qps  avg latency %7.1f us  lost %s  (%s)\n' "$1" "$qps" "$lat" "$lost" "$codes"
}

declare -A sum_ratio
summary=()
for n in $WORKERS; do
    for round in $(seq 1 "$ROUNDS"); do
        echo "== N=$n UDP workers, round $round"
        start_ordinal "$n"
        start_knot "$n"
        [ "$round" = 1 ] && [ "$n" = "${WORKERS%% *}" ] && verify
        # Alternate who goes first to spread drift on a shared box.
        if [ $((round % 2)) = 1 ]; then order="ordinal knot"; else order="knot ordinal"; fi
        for who in $order; do
            if [ "$who" = ordinal ]; then run_dnsperf ordinal "$ORD_PORT"; oq=$qps; else run_dnsperf knot "$KNOT_PORT"; kq=$qps; fi
        done
        ratio=$(awk -v a="$oq" -v b="$kq" 'BEGIN { printf "%.2f", a / b }')
        echo "  ratio ordinal/knot: $ratio"
        summary+=("N=$n round $round: ordinal $(printf '%.0f' "$oq") qps, knot $(printf '%.0f' "$kq") qps, ratio $ratio")
        stop "$ord_pid"; stop "$knot_pid"
    done
done
echo "== summary"
printf '%s\n' "${summary[@]}"
