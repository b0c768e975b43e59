#!/usr/bin/env bash
# Start a real Kubernetes control plane on loopback:
#   etcd -> kube-apiserver (TLS, token auth) -> kube-controller-manager + kube-scheduler
#   -> KWOK (fake kubelets) -> fake Nodes (Ready) -> CoreDNS (kubernetes plugin, reference peer)
#
# Usage: up.sh [--no-statefulset-controller] [--no-coredns] [--nodes N]
# Env:
#   ORDINAL_CLUSTER_DIR        state dir (default: a fresh /tmp/ordinal-cluster.XXXXXX)
#   ORDINAL_CLUSTER_PORT_BASE  use ports BASE..BASE+13 instead of picking free ports
#   ORDINAL_CLUSTER_CACHE      binary cache root (see build.sh); binaries must be built already
#   ORDINAL_CLUSTER_WATCH_PID  if set, a watchdog tears the cluster down when this pid exits
#                              (covers a caller that is SIGKILLed and cannot run its trap)
#   ORDINAL_CLUSTER_NO_STATEFULSET=1  same as --no-statefulset-controller
#   ORDINAL_CLUSTER_COREDNS_LOG=1     add the CoreDNS `log` plugin (one line per query)
#   ORDINAL_CLUSTER_TIMEOUT    seconds to wait for each component (default 90)
#
# On success prints the state dir and writes:
#   $DIR/env      shell vars for callers: `. "$DIR/env"` (KUBECONFIG, KUBECTL, API_URL,
#                 COREDNS_ADDR, COREDNS_PORT, ...)
#   $DIR/pids     "name pid starttime" per component; every pid leads its own process group
#   $DIR/logs/*.log   one log per component
# On failure: names the component and its log, prints the log's tail, tears everything
# down, exits non-zero.
#
# Callers must stop the cluster on every exit path:
#   DIR=$(mktemp -d /tmp/ordinal-cluster.XXXXXX)
#   trap 'tests/cluster/down.sh "$DIR"' EXIT          # runs on normal exit and on errors
#   trap 'exit 130' INT; trap 'exit 143' TERM          # turn signals into an exit -> EXIT trap
#   ORDINAL_CLUSTER_DIR=$DIR ORDINAL_CLUSTER_WATCH_PID=$$ tests/cluster/up.sh
#   . "$DIR/env"
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
. "$HERE/lib.sh"

NO_STS="${ORDINAL_CLUSTER_NO_STATEFULSET:-0}"
WITH_COREDNS=1
NODES="${ORDINAL_CLUSTER_NODES:-2}"
while [ $# -gt 0 ]; do
  case "$1" in
    --no-statefulset-controller) NO_STS=1 ;;
    --no-coredns) WITH_COREDNS=0 ;;
    --nodes) NODES="$2"; shift ;;
    -h|--help) sed -n '2,32p' "$0"; exit 0 ;;
    *) die "up.sh: unknown argument $1 (see --help)" ;;
  esac
  shift
done
TIMEOUT="${ORDINAL_CLUSTER_TIMEOUT:-90}"

BIN="$(cluster_bin_dir)"
for b in etcd kube-apiserver kube-controller-manager kube-scheduler kubectl kwok coredns; do
  [ "$b" = coredns ] && [ "$WITH_COREDNS" = 0 ] && continue
  [ -x "$BIN/$b" ] || die "up.sh: $BIN/$b is missing; run tests/cluster/build.sh first"
done
command -v openssl >/dev/null || die "up.sh: openssl is required (apt-get install -y openssl)"
command -v curl >/dev/null || die "up.sh: curl is required (apt-get install -y curl)"

if [ -n "${ORDINAL_CLUSTER_DIR:-}" ]; then
  DIR="$ORDINAL_CLUSTER_DIR"; mkdir -p "$DIR"
else
  DIR="$(mktemp -d /tmp/ordinal-cluster.XXXXXX)"
