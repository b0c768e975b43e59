#!/usr/bin/env python3
"""Time from a pod turning Ready (as the API server reports it) to DNS servers answering its name.

    readiness-lag.py --namespace NS --statefulset STS --service SVC --samples N [--flip] SERVER_IP:PORT...

Scales the StatefulSet up by one N times. For each new pod it watches the pod through the API
server (a watch stream, so the time is when the Ready=True + podIP event arrives here) and polls
every DNS server every 5 ms for <pod>.<svc>.<ns>.svc.cluster.local A until the answer contains
the pod IP. Prints per-sample lags and min/median/max per server. Scales back at the end.

Uses the cluster env written by up.sh (API_URL, API_TOKEN, API_CA in the environment).
Only loopback DNS servers are queried; pod IPs are never contacted.
"""
import argparse
import ipaddress
import json
import os
import random
import socket
import ssl
import statistics
import struct
import sys
import threading
import time
import urllib.request


def api(method, path, body=None, stream=False, timeout=30, ctype="application/merge-patch+json"):
    req = urllib.request.Request(os.environ["API_URL"] + path, method=method,
                                 headers={"Authorization": "Bearer " + os.environ["API_TOKEN"],
                                          "Content-Type": ctype,
                                          "Accept": "application/json"})
    ctx = ssl.create_default_context(cafile=os.environ["API_CA"])
    data = json.dumps(body).encode() if body is not None else None
    resp = urllib.request.urlopen(req, data=data, context=ctx, timeout=timeout)
    return resp if stream else json.load(resp)