fi
DIR="$(cd "$DIR" && pwd)"
[ -e "$DIR/pids" ] && die "up.sh: $DIR already holds a cluster ($DIR/pids); run down.sh $DIR first"
mkdir -p "$DIR/logs" "$DIR/pki"
: >"$DIR/pids"
ln -sfn "$DIR" /tmp/ordinal-cluster.last 2>/dev/null || true
# etcd data in RAM when possible (fsync-free, removed by down.sh)
if [ -d /dev/shm ] && [ -w /dev/shm ]; then
  ETCD_DATA="$(mktemp -d /dev/shm/ordinal-etcd.XXXXXX)"
else
  ETCD_DATA="$DIR/etcd"
fi
echo "$ETCD_DATA" >"$DIR/etcd-data-dir"

# Anything failing from here on tears down what was started.
ok=0
cleanup_on_failure() {
  if [ "$ok" != 1 ]; then
    echo "up.sh: start-up failed; tearing down $DIR" >&2
    "$HERE/down.sh" "$DIR" >&2 || true
  fi
}
trap cleanup_on_failure EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- ports ----------------------------------------------------------------------------------
NAMES="ETCD ETCD_PEER API KCM SCHED KWOK DNS DNS_HEALTH DNS_READY DNS_METRICS SPARE1 SPARE2 ORDINAL_DNS ORDINAL_ADMIN"
if [ -n "${ORDINAL_CLUSTER_PORT_BASE:-}" ]; then
  i=0; for n in $NAMES; do eval "PORT_$n=$((ORDINAL_CLUSTER_PORT_BASE + i))"; i=$((i + 1)); done
else
  # Bind all of them at once on 127.0.0.1 (TCP, and UDP for DNS) so they are distinct and free now.
  read -r $(for n in $NAMES; do printf 'PORT_%s ' "$n"; done) < <(python3 - <<'EOF'
import socket
socks, ports = [], []
while len(ports) < 14:
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    t.bind(("127.0.0.1", 0))
    p = t.getsockname()[1]
    try:
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.bind(("127.0.0.1", p))
    except OSError:
        socks.append(t)
        continue
    socks += [t, u]
    ports.append(p)
print(" ".join(map(str, ports)))
EOF
)
fi
API_URL="https://127.0.0.1:$PORT_API"

# ---- process helpers --------------------------------------------------------------------------
# start NAME BINARY ARGS... : own session/process group (setsid), output to logs/NAME.log
start() {
  local name="$1" bin="$2"; shift 2
  setsid "$bin" "$@" >"$DIR/logs/$name.log" 2>&1 </dev/null &
  local pid=$!
  register "$name" "$pid"
  log "started $name (pid $pid, log $DIR/logs/$name.log)"
}
fail_component() {
  local name="$1" msg="$2"
  echo "ERROR: up.sh: $name $msg" >&2
  echo "------ last 40 lines of $DIR/logs/$name.log ------" >&2
  tail -n 40 "$DIR/logs/$name.log" >&2 || true
  echo "------" >&2
  exit 1
}
alive() { local pid; pid="$(awk -v n="$1" '$1 == n {print $2}' "$DIR/pids")"; kill -0 "$pid" 2>/dev/null; }
# wait_for NAME DESCRIPTION COMMAND... : poll until COMMAND succeeds, NAME dies, or TIMEOUT
wait_for() {
  local name="$1" what="$2"; shift 2
  local deadline=$(($(date +%s) + TIMEOUT))
  while ! "$@" >/dev/null 2>&1; do
    alive "$name" || fail_component "$name" "exited before $what"
    [ "$(date +%s)" -lt "$deadline" ] || fail_component "$name" "not $what after ${TIMEOUT}s"
    sleep 0.5
  done
  log "$name $what"
}

# ---- PKI, token, kubeconfig ------------------------------------------------------------------
P="$DIR/pki"
openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=ordinal-cluster-ca" \
  -keyout "$P/ca.key" -out "$P/ca.crt" >/dev/null 2>&1 || die "up.sh: openssl: cannot create the CA"
openssl req -newkey rsa:2048 -nodes -subj "/CN=kube-apiserver" \
  -keyout "$P/apiserver.key" -out "$P/apiserver.csr" >/dev/null 2>&1 || die "up.sh: openssl: CSR failed"
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,IP:10.96.0.1\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature,keyEncipherment\n' >"$P/apiserver.ext"
openssl x509 -req -in "$P/apiserver.csr" -CA "$P/ca.crt" -CAkey "$P/ca.key" -CAcreateserial \
  -days 3650 -extfile "$P/apiserver.ext" -out "$P/apiserver.crt" >/dev/null 2>&1 \
  || die "up.sh: openssl: cannot sign the apiserver certificate"