def dns_a(server, name, timeout=0.5):
    """One UDP A query; returns the set of IPv4 addresses in the answer section."""
    qid = random.randint(0, 65535)
    q = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.rstrip(".").split("."):
        q += bytes([len(label)]) + label.encode()
    q += b"\x00" + struct.pack(">HH", 1, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(q, server)
        while True:
            msg, _ = s.recvfrom(4096)
            if struct.unpack(">H", msg[:2])[0] == qid:
                break
    an = struct.unpack(">H", msg[6:8])[0]
    off = 12

    def skip_name(o):
        while True:
            n = msg[o]
            if n == 0:
                return o + 1
            if n & 0xC0 == 0xC0:
                return o + 2
            o += n + 1

    off = skip_name(off) + 4
    out = set()
    for _ in range(an):
        off = skip_name(off)
        rtype, _, _, rdlen = struct.unpack(">HHIH", msg[off:off + 10])
        off += 10
        if rtype == 1 and rdlen == 4:
            out.add(socket.inet_ntoa(msg[off:off + 4]))
        off += rdlen
    return out


def parse_server(s):
    host, _, port = s.rpartition(":")
    if not ipaddress.ip_address(host).is_loopback:
        sys.exit(f"readiness-lag: {s}: only loopback servers may be queried")
    return host, int(port)


def one_sample(args, servers, replicas, timeout):
    pod = f"{args.statefulset}-{replicas}"
    fqdn = f"{pod}.{args.service}.{args.namespace}.svc.cluster.local"
    ready = {}
    stop = threading.Event()

    def watch():
        path = (f"/api/v1/namespaces/{args.namespace}/pods?watch=1&timeoutSeconds={int(timeout)}"
                f"&fieldSelector=metadata.name%3D{pod}")
        resp = api("GET", path, stream=True, timeout=timeout + 5)
        for line in resp:
            if stop.is_set():
                return
            ev = json.loads(line)
            st = ev["object"].get("status", {})
            conds = {c["type"]: c["status"] for c in st.get("conditions", [])}
            if conds.get("Ready") == "True" and st.get("podIP"):
                ready["t"], ready["ip"] = time.monotonic(), st["podIP"]
                return

    t = threading.Thread(target=watch, daemon=True)
    t.start()
    time.sleep(0.2)  # let the watch start before the pod exists
    api("PATCH", f"/apis/apps/v1/namespaces/{args.namespace}/statefulsets/{args.statefulset}",
        {"spec": {"replicas": replicas + 1}})
    seen, early_seen = {}, {}
    deadline = time.monotonic() + timeout
    while len(seen) < len(servers) and time.monotonic() < deadline:
        for srv in servers:
            if srv in seen:
                continue
            try:
                addrs = dns_a(srv, fqdn)
            except (socket.timeout, OSError):
                continue
            if "ip" in ready and ready["ip"] in addrs:
                seen[srv] = time.monotonic()
            elif addrs and "ip" not in ready:
                # answered before we saw Ready: record, and check the IP once Ready arrives
                early_seen.setdefault(srv, (time.monotonic(), addrs))
        time.sleep(0.005)
    stop.set()
    if "t" not in ready:
        sys.exit(f"readiness-lag: {pod} did not become Ready within {timeout}s")
    lags = {}
    for srv in servers:
        early = early_seen.get(srv)
        if early and ready["ip"] in early[1]:
            lags[srv] = early[0] - ready["t"]  # negative: DNS knew before our watch event
        elif srv in seen:
            lags[srv] = seen[srv] - ready["t"]
        else:
            lags[srv] = None
    return pod, ready["ip"], lags


def flip_sample(args, servers, pod, timeout=10):
    """An existing pod's Ready condition False -> True (status patch, as a kubelet would write
    it): time from sending the patch to each server answering the pod's name with its IP. Unlike
    a scale-up, the pod is already in the service's EndpointSlice, so CoreDNS waits for the
    EndpointSlice controller to flip the endpoint's ready condition."""
    fqdn = f"{pod}.{args.service}.{args.namespace}.svc.cluster.local"
    path = f"/api/v1/namespaces/{args.namespace}/pods/{pod}/status"
    obj = api("GET", path)
    ip = obj["status"]["podIP"]
    idx = [c["type"] for c in obj["status"]["conditions"]].index("Ready")

    def set_ready(v):
        api("PATCH", path, [{"op": "replace", "path": f"/status/conditions/{idx}/status", "value": v}],
            ctype="application/json-patch+json")

    def answers(srv):
        try:
            return ip in dns_a(srv, fqdn)
        except (socket.timeout, OSError):
            return False

    set_ready("False")
    deadline = time.monotonic() + timeout
    while any(answers(s) for s in servers):
        if time.monotonic() > deadline:
            sys.exit(f"readiness-lag: {fqdn} still answered {timeout}s after Ready=False")
        time.sleep(0.01)
    time.sleep(0.2)
    t0 = time.monotonic()
    set_ready("True")
    seen = {}
    while len(seen) < len(servers) and time.monotonic() < t0 + timeout:
        for srv in servers:
            if srv not in seen and answers(srv):
                seen[srv] = time.monotonic()
        time.sleep(0.002)
    return pod, ip, {s: (seen[s] - t0 if s in seen else None) for s in servers}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("servers", nargs="+")
    ap.add_argument("--namespace", default="default")
    ap.add_argument("--statefulset", default="web")
    ap.add_argument("--service", default="nginx")
    ap.add_argument("--samples", type=int, default=5)
    ap.add_argument("--timeout", type=float, default=60)
    ap.add_argument("--flip", action="store_true",
                    help="flip <statefulset>-0's Ready condition False->True --samples times instead of scaling up")
    args = ap.parse_args()
    servers = [parse_server(s) for s in args.servers]
    sts = api("GET", f"/apis/apps/v1/namespaces/{args.namespace}/statefulsets/{args.statefulset}")
    start_replicas = sts["spec"]["replicas"]
    results = {s: [] for s in servers}
    try:
        for i in range(args.samples):
            if args.flip:
                pod, ip, lags = flip_sample(args, servers, f"{args.statefulset}-0")
            else:
                pod, ip, lags = one_sample(args, servers, start_replicas + i, args.timeout)
            print(f"{pod} Ready ({ip}): " + ", ".join(
                f"{h}:{p} {'%+.0f ms' % (l * 1000) if l is not None else 'no answer'}"
                for (h, p), l in lags.items()))
            for s, l in lags.items():
                results[s].append(l)
    finally:
        if not args.flip:
            api("PATCH", f"/apis/apps/v1/namespaces/{args.namespace}/statefulsets/{args.statefulset}",
                {"spec": {"replicas": start_replicas}})
    bad = 0
    for (h, p), ls in results.items():
        ok = [l * 1000 for l in ls if l is not None]
        missing = len(ls) - len(ok)
        bad += missing
        if ok:
            srt = sorted(ok)
            p99 = srt[min(len(srt) - 1, max(0, -(-99 * len(srt) // 100) - 1))]  # nearest rank
            print(f"readiness->DNS lag {h}:{p}: min {min(ok):.0f} ms, median {statistics.median(ok):.0f} ms, "
                  f"p99 {p99:.0f} ms, max {max(ok):.0f} ms over {len(ok)} samples" + (f", {missing} never answered" if missing else ""))
        else:
            print(f"readiness->DNS lag {h}:{p}: never answered")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