openssl genrsa -out "$P/sa.key" 2048 >/dev/null 2>&1 || die "up.sh: openssl: SA key failed"
openssl rsa -in "$P/sa.key" -pubout -out "$P/sa.pub" >/dev/null 2>&1 || die "up.sh: openssl: SA pub failed"
TOKEN="$(openssl rand -hex 24)"
# token,user,uid,"groups"; system:masters bypasses RBAC
echo "$TOKEN,admin,admin,\"system:masters\"" >"$P/tokens.csv"
chmod 600 "$P"/*.key "$P/tokens.csv"
KUBECONFIG="$DIR/kubeconfig"
cat >"$KUBECONFIG" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: ordinal
  cluster:
    server: $API_URL
    certificate-authority-data: $(base64 -w0 <"$P/ca.crt")
users:
- name: admin
  user:
    token: $TOKEN
contexts:
- name: ordinal
  context: {cluster: ordinal, user: admin}
current-context: ordinal
EOF
chmod 600 "$KUBECONFIG"
KUBECTL="$BIN/kubectl"
kc() { "$KUBECTL" --kubeconfig "$KUBECONFIG" "$@"; }

# Written early so down.sh and debugging work even if a later step fails.
write_env() {
  cat >"$DIR/env" <<EOF
# Generated by tests/cluster/up.sh; source it: . "$DIR/env"
export ORDINAL_CLUSTER_DIR='$DIR'
export ORDINAL_CLUSTER_BIN='$BIN'
export ORDINAL_CLUSTER_K8S_VERSION='$K8S_VERSION'
export KUBECONFIG='$KUBECONFIG'
export KUBECTL='$KUBECTL'
export API_URL='$API_URL'
export API_PORT=$PORT_API
export API_TOKEN='$TOKEN'
export API_CA='$P/ca.crt'
export ETCD_URL='http://127.0.0.1:$PORT_ETCD'
export COREDNS_ENABLED=$WITH_COREDNS
export COREDNS_ADDR='127.0.0.1:$PORT_DNS'
export COREDNS_PORT=$PORT_DNS
export COREDNS_HEALTH_URL='http://127.0.0.1:$PORT_DNS_HEALTH/health'
export COREDNS_READY_URL='http://127.0.0.1:$PORT_DNS_READY/ready'
export COREDNS_METRICS_URL='http://127.0.0.1:$PORT_DNS_METRICS/metrics'
export CLUSTER_DOMAIN='cluster.local'
export SERVICE_CIDR='10.96.0.0/16'
export POD_CIDR='10.244.0.0/16'
export STATEFULSET_CONTROLLER=$([ "$NO_STS" = 1 ] && echo off || echo on)
export SPARE_PORTS='$PORT_SPARE1 $PORT_SPARE2'
# free loopback ports reserved for an ordinal instance serving this cluster (DNS, admin)
export ORDINAL_DNS_PORT=$PORT_ORDINAL_DNS
export ORDINAL_ADMIN_PORT=$PORT_ORDINAL_ADMIN
EOF
}
write_env

# ---- watchdog ----------------------------------------------------------------------------------
if [ -n "${ORDINAL_CLUSTER_WATCH_PID:-}" ]; then
  setsid bash -c 'while kill -0 "$1" 2>/dev/null && [ -e "$2/pids" ]; do sleep 1; done
                  [ -e "$2/pids" ] && exec "$3/down.sh" "$2"' \
    ordinal-cluster-watchdog "$ORDINAL_CLUSTER_WATCH_PID" "$DIR" "$HERE" \
    >"$DIR/logs/watchdog.log" 2>&1 </dev/null &
  echo "$!" >"$DIR/watchdog.pid"
fi

# ---- etcd --------------------------------------------------------------------------------------
start etcd "$BIN/etcd" --name=node0 --data-dir="$ETCD_DATA" \
  --listen-client-urls="http://127.0.0.1:$PORT_ETCD" --advertise-client-urls="http://127.0.0.1:$PORT_ETCD" \
  --listen-peer-urls="http://127.0.0.1:$PORT_ETCD_PEER" \
  --initial-advertise-peer-urls="http://127.0.0.1:$PORT_ETCD_PEER" \
  --initial-cluster="node0=http://127.0.0.1:$PORT_ETCD_PEER" \
  --unsafe-no-fsync --quota-backend-bytes=4294967296 --log-level=warn
wait_for etcd "healthy" curl -fsS --max-time 2 "http://127.0.0.1:$PORT_ETCD/health"

# ---- kube-apiserver ----------------------------------------------------------------------------
start kube-apiserver "$BIN/kube-apiserver" \
  --etcd-servers="http://127.0.0.1:$PORT_ETCD" \
  --bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port="$PORT_API" \
  --tls-cert-file="$P/apiserver.crt" --tls-private-key-file="$P/apiserver.key" \
  --client-ca-file="$P/ca.crt" \
  --service-cluster-ip-range=10.96.0.0/16,fd00:10:96::/112 \
  --service-account-issuer=https://kubernetes.default.svc.cluster.local \
  --service-account-key-file="$P/sa.pub" --service-account-signing-key-file="$P/sa.key" \
  --token-auth-file="$P/tokens.csv" --authorization-mode=RBAC \
  --endpoint-reconciler-type=none --allow-privileged=true --profiling=false
curl_api() { curl -fsS --max-time 3 --cacert "$P/ca.crt" -H "Authorization: Bearer $TOKEN" "$API_URL$1"; }
wait_for kube-apiserver "ready (/readyz)" curl_api /readyz

# ---- controller-manager + scheduler ---------------------------------------------------------------
if [ "$NO_STS" = 1 ]; then CONTROLLERS='*,-statefulset-controller'; else CONTROLLERS='*'; fi
start kube-controller-manager "$BIN/kube-controller-manager" \
  --kubeconfig="$KUBECONFIG" --authentication-kubeconfig="$KUBECONFIG" \
  --authorization-kubeconfig="$KUBECONFIG" --leader-elect=false \
  --controllers="$CONTROLLERS" \
  --bind-address=127.0.0.1 --secure-port="$PORT_KCM" \
  --root-ca-file="$P/ca.crt" --service-account-private-key-file="$P/sa.key" \
  --service-cluster-ip-range=10.96.0.0/16 --cluster-cidr=10.244.0.0/16 \
  --kube-api-qps=500 --kube-api-burst=1000 --profiling=false
# The fake Nodes have no storage and there is no provisioner, so PVCs from
# volumeClaimTemplates stay Pending. Disable the scheduler's volume plugins so that pods with
# unbound PVCs are still placed (KWOK does not care about volumes).
cat >"$DIR/scheduler.yaml" <<EOF
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
clientConnection:
  kubeconfig: $KUBECONFIG
  qps: 500
  burst: 1000
leaderElection:
  leaderElect: false
profiles:
- schedulerName: default-scheduler
  plugins:
    multiPoint:
      disabled:
      - name: VolumeBinding
      - name: VolumeZone
      - name: VolumeRestrictions
      - name: NodeVolumeLimits
EOF
start kube-scheduler "$BIN/kube-scheduler" --config="$DIR/scheduler.yaml" \
  --authentication-kubeconfig="$KUBECONFIG" --authorization-kubeconfig="$KUBECONFIG" \
  --bind-address=127.0.0.1 --secure-port="$PORT_SCHED" --profiling=false
wait_for kube-controller-manager "healthy (/healthz)" curl -fsSk --max-time 2 "https://127.0.0.1:$PORT_KCM/healthz"
wait_for kube-scheduler "healthy (/healthz)" curl -fsSk --max-time 2 "https://127.0.0.1:$PORT_SCHED/healthz"

# ---- KWOK + fake Nodes ----------------------------------------------------------------------------
# Pod IPs come from one pool, 10.244.0.1 upwards (KWOK takes the address in --cidr as the first
# one to hand out; the Nodes get no spec.podCIDR, which KWOK would otherwise use, from .0).
# All fake Nodes report InternalIP 10.240.0.1. None of these addresses is ever contacted.
# An explicit (empty) config file so that a ~/.kwok/kwok.yaml on the machine is not picked up;
# v0.7.0 then falls back to its built-in node and pod stages.
cat >"$DIR/kwok.yaml" <<'EOF'
apiVersion: config.kwok.x-k8s.io/v1alpha1
kind: KwokConfiguration
options: {}
EOF
start kwok "$BIN/kwok" -c "$DIR/kwok.yaml" --kubeconfig="$KUBECONFIG" \
  --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake \
  --cidr=10.244.0.1/16 --node-ip=10.240.0.1 --node-lease-duration-seconds=40 \
  --server-address="127.0.0.1:$PORT_KWOK"
wait_for kwok "healthy (/healthz)" curl -fsS --max-time 2 "http://127.0.0.1:$PORT_KWOK/healthz"

for i in $(seq 0 $((NODES - 1))); do
  cat <<EOF
---
apiVersion: v1
kind: Node
metadata:
  name: kwok-node-$i
  annotations:
    kwok.x-k8s.io/node: fake
  labels:
    type: kwok
    kubernetes.io/hostname: kwok-node-$i
    kubernetes.io/os: linux
    kubernetes.io/arch: amd64
EOF
done >"$DIR/nodes.yaml"
kc apply -f "$DIR/nodes.yaml" >"$DIR/logs/nodes.log" 2>&1 || fail_component nodes "could not be created"
deadline=$(($(date +%s) + TIMEOUT))
until kc wait --for=condition=Ready node -l type=kwok --timeout=5s >>"$DIR/logs/nodes.log" 2>&1 \
   && [ -z "$(kc get nodes -l type=kwok -o jsonpath='{.items[*].spec.taints}')" ]; do
  alive kwok || fail_component kwok "exited before the nodes became Ready"
  [ "$(date +%s)" -lt "$deadline" ] || { kc get nodes -o wide >>"$DIR/logs/nodes.log" 2>&1 || true
    fail_component nodes "not Ready and untainted after ${TIMEOUT}s (KWOK log: $DIR/logs/kwok.log)"; }
  sleep 0.5
done
log "nodes Ready: $(kc get nodes -l type=kwok -o name | tr '\n' ' ')"
# Pods need the default ServiceAccount (ServiceAccount admission); wait for the controller.
wait_for kube-controller-manager "created the default ServiceAccount" kc get serviceaccount default -n default

# ---- CoreDNS ------------------------------------------------------------------------------------
if [ "$WITH_COREDNS" = 1 ]; then
  # No cache/loadbalance (they would make answers differ between runs), no forward/loop
  # (offline: names outside the cluster zones get REFUSED), short TTL.
  {
    echo ".:$PORT_DNS {"
    echo "    bind 127.0.0.1"
    echo "    errors"
    [ "${ORDINAL_CLUSTER_COREDNS_LOG:-0}" = 1 ] && echo "    log"
    echo "    kubernetes cluster.local in-addr.arpa ip6.arpa {"
    echo "        kubeconfig $KUBECONFIG ordinal"
    echo "        pods insecure"
    echo "        ttl 5"
    echo "    }"
    echo "    ready 127.0.0.1:$PORT_DNS_READY"
    echo "    health 127.0.0.1:$PORT_DNS_HEALTH"
    echo "    prometheus 127.0.0.1:$PORT_DNS_METRICS"
    echo "}"
  } >"$DIR/Corefile"
  start coredns "$BIN/coredns" -conf "$DIR/Corefile"
  wait_for coredns "ready (/ready)" curl -fsS --max-time 2 "http://127.0.0.1:$PORT_DNS_READY/ready"
fi

ok=1
dns_desc=off; [ "$WITH_COREDNS" = 1 ] && dns_desc="127.0.0.1:$PORT_DNS"
log "cluster up in $DIR: API $API_URL, CoreDNS $dns_desc, statefulset-controller $([ "$NO_STS" = 1 ] && echo off || echo on); . $DIR/env"
echo "$DIR"
